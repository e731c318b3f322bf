// The four codecs: round trips, the framings other clients write, damage, and the output bound.
#include <catch2/catch.hpp>

#include <lz4frame.h>
#include <snappy.h>
#include <zlib.h>
#define ZSTD_STATIC_LINKING_ONLY  // ZSTD_getFrameHeader, to check the window a test frame declares
#include <zstd.h>

#include <string>

#include "broker/platform/random.h"
#include "broker/protocol/compression.h"
#include "tests/support/bytes.h"

using namespace keel;
using namespace keel::protocol;

namespace {

using keel::test::bytes_of;

constexpr std::size_t mib = 1 << 20;
constexpr Compression codecs[] = {Compression::gzip, Compression::snappy, Compression::lz4, Compression::zstd};

// Half random, half repetitive: compressible, but not trivially.
Bytes sample_data(std::size_t n, std::uint64_t seed) {
  Random random(seed);
  Bytes out(n);
  for (std::size_t i = 0; i < n; ++i) {
    out[i] = (i / 64) % 2 == 0 ? static_cast<std::uint8_t>(random.below(256)) : static_cast<std::uint8_t>(i % 7);
  }
  return out;
}

void append_be32(Bytes& out, std::uint32_t n) {
  out.insert(out.end(), {static_cast<std::uint8_t>(n >> 24), static_cast<std::uint8_t>(n >> 16),
                         static_cast<std::uint8_t>(n >> 8), static_cast<std::uint8_t>(n)});
}

// The snappy-java stream (SnappyOutputStream): magic, version 1, compatible version 1, then chunks of
// a big-endian length and a raw snappy block.
Bytes xerial_header() { return Bytes{0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0x00, 0, 0, 0, 1, 0, 0, 0, 1}; }

void append_xerial_chunk(Bytes& out, std::span<const std::uint8_t> data) {
  std::string block;
  snappy::Compress(reinterpret_cast<const char*>(data.data()), data.size(), &block);
  append_be32(out, static_cast<std::uint32_t>(block.size()));
  out.insert(out.end(), block.begin(), block.end());
}

Bytes xerial_stream(std::span<const std::uint8_t> data, std::size_t chunk_bytes) {
  Bytes out = xerial_header();
  for (std::size_t pos = 0; pos < data.size(); pos += chunk_bytes) {
    append_xerial_chunk(out, data.subspan(pos, std::min(chunk_bytes, data.size() - pos)));
  }
  return out;
}

Bytes lz4_frame(std::span<const std::uint8_t> data, const LZ4F_preferences_t& prefs) {
  Bytes out(LZ4F_compressFrameBound(data.size(), &prefs));
  const std::size_t n = LZ4F_compressFrame(out.data(), out.size(), data.data(), data.size(), &prefs);
  REQUIRE_FALSE(LZ4F_isError(n));
  out.resize(n);
  return out;
}

// A zstd frame written as a stream: no content size in its header, and the given window.
Bytes zstd_stream_frame(std::span<const std::uint8_t> data, int window_log) {
  ZSTD_CCtx* ctx = ZSTD_createCCtx();
  REQUIRE(ctx != nullptr);
  ZSTD_CCtx_setParameter(ctx, ZSTD_c_contentSizeFlag, 0);
  ZSTD_CCtx_setParameter(ctx, ZSTD_c_windowLog, window_log);
  Bytes out(ZSTD_compressBound(data.size()) + 64);
  ZSTD_outBuffer o{out.data(), out.size(), 0};
  ZSTD_inBuffer in{data.data(), data.size(), 0};
  REQUIRE_FALSE(ZSTD_isError(ZSTD_compressStream2(ctx, &o, &in, ZSTD_e_continue)));
  std::size_t rc = 1;
  while (rc != 0) {
    rc = ZSTD_compressStream2(ctx, &o, &in, ZSTD_e_end);
    REQUIRE_FALSE(ZSTD_isError(rc));
  }
  ZSTD_freeCCtx(ctx);
  out.resize(o.pos);
  return out;
}

Bytes concat(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

}  // namespace

TEST_CASE("compression: every codec round-trips empty, tiny, block-straddling and large inputs", "[records][compression]") {
  for (auto codec : codecs) {
    INFO(compression_name(codec));
    for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{100}, std::size_t{64 * 1024 + 7}, 3 * mib + 5}) {
      INFO("size " << n);
      const Bytes data = sample_data(n, n + 1);
      auto packed = compress(codec, data);
      REQUIRE(packed);
      auto unpacked = decompress(codec, *packed, data.size());
      REQUIRE(unpacked);
      CHECK(*unpacked == data);
    }
  }
  const Bytes data = sample_data(1000, 3);
  auto plain = decompress(Compression::none, data, data.size());
  REQUIRE(plain);
  CHECK(*plain == data);
}

