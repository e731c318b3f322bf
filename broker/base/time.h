#pragma once
// Time as broker code sees it. Instants come only from Runtime::now() / wall_now(); these types
// carry no clock of their own, so nothing here can read the real time behind the seam's back.
#include <chrono>
#include <cstdint>
#include <string>

namespace keel {

using Duration = std::chrono::nanoseconds;
using std::chrono_literals::operator""ns;
using std::chrono_literals::operator""us;
using std::chrono_literals::operator""ms;
using std::chrono_literals::operator""s;
using std::chrono_literals::operator""min;
using std::chrono_literals::operator""h;

// Tag types that give time points a distinct type per clock. They have no now(): the runtime is
// the only source of the current time.
struct MonotonicClock {
  using rep = std::int64_t;
  using period = std::nano;
  using duration = Duration;
  using time_point = std::chrono::time_point<MonotonicClock, Duration>;
  static constexpr bool is_steady = true;
};
struct WallClock {
  using rep = std::int64_t;
  using period = std::nano;
  using duration = Duration;
  using time_point = std::chrono::time_point<WallClock, Duration>;
  static constexpr bool is_steady = false;
};

using Instant = MonotonicClock::time_point;   // monotonic, since an arbitrary origin
using WallTime = WallClock::time_point;       // nanoseconds since the Unix epoch; may jump

inline constexpr Instant instant_max = Instant::max();

inline std::int64_t to_ns(Duration d) { return d.count(); }
inline std::int64_t to_ns(Instant t) { return t.time_since_epoch().count(); }
inline std::int64_t to_ms(Duration d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); }
inline std::int64_t to_unix_ms(WallTime t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

// Parses "250ms", "60s", "2m", "1h", "1500us", "10ns" or a bare number of seconds. Returns false
// on anything else.
bool parse_duration(const std::string& text, Duration* out);
std::string format_duration(Duration d);

}  // namespace keel
