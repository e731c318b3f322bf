#pragma once
// A Fetch as the replica manager serves it (Kafka's FetchParams / FetchPartitionData): what a
// consumer or a follower asks of each partition, and what it gets. The front end translates the
// Kafka request into these and the result back into a response.
#include <cstdint>
#include <limits>
#include <optional>
#include <vector>

#include "broker/base/ids.h"
#include "broker/base/topic_partition.h"
#include "broker/partition/errors.h"
#include "broker/partition/leader_epoch_cache.h"
#include "broker/protocol/wire.h"

namespace keel::storage {
class Log;
}

namespace keel::partition {

class Partition;

struct FetchPartitionParams {
  TopicPartition tp;
  std::int32_t current_leader_epoch = -1;
  std::int64_t fetch_offset = 0;
  std::int32_t last_fetched_epoch = -1;  // a follower's: the epoch of its last record (KIP-320)
  std::int32_t max_bytes = 0;
  std::int64_t log_start_offset = -1;  // a follower's: where its log starts (Fetch v5+)
};

struct FetchParams {
  BrokerId replica_id = -1;    // a follower's broker id; -1 for a consumer
  std::int32_t max_wait_ms = 0;
  std::int32_t min_bytes = 0;
  std::int32_t max_bytes = std::numeric_limits<std::int32_t>::max();
  bool read_committed = false;
  std::vector<FetchPartitionParams> partitions;
  bool follower() const { return replica_id >= 0; }
};

struct FetchPartitionResult {
  ReplicaError error = ReplicaError::none;
  std::int64_t high_watermark = -1;
  std::int64_t log_start_offset = -1;
  // Set for a follower whose last fetched epoch ends earlier here: it truncates, then fetches again.
  std::optional<EpochEndOffset> diverging;
  protocol::Bytes records;
};

// One result per requested partition, in request order.
struct FetchResult {
  std::vector<FetchPartitionResult> partitions;
};

// ---- inside the replica manager (fetch.cpp) ----

// The byte limits of one fetch, and the fault points that bend them (decided once per request, so
// the read after a long poll follows the same rules as the first).
struct FetchLimits {
  std::int32_t max_bytes = 0;
  std::int32_t partition_max_bytes_cap = std::numeric_limits<std::int32_t>::max();
  bool partial_tail = false;  // end a partition's data with part of its next batch
};

// One partition of a fetch as planned: what it may read, or why not.
struct PartitionRead {
  std::shared_ptr<Partition> partition;
  ReplicaError refused = ReplicaError::none;
  std::int64_t max_offset = 0;  // how far the read may go: the high watermark, or the log end for a follower
  std::optional<EpochEndOffset> diverging;
  // The log's visible_bytes_appended() (its log end, for a follower) when last read, to tell how
  // much became readable since.
  std::int64_t visible_at_read = 0;
};

}  // namespace keel::partition
