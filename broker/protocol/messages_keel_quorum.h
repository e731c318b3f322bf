#pragma once
// KeelQuorum (a Keel-only key, 1000), version 0: what Keel nodes say to each other about the
// metadata quorum, which Kafka splits over Vote, BeginQuorumEpoch, EndQuorumEpoch, Fetch and
// FetchSnapshot on the controller listener, and BrokerRegistration, BrokerHeartbeat and
// AlterPartition to the active controller. The payload's layout is Keel's own
// (broker/controller/rpc.h, raft_codec.h). Kafka clients never send it, and ApiVersions does not
// advertise it.
#include "broker/protocol/schema.h"

namespace keel::protocol {

struct KeelQuorumRequest {
  static constexpr ApiKey api_key = ApiKey::keel_quorum;
  static constexpr bool is_request = true;
  static constexpr std::string_view message_name = "KeelQuorumRequest";

  std::int8_t call = 0;  // metadata::QuorumCall
  Bytes payload;

  template <class V>
  static void fields(V& v) {
    using S = KeelQuorumRequest;
    v.field("call", &S::call, versions(0));
    v.field("payload", &S::payload, versions(0));
  }
  bool operator==(const KeelQuorumRequest&) const = default;
};

struct KeelQuorumResponse {
  static constexpr ApiKey api_key = ApiKey::keel_quorum;
  static constexpr bool is_request = false;
  static constexpr std::string_view message_name = "KeelQuorumResponse";

  std::int16_t error_code = 0;  // NOT_CONTROLLER when the call needs the active controller
  std::int32_t leader_hint = -1;  // the Raft leader this node knows, -1 when none
  Bytes payload;                 // empty when there is nothing to answer (a Raft message ignored)

  template <class V>
  static void fields(V& v) {
    using S = KeelQuorumResponse;
    v.field("error_code", &S::error_code, versions(0));
    v.field("leader_hint", &S::leader_hint, versions(0));
    v.field("payload", &S::payload, versions(0));
  }
  bool operator==(const KeelQuorumResponse&) const = default;
};

}  // namespace keel::protocol
