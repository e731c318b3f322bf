// The metadata image's topics as consumer groups resolve subscriptions against them; regular
// expressions are RE2's (as Kafka's RE2/J), matched against the whole topic name.
#include <fmt/format.h>
#include <re2/re2.h>

#include "broker/group/group_shard.h"

namespace keel::group {

std::optional<std::string> TopicsView::key_of(const std::string& name) const {
  auto it = by_name.find(name);
  if (it == by_name.end()) return std::nullopt;
  return topic_key(it->second.id);
}

std::int32_t TopicsView::partitions(const std::string& key) const {
  for (const auto& [name, t] : by_name) {
    if (topic_key(t.id) == key) return t.partitions;
  }
  return 0;
}

std::optional<std::string> TopicsView::name_of(const std::string& key) const {
  for (const auto& [name, t] : by_name) {
    if (topic_key(t.id) == key) return name;
  }
  return std::nullopt;
}

std::vector<std::string> TopicsView::matching(const std::string& regex) const {
  std::vector<std::string> out;
  const RE2 re(regex, RE2::Quiet);
  if (!re.ok()) return out;
  for (const auto& [name, t] : by_name) {
    if (RE2::FullMatch(name, re)) out.push_back(topic_key(t.id));
  }
  return out;
}

std::optional<std::string> regex_problem(const std::string& regex) {
  const RE2 re(regex, RE2::Quiet);
  if (re.ok()) return std::nullopt;
  return fmt::format("SubscribedTopicRegex {} is not a valid regular expression: {}", regex, re.error());
}

}  // namespace keel::group
