#pragma once
// The group admin APIs: DescribeGroups (key 15, versions 0-5, flexible from 5), ListGroups (key 16,
// versions 0-4, flexible from 3; v4 filters by state), DeleteGroups (key 42, versions 0-2, flexible
// from 2) and OffsetDelete (key 47, version 0).
#include "broker/protocol/schema.h"

namespace keel::protocol {

struct DescribeGroupsRequest {
  static constexpr ApiKey api_key = ApiKey::describe_groups;
  static constexpr bool is_request = true;
  static constexpr std::string_view message_name = "DescribeGroupsRequest";

  std::vector<std::string> groups;
  bool include_authorized_operations = false;

  template <class V>
  static void fields(V& v) {
    using S = DescribeGroupsRequest;
    v.field("groups", &S::groups, versions(0));
    v.field("include_authorized_operations", &S::include_authorized_operations, versions(3));
  }
  bool operator==(const DescribeGroupsRequest&) const = default;
};

struct DescribeGroupsResponse {
  static constexpr ApiKey api_key = ApiKey::describe_groups;
  static constexpr bool is_request = false;
  static constexpr std::string_view message_name = "DescribeGroupsResponse";

  struct Member {
    std::string member_id;
    std::optional<std::string> group_instance_id;
    std::string client_id;
    std::string client_host;
    Bytes member_metadata;
    Bytes member_assignment;

    template <class V>
    static void fields(V& v) {
      using S = Member;
      v.field("member_id", &S::member_id, versions(0));
      v.field("group_instance_id", &S::group_instance_id, versions(4).nullable(4));
      v.field("client_id", &S::client_id, versions(0));
      v.field("client_host", &S::client_host, versions(0));
      v.field("member_metadata", &S::member_metadata, versions(0));
      v.field("member_assignment", &S::member_assignment, versions(0));
    }
    bool operator==(const Member&) const = default;
  };

  struct Group {
    std::int16_t error_code = 0;
    std::string group_id;
    std::string group_state;
    std::string protocol_type;
    std::string protocol_data;
    std::vector<Member> members;
    std::int32_t authorized_operations = std::numeric_limits<std::int32_t>::min();

    template <class V>
    static void fields(V& v) {
      using S = Group;
      v.field("error_code", &S::error_code, versions(0));
      v.field("group_id", &S::group_id, versions(0));
      v.field("group_state", &S::group_state, versions(0));
      v.field("protocol_type", &S::protocol_type, versions(0));
      v.field("protocol_data", &S::protocol_data, versions(0));
      v.field("members", &S::members, versions(0));
      v.field("authorized_operations", &S::authorized_operations, versions(3));
    }
    bool operator==(const Group&) const = default;
  };

  std::int32_t throttle_time_ms = 0;
  std::vector<Group> groups;

  template <class V>
  static void fields(V& v) {
    using S = DescribeGroupsResponse;
    v.field("throttle_time_ms", &S::throttle_time_ms, versions(1));
    v.field("groups", &S::groups, versions(0));
  }
  bool operator==(const DescribeGroupsResponse&) const = default;
};

struct ListGroupsRequest {
  static constexpr ApiKey api_key = ApiKey::list_groups;
  static constexpr bool is_request = true;
  static constexpr std::string_view message_name = "ListGroupsRequest";

  std::vector<std::string> states_filter;

  template <class V>
  static void fields(V& v) {
    using S = ListGroupsRequest;
    v.field("states_filter", &S::states_filter, versions(4));
  }
  bool operator==(const ListGroupsRequest&) const = default;
};

struct ListGroupsResponse {
  static constexpr ApiKey api_key = ApiKey::list_groups;
  static constexpr bool is_request = false;
  static constexpr std::string_view message_name = "ListGroupsResponse";

  struct Group {
    std::string group_id;
    std::string protocol_type;
    std::string group_state;

    template <class V>
    static void fields(V& v) {
      using S = Group;
      v.field("group_id", &S::group_id, versions(0));
      v.field("protocol_type", &S::protocol_type, versions(0));
      v.field("group_state", &S::group_state, versions(4));
    }
    bool operator==(const Group&) const = default;
  };

  std::int32_t throttle_time_ms = 0;
  std::int16_t error_code = 0;
  std::vector<Group> groups;

  template <class V>
  static void fields(V& v) {
    using S = ListGroupsResponse;
    v.field("throttle_time_ms", &S::throttle_time_ms, versions(1));
    v.field("error_code", &S::error_code, versions(0));
    v.field("groups", &S::groups, versions(0));
  }
  bool operator==(const ListGroupsResponse&) const = default;
};

struct DeleteGroupsRequest {
  static constexpr ApiKey api_key = ApiKey::delete_groups;
  static constexpr bool is_request = true;
  static constexpr std::string_view message_name = "DeleteGroupsRequest";

  std::vector<std::string> groups_names;

  template <class V>
  static void fields(V& v) {
    using S = DeleteGroupsRequest;
    v.field("groups_names", &S::groups_names, versions(0));
  }
  bool operator==(const DeleteGroupsRequest&) const = default;
};

struct DeleteGroupsResponse {
  static constexpr ApiKey api_key = ApiKey::delete_groups;
  static constexpr bool is_request = false;
  static constexpr std::string_view message_name = "DeleteGroupsResponse";

  struct Result {
    std::string group_id;
    std::int16_t error_code = 0;

    template <class V>
    static void fields(V& v) {
      using S = Result;
      v.field("group_id", &S::group_id, versions(0));
      v.field("error_code", &S::error_code, versions(0));
    }
    bool operator==(const Result&) const = default;
  };

  std::int32_t throttle_time_ms = 0;
  std::vector<Result> results;

  template <class V>
  static void fields(V& v) {
    using S = DeleteGroupsResponse;
    v.field("throttle_time_ms", &S::throttle_time_ms, versions(0));
    v.field("results", &S::results, versions(0));
  }
  bool operator==(const DeleteGroupsResponse&) const = default;
};

struct OffsetDeleteRequest {
  static constexpr ApiKey api_key = ApiKey::offset_delete;
  static constexpr bool is_request = true;
  static constexpr std::string_view message_name = "OffsetDeleteRequest";

  struct Topic {
    std::string name;
    std::vector<std::int32_t> partitions;

    template <class V>
    static void fields(V& v) {
      using S = Topic;
      v.field("name", &S::name, versions(0));
      v.field("partitions", &S::partitions, versions(0));
    }
    bool operator==(const Topic&) const = default;
  };

  std::string group_id;
  std::vector<Topic> topics;

  template <class V>
  static void fields(V& v) {
    using S = OffsetDeleteRequest;
    v.field("group_id", &S::group_id, versions(0));
    v.field("topics", &S::topics, versions(0));
  }
  bool operator==(const OffsetDeleteRequest&) const = default;
};

struct OffsetDeleteResponse {
  static constexpr ApiKey api_key = ApiKey::offset_delete;
  static constexpr bool is_request = false;
  static constexpr std::string_view message_name = "OffsetDeleteResponse";

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

  std::int16_t error_code = 0;
  std::int32_t throttle_time_ms = 0;
  std::vector<Topic> topics;

  template <class V>
  static void fields(V& v) {
    using S = OffsetDeleteResponse;
    v.field("error_code", &S::error_code, versions(0));
    v.field("throttle_time_ms", &S::throttle_time_ms, versions(0));
    v.field("topics", &S::topics, versions(0));
  }
  bool operator==(const OffsetDeleteResponse&) const = default;
};

}  // namespace keel::protocol
