#pragma once
// An in-memory partition log for coordinator tests: records in order, a leader epoch, and switches
// that make appends fail or commits never come (the high watermark stays put), so a test can drive
// the coordinator runtime's failure paths without a replica manager.
#include <algorithm>
#include <vector>

#include "broker/coordinator/partition_log.h"
#include "broker/platform/runtime.h"
#include "broker/platform/sync.h"

namespace keel::test {

class MemoryLog final : public coordinator::PartitionLog {
 public:
  std::vector<coordinator::CoordinatorRecord> records;
  std::int64_t high_watermark = 0;
  std::int32_t leader_epoch = 0;
  bool refuse_appends = false;  // appends fail: this broker is not the leader
  bool hold_commits = false;    // appended records do not commit until commit_to() (the ISR is too small)
  WaitQueue high_watermark_moved;

  coordinator::LogAppend append(const TopicPartition&, std::int32_t epoch,
                                std::span<const coordinator::CoordinatorRecord> batch) override {
    if (refuse_appends || epoch != leader_epoch) return {coordinator::CoordinatorError::not_coordinator, -1};
    records.insert(records.end(), batch.begin(), batch.end());
    if (!hold_commits) high_watermark = static_cast<std::int64_t>(records.size());
    return {coordinator::CoordinatorError::none, static_cast<std::int64_t>(records.size())};
  }
  coordinator::CoordinatorError wait_committed(const TopicPartition&, std::int32_t, std::int64_t end_offset,
                                               Instant deadline) override {
    while (high_watermark < end_offset) {
      // Until its deadline, as for a commit that never comes, unless commit_to() moves the mark.
      if (!high_watermark_moved.wait(deadline)) return coordinator::CoordinatorError::not_available;
    }
    return coordinator::CoordinatorError::none;
  }
  // Commits the records below `offset` (the followers caught up).
  void commit_to(std::int64_t offset) {
    high_watermark = std::min(offset, static_cast<std::int64_t>(records.size()));
    high_watermark_moved.notify_all();
  }
  coordinator::LogRead read(const TopicPartition&, std::int32_t epoch, std::int64_t offset) override {
    coordinator::LogRead out;
    if (epoch != leader_epoch) {
      out.error = coordinator::CoordinatorError::not_coordinator;
      return out;
    }
    out.high_watermark = high_watermark;
    out.log_end = static_cast<std::int64_t>(records.size());
    for (std::int64_t i = offset; i < high_watermark; ++i) out.records.push_back(records[static_cast<std::size_t>(i)]);
    out.next_offset = std::max(offset, high_watermark);
    return out;
  }
  // Truncates to the high watermark, as a new leader would drop records that never committed.
  void truncate_to_high_watermark() { records.resize(static_cast<std::size_t>(high_watermark)); }
};

}  // namespace keel::test
