// Metadata: this broker, the cluster id, a controller id clients can use (itself), and the topics
// asked for, created on the fly when auto.create.topics.enable and the request allow it.
#include <fmt/format.h>

#include "broker/server/broker.h"
#include "broker/server/handlers.h"

namespace keel::server {
namespace {

using protocol::ErrorCode;
using protocol::MetadataRequest;
using protocol::MetadataResponse;

MetadataResponse::MetadataResponseTopic describe_topic(Broker& broker, const TopicInfo& topic) {
  const std::int32_t self = broker.config().node_id;
  MetadataResponse::MetadataResponseTopic out;
  out.error_code = static_cast<std::int16_t>(ErrorCode::none);
  out.name = topic.name;
  for (std::int32_t p = 0; p < topic.partitions; ++p) {
    MetadataResponse::MetadataResponsePartition partition;
    partition.error_code = static_cast<std::int16_t>(ErrorCode::none);
    partition.partition_index = p;
    partition.leader_id = self;
    partition.leader_epoch = 0;
    partition.replica_nodes = {self};
    partition.isr_nodes = {self};
    out.partitions.push_back(std::move(partition));
  }
  return out;
}

MetadataResponse::MetadataResponseTopic topic_error(const std::string& name, ErrorCode code) {
  MetadataResponse::MetadataResponseTopic out;
  out.error_code = static_cast<std::int16_t>(code);
  out.name = name;
  return out;
}

// Which topics the request names: null means all (v1+), and in v0 an empty list means all too.
std::optional<std::vector<std::string>> requested_topics(const MetadataRequest& request, std::int16_t version) {
  if (!request.topics.has_value()) return std::nullopt;
  if (version == 0 && request.topics->empty()) return std::nullopt;
  std::vector<std::string> names;
  for (const auto& topic : *request.topics) names.push_back(topic.name);
  return names;
}

MetadataResponse::MetadataResponseTopic lookup_or_create(Broker& broker, const std::string& name, bool allow_create) {
  if (const TopicInfo* topic = broker.topics().find(name)) return describe_topic(broker, *topic);
  if (!allow_create || !broker.config().auto_create_topics_enable) {
    return topic_error(name, ErrorCode::unknown_topic_or_partition);
  }
  if (auto problem = topic_name_problem(name); !problem.empty()) return topic_error(name, ErrorCode::invalid_topic_exception);
  if (auto error = broker.create_topic(name, -1, -1, {}, false)) {
    // A concurrent request may have created it meanwhile.
    if (error->code != ErrorCode::topic_already_exists) return topic_error(name, error->code);
  }
  const TopicInfo* topic = broker.topics().find(name);
  return topic != nullptr ? describe_topic(broker, *topic) : topic_error(name, ErrorCode::leader_not_available);
}

}  // namespace

HandlerResult handle_metadata(RequestContext& ctx, protocol::Reader& body) {
  auto request = decode_request<MetadataRequest>(ctx, body);
  if (!request) return request.error();
  Broker& broker = ctx.broker;
  MetadataResponse response;
  MetadataResponse::MetadataResponseBroker self;
  self.node_id = broker.config().node_id;
  self.host = broker.advertised().host;
  self.port = broker.advertised().port;
  response.brokers.push_back(std::move(self));
  response.cluster_id = broker.cluster_id();
  response.controller_id = broker.config().node_id;
  const auto names = requested_topics(*request, ctx.header.api_version);
  if (!names) {
    for (const auto& [name, topic] : broker.topics().all()) response.topics.push_back(describe_topic(broker, topic));
  } else {
    const bool allow_create = ctx.header.api_version < 4 || request->allow_auto_topic_creation;
    for (const auto& name : *names) response.topics.push_back(lookup_or_create(broker, name, allow_create));
  }
  return std::optional(encode_response(ctx, response));
}

}  // namespace keel::server
