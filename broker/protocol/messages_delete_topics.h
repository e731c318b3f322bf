#pragma once
// DeleteTopics (key 20), versions 0-6; flexible from 4. v6 names topics by name or id (topics);
// v0-5 by name only (topic_names).
#include "broker/protocol/schema.h"

namespace keel::protocol {

struct DeleteTopicsRequest {
  static constexpr ApiKey api_key = ApiKey::delete_topics;
  static constexpr bool is_request = true;
  static constexpr std::string_view message_name = "DeleteTopicsRequest";

  struct DeleteTopicState {
    std::optional<std::string> name;
    Uuid topic_id;

    template <class V>
    static void fields(V& v) {
      using S = DeleteTopicState;
      v.field("name", &S::name, versions(6).nullable(6));
      v.field("topic_id", &S::topic_id, versions(6));
    }
    bool operator==(const DeleteTopicState&) const = default;
  };

  std::vector<DeleteTopicState> topics;
  std::vector<std::string> topic_names;
  std::int32_t timeout_ms = 0;

  template <class V>
  static void fields(V& v) {
    using S = DeleteTopicsRequest;
    v.field("topics", &S::topics, versions(6));
    v.field("topic_names", &S::topic_names, versions(0, 5));
    v.field("timeout_ms", &S::timeout_ms, versions(0));
  }
  bool operator==(const DeleteTopicsRequest&) const = default;
};

struct DeleteTopicsResponse {
  static constexpr ApiKey api_key = ApiKey::delete_topics;
  static constexpr bool is_request = false;
  static constexpr std::string_view message_name = "DeleteTopicsResponse";

  struct DeletableTopicResult {
    std::optional<std::string> name;
    Uuid topic_id;
    std::int16_t error_code = 0;
    std::optional<std::string> error_message;

    template <class V>
    static void fields(V& v) {
      using S = DeletableTopicResult;
      v.field("name", &S::name, versions(0).nullable(6));
      v.field("topic_id", &S::topic_id, versions(6));
      v.field("error_code", &S::error_code, versions(0));
      v.field("error_message", &S::error_message, versions(5).nullable(5));
    }
    bool operator==(const DeletableTopicResult&) const = default;
  };

  std::int32_t throttle_time_ms = 0;
  std::vector<DeletableTopicResult> responses;

  template <class V>
  static void fields(V& v) {
    using S = DeleteTopicsResponse;
    v.field("throttle_time_ms", &S::throttle_time_ms, versions(1));
    v.field("responses", &S::responses, versions(0));
  }
  bool operator==(const DeleteTopicsResponse&) const = default;
};

}  // namespace keel::protocol
