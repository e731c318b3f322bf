// JoinGroup: served by the group coordinator (broker/group), whose shard parks the request until
// the join phase of the rebalance completes.
#include "broker/group/group_coordinator.h"
#include "broker/kafka/group_client.h"
#include "broker/kafka/handlers.h"
#include "broker/kafka/services.h"

namespace keel::kafka {

HandlerResult handle_join_group(RequestContext& ctx, protocol::Reader& body) {
  auto request = decode_request<protocol::JoinGroupRequest>(ctx, body);
  if (!request) return request.error();
  auto response = ctx.broker.groups.join_group(*request, group_client(ctx));
  // ProtocolName cannot be null before v7: error answers carry "" (librdkafka needs a string).
  if (ctx.header.api_version < 7 && !response.protocol_name) response.protocol_name = "";
  return std::optional(encode_response(ctx, response));
}

}  // namespace keel::kafka