TEST_CASE("compression: Keel writes the framings Kafka's clients write", "[records][compression]") {
  const Bytes data = sample_data(200 * 1024, 5);
  auto gz = compress(Compression::gzip, data);
  REQUIRE(gz);
  CHECK((*gz)[0] == 0x1F);  // a gzip member, not a raw zlib stream
  CHECK((*gz)[1] == 0x8B);
  auto lz = compress(Compression::lz4, data);
  REQUIRE(lz);
  CHECK(Bytes(lz->begin(), lz->begin() + 4) == Bytes{0x04, 0x22, 0x4D, 0x18});
  CHECK((*lz)[4] == 0x60);  // FLG: version 01, independent blocks, no checksums, no content size (as Java)
  CHECK((*lz)[5] == 0x40);  // BD: 64 KiB blocks (as Java)
  auto zs = compress(Compression::zstd, data);
  REQUIRE(zs);
  CHECK(Bytes(zs->begin(), zs->begin() + 4) == Bytes{0x28, 0xB5, 0x2F, 0xFD});
  auto sn = compress(Compression::snappy, data);
  REQUIRE(sn);
  std::size_t length = 0;  // a raw snappy block, as librdkafka writes
  REQUIRE(snappy::GetUncompressedLength(reinterpret_cast<const char*>(sn->data()), sn->size(), &length));
  CHECK(length == data.size());
}

TEST_CASE("compression: xerial-framed snappy (the Java client's) decodes, also concatenated and empty",
          "[records][compression]") {
  const Bytes data = sample_data(100 * 1024, 11);
  auto one = decompress(Compression::snappy, xerial_stream(data, 32 * 1024), mib);
  REQUIRE(one);
  CHECK(*one == data);
  // snappy-java reads a second stream header where a chunk length would be.
  const Bytes two_streams = concat(xerial_stream(data, 32 * 1024), xerial_stream(data, 10000));
  auto two = decompress(Compression::snappy, two_streams, mib);
  REQUIRE(two);
  CHECK(*two == concat(data, data));
  auto empty = decompress(Compression::snappy, xerial_header(), mib);
  REQUIRE(empty);
  CHECK(empty->empty());
}

TEST_CASE("compression: damaged xerial snappy streams are errors that say what broke", "[records][compression]") {
  const Bytes data = sample_data(50 * 1024, 12);
  const Bytes good = xerial_stream(data, 32 * 1024);
  Bytes cut = good;
  cut.resize(cut.size() - 10);
  auto truncated = decompress(Compression::snappy, cut, mib);
  REQUIRE_FALSE(truncated);
  CHECK_THAT(truncated.error().message, Catch::Contains("runs past the data"));
  Bytes dangling = xerial_header();
  dangling.insert(dangling.end(), {0, 0});
  auto short_length = decompress(Compression::snappy, dangling, mib);
  REQUIRE_FALSE(short_length);
  CHECK_THAT(short_length.error().message, Catch::Contains("truncated xerial chunk length"));
  Bytes huge = xerial_header();
  append_be32(huge, 0xFFFFFFF0u);
  CHECK_FALSE(decompress(Compression::snappy, huge, mib));
}

TEST_CASE("compression: gzip reads concatenated members and refuses zlib streams and trailing bytes",
          "[records][compression]") {
  const Bytes a = sample_data(70000, 21);
  const Bytes b = sample_data(5000, 22);
  auto ga = compress(Compression::gzip, a);
  auto gb = compress(Compression::gzip, b);
  REQUIRE(ga);
  REQUIRE(gb);
  auto both = decompress(Compression::gzip, concat(*ga, *gb), mib);
  REQUIRE(both);
  CHECK(*both == concat(a, b));

  Bytes zlib(compressBound(static_cast<uLong>(a.size())));
  uLongf zlib_size = zlib.size();
  REQUIRE(compress2(zlib.data(), &zlib_size, a.data(), static_cast<uLong>(a.size()), 6) == Z_OK);
  zlib.resize(zlib_size);
  CHECK_FALSE(decompress(Compression::gzip, zlib, mib));
  CHECK_FALSE(decompress(Compression::gzip, concat(*ga, bytes_of("junk")), mib));
}

