#include "broker/kafka/connection.h"

#include <fmt/format.h>

#include "broker/kafka/services.h"
#include "broker/kafka/handlers.h"

namespace keel::kafka {
namespace {

using protocol::ApiKey;

// Of the answers where BUGGIFY connection_close_after_response fires, the share after which the
// connection really closes: closing after one answer in four would leave clients little else to do.
constexpr double close_after_response_probability = 0.1;

struct ConnectionState {
  BrokerServices& broker;
  Connection& connection;
  std::uint64_t id;
  std::string peer;
};

void drop(ConnectionState& state, std::string_view why, const std::string& detail) {
  state.broker.rt
      .trace("ConnectionClosedBadRequest", Severity::warn)
      .detail("Connection", state.id)
      .detail("Peer", state.peer)
      .detail("Reason", why)
      .detail("Detail", detail);
}

// Serves one request frame. Returns false when the connection must be closed.
bool serve_frame(ConnectionState& state, const protocol::Bytes& frame) {
  protocol::Reader reader(frame);
  auto header = protocol::decode_request_header(reader);
  if (!header) {
    drop(state, "bad request header", header.error().message);
    return false;
  }
  const HandlerEntry* entry = find_handler(header->api_key);
  if (entry == nullptr) {
    drop(state, "unknown api key", fmt::format("api key {} version {}", header->api_key, header->api_version));
    return false;
  }
  if (header->api_version < entry->min_version || header->api_version > entry->max_version) {
    if (entry->key == ApiKey::api_versions && header->api_version > entry->max_version) {
      // As Kafka does (KIP-511): a v0 body with UNSUPPORTED_VERSION listing ApiVersions, so the client
      // can retry with a version this broker speaks.
      const auto reply = protocol::encode_api_versions_unsupported_frame(header->correlation_id);
      return static_cast<bool>(protocol::write_frame(state.connection, reply, instant_max));
    }
    drop(state, "unsupported version", fmt::format("api key {} version {} (served: {} to {})", header->api_key,
                                                   header->api_version, entry->min_version, entry->max_version));
    return false;
  }
  // Requests wait for the initial metadata catch-up, as on Kafka's not yet enabled listener. The
  // quorum's calls and the ApiVersions before them do not: they are how this node catches up, and
  // how its controller serves the others. ApiVersions answers from no metadata.
  if (entry->key != ApiKey::keel_quorum && entry->key != ApiKey::api_versions) state.broker.caught_up.wait();
  RequestContext ctx{state.broker, std::move(*header), state.peer};
  auto response = entry->handle(ctx, reader);
  if (!response) {
    drop(state, "malformed request",
         fmt::format("api key {} version {}: {}", ctx.header.api_key, ctx.header.api_version, response.error().message));
    return false;
  }
  if (!response->has_value()) return true;  // no response for this request (Produce acks=0)
  return static_cast<bool>(protocol::write_frame(state.connection, **response, instant_max));
}

}  // namespace

void serve_connection(BrokerServices& broker, Connection connection, std::uint64_t connection_id) {
  ConnectionState state{broker, connection, connection_id, connection.peer().to_string()};
  const auto frame_bytes_max = broker.config.socket_request_max_bytes;
  while (true) {
    auto frame = protocol::read_frame(connection, frame_bytes_max, instant_max);
    if (!frame) {
      // End of stream and resets are how clients leave; anything else is a bad frame.
      if (frame.error().code != Errc::closed && frame.error().code != Errc::reset) {
        drop(state, "bad frame", frame.error().message);
      }
      break;
    }
    if (!serve_frame(state, *frame)) break;
    // BUGGIFY connection_close_after_response: the broker drops the connection right after an
    // answer, as an idle-connection reaper, a listener restart or a proxy in between does.
    // Requests the client pipelined behind it go unanswered: it must reconnect and retry them.
    if (KEEL_BUGGIFY(broker.rt, "connection_close_after_response") &&
        broker.rt.random().chance(close_after_response_probability)) {
      broker.rt.trace("ConnectionClosedByBuggify").detail("Connection", connection_id).detail("Peer", state.peer);
      break;
    }
  }
  connection.close();
}

}  // namespace keel::kafka
