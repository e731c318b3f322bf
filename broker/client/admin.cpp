#include "broker/client/admin.h"

#include <fmt/format.h>

#include "broker/protocol/errors.h"

namespace keel::client {
namespace {

// The newest versions this client writes (DeleteTopics v6 names topics differently).
constexpr std::int16_t create_topics_version_max = 7;
constexpr std::int16_t delete_topics_version_max = 5;
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

}  // namespace keel::client
