// KeelQuorum: a Raft message for this node's member of the metadata quorum, or a broker's call to
// the active controller. Only nodes of a replicated cluster serve it; a single broker answers
// INVALID_REQUEST.
#include "broker/metadata/quorum.h"
#include "broker/server/broker.h"
#include "broker/server/handlers.h"

namespace keel::server {

HandlerResult handle_keel_quorum(RequestContext& ctx, protocol::Reader& body) {
  auto request = decode_request<protocol::KeelQuorumRequest>(ctx, body);
  if (!request) return request.error();
  Broker& broker = ctx.broker;
  protocol::KeelQuorumResponse response;
  if (broker.quorum() == nullptr) {
    response.error_code = static_cast<std::int16_t>(protocol::ErrorCode::invalid_request);
    return std::optional(encode_response(ctx, response));
  }
  // A Raft fetch may wait at the leader for new entries; the caller's timeout allows for it.
  const Instant deadline = broker.runtime().now() + std::chrono::milliseconds(broker.config().quorum_request_timeout_ms);
  response = broker.quorum()->handle(*request, deadline);
  return std::optional(encode_response(ctx, response));
}

}  // namespace keel::server
