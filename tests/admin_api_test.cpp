// The admin APIs beside topic creation: the controller's CreatePartitions and ElectLeaders
// decisions over an image, then each API from the client against a single simulated Keel node
// (ListOffsets by spec, DeleteRecords, CreatePartitions, DescribeCluster, Metadata's authorized
// operations, ElectLeaders, DescribeLogDirs), and against three nodes (DeleteRecords answered once
// the followers moved their log start; new partitions served by every broker).
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <map>
#include <string>
#include <vector>

#include "broker/client/admin.h"
#include "broker/client/producer.h"
#include "tests/support/bytes.h"
#include "tests/support/controller_cluster.h"
#include "tests/support/group_client.h"
#include "tests/support/kafka_client.h"
#include "tests/support/keel_world.h"

namespace {

using namespace keel;
using namespace std::chrono_literals;
using client::Admin;
using client::OffsetSpec;
using metadata::ErrorCode;

std::string error_text(const Status& st) { return st ? "ok" : st.error().message; }

template <class T>
std::string error_text(const Result<T>& r) {
  return r ? "ok" : r.error().message;
}

std::optional<ErrorCode> kafka_code(const Status& st) {
  return st ? std::nullopt : client::kafka_error_code(st.error());
}

template <class T>
std::optional<ErrorCode> kafka_code(const Result<T>& r) {
  return r ? std::nullopt : client::kafka_error_code(r.error());
}

}  // namespace

// ---- the controller's decisions ----

TEST_CASE("admin: CreatePartitions adds a PartitionRecord per new partition, placed or as assigned", "[admin]") {
  test::ControllerCluster c;
  c.add_brokers({1, 2, 3});
  REQUIRE(c.create_topic("t", 2, 2).error == ErrorCode::none);

  auto placed = c.controller.create_partitions(c.image, {"t", 4, {}, false}, c.random);
  REQUIRE(placed.reply.error == ErrorCode::none);
  REQUIRE(placed.records.size() == 2);
  c.commit(placed.records);
  REQUIRE(c.image.topic("t")->partitions.size() == 4);
  for (int p = 2; p < 4; ++p) {
    const auto& reg = c.partition("t", p);
    CHECK(reg.replicas.size() == 2);  // the topic's replication factor
    CHECK(reg.isr == reg.replicas);
    CHECK(reg.leader == reg.replicas.front());
  }

  auto assigned = c.controller.create_partitions(c.image, {"t", 5, {{{BrokerId{3}, BrokerId{1}}}}, false}, c.random);
  REQUIRE(assigned.reply.error == ErrorCode::none);
  c.commit(assigned.records);
  CHECK(c.partition("t", 4).replicas == std::vector<BrokerId>{3, 1});
  CHECK(c.partition("t", 4).leader == BrokerId{3});

  // validate_only decides without records.
  auto validated = c.controller.create_partitions(c.image, {"t", 9, {}, true}, c.random);
  CHECK(validated.reply.error == ErrorCode::none);
  CHECK(validated.records.empty());
}

TEST_CASE("admin: CreateTopics with assignments places each partition as assigned, or refuses as Kafka does", "[admin]") {
  test::ControllerCluster c;
  c.add_brokers({1, 2, 3});
  using A = metadata::NewPartitionAssignment;
  auto create = [&](const std::string& name, std::vector<A> assignments) {
    return c.controller.create_topic(c.image, {name, -1, -1, {}, std::move(assignments)}, c.random);
  };
  auto made = create("t", {A{{BrokerId{3}, BrokerId{1}}}, A{{BrokerId{2}, BrokerId{3}}}});
  REQUIRE(made.reply.error == ErrorCode::none);
  c.commit(made.records);
  REQUIRE(c.image.topic("t")->partitions.size() == 2);
  CHECK(c.partition("t", 0).replicas == std::vector<BrokerId>{3, 1});
  CHECK(c.partition("t", 0).leader == BrokerId{3});  // the preferred replica leads
  CHECK(c.partition("t", 1).replicas == std::vector<BrokerId>{2, 3});
  CHECK(c.partition("t", 1).isr == std::vector<BrokerId>{2, 3});

  auto refused = [&](std::vector<A> assignments) {
    auto d = create("u", std::move(assignments));
    CHECK(d.records.empty());
    INFO(d.reply.message);
    CHECK_FALSE(d.reply.message.empty());
    return d.reply.error;
  };
  CHECK(refused({A{{BrokerId{1}, BrokerId{9}}}}) == ErrorCode::invalid_replica_assignment);  // no broker 9
  CHECK(refused({A{{BrokerId{1}, BrokerId{1}}}}) == ErrorCode::invalid_replica_assignment);  // twice
  CHECK(refused({A{{BrokerId{1}, BrokerId{2}}}, A{{BrokerId{3}}}}) == ErrorCode::invalid_replica_assignment);  // 2, then 1
  CHECK(refused({A{{}}}) == ErrorCode::invalid_replica_assignment);  // empty
  CHECK(c.image.topic("u") == nullptr);
}

