#include "broker/coordinator/partition_log.h"

#include "broker/base/assert.h"
#include "broker/partition/replica_manager.h"
#include "broker/protocol/record_batch.h"

namespace keel::coordinator {

namespace {

// How the partition layer's refusals read to a coordinator (Kafka's CoordinatorOperationExceptionHelper:
// a lost leadership or a failed log means "not the coordinator"; too few replicas or a timeout means
// "not available"; a batch above max.message.bytes is its own error).
CoordinatorError from_replica(partition::ReplicaError error) {
  using partition::ReplicaError;
  switch (error) {
    case ReplicaError::none: return CoordinatorError::none;
    case ReplicaError::unknown_partition:
    case ReplicaError::not_enough_replicas:
    case ReplicaError::not_enough_replicas_after_append:
    case ReplicaError::timed_out: return CoordinatorError::not_available;
    case ReplicaError::record_too_large: return CoordinatorError::record_too_large;
    default: return CoordinatorError::not_coordinator;
  }
}

// The largest read while loading: a batch larger than this is still returned whole.
constexpr std::int32_t load_read_bytes_max = 1 << 20;

}  // namespace

LogAppend ReplicaLog::append(const TopicPartition& tp, std::int32_t leader_epoch,
                             std::span<const CoordinatorRecord> records) {
  KEEL_ASSERT(!records.empty());
  const std::int64_t now = to_unix_ms(rt_.wall_now());
  std::vector<protocol::Record> batch_records;
  batch_records.reserve(records.size());
  for (const auto& r : records) {
    protocol::Record out;
    out.offset = static_cast<std::int64_t>(batch_records.size());
    out.timestamp = now;
    out.key = r.key;
    out.value = r.value;
    batch_records.push_back(std::move(out));
  }
  protocol::Bytes batch = protocol::build_batch(protocol::BatchOptions{}, batch_records);
  const protocol::BatchScan scan = protocol::scan_batches(batch, false);
  KEEL_ASSERT_EQ(scan.batches.size(), std::size_t{1});
  const auto appended = replicas_.append(tp, std::move(batch), scan, -1, leader_epoch);
  if (appended.error != partition::ReplicaError::none) return LogAppend{from_replica(appended.error), -1};
  return LogAppend{CoordinatorError::none, appended.result.last_offset + 1};
}

CoordinatorError ReplicaLog::wait_committed(const TopicPartition& tp, std::int32_t leader_epoch,
                                            std::int64_t end_offset, Instant deadline) {
  return from_replica(replicas_.wait_for_acks(tp, end_offset, leader_epoch, deadline));
}

LogRead ReplicaLog::read(const TopicPartition& tp, std::int32_t leader_epoch, std::int64_t offset) {
  LogRead out;
  out.next_offset = offset;
  partition::FetchParams params;
  params.max_bytes = load_read_bytes_max;
  params.partitions.push_back(partition::FetchPartitionParams{tp, leader_epoch, offset, -1, load_read_bytes_max});
  auto fetched = replicas_.fetch(params);
  KEEL_ASSERT_EQ(fetched.partitions.size(), std::size_t{1});
  const auto& p = fetched.partitions.front();
  const auto status = replicas_.status(tp);
  if (p.error != partition::ReplicaError::none || !status || !status->leader || status->leader_epoch != leader_epoch) {
    out.error = p.error == partition::ReplicaError::none ? CoordinatorError::not_coordinator : from_replica(p.error);
    return out;
  }
  out.high_watermark = p.high_watermark;
  out.log_end = status->log_end;
  // Whole batches only: a read may end with part of the next one, which the next read returns whole.
  const protocol::BatchScan scan = protocol::scan_batches(p.records, true);
  for (const auto& [position, header] : scan.batches) {
    const std::span<const std::uint8_t> batch(p.records.data() + position, header.size_bytes());
    auto decoded = protocol::decode_records(batch);
    if (!decoded) {
      out.error = CoordinatorError::not_coordinator;  // a corrupt log: this broker cannot serve it
      return out;
    }
    for (auto& record : *decoded) {
      if (record.offset < offset || !record.key) continue;  // before the start; keyless records mean nothing here
      out.records.push_back(CoordinatorRecord{std::move(*record.key), std::move(record.value)});
    }
    out.next_offset = std::max(out.next_offset, header.last_offset() + 1);
  }
  return out;
}

}  // namespace keel::coordinator
