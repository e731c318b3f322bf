#include "broker/storage/log_validator.h"

#include <algorithm>

#include <fmt/format.h>

#include <limits>

#include "broker/base/assert.h"

namespace keel::storage {

namespace {

constexpr std::int64_t i64_max = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t i64_min = std::numeric_limits<std::int64_t>::min();

// |a - b| for a >= b without signed overflow (timestamps come from clients and may be anything).
std::uint64_t distance(std::int64_t high, std::int64_t low) {
  KEEL_ASSERT_GE(high, low);
  return static_cast<std::uint64_t>(high) - static_cast<std::uint64_t>(low);
}

std::int64_t saturating_add(std::int64_t a, std::int64_t b) {
  if (b > 0 && a > i64_max - b) return i64_max;
  if (b < 0 && a < i64_min - b) return i64_min;
  return a + b;
}

// Kafka's recordHasInvalidTimestamp: now - ts > before, or ts - now > after.
bool out_of_bounds(const LogConfig& config, std::int64_t timestamp, std::int64_t now_ms) {
  if (timestamp <= now_ms) return distance(now_ms, timestamp) > static_cast<std::uint64_t>(config.timestamp_before_max_ms);
  return distance(timestamp, now_ms) > static_cast<std::uint64_t>(config.timestamp_after_max_ms);
}

Error invalid_timestamp(std::string message) { return make_error(Errc::invalid_timestamp, std::move(message)); }

}  // namespace

Status validate_timestamps(const LogConfig& config, const protocol::BatchHeader& header,
                           const protocol::RecordTimestamps& timestamps, std::int64_t now_ms) {
  KEEL_ASSERT_GE(config.timestamp_before_max_ms, 0);
  KEEL_ASSERT_GE(config.timestamp_after_max_ms, 0);
  // With CreateTime, a record that has a timestamp is checked against the bounds; a producer may not
  // claim LogAppendTime for records that have none, and never on a LogAppendTime topic.
  if (!config.log_append_time && timestamps.any()) {
    for (const std::int64_t ts : {timestamps.min, timestamps.max}) {
      if (!out_of_bounds(config, ts, now_ms)) continue;
      return invalid_timestamp(fmt::format("Timestamp {} of a record in the batch at offset {} is out of range. The "
                                           "timestamp should be within [{}, {}]",
                                           ts, header.base_offset, saturating_add(now_ms, -config.timestamp_before_max_ms),
                                           saturating_add(now_ms, config.timestamp_after_max_ms)));
    }
    return {};
  }
  if (header.log_append_time()) {
    return invalid_timestamp(fmt::format("Invalid timestamp type in the batch at offset {}. Producer should not set "
                                         "timestamp type to LogAppendTime.", header.base_offset));
  }
  return {};
}

std::int64_t stamp_max_timestamp(const LogConfig& config, std::span<std::uint8_t> batch,
                                 const protocol::RecordTimestamps& timestamps, std::int64_t now_ms) {
  if (config.log_append_time) {
    protocol::set_log_append_time(batch, now_ms);
    return now_ms;
  }
  KEEL_ASSERT_GE(timestamps.max, -1);
  protocol::set_create_time_max_timestamp(batch, timestamps.max);
  return timestamps.max;
}

namespace {

bool wrong_codec(const LogConfig& config, const protocol::BatchHeader& h) {
  return config.compression.has_value() && !h.is_control() && h.compression() != *config.compression;
}

}  // namespace

bool needs_recompression(const LogConfig& config, const protocol::BatchScan& scan) {
  return std::any_of(scan.batches.begin(), scan.batches.end(),
                     [&](const auto& batch) { return wrong_codec(config, batch.second); });
}

Result<protocol::Bytes> recompress_batches(const LogConfig& config, std::span<const std::uint8_t> batches,
                                           const protocol::BatchScan& scan) {
  protocol::Bytes out;
  out.reserve(batches.size());
  for (const auto& [at, h] : scan.batches) {
    const auto bytes = batches.subspan(at, h.size_bytes());
    if (!wrong_codec(config, h)) {
      out.insert(out.end(), bytes.begin(), bytes.end());
      continue;
    }
    auto records = protocol::decode_records(bytes);
    if (!records) return records.error();
    protocol::BatchOptions options;
    options.base_offset = h.base_offset;
    options.compression = *config.compression;
    options.producer_id = h.producer_id;
    options.producer_epoch = h.producer_epoch;
    options.base_sequence = h.base_sequence;
    options.transactional = h.is_transactional();
    options.partition_leader_epoch = h.partition_leader_epoch;
    const protocol::Bytes rebuilt = protocol::build_batch(options, *records);
    out.insert(out.end(), rebuilt.begin(), rebuilt.end());
  }
  return out;
}

}  // namespace keel::storage
