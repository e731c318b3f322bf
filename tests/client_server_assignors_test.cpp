// The server-side assignors of KIP-848, uniform and range: worked examples, then validity, balance,
// stickiness, co-partitioning and determinism over seeded random groups that change.
#include <catch2/catch.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "broker/client/assignors/server_assignors.h"
#include "tests/support/assignors.h"

namespace {

using namespace keel;
using namespace keel::client::assignors;

std::vector<TopicPartition> tps(std::initializer_list<std::pair<const char*, int>> l) {
  std::vector<TopicPartition> v;
  for (const auto& [t, p] : l) v.push_back({t, p});
  std::sort(v.begin(), v.end());
  return v;
}

TargetMember target(std::string id, std::set<std::string> topics, std::vector<TopicPartition> current = {}) {
  return TargetMember{std::move(id), std::nullopt, std::move(topics), std::move(current)};
}

std::map<std::string, std::set<std::string>> subscriptions_of(const std::vector<TargetMember>& members) {
  std::map<std::string, std::set<std::string>> s;
  for (const auto& m : members) s[m.member_id] = m.topics;
  return s;
}

std::size_t total_of(const PartitionCounts& counts, const std::set<std::string>& subscribed) {
  std::size_t n = 0;
  for (const auto& [t, c] : counts) n += subscribed.contains(t) ? static_cast<std::size_t>(c) : 0;
  return n;
}

// Range's per-topic shares: every subscriber of a topic holds P / C or P / C + 1 of its partitions,
// and keeps at least min(what it held, P / C) of the partitions it held.
void check_range_shares(const PartitionCounts& counts, const std::vector<TargetMember>& members,
                        const GroupAssignment& out) {
  for (const auto& [topic, partitions] : counts) {
    std::vector<const TargetMember*> subscribers;
    for (const auto& m : members) {
      if (m.topics.contains(topic)) subscribers.push_back(&m);
    }
    if (subscribers.empty()) continue;
    const auto quota = static_cast<std::size_t>(partitions) / subscribers.size();
    for (const TargetMember* m : subscribers) {
      std::size_t now = 0, held = 0, still = 0;
      for (const auto& tp : out.at(m->member_id)) now += tp.topic == topic ? 1 : 0;
      for (const auto& tp : m->current) {
        if (tp.topic != topic) continue;
        ++held;
        const auto& mine = out.at(m->member_id);
        still += std::binary_search(mine.begin(), mine.end(), tp) ? 1 : 0;
      }
      INFO(fmt::format("{} on {}: holds {}, quota {}, held {}, kept {}", m->member_id, topic, now, quota, held, still));
      CHECK((now == quota || now == quota + 1));
      CHECK(still >= std::min(held, quota));
    }
  }
}

}  // namespace

TEST_CASE("server assignors: names are Kafka's group.consumer.assignors names", "[client][assignors]") {
  CHECK(server_assignor_by_name("uniform") == ServerAssignorKind::uniform);
  CHECK(server_assignor_by_name("range") == ServerAssignorKind::range);
  CHECK(server_assignor_name(ServerAssignorKind::uniform) == "uniform");
  CHECK_FALSE(server_assignor_by_name("sticky"));
}

TEST_CASE("server range: a first assignment is co-partitioned, the same partition numbers of each topic together",
          "[client][assignors]") {
  const PartitionCounts counts{{"a", 3}, {"b", 3}};
  const auto out = server_range_assign(counts, {target("m2", {"a", "b"}), target("m1", {"a", "b"})});
  CHECK(out.at("m1") == tps({{"a", 0}, {"a", 1}, {"b", 0}, {"b", 1}}));
  CHECK(out.at("m2") == tps({{"a", 2}, {"b", 2}}));
}

TEST_CASE("server range: a joining member takes only what the others must give up; a leaving one's partitions spread",
          "[client][assignors]") {
  const PartitionCounts counts{{"t", 3}};
  const auto joined = server_range_assign(
      counts, {target("A", {"t"}, tps({{"t", 0}, {"t", 1}})), target("B", {"t"}, tps({{"t", 2}})), target("C", {"t"})});
  CHECK(joined.at("A") == tps({{"t", 0}}));
  CHECK(joined.at("B") == tps({{"t", 2}}));
  CHECK(joined.at("C") == tps({{"t", 1}}));
  const auto left =
      server_range_assign(counts, {target("A", {"t"}, joined.at("A")), target("B", {"t"}, joined.at("B"))});
  CHECK(left.at("A") == tps({{"t", 0}, {"t", 1}}));
  CHECK(left.at("B") == tps({{"t", 2}}));
}

TEST_CASE("server range: static members are ordered by instance id, so a replaced instance's share stays put",
          "[client][assignors]") {
  const PartitionCounts counts{{"t", 4}};
  std::vector<TargetMember> members{target("zz-new-id", {"t"}), target("aa", {"t"})};
  members[0].instance_id = "instance-1";
  const auto out = server_range_assign(counts, members);
  CHECK(out.at("zz-new-id") == tps({{"t", 0}, {"t", 1}}));
  CHECK(out.at("aa") == tps({{"t", 2}, {"t", 3}}));
}

