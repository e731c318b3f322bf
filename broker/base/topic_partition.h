#pragma once
// One partition of one topic: the key every part of Keel uses for a partition (logs, replicas,
// requests, the client's accumulator). Kafka names it "<topic>-<partition>" in logs and in the
// partition's directory.
#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include <fmt/format.h>

namespace keel {

struct TopicPartition {
  std::string topic;
  std::int32_t partition = 0;
  auto operator<=>(const TopicPartition&) const = default;

  // "<topic>-<partition>".
  std::string to_string() const { return fmt::format("{}-{}", topic, partition); }
};

// Kafka's topic name rule: 1..249 characters of [a-zA-Z0-9._-], and not "." or "..".
bool is_legal_topic_name(std::string_view topic);

}  // namespace keel

template <>
struct fmt::formatter<keel::TopicPartition> : fmt::formatter<std::string> {
  auto format(const keel::TopicPartition& tp, fmt::format_context& ctx) const {
    return fmt::formatter<std::string>::format(tp.to_string(), ctx);
  }
};
