// server.properties parsing, validation, overrides, topic configs and DescribeConfigs entries.
#include "broker/config/config.h"
#include "broker/config/properties.h"

#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

using namespace keel;
using namespace keel::config;

namespace {

const std::string minimal = "node.id=1\nlog.dirs=/tmp/keel-logs\n";

// Every node runs the metadata quorum: a text that names no roles or voters gets them appended, as
// a broker-only node of another node's quorum (which needs no controller listener of its own).
// Appended, so the line numbers errors name stay those of the test's own lines.
std::string with_quorum(std::string text) {
  if (text.find("process.roles") == std::string::npos) text += "process.roles=broker\n";
  if (text.find("controller.quorum.voters") == std::string::npos) text += "controller.quorum.voters=9@127.0.0.1:9093\n";
  return text;
}

Result<BrokerConfig> parse(const std::string& text, std::vector<std::string> overrides = {}) {
  return parse_broker_config(with_quorum(text), "server.properties", overrides);
}

BrokerConfig parse_ok(const std::string& text, std::vector<std::string> overrides = {}) {
  auto c = parse(text, std::move(overrides));
  INFO((c ? std::string() : c.error().message));
  REQUIRE(c.ok());
  return *c;
}

std::string parse_error(const std::string& text, std::vector<std::string> overrides = {}) {
  auto c = parse(text, std::move(overrides));
  REQUIRE_FALSE(c.ok());
  CHECK(c.code() == Errc::invalid_argument);
  return c.error().message;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The example file, found from the source path the compiler saw or from the usual working
// directories (the repository root, or the build directory inside it).
std::string read_example_config() {
  const std::string here = __FILE__;  // <root>/tests/server_config_test.cpp, maybe relative
  for (const std::string& path : {here.substr(0, here.rfind("tests/")) + "config/server.properties",
                                  std::string("config/server.properties"), std::string("../config/server.properties")}) {
    std::string text = read_text(path);
    if (!text.empty()) return text;
  }
  return {};
}

const ConfigEntry* entry(const std::vector<ConfigEntry>& entries, const std::string& name) {
  for (const auto& e : entries) {
    if (e.name == name) return &e;
  }
  return nullptr;
}

}  // namespace

// ---- the example file and the defaults ----

TEST_CASE("config: the example config/server.properties parses to one combined node: clients on 127.0.0.1:9092, "
          "its one-voter quorum on :9093",
          "[config]") {
  const std::string text = read_example_config();
  REQUIRE_FALSE(text.empty());
  auto parsed = parse_broker_config(text, "server.properties", {});
  REQUIRE(parsed.ok());
  BrokerConfig c = *parsed;
  CHECK(c.node_id == 1);
  CHECK(c.process_roles == std::vector<std::string>{"broker", "controller"});
  REQUIRE(c.controller_quorum_voters.size() == 1);
  CHECK(c.controller_quorum_voters[0].id == 1);
  CHECK(c.controller_quorum_voters[0].port == 9093);
  REQUIRE(c.listeners.size() == 2);
  CHECK(c.listeners[0].listener_name == "PLAINTEXT");
  CHECK(c.listeners[0].host == "127.0.0.1");
  CHECK(c.listeners[0].port == 9092);
  CHECK(c.listeners[1].listener_name == "CONTROLLER");
  REQUIRE(c.advertised_listeners.size() == 1);
  CHECK(c.advertised_listeners[0].host == "127.0.0.1");
  CHECK(c.log_dirs == std::vector<std::string>{"/tmp/keel-logs"});
  CHECK(ignored_keys(c).empty());
}

TEST_CASE("config: a minimal file gets Kafka's defaults, the same as BrokerConfig's and LogConfig's own", "[config]") {
  BrokerConfig c = parse_ok(minimal);
  const BrokerConfig d;
  const storage::LogConfig l;
  CHECK(c.num_partitions == d.num_partitions);
  CHECK(c.default_replication_factor == d.default_replication_factor);
  CHECK(c.auto_create_topics_enable == d.auto_create_topics_enable);
  CHECK(c.socket_request_max_bytes == d.socket_request_max_bytes);
  CHECK(c.queued_max_requests == d.queued_max_requests);
  CHECK(c.log_retention_check_interval_ms == d.log_retention_check_interval_ms);
  CHECK(c.log_flush_scheduler_interval_ms == d.log_flush_scheduler_interval_ms);
  CHECK(c.log_flush_offset_checkpoint_interval_ms == d.log_flush_offset_checkpoint_interval_ms);
  CHECK(c.log.segment_bytes == l.segment_bytes);
  CHECK(c.log.segment_ms == l.segment_ms);
  CHECK(c.log.index_interval_bytes == l.index_interval_bytes);
  CHECK(c.log.segment_index_bytes == l.segment_index_bytes);
  CHECK(c.log.retention_ms == l.retention_ms);
  CHECK(c.log.retention_bytes == l.retention_bytes);
  CHECK(c.log.flush_interval_messages == l.flush_interval_messages);
  CHECK(c.log.flush_interval_ms == l.flush_interval_ms);
  CHECK(c.log.file_delete_delay_ms == l.file_delete_delay_ms);
  CHECK(c.log.max_message_bytes == l.max_message_bytes);
  CHECK(c.log.log_append_time == l.log_append_time);
  // listeners defaults to PLAINTEXT://:9092, advertised as 127.0.0.1.
  REQUIRE(c.listeners.size() == 1);
  CHECK(c.listeners[0].host.empty());
  CHECK(c.listeners[0].port == 9092);
  REQUIRE(c.advertised_listeners.size() == 1);
  CHECK(c.advertised_listeners[0].host == "127.0.0.1");
  CHECK(c.advertised_listeners[0].port == 9092);
  CHECK(c.inter_broker_listener_name == "PLAINTEXT");
  CHECK(c.values == std::map<std::string, std::string>{{"controller.quorum.voters", "9@127.0.0.1:9093"},
                                                      {"log.dirs", "/tmp/keel-logs"},
                                                      {"node.id", "1"},
                                                      {"process.roles", "broker"}});
}

TEST_CASE("config: Kafka's own KRaft server.properties parses; its thread and buffer keys are listed as ignored", "[config]") {
  const std::string kafka =
      "process.roles=broker,controller\n"
      "node.id=1\n"
      "controller.quorum.bootstrap.servers=localhost:9093\n"
      "controller.quorum.voters=1@localhost:9093\n"
      "listeners=PLAINTEXT://:9092,CONTROLLER://:9093\n"
      "inter.broker.listener.name=PLAINTEXT\n"
      "advertised.listeners=PLAINTEXT://localhost:9092\n"
      "controller.listener.names=CONTROLLER\n"
      "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SSL:PLAINTEXT\n"
      "num.network.threads=3\n"
      "num.io.threads=8\n"
      "socket.send.buffer.bytes=102400\n"
      "socket.receive.buffer.bytes=102400\n"
      "socket.request.max.bytes=104857600\n"
      "log.dirs=/tmp/kraft-combined-logs\n"
      "num.partitions=1\n"
      "num.recovery.threads.per.data.dir=1\n"
      "offsets.topic.replication.factor=1\n"
      "share.coordinator.state.topic.replication.factor=1\n"
      "share.coordinator.state.topic.min.isr=1\n"
      "transaction.state.log.replication.factor=1\n"
      "transaction.state.log.min.isr=1\n"
      "log.retention.hours=168\n"
      "log.segment.bytes=1073741824\n"
      "log.retention.check.interval.ms=300000\n";
  BrokerConfig c = parse_ok(kafka);
  CHECK(c.process_roles == std::vector<std::string>{"broker", "controller"});
  REQUIRE(c.controller_quorum_voters.size() == 1);
  CHECK(c.controller_quorum_voters[0].id == 1);
  CHECK(c.controller_quorum_voters[0].host == "localhost");
  CHECK(c.controller_quorum_voters[0].port == 9093);
  CHECK(c.controller_quorum_bootstrap_servers == std::vector<std::string>{"localhost:9093"});
  CHECK(c.controller_listener_names == std::vector<std::string>{"CONTROLLER"});
  CHECK(c.listener_security_protocol_map.at("CONTROLLER") == "PLAINTEXT");
  CHECK(c.listeners.size() == 2);
  REQUIRE(c.advertised_listeners.size() == 1);
  CHECK(c.advertised_listeners[0].host == "localhost");
  CHECK(c.offsets_topic_replication_factor == 1);
  CHECK(c.offsets_topic_num_partitions == 50);
  CHECK(ignored_keys(c) == std::vector<std::string>{
                               "num.io.threads", "num.network.threads", "num.recovery.threads.per.data.dir",
                               "share.coordinator.state.topic.min.isr",
                               "share.coordinator.state.topic.replication.factor", "socket.receive.buffer.bytes",
                               "socket.send.buffer.bytes", "transaction.state.log.min.isr",
                               "transaction.state.log.replication.factor"});
}

// ---- syntax ----

TEST_CASE("config: comments, separators, continuation lines, escapes and CRLF follow Java .properties", "[config]") {
  const std::string text =
      "# a comment\r\n"
      "! another comment\r\n"
      "   \r\n"
      "node.id : 7\r\n"
      "log.dirs /data/a,\\\r\n"
      "         /data/b,\\\n"
      "    /data/c\n"
      "  num.partitions=\\u0033   \n"
      "cluster.id=tab\\there\\\\and\\=eq\\:colon\\ \n"
      "log.message.timestamp.type=Log\\\n"
      "  AppendTime\n";
  BrokerConfig c = parse_ok(text);
  CHECK(c.node_id == 7);
  CHECK(c.log_dirs == std::vector<std::string>{"/data/a", "/data/b", "/data/c"});
  CHECK(c.num_partitions == 3);
  CHECK(c.cluster_id == "tab\there\\and=eq:colon ");  // an escaped trailing blank stays
  CHECK(c.log.log_append_time);
  CHECK(c.values.at("log.dirs") == "/data/a,/data/b,/data/c");
}

TEST_CASE("config: properties keep file order and line numbers; a key's later value wins", "[config]") {
  auto props = parse_properties("a=1\n\nb = two words  \nc\\\n  d=3\na=4\ne\n", "f");
  REQUIRE(props.ok());
  REQUIRE(props->size() == 5);
  CHECK((*props)[0].key == "a");
  CHECK((*props)[1].value == "two words");
  CHECK((*props)[1].line == 3);
  CHECK((*props)[2].key == "cd");
  CHECK((*props)[2].line == 4);
  CHECK((*props)[4].key == "e");
  CHECK((*props)[4].value.empty());
  BrokerConfig c = parse_ok(minimal + "num.partitions=2\nnum.partitions=5\n");
  CHECK(c.num_partitions == 5);
  CHECK(c.values.at("num.partitions") == "5");
}

TEST_CASE("config: a bad \\u escape is an error naming the line", "[config]") {
  const std::string message = parse_error(minimal + "cluster.id=\\u12G4\n");
  CHECK(message == "server.properties:3: malformed \\uXXXX escape (four hex digits expected)");
}

// ---- errors name the key, the problem and the place ----

TEST_CASE("config: an unknown key is an error naming it, its line and a near miss", "[config]") {
  CHECK(parse_error(minimal + "num.partition=3\n") ==
        "server.properties:3: num.partition: unknown key (did you mean num.partitions?)");
  CHECK(parse_error(minimal + "no.such.thing=1\n") == "server.properties:3: no.such.thing: unknown key");
}

TEST_CASE("config: zookeeper keys are refused: Keel is KRaft-only", "[config]") {
  const std::string message = parse_error(minimal + "zookeeper.connect=localhost:2181\n");
  CHECK(message.find("zookeeper.connect") != std::string::npos);
  CHECK(message.find("KRaft") != std::string::npos);
}

TEST_CASE("config: a bad integer, an out-of-range value and a bad boolean name the key", "[config]") {
  CHECK(parse_error(minimal + "num.partitions=three\n") == "server.properties:3: num.partitions: 'three' is not a 32-bit integer");
  CHECK(parse_error(minimal + "num.partitions=0\n") == "server.properties:3: num.partitions: 0 is below the minimum 1");
  CHECK(parse_error(minimal + "num.partitions=4294967296\n") ==
        "server.properties:3: num.partitions: 4294967296 does not fit a 32-bit integer");
  CHECK(parse_error(minimal + "log.segment.bytes=13\n") == "server.properties:3: log.segment.bytes: 13 is below the minimum 14");
  CHECK(parse_error(minimal + "log.retention.ms=99999999999999999999\n") ==
        "server.properties:3: log.retention.ms: '99999999999999999999' is not a 64-bit integer");
  CHECK(parse_error(minimal + "default.replication.factor=40000\n") ==
        "server.properties:3: default.replication.factor: 40000 is above the maximum 32767");
  CHECK(parse_error(minimal + "auto.create.topics.enable=yes\n") ==
        "server.properties:3: auto.create.topics.enable: 'yes' is not a boolean (true or false)");
  CHECK(parse_error("node.id=-1\nlog.dirs=/x\n") == "server.properties:1: node.id: -1 is below the minimum 0");
  CHECK(parse_error(minimal + "message.max.bytes=-1\n") == "server.properties:3: message.max.bytes: -1 is below the minimum 0");
  CHECK(parse_error(minimal + "log.message.timestamp.type=Now\n") ==
        "server.properties:3: log.message.timestamp.type: 'Now' is not one of CreateTime, LogAppendTime");
  CHECK(parse_error(minimal + "log.retention.hours=0\n").starts_with("server.properties:3: log.retention.hours: 0 would delete"));
  CHECK(parse_error(minimal + "log.retention.ms=0\n").starts_with("server.properties:3: log.retention.ms: 0 would delete"));
  // Ignored keys are still type-checked.
  CHECK(parse_error(minimal + "num.io.threads=many\n") == "server.properties:3: num.io.threads: 'many' is not a 32-bit integer");
}

TEST_CASE("config: a bad listener names the key and says what is wrong", "[config]") {
  const std::string base = minimal + "listeners=";
  CHECK(parse_error(base + "127.0.0.1:9092\n") ==
        "server.properties:3: listeners: '127.0.0.1:9092' is not a listener (NAME://host:port, e.g. PLAINTEXT://127.0.0.1:9092)");
  CHECK(parse_error(base + "PLAINTEXT://127.0.0.1\n") ==
        "server.properties:3: listeners: listener 'PLAINTEXT://127.0.0.1': a port is required (host:port)");
  CHECK(parse_error(base + "PLAINTEXT://:65536\n") ==
        "server.properties:3: listeners: listener 'PLAINTEXT://:65536': port '65536' is not a number from 0 to 65535");
  CHECK(parse_error(base + "PLAINTEXT://::1:9092\n").find("IPv6 address goes in brackets") != std::string::npos);
  CHECK(parse_error(base + "PLAINTEXT://:9092,PLAINTEXT://:9093\n") ==
        "server.properties:3: listeners: listener name PLAINTEXT appears twice");
  CHECK(parse_error(base + "SSL://:9093\n") ==
        "server.properties:3: listeners: listener SSL uses SSL; Keel supports only PLAINTEXT listeners");
  CHECK(parse_error(base + "CLIENT://:9093\n").find("map it to PLAINTEXT in listener.security.protocol.map") != std::string::npos);
  CHECK(parse_error(base + "A://:9092\nlistener.security.protocol.map=A:PLAINTEXT,B:PLAINTEXT\nlisteners=A://:9092,B://:9092\n") ==
        "server.properties:5: listeners: port 9092 is used by two listeners");
  CHECK(parse_error(minimal + "listener.security.protocol.map=PLAINTEXT:SSL\n") ==
        "server.properties:3: listener.security.protocol.map: 'PLAINTEXT:SSL' maps to SSL; Keel supports only PLAINTEXT listeners");
  CHECK(parse_error(minimal + "listener.security.protocol.map=PLAINTEXT:TLS\n") ==
        "server.properties:3: listener.security.protocol.map: 'TLS' in 'PLAINTEXT:TLS' is not a security protocol "
        "(PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL)");
  CHECK(parse_error(minimal + "advertised.listeners=PLAINTEXT://0.0.0.0:9092\n").find("wildcard address 0.0.0.0") != std::string::npos);
  CHECK(parse_error(minimal + "advertised.listeners=OTHER://h:1\n") ==
        "server.properties:3: advertised.listeners: listener OTHER is not among the listeners");
}

TEST_CASE("config: a missing node.id or log.dirs names the key and the file", "[config]") {
  CHECK(parse_error("log.dirs=/x\n") ==
        "server.properties: node.id: required key missing: this broker's id (node.id, or its alias broker.id)");
  CHECK(parse_error("node.id=1\n") ==
        "server.properties: log.dirs: required key missing: where the logs live (log.dirs, or log.dir)");
  CHECK(parse_error("node.id=1\nlog.dirs=\n") == "server.properties:2: log.dirs: at least one directory is required");
  CHECK(parse_error("node.id=1\nlog.dirs=/a,,/b\n") == "server.properties:2: log.dirs: '/a,,/b' has an empty item");
  CHECK(parse_error("node.id=1\nlog.dirs=/a,/a\n") == "server.properties:2: log.dirs: directory '/a' appears twice");
}

TEST_CASE("config: compact cleanup is accepted (retention then deletes nothing); an empty policy is refused", "[config]") {
  CHECK_FALSE(parse_ok(minimal + "log.cleanup.policy=compact\n").log.cleanup_delete);
  CHECK(parse_error(minimal + "log.cleanup.policy=\n") ==
        "server.properties:3: log.cleanup.policy: a cleanup policy is required (delete, compact or both)");
}

// ---- overrides, aliases, precedence ----

TEST_CASE("config: overrides apply in order after the file and win", "[config]") {
  BrokerConfig c = parse_ok(minimal + "num.partitions=2\n",
                            {"num.partitions=4", " log.dirs = /o1,/o2 ", "num.partitions=6", "listeners=PLAINTEXT://127.0.0.1:0"});
  CHECK(c.num_partitions == 6);
  CHECK(c.log_dirs == std::vector<std::string>{"/o1", "/o2"});
  CHECK(c.values.at("num.partitions") == "6");
  CHECK(c.listeners[0].port == 0);
  // An override can supply a required key the file lacks.
  CHECK(parse_ok("log.dirs=/x\n", {"node.id=3"}).node_id == 3);
}

TEST_CASE("config: a bad override names the key and --override", "[config]") {
  CHECK(parse_error(minimal, {"num.partitions=0"}) == "--override 'num.partitions=0': num.partitions: 0 is below the minimum 1");
  CHECK(parse_error(minimal, {"num.partitions"}) == "--override 'num.partitions': expected key=value");
  CHECK(parse_error(minimal, {"bogus.key=1"}) == "--override 'bogus.key=1': bogus.key: unknown key");
  // The file's bad value does not matter once an override replaces it.
  CHECK(parse_ok(minimal + "num.partitions=zero\n", {"num.partitions=2"}).num_partitions == 2);
}

TEST_CASE("config: broker.id is node.id's alias; the two may not differ", "[config]") {
  CHECK(parse_ok("broker.id=5\nlog.dirs=/x\n").node_id == 5);
  CHECK(parse_ok("broker.id=5\nnode.id=5\nlog.dirs=/x\n").node_id == 5);
  CHECK(parse_error("broker.id=5\nnode.id=6\nlog.dirs=/x\n") ==
        "server.properties:1: broker.id: broker.id 5 differs from node.id 6 (broker.id is an alias of node.id)");
}

TEST_CASE("config: log.dir is used when log.dirs is absent", "[config]") {
  CHECK(parse_ok("node.id=1\nlog.dir=/one\n").log_dirs == std::vector<std::string>{"/one"});
  CHECK(parse_ok("node.id=1\nlog.dir=/one\nlog.dirs=/two\n").log_dirs == std::vector<std::string>{"/two"});
}

TEST_CASE("config: time settings take the finest unit given, as Kafka", "[config]") {
  CHECK(parse_ok(minimal + "log.roll.hours=2\n").log.segment_ms == 7'200'000);
  CHECK(parse_ok(minimal + "log.roll.ms=500\nlog.roll.hours=2\n").log.segment_ms == 500);
  CHECK(parse_ok(minimal + "log.retention.hours=1\n").log.retention_ms == 3'600'000);
  CHECK(parse_ok(minimal + "log.retention.hours=1\nlog.retention.minutes=3\n").log.retention_ms == 180'000);
  CHECK(parse_ok(minimal + "log.retention.minutes=3\nlog.retention.ms=42\nlog.retention.hours=1\n").log.retention_ms == 42);
  CHECK(parse_ok(minimal + "log.retention.hours=-1\n").log.retention_ms == -1);
  CHECK(parse_ok(minimal + "log.retention.ms=-1\n").log.retention_ms == -1);
  // flush.ms unset follows the flush scheduler's interval.
  BrokerConfig c = parse_ok(minimal + "log.flush.scheduler.interval.ms=2000\n");
  CHECK(c.log_flush_scheduler_interval_ms == 2000);
  CHECK(c.log.flush_interval_ms == 2000);
  CHECK(parse_ok(minimal + "log.flush.scheduler.interval.ms=2000\nlog.flush.interval.ms=10\n").log.flush_interval_ms == 10);
  CHECK(parse_ok(minimal + "log.message.timestamp.type=LogAppendTime\n").log.log_append_time);
}

TEST_CASE("config: advertised listeners default to the broker listeners with a routable host", "[config]") {
  BrokerConfig c = parse_ok(minimal +
                            "listeners=PLAINTEXT://0.0.0.0:9092,CONTROLLER://:9093,INTERNAL://host-a:9094\n"
                            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,INTERNAL:PLAINTEXT\n"
                            "controller.listener.names=controller\n"
                            "inter.broker.listener.name=internal\n");
  REQUIRE(c.advertised_listeners.size() == 2);
  CHECK(c.advertised_listeners[0].listener_name == "PLAINTEXT");
  CHECK(c.advertised_listeners[0].host == "127.0.0.1");
  CHECK(c.advertised_listeners[1].listener_name == "INTERNAL");
  CHECK(c.advertised_listeners[1].host == "host-a");
  CHECK(c.inter_broker_listener_name == "INTERNAL");
  CHECK(c.listeners[0].host == "0.0.0.0");  // the listener itself still binds every interface
  CHECK(parse_error(minimal + "inter.broker.listener.name=OTHER\n") ==
        "server.properties:3: inter.broker.listener.name: OTHER is not among the advertised listeners");
  // IPv6 in brackets.
  BrokerConfig v6 = parse_ok(minimal + "listeners=PLAINTEXT://[::1]:9092\n");
  CHECK(v6.listeners[0].host == "::1");
}

TEST_CASE("config: a config without process.roles or voters stops start-up, saying what to add", "[config]") {
  auto no_roles = parse_broker_config(minimal, "server.properties", {});
  REQUIRE_FALSE(no_roles.ok());
  CHECK_THAT(no_roles.error().message, Catch::StartsWith("server.properties: process.roles: is not set"));
  CHECK_THAT(no_roles.error().message, Catch::Contains("process.roles=broker,controller"));
  CHECK_THAT(no_roles.error().message, Catch::Contains("controller.quorum.voters=1@127.0.0.1:9093"));
  auto no_voters = parse_broker_config(minimal + "process.roles=broker\n", "server.properties", {});
  REQUIRE_FALSE(no_voters.ok());
  CHECK_THAT(no_voters.error().message, Catch::StartsWith("server.properties: controller.quorum.voters: is not set"));
}

TEST_CASE("config: KRaft settings are validated and stored", "[config]") {
  CHECK(parse_error(minimal + "process.roles=broker,leader\n") ==
        "server.properties:3: process.roles: 'leader' is not one of broker, controller");
  CHECK(parse_error(minimal + "controller.quorum.voters=1@h:9093,x@h:9094\n") ==
        "server.properties:3: controller.quorum.voters: 'x@h:9094' is not a voter (id@host:port, e.g. 1@127.0.0.1:9093)");
  CHECK(parse_error(minimal + "controller.quorum.voters=1@h:9093,1@g:9093\n") ==
        "server.properties:3: controller.quorum.voters: voter id 1 appears twice");
  CHECK(parse_error(minimal + "process.roles=controller\ncontroller.listener.names=CONTROLLER\n") ==
        "server.properties:4: controller.listener.names: a controller needs one of controller.listener.names among its listeners");
  CHECK(parse_error(minimal +
                    "process.roles=broker,controller\ncontroller.listener.names=CONTROLLER\n"
                    "listeners=PLAINTEXT://:9092,CONTROLLER://:9093\n"
                    "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT\n"
                    "controller.quorum.voters=2@h:9093\n") ==
        "server.properties:7: controller.quorum.voters: a controller's node.id 1 must be one of the voters");
}

// ---- topic configs ----

TEST_CASE("config: topic configs override the broker's log settings", "[config]") {
  const BrokerConfig c = parse_ok(minimal + "log.retention.hours=1\n");
  auto log = apply_topic_configs(c.log, {{"retention.ms", "1000"},
                                         {"segment.bytes", "1048576"},
                                         {"segment.ms", "60000"},
                                         {"segment.index.bytes", "4096"},
                                         {"index.interval.bytes", "100"},
                                         {"retention.bytes", "5000000"},
                                         {"flush.messages", "1"},
                                         {"flush.ms", "5"},
                                         {"file.delete.delay.ms", "0"},
                                         {"max.message.bytes", "2000000"},
                                         {"message.timestamp.type", "LogAppendTime"},
                                         {"message.timestamp.before.max.ms", "60000"},
                                         {"message.timestamp.after.max.ms", "0"},
                                         {"cleanup.policy", "delete"}});
  REQUIRE(log.ok());
  CHECK(log->timestamp_before_max_ms == 60000);
  CHECK(log->timestamp_after_max_ms == 0);
  CHECK_FALSE(apply_topic_configs(c.log, {{"message.timestamp.after.max.ms", "-1"}}).ok());
  CHECK(log->retention_ms == 1000);
  CHECK(log->segment_bytes == 1048576);
  CHECK(log->segment_ms == 60000);
  CHECK(log->segment_index_bytes == 4096);
  CHECK(log->index_interval_bytes == 100);
  CHECK(log->retention_bytes == 5000000);
  CHECK(log->flush_interval_messages == 1);
  CHECK(log->flush_interval_ms == 5);
  CHECK(log->file_delete_delay_ms == 0);
  CHECK(log->max_message_bytes == 2000000);
  CHECK(log->log_append_time);
  // What a topic does not override stays the broker's.
  auto plain = apply_topic_configs(c.log, {});
  REQUIRE(plain.ok());
  CHECK(plain->retention_ms == 3'600'000);
}

TEST_CASE("config: a bad topic config is an error naming the key", "[config]") {
  const storage::LogConfig base;
  auto unknown = apply_topic_configs(base, {{"retention.msec", "1"}});
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error().message == "topic config: retention.msec: unknown topic config (did you mean retention.ms?)");
  auto bad = apply_topic_configs(base, {{"segment.bytes", "1"}});
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message == "topic config: segment.bytes: 1 is below the minimum 14");
  auto policy = apply_topic_configs(base, {{"cleanup.policy", "delete,shred"}});
  REQUIRE_FALSE(policy.ok());
  CHECK(policy.error().message == "topic config: cleanup.policy: 'shred' is not one of delete, compact");
  // Broker key names are not topic configs.
  CHECK_FALSE(apply_topic_configs(base, {{"log.retention.ms", "1"}}).ok());
}

