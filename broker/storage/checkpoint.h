#pragma once
// Kafka's offset checkpoint files (recovery-point-offset-checkpoint, log-start-offset-checkpoint):
//
//   0                      <- version
//   <N>                    <- entry count
//   <topic> <partition> <offset>   (N lines)
//
// Written atomically: <file>.tmp, fsync, rename over <file>, fsync of the directory. A missing file
// reads as empty; a malformed one is an Errc::corrupt error naming the line. Also the small
// durable-file helpers the storage code shares.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "broker/platform/disk.h"
#include "broker/storage/topic_partition.h"

namespace keel::storage {

using OffsetCheckpoint = std::map<TopicPartition, std::int64_t>;

inline constexpr std::string_view recovery_point_checkpoint_file = "recovery-point-offset-checkpoint";
inline constexpr std::string_view log_start_offset_checkpoint_file = "log-start-offset-checkpoint";

std::string format_offset_checkpoint(const OffsetCheckpoint& entries);
// The framing every Kafka checkpoint file shares: line 1 the version (0), line 2 the entry count,
// then exactly that many lines. Returns all the lines (entries from index 2; none for an empty
// text); an error names `what` ("offset checkpoint") and the line.
keel::Result<std::vector<std::string_view>> checkpoint_lines(std::string_view text, std::string_view what);
keel::Result<OffsetCheckpoint> parse_offset_checkpoint(std::string_view text);

keel::Result<OffsetCheckpoint> read_offset_checkpoint(Disk& disk, const std::string& file_path);
keel::Status write_offset_checkpoint(Disk& disk, const std::string& file_path, const OffsetCheckpoint& entries);

// Writes `text` to `file_path` so that after a crash the file holds either its old contents or
// the new ones: a temporary file, fsync, rename, fsync of the directory.
keel::Status write_file_atomically(Disk& disk, const std::string& file_path, std::string_view text);
// Creates `dir` (and missing parents) so that it survives a crash: when it was missing, every
// directory on the way up is synced after the creation; when present, its parent is.
keel::Status make_dir_durable(Disk& disk, const std::string& dir);
// The whole file as text; Errc::not_found when it is missing.
keel::Result<std::string> read_whole_file(Disk& disk, const std::string& file_path);

}  // namespace keel::storage
