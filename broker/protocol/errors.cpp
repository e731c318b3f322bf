#include "broker/protocol/errors.h"

namespace keel::protocol {

#define KEEL_PROTOCOL_ERROR_CODES(X) \
  X(unknown_server_error, "UNKNOWN_SERVER_ERROR") \
  X(none, "NONE") \
  X(offset_out_of_range, "OFFSET_OUT_OF_RANGE") \
  X(corrupt_message, "CORRUPT_MESSAGE") \
  X(unknown_topic_or_partition, "UNKNOWN_TOPIC_OR_PARTITION") \
  X(invalid_fetch_size, "INVALID_FETCH_SIZE") \
  X(leader_not_available, "LEADER_NOT_AVAILABLE") \
  X(not_leader_or_follower, "NOT_LEADER_OR_FOLLOWER") \
  X(request_timed_out, "REQUEST_TIMED_OUT") \
  X(broker_not_available, "BROKER_NOT_AVAILABLE") \
  X(replica_not_available, "REPLICA_NOT_AVAILABLE") \
  X(message_too_large, "MESSAGE_TOO_LARGE") \
  X(stale_controller_epoch, "STALE_CONTROLLER_EPOCH") \
  X(offset_metadata_too_large, "OFFSET_METADATA_TOO_LARGE") \
  X(network_exception, "NETWORK_EXCEPTION") \
  X(coordinator_load_in_progress, "COORDINATOR_LOAD_IN_PROGRESS") \
  X(coordinator_not_available, "COORDINATOR_NOT_AVAILABLE") \
  X(not_coordinator, "NOT_COORDINATOR") \
  X(invalid_topic_exception, "INVALID_TOPIC_EXCEPTION") \
  X(record_list_too_large, "RECORD_LIST_TOO_LARGE") \
  X(not_enough_replicas, "NOT_ENOUGH_REPLICAS") \
  X(not_enough_replicas_after_append, "NOT_ENOUGH_REPLICAS_AFTER_APPEND") \
  X(invalid_required_acks, "INVALID_REQUIRED_ACKS") \
  X(illegal_generation, "ILLEGAL_GENERATION") \
  X(inconsistent_group_protocol, "INCONSISTENT_GROUP_PROTOCOL") \
  X(invalid_group_id, "INVALID_GROUP_ID") \
  X(unknown_member_id, "UNKNOWN_MEMBER_ID") \
  X(invalid_session_timeout, "INVALID_SESSION_TIMEOUT") \
  X(rebalance_in_progress, "REBALANCE_IN_PROGRESS") \
  X(invalid_commit_offset_size, "INVALID_COMMIT_OFFSET_SIZE") \
  X(topic_authorization_failed, "TOPIC_AUTHORIZATION_FAILED") \
  X(group_authorization_failed, "GROUP_AUTHORIZATION_FAILED") \
  X(cluster_authorization_failed, "CLUSTER_AUTHORIZATION_FAILED") \
  X(invalid_timestamp, "INVALID_TIMESTAMP") \
  X(unsupported_sasl_mechanism, "UNSUPPORTED_SASL_MECHANISM") \
  X(illegal_sasl_state, "ILLEGAL_SASL_STATE") \
  X(unsupported_version, "UNSUPPORTED_VERSION") \
  X(topic_already_exists, "TOPIC_ALREADY_EXISTS") \
  X(invalid_partitions, "INVALID_PARTITIONS") \
  X(invalid_replication_factor, "INVALID_REPLICATION_FACTOR") \
  X(invalid_replica_assignment, "INVALID_REPLICA_ASSIGNMENT") \
  X(invalid_config, "INVALID_CONFIG") \
  X(not_controller, "NOT_CONTROLLER") \
  X(invalid_request, "INVALID_REQUEST") \
  X(unsupported_for_message_format, "UNSUPPORTED_FOR_MESSAGE_FORMAT") \
  X(policy_violation, "POLICY_VIOLATION") \
  X(out_of_order_sequence_number, "OUT_OF_ORDER_SEQUENCE_NUMBER") \
  X(duplicate_sequence_number, "DUPLICATE_SEQUENCE_NUMBER") \
  X(invalid_producer_epoch, "INVALID_PRODUCER_EPOCH") \
  X(invalid_txn_state, "INVALID_TXN_STATE") \
  X(invalid_producer_id_mapping, "INVALID_PRODUCER_ID_MAPPING") \
  X(invalid_transaction_timeout, "INVALID_TRANSACTION_TIMEOUT") \
  X(concurrent_transactions, "CONCURRENT_TRANSACTIONS") \
  X(transaction_coordinator_fenced, "TRANSACTION_COORDINATOR_FENCED") \
  X(transactional_id_authorization_failed, "TRANSACTIONAL_ID_AUTHORIZATION_FAILED") \
  X(security_disabled, "SECURITY_DISABLED") \
  X(operation_not_attempted, "OPERATION_NOT_ATTEMPTED") \
  X(kafka_storage_error, "KAFKA_STORAGE_ERROR") \
  X(log_dir_not_found, "LOG_DIR_NOT_FOUND") \
  X(sasl_authentication_failed, "SASL_AUTHENTICATION_FAILED") \
  X(unknown_producer_id, "UNKNOWN_PRODUCER_ID") \
  X(reassignment_in_progress, "REASSIGNMENT_IN_PROGRESS") \
  X(delegation_token_auth_disabled, "DELEGATION_TOKEN_AUTH_DISABLED") \
  X(delegation_token_not_found, "DELEGATION_TOKEN_NOT_FOUND") \
  X(delegation_token_owner_mismatch, "DELEGATION_TOKEN_OWNER_MISMATCH") \
  X(delegation_token_request_not_allowed, "DELEGATION_TOKEN_REQUEST_NOT_ALLOWED") \
  X(delegation_token_authorization_failed, "DELEGATION_TOKEN_AUTHORIZATION_FAILED") \
  X(delegation_token_expired, "DELEGATION_TOKEN_EXPIRED") \
  X(invalid_principal_type, "INVALID_PRINCIPAL_TYPE") \
  X(non_empty_group, "NON_EMPTY_GROUP") \
  X(group_id_not_found, "GROUP_ID_NOT_FOUND") \
  X(fetch_session_id_not_found, "FETCH_SESSION_ID_NOT_FOUND") \
  X(invalid_fetch_session_epoch, "INVALID_FETCH_SESSION_EPOCH") \
  X(listener_not_found, "LISTENER_NOT_FOUND") \
  X(topic_deletion_disabled, "TOPIC_DELETION_DISABLED") \
  X(fenced_leader_epoch, "FENCED_LEADER_EPOCH") \
  X(unknown_leader_epoch, "UNKNOWN_LEADER_EPOCH") \
  X(unsupported_compression_type, "UNSUPPORTED_COMPRESSION_TYPE") \
  X(stale_broker_epoch, "STALE_BROKER_EPOCH") \
  X(offset_not_available, "OFFSET_NOT_AVAILABLE") \
  X(member_id_required, "MEMBER_ID_REQUIRED") \
  X(preferred_leader_not_available, "PREFERRED_LEADER_NOT_AVAILABLE") \
  X(group_max_size_reached, "GROUP_MAX_SIZE_REACHED") \
  X(fenced_instance_id, "FENCED_INSTANCE_ID") \
  X(eligible_leaders_not_available, "ELIGIBLE_LEADERS_NOT_AVAILABLE") \
  X(election_not_needed, "ELECTION_NOT_NEEDED") \
  X(no_reassignment_in_progress, "NO_REASSIGNMENT_IN_PROGRESS") \
  X(group_subscribed_to_topic, "GROUP_SUBSCRIBED_TO_TOPIC") \
  X(invalid_record, "INVALID_RECORD") \
  X(unstable_offset_commit, "UNSTABLE_OFFSET_COMMIT") \
  X(throttling_quota_exceeded, "THROTTLING_QUOTA_EXCEEDED") \
  X(producer_fenced, "PRODUCER_FENCED") \
  X(resource_not_found, "RESOURCE_NOT_FOUND") \
  X(duplicate_resource, "DUPLICATE_RESOURCE") \
  X(unacceptable_credential, "UNACCEPTABLE_CREDENTIAL") \
  X(inconsistent_voter_set, "INCONSISTENT_VOTER_SET") \
  X(invalid_update_version, "INVALID_UPDATE_VERSION") \
  X(feature_update_failed, "FEATURE_UPDATE_FAILED") \
  X(principal_deserialization_failure, "PRINCIPAL_DESERIALIZATION_FAILURE") \
  X(snapshot_not_found, "SNAPSHOT_NOT_FOUND") \
  X(position_out_of_range, "POSITION_OUT_OF_RANGE") \
  X(unknown_topic_id, "UNKNOWN_TOPIC_ID") \
  X(duplicate_broker_registration, "DUPLICATE_BROKER_REGISTRATION") \
  X(broker_id_not_registered, "BROKER_ID_NOT_REGISTERED") \
  X(inconsistent_topic_id, "INCONSISTENT_TOPIC_ID") \
  X(inconsistent_cluster_id, "INCONSISTENT_CLUSTER_ID") \
  X(transactional_id_not_found, "TRANSACTIONAL_ID_NOT_FOUND") \
  X(fetch_session_topic_id_error, "FETCH_SESSION_TOPIC_ID_ERROR") \
  X(ineligible_replica, "INELIGIBLE_REPLICA") \
  X(new_leader_elected, "NEW_LEADER_ELECTED") \
  X(offset_moved_to_tiered_storage, "OFFSET_MOVED_TO_TIERED_STORAGE") \
  X(fenced_member_epoch, "FENCED_MEMBER_EPOCH") \
  X(unreleased_instance_id, "UNRELEASED_INSTANCE_ID") \
  X(unsupported_assignor, "UNSUPPORTED_ASSIGNOR") \
  X(stale_member_epoch, "STALE_MEMBER_EPOCH") \
  X(mismatched_endpoint_type, "MISMATCHED_ENDPOINT_TYPE") \
  X(unsupported_endpoint_type, "UNSUPPORTED_ENDPOINT_TYPE") \
  X(unknown_controller_id, "UNKNOWN_CONTROLLER_ID") \
  X(unknown_subscription_id, "UNKNOWN_SUBSCRIPTION_ID") \
  X(telemetry_too_large, "TELEMETRY_TOO_LARGE") \
  X(invalid_registration, "INVALID_REGISTRATION") \
  X(transaction_abortable, "TRANSACTION_ABORTABLE") \
  X(invalid_record_state, "INVALID_RECORD_STATE") \
  X(share_session_not_found, "SHARE_SESSION_NOT_FOUND") \
  X(invalid_share_session_epoch, "INVALID_SHARE_SESSION_EPOCH") \
  X(fenced_state_epoch, "FENCED_STATE_EPOCH") \
  X(invalid_voter_key, "INVALID_VOTER_KEY") \
  X(duplicate_voter, "DUPLICATE_VOTER") \
  X(voter_not_found, "VOTER_NOT_FOUND") \
  X(invalid_regular_expression, "INVALID_REGULAR_EXPRESSION") \
  X(rebootstrap_required, "REBOOTSTRAP_REQUIRED")

std::string_view error_name(ErrorCode code) {
  switch (code) {
#define KEEL_PROTOCOL_ERROR_CASE(id, text) \
  case ErrorCode::id:                     \
    return text;
    KEEL_PROTOCOL_ERROR_CODES(KEEL_PROTOCOL_ERROR_CASE)
#undef KEEL_PROTOCOL_ERROR_CASE
  }
  return "UNKNOWN_ERROR_CODE";
}

bool is_retriable(ErrorCode code) {
  switch (code) {
    case ErrorCode::corrupt_message:
    case ErrorCode::unknown_topic_or_partition:
    case ErrorCode::leader_not_available:
    case ErrorCode::not_leader_or_follower:
    case ErrorCode::request_timed_out:
    case ErrorCode::replica_not_available:
    case ErrorCode::network_exception:
    case ErrorCode::coordinator_load_in_progress:
    case ErrorCode::coordinator_not_available:
    case ErrorCode::not_coordinator:
    case ErrorCode::not_enough_replicas:
    case ErrorCode::not_enough_replicas_after_append:
    case ErrorCode::not_controller:
    case ErrorCode::kafka_storage_error:
    case ErrorCode::fetch_session_id_not_found:
    case ErrorCode::invalid_fetch_session_epoch:
    case ErrorCode::listener_not_found:
    case ErrorCode::fenced_leader_epoch:
    case ErrorCode::unknown_leader_epoch:
    case ErrorCode::offset_not_available:
    case ErrorCode::preferred_leader_not_available:
    case ErrorCode::eligible_leaders_not_available:
    case ErrorCode::unstable_offset_commit:
    case ErrorCode::throttling_quota_exceeded:
    case ErrorCode::concurrent_transactions:
    case ErrorCode::unknown_topic_id:
    case ErrorCode::inconsistent_topic_id:
    case ErrorCode::fetch_session_topic_id_error:
      return true;
    default:
      return false;
  }
}

}  // namespace keel::protocol
