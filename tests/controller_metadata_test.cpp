// The quorum controller's metadata: record encoding, the image and its epoch rules, snapshots as
// records, broker registration and heartbeats, striped placement, leader election, AlterPartition
// validation, and seeded random operation sequences checked against the partition invariants.
#include "broker/metadata/control.h"
#include "broker/metadata/image.h"
#include "broker/metadata/records.h"
#include "tests/support/controller_cluster.h"

#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <map>
#include <set>

using namespace keel;
using namespace keel::metadata;

namespace {

using test::uuid_of;
using Cluster = test::ControllerCluster;

std::vector<MetadataRecord> one_of_each() {
  return {
      RegisterBrokerRecord{3, uuid_of(3), 17, {{"PLAINTEXT", "b3.local", 9092}, {"CONTROLLER", "b3.local", 9093}}, "rack-a", true, false},
      RegisterBrokerRecord{4, uuid_of(4), 0, {}, std::nullopt, false, true},
      UnregisterBrokerRecord{3, 17},
      TopicRecord{"orders", uuid_of(9)},
      PartitionRecord{2, uuid_of(9), {1, 2, 3}, {1, 3}, 3, LeaderRecoveryState::recovering, 5, 11, {}, {}},
      ConfigRecord{"orders", "retention.ms", "1000"},
      ConfigRecord{"orders", "cleanup.policy", std::nullopt},
      PartitionChangeRecord{2, uuid_of(9), std::vector<BrokerId>{1}, std::nullopt, leader_unchanged, recovery_state_unchanged, std::nullopt, std::nullopt},
      PartitionChangeRecord{0, uuid_of(9), std::nullopt, std::vector<BrokerId>{4, 5}, no_leader, 1, std::nullopt, std::nullopt},
      PartitionRecord{3, uuid_of(9), {4, 5, 1}, {1, 4}, 1, LeaderRecoveryState::recovered, 2, 7, {1}, {5}},
      PartitionChangeRecord{3, uuid_of(9), std::nullopt, std::vector<BrokerId>{4, 5}, leader_unchanged, -1,
                            std::vector<BrokerId>{}, std::vector<BrokerId>{5}},
      RemoveTopicRecord{uuid_of(9)},
      BrokerRegistrationChangeRecord{4, 0, FenceChange::unfence, 0},
      BrokerRegistrationChangeRecord{4, 0, FenceChange::fence, 1},
      NoOpRecord{},
  };
}

}  // namespace

// --- records -------------------------------------------------------------------------------------

TEST_CASE("metadata records: every record type decodes to what was encoded", "[controller][metadata]") {
  std::set<std::size_t> kinds;
  for (const auto& record : one_of_each()) {
    kinds.insert(record.index());
    const auto bytes = encode(record);
    auto decoded = decode(bytes);
    INFO(describe(record));
    REQUIRE(decoded.ok());
    CHECK(*decoded == record);
    CHECK(describe(record).rfind(std::string(record_type_name(record)), 0) == 0);
  }
  CHECK(kinds.size() == std::variant_size_v<MetadataRecord>);
}

TEST_CASE("metadata records: describe reads as one line per record for traces", "[controller][metadata]") {
  CHECK(describe(PartitionChangeRecord{2, uuid_of(9), std::vector<BrokerId>{1, 3}, std::nullopt, 3, 1, std::nullopt, std::nullopt}) ==
        "PartitionChangeRecord(topic=0900000000000000000000000000005a, partition=2, leader=3, isr=[1,3], recovery=1)");
  CHECK(describe(BrokerRegistrationChangeRecord{4, 12, FenceChange::fence, 0}) ==
        "BrokerRegistrationChangeRecord(broker=4, epoch=12, fenced=1, in_controlled_shutdown=0)");
  CHECK(describe(NoOpRecord{}) == "NoOpRecord()");
}

TEST_CASE("metadata records: a truncated record is an error naming its type", "[controller][metadata]") {
  for (const auto& record : one_of_each()) {
    const auto bytes = encode(record);
    for (std::size_t n = 0; n < bytes.size(); ++n) {
      auto decoded = decode(std::span(bytes.data(), n));
      INFO(describe(record) << " cut to " << n << " bytes");
      REQUIRE_FALSE(decoded.ok());
      CHECK(decoded.code() == Errc::corrupt);
      CHECK(decoded.error().message.find("truncated") != std::string::npos);
      if (n >= 2) CHECK(decoded.error().message.find(std::string(record_type_name(record))) != std::string::npos);
    }
  }
}

TEST_CASE("metadata records: a corrupted byte anywhere is a valid record or an error naming the record type",
          "[controller][metadata]") {
  for (const auto& record : one_of_each()) {
    const auto bytes = encode(record);
    for (std::size_t i = 0; i < bytes.size(); ++i) {
      for (std::uint8_t replacement : {0x00, 0x01, 0x02, 0x7f, 0x80, 0xff}) {
        if (bytes[i] == replacement) continue;
        auto damaged = bytes;
        damaged[i] = replacement;
        auto decoded = decode(damaged);
        if (decoded.ok()) continue;
        INFO(describe(record) << " byte " << i << " = " << int(replacement) << ": " << decoded.error().message);
        CHECK(decoded.code() == Errc::corrupt);
        // The error names the record type the type byte says, or says that it is unknown.
        const auto type_said = record_type_name(static_cast<std::int8_t>(damaged[0]));
        const std::string named = type_said == "UnknownRecord" ? "unknown type" : std::string(type_said);
        CHECK(decoded.error().message.find(named) != std::string::npos);
      }
    }
  }
}

