#pragma once
// ListOffsets (key 2), versions 1-9; flexible from 6 (v6-9 add no fields: v7 allows the
// MAX_TIMESTAMP lookup, v8 EARLIEST_LOCAL, v9 LATEST_TIERED).
#include "broker/protocol/schema.h"

namespace keel::protocol {

struct ListOffsetsRequest {
  static constexpr ApiKey api_key = ApiKey::list_offsets;
  static constexpr bool is_request = true;
  static constexpr std::string_view message_name = "ListOffsetsRequest";

  // Timestamps with special meanings in ListOffsetsPartition::timestamp.
  static constexpr std::int64_t latest_timestamp = -1;
  static constexpr std::int64_t earliest_timestamp = -2;
  static constexpr std::int64_t max_timestamp = -3;           // v7+
  static constexpr std::int64_t earliest_local_timestamp = -4;  // v8+
  static constexpr std::int64_t latest_tiered_timestamp = -5;   // v9+

  struct ListOffsetsPartition {
    std::int32_t partition_index = 0;
    std::int32_t current_leader_epoch = -1;
    std::int64_t timestamp = 0;

    template <class V>
    static void fields(V& v) {
      using S = ListOffsetsPartition;
      v.field("partition_index", &S::partition_index, versions(0));
      v.field("current_leader_epoch", &S::current_leader_epoch, versions(4));
      v.field("timestamp", &S::timestamp, versions(0));
    }
    bool operator==(const ListOffsetsPartition&) const = default;
  };

  struct ListOffsetsTopic {
    std::string name;
    std::vector<ListOffsetsPartition> partitions;

    template <class V>
    static void fields(V& v) {
      using S = ListOffsetsTopic;
      v.field("name", &S::name, versions(0));
      v.field("partitions", &S::partitions, versions(0));
    }
    bool operator==(const ListOffsetsTopic&) const = default;
  };

  std::int32_t replica_id = 0;
  std::int8_t isolation_level = 0;
  std::vector<ListOffsetsTopic> topics;

  template <class V>
  static void fields(V& v) {
    using S = ListOffsetsRequest;
    v.field("replica_id", &S::replica_id, versions(0));
    v.field("isolation_level", &S::isolation_level, versions(2));
    v.field("topics", &S::topics, versions(0));
  }
  bool operator==(const ListOffsetsRequest&) const = default;
};

struct ListOffsetsResponse {
  static constexpr ApiKey api_key = ApiKey::list_offsets;
  static constexpr bool is_request = false;
  static constexpr std::string_view message_name = "ListOffsetsResponse";

  struct ListOffsetsPartitionResponse {
    std::int32_t partition_index = 0;
    std::int16_t error_code = 0;
    std::int64_t timestamp = -1;
    std::int64_t offset = -1;
    std::int32_t leader_epoch = -1;

    template <class V>
    static void fields(V& v) {
      using S = ListOffsetsPartitionResponse;
      v.field("partition_index", &S::partition_index, versions(0));
      v.field("error_code", &S::error_code, versions(0));
      v.field("timestamp", &S::timestamp, versions(1));
      v.field("offset", &S::offset, versions(1));
      v.field("leader_epoch", &S::leader_epoch, versions(4));
    }
    bool operator==(const ListOffsetsPartitionResponse&) const = default;
  };

  struct ListOffsetsTopicResponse {
    std::string name;
    std::vector<ListOffsetsPartitionResponse> partitions;

    template <class V>
    static void fields(V& v) {
      using S = ListOffsetsTopicResponse;
      v.field("name", &S::name, versions(0));
      v.field("partitions", &S::partitions, versions(0));
    }
    bool operator==(const ListOffsetsTopicResponse&) const = default;
  };

  std::int32_t throttle_time_ms = 0;
  std::vector<ListOffsetsTopicResponse> topics;

  template <class V>
  static void fields(V& v) {
    using S = ListOffsetsResponse;
    v.field("throttle_time_ms", &S::throttle_time_ms, versions(2));
    v.field("topics", &S::topics, versions(0));
  }
  bool operator==(const ListOffsetsResponse&) const = default;
};

}  // namespace keel::protocol
