#include "broker/protocol/compression.h"

#include <fmt/format.h>
#include <lz4frame.h>
#include <snappy.h>
#include <zlib.h>
#include <zstd.h>

#include <array>
#include <cstring>
#include <memory>

namespace keel::protocol {
namespace {

constexpr std::size_t chunk_bytes = 64 * 1024;

Error corrupt(Compression codec, std::string_view what) {
  return Error{Errc::corrupt, fmt::format("{} data: {}", compression_name(codec), what)};
}

Error too_large(Compression codec, std::size_t limit) {
  return Error{Errc::corrupt, fmt::format("{} data decompresses to more than {} bytes", compression_name(codec), limit)};
}

// ---- gzip ----

Result<Bytes> gzip_compress(std::span<const std::uint8_t> data) {
  z_stream z{};
  // 15 window bits + 16: a gzip header and trailer, as Kafka's GZIPOutputStream writes.
  if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    return Error{Errc::io_error, "gzip: deflateInit2 failed"};
  }
  Bytes out(deflateBound(&z, static_cast<uLong>(data.size())) + 32);
  z.next_in = const_cast<Bytef*>(data.data());
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = out.data();
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&z, Z_FINISH);
  const std::size_t produced = z.total_out;
  deflateEnd(&z);
  if (rc != Z_STREAM_END) return Error{Errc::io_error, "gzip: deflate did not finish"};
  out.resize(produced);
  return out;
}

Result<Bytes> gzip_decompress(std::span<const std::uint8_t> data, std::size_t limit) {
  z_stream z{};
  if (inflateInit2(&z, 15 + 32) != Z_OK) return Error{Errc::io_error, "gzip: inflateInit2 failed"};
  std::unique_ptr<z_stream, int (*)(z_stream*)> guard(&z, inflateEnd);
  z.next_in = const_cast<Bytef*>(data.data());
  z.avail_in = static_cast<uInt>(data.size());
  Bytes out;
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    const std::size_t before = out.size();
    if (before >= limit + 1) return too_large(Compression::gzip, limit);
    out.resize(std::min(before + chunk_bytes, limit + 1));
    z.next_out = out.data() + before;
    z.avail_out = static_cast<uInt>(out.size() - before);
    rc = inflate(&z, Z_NO_FLUSH);
    out.resize(out.size() - z.avail_out);
    if (rc == Z_STREAM_END) break;
    if (rc != Z_OK) return corrupt(Compression::gzip, z.msg != nullptr ? z.msg : "inflate failed");
    if (z.avail_in == 0 && z.avail_out != 0) return corrupt(Compression::gzip, "truncated stream");
  }
  if (out.size() > limit) return too_large(Compression::gzip, limit);
  return out;
}

// ---- snappy ----

// The xerial snappy-java stream header: magic, then version and compatible version (int32 each).
constexpr std::array<std::uint8_t, 8> xerial_magic{0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0x00};
constexpr std::size_t xerial_header_bytes = 16;

// librdkafka writes raw snappy blocks; the Java client writes xerial framing. Kafka's reader (the
// xerial SnappyInputStream), librdkafka and kafka-python all accept both, so Keel writes the raw form
// and reads both.
Result<Bytes> snappy_compress(std::span<const std::uint8_t> data) {
  Bytes out(snappy::MaxCompressedLength(data.size()));
  std::size_t produced = 0;
  snappy::RawCompress(reinterpret_cast<const char*>(data.data()), data.size(), reinterpret_cast<char*>(out.data()),
                      &produced);
  out.resize(produced);
  return out;
}

Status snappy_block(std::span<const std::uint8_t> block, Bytes& out, std::size_t limit) {
  std::size_t length = 0;
  const auto* p = reinterpret_cast<const char*>(block.data());
  if (!snappy::GetUncompressedLength(p, block.size(), &length)) return corrupt(Compression::snappy, "bad block header");
  if (out.size() + length > limit) return too_large(Compression::snappy, limit);
  const std::size_t before = out.size();
  out.resize(before + length);
  if (!snappy::RawUncompress(p, block.size(), reinterpret_cast<char*>(out.data() + before))) {
    return corrupt(Compression::snappy, "bad block");
  }
  return {};
}

Result<Bytes> snappy_decompress(std::span<const std::uint8_t> data, std::size_t limit) {
  Bytes out;
  const bool xerial = data.size() >= xerial_header_bytes && std::equal(xerial_magic.begin(), xerial_magic.end(), data.begin());
  if (!xerial) {
    if (auto st = snappy_block(data, out, limit); !st) return st.error();
    return out;
  }
  std::size_t pos = xerial_header_bytes;
  while (pos < data.size()) {
    if (data.size() - pos < 4) return corrupt(Compression::snappy, "truncated xerial block length");
    const std::uint32_t length = std::uint32_t{data[pos]} << 24 | std::uint32_t{data[pos + 1]} << 16 |
                                 std::uint32_t{data[pos + 2]} << 8 | data[pos + 3];
    pos += 4;
    if (length > data.size() - pos) return corrupt(Compression::snappy, "xerial block runs past the data");
    if (auto st = snappy_block(data.subspan(pos, length), out, limit); !st) return st.error();
    pos += length;
  }
  return out;
}

// ---- lz4 ----

