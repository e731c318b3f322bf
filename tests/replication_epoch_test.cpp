#include <catch2/catch.hpp>

#include "broker/partition/leader_epoch_cache.h"

#include <vector>

using namespace keel;
using namespace keel::partition;

namespace {

// A log reduced to the leader epoch of each offset, with the cache built as brokers build it: an
// entry when a batch of a new epoch is appended, and one when a replica becomes leader.
struct EpochLog {
  std::vector<std::int32_t> epochs;
  LeaderEpochCache cache;

  std::int64_t leo() const { return static_cast<std::int64_t>(epochs.size()); }
  void become_leader(std::int32_t epoch) { cache.assign(epoch, leo()); }
  void append(std::int32_t epoch) {
    cache.assign(epoch, leo());
    epochs.push_back(epoch);
  }
  void truncate(std::int64_t offset) {
    epochs.resize(static_cast<std::size_t>(std::min(offset, leo())));
    cache.truncate_from_end(offset);
  }
};

// The follower's side of OffsetsForLeaderEpoch, round after round until it is done; then it copies
// the leader's records from its log end. Returns the rounds it took.
int follow(EpochLog& follower, const EpochLog& leader, std::int64_t follower_hw) {
  int rounds = 0;
  for (;;) {
    ++rounds;
    REQUIRE(rounds < 10);
    const auto latest = follower.cache.latest_epoch();
    const EpochEndOffset answer =
        leader.cache.end_offset_for(latest ? *latest : undefined_epoch, leader.leo());
    const TruncationStep step = follower_truncation(follower.cache, follower.leo(), follower_hw, answer);
    follower.truncate(step.offset);
    if (step.complete) break;
  }
  for (std::int64_t o = follower.leo(); o < leader.leo(); ++o) follower.append(leader.epochs[o]);
  return rounds;
}

}  // namespace

TEST_CASE("leader epoch cache: assign keeps epochs and start offsets strictly increasing", "[replication][epoch]") {
  LeaderEpochCache c;
  CHECK(c.assign(0, 0));
  CHECK_FALSE(c.assign(0, 5));  // the latest epoch, already started earlier
  CHECK(c.assign(2, 10));
  CHECK(c.assign(3, 10));  // an empty epoch 2 is replaced by 3 at the same offset
  CHECK(c.entries() == std::vector<EpochEntry>{{0, 0}, {3, 10}});
  CHECK(c.assign(1, 4));  // a lower epoch drops everything from it on
  CHECK(c.entries() == std::vector<EpochEntry>{{0, 0}, {1, 4}});
  CHECK(c.latest_epoch() == 1);
}

TEST_CASE("leader epoch cache: end offset for an epoch follows Kafka's answers", "[replication][epoch]") {
  LeaderEpochCache c({{1, 0}, {3, 10}, {4, 20}});
  CHECK(c.end_offset_for(4, 30) == EpochEndOffset{4, 30});  // the latest ends at the log end
  CHECK(c.end_offset_for(3, 30) == EpochEndOffset{3, 20});
  CHECK(c.end_offset_for(2, 30) == EpochEndOffset{1, 10});  // never held: the largest below, until 3 starts
  CHECK(c.end_offset_for(0, 30) == EpochEndOffset{0, 0});   // below every entry
  CHECK(c.end_offset_for(7, 30).undefined());               // above every entry
  CHECK(c.end_offset_for(undefined_epoch, 30).undefined());
  CHECK(LeaderEpochCache{}.end_offset_for(1, 0).undefined());
}

TEST_CASE("leader epoch cache: truncation from either end", "[replication][epoch]") {
  LeaderEpochCache c({{1, 0}, {3, 10}, {4, 20}});
  CHECK(c.truncate_from_end(15));
  CHECK(c.entries() == std::vector<EpochEntry>{{1, 0}, {3, 10}});
  CHECK_FALSE(c.truncate_from_end(15));
  CHECK(c.truncate_from_start(12));
  CHECK(c.entries() == std::vector<EpochEntry>{{3, 12}});
}

