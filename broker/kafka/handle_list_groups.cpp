// ListGroups: the groups this broker coordinates (tools ask every broker), filtered by state (v4).
#include "broker/group/group_coordinator.h"
#include "broker/kafka/handlers.h"
#include "broker/kafka/services.h"

namespace keel::kafka {

HandlerResult handle_list_groups(RequestContext& ctx, protocol::Reader& body) {
  auto request = decode_request<protocol::ListGroupsRequest>(ctx, body);
  if (!request) return request.error();
  return std::optional(encode_response(ctx, ctx.broker.groups.list_groups(*request)));
}

}  // namespace keel::kafka
