// What broker code holds: the Network of a node, its listeners and connections. Every blocking call
// keeps its own shared_ptr to the state it waits on and never touches the handle object after it
// wakes, because another task of the node may have closed and destroyed the handle meanwhile.
#include "net-sim/model.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

namespace keel::net_sim {

Instant saturating_deadline(Instant now, Duration timeout) {
  if (timeout <= Duration::zero()) return now;
  if (now > instant_max - timeout) return instant_max;
  return now + timeout;
}

void mark_closed(Conn& c, int side, Instant t) {
  c.ends[side].closed = true;
  c.ends[side].closed_at = t;
  c.flows[1 - side].readers.notify_all();
  c.flows[side].writers.notify_all();
}

namespace {

Error conn_error(const Conn& c, int side, Errc code, const char* op, const char* why) {
  const End& e = c.ends[side];
  return make_error(code, fmt::format("{} on connection {} ({} -> {}): {}", op, c.id, e.local.to_string(),
                                      e.peer.to_string(), why));
}

// Why a read or write on `side` cannot go on, if it cannot.
std::optional<Error> broken(const Conn& c, int side, const char* op) {
  if (c.ends[side].closed) return conn_error(c, side, Errc::closed, op, "the handle was closed");
  if (c.reset) return conn_error(c, side, Errc::reset, op, reset_reason_name(c.reset_reason));
  return std::nullopt;
}

std::size_t take(Flow& f, std::span<std::byte> out) {
  std::size_t n = 0;
  while (n < out.size() && !f.unread.empty()) {
    const std::vector<std::byte>& chunk = f.unread.front();
    const std::size_t k = std::min(out.size() - n, chunk.size() - f.unread_front);
    std::memcpy(out.data() + n, chunk.data() + f.unread_front, k);
    n += k;
    f.unread_front += k;
    if (f.unread_front == chunk.size()) {
      f.unread.pop_front();
      f.unread_front = 0;
    }
  }
  f.unread_bytes -= n;
  return n;
}

// `c` by value: the caller's handle may be destroyed while this task waits.
Result<std::size_t> conn_read(std::shared_ptr<Conn> c, int side, std::span<std::byte> out, Instant deadline) {
  Flow& in = c->flows[1 - side];
  for (;;) {
    if (auto e = broken(*c, side, "read")) return *e;
    if (out.empty()) return std::size_t{0};
    if (in.unread_bytes > 0) {
      // BUGGIFY net_short_read: fewer bytes than have arrived, as recv(2) may return (a segment
      // boundary, a signal). Callers must loop until they have what they need.
      const std::size_t ready = std::min(out.size(), in.unread_bytes);
      const std::size_t n = take(in, out.first(c->net != nullptr ? c->net->buggify_shorten(
                                                                       c->ends[side].node, "net_short_read", ready)
                                                                 : ready));
      in.writers.notify_all();  // the sender's buffer has room again
      return n;
    }
    if (in.fin_delivered) return std::size_t{0};
    if (!in.readers.wait(deadline)) return conn_error(*c, side, Errc::timed_out, "read", "nothing before the deadline");
  }
}

Status conn_write(std::shared_ptr<Conn> c, int side, std::span<const std::byte> data, Instant deadline) {
  Flow& out = c->flows[side];
  std::size_t done = 0;
  while (done < data.size()) {
    if (auto e = broken(*c, side, "write")) return *e;
    if (c->net == nullptr) return conn_error(*c, side, Errc::cancelled, "write", "the network is gone");
    const NetworkOptions& o = c->net->options();
    if (out.buffered_bytes() >= o.send_buffer_bytes) {
      if (!out.writers.wait(deadline)) {
        return conn_error(*c, side, Errc::timed_out, "write", "the send buffer stayed full until the deadline");
      }
      continue;
    }
    std::size_t n = std::min({data.size() - done, o.send_buffer_bytes - out.buffered_bytes(),
                              std::max<std::size_t>(o.segment_bytes_max, 1)});
    // BUGGIFY net_short_write: the kernel takes part of a write (send(2) returning less) and the
    // rest leaves later, so the peer sees a frame arrive in pieces, each with its own latency.
    n = c->net->buggify_shorten(c->ends[side].node, "net_short_write", n);
    KEEL_ASSERT(n > 0);
    const auto chunk = data.subspan(done, n);
    c->net->send(c, side, std::vector<std::byte>(chunk.begin(), chunk.end()), /*fin=*/false);
    done += n;
  }
  return {};
}

void close_conn_end(const std::shared_ptr<Conn>& c, int side) {
  if (c->net != nullptr) {
    c->net->close_end(c, side);
  } else if (!c->ends[side].closed) {
    mark_closed(*c, side, Instant{});
  }
}

class SimConnection final : public ConnectionImpl {
 public:
  SimConnection(std::shared_ptr<Conn> c, int side) : conn_(std::move(c)), side_(side) {}
  ~SimConnection() override { close(); }

