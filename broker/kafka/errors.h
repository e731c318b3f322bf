#pragma once
// The one place where Keel's internal errors become the Kafka error codes clients see: the
// partition layer's ReplicaError and the platform's Errc (a storage or network failure).
#include <string_view>

#include "broker/base/result.h"
#include "broker/partition/errors.h"
#include "broker/protocol/errors.h"

namespace keel::kafka {

protocol::ErrorCode error_code_for(partition::ReplicaError error);
protocol::ErrorCode error_code_for(const Error& error);

inline std::int16_t wire(protocol::ErrorCode code) { return static_cast<std::int16_t>(code); }

struct RequestContext;
// Every error answered to a client is also traced, at warn: the request (API, version, client id,
// correlation id, peer), the resource it concerns (a topic, a partition), the error and the reason.
void trace_client_error(const RequestContext& ctx, std::string_view resource, protocol::ErrorCode code,
                        std::string_view reason);
inline std::int16_t wire(partition::ReplicaError error) { return wire(error_code_for(error)); }

}  // namespace keel::kafka
