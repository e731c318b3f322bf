// DeleteTopics: by name (v0 to v5), or by name or topic id (v6), through the active controller.
#include <fmt/format.h>

#include "broker/kafka/admin.h"
#include "broker/kafka/errors.h"
#include "broker/kafka/handlers.h"
#include "broker/kafka/services.h"
#include "broker/metadata/quorum.h"

namespace keel::kafka {
namespace {

using protocol::DeleteTopicsRequest;
using protocol::DeleteTopicsResponse;
using protocol::ErrorCode;

DeleteTopicsResponse::DeletableTopicResult delete_one(BrokerServices& broker, const std::string& name) {
  DeleteTopicsResponse::DeletableTopicResult out;
  out.name = name;
  if (const auto* topic = broker.quorum.image().topic(name)) out.topic_id = topic->id;
  if (auto error = delete_topic(broker, name)) {
    out.error_code = wire(error->code);
    out.error_message = error->message;
  } else {
    out.error_code = wire(ErrorCode::none);
  }
  return out;
}

}  // namespace

HandlerResult handle_delete_topics(RequestContext& ctx, protocol::Reader& body) {
  auto request = decode_request<DeleteTopicsRequest>(ctx, body);
  if (!request) return request.error();
  DeleteTopicsResponse response;
  for (const auto& name : request->topic_names) response.responses.push_back(delete_one(ctx.broker, name));
  for (const auto& state : request->topics) {
    if (state.name.has_value()) {
      response.responses.push_back(delete_one(ctx.broker, *state.name));
    } else if (const auto* topic = ctx.broker.quorum.image().topic(state.topic_id)) {
      response.responses.push_back(delete_one(ctx.broker, std::string(topic->name)));
    } else {
      DeleteTopicsResponse::DeletableTopicResult out;
      out.topic_id = state.topic_id;
      out.error_code = wire(ErrorCode::unknown_topic_id);
      out.error_message = "no topic has this id";
      response.responses.push_back(std::move(out));
    }
  }
  for (const auto& r : response.responses) {
    trace_client_error(ctx, r.name.value_or("(a topic id)"), static_cast<ErrorCode>(r.error_code),
                       r.error_message.value_or(""));
  }
  return std::optional(encode_response(ctx, response));
}

}  // namespace keel::kafka
