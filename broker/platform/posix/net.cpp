#include "broker/platform/posix/net.h"

#include <arpa/inet.h>
#include <cerrno>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace keel::posix {

namespace {

constexpr std::uint32_t socket_events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
// close() discards what the peer sent and we never read, so the kernel ends the stream with FIN
// (the peer reads everything we sent) rather than RST; bounded so a flooding peer cannot hold us.
constexpr std::size_t discard_bytes_per_call = 1 << 20;
constexpr int discard_calls_max = 16;

Result<in_addr> parse_ipv4(const std::string& host, bool allow_any) {
  in_addr addr{};
  if (host == "localhost") {
    addr.s_addr = htonl(INADDR_LOOPBACK);
    return addr;
  }
  if (allow_any && host.empty()) {
    addr.s_addr = htonl(INADDR_ANY);
    return addr;
  }
  if (::inet_pton(AF_INET, host.c_str(), &addr) == 1) return addr;
  return make_error(Errc::invalid_argument,
                    fmt::format("host '{}': expected a numeric IPv4 address or localhost", host));
}

sockaddr_in make_sockaddr(in_addr ip, std::uint16_t port) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr = ip;
  sa.sin_port = htons(port);
  return sa;
}

Address to_address(const sockaddr_in& sa) {
  char text[INET_ADDRSTRLEN] = {};
  ::inet_ntop(AF_INET, &sa.sin_addr, text, sizeof(text));
  return Address{text, ntohs(sa.sin_port)};
}

Address local_address(int fd) {
  sockaddr_in sa{};
  socklen_t len = sizeof(sa);
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) != 0) return {};
  return to_address(sa);
}

// The peer's address once connected; nullopt while a connect is still in progress.
std::optional<Address> connected_peer(int fd) {
  sockaddr_in sa{};
  socklen_t len = sizeof(sa);
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&sa), &len) != 0) return std::nullopt;
  return to_address(sa);
}

int pending_error(int fd) {
  int err = 0;
  socklen_t len = sizeof(err);
  if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) return errno;
  return err;
}

Result<UniqueFd> new_tcp_socket() {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return sys_error(errno, "socket", "tcp");
  return fd;
}

void set_nodelay(int fd) {
  // Kafka requests and responses are small and latency-bound; Nagle would hold them back.
  const int one = 1;
  [[maybe_unused]] const int rc = ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

Error connect_error(int err, const Address& address) {
  // An unreachable host or network means nobody can be reached there: to callers, a refusal.
  if (err == EHOSTUNREACH || err == ENETUNREACH) err = ECONNREFUSED;
  return sys_error(err, "connect to", address.to_string());
}

Result<std::size_t> read_some(Socket& s, std::span<std::byte> out, Instant deadline) {
  if (out.empty()) return make_error(Errc::invalid_argument, fmt::format("read from {}: empty buffer", s.name()));
  while (true) {
    if (s.closed()) return s.closed_error("read from");
    const ssize_t n = ::recv(s.fd(), out.data(), out.size(), 0);
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return sys_error(errno, "read from", s.name());
    auto st = s.wait(s.readers, deadline, "read from");
    if (!st) return st.error();
  }
}

Status write_all(Socket& s, std::span<const std::byte> data, Instant deadline) {
  std::size_t done = 0;
  while (done < data.size()) {
    if (s.closed()) return s.closed_error("write to");
    const ssize_t n = ::send(s.fd(), data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n >= 0) {
      done += static_cast<std::size_t>(n);
      continue;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return sys_error(errno, "write to", s.name());
    // On a timeout part of `data` may have been sent: the stream is then unusable, close it.
    auto st = s.wait(s.writers, deadline, "write to");
    if (!st) return st.error();
  }
  return {};
}

// Wraps an accepted or connected descriptor as a connection in the epoll set.
Result<Connection> make_connection(std::shared_ptr<Socket> s) {
  auto st = s->watch();
  if (!st) return st.error();
  s->local = local_address(s->fd());
  if (auto peer = connected_peer(s->fd())) s->peer = *peer;
  return Connection(std::make_unique<PosixConnection>(std::move(s)));
}

Result<Connection> accept_one(Socket& listener, Instant deadline) {
  while (true) {
    if (listener.closed()) return listener.closed_error("accept on");
    const int fd = ::accept4(listener.fd(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      set_nodelay(fd);
      return make_connection(std::make_shared<Socket>(listener.loop(), UniqueFd(fd), Socket::Kind::connection));
    }
    // ECONNABORTED: a queued connection was reset before we took it; try the next one.
    if (errno == EINTR || errno == ECONNABORTED) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return sys_error(errno, "accept on", listener.name());
    auto st = listener.wait(listener.readers, deadline, "accept on");
    if (!st) return st.error();
  }
}

// After a non-blocking connect began: waits until it succeeds, fails or the deadline passes.
Status await_connected(Socket& s, const Address& address, Instant deadline) {
  while (true) {
    const int err = pending_error(s.fd());
    if (err != 0) return connect_error(err, address);
    if (connected_peer(s.fd())) return {};
    auto st = s.wait(s.writers, deadline, "connect to");
    if (!st) return st;
  }
}

}  // namespace

// ---- Socket ----

Socket::Socket(EventLoop& loop, UniqueFd fd, Kind kind) : loop_(loop), fd_(std::move(fd)), kind_(kind) {
  loop_.handle_opened();
}

Socket::~Socket() {
  close();
  loop_.handle_closed();
}

Status Socket::watch() { return loop_.watch(fd_.get(), socket_events, this); }

void Socket::on_ready(std::uint32_t events) {
  // Errors and hang-ups wake both sides: the retried call reports what happened.
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) readers.notify_all();
  if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) writers.notify_all();
}