// Every topic config Kafka 4 defines (its LogConfig), sorted.
const std::vector<std::string> kafka4_topic_configs{
    "cleanup.policy", "compression.gzip.level", "compression.lz4.level", "compression.type", "compression.zstd.level",
    "delete.retention.ms", "file.delete.delay.ms", "flush.messages", "flush.ms", "follower.replication.throttled.replicas",
    "index.interval.bytes", "leader.replication.throttled.replicas", "local.retention.bytes", "local.retention.ms",
    "max.compaction.lag.ms", "max.message.bytes", "message.timestamp.after.max.ms", "message.timestamp.before.max.ms",
    "message.timestamp.type", "min.cleanable.dirty.ratio", "min.compaction.lag.ms", "min.insync.replicas", "preallocate",
    "remote.log.copy.disable", "remote.log.delete.on.disable", "remote.storage.enable", "retention.bytes", "retention.ms",
    "segment.bytes", "segment.index.bytes", "segment.jitter.ms", "segment.ms", "unclean.leader.election.enable"};

// A valid value and an invalid one for every topic config, with the problem Keel names.
struct TopicConfigCase {
  std::string key;
  std::string good;
  std::string bad;
  std::string problem;
};

// data table: longer than 70 lines by design
const std::vector<TopicConfigCase> topic_config_cases{
    {"cleanup.policy", "compact,delete", "tidy", "'tidy' is not one of delete, compact"},
    {"compression.gzip.level", "9", "10", "10 is not -1 or a level from 1 to 9"},
    {"compression.lz4.level", "17", "0", "0 is below the minimum 1"},
    {"compression.type", "zstd", "brotli", "'brotli' is not one of uncompressed, zstd, lz4, snappy, gzip, producer"},
    {"compression.zstd.level", "-5", "23", "23 is above the maximum 22"},
    {"delete.retention.ms", "0", "-1", "-1 is below the minimum 0"},
    {"file.delete.delay.ms", "0", "-1", "-1 is below the minimum 0"},
    {"flush.messages", "1", "0", "0 is below the minimum 1"},
    {"flush.ms", "0", "soon", "'soon' is not a 64-bit integer"},
    {"follower.replication.throttled.replicas", "0:1,1:2", "0-1", "'0-1' is not [partitionId]:[brokerId] (or '*' for every replica)"},
    {"index.interval.bytes", "0", "-1", "-1 is below the minimum 0"},
    {"leader.replication.throttled.replicas", "*", "*,0:1", "'*' must stand alone"},
    {"local.retention.bytes", "-2", "-3", "-3 is below the minimum -2"},
    {"local.retention.ms", "1000", "-3", "-3 is below the minimum -2"},
    {"max.compaction.lag.ms", "1", "0", "0 is below the minimum 1"},
    {"max.message.bytes", "0", "2147483648", "2147483648 does not fit a 32-bit integer"},
    {"message.timestamp.after.max.ms", "0", "-1", "-1 is below the minimum 0"},
    {"message.timestamp.before.max.ms", "0", "-1", "-1 is below the minimum 0"},
    {"message.timestamp.type", "LogAppendTime", "logappendtime", "'logappendtime' is not one of CreateTime, LogAppendTime"},
    {"min.cleanable.dirty.ratio", "0.25", "1.5", "1.5 is outside 0 to 1"},
    {"min.compaction.lag.ms", "0", "-1", "-1 is below the minimum 0"},
    {"min.insync.replicas", "2", "0", "0 is below the minimum 1"},
    {"preallocate", "true", "yes", "'yes' is not a boolean (true or false)"},
    {"remote.log.copy.disable", "false", "1", "'1' is not a boolean (true or false)"},
    {"remote.log.delete.on.disable", "true", "no", "'no' is not a boolean (true or false)"},
    {"remote.storage.enable", "false", "off", "'off' is not a boolean (true or false)"},
    {"retention.bytes", "-1", "1e9", "'1e9' is not a 64-bit integer"},
    {"retention.ms", "-1", "-2", "-2 is below the minimum -1"},
    {"segment.bytes", "1048576", "13", "13 is below the minimum 14"},
    {"segment.index.bytes", "4", "3", "3 is below the minimum 4"},
    {"segment.jitter.ms", "0", "-1", "-1 is below the minimum 0"},
    {"segment.ms", "1", "0", "0 is below the minimum 1"},
    {"unclean.leader.election.enable", "TRUE", "maybe", "'maybe' is not a boolean (true or false)"},
};

