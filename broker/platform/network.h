#pragma once
// Streams as broker code sees them: listen, accept, connect, and a connection that is an ordered
// byte stream which can fail (reset, refused, timed out). Every call may suspend the calling task.
#include "broker/base/result.h"
#include "broker/base/time.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

namespace keel {

struct Address {
  std::string host;  // "127.0.0.1" in production, a node's name ("n1") in simulation
  std::uint16_t port = 0;

  std::string to_string() const;
  static Result<Address> parse(const std::string& text);  // "host:port"
  friend bool operator==(const Address&, const Address&) = default;
};

class ConnectionImpl {
 public:
  virtual ~ConnectionImpl() = default;
  virtual Result<std::size_t> read(std::span<std::byte> out, Instant deadline) = 0;
  virtual Status write(std::span<const std::byte> data, Instant deadline) = 0;
  virtual void close() = 0;  // orderly close: the peer reads what was sent, then end of stream
  virtual const Address& peer() const = 0;
  virtual const Address& local() const = 0;
};

class Connection {
 public:
  Connection() = default;
  explicit Connection(std::unique_ptr<ConnectionImpl> impl) : impl_(std::move(impl)) {}

  bool is_open() const { return impl_ != nullptr; }
  // Reads what has arrived, at least one byte; 0 means the peer closed its side (end of stream).
  Result<std::size_t> read(std::span<std::byte> out, Instant deadline = instant_max) { return impl_->read(out, deadline); }
  // Reads exactly out.size() bytes; Errc::closed if the stream ends first.
  Status read_exact(std::span<std::byte> out, Instant deadline = instant_max);
  // Writes all of `data` (suspending while the send buffer is full).
  Status write(std::span<const std::byte> data, Instant deadline = instant_max) { return impl_->write(data, deadline); }
  void close() {
    if (impl_) impl_->close();
    impl_.reset();
  }
  const Address& peer() const { return impl_->peer(); }
  const Address& local() const { return impl_->local(); }

 private:
  std::unique_ptr<ConnectionImpl> impl_;
};

class ListenerImpl {
 public:
  virtual ~ListenerImpl() = default;
  virtual Result<Connection> accept(Instant deadline) = 0;
  virtual void close() = 0;
  virtual const Address& local() const = 0;
};

class Listener {
 public:
  Listener() = default;
  explicit Listener(std::unique_ptr<ListenerImpl> impl) : impl_(std::move(impl)) {}
  bool is_open() const { return impl_ != nullptr; }
  Result<Connection> accept(Instant deadline = instant_max) { return impl_->accept(deadline); }
  const Address& local() const { return impl_->local(); }
  void close() {
    if (impl_) impl_->close();
    impl_.reset();
  }

 private:
  std::unique_ptr<ListenerImpl> impl_;
};

class Network {
 public:
  virtual ~Network() = default;
  // Port 0 picks a free port; Listener::local() tells which.
  virtual Result<Listener> listen(const Address& address) = 0;
  virtual Result<Connection> connect(const Address& address, Duration timeout) = 0;
};

}  // namespace keel
