// LeaveGroup: one member (v0-2) or a batch with an error each (v3+, admins removing static members).
#include "broker/group/group_coordinator.h"
#include "broker/kafka/group_client.h"
#include "broker/kafka/handlers.h"
#include "broker/kafka/services.h"

namespace keel::kafka {

HandlerResult handle_leave_group(RequestContext& ctx, protocol::Reader& body) {
  auto request = decode_request<protocol::LeaveGroupRequest>(ctx, body);
  if (!request) return request.error();
  return std::optional(encode_response(ctx, ctx.broker.groups.leave_group(*request, group_client(ctx))));
}

}  // namespace keel::kafka