TEST_CASE("config: every Kafka 4 topic config is accepted, and a bad value refused naming the key and the value", "[config]") {
  CHECK(topic_config_names() == kafka4_topic_configs);
  std::vector<std::string> tested;
  for (const auto& c : topic_config_cases) tested.push_back(c.key);
  CHECK(tested == kafka4_topic_configs);  // one case per key, none missing
  const storage::LogConfig base;
  for (const auto& c : topic_config_cases) {
    INFO(c.key);
    CHECK(apply_topic_configs(base, {{c.key, c.good}}).ok());
    auto bad = apply_topic_configs(base, {{c.key, c.bad}});
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().message == "topic config: " + c.key + ": " + c.problem);
  }
  // A topic may say retention.ms=0 (Kafka's LogConfig: at least -1); only the broker's
  // log.retention.* refuse 0 (KafkaConfig), which the broker config test shows.
  auto zero = apply_topic_configs(base, {{"retention.ms", "0"}});
  REQUIRE(zero.ok());
  CHECK(zero->retention_ms == 0);
}

TEST_CASE("config: the topic configs Keel acts on set the log's fields; the others are kept as given", "[config]") {
  const storage::LogConfig base;
  auto log = apply_topic_configs(base, {{"compression.type", "lz4"},
                                        {"cleanup.policy", "compact"},
                                        {"segment.jitter.ms", "500"},
                                        {"min.insync.replicas", "2"},
                                        {"unclean.leader.election.enable", "true"},
                                        {"remote.storage.enable", "true"},
                                        {"min.cleanable.dirty.ratio", "0.1"}});
  REQUIRE(log.ok());
  CHECK(log->compression == protocol::Compression::lz4);
  CHECK_FALSE(log->cleanup_delete);
  CHECK(log->cleanup_compact);
  CHECK(log->segment_jitter_ms == 500);
  CHECK(log->min_insync_replicas == 2);
  CHECK(log->unclean_leader_election);
  CHECK(log->inert.at("remote.storage.enable") == "true");
  CHECK(log->inert.at("min.cleanable.dirty.ratio") == "0.1");
  CHECK(apply_topic_configs(base, {{"compression.type", "uncompressed"}})->compression == protocol::Compression::none);
  CHECK_FALSE(apply_topic_configs(base, {{"compression.type", "producer"}})->compression.has_value());
  CHECK_FALSE(base.compression.has_value());  // Kafka's default: producer
  auto both = apply_topic_configs(base, {{"cleanup.policy", "delete, compact"}});
  CHECK((both->cleanup_delete && both->cleanup_compact));
}

