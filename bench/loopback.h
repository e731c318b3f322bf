#pragma once
// The benchmark's baseline: loopback TCP bandwidth through the posix runtime (the same Network and
// Connection code the broker and client use), one connection, large writes. Measured in the same
// run as the broker figures so that each figure can be read as a ratio against what this machine's
// loopback does right now.
#include <cstddef>
#include <cstdint>

#include "broker/base/result.h"
#include "broker/platform/runtime.h"

namespace keel::bench {

struct LoopbackResult {
  std::uint64_t bytes = 0;
  double seconds = 0;
  double mb_per_s() const { return seconds > 0 ? static_cast<double>(bytes) / seconds / 1e6 : 0; }
};

// Sends `total_bytes` in writes of `write_bytes` from one task to another over 127.0.0.1.
// Call from a task of `rt`.
Result<LoopbackResult> measure_loopback(Runtime& rt, std::uint64_t total_bytes, std::size_t write_bytes);

}  // namespace keel::bench
