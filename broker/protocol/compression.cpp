#include "broker/protocol/compression.h"

#include <fmt/format.h>
#include <lz4frame.h>
#include <snappy.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstring>
#include <limits>
#include <memory>

// What the clients write and read, checked in their sources (confluentinc/librdkafka at v2.0.2,
// apache/kafka clients/.../common/compress/, xerial/snappy-java SnappyInputStream):
//
// - gzip: both write one gzip member (librdkafka deflateInit2 with 15+16 window bits; Java's
//   GZIPOutputStream). Java reads concatenated members, so Keel does too; raw zlib is not gzip and
//   Java would refuse it, so Keel refuses it as well.
// - snappy: librdkafka writes one raw snappy block (rd_kafka_snappy_compress_iov); Java writes the
//   xerial "snappy-java" stream (SnappyOutputStream: 0x82 'SNAPPY' 0x00, int32 version, int32
//   compatible version, then chunks of int32 big-endian length + raw block). librdkafka reads both
//   (it checks for the magic, rdkafka_msgset_reader.c), and snappy-java's SnappyInputStream falls back
//   to a raw block when the magic is absent and also reads concatenated xerial streams. Keel reads
//   all of these and writes a raw block, which every reader above accepts.
// - lz4: both write the LZ4 frame format with independent blocks, 64 KiB maximum block size, no
//   content size, no checksums (librdkafka rdkafka_lz4.c, Java Lz4BlockOutputStream). Java's reader
//   refuses frames with dependent blocks ("Dependent block stream is unsupported"), so Keel writes
//   exactly what Java writes and refuses dependent blocks on input, so it never stores a batch a Java
//   consumer cannot read. The broken header checksum of KAFKA-3160 applies only to magic 0/1
//   batches, which Keel does not accept.
// - zstd: both write one zstd frame (librdkafka ZSTD_compressStream, Java ZstdOutputStream); their
//   readers (ZSTD_decompress, ZstdInputStream) also take concatenated frames, so Keel does too.
namespace keel::protocol {
namespace {

// Output grows by at least this much at a time (and by doubling beyond it).
constexpr std::size_t grow_step_bytes = 64 * 1024;

Error corrupt(Compression codec, std::string_view what) {
  return Error{Errc::corrupt, fmt::format("{} data: {}", compression_name(codec), what)};
}

Error too_large(Compression codec, std::size_t limit) {
  return Error{Errc::corrupt,
               fmt::format("{} data decompresses to more than {} bytes (the limit)", compression_name(codec), limit)};
}

// Decompressed output that never holds more than limit + 1 bytes: one byte past the limit is how a
// decoder shows it has more to give, and the caller refuses it.
class BoundedOutput {
 public:
  explicit BoundedOutput(std::size_t limit)
      : limit_(limit), cap_(limit == std::numeric_limits<std::size_t>::max() ? limit : limit + 1) {}

  bool over_limit() const { return out_.size() > limit_; }
  void reserve(std::size_t n) { out_.reserve(std::min(n, cap_)); }
  // Room for the decoder's next write; empty only when over the limit.
  std::span<std::uint8_t> room() {
    const std::size_t before = out_.size();
    const std::size_t step = std::max(grow_step_bytes, before);
    out_.resize(before + std::min(step, cap_ - before));
    return std::span(out_).subspan(before);
  }
  // After the decoder wrote `used` bytes of the last room().
  void commit(std::span<std::uint8_t> room, std::size_t used) { out_.resize(out_.size() - room.size() + used); }
  Bytes take() { return std::move(out_); }

