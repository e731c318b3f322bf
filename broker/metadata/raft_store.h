#pragma once
// RaftStore: the durable copy of one node's Raft state in one directory (for the controller,
// `<log dir>/__cluster_metadata-0`), written through the Runtime's Disk. The driver of a RaftCore
// opens it at start (what it loaded is the core's Persisted) and carries out each Ready with it:
// write_quorum_state, install_snapshot, truncate_to, append, sync, then persisted(end) to the core;
// save_snapshot + compact_to when the state machine took a snapshot.
//
// Files in the directory:
//   quorum-state   {"epoch":N,"voted_id":N,"leader_id":N,"data_version":0}, replaced atomically
//                  (tmp, fsync, rename, directory fsync). Missing = epoch 0, nobody. Unreadable =
//                  an error: a node must not start having forgotten a vote.
//   log            append-only frames, big-endian:
//                    int32 length (of what follows) | uint32 crc32c (of what follows it) |
//                    int64 offset | int32 epoch | data (length - 16 bytes)
//                  Offsets are consecutive and epochs never decrease. A load keeps frames up to
//                  the first torn or bad-CRC frame, or one out of sequence, and cuts the file there
//                  (a power loss tears only the unsynced tail).
//   <end_offset %020d>-<epoch %010d>.checkpoint
//                  a snapshot: "KRSN" | uint32 crc32c (of what follows it) | int8 version (1) |
//                  int64 end_offset | int32 epoch | int64 size | data (size bytes). Written
//                  atomically; the newest that parses (and matches its name) is loaded. Leftover
//                  *.tmp / *.part files are removed at load.
//
// An IO error leaves the files in an unknown state: the store then refuses every further call
// (the node must restart and load again).
#include "broker/metadata/raft.h"
#include "broker/platform/runtime.h"

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace keel::metadata::raft {

inline constexpr std::string_view quorum_state_file = "quorum-state";
inline constexpr std::string_view raft_log_file = "log";
inline constexpr std::string_view snapshot_suffix = ".checkpoint";
inline constexpr std::size_t log_frame_header_bytes = 4 + 4 + 8 + 4;
inline constexpr std::int64_t log_entry_bytes_max = 1 << 20;  // as the codec's codec_entry_bytes_max
inline constexpr std::int64_t snapshot_bytes_max = std::int64_t{1} << 30;

// "<end_offset %020d>-<epoch %010d>.checkpoint"
std::string snapshot_file_name(SnapshotId id);

// What a load found and repaired; each repair also emits a trace event.
struct RaftStoreLoadInfo {
  std::int64_t log_bytes_dropped = 0;     // cut from the end of the log file
  std::string log_problem;                // why the log was cut there ("" when it was whole)
  std::int64_t entries_below_snapshot = 0;  // log entries the snapshot covers (not loaded)
  bool log_discarded = false;             // the log did not continue the snapshot: all dropped
  std::vector<std::string> snapshots_skipped;  // newer snapshot files that did not parse
  std::vector<std::string> leftovers_removed;  // *.tmp / *.part files
};

class RaftStore {
 public:
  // Creates `dir` durably when missing, removes leftovers, and loads quorum state, snapshot and
  // log (cutting a torn tail). Errc::corrupt when the quorum state cannot be read, or when the log
  // begins above offset 0 with no snapshot below it.
  static Result<std::unique_ptr<RaftStore>> open(Runtime& rt, std::string dir);

  // What open() found: hand it to RaftCore.
  const Persisted& loaded() const { return loaded_; }
  const RaftStoreLoadInfo& load_info() const { return info_; }

  Status write_quorum_state(const QuorumStateData& state);
  // Entries must continue the log: offsets from log_end_offset(), epochs not decreasing. Written
  // to the page cache; durable after sync().
  Status append(const std::vector<Entry>& entries);
  Status sync();
  // Drops entries at or above `offset` (no-op when offset >= log_end_offset()), durably.
  Status truncate_to(std::int64_t offset);
  // Writes the snapshot file atomically. The log is unchanged until compact_to.
  Status save_snapshot(const Snapshot& snapshot);
  // After save_snapshot(id): rewrites the log without the entries below id.end_offset and
  // removes older snapshot files.
  Status compact_to(SnapshotId id);
  // A follower received a whole snapshot: save it, then drop the whole log.
  Status install_snapshot(const Snapshot& snapshot);

  std::int64_t log_start_offset() const { return start_; }
  std::int64_t log_end_offset() const { return start_ + static_cast<std::int64_t>(frames_.size()); }
  std::int32_t last_epoch() const;
  std::optional<SnapshotId> latest_snapshot() const { return snapshot_; }
  const std::string& dir() const { return dir_; }

 private:
  struct Frame {  // where an entry's frame starts in the log file, and its epoch
    std::uint64_t position = 0;
    std::int32_t epoch = 0;
  };
  struct ScannedLog;

  RaftStore(Runtime& rt, std::string dir) : rt_(rt), dir_(std::move(dir)) {}

  static void scan_log(std::string_view text, ScannedLog& out);
  Status load();
  Status remove_leftovers();
  Status load_quorum_state();
  Status load_snapshot();
  Status load_log();
  Status cut_log(const ScannedLog& scan, std::uint64_t file_bytes);
  Status reconcile_log_with_snapshot(std::vector<Entry>& entries);
  Status discard_log(std::string_view why);
  Status rewrite_log_from(std::size_t first_frame);
  Status remove_snapshots_before(SnapshotId id);
  Status fail(Error e);
  Status check_usable() const;
  std::string file(std::string_view name) const;

  Runtime& rt_;
  std::string dir_;
  File log_;
  std::uint64_t log_bytes_ = 0;  // the log file's size as this store wrote it
  std::int64_t start_ = 0;       // offset of frames_[0]; the snapshot's end offset or 0
  std::deque<Frame> frames_;
  std::optional<SnapshotId> snapshot_;
  Persisted loaded_;
  RaftStoreLoadInfo info_;
  std::optional<Error> failed_;
};

}  // namespace keel::metadata::raft