TEST_CASE("config: the broker keys behind topic configs parse, and topic-only keys are not broker keys", "[config]") {
  const BrokerConfig c = parse_ok(minimal + "compression.type=gzip\nlog.roll.jitter.hours=1\nlog.cleanup.policy=compact\n"
                                            "log.cleaner.min.cleanable.ratio=0.75\nlog.local.retention.ms=5000\n");
  CHECK(c.log.compression == protocol::Compression::gzip);
  CHECK(c.log.segment_jitter_ms == 3'600'000);
  CHECK_FALSE(c.log.cleanup_delete);
  CHECK(parse_error(minimal + "log.roll.jitter.ms=-1\n") == "server.properties:3: log.roll.jitter.ms: -1 is below the minimum 0");
  CHECK(parse_error(minimal + "log.cleaner.min.cleanable.ratio=2\n") ==
        "server.properties:3: log.cleaner.min.cleanable.ratio: 2 is outside 0 to 1");
  CHECK(parse_error(minimal + "remote.storage.enable=true\n").find("remote.storage.enable: unknown key") != std::string::npos);
  const auto entries = describe_topic_config(c, {});
  CHECK(entry(entries, "compression.type")->value == "gzip");
  CHECK(entry(entries, "compression.type")->source == config_source_static_broker);
  CHECK(entry(entries, "segment.jitter.ms")->value == "3600000");
  CHECK(entry(entries, "min.cleanable.dirty.ratio")->value == "0.75");
  CHECK(entry(entries, "local.retention.ms")->value == "5000");
  CHECK(entry(entries, "remote.storage.enable")->value == "false");
  CHECK(entry(entries, "remote.storage.enable")->source == config_source_default);
}

