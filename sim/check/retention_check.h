#pragma once
// The retention check: no broker deletes a record before Kafka's retention allows it.
//
// Kafka deletes a whole segment by time once the broker's clock is more than retention.ms past the
// segment's largest record timestamp (or, when no record in it has one, past the .log file's
// modification time), and by size only while what stays is at least retention.bytes. So, for every
// segment a broker deleted (its LogSegmentDeleted event) and every batch that segment held on that
// broker (its LogAppended events):
//
//   retention_ms     the broker's clock when it decided, minus the batch's time, must be above the
//                    topic's retention.ms. The batch's time is its stored max timestamp when it has
//                    one (CreateTime records, or LogAppendTime), else the broker's own clock when it
//                    appended the batch. A file's mtime is the clock at its last write, which may be
//                    below an earlier append's time after the clock jumped back: each backward jump
//                    of that broker's clock between the append and the deletion is allowed for.
//   retention_bytes  the log kept at least the topic's retention.bytes.
//
// Deletions below a log start offset (a follower following its leader's) are not judged here: the
// leader's deletion that moved the log start is. Records without a timestamp must never share a
// partition with records that have one for this check to hold of Kafka itself (a segment is as old
// as its newest timestamp), which the workload ensures (a timestamp mode per partition).
#include "sim/check/checks.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace keel::sim::check {

// What the retention check reads, in the order the run observed it.
struct RetentionEvent {
  enum class Kind : std::uint8_t { append, delete_segment, clock_jump };
  Kind kind = Kind::append;
  std::int64_t at_ns = 0;  // world time
  int node = 0;
  std::string partition;  // "topic-p" (not for clock jumps)
  // append: the batches' offset ranges [first, last] back to back, each with its stored max
  // timestamp (-1: none), and the node's wall clock (ms) at the append.
  struct Batch {
    std::int64_t last_offset = 0;
    std::int64_t max_timestamp = -1;
  };
  std::int64_t first_offset = 0;
  std::vector<Batch> batches;
  std::int64_t wall_ms = 0;
  // delete_segment: the offsets [first_offset, end_offset) went, for `reason`; decided at the node's
  // wall clock decided_ms; log_bytes_kept is what the log holds after the deletion.
  std::string reason;
  std::int64_t end_offset = 0;
  std::int64_t decided_ms = 0;
  std::int64_t log_bytes_kept = 0;
  // clock_jump: the node's wall clock moved by this much (negative: back).
  std::int64_t jump_ns = 0;
};

// A topic's retention as the scenario configures it (topic config, else the cluster's broker config,
// else Kafka's default); -1: no limit.
struct RetentionLimits {
  std::int64_t retention_ms = 604800000;
  std::int64_t retention_bytes = -1;
};

struct RetentionObservations {
  std::vector<RetentionEvent> events;
  std::map<std::string, RetentionLimits> limits;  // topic -> limits
  bool observed = false;                           // the run recorded these (else the check passes)
};

// Appends a violation per deleted batch (or segment, for retention_bytes) that went too early.
void retention_check(const RetentionObservations& obs, std::vector<Violation>& out);

// Parses a LogAppended event's "batches" field ("last:max_ts,..."); false when malformed.
bool parse_appended_batches(const std::string& text, std::vector<RetentionEvent::Batch>& out);

}  // namespace keel::sim::check
