#include <catch2/catch.hpp>

#include "broker/partition/leader_state.h"

using namespace keel::partition;
using keel::BrokerId;

namespace {

LeaderStateOptions three_replicas(std::int32_t min_isr = 2) {
  LeaderStateOptions o;
  o.leader_id = 1;
  o.leader_epoch = 3;
  o.partition_epoch = 7;
  o.replicas = {1, 2, 3};
  o.isr = {1, 2, 3};
  o.leader_log_end = 10;
  o.min_insync_replicas = min_isr;
  o.replica_lag_time_max_ms = 1000;
  o.now_ms = 0;
  return o;
}

auto everyone_eligible = [](BrokerId, std::int64_t) { return true; };

// A leader's state with the high watermark beside it, as a partition keeps it (in its log): every
// rule takes the current high watermark and says where it may move.
struct Leader {
  explicit Leader(const LeaderStateOptions& o, std::int64_t high_watermark = 10) : s(o), hw(high_watermark) {}
  // A follower fetched; returns whether the high watermark moved.
  bool follower_fetched(BrokerId id, std::int64_t fetch_offset, std::int64_t broker_epoch, std::int64_t leader_log_end,
                        std::int64_t now_ms) {
    s.follower_fetched(id, fetch_offset, broker_epoch, leader_log_end, now_ms);
    return maybe_advance_high_watermark(leader_log_end, now_ms);
  }
  bool maybe_advance_high_watermark(std::int64_t leader_log_end, std::int64_t now_ms) {
    const auto next = s.next_high_watermark(hw, leader_log_end, now_ms);
    if (next) hw = *next;
    return next.has_value();
  }
  void isr_committed(std::vector<BrokerId> isr, std::int32_t partition_epoch, std::int64_t leader_log_end,
                     std::int64_t now_ms) {
    s.isr_committed(std::move(isr), partition_epoch);
    maybe_advance_high_watermark(leader_log_end, now_ms);
  }
  template <class Eligible>
  std::optional<std::vector<BrokerId>> isr_change_to_propose(std::int64_t leader_log_end, std::int64_t now_ms,
                                                              Eligible eligible) const {
    return s.isr_change_to_propose(hw, leader_log_end, now_ms, eligible);
  }
  AcksAll acks_all_after_append(std::int64_t required_offset) const { return s.acks_all_after_append(required_offset, hw); }
  std::int64_t high_watermark() const { return hw; }
  void isr_change_sent(const std::vector<BrokerId>& proposed) { s.isr_change_sent(proposed); }
  void isr_change_failed() { s.isr_change_failed(); }
  void replicas_changed(const std::vector<BrokerId>& replicas) { s.replicas_changed(replicas); }

  LeaderState s;
  std::int64_t hw;
};

}  // namespace

TEST_CASE("replication: the high watermark is the smallest log end in the ISR and never moves back",
          "[replication][leader]") {
  Leader s(three_replicas());
  CHECK(s.high_watermark() == 10);
  // The leader appended to 15; follower 2 reached 15, follower 3 only 12.
  CHECK_FALSE(s.follower_fetched(2, 15, 1, 15, 10));
  CHECK(s.follower_fetched(3, 12, 1, 15, 10));
  CHECK(s.high_watermark() == 12);
  CHECK(s.follower_fetched(3, 15, 1, 15, 20));
  CHECK(s.high_watermark() == 15);
  // A follower that truncated and fetches from further back does not pull it back.
  CHECK_FALSE(s.follower_fetched(3, 11, 1, 15, 30));
  CHECK(s.high_watermark() == 15);
}

TEST_CASE("replication: a follower stuck past replica.lag.time.max.ms leaves the ISR; the shrink counts only once "
          "the controller commits it",
          "[replication][leader]") {
  Leader s(three_replicas());
  s.follower_fetched(2, 10, 1, 10, 100);
  s.follower_fetched(3, 10, 1, 10, 100);
  // The leader appends to 20; follower 2 keeps up, follower 3 goes silent.
  s.follower_fetched(2, 20, 1, 20, 500);
  CHECK(s.high_watermark() == 10);
  CHECK_FALSE(s.isr_change_to_propose(20, 1000, everyone_eligible).has_value());  // within the lag time
  const auto proposal = s.isr_change_to_propose(20, 1600, everyone_eligible);
  REQUIRE(proposal.has_value());
  CHECK(*proposal == std::vector<BrokerId>{1, 2});
  s.isr_change_sent(*proposal);
  // Until the controller answers, 3 still holds the high watermark back.
  CHECK_FALSE(s.maybe_advance_high_watermark(20, 1700));
  CHECK_FALSE(s.isr_change_to_propose(20, 1700, everyone_eligible).has_value());  // one change in flight
  s.isr_committed({1, 2}, 8, 20, 1800);
  CHECK(s.s.isr() == std::vector<BrokerId>{1, 2});
  CHECK(s.high_watermark() == 20);
}

