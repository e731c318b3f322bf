// DescribeGroups: state, protocol and members of each group, from the group's coordinator.
#include "broker/group/group_coordinator.h"
#include "broker/kafka/handlers.h"
#include "broker/kafka/services.h"

namespace keel::kafka {

HandlerResult handle_describe_groups(RequestContext& ctx, protocol::Reader& body) {
  auto request = decode_request<protocol::DescribeGroupsRequest>(ctx, body);
  if (!request) return request.error();
  protocol::DescribeGroupsResponse response;
  for (const auto& id : request->groups) response.groups.push_back(ctx.broker.groups.describe_group(id));
  return std::optional(encode_response(ctx, response));
}

}  // namespace keel::kafka
