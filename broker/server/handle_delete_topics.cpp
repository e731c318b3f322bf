// DeleteTopics: by name (v0 to v5), or by name or topic id (v6).
#include <fmt/format.h>

#include "broker/server/broker.h"
#include "broker/server/handlers.h"

namespace keel::server {
namespace {

using protocol::DeleteTopicsRequest;
using protocol::DeleteTopicsResponse;
using protocol::ErrorCode;

DeleteTopicsResponse::DeletableTopicResult delete_one(Broker& broker, const std::string& name) {
  DeleteTopicsResponse::DeletableTopicResult out;
  out.name = name;
  if (const TopicInfo* topic = broker.topics().find(name)) out.topic_id = topic->id;
  if (auto error = broker.delete_topic(name)) {
    out.error_code = static_cast<std::int16_t>(error->code);
    out.error_message = error->message;
  } else {
    out.error_code = static_cast<std::int16_t>(ErrorCode::none);
  }
  return out;
}

const TopicInfo* find_by_id(Broker& broker, const protocol::Uuid& id) {
  for (const auto& [name, topic] : broker.topics().all()) {
    if (topic.id == id) return &topic;
  }
  return nullptr;
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
    } else if (const TopicInfo* topic = find_by_id(ctx.broker, state.topic_id)) {
      response.responses.push_back(delete_one(ctx.broker, std::string(topic->name)));
    } else {
      DeleteTopicsResponse::DeletableTopicResult out;
      out.topic_id = state.topic_id;
      out.error_code = static_cast<std::int16_t>(ErrorCode::unknown_topic_id);
      out.error_message = "no topic has this id";
      response.responses.push_back(std::move(out));
    }
  }
  return std::optional(encode_response(ctx, response));
}

}  // namespace keel::server
