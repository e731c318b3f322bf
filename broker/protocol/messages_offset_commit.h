#pragma once
// OffsetCommit (key 8), versions 2-9 (Kafka 4 dropped 0-1); flexible from 8. v2-4 carry a retention
// time, v6 the committed leader epoch, v7 group_instance_id. v9 is v8 on the wire: it tells the
// coordinator the committer may be a KIP-848 member (generation_id_or_member_epoch is its epoch).
#include "broker/protocol/schema.h"

namespace keel::protocol {

struct OffsetCommitRequest {
  static constexpr ApiKey api_key = ApiKey::offset_commit;
  static constexpr bool is_request = true;
  static constexpr std::string_view message_name = "OffsetCommitRequest";

  struct Partition {
    std::int32_t partition_index = 0;
    std::int64_t committed_offset = 0;
    std::int32_t committed_leader_epoch = -1;
    std::optional<std::string> committed_metadata;

    template <class V>
    static void fields(V& v) {
      using S = Partition;
      v.field("partition_index", &S::partition_index, versions(0));
      v.field("committed_offset", &S::committed_offset, versions(0));
      v.field("committed_leader_epoch", &S::committed_leader_epoch, versions(6));
      v.field("committed_metadata", &S::committed_metadata, versions(0).nullable(0));
    }
    bool operator==(const Partition&) const = default;
  };

  struct Topic {
    std::string name;
    std::vector<Partition> partitions;

    template <class V>
    static void fields(V& v) {
      using S = Topic;
      v.field("name", &S::name, versions(0));
      v.field("partitions", &S::partitions, versions(0));
    }
    bool operator==(const Topic&) const = default;
  };

  std::string group_id;
  std::int32_t generation_id_or_member_epoch = -1;
  std::string member_id;
  std::optional<std::string> group_instance_id;
  std::int64_t retention_time_ms = -1;
  std::vector<Topic> topics;

  template <class V>
  static void fields(V& v) {
    using S = OffsetCommitRequest;
    v.field("group_id", &S::group_id, versions(0));
    v.field("generation_id_or_member_epoch", &S::generation_id_or_member_epoch, versions(1));
    v.field("member_id", &S::member_id, versions(1));
    v.field("group_instance_id", &S::group_instance_id, versions(7).nullable(7));
    v.field("retention_time_ms", &S::retention_time_ms, versions(2, 4));
    v.field("topics", &S::topics, versions(0));
  }
  bool operator==(const OffsetCommitRequest&) const = default;
};

struct OffsetCommitResponse {
  static constexpr ApiKey api_key = ApiKey::offset_commit;
  static constexpr bool is_request = false;
  static constexpr std::string_view message_name = "OffsetCommitResponse";

  struct Partition {
    std::int32_t partition_index = 0;
    std::int16_t error_code = 0;

    template <class V>
    static void fields(V& v) {
      using S = Partition;
      v.field("partition_index", &S::partition_index, versions(0));
      v.field("error_code", &S::error_code, versions(0));
    }
    bool operator==(const Partition&) const = default;
  };

  struct Topic {
    std::string name;
    std::vector<Partition> partitions;

    template <class V>
    static void fields(V& v) {
      using S = Topic;
      v.field("name", &S::name, versions(0));
      v.field("partitions", &S::partitions, versions(0));
    }
    bool operator==(const Topic&) const = default;
  };

  std::int32_t throttle_time_ms = 0;
  std::vector<Topic> topics;

  template <class V>
  static void fields(V& v) {
    using S = OffsetCommitResponse;
    v.field("throttle_time_ms", &S::throttle_time_ms, versions(3));
    v.field("topics", &S::topics, versions(0));
  }
  bool operator==(const OffsetCommitResponse&) const = default;
};

}  // namespace keel::protocol
