#pragma once
// TCP over non-blocking sockets in the loop's epoll set (edge-triggered: every operation tries the
// system call first and waits only on EAGAIN, and a wait always begins before the loop polls
// again, so no edge can be missed).
//
// Lifetime: the handle (PosixConnection / PosixListener) owns a shared Socket, and every task
// blocked in an operation holds its own reference to it. Closing or destroying the handle closes
// the descriptor and wakes those tasks with Errc::closed; the Socket they hold stays valid until
// they have returned, so one task may close a connection another is reading without a
// use-after-free. Operations never touch the handle object after they first suspend.
#include "broker/platform/network.h"
#include "broker/platform/posix/loop.h"
#include "broker/platform/sync.h"

#include <memory>

namespace keel::posix {

class Socket final : public Watcher {
 public:
  enum class Kind { connection, listener };

  Socket(EventLoop& loop, UniqueFd fd, Kind kind);
  ~Socket();
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;

  Status watch();  // joins the epoll set (edge-triggered, in and out)
  void on_ready(std::uint32_t events) override;

  // Suspends the calling task until `queue` is notified (readiness), the socket is closed
  // (Errc::closed) or the deadline passes (Errc::timed_out). `what` names the operation.
  Status wait(WaitQueue& queue, Instant deadline, std::string_view what);
  // Orderly close: leaves the epoll set, closes the descriptor, wakes every waiting task.
  void close();

  EventLoop& loop() { return loop_; }
  int fd() const { return fd_.get(); }
  bool closed() const { return closed_; }
  Error closed_error(std::string_view what) const;
  // The far end for a connection, the bound address for a listener: what error messages name.
  std::string name() const;

  WaitQueue readers;  // tasks in read or accept
  WaitQueue writers;  // tasks in write or connect
  Address local;
  Address peer;

 private:
  EventLoop& loop_;
  UniqueFd fd_;
  Kind kind_;
  bool closed_ = false;

  void discard_unread();
};

class PosixConnection final : public ConnectionImpl {
 public:
  explicit PosixConnection(std::shared_ptr<Socket> socket) : socket_(std::move(socket)) {}
  ~PosixConnection() override { socket_->close(); }
  PosixConnection(const PosixConnection&) = delete;
  PosixConnection& operator=(const PosixConnection&) = delete;

  Result<std::size_t> read(std::span<std::byte> out, Instant deadline) override;
  Status write(std::span<const std::byte> data, Instant deadline) override;
  void close() override { socket_->close(); }
  const Address& peer() const override { return socket_->peer; }
  const Address& local() const override { return socket_->local; }

 private:
  std::shared_ptr<Socket> socket_;
};

class PosixListener final : public ListenerImpl {
 public:
  explicit PosixListener(std::shared_ptr<Socket> socket) : socket_(std::move(socket)) {}
  ~PosixListener() override { socket_->close(); }
  PosixListener(const PosixListener&) = delete;
  PosixListener& operator=(const PosixListener&) = delete;

  Result<Connection> accept(Instant deadline) override;
  void close() override { socket_->close(); }
  const Address& local() const override { return socket_->local; }

 private:
  std::shared_ptr<Socket> socket_;
};

class PosixNetwork final : public Network {
 public:
  static constexpr int listen_backlog = 1024;

  explicit PosixNetwork(EventLoop& loop) : loop_(loop) {}

  // Host: a numeric IPv4 address, "localhost", or "" / "0.0.0.0" for every interface.
  Result<Listener> listen(const Address& address) override;
  // Host: a numeric IPv4 address or "localhost".
  Result<Connection> connect(const Address& address, Duration timeout) override;

 private:
  EventLoop& loop_;
};

}  // namespace keel::posix