TEST_CASE("replication: a follower that reaches the high watermark rejoins the ISR at once", "[replication][leader]") {
  auto o = three_replicas();
  o.isr = {1, 2};
  Leader s(o);
  s.follower_fetched(3, 4, 1, 10, 10);
  CHECK_FALSE(s.isr_change_to_propose(10, 10, everyone_eligible).has_value());  // below the high watermark
  s.follower_fetched(3, 10, 1, 10, 20);
  const auto proposal = s.isr_change_to_propose(10, 20, everyone_eligible);
  REQUIRE(proposal.has_value());
  CHECK(*proposal == std::vector<BrokerId>{1, 2, 3});
  // A fenced broker may not rejoin.
  CHECK_FALSE(s.isr_change_to_propose(10, 20, [](BrokerId id, std::int64_t) { return id != 3; }).has_value());
  s.isr_change_sent(*proposal);
  CHECK(s.s.maximal_isr() == std::vector<BrokerId>{1, 2, 3});  // counts at once
}

TEST_CASE("replication: acks=all is refused under min.insync.replicas, and after the append when the ISR shrank",
          "[replication][leader]") {
  auto o = three_replicas(/*min_isr=*/2);
  o.isr = {1};
  Leader alone(o);
  CHECK(alone.s.acks_all_before_append() == AcksAll::not_enough_replicas);
  // Under min ISR the high watermark stays put, so even acks=1 records stay invisible.
  CHECK_FALSE(alone.maybe_advance_high_watermark(20, 10));

  Leader s(three_replicas(2));
  CHECK(s.s.acks_all_before_append() == AcksAll::ok);
  s.follower_fetched(2, 20, 1, 20, 10);
  CHECK(s.acks_all_after_append(20) == AcksAll::wait);  // 3 has not got it
  s.follower_fetched(3, 20, 1, 20, 10);
  CHECK(s.acks_all_after_append(20) == AcksAll::ok);

  // min.insync.replicas above the replica count means all replicas.
  auto two = three_replicas(5);
  two.replicas = {1, 2};
  two.isr = {1, 2};
  Leader pair(two);
  CHECK(pair.s.effective_min_isr() == 2);
  CHECK(pair.s.acks_all_before_append() == AcksAll::ok);
}

TEST_CASE("replication: a failed ISR change is forgotten and a stale commit is ignored", "[replication][leader]") {
  Leader s(three_replicas());
  s.isr_change_sent({1, 2});
  s.isr_change_failed();
  CHECK_FALSE(s.s.isr_change_pending());
  CHECK(s.s.maximal_isr() == std::vector<BrokerId>{1, 2, 3});
  s.isr_committed({1}, 6, 10, 0);  // older partition epoch than the leader knows
  CHECK(s.s.isr() == std::vector<BrokerId>{1, 2, 3});
  CHECK(s.s.partition_epoch() == 7);
}

TEST_CASE("replication: a caught-up follower the controller fenced and removed from the ISR no longer holds the "
          "high watermark",
          "[replication][leader]") {
  bool three_fenced = false;
  auto o = three_replicas();
  o.isr_eligible = [&](BrokerId id, std::int64_t) { return !(id == 3 && three_fenced); };
  Leader s(o);
  s.follower_fetched(2, 10, 1, 10, 100);
  s.follower_fetched(3, 10, 1, 10, 100);
  // Broker 3 dies; the controller fences it and commits the ISR without it well within the lag time.
  three_fenced = true;
  s.isr_committed({1, 2}, 8, 10, 200);
  // The leader appends to 20 and follower 2 has it: acks=all must not wait for the lag time of 3.
  CHECK(s.follower_fetched(2, 20, 1, 20, 300));
  CHECK(s.high_watermark() == 20);
  // An eligible caught-up follower outside the ISR still holds it, so it can rejoin.
  three_fenced = false;
  s.follower_fetched(3, 20, 1, 20, 400);
  CHECK_FALSE(s.follower_fetched(2, 30, 1, 30, 500));
  CHECK(s.high_watermark() == 20);
}

TEST_CASE("replication: a replica a reassignment adds is tracked at once, holds nothing back, and joins once caught up",
          "[replication][leader]") {
  Leader s(three_replicas());
  s.follower_fetched(2, 10, 1, 10, 100);
  s.follower_fetched(3, 10, 1, 10, 100);
  // The controller adds replica 4 (no new leader epoch): it starts empty, outside the ISR.
  s.replicas_changed({1, 2, 3, 4});
  REQUIRE(s.s.follower(4) != nullptr);
  CHECK(s.s.follower(4)->log_end_offset == -1);
  CHECK(s.s.isr() == std::vector<BrokerId>{1, 2, 3});
  // The ISR moves the high watermark on without it.
  s.follower_fetched(2, 20, 1, 20, 200);
  s.follower_fetched(3, 20, 1, 20, 200);
  CHECK(s.high_watermark() == 20);
  CHECK_FALSE(s.isr_change_to_propose(20, 200, everyone_eligible).has_value());
  // Halfway there: still out.
  s.follower_fetched(4, 12, 1, 20, 300);
  CHECK_FALSE(s.isr_change_to_propose(20, 300, everyone_eligible).has_value());
  // Caught up to the high watermark: the leader proposes it, in assignment order.
  s.follower_fetched(4, 20, 1, 20, 400);
  const auto proposal = s.isr_change_to_propose(20, 400, everyone_eligible);
  REQUIRE(proposal.has_value());
  CHECK(*proposal == std::vector<BrokerId>{1, 2, 3, 4});
  // Known followers keep what the leader knew of them when the list changes again.
  s.replicas_changed({1, 3, 2, 4});
  CHECK(s.s.follower(3)->log_end_offset == 20);
  CHECK(s.s.isr() == std::vector<BrokerId>{1, 3, 2});
}
