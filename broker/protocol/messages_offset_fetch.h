#pragma once
// OffsetFetch (key 9), versions 1-9; flexible from 6. v2 allows a null topic list (every committed
// partition) and adds a top-level error, v5 the leader epoch, v7 require_stable, v8 batches groups,
// v9 names the fetching KIP-848 member (member_id, member_epoch) in each group.
#include "broker/protocol/schema.h"

namespace keel::protocol {

struct OffsetFetchRequest {
  static constexpr ApiKey api_key = ApiKey::offset_fetch;
  static constexpr bool is_request = true;
  static constexpr std::string_view message_name = "OffsetFetchRequest";

  struct Topic {
    std::string name;
    std::vector<std::int32_t> partition_indexes;

    template <class V>
    static void fields(V& v) {
      using S = Topic;
      v.field("name", &S::name, versions(0));
      v.field("partition_indexes", &S::partition_indexes, versions(0));
    }
    bool operator==(const Topic&) const = default;
  };

  struct Group {
    std::string group_id;
    std::optional<std::string> member_id;  // null: not a consumer group member
    std::int32_t member_epoch = -1;
    std::optional<std::vector<Topic>> topics;

    template <class V>
    static void fields(V& v) {
      using S = Group;
      v.field("group_id", &S::group_id, versions(8));
      v.field("member_id", &S::member_id, versions(9).nullable(9));
      v.field("member_epoch", &S::member_epoch, versions(9));
      v.field("topics", &S::topics, versions(8).nullable(8));
    }
    bool operator==(const Group&) const = default;
  };

  std::string group_id;
  std::optional<std::vector<Topic>> topics;
  std::vector<Group> groups;
  bool require_stable = false;

  template <class V>
  static void fields(V& v) {
    using S = OffsetFetchRequest;
    v.field("group_id", &S::group_id, versions(0, 7));
    v.field("topics", &S::topics, versions(0, 7).nullable(2, 7));
    v.field("groups", &S::groups, versions(8));
    v.field("require_stable", &S::require_stable, versions(7));
  }
  bool operator==(const OffsetFetchRequest&) const = default;
};

struct OffsetFetchResponse {
  static constexpr ApiKey api_key = ApiKey::offset_fetch;
  static constexpr bool is_request = false;
  static constexpr std::string_view message_name = "OffsetFetchResponse";

  struct Partition {
    std::int32_t partition_index = 0;
    std::int64_t committed_offset = -1;
    std::int32_t committed_leader_epoch = -1;
    std::optional<std::string> metadata;
    std::int16_t error_code = 0;

    template <class V>
    static void fields(V& v) {
      using S = Partition;
      v.field("partition_index", &S::partition_index, versions(0));
      v.field("committed_offset", &S::committed_offset, versions(0));
      v.field("committed_leader_epoch", &S::committed_leader_epoch, versions(5));
      v.field("metadata", &S::metadata, versions(0).nullable(0));
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

  struct Group {
    std::string group_id;
    std::vector<Topic> topics;
    std::int16_t error_code = 0;

    template <class V>
    static void fields(V& v) {
      using S = Group;
      v.field("group_id", &S::group_id, versions(8));
      v.field("topics", &S::topics, versions(8));
      v.field("error_code", &S::error_code, versions(8));
    }
    bool operator==(const Group&) const = default;
  };

  std::int32_t throttle_time_ms = 0;
  std::vector<Topic> topics;
  std::int16_t error_code = 0;
  std::vector<Group> groups;

  template <class V>
  static void fields(V& v) {
    using S = OffsetFetchResponse;
    v.field("throttle_time_ms", &S::throttle_time_ms, versions(3));
    v.field("topics", &S::topics, versions(0, 7));
    v.field("error_code", &S::error_code, versions(2, 7));
    v.field("groups", &S::groups, versions(8));
  }
  bool operator==(const OffsetFetchResponse&) const = default;
};

}  // namespace keel::protocol
