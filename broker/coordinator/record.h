#pragma once
// One record of a coordinator's log: a key and a value in the coordinator's own formats (Kafka's
// for __consumer_offsets). A record with no value is a tombstone: it deletes what its key names.
#include <cstdint>
#include <optional>

#include "broker/protocol/wire.h"

namespace keel::coordinator {

struct CoordinatorRecord {
  protocol::Bytes key;
  std::optional<protocol::Bytes> value;
  bool operator==(const CoordinatorRecord&) const = default;
};

}  // namespace keel::coordinator
