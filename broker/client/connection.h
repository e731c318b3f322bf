#pragma once
// One client connection to one broker: requests are pipelined (many tasks may call at once) and
// their responses matched in order by correlation id, as Kafka requires of a connection. The first
// exchange is ApiVersions, so callers can ask which version of each API both sides speak. A
// request that times out, or any read or write error, breaks the connection: every waiting request
// fails and the owner opens a new one.
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "broker/platform/network.h"
#include "broker/platform/result.h"
#include "broker/platform/runtime.h"
#include "broker/platform/sync.h"
#include "broker/protocol/frame.h"
#include "broker/protocol/messages.h"

namespace keel::client {

class BrokerConnection {
 public:
  BrokerConnection(Runtime& rt, Address address, std::string client_id, Duration request_timeout);
  ~BrokerConnection();
  BrokerConnection(const BrokerConnection&) = delete;
  BrokerConnection& operator=(const BrokerConnection&) = delete;

  // Connects and negotiates versions (ApiVersions v3, then v0 if the broker refuses v3).
  Status open();
  bool usable() const;
  const Address& address() const { return address_; }
  // The highest version of `key` both sides speak, at most `client_max`; nullopt when none.
  std::optional<std::int16_t> version_for(protocol::ApiKey key, std::int16_t client_max) const;

  template <class Response, class Request>
  Result<Response> call(const Request& request, std::int16_t version) {
    auto frame = exchange(static_cast<std::int16_t>(Request::api_key), version, protocol::encode(request, version), true);
    if (!frame) return frame.error();
    protocol::Reader reader(*frame);
    auto correlation = protocol::decode_response_header(reader, Response::api_key, version);
    if (!correlation) return correlation.error();
    return protocol::decode<Response>(reader, version);
  }
  // A request that gets no response (Produce with acks=0): done once written.
  template <class Request>
  Status send_only(const Request& request, std::int16_t version) {
    auto frame = exchange(static_cast<std::int16_t>(Request::api_key), version, protocol::encode(request, version), false);
    if (!frame) return frame.error();
    return {};
  }
  void close();

 private:
  struct Pending;
  struct Shared;
  Result<protocol::Bytes> exchange(std::int16_t api_key, std::int16_t version, const protocol::Bytes& body,
                                   bool expect_response);
  Status negotiate();

  Runtime& rt_;
  Address address_;
  std::string client_id_;
  Duration request_timeout_;
  std::shared_ptr<Shared> shared_;
  std::map<std::int16_t, std::pair<std::int16_t, std::int16_t>> versions_;  // key -> broker's (min, max)
};

}  // namespace keel::client
