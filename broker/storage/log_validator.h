#pragma once
// The part of Kafka's LogValidator that concerns time, for a leader's append: a record timestamp
// outside the topic's bounds is refused (INVALID_TIMESTAMP), and each batch's max timestamp is what
// its records say (recomputed; a header claiming 0 over records without timestamps says -1 once
// stored) or, with LogAppendTime, the leader's clock. Retention measures segments by these max
// timestamps, so a header that lies must never reach the log.
#include <cstdint>
#include <span>

#include "broker/base/result.h"
#include "broker/protocol/record_batch.h"
#include "broker/storage/log_config.h"

namespace keel::storage {

// Errc::invalid_timestamp naming the record timestamp and the bounds, as Kafka's message does, when
// the batch (its header and its records' timestamps) may not be appended at now_ms.
Status validate_timestamps(const LogConfig& config, const protocol::BatchHeader& header,
                           const protocol::RecordTimestamps& timestamps, std::int64_t now_ms);

// The max timestamp the stored batch carries (and writes it into `batch`, recomputing the CRC when
// it changes): now_ms with LogAppendTime, else the records' largest timestamp (-1 when none has one).
std::int64_t stamp_max_timestamp(const LogConfig& config, std::span<std::uint8_t> batch,
                                 const protocol::RecordTimestamps& timestamps, std::int64_t now_ms);

// Whether a leader must rewrite some of these batches in the topic's codec, as Kafka's LogValidator
// does: compression.type names a codec (not "producer") and a data batch is in another one.
bool needs_recompression(const LogConfig& config, const protocol::BatchScan& scan);

// The batches with every data batch not in the topic's codec rebuilt in it (its records, offsets,
// timestamps and producer fields kept); control batches and batches already in the codec unchanged.
// An error names the batch whose records do not decode.
Result<protocol::Bytes> recompress_batches(const LogConfig& config, std::span<const std::uint8_t> batches,
                                           const protocol::BatchScan& scan);

}  // namespace keel::storage
