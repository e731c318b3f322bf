#pragma once
// The replica manager of one broker (Kafka's ReplicaManager): every partition replica it holds
// (Partition), one fetcher per leader broker it follows, the fetch purgatory where long polls wait,
// the ISR checks and AlterPartition calls to the controller, and the high watermark checkpoints.
//
// It learns what to be from the metadata image (apply_image, as the node applies committed
// metadata) and reads it for broker addresses, ISR eligibility and topic configs; it asks the
// active controller through the quorum member. It answers the Kafka front end with values, never
// Kafka error codes (errors.h).
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "broker/base/topic_partition.h"
#include "broker/config/config.h"
#include "broker/partition/errors.h"
#include "broker/partition/fetch.h"
#include "broker/partition/fetcher.h"
#include "broker/partition/partition.h"
#include "broker/platform/network.h"
#include "broker/platform/runtime.h"
#include "broker/purgatory/purgatory.h"
#include "broker/purgatory/timing_wheel.h"
#include "broker/storage/log_manager.h"

namespace keel::metadata {
class MetadataImage;
class Quorum;
}

namespace keel::partition {

inline constexpr std::string_view replication_offset_checkpoint_file = "replication-offset-checkpoint";

struct ReplicaManagerOptions {
  BrokerId broker_id = -1;
  std::string inter_broker_listener;                  // the listener followers connect to
  std::int64_t replica_lag_time_max_ms = 30000;       // replica.lag.time.max.ms
  Duration replica_fetch_wait_max = std::chrono::milliseconds(500);  // replica.fetch.wait.max.ms
  std::int32_t replica_fetch_max_bytes = 1 << 20;     // replica.fetch.max.bytes
  Duration replica_fetch_backoff = std::chrono::milliseconds(1000);  // replica.fetch.backoff.ms
  Duration request_timeout = std::chrono::seconds(30);
  Duration controller_timeout = std::chrono::seconds(2);  // an AlterPartition call's bound
  Duration high_watermark_checkpoint_interval = std::chrono::seconds(5);
  // How often the leader looks for ISR changes (Kafka: replica.lag.time.max.ms / 2).
  Duration isr_check_interval = std::chrono::seconds(15);
  int truncation_rounds_max = 64;
  storage::LogConfig log_defaults;  // the broker's log.* settings, under each topic's overrides
};

// What a produce to a leader got.
struct LeaderAppend {
  ReplicaError error = ReplicaError::none;
  std::string message;
  storage::AppendResult result;
  std::int32_t leader_epoch = -1;
};

// ListOffsets: the offset (and its record's timestamp) a lookup found; -1 when none.
struct OffsetLookup {
  ReplicaError error = ReplicaError::none;
  std::int64_t offset = -1;
  std::int64_t timestamp = -1;
  std::int32_t leader_epoch = -1;
};
inline constexpr std::int64_t latest_timestamp = -1;    // ListOffsets: the high watermark
inline constexpr std::int64_t earliest_timestamp = -2;  // ListOffsets: the log start
inline constexpr std::int64_t max_timestamp = -3;       // the record with the largest timestamp
inline constexpr std::int64_t earliest_local_timestamp = -4;  // the local log start (= the log start)
inline constexpr std::int64_t latest_tiered_timestamp = -5;   // the last tiered offset (none: -1)

// DeleteRecords at the leader: an error, or the offset the log start moved to and the partition's
// low watermark (the least log start among its live replicas).
struct RecordsDeletion {
  ReplicaError error = ReplicaError::none;
  std::int64_t offset = -1;
  std::int64_t low_watermark = -1;
};
inline constexpr std::int64_t delete_to_high_watermark = -1;

// DescribeLogDirs: one log dir and the partitions whose logs it holds.
struct LogDirReplicas {
  struct Replica {
    TopicPartition tp;
    std::int64_t size_bytes = 0;
    std::int64_t offset_lag = 0;  // Kafka's: the high watermark's lead over the log end, at least 0
  };
  std::string dir;
  std::vector<Replica> replicas;  // by topic-partition
};

// A leadership change that applying an image made here: the node hands those of internal topics to
// their coordinators (a coordinator loads a partition it now leads, unloads one it stopped leading).
struct RoleChange {
  TopicPartition tp;
  bool leader = false;            // leads it now; else follows it, or no longer holds it
  std::int32_t leader_epoch = -1;
  bool operator==(const RoleChange&) const = default;
};

// One replica as it stands, for checkers and tools.
struct ReplicaStatus {
  TopicPartition tp;
  bool leader = false;
  BrokerId leader_id = -1;
  std::int32_t leader_epoch = -1;
  std::int64_t high_watermark = 0;
  std::int64_t log_start = 0;
  std::int64_t log_end = 0;
  std::vector<BrokerId> isr;  // as the leader knows it (empty on followers)
};

// The address `broker` registered for `listener` (its first endpoint when it has none by that name);
// nullopt when the image does not know the broker.
std::optional<Address> broker_address(const metadata::MetadataImage& image, BrokerId broker, std::string_view listener);

class ReplicaManager {
 public:
  ReplicaManager(Runtime& rt, ReplicaManagerOptions options, storage::LogManager& logs, metadata::Quorum& quorum);
  ~ReplicaManager();
  ReplicaManager(const ReplicaManager&) = delete;
  ReplicaManager& operator=(const ReplicaManager&) = delete;