TEST_CASE("admin: CreatePartitions refuses as Kafka does", "[admin]") {
  test::ControllerCluster c;
  c.add_brokers({1, 2, 3});
  REQUIRE(c.create_topic("t", 3, 2).error == ErrorCode::none);
  auto refused = [&](metadata::CreatePartitionsRequest request) {
    auto d = c.controller.create_partitions(c.image, request, c.random);
    CHECK(d.records.empty());
    INFO(d.reply.message);
    CHECK_FALSE(d.reply.message.empty());
    return d.reply.error;
  };
  CHECK(refused({"nope", 4, {}, false}) == ErrorCode::unknown_topic_or_partition);
  CHECK(refused({"t", 2, {}, false}) == ErrorCode::invalid_partitions);  // a decrease
  CHECK(refused({"t", 3, {}, false}) == ErrorCode::invalid_partitions);  // no change
  CHECK(refused({"t", 5, {{{BrokerId{1}, BrokerId{2}}}}, false}) == ErrorCode::invalid_replica_assignment);  // 1 of 2
  CHECK(refused({"t", 4, {{{BrokerId{1}, BrokerId{9}}}}, false}) == ErrorCode::invalid_replica_assignment);  // no broker 9
  CHECK(refused({"t", 4, {{{BrokerId{1}, BrokerId{1}}}}, false}) == ErrorCode::invalid_replica_assignment);  // twice
  CHECK(refused({"t", 4, {{{BrokerId{1}}}}, false}) == ErrorCode::invalid_replica_assignment);  // rf 1, topic's is 2
  CHECK(refused({"t", 4, {{{}}}, false}) == ErrorCode::invalid_replica_assignment);              // empty
  CHECK(c.image.topic("t")->partitions.size() == 3);
}

TEST_CASE("admin: ElectLeaders elects the preferred leader back, and unclean only where no leader is", "[admin]") {
  test::ControllerCluster c;
  c.add_brokers({1, 2, 3});
  REQUIRE(c.create_topic("t", 1, 3).error == ErrorCode::none);
  const BrokerId preferred = c.partition("t").replicas.front();
  // The preferred leader already leads: nothing to do, and an election over all partitions
  // answers nothing for it.
  auto named = c.controller.elect_leaders(c.image, {metadata::ElectionType::preferred, {{{"t", 0}}}});
  REQUIRE(named.reply.results.size() == 1);
  CHECK(named.reply.results[0].error == ErrorCode::election_not_needed);
  CHECK(c.controller.elect_leaders(c.image, {metadata::ElectionType::preferred, std::nullopt}).reply.results.empty());
  auto unknown = c.controller.elect_leaders(c.image, {metadata::ElectionType::preferred, {{{"t", 7}, {"u", 0}}}});
  REQUIRE(unknown.reply.results.size() == 2);
  CHECK(unknown.reply.results[0].error == ErrorCode::unknown_topic_or_partition);
  CHECK(unknown.reply.results[1].error == ErrorCode::unknown_topic_or_partition);

  // Move leadership away (the preferred leader is fenced and comes back), then elect it again:
  // not while it is out of the ISR, then once it is back in.
  c.heartbeat(preferred, true);
  REQUIRE(c.partition("t").leader != preferred);
  REQUIRE_FALSE(c.heartbeat(preferred).is_fenced);
  auto too_soon = c.controller.elect_leaders(c.image, {metadata::ElectionType::preferred, {{{"t", 0}}}});
  CHECK(too_soon.reply.results[0].error == ErrorCode::preferred_leader_not_available);
  CHECK(too_soon.records.empty());
  std::vector<BrokerId> isr = c.partition("t").isr;
  isr.push_back(preferred);
  REQUIRE(c.alter_isr("t", 0, isr).error == ErrorCode::none);
  auto elected = c.controller.elect_leaders(c.image, {metadata::ElectionType::preferred, std::nullopt});
  REQUIRE(elected.reply.results.size() == 1);
  CHECK(elected.reply.results[0].error == ErrorCode::none);
  c.commit(elected.records);
  CHECK(c.partition("t").leader == preferred);
  // Unclean: the partition has a leader.
  auto unclean = c.controller.elect_leaders(c.image, {metadata::ElectionType::unclean, {{{"t", 0}}}});
  CHECK(unclean.reply.results[0].error == ErrorCode::election_not_needed);
}

