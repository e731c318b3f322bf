#include "broker/kafka/errors.h"

#include "broker/base/assert.h"

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
    case ReplicaError::storage: return ErrorCode::kafka_storage_error;
    case ReplicaError::timed_out: return ErrorCode::request_timed_out;
  }
  KEEL_UNREACHABLE();
}

ErrorCode error_code_for(const Error& error) {
  switch (error.code) {
    case Errc::not_found: return ErrorCode::unknown_topic_or_partition;
    case Errc::corrupt: return ErrorCode::corrupt_message;
    case Errc::timed_out: return ErrorCode::request_timed_out;
    case Errc::invalid_argument: return ErrorCode::invalid_request;
    default: return ErrorCode::unknown_server_error;
  }
}

}  // namespace keel::kafka
