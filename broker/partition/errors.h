#pragma once
// What the partition layer answers when it cannot do what was asked. The Kafka front end maps
// these to Kafka error codes in one place (broker/kafka/errors.cpp); nothing below it speaks Kafka
// error codes.
#include <cstdint>
#include <string>
#include <string_view>

namespace keel::partition {

enum class ReplicaError : std::uint8_t {
  none,
  unknown_partition,     // this broker holds no such topic-partition
  not_leader,            // this broker is not the partition's leader (or not a replica, or not yet ready)
  fenced_leader_epoch,   // the caller's leader epoch is older than this replica's
  unknown_leader_epoch,  // the caller's leader epoch is newer than this replica's
  not_enough_replicas,   // acks=all refused before the append: the ISR is under min.insync.replicas
  not_enough_replicas_after_append,  // written, but the ISR shrank under min.insync.replicas meanwhile
  offset_out_of_range,   // the offset is outside the log
  invalid_record,        // the batch breaks a rule (count, deltas, codec, control batch from a client)
  corrupt_record,        // the batch fails its CRC or its length is impossible
  record_too_large,      // the batch is above max.message.bytes or segment.bytes
  invalid_timestamp,     // a record timestamp is outside the topic's bounds, or a producer claimed LogAppendTime
  storage,               // the log failed (an I/O error took it offline)
  timed_out,             // acks=all: the ISR did not have the records before the deadline
};

std::string_view replica_error_name(ReplicaError error);

// An error with the detail a client or a trace event should see.
struct ReplicaFailure {
  ReplicaError error = ReplicaError::none;
  std::string message;
};

}  // namespace keel::partition
