// Heartbeat: keeps a classic group member's session alive; REBALANCE_IN_PROGRESS tells it to rejoin.
#include "broker/group/group_coordinator.h"
#include "broker/kafka/handlers.h"
#include "broker/kafka/services.h"

namespace keel::kafka {

HandlerResult handle_heartbeat(RequestContext& ctx, protocol::Reader& body) {
  auto request = decode_request<protocol::HeartbeatRequest>(ctx, body);
  if (!request) return request.error();
  return std::optional(encode_response(ctx, ctx.broker.groups.heartbeat(*request)));
}

}  // namespace keel::kafka
