// The consumer protocol's byte layouts and the client-side assignors (range, roundrobin, sticky,
// cooperative-sticky): byte-exact encodings, clear errors on malformed bytes, the examples of Kafka's
// assignor documentation, and balance, stickiness and KIP-429 safety over many seeded random groups.
#include <catch2/catch.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "broker/client/assignors/assignor.h"
#include "tests/support/assignors.h"
#include "tests/support/bytes.h"

namespace {

using namespace keel;
using namespace keel::client::assignors;
using test::bytes_of;

std::vector<TopicPartition> tps(std::initializer_list<std::pair<const char*, int>> l) {
  std::vector<TopicPartition> v;
  for (const auto& [t, p] : l) v.push_back({t, p});
  std::sort(v.begin(), v.end());
  return v;
}

Member member(std::string id, std::vector<std::string> topics) {
  Member m;
  m.member_id = std::move(id);
  m.subscription.topics = std::move(topics);
  return m;
}

// A member of a sticky group that owned `owned` at `generation`, as Java's StickyAssignor writes it.
Member sticky_member(std::string id, std::vector<std::string> topics, const std::vector<TopicPartition>& owned,
                     std::int32_t generation) {
  Member m = member(std::move(id), std::move(topics));
  m.subscription.user_data = encode_sticky_user_data(owned, generation);
  return m;
}

// A member of a cooperative group, as the Java client writes its v2 subscription.
Member cooperative_member(std::string id, std::vector<std::string> topics, const std::vector<TopicPartition>& owned,
                          std::int32_t generation) {
  Member m = member(std::move(id), std::move(topics));
  m.subscription.owned_partitions = group_by_topic(owned);
  m.subscription.generation_id = generation;
  return m;
}

std::map<std::string, std::set<std::string>> subscriptions_of(const std::vector<Member>& members) {
  std::map<std::string, std::set<std::string>> s;
  for (const auto& m : members) s[m.member_id] = {m.subscription.topics.begin(), m.subscription.topics.end()};
  return s;
}

}  // namespace

// ---- the byte layouts ----

TEST_CASE("consumer protocol: a v3 subscription is encoded byte for byte as Kafka lays it out", "[client][assignors]") {
  Subscription s;
  s.topics = {"ab"};
  s.user_data = bytes_of({0x07});
  s.owned_partitions = {{"ab", {1}}};
  s.generation_id = 5;
  s.rack_id = "r";
  const Bytes expected = bytes_of({0, 3,                                                    // version
                                   0, 0, 0,  1, 0,    2, 'a', 'b',                          // Topics
                                   0, 0, 0,  1, 0x07,                                       // UserData
                                   0, 0, 0,  1, 0,    2, 'a', 'b', 0, 0, 0, 1, 0, 0, 0, 1,  // OwnedPartitions
                                   0, 0, 0,  5,                                             // GenerationId
                                   0, 1, 'r'});                                             // RackId
  CHECK(encode_subscription(s, 3) == expected);
  auto back = decode_subscription(expected);
  REQUIRE(back);
  CHECK(*back == s);
}

TEST_CASE("consumer protocol: each subscription version writes only its fields and reads back equal",
          "[client][assignors]") {
  Subscription s;
  s.topics = {"orders", "payments"};
  s.owned_partitions = {{"orders", {0, 2}}, {"payments", {1}}};
  s.generation_id = 17;
  s.rack_id = "rack-1";
  for (std::int16_t v = 0; v <= subscription_version_max; ++v) {
    Subscription expected = s;
    if (v < 1) expected.owned_partitions.clear();
    if (v < 2) expected.generation_id = -1;
    if (v < 3) expected.rack_id.reset();
    const Bytes bytes = encode_subscription(s, v);
    CHECK(*subscription_version(bytes) == v);
    auto back = decode_subscription(bytes);
    REQUIRE(back);
    CHECK(*back == expected);
    CHECK(encode_subscription(*back, v) == bytes);
  }
  // librdkafka's v0 with empty (not null) user data: 2 + 4 + 8 + 10 + 4 bytes.
  Subscription empty_user_data{{"orders", "payments"}, Bytes{}, {}, -1, std::nullopt};
  CHECK(encode_subscription(empty_user_data, 0).size() == 28);
  CHECK(decode_subscription(encode_subscription(empty_user_data, 0))->user_data == Bytes{});
}

