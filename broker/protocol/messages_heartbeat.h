#pragma once
// Heartbeat (key 12), versions 0-4; flexible from 4. v3 adds group_instance_id.
#include "broker/protocol/schema.h"

namespace keel::protocol {

struct HeartbeatRequest {
  static constexpr ApiKey api_key = ApiKey::heartbeat;
  static constexpr bool is_request = true;
  static constexpr std::string_view message_name = "HeartbeatRequest";

  std::string group_id;
  std::int32_t generation_id = 0;
  std::string member_id;
  std::optional<std::string> group_instance_id;

  template <class V>
  static void fields(V& v) {
    using S = HeartbeatRequest;
    v.field("group_id", &S::group_id, versions(0));
    v.field("generation_id", &S::generation_id, versions(0));
    v.field("member_id", &S::member_id, versions(0));
    v.field("group_instance_id", &S::group_instance_id, versions(3).nullable(3));
  }
  bool operator==(const HeartbeatRequest&) const = default;
};

struct HeartbeatResponse {
  static constexpr ApiKey api_key = ApiKey::heartbeat;
  static constexpr bool is_request = false;
  static constexpr std::string_view message_name = "HeartbeatResponse";

  std::int32_t throttle_time_ms = 0;
  std::int16_t error_code = 0;

  template <class V>
  static void fields(V& v) {
    using S = HeartbeatResponse;
    v.field("throttle_time_ms", &S::throttle_time_ms, versions(1));
    v.field("error_code", &S::error_code, versions(0));
  }
  bool operator==(const HeartbeatResponse&) const = default;
};

}  // namespace keel::protocol