TEST_CASE("config: describe gives each topic config its synonyms, most precedent first", "[config]") {
  const BrokerConfig c = parse_ok(minimal + "log.retention.minutes=30\nlog.retention.hours=2\n");
  const auto entries = describe_topic_config(c, {{"retention.ms", "1000"}});
  using S = ConfigSynonym;
  CHECK(entry(entries, "retention.ms")->synonyms ==
        std::vector<S>{{"retention.ms", "1000", config_source_dynamic_topic},
                       {"log.retention.minutes", "30", config_source_static_broker},
                       {"log.retention.hours", "2", config_source_static_broker},
                       {"log.retention.hours", "168", config_source_default}});
  CHECK(entry(entries, "segment.bytes")->synonyms ==
        std::vector<S>{{"log.segment.bytes", "1073741824", config_source_default}});
  CHECK(entry(entries, "max.message.bytes")->synonyms ==
        std::vector<S>{{"message.max.bytes", "1048588", config_source_default}});
  CHECK(entry(entries, "remote.storage.enable")->synonyms ==
        std::vector<S>{{"remote.storage.enable", "false", config_source_default}});
  // Types as Kafka numbers them, and documentation for every topic config.
  CHECK(entry(entries, "retention.ms")->type == 5);
  CHECK(entry(entries, "segment.bytes")->type == 3);
  CHECK(entry(entries, "cleanup.policy")->type == 7);
  CHECK(entry(entries, "preallocate")->type == 1);
  CHECK(entry(entries, "compression.type")->type == 2);
  CHECK(entry(entries, "min.cleanable.dirty.ratio")->type == 6);
  for (const auto& e : entries) {
    INFO(e.name);
    CHECK_FALSE(e.documentation.empty());
    CHECK_FALSE(e.synonyms.empty());
  }
  const auto broker = describe_broker_config(c);
  CHECK(entry(broker, "log.retention.hours")->synonyms ==
        std::vector<S>{{"log.retention.hours", "2", config_source_static_broker},
                       {"log.retention.hours", "168", config_source_default}});
}

