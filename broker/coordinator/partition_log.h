#pragma once
// What the coordinator runtime needs of its internal topic's partitions: append records as the
// leader at a leader epoch, wait until they are committed (the high watermark passed them), and read
// the committed log from an offset (to load a shard). ReplicaLog implements it over the replica
// manager; tests use an in-memory log.
#include <cstdint>
#include <span>
#include <vector>

#include "broker/base/time.h"
#include "broker/base/topic_partition.h"
#include "broker/coordinator/errors.h"
#include "broker/coordinator/record.h"
#include "broker/platform/runtime.h"

namespace keel::partition {
class ReplicaManager;
}

namespace keel::coordinator {

struct LogAppend {
  CoordinatorError error = CoordinatorError::none;
  std::int64_t end_offset = -1;  // the offset after the last record appended
};

struct LogRead {
  CoordinatorError error = CoordinatorError::none;
  // Records at offsets from the requested one up to below `next_offset`, all below the high
  // watermark; empty when nothing committed lies there yet.
  std::vector<CoordinatorRecord> records;
  std::int64_t next_offset = 0;
  std::int64_t high_watermark = 0;
  std::int64_t log_end = 0;
};

class PartitionLog {
 public:
  virtual ~PartitionLog() = default;
  // Appends as the partition's leader at `leader_epoch` (refused at any other epoch), acks=all.
  virtual LogAppend append(const TopicPartition& tp, std::int32_t leader_epoch,
                           std::span<const CoordinatorRecord> records) = 0;
  // Waits until the high watermark reaches `end_offset` while this broker leads at `leader_epoch`.
  virtual CoordinatorError wait_committed(const TopicPartition& tp, std::int32_t leader_epoch, std::int64_t end_offset,
                                          Instant deadline) = 0;
  // Reads committed records from `offset` as the leader at `leader_epoch`.
  virtual LogRead read(const TopicPartition& tp, std::int32_t leader_epoch, std::int64_t offset) = 0;
};

// The production log: the replica manager's partitions.
class ReplicaLog final : public PartitionLog {
 public:
  ReplicaLog(Runtime& rt, partition::ReplicaManager& replicas) : rt_(rt), replicas_(replicas) {}
  LogAppend append(const TopicPartition& tp, std::int32_t leader_epoch,
                   std::span<const CoordinatorRecord> records) override;
  CoordinatorError wait_committed(const TopicPartition& tp, std::int32_t leader_epoch, std::int64_t end_offset,
                                  Instant deadline) override;
  LogRead read(const TopicPartition& tp, std::int32_t leader_epoch, std::int64_t offset) override;

 private:
  Runtime& rt_;
  partition::ReplicaManager& replicas_;
};

}  // namespace keel::coordinator