TEST_CASE("admin: an unclean ElectLeaders gives a leaderless partition a replica outside the ISR", "[admin]") {
  test::ControllerCluster c;
  c.add_brokers({1, 2});
  REQUIRE(c.create_topic("t", 1, 2).error == ErrorCode::none);
  const auto replicas = c.partition("t").replicas;
  REQUIRE(c.alter_isr("t", 0, {replicas[0]}).error == ErrorCode::none);
  c.heartbeat(replicas[0], true);  // the only ISR member goes: no leader (unclean is off)
  REQUIRE(c.partition("t").leader == metadata::no_leader);
  auto preferred = c.controller.elect_leaders(c.image, {metadata::ElectionType::preferred, {{{"t", 0}}}});
  CHECK(preferred.reply.results[0].error == ErrorCode::preferred_leader_not_available);
  auto unclean = c.controller.elect_leaders(c.image, {metadata::ElectionType::unclean, {{{"t", 0}}}});
  REQUIRE(unclean.reply.results[0].error == ErrorCode::none);
  c.commit(unclean.records);
  CHECK(c.partition("t").leader == replicas[1]);
  CHECK(c.partition("t").isr == std::vector<BrokerId>{replicas[1]});
}

// ---- one node ----

namespace {

bool run_single(std::uint64_t seed, const std::function<void(Runtime&)>& script) {
  test::NodeAndClient world(test::world_options(seed), test::single_node_config());
  return world.run_client(
      [script](Runtime& rt) {
        if (test::await_serving(rt, test::bootstrap)) script(rt);
      },
      std::chrono::minutes(10));
}

// Writes `count` records with timestamps 1000 + 10 * i, except record `peak`, stamped 9000.
bool produce(Runtime& rt, const std::vector<Address>& servers, const TopicPartition& tp, int count, int peak) {
  client::ProducerConfig pc;
  pc.bootstrap_servers = servers;
  pc.acks = -1;
  client::Producer producer(rt, pc);
  for (int i = 0; i < count; ++i) {
    client::ProducerRecord r;
    r.topic = tp.topic;
    r.partition = tp.partition;
    r.value = test::bytes_of(fmt::format("v{}", i));
    r.timestamp_ms = i == peak ? 9000 : 1000 + 10 * i;
    if (!producer.send_and_wait(std::move(r))) return false;
  }
  return true;
}

}  // namespace