TEST_CASE("config: dynamic broker configs change the log defaults and are described as dynamic", "[config]") {
  const BrokerConfig c = parse_ok(minimal + "log.retention.hours=2\n");
  CHECK(dynamic_broker_key("log.retention.ms"));
  CHECK(dynamic_broker_key("compression.type"));
  CHECK_FALSE(dynamic_broker_key("num.partitions"));
  CHECK_FALSE(dynamic_broker_key("remote.storage.enable"));  // a topic-only key
  auto log = apply_broker_configs(c.log, {{"log.retention.ms", "1000"}, {"log.cleanup.policy", "compact"}});
  REQUIRE(log.ok());
  CHECK(log->retention_ms == 1000);
  CHECK_FALSE(log->cleanup_delete);
  CHECK(apply_broker_configs(c.log, {{"num.partitions", "3"}}).error().message ==
        "broker config: num.partitions: cannot be changed at run time (only the log defaults of topic configs can)");
  CHECK(apply_broker_configs(c.log, {{"log.segment.bytes", "1"}}).error().message ==
        "broker config: log.segment.bytes: 1 is below the minimum 14");
  const DynamicBrokerConfigs dynamic{{{"log.retention.ms", "5000"}, {"log.segment.bytes", "65536"}},
                                     {{"log.segment.bytes", "32768"}}};
  const auto topic = describe_topic_config(c, {}, dynamic);
  CHECK(entry(topic, "retention.ms")->value == "5000");
  CHECK(entry(topic, "retention.ms")->source == config_source_dynamic_default_broker);
  CHECK(entry(topic, "segment.bytes")->value == "32768");
  CHECK(entry(topic, "segment.bytes")->source == config_source_dynamic_broker);
  using S = ConfigSynonym;
  CHECK(entry(topic, "segment.bytes")->synonyms ==
        std::vector<S>{{"log.segment.bytes", "32768", config_source_dynamic_broker},
                       {"log.segment.bytes", "65536", config_source_dynamic_default_broker},
                       {"log.segment.bytes", "1073741824", config_source_default}});
  const auto broker = describe_broker_config(c, dynamic);
  CHECK(entry(broker, "log.retention.ms")->value == "5000");
  CHECK_FALSE(entry(broker, "log.retention.ms")->read_only);
  CHECK(entry(broker, "num.partitions")->read_only);
}