TEST_CASE("consumer protocol: a subscription from a newer version is read as v3, its extra bytes ignored",
          "[client][assignors]") {
  Subscription s{{"t"}, std::nullopt, {{"t", {0}}}, 3, "r1"};
  Bytes bytes = encode_subscription(s, 3);
  bytes[1] = 9;  // version 9
  bytes.insert(bytes.end(), {1, 2, 3, 4, 5});
  auto back = decode_subscription(bytes);
  REQUIRE(back);
  CHECK(*back == s);
}

TEST_CASE("consumer protocol: malformed subscriptions are refused naming the field and the byte",
          "[client][assignors]") {
  Subscription s{{"orders"}, bytes_of({1, 2, 3}), {{"orders", {0, 1}}}, 4, "rack"};
  const Bytes good = encode_subscription(s, 3);
  // Every truncation of a v3 subscription fails, and says which field ran out.
  for (std::size_t n = 0; n < good.size(); ++n) {
    auto r = decode_subscription(std::span(good.data(), n));
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::corrupt);
  }
  CHECK(decode_subscription(std::span(good.data(), 1)).error().message.find("too short for the int16 version") !=
        std::string::npos);
  const auto in_owned = decode_subscription(std::span(good.data(), 30)).error().message;
  CHECK(in_owned.find("subscription v3: OwnedPartitions: truncated") != std::string::npos);
  CHECK(in_owned.find("at byte") != std::string::npos);
  CHECK(decode_subscription(bytes_of({0xff, 0xfe, 0, 0, 0, 0})).error().message.find("unsupported version -2") !=
        std::string::npos);
  CHECK(decode_subscription(bytes_of({0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}))
            .error()
            .message.find("Topics is null") != std::string::npos);
  // A topic count far beyond the bytes that follow is refused before anything is allocated.
  CHECK_FALSE(decode_subscription(bytes_of({0, 0, 0x7f, 0xff, 0xff, 0xff, 0, 1, 'a'})));
}

TEST_CASE("consumer protocol: assignments round-trip at every version, zero bytes mean nothing assigned",
          "[client][assignors]") {
  Assignment a{{{"orders", {0, 3}}, {"payments", {2}}}, bytes_of({9, 9})};
  for (std::int16_t v = 0; v <= assignment_version_max; ++v) {
    const Bytes bytes = encode_assignment(a, v);
    CHECK(bytes[1] == v);
    auto back = decode_assignment(bytes);
    REQUIRE(back);
    CHECK(*back == a);
  }
  const Bytes v1 = bytes_of({0, 1, 0, 0, 0, 1, 0, 1, 't', 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 5, 0xff, 0xff, 0xff, 0xff});
  CHECK(encode_assignment({{{"t", {0, 5}}}, std::nullopt}, 1) == v1);
  CHECK(decode_assignment(Bytes{})->partitions.empty());
  auto bad = decode_assignment(std::span(v1.data(), 15));
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message.find("assignment v1: AssignedPartitions: truncated") != std::string::npos);
  CHECK(decode_assignment(std::span(v1.data(), 22)).error().message.find("UserData") != std::string::npos);
}

TEST_CASE("consumer protocol: sticky user data is Kafka's v1 layout; v0 and Java's cooperative generation read too",
          "[client][assignors]") {
  const Bytes v1 = encode_sticky_user_data(tps({{"b", 1}, {"a", 0}}), 7);
  CHECK(v1 == bytes_of({0, 0, 0, 2, 0, 1, 'a', 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 'b', 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 7}));
  CHECK(*decode_sticky_user_data(v1) == StickyUserData{tps({{"a", 0}, {"b", 1}}), 7});
  const Bytes v0(v1.begin(), v1.end() - 4);
  CHECK(*decode_sticky_user_data(v0) == StickyUserData{tps({{"a", 0}, {"b", 1}}), std::nullopt});
  CHECK(decode_sticky_user_data(std::span(v1.data(), v1.size() - 2)).error().message.find("generation") !=
        std::string::npos);
  CHECK(encode_cooperative_user_data(-1) == bytes_of({0xff, 0xff, 0xff, 0xff}));

  Subscription java_v1;  // Java cooperative-sticky before subscription v2: generation in user data
  java_v1.owned_partitions = {{"a", {0}}};
  java_v1.user_data = encode_cooperative_user_data(4);
  CHECK(cooperative_ownership(java_v1).generation == 4);
  Subscription librdkafka_v1 = java_v1;  // librdkafka writes the sticky layout for cooperative too
  librdkafka_v1.user_data = encode_sticky_user_data(tps({{"a", 0}}), 6);
  CHECK(cooperative_ownership(librdkafka_v1).generation == 6);
  CHECK(cooperative_ownership(librdkafka_v1).partitions == tps({{"a", 0}}));
  Subscription v2 = java_v1;
  v2.generation_id = 9;  // v2+: the field wins, the user data is not read
  CHECK(cooperative_ownership(v2).generation == 9);
  Subscription garbage = java_v1;
  garbage.user_data = bytes_of({1, 2});
  CHECK(cooperative_ownership(garbage).generation == -1);
  CHECK(sticky_ownership(librdkafka_v1).generation == 6);
}

