#pragma once
// DescribeConfigs (key 32), versions 0-4; flexible from 4. Version 0 has is_default where later
// versions have config_source (Kafka's current schema no longer lists v0); v1 adds synonyms, v3 the
// config's type and documentation.
#include "broker/protocol/schema.h"

namespace keel::protocol {

struct DescribeConfigsRequest {
  static constexpr ApiKey api_key = ApiKey::describe_configs;
  static constexpr bool is_request = true;
  static constexpr std::string_view message_name = "DescribeConfigsRequest";

  // Values of resource_type.
  static constexpr std::int8_t resource_type_topic = 2;
  static constexpr std::int8_t resource_type_broker = 4;

  struct DescribeConfigsResource {
    std::int8_t resource_type = 0;
    std::string resource_name;
    std::optional<std::vector<std::string>> configuration_keys;  // null lists every key

    template <class V>
    static void fields(V& v) {
      using S = DescribeConfigsResource;
      v.field("resource_type", &S::resource_type, versions(0));
      v.field("resource_name", &S::resource_name, versions(0));
      v.field("configuration_keys", &S::configuration_keys, versions(0).nullable(0));
    }
    bool operator==(const DescribeConfigsResource&) const = default;
  };

  std::vector<DescribeConfigsResource> resources;
  bool include_synonyms = false;
  bool include_documentation = false;

  template <class V>
  static void fields(V& v) {
    using S = DescribeConfigsRequest;
    v.field("resources", &S::resources, versions(0));
    v.field("include_synonyms", &S::include_synonyms, versions(1));
    v.field("include_documentation", &S::include_documentation, versions(3));
  }
  bool operator==(const DescribeConfigsRequest&) const = default;
};

struct DescribeConfigsResponse {
  static constexpr ApiKey api_key = ApiKey::describe_configs;
  static constexpr bool is_request = false;
  static constexpr std::string_view message_name = "DescribeConfigsResponse";

  struct DescribeConfigsSynonym {
    std::string name;
    std::optional<std::string> value;
    std::int8_t source = 0;

    template <class V>
    static void fields(V& v) {
      using S = DescribeConfigsSynonym;
      v.field("name", &S::name, versions(1));
      v.field("value", &S::value, versions(1).nullable(0));
      v.field("source", &S::source, versions(1));
    }
    bool operator==(const DescribeConfigsSynonym&) const = default;
  };

  struct DescribeConfigsResourceResult {
    std::string name;
    std::optional<std::string> value;
    bool read_only = false;
    bool is_default = false;
    std::int8_t config_source = -1;
    bool is_sensitive = false;
    std::vector<DescribeConfigsSynonym> synonyms;
    std::int8_t config_type = 0;  // Kafka's ConfigType (0: unknown)
    std::optional<std::string> documentation;

    template <class V>
    static void fields(V& v) {
      using S = DescribeConfigsResourceResult;
      v.field("name", &S::name, versions(0));
      v.field("value", &S::value, versions(0).nullable(0));
      v.field("read_only", &S::read_only, versions(0));
      v.field("is_default", &S::is_default, versions(0, 0));
      v.field("config_source", &S::config_source, versions(1));
      v.field("is_sensitive", &S::is_sensitive, versions(0));
      v.field("synonyms", &S::synonyms, versions(1));
      v.field("config_type", &S::config_type, versions(3));
      v.field("documentation", &S::documentation, versions(3).nullable(3));
    }
    bool operator==(const DescribeConfigsResourceResult&) const = default;
  };

  struct DescribeConfigsResult {
    std::int16_t error_code = 0;
    std::optional<std::string> error_message;
    std::int8_t resource_type = 0;
    std::string resource_name;
    std::vector<DescribeConfigsResourceResult> configs;

    template <class V>
    static void fields(V& v) {
      using S = DescribeConfigsResult;
      v.field("error_code", &S::error_code, versions(0));
      v.field("error_message", &S::error_message, versions(0).nullable(0));
      v.field("resource_type", &S::resource_type, versions(0));
      v.field("resource_name", &S::resource_name, versions(0));
      v.field("configs", &S::configs, versions(0));
    }
    bool operator==(const DescribeConfigsResult&) const = default;
  };

  std::int32_t throttle_time_ms = 0;
  std::vector<DescribeConfigsResult> results;

  template <class V>
  static void fields(V& v) {
    using S = DescribeConfigsResponse;
    v.field("throttle_time_ms", &S::throttle_time_ms, versions(0));
    v.field("results", &S::results, versions(0));
  }
  bool operator==(const DescribeConfigsResponse&) const = default;
};

}  // namespace keel::protocol
