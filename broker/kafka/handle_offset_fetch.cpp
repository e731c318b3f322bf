// OffsetFetch: committed offsets of one group (v1-7) or several (v8; v9 names a consumer group
// member, whose epoch is checked). Reads go through the group's
// shard, which holds only committed state, so RequireStable (v7) needs nothing more until
// transactional commits exist. v1 has no top-level error: a group error goes into every partition.
#include "broker/group/group_coordinator.h"
#include "broker/kafka/handlers.h"
#include "broker/kafka/services.h"

namespace keel::kafka {
namespace {

using protocol::OffsetFetchRequest;
using protocol::OffsetFetchResponse;

// The v1-7 form of one group's answer.
void flatten(const OffsetFetchRequest& request, OffsetFetchResponse::Group group, std::int16_t version,
             OffsetFetchResponse& out) {
  if (group.error_code == 0 || version >= 2) {
    out.topics = std::move(group.topics);
    out.error_code = group.error_code;
    return;
  }
  for (const auto& topic : request.topics.value_or(std::vector<OffsetFetchRequest::Topic>{})) {
    OffsetFetchResponse::Topic t{topic.name, {}};
    for (auto partition : topic.partition_indexes) {
      OffsetFetchResponse::Partition p;
      p.partition_index = partition;
      p.metadata = "";
      p.error_code = group.error_code;
      t.partitions.push_back(std::move(p));
    }
    out.topics.push_back(std::move(t));
  }
}

}  // namespace

HandlerResult handle_offset_fetch(RequestContext& ctx, protocol::Reader& body) {
  auto request = decode_request<OffsetFetchRequest>(ctx, body);
  if (!request) return request.error();
  OffsetFetchResponse response;
  if (ctx.header.api_version >= 8) {
    for (const auto& g : request->groups) {
      response.groups.push_back(ctx.broker.groups.offset_fetch(g.group_id, g.topics, g.member_id, g.member_epoch));
    }
  } else {
    flatten(*request, ctx.broker.groups.offset_fetch(request->group_id, request->topics), ctx.header.api_version, response);
  }
  return std::optional(encode_response(ctx, response));
}

}  // namespace keel::kafka
