// Small pieces of the seam shared by both runtimes.
#include "broker/platform/runtime.h"

#include <charconv>
#include <cstdio>

namespace keel {

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
