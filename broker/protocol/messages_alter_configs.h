#pragma once
// AlterConfigs (key 33), versions 0-2, flexible from 2: replaces the whole set of a resource's
// configs. IncrementalAlterConfigs (key 44), versions 0-1, flexible from 1: SET, DELETE, APPEND or
// SUBTRACT one key at a time. Both answer one error per resource.
#include "broker/protocol/schema.h"

namespace keel::protocol {

// Values of resource_type (Kafka's ConfigResource.Type), as in DescribeConfigs.
inline constexpr std::int8_t config_resource_topic = 2;
inline constexpr std::int8_t config_resource_broker = 4;

// One resource's answer, the same in both APIs.
struct AlterConfigsResourceResponse {
  std::int16_t error_code = 0;
  std::optional<std::string> error_message;
  std::int8_t resource_type = 0;
  std::string resource_name;

  template <class V>
  static void fields(V& v) {
    using S = AlterConfigsResourceResponse;
    v.field("error_code", &S::error_code, versions(0));
    v.field("error_message", &S::error_message, versions(0).nullable(0));
    v.field("resource_type", &S::resource_type, versions(0));
    v.field("resource_name", &S::resource_name, versions(0));
  }
  bool operator==(const AlterConfigsResourceResponse&) const = default;
};

struct AlterConfigsRequest {
  static constexpr ApiKey api_key = ApiKey::alter_configs;
  static constexpr bool is_request = true;
  static constexpr std::string_view message_name = "AlterConfigsRequest";

  struct AlterableConfig {
    std::string name;
    std::optional<std::string> value;

    template <class V>
    static void fields(V& v) {
      using S = AlterableConfig;
      v.field("name", &S::name, versions(0));
      v.field("value", &S::value, versions(0).nullable(0));
    }
    bool operator==(const AlterableConfig&) const = default;
  };

  struct AlterConfigsResource {
    std::int8_t resource_type = 0;
    std::string resource_name;
    std::vector<AlterableConfig> configs;

    template <class V>
    static void fields(V& v) {
      using S = AlterConfigsResource;
      v.field("resource_type", &S::resource_type, versions(0));
      v.field("resource_name", &S::resource_name, versions(0));
      v.field("configs", &S::configs, versions(0));
    }
    bool operator==(const AlterConfigsResource&) const = default;
  };

  std::vector<AlterConfigsResource> resources;
  bool validate_only = false;

  template <class V>
  static void fields(V& v) {
    using S = AlterConfigsRequest;
    v.field("resources", &S::resources, versions(0));
    v.field("validate_only", &S::validate_only, versions(0));
  }
  bool operator==(const AlterConfigsRequest&) const = default;
};

struct AlterConfigsResponse {
  static constexpr ApiKey api_key = ApiKey::alter_configs;
  static constexpr bool is_request = false;
  static constexpr std::string_view message_name = "AlterConfigsResponse";

  std::int32_t throttle_time_ms = 0;
  std::vector<AlterConfigsResourceResponse> responses;

  template <class V>
  static void fields(V& v) {
    using S = AlterConfigsResponse;
    v.field("throttle_time_ms", &S::throttle_time_ms, versions(0));
    v.field("responses", &S::responses, versions(0));
  }
  bool operator==(const AlterConfigsResponse&) const = default;
};

struct IncrementalAlterConfigsRequest {
  static constexpr ApiKey api_key = ApiKey::incremental_alter_configs;
  static constexpr bool is_request = true;
  static constexpr std::string_view message_name = "IncrementalAlterConfigsRequest";

  // Values of config_operation (Kafka's AlterConfigOp.OpType).
  static constexpr std::int8_t op_set = 0;
  static constexpr std::int8_t op_delete = 1;
  static constexpr std::int8_t op_append = 2;
  static constexpr std::int8_t op_subtract = 3;

  struct AlterableConfig {
    std::string name;
    std::int8_t config_operation = 0;
    std::optional<std::string> value;

    template <class V>
    static void fields(V& v) {
      using S = AlterableConfig;
      v.field("name", &S::name, versions(0));
      v.field("config_operation", &S::config_operation, versions(0));
      v.field("value", &S::value, versions(0).nullable(0));
    }
    bool operator==(const AlterableConfig&) const = default;
  };

  struct AlterConfigsResource {
    std::int8_t resource_type = 0;
    std::string resource_name;
    std::vector<AlterableConfig> configs;

    template <class V>
    static void fields(V& v) {
      using S = AlterConfigsResource;
      v.field("resource_type", &S::resource_type, versions(0));
      v.field("resource_name", &S::resource_name, versions(0));
      v.field("configs", &S::configs, versions(0));
    }
    bool operator==(const AlterConfigsResource&) const = default;
  };

  std::vector<AlterConfigsResource> resources;
  bool validate_only = false;

  template <class V>
  static void fields(V& v) {
    using S = IncrementalAlterConfigsRequest;
    v.field("resources", &S::resources, versions(0));
    v.field("validate_only", &S::validate_only, versions(0));
  }
  bool operator==(const IncrementalAlterConfigsRequest&) const = default;
};

struct IncrementalAlterConfigsResponse {
  static constexpr ApiKey api_key = ApiKey::incremental_alter_configs;
  static constexpr bool is_request = false;
  static constexpr std::string_view message_name = "IncrementalAlterConfigsResponse";

  std::int32_t throttle_time_ms = 0;
  std::vector<AlterConfigsResourceResponse> responses;

  template <class V>
  static void fields(V& v) {
    using S = IncrementalAlterConfigsResponse;
    v.field("throttle_time_ms", &S::throttle_time_ms, versions(0));
    v.field("responses", &S::responses, versions(0));
  }
  bool operator==(const IncrementalAlterConfigsResponse&) const = default;
};

}  // namespace keel::protocol
