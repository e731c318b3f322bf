// AlterConfigs and IncrementalAlterConfigs: a topic's configs, or a broker's dynamic configs (the
// log defaults of topic configs, per broker or cluster-wide), changed through the controller (see
// admin.h), answered per resource.
#include <fmt/format.h>

#include "broker/kafka/admin.h"
#include "broker/kafka/errors.h"
#include "broker/kafka/handlers.h"
#include "broker/kafka/services.h"

namespace keel::kafka {
namespace {

using protocol::AlterConfigsResourceResponse;
using protocol::ErrorCode;

AlterConfigsResourceResponse answer(std::int8_t type, const std::string& name, const std::optional<TopicError>& error) {
  AlterConfigsResourceResponse out;
  out.resource_type = type;
  out.resource_name = name;
  out.error_code = wire(error ? error->code : ErrorCode::none);
  if (error) out.error_message = error->message;
  return out;
}

std::optional<TopicError> alter_resource(BrokerServices& broker, std::int8_t type, const std::string& name,
                                         const std::vector<metadata::ConfigChange>& changes, bool replace_all,
                                         bool validate_only) {
  if (type == protocol::config_resource_topic) {
    return alter_topic_configs(broker, name, changes, replace_all, validate_only);
  }
  if (type == protocol::config_resource_broker) {
    return alter_broker_configs(broker, name, changes, replace_all, validate_only);
  }
  return TopicError{ErrorCode::invalid_request, fmt::format("resource type {} is not supported", type)};
}

template <class Response>
void trace_errors(RequestContext& ctx, const Response& response) {
  for (const auto& r : response.responses) {
    trace_client_error(ctx, r.resource_name, static_cast<ErrorCode>(r.error_code), r.error_message.value_or(""));
  }
}

}  // namespace

HandlerResult handle_alter_configs(RequestContext& ctx, protocol::Reader& body) {
  auto request = decode_request<protocol::AlterConfigsRequest>(ctx, body);
  if (!request) return request.error();
  protocol::AlterConfigsResponse response;
  for (const auto& resource : request->resources) {
    std::vector<metadata::ConfigChange> changes;
    for (const auto& c : resource.configs) changes.push_back({c.name, metadata::ConfigChange::set, c.value});
    const auto error = alter_resource(ctx.broker, resource.resource_type, resource.resource_name, changes, true,
                                      request->validate_only);
    response.responses.push_back(answer(resource.resource_type, resource.resource_name, error));
  }
  trace_errors(ctx, response);
  return std::optional(encode_response(ctx, response));
}

HandlerResult handle_incremental_alter_configs(RequestContext& ctx, protocol::Reader& body) {
  auto request = decode_request<protocol::IncrementalAlterConfigsRequest>(ctx, body);
  if (!request) return request.error();
  protocol::IncrementalAlterConfigsResponse response;
  for (const auto& resource : request->resources) {
    std::vector<metadata::ConfigChange> changes;
    for (const auto& c : resource.configs) changes.push_back({c.name, c.config_operation, c.value});
    const auto error = alter_resource(ctx.broker, resource.resource_type, resource.resource_name, changes, false,
                                      request->validate_only);
    response.responses.push_back(answer(resource.resource_type, resource.resource_name, error));
  }
  trace_errors(ctx, response);
  return std::optional(encode_response(ctx, response));
}

}  // namespace keel::kafka