TEST_CASE("metadata records: unknown type, bad version, trailing bytes and bad enums are refused", "[controller][metadata]") {
  const std::vector<std::uint8_t> unknown{99, 0};
  auto r = decode(unknown);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("unknown type 99") != std::string::npos);

  auto bytes = encode(TopicRecord{"t", uuid_of(1)});
  bytes[1] = 7;
  r = decode(bytes);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("TopicRecord") != std::string::npos);
  CHECK(r.error().message.find("bad version 7") != std::string::npos);

  bytes = encode(NoOpRecord{});
  bytes.push_back(0);
  r = decode(bytes);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("NoOpRecord: 1 trailing bytes") != std::string::npos);

  bytes = encode(BrokerRegistrationChangeRecord{1, 2, FenceChange::fence, 0});
  bytes[bytes.size() - 2] = 5;  // fenced
  r = decode(bytes);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("BrokerRegistrationChangeRecord.fenced: 5 is not in -1..1") != std::string::npos);
}

// --- image ---------------------------------------------------------------------------------------

TEST_CASE("metadata image: partition epoch bumps on every change, leader epoch only when a leader is named",
          "[controller][metadata]") {
  MetadataImage image;
  std::int64_t offset = 0;
  image.apply(TopicRecord{"t", uuid_of(1)}, offset++);
  image.apply(PartitionRecord{0, uuid_of(1), {1, 2, 3}, {1, 2, 3}, 1, LeaderRecoveryState::recovered, 4, 9, {}, {}}, offset++);

  image.apply(PartitionChangeRecord{0, uuid_of(1), std::vector<BrokerId>{1, 2}, std::nullopt, leader_unchanged, -1, std::nullopt, std::nullopt}, offset++);
  const auto* p = image.partition("t", 0);
  CHECK(p->isr == std::vector<BrokerId>{1, 2});
  CHECK(p->leader_epoch == 4);
  CHECK(p->partition_epoch == 10);

  // Naming the same leader still bumps the leader epoch.
  image.apply(PartitionChangeRecord{0, uuid_of(1), std::nullopt, std::nullopt, 1, -1, std::nullopt, std::nullopt}, offset++);
  CHECK(p->leader == 1);
  CHECK(p->leader_epoch == 5);
  CHECK(p->partition_epoch == 11);

  image.apply(PartitionChangeRecord{0, uuid_of(1), std::nullopt, std::nullopt, no_leader, -1, std::nullopt, std::nullopt}, offset++);
  CHECK(p->leader == no_leader);
  CHECK(p->leader_epoch == 6);
  CHECK(image.leader_of("t", 0) == no_leader);
  CHECK(image.last_applied_offset() == offset - 1);
}

TEST_CASE("metadata image: impossible records from a decoded log are error values and change nothing",
          "[controller][metadata]") {
  MetadataImage image;
  REQUIRE(image.replay(TopicRecord{"t", uuid_of(1)}, 0).ok());
  REQUIRE(image.replay(PartitionRecord{0, uuid_of(1), {1, 2}, {1, 2}, 1, LeaderRecoveryState::recovered, 0, 0, {}, {}}, 1).ok());
  const MetadataImage before = image;

  auto s = image.replay(PartitionChangeRecord{5, uuid_of(1), std::nullopt, std::nullopt, 2, -1, std::nullopt, std::nullopt}, 2);
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().message.find("unknown partition") != std::string::npos);
  s = image.replay(PartitionChangeRecord{0, uuid_of(1), std::vector<BrokerId>{1, 3}, std::nullopt, leader_unchanged, -1, std::nullopt, std::nullopt}, 2);
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().message.find("ISR member 3 is not a replica") != std::string::npos);
  s = image.replay(PartitionChangeRecord{0, uuid_of(1), std::vector<BrokerId>{}, std::nullopt, leader_unchanged, -1, std::nullopt, std::nullopt}, 2);
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().message.find("empty ISR") != std::string::npos);
  s = image.replay(PartitionChangeRecord{0, uuid_of(1), std::vector<BrokerId>{2}, std::nullopt, leader_unchanged, -1, std::nullopt, std::nullopt}, 2);
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().message.find("leader 1 is not in the ISR") != std::string::npos);
  s = image.replay(TopicRecord{"t", uuid_of(2)}, 2);
  CHECK_FALSE(s.ok());
  s = image.replay(ConfigRecord{"nope", "a", "b"}, 2);
  CHECK_FALSE(s.ok());
  s = image.replay(BrokerRegistrationChangeRecord{1, 0, FenceChange::fence, 0}, 2);
  CHECK_FALSE(s.ok());
  s = image.replay(NoOpRecord{}, 0);  // offsets never go back (records of one entry share its offset)
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().message.find("at offset 0 after offset 1") != std::string::npos);
  CHECK(image == before);
  CHECK(image.last_applied_offset() == 1);
}

TEST_CASE("metadata image: its records rebuild an equal image", "[controller][metadata]") {
  Cluster c;
  c.add_brokers({1, 2, 3, 4});
  REQUIRE(c.create_topic("orders", 4, 3, {{"retention.ms", "600"}}).error == ErrorCode::none);
  REQUIRE(c.create_topic("audit", 2, 2).error == ErrorCode::none);
  c.commit({ConfigRecord{"audit", "cleanup.policy", "compact"}});
  c.heartbeat(2, true);  // fence 2: ISR shrinks, leaders move, epochs advance
  c.heartbeat(4, false, true);
  REQUIRE(c.image.broker(2)->fenced);

  MetadataImage rebuilt;
  std::int64_t offset = 0;
  for (const auto& r : c.image.to_records()) {
    auto decoded = decode(encode(r));
    REQUIRE(decoded.ok());
    REQUIRE(rebuilt.replay(*decoded, offset++).ok());
  }
  CHECK(rebuilt == c.image);
  CHECK(rebuilt.to_records() == c.image.to_records());
  rebuilt.apply(NoOpRecord{}, offset++);
  rebuilt.apply(RemoveTopicRecord{rebuilt.topic("audit")->id}, offset++);
  CHECK_FALSE(rebuilt == c.image);
}

// --- placement -----------------------------------------------------------------------------------

