#pragma once
// A broker's configuration: a Kafka-style server.properties, then `--override key=value`s in order,
// and the topic-level configs that override the broker's log.* defaults per topic. One table of
// known keys (config.cpp) drives parsing, validation, the defaults and DescribeConfigs. An unknown
// key, a bad value or a missing required key is an error naming the key, the problem and where it
// was given ("server.properties:12", "--override 'key=value'"); start-up stops there.
//
// Keys Kafka has that mean nothing to Keel (thread counts, socket buffers, internal topics'
// replication) are accepted, type-checked and ignored: ignored_keys() lists those given, so start-up
// can say so. zookeeper.* keys are errors: Keel runs in KRaft mode only.
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "broker/base/result.h"
#include "broker/storage/log_config.h"

namespace keel::config {

// One listener: "PLAINTEXT://127.0.0.1:9092". The name is upper-cased, as Kafka does. An empty host
// ("PLAINTEXT://:9092") listens on every interface; port 0 takes an ephemeral port.
struct Endpoint {
  std::string listener_name;
  std::string host;
  std::uint16_t port = 0;
};

// One controller.quorum.voters entry: "1@127.0.0.1:9093".
struct QuorumVoter {
  std::int32_t id = -1;
  std::string host;
  std::uint16_t port = 0;
};

struct BrokerConfig {
  std::int32_t node_id = -1;                   // node.id (required; broker.id is accepted as its alias)
  std::vector<Endpoint> listeners;             // listeners (default PLAINTEXT://:9092)
  // advertised.listeners: what Metadata tells clients. Default: the listeners that are not
  // controller listeners, with an empty or wildcard host (0.0.0.0, ::) advertised as 127.0.0.1; an
  // explicit entry with an empty host is advertised as 127.0.0.1 too.
  std::vector<Endpoint> advertised_listeners;
  std::vector<std::string> log_dirs;           // log.dirs, else log.dir (one of them is required)
  std::int32_t num_partitions = 1;             // num.partitions
  std::int16_t default_replication_factor = 1; // default.replication.factor
  bool auto_create_topics_enable = true;       // auto.create.topics.enable
  std::int32_t socket_request_max_bytes = 104857600;  // socket.request.max.bytes: largest request frame
  storage::LogConfig log;                      // the log.* defaults of every topic (log_config.h)
  std::int64_t log_retention_check_interval_ms = 300000;  // log.retention.check.interval.ms
  std::int64_t log_initial_task_delay_ms = 30000;         // log.initial.task.delay.ms: before the first retention and flush passes
  // log.flush.scheduler.interval.ms: how often logs are checked against flush.ms (never, as Kafka).
  std::int64_t log_flush_scheduler_interval_ms = std::numeric_limits<std::int64_t>::max();
  std::int64_t log_flush_offset_checkpoint_interval_ms = 60000;  // log.flush.offset.checkpoint.interval.ms
  // queued.max.requests: in Keel, the most requests one connection may have read and not yet
  // answered; the connection stops reading at the bound (Kafka bounds one broker-wide queue).
  std::int32_t queued_max_requests = 500;
  std::string cluster_id;                      // cluster.id (a Keel extension; empty: the broker picks one)

  // KRaft: every node runs the metadata quorum (a single node is a one-voter combined node).
  std::vector<std::string> process_roles;                       // process.roles: broker, controller
  std::vector<QuorumVoter> controller_quorum_voters;            // controller.quorum.voters
  std::vector<std::string> controller_quorum_bootstrap_servers; // controller.quorum.bootstrap.servers
  std::vector<std::string> controller_listener_names;           // controller.listener.names (upper-cased)
  std::string inter_broker_listener_name;                       // inter.broker.listener.name ("": the first advertised)
  // listener.security.protocol.map as given (upper-cased). Only PLAINTEXT is supported; without a
  // map, a listener's name must itself be PLAINTEXT.
  std::map<std::string, std::string> listener_security_protocol_map;

  // Replication and the metadata quorum.
  std::int64_t replica_lag_time_max_ms = 30000;        // replica.lag.time.max.ms
  std::int64_t replica_fetch_wait_max_ms = 500;        // replica.fetch.wait.max.ms
  std::int64_t replica_fetch_backoff_ms = 1000;        // replica.fetch.backoff.ms
  std::int32_t replica_fetch_max_bytes = 1048576;      // replica.fetch.max.bytes
  std::int64_t replica_high_watermark_checkpoint_interval_ms = 5000;  // replica.high.watermark.checkpoint.interval.ms
  std::int64_t broker_heartbeat_interval_ms = 2000;    // broker.heartbeat.interval.ms
  std::int64_t broker_session_timeout_ms = 9000;       // broker.session.timeout.ms
  std::int64_t quorum_election_timeout_ms = 1000;      // controller.quorum.election.timeout.ms
  std::int64_t quorum_fetch_timeout_ms = 2000;         // controller.quorum.fetch.timeout.ms
  std::int64_t quorum_election_backoff_max_ms = 1000;  // controller.quorum.election.backoff.max.ms
  std::int64_t quorum_request_timeout_ms = 2000;       // controller.quorum.request.timeout.ms
  bool auto_leader_rebalance_enable = true;            // auto.leader.rebalance.enable
  std::int64_t leader_imbalance_check_interval_seconds = 300;  // leader.imbalance.check.interval.seconds
  std::string metadata_log_dir;                        // metadata.log.dir ("": the first log dir)
  std::int64_t metadata_snapshot_bytes = 20971520;     // metadata.log.max.record.bytes.between.snapshots

