#pragma once
// The one place where Keel's internal errors become the Kafka error codes clients see: the
// partition layer's ReplicaError and the platform's Errc (a storage or network failure).
#include "broker/base/result.h"
#include "broker/partition/errors.h"
#include "broker/protocol/errors.h"

namespace keel::kafka {

protocol::ErrorCode error_code_for(partition::ReplicaError error);
protocol::ErrorCode error_code_for(const Error& error);

inline std::int16_t wire(protocol::ErrorCode code) { return static_cast<std::int16_t>(code); }
inline std::int16_t wire(partition::ReplicaError error) { return wire(error_code_for(error)); }

}  // namespace keel::kafka
