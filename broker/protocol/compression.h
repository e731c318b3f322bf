#pragma once
// The record batch codecs Kafka uses, through the Debian libraries: gzip (a gzip stream), snappy
// (raw blocks as librdkafka writes them, and the xerial "snappy-java" framing the Java client writes),
// lz4 (the LZ4 frame format with independent blocks) and zstd (zstd frames). compression.cpp says
// which client writes and reads what, and why Keel writes what it writes.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "broker/base/result.h"
#include "broker/protocol/wire.h"

namespace keel::protocol {

enum class Compression : std::int8_t { none = 0, gzip = 1, snappy = 2, lz4 = 3, zstd = 4 };

std::string_view compression_name(Compression c);
// The codec ids a batch's attributes may carry (bits 0-2 can hold 0..7; Kafka knows 0..4).
bool is_known_compression(int id);

Result<Bytes> compress(Compression codec, std::span<const std::uint8_t> data);
// Refuses to produce more than `output_bytes_max` bytes (Errc::corrupt, "more than N bytes"): a small
// compressed blob must not be able to exhaust memory (a decompression bomb). Memory held while
// decoding stays within about output_bytes_max plus the codec's own window (zstd's is capped at
// max(8 MiB, output_bytes_max)). Corrupt or truncated input, and bytes after the end of the stream,
// are Errc::corrupt errors naming the codec and what was wrong.
Result<Bytes> decompress(Compression codec, std::span<const std::uint8_t> data, std::size_t output_bytes_max);

}  // namespace keel::protocol