std::string Socket::name() const { return kind_ == Kind::listener ? local.to_string() : peer.to_string(); }

Error Socket::closed_error(std::string_view what) const {
  return make_error(Errc::closed, fmt::format("{} {}: connection closed locally", what, name()));
}

Status Socket::wait(WaitQueue& queue, Instant deadline, std::string_view what) {
  if (deadline != instant_max && monotonic_now() >= deadline) {
    return make_error(Errc::timed_out, fmt::format("{} {}: deadline passed", what, name()));
  }
  bool notified = false;
  {
    IoWait io(loop_);
    notified = queue.wait(deadline);
  }
  if (closed_) return closed_error(what);
  if (!notified) return make_error(Errc::timed_out, fmt::format("{} {}: deadline passed", what, name()));
  return {};
}

void Socket::discard_unread() {
  for (int i = 0; i < discard_calls_max; ++i) {
    const ssize_t n = ::recv(fd_.get(), nullptr, discard_bytes_per_call, MSG_TRUNC | MSG_DONTWAIT);
    if (n <= 0 && !(n < 0 && errno == EINTR)) return;
  }
}

void Socket::close() {
  if (closed_) return;
  closed_ = true;
  if (fd_.valid()) {
    loop_.unwatch(fd_.get());
    if (kind_ == Kind::connection) discard_unread();
    fd_.reset();
  }
  readers.notify_all();
  writers.notify_all();
}

// ---- PosixConnection / PosixListener ----
// Each operation first copies the shared Socket onto the task's stack: if another task closes
// or destroys this handle while the operation waits, the Socket stays valid until it returns.

Result<std::size_t> PosixConnection::read(std::span<std::byte> out, Instant deadline) {
  const std::shared_ptr<Socket> s = socket_;
  return read_some(*s, out, deadline);
}

Status PosixConnection::write(std::span<const std::byte> data, Instant deadline) {
  const std::shared_ptr<Socket> s = socket_;
  return write_all(*s, data, deadline);
}

Result<Connection> PosixListener::accept(Instant deadline) {
  const std::shared_ptr<Socket> s = socket_;
  return accept_one(*s, deadline);
}

// ---- PosixNetwork ----

Result<Listener> PosixNetwork::listen(const Address& address) {
  auto ip = parse_ipv4(address.host == "0.0.0.0" ? std::string() : address.host, true);
  if (!ip) return ip.error();
  auto fd = new_tcp_socket();
  if (!fd) return fd.error();
  auto s = std::make_shared<Socket>(loop_, std::move(*fd), Socket::Kind::listener);
  s->local = address;
  // SO_REUSEADDR: a restarted broker can bind its port while old connections sit in TIME_WAIT.
  const int one = 1;
  ::setsockopt(s->fd(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  const sockaddr_in sa = make_sockaddr(*ip, address.port);
  if (::bind(s->fd(), reinterpret_cast<const sockaddr*>(&sa), sizeof(sa)) != 0) {
    return sys_error(errno, "listen on", address.to_string());
  }
  if (::listen(s->fd(), listen_backlog) != 0) return sys_error(errno, "listen on", address.to_string());
  s->local = local_address(s->fd());
  auto st = s->watch();
  if (!st) return st.error();
  return Listener(std::make_unique<PosixListener>(std::move(s)));
}

Result<Connection> PosixNetwork::connect(const Address& address, Duration timeout) {
  const Instant deadline = saturating_add(monotonic_now(), timeout);
  auto ip = parse_ipv4(address.host, false);
  if (!ip) return ip.error();
  auto fd = new_tcp_socket();
  if (!fd) return fd.error();
  set_nodelay(fd->get());
  auto s = std::make_shared<Socket>(loop_, std::move(*fd), Socket::Kind::connection);
  s->peer = address;
  const sockaddr_in sa = make_sockaddr(*ip, address.port);
  const int rc = ::connect(s->fd(), reinterpret_cast<const sockaddr*>(&sa), sizeof(sa));
  // EINTR: the connect goes on in the background, exactly as with EINPROGRESS.
  if (rc != 0 && errno != EINPROGRESS && errno != EINTR) return connect_error(errno, address);
  if (rc != 0) {
    // Joining the epoll set only now means its first report is about this connect.
    auto st = s->watch();
    if (!st) return st.error();
    st = await_connected(*s, address, deadline);
    if (!st) return st.error();
    s->local = local_address(s->fd());
    if (auto peer = connected_peer(s->fd())) s->peer = *peer;
    return Connection(std::make_unique<PosixConnection>(std::move(s)));
  }
  return make_connection(std::move(s));
}

}  // namespace keel::posix
