#pragma once
// FindCoordinator (key 10), versions 0-4; flexible from 3. v4 batches keys (coordinator_keys and
// coordinators); v0-3 carry a single key and a single answer.
#include "broker/protocol/schema.h"

namespace keel::protocol {

struct FindCoordinatorRequest {
  static constexpr ApiKey api_key = ApiKey::find_coordinator;
  static constexpr bool is_request = true;
  static constexpr std::string_view message_name = "FindCoordinatorRequest";

  // Values of key_type.
  static constexpr std::int8_t key_type_group = 0;
  static constexpr std::int8_t key_type_transaction = 1;

  std::string key;
  std::int8_t key_type = 0;
  std::vector<std::string> coordinator_keys;

  template <class V>
  static void fields(V& v) {
    using S = FindCoordinatorRequest;
    v.field("key", &S::key, versions(0, 3));
    v.field("key_type", &S::key_type, versions(1));
    v.field("coordinator_keys", &S::coordinator_keys, versions(4));
  }
  bool operator==(const FindCoordinatorRequest&) const = default;
};

struct FindCoordinatorResponse {
  static constexpr ApiKey api_key = ApiKey::find_coordinator;
  static constexpr bool is_request = false;
  static constexpr std::string_view message_name = "FindCoordinatorResponse";

  struct Coordinator {
    std::string key;
    std::int32_t node_id = 0;
    std::string host;
    std::int32_t port = 0;
    std::int16_t error_code = 0;
    std::optional<std::string> error_message;

    template <class V>
    static void fields(V& v) {
      using S = Coordinator;
      v.field("key", &S::key, versions(4));
      v.field("node_id", &S::node_id, versions(4));
      v.field("host", &S::host, versions(4));
      v.field("port", &S::port, versions(4));
      v.field("error_code", &S::error_code, versions(4));
      v.field("error_message", &S::error_message, versions(4).nullable(4));
    }
    bool operator==(const Coordinator&) const = default;
  };

  std::int32_t throttle_time_ms = 0;
  std::int16_t error_code = 0;
  std::optional<std::string> error_message;
  std::int32_t node_id = 0;
  std::string host;
  std::int32_t port = 0;
  std::vector<Coordinator> coordinators;

  template <class V>
  static void fields(V& v) {
    using S = FindCoordinatorResponse;
    v.field("throttle_time_ms", &S::throttle_time_ms, versions(1));
    v.field("error_code", &S::error_code, versions(0, 3));
    v.field("error_message", &S::error_message, versions(1, 3).nullable(1, 3));
    v.field("node_id", &S::node_id, versions(0, 3));
    v.field("host", &S::host, versions(0, 3));
    v.field("port", &S::port, versions(0, 3));
    v.field("coordinators", &S::coordinators, versions(4));
  }
  bool operator==(const FindCoordinatorResponse&) const = default;
};

}  // namespace keel::protocol
