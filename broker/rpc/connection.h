#pragma once
// One client connection to one broker. Requests are pipelined: a frame is written whole under a
// write lock, and responses are matched to requests in the order they were written, checking the
// correlation id, as Kafka requires of a connection. A reader task per connection reads responses.
// The first exchange is ApiVersions, so callers can ask which version of each API both sides
// speak. A request that times out, or any read or write error, breaks the connection: every
// waiting request fails and the owner (Cluster) opens a new one.
//
// Ownership: callers hold a std::shared_ptr<BrokerConnection> for as long as they use it, so a
// connection replaced by the Cluster while a request waits is never destroyed under that request.
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "broker/platform/network.h"
#include "broker/base/result.h"
#include "broker/platform/runtime.h"
#include "broker/platform/sync.h"
#include "broker/protocol/frame.h"
#include "broker/protocol/messages.h"

namespace keel::rpc {

// The largest response frame a client accepts (a Fetch answer is bounded by fetch_max_bytes, far
// below this); anything larger is treated as a corrupt stream and breaks the connection.
inline constexpr std::int32_t response_frame_bytes_max = 256 << 20;
// The most requests one connection keeps waiting for responses (callers bound it further).
inline constexpr std::size_t connection_pending_max = 1024;

// A request written on a connection, waiting for its response.
struct PendingResponse {
  std::int32_t correlation_id = 0;
  Instant deadline = instant_max;
  std::weak_ptr<void> owner;  // the connection state it was written on
  Event done;
  Result<protocol::Bytes> frame = make_error(Errc::cancelled, "no response yet");
};

class BrokerConnection {
 public:
  BrokerConnection(Runtime& rt, Address address, std::string client_id, Duration request_timeout);
  ~BrokerConnection();
  BrokerConnection(const BrokerConnection&) = delete;
  BrokerConnection& operator=(const BrokerConnection&) = delete;

  // Connects (within connect_timeout) and negotiates versions: ApiVersions v3, and when the
  // broker refuses it, the highest version the broker's answer names.
  Status open(Duration connect_timeout);
  bool usable() const;
  const Address& address() const { return address_; }
  // The highest version of `key` both sides speak, at most `client_max`; nullopt when none.
  std::optional<std::int16_t> version_for(protocol::ApiKey key, std::int16_t client_max) const;

  // Writes one request; the response (when `expect_response`) is awaited with await_response().
  // Requests started by one task are written in the order it starts them.
  Result<std::shared_ptr<PendingResponse>> start(std::int16_t api_key, std::int16_t version, const protocol::Bytes& body,
                                                 bool expect_response);
  // The same for a frame begun by begin_frame() with the body encoded after it: the body is
  // encoded once, straight into the frame (a Produce request's batches are copied only there).
  Result<std::shared_ptr<PendingResponse>> start_frame(protocol::Writer frame, bool expect_response);
  // A frame's size and request header (correlation id filled in by start_frame), `reserve` bytes
  // reserved for the body.
  protocol::Writer begin_frame(std::int16_t api_key, std::int16_t version, std::size_t reserve) const;
  // Waits for a started request's response frame (header included) until its deadline; a
  // timeout breaks the connection (the order of its responses is lost with the request).
  Result<protocol::Bytes> await_frame(const std::shared_ptr<PendingResponse>& pending);

  template <class Response, class Request>
  Result<std::shared_ptr<PendingResponse>> start_request(const Request& request, std::int16_t version) {
    return start_encoded(request, version, 0, true);
  }
  // As start_request, reserving `body_bytes` for the body first (the caller knows it is large).
  template <class Request>
  Result<std::shared_ptr<PendingResponse>> start_encoded(const Request& request, std::int16_t version,
                                                         std::size_t body_bytes, bool expect_response) {
    protocol::Writer frame = begin_frame(static_cast<std::int16_t>(Request::api_key), version, body_bytes);
    protocol::encode(frame, request, version);
    return start_frame(std::move(frame), expect_response);
  }
  template <class Response>
  Result<Response> await_response(const std::shared_ptr<PendingResponse>& pending, std::int16_t version) {
    auto frame = await_frame(pending);
    if (!frame) return frame.error();
    protocol::Reader reader(*frame);
    auto correlation = protocol::decode_response_header(reader, Response::api_key, version);
    if (!correlation) return correlation.error();
    return protocol::decode<Response>(reader, version);
  }
  template <class Response, class Request>
  Result<Response> call(const Request& request, std::int16_t version) {
    auto pending = start_request<Response>(request, version);
    if (!pending) return pending.error();
    return await_response<Response>(*pending, version);
  }
  // A request that gets no response (Produce with acks=0): done once written.
  template <class Request>
  Status send_only(const Request& request, std::int16_t version) {
    auto pending = start_encoded(request, version, 0, false);
    if (!pending) return pending.error();
    return {};
  }
  void close();

 private:
  struct Shared;
  Status negotiate();
  Result<protocol::ApiVersionsResponse> api_versions(std::int16_t version);
  static void read_loop(const std::shared_ptr<Shared>& shared);

  Runtime& rt_;
  Address address_;
  std::string client_id_;
  Duration request_timeout_;
  std::shared_ptr<Shared> shared_;
  std::map<std::int16_t, std::pair<std::int16_t, std::int16_t>> versions_;  // key -> broker's (min, max)
};

}  // namespace keel::rpc
