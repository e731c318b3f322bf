#pragma once
// Small types every part of the client shares.
#include <compare>
#include <cstdint>
#include <optional>
#include <string>

#include "broker/base/result.h"
#include "broker/base/topic_partition.h"
#include "broker/protocol/errors.h"
#include "broker/rpc/connection.h"

namespace keel::client {

using rpc::BrokerConnection;
using rpc::PendingResponse;

// A Kafka error answered by a broker becomes an Error whose message starts with the error's name
// (TOPIC_ALREADY_EXISTS, NOT_LEADER_OR_FOLLOWER, ...), then ": " and any detail.
Error kafka_error(protocol::ErrorCode code, const std::string& detail = "");
// The Kafka error an Error made by kafka_error() carries; nullopt for other errors.
std::optional<protocol::ErrorCode> kafka_error_code(const Error& error);
inline bool is_kafka_error(const Status& status, protocol::ErrorCode code) {
  return !status && kafka_error_code(status.error()) == code;
}

}  // namespace keel::client