TEST_CASE("controller placement: replicas and leaders spread evenly over 3 and 5 brokers", "[controller][metadata]") {
  for (int brokers : {3, 5}) {
    for (std::uint64_t seed = 1; seed <= 20; ++seed) {
      Cluster c({}, seed);
      for (int b = 1; b <= brokers; ++b) c.add_brokers({b});
      const std::int32_t partitions = brokers * 4;
      REQUIRE(c.create_topic("t", partitions, 3).error == ErrorCode::none);
      std::map<BrokerId, int> leaders, replicas;
      for (std::int32_t i = 0; i < partitions; ++i) {
        const auto& p = c.partition("t", i);
        REQUIRE(p.replicas.size() == 3);
        CHECK(std::set<BrokerId>(p.replicas.begin(), p.replicas.end()).size() == 3);
        CHECK(p.isr == p.replicas);
        CHECK(p.leader == p.replicas.front());
        CHECK(p.leader_epoch == 0);
        CHECK(p.partition_epoch == 0);
        ++leaders[p.leader];
        for (auto r : p.replicas) ++replicas[r];
      }
      INFO(brokers << " brokers, seed " << seed);
      REQUIRE(leaders.size() == static_cast<std::size_t>(brokers));
      for (auto [b, n] : leaders) CHECK(n == 4);
      for (auto [b, n] : replicas) CHECK(n == 12);
    }
  }
}

TEST_CASE("controller placement: with racks, each partition's replicas sit on different racks", "[controller][metadata]") {
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    Cluster c({}, seed);
    const std::map<BrokerId, std::string> racks{{1, "a"}, {2, "a"}, {3, "b"}, {4, "b"}, {5, "c"}, {6, "c"}};
    for (const auto& [b, rack] : racks) REQUIRE(c.register_broker(b, 0, rack).error == ErrorCode::none);
    for (const auto& [b, rack] : racks) REQUIRE_FALSE(c.heartbeat(b).is_fenced);
    REQUIRE(c.create_topic("t", 12, 3).error == ErrorCode::none);
    std::map<BrokerId, int> leaders;
    for (std::int32_t i = 0; i < 12; ++i) {
      const auto& p = c.partition("t", i);
      std::set<std::string> spanned;
      for (auto r : p.replicas) spanned.insert(racks.at(r));
      INFO("seed " << seed << " partition " << i);
      CHECK(spanned.size() == 3);
      ++leaders[p.leader];
    }
    for (auto [b, n] : leaders) CHECK(n == 2);
  }
}

TEST_CASE("controller placement: refuses a replication factor above the active brokers", "[controller][metadata]") {
  Cluster c;
  c.add_brokers({1, 2, 3});
  CHECK(c.create_topic("four", 1, 4).error == ErrorCode::invalid_replication_factor);
  c.heartbeat(3, true);  // fenced brokers do not count
  CHECK(c.create_topic("three", 1, 3).error == ErrorCode::invalid_replication_factor);
  CHECK(c.create_topic("two", 1, 2).error == ErrorCode::none);
  for (auto r : c.partition("two", 0).replicas) CHECK(r != 3);
  CHECK(c.image.topic("four") == nullptr);
}

TEST_CASE("controller topics: bad names, duplicates, bad counts and bad configs are refused", "[controller][metadata]") {
  Cluster c;
  c.add_brokers({1, 2});
  const auto before = c.next_offset;
  CHECK(c.create_topic("", 1, 1).error == ErrorCode::invalid_topic_exception);
  CHECK(c.create_topic("..", 1, 1).error == ErrorCode::invalid_topic_exception);
  CHECK(c.create_topic("a b", 1, 1).error == ErrorCode::invalid_topic_exception);
  CHECK(c.create_topic(std::string(250, 'x'), 1, 1).error == ErrorCode::invalid_topic_exception);
  CHECK(c.create_topic("t", 0, 1).error == ErrorCode::invalid_partitions);
  CHECK(c.create_topic("t", -2, 1).error == ErrorCode::invalid_partitions);
  CHECK(c.create_topic("t", 1, 0).error == ErrorCode::invalid_replication_factor);
  CHECK(c.create_topic("t", 1, 1, {{"unclean.leader.election.enable", "yes"}}).error == ErrorCode::invalid_config);
  CHECK(c.next_offset == before);
  auto created = c.create_topic("t", -1, -1);
  REQUIRE(created.error == ErrorCode::none);
  CHECK(c.image.topic("t")->partitions.size() == 1);
  CHECK(c.image.topic("t")->id == created.topic_id);
  CHECK(c.create_topic("t", 1, 1).error == ErrorCode::topic_already_exists);

  auto gone = c.controller.delete_topic(c.image, "t");
  CHECK(gone.reply == ErrorCode::none);
  c.commit(gone.records);
  CHECK(c.image.topic("t") == nullptr);
  CHECK(c.controller.delete_topic(c.image, "t").reply == ErrorCode::unknown_topic_or_partition);
}

// --- election ------------------------------------------------------------------------------------

TEST_CASE("controller election: fencing the leader elects the next ISR replica in replica order", "[controller][metadata]") {
  Cluster c;
  c.add_brokers({1, 2, 3});
  REQUIRE(c.create_topic("t", 1, 3).error == ErrorCode::none);
  const auto first = c.partition("t", 0);
  c.heartbeat(first.leader, true);
  const auto& p = c.partition("t", 0);
  CHECK(p.leader == first.replicas[1]);
  CHECK(p.isr == std::vector<BrokerId>{first.replicas[1], first.replicas[2]});
  CHECK(p.leader_epoch == 1);
  CHECK(p.partition_epoch == 1);

  // Fencing a follower shrinks the ISR but keeps the leader and its epoch.
  c.heartbeat(first.replicas[2], true);
  CHECK(p.leader == first.replicas[1]);
  CHECK(p.isr == std::vector<BrokerId>{first.replicas[1]});
  CHECK(p.leader_epoch == 1);
  CHECK(p.partition_epoch == 2);
}

