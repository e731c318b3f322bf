// Wire primitives: byte-exact encodings of integers, varints (zig-zag and unsigned), classic and
// compact strings and bytes, UUIDs and tag buffers; and a Reader that never reads out of bounds,
// keeps its first error, and bounds every length by what remains.
#include "broker/protocol/wire.h"
#include "tests/support/bytes.h"

#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>
#include <string>

namespace {

using keel::test::bytes_of;

using namespace keel::protocol;

template <class F>
Bytes written(F&& f) {
  Writer w;
  f(w);
  return w.take();
}

}  // namespace

TEST_CASE("wire: integers are big-endian and read back exactly", "[protocol]") {
  Writer w;
  w.write_int8(-2);
  w.write_int16(0x1234);
  w.write_int32(-2);
  w.write_int64(0x0102030405060708);
  w.write_uint16(0xfffe);
  w.write_uint32(0xdeadbeef);
  w.write_bool(true);
  w.write_float64(1.5);
  CHECK(w.data() == bytes_of({0xfe, 0x12, 0x34, 0xff, 0xff, 0xff, 0xfe, 1, 2, 3, 4, 5, 6, 7, 8, 0xff, 0xfe, 0xde, 0xad,
                              0xbe, 0xef, 1, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0}));
  Reader r(w.data());
  CHECK(r.read_int8() == -2);
  CHECK(r.read_int16() == 0x1234);
  CHECK(r.read_int32() == -2);
  CHECK(r.read_int64() == 0x0102030405060708);
  CHECK(r.read_uint16() == 0xfffe);
  CHECK(r.read_uint32() == 0xdeadbeef);
  CHECK(r.read_bool());
  CHECK(r.read_float64() == 1.5);
  CHECK(r.ok());
  CHECK(r.remaining() == 0);
}

TEST_CASE("wire: any non-zero byte reads as true", "[protocol]") {
  const Bytes b = bytes_of({0, 1, 2, 0xff});
  Reader r(b);
  CHECK_FALSE(r.read_bool());
  CHECK(r.read_bool());
  CHECK(r.read_bool());
  CHECK(r.read_bool());
}

TEST_CASE("wire: unsigned varints use 7 bits per byte, low group first", "[protocol]") {
  CHECK(written([](Writer& w) { w.write_unsigned_varint(0); }) == bytes_of({0}));
  CHECK(written([](Writer& w) { w.write_unsigned_varint(127); }) == bytes_of({0x7f}));
  CHECK(written([](Writer& w) { w.write_unsigned_varint(128); }) == bytes_of({0x80, 0x01}));
  CHECK(written([](Writer& w) { w.write_unsigned_varint(300); }) == bytes_of({0xac, 0x02}));
  CHECK(written([](Writer& w) { w.write_unsigned_varint(0xffffffff); }) == bytes_of({0xff, 0xff, 0xff, 0xff, 0x0f}));
  for (std::uint32_t v : {0u, 1u, 127u, 128u, 16383u, 16384u, 0x7fffffffu, 0xffffffffu}) {
    const Bytes b = written([v](Writer& w) { w.write_unsigned_varint(v); });
    Reader r(b);
    CHECK(r.read_unsigned_varint() == v);
    CHECK(r.ok());
    CHECK(r.remaining() == 0);
  }
}

TEST_CASE("wire: signed varints and varlongs are zig-zag encoded", "[protocol]") {
  CHECK(written([](Writer& w) { w.write_varint(0); }) == bytes_of({0}));
  CHECK(written([](Writer& w) { w.write_varint(-1); }) == bytes_of({1}));
  CHECK(written([](Writer& w) { w.write_varint(1); }) == bytes_of({2}));
  CHECK(written([](Writer& w) { w.write_varint(-64); }) == bytes_of({0x7f}));
  CHECK(written([](Writer& w) { w.write_varint(64); }) == bytes_of({0x80, 0x01}));
  CHECK(written([](Writer& w) { w.write_varint(std::numeric_limits<std::int32_t>::min()); }) ==
        bytes_of({0xff, 0xff, 0xff, 0xff, 0x0f}));
  CHECK(written([](Writer& w) { w.write_varlong(-1); }) == bytes_of({1}));
  CHECK(written([](Writer& w) { w.write_varlong(std::numeric_limits<std::int64_t>::min()); }) ==
        bytes_of({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}));
  for (std::int32_t v : {0, 1, -1, 63, -64, 64, 1000000, std::numeric_limits<std::int32_t>::min(),
                         std::numeric_limits<std::int32_t>::max()}) {
    const Bytes b = written([v](Writer& w) { w.write_varint(v); });
    Reader r(b);
    CHECK(r.read_varint() == v);
    CHECK(r.remaining() == 0);
  }
  for (std::int64_t v : {std::int64_t{0}, std::int64_t{-1}, std::int64_t{1} << 40, -(std::int64_t{1} << 40),
                         std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::int64_t>::max()}) {
    const Bytes b = written([v](Writer& w) { w.write_varlong(v); });
    Reader r(b);
    CHECK(r.read_varlong() == v);
    CHECK(r.remaining() == 0);
  }
}

