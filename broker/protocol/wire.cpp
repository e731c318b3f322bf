#include "broker/protocol/wire.h"

#include <fmt/format.h>

#include <bit>
#include <cstring>
#include <limits>

namespace keel::protocol {

bool Uuid::is_zero() const {
  for (auto b : bytes)
    if (b != 0) return false;
  return true;
}

// ---- Writer ----

void Writer::write_float64(double v) { put_be(std::bit_cast<std::uint64_t>(v)); }

void Writer::write_unsigned_varint(std::uint32_t v) {
  while (v >= 0x80) {
    buf_.push_back(static_cast<std::uint8_t>(v | 0x80));
    v >>= 7;
  }
  buf_.push_back(static_cast<std::uint8_t>(v));
}

void Writer::write_unsigned_varlong(std::uint64_t v) {
  while (v >= 0x80) {
    buf_.push_back(static_cast<std::uint8_t>(v | 0x80));
    v >>= 7;
  }
  buf_.push_back(static_cast<std::uint8_t>(v));
}

void Writer::write_varint(std::int32_t v) {
  const auto u = static_cast<std::uint32_t>(v);
  write_unsigned_varint((u << 1) ^ static_cast<std::uint32_t>(v >> 31));
}

void Writer::write_varlong(std::int64_t v) {
  const auto u = static_cast<std::uint64_t>(v);
  write_unsigned_varlong((u << 1) ^ static_cast<std::uint64_t>(v >> 63));
}

void Writer::write_string(std::string_view v) {
  KEEL_ASSERT_MSG(v.size() <= static_cast<std::size_t>(std::numeric_limits<std::int16_t>::max()),
                  "string of {} bytes does not fit an int16 length", v.size());
  write_int16(static_cast<std::int16_t>(v.size()));
  buf_.insert(buf_.end(), v.begin(), v.end());
}

void Writer::write_nullable_string(const std::optional<std::string>& v) {
  if (!v) {
    write_int16(-1);
    return;
  }
  write_string(*v);
}

void Writer::write_bytes(std::span<const std::uint8_t> v) {
  KEEL_ASSERT_MSG(v.size() <= static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max()),
                  "{} bytes do not fit an int32 length", v.size());
  write_int32(static_cast<std::int32_t>(v.size()));
  write_raw(v);
}

void Writer::write_nullable_bytes(const std::optional<Bytes>& v) {
  if (!v) {
    write_int32(-1);
    return;
  }
  write_bytes(*v);
}

void Writer::write_compact_string(std::string_view v) {
  KEEL_ASSERT_MSG(v.size() < static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max()),
                  "compact string of {} bytes", v.size());
  write_unsigned_varint(static_cast<std::uint32_t>(v.size() + 1));
  buf_.insert(buf_.end(), v.begin(), v.end());
}

void Writer::write_compact_nullable_string(const std::optional<std::string>& v) {
  if (!v) {
    write_unsigned_varint(0);
    return;
  }
  write_compact_string(*v);
}

void Writer::write_compact_bytes(std::span<const std::uint8_t> v) {
  KEEL_ASSERT_MSG(v.size() < static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max()),
                  "compact bytes of {} bytes", v.size());
  write_unsigned_varint(static_cast<std::uint32_t>(v.size() + 1));
  write_raw(v);
}

void Writer::write_compact_nullable_bytes(const std::optional<Bytes>& v) {
  if (!v) {
    write_unsigned_varint(0);
    return;
  }
  write_compact_bytes(*v);
}

void Writer::write_compact_array_length(std::int32_t count) {
  KEEL_ASSERT_GE(count, -1);
  write_unsigned_varint(static_cast<std::uint32_t>(count + 1));
}

void Writer::patch_int32(std::size_t pos, std::int32_t v) {
  KEEL_ASSERT_LE(pos + 4, buf_.size());
  const auto u = static_cast<std::uint32_t>(v);
  for (std::size_t i = 0; i < 4; ++i) buf_[pos + i] = static_cast<std::uint8_t>(u >> (8 * (3 - i)));
}