  // Loads the high watermark checkpoints of the log dirs and starts the background tasks (ISR
  // checks, checkpoints, the purgatory's timer).
  void start(const std::vector<std::string>& log_dirs);
  // Stops the fetchers and tasks and writes the high watermark checkpoints (clean shutdown).
  Status shutdown();
  // This broker's epoch from its registration: sent with AlterPartition.
  void set_broker_epoch(std::int64_t epoch) { broker_epoch_ = epoch; }

  // The metadata changed: every partition whose partition epoch moved becomes a leader or a
  // follower (at a new epoch), or stops; the logs of partitions no longer held here (topic deleted,
  // reassigned away, or left over from before a restart) are deleted. Topic configs are applied.
  // Returns the partitions whose leadership here began or ended (a new leader epoch counts).
  std::vector<RoleChange> apply_image(const metadata::MetadataImage& image);
  // The offset of the last metadata image applied, -1 before any; published() is notified after
  // each (an admin request waits until its change took effect here).
  std::int64_t published_offset() const { return published_offset_; }
  WaitQueue& published() { return published_; }

  // Produce: checks leadership and, for acks=all, min.insync.replicas, then appends the batch the
  // front end validated and scanned once. A coordinator appends only at the leader epoch it loaded
  // its state at (`required_leader_epoch`; -1 for any).
  LeaderAppend append(const TopicPartition& tp, protocol::Bytes batch, const protocol::BatchScan& scan,
                      std::int16_t acks, std::int32_t required_leader_epoch = -1);
  // acks=all: waits until the high watermark reaches `required_offset` (the append's last offset
  // + 1), leadership is lost, or `deadline` passes.
  ReplicaError wait_for_acks(const TopicPartition& tp, std::int64_t required_offset, std::int32_t leader_epoch,
                             Instant deadline);

  // Fetch, for consumers and followers: reads, and waits in the purgatory (a long poll) when less
  // than min_bytes is there.
  FetchResult fetch(const FetchParams& params);

  // ListOffsets at the leader: latest (the high watermark), earliest or earliest local (the log
  // start), max timestamp, latest tiered (-1: no tiered storage), or the first record at or after
  // a timestamp.
  OffsetLookup list_offset(const TopicPartition& tp, std::int32_t current_leader_epoch, std::int64_t timestamp);
  // DeleteRecords at the leader: moves the log start to `offset` (delete_to_high_watermark: the
  // high watermark); offset_out_of_range for any other negative offset or one above the high
  // watermark, as Kafka. Followers learn the new log start from their next fetch.
  RecordsDeletion delete_records(const TopicPartition& tp, std::int64_t offset);
  // Waits until the low watermark reaches `offset` (every live replica moved its log start there:
  // Kafka's DelayedDeleteRecords), leadership is lost (not_leader), or `deadline` passes
  // (timed_out). Answers with the low watermark then.
  RecordsDeletion wait_for_low_watermark(const TopicPartition& tp, std::int64_t offset, Instant deadline);
  // OffsetForLeaderEpoch at the leader.
  std::pair<ReplicaError, EpochEndOffset> end_offset_for(const TopicPartition& tp, std::int32_t current_leader_epoch,
                                                         std::int32_t requested_epoch);