TEST_CASE("controller election: the ISR is never emptied; its last member leads again when it returns",
          "[controller][metadata]") {
  Cluster c;
  c.add_brokers({1, 2});
  REQUIRE(c.create_topic("t", 1, 2).error == ErrorCode::none);
  const auto replicas = c.partition("t", 0).replicas;
  const BrokerId leader = replicas[0], follower = replicas[1];
  REQUIRE(c.alter_isr("t", 0, {leader}).error == ErrorCode::none);

  c.heartbeat(leader, true);
  const auto& p = c.partition("t", 0);
  CHECK(p.leader == no_leader);
  CHECK(p.isr == std::vector<BrokerId>{leader});
  CHECK(p.leader_epoch == 1);

  // The follower is alive but outside the ISR: without unclean election it may not lead.
  CHECK(c.heartbeat(follower).error == ErrorCode::none);
  CHECK(p.leader == no_leader);

  REQUIRE_FALSE(c.heartbeat(leader).is_fenced);
  CHECK(p.leader == leader);
  CHECK(p.leader_epoch == 2);
  CHECK(p.leader_recovery_state == LeaderRecoveryState::recovered);
}

TEST_CASE("controller election: unclean election picks a live replica outside the ISR and marks it recovering",
          "[controller][metadata]") {
  auto check_unclean = [](Cluster& c, std::map<std::string, std::string> configs) {
    c.add_brokers({1, 2, 3});
    REQUIRE(c.create_topic("t", 1, 3, configs).error == ErrorCode::none);
    const auto replicas = c.partition("t", 0).replicas;
    REQUIRE(c.alter_isr("t", 0, {replicas[0]}).error == ErrorCode::none);
    c.heartbeat(replicas[0], true);
    const auto& p = c.partition("t", 0);
    CHECK(p.leader == replicas[1]);
    CHECK(p.isr == std::vector<BrokerId>{replicas[1]});
    CHECK(p.leader_recovery_state == LeaderRecoveryState::recovering);

    // While recovering, the leader may not grow the ISR, then says it has recovered, then may.
    CHECK(c.alter_isr("t", 0, {replicas[1], replicas[2]}, LeaderRecoveryState::recovering).error == ErrorCode::invalid_request);
    auto done = c.alter_isr("t", 0, {replicas[1]});
    CHECK(done.error == ErrorCode::none);
    CHECK(done.leader_recovery_state == LeaderRecoveryState::recovered);
    CHECK(c.alter_isr("t", 0, {replicas[1], replicas[2]}).error == ErrorCode::none);
    CHECK(c.alter_isr("t", 0, {replicas[1]}, LeaderRecoveryState::recovering).error == ErrorCode::invalid_request);
  };
  SECTION("by topic config") {
    Cluster c;
    check_unclean(c, {{"unclean.leader.election.enable", "true"}});
  }
  SECTION("by broker default") {
    ControllerConfig config;
    config.unclean_leader_election_enable = true;
    Cluster c(config);
    check_unclean(c, {});
  }
  SECTION("not when the topic turns it off") {
    ControllerConfig config;
    config.unclean_leader_election_enable = true;
    Cluster c(config);
    c.add_brokers({1, 2});
    REQUIRE(c.create_topic("t", 1, 2, {{"unclean.leader.election.enable", "false"}}).error == ErrorCode::none);
    const auto replicas = c.partition("t", 0).replicas;
    REQUIRE(c.alter_isr("t", 0, {replicas[0]}).error == ErrorCode::none);
    c.heartbeat(replicas[0], true);
    CHECK(c.partition("t", 0).leader == no_leader);
  }
}

TEST_CASE("controller election: preferred election moves leadership back to the first replica", "[controller][metadata]") {
  Cluster c;
  c.add_brokers({1, 2, 3});
  REQUIRE(c.create_topic("t", 3, 3).error == ErrorCode::none);
  CHECK(c.controller.elect_preferred_leaders(c.image).empty());
  c.heartbeat(1, true);
  REQUIRE_FALSE(c.heartbeat(1).is_fenced);
  // Broker 1 is back but out of every ISR: not yet valid, so nothing moves.
  CHECK(c.controller.elect_preferred_leaders(c.image).empty());
  for (std::int32_t i = 0; i < 3; ++i) {
    const auto replicas = c.partition("t", i).replicas;
    REQUIRE(c.alter_isr("t", i, {c.partition("t", i).leader, 1}).error == ErrorCode::none);
    (void)replicas;
  }
  const auto records = c.controller.elect_preferred_leaders(c.image);
  CHECK(records.size() == 1);  // broker 1 is first replica of one of the three partitions
  c.commit(records);
  for (std::int32_t i = 0; i < 3; ++i) {
    const auto& p = c.partition("t", i);
    CHECK(p.leader == p.replicas.front());
    CHECK(p.leader_epoch == (p.replicas.front() == 1 ? 2 : 0));
  }
}

// --- registration and heartbeats -----------------------------------------------------------------

TEST_CASE("controller registration: the epoch is the record's offset; a retry keeps it; a rival is refused",
          "[controller][metadata]") {
  Cluster c;
  c.commit({NoOpRecord{}, NoOpRecord{}});
  auto first = c.register_broker(1);
  CHECK(first.error == ErrorCode::none);
  CHECK(first.broker_epoch == 2);
  CHECK(c.image.broker(1)->fenced);
  CHECK(c.image.broker(1)->epoch == 2);

  const auto offset = c.next_offset;
  auto retry = c.register_broker(1);
  CHECK(retry.error == ErrorCode::none);
  CHECK(retry.broker_epoch == 2);
  CHECK(c.next_offset == offset);

  auto rival = c.register_broker(1, 1);
  CHECK(rival.error == ErrorCode::duplicate_broker_registration);
  CHECK(c.image.broker(1)->incarnation == uuid_of(1, 0));

  // Once the old session lapses, a new incarnation replaces it with a new epoch, fenced.
  REQUIRE_FALSE(c.heartbeat(1).is_fenced);
  c.now_ms += 9'000;
  auto restarted = c.register_broker(1, 1);
  CHECK(restarted.error == ErrorCode::none);
  CHECK(restarted.broker_epoch == offset + 1);
  CHECK(c.image.broker(1)->fenced);
  CHECK(c.image.broker(1)->incarnation == uuid_of(1, 1));
}

