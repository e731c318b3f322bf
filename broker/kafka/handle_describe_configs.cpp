// DescribeConfigs: the effective configs of a topic (broker defaults and the topic's overrides, with
// their sources, and when asked their synonyms and documentation) or of this broker, both with the
// dynamic broker configs of the metadata image.
#include <fmt/format.h>

#include "broker/kafka/errors.h"
#include "broker/kafka/services.h"
#include "broker/metadata/quorum.h"
#include "broker/kafka/handlers.h"

namespace keel::kafka {
namespace {

using protocol::DescribeConfigsRequest;
using protocol::DescribeConfigsResponse;
using protocol::ErrorCode;
using Resource = DescribeConfigsRequest::DescribeConfigsResource;
using Result_ = DescribeConfigsResponse::DescribeConfigsResult;

constexpr std::int8_t resource_topic = 2;
constexpr std::int8_t resource_broker = 4;

Result_ resource_error(const Resource& resource, ErrorCode code, std::string message) {
  Result_ out;
  out.error_code = static_cast<std::int16_t>(code);
  out.error_message = std::move(message);
  out.resource_type = resource.resource_type;
  out.resource_name = resource.resource_name;
  return out;
}

// What the client asked to see besides each config's value.
struct Detail {
  bool synonyms = false;
  bool documentation = false;
};

DescribeConfigsResponse::DescribeConfigsResourceResult entry_result(const config::ConfigEntry& entry, Detail detail) {
  DescribeConfigsResponse::DescribeConfigsResourceResult config;
  config.name = entry.name;
  config.value = entry.is_sensitive ? std::nullopt : std::optional<std::string>(entry.value);
  config.read_only = entry.read_only;
  config.config_source = static_cast<std::int8_t>(entry.source);
  config.is_default = entry.is_default;
  config.is_sensitive = entry.is_sensitive;
  config.config_type = entry.type;
  if (detail.documentation && !entry.documentation.empty()) config.documentation = entry.documentation;
  if (!detail.synonyms) return config;
  for (const auto& s : entry.synonyms) {
    config.synonyms.push_back({s.name, entry.is_sensitive ? std::nullopt : std::optional<std::string>(s.value),
                               static_cast<std::int8_t>(s.source)});
  }
  return config;
}

Result_ describe(const Resource& resource, const std::vector<config::ConfigEntry>& entries, Detail detail) {
  Result_ out;
  out.error_code = static_cast<std::int16_t>(ErrorCode::none);
  out.resource_type = resource.resource_type;
  out.resource_name = resource.resource_name;
  for (const auto& entry : entries) {
    const auto& keys = resource.configuration_keys;
    if (keys.has_value() && std::find(keys->begin(), keys->end(), entry.name) == keys->end()) continue;
    out.configs.push_back(entry_result(entry, detail));
  }
  return out;
}

config::DynamicBrokerConfigs dynamic_of(BrokerServices& broker) {
  const auto& image = broker.quorum.image();
  return {image.broker_configs(""), image.broker_configs(std::to_string(broker.config.node_id))};
}

Result_ describe_resource(BrokerServices& broker, const Resource& resource, Detail detail) {
  if (resource.resource_type == resource_topic) {
    const auto* topic = broker.quorum.image().topic(resource.resource_name);
    if (topic == nullptr) {
      return resource_error(resource, ErrorCode::unknown_topic_or_partition,
                            fmt::format("Topic '{}' does not exist.", resource.resource_name));
    }
    return describe(resource, config::describe_topic_config(broker.config, topic->configs, dynamic_of(broker)), detail);
  }
  if (resource.resource_type == resource_broker) {
    if (resource.resource_name != std::to_string(broker.config.node_id) && !resource.resource_name.empty()) {
      return resource_error(resource, ErrorCode::invalid_request,
                            fmt::format("Unexpected broker id, expected {} but received {}", broker.config.node_id,
                                        resource.resource_name));
    }
    return describe(resource, config::describe_broker_config(broker.config, dynamic_of(broker)), detail);
  }
  return resource_error(resource, ErrorCode::invalid_request,
                        fmt::format("resource type {} is not supported", resource.resource_type));
}

}  // namespace

HandlerResult handle_describe_configs(RequestContext& ctx, protocol::Reader& body) {
  auto request = decode_request<DescribeConfigsRequest>(ctx, body);
  if (!request) return request.error();
  DescribeConfigsResponse response;
  const Detail detail{request->include_synonyms, request->include_documentation};
  for (const auto& resource : request->resources) {
    response.results.push_back(describe_resource(ctx.broker, resource, detail));
    const auto& r = response.results.back();
    trace_client_error(ctx, r.resource_name, static_cast<ErrorCode>(r.error_code), r.error_message.value_or(""));
  }
  return std::optional(encode_response(ctx, response));
}

}  // namespace keel::kafka