TEST_CASE("assignors: names are Kafka's and librdkafka's, only cooperative-sticky is cooperative",
          "[client][assignors]") {
  for (auto k :
       {AssignorKind::range, AssignorKind::roundrobin, AssignorKind::sticky, AssignorKind::cooperative_sticky}) {
    CHECK(assignor_by_name(assignor_name(k)) == k);
    CHECK(is_cooperative(k) == (k == AssignorKind::cooperative_sticky));
  }
  CHECK(assignor_name(AssignorKind::cooperative_sticky) == "cooperative-sticky");
  CHECK_FALSE(assignor_by_name("RoundRobinAssigner"));  // KafkaJS's name matches no other client's
}

// ---- the examples of Kafka's assignor documentation ----

TEST_CASE("range: Kafka's example, two members and two topics of three partitions", "[client][assignors]") {
  const PartitionCounts counts{{"t0", 3}, {"t1", 3}};
  const std::vector<Member> members{member("C1", {"t0", "t1"}), member("C0", {"t0", "t1"})};
  const auto a = range_assign(counts, members);
  CHECK(a.at("C0") == tps({{"t0", 0}, {"t0", 1}, {"t1", 0}, {"t1", 1}}));
  CHECK(a.at("C1") == tps({{"t0", 2}, {"t1", 2}}));
}

TEST_CASE("range: static members come first by instance id, then dynamic members by member id", "[client][assignors]") {
  const PartitionCounts counts{{"t", 4}};
  std::vector<Member> members{member("a", {"t"}), member("b", {"t"}), member("c", {"t"})};
  members[2].instance_id = "z";
  members[1].instance_id = "y";
  const auto a = range_assign(counts, members);
  CHECK(a.at("b") == tps({{"t", 0}, {"t", 1}}));  // instance y
  CHECK(a.at("c") == tps({{"t", 2}}));            // instance z
  CHECK(a.at("a") == tps({{"t", 3}}));            // dynamic, last
}

TEST_CASE("range: topics missing from metadata are skipped, members without partitions are still listed",
          "[client][assignors]") {
  const auto a = range_assign({{"t", 1}}, {member("a", {"t", "gone"}), member("b", {"t"})});
  CHECK(a.at("a") == tps({{"t", 0}}));
  CHECK(a.at("b").empty());
}

TEST_CASE("roundrobin: Kafka's examples, equal subscriptions and three different ones", "[client][assignors]") {
  const auto equal =
      round_robin_assign({{"t0", 3}, {"t1", 3}}, {member("C0", {"t0", "t1"}), member("C1", {"t0", "t1"})});
  CHECK(equal.at("C0") == tps({{"t0", 0}, {"t0", 2}, {"t1", 1}}));
  CHECK(equal.at("C1") == tps({{"t0", 1}, {"t1", 0}, {"t1", 2}}));
  const PartitionCounts counts{{"t0", 1}, {"t1", 2}, {"t2", 3}};
  const auto mixed =
      round_robin_assign(counts, {member("C2", {"t0", "t1", "t2"}), member("C0", {"t0"}), member("C1", {"t0", "t1"})});
  CHECK(mixed.at("C0") == tps({{"t0", 0}}));
  CHECK(mixed.at("C1") == tps({{"t1", 0}}));
  CHECK(mixed.at("C2") == tps({{"t1", 1}, {"t2", 0}, {"t2", 1}, {"t2", 2}}));
}

