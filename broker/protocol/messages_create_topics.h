#pragma once
// CreateTopics (key 19), versions 0-7; flexible from 5.
#include "broker/protocol/schema.h"

namespace keel::protocol {

struct CreateTopicsRequest {
  static constexpr ApiKey api_key = ApiKey::create_topics;
  static constexpr bool is_request = true;
  static constexpr std::string_view message_name = "CreateTopicsRequest";

  struct CreatableReplicaAssignment {
    std::int32_t partition_index = 0;
    std::vector<std::int32_t> broker_ids;

    template <class V>
    static void fields(V& v) {
      using S = CreatableReplicaAssignment;
      v.field("partition_index", &S::partition_index, versions(0));
      v.field("broker_ids", &S::broker_ids, versions(0));
    }
    bool operator==(const CreatableReplicaAssignment&) const = default;
  };

  struct CreatableTopicConfig {
    std::string name;
    std::optional<std::string> value;

    template <class V>
    static void fields(V& v) {
      using S = CreatableTopicConfig;
      v.field("name", &S::name, versions(0));
      v.field("value", &S::value, versions(0).nullable(0));
    }
    bool operator==(const CreatableTopicConfig&) const = default;
  };

  struct CreatableTopic {
    std::string name;
    std::int32_t num_partitions = 0;
    std::int16_t replication_factor = 0;
    std::vector<CreatableReplicaAssignment> assignments;
    std::vector<CreatableTopicConfig> configs;

    template <class V>
    static void fields(V& v) {
      using S = CreatableTopic;
      v.field("name", &S::name, versions(0));
      v.field("num_partitions", &S::num_partitions, versions(0));
      v.field("replication_factor", &S::replication_factor, versions(0));
      v.field("assignments", &S::assignments, versions(0));
      v.field("configs", &S::configs, versions(0));
    }
    bool operator==(const CreatableTopic&) const = default;
  };

  std::vector<CreatableTopic> topics;
  std::int32_t timeout_ms = 60000;
  bool validate_only = false;

  template <class V>
  static void fields(V& v) {
    using S = CreateTopicsRequest;
    v.field("topics", &S::topics, versions(0));
    v.field("timeout_ms", &S::timeout_ms, versions(0));
    v.field("validate_only", &S::validate_only, versions(1));
  }
  bool operator==(const CreateTopicsRequest&) const = default;
};

struct CreateTopicsResponse {
  static constexpr ApiKey api_key = ApiKey::create_topics;
  static constexpr bool is_request = false;
  static constexpr std::string_view message_name = "CreateTopicsResponse";

  struct CreatableTopicConfigs {
    std::string name;
    std::optional<std::string> value;
    bool read_only = false;
    std::int8_t config_source = -1;
    bool is_sensitive = false;

    template <class V>
    static void fields(V& v) {
      using S = CreatableTopicConfigs;
      v.field("name", &S::name, versions(5));
      v.field("value", &S::value, versions(5).nullable(5));
      v.field("read_only", &S::read_only, versions(5));
      v.field("config_source", &S::config_source, versions(5));
      v.field("is_sensitive", &S::is_sensitive, versions(5));
    }
    bool operator==(const CreatableTopicConfigs&) const = default;
  };

  struct CreatableTopicResult {
    std::string name;
    Uuid topic_id;
    std::int16_t error_code = 0;
    std::optional<std::string> error_message;
    std::int16_t topic_config_error_code = 0;  // tagged
    std::int32_t num_partitions = -1;
    std::int16_t replication_factor = -1;
    std::optional<std::vector<CreatableTopicConfigs>> configs;

    template <class V>
    static void fields(V& v) {
      using S = CreatableTopicResult;
      v.field("name", &S::name, versions(0));
      v.field("topic_id", &S::topic_id, versions(7));
      v.field("error_code", &S::error_code, versions(0));
      v.field("error_message", &S::error_message, versions(1).nullable(0));
      v.field("topic_config_error_code", &S::topic_config_error_code, versions(5).tagged(0, 5));
      v.field("num_partitions", &S::num_partitions, versions(5));
      v.field("replication_factor", &S::replication_factor, versions(5));
      v.field("configs", &S::configs, versions(5).nullable(5));
    }
    bool operator==(const CreatableTopicResult&) const = default;
  };

  std::int32_t throttle_time_ms = 0;
  std::vector<CreatableTopicResult> topics;

  template <class V>
  static void fields(V& v) {
    using S = CreateTopicsResponse;
    v.field("throttle_time_ms", &S::throttle_time_ms, versions(2));
    v.field("topics", &S::topics, versions(0));
  }
  bool operator==(const CreateTopicsResponse&) const = default;
};

}  // namespace keel::protocol
