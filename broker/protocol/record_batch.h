#pragma once
// Kafka's record batch v2 (magic 2), the unit of the log and of Produce and Fetch: the 61-byte header,
// its CRC-32C, the records inside (compressed as one blob when the batch is compressed), the in-place
// rewrites a broker makes, control records (transaction markers), and building batches.
//
// Error codes: a length that cannot be a batch and a CRC mismatch are Errc::corrupt (Kafka answers
// CORRUPT_MESSAGE); anything else validate_batch_for_append refuses is Errc::invalid_argument (Kafka
// answers INVALID_RECORD). Messages name the batch's base offset, the record and what was wrong.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "broker/base/result.h"
#include "broker/protocol/compression.h"
#include "broker/protocol/wire.h"

namespace keel::protocol {

constexpr std::size_t batch_header_bytes = 61;
constexpr std::size_t log_overhead_bytes = 12;  // base offset + batch length
// The bytes a batch's length field counts that are always there (magic .. records count).
constexpr std::int32_t batch_length_min = static_cast<std::int32_t>(batch_header_bytes - log_overhead_bytes);
// The default bound on the decompressed records of one batch (what a small blob may inflate to).
// Callers that know message.max.bytes pass their own bound.
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

  // Wraps rather than overflowing on a hostile base offset (such a batch fails validation anyway).
  std::int64_t last_offset() const {
    return static_cast<std::int64_t>(static_cast<std::uint64_t>(base_offset) +
                                     static_cast<std::uint64_t>(std::int64_t{last_offset_delta}));
  }
  std::size_t size_bytes() const { return log_overhead_bytes + static_cast<std::size_t>(batch_length); }
  Compression compression() const { return static_cast<Compression>(attributes & 0x07); }
  bool log_append_time() const { return (attributes & 0x08) != 0; }
  bool is_transactional() const { return (attributes & 0x10) != 0; }
  bool is_control() const { return (attributes & 0x20) != 0; }
  bool has_delete_horizon() const { return (attributes & 0x40) != 0; }
  bool has_producer_id() const { return producer_id >= 0; }
};

// Needs batch_header_bytes; checks magic == 2 and a batch length that covers the header. Not the CRC.
Result<BatchHeader> parse_batch_header(std::span<const std::uint8_t> bytes);
// The whole batch: its length matches the span and its CRC the bytes from attributes to the end.
Status verify_batch_crc(std::span<const std::uint8_t> batch);

// What the records of one batch say about time, as Kafka's log validator reads them on append: the
// batch's real max timestamp is recomputed from them (a header may say 0 while every record says -1).
struct RecordTimestamps {
  std::int64_t max = -1;  // the largest record timestamp above -1; -1 (no timestamp) when there is none
  std::int64_t min = -1;  // the smallest record timestamp other than -1 (what the bounds check); -1 when none
  bool any() const { return min != -1; }
};

// A walk over concatenated batches (a Produce records field, a segment file's bytes).
struct BatchScan {
  std::vector<std::pair<std::size_t, BatchHeader>> batches;  // position and header of each whole batch
  // One per batch once validate_batch_for_append walked its records (the produce path), so that the
  // log need not walk them again; empty otherwise (the log walks them itself).
  std::vector<RecordTimestamps> record_timestamps;
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
// Marks the batch CreateTime with `timestamp_ms` as its max timestamp, recomputing the CRC only when
// either changes (Kafka's DefaultRecordBatch.setMaxTimestamp).
void set_create_time_max_timestamp(std::span<std::uint8_t> batch, std::int64_t timestamp_ms);
// Walks the records of one batch for their timestamps (a LogAppendTime batch's records all carry its
// max timestamp).
Result<RecordTimestamps> record_timestamps(std::span<const std::uint8_t> batch,
                                           std::size_t records_bytes_max = batch_records_bytes_max);

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

// One record as it lies in the batch (or in its decompressed records), for walks that copy nothing.
struct RecordView {
  std::int64_t offset = 0;     // absolute
  std::int64_t timestamp = -1;  // absolute; the batch's max timestamp in LogAppendTime batches
  std::optional<std::span<const std::uint8_t>> key;
  std::optional<std::span<const std::uint8_t>> value;
  std::int32_t headers_count = 0;
  std::span<const std::uint8_t> headers;  // the encoded headers (already checked); decode_records parses them
};

// Walks the records of one batch in order, decompressing first, and calls `visit` for each; stops at
// the first error (the batch's, or one `visit` returns). Checks what any valid batch satisfies, also
// after compaction: the count, offset deltas rising within 0..last_offset_delta, and every length.
// Does not check the CRC.
Status for_each_record(std::span<const std::uint8_t> batch, const std::function<Status(const RecordView&)>& visit,
                       std::size_t records_bytes_max = batch_records_bytes_max);

// The records of one batch with absolute offsets and timestamps (as for_each_record walks them).
Result<std::vector<Record>> decode_records(std::span<const std::uint8_t> batch,
                                           std::size_t records_bytes_max = batch_records_bytes_max);

// What a Kafka broker checks on Produce, in its order: one whole batch, magic 2, the CRC, a known
// codec, not a control batch, a count that agrees with last_offset_delta, a base sequence when there is
// a producer id, and records that decode with offset deltas exactly 0..n-1 and every length in bounds.
// Returns the records' timestamps, from the same walk. (Timestamp bounds need the broker's clock and
// the topic's config: the log checks those, storage::validate_timestamps.)
Result<RecordTimestamps> validate_batch_for_append(std::span<const std::uint8_t> batch,
                                                   std::size_t records_bytes_max = batch_records_bytes_max);

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

// A batch of `records`, whose offsets and timestamps are absolute: offset deltas are taken from
// options.base_offset (records may start after it, as after compaction), timestamp deltas from the
// first record's timestamp, and the max timestamp is the records' largest. Offsets must rise and stay
// within 2^31 of the base offset (asserted: a caller's bug).
Bytes build_batch(const BatchOptions& options, std::span<const Record> records);

// ---- control records ----

// The type in a control record's key (Kafka's ControlRecordType).
enum class ControlRecordType : std::int16_t {
  unknown = -1,
  abort = 0,
  commit = 1,
  leader_change = 2,
  snapshot_header = 3,
  snapshot_footer = 4,
  kraft_version = 5,
  kraft_voters = 6,
};

// The type of a record from a control batch; an unknown type is `unknown`, not an error (as Kafka).
Result<ControlRecordType> control_record_type(const Record& record);

// The value of an ABORT or COMMIT control record (Kafka's EndTransactionMarker).
struct EndTxnMarker {
  bool commit = false;
  std::int32_t coordinator_epoch = 0;
};
Result<EndTxnMarker> decode_end_txn_marker(const Record& record);
// A marker record for build_batch with options.control and options.transactional set (and the
// producer id and epoch of the transaction).
Record make_end_txn_marker(const EndTxnMarker& marker, std::int64_t offset, std::int64_t timestamp);

}  // namespace keel::protocol