  Result<std::size_t> read(std::span<std::byte> out, Instant deadline) override {
    return conn_read(conn_, side_, out, deadline);
  }
  Status write(std::span<const std::byte> data, Instant deadline) override {
    return conn_write(conn_, side_, data, deadline);
  }
  void close() override { close_conn_end(conn_, side_); }
  const Address& peer() const override { return conn_->ends[side_].peer; }
  const Address& local() const override { return conn_->ends[side_].local; }

 private:
  std::shared_ptr<Conn> conn_;
  int side_;
};

Result<Connection> listener_accept(std::shared_ptr<ListenerState> ls, Instant deadline) {
  for (;;) {
    if (ls->closed) {
      return make_error(Errc::closed, fmt::format("accept on {}: the listener was closed", ls->local.to_string()));
    }
    if (!ls->queue.empty()) {
      std::shared_ptr<Conn> c = std::move(ls->queue.front());
      ls->queue.pop_front();
      return make_connection(std::move(c), 1);
    }
    if (!ls->acceptors.wait(deadline)) {
      return make_error(Errc::timed_out, fmt::format("accept on {}: nothing before the deadline",
                                                     ls->local.to_string()));
    }
  }
}

class SimListener final : public ListenerImpl {
 public:
  explicit SimListener(std::shared_ptr<ListenerState> ls) : ls_(std::move(ls)) {}
  ~SimListener() override { close(); }

  Result<Connection> accept(Instant deadline) override { return listener_accept(ls_, deadline); }
  void close() override {
    if (ls_->net != nullptr) {
      ls_->net->close_listener(ls_, /*reset_queued=*/true);
    } else if (!ls_->closed) {
      ls_->closed = true;
      ls_->acceptors.notify_all();
    }
  }
  const Address& local() const override { return ls_->local; }

 private:
  std::shared_ptr<ListenerState> ls_;
};

// Gives up a connect whose task stops waiting for any reason (timeout, or its stack unwinding as
// the process dies): a decision arriving later must not establish a connection nobody holds.
class ConnectGuard {
 public:
  explicit ConnectGuard(std::shared_ptr<PendingConnect> p) : p_(std::move(p)) {}
  ~ConnectGuard() {
    p_->abandoned = true;
    if (p_->conn) close_conn_end(p_->conn, 0);  // established, but never handed to the caller
  }
  ConnectGuard(const ConnectGuard&) = delete;
  ConnectGuard& operator=(const ConnectGuard&) = delete;

 private:
  std::shared_ptr<PendingConnect> p_;
};

}  // namespace

Connection make_connection(std::shared_ptr<Conn> c, int side) {
  return Connection(std::make_unique<SimConnection>(std::move(c), side));
}

Listener make_listener(std::shared_ptr<ListenerState> ls) {
  return Listener(std::make_unique<SimListener>(std::move(ls)));
}

Result<Connection> Endpoint::connect(const Address& address, Duration timeout) {
  Executor* ex = Executor::current();
  KEEL_ASSERT_MSG(ex != nullptr, "connect to {} outside a task", address.to_string());
  const std::optional<int> target = net_.resolve(address.host);
  if (!target) {
    return make_error(Errc::not_found, fmt::format("connect {} -> {}: unknown host", net_.host(node_).name,
                                                   address.to_string()));
  }
  const Instant deadline = saturating_deadline(ex->driver().driver_now(), timeout);
  std::shared_ptr<PendingConnect> p = net_.start_connect(node_, *target, address);
  ConnectGuard guard(p);
  while (!p->done) {
    if (!p->waiters.wait(deadline)) break;
  }
  if (!p->done) return net_.connect_timed_out(*p);
  if (p->error) return *p->error;
  return make_connection(std::move(p->conn), 0);
}

}  // namespace keel::net_sim
