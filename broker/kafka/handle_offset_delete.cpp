// OffsetDelete: tombstones for a group's offsets of topics it no longer subscribes to.
#include "broker/group/group_coordinator.h"
#include "broker/kafka/handlers.h"
#include "broker/kafka/services.h"

namespace keel::kafka {

HandlerResult handle_offset_delete(RequestContext& ctx, protocol::Reader& body) {
  auto request = decode_request<protocol::OffsetDeleteRequest>(ctx, body);
  if (!request) return request.error();
  return std::optional(encode_response(ctx, ctx.broker.groups.offset_delete(*request)));
}

}  // namespace keel::kafka