// ---- Reader ----

void Reader::fail(std::string what) {
  if (failed_) return;
  failed_ = true;
  error_ = make_error(Errc::corrupt, fmt::format("{} (at byte {} of {})", what, pos_, data_.size()));
}

bool Reader::need(std::size_t n, const char* what) {
  if (failed_) return false;
  if (remaining() < n) {
    fail(fmt::format("truncated: {} needs {} bytes, {} remain", what, n, remaining()));
    return false;
  }
  return true;
}

std::int8_t Reader::read_int8() { return static_cast<std::int8_t>(get_be<std::uint8_t>("int8")); }
std::int16_t Reader::read_int16() { return static_cast<std::int16_t>(get_be<std::uint16_t>("int16")); }
std::int32_t Reader::read_int32() { return static_cast<std::int32_t>(get_be<std::uint32_t>("int32")); }
std::int64_t Reader::read_int64() { return static_cast<std::int64_t>(get_be<std::uint64_t>("int64")); }
std::uint16_t Reader::read_uint16() { return get_be<std::uint16_t>("uint16"); }
std::uint32_t Reader::read_uint32() { return get_be<std::uint32_t>("uint32"); }
bool Reader::read_bool() { return get_be<std::uint8_t>("bool") != 0; }
double Reader::read_float64() { return std::bit_cast<double>(get_be<std::uint64_t>("float64")); }

Uuid Reader::read_uuid() {
  Uuid u;
  if (!need(16, "uuid")) return u;
  std::memcpy(u.bytes.data(), data_.data() + pos_, 16);
  pos_ += 16;
  return u;
}

std::uint32_t Reader::read_unsigned_varint() {
  std::uint32_t v = 0;
  for (int i = 0; i < 5; ++i) {
    if (!need(1, "unsigned varint")) return 0;
    const std::uint8_t b = data_[pos_++];
    if (i == 4 && (b & 0xf0) != 0) {
      fail("unsigned varint does not fit 32 bits");
      return 0;
    }
    v |= static_cast<std::uint32_t>(b & 0x7f) << (7 * i);
    if ((b & 0x80) == 0) return v;
  }
  KEEL_UNREACHABLE();
}

std::uint64_t Reader::read_unsigned_varlong() {
  std::uint64_t v = 0;
  for (int i = 0; i < 10; ++i) {
    if (!need(1, "unsigned varlong")) return 0;
    const std::uint8_t b = data_[pos_++];
    if (i == 9 && (b & 0xfe) != 0) {
      fail("unsigned varlong does not fit 64 bits");
      return 0;
    }
    v |= static_cast<std::uint64_t>(b & 0x7f) << (7 * i);
    if ((b & 0x80) == 0) return v;
  }
  KEEL_UNREACHABLE();
}

std::int32_t Reader::read_varint() {
  const std::uint32_t u = read_unsigned_varint();
  return static_cast<std::int32_t>((u >> 1) ^ (~(u & 1) + 1));
}

std::int64_t Reader::read_varlong() {
  const std::uint64_t u = read_unsigned_varlong();
  return static_cast<std::int64_t>((u >> 1) ^ (~(u & 1) + 1));
}

bool Reader::check_length(std::int64_t n, bool nullable, const char* what) {
  if (failed_) return false;
  if (n < (nullable ? -1 : 0)) {
    fail(fmt::format("{} has invalid length {}", what, n));
    return false;
  }
  if (n > static_cast<std::int64_t>(remaining())) {
    fail(fmt::format("truncated: {} of length {} exceeds the {} bytes that remain", what, n, remaining()));
    return false;
  }
  return true;
}

std::string Reader::take_string(std::size_t n) {
  std::string s(reinterpret_cast<const char*>(data_.data() + pos_), n);
  pos_ += n;
  return s;
}

