#include "broker/platform/posix/sys.h"

#include <cerrno>
#include <cstring>
#include <ctime>
#include <sys/random.h>
#include <unistd.h>

namespace keel::posix {

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) reset(std::exchange(other.fd_, -1));
  return *this;
}

void UniqueFd::reset(int fd) {
  if (fd_ >= 0) {
    // Linux releases the descriptor even when close() reports EINTR, so retrying would risk
    // closing a descriptor another thread just received.
    ::close(fd_);
  }
  fd_ = fd;
}

Errc errc_from_errno(int err) {
  switch (err) {
    case 0: return Errc::ok;
    case ENOENT:
    case ENOTDIR: return Errc::not_found;
    case EEXIST: return Errc::already_exists;
    case ENOSPC:
    case EDQUOT: return Errc::no_space;
    case EINVAL:
    case EISDIR:
    case ENOTEMPTY:
    case ENAMETOOLONG:
    case EBADF:  // e.g. a write to a file opened read-only
    case EAFNOSUPPORT: return Errc::invalid_argument;
    case ECONNREFUSED: return Errc::refused;
    case ECONNRESET:
    case EPIPE:
    case ECONNABORTED:
    case ENETRESET:
    case EHOSTUNREACH:
    case ENETUNREACH:
    case ENETDOWN: return Errc::reset;
    case ETIMEDOUT: return Errc::timed_out;
    case EADDRINUSE: return Errc::address_in_use;
    case EADDRNOTAVAIL: return Errc::invalid_argument;  // bind to an address this host lacks
    default: return Errc::io_error;  // EIO, EACCES, EROFS, EMFILE, ...: the operation failed
  }
}

Error sys_error(int err, std::string_view op, std::string_view object) {
  KEEL_ASSERT_NE(err, 0);
  return make_error(errc_from_errno(err), fmt::format("{} {}: {}", op, object, std::strerror(err)));
}

namespace {
std::int64_t read_clock_ns(clockid_t clock) {
  timespec ts{};
  const int rc = ::clock_gettime(clock, &ts);
  KEEL_ASSERT_EQ(rc, 0);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}
}  // namespace

Instant monotonic_now() { return Instant(Duration(read_clock_ns(CLOCK_MONOTONIC))); }
WallTime realtime_now() { return WallTime(Duration(read_clock_ns(CLOCK_REALTIME))); }

std::uint64_t os_random_seed() {
  std::uint64_t seed = 0;
  auto* out = reinterpret_cast<unsigned char*>(&seed);
  std::size_t got = 0;
  while (got < sizeof(seed)) {
    const ssize_t n = ::getrandom(out + got, sizeof(seed) - got, 0);
    if (n < 0 && errno == EINTR) continue;
    KEEL_ASSERT_MSG(n > 0, "getrandom failed: {}", std::strerror(errno));
    got += static_cast<std::size_t>(n);
  }
  return seed;
}

Instant saturating_add(Instant from, Duration d) {
  if (d <= Duration::zero()) return from;
  if (from.time_since_epoch() > instant_max.time_since_epoch() - d) return instant_max;
  return from + d;
}

}  // namespace keel::posix
