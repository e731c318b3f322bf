#include "broker/client/assignors/server_assignors.h"

#include "broker/client/assignors/balance.h"

#include <algorithm>
#include <array>
#include <utility>

namespace keel::client::assignors {

namespace {

constexpr std::array<std::pair<ServerAssignorKind, std::string_view>, 2> names{{
    {ServerAssignorKind::uniform, "uniform"},
    {ServerAssignorKind::range, "range"},
}};

bool exists(const PartitionCounts& counts, const TopicPartition& tp) {
  auto it = counts.find(tp.topic);
  return it != counts.end() && tp.partition >= 0 && tp.partition < it->second;
}

// Members in the given order, each with the partitions of its current target it may keep: those that
// exist, that it subscribes to, and that no other member's target also holds.
std::vector<std::vector<TopicPartition>> keepable(const PartitionCounts& counts,
                                                  const std::vector<const TargetMember*>& members) {
  std::map<TopicPartition, int> holders;
  for (const TargetMember* m : members) {
    std::set<TopicPartition> mine(m->current.begin(), m->current.end());
    for (const auto& tp : mine) ++holders[tp];
  }
  std::vector<std::vector<TopicPartition>> out(members.size());
  for (std::size_t i = 0; i < members.size(); ++i) {
    std::set<TopicPartition> mine(members[i]->current.begin(), members[i]->current.end());
    for (const auto& tp : mine) {
      if (exists(counts, tp) && members[i]->topics.contains(tp.topic) && holders[tp] == 1) out[i].push_back(tp);
    }
  }
  return out;
}

std::vector<const TargetMember*> sorted_by(const std::vector<TargetMember>& members,
                                           bool (*less)(const TargetMember*, const TargetMember*)) {
  std::vector<const TargetMember*> sorted;
  for (const auto& m : members) sorted.push_back(&m);
  std::sort(sorted.begin(), sorted.end(), less);
  for (std::size_t i = 1; i < sorted.size(); ++i) {
    KEEL_ASSERT_MSG(sorted[i - 1]->member_id != sorted[i]->member_id, "member id '{}' given twice",
                    sorted[i]->member_id);
  }
  return sorted;
}

bool by_member_id(const TargetMember* a, const TargetMember* b) { return a->member_id < b->member_id; }

bool range_order(const TargetMember* a, const TargetMember* b) {
  if (a->instance_id && b->instance_id && *a->instance_id != *b->instance_id) return *a->instance_id < *b->instance_id;
  if (a->instance_id.has_value() != b->instance_id.has_value()) return a->instance_id.has_value();
  return a->member_id < b->member_id;
}

// One topic of the range assignor: `subscribers` in range order, each with its keepable partitions
// of this topic (ascending). Appends each subscriber's share to `out`.
void range_topic(const std::string& topic, std::int32_t partitions,
                 const std::vector<std::pair<const TargetMember*, std::vector<std::int32_t>>>& subscribers,
                 GroupAssignment& out) {
  const auto c = static_cast<std::int32_t>(subscribers.size());
  const std::int32_t quota = partitions / c;
  std::int32_t extra = partitions % c;
  std::set<std::int32_t> taken;
  std::vector<std::pair<const TargetMember*, std::int32_t>> unfilled;  // (member, partitions still owed)
  for (const auto& [m, kept] : subscribers) {
    const auto held = static_cast<std::int32_t>(kept.size());
    auto keep = std::min(held, quota);
    if (held > quota && extra > 0) {
      ++keep;
      --extra;
    } else {
      unfilled.emplace_back(m, quota - keep);
    }
    for (std::int32_t i = 0; i < keep; ++i) {
      taken.insert(kept[static_cast<std::size_t>(i)]);
      out[m->member_id].push_back({topic, kept[static_cast<std::size_t>(i)]});
    }
  }
  std::int32_t next = 0;  // the lowest partition not yet taken
  for (auto [m, owed] : unfilled) {
    if (extra > 0) {
      ++owed;
      --extra;
    }
    for (; owed > 0; --owed) {
      while (taken.contains(next)) ++next;
      KEEL_ASSERT_LT(next, partitions);
      taken.insert(next);
      out[m->member_id].push_back({topic, next});
    }
  }
  KEEL_ASSERT_EQ(taken.size(), static_cast<std::size_t>(partitions));
}

}  // namespace

std::string_view server_assignor_name(ServerAssignorKind kind) {
  for (const auto& [k, name] : names) {
    if (k == kind) return name;
  }
  KEEL_UNREACHABLE();
}

std::optional<ServerAssignorKind> server_assignor_by_name(std::string_view name) {
  for (const auto& [k, n] : names) {
    if (n == name) return k;
  }
  return std::nullopt;
}

GroupAssignment server_assign(ServerAssignorKind kind, const PartitionCounts& counts,
                              const std::vector<TargetMember>& members) {
  switch (kind) {
    case ServerAssignorKind::uniform: return uniform_assign(counts, members);
    case ServerAssignorKind::range: return server_range_assign(counts, members);
  }
  KEEL_UNREACHABLE();
}

GroupAssignment uniform_assign(const PartitionCounts& counts, const std::vector<TargetMember>& members) {
  const auto sorted = sorted_by(members, &by_member_id);
  const auto kept = keepable(counts, sorted);
  std::vector<BalanceMember> balance(sorted.size());
  for (std::size_t i = 0; i < sorted.size(); ++i) balance[i] = {sorted[i]->topics, kept[i]};
  const auto result = balance_sticky(counts, balance);
  GroupAssignment out;
  for (std::size_t i = 0; i < sorted.size(); ++i) out[sorted[i]->member_id] = result[i];
  return out;
}

GroupAssignment server_range_assign(const PartitionCounts& counts, const std::vector<TargetMember>& members) {
  const auto sorted = sorted_by(members, &range_order);
  const auto kept = keepable(counts, sorted);
  GroupAssignment out;
  for (const TargetMember* m : sorted) out[m->member_id];
  for (const auto& [topic, partitions] : counts) {
    std::vector<std::pair<const TargetMember*, std::vector<std::int32_t>>> subscribers;
    for (std::size_t i = 0; i < sorted.size(); ++i) {
      if (!sorted[i]->topics.contains(topic)) continue;
      std::vector<std::int32_t> mine;
      for (const auto& tp : kept[i]) {
        if (tp.topic == topic) mine.push_back(tp.partition);  // ascending: kept is sorted
      }
      subscribers.emplace_back(sorted[i], std::move(mine));
    }
    if (!subscribers.empty()) range_topic(topic, partitions, subscribers, out);
  }
  for (auto& [id, partitions] : out) std::sort(partitions.begin(), partitions.end());
  return out;
}

}  // namespace keel::client::assignors
