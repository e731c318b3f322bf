#pragma once
// A broker's configuration from a Kafka-style server.properties plus `--override key=value`s, and
// the topic-level configs that override the broker's log.* defaults per topic. One table of known
// keys drives parsing, validation and DescribeConfigs. An unknown key, a bad value or a missing
// required key is an error naming the key and where it was given; start-up stops there.
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "broker/platform/result.h"
#include "broker/storage/log_config.h"

namespace keel::server {

struct Endpoint {
  std::string listener_name;  // PLAINTEXT
  std::string host;           // may be empty: all interfaces
  std::uint16_t port = 0;
};

struct BrokerConfig {
  std::int32_t node_id = -1;                   // node.id (required; broker.id is an alias)
  std::vector<Endpoint> listeners;             // listeners (default PLAINTEXT://:9092)
  // advertised.listeners (default: the listeners, an empty host advertised as 127.0.0.1)
  std::vector<Endpoint> advertised_listeners;
  std::vector<std::string> log_dirs;           // log.dirs, else log.dir (one is required)
  std::int32_t num_partitions = 1;             // num.partitions
  std::int16_t default_replication_factor = 1; // default.replication.factor
  bool auto_create_topics_enable = true;       // auto.create.topics.enable
  std::int32_t socket_request_max_bytes = 104857600;  // socket.request.max.bytes
  storage::LogConfig log;                      // the log.* defaults of every topic
  std::int64_t log_retention_check_interval_ms = 300000;       // log.retention.check.interval.ms
  std::int64_t log_flush_scheduler_interval_ms = INT64_MAX;    // log.flush.scheduler.interval.ms
  std::int64_t log_flush_offset_checkpoint_interval_ms = 60000;  // log.flush.offset.checkpoint.interval.ms
  std::string cluster_id;                      // cluster.id (Keel; empty: "keel-cluster")
  std::map<std::string, std::string> values;   // every key as given (file, then overrides)
};

// Java .properties syntax: '#' and '!' comments, `key=value`, `key: value` or `key value`,
// backslash line continuations and escapes. `source_name` names the file in errors.
Result<BrokerConfig> parse_broker_config(std::string_view properties_text, std::string_view source_name,
                                         std::span<const std::string> overrides);

// The broker's log settings overridden by a topic's configs (retention.ms, segment.bytes, ...).
Result<storage::LogConfig> apply_topic_configs(const storage::LogConfig& base,
                                               const std::map<std::string, std::string>& topic_configs);

struct ConfigEntry {
  std::string name;
  std::string value;
  bool is_default = true;
  bool read_only = false;
  bool is_sensitive = false;
  int source = 5;  // DescribeConfigs ConfigSource: 1 topic, 4 static broker config, 5 default
};
std::vector<ConfigEntry> describe_broker_config(const BrokerConfig& config);
std::vector<ConfigEntry> describe_topic_config(const BrokerConfig& config,
                                               const std::map<std::string, std::string>& topic_overrides);
// Keys given that Kafka has and Keel accepts with no effect, for a start-up message.
std::vector<std::string> ignored_keys(const BrokerConfig& config);

}  // namespace keel::server