TEST_CASE("controller registration: a restarted broker loses the leadership its old process held", "[controller][metadata]") {
  Cluster c;
  c.add_brokers({1, 2});
  REQUIRE(c.create_topic("t", 2, 2).error == ErrorCode::none);
  c.now_ms += 10'000;
  c.heartbeat(2);
  REQUIRE(c.register_broker(1, 1).error == ErrorCode::none);
  for (std::int32_t i = 0; i < 2; ++i) {
    CHECK(c.partition("t", i).leader == 2);
    CHECK(c.partition("t", i).isr == std::vector<BrokerId>{2});
  }
}

TEST_CASE("controller registration: unregistering moves leadership and keeps a sole ISR member", "[controller][metadata]") {
  Cluster c;
  c.add_brokers({1, 2});
  REQUIRE(c.create_topic("t", 2, 2).error == ErrorCode::none);
  REQUIRE(c.create_topic("solo", 1, 1).error == ErrorCode::none);
  const BrokerId solo = c.partition("solo", 0).leader;
  auto d = c.controller.unregister_broker(c.image, solo);
  CHECK(d.reply == ErrorCode::none);
  c.commit(d.records);
  CHECK(c.image.broker(solo) == nullptr);
  CHECK(c.partition("solo", 0).leader == no_leader);
  CHECK(c.partition("solo", 0).isr == std::vector<BrokerId>{solo});
  for (std::int32_t i = 0; i < 2; ++i) CHECK(c.partition("t", i).isr == std::vector<BrokerId>{solo == 1 ? BrokerId{2} : BrokerId{1}});
  CHECK(c.controller.unregister_broker(c.image, solo).reply == ErrorCode::broker_id_not_registered);

  // It comes back as a new process and leads its partition again once unfenced.
  REQUIRE(c.register_broker(solo, 1).error == ErrorCode::none);
  REQUIRE_FALSE(c.heartbeat(solo).is_fenced);
  CHECK(c.partition("solo", 0).leader == solo);
}

TEST_CASE("controller heartbeat: fenced until caught up, fenced on request, stale epochs refused", "[controller][metadata]") {
  Cluster c;
  auto reg = c.register_broker(1);
  const std::int64_t epoch = reg.broker_epoch;
  auto behind = c.controller.heartbeat(c.image, {1, epoch, epoch - 1, false, false}, c.now_ms);
  CHECK(behind.records.empty());
  CHECK_FALSE(behind.reply.is_caught_up);
  CHECK(behind.reply.is_fenced);

  auto wants_fence = c.controller.heartbeat(c.image, {1, epoch, epoch, true, false}, c.now_ms);
  CHECK(wants_fence.reply.is_caught_up);
  CHECK(wants_fence.reply.is_fenced);
  CHECK(wants_fence.records.empty());

  auto ready = c.heartbeat(1);
  CHECK(ready.is_caught_up);
  CHECK_FALSE(ready.is_fenced);
  CHECK_FALSE(c.image.broker(1)->fenced);

  auto stale = c.controller.heartbeat(c.image, {1, epoch + 1, epoch, false, false}, c.now_ms);
  CHECK(stale.reply.error == ErrorCode::stale_broker_epoch);
  CHECK(c.controller.heartbeat(c.image, {9, 0, 0, false, false}, c.now_ms).reply.error == ErrorCode::stale_broker_epoch);

  auto fence = c.heartbeat(1, true);
  CHECK(fence.is_fenced);
  CHECK(c.image.broker(1)->fenced);
}

TEST_CASE("controller heartbeat: controlled shutdown moves leadership away, then says shut down once others saw it", "[controller][metadata]") {
  Cluster c;
  c.add_brokers({1, 2, 3});
  REQUIRE(c.create_topic("t", 6, 2).error == ErrorCode::none);
  REQUIRE(c.image.leads_any(1));

  auto first = c.heartbeat(1, false, true);
  CHECK_FALSE(first.should_shut_down);
  CHECK_FALSE(first.is_fenced);
  CHECK(c.image.broker(1)->in_controlled_shutdown);
  CHECK_FALSE(c.image.leads_any(1));
  for (std::int32_t i = 0; i < 6; ++i) {
    const auto& p = c.partition("t", i);
    CHECK(p.leader != 1);
    CHECK_FALSE(p.in_isr(1));
    CHECK(p.leader != no_leader);
  }
  // In controlled shutdown it cannot join an ISR.
  const auto& p0 = c.partition("t", 0);
  if (p0.is_replica(1)) CHECK(c.alter_isr("t", 0, {p0.leader, 1}).error == ErrorCode::ineligible_replica);

  // It stops only once every active broker has seen the leadership move.
  auto waiting = c.heartbeat(1, false, true);
  CHECK_FALSE(waiting.should_shut_down);
  c.heartbeat(2);
  CHECK_FALSE(c.heartbeat(1, false, true).should_shut_down);
  c.heartbeat(3);
  auto second = c.heartbeat(1, false, true);
  CHECK(second.should_shut_down);
  CHECK(second.is_fenced);
  CHECK(c.image.broker(1)->fenced);
}

TEST_CASE("controller heartbeat: a controller that took over finishes a controlled shutdown it did not start",
          "[controller][metadata]") {
  Cluster c;
  c.add_brokers({1, 2});
  REQUIRE(c.create_topic("t", 2, 2).error == ErrorCode::none);
  REQUIRE_FALSE(c.heartbeat(1, false, true).should_shut_down);
  REQUIRE(c.image.broker(1)->in_controlled_shutdown);
  c.controller = Controller{};  // fresh sessions, no memory of the shutdown offset
  CHECK_FALSE(c.heartbeat(1, false, true).should_shut_down);
  c.heartbeat(2);
  CHECK(c.heartbeat(1, false, true).should_shut_down);
  CHECK(c.image.broker(1)->fenced);
}

