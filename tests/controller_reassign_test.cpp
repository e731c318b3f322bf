// Partition reassignment in the controller: the records a move, a reorder and a cancel write; the
// move completing once every target replica is in the ISR, with the leaving leader replaced and the
// epoch bumped; the refusals and their messages; version-0 records (from before reassignment)
// still read; and random reassignments mixed into random cluster operations keeping the invariants.
#include "broker/metadata/control.h"
#include "broker/metadata/image.h"
#include "broker/metadata/records.h"
#include "tests/support/controller_cluster.h"

#include <catch2/catch.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <map>

using namespace keel;
using namespace keel::metadata;
using Ids = std::vector<BrokerId>;

namespace {

// The controller test cluster (seeded as before) with the moves this file makes: a topic placed on
// given replicas, and one reassignment at a time.
struct Cluster : test::ControllerCluster {
  explicit Cluster(ControllerConfig config = {}) : ControllerCluster(config, 11) {}

  // A topic whose partitions sit on `replicas` (placed, then reordered into place at once, which a
  // reassignment between the same brokers does).
  void create_topic(const std::string& name, const Ids& replicas, std::map<std::string, std::string> configs = {}) {
    auto d = controller.create_topic(image, {name, 1, static_cast<std::int16_t>(replicas.size()), std::move(configs), {}}, random);
    REQUIRE(d.reply.error == ErrorCode::none);
    commit(d.records);
    const auto sorted = [](Ids v) { std::sort(v.begin(), v.end()); return v; };
    if (sorted(partition(name).replicas) != sorted(replicas)) {
      // Placement chose other brokers: move there and let the new ones join the ISR.
      REQUIRE(reassign(name, replicas).error == ErrorCode::none);
      alter_isr(name, partition(name).replicas);
    }
    REQUIRE(reassign(name, replicas).error == ErrorCode::none);
    commit(controller.elect_preferred_leaders(image));
    REQUIRE(partition(name).replicas == replicas);
    REQUIRE(partition(name).leader == replicas.front());
    REQUIRE_FALSE(partition(name).reassigning());
  }

  ReassignmentResult reassign(const std::string& topic, std::optional<Ids> replicas, std::int32_t index = 0) {
    auto d = controller.alter_reassignments(image, {{{topic, index, std::move(replicas)}}, true});
    REQUIRE(d.reply.results.size() == 1);
    commit(d.records);
    return d.reply.results[0];
  }

  // The leader of partition 0 asks for `isr` (a subset of the replicas, with the leader in it).
  AlterPartitionReply alter_isr(const std::string& topic, const Ids& isr) {
    return ControllerCluster::alter_isr(topic, 0, isr);
  }
};

}  // namespace

TEST_CASE("reassignment: a move adds the new replica, and completes when it joins the ISR", "[controller][reassign]") {
  Cluster c;
  c.add_brokers({1, 2, 3, 4});
  c.create_topic("t", {2, 1, 3});
  REQUIRE(c.partition("t").leader == 2);
  const auto before = c.partition("t");

  // [2,1,3] -> [2,3,4]: 4 joins, 1 leaves. Nothing else moves yet.
  REQUIRE(c.reassign("t", Ids{2, 3, 4}).error == ErrorCode::none);
  const auto& moving = c.partition("t");
  CHECK(moving.replicas == Ids{2, 3, 4, 1});
  CHECK(moving.adding_replicas == Ids{4});
  CHECK(moving.removing_replicas == Ids{1});
  CHECK(moving.isr == before.isr);
  CHECK(moving.leader == 2);
  CHECK(moving.leader_epoch == before.leader_epoch);  // nobody dropped yet
  CHECK(moving.partition_epoch == before.partition_epoch + 1);

  auto listed = c.controller.list_reassignments(c.image, {});
  REQUIRE(listed.ongoing.size() == 1);
  CHECK(listed.ongoing[0] == OngoingReassignment{"t", 0, {2, 3, 4, 1}, {4}, {1}});

  // 4 caught up: the leader's ISR expansion completes the move in the same record. The leader
  // stays, and the epoch moves so broker 1's fetches are fenced.
  const auto reply = c.alter_isr("t", {2, 1, 3, 4});
  CHECK(reply.error == ErrorCode::none);
  const auto& done = c.partition("t");
  CHECK(done.replicas == Ids{2, 3, 4});
  CHECK(done.isr == Ids{2, 3, 4});
  CHECK_FALSE(done.reassigning());
  CHECK(done.leader == 2);
  CHECK(done.leader_epoch == before.leader_epoch + 1);
  CHECK(reply.leader_epoch == done.leader_epoch);
  CHECK(reply.isr == done.isr);
  CHECK(c.controller.list_reassignments(c.image, {}).ongoing.empty());
}