TEST_CASE("admin: ListOffsets by every spec, DeleteRecords, and a fetch below the new log start", "[admin][sim]") {
  const TopicPartition tp{"t", 0};
  std::map<std::string, std::int64_t> offsets;
  std::map<std::string, std::int64_t> timestamps;
  Status created = make_error(Errc::cancelled, "not run");
  bool produced = false;
  Result<std::int64_t> deleted = make_error(Errc::cancelled, "not run");
  std::optional<ErrorCode> beyond, negative;
  std::int16_t fetch_below = -1, fetch_at = -1;
  REQUIRE(run_single(21, [&](Runtime& rt) {
    Admin admin(rt, test::bootstrap, 10s);
    created = admin.create_topic("t", 1, 1);
    produced = produce(rt, test::bootstrap, tp, 10, 6);
    for (auto [name, spec] : {std::pair{"latest", OffsetSpec::latest}, {"earliest", OffsetSpec::earliest},
                              {"max", OffsetSpec::max_timestamp}, {"local", OffsetSpec::earliest_local},
                              {"tiered", OffsetSpec::latest_tiered}}) {
      auto found = admin.list_offset(tp, spec);
      offsets[name] = found ? found->offset : -100;
      timestamps[name] = found ? found->timestamp : -100;
    }
    auto by_time = admin.list_offset(tp, std::int64_t{1035});
    offsets["1035"] = by_time ? by_time->offset : -100;
    deleted = admin.delete_records(tp, 4);
    auto after = admin.list_offset(tp, OffsetSpec::earliest);
    offsets["earliest after"] = after ? after->offset : -100;
    beyond = kafka_code(admin.delete_records(tp, 11));
    negative = kafka_code(admin.delete_records(tp, -7));
    test::RawClient raw(rt);
    if (!raw.connect()) return;
    if (auto r = raw.call<protocol::FetchResponse>(test::fetch_request("t", 0, 3), 12))
      fetch_below = r->responses[0].partitions[0].error_code;
    if (auto r = raw.call<protocol::FetchResponse>(test::fetch_request("t", 0, 4), 12))
      fetch_at = r->responses[0].partitions[0].error_code;
  }));
  INFO(error_text(created) << " / " << error_text(deleted));
  REQUIRE(created);
  REQUIRE(produced);
  CHECK(offsets["latest"] == 10);
  CHECK(offsets["earliest"] == 0);
  CHECK(offsets["max"] == 6);
  CHECK(timestamps["max"] == 9000);
  CHECK(offsets["local"] == 0);
  CHECK(offsets["tiered"] == -1);
  CHECK(offsets["1035"] == 4);  // 1000 + 10 * 4 is the first at or after 1035
  REQUIRE(deleted);
  CHECK(*deleted == 4);
  CHECK(offsets["earliest after"] == 4);
  CHECK(beyond == ErrorCode::offset_out_of_range);
  CHECK(negative == ErrorCode::offset_out_of_range);
  CHECK(fetch_below == static_cast<std::int16_t>(ErrorCode::offset_out_of_range));
  CHECK(fetch_at == 0);
}

TEST_CASE("admin: ListOffsets refuses a spec its version does not know", "[admin][sim]") {
  std::vector<std::int16_t> errors;
  REQUIRE(run_single(22, [&](Runtime& rt) {
    if (!test::create_topic_retrying(rt, "t", 1)) return;
    test::RawClient raw(rt);
    if (!raw.connect()) return;
    for (auto [version, timestamp] : {std::pair<std::int16_t, std::int64_t>{6, -3}, {7, -3}, {7, -4}, {8, -4}, {8, -5}, {9, -5}, {9, -6}}) {
      protocol::ListOffsetsRequest request;
      request.replica_id = -1;
      auto& t = request.topics.emplace_back();
      t.name = "t";
      t.partitions.push_back({0, -1, timestamp});
      auto r = raw.call<protocol::ListOffsetsResponse>(request, version);
      errors.push_back(r ? r->topics[0].partitions[0].error_code : std::int16_t{-100});
    }
  }));
  const auto unsupported = static_cast<std::int16_t>(ErrorCode::unsupported_version);
  CHECK(errors == std::vector<std::int16_t>{unsupported, 0, unsupported, 0, unsupported, 0, unsupported});
}