TEST_CASE("controller heartbeat: a broker leading nothing that asks to stop is told to stop at once", "[controller][metadata]") {
  Cluster c;
  c.add_brokers({1});
  auto reply = c.heartbeat(1, false, true);
  CHECK(reply.should_shut_down);
  CHECK(c.image.broker(1)->fenced);
  // A fenced broker that still wants to stop keeps hearing so.
  CHECK(c.heartbeat(1, false, true).should_shut_down);
}

TEST_CASE("controller heartbeat: silent brokers are fenced one at a time, longest silent first", "[controller][metadata]") {
  Cluster c;
  c.add_brokers({1, 2, 3});
  REQUIRE(c.create_topic("t", 3, 3).error == ErrorCode::none);
  c.now_ms += 1'000;
  c.heartbeat(2);
  c.now_ms += 1'000;
  c.heartbeat(1);
  c.now_ms += 5'000;
  c.heartbeat(3);
  CHECK(c.controller.fence_stale_brokers(c.image, c.now_ms).empty());

  c.now_ms += 3'500;  // 2 silent 9.5 s, 1 silent 8.5 s
  auto records = c.controller.fence_stale_brokers(c.image, c.now_ms);
  c.commit(records);
  CHECK(c.image.broker(2)->fenced);
  CHECK_FALSE(c.image.broker(1)->fenced);
  CHECK(c.controller.fence_stale_brokers(c.image, c.now_ms).empty());

  c.now_ms += 10'000;  // now 1 and 3 are both stale: one per call
  c.commit(c.controller.fence_stale_brokers(c.image, c.now_ms));
  CHECK(c.image.broker(1)->fenced);
  CHECK_FALSE(c.image.broker(3)->fenced);
  c.commit(c.controller.fence_stale_brokers(c.image, c.now_ms));
  CHECK(c.image.broker(3)->fenced);
  for (std::int32_t i = 0; i < 3; ++i) {
    CHECK(c.partition("t", i).leader == no_leader);
    CHECK(c.partition("t", i).isr.size() == 1);
  }
}

// --- AlterPartition ------------------------------------------------------------------------------

TEST_CASE("controller alter partition: errors come in Kafka's validation order", "[controller][metadata]") {
  Cluster c;
  c.add_brokers({1, 2, 3});
  REQUIRE(c.create_topic("t", 1, 3).error == ErrorCode::none);
  const auto replicas = c.partition("t", 0).replicas;
  const BrokerId leader = replicas[0];
  auto req = c.request("t", 0, {replicas[0], replicas[1]});
  auto error_of = [&](const AlterPartitionRequest& r) {
    auto d = c.controller.alter_partition(c.image, r);
    if (d.reply.error != ErrorCode::none) CHECK(d.records.empty());
    return d.reply.error;
  };

  SECTION("stale broker epoch") {
    req.broker_epoch += 1;
    req.leader_epoch = 99;  // also wrong, but the epoch check comes first
    CHECK(error_of(req) == ErrorCode::stale_broker_epoch);
  }
  SECTION("unknown topic id") {
    req.topic_id = uuid_of(200);
    CHECK(error_of(req) == ErrorCode::unknown_topic_id);
  }
  SECTION("unknown partition") {
    req.partition = 5;
    CHECK(error_of(req) == ErrorCode::unknown_topic_or_partition);
  }
  SECTION("request ahead of the controller") {
    req.leader_epoch += 1;
    CHECK(error_of(req) == ErrorCode::not_controller);
    req.leader_epoch -= 1;
    req.partition_epoch += 1;
    CHECK(error_of(req) == ErrorCode::not_controller);
  }
  SECTION("old leader epoch") {
    c.commit({PartitionChangeRecord{0, req.topic_id, std::nullopt, std::nullopt, leader, -1, std::nullopt, std::nullopt}});
    req.partition_epoch = c.partition("t", 0).partition_epoch;
    CHECK(error_of(req) == ErrorCode::fenced_leader_epoch);
  }
  SECTION("sender is not the leader") {
    req.broker_id = replicas[1];
    req.broker_epoch = c.image.broker(replicas[1])->epoch;
    CHECK(error_of(req) == ErrorCode::invalid_request);
  }
  SECTION("old partition epoch") {
    c.commit({PartitionChangeRecord{0, req.topic_id, std::vector<BrokerId>{replicas[0], replicas[2]}, std::nullopt,
                                    leader_unchanged, -1, std::nullopt, std::nullopt}});
    CHECK(error_of(req) == ErrorCode::invalid_update_version);
  }
  SECTION("ISR outside the replicas, without the leader, or repeated") {
    c.add_brokers({4});
    CHECK(error_of(c.request("t", 0, {leader, 4})) == ErrorCode::invalid_request);
    CHECK(error_of(c.request("t", 0, {replicas[1], replicas[2]})) == ErrorCode::invalid_request);
    CHECK(error_of(c.request("t", 0, {leader, leader})) == ErrorCode::invalid_request);
    CHECK(error_of(c.request("t", 0, {leader}, LeaderRecoveryState::recovering)) == ErrorCode::invalid_request);
  }
  SECTION("ineligible members: fenced, stale epoch, shutting down") {
    c.heartbeat(replicas[1], true);
    CHECK(error_of(c.request("t", 0, {leader, replicas[1]})) == ErrorCode::ineligible_replica);
    auto stale = c.request("t", 0, {leader, replicas[2]});
    stale.new_isr[1].broker_epoch += 100;
    CHECK(error_of(stale) == ErrorCode::ineligible_replica);
    stale.new_isr[1].broker_epoch = -1;  // -1 skips the epoch check
    CHECK(error_of(stale) == ErrorCode::none);
    c.heartbeat(replicas[2], false, true);
    CHECK(error_of(c.request("t", 0, {leader, replicas[2]})) == ErrorCode::ineligible_replica);
  }
}

