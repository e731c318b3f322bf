#pragma once
// AlterPartitionReassignments (key 45), versions 0-1; flexible from 0. v1 adds
// allow_replication_factor_change to the request, and echoes it in the response (where a reader of
// v0 simply does without it: Kafka marks it ignorable).
#include "broker/protocol/schema.h"

namespace keel::protocol {

struct AlterPartitionReassignmentsRequest {
  static constexpr ApiKey api_key = ApiKey::alter_partition_reassignments;
  static constexpr bool is_request = true;
  static constexpr std::string_view message_name = "AlterPartitionReassignmentsRequest";

  struct ReassignablePartition {
    std::int32_t partition_index = 0;
    // The new replica set, the preferred leader first; null cancels the reassignment in progress.
    std::optional<std::vector<std::int32_t>> replicas;

    template <class V>
    static void fields(V& v) {
      using S = ReassignablePartition;
      v.field("partition_index", &S::partition_index, versions(0));
      v.field("replicas", &S::replicas, versions(0).nullable(0));
    }
    bool operator==(const ReassignablePartition&) const = default;
  };

  struct ReassignableTopic {
    std::string name;
    std::vector<ReassignablePartition> partitions;

    template <class V>
    static void fields(V& v) {
      using S = ReassignableTopic;
      v.field("name", &S::name, versions(0));
      v.field("partitions", &S::partitions, versions(0));
    }
    bool operator==(const ReassignableTopic&) const = default;
  };

  std::int32_t timeout_ms = 60000;
  bool allow_replication_factor_change = true;
  std::vector<ReassignableTopic> topics;

  template <class V>
  static void fields(V& v) {
    using S = AlterPartitionReassignmentsRequest;
    v.field("timeout_ms", &S::timeout_ms, versions(0));
    v.field("allow_replication_factor_change", &S::allow_replication_factor_change, versions(1));
    v.field("topics", &S::topics, versions(0));
  }
  bool operator==(const AlterPartitionReassignmentsRequest&) const = default;
};

struct AlterPartitionReassignmentsResponse {
  static constexpr ApiKey api_key = ApiKey::alter_partition_reassignments;
  static constexpr bool is_request = false;
  static constexpr std::string_view message_name = "AlterPartitionReassignmentsResponse";

  struct ReassignablePartitionResponse {
    std::int32_t partition_index = 0;
    std::int16_t error_code = 0;
    std::optional<std::string> error_message;

    template <class V>
    static void fields(V& v) {
      using S = ReassignablePartitionResponse;
      v.field("partition_index", &S::partition_index, versions(0));
      v.field("error_code", &S::error_code, versions(0));
      v.field("error_message", &S::error_message, versions(0).nullable(0));
    }
    bool operator==(const ReassignablePartitionResponse&) const = default;
  };

  struct ReassignableTopicResponse {
    std::string name;
    std::vector<ReassignablePartitionResponse> partitions;

    template <class V>
    static void fields(V& v) {
      using S = ReassignableTopicResponse;
      v.field("name", &S::name, versions(0));
      v.field("partitions", &S::partitions, versions(0));
    }
    bool operator==(const ReassignableTopicResponse&) const = default;
  };

  std::int32_t throttle_time_ms = 0;
  bool allow_replication_factor_change = true;
  std::int16_t error_code = 0;
  std::optional<std::string> error_message;
  std::vector<ReassignableTopicResponse> responses;

  template <class V>
  static void fields(V& v) {
    using S = AlterPartitionReassignmentsResponse;
    v.field("throttle_time_ms", &S::throttle_time_ms, versions(0));
    v.field("allow_replication_factor_change", &S::allow_replication_factor_change, versions(1));
    v.field("error_code", &S::error_code, versions(0));
    v.field("error_message", &S::error_message, versions(0).nullable(0));
    v.field("responses", &S::responses, versions(0));
  }
  bool operator==(const AlterPartitionReassignmentsResponse&) const = default;
};

}  // namespace keel::protocol
