#pragma once
// Errors cross the seam as values. Result<T> holds either a T or an Error (a code and a message
// naming what failed and where); nothing under broker/platform throws for an expected failure.
#include "broker/base/assert.h"

#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace keel {

enum class Errc : unsigned char {
  ok = 0,
  io_error,           // EIO: the device failed the operation
  no_space,           // ENOSPC
  not_found,          // no such file, directory or listener
  already_exists,     // exclusive create of an existing path
  invalid_argument,   // a caller passed something the operation cannot take
  refused,            // connect: nobody listens there
  reset,              // the connection was reset by the peer or the network
  timed_out,          // a deadline passed first
  closed,             // the handle was closed (locally, or EOF where a read needed more)
  cancelled,          // the operation's task or node is stopping
  address_in_use,     // listen: the port is taken
  corrupt,            // data failed validation (a CRC, a length)
  invalid_timestamp,  // a record's timestamp is outside what the log accepts (Kafka's INVALID_TIMESTAMP)
};

std::string_view errc_name(Errc code);

struct Error {
  Errc code = Errc::ok;
  std::string message;
};

Error make_error(Errc code, std::string message);

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) { KEEL_ASSERT(std::get<1>(v_).code != Errc::ok); }

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & {
    KEEL_ASSERT_MSG(ok(), "Result::value on error: {}", error().message);
    return std::get<0>(v_);
  }
  T&& value() && {
    KEEL_ASSERT_MSG(ok(), "Result::value on error: {}", error().message);
    return std::get<0>(std::move(v_));
  }
  const T& value() const& {
    KEEL_ASSERT_MSG(ok(), "Result::value on error: {}", error().message);
    return std::get<0>(v_);
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const {
    KEEL_ASSERT(!ok());
    return std::get<1>(v_);
  }
  Errc code() const { return ok() ? Errc::ok : std::get<1>(v_).code; }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)) { KEEL_ASSERT(error_.code != Errc::ok); }

  bool ok() const { return error_.code == Errc::ok; }
  explicit operator bool() const { return ok(); }
  const Error& error() const {
    KEEL_ASSERT(!ok());
    return error_;
  }
  Errc code() const { return error_.code; }

 private:
  Error error_;
};

using Status = Result<void>;

}  // namespace keel

template <>
struct fmt::formatter<keel::Errc> : fmt::formatter<std::string_view> {
  auto format(keel::Errc c, fmt::format_context& ctx) const {
    return fmt::formatter<std::string_view>::format(keel::errc_name(c), ctx);
  }
};