TEST_CASE("compression: lz4 takes frames with checksums, content size and big blocks, refuses dependent blocks",
          "[records][compression]") {
  const Bytes data = sample_data(300 * 1024, 31);
  LZ4F_preferences_t rich{};
  rich.frameInfo.blockMode = LZ4F_blockIndependent;
  rich.frameInfo.blockSizeID = LZ4F_max4MB;
  rich.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled;
  rich.frameInfo.blockChecksumFlag = LZ4F_blockChecksumEnabled;
  rich.frameInfo.contentSize = data.size();
  auto out = decompress(Compression::lz4, lz4_frame(data, rich), mib);
  REQUIRE(out);
  CHECK(*out == data);

  LZ4F_preferences_t linked{};
  linked.frameInfo.blockMode = LZ4F_blockLinked;
  auto dependent = decompress(Compression::lz4, lz4_frame(data, linked), mib);
  REQUIRE_FALSE(dependent);
  CHECK_THAT(dependent.error().message, Catch::Contains("dependent blocks"));

  auto packed = compress(Compression::lz4, data);
  REQUIRE(packed);
  auto trailing = decompress(Compression::lz4, concat(*packed, bytes_of("xy")), mib);
  REQUIRE_FALSE(trailing);
  CHECK_THAT(trailing.error().message, Catch::Contains("2 bytes after the frame"));
  // A content checksum that does not match the content.
  Bytes wrong_sum = lz4_frame(data, rich);
  wrong_sum[wrong_sum.size() - 1] ^= 0x01;
  CHECK_FALSE(decompress(Compression::lz4, wrong_sum, mib));
}

TEST_CASE("compression: zstd reads streamed frames without a content size and concatenated frames",
          "[records][compression]") {
  const Bytes a = sample_data(200 * 1024, 41);
  const Bytes b = sample_data(1000, 42);
  auto streamed = decompress(Compression::zstd, zstd_stream_frame(a, 21), mib);
  REQUIRE(streamed);
  CHECK(*streamed == a);
  auto zb = compress(Compression::zstd, b);
  REQUIRE(zb);
  auto both = decompress(Compression::zstd, concat(zstd_stream_frame(a, 21), *zb), mib);
  REQUIRE(both);
  CHECK(*both == concat(a, b));
  CHECK_FALSE(decompress(Compression::zstd, concat(*zb, bytes_of("junk")), mib));
}

TEST_CASE("compression: a zstd frame declaring a huge window is refused instead of allocating it",
          "[records][compression]") {
  const Bytes small = sample_data(1000, 43);
  const Bytes frame = zstd_stream_frame(small, 27);
  ZSTD_frameHeader header{};
  REQUIRE(ZSTD_getFrameHeader(&header, frame.data(), frame.size()) == 0);
  REQUIRE(header.windowSize == (1ull << 27));
  CHECK_FALSE(decompress(Compression::zstd, frame, mib));
  // An 8 MiB window (what levels up to 19 use on a stream) is fine under any limit.
  auto fine = decompress(Compression::zstd, zstd_stream_frame(small, 23), 4096);
  REQUIRE(fine);
  CHECK(*fine == small);
}

TEST_CASE("compression: a bomb above the output limit is refused, output at the limit is not", "[records][compression]") {
  const Bytes zeros(8 * mib, 0);
  for (auto codec : codecs) {
    INFO(compression_name(codec));
    auto packed = compress(codec, zeros);
    REQUIRE(packed);
    REQUIRE(packed->size() < zeros.size() / 20);
    auto bomb = decompress(codec, *packed, mib);
    REQUIRE_FALSE(bomb);
    CHECK(bomb.error().code == Errc::corrupt);
    CHECK_THAT(bomb.error().message, Catch::Contains("more than 1048576 bytes"));
    CHECK_FALSE(decompress(codec, *packed, zeros.size() - 1));
    auto exact = decompress(codec, *packed, zeros.size());
    REQUIRE(exact);
    CHECK(exact->size() == zeros.size());
  }
  // Xerial chunks each below the limit that add up to more than it.
  const Bytes framed = xerial_stream(zeros, 32 * 1024);
  CHECK_FALSE(decompress(Compression::snappy, framed, mib));
  CHECK_FALSE(decompress(Compression::none, zeros, mib));
}

TEST_CASE("compression: every truncation is an error and garbage never crashes", "[records][compression]") {
  const Bytes data = sample_data(3000, 51);
  for (auto codec : codecs) {
    INFO(compression_name(codec));
    auto packed = compress(codec, data);
    REQUIRE(packed);
    for (std::size_t n = 0; n < packed->size(); ++n) {
      INFO("prefix " << n << " of " << packed->size());
      REQUIRE_FALSE(decompress(codec, std::span(*packed).first(n), mib));
    }
    for (std::size_t i = 0; i < packed->size(); ++i) {
      Bytes damaged = *packed;
      damaged[i] ^= 0xA5;
      auto out = decompress(codec, damaged, mib);  // may decode to other bytes (snappy has no checksum)
      if (out) CHECK(out->size() <= mib);
    }
    CHECK_FALSE(decompress(codec, bytes_of("this is not compressed data in any codec at all"), mib));
  }
}

TEST_CASE("compression: an unknown codec id is an invalid argument", "[records][compression]") {
  CHECK(is_known_compression(4));
  CHECK_FALSE(is_known_compression(5));
  auto out = decompress(static_cast<Compression>(5), Bytes{1, 2, 3}, mib);
  REQUIRE_FALSE(out);
  CHECK(out.error().code == Errc::invalid_argument);
  CHECK_FALSE(compress(static_cast<Compression>(7), Bytes{1}));
}
