// The few functions behind base's headers: the assertion failure path, error names, durations.
#include <charconv>
#include <cstdio>

#include "broker/base/assert.h"
#include "broker/base/result.h"
#include "broker/base/time.h"

namespace keel {

namespace {
thread_local const char* assert_context = nullptr;
}  // namespace

const char* set_assert_context(const char* text) {
  const char* previous = assert_context;
  assert_context = text;
  return previous;
}

namespace detail {
void assert_fail(const char* expr, const char* file, int line, const std::string& detail) {
  std::fprintf(stderr, "assertion failed: %s at %s:%d%s%s\n", expr, file, line, detail.empty() ? "" : ": ",
               detail.c_str());
  if (assert_context != nullptr) std::fprintf(stderr, "  while running: %s\n", assert_context);
  std::fflush(stderr);
  std::abort();
}
}  // namespace detail

std::string_view errc_name(Errc code) {
  switch (code) {
    case Errc::ok: return "ok";
    case Errc::io_error: return "io_error";
    case Errc::no_space: return "no_space";
    case Errc::not_found: return "not_found";
    case Errc::already_exists: return "already_exists";
    case Errc::invalid_argument: return "invalid_argument";
    case Errc::refused: return "refused";
    case Errc::reset: return "reset";
    case Errc::timed_out: return "timed_out";
    case Errc::closed: return "closed";
    case Errc::cancelled: return "cancelled";
    case Errc::address_in_use: return "address_in_use";
    case Errc::corrupt: return "corrupt";
    case Errc::invalid_timestamp: return "invalid_timestamp";
  }
  return "unknown";
}

Error make_error(Errc code, std::string message) { return Error{code, std::move(message)}; }

bool parse_duration(const std::string& text, Duration* out) {
  std::int64_t n = 0;
  const char* begin = text.data();
  const char* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(begin, end, n);
  if (ec != std::errc() || p == begin || n < 0) return false;
  std::string_view unit(p, static_cast<std::size_t>(end - p));
  if (unit == "ns") *out = Duration(n);
  else if (unit == "us") *out = std::chrono::microseconds(n);
  else if (unit == "ms") *out = std::chrono::milliseconds(n);
  else if (unit == "s" || unit.empty()) *out = std::chrono::seconds(n);
  else if (unit == "m" || unit == "min") *out = std::chrono::minutes(n);
  else if (unit == "h") *out = std::chrono::hours(n);
  else return false;
  return true;
}

std::string format_duration(Duration d) {
  const auto ns = d.count();
  if (ns % 1'000'000'000 == 0) return fmt::format("{}s", ns / 1'000'000'000);
  if (ns % 1'000'000 == 0) return fmt::format("{}ms", ns / 1'000'000);
  if (ns % 1'000 == 0) return fmt::format("{}us", ns / 1'000);
  return fmt::format("{}ns", ns);
}

}  // namespace keel
