#include "broker/partition/partition.h"
#include "broker/base/coverage.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "broker/base/assert.h"

namespace keel::partition {

std::string_view role_name(Role role) {
  switch (role) {
    case Role::none: return "none";
    case Role::leader: return "leader";
    case Role::follower: return "follower";
  }
  KEEL_UNREACHABLE();
}

bool is_legal_transition(Role from, Role to, bool new_epoch) {
  if (to == Role::none) return from != Role::none;  // stopping what acts
  if (from == Role::none) return true;              // starting, at the epoch the metadata says
  // Leading or following again, or the other way round: only the controller's next leader epoch
  // makes that happen (every leader change bumps it).
  return new_epoch;
}

std::string_view replica_error_name(ReplicaError error) {
  switch (error) {
    case ReplicaError::none: return "none";
    case ReplicaError::unknown_partition: return "unknown_partition";
    case ReplicaError::not_leader: return "not_leader";
    case ReplicaError::fenced_leader_epoch: return "fenced_leader_epoch";
    case ReplicaError::unknown_leader_epoch: return "unknown_leader_epoch";
    case ReplicaError::not_enough_replicas: return "not_enough_replicas";
    case ReplicaError::not_enough_replicas_after_append: return "not_enough_replicas_after_append";
    case ReplicaError::offset_out_of_range: return "offset_out_of_range";
    case ReplicaError::invalid_record: return "invalid_record";
    case ReplicaError::corrupt_record: return "corrupt_record";
    case ReplicaError::record_too_large: return "record_too_large";
    case ReplicaError::invalid_timestamp: return "invalid_timestamp";
    case ReplicaError::storage: return "storage";
    case ReplicaError::timed_out: return "timed_out";
  }
  KEEL_UNREACHABLE();
}

namespace {

std::string epoch_checkpoint_path(const storage::Log& log) {
  return log.dir() + "/" + std::string(leader_epoch_checkpoint_file);
}

}  // namespace

Partition::Partition(Runtime& rt, TopicPartition tp, BrokerId self, storage::Log& log)
    : rt_(rt), tp_(std::move(tp)), self_(self), log_(&log) {}

std::unique_ptr<Partition> Partition::open(Runtime& rt, TopicPartition tp, BrokerId self, storage::Log& log,
                                           std::optional<std::int64_t> checkpointed_high_watermark) {
  std::unique_ptr<Partition> p(new Partition(rt, std::move(tp), self, log));
  auto cache = read_leader_epoch_checkpoint(rt.disk(), epoch_checkpoint_path(log));
  if (cache) {
    p->epochs_ = std::move(*cache);
  } else {
    rt.trace("LeaderEpochCheckpointUnreadable", Severity::warn).detail("Partition", p->tp_.to_string())
        .detail("Error", cache.error().message);
  }
  // Kafka re-truncates the cache on load: entries past the log end describe records a crash took.
  if (p->epochs_.truncate_from_end(log.log_end_offset())) p->save_epochs();
  log.reset_high_watermark(checkpointed_high_watermark.value_or(0));
  p->check_invariants();
  return p;
}

void Partition::check_invariants() const {
  KEEL_ASSERT_LE(log_->high_watermark(), log_->log_end_offset());
  KEEL_ASSERT_EQ(leader_state_.has_value(), role_ == Role::leader);
  if (const auto latest = epochs_.latest_epoch(); latest && role_ != Role::none) {
    // The epoch cache never knows an epoch newer than the one this replica acts at.
    KEEL_ASSERT_MSG(*latest <= leader_epoch_, "{}: epoch cache holds epoch {} beyond leader epoch {}", tp_, *latest,
                    leader_epoch_);
  }
}

void Partition::transition(Role to, std::int32_t leader_epoch) {
  KEEL_ASSERT_MSG(is_legal_transition(role_, to, leader_epoch > leader_epoch_), "{}: role {} -> {} at leader epoch {} -> {}",
                  tp_, role_, to, leader_epoch_, leader_epoch);
  KEEL_ASSERT_MSG(leader_epoch >= leader_epoch_, "{}: leader epoch {} -> {} goes back", tp_, leader_epoch_,
                  leader_epoch);
  role_ = to;
  leader_epoch_ = leader_epoch;
  ++generation_;
  changed_.notify_all();  // acks=all waiters learn they lost leadership
}

// ---- role changes ----

Partition::Applied Partition::become_leader(const PartitionAssignment& a, const LeaderSettings& settings,
                                            std::int64_t now_ms) {
  KEEL_ASSERT_EQ(a.leader, self_);
  // The image refuses a partition whose leader is not in its ISR (an unclean election makes the
  // ISR the new leader alone).
  KEEL_ALWAYS(std::find(a.isr.begin(), a.isr.end(), self_) != a.isr.end(), "partition.leader_in_its_isr");
  if (a.partition_epoch < partition_epoch_) return Applied::stale;
  KEEL_ASSERT_GE(a.leader_epoch, leader_epoch_);
  partition_epoch_ = a.partition_epoch;
  replicas_ = a.replicas;
  if (role_ == Role::leader && a.leader_epoch == leader_epoch_) {
    KEEL_SOMETIMES("partition.leader.replicas_or_isr_changed");
    // Same epoch: the controller committed an ISR change (ours or not), or replicas joined as a
    // reassignment began (dropping a replica always brings a new epoch).
    leader_state_->replicas_changed(a.replicas);
    leader_state_->isr_committed(a.isr, a.partition_epoch);
    maybe_advance_high_watermark(now_ms);
    return Applied::replicas_changed;
  }
  if (role_ == Role::leader) KEEL_SOMETIMES("partition.leader.reelected_new_epoch");
  if (role_ == Role::follower) KEEL_SOMETIMES("partition.leader.from_follower");
  // The epoch's start goes into the cache (and its checkpoint) before the role changes, all at
  // once after the write, so no fetch is served by a leader whose state is half set up.
  if (epochs_.assign(a.leader_epoch, log_->log_end_offset())) save_epochs();
  LeaderStateOptions o;
  o.leader_id = self_;
  o.leader_epoch = a.leader_epoch;
  o.partition_epoch = a.partition_epoch;
  o.replicas = a.replicas;
  o.isr = a.isr;
  o.leader_log_end = log_->log_end_offset();
  o.min_insync_replicas = settings.min_insync_replicas;
  o.replica_lag_time_max_ms = settings.replica_lag_time_max_ms;
  o.now_ms = now_ms;
  o.isr_eligible = settings.isr_eligible;
  leader_state_.emplace(o);
  leader_ = self_;
  transition(Role::leader, a.leader_epoch);
  maybe_advance_high_watermark(now_ms);
  check_invariants();
  rt_.trace("BecomeLeader").detail("Partition", tp_.to_string()).detail("LeaderEpoch", a.leader_epoch)
      .detail("LogEnd", log_->log_end_offset()).detail("HighWatermark", high_watermark());
  return Applied::became_leader;
}

Partition::Applied Partition::become_follower(const PartitionAssignment& a) {
  KEEL_ASSERT_NE(a.leader, self_);
  if (a.partition_epoch < partition_epoch_) return Applied::stale;
  KEEL_ASSERT_GE(a.leader_epoch, leader_epoch_);
  partition_epoch_ = a.partition_epoch;
  replicas_ = a.replicas;
  if (role_ == Role::follower && a.leader_epoch == leader_epoch_ && a.leader == leader_) return Applied::unchanged;
  if (role_ == Role::leader) KEEL_SOMETIMES("partition.follower.from_leader");
  if (role_ == Role::follower) KEEL_SOMETIMES("partition.follower.leader_changed");
  leader_state_.reset();
  leader_ = a.leader;
  transition(Role::follower, a.leader_epoch);
  check_invariants();
  rt_.trace("BecomeFollower").detail("Partition", tp_.to_string()).detail("Leader", a.leader)
      .detail("LeaderEpoch", a.leader_epoch);
  return Applied::became_follower;
}

void Partition::stop() {
  if (role_ == Role::none) return;
  leader_state_.reset();
  transition(Role::none, leader_epoch_);
  check_invariants();
}

// ---- the leader's side ----

ReplicaError Partition::check_leader(std::int32_t current_leader_epoch) const {
  if (role_ != Role::leader) return ReplicaError::not_leader;
  if (current_leader_epoch >= 0 && current_leader_epoch < leader_epoch_) return ReplicaError::fenced_leader_epoch;
  if (current_leader_epoch > leader_epoch_) return ReplicaError::unknown_leader_epoch;
  return ReplicaError::none;
}

bool Partition::leader_ready_for_consumers() const {
  return role_ == Role::leader && high_watermark() >= leader_state_->epoch_start_offset();
}

Result<storage::AppendResult> Partition::append_as_leader(protocol::Bytes batches, const protocol::BatchScan& scan,
                                                         std::int64_t now_ms, bool advance_high_watermark) {
  KEEL_ASSERT_MSG(role_ == Role::leader, "{}: append as leader while {}", tp_, role_name(role_));
  const std::int64_t log_end_before = log_->log_end_offset();
  auto appended = log_->append(std::move(batches), scan, leader_epoch_);
  if (!appended) return appended.error();
  KEEL_ASSERT_EQ(appended->base_offset, log_end_before);
  KEEL_ASSERT_EQ(appended->last_offset + 1, log_->log_end_offset());
  if (advance_high_watermark) maybe_advance_high_watermark(now_ms);
  return appended;
}

bool Partition::maybe_advance_high_watermark(std::int64_t now_ms) {
  KEEL_ASSERT(role_ == Role::leader);
  const std::int64_t before = high_watermark();
  const auto next = leader_state_->next_high_watermark(before, log_->log_end_offset(), now_ms);
  if (!next) return false;
  log_->advance_high_watermark(*next);  // asserts: never back, never past the log end
  changed_.notify_all();
  return true;
}

void Partition::follower_fetched(BrokerId follower, std::int64_t fetch_offset, std::int64_t broker_epoch,
                                 std::int64_t now_ms) {
  KEEL_ASSERT(role_ == Role::leader);
  KEEL_ASSERT_LE(fetch_offset, log_->log_end_offset());
  leader_state_->follower_fetched(follower, fetch_offset, broker_epoch, log_->log_end_offset(), now_ms);
  maybe_advance_high_watermark(now_ms);
}

void Partition::isr_committed(const std::vector<BrokerId>& isr, std::int32_t partition_epoch, std::int64_t now_ms) {
  KEEL_ASSERT(role_ == Role::leader);
  if (partition_epoch > partition_epoch_) partition_epoch_ = partition_epoch;
  leader_state_->isr_committed(isr, partition_epoch);
  maybe_advance_high_watermark(now_ms);
}

AcksAll Partition::acks_after_append(std::int64_t required_offset) const {
  KEEL_ASSERT(role_ == Role::leader);
  return leader_state_->acks_all_after_append(required_offset, high_watermark());
}

EpochEndOffset Partition::end_offset_for(std::int32_t epoch) const {
  return epochs_.end_offset_for(epoch, log_->log_end_offset());
}

LeaderState& Partition::mutable_leader_state() {
  KEEL_ASSERT(role_ == Role::leader);
  return *leader_state_;
}

// ---- the follower's side ----

Status Partition::truncate(std::int64_t offset, TruncateReason reason, std::string_view detail) {
  KEEL_ASSERT_MSG(role_ == Role::follower, "{}: truncate while {}", tp_, role_name(role_));
  KEEL_ASSERT_GE(offset, 0);
  const std::int64_t log_end = log_->log_end_offset();
  if (offset >= log_end) return {};
  const std::int64_t high_watermark_before = high_watermark();
  // A follower never gives up records below its high watermark on its own judgement: only the
  // leader's account of the epochs (KIP-101) says they diverged.
  KEEL_ASSERT_MSG(reason == TruncateReason::leader_epoch_answer || offset >= high_watermark_before,
                  "{}: truncating to {} below the high watermark {} without a leader epoch answer", tp_, offset,
                  high_watermark_before);
  rt_.trace("ReplicaTruncate").detail("Partition", tp_.to_string()).detail("From", log_end).detail("To", offset)
      .detail("Why", detail);
  // KIP-101: the leader's epochs say this replica's records above `offset` were never committed
  // there, though this replica had counted them below its high watermark (an unclean election).
  if (offset < high_watermark_before) KEEL_SOMETIMES("partition.follower.truncated_below_high_watermark");
  if (auto st = log_->truncate_to(offset); !st) return st;
  KEEL_ASSERT_EQ(log_->log_end_offset(), offset);
  if (epochs_.truncate_from_end(offset)) save_epochs();
  KEEL_ASSERT_LE(high_watermark(), offset);
  check_invariants();
  return {};
}

Status Partition::start_over_at(std::int64_t leader_log_start) {
  KEEL_ASSERT(role_ == Role::follower);
  KEEL_ASSERT_GT(leader_log_start, log_->log_end_offset());
  rt_.trace("ReplicaStartOver").detail("Partition", tp_.to_string()).detail("From", log_->log_end_offset())
      .detail("LeaderLogStart", leader_log_start);
  KEEL_SOMETIMES("partition.follower.started_over_at_leader_log_start");
  if (auto st = log_->restart_at(leader_log_start); !st) return st;
  epochs_ = LeaderEpochCache{};
  save_epochs();
  // Everything below the leader's log start was committed there: the high watermark is at least it.
  if (high_watermark() < leader_log_start) log_->advance_high_watermark(leader_log_start);
  check_invariants();
  return {};
}

Status Partition::start_over_at_batch(std::int64_t base_offset) {
  KEEL_ASSERT(role_ == Role::follower);
  KEEL_ASSERT_EQ(log_->log_start_offset(), log_->log_end_offset());
  KEEL_ASSERT_LT(base_offset, log_->log_end_offset());
  KEEL_ASSERT_GE(base_offset, 0);
  rt_.trace("ReplicaStartOver").detail("Partition", tp_.to_string()).detail("From", log_->log_end_offset())
      .detail("BatchBase", base_offset);
  KEEL_SOMETIMES("partition.follower.started_over_at_straddling_batch");
  if (auto st = log_->restart_at(base_offset); !st) return st;
  epochs_ = LeaderEpochCache{};
  save_epochs();
  KEEL_ASSERT_EQ(log_->log_end_offset(), base_offset);
  check_invariants();
  return {};
}

Status Partition::append_as_follower(protocol::Bytes batches, const protocol::BatchScan& scan) {
  KEEL_ASSERT(role_ == Role::follower);
  KEEL_ASSERT_GE(scan.batches.front().second.base_offset, log_->log_end_offset());
  auto appended = log_->append_as_follower(std::move(batches), scan);
  if (!appended) return appended.error();
  record_epochs(scan);
  check_invariants();
  return {};
}

void Partition::follower_high_watermark(std::int64_t leader_high_watermark) {
  KEEL_ASSERT(role_ == Role::follower);
  const std::int64_t next = std::min(leader_high_watermark, log_->log_end_offset());
  if (next <= high_watermark()) return;
  log_->advance_high_watermark(next);
  changed_.notify_all();
}

Status Partition::follower_log_start(std::int64_t leader_log_start) {
  KEEL_ASSERT(role_ == Role::follower);
  const std::int64_t next = std::min(leader_log_start, log_->log_end_offset());
  if (next <= log_->log_start_offset()) return {};
  KEEL_SOMETIMES("partition.follower.log_start_moved_by_leader");
  return advance_log_start(next);
}

Status Partition::delete_records_to(std::int64_t offset) {
  KEEL_ASSERT(role_ == Role::leader);
  KEEL_ASSERT_LE(offset, high_watermark());
  if (offset <= log_->log_start_offset()) return {};
  return advance_log_start(offset);
}

void Partition::follower_log_start(BrokerId follower, std::int64_t log_start) {
  KEEL_ASSERT(role_ == Role::leader);
  const FollowerState* f = leader_state_->follower(follower);
  if (f == nullptr || f->log_start_offset == log_start) return;
  leader_state_->follower_log_start(follower, log_start);
  changed_.notify_all();  // DeleteRecords waiters
}

// The log start moves up, and the epoch cache forgets what lies below it (Kafka's
// maybeIncrementLogStartOffset with leaderEpochCache.truncateFromStart).
Status Partition::advance_log_start(std::int64_t offset) {
  if (auto st = log_->advance_log_start_offset(offset); !st) return st;
  if (epochs_.truncate_from_start(offset)) save_epochs();
  changed_.notify_all();
  return {};
}

void Partition::record_epochs(const protocol::BatchScan& scan) {
  bool changed = false;
  for (const auto& [position, header] : scan.batches) {
    if (header.partition_leader_epoch < 0) continue;
    // A leader stamps its own epoch, never a later one than the epoch this follower follows.
    KEEL_ASSERT_LE(header.partition_leader_epoch, leader_epoch_);
    changed |= epochs_.assign(header.partition_leader_epoch, header.base_offset);
  }
  if (changed) save_epochs();
}

void Partition::save_epochs() {
  if (auto st = write_leader_epoch_checkpoint(rt_.disk(), epoch_checkpoint_path(*log_), epochs_); !st) {
    rt_.trace("LeaderEpochCheckpointFailed", Severity::warn).detail("Partition", tp_.to_string())
        .detail("Error", st.error().message);
  }
}

}  // namespace keel::partition
