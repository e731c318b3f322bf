// Topic configs altered on a running topic, in the simulated world, on one node and on three:
// IncrementalAlterConfigs and AlterConfigs go through the controller as ConfigRecords, every broker's
// partitions apply them without a restart, and DescribeConfigs reads them back with their sources.
// compression.type recompresses what the leader stores, retention.ms and cleanup.policy decide what
// retention deletes.
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <map>
#include <string>
#include <vector>

#include "broker/client/admin.h"
#include "broker/client/consumer.h"
#include "broker/client/producer.h"
#include "tests/support/bytes.h"
#include "tests/support/group_client.h"
#include "tests/support/kafka_client.h"
#include "tests/support/keel_world.h"

namespace {

using namespace keel;
using namespace keel::client;
using protocol::config_resource_topic;
using Op = Admin::ConfigOp;

// Retention passes every second from the start, so an altered retention acts within seconds.
constexpr std::string_view cluster_extra = "log.retention.check.interval.ms=1000\nlog.initial.task.delay.ms=0\n";

// What the client script saw, checked after the run.
struct Seen {
  Status created = make_error(Errc::cancelled, "not run");
  Status altered = make_error(Errc::cancelled, "not run");
  std::map<std::string, std::string> values;       // name -> value after the alters
  std::map<std::string, std::int8_t> sources;      // name -> config source
  std::vector<protocol::Compression> stored;       // codecs of the batches the leader stored
  std::int64_t start_compact = -1, start_delete = -1, end = -1;
  std::size_t consumed = 0;
  Status bad_value = {};
  Status bad_append = {};
  Status dynamic = make_error(Errc::cancelled, "not run");
};

std::int64_t or_minus2(const Result<std::int64_t>& offset) { return offset ? *offset : -2; }

void produce(Runtime& rt, const std::vector<Address>& servers, const std::string& topic, int count) {
  ProducerConfig pc;
  pc.bootstrap_servers = servers;
  pc.linger = std::chrono::milliseconds(5);
  Producer producer(rt, pc);
  std::vector<std::shared_ptr<Delivery>> deliveries;
  for (int i = 0; i < count; ++i) {
    ProducerRecord r;
    r.topic = topic;
    r.value = test::bytes_of(fmt::format("{}-{:04}", topic, i) + std::string(200, 'x'));
    deliveries.push_back(producer.send(std::move(r)));
    if (i % 5 == 4) (void)producer.flush();  // batches of ~1 KiB, well under segment.bytes
  }
  (void)producer.flush();
  for (auto& d : deliveries) (void)d->wait();
}

// The address of the leader of partition 0 of `topic`, from Metadata.
std::optional<Address> leader_of(Admin& admin, const std::string& topic) {
  auto metadata = admin.metadata({topic});
  if (!metadata || metadata->topics.empty() || metadata->topics[0].partitions.empty()) return std::nullopt;
  const std::int32_t leader = metadata->topics[0].partitions[0].leader_id;
  for (const auto& b : metadata->brokers) {
    if (b.node_id == leader) return Address{b.host, static_cast<std::uint16_t>(b.port)};
  }
  return std::nullopt;
}

// The codec of every batch the leader of `topic` stores.
std::vector<protocol::Compression> stored_codecs(Runtime& rt, Admin& admin, const std::string& topic) {
  std::vector<protocol::Compression> out;
  auto leader = leader_of(admin, topic);
  if (!leader) return out;
  test::RawClient raw(rt, *leader);
  if (!raw.connect()) return out;
  auto fetched = raw.call<protocol::FetchResponse>(test::fetch_request(topic, 0, 0), 12);
  if (!fetched || fetched->responses.empty() || !fetched->responses[0].partitions[0].records) return out;
  const auto& records = *fetched->responses[0].partitions[0].records;
  for (const auto& [at, header] : protocol::scan_batches(records, true).batches) out.push_back(header.compression());
  return out;
}

void describe_into(Admin& admin, const std::string& topic, Seen& seen, const std::string& prefix = "") {
  auto configs = admin.describe_configs(config_resource_topic, topic);
  if (!configs) return;
  for (const auto& c : *configs) {
    seen.values[prefix + c.name] = c.value.value_or("<null>");
    seen.sources[prefix + c.name] = c.config_source;
  }
}

// The script: "zipped" gets compression.type=gzip by IncrementalAlterConfigs, then stores what a
// producer sends uncompressed as gzip; "kept" is compact-only with a 1 s retention, so nothing goes
// until AlterConfigs makes it delete; "aged" gets retention.ms=1000 by IncrementalAlterConfigs.
void script(Runtime& rt, const std::vector<Address>& servers, std::int16_t rf, Seen& seen) {
  Admin admin(rt, servers);
  // zipped keeps its records: its own retention.ms outlasts the dynamic default set below.
  seen.created = admin.create_topic("zipped", 1, rf, {{"compression.type", "producer"}, {"retention.ms", "-1"}});
  if (seen.created) seen.created = admin.create_topic("kept", 1, rf, {{"cleanup.policy", "compact"}, {"retention.ms", "1000"},
                                                                      {"segment.bytes", "8192"}});
  if (seen.created) seen.created = admin.create_topic("aged", 1, rf, {{"segment.bytes", "8192"}});
  if (seen.created) seen.created = admin.create_topic("inherit", 1, rf, {{"segment.bytes", "8192"}});
  if (!seen.created) return;
  seen.bad_value = admin.incremental_alter_configs(config_resource_topic, "zipped", {Op{"retention.ms", 0, "soon"}});
  seen.bad_append = admin.incremental_alter_configs(config_resource_topic, "zipped", {Op{"compression.type", 2, "gzip"}});
  seen.altered = admin.incremental_alter_configs(config_resource_topic, "zipped", {Op{"compression.type", 0, "gzip"}});
  if (seen.altered) seen.altered = admin.incremental_alter_configs(config_resource_topic, "aged", {Op{"retention.ms", 0, "1000"}});
  if (!seen.altered) return;
  for (const auto& topic : {"zipped", "kept", "aged", "inherit"}) produce(rt, servers, topic, 100);
  seen.stored = stored_codecs(rt, admin, "zipped");
  rt.sleep_for(std::chrono::seconds(5));  // records older than 1 s; retention runs every second
  ConsumerConfig cc;
  cc.bootstrap_servers = servers;
  Consumer consumer(rt, cc);
  seen.start_compact = or_minus2(consumer.beginning_offset(TopicPartition{"kept", 0}));
  seen.values["kept.end"] = std::to_string(or_minus2(consumer.end_offset(TopicPartition{"kept", 0})));
  seen.values["inherit.before"] = std::to_string(or_minus2(consumer.beginning_offset(TopicPartition{"inherit", 0})));
  // The brokers' default retention, changed at run time, reaches a topic without its own.
  seen.dynamic = admin.incremental_alter_configs(protocol::config_resource_broker, "", {Op{"log.retention.ms", 0, "1000"}});
  seen.altered = admin.alter_configs(config_resource_topic, "kept", {{"cleanup.policy", "delete"}, {"retention.ms", "1000"},
                                                                     {"segment.bytes", "8192"}});
  rt.sleep_for(std::chrono::seconds(5));
  seen.start_delete = or_minus2(consumer.beginning_offset(TopicPartition{"kept", 0}));
  seen.end = or_minus2(consumer.end_offset(TopicPartition{"aged", 0}));
  const auto aged_start = or_minus2(consumer.beginning_offset(TopicPartition{"aged", 0}));
  seen.values["aged.start"] = std::to_string(aged_start);
  seen.values["inherit.after"] = std::to_string(or_minus2(consumer.beginning_offset(TopicPartition{"inherit", 0})));
  consumer.assign({TopicPartition{"zipped", 0}});
  (void)consumer.seek_to_beginning({TopicPartition{"zipped", 0}});
  for (int round = 0; round < 50 && seen.consumed < 100; ++round) {
    auto records = consumer.poll(std::chrono::milliseconds(200));
    if (records) seen.consumed += records->size();
  }
  describe_into(admin, "zipped", seen);
  describe_into(admin, "inherit", seen, "inherit.");
}

void check_seen(const Seen& seen) {
  INFO((seen.created ? std::string() : seen.created.error().message));
  REQUIRE(seen.created);
  INFO((seen.altered ? std::string() : seen.altered.error().message));
  REQUIRE(seen.altered);
  // Bad values are refused naming the key and the value; APPEND only on lists.
  REQUIRE_FALSE(seen.bad_value);
  CHECK(is_kafka_error(seen.bad_value, protocol::ErrorCode::invalid_config));
  CHECK(seen.bad_value.error().message.find("retention.ms: 'soon' is not a 64-bit integer") != std::string::npos);
  CHECK(is_kafka_error(seen.bad_append, protocol::ErrorCode::invalid_request));
  // compression.type=gzip, set on the running topic: every batch sent uncompressed is stored gzip.
  REQUIRE_FALSE(seen.stored.empty());
  for (auto codec : seen.stored) CHECK(codec == protocol::Compression::gzip);
  CHECK(seen.consumed == 100);
  CHECK(seen.values.at("compression.type") == "gzip");
  CHECK(seen.sources.at("compression.type") == config::config_source_dynamic_topic);
  // compact only: the 1 s retention deleted nothing; once AlterConfigs made it delete, it did.
  CHECK(seen.values.at("kept.end") == "100");
  CHECK(seen.start_compact == 0);
  CHECK(seen.start_delete > 0);
  // retention.ms=1000 set on the running topic deleted its old segments.
  CHECK(seen.end == 100);
  CHECK(std::stoll(seen.values.at("aged.start")) > 0);
  // The dynamic default: nothing deleted before it (7 days), old segments gone after (1 s).
  INFO((seen.dynamic ? std::string() : seen.dynamic.error().message));
  CHECK(seen.dynamic);
  CHECK(seen.values.at("inherit.before") == "0");
  CHECK(std::stoll(seen.values.at("inherit.after")) > 0);
  CHECK(seen.values.at("inherit.retention.ms") == "1000");
  CHECK(seen.sources.at("inherit.retention.ms") == config::config_source_dynamic_default_broker);
  CHECK(seen.sources.at("retention.ms") == config::config_source_dynamic_topic);
}

}  // namespace

TEST_CASE("topic configs: altered on a running single node, they take effect without a restart", "[configs][sim]") {
  Seen seen;
  test::NodeAndClient world(test::world_options(41), test::single_node_config(cluster_extra));
  REQUIRE(world.run_client(
      [&](Runtime& rt) {
        if (test::await_serving(rt, test::bootstrap)) script(rt, test::bootstrap, 1, seen);
      },
      std::chrono::minutes(10)));
  check_seen(seen);
}

TEST_CASE("topic configs: altered on a running three-node cluster, every replica applies them", "[configs][sim]") {
  Seen seen;
  constexpr int nodes = 3;
  sim::World world(test::world_options(42));
  test::add_nodes(world, nodes + 1);
  for (int n = 0; n < nodes; ++n) test::start_keel_node(world, n, test::cluster_node_config(n, nodes, cluster_extra));
  const auto servers = test::cluster_bootstrap(nodes);
  REQUIRE(test::run_script(
      world, nodes,
      [&](Runtime& rt) {
        if (test::await_serving(rt, servers, nodes)) script(rt, servers, nodes, seen);
      },
      std::chrono::minutes(10)));
  check_seen(seen);
}
