#pragma once
// The leader epoch cache of one partition (Kafka's LeaderEpochFileCache, KIP-101): which offset
// each leader epoch started at. It lets a follower ask its leader "where did my latest epoch end
// on your side?" (OffsetsForLeaderEpoch) and truncate exactly the records that diverge, instead
// of truncating to its high watermark, which loses acknowledged records (KIP-101) or keeps
// divergent ones (KIP-279).
//
// On disk, `leader-epoch-checkpoint` in the partition directory, as Kafka writes it:
//
//   0                       <- version
//   <N>                     <- entry count
//   <epoch> <start offset>  (N lines, both strictly increasing)
//
// Written atomically (temporary file, fsync, rename, directory fsync).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "broker/platform/disk.h"
#include "broker/base/result.h"

namespace keel::partition {

inline constexpr std::string_view leader_epoch_checkpoint_file = "leader-epoch-checkpoint";
inline constexpr std::int32_t undefined_epoch = -1;
inline constexpr std::int64_t undefined_offset = -1;

struct EpochEntry {
  std::int32_t epoch = 0;
  std::int64_t start_offset = 0;
  bool operator==(const EpochEntry&) const = default;
};

// An answer to "where does epoch E end": the largest known epoch <= E and the offset where the
// next higher epoch starts (the log end offset for the latest epoch). Both undefined when nothing
// is known above E.
struct EpochEndOffset {
  std::int32_t epoch = undefined_epoch;
  std::int64_t end_offset = undefined_offset;
  bool undefined() const { return end_offset == undefined_offset; }
  bool operator==(const EpochEndOffset&) const = default;
};

class LeaderEpochCache {
 public:
  LeaderEpochCache() = default;
  explicit LeaderEpochCache(std::vector<EpochEntry> entries);

  // Records that `epoch` starts at `start_offset`. A no-op when it is the latest epoch already
  // starting at or before that offset; otherwise removes every entry with an epoch >= `epoch` or a
  // start >= `start_offset` (both sequences stay strictly increasing) and appends. Returns whether
  // anything changed (the caller then rewrites the checkpoint).
  bool assign(std::int32_t epoch, std::int64_t start_offset);
  // Removes entries starting at or after `end_offset` (the log was truncated there).
  bool truncate_from_end(std::int64_t end_offset);
  // The log start moved to `start_offset`: entries wholly below it go, and the one that covers it
  // now starts there.
  bool truncate_from_start(std::int64_t start_offset);

  // Kafka's endOffsetFor: the latest epoch ends at `log_end_offset`; an older epoch E ends where
  // the first epoch above it starts, answered as (largest epoch <= E, that start); an E below
  // every entry answers (E, first start); undefined when no epoch above E is known.
  EpochEndOffset end_offset_for(std::int32_t requested_epoch, std::int64_t log_end_offset) const;

  std::optional<std::int32_t> latest_epoch() const;
  const std::vector<EpochEntry>& entries() const { return entries_; }
  bool empty() const { return entries_.empty(); }
  bool operator==(const LeaderEpochCache&) const = default;

 private:
  void check_invariants() const;
  std::vector<EpochEntry> entries_;  // epoch and start offset both strictly increasing
};

std::string format_leader_epoch_checkpoint(const LeaderEpochCache& cache);
// Errc::corrupt naming the line when the text is not a valid checkpoint (including entries that do
// not increase). An empty text is an empty cache.
Result<LeaderEpochCache> parse_leader_epoch_checkpoint(std::string_view text);

// A missing file is an empty cache.
Result<LeaderEpochCache> read_leader_epoch_checkpoint(Disk& disk, const std::string& file_path);
Status write_leader_epoch_checkpoint(Disk& disk, const std::string& file_path, const LeaderEpochCache& cache);

// What a follower does with its leader's answer for the follower's latest epoch (Kafka's
// getOffsetTruncationState). `complete` false means: truncate to `offset`, then ask again with the
// follower's new latest epoch (the multi-round exchange KIP-279 added).
struct TruncationStep {
  std::int64_t offset = 0;
  bool complete = true;
  bool operator==(const TruncationStep&) const = default;
};
TruncationStep follower_truncation(const LeaderEpochCache& follower, std::int64_t follower_log_end,
                                   std::int64_t follower_high_watermark, EpochEndOffset leader_answer);

}  // namespace keel::partition
