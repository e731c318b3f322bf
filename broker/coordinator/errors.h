#pragma once
// What the coordinator runtime answers when an operation cannot run or its write did not commit.
// The Kafka front end maps these to Kafka error codes (NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS,
// COORDINATOR_NOT_AVAILABLE, ...) in one place; nothing here speaks Kafka error codes.
#include <cstdint>
#include <string_view>

namespace keel::coordinator {

enum class CoordinatorError : std::uint8_t {
  none,
  not_coordinator,   // this broker does not lead the shard's partition (or stopped leading it)
  load_in_progress,  // it leads it, and is still replaying the partition's log
  not_available,     // the write did not commit: too few replicas, timed out, the log failed
  record_too_large,  // the records of one write exceed the partition's max.message.bytes
};

std::string_view coordinator_error_name(CoordinatorError error);

}  // namespace keel::coordinator
