#pragma once
// JoinGroup (key 11), versions 0-9; flexible from 6. v1 adds the rebalance timeout, v5 static
// membership (group_instance_id), v7 the protocol type in the response (and a nullable protocol
// name), v8 a reason, v9 skip_assignment (KIP-814).
#include "broker/protocol/schema.h"

namespace keel::protocol {

struct JoinGroupRequest {
  static constexpr ApiKey api_key = ApiKey::join_group;
  static constexpr bool is_request = true;
  static constexpr std::string_view message_name = "JoinGroupRequest";

  struct Protocol {
    std::string name;
    Bytes metadata;

    template <class V>
    static void fields(V& v) {
      using S = Protocol;
      v.field("name", &S::name, versions(0));
      v.field("metadata", &S::metadata, versions(0));
    }
    bool operator==(const Protocol&) const = default;
  };

  std::string group_id;
  std::int32_t session_timeout_ms = 0;
  std::int32_t rebalance_timeout_ms = -1;
  std::string member_id;
  std::optional<std::string> group_instance_id;
  std::string protocol_type;
  std::vector<Protocol> protocols;
  std::optional<std::string> reason;

  template <class V>
  static void fields(V& v) {
    using S = JoinGroupRequest;
    v.field("group_id", &S::group_id, versions(0));
    v.field("session_timeout_ms", &S::session_timeout_ms, versions(0));
    v.field("rebalance_timeout_ms", &S::rebalance_timeout_ms, versions(1));
    v.field("member_id", &S::member_id, versions(0));
    v.field("group_instance_id", &S::group_instance_id, versions(5).nullable(5));
    v.field("protocol_type", &S::protocol_type, versions(0));
    v.field("protocols", &S::protocols, versions(0));
    v.field("reason", &S::reason, versions(8).nullable(8));
  }
  bool operator==(const JoinGroupRequest&) const = default;
};

struct JoinGroupResponse {
  static constexpr ApiKey api_key = ApiKey::join_group;
  static constexpr bool is_request = false;
  static constexpr std::string_view message_name = "JoinGroupResponse";

  struct Member {
    std::string member_id;
    std::optional<std::string> group_instance_id;
    Bytes metadata;

    template <class V>
    static void fields(V& v) {
      using S = Member;
      v.field("member_id", &S::member_id, versions(0));
      v.field("group_instance_id", &S::group_instance_id, versions(5).nullable(5));
      v.field("metadata", &S::metadata, versions(0));
    }
    bool operator==(const Member&) const = default;
  };

  std::int32_t throttle_time_ms = 0;
  std::int16_t error_code = 0;
  std::int32_t generation_id = -1;
  std::optional<std::string> protocol_type;
  std::optional<std::string> protocol_name;
  std::string leader;
  bool skip_assignment = false;
  std::string member_id;
  std::vector<Member> members;

  template <class V>
  static void fields(V& v) {
    using S = JoinGroupResponse;
    v.field("throttle_time_ms", &S::throttle_time_ms, versions(2));
    v.field("error_code", &S::error_code, versions(0));
    v.field("generation_id", &S::generation_id, versions(0));
    v.field("protocol_type", &S::protocol_type, versions(7).nullable(7));
    v.field("protocol_name", &S::protocol_name, versions(0).nullable(7));
    v.field("leader", &S::leader, versions(0));
    v.field("skip_assignment", &S::skip_assignment, versions(9));
    v.field("member_id", &S::member_id, versions(0));
    v.field("members", &S::members, versions(0));
  }
  bool operator==(const JoinGroupResponse&) const = default;
};

}  // namespace keel::protocol