TEST_CASE("admin: CreatePartitions on one node: validate-only, growth, Kafka's errors", "[admin][sim]") {
  Status grown = make_error(Errc::cancelled, "not run");
  std::optional<ErrorCode> decrease, unknown, bad_broker, validated_error;
  std::size_t after_validate = 0, after_grow = 0;
  REQUIRE(run_single(23, [&](Runtime& rt) {
    Admin admin(rt, test::bootstrap, 10s);
    if (!admin.create_topic("t", 1, 1)) return;
    validated_error = kafka_code(admin.create_partitions("t", 3, {}, true));
    auto md = admin.metadata({"t"});
    after_validate = md ? md->topics[0].partitions.size() : 0;
    grown = admin.create_partitions("t", 3);
    md = admin.metadata({"t"});
    after_grow = md ? md->topics[0].partitions.size() : 0;
    decrease = kafka_code(admin.create_partitions("t", 2));
    unknown = kafka_code(admin.create_partitions("nope", 2));
    bad_broker = kafka_code(admin.create_partitions("t", 4, {{7}}));
  }));
  INFO(error_text(grown));
  CHECK(validated_error == std::nullopt);
  CHECK(after_validate == 1);
  REQUIRE(grown);
  CHECK(after_grow == 3);
  CHECK(decrease == ErrorCode::invalid_partitions);
  CHECK(unknown == ErrorCode::unknown_topic_or_partition);
  CHECK(bad_broker == ErrorCode::invalid_replica_assignment);
}

TEST_CASE("admin: DescribeCluster, authorized operations, ElectLeaders, DescribeLogDirs on one node", "[admin][sim]") {
  Result<protocol::DescribeClusterResponse> cluster = make_error(Errc::cancelled, "not run");
  std::int32_t cluster_ops_unasked = 0;
  std::int32_t topic_ops = 0, metadata_cluster_ops = 0;
  Result<std::vector<client::ElectionResult>> elected = make_error(Errc::cancelled, "not run");
  Result<protocol::DescribeLogDirsResponse> dirs = make_error(Errc::cancelled, "not run");
  REQUIRE(run_single(24, [&](Runtime& rt) {
    Admin admin(rt, test::bootstrap, 10s);
    if (!admin.create_topic("t", 3, 1)) return;
    cluster = admin.describe_cluster(true);
    auto plain = admin.describe_cluster(false);
    cluster_ops_unasked = plain ? plain->cluster_authorized_operations : 0;
    elected = admin.elect_leaders(client::ElectionKind::preferred, std::vector<TopicPartition>{{"t", 0}, {"t", 9}});
    dirs = admin.describe_log_dirs(0);
    test::RawClient raw(rt);
    if (!raw.connect()) return;
    protocol::MetadataRequest request;
    request.topics.emplace().push_back({{}, "t"});
    request.include_topic_authorized_operations = true;
    request.include_cluster_authorized_operations = true;
    if (auto r = raw.call<protocol::MetadataResponse>(request, 9)) {
      topic_ops = r->topics[0].topic_authorized_operations;
      metadata_cluster_ops = r->cluster_authorized_operations;
    }
  }));
  REQUIRE(cluster);
  CHECK_FALSE(cluster->cluster_id.empty());
  CHECK(cluster->controller_id == 0);
  REQUIRE(cluster->brokers.size() == 1);
  CHECK(cluster->brokers[0].broker_id == 0);
  CHECK(cluster->cluster_authorized_operations == 8096);  // CREATE ALTER DESCRIBE CLUSTER_ACTION ... IDEMPOTENT_WRITE
  CHECK(cluster_ops_unasked == std::numeric_limits<std::int32_t>::min());
  CHECK(topic_ops == 3576);  // READ WRITE CREATE DELETE ALTER DESCRIBE DESCRIBE_CONFIGS ALTER_CONFIGS
  CHECK(metadata_cluster_ops == 8096);

  INFO(error_text(elected));
  REQUIRE(elected);
  REQUIRE(elected->size() == 2);
  CHECK((*elected)[0].error == ErrorCode::election_not_needed);
  CHECK((*elected)[1].error == ErrorCode::unknown_topic_or_partition);

  INFO(error_text(dirs));
  REQUIRE(dirs);
  REQUIRE(dirs->results.size() == 1);
  CHECK(dirs->results[0].error_code == 0);
  CHECK_FALSE(dirs->results[0].log_dir.empty());
  std::size_t t_partitions = 0;
  for (const auto& topic : dirs->results[0].topics)
    if (topic.name == "t") t_partitions = topic.partitions.size();
  CHECK(t_partitions == 3);
}

// ---- three nodes ----