// ---- DescribeConfigs ----

TEST_CASE("config: describe lists every broker key sorted, given ones as static, the rest as defaults", "[config]") {
  const BrokerConfig c = parse_ok(minimal + "num.partitions=3\nlog.retention.hours=2\nnum.io.threads=4\n");
  const auto entries = describe_broker_config(c);
  REQUIRE(entries.size() > 40);
  for (std::size_t i = 1; i < entries.size(); ++i) CHECK(entries[i - 1].name < entries[i].name);
  const ConfigEntry* partitions = entry(entries, "num.partitions");
  REQUIRE(partitions != nullptr);
  CHECK(partitions->value == "3");
  CHECK_FALSE(partitions->is_default);
  CHECK(partitions->source == config_source_static_broker);
  CHECK(partitions->read_only);
  const ConfigEntry* segment = entry(entries, "log.segment.bytes");
  REQUIRE(segment != nullptr);
  CHECK(segment->value == "1073741824");
  CHECK(segment->is_default);
  CHECK(segment->source == config_source_default);
  // A key with no default of its own shows the effective value, static when set by a coarser key.
  const ConfigEntry* retention = entry(entries, "log.retention.ms");
  REQUIRE(retention != nullptr);
  CHECK(retention->value == "7200000");
  CHECK(retention->source == config_source_static_broker);
  const ConfigEntry* roll = entry(entries, "log.roll.ms");
  REQUIRE(roll != nullptr);
  CHECK(roll->value == "604800000");
  CHECK(roll->is_default);
  CHECK(entry(entries, "num.io.threads")->value == "4");
  CHECK(entry(entries, "listeners")->value == "PLAINTEXT://:9092");
  CHECK(entry(entries, "log.dir") == nullptr);  // neither given nor defaulted
}