TEST_CASE("leader epoch checkpoint: Kafka's text format round trips; bad files name the line",
          "[replication][epoch]") {
  LeaderEpochCache c({{0, 0}, {2, 17}});
  const std::string text = format_leader_epoch_checkpoint(c);
  CHECK(text == "0\n2\n0 0\n2 17\n");
  auto back = parse_leader_epoch_checkpoint(text);
  REQUIRE(back);
  CHECK(*back == c);
  CHECK(parse_leader_epoch_checkpoint("")->empty());

  auto bad_version = parse_leader_epoch_checkpoint("1\n0\n");
  REQUIRE_FALSE(bad_version);
  CHECK_THAT(bad_version.error().message, Catch::Contains("line 1"));
  auto bad_count = parse_leader_epoch_checkpoint("0\n3\n0 0\n");
  REQUIRE_FALSE(bad_count);
  CHECK_THAT(bad_count.error().message, Catch::Contains("3 entries announced"));
  auto bad_line = parse_leader_epoch_checkpoint("0\n2\n0 0\n2 x\n");
  REQUIRE_FALSE(bad_line);
  CHECK_THAT(bad_line.error().message, Catch::Contains("line 4"));
  auto not_increasing = parse_leader_epoch_checkpoint("0\n2\n3 5\n2 9\n");
  REQUIRE_FALSE(not_increasing);
  CHECK_THAT(not_increasing.error().message, Catch::Contains("must increase"));
}

TEST_CASE("replication: a restarted follower keeps a record its high watermark had not reached (KIP-101, case 1)",
          "[replication][epoch]") {
  // B leads epoch 0 with m1, m2; A fetched both but its high watermark (1) lags one response.
  EpochLog b, a;
  b.become_leader(0);
  b.append(0);
  b.append(0);
  a.append(0);
  a.append(0);
  // A restarts and asks B about epoch 0: it ends at 2 on B, so A keeps m2.
  follow(a, b, /*follower_hw=*/1);
  CHECK(a.leo() == 2);
  // Truncating to the high watermark would have dropped the acknowledged m2.
  CHECK(follower_truncation(a.cache, a.leo(), 1, EpochEndOffset{}).offset == 1);
}

TEST_CASE("replication: after two power losses the stale replica drops its divergent record (KIP-101, case 2)",
          "[replication][epoch]") {
  EpochLog a, b;  // A led epoch 0 and wrote m1, m2; B had only m1 when both lost power
  a.become_leader(0);
  a.append(0);
  a.append(0);
  b.append(0);
  b.become_leader(1);  // B comes back first, leads epoch 1, writes m3 at offset 1
  b.append(1);
  follow(a, b, /*follower_hw=*/0);
  CHECK(a.epochs == b.epochs);
  CHECK(a.epochs == std::vector<std::int32_t>{0, 1});
}

TEST_CASE("replication: fast repeated leader changes converge over several rounds (KIP-279)",
          "[replication][epoch]") {
  EpochLog a, b;
  a.become_leader(0);
  a.append(0);
  b.append(0);  // A = B = [0:0]
  b.become_leader(1);
  b.append(1);  // B = [0:0, 1:1]
  a.become_leader(2);
  a.append(2);
  a.append(2);
  a.append(2);  // A = [0:0, 1:2, 2:2, 3:2]
  b.become_leader(3);
  b.append(3);  // B = [0:0, 1:1, 2:3]
  a.become_leader(4);
  a.append(4);
  a.append(4);  // A.LEO = 6, its cache has {4 -> 4}
  const int rounds = follow(b, a, /*follower_hw=*/1);
  CHECK(rounds >= 2);
  CHECK(b.epochs == a.epochs);
  CHECK(b.cache == a.cache);
}