TEST_CASE("controller alter partition: a valid change commits the new ISR and a new partition epoch", "[controller][metadata]") {
  Cluster c;
  c.add_brokers({1, 2, 3});
  REQUIRE(c.create_topic("t", 1, 3).error == ErrorCode::none);
  const auto replicas = c.partition("t", 0).replicas;
  auto d = c.controller.alter_partition(c.image, c.request("t", 0, {replicas[0], replicas[2]}));
  REQUIRE(d.reply.error == ErrorCode::none);
  REQUIRE(d.records.size() == 1);
  CHECK(d.reply.leader == replicas[0]);
  CHECK(d.reply.leader_epoch == 0);
  CHECK(d.reply.partition_epoch == 1);
  CHECK(d.reply.isr == std::vector<BrokerId>{replicas[0], replicas[2]});
  c.commit(d.records);
  CHECK(c.partition("t", 0).isr == d.reply.isr);
  CHECK(c.partition("t", 0).partition_epoch == 1);

  // The same ISR again changes nothing and answers with the current state.
  auto same = c.controller.alter_partition(c.image, c.request("t", 0, {replicas[0], replicas[2]}));
  CHECK(same.reply.error == ErrorCode::none);
  CHECK(same.records.empty());
  CHECK(same.reply.partition_epoch == 1);
}

// --- property ------------------------------------------------------------------------------------