 private:
  std::size_t limit_;
  std::size_t cap_;
  Bytes out_;
};

// ---- gzip ----

Result<Bytes> gzip_compress(std::span<const std::uint8_t> data) {
  if (data.size() > UINT_MAX) return Error{Errc::invalid_argument, "gzip: input above 4 GiB"};
  z_stream z{};
  // 15 window bits + 16: a gzip header and trailer, as GZIPOutputStream and librdkafka write.
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
  if (data.size() > UINT_MAX) return corrupt(Compression::gzip, "input above 4 GiB");
  z_stream z{};
  if (inflateInit2(&z, 15 + 16) != Z_OK) return Error{Errc::io_error, "gzip: inflateInit2 failed"};
  std::unique_ptr<z_stream, int (*)(z_stream*)> guard(&z, inflateEnd);
  z.next_in = const_cast<Bytef*>(data.data());
  z.avail_in = static_cast<uInt>(data.size());
  BoundedOutput out(limit);
  while (true) {
    if (out.over_limit()) return too_large(Compression::gzip, limit);
    const auto room = out.room();
    z.next_out = room.data();
    z.avail_out = static_cast<uInt>(room.size());
    const int rc = inflate(&z, Z_NO_FLUSH);
    out.commit(room, room.size() - z.avail_out);
    if (rc == Z_STREAM_END) {
      if (z.avail_in == 0) break;
      // Another gzip member follows (GZIPInputStream reads concatenated members).
      if (inflateReset(&z) != Z_OK) return Error{Errc::io_error, "gzip: inflateReset failed"};
      continue;
    }
    if (rc == Z_BUF_ERROR && z.avail_in == 0) return corrupt(Compression::gzip, "truncated stream");
    if (rc != Z_OK) return corrupt(Compression::gzip, z.msg != nullptr ? z.msg : "inflate failed");
    if (z.avail_in == 0 && z.avail_out != 0) return corrupt(Compression::gzip, "truncated stream");
  }
  if (out.over_limit()) return too_large(Compression::gzip, limit);
  return out.take();
}

// ---- snappy ----

constexpr std::array<std::uint8_t, 8> xerial_magic{0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0x00};
constexpr std::size_t xerial_header_bytes = 16;  // magic, int32 version, int32 compatible version

bool is_xerial_header(std::span<const std::uint8_t> data) {
  return data.size() >= xerial_header_bytes && std::equal(xerial_magic.begin(), xerial_magic.end(), data.begin());
}

Result<Bytes> snappy_compress(std::span<const std::uint8_t> data) {
  Bytes out(snappy::MaxCompressedLength(data.size()));
  std::size_t produced = 0;
  snappy::RawCompress(reinterpret_cast<const char*>(data.data()), data.size(), reinterpret_cast<char*>(out.data()),
                      &produced);
  out.resize(produced);
  return out;
}

// Appends one raw block to `out`; its stated length is checked against the limit before anything
// is allocated.
Status snappy_block(std::span<const std::uint8_t> block, Bytes& out, std::size_t limit) {
  std::size_t length = 0;
  const auto* p = reinterpret_cast<const char*>(block.data());
  if (!snappy::GetUncompressedLength(p, block.size(), &length)) return corrupt(Compression::snappy, "bad block header");
  if (length > limit || out.size() > limit - length) return too_large(Compression::snappy, limit);
  const std::size_t before = out.size();
  out.resize(before + length);
  if (!snappy::RawUncompress(p, block.size(), reinterpret_cast<char*>(out.data() + before))) {
    return corrupt(Compression::snappy, "bad block");
  }
  return {};
}

std::uint32_t load_be32(const std::uint8_t* p) {
  return std::uint32_t{p[0]} << 24 | std::uint32_t{p[1]} << 16 | std::uint32_t{p[2]} << 8 | p[3];
}

Result<Bytes> snappy_xerial_decompress(std::span<const std::uint8_t> data, std::size_t limit) {
  Bytes out;
  std::size_t pos = xerial_header_bytes;
  while (pos < data.size()) {
    // snappy-java reads a second stream header where a chunk length would be (concatenated streams).
    if (is_xerial_header(data.subspan(pos))) {
      pos += xerial_header_bytes;
      continue;
    }
    if (data.size() - pos < 4) return corrupt(Compression::snappy, "truncated xerial chunk length");
    const std::uint32_t length = load_be32(data.data() + pos);
    pos += 4;
    if (length > data.size() - pos) {
      return corrupt(Compression::snappy,
                     fmt::format("xerial chunk of {} bytes runs past the data ({} left)", length, data.size() - pos));
    }
    if (auto st = snappy_block(data.subspan(pos, length), out, limit); !st) return st.error();
    pos += length;
  }
  return out;
}

Result<Bytes> snappy_decompress(std::span<const std::uint8_t> data, std::size_t limit) {
  if (is_xerial_header(data)) return snappy_xerial_decompress(data, limit);
  Bytes out;
  if (auto st = snappy_block(data, out, limit); !st) return st.error();
  return out;
}

// ---- lz4 ----

constexpr std::array<std::uint8_t, 4> lz4_frame_magic{0x04, 0x22, 0x4D, 0x18};  // 0x184D2204 little-endian

Result<Bytes> lz4_compress(std::span<const std::uint8_t> data) {
  LZ4F_preferences_t prefs{};
  prefs.frameInfo.blockSizeID = LZ4F_max64KB;
  prefs.frameInfo.blockMode = LZ4F_blockIndependent;
  prefs.frameInfo.contentChecksumFlag = LZ4F_noContentChecksum;
  prefs.frameInfo.blockChecksumFlag = LZ4F_noBlockChecksum;
  prefs.frameInfo.contentSize = 0;
  Bytes out(LZ4F_compressFrameBound(data.size(), &prefs));
  const std::size_t produced = LZ4F_compressFrame(out.data(), out.size(), data.data(), data.size(), &prefs);
  if (LZ4F_isError(produced)) return Error{Errc::io_error, fmt::format("lz4: {}", LZ4F_getErrorName(produced))};
  out.resize(produced);
  return out;
}

// The frame descriptor's FLG byte: Kafka's Java reader takes version 01 with independent blocks only.
Status lz4_check_frame_header(std::span<const std::uint8_t> data) {
  if (data.size() < 7) return corrupt(Compression::lz4, "shorter than a frame header");
  if (!std::equal(lz4_frame_magic.begin(), lz4_frame_magic.end(), data.begin())) {
    return corrupt(Compression::lz4, "not an LZ4 frame (bad magic)");
  }
  const std::uint8_t flg = data[4];
  if ((flg >> 6) != 1) return corrupt(Compression::lz4, fmt::format("frame version {} (only 1 exists)", flg >> 6));
  if ((flg & 0x20) == 0) return corrupt(Compression::lz4, "dependent blocks (Kafka's Java reader refuses them)");
  return {};
}

Result<Bytes> lz4_decompress(std::span<const std::uint8_t> data, std::size_t limit) {
  if (auto st = lz4_check_frame_header(data); !st) return st.error();
  LZ4F_dctx* ctx = nullptr;
  if (LZ4F_isError(LZ4F_createDecompressionContext(&ctx, LZ4F_VERSION))) return Error{Errc::io_error, "lz4: no context"};
  std::unique_ptr<LZ4F_dctx, LZ4F_errorCode_t (*)(LZ4F_dctx*)> guard(ctx, LZ4F_freeDecompressionContext);
  BoundedOutput out(limit);
  std::size_t pos = 0;
  while (true) {
    if (out.over_limit()) return too_large(Compression::lz4, limit);
    const auto room = out.room();
    std::size_t produced = room.size();
    std::size_t consumed = data.size() - pos;
    const std::size_t hint = LZ4F_decompress(ctx, room.data(), &produced, data.data() + pos, &consumed, nullptr);
    out.commit(room, produced);
    if (LZ4F_isError(hint)) return corrupt(Compression::lz4, LZ4F_getErrorName(hint));
    pos += consumed;
    if (hint == 0) break;  // the frame ended
    // With room left and nothing more to read, a decoder that produced nothing wants more input.
    if (produced == 0 && consumed == 0) return corrupt(Compression::lz4, "truncated frame");
  }
  if (out.over_limit()) return too_large(Compression::lz4, limit);
  if (pos != data.size()) return corrupt(Compression::lz4, fmt::format("{} bytes after the frame", data.size() - pos));
  return out.take();
}

// ---- zstd ----

Result<Bytes> zstd_compress(std::span<const std::uint8_t> data) {
  Bytes out(ZSTD_compressBound(data.size()));
  const std::size_t produced = ZSTD_compress(out.data(), out.size(), data.data(), data.size(), 3);
  if (ZSTD_isError(produced)) return Error{Errc::io_error, fmt::format("zstd: {}", ZSTD_getErrorName(produced))};
  out.resize(produced);
  return out;
}

// The decoder allocates a buffer as large as the window a frame declares (up to 128 MiB by default),
// however little the frame holds. Cap the window near the output limit, but never below the 8 MiB
// that compression levels up to 19 use when the input size is unknown, as in the clients' streams.
constexpr int zstd_window_log_floor = 23;
constexpr int zstd_window_log_default = 27;  // ZSTD_WINDOWLOG_LIMIT_DEFAULT, in zstd.h's static-only part

int zstd_window_log_max(std::size_t limit) {
  int log = zstd_window_log_floor;
  while (log < zstd_window_log_default && (std::size_t{1} << log) < limit) ++log;
  return log;
}

Result<Bytes> zstd_decompress(std::span<const std::uint8_t> data, std::size_t limit) {
  ZSTD_DCtx* ctx = ZSTD_createDCtx();
  if (ctx == nullptr) return Error{Errc::io_error, "zstd: no context"};
  std::unique_ptr<ZSTD_DCtx, std::size_t (*)(ZSTD_DCtx*)> guard(ctx, ZSTD_freeDCtx);
  if (ZSTD_isError(ZSTD_DCtx_setParameter(ctx, ZSTD_d_windowLogMax, zstd_window_log_max(limit)))) {
    return Error{Errc::io_error, "zstd: cannot set the window limit"};
  }
  BoundedOutput out(limit);
  if (const auto size = ZSTD_getFrameContentSize(data.data(), data.size()); size <= limit) out.reserve(size);
  ZSTD_inBuffer in{data.data(), data.size(), 0};
  while (true) {
    if (out.over_limit()) return too_large(Compression::zstd, limit);
    const auto room = out.room();
    ZSTD_outBuffer o{room.data(), room.size(), 0};
    const std::size_t rc = ZSTD_decompressStream(ctx, &o, &in);
    out.commit(room, o.pos);
    if (ZSTD_isError(rc)) return corrupt(Compression::zstd, ZSTD_getErrorName(rc));
    // rc == 0: a frame ended and is flushed; more input is a further frame.
    if (rc == 0 && in.pos == in.size) break;
    if (in.pos == in.size && o.pos < o.size) return corrupt(Compression::zstd, "truncated frame");
  }
  if (out.over_limit()) return too_large(Compression::zstd, limit);
  return out.take();
}

Error unknown_codec(Compression codec) {
  return Error{Errc::invalid_argument, fmt::format("unknown compression codec {}", static_cast<int>(codec))};
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

bool is_known_compression(int id) { return id >= 0 && id <= static_cast<int>(Compression::zstd); }

Result<Bytes> compress(Compression codec, std::span<const std::uint8_t> data) {
  switch (codec) {
    case Compression::none: return Bytes(data.begin(), data.end());
    case Compression::gzip: return gzip_compress(data);
    case Compression::snappy: return snappy_compress(data);
    case Compression::lz4: return lz4_compress(data);
    case Compression::zstd: return zstd_compress(data);
  }
  return unknown_codec(codec);
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
  return unknown_codec(codec);
}

}  // namespace keel::protocol
