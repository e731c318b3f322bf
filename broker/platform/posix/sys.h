#pragma once
// Thin helpers over the OS shared by the posix runtime: an owning file descriptor, the mapping
// from errno to keel::Errc, and the two clocks. Nothing outside broker/platform/posix/ sees these.
#include "broker/base/result.h"
#include "broker/base/time.h"

#include <cstdint>
#include <string_view>
#include <utility>

namespace keel::posix {

// Owns one file descriptor and closes it on destruction. Move-only.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  void reset(int fd = -1);  // closes the current descriptor, if any

 private:
  int fd_ = -1;
};

// What an errno value means to broker code.
Errc errc_from_errno(int err);

// An Error whose message names the operation, the object (a path, an address) and strerror(err).
Error sys_error(int err, std::string_view op, std::string_view object);

Instant monotonic_now();
WallTime realtime_now();

// 64 bits from the OS entropy source (getrandom), for seeding a runtime's generator.
std::uint64_t os_random_seed();

// `from + d`, clamped to instant_max instead of overflowing (deadlines built from huge timeouts).
Instant saturating_add(Instant from, Duration d);

}  // namespace keel::posix