TEST_CASE("sticky: Kafka's first example, a member leaves and the others keep everything they had",
          "[client][assignors]") {
  const PartitionCounts counts{{"t0", 2}, {"t1", 2}, {"t2", 2}, {"t3", 2}};
  const std::vector<std::string> all{"t0", "t1", "t2", "t3"};
  const auto first = sticky_assign(counts, {member("C0", all), member("C1", all), member("C2", all)});
  CHECK(first.at("C0") == tps({{"t0", 0}, {"t1", 1}, {"t3", 0}}));
  CHECK(first.at("C1") == tps({{"t0", 1}, {"t2", 0}, {"t3", 1}}));
  CHECK(first.at("C2") == tps({{"t1", 0}, {"t2", 1}}));
  const auto second =
      sticky_assign(counts, {sticky_member("C0", all, first.at("C0"), 1), sticky_member("C2", all, first.at("C2"), 1)});
  CHECK(second.at("C0") == tps({{"t0", 0}, {"t1", 1}, {"t3", 0}, {"t2", 0}}));
  CHECK(second.at("C2") == tps({{"t1", 0}, {"t2", 1}, {"t0", 1}, {"t3", 1}}));
}

TEST_CASE("sticky: Kafka's second example, unequal subscriptions, then the most constrained member leaves",
          "[client][assignors]") {
  const PartitionCounts counts{{"t0", 1}, {"t1", 2}, {"t2", 3}};
  const auto first =
      sticky_assign(counts, {member("C0", {"t0"}), member("C1", {"t0", "t1"}), member("C2", {"t0", "t1", "t2"})});
  CHECK(first.at("C0") == tps({{"t0", 0}}));
  CHECK(first.at("C1") == tps({{"t1", 0}, {"t1", 1}}));
  CHECK(first.at("C2") == tps({{"t2", 0}, {"t2", 1}, {"t2", 2}}));
  const auto second = sticky_assign(counts, {sticky_member("C1", {"t0", "t1"}, first.at("C1"), 1),
                                             sticky_member("C2", {"t0", "t1", "t2"}, first.at("C2"), 1)});
  CHECK(second.at("C1") == tps({{"t0", 0}, {"t1", 0}, {"t1", 1}}));
  CHECK(second.at("C2") == tps({{"t2", 0}, {"t2", 1}, {"t2", 2}}));
}

TEST_CASE("sticky: a claim at a higher generation wins, two claims at the same generation are both disbelieved",
          "[client][assignors]") {
  const PartitionCounts counts{{"t", 4}};
  // t-0: a claims it at generation 2, b at 3, so b keeps it. t-1: b and c both claim it at
  // generation 3, so neither keeps it and it is dealt afresh with t-2 and t-3, each to the emptiest
  // member (ties to the first id): t-1 to a, t-2 to c, t-3 to a.
  const auto out = sticky_assign(
      counts, {sticky_member("a", {"t"}, tps({{"t", 0}, {"t", 1}}), 2),
               sticky_member("b", {"t"}, tps({{"t", 0}, {"t", 1}}), 3), sticky_member("c", {"t"}, tps({{"t", 1}}), 3)});
  CHECK(out.at("b") == tps({{"t", 0}}));
  CHECK(out.at("a") == tps({{"t", 1}, {"t", 3}}));
  CHECK(out.at("c") == tps({{"t", 2}}));
}

TEST_CASE("cooperative-sticky: a new member gets nothing that another member still owns; the second round hands over",
          "[client][assignors]") {
  const PartitionCounts counts{{"t", 4}};
  const auto first = cooperative_sticky_assign(
      counts, {cooperative_member("a", {"t"}, tps({{"t", 0}, {"t", 1}, {"t", 2}, {"t", 3}}), 1),
               cooperative_member("b", {"t"}, {}, -1)});
  CHECK(first.at("a") == tps({{"t", 0}, {"t", 1}}));
  CHECK(first.at("b").empty());  // t-2 and t-3 are withheld: a still owns them until it revokes
  const auto second = cooperative_sticky_assign(
      counts, {cooperative_member("a", {"t"}, first.at("a"), 2), cooperative_member("b", {"t"}, {}, 2)});
  CHECK(second.at("a") == tps({{"t", 0}, {"t", 1}}));
  CHECK(second.at("b") == tps({{"t", 2}, {"t", 3}}));
}

// ---- properties over seeded random groups ----

namespace {

// One random group: topics, members (shuffled ids) with equal or random subscriptions.
struct RandomGroup {
  PartitionCounts counts;
  std::vector<Member> members;
};

RandomGroup random_group(test::Draw& d, bool equal) {
  RandomGroup g;
  g.counts = test::random_topics(d, 4, 12);
  for (const auto& id : test::member_ids(d, 1 + d.below(9)))
    g.members.push_back(member(id, test::random_subscription(d, g.counts, equal)));
  return g;
}

std::string describe(const RandomGroup& g) {
  std::string s = fmt::format("topics {}", g.counts);
  for (const auto& m : g.members) s += fmt::format("; {} subscribes {}", m.member_id, m.subscription.topics);
  return s;
}

}  // namespace

