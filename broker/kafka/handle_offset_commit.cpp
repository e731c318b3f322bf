// OffsetCommit: checked against the group's generation and member, written to __consumer_offsets,
// answered once committed. Partitions of topics the metadata does not know get
// UNKNOWN_TOPIC_OR_PARTITION.
#include "broker/group/group_coordinator.h"
#include "broker/kafka/group_client.h"
#include "broker/kafka/handlers.h"
#include "broker/kafka/services.h"
#include "broker/metadata/image.h"
#include "broker/metadata/quorum.h"

namespace keel::kafka {

HandlerResult handle_offset_commit(RequestContext& ctx, protocol::Reader& body) {
  auto request = decode_request<protocol::OffsetCommitRequest>(ctx, body);
  if (!request) return request.error();
  auto& quorum = ctx.broker.quorum;
  auto known = [&quorum](const std::string& topic, std::int32_t partition) {
    return quorum.image().partition(topic, partition) != nullptr;
  };
  return std::optional(encode_response(ctx, ctx.broker.groups.offset_commit(*request, group_client(ctx), known)));
}

}  // namespace keel::kafka
