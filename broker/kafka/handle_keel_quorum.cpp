// KeelQuorum: a Raft message for this node's member of the metadata quorum, or a broker's call to
// the active controller.
#include "broker/kafka/handlers.h"
#include "broker/kafka/services.h"
#include "broker/metadata/quorum.h"

namespace keel::kafka {

HandlerResult handle_keel_quorum(RequestContext& ctx, protocol::Reader& body) {
  auto request = decode_request<protocol::KeelQuorumRequest>(ctx, body);
  if (!request) return request.error();
  BrokerServices& broker = ctx.broker;
  // A Raft fetch may wait at the leader for new entries; the caller's timeout allows for it.
  const Instant deadline = broker.rt.now() + std::chrono::milliseconds(broker.config.quorum_request_timeout_ms);
  const protocol::KeelQuorumResponse response = broker.quorum.handle(*request, deadline);
  return std::optional(encode_response(ctx, response));
}

}  // namespace keel::kafka
