#pragma once
// What the leader of one partition knows about its followers (Kafka's Partition + Replica on the
// leader side): how far each follower's log reaches, when it was last caught up, the in-sync
// replica set (committed by the controller, and the maximal one while a change is pending), and
// the high watermark that follows from them. Pure: no IO, time passed in as milliseconds, so the
// rules can be tested one by one and the partition only carries out what it decides. It does not
// hold the high watermark: the log does (one place); each rule takes the current one as input.
//
// The rules (Kafka 3.7+, see ../../../shared/reference/kraft-and-replication.md §3.2-3.5):
//  - a follower is caught up when its log end equals the leader's, or it reached the leader's log
//    end as it was at some fetch within replica.lag.time.max.ms;
//  - high watermark = min(leader's log end, log end of every replica in the maximal ISR or caught
//    up and ISR-eligible, i.e. not fenced); it never moves back, and does not move at all while the committed ISR is smaller than
//    min(min.insync.replicas, replicas);
//  - a shrink keeps the old members in the maximal ISR until the controller confirms it; an
//    expansion counts the new member at once (stricter either way);
//  - one ISR change in flight at a time.
#include <algorithm>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "broker/base/assert.h"
#include "broker/base/ids.h"
#include "broker/protocol/errors.h"

namespace keel::partition {



struct FollowerState {
  BrokerId id = -1;
  std::int64_t log_end_offset = -1;  // unknown (-1) until it fetches from this leader
  std::int64_t last_fetch_leader_log_end = -1;
  std::int64_t last_fetch_time_ms = 0;
  std::int64_t last_caught_up_time_ms = 0;
  std::int64_t broker_epoch = -1;
  std::int64_t log_start_offset = -1;  // as its last fetch said; unknown (-1) until then
};

struct LeaderStateOptions {
  BrokerId leader_id = -1;
  std::int32_t leader_epoch = 0;
  std::int32_t partition_epoch = 0;
  std::vector<BrokerId> replicas;  // assignment order
  std::vector<BrokerId> isr;       // as committed by the controller
  std::int64_t leader_log_end = 0;  // where this epoch starts
  std::int32_t min_insync_replicas = 1;
  std::int64_t replica_lag_time_max_ms = 30000;
  std::int64_t now_ms = 0;
  // Whether a broker (at the epoch it fetched with) may be in the ISR: registered, unfenced, not
  // shutting down. A caught-up follower outside the ISR holds the high watermark only while it
  // is eligible (Kafka's isReplicaIsrEligible), so a fenced, dead follower does not hold acks=all
  // for replica.lag.time.max.ms. Empty: every broker is eligible.
  std::function<bool(BrokerId, std::int64_t broker_epoch)> isr_eligible;
};

// What an acks=all produce can be told, before or after the append.
enum class AcksAll {
  ok,                       // the ISR has the records
  wait,                     // not yet: keep it in the purgatory
  not_enough_replicas,      // refused before appending: the ISR is under min.insync.replicas
  not_enough_after_append,  // written, but the ISR shrank under min.insync.replicas meanwhile
};

class LeaderState {
 public:
  explicit LeaderState(const LeaderStateOptions& options);

  // The topic's min.insync.replicas changed (AlterConfigs): later acks=all produces use it.
  void set_min_insync_replicas(std::int32_t value) {
    KEEL_ASSERT_GE(value, 1);
    min_insync_replicas_ = value;
  }

  // A follower fetched from `fetch_offset` (so its log ends there) while the leader's log ended
  // at `leader_log_end`.
  void follower_fetched(BrokerId follower, std::int64_t fetch_offset, std::int64_t broker_epoch,
                        std::int64_t leader_log_end, std::int64_t now_ms);
  // A follower's fetch said its log starts at `log_start` (Fetch v5+).
  void follower_log_start(BrokerId follower, std::int64_t log_start);
  // DeleteRecords: the least log start among this leader's (`leader_log_start`) and those of the
  // followers `counts` says to wait for (Kafka's lowWatermarkIfLeader, over live brokers). A
  // follower that has not said yet counts as -1.
  template <class Counts>
  std::int64_t low_watermark(std::int64_t leader_log_start, Counts counts) const {
    std::int64_t low = leader_log_start;
    for (const auto& f : followers_)
      if (counts(f.id)) low = std::min(low, f.log_start_offset);
    return low;
  }
  // The high watermark the replicas now allow, when it is above `current`: the least log end of
  // the maximal ISR and of the caught-up, eligible followers about to join; nothing while the
  // committed ISR is under min.insync.replicas.
  std::optional<std::int64_t> next_high_watermark(std::int64_t current, std::int64_t leader_log_end,
                                                  std::int64_t now_ms) const;

