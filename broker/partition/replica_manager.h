#pragma once
// The replica manager of one broker (Kafka's ReplicaManager + Partition): for every partition this
// broker holds a replica of, whether it leads or follows, at which leader epoch; the leader's view
// of its followers (LeaderState); a follower's fetch task that truncates through
// OffsetForLeaderEpoch and then copies the leader's log; the leader epoch cache of each log and
// its `leader-epoch-checkpoint`; the high watermark and its `replication-offset-checkpoint`.
//
// It learns what to be from the metadata (apply(), called as the metadata log is replayed), and
// reaches the rest of the broker through Hooks, so it depends on storage and the client only.
//
// Locking: each partition has a mutex held across a role change, a leader append and a follower's
// truncate-or-append, so no append of one epoch interleaves with the change to the next (an epoch
// cache entry always starts where that epoch's first record went). Waiting for acks=all happens
// outside it.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "broker/platform/network.h"
#include "broker/platform/runtime.h"
#include "broker/platform/sync.h"
#include "broker/protocol/errors.h"
#include "broker/partition/leader_epoch_cache.h"
#include "broker/partition/leader_state.h"
#include "broker/storage/log.h"
#include "broker/storage/topic_partition.h"

namespace keel::partition {

class LeaderLink;  // a follower's connection to its leader (replica_manager.cpp)

inline constexpr std::string_view replication_offset_checkpoint_file = "replication-offset-checkpoint";

// What the metadata says about one partition.
struct PartitionAssignment {
  TopicPartition tp;
  std::vector<BrokerId> replicas;
  std::vector<BrokerId> isr;
  BrokerId leader = -1;
  std::int32_t leader_epoch = 0;
  std::int32_t partition_epoch = 0;
};

// A leader's request to the controller to change a partition's ISR (AlterPartition).
struct IsrProposal {
  TopicPartition tp;
  std::int32_t leader_epoch = 0;
  std::int32_t partition_epoch = 0;
  std::vector<BrokerId> isr;
};
struct IsrReply {
  protocol::ErrorCode error = protocol::ErrorCode::none;
  std::vector<BrokerId> isr;
  std::int32_t leader_epoch = 0;
  std::int32_t partition_epoch = 0;
};

struct ReplicaManagerOptions {
  BrokerId broker_id = -1;
  std::int64_t replica_lag_time_max_ms = 30000;       // replica.lag.time.max.ms
  Duration replica_fetch_wait_max = std::chrono::milliseconds(500);  // replica.fetch.wait.max.ms
  std::int32_t replica_fetch_max_bytes = 1 << 20;     // replica.fetch.max.bytes
  Duration replica_fetch_backoff = std::chrono::milliseconds(1000);  // replica.fetch.backoff.ms
  Duration request_timeout = std::chrono::seconds(30);
  Duration high_watermark_checkpoint_interval = std::chrono::seconds(5);
  // How often the leader looks for ISR changes (Kafka: replica.lag.time.max.ms / 2).
  Duration isr_check_interval = std::chrono::seconds(15);
  int truncation_rounds_max = 64;  // OffsetForLeaderEpoch rounds before giving up and retrying
};

struct ReplicaManagerHooks {
  // Where another broker listens (from the metadata); nullopt when unknown or fenced.
  std::function<std::optional<Address>(BrokerId)> broker_address;
  // This broker's epoch (from its registration), sent with fetches.
  std::function<std::int64_t()> broker_epoch;
  // Whether a broker may join an ISR: registered, unfenced, not shutting down, and the fetch's
  // broker epoch matches the registration.
  std::function<bool(BrokerId, std::int64_t broker_epoch)> isr_eligible;
  // Sends AlterPartition to the active controller and waits for its answer.
  std::function<IsrReply(const IsrProposal&)> alter_partition;
  // The partition's log, created when missing; nullptr when it cannot be had.
  std::function<storage::Log*(const TopicPartition&)> log;
  std::function<std::int32_t(const std::string& topic)> min_insync_replicas;
  // The high watermark of a partition moved (delayed fetches may complete).
  std::function<void(const TopicPartition&)> high_watermark_moved;
};

// What a produce to a leader got.
struct LeaderAppend {
  protocol::ErrorCode error = protocol::ErrorCode::none;
  std::string message;
  storage::AppendResult result;
  std::int32_t leader_epoch = -1;
};

// What a fetch may read from a partition here: up to the log end for a follower, up to the high
// watermark for a consumer.
struct ReadPermit {
  protocol::ErrorCode error = protocol::ErrorCode::none;
  storage::Log* log = nullptr;
  std::int64_t high_watermark = 0;
  std::int64_t max_offset = 0;
  std::int32_t leader_epoch = -1;
  BrokerId leader = -1;
  std::optional<EpochEndOffset> diverging;  // the follower's last fetched epoch diverges: truncate first
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

class ReplicaManager {
 public:
  ReplicaManager(Runtime& rt, ReplicaManagerOptions options, ReplicaManagerHooks hooks);
  ~ReplicaManager();
  ReplicaManager(const ReplicaManager&) = delete;
  ReplicaManager& operator=(const ReplicaManager&) = delete;

