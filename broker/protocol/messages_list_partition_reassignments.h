#pragma once
// ListPartitionReassignments (key 46), version 0; flexible from 0.
#include "broker/protocol/schema.h"

namespace keel::protocol {

struct ListPartitionReassignmentsRequest {
  static constexpr ApiKey api_key = ApiKey::list_partition_reassignments;
  static constexpr bool is_request = true;
  static constexpr std::string_view message_name = "ListPartitionReassignmentsRequest";

  struct ListPartitionReassignmentsTopics {
    std::string name;
    std::vector<std::int32_t> partition_indexes;

    template <class V>
    static void fields(V& v) {
      using S = ListPartitionReassignmentsTopics;
      v.field("name", &S::name, versions(0));
      v.field("partition_indexes", &S::partition_indexes, versions(0));
    }
    bool operator==(const ListPartitionReassignmentsTopics&) const = default;
  };

  std::int32_t timeout_ms = 60000;
  // Null asks for every partition being reassigned.
  std::optional<std::vector<ListPartitionReassignmentsTopics>> topics;

  template <class V>
  static void fields(V& v) {
    using S = ListPartitionReassignmentsRequest;
    v.field("timeout_ms", &S::timeout_ms, versions(0));
    v.field("topics", &S::topics, versions(0).nullable(0));
  }
  bool operator==(const ListPartitionReassignmentsRequest&) const = default;
};

struct ListPartitionReassignmentsResponse {
  static constexpr ApiKey api_key = ApiKey::list_partition_reassignments;
  static constexpr bool is_request = false;
  static constexpr std::string_view message_name = "ListPartitionReassignmentsResponse";

  struct OngoingPartitionReassignment {
    std::int32_t partition_index = 0;
    std::vector<std::int32_t> replicas;
    std::vector<std::int32_t> adding_replicas;
    std::vector<std::int32_t> removing_replicas;

    template <class V>
    static void fields(V& v) {
      using S = OngoingPartitionReassignment;
      v.field("partition_index", &S::partition_index, versions(0));
      v.field("replicas", &S::replicas, versions(0));
      v.field("adding_replicas", &S::adding_replicas, versions(0));
      v.field("removing_replicas", &S::removing_replicas, versions(0));
    }
    bool operator==(const OngoingPartitionReassignment&) const = default;
  };

  struct OngoingTopicReassignment {
    std::string name;
    std::vector<OngoingPartitionReassignment> partitions;

    template <class V>
    static void fields(V& v) {
      using S = OngoingTopicReassignment;
      v.field("name", &S::name, versions(0));
      v.field("partitions", &S::partitions, versions(0));
    }
    bool operator==(const OngoingTopicReassignment&) const = default;
  };

  std::int32_t throttle_time_ms = 0;
  std::int16_t error_code = 0;
  std::optional<std::string> error_message;
  std::vector<OngoingTopicReassignment> topics;

  template <class V>
  static void fields(V& v) {
    using S = ListPartitionReassignmentsResponse;
    v.field("throttle_time_ms", &S::throttle_time_ms, versions(0));
    v.field("error_code", &S::error_code, versions(0));
    v.field("error_message", &S::error_message, versions(0).nullable(0));
    v.field("topics", &S::topics, versions(0));
  }
  bool operator==(const ListPartitionReassignmentsResponse&) const = default;
};

}  // namespace keel::protocol