  // Consumer groups and __consumer_offsets.
  std::int32_t offsets_topic_num_partitions = 50;        // offsets.topic.num.partitions
  std::int16_t offsets_topic_replication_factor = 3;     // offsets.topic.replication.factor
  std::int32_t offsets_topic_segment_bytes = 104857600;  // offsets.topic.segment.bytes
  std::int32_t offsets_commit_timeout_ms = 5000;         // offsets.commit.timeout.ms
  bool coordinator_writes_in_flight = true;              // keel.coordinator.writes.in.flight
  std::int32_t group_initial_rebalance_delay_ms = 3000;  // group.initial.rebalance.delay.ms
  std::int32_t group_min_session_timeout_ms = 6000;      // group.min.session.timeout.ms
  std::int32_t group_max_session_timeout_ms = 1800000;   // group.max.session.timeout.ms
  std::int32_t group_max_size = std::numeric_limits<std::int32_t>::max();  // group.max.size
  std::int32_t group_consumer_session_timeout_ms = 45000;  // group.consumer.session.timeout.ms (KIP-848)
  std::int32_t group_consumer_heartbeat_interval_ms = 5000;  // group.consumer.heartbeat.interval.ms (KIP-848)

  std::map<std::string, std::string> values;   // every key as given (the file, then the overrides)

  bool has_role(std::string_view role) const {
    for (const auto& r : process_roles) {
      if (r == role) return true;
    }
    return false;
  }
};

// Parses properties text (properties.h), then applies `overrides` ("key=value") in order: the last
// value of a key wins. `source_name` names the file in errors. Errc::invalid_argument on any error.
Result<BrokerConfig> parse_broker_config(std::string_view properties_text, std::string_view source_name,
                                         std::span<const std::string> overrides);

// `base` (the broker's log settings) overridden by a topic's configs: retention.ms, retention.bytes,
// and every other topic config of Kafka 4 (topic_config_names(); those Keel does not act on are kept
// in LogConfig::inert). The error names the key and says what is wrong with the value.
Result<storage::LogConfig> apply_topic_configs(const storage::LogConfig& base,
                                               const std::map<std::string, std::string>& topic_configs);

// Kafka's DescribeConfigs ConfigSource values that Keel reports.
inline constexpr int config_source_dynamic_topic = 1;
inline constexpr int config_source_dynamic_broker = 2;          // this broker's, set at run time
inline constexpr int config_source_dynamic_default_broker = 3;  // the cluster-wide default, set at run time
inline constexpr int config_source_static_broker = 4;
inline constexpr int config_source_default = 5;

// Where else a config's value could come from, most precedent first (DescribeConfigs v1+ with
// include_synonyms): the topic's own value, the broker keys given in server.properties, the default.
struct ConfigSynonym {
  std::string name;
  std::string value;
  int source = config_source_default;
  bool operator==(const ConfigSynonym&) const = default;
};

struct ConfigEntry {
  std::string name;
  std::string value;
  bool is_default = true;
  bool read_only = false;
  bool is_sensitive = false;
  int source = config_source_default;
  std::vector<ConfigSynonym> synonyms;
  std::int8_t type = 0;        // Kafka's ConfigType: 1 boolean, 2 string, 3 int, 5 long, 6 double, 7 list
  std::string documentation;   // empty: none
};

// What the alter path needs of a topic key: whether it is a list (APPEND and SUBTRACT apply only
// to lists) and its default as text (what APPEND extends when the topic has no value of its own).
struct TopicConfigKind {
  bool is_list = false;
  std::string default_text;
};
std::optional<TopicConfigKind> topic_config_kind(std::string_view name);

// Every topic config key Keel knows (Kafka 4's), sorted.
std::vector<std::string> topic_config_names();

// Broker configs changed at run time (AlterConfigs on a broker resource, kept in the metadata log):
// the cluster-wide default (resource "") and this broker's own, by broker key. Only the log.* keys
// behind topic configs may be set this way (dynamic_broker_key); they apply to every topic that does
// not set the topic config itself, without a restart.
struct DynamicBrokerConfigs {
  std::map<std::string, std::string> cluster_default;
  std::map<std::string, std::string> this_broker;
};
bool dynamic_broker_key(std::string_view name);
// `base` with dynamic broker configs applied (keys as dynamic_broker_key; errors name the key).
Result<storage::LogConfig> apply_broker_configs(const storage::LogConfig& base,
                                                const std::map<std::string, std::string>& broker_configs);
// The broker key's kind for the alter path (as topic_config_kind), when it is a dynamic one.
std::optional<TopicConfigKind> broker_config_kind(std::string_view name);

// Every broker key Keel knows, sorted by name: the value as given (source 4) or the default
// (source 5). A key with no default of its own (log.roll.ms, log.retention.ms, log.flush.interval.ms)
// shows its effective value. All are read-only: Keel does not change broker configs at run time.
std::vector<ConfigEntry> describe_broker_config(const BrokerConfig& config, const DynamicBrokerConfigs& dynamic = {});

// Every topic-level key, sorted by name, with its effective value: the topic's override (source 1),
// else the broker's setting (source 4 when the broker's key was given, else 5, the default).
std::vector<ConfigEntry> describe_topic_config(const BrokerConfig& config,
                                               const std::map<std::string, std::string>& topic_overrides,
                                               const DynamicBrokerConfigs& dynamic = {});

// The keys given that Kafka has and Keel accepts with no effect, sorted, for a start-up message.
std::vector<std::string> ignored_keys(const BrokerConfig& config);

// Levenshtein distance between two names, for "did you mean" suggestions.
std::size_t edit_distance(std::string_view a, std::string_view b);

}  // namespace keel::config