  // Loads the high watermark checkpoints of `log_dirs` and starts the background tasks (ISR checks,
  // checkpoints).
  void start(const std::vector<std::string>& log_dirs);
  // Writes the high watermark checkpoints (clean shutdown).
  Status shutdown();

  // The metadata changed this partition: become its leader or a follower (at a new epoch), or
  // stop holding it (`assignment.replicas` without this broker).
  void apply(const PartitionAssignment& assignment);
  // The partition's topic is gone.
  void remove(const TopicPartition& tp);

  // Produce: checks leadership and min.insync.replicas (for acks=all), then appends with the
  // leader epoch.
  LeaderAppend append_as_leader(const TopicPartition& tp, std::span<const std::uint8_t> batches, std::int16_t acks);
  // acks=all: waits until the high watermark reaches `required_offset` (the append's last offset
  // + 1), leadership is lost, or `deadline` passes.
  protocol::ErrorCode wait_for_acks(const TopicPartition& tp, std::int64_t required_offset, std::int32_t leader_epoch,
                                    Instant deadline);

  // Fetch: may `replica_id` (-1 for a consumer) read this partition here, and how far?
  ReadPermit read_permit(const TopicPartition& tp, BrokerId replica_id, std::int32_t current_leader_epoch,
                         std::int64_t fetch_offset, std::int32_t last_fetched_epoch);
  // A follower's fetch was served from `fetch_offset`.
  void follower_fetched(const TopicPartition& tp, BrokerId replica_id, std::int64_t broker_epoch,
                        std::int64_t fetch_offset);
  // OffsetForLeaderEpoch on the leader.
  std::pair<protocol::ErrorCode, EpochEndOffset> end_offset_for(const TopicPartition& tp,
                                                                std::int32_t current_leader_epoch,
                                                                std::int32_t requested_epoch);

  std::vector<ReplicaStatus> status() const;
  std::optional<ReplicaStatus> status(const TopicPartition& tp) const;
  bool is_leader(const TopicPartition& tp) const;

 private:
  struct Partition;
  Partition* find(const TopicPartition& tp) const;
  Partition& get_or_open(const TopicPartition& tp);
  // Opens (creating if missing) the partition's log and loads its epoch cache and high watermark.
  void open_log(Partition& p);
  void make_leader(Partition& p, const PartitionAssignment& a);
  void make_follower(Partition& p, const PartitionAssignment& a);
  void stop_replica(Partition& p);
  void note_high_watermark(Partition& p, std::int64_t hw);
  void record_epochs(Partition& p, std::span<const std::uint8_t> batches);
  void save_epoch_cache(Partition& p);

  // The follower's fetch task for one (partition, leader epoch).
  void fetch_loop(TopicPartition tp, std::uint64_t generation);
  bool follower_current(const Partition& p, std::uint64_t generation) const;
  Status truncate_for_leader_epoch(Partition& p, std::uint64_t generation, LeaderLink& link);
  Status truncate_to(Partition& p, std::int64_t offset, std::string_view why);
  // True when fetching may go on; false when a diverging epoch wants another truncation round.
  Result<bool> fetch_once(Partition& p, std::uint64_t generation, LeaderLink& link);

  void isr_loop();
  void maybe_propose_isr(Partition& p);
  void checkpoint_loop();
  Status write_high_watermarks();

  Runtime& rt_;
  ReplicaManagerOptions options_;
  ReplicaManagerHooks hooks_;
  std::map<TopicPartition, std::unique_ptr<Partition>> partitions_;
  std::map<std::string, std::map<TopicPartition, std::int64_t>> hw_checkpoints_;  // log dir -> loaded values
  std::vector<std::string> log_dirs_;
  std::vector<TaskRef> tasks_;
  std::uint64_t next_generation_ = 1;
  bool stopping_ = false;
};

}  // namespace keel::partition
