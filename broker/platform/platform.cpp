// Small pieces of the seam shared by both runtimes.
#include "broker/platform/runtime.h"

#include <charconv>
#include <cstdio>

namespace keel {

namespace detail {
void assert_fail(const char* expr, const char* file, int line, const std::string& detail) {
  std::fprintf(stderr, "assertion failed: %s at %s:%d%s%s\n", expr, file, line, detail.empty() ? "" : ": ",
               detail.c_str());
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
  }
  return "unknown";
}

Error make_error(Errc code, std::string message) { return Error{code, std::move(message)}; }

std::string_view severity_name(Severity s) {
  switch (s) {
    case Severity::debug: return "debug";
    case Severity::info: return "info";
    case Severity::warn: return "warn";
    case Severity::error: return "error";
  }
  return "unknown";
}

void append_json_escaped(std::string& out, std::string_view s) {
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          fmt::format_to(std::back_inserter(out), "\\u{:04x}", static_cast<unsigned>(c));
        } else {
          out += c;
        }
    }
  }
}

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

void Runtime::sleep_until(Instant t) {
  Executor* ex = Executor::current();
  KEEL_ASSERT_MSG(ex == &executor(), "sleep outside a task of this runtime");
  const WaitToken token = ex->prepare_wait();
  wake_at(t, token);
  ex->park();
}

// ---- disk / network helpers ----

Status File::read_exact_at(std::uint64_t offset, std::span<std::byte> out) {
  std::size_t done = 0;
  while (done < out.size()) {
    auto n = read_at(offset + done, out.subspan(done));
    if (!n) return n.error();
    if (*n == 0) {
      return make_error(Errc::closed, fmt::format("{}: short read at offset {} ({} of {} bytes)", path(), offset, done,
                                                  out.size()));
    }
    done += *n;
  }
  return {};
}

Result<std::uint64_t> File::append(std::span<const std::byte> data) {
  auto end = size();
  if (!end) return end.error();
  auto st = write_at(*end, data);
  if (!st) return st.error();
  return *end;
}

std::string parent_dir(const std::string& path) {
  const auto pos = path.rfind('/');
  return pos == std::string::npos ? std::string() : path.substr(0, pos);
}

std::string join_path(const std::string& dir, const std::string& name) {
  return dir.empty() ? name : dir + "/" + name;
}

std::string Address::to_string() const { return fmt::format("{}:{}", host, port); }

Result<Address> Address::parse(const std::string& text) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return make_error(Errc::invalid_argument, fmt::format("address '{}': expected host:port", text));
  }
  unsigned port = 0;
  const char* b = text.data() + colon + 1;
  const char* e = text.data() + text.size();
  auto [p, ec] = std::from_chars(b, e, port);
  if (ec != std::errc() || p != e || b == e || port > 65535) {
    return make_error(Errc::invalid_argument, fmt::format("address '{}': bad port", text));
  }
  return Address{text.substr(0, colon), static_cast<std::uint16_t>(port)};
}

Status Connection::read_exact(std::span<std::byte> out, Instant deadline) {
  std::size_t done = 0;
  while (done < out.size()) {
    auto n = read(out.subspan(done), deadline);
    if (!n) return n.error();
    if (*n == 0) {
      return make_error(Errc::closed, fmt::format("connection to {} ended after {} of {} bytes", peer().to_string(),
                                                  done, out.size()));
    }
    done += *n;
  }
  return {};
}

}  // namespace keel
