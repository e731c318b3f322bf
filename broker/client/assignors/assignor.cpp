#include "broker/client/assignors/assignor.h"

#include "broker/client/assignors/balance.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <set>
#include <utility>

namespace keel::client::assignors {

namespace {

constexpr std::array<std::pair<AssignorKind, std::string_view>, 4> names{{
    {AssignorKind::range, "range"},
    {AssignorKind::roundrobin, "roundrobin"},
    {AssignorKind::sticky, "sticky"},
    {AssignorKind::cooperative_sticky, "cooperative-sticky"},
}};

// Every member present with no partitions; duplicate member ids are a caller's bug.
GroupAssignment empty_assignment(const std::vector<Member>& members) {
  GroupAssignment out;
  for (const auto& m : members) {
    auto [it, fresh] = out.emplace(m.member_id, std::vector<TopicPartition>{});
    KEEL_ASSERT_MSG(fresh, "member id '{}' given twice", m.member_id);
  }
  return out;
}

std::vector<const Member*> in_member_order(const std::vector<Member>& members) {
  std::vector<const Member*> sorted;
  for (const auto& m : members) sorted.push_back(&m);
  std::sort(sorted.begin(), sorted.end(), [](const Member* a, const Member* b) { return member_order_less(*a, *b); });
  return sorted;
}

bool subscribes(const Member& m, const std::string& topic) {
  const auto& t = m.subscription.topics;
  return std::find(t.begin(), t.end(), topic) != t.end();
}

void sort_each(GroupAssignment& a) {
  for (auto& [id, partitions] : a) std::sort(partitions.begin(), partitions.end());
}

}  // namespace

std::string_view assignor_name(AssignorKind kind) {
  for (const auto& [k, name] : names) {
    if (k == kind) return name;
  }
  KEEL_UNREACHABLE();
}

std::optional<AssignorKind> assignor_by_name(std::string_view name) {
  for (const auto& [k, n] : names) {
    if (n == name) return k;
  }
  return std::nullopt;
}

bool is_cooperative(AssignorKind kind) { return kind == AssignorKind::cooperative_sticky; }

GroupAssignment assign(AssignorKind kind, const PartitionCounts& counts, const std::vector<Member>& members) {
  switch (kind) {
    case AssignorKind::range: return range_assign(counts, members);
    case AssignorKind::roundrobin: return round_robin_assign(counts, members);
    case AssignorKind::sticky: return sticky_assign(counts, members);
    case AssignorKind::cooperative_sticky: return cooperative_sticky_assign(counts, members);
  }
  KEEL_UNREACHABLE();
}

bool member_order_less(const Member& a, const Member& b) {
  if (a.instance_id && b.instance_id) {
    if (*a.instance_id != *b.instance_id) return *a.instance_id < *b.instance_id;
    return a.member_id < b.member_id;
  }
  if (a.instance_id || b.instance_id) return a.instance_id.has_value();
  return a.member_id < b.member_id;
}

GroupAssignment range_assign(const PartitionCounts& counts, const std::vector<Member>& members) {
  GroupAssignment out = empty_assignment(members);
  const auto sorted = in_member_order(members);
  for (const auto& [topic, partitions] : counts) {
    std::vector<const Member*> subscribers;
    for (const Member* m : sorted) {
      if (subscribes(*m, topic)) subscribers.push_back(m);
    }
    if (subscribers.empty()) continue;
    const auto c = static_cast<std::int32_t>(subscribers.size());
    const std::int32_t q = partitions / c;
    const std::int32_t r = partitions % c;
    for (std::int32_t i = 0; i < c; ++i) {
      const std::int32_t start = q * i + std::min(i, r);
      const std::int32_t length = q + (i < r ? 1 : 0);
      auto& mine = out[subscribers[static_cast<std::size_t>(i)]->member_id];
      for (std::int32_t p = start; p < start + length; ++p) mine.push_back({topic, p});
    }
  }
  sort_each(out);
  return out;
}

GroupAssignment round_robin_assign(const PartitionCounts& counts, const std::vector<Member>& members) {
  GroupAssignment out = empty_assignment(members);
  const auto sorted = in_member_order(members);
  std::size_t next = 0;  // the circular iterator over members in Kafka's order
  for (const auto& [topic, partitions] : counts) {
    const bool anyone =
        std::any_of(sorted.begin(), sorted.end(), [&](const Member* m) { return subscribes(*m, topic); });
    if (!anyone) continue;
    for (std::int32_t p = 0; p < partitions; ++p) {
      while (!subscribes(*sorted[next], topic)) next = (next + 1) % sorted.size();
      out[sorted[next]->member_id].push_back({topic, p});
      next = (next + 1) % sorted.size();
    }
  }
  sort_each(out);
  return out;
}

LeaderAssignment leader_assign(AssignorKind kind, const PartitionCounts& counts,
                               const std::vector<JoinedMember>& joined, std::int16_t version) {
  LeaderAssignment out;
  std::vector<Member> members;
  for (const auto& j : joined) {
    out.assignments[j.member_id] = Bytes{};
    auto subscription = decode_subscription(j.metadata);
    if (!subscription) {
      out.rejected.push_back(fmt::format("member {}: {}", j.member_id, subscription.error().message));
    } else if (subscription->topics.empty()) {
      out.rejected.push_back(fmt::format("member {}: its subscription names no topic", j.member_id));
    } else {
      members.push_back({j.member_id, j.instance_id, std::move(*subscription)});
    }
  }
  for (const auto& [id, partitions] : assign(kind, counts, members)) {
    out.assignments[id] = encode_assignment({group_by_topic(partitions), std::nullopt}, version);
  }
  return out;
}

}  // namespace keel::client::assignors
