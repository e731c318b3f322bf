// ConsumerGroupHeartbeat (KIP-848): a consumer group member joins, heartbeats, reconciles and
// leaves through this one call; the coordinator answers once its records are committed.
#include "broker/group/group_coordinator.h"
#include "broker/kafka/group_client.h"
#include "broker/kafka/handlers.h"
#include "broker/kafka/services.h"
#include "broker/metadata/quorum.h"

namespace keel::kafka {
namespace {

// A group's operations without an authorizer (AclEntry.supportedOperations): READ, DELETE, DESCRIBE.
constexpr std::int32_t group_authorized_operations = (1 << 3) | (1 << 6) | (1 << 8);

}  // namespace

HandlerResult handle_consumer_group_heartbeat(RequestContext& ctx, protocol::Reader& body) {
  auto request = decode_request<protocol::ConsumerGroupHeartbeatRequest>(ctx, body);
  if (!request) return request.error();
  const group::TopicsView topics = topics_view(ctx.broker.quorum.image());
  return std::optional(encode_response(
      ctx, ctx.broker.groups.consumer_group_heartbeat(*request, ctx.header.api_version, group_client(ctx), topics)));
}

HandlerResult handle_consumer_group_describe(RequestContext& ctx, protocol::Reader& body) {
  auto request = decode_request<protocol::ConsumerGroupDescribeRequest>(ctx, body);
  if (!request) return request.error();
  const group::TopicsView topics = topics_view(ctx.broker.quorum.image());
  protocol::ConsumerGroupDescribeResponse response;
  for (const auto& id : request->group_ids) {
    auto described = ctx.broker.groups.consumer_group_describe(id, topics);
    if (request->include_authorized_operations && described.error_code == 0) {
      described.authorized_operations = group_authorized_operations;
    }
    response.groups.push_back(std::move(described));
  }
  return std::optional(encode_response(ctx, response));
}

}  // namespace keel::kafka
