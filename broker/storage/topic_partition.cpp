#include "broker/storage/topic_partition.h"

#include <fmt/format.h>

#include <limits>

namespace keel::storage {

namespace {

// Digits only, no sign, fits the type: what Kafka's file and dir names carry.
template <class Int>
std::optional<Int> parse_decimal(std::string_view s) {
  if (s.empty() || s.size() > 20) return std::nullopt;
  unsigned __int128 v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  if (v > static_cast<unsigned __int128>(std::numeric_limits<Int>::max())) return std::nullopt;
  return static_cast<Int>(v);
}

}  // namespace

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}


std::string partition_dir_name(const TopicPartition& tp) { return tp.to_string(); }

keel::Result<TopicPartition> parse_partition_dir_name(std::string_view name) {
  const auto dash = name.rfind('-');
  if (dash == std::string_view::npos) {
    return make_error(Errc::invalid_argument, fmt::format("partition dir '{}': no '-' before the partition", name));
  }
  const std::string_view topic = name.substr(0, dash);
  const auto partition = parse_decimal<std::int32_t>(name.substr(dash + 1));
  if (!partition) {
    return make_error(Errc::invalid_argument,
                      fmt::format("partition dir '{}': '{}' is not a partition number", name, name.substr(dash + 1)));
  }
  if (!is_legal_topic_name(topic)) {
    return make_error(Errc::invalid_argument, fmt::format("partition dir '{}': '{}' is not a legal topic", name, topic));
  }
  TopicPartition tp;
  tp.topic = std::string(topic);
  tp.partition = *partition;
  return tp;
}

std::string segment_file_name(std::int64_t base_offset, std::string_view suffix) {
  return fmt::format("{:020d}{}", base_offset, suffix);
}

std::optional<SegmentFileName> parse_segment_file_name(std::string_view name) {
  const auto dot = name.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  const auto base = parse_decimal<std::int64_t>(name.substr(0, dot));
  if (!base) return std::nullopt;
  SegmentFileName out;
  out.base_offset = *base;
  out.suffix = std::string(name.substr(dot));
  return out;
}

}  // namespace keel::storage