TEST_CASE("reassignment: a leaving leader hands over to the first target replica in the ISR", "[controller][reassign]") {
  Cluster c;
  c.add_brokers({1, 2, 3, 4});
  c.create_topic("t", {1, 2, 3});
  REQUIRE(c.partition("t").leader == 1);
  const auto epoch = c.partition("t").leader_epoch;

  // [1,2,3] -> [4,3,2]: the leader 1 leads until the move completes, then 4's turn would come
  // first but the ISR decides only among those in it, in target order.
  REQUIRE(c.reassign("t", Ids{4, 3, 2}).error == ErrorCode::none);
  CHECK(c.partition("t").leader == 1);
  CHECK(c.partition("t").replicas == Ids{4, 3, 2, 1});
  const auto reply = c.alter_isr("t", {1, 2, 3, 4});
  CHECK(reply.error == ErrorCode::new_leader_elected);
  CHECK(reply.leader == 4);
  const auto& done = c.partition("t");
  CHECK(done.replicas == Ids{4, 3, 2});
  CHECK(done.isr == Ids{2, 3, 4});
  CHECK(done.leader == 4);
  CHECK(done.leader_epoch == epoch + 1);
}

TEST_CASE("reassignment: removing replicas only, or reordering, completes at once", "[controller][reassign]") {
  Cluster c;
  c.add_brokers({1, 2, 3});
  c.create_topic("t", {1, 2, 3});
  const auto epoch = c.partition("t").leader_epoch;

  REQUIRE(c.reassign("t", Ids{3, 2, 1}).error == ErrorCode::none);
  CHECK(c.partition("t").replicas == Ids{3, 2, 1});
  CHECK_FALSE(c.partition("t").reassigning());
  CHECK(c.partition("t").leader == 1);                // a reorder moves no leadership by itself
  CHECK(c.partition("t").leader_epoch == epoch);      // and drops no one
  // The same target again writes nothing.
  CHECK(c.controller.alter_reassignments(c.image, {{{"t", 0, Ids{3, 2, 1}}}, true}).records.empty());

  REQUIRE(c.reassign("t", Ids{3, 2}).error == ErrorCode::none);
  const auto& p = c.partition("t");
  CHECK(p.replicas == Ids{3, 2});
  CHECK(p.isr == Ids{2, 3});  // the ISR keeps its own order
  CHECK_FALSE(p.reassigning());
  CHECK(p.leader == 3);  // the leader left: the first target replica in the ISR
  CHECK(p.leader_epoch == epoch + 1);
}

TEST_CASE("reassignment: a move waits while a target replica is out of the ISR, whatever else changes",
          "[controller][reassign]") {
  Cluster c;
  c.add_brokers({1, 2, 3, 4});
  c.create_topic("t", {1, 2, 3});
  REQUIRE(c.reassign("t", Ids{1, 2, 4}).error == ErrorCode::none);

  // 3 (leaving) is fenced: it leaves the ISR, but 4 is not in yet.
  c.heartbeat(3, true);
  CHECK(c.partition("t").isr == Ids{1, 2});
  CHECK(c.partition("t").reassigning());
  // The leader 1 is fenced: 2 leads, still reassigning.
  c.heartbeat(1, true);
  CHECK(c.partition("t").leader == 2);
  CHECK(c.partition("t").reassigning());
  // 1 comes back and rejoins; then 4 joins: done, and 3 is gone.
  c.heartbeat(1);
  REQUIRE(c.alter_isr("t", {2, 1}).error == ErrorCode::none);
  CHECK(c.partition("t").reassigning());
  REQUIRE(c.alter_isr("t", {1, 2, 4}).error == ErrorCode::none);
  CHECK(c.partition("t").replicas == Ids{1, 2, 4});
  CHECK_FALSE(c.partition("t").reassigning());
}

