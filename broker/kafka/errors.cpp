#include "broker/kafka/errors.h"

#include "broker/base/assert.h"
#include "broker/kafka/handlers.h"
#include "broker/kafka/services.h"

namespace keel::kafka {

using protocol::ErrorCode;

ErrorCode error_code_for(partition::ReplicaError error) {
  using partition::ReplicaError;
  switch (error) {
    case ReplicaError::none: return ErrorCode::none;
    case ReplicaError::unknown_partition: return ErrorCode::unknown_topic_or_partition;
    case ReplicaError::not_leader: return ErrorCode::not_leader_or_follower;
    case ReplicaError::fenced_leader_epoch: return ErrorCode::fenced_leader_epoch;
    case ReplicaError::unknown_leader_epoch: return ErrorCode::unknown_leader_epoch;
    case ReplicaError::not_enough_replicas: return ErrorCode::not_enough_replicas;
    case ReplicaError::not_enough_replicas_after_append: return ErrorCode::not_enough_replicas_after_append;
    case ReplicaError::offset_out_of_range: return ErrorCode::offset_out_of_range;
    case ReplicaError::invalid_record: return ErrorCode::invalid_record;
    case ReplicaError::corrupt_record: return ErrorCode::corrupt_message;
    case ReplicaError::record_too_large: return ErrorCode::message_too_large;
    case ReplicaError::invalid_timestamp: return ErrorCode::invalid_timestamp;
    case ReplicaError::storage: return ErrorCode::kafka_storage_error;
    case ReplicaError::timed_out: return ErrorCode::request_timed_out;
  }
  KEEL_UNREACHABLE();
}

ErrorCode error_code_for(const Error& error) {
  switch (error.code) {
    case Errc::not_found: return ErrorCode::unknown_topic_or_partition;
    case Errc::corrupt: return ErrorCode::corrupt_message;
    case Errc::invalid_timestamp: return ErrorCode::invalid_timestamp;
    case Errc::timed_out: return ErrorCode::request_timed_out;
    case Errc::invalid_argument: return ErrorCode::invalid_request;
    default: return ErrorCode::unknown_server_error;
  }
}

void trace_client_error(const RequestContext& ctx, std::string_view resource, ErrorCode code, std::string_view reason) {
  if (code == ErrorCode::none) return;
  ctx.broker.rt.trace("ClientError", Severity::warn)
      .detail("api", protocol::api_name(static_cast<protocol::ApiKey>(ctx.header.api_key)))
      .detail("version", ctx.header.api_version)
      .detail("client_id", ctx.header.client_id.value_or(""))
      .detail("correlation_id", ctx.header.correlation_id)
      .detail("peer", ctx.peer)
      .detail("resource", resource)
      .detail("error", protocol::error_name(code))
      .detail("reason", reason.empty() ? protocol::error_name(code) : reason);
}

}  // namespace keel::kafka