TEST_CASE("wire: a varint longer than its type allows is an error", "[protocol]") {
  const Bytes six = bytes_of({0x80, 0x80, 0x80, 0x80, 0x80, 0x01});
  Reader r(six);
  CHECK(r.read_unsigned_varint() == 0);
  CHECK_FALSE(r.ok());
  CHECK(r.error().code == keel::Errc::corrupt);
  const Bytes overflow = bytes_of({0xff, 0xff, 0xff, 0xff, 0x1f});  // 35 bits
  Reader r2(overflow);
  r2.read_unsigned_varint();
  CHECK_FALSE(r2.ok());
  const Bytes eleven = bytes_of({0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01});
  Reader r3(eleven);
  r3.read_unsigned_varlong();
  CHECK_FALSE(r3.ok());
  const Bytes unterminated = bytes_of({0x80, 0x80});
  Reader r4(unterminated);
  r4.read_varint();
  CHECK_FALSE(r4.ok());
}

TEST_CASE("wire: classic strings and bytes carry int16 and int32 lengths, -1 for null", "[protocol]") {
  CHECK(written([](Writer& w) { w.write_string("ab"); }) == bytes_of({0, 2, 'a', 'b'}));
  CHECK(written([](Writer& w) { w.write_nullable_string(std::nullopt); }) == bytes_of({0xff, 0xff}));
  CHECK(written([](Writer& w) { w.write_bytes(bytes_of({9})); }) == bytes_of({0, 0, 0, 1, 9}));
  CHECK(written([](Writer& w) { w.write_nullable_bytes(std::nullopt); }) == bytes_of({0xff, 0xff, 0xff, 0xff}));

  const Bytes b = bytes_of({0, 2, 'a', 'b', 0xff, 0xff, 0, 0, 0, 1, 9, 0xff, 0xff, 0xff, 0xff, 0, 0});
  Reader r(b);
  CHECK(r.read_string() == "ab");
  CHECK_FALSE(r.read_nullable_string().has_value());
  CHECK(r.read_bytes() == bytes_of({9}));
  CHECK_FALSE(r.read_nullable_bytes().has_value());
  CHECK(r.read_string().empty());
  CHECK(r.ok());
  CHECK(r.remaining() == 0);
}

TEST_CASE("wire: compact strings and bytes carry length + 1, 0 for null", "[protocol]") {
  CHECK(written([](Writer& w) { w.write_compact_string("abc"); }) == bytes_of({4, 'a', 'b', 'c'}));
  CHECK(written([](Writer& w) { w.write_compact_string(""); }) == bytes_of({1}));
  CHECK(written([](Writer& w) { w.write_compact_nullable_string(std::nullopt); }) == bytes_of({0}));
  CHECK(written([](Writer& w) { w.write_compact_bytes(bytes_of({7, 8})); }) == bytes_of({3, 7, 8}));
  CHECK(written([](Writer& w) { w.write_compact_nullable_bytes(std::nullopt); }) == bytes_of({0}));
  CHECK(written([](Writer& w) { w.write_compact_array_length(-1); }) == bytes_of({0}));
  CHECK(written([](Writer& w) { w.write_compact_array_length(2); }) == bytes_of({3}));

  const Bytes b = bytes_of({4, 'a', 'b', 'c', 0, 3, 7, 8, 0, 0, 3, 5, 6});
  Reader r(b);
  CHECK(r.read_compact_string() == "abc");
  CHECK_FALSE(r.read_compact_nullable_string().has_value());
  CHECK(r.read_compact_bytes() == bytes_of({7, 8}));
  CHECK_FALSE(r.read_compact_nullable_bytes().has_value());
  CHECK(r.read_compact_array_length() == -1);
  CHECK(r.read_compact_array_length() == 2);  // two elements' bytes follow
  CHECK(r.ok());
}

TEST_CASE("wire: a long compact string has a multi-byte length", "[protocol]") {
  const std::string s(200, 'x');
  const Bytes b = written([&](Writer& w) { w.write_compact_string(s); });
  REQUIRE(b.size() == 202);
  CHECK(b[0] == 0xc9);  // 201 = 0x49 | 0x80, then 1
  CHECK(b[1] == 0x01);
  Reader r(b);
  CHECK(r.read_compact_string() == s);
}

TEST_CASE("wire: uuids are 16 raw bytes", "[protocol]") {
  Uuid u;
  for (std::size_t i = 0; i < 16; ++i) u.bytes[i] = static_cast<std::uint8_t>(i * 3);
  const Bytes b = written([&](Writer& w) { w.write_uuid(u); });
  CHECK(b == Bytes(u.bytes.begin(), u.bytes.end()));
  Reader r(b);
  CHECK(r.read_uuid() == u);
  CHECK_FALSE(u.is_zero());
  CHECK(Uuid{}.is_zero());
}