  // The ISR change the leader should ask the controller for, if any and none is in flight:
  // followers out of sync for longer than replica.lag.time.max.ms leave; a follower whose log
  // reaches the high watermark and this epoch's start joins. `eligible` says whether a broker may
  // join (registered, unfenced, not shutting down).
  template <class Eligible>
  std::optional<std::vector<BrokerId>> isr_change_to_propose(std::int64_t high_watermark, std::int64_t leader_log_end,
                                                              std::int64_t now_ms, Eligible eligible) const;
  // The proposal went to the controller: until it answers, the maximal ISR is the union.
  void isr_change_sent(const std::vector<BrokerId>& proposed);
  // The controller committed an ISR (from its reply or from the metadata log).
  void isr_committed(std::vector<BrokerId> isr, std::int32_t partition_epoch);
  // The replica list changed within this epoch (a reassignment added replicas): joining ones are
  // tracked from now on, outside the ISR until they catch up; ones no longer listed are forgotten.
  void replicas_changed(const std::vector<BrokerId>& replicas);
  // The controller refused in a way that means: forget the pending change.
  void isr_change_failed();
  bool isr_change_pending() const { return pending_isr_.has_value(); }

  AcksAll acks_all_before_append() const;
  AcksAll acks_all_after_append(std::int64_t required_offset, std::int64_t high_watermark) const;

  const std::vector<BrokerId>& isr() const { return isr_; }
  std::vector<BrokerId> maximal_isr() const;
  const std::vector<BrokerId>& replicas() const { return replicas_; }
  std::int32_t leader_epoch() const { return leader_epoch_; }
  std::int32_t partition_epoch() const { return partition_epoch_; }
  std::int64_t epoch_start_offset() const { return epoch_start_offset_; }
  const FollowerState* follower(BrokerId id) const;
  std::int32_t effective_min_isr() const;

 private:
  bool caught_up(const FollowerState& f, std::int64_t leader_log_end, std::int64_t now_ms) const;
  std::vector<BrokerId> out_of_sync(std::int64_t leader_log_end, std::int64_t now_ms) const;
  FollowerState* mutable_follower(BrokerId id);

  BrokerId leader_id_;
  std::int32_t leader_epoch_;
  std::int32_t partition_epoch_;
  std::vector<BrokerId> replicas_;
  std::vector<BrokerId> isr_;
  std::optional<std::vector<BrokerId>> pending_isr_;
  std::vector<FollowerState> followers_;  // replicas other than the leader, in assignment order
  std::int64_t epoch_start_offset_;
  std::int32_t min_insync_replicas_;
  std::int64_t lag_max_ms_;
  std::function<bool(BrokerId, std::int64_t)> isr_eligible_;
};

template <class Eligible>
std::optional<std::vector<BrokerId>> LeaderState::isr_change_to_propose(std::int64_t high_watermark,
                                                                         std::int64_t leader_log_end,
                                                                         std::int64_t now_ms,
                                                                         Eligible eligible) const {
  if (pending_isr_) return std::nullopt;
  std::vector<BrokerId> next = isr_;
  const auto leaving = out_of_sync(leader_log_end, now_ms);
  std::erase_if(next, [&](BrokerId id) { return std::find(leaving.begin(), leaving.end(), id) != leaving.end(); });
  for (const auto& f : followers_) {
    const bool member = std::find(isr_.begin(), isr_.end(), f.id) != isr_.end();
    if (!member && f.log_end_offset >= high_watermark && f.log_end_offset >= epoch_start_offset_ &&
        eligible(f.id, f.broker_epoch)) {
      next.push_back(f.id);
    }
  }
  std::vector<BrokerId> ordered;  // in assignment order, so a proposal never depends on history
  for (BrokerId id : replicas_) {
    if (std::find(next.begin(), next.end(), id) != next.end()) ordered.push_back(id);
  }
  if (ordered == isr_) return std::nullopt;
  return ordered;
}

}  // namespace keel::partition
