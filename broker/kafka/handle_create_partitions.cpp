// CreatePartitions: grows topics to a new partition count, on the brokers the request assigns or
// where the controller places them, each topic through the active controller (which writes a
// PartitionRecord per new partition, so every broker creates them); answered once this broker
// serves them. validate_only checks without creating. A topic named twice is refused as a whole
// with INVALID_REQUEST, answered first, as Kafka's ControllerApis does.
#include <fmt/format.h>

#include <set>

#include "broker/base/assert.h"
#include "broker/kafka/admin.h"
#include "broker/kafka/errors.h"
#include "broker/kafka/handlers.h"
#include "broker/kafka/services.h"
#include "broker/metadata/quorum.h"

namespace keel::kafka {
namespace {

using protocol::CreatePartitionsRequest;
using protocol::CreatePartitionsResponse;
using protocol::ErrorCode;
using TopicResult = CreatePartitionsResponse::CreatePartitionsTopicResult;

metadata::CreatePartitionsRequest to_controller(const CreatePartitionsRequest::CreatePartitionsTopic& topic,
                                                bool validate_only) {
  metadata::CreatePartitionsRequest out;
  out.topic = topic.name;
  out.count = topic.count;
  out.validate_only = validate_only;
  if (topic.assignments) {
    for (const auto& a : *topic.assignments) out.assignments.push_back({ids_of<BrokerId>(a.broker_ids)});
  }
  return out;
}

TopicResult result(const std::string& name, const std::optional<TopicError>& error) {
  TopicResult out;
  out.name = name;
  out.error_code = wire(error ? error->code : ErrorCode::none);
  if (error) out.error_message = error->message;
  return out;
}

// A null assignment list means "place them"; an empty one, for a topic that grows, assigns too few
// (the controller's other checks come first, as in Kafka, so other cases go to it).
std::optional<TopicError> request_problem(const BrokerServices& broker,
                                          const CreatePartitionsRequest::CreatePartitionsTopic& topic) {
  if (!topic.assignments || !topic.assignments->empty()) return std::nullopt;
  const auto* current = broker.quorum.image().topic(topic.name);
  if (current == nullptr || static_cast<std::size_t>(topic.count) <= current->partitions.size()) return std::nullopt;
  return TopicError{ErrorCode::invalid_replica_assignment,
                    fmt::format("Attempted to add {} additional partition(s), but only 0 assignment(s) were specified.",
                                static_cast<std::size_t>(topic.count) - current->partitions.size())};
}

}  // namespace

HandlerResult handle_create_partitions(RequestContext& ctx, protocol::Reader& body) {
  auto request = decode_request<CreatePartitionsRequest>(ctx, body);
  if (!request) return request.error();
  std::set<std::string> names;
  std::set<std::string> duplicates;
  for (const auto& topic : request->topics)
    if (!names.insert(topic.name).second) duplicates.insert(topic.name);
  CreatePartitionsResponse response;
  for (const auto& name : duplicates)
    response.results.push_back(result(name, TopicError{ErrorCode::invalid_request, "Duplicate topic name."}));
  const Duration timeout = controller_timeout(request->timeout_ms);
  for (const auto& topic : request->topics) {
    if (duplicates.contains(topic.name)) continue;
    auto error = request_problem(ctx.broker, topic);
    if (!error) error = create_partitions(ctx.broker, to_controller(topic, request->validate_only), timeout);
    response.results.push_back(result(topic.name, error));
  }
  KEEL_ASSERT_EQ(response.results.size(), names.size());  // one answer per topic named
  for (const auto& r : response.results)
    trace_client_error(ctx, r.name, static_cast<ErrorCode>(r.error_code), r.error_message.value_or(""));
  return std::optional(encode_response(ctx, response));
}

}  // namespace keel::kafka
