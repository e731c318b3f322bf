#pragma once
// The benchmark's second baseline: how fast this machine appends to a new file through the posix
// runtime's Disk (the same File code the broker's log uses), in writes the size of a produce batch.
// A broker that writes every record to its log cannot produce faster than this, whatever the
// loopback does: on a machine whose page cache grows slowly, this is the ceiling that counts.
#include <cstddef>
#include <cstdint>
#include <string>

#include "broker/base/result.h"
#include "broker/platform/runtime.h"

namespace keel::bench {

struct FileAppendResult {
  std::uint64_t bytes = 0;
  double seconds = 0;
  double mb_per_s() const { return seconds > 0 ? static_cast<double>(bytes) / seconds / 1e6 : 0; }
};

// Appends `total_bytes` in writes of `write_bytes` to a new file in `dir` (no sync, as the broker's
// default flush policy), then removes it. Call from a task of `rt`.
Result<FileAppendResult> measure_file_append(Runtime& rt, const std::string& dir, std::uint64_t total_bytes,
                                             std::size_t write_bytes);

}  // namespace keel::bench