Bytes Reader::take_bytes(std::size_t n) {
  Bytes b(data_.begin() + static_cast<std::ptrdiff_t>(pos_), data_.begin() + static_cast<std::ptrdiff_t>(pos_ + n));
  pos_ += n;
  return b;
}

std::string Reader::read_string() {
  const std::int16_t n = read_int16();
  if (!check_length(n, false, "string")) return {};
  return take_string(static_cast<std::size_t>(n));
}

std::optional<std::string> Reader::read_nullable_string() {
  const std::int16_t n = read_int16();
  if (!check_length(n, true, "nullable string")) return std::nullopt;
  if (n < 0) return std::nullopt;
  return take_string(static_cast<std::size_t>(n));
}

Bytes Reader::read_bytes() {
  const std::int32_t n = read_int32();
  if (!check_length(n, false, "bytes")) return {};
  return take_bytes(static_cast<std::size_t>(n));
}

std::optional<Bytes> Reader::read_nullable_bytes() {
  const std::int32_t n = read_int32();
  if (!check_length(n, true, "nullable bytes")) return std::nullopt;
  if (n < 0) return std::nullopt;
  return take_bytes(static_cast<std::size_t>(n));
}

std::string Reader::read_compact_string() {
  const std::int64_t n = static_cast<std::int64_t>(read_unsigned_varint()) - 1;
  if (!check_length(n, false, "compact string")) return {};
  return take_string(static_cast<std::size_t>(n));
}

std::optional<std::string> Reader::read_compact_nullable_string() {
  const std::int64_t n = static_cast<std::int64_t>(read_unsigned_varint()) - 1;
  if (!check_length(n, true, "compact nullable string")) return std::nullopt;
  if (n < 0) return std::nullopt;
  return take_string(static_cast<std::size_t>(n));
}

Bytes Reader::read_compact_bytes() {
  const std::int64_t n = static_cast<std::int64_t>(read_unsigned_varint()) - 1;
  if (!check_length(n, false, "compact bytes")) return {};
  return take_bytes(static_cast<std::size_t>(n));
}

std::optional<Bytes> Reader::read_compact_nullable_bytes() {
  const std::int64_t n = static_cast<std::int64_t>(read_unsigned_varint()) - 1;
  if (!check_length(n, true, "compact nullable bytes")) return std::nullopt;
  if (n < 0) return std::nullopt;
  return take_bytes(static_cast<std::size_t>(n));
}

std::int32_t Reader::read_array_length() {
  const std::int32_t n = read_int32();
  if (!check_length(n, true, "array")) return 0;
  return n;
}

std::int32_t Reader::read_compact_array_length() {
  const std::int64_t n = static_cast<std::int64_t>(read_unsigned_varint()) - 1;
  if (!check_length(n, true, "compact array")) return 0;
  return static_cast<std::int32_t>(n);
}

void Reader::skip_tagged_fields() {
  const std::uint32_t count = read_unsigned_varint();
  std::int64_t previous_tag = -1;
  for (std::uint32_t i = 0; i < count && ok(); ++i) {
    const std::uint32_t tag = read_unsigned_varint();
    const std::uint32_t size = read_unsigned_varint();
    if (!ok()) return;
    if (static_cast<std::int64_t>(tag) <= previous_tag) {
      fail(fmt::format("tagged field {} out of order after tag {}", tag, previous_tag));
      return;
    }
    previous_tag = tag;
    skip(size);
  }
}

std::span<const std::uint8_t> Reader::read_raw(std::size_t n) {
  if (!need(n, "raw bytes")) return {};
  auto s = data_.subspan(pos_, n);
  pos_ += n;
  return s;
}

void Reader::skip(std::size_t n) {
  if (!need(n, "skipped bytes")) return;
  pos_ += n;
}

}  // namespace keel::protocol