namespace {

// What the checker remembers between images: the highest epochs seen per partition, and which
// leader held each (partition, leader epoch).
struct Watermarks {
  std::map<std::pair<Uuid, std::int32_t>, std::pair<BrokerId, std::int32_t>> epochs;  // leader, partition
  std::map<std::tuple<Uuid, std::int32_t, std::int32_t>, BrokerId> leader_at_epoch;
};

// The first broken invariant of one partition, or "".
std::string partition_violation(const MetadataImage& image, const Uuid& id, std::int32_t index, const PartitionRegistration& p,
                                Watermarks& w) {
  if (p.isr.empty()) return "empty ISR";
  for (auto b : p.isr)
    if (!p.is_replica(b)) return fmt::format("ISR member {} is not a replica", b);
  if (p.leader != no_leader && !p.in_isr(p.leader)) return fmt::format("leader {} is not in the ISR", p.leader);
  if (p.leader != no_leader && !image.is_active(p.leader)) return fmt::format("leader {} is not an active broker", p.leader);
  if (p.leader_recovery_state == LeaderRecoveryState::recovering && p.isr.size() != 1) return "recovering with an ISR of many";
  auto& [le, pe] = w.epochs.try_emplace({id, index}, p.leader_epoch, p.partition_epoch).first->second;
  if (p.leader_epoch < le) return fmt::format("leader epoch went back from {} to {}", le, p.leader_epoch);
  if (p.partition_epoch < pe) return fmt::format("partition epoch went back from {} to {}", pe, p.partition_epoch);
  le = p.leader_epoch;
  pe = p.partition_epoch;
  const auto it = w.leader_at_epoch.try_emplace({id, index, p.leader_epoch}, p.leader).first;
  if (it->second != p.leader) return fmt::format("leaders {} and {} in leader epoch {}", it->second, p.leader, p.leader_epoch);
  return "";
}

// The first broken invariant of the image, naming the partition, or "".
std::string invariant_violation(const MetadataImage& image, Watermarks& w) {
  for (const auto& [id, topic] : image.topics()) {
    for (const auto& [index, p] : topic.partitions) {
      if (auto v = partition_violation(image, id, index, p, w); !v.empty())
        return fmt::format("{}-{} (leader {}, isr [{}], replicas [{}]): {}", topic.name, index, p.leader, fmt::join(p.isr, ","),
                           fmt::join(p.replicas, ","), v);
    }
  }
  return "";
}

// Kinds of change a run of random steps produced, so the property test can insist it explored them.
void count_changes(const std::vector<MetadataRecord>& records, std::map<std::string, int>& seen) {
  for (const auto& r : records) {
    if (const auto* pc = std::get_if<PartitionChangeRecord>(&r)) {
      if (pc->leader >= 0) ++seen["leader elected"];
      if (pc->leader == no_leader) ++seen["leader lost"];
      if (pc->leader_recovery_state == 1) ++seen["unclean election"];
      if (pc->isr && pc->leader == leader_unchanged) ++seen["isr change"];
      if (pc->adding_replicas && !pc->adding_replicas->empty()) ++seen["reassignment started"];
      if (pc->replicas && pc->removing_replicas && pc->removing_replicas->empty()) ++seen["reassignment ended"];
    } else if (const auto* bc = std::get_if<BrokerRegistrationChangeRecord>(&r)) {
      if (bc->in_controlled_shutdown == 1) ++seen["controlled shutdown"];
      if (bc->fenced == FenceChange::fence) ++seen["fence"];
      if (bc->fenced == FenceChange::unfence) ++seen["unfence"];
    } else {
      ++seen[std::string(record_type_name(r))];
    }
  }
}

// One random step: a heartbeat (maybe wanting fence or shutdown), a restart, time passing with
// session expiry, a topic created or deleted, an ISR change from a leader, a preferred election, or a
// partition reassigned (or its reassignment cancelled).
void random_step(Cluster& c, Random& r, const std::vector<BrokerId>& brokers, std::map<BrokerId, std::uint8_t>& generation) {
  const auto b = brokers[r.below(brokers.size())];
  switch (r.below(10)) {
    case 0:
    case 1:
      if (c.image.broker(b)) c.heartbeat(b, r.chance(0.2), r.chance(0.1));
      break;
    case 2:
      if (r.chance(0.2)) {
        c.commit(c.controller.unregister_broker(c.image, b).records);
      } else {
        c.register_broker(b, ++generation[b]);
      }
      break;
    case 3:
      c.now_ms += static_cast<std::int64_t>(r.below(6'000));
      c.commit(c.controller.fence_stale_brokers(c.image, c.now_ms));
      break;
    case 4: {
      std::map<std::string, std::string> configs;
      if (r.chance(0.5)) configs["unclean.leader.election.enable"] = "true";
      c.create_topic(fmt::format("t{}", r.below(6)), static_cast<std::int32_t>(1 + r.below(4)),
                     static_cast<std::int16_t>(1 + r.below(3)), configs);
      break;
    }
    case 5:
      if (r.chance(0.3)) c.commit(c.controller.delete_topic(c.image, fmt::format("t{}", r.below(6))).records);
      break;
    case 6:
    case 7: {
      if (c.image.topics().empty()) break;
      auto it = c.image.topics().begin();
      std::advance(it, static_cast<long>(r.below(c.image.topics().size())));
      const auto name = it->second.name;
      const auto index = static_cast<std::int32_t>(r.below(it->second.partitions.size()));
      const auto& p = c.partition(name, index);
      if (p.leader == no_leader) break;
      std::vector<BrokerId> isr{p.leader};
      for (auto rep : p.replicas)
        if (rep != p.leader && r.chance(0.6)) isr.push_back(rep);
      const auto state = p.leader_recovery_state == LeaderRecoveryState::recovering && r.chance(0.5) ? LeaderRecoveryState::recovering
                                                                                                     : LeaderRecoveryState::recovered;
      auto req = c.request(name, index, isr, state);
      if (r.chance(0.1)) req.leader_epoch -= 1;
      if (r.chance(0.1)) req.partition_epoch -= 1;
      c.commit(c.controller.alter_partition(c.image, req).records);
      break;
    }
    case 8: c.commit(c.controller.elect_preferred_leaders(c.image)); break;
    case 9: {
      // Move a partition to random brokers (some maybe unregistered), or cancel its move.
      if (c.image.topics().empty()) break;
      auto it = c.image.topics().begin();
      std::advance(it, static_cast<long>(r.below(c.image.topics().size())));
      const auto index = static_cast<std::int32_t>(r.below(it->second.partitions.size()));
      std::optional<std::vector<BrokerId>> target;
      if (r.chance(0.8)) {
        target.emplace();
        for (auto rep : brokers)
          if (r.chance(0.5)) target->push_back(rep);
        if (target->empty()) target->push_back(brokers[r.below(brokers.size())]);
      }
      c.commit(c.controller.alter_reassignments(c.image, {{{it->second.name, index, target}}, true}).records);
      break;
    }
  }
}

}  // namespace

TEST_CASE("controller property: random operation sequences keep the partition invariants", "[controller][metadata]") {
  std::map<std::string, int> seen;
  for (std::uint64_t seed = 1; seed <= 300; ++seed) {
    INFO("seed " << seed << " (the sequence derives from the seed alone; rerun this test case)");
    Cluster c({}, seed);
    c.on_commit = [&](const std::vector<MetadataRecord>& records) { count_changes(records, seen); };
    Random r = Random::derive(seed, 0, "controller-property");
    const std::vector<BrokerId> brokers{1, 2, 3, 4, 5};
    std::map<BrokerId, std::uint8_t> generation;
    for (auto b : brokers) c.register_broker(b);
    Watermarks w;
    for (int step = 0; step < 120; ++step) {
      random_step(c, r, brokers, generation);
      const auto violation = invariant_violation(c.image, w);
      INFO("step " << step);
      REQUIRE(violation == "");
    }
    // A snapshot of wherever it ended rebuilds the same image.
    MetadataImage rebuilt;
    std::int64_t offset = 0;
    for (const auto& rec : c.image.to_records()) REQUIRE(rebuilt.replay(*decode(encode(rec)), offset++).ok());
    REQUIRE(rebuilt == c.image);
  }
  // The sequences must have reached the interesting transitions, or the invariants prove little.
  for (const char* kind : {"leader elected", "leader lost", "unclean election", "isr change", "controlled shutdown", "fence",
                           "unfence", "TopicRecord", "RemoveTopicRecord", "RegisterBrokerRecord", "UnregisterBrokerRecord",
                           "reassignment started", "reassignment ended"}) {
    INFO(kind);
    CHECK(seen[kind] >= 50);
  }
}

TEST_CASE("controller property: the invariant checker fails on crafted bad histories", "[controller][metadata]") {
  Cluster c;
  c.add_brokers({1, 2, 3});
  REQUIRE(c.create_topic("t", 1, 3).error == ErrorCode::none);
  const Uuid id = c.image.topic("t")->id;
  const auto leader = c.partition("t", 0).leader;
  Watermarks w;
  REQUIRE(invariant_violation(c.image, w) == "");

  SECTION("epochs going back (a topic id reused after deletion)") {
    c.commit({PartitionChangeRecord{0, id, std::nullopt, std::nullopt, leader, -1, std::nullopt, std::nullopt}});
    REQUIRE(invariant_violation(c.image, w) == "");
    c.commit({RemoveTopicRecord{id}, TopicRecord{"t", id}});
    c.commit({PartitionRecord{0, id, {1, 2, 3}, {1, 2, 3}, leader, LeaderRecoveryState::recovered, 0, 0, {}, {}}});
    CHECK(invariant_violation(c.image, w).find("leader epoch went back from 1 to 0") != std::string::npos);
  }
  SECTION("two leaders in one leader epoch") {
    Cluster other;
    other.add_brokers({1, 2, 3});
    other.commit({TopicRecord{"t", id}});
    const BrokerId rival = leader == 1 ? 2 : 1;
    other.commit({PartitionRecord{0, id, {1, 2, 3}, {1, 2, 3}, rival, LeaderRecoveryState::recovered, 0, 0, {}, {}}});
    CHECK(invariant_violation(other.image, w).find("in leader epoch 0") != std::string::npos);
  }
  SECTION("a fenced leader") {
    c.commit({BrokerRegistrationChangeRecord{leader, c.image.broker(leader)->epoch, FenceChange::fence, 0}});
    CHECK(invariant_violation(c.image, w).find("not an active broker") != std::string::npos);
  }
}