TEST_CASE(
    "range and roundrobin: valid and deterministic over random groups; roundrobin balanced when subscriptions "
    "are equal",
    "[client][assignors]") {
  test::Draw d(12);
  for (int round = 0; round < 500; ++round) {
    const bool equal = round % 2 == 0;
    RandomGroup g = random_group(d, equal);
    INFO(describe(g));
    const auto subs = subscriptions_of(g.members);
    for (auto kind : {AssignorKind::range, AssignorKind::roundrobin}) {
      const auto a = assign(kind, g.counts, g.members);
      CHECK(test::invalid(g.counts, subs, a).empty());
      std::reverse(g.members.begin(), g.members.end());
      CHECK(assign(kind, g.counts, g.members) == a);
      if (equal && kind == AssignorKind::roundrobin) CHECK(test::spread(a) <= 1);
    }
  }
}

TEST_CASE(
    "sticky: over random groups that change, every assignment is valid and balanced, and with equal "
    "subscriptions moves only the partitions balance requires",
    "[client][assignors]") {
  test::Draw d(7);
  for (int run = 0; run < 60; ++run) {
    const bool equal = run % 2 == 0;
    RandomGroup g = random_group(d, equal);
    test::PartitionMap previous;
    for (int generation = 1; generation <= 8; ++generation) {
      INFO(fmt::format("run {} generation {}: {}", run, generation, describe(g)));
      const auto a = sticky_assign(g.counts, g.members);
      const auto subs = subscriptions_of(g.members);
      REQUIRE(test::invalid(g.counts, subs, a).empty());
      CHECK_FALSE(test::unbalanced(subs, a));
      if (equal) {
        std::size_t total = 0;
        for (const auto& [t, n] : g.counts) total += static_cast<std::size_t>(n);
        test::PartitionMap kept;
        for (const auto& m : g.members)
          kept[m.member_id] = previous.contains(m.member_id) ? previous[m.member_id] : std::vector<TopicPartition>{};
        CHECK(test::spread(a) <= 1);
        CHECK(test::moved(kept, a) == test::fewest_moves(kept, g.members.size(), total));
      }
      previous = a;
      // The next generation: members remember what they got; some leave, some join, topics grow.
      for (auto& m : g.members) m.subscription.user_data = encode_sticky_user_data(a.at(m.member_id), generation);
      if (g.members.size() > 1 && d.chance(40))
        g.members.erase(g.members.begin() + d.below(static_cast<int>(g.members.size())));
      if (d.chance(40))
        g.members.push_back(
            member(fmt::format("n{}-{}", run, generation), test::random_subscription(d, g.counts, equal)));
      if (d.chance(20)) g.counts.begin()->second += 1 + d.below(4);
    }
  }
}

TEST_CASE(
    "cooperative-sticky: over random changing groups no partition goes to a new owner while another member owns "
    "it, and one more rebalance completes a valid balanced assignment",
    "[client][assignors]") {
  test::Draw d(429);
  for (int run = 0; run < 60; ++run) {
    const bool equal = run % 2 == 0;
    RandomGroup g = random_group(d, equal);
    std::map<std::string, std::vector<TopicPartition>> owns;  // what each member owns (and reports)
    for (int generation = 1; generation <= 8; ++generation) {
      INFO(fmt::format("run {} generation {}: {}", run, generation, describe(g)));
      for (auto& m : g.members)
        m.subscription =
            cooperative_member(m.member_id, m.subscription.topics, owns[m.member_id], generation - 1).subscription;
      const auto a = cooperative_sticky_assign(g.counts, g.members);
      const auto subs = subscriptions_of(g.members);
      REQUIRE(test::invalid(g.counts, subs, a, false).empty());
      for (const auto& [id, partitions] : a) {
        for (const auto& tp : partitions) {
          for (const auto& [other, owned] : owns) {
            if (other == id || !subs.contains(other)) continue;
            CHECK_FALSE(std::binary_search(owned.begin(), owned.end(), tp));
          }
        }
      }
      // Members revoke what was taken away; if anything was withheld, the follow-up rebalance
      // (nobody joins or leaves) must finish the job.
      for (const auto& [id, partitions] : a) owns[id] = partitions;
      if (test::invalid(g.counts, subs, a).empty()) {
        CHECK_FALSE(test::unbalanced(subs, a));
      } else {
        for (auto& m : g.members)
          m.subscription =
              cooperative_member(m.member_id, m.subscription.topics, owns[m.member_id], generation).subscription;
        const auto b = cooperative_sticky_assign(g.counts, g.members);
        CHECK(test::invalid(g.counts, subs, b).empty());
        CHECK_FALSE(test::unbalanced(subs, b));
        CHECK(test::moved(a, b) == 0);  // the second round only hands over what was withheld
        for (const auto& [id, partitions] : b) owns[id] = partitions;
      }
      if (g.members.size() > 1 && d.chance(40)) {
        const auto gone = g.members.begin() + d.below(static_cast<int>(g.members.size()));
        owns.erase(gone->member_id);
        g.members.erase(gone);
      }
      if (d.chance(40))
        g.members.push_back(
            member(fmt::format("n{}-{}", run, generation), test::random_subscription(d, g.counts, equal)));
    }
  }
}

