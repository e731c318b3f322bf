#pragma once
// Kafka's record batch v2 (magic 2), the unit of the log and of Produce and Fetch: the 61-byte header,
// its CRC-32C, the records inside (compressed as one blob when the batch is compressed), and the
// in-place rewrites a broker makes of the fields outside the CRC.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "broker/platform/result.h"
#include "broker/protocol/compression.h"
#include "broker/protocol/wire.h"

namespace keel::protocol {

constexpr std::size_t batch_header_bytes = 61;
constexpr std::size_t log_overhead_bytes = 12;  // base offset + batch length
// The bytes a batch's length field counts that are always there (magic .. records count).
constexpr std::int32_t batch_length_min = static_cast<std::int32_t>(batch_header_bytes - log_overhead_bytes);
// Decompressed records of one batch may not exceed this; it bounds what a small blob can inflate to.
constexpr std::size_t batch_records_bytes_max = 64u << 20;

struct BatchHeader {
  std::int64_t base_offset = 0;
  std::int32_t batch_length = 0;
  std::int32_t partition_leader_epoch = -1;
  std::int8_t magic = 2;
  std::uint32_t crc = 0;
  std::int16_t attributes = 0;
  std::int32_t last_offset_delta = 0;
  std::int64_t base_timestamp = -1;
  std::int64_t max_timestamp = -1;
  std::int64_t producer_id = -1;
  std::int16_t producer_epoch = -1;
  std::int32_t base_sequence = -1;
  std::int32_t records_count = 0;

  std::int64_t last_offset() const { return base_offset + last_offset_delta; }
  std::size_t size_bytes() const { return log_overhead_bytes + static_cast<std::size_t>(batch_length); }
  Compression compression() const { return static_cast<Compression>(attributes & 0x07); }
  bool log_append_time() const { return (attributes & 0x08) != 0; }
  bool is_transactional() const { return (attributes & 0x10) != 0; }
  bool is_control() const { return (attributes & 0x20) != 0; }
};

// Needs batch_header_bytes; checks magic == 2 and a batch length that covers the header. Not the CRC.
Result<BatchHeader> parse_batch_header(std::span<const std::uint8_t> bytes);
// The whole batch: its length matches the span and its CRC the bytes from attributes to the end.
Status verify_batch_crc(std::span<const std::uint8_t> batch);

// A walk over concatenated batches (a Produce records field, a segment file's bytes).
struct BatchScan {
  std::vector<std::pair<std::size_t, BatchHeader>> batches;  // position and header of each whole batch
  std::size_t valid_bytes = 0;                               // end of the last whole (and valid) batch
  bool torn_tail = false;                                    // stopped at a partial batch at the end
  std::optional<Error> corruption;                           // stopped at a bad length, magic or CRC
};
BatchScan scan_batches(std::span<const std::uint8_t> bytes, bool verify_crc);

// Rewrites of the fields outside the CRC.
void set_base_offset(std::span<std::uint8_t> batch, std::int64_t base_offset);
void set_partition_leader_epoch(std::span<std::uint8_t> batch, std::int32_t epoch);
// Marks the batch LogAppendTime with `timestamp_ms` as its max timestamp, and recomputes the CRC.
void set_log_append_time(std::span<std::uint8_t> batch, std::int64_t timestamp_ms);

struct RecordHeader {
  std::string key;
  std::optional<Bytes> value;
  bool operator==(const RecordHeader&) const = default;
};

struct Record {
  std::int64_t offset = 0;
  std::int64_t timestamp = -1;
  std::optional<Bytes> key;
  std::optional<Bytes> value;
  std::vector<RecordHeader> headers;
  bool operator==(const Record&) const = default;
};

// The records of one batch with absolute offsets and timestamps (LogAppendTime batches give every
// record the batch's max timestamp). Decompresses; checks the count, the offset deltas (0..n-1 in
// order) and every length; the error names what was wrong.
Result<std::vector<Record>> decode_records(std::span<const std::uint8_t> batch);

// What a broker checks on Produce: one whole batch, magic 2, the CRC, records that decode, and a
// count and last offset delta that agree with them.
Status validate_batch_for_append(std::span<const std::uint8_t> batch);

struct BatchOptions {
  std::int64_t base_offset = 0;
  Compression compression = Compression::none;
  std::int64_t producer_id = -1;
  std::int16_t producer_epoch = -1;
  std::int32_t base_sequence = -1;
  bool transactional = false;
  bool control = false;
  std::int32_t partition_leader_epoch = -1;
};

// A batch of `records` (absolute offsets and timestamps; deltas are taken from options.base_offset
// and the first record's timestamp).
Bytes build_batch(const BatchOptions& options, std::span<const Record> records);

}  // namespace keel::protocol
