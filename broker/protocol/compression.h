#pragma once
// The record batch codecs Kafka uses, through the Debian libraries: gzip (zlib, gzip framing),
// snappy (raw blocks, and the xerial "snappy-java" framing the Java client writes), lz4 (the LZ4
// frame format) and zstd (a zstd frame).
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "broker/platform/result.h"
#include "broker/protocol/wire.h"

namespace keel::protocol {

enum class Compression : std::int8_t { none = 0, gzip = 1, snappy = 2, lz4 = 3, zstd = 4 };

std::string_view compression_name(Compression c);

Result<Bytes> compress(Compression codec, std::span<const std::uint8_t> data);
// Refuses to produce more than `output_bytes_max` bytes: a small compressed blob must not be able
// to exhaust memory (a decompression bomb). Corrupt input is an Errc::corrupt error.
Result<Bytes> decompress(Compression codec, std::span<const std::uint8_t> data, std::size_t output_bytes_max);

}  // namespace keel::protocol
