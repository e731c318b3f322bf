#pragma once
// The names Kafka gives a partition's files: the partition directory
// (<topic>-<partition>), segment files (20-digit zero-padded base offset + suffix) and the
// suffixes of files on their way out (.deleted, -delete).
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "broker/base/result.h"
#include "broker/base/topic_partition.h"

namespace keel::storage {

// "<topic>-<partition>", the partition's directory in a log dir.
std::string partition_dir_name(const TopicPartition& tp);
// The inverse of partition_dir_name(), cut at the LAST '-' since topic names may contain '-'.
// Errc::invalid_argument for anything that is not a legal topic name, '-', and a partition.
keel::Result<TopicPartition> parse_partition_dir_name(std::string_view name);

inline constexpr std::string_view log_suffix = ".log";
inline constexpr std::string_view index_suffix = ".index";
inline constexpr std::string_view time_index_suffix = ".timeindex";
inline constexpr std::string_view deleted_suffix = ".deleted";  // a segment file awaiting deletion
inline constexpr std::string_view cleaned_suffix = ".cleaned";  // compaction output being written
inline constexpr std::string_view swap_suffix = ".swap";        // compaction output ready to swap in
inline constexpr std::string_view delete_dir_suffix = "-delete";  // a partition dir awaiting deletion

// "00000000000000000042.log" for (42, ".log").
std::string segment_file_name(std::int64_t base_offset, std::string_view suffix);

// A segment file name taken apart: the base offset (digits up to the first '.') and the rest.
struct SegmentFileName {
  std::int64_t base_offset = 0;
  std::string suffix;  // ".log", ".index", ".log.deleted", ...
};
std::optional<SegmentFileName> parse_segment_file_name(std::string_view name);

bool ends_with(std::string_view s, std::string_view suffix);

}  // namespace keel::storage
