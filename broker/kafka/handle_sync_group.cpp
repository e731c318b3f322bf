// SyncGroup: the leader's assignment is committed to __consumer_offsets before any member gets its
// share; followers wait for it in the group coordinator's shard.
#include "broker/group/group_coordinator.h"
#include "broker/kafka/group_client.h"
#include "broker/kafka/handlers.h"
#include "broker/kafka/services.h"

namespace keel::kafka {

HandlerResult handle_sync_group(RequestContext& ctx, protocol::Reader& body) {
  auto request = decode_request<protocol::SyncGroupRequest>(ctx, body);
  if (!request) return request.error();
  return std::optional(encode_response(ctx, ctx.broker.groups.sync_group(*request, group_client(ctx))));
}

}  // namespace keel::kafka