TEST_CASE("config: describe of a topic gives each topic key its value and where it came from", "[config]") {
  const BrokerConfig c = parse_ok(minimal + "log.segment.bytes=1048576\n");
  const auto entries = describe_topic_config(c, {{"retention.ms", "1000"}});
  std::vector<std::string> names;
  for (const auto& e : entries) names.push_back(e.name);
  CHECK(names == kafka4_topic_configs);
  const ConfigEntry* retention = entry(entries, "retention.ms");
  CHECK(retention->value == "1000");
  CHECK(retention->source == config_source_dynamic_topic);
  CHECK_FALSE(retention->is_default);
  CHECK_FALSE(retention->read_only);
  const ConfigEntry* segment = entry(entries, "segment.bytes");
  CHECK(segment->value == "1048576");
  CHECK(segment->source == config_source_static_broker);
  CHECK_FALSE(segment->is_default);
  const ConfigEntry* flush = entry(entries, "flush.messages");
  CHECK(flush->value == "9223372036854775807");
  CHECK(flush->source == config_source_default);
  CHECK(flush->is_default);
  CHECK(entry(entries, "cleanup.policy")->value == "delete");
  CHECK(entry(entries, "message.timestamp.type")->value == "CreateTime");
  CHECK(entry(entries, "message.timestamp.after.max.ms")->value == "3600000");  // Kafka 4's default
  CHECK(entry(entries, "message.timestamp.before.max.ms")->value == "9223372036854775807");
}