TEST_CASE("reassignment: a new target replaces the one in progress; cancel goes back to where it began",
          "[controller][reassign]") {
  Cluster c;
  c.add_brokers({1, 2, 3, 4, 5});
  c.create_topic("t", {1, 2, 3});
  REQUIRE(c.reassign("t", Ids{1, 2, 4}).error == ErrorCode::none);
  // 4 is no longer wanted; 5 is: 4 is now among the leaving.
  REQUIRE(c.reassign("t", Ids{1, 2, 5}).error == ErrorCode::none);
  CHECK(c.partition("t").replicas == Ids{1, 2, 5, 3, 4});
  CHECK(c.partition("t").adding_replicas == Ids{5});
  CHECK(c.partition("t").removing_replicas == Ids{3, 4});

  // Cancel: the replicas being added go, the ones being removed stay (4 was added before and is
  // no longer marked adding, so it stays too, as in Kafka).
  const auto epoch = c.partition("t").leader_epoch;
  REQUIRE(c.reassign("t", std::nullopt).error == ErrorCode::none);
  CHECK(c.partition("t").replicas == Ids{1, 2, 3, 4});
  CHECK_FALSE(c.partition("t").reassigning());
  CHECK(c.partition("t").leader_epoch == epoch + 1);  // 5 dropped

  const auto again = c.reassign("t", std::nullopt);
  CHECK(again.error == ErrorCode::no_reassignment_in_progress);
  CHECK(again.message == "t-0: no reassignment is in progress");
}

TEST_CASE("reassignment: cancelling when only joining replicas are in the ISR needs unclean election",
          "[controller][reassign]") {
  for (const bool unclean : {false, true}) {
    INFO("unclean.leader.election.enable=" << unclean);
    Cluster c;
    c.add_brokers({1, 2, 3});
    std::map<std::string, std::string> configs;
    if (unclean) configs["unclean.leader.election.enable"] = "true";
    c.create_topic("t", {1}, configs);
    REQUIRE(c.reassign("t", Ids{1, 2, 3}).error == ErrorCode::none);
    REQUIRE(c.alter_isr("t", {1, 2}).error == ErrorCode::none);
    // 1 dies: 2 (still joining) leads with an ISR of joining replicas only.
    c.heartbeat(1, true);
    REQUIRE(c.partition("t").leader == 2);
    REQUIRE(c.partition("t").isr == Ids{2});
    c.heartbeat(1);
    const auto cancelled = c.reassign("t", std::nullopt);
    if (!unclean) {
      CHECK(cancelled.error == ErrorCode::invalid_replica_assignment);
      CHECK(cancelled.message.find("unclean leader election") != std::string::npos);
      CHECK(c.partition("t").reassigning());
    } else {
      CHECK(cancelled.error == ErrorCode::none);
      CHECK(c.partition("t").replicas == Ids{1});
      CHECK(c.partition("t").isr == Ids{1});
      CHECK(c.partition("t").leader == 1);  // as Kafka: 1 is in the ISR the cancel writes
    }
  }
}

