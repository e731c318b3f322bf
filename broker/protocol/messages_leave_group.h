#pragma once
// LeaveGroup (key 13), versions 0-5; flexible from 4. v0-2 name one member and answer one error;
// v3 batches members (with their instance ids) and answers an error per member; v5 adds a reason.
#include "broker/protocol/schema.h"

namespace keel::protocol {

struct LeaveGroupRequest {
  static constexpr ApiKey api_key = ApiKey::leave_group;
  static constexpr bool is_request = true;
  static constexpr std::string_view message_name = "LeaveGroupRequest";

  struct MemberIdentity {
    std::string member_id;
    std::optional<std::string> group_instance_id;
    std::optional<std::string> reason;

    template <class V>
    static void fields(V& v) {
      using S = MemberIdentity;
      v.field("member_id", &S::member_id, versions(3));
      v.field("group_instance_id", &S::group_instance_id, versions(3).nullable(3));
      v.field("reason", &S::reason, versions(5).nullable(5));
    }
    bool operator==(const MemberIdentity&) const = default;
  };

  std::string group_id;
  std::string member_id;
  std::vector<MemberIdentity> members;

  template <class V>
  static void fields(V& v) {
    using S = LeaveGroupRequest;
    v.field("group_id", &S::group_id, versions(0));
    v.field("member_id", &S::member_id, versions(0, 2));
    v.field("members", &S::members, versions(3));
  }
  bool operator==(const LeaveGroupRequest&) const = default;
};

struct LeaveGroupResponse {
  static constexpr ApiKey api_key = ApiKey::leave_group;
  static constexpr bool is_request = false;
  static constexpr std::string_view message_name = "LeaveGroupResponse";

  struct MemberResponse {
    std::string member_id;
    std::optional<std::string> group_instance_id;
    std::int16_t error_code = 0;

    template <class V>
    static void fields(V& v) {
      using S = MemberResponse;
      v.field("member_id", &S::member_id, versions(3));
      v.field("group_instance_id", &S::group_instance_id, versions(3).nullable(3));
      v.field("error_code", &S::error_code, versions(3));
    }
    bool operator==(const MemberResponse&) const = default;
  };

  std::int32_t throttle_time_ms = 0;
  std::int16_t error_code = 0;
  std::vector<MemberResponse> members;

  template <class V>
  static void fields(V& v) {
    using S = LeaveGroupResponse;
    v.field("throttle_time_ms", &S::throttle_time_ms, versions(1));
    v.field("error_code", &S::error_code, versions(0));
    v.field("members", &S::members, versions(3));
  }
  bool operator==(const LeaveGroupResponse&) const = default;
};

}  // namespace keel::protocol