namespace {

constexpr int keel_nodes = 3;

bool run_three(std::uint64_t seed, const std::function<void(Runtime&, const std::vector<Address>&)>& script) {
  sim::WorldOptions options = test::world_options(seed);
  sim::World world(options);
  test::add_nodes(world, keel_nodes + 1);
  for (int n = 0; n < keel_nodes; ++n) test::start_keel_node(world, n, test::cluster_node_config(n, keel_nodes));
  const auto servers = test::cluster_bootstrap(keel_nodes);
  return test::run_script(
      world, keel_nodes,
      [&](Runtime& rt) {
        if (test::await_serving(rt, servers, keel_nodes)) script(rt, servers);
      },
      std::chrono::minutes(10));
}

// A topic on all three brokers, asked again while the cluster settles.
bool create_replicated(Runtime& rt, const std::vector<Address>& servers, const std::string& name, std::int32_t partitions) {
  Admin admin(rt, servers, 10s);
  for (int attempt = 0; attempt < 50; ++attempt) {
    const Status created = admin.create_topic(name, partitions, 3);
    if (created || client::is_kafka_error(created, ErrorCode::topic_already_exists)) return true;
    rt.sleep_for(200ms);
  }
  return false;
}

}  // namespace

TEST_CASE("admin: three nodes: DeleteRecords answers once the followers moved their log start", "[admin][sim]") {
  const TopicPartition tp{"r", 0};
  Result<std::int64_t> deleted = make_error(Errc::cancelled, "not run");
  bool produced = false;
  std::vector<int> holding;  // per broker: whether its log dirs list the partition
  REQUIRE(run_three(31, [&](Runtime& rt, const std::vector<Address>& servers) {
    if (!create_replicated(rt, servers, "r", 1)) return;
    produced = produce(rt, servers, tp, 20, 3);
    Admin admin(rt, servers, 10s);
    deleted = admin.delete_records(tp, 12);
    for (int n = 0; n < keel_nodes; ++n) {
      auto dirs = admin.describe_log_dirs(n);
      int holds = 0;
      if (dirs)
        for (const auto& dir : dirs->results)
          for (const auto& topic : dir.topics) holds += topic.name == "r" ? 1 : 0;
      holding.push_back(holds);
    }
  }));
  REQUIRE(produced);
  INFO(error_text(deleted));
  REQUIRE(deleted);
  // The low watermark is the least log start among the live replicas (a follower that has not
  // said counts as -1): all three moved theirs to 12 before the answer.
  CHECK(*deleted == 12);
  CHECK(holding == std::vector<int>{1, 1, 1});
}

TEST_CASE("admin: three nodes: new partitions are served by every broker", "[admin][sim]") {
  Status grown = make_error(Errc::cancelled, "not run");
  std::vector<std::size_t> seen;
  std::vector<int> led;
  bool produced = false;
  REQUIRE(run_three(32, [&](Runtime& rt, const std::vector<Address>& servers) {
    if (!create_replicated(rt, servers, "g", 1)) return;
    Admin admin(rt, servers, 10s);
    grown = admin.create_partitions("g", 4, {{1, 2, 0}, {2, 0, 1}, {0, 1, 2}});
    for (int n = 0; n < keel_nodes; ++n) {
      Admin one(rt, {servers[static_cast<std::size_t>(n)]}, 10s);
      auto md = one.metadata({"g"});
      seen.push_back(md && !md->topics.empty() ? md->topics[0].partitions.size() : 0);
      if (md && !md->topics.empty())
        for (const auto& p : md->topics[0].partitions) led.push_back(p.partition_index * 10 + p.leader_id);
    }
    produced = produce(rt, servers, TopicPartition{"g", 3}, 5, 0);
  }));
  INFO(error_text(grown));
  REQUIRE(grown);
  CHECK(seen == std::vector<std::size_t>{4, 4, 4});
  // Each assigned partition is led by its first replica, as every broker says.
  for (int p : led) {
    if (p / 10 == 1) CHECK(p % 10 == 1);
    if (p / 10 == 2) CHECK(p % 10 == 2);
    if (p / 10 == 3) CHECK(p % 10 == 0);
  }
  CHECK(produced);
}
