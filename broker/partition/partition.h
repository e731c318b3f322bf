#pragma once
// One partition replica on this broker (Kafka's Partition): its log, its leader epoch cache, its
// role at a leader epoch, and while it leads, what it knows of its followers (LeaderState). The
// high watermark lives in the log (one place); this class is the only one that moves it.
//
// A state machine. Its role changes only through transition(), which asserts what is legal:
//
//   none ──become_leader──▶ leader ◀──┐ (a new leader epoch)
//    │  ▲                     │  ▲    │
//    │  └──────stop()─────────┤  └────┘
//    │                        ▼
//    └──become_follower──▶ follower ◀─┐ (a new leader epoch or leader)
//                                └────┘
//
// and every function that changes state asserts what it relies on and what it establishes:
// leader epochs never go back; the high watermark never passes the log end; a leader's high
// watermark never moves back; a follower truncates below its high watermark only on a leader's
// epoch answer (KIP-101), never on its own.
//
// Locking: the caller holds mutex() across a role change, a leader append and a follower's
// truncate-or-append, so no record of one epoch lands after the next epoch's start was recorded.
// Methods that touch the disk (appends, truncation, checkpoints) suspend.
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "broker/base/topic_partition.h"
#include "broker/partition/errors.h"
#include "broker/partition/leader_epoch_cache.h"
#include "broker/partition/leader_state.h"
#include "broker/platform/runtime.h"
#include "broker/platform/sync.h"
#include "broker/protocol/record_batch.h"
#include "broker/storage/log.h"

namespace keel::partition {

enum class Role : std::uint8_t {
  none,      // not acting on the partition: just opened, or stopped (no longer a replica, shut down)
  leader,    // serves produce and fetch at its leader epoch and tracks its followers
  follower,  // copies the leader's log at its leader epoch
};
std::string_view role_name(Role role);
// A role that acts may stop; none may start either way; a leader or follower may change role, or
// take its role again, only at a new leader epoch.
bool is_legal_transition(Role from, Role to, bool new_epoch);

// What the metadata says about one partition.
struct PartitionAssignment {
  TopicPartition tp;
  std::vector<BrokerId> replicas;
  std::vector<BrokerId> isr;
  BrokerId leader = -1;
  std::int32_t leader_epoch = 0;
  std::int32_t partition_epoch = 0;
};

// What a leader needs beyond the assignment: the topic's min.insync.replicas, the lag bound, and
// who may join an ISR (registered, unfenced, at the broker epoch it fetched with).
struct LeaderSettings {
  std::int32_t min_insync_replicas = 1;
  std::int64_t replica_lag_time_max_ms = 30000;
  std::function<bool(BrokerId, std::int64_t broker_epoch)> isr_eligible;
};

// Why a follower truncates. Only a leader's answer about epochs may cut below the high watermark.
enum class TruncateReason : std::uint8_t {
  leader_epoch_answer,   // OffsetForLeaderEpoch or a fetch's diverging epoch (KIP-101, KIP-279, KIP-320)
  to_high_watermark,     // no epochs known here: only the high watermark is known to be safe
};

class Partition {
 public:
  // Opens the replica over `log`: loads leader-epoch-checkpoint (a torn or corrupt one is rebuilt
  // from the batches that come; until then truncation asks about no epoch) and the high watermark
  // from the replication-offset-checkpoint, if it had one.
  static std::unique_ptr<Partition> open(Runtime& rt, TopicPartition tp, BrokerId self, storage::Log& log,
                                         std::optional<std::int64_t> checkpointed_high_watermark);

  const TopicPartition& tp() const { return tp_; }
  Role role() const { return role_; }
  BrokerId leader() const { return leader_; }
  std::int32_t leader_epoch() const { return leader_epoch_; }
  std::int32_t partition_epoch() const { return partition_epoch_; }
  // Bumped on every role or epoch change: work started under one generation (a fetch, an ISR
  // proposal, an acks=all wait) checks it is still current before acting on what it learned.
  std::uint64_t generation() const { return generation_; }
  const std::vector<BrokerId>& replicas() const { return replicas_; }
  storage::Log& log() { return *log_; }
  const storage::Log& log() const { return *log_; }
  const LeaderEpochCache& epochs() const { return epochs_; }
  std::int64_t high_watermark() const { return log_->high_watermark(); }
  std::int64_t log_end_offset() const { return log_->log_end_offset(); }
  const LeaderState* leader_state() const { return leader_state_ ? &*leader_state_ : nullptr; }
  Mutex& mutex() { return mutex_; }
  // Notified when the high watermark moves or the role changes (acks=all waiters).
  WaitQueue& changed() { return changed_; }

  // ---- role changes (mutex held) ----