  std::vector<LogDirReplicas> log_dirs() const;
  std::vector<ReplicaStatus> status() const;
  std::optional<ReplicaStatus> status(const TopicPartition& tp) const;
  bool is_leader(const TopicPartition& tp) const;
  // The partition's effective log settings: the broker's under the topic's overrides.
  storage::LogConfig log_config(const std::map<std::string, std::string>& topic_configs) const;
  purgatory::SystemTimer& timer() { return *timer_; }
  const ReplicaManagerOptions& options() const { return options_; }

 private:
  friend class DelayedFetch;
  std::shared_ptr<Partition> find(const TopicPartition& tp) const;
  std::shared_ptr<Partition> open(const TopicPartition& tp, const storage::LogConfig& config);
  std::optional<RoleChange> apply_assignment(const PartitionAssignment& a, const storage::LogConfig& config);
  LeaderAppend append_locked(Partition& p, protocol::Bytes batch, const protocol::BatchScan& scan, std::int16_t acks,
                             bool advance_high_watermark, std::int32_t required_leader_epoch);
  void after_role_change(const std::shared_ptr<Partition>& p, Partition::Applied applied);
  void remove(const TopicPartition& tp, std::string_view why);
  void remove_strays(const std::set<TopicPartition>& held);
  LeaderSettings leader_settings(const std::string& topic) const;
  // Which brokers may be in an ISR: registered, not fenced, and of the epoch the leader saw.
  std::function<bool(BrokerId, std::int64_t broker_epoch)> isr_eligible() const;
  void follow(const std::shared_ptr<Partition>& p);
  void unfollow(const TopicPartition& tp);
  // Wakes the fetches parked on the partition (its log end or high watermark moved, its role changed).
  void wake_fetches(const TopicPartition& tp);
  std::int64_t now_ms() const;

  // Fetch (fetch.cpp).
  PartitionRead plan_read(const FetchParams& params, const FetchPartitionParams& request) const;
  void read(const FetchParams& params, const FetchLimits& limits, std::vector<PartitionRead>& plan, FetchResult& out,
            std::int64_t& bytes) const;
  void note_follower_fetches(const FetchParams& params, const FetchResult& result);

  // ISR changes (isr.cpp).
  void isr_loop();
  // An ISR change as proposed, with the epochs it was computed against: the task that sends it
  // runs later, when the partition may no longer lead.
  struct IsrProposal {
    std::vector<BrokerId> isr;
    std::uint64_t generation = 0;
    std::int32_t leader_epoch = -1;
    std::int32_t partition_epoch = -1;
  };
  void maybe_propose_isr(const std::shared_ptr<Partition>& p);
  void send_isr_proposal(const std::shared_ptr<Partition>& p, const IsrProposal& proposal);
  bool leads_in(const std::shared_ptr<Partition>& p, std::uint64_t generation) const;

  void checkpoint_loop();
  Status write_high_watermarks();
  void track(TaskRef task);

  Runtime& rt_;
  ReplicaManagerOptions options_;
  storage::LogManager& logs_;
  metadata::Quorum& quorum_;
  std::unique_ptr<purgatory::SystemTimer> timer_;
  std::unique_ptr<purgatory::DelayedOperationPurgatory> fetch_purgatory_;
  std::map<TopicPartition, std::shared_ptr<Partition>> partitions_;
  std::map<BrokerId, std::shared_ptr<ReplicaFetcher>> fetchers_;
  std::map<TopicPartition, std::uint64_t> isr_in_flight_;  // partition -> generation of the proposal
  std::map<TopicPartition, Instant> isr_retry_at_;  // after a refused AlterPartition, no new proposal before
  std::map<std::string, std::map<TopicPartition, std::int64_t>> hw_checkpoints_;  // log dir -> loaded values
  std::vector<std::string> log_dirs_;
  std::vector<TaskRef> tasks_;
  std::int64_t broker_epoch_ = -1;
  std::int64_t published_offset_ = -1;
  WaitQueue published_;
  bool strays_removed_ = false;
  bool stopping_ = false;
};

}  // namespace keel::partition