Result<Bytes> lz4_compress(std::span<const std::uint8_t> data) {
  LZ4F_preferences_t prefs{};
  prefs.frameInfo.blockMode = LZ4F_blockIndependent;
  prefs.frameInfo.contentSize = data.size();
  Bytes out(LZ4F_compressFrameBound(data.size(), &prefs));
  const std::size_t produced = LZ4F_compressFrame(out.data(), out.size(), data.data(), data.size(), &prefs);
  if (LZ4F_isError(produced)) return Error{Errc::io_error, fmt::format("lz4: {}", LZ4F_getErrorName(produced))};
  out.resize(produced);
  return out;
}

Result<Bytes> lz4_decompress(std::span<const std::uint8_t> data, std::size_t limit) {
  LZ4F_dctx* ctx = nullptr;
  if (LZ4F_isError(LZ4F_createDecompressionContext(&ctx, LZ4F_VERSION))) return Error{Errc::io_error, "lz4: no context"};
  std::unique_ptr<LZ4F_dctx, LZ4F_errorCode_t (*)(LZ4F_dctx*)> guard(ctx, LZ4F_freeDecompressionContext);
  Bytes out;
  std::size_t pos = 0;
  std::size_t hint = 1;
  while (hint != 0) {
    if (pos >= data.size()) return corrupt(Compression::lz4, "truncated frame");
    if (out.size() >= limit + 1) return too_large(Compression::lz4, limit);
    const std::size_t before = out.size();
    out.resize(std::min(before + chunk_bytes, limit + 1));
    std::size_t out_size = out.size() - before;
    std::size_t in_size = data.size() - pos;
    hint = LZ4F_decompress(ctx, out.data() + before, &out_size, data.data() + pos, &in_size, nullptr);
    out.resize(before + out_size);
    if (LZ4F_isError(hint)) return corrupt(Compression::lz4, LZ4F_getErrorName(hint));
    pos += in_size;
    if (in_size == 0 && out_size == 0 && hint != 0) return corrupt(Compression::lz4, "no progress");
  }
  if (out.size() > limit) return too_large(Compression::lz4, limit);
  return out;
}

// ---- zstd ----

Result<Bytes> zstd_compress(std::span<const std::uint8_t> data) {
  Bytes out(ZSTD_compressBound(data.size()));
  const std::size_t produced = ZSTD_compress(out.data(), out.size(), data.data(), data.size(), 3);
  if (ZSTD_isError(produced)) return Error{Errc::io_error, fmt::format("zstd: {}", ZSTD_getErrorName(produced))};
  out.resize(produced);
  return out;
}

Result<Bytes> zstd_decompress(std::span<const std::uint8_t> data, std::size_t limit) {
  ZSTD_DStream* stream = ZSTD_createDStream();
  if (stream == nullptr) return Error{Errc::io_error, "zstd: no stream"};
  std::unique_ptr<ZSTD_DStream, std::size_t (*)(ZSTD_DStream*)> guard(stream, ZSTD_freeDStream);
  ZSTD_inBuffer in{data.data(), data.size(), 0};
  Bytes out;
  std::size_t rc = 1;
  while (rc != 0) {
    if (out.size() >= limit + 1) return too_large(Compression::zstd, limit);
    const std::size_t before = out.size();
    out.resize(std::min(before + chunk_bytes, limit + 1));
    ZSTD_outBuffer o{out.data() + before, out.size() - before, 0};
    const std::size_t in_before = in.pos;
    rc = ZSTD_decompressStream(stream, &o, &in);
    out.resize(before + o.pos);
    if (ZSTD_isError(rc)) return corrupt(Compression::zstd, ZSTD_getErrorName(rc));
    if (rc != 0 && in.pos == data.size() && o.pos == 0 && in.pos == in_before) return corrupt(Compression::zstd, "truncated frame");
  }
  if (out.size() > limit) return too_large(Compression::zstd, limit);
  return out;
}

}  // namespace

std::string_view compression_name(Compression c) {
  switch (c) {
    case Compression::none: return "none";
    case Compression::gzip: return "gzip";
    case Compression::snappy: return "snappy";
    case Compression::lz4: return "lz4";
    case Compression::zstd: return "zstd";
  }
  return "unknown";
}

Result<Bytes> compress(Compression codec, std::span<const std::uint8_t> data) {
  switch (codec) {
    case Compression::none: return Bytes(data.begin(), data.end());
    case Compression::gzip: return gzip_compress(data);
    case Compression::snappy: return snappy_compress(data);
    case Compression::lz4: return lz4_compress(data);
    case Compression::zstd: return zstd_compress(data);
  }
  return Error{Errc::invalid_argument, fmt::format("unknown compression {}", static_cast<int>(codec))};
}

Result<Bytes> decompress(Compression codec, std::span<const std::uint8_t> data, std::size_t output_bytes_max) {
  switch (codec) {
    case Compression::none:
      if (data.size() > output_bytes_max) return too_large(codec, output_bytes_max);
      return Bytes(data.begin(), data.end());
    case Compression::gzip: return gzip_decompress(data, output_bytes_max);
    case Compression::snappy: return snappy_decompress(data, output_bytes_max);
    case Compression::lz4: return lz4_decompress(data, output_bytes_max);
    case Compression::zstd: return zstd_decompress(data, output_bytes_max);
  }
  return Error{Errc::invalid_argument, fmt::format("unknown compression {}", static_cast<int>(codec))};
}

}  // namespace keel::protocol