TEST_CASE("members: each assignor's subscription carries what the leader reads, at every version",
          "[client][assignors]") {
  const auto owned = tps({{"b", 0}, {"a", 1}});
  for (std::int16_t v = 0; v <= subscription_version_max; ++v) {
    INFO("version " << v);
    const auto range = member_subscription(AssignorKind::range, v, {"b", "a"}, owned, 4, "r");
    CHECK(range.topics == std::vector<std::string>{"a", "b"});
    CHECK_FALSE(range.user_data);
    CHECK(range.rack_id == (v >= 3 ? std::optional<std::string>("r") : std::nullopt));
    // What the leader reads back after the bytes cross the wire at this version.
    const auto sticky =
        *decode_subscription(encode_subscription(member_subscription(AssignorKind::sticky, v, {"a"}, owned, 4), v));
    CHECK(sticky_ownership(sticky).partitions == owned);
    CHECK(sticky_ownership(sticky).generation == 4);
    const auto coop = *decode_subscription(
        encode_subscription(member_subscription(AssignorKind::cooperative_sticky, v, {"a"}, owned, 4), v));
    CHECK(cooperative_ownership(coop).generation == 4);
    CHECK(cooperative_ownership(coop).partitions == (v >= 1 ? owned : std::vector<TopicPartition>{}));
  }
}

TEST_CASE("members: an eager member revokes all and adds all; a cooperative one revokes only what it lost and rejoins",
          "[client][assignors]") {
  const auto owned = tps({{"t", 0}, {"t", 1}});
  const auto given = tps({{"t", 1}, {"t", 2}});
  CHECK(apply_assignment(AssignorKind::range, owned, given) == AssignmentChange{owned, given, false});
  CHECK(apply_assignment(AssignorKind::cooperative_sticky, owned, given) ==
        AssignmentChange{tps({{"t", 0}}), tps({{"t", 2}}), true});
  CHECK(apply_assignment(AssignorKind::cooperative_sticky, owned, tps({{"t", 0}, {"t", 1}, {"t", 3}})) ==
        AssignmentChange{{}, tps({{"t", 3}}), false});
}

TEST_CASE(
    "leader: members whose subscription does not parse or names no topic get zero bytes, the rest a decodable "
    "assignment",
    "[client][assignors]") {
  const PartitionCounts counts{{"t", 4}};
  const std::vector<JoinedMember> joined{
      {"a", std::nullopt, encode_subscription({{"t"}, std::nullopt, {}, -1, std::nullopt}, 1)},
      {"b", std::nullopt, bytes_of({0, 1, 0, 0})},  // truncated
      {"c", std::nullopt, encode_subscription({{}, std::nullopt, {}, -1, std::nullopt}, 0)},
      {"d", std::string("static-d"), encode_subscription({{"t"}, std::nullopt, {}, -1, std::nullopt}, 3)}};
  const auto out = leader_assign(AssignorKind::range, counts, joined, 1);
  REQUIRE(out.assignments.size() == 4);
  CHECK(out.assignments.at("b").empty());
  CHECK(out.assignments.at("c").empty());
  REQUIRE(out.rejected.size() == 2);
  CHECK(out.rejected[0].find("member b: subscription v1: Topics: truncated") == 0);
  CHECK(out.rejected[1] == "member c: its subscription names no topic");
  // range puts the static member first.
  CHECK(flatten(decode_assignment(out.assignments.at("d"))->partitions) == tps({{"t", 0}, {"t", 1}}));
  CHECK(flatten(decode_assignment(out.assignments.at("a"))->partitions) == tps({{"t", 2}, {"t", 3}}));
  CHECK(out.assignments.at("a")[1] == 1);  // encoded at version 1
}
