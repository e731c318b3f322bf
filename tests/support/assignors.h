#pragma once
// Inputs and property checks shared by the assignor tests (client-side and KIP-848 server-side):
// seeded random topic layouts and subscriptions, and the validity, balance and movement measures.
#include "broker/base/topic_partition.h"

#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace keel::test {

using PartitionMap = std::map<std::string, std::vector<TopicPartition>>;  // member -> partitions

// A seeded source of small integers; uses only the engine's raw output so that every standard
// library draws the same numbers.
struct Draw {
  std::mt19937_64 rng;
  explicit Draw(std::uint64_t seed) : rng(seed) {}
  int below(int n) { return static_cast<int>(rng() % static_cast<std::uint64_t>(n)); }
  bool chance(int percent) { return below(100) < percent; }
};

inline std::map<std::string, std::int32_t> random_topics(Draw& d, int topics_max, int partitions_max) {
  std::map<std::string, std::int32_t> counts;
  const int n = 1 + d.below(topics_max);
  for (int t = 0; t < n; ++t) counts["t" + std::to_string(t)] = 1 + d.below(partitions_max);
  return counts;
}

// Member ids m00, m01, ... in a shuffled order (the assignors must not care about input order).
inline std::vector<std::string> member_ids(Draw& d, int n) {
  std::vector<std::string> ids;
  for (int i = 0; i < n; ++i) ids.push_back((i < 10 ? "m0" : "m") + std::to_string(i));
  for (int i = n - 1; i > 0; --i)
    std::swap(ids[static_cast<std::size_t>(i)], ids[static_cast<std::size_t>(d.below(i + 1))]);
  return ids;
}

// Each member subscribes to every topic (equal) or to a random non-empty subset.
inline std::vector<std::string> random_subscription(Draw& d, const std::map<std::string, std::int32_t>& counts,
                                                    bool equal) {
  std::vector<std::string> topics;
  for (const auto& [t, n] : counts) {
    if (equal || d.chance(50)) topics.push_back(t);
  }
  if (topics.empty()) topics.push_back(counts.begin()->first);
  return topics;
}

// Problems with an assignment: a partition given twice, to a member not subscribed, one that does
// not exist, or a subscribed partition given to nobody. Empty when valid.
inline std::vector<std::string> invalid(const std::map<std::string, std::int32_t>& counts,
                                        const std::map<std::string, std::set<std::string>>& subscriptions,
                                        const PartitionMap& assignment, bool all_assigned = true) {
  std::vector<std::string> problems;
  std::map<TopicPartition, std::string> owner;
  for (const auto& [member, partitions] : assignment) {
    for (const auto& tp : partitions) {
      if (!owner.emplace(tp, member).second) problems.push_back(tp.to_string() + " given twice");
      if (!subscriptions.at(member).contains(tp.topic))
        problems.push_back(tp.to_string() + " to a non-subscriber " + member);
      if (!counts.contains(tp.topic) || tp.partition >= counts.at(tp.topic))
        problems.push_back(tp.to_string() + " does not exist");
    }
  }
  if (!all_assigned) return problems;
  std::set<std::string> subscribed;
  for (const auto& [m, topics] : subscriptions) subscribed.insert(topics.begin(), topics.end());
  for (const auto& [t, n] : counts) {
    for (std::int32_t p = 0; p < n && subscribed.contains(t); ++p) {
      if (!owner.contains({t, p})) problems.push_back(TopicPartition{t, p}.to_string() + " given to nobody");
    }
  }
  return problems;
}

// max - min of the members' partition counts.
inline std::size_t spread(const PartitionMap& assignment) {
  std::size_t lo = SIZE_MAX, hi = 0;
  for (const auto& [m, p] : assignment) {
    lo = std::min(lo, p.size());
    hi = std::max(hi, p.size());
  }
  return assignment.empty() ? 0 : hi - lo;
}

// Kafka's balance for unequal subscriptions: no member could take a partition of a topic it
// subscribes to from a member holding at least two more partitions. Returns the first such pair.
inline std::optional<std::string> unbalanced(const std::map<std::string, std::set<std::string>>& subscriptions,
                                             const PartitionMap& assignment) {
  for (const auto& [a, mine] : assignment) {
    for (const auto& [b, theirs] : assignment) {
      if (theirs.size() < mine.size() + 2) continue;
      for (const auto& tp : theirs) {
        if (subscriptions.at(a).contains(tp.topic)) {
          return a + " (" + std::to_string(mine.size()) + ") could take " + tp.to_string() + " from " + b + " (" +
                 std::to_string(theirs.size()) + ")";
        }
      }
    }
  }
  return std::nullopt;
}

// Partitions that `after` gives to a member other than the one `before` gave them to.
inline std::size_t moved(const PartitionMap& before, const PartitionMap& after) {
  std::map<TopicPartition, std::string> was;
  for (const auto& [m, ps] : before) {
    for (const auto& tp : ps) was[tp] = m;
  }
  std::size_t n = 0;
  for (const auto& [m, ps] : after) {
    for (const auto& tp : ps) n += (was.contains(tp) && was[tp] != m) ? 1 : 0;
  }
  return n;
}

// The fewest partitions that must move when members holding `kept` (valid, disjoint) are rebalanced
// over `total` partitions with equal subscriptions: a member keeps at most the quota, and only
// total % members of them may keep one more.
inline std::size_t fewest_moves(const PartitionMap& kept, std::size_t members, std::size_t total) {
  const std::size_t quota = total / members;
  std::size_t extra = total % members, over = 0, excess = 0;
  for (const auto& [m, ps] : kept) {
    if (ps.size() > quota) {
      excess += ps.size() - quota;
      ++over;
    }
  }
  return excess - std::min(extra, over);
}

}  // namespace keel::test
