#pragma once
// Metadata (key 3), versions 0-12; flexible from 9. v10 adds topic ids; a request topic may name
// its topic by id with a null name from v10 (Kafka serves that from v12), and a response topic's
// name may be null from v12 (a topic id the broker does not know).
#include "broker/protocol/schema.h"

#include <limits>

namespace keel::protocol {

struct MetadataRequest {
  static constexpr ApiKey api_key = ApiKey::metadata;
  static constexpr bool is_request = true;
  static constexpr std::string_view message_name = "MetadataRequest";

  struct MetadataRequestTopic {
    Uuid topic_id;
    std::optional<std::string> name;

    template <class V>
    static void fields(V& v) {
      using S = MetadataRequestTopic;
      v.field("topic_id", &S::topic_id, versions(10));
      v.field("name", &S::name, versions(0).nullable(10));
    }
    bool operator==(const MetadataRequestTopic&) const = default;
  };

  // Null (v1+) asks for every topic; so does an empty list in v0, which is what null becomes there.
  std::optional<std::vector<MetadataRequestTopic>> topics;
  bool allow_auto_topic_creation = true;
  bool include_cluster_authorized_operations = false;
  bool include_topic_authorized_operations = false;

  template <class V>
  static void fields(V& v) {
    using S = MetadataRequest;
    v.field("topics", &S::topics, versions(0).nullable(1));
    v.field("allow_auto_topic_creation", &S::allow_auto_topic_creation, versions(4));
    v.field("include_cluster_authorized_operations", &S::include_cluster_authorized_operations, versions(8, 10));
    v.field("include_topic_authorized_operations", &S::include_topic_authorized_operations, versions(8));
  }
  bool operator==(const MetadataRequest&) const = default;
};

struct MetadataResponse {
  static constexpr ApiKey api_key = ApiKey::metadata;
  static constexpr bool is_request = false;
  static constexpr std::string_view message_name = "MetadataResponse";

  static constexpr std::int32_t authorized_operations_unknown = std::numeric_limits<std::int32_t>::min();

  struct MetadataResponseBroker {
    std::int32_t node_id = 0;
    std::string host;
    std::int32_t port = 0;
    std::optional<std::string> rack;

    template <class V>
    static void fields(V& v) {
      using S = MetadataResponseBroker;
      v.field("node_id", &S::node_id, versions(0));
      v.field("host", &S::host, versions(0));
      v.field("port", &S::port, versions(0));
      v.field("rack", &S::rack, versions(1).nullable(1));
    }
    bool operator==(const MetadataResponseBroker&) const = default;
  };

  struct MetadataResponsePartition {
    std::int16_t error_code = 0;
    std::int32_t partition_index = 0;
    std::int32_t leader_id = 0;
    std::int32_t leader_epoch = -1;
    std::vector<std::int32_t> replica_nodes;
    std::vector<std::int32_t> isr_nodes;
    std::vector<std::int32_t> offline_replicas;

    template <class V>
    static void fields(V& v) {
      using S = MetadataResponsePartition;
      v.field("error_code", &S::error_code, versions(0));
      v.field("partition_index", &S::partition_index, versions(0));
      v.field("leader_id", &S::leader_id, versions(0));
      v.field("leader_epoch", &S::leader_epoch, versions(7));
      v.field("replica_nodes", &S::replica_nodes, versions(0));
      v.field("isr_nodes", &S::isr_nodes, versions(0));
      v.field("offline_replicas", &S::offline_replicas, versions(5));
    }
    bool operator==(const MetadataResponsePartition&) const = default;
  };

  struct MetadataResponseTopic {
    std::int16_t error_code = 0;
    std::optional<std::string> name;
    Uuid topic_id;
    bool is_internal = false;
    std::vector<MetadataResponsePartition> partitions;
    std::int32_t topic_authorized_operations = authorized_operations_unknown;

    template <class V>
    static void fields(V& v) {
      using S = MetadataResponseTopic;
      v.field("error_code", &S::error_code, versions(0));
      v.field("name", &S::name, versions(0).nullable(12));
      v.field("topic_id", &S::topic_id, versions(10));
      v.field("is_internal", &S::is_internal, versions(1));
      v.field("partitions", &S::partitions, versions(0));
      v.field("topic_authorized_operations", &S::topic_authorized_operations, versions(8));
    }
    bool operator==(const MetadataResponseTopic&) const = default;
  };

  std::int32_t throttle_time_ms = 0;
  std::vector<MetadataResponseBroker> brokers;
  std::optional<std::string> cluster_id;
  std::int32_t controller_id = -1;
  std::vector<MetadataResponseTopic> topics;
  std::int32_t cluster_authorized_operations = authorized_operations_unknown;

  template <class V>
  static void fields(V& v) {
    using S = MetadataResponse;
    v.field("throttle_time_ms", &S::throttle_time_ms, versions(3));
    v.field("brokers", &S::brokers, versions(0));
    v.field("cluster_id", &S::cluster_id, versions(2).nullable(2));
    v.field("controller_id", &S::controller_id, versions(1));
    v.field("topics", &S::topics, versions(0));
    v.field("cluster_authorized_operations", &S::cluster_authorized_operations, versions(8, 10));
  }
  bool operator==(const MetadataResponse&) const = default;
};

}  // namespace keel::protocol
