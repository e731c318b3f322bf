#pragma once
// ApiVersions (key 18), versions 0-3; flexible from 3. The response header is always v0.
#include "broker/protocol/schema.h"

namespace keel::protocol {

struct ApiVersionsRequest {
  static constexpr ApiKey api_key = ApiKey::api_versions;
  static constexpr bool is_request = true;
  static constexpr std::string_view message_name = "ApiVersionsRequest";

  std::string client_software_name;
  std::string client_software_version;

  template <class V>
  static void fields(V& v) {
    using S = ApiVersionsRequest;
    v.field("client_software_name", &S::client_software_name, versions(3));
    v.field("client_software_version", &S::client_software_version, versions(3));
  }
  bool operator==(const ApiVersionsRequest&) const = default;
};

struct ApiVersionsResponse {
  static constexpr ApiKey api_key = ApiKey::api_versions;
  static constexpr bool is_request = false;
  static constexpr std::string_view message_name = "ApiVersionsResponse";

  struct ApiVersion {
    std::int16_t api_key = 0;
    std::int16_t min_version = 0;
    std::int16_t max_version = 0;

    template <class V>
    static void fields(V& v) {
      using S = ApiVersion;
      v.field("api_key", &S::api_key, versions(0));
      v.field("min_version", &S::min_version, versions(0));
      v.field("max_version", &S::max_version, versions(0));
    }
    bool operator==(const ApiVersion&) const = default;
  };

  struct SupportedFeatureKey {
    std::string name;
    std::int16_t min_version = 0;
    std::int16_t max_version = 0;

    template <class V>
    static void fields(V& v) {
      using S = SupportedFeatureKey;
      v.field("name", &S::name, versions(3));
      v.field("min_version", &S::min_version, versions(3));
      v.field("max_version", &S::max_version, versions(3));
    }
    bool operator==(const SupportedFeatureKey&) const = default;
  };

  struct FinalizedFeatureKey {
    std::string name;
    std::int16_t max_version_level = 0;
    std::int16_t min_version_level = 0;

    template <class V>
    static void fields(V& v) {
      using S = FinalizedFeatureKey;
      v.field("name", &S::name, versions(3));
      v.field("max_version_level", &S::max_version_level, versions(3));
      v.field("min_version_level", &S::min_version_level, versions(3));
    }
    bool operator==(const FinalizedFeatureKey&) const = default;
  };

  std::int16_t error_code = 0;
  std::vector<ApiVersion> api_keys;
  std::int32_t throttle_time_ms = 0;
  std::vector<SupportedFeatureKey> supported_features;  // tagged
  std::int64_t finalized_features_epoch = -1;           // tagged
  std::vector<FinalizedFeatureKey> finalized_features;  // tagged
  bool zk_migration_ready = false;                      // tagged

  template <class V>
  static void fields(V& v) {
    using S = ApiVersionsResponse;
    v.field("error_code", &S::error_code, versions(0));
    v.field("api_keys", &S::api_keys, versions(0));
    v.field("throttle_time_ms", &S::throttle_time_ms, versions(1));
    v.field("supported_features", &S::supported_features, versions(3).tagged(0, 3));
    v.field("finalized_features_epoch", &S::finalized_features_epoch, versions(3).tagged(1, 3));
    v.field("finalized_features", &S::finalized_features, versions(3).tagged(2, 3));
    v.field("zk_migration_ready", &S::zk_migration_ready, versions(3).tagged(3, 3));
  }
  bool operator==(const ApiVersionsResponse&) const = default;
};

// Kafka checks ApiVersions v3+ client_software_name and client_software_version against
// [a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])? and answers INVALID_REQUEST when either fails.
bool is_valid_client_software_field(std::string_view value);

}  // namespace keel::protocol