TEST_CASE("reassignment: bad targets are refused one by one, naming the partition and the fault", "[controller][reassign]") {
  Cluster c;
  c.add_brokers({1, 2, 3});
  c.create_topic("t", {1, 2, 3});
  AlterReassignmentsRequest request;
  request.partitions = {{"t", 0, Ids{}},          {"t", 0, Ids{1, 1, 2}}, {"t", 0, Ids{1, 2, 9}}, {"nope", 0, Ids{1}},
                        {"t", 7, Ids{1}},        {"t", 0, Ids{3, 2, 1}}};
  auto d = c.controller.alter_reassignments(c.image, request);
  REQUIRE(d.reply.results.size() == 6);
  const auto& r = d.reply.results;
  CHECK(r[0].error == ErrorCode::invalid_replica_assignment);
  CHECK(r[0].message == "t-0: the replica list is empty");
  CHECK(r[1].error == ErrorCode::invalid_replica_assignment);
  CHECK(r[1].message == "t-0: broker 1 is named more than once");
  CHECK(r[2].error == ErrorCode::invalid_replica_assignment);
  CHECK(r[2].message == "t-0: broker 9 is not registered");
  CHECK(r[3].error == ErrorCode::unknown_topic_or_partition);
  CHECK(r[3].message == "nope-0: no such topic");
  CHECK(r[4].error == ErrorCode::unknown_topic_or_partition);
  CHECK(r[4].message == "t-7: no such partition");
  // The first good target for t-0 comes after three refused ones, so it is the first to count.
  CHECK(r[5].error == ErrorCode::none);
  CHECK(d.records.size() == 1);

  // Twice in one request: the second is refused (both would be computed on the same image).
  auto twice = c.controller.alter_reassignments(c.image, {{{"t", 0, Ids{1, 2}}, {"t", 0, Ids{2, 3}}}, true});
  CHECK(twice.reply.results[0].error == ErrorCode::none);
  CHECK(twice.reply.results[1].error == ErrorCode::invalid_request);
  CHECK(twice.records.size() == 1);

  // AllowReplicationFactorChange=false (v1): the size must stay.
  auto rf = c.controller.alter_reassignments(c.image, {{{"t", 0, Ids{1, 2}}}, false});
  CHECK(rf.reply.results[0].error == ErrorCode::invalid_replication_factor);
  CHECK(rf.reply.results[0].message == "t-0: the replication factor would change from 3 to 2");
  CHECK(rf.records.empty());
}

TEST_CASE("reassignment: listing names only reassigning partitions, by topic and partition", "[controller][reassign]") {
  Cluster c;
  c.add_brokers({1, 2, 3, 4});
  c.create_topic("b", {1, 2});
  c.create_topic("a", {1, 2});
  c.create_topic("quiet", {1, 2});
  REQUIRE(c.reassign("b", Ids{3, 4}).error == ErrorCode::none);
  REQUIRE(c.reassign("a", Ids{1, 3}).error == ErrorCode::none);
  auto all = c.controller.list_reassignments(c.image, {});
  REQUIRE(all.ongoing.size() == 2);
  CHECK(all.ongoing[0].topic == "a");
  CHECK(all.ongoing[1].topic == "b");
  CHECK(all.ongoing[1].adding == Ids{3, 4});
  CHECK(all.ongoing[1].removing == Ids{1, 2});

  ListReassignmentsRequest some;
  some.topics = std::vector<ListReassignmentsRequest::Topic>{{"b", {0, 5}}, {"quiet", {0}}, {"missing", {0}}};
  auto listed = c.controller.list_reassignments(c.image, some);
  REQUIRE(listed.ongoing.size() == 1);
  CHECK(listed.ongoing[0].topic == "b");
}

TEST_CASE("reassignment records: version 0 records (from before reassignment) still read", "[controller][reassign]") {
  const PartitionRecord record{1, Uuid{}, {1, 2}, {1, 2}, 1, LeaderRecoveryState::recovered, 3, 4, {}, {}};
  auto bytes = encode(record);
  // Version 0 is version 1 without the two trailing (empty) lists.
  bytes.resize(bytes.size() - 8);
  bytes[1] = 0;
  auto decoded = decode(bytes);
  REQUIRE(decoded.ok());
  CHECK(std::get<PartitionRecord>(*decoded) == record);

  const PartitionChangeRecord change{1, Uuid{}, Ids{1}, std::nullopt, 2, -1, std::nullopt, std::nullopt};
  bytes = encode(change);
  bytes.resize(bytes.size() - 8);
  bytes[1] = 0;
  decoded = decode(bytes);
  REQUIRE(decoded.ok());
  CHECK(std::get<PartitionChangeRecord>(*decoded) == change);

  // And an impossible reassignment in a decoded log is refused by the image, naming the fault.
  MetadataImage image;
  REQUIRE(image.replay(TopicRecord{"t", Uuid{{1}}}, 0).ok());
  auto bad = image.replay(PartitionRecord{0, Uuid{{1}}, {1, 2}, {1}, 1, LeaderRecoveryState::recovered, 0, 0, {}, {3}}, 1);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message.find("removing or adding replica 3 is not a replica") != std::string::npos);
  bad = image.replay(PartitionRecord{0, Uuid{{1}}, {1, 2}, {1}, 1, LeaderRecoveryState::recovered, 0, 0, {2}, {2}}, 1);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message.find("replica 2 is both removing and adding") != std::string::npos);
}