  // What applying an assignment did.
  enum class Applied : std::uint8_t { stale, unchanged, replicas_changed, became_leader, became_follower };
  // The assignment names this broker the leader. A new epoch starts at the log end, recorded in the
  // epoch cache at once (KIP-279: a follower holding a later epoch than any record here still gets
  // a right answer); within the same epoch only the ISR or the replicas changed.
  Applied become_leader(const PartitionAssignment& a, const LeaderSettings& settings, std::int64_t now_ms);
  // The assignment names another broker (or none) the leader.
  Applied become_follower(const PartitionAssignment& a);
  // No longer a replica here, the topic is gone, or the broker stops.
  void stop();

  // ---- the leader's side ----

  // Whether a request made at `current_leader_epoch` (-1: any) may be served by this leader.
  ReplicaError check_leader(std::int32_t current_leader_epoch) const;
  // A consumer's reads wait until this leader's high watermark reaches its epoch's start: before,
  // it may still be behind the old leader's, and answering would show a high watermark moving back.
  bool leader_ready_for_consumers() const;
  // Appends batches the caller validated and scanned once, at this leader's epoch; moves the high
  // watermark if the ISR allows (unless told not to yet: a fault point delays it).
  Result<storage::AppendResult> append_as_leader(protocol::Bytes batches, const protocol::BatchScan& scan,
                                                 std::int64_t now_ms, bool advance_high_watermark = true);
  // A follower fetched from `fetch_offset`; moves the high watermark if the ISR allows.
  void follower_fetched(BrokerId follower, std::int64_t fetch_offset, std::int64_t broker_epoch, std::int64_t now_ms);
  // A follower's fetch said where its log starts now (DeleteRecords waits for it).
  void follower_log_start(BrokerId follower, std::int64_t log_start);
  // DeleteRecords at the leader: moves the log start to `offset` (at most the high watermark,
  // checked by the caller); the segments below go at the next retention pass.
  Status delete_records_to(std::int64_t offset);
  // The controller committed an ISR (the answer to this leader's AlterPartition).
  void isr_committed(const std::vector<BrokerId>& isr, std::int32_t partition_epoch, std::int64_t now_ms);
  // acks=all: whether the records below `required_offset` are committed by enough replicas.
  AcksAll acks_after_append(std::int64_t required_offset) const;
  // OffsetForLeaderEpoch: where `epoch` ends in this leader's log.
  EpochEndOffset end_offset_for(std::int32_t epoch) const;
  // Moves the high watermark to what the ISR now allows (after any change to the ISR or the
  // followers). Returns whether it moved.
  bool maybe_advance_high_watermark(std::int64_t now_ms);
  LeaderState& mutable_leader_state();

  // ---- the follower's side ----

  // Cuts the log at `offset` (nothing when it ends there already). Below the high watermark only
  // for a leader's epoch answer (asserted).
  Status truncate(std::int64_t offset, TruncateReason reason, std::string_view detail);
  // Empties the log and starts it at the leader's log start (Kafka's truncateFullyAndStartAt): this
  // replica ends below it.
  Status start_over_at(std::int64_t leader_log_start);
  // This replica's log is empty and the leader's first fetched batch begins below its start but
  // reaches it: the leader's log start lies inside that batch (DeleteRecords moves it to any
  // offset). As Kafka's follower does (UnexpectedAppendOffsetException in
  // Partition.appendRecordsToFollowerOrFutureReplica), the log starts over at the batch's base so
  // that the batch is appended whole; the leader's log start then moves this log's start up again.
  Status start_over_at_batch(std::int64_t base_offset);
  // Appends the leader's batches (scanned and CRC-checked once by the caller) as they are, and
  // records their epochs.
  Status append_as_follower(protocol::Bytes batches, const protocol::BatchScan& scan);
  // The leader's high watermark, as its fetch answer says: this replica's is the smaller of it and
  // the log end, and never moves back.
  void follower_high_watermark(std::int64_t leader_high_watermark);
  // The leader's log start, as its fetch answer says: this replica's moves up to it (never past
  // its own log end), as Kafka's follower does after each fetch.
  Status follower_log_start(std::int64_t leader_log_start);

 private:
  Partition(Runtime& rt, TopicPartition tp, BrokerId self, storage::Log& log);
  void transition(Role to, std::int32_t leader_epoch);
  void record_epochs(const protocol::BatchScan& scan);
  void save_epochs();
  void check_invariants() const;
  Status advance_log_start(std::int64_t offset);

  Runtime& rt_;
  TopicPartition tp_;
  BrokerId self_;
  storage::Log* log_;
  LeaderEpochCache epochs_;
  Role role_ = Role::none;
  BrokerId leader_ = -1;
  std::int32_t leader_epoch_ = -1;
  std::int32_t partition_epoch_ = -1;
  std::vector<BrokerId> replicas_;
  std::optional<LeaderState> leader_state_;
  std::uint64_t generation_ = 0;
  Mutex mutex_;
  WaitQueue changed_;
};

}  // namespace keel::partition

template <>
struct fmt::formatter<keel::partition::Role> : fmt::formatter<std::string_view> {
  auto format(keel::partition::Role role, fmt::format_context& ctx) const {
    return fmt::formatter<std::string_view>::format(keel::partition::role_name(role), ctx);
  }
};
