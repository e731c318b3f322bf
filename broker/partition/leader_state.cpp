#include "broker/partition/leader_state.h"
#include "broker/base/coverage.h"

#include "broker/base/assert.h"

#include <algorithm>

namespace keel::partition {

namespace {

bool contains(const std::vector<BrokerId>& v, BrokerId id) { return std::find(v.begin(), v.end(), id) != v.end(); }

std::vector<BrokerId> in_assignment_order(const std::vector<BrokerId>& replicas, const std::vector<BrokerId>& set) {
  std::vector<BrokerId> out;
  for (BrokerId id : replicas) {
    if (contains(set, id)) out.push_back(id);
  }
  return out;
}

}  // namespace

LeaderState::LeaderState(const LeaderStateOptions& o)
    : leader_id_(o.leader_id),
      leader_epoch_(o.leader_epoch),
      partition_epoch_(o.partition_epoch),
      replicas_(o.replicas),
      isr_(in_assignment_order(o.replicas, o.isr)),
      epoch_start_offset_(o.leader_log_end),
      min_insync_replicas_(o.min_insync_replicas),
      lag_max_ms_(o.replica_lag_time_max_ms),
      isr_eligible_(o.isr_eligible) {
  KEEL_ASSERT_MSG(contains(replicas_, leader_id_), "leader {} is not a replica", leader_id_);
  for (BrokerId id : replicas_) {
    if (id == leader_id_) continue;
    FollowerState f;
    f.id = id;
    // In-sync followers start caught up: the leader has not heard from them yet, and dropping
    // them from the ISR on the spot would shrink it on every leader change.
    f.last_caught_up_time_ms = contains(isr_, id) ? o.now_ms : 0;
    followers_.push_back(f);
  }
}

const FollowerState* LeaderState::follower(BrokerId id) const {
  for (const auto& f : followers_) {
    if (f.id == id) return &f;
  }
  return nullptr;
}

FollowerState* LeaderState::mutable_follower(BrokerId id) {
  return const_cast<FollowerState*>(static_cast<const LeaderState*>(this)->follower(id));
}

std::int32_t LeaderState::effective_min_isr() const {
  return std::min<std::int32_t>(min_insync_replicas_, static_cast<std::int32_t>(replicas_.size()));
}

void LeaderState::follower_fetched(BrokerId id, std::int64_t fetch_offset, std::int64_t broker_epoch,
                                   std::int64_t leader_log_end, std::int64_t now_ms) {
  FollowerState* f = mutable_follower(id);
  KEEL_ASSERT_MSG(f != nullptr, "broker {} fetched but is not a follower", id);
  if (fetch_offset >= leader_log_end) {
    f->last_caught_up_time_ms = std::max(f->last_caught_up_time_ms, now_ms);
  } else if (fetch_offset >= f->last_fetch_leader_log_end) {
    f->last_caught_up_time_ms = std::max(f->last_caught_up_time_ms, f->last_fetch_time_ms);
  }
  f->log_end_offset = fetch_offset;
  f->last_fetch_leader_log_end = std::max(f->last_fetch_leader_log_end, leader_log_end);
  f->last_fetch_time_ms = now_ms;
  f->broker_epoch = broker_epoch;
}

void LeaderState::follower_log_start(BrokerId id, std::int64_t log_start) {
  FollowerState* f = mutable_follower(id);
  KEEL_ASSERT_MSG(f != nullptr, "broker {} fetched but is not a follower", id);
  f->log_start_offset = log_start;
}

bool LeaderState::caught_up(const FollowerState& f, std::int64_t leader_log_end, std::int64_t now_ms) const {
  return f.log_end_offset == leader_log_end || now_ms - f.last_caught_up_time_ms <= lag_max_ms_;
}

std::vector<BrokerId> LeaderState::maximal_isr() const {
  if (!pending_isr_) return isr_;
  std::vector<BrokerId> both = isr_;
  for (BrokerId id : *pending_isr_) {
    if (!contains(both, id)) both.push_back(id);
  }
  return in_assignment_order(replicas_, both);
}

std::optional<std::int64_t> LeaderState::next_high_watermark(std::int64_t current, std::int64_t leader_log_end,
                                                             std::int64_t now_ms) const {
  KEEL_ASSERT_LE(current, leader_log_end);
  if (static_cast<std::int32_t>(isr_.size()) < effective_min_isr()) return std::nullopt;
  const auto maximal = maximal_isr();
  std::int64_t candidate = leader_log_end;
  for (const auto& f : followers_) {
    // A follower about to rejoin holds the high watermark too, so it can rejoin at all.
    const bool joining = f.log_end_offset >= 0 && caught_up(f, leader_log_end, now_ms) &&
                         (!isr_eligible_ || isr_eligible_(f.id, f.broker_epoch));
    const bool counts = contains(maximal, f.id) || joining;
    if (counts) candidate = std::min(candidate, std::max<std::int64_t>(f.log_end_offset, 0));
  }
  if (candidate <= current) return std::nullopt;
  KEEL_ALWAYS(candidate <= leader_log_end, "partition.high_watermark_within_leader_log");
  return candidate;
}

std::vector<BrokerId> LeaderState::out_of_sync(std::int64_t leader_log_end, std::int64_t now_ms) const {
  std::vector<BrokerId> out;
  for (const auto& f : followers_) {
    if (contains(isr_, f.id) && !caught_up(f, leader_log_end, now_ms)) out.push_back(f.id);
  }
  return out;
}

void LeaderState::isr_change_sent(const std::vector<BrokerId>& proposed) {
  KEEL_ASSERT_MSG(!pending_isr_, "an ISR change is already in flight");
  KEEL_ASSERT_MSG(contains(proposed, leader_id_), "the leader {} must stay in its ISR", leader_id_);
  pending_isr_ = in_assignment_order(replicas_, proposed);
}

void LeaderState::isr_committed(std::vector<BrokerId> isr, std::int32_t partition_epoch) {
  if (partition_epoch < partition_epoch_) return;  // an older answer than what we know
  KEEL_ASSERT_MSG(contains(isr, leader_id_), "committed ISR without its leader {}", leader_id_);
  if (isr.size() < isr_.size()) KEEL_SOMETIMES("partition.isr.shrunk");
  if (isr.size() > isr_.size()) KEEL_SOMETIMES("partition.isr.expanded");
  const auto min_isr = static_cast<std::size_t>(effective_min_isr());
  if (isr.size() == min_isr && replicas_.size() > min_isr) KEEL_SOMETIMES("partition.isr.shrunk_to_min_insync");
  if (isr.size() < min_isr) KEEL_SOMETIMES("partition.isr.below_min_insync");
  isr_ = in_assignment_order(replicas_, isr);
  partition_epoch_ = partition_epoch;
  pending_isr_.reset();
}

void LeaderState::replicas_changed(const std::vector<BrokerId>& replicas) {
  if (replicas == replicas_) return;
  KEEL_ASSERT_MSG(contains(replicas, leader_id_), "leader {} is not a replica", leader_id_);
  std::vector<FollowerState> followers;
  for (BrokerId id : replicas) {
    if (id == leader_id_) continue;
    if (const FollowerState* known = follower(id)) {
      followers.push_back(*known);
    } else {
      FollowerState f;
      f.id = id;
      followers.push_back(f);
    }
  }
  replicas_ = replicas;
  followers_ = std::move(followers);
  isr_ = in_assignment_order(replicas_, isr_);
  if (pending_isr_) pending_isr_ = in_assignment_order(replicas_, *pending_isr_);
}

void LeaderState::isr_change_failed() { pending_isr_.reset(); }

AcksAll LeaderState::acks_all_before_append() const {
  if (static_cast<std::int32_t>(isr_.size()) >= effective_min_isr()) return AcksAll::ok;
  KEEL_SOMETIMES("partition.produce.not_enough_replicas");  // answered NOT_ENOUGH_REPLICAS
  return AcksAll::not_enough_replicas;
}

AcksAll LeaderState::acks_all_after_append(std::int64_t required_offset, std::int64_t high_watermark) const {
  if (high_watermark < required_offset) return AcksAll::wait;
  if (static_cast<std::int32_t>(maximal_isr().size()) >= effective_min_isr()) return AcksAll::ok;
  KEEL_SOMETIMES("partition.produce.not_enough_replicas_after_append");
  return AcksAll::not_enough_after_append;
}

}  // namespace keel::partition
