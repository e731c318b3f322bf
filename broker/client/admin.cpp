#include "broker/client/admin.h"

#include <fmt/format.h>

#include "broker/protocol/errors.h"

namespace keel::client {
namespace {

// The newest versions this client writes (DeleteTopics v6 names topics differently).
constexpr std::int16_t create_topics_version_max = 7;
constexpr std::int16_t delete_topics_version_max = 5;
constexpr std::int16_t describe_configs_version_max = 4;
constexpr std::int16_t alter_configs_version_max = 2;
constexpr std::int16_t incremental_alter_configs_version_max = 1;

// The one resource's answer of an alter, as a Status.
template <class Response>
Status resource_status(const Result<Response>& response, std::string_view api) {
  if (!response) return response.error();
  if (response->responses.empty()) return make_error(Errc::corrupt, fmt::format("{} answered without the resource", api));
  const auto& r = response->responses[0];
  if (r.error_code != 0) return kafka_error(static_cast<protocol::ErrorCode>(r.error_code), r.error_message.value_or(""));
  return {};
}
constexpr Duration connect_retry_backoff = std::chrono::milliseconds(100);

}  // namespace

Admin::Admin(Runtime& rt, std::vector<Address> bootstrap_servers, Duration request_timeout)
    : cluster_(rt, std::move(bootstrap_servers), "keel-admin", request_timeout), request_timeout_(request_timeout) {}

Result<std::shared_ptr<BrokerConnection>> Admin::connect_any() {
  Runtime& rt = cluster_.runtime();
  const Instant deadline = rt.now() + request_timeout_;
  while (true) {
    auto connection = cluster_.connection(-1);
    if (connection || rt.now() >= deadline) return connection;
    rt.sleep_for(connect_retry_backoff);
  }
}

Status Admin::create_topic(const std::string& name, std::int32_t partitions, std::int16_t replication_factor,
                           const std::map<std::string, std::string>& configs) {
  auto connection = connect_any();
  if (!connection) return connection.error();
  const auto version = (*connection)->version_for(protocol::ApiKey::create_topics, create_topics_version_max);
  if (!version) return make_error(Errc::refused, "the broker serves no CreateTopics version this client speaks");
  protocol::CreateTopicsRequest request;
  protocol::CreateTopicsRequest::CreatableTopic topic;
  topic.name = name;
  topic.num_partitions = partitions;
  topic.replication_factor = replication_factor;
  for (const auto& [key, value] : configs) {
    protocol::CreateTopicsRequest::CreatableTopicConfig c;
    c.name = key;
    c.value = value;
    topic.configs.push_back(std::move(c));
  }
  request.topics.push_back(std::move(topic));
  request.timeout_ms = static_cast<std::int32_t>(to_ms(request_timeout_));
  auto response = (*connection)->call<protocol::CreateTopicsResponse>(request, *version);
  if (!response) return response.error();
  if (response->topics.empty()) return make_error(Errc::corrupt, "CreateTopics answered without the topic");
  const auto& result = response->topics[0];
  if (result.error_code != 0) {
    return kafka_error(static_cast<protocol::ErrorCode>(result.error_code), result.error_message.value_or(""));
  }
  return {};
}

Status Admin::delete_topic(const std::string& name) {
  auto connection = connect_any();
  if (!connection) return connection.error();
  const auto version = (*connection)->version_for(protocol::ApiKey::delete_topics, delete_topics_version_max);
  if (!version) return make_error(Errc::refused, "the broker serves no DeleteTopics version this client speaks");
  protocol::DeleteTopicsRequest request;
  request.topic_names = {name};
  request.timeout_ms = static_cast<std::int32_t>(to_ms(request_timeout_));
  auto response = (*connection)->call<protocol::DeleteTopicsResponse>(request, *version);
  if (!response) return response.error();
  if (response->responses.empty()) return make_error(Errc::corrupt, "DeleteTopics answered without the topic");
  const auto& result = response->responses[0];
  if (result.error_code != 0) {
    return kafka_error(static_cast<protocol::ErrorCode>(result.error_code), result.error_message.value_or(""));
  }
  return {};
}

Result<protocol::MetadataResponse> Admin::metadata(const std::vector<std::string>& topics) {
  auto connection = connect_any();
  if (!connection) return connection.error();
  return request_metadata(**connection, topics, false);
}

Result<std::vector<Admin::ConfigResult>> Admin::describe_configs(std::int8_t resource_type, const std::string& name) {
  auto connection = connect_any();
  if (!connection) return connection.error();
  const auto version = (*connection)->version_for(protocol::ApiKey::describe_configs, describe_configs_version_max);
  if (!version) return make_error(Errc::refused, "the broker serves no DescribeConfigs version this client speaks");
  protocol::DescribeConfigsRequest request;
  request.resources.push_back({resource_type, name, std::nullopt});
  request.include_synonyms = true;
  request.include_documentation = true;
  auto response = (*connection)->call<protocol::DescribeConfigsResponse>(request, *version);
  if (!response) return response.error();
  if (response->results.empty()) return make_error(Errc::corrupt, "DescribeConfigs answered without the resource");
  auto& result = response->results[0];
  if (result.error_code != 0) {
    return kafka_error(static_cast<protocol::ErrorCode>(result.error_code), result.error_message.value_or(""));
  }
  return std::move(result.configs);
}

Status Admin::alter_configs(std::int8_t resource_type, const std::string& name,
                            const std::map<std::string, std::string>& configs, bool validate_only) {
  auto connection = connect_any();
  if (!connection) return connection.error();
  const auto version = (*connection)->version_for(protocol::ApiKey::alter_configs, alter_configs_version_max);
  if (!version) return make_error(Errc::refused, "the broker serves no AlterConfigs version this client speaks");
  protocol::AlterConfigsRequest request;
  protocol::AlterConfigsRequest::AlterConfigsResource resource{resource_type, name, {}};
  for (const auto& [key, value] : configs) resource.configs.push_back({key, value});
  request.resources.push_back(std::move(resource));
  request.validate_only = validate_only;
  return resource_status((*connection)->call<protocol::AlterConfigsResponse>(request, *version), "AlterConfigs");
}

Status Admin::incremental_alter_configs(std::int8_t resource_type, const std::string& name,
                                        const std::vector<ConfigOp>& ops, bool validate_only) {
  auto connection = connect_any();
  if (!connection) return connection.error();
  const auto version =
      (*connection)->version_for(protocol::ApiKey::incremental_alter_configs, incremental_alter_configs_version_max);
  if (!version) return make_error(Errc::refused, "the broker serves no IncrementalAlterConfigs version this client speaks");
  protocol::IncrementalAlterConfigsRequest request;
  request.resources.push_back({resource_type, name, ops});
  request.validate_only = validate_only;
  return resource_status((*connection)->call<protocol::IncrementalAlterConfigsResponse>(request, *version),
                         "IncrementalAlterConfigs");
}

}  // namespace keel::client