TEST_CASE("wire: a read past the end fails, returns zero and never reads outside the span", "[protocol]") {
  // The span covers only the first 3 bytes of a larger buffer; the rest must stay unread.
  const Bytes backing = bytes_of({0, 0, 1, 0x55, 0x55, 0x55, 0x55});
  Reader r{std::span(backing).first(3)};
  CHECK(r.read_int32() == 0);
  CHECK_FALSE(r.ok());
  CHECK(r.position() == 0);
  CHECK_THAT(r.error().message, Catch::Contains("int32 needs 4 bytes, 3 remain"));
  // Sticky: later reads return zero values and keep the first message.
  CHECK(r.read_int8() == 0);
  CHECK(r.read_string().empty());
  CHECK(r.read_raw(1).empty());
  CHECK_THAT(r.error().message, Catch::Contains("int32"));
}

TEST_CASE("wire: lengths beyond what remains or below -1 are errors", "[protocol]") {
  {
    const Bytes b = bytes_of({0, 5, 'a', 'b'});
    Reader r(b);
    CHECK(r.read_string().empty());
    CHECK_FALSE(r.ok());
    CHECK_THAT(r.error().message, Catch::Contains("exceeds"));
  }
  {
    const Bytes b = bytes_of({0xff, 0xfe});
    Reader r(b);
    r.read_nullable_string();
    CHECK_FALSE(r.ok());
    CHECK_THAT(r.error().message, Catch::Contains("invalid length -2"));
  }
  {
    const Bytes b = bytes_of({0xff, 0xff});
    Reader r(b);
    r.read_string();  // null where a string is required
    CHECK_FALSE(r.ok());
  }
  {
    const Bytes b = bytes_of({0x7f, 0xff, 0xff, 0xff, 1});
    Reader r(b);
    CHECK(r.read_bytes().empty());
    CHECK_FALSE(r.ok());
  }
  {
    // A huge array count is refused before anyone allocates for it.
    const Bytes b = bytes_of({0x7f, 0xff, 0xff, 0xff, 1, 2});
    Reader r(b);
    CHECK(r.read_array_length() == 0);
    CHECK_FALSE(r.ok());
  }
  {
    const Bytes b = bytes_of({0xff, 0xff, 0xff, 0xff, 0x0f});  // compact count 2^32 - 2
    Reader r(b);
    r.read_compact_array_length();
    CHECK_FALSE(r.ok());
  }
  {
    const Bytes b = bytes_of({0xff, 0xff, 0xff, 0xfe});
    Reader r(b);
    r.read_array_length();
    CHECK_FALSE(r.ok());
  }
}

TEST_CASE("wire: skip and read_raw stay inside the span", "[protocol]") {
  const Bytes b = bytes_of({1, 2, 3, 4});
  Reader r(b);
  r.skip(1);
  auto raw = r.read_raw(2);
  REQUIRE(raw.size() == 2);
  CHECK(raw[0] == 2);
  CHECK(r.remaining() == 1);
  r.skip(2);
  CHECK_FALSE(r.ok());
  CHECK(r.position() == 3);
}

TEST_CASE("wire: skip_tagged_fields skips unknown fields and refuses disorder and overruns", "[protocol]") {
  {
    const Bytes b = bytes_of({2, 0, 1, 9, 7, 2, 8, 8, 0x42});
    Reader r(b);
    r.skip_tagged_fields();
    CHECK(r.ok());
    CHECK(r.read_int8() == 0x42);
  }
  {
    const Bytes b = bytes_of({2, 7, 0, 7, 0});
    Reader r(b);
    r.skip_tagged_fields();
    CHECK_FALSE(r.ok());
    CHECK_THAT(r.error().message, Catch::Contains("out of order"));
  }
  {
    const Bytes b = bytes_of({1, 0, 5, 1});
    Reader r(b);
    r.skip_tagged_fields();
    CHECK_FALSE(r.ok());
  }
  {
    const Bytes b = bytes_of({0xff, 0xff, 0xff, 0xff, 0x0f});  // 4 billion fields claimed, none present
    Reader r(b);
    r.skip_tagged_fields();
    CHECK_FALSE(r.ok());
  }
}

TEST_CASE("wire: patch_int32 overwrites a length written before its content", "[protocol]") {
  Writer w;
  w.write_int32(0);
  w.write_string("abc");
  w.patch_int32(0, static_cast<std::int32_t>(w.size() - 4));
  CHECK(w.data() == bytes_of({0, 0, 0, 5, 0, 3, 'a', 'b', 'c'}));
  Writer appended(bytes_of({9}));
  appended.write_int8(1);
  CHECK(appended.take() == bytes_of({9, 1}));
}

TEST_CASE("wire: fail keeps the first error", "[protocol]") {
  Reader r;
  r.fail("first");
  r.fail("second");
  CHECK_FALSE(r.ok());
  CHECK_THAT(r.error().message, Catch::Contains("first"));
  CHECK_THAT(r.error().message, !Catch::Contains("second"));
}
