// CreateTopics: validate name, partition count, replication factor and configs, then create the
// topic (registry entry, then partition logs). validate_only checks without creating.
#include <fmt/format.h>

#include <set>

#include "broker/server/broker.h"
#include "broker/server/handlers.h"

namespace keel::server {
namespace {

using protocol::CreateTopicsRequest;
using protocol::CreateTopicsResponse;
using protocol::ErrorCode;

// Manual assignments are accepted when every replica is this broker (the only one there is).
std::optional<Broker::TopicError> check_assignments(const Broker& broker, const CreateTopicsRequest::CreatableTopic& t,
                                                    std::int32_t& partitions, std::int16_t& replication_factor) {
  if (t.assignments.empty()) return std::nullopt;
  if (t.num_partitions != -1 || t.replication_factor != -1) {
    return Broker::TopicError{ErrorCode::invalid_request,
                              "Both numPartitions or replicationFactor and replicasAssignments were set."};
  }
  partitions = static_cast<std::int32_t>(t.assignments.size());
  replication_factor = static_cast<std::int16_t>(t.assignments.front().broker_ids.size());
  for (std::size_t i = 0; i < t.assignments.size(); ++i) {
    const auto& a = t.assignments[i];
    if (a.partition_index != static_cast<std::int32_t>(i)) {
      return Broker::TopicError{ErrorCode::invalid_replica_assignment, "partitions must be numbered 0 to n-1 in order"};
    }
    for (std::int32_t id : a.broker_ids) {
      if (id != broker.config().node_id) {
        return Broker::TopicError{ErrorCode::invalid_replica_assignment, fmt::format("broker {} does not exist", id)};
      }
    }
  }
  return std::nullopt;
}

CreateTopicsResponse::CreatableTopicResult create_one(Broker& broker, const CreateTopicsRequest::CreatableTopic& t,
                                                      bool validate_only) {
  CreateTopicsResponse::CreatableTopicResult out;
  out.name = t.name;
  std::int32_t partitions = t.num_partitions;
  std::int16_t replication_factor = t.replication_factor;
  std::map<std::string, std::string> configs;
  for (const auto& c : t.configs) {
    if (c.value.has_value()) configs[c.name] = *c.value;
  }
  auto error = check_assignments(broker, t, partitions, replication_factor);
  if (!error) error = broker.create_topic(t.name, partitions, replication_factor, configs, validate_only);
  if (error) {
    out.error_code = static_cast<std::int16_t>(error->code);
    out.error_message = error->message;
    return out;
  }
  out.error_code = static_cast<std::int16_t>(ErrorCode::none);
  if (const TopicInfo* topic = broker.topics().find(t.name)) {
    out.topic_id = topic->id;
    out.num_partitions = topic->partitions;
    out.replication_factor = topic->replication_factor;
  } else {  // validate_only
    out.num_partitions = partitions == -1 ? broker.config().num_partitions : partitions;
    out.replication_factor = replication_factor == -1 ? broker.config().default_replication_factor : replication_factor;
  }
  return out;
}

}  // namespace

HandlerResult handle_create_topics(RequestContext& ctx, protocol::Reader& body) {
  auto request = decode_request<CreateTopicsRequest>(ctx, body);
  if (!request) return request.error();
  CreateTopicsResponse response;
  std::set<std::string> seen;
  for (const auto& topic : request->topics) {
    if (!seen.insert(topic.name).second) {
      CreateTopicsResponse::CreatableTopicResult duplicate;
      duplicate.name = topic.name;
      duplicate.error_code = static_cast<std::int16_t>(ErrorCode::invalid_request);
      duplicate.error_message = fmt::format("Create topics request contains topic '{}' more than once.", topic.name);
      response.topics.push_back(std::move(duplicate));
      continue;
    }
    response.topics.push_back(create_one(ctx.broker, topic, request->validate_only));
  }
  return std::optional(encode_response(ctx, response));
}

}  // namespace keel::server
