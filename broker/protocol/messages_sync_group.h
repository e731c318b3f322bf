#pragma once
// SyncGroup (key 14), versions 0-5; flexible from 4. v3 adds group_instance_id, v5 the protocol
// type and name (checked against the group's).
#include "broker/protocol/schema.h"

namespace keel::protocol {

struct SyncGroupRequest {
  static constexpr ApiKey api_key = ApiKey::sync_group;
  static constexpr bool is_request = true;
  static constexpr std::string_view message_name = "SyncGroupRequest";

  struct Assignment {
    std::string member_id;
    Bytes assignment;

    template <class V>
    static void fields(V& v) {
      using S = Assignment;
      v.field("member_id", &S::member_id, versions(0));
      v.field("assignment", &S::assignment, versions(0));
    }
    bool operator==(const Assignment&) const = default;
  };

  std::string group_id;
  std::int32_t generation_id = 0;
  std::string member_id;
  std::optional<std::string> group_instance_id;
  std::optional<std::string> protocol_type;
  std::optional<std::string> protocol_name;
  std::vector<Assignment> assignments;

  template <class V>
  static void fields(V& v) {
    using S = SyncGroupRequest;
    v.field("group_id", &S::group_id, versions(0));
    v.field("generation_id", &S::generation_id, versions(0));
    v.field("member_id", &S::member_id, versions(0));
    v.field("group_instance_id", &S::group_instance_id, versions(3).nullable(3));
    v.field("protocol_type", &S::protocol_type, versions(5).nullable(5));
    v.field("protocol_name", &S::protocol_name, versions(5).nullable(5));
    v.field("assignments", &S::assignments, versions(0));
  }
  bool operator==(const SyncGroupRequest&) const = default;
};

struct SyncGroupResponse {
  static constexpr ApiKey api_key = ApiKey::sync_group;
  static constexpr bool is_request = false;
  static constexpr std::string_view message_name = "SyncGroupResponse";

  std::int32_t throttle_time_ms = 0;
  std::int16_t error_code = 0;
  std::optional<std::string> protocol_type;
  std::optional<std::string> protocol_name;
  Bytes assignment;

  template <class V>
  static void fields(V& v) {
    using S = SyncGroupResponse;
    v.field("throttle_time_ms", &S::throttle_time_ms, versions(1));
    v.field("error_code", &S::error_code, versions(0));
    v.field("protocol_type", &S::protocol_type, versions(5).nullable(5));
    v.field("protocol_name", &S::protocol_name, versions(5).nullable(5));
    v.field("assignment", &S::assignment, versions(0));
  }
  bool operator==(const SyncGroupResponse&) const = default;
};

}  // namespace keel::protocol
