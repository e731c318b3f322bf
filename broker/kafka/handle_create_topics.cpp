// CreateTopics: validate name, partition count, replication factor and configs, then ask the active
// controller to create the topic (it places the replicas); answered once this broker applied it.
// validate_only checks without creating.
#include <fmt/format.h>

#include <set>

#include "broker/kafka/admin.h"
#include "broker/kafka/errors.h"
#include "broker/kafka/handlers.h"
#include "broker/kafka/services.h"
#include "broker/metadata/quorum.h"

namespace keel::kafka {
namespace {

using protocol::CreateTopicsRequest;
using protocol::CreateTopicsResponse;
using protocol::ErrorCode;

// Manual assignments: partitions numbered 0..n-1 in order, each on registered brokers (checked here
// for validate_only; the controller checks the rest and places each partition on its assignment).
std::optional<TopicError> check_assignments(const BrokerServices& broker, const CreateTopicsRequest::CreatableTopic& t,
                                            std::int32_t& partitions, std::int16_t& replication_factor) {
  if (t.assignments.empty()) return std::nullopt;
  if (t.num_partitions != -1 || t.replication_factor != -1) {
    return TopicError{ErrorCode::invalid_request, "Both numPartitions or replicationFactor and replicasAssignments were set."};
  }
  partitions = static_cast<std::int32_t>(t.assignments.size());
  replication_factor = static_cast<std::int16_t>(t.assignments.front().broker_ids.size());
  for (std::size_t i = 0; i < t.assignments.size(); ++i) {
    const auto& a = t.assignments[i];
    if (a.partition_index != static_cast<std::int32_t>(i)) {
      return TopicError{ErrorCode::invalid_replica_assignment, "partitions must be numbered 0 to n-1 in order"};
    }
    for (std::int32_t id : a.broker_ids) {
      if (broker.quorum.image().broker(id) == nullptr) {
        return TopicError{ErrorCode::invalid_replica_assignment, fmt::format("broker {} does not exist", id)};
      }
    }
  }
  return std::nullopt;
}

CreateTopicsResponse::CreatableTopicResult create_one(BrokerServices& broker, const CreateTopicsRequest::CreatableTopic& t,
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
  std::vector<metadata::NewPartitionAssignment> assignments;
  for (const auto& a : t.assignments) {
    auto& replicas = assignments.emplace_back().replicas;
    for (std::int32_t id : a.broker_ids) replicas.push_back(BrokerId{id});
  }
  if (!error) error = create_topic(broker, t.name, partitions, replication_factor, configs, validate_only, std::move(assignments));
  if (error) {
    out.error_code = wire(error->code);
    out.error_message = error->message;
    return out;
  }
  out.error_code = wire(ErrorCode::none);
  const auto* topic = validate_only ? nullptr : broker.quorum.image().topic(t.name);
  if (topic != nullptr) {
    out.topic_id = topic->id;
    out.num_partitions = static_cast<std::int32_t>(topic->partitions.size());
    out.replication_factor =
        static_cast<std::int16_t>(topic->partitions.empty() ? 0 : topic->partitions.begin()->second.replicas.size());
  } else {
    out.num_partitions = partitions == -1 ? broker.config.num_partitions : partitions;
    out.replication_factor = replication_factor == -1 ? broker.config.default_replication_factor : replication_factor;
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
      duplicate.error_code = wire(ErrorCode::invalid_request);
      duplicate.error_message = fmt::format("Create topics request contains topic '{}' more than once.", topic.name);
      response.topics.push_back(std::move(duplicate));
      continue;
    }
    response.topics.push_back(create_one(ctx.broker, topic, request->validate_only));
  }
  for (const auto& t : response.topics) {
    trace_client_error(ctx, t.name, static_cast<ErrorCode>(t.error_code), t.error_message.value_or(""));
  }
  return std::optional(encode_response(ctx, response));
}

}  // namespace keel::kafka
