// DeleteGroups: an Empty group and its offsets are tombstoned (NON_EMPTY_GROUP otherwise).
#include "broker/group/group_coordinator.h"
#include "broker/kafka/handlers.h"
#include "broker/kafka/services.h"

namespace keel::kafka {

HandlerResult handle_delete_groups(RequestContext& ctx, protocol::Reader& body) {
  auto request = decode_request<protocol::DeleteGroupsRequest>(ctx, body);
  if (!request) return request.error();
  protocol::DeleteGroupsResponse response;
  for (const auto& id : request->groups_names) response.results.push_back(ctx.broker.groups.delete_group(id));
  return std::optional(encode_response(ctx, response));
}

}  // namespace keel::kafka
