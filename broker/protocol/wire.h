#pragma once
// Kafka's primitive wire types: big-endian integers, varints, classic (int16/int32 length) and
// compact (unsigned varint length + 1) strings, bytes and arrays, UUIDs and tagged-field buffers.
// A Writer appends to a byte buffer; a Reader walks a span and never reads outside it. A Reader's
// first error sticks: later reads return zero values, and the error names what was being read.
#include "broker/base/result.h"

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace keel::protocol {

using Bytes = std::vector<std::uint8_t>;

struct Uuid {
  std::array<std::uint8_t, 16> bytes{};
  auto operator<=>(const Uuid&) const = default;
  bool is_zero() const;
};

class Writer {
 public:
  Writer() = default;
  explicit Writer(Bytes initial) : buf_(std::move(initial)) {}

  void write_int8(std::int8_t v) { buf_.push_back(static_cast<std::uint8_t>(v)); }
  void write_int16(std::int16_t v) { put_be(static_cast<std::uint16_t>(v)); }
  void write_int32(std::int32_t v) { put_be(static_cast<std::uint32_t>(v)); }
  void write_int64(std::int64_t v) { put_be(static_cast<std::uint64_t>(v)); }
  void write_uint16(std::uint16_t v) { put_be(v); }
  void write_uint32(std::uint32_t v) { put_be(v); }
  void write_bool(bool v) { buf_.push_back(v ? 1 : 0); }
  void write_float64(double v);
  void write_uuid(const Uuid& v) { write_raw(v.bytes); }

  void write_unsigned_varint(std::uint32_t v);
  void write_unsigned_varlong(std::uint64_t v);
  void write_varint(std::int32_t v);   // zig-zag
  void write_varlong(std::int64_t v);  // zig-zag

  // Classic: int16 length (strings) or int32 length (bytes); -1 means null.
  void write_string(std::string_view v);
  void write_nullable_string(const std::optional<std::string>& v);
  void write_bytes(std::span<const std::uint8_t> v);
  void write_nullable_bytes(const std::optional<Bytes>& v);
  // Compact: unsigned varint of length + 1; 0 means null.
  void write_compact_string(std::string_view v);
  void write_compact_nullable_string(const std::optional<std::string>& v);
  void write_compact_bytes(std::span<const std::uint8_t> v);
  void write_compact_nullable_bytes(const std::optional<Bytes>& v);

  // Array lengths: classic int32 (-1 = null), compact unsigned varint of count + 1 (0 = null).
  void write_array_length(std::int32_t count) { write_int32(count); }
  void write_compact_array_length(std::int32_t count);  // count -1 writes null
  // A tag buffer with no tagged fields (the single byte 0).
  void write_empty_tagged_fields() { buf_.push_back(0); }

  void write_raw(std::span<const std::uint8_t> v) { buf_.insert(buf_.end(), v.begin(), v.end()); }
  void reserve(std::size_t n) { buf_.reserve(n); }
  std::size_t size() const { return buf_.size(); }
  // Overwrites 4 bytes at `pos` (a length written before its content was known).
  void patch_int32(std::size_t pos, std::int32_t v);
  Bytes take() { return std::move(buf_); }
  const Bytes& data() const { return buf_; }

 private:
  // push_back rather than a range insert: g++ 12 warns falsely (-Wstringop-overflow) about inserting
  // a small array into a vector that is empty at compile time.
  template <class U>
  void put_be(U v) {
    for (std::size_t i = 0; i < sizeof(U); ++i) buf_.push_back(static_cast<std::uint8_t>(v >> (8 * (sizeof(U) - 1 - i))));
  }

  Bytes buf_;
};

class Reader {
 public:
  Reader() = default;
  explicit Reader(std::span<const std::uint8_t> data) : data_(data) {}

  std::int8_t read_int8();
  std::int16_t read_int16();
  std::int32_t read_int32();
  std::int64_t read_int64();
  std::uint16_t read_uint16();
  std::uint32_t read_uint32();
  bool read_bool();  // any non-zero byte is true, as in Kafka
  double read_float64();
  Uuid read_uuid();

  std::uint32_t read_unsigned_varint();  // at most 5 bytes
  std::uint64_t read_unsigned_varlong();  // at most 10 bytes
  std::int32_t read_varint();
  std::int64_t read_varlong();

  std::string read_string();  // null is an error here
  std::optional<std::string> read_nullable_string();
  Bytes read_bytes();
  std::optional<Bytes> read_nullable_bytes();
  std::string read_compact_string();
  std::optional<std::string> read_compact_nullable_string();
  Bytes read_compact_bytes();
  std::optional<Bytes> read_compact_nullable_bytes();

  // Array element counts, -1 for null. A count larger than the bytes that remain is an error (every
  // element takes at least one byte), so a hostile count never drives a large allocation.
  std::int32_t read_array_length();
  std::int32_t read_compact_array_length();
  // Reads a whole tag buffer and ignores its fields (checking that tags ascend and sizes fit).
  void skip_tagged_fields();

  std::span<const std::uint8_t> read_raw(std::size_t n);  // empty span on error
  void skip(std::size_t n);

  bool ok() const { return !failed_; }
  // Sets the sticky error unless one is set already. `what` names the failure.
  void fail(std::string what);
  const keel::Error& error() const { return error_; }
  std::size_t remaining() const { return data_.size() - pos_; }
  std::size_t position() const { return pos_; }

 private:
  bool need(std::size_t n, const char* what);
  template <class U>
  U get_be(const char* what) {
    if (!need(sizeof(U), what)) return 0;
    U v = 0;
    for (std::size_t i = 0; i < sizeof(U); ++i) v = static_cast<U>((v << 8) | data_[pos_ + i]);
    pos_ += sizeof(U);
    return v;
  }
  // Validates a decoded length (-1 allowed only when `nullable`) against what remains.
  bool check_length(std::int64_t n, bool nullable, const char* what);
  std::string take_string(std::size_t n);
  Bytes take_bytes(std::size_t n);

  std::span<const std::uint8_t> data_;
  std::size_t pos_ = 0;
  bool failed_ = false;
  keel::Error error_;
};

}  // namespace keel::protocol