TEST_CASE("uniform: a first assignment deals partitions evenly; a new member takes the fewest partitions balance needs",
          "[client][assignors]") {
  const PartitionCounts counts{{"a", 3}, {"b", 3}};
  const auto first = uniform_assign(counts, {target("m1", {"a", "b"}), target("m2", {"a", "b"})});
  CHECK(first.at("m1").size() == 3);
  CHECK(first.at("m2").size() == 3);
  const auto second = uniform_assign(counts, {target("m1", {"a", "b"}, first.at("m1")),
                                              target("m2", {"a", "b"}, first.at("m2")), target("m3", {"a", "b"})});
  CHECK(test::spread(second) == 0);
  CHECK(test::moved({{"m1", first.at("m1")}, {"m2", first.at("m2")}}, second) == 2);
}

TEST_CASE("uniform: a partition two current targets both hold is kept by neither, and still assigned once",
          "[client][assignors]") {
  const PartitionCounts counts{{"t", 2}};
  const auto out =
      uniform_assign(counts, {target("a", {"t"}, tps({{"t", 0}, {"t", 1}})), target("b", {"t"}, tps({{"t", 1}}))});
  CHECK(out.at("a") == tps({{"t", 0}}));
  CHECK(out.at("b") == tps({{"t", 1}}));
  CHECK(test::invalid(counts, {{"a", {"t"}}, {"b", {"t"}}}, out).empty());
}

TEST_CASE(
    "uniform and range: over random changing groups every target is valid, balanced, sticky and independent of "
    "member order",
    "[client][assignors]") {
  test::Draw d(848);
  for (int run = 0; run < 80; ++run) {
    const bool equal = run % 2 == 0;
    const auto kind = run % 4 < 2 ? ServerAssignorKind::uniform : ServerAssignorKind::range;
    PartitionCounts counts = test::random_topics(d, 4, 12);
    std::vector<TargetMember> members;
    for (const auto& id : test::member_ids(d, 1 + d.below(9))) {
      auto topics = test::random_subscription(d, counts, equal);
      members.push_back(target(id, {topics.begin(), topics.end()}));
    }
    for (int epoch = 1; epoch <= 8; ++epoch) {
      INFO(fmt::format("run {} ({}) epoch {}: topics {}, {} members", run, server_assignor_name(kind), epoch, counts,
                       members.size()));
      const auto out = server_assign(kind, counts, members);
      const auto subs = subscriptions_of(members);
      REQUIRE(test::invalid(counts, subs, out).empty());
      std::reverse(members.begin(), members.end());
      CHECK(server_assign(kind, counts, members) == out);
      test::PartitionMap kept;
      for (const auto& m : members) kept[m.member_id] = m.current;
      if (kind == ServerAssignorKind::uniform) {
        CHECK_FALSE(test::unbalanced(subs, out));
        if (equal) {
          CHECK(test::spread(out) <= 1);
          CHECK(test::moved(kept, out) ==
                test::fewest_moves(kept, members.size(), total_of(counts, subs.begin()->second)));
        }
      } else {
        check_range_shares(counts, members, out);
      }
      for (auto& m : members) m.current = out.at(m.member_id);
      if (members.size() > 1 && d.chance(40))
        members.erase(members.begin() + d.below(static_cast<int>(members.size())));
      if (d.chance(40)) {
        auto topics = test::random_subscription(d, counts, equal);
        members.push_back(target(fmt::format("n{}-{}", run, epoch), {topics.begin(), topics.end()}));
      }
      if (d.chance(20)) counts.begin()->second += 1 + d.below(4);
    }
  }
}

TEST_CASE("uniform: a group of 100 members over 2000 partitions, equal and unequal subscriptions, then 10 "
          "members leave", "[client][assignors]") {
  test::Draw d(100);
  PartitionCounts counts;
  for (int t = 0; t < 20; ++t) counts[fmt::format("t{:02}", t)] = 100;
  for (bool equal : {true, false}) {
    std::vector<TargetMember> members;
    for (int i = 0; i < 100; ++i) {
      auto topics = test::random_subscription(d, counts, equal);
      members.push_back(target(fmt::format("m{:03}", i), {topics.begin(), topics.end()}));
    }
    const auto first = uniform_assign(counts, members);
    for (auto& m : members) m.current = first.at(m.member_id);
    members.erase(members.begin(), members.begin() + 10);
    const auto second = uniform_assign(counts, members);
    const auto subs = subscriptions_of(members);
    CHECK(test::invalid(counts, subs, second).empty());
    CHECK_FALSE(test::unbalanced(subs, second));
    if (equal) CHECK(test::spread(second) <= 1);
  }
}
