// The sticky assignors: what their members write, how the leader reads it, and the assignment; and
// what any member sends and does with an assignment.
#include "broker/client/assignors/assignor.h"

#include "broker/client/assignors/balance.h"

#include <fmt/format.h>

#include <algorithm>
#include <iterator>
#include <set>

namespace keel::client::assignors {

namespace {

std::vector<TopicPartition> sorted_unique(std::vector<TopicPartition> v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

std::vector<const Member*> by_member_id(const std::vector<Member>& members) {
  std::vector<const Member*> sorted;
  for (const auto& m : members) sorted.push_back(&m);
  std::sort(sorted.begin(), sorted.end(), [](const Member* a, const Member* b) { return a->member_id < b->member_id; });
  for (std::size_t i = 1; i < sorted.size(); ++i) {
    KEEL_ASSERT_MSG(sorted[i - 1]->member_id != sorted[i]->member_id, "member id '{}' given twice",
                    sorted[i]->member_id);
  }
  return sorted;
}

bool exists(const PartitionCounts& counts, const TopicPartition& tp) {
  auto it = counts.find(tp.topic);
  return it != counts.end() && tp.partition >= 0 && tp.partition < it->second;
}

// What each member may keep: a partition that exists and that it subscribes to, claimed at the
// highest generation any member claims it at, by that member alone. Two claims at the highest
// generation drop the partition from both (neither is believed); lower claims are stale.
std::vector<BalanceMember> resolve(const PartitionCounts& counts, const std::vector<const Member*>& members,
                                   const std::vector<Ownership>& owned) {
  std::vector<BalanceMember> out(members.size());
  std::map<TopicPartition, std::vector<std::pair<std::int32_t, std::size_t>>> claims;  // -> (generation, member)
  for (std::size_t m = 0; m < members.size(); ++m) {
    const auto& topics = members[m]->subscription.topics;
    out[m].topics = std::set<std::string>(topics.begin(), topics.end());
    for (const auto& tp : owned[m].partitions) {
      if (exists(counts, tp) && out[m].topics.contains(tp.topic)) claims[tp].emplace_back(owned[m].generation, m);
    }
  }
  for (const auto& [tp, claimants] : claims) {
    const auto best = std::max_element(claimants.begin(), claimants.end())->first;
    const auto at_best =
        std::count_if(claimants.begin(), claimants.end(), [&](const auto& c) { return c.first == best; });
    if (at_best != 1) continue;
    for (const auto& [generation, m] : claimants) {
      if (generation == best) out[m].kept.push_back(tp);
    }
  }
  return out;
}

GroupAssignment sticky_with(const PartitionCounts& counts, const std::vector<Member>& members,
                            Ownership (*ownership)(const Subscription&)) {
  const auto sorted = by_member_id(members);
  std::vector<Ownership> owned;
  for (const Member* m : sorted) owned.push_back(ownership(m->subscription));
  const auto balanced = balance_sticky(counts, resolve(counts, sorted, owned));
  GroupAssignment out;
  for (std::size_t m = 0; m < sorted.size(); ++m) out[sorted[m]->member_id] = balanced[m];
  return out;
}

}  // namespace

Bytes encode_sticky_user_data(const std::vector<TopicPartition>& partitions, std::int32_t generation) {
  protocol::Writer w;
  write_topic_partitions(w, group_by_topic(partitions));
  w.write_int32(generation);
  return w.take();
}

Result<StickyUserData> decode_sticky_user_data(std::span<const std::uint8_t> bytes) {
  protocol::Reader r(bytes);
  StickyUserData out;
  out.partitions = sorted_unique(flatten(read_topic_partitions(r)));
  if (!r.ok()) {
    return make_error(Errc::corrupt, fmt::format("sticky assignor user data: previous assignment: {} (at byte {})",
                                                 r.error().message, r.position()));
  }
  if (r.remaining() == 0) return out;  // v0: no generation
  out.generation = r.read_int32();
  if (!r.ok()) {
    return make_error(Errc::corrupt, fmt::format("sticky assignor user data: generation: {} (at byte {})",
                                                 r.error().message, r.position()));
  }
  return out;
}

Bytes encode_cooperative_user_data(std::int32_t generation) {
  protocol::Writer w;
  w.write_int32(generation);
  return w.take();
}

Ownership sticky_ownership(const Subscription& s) {
  if (s.user_data && !s.user_data->empty()) {
    if (auto d = decode_sticky_user_data(*s.user_data)) return {d->partitions, d->generation.value_or(-1)};
  }
  return {sorted_unique(flatten(s.owned_partitions)), s.generation_id};
}

Ownership cooperative_ownership(const Subscription& s) {
  Ownership out{sorted_unique(flatten(s.owned_partitions)), s.generation_id};
  if (out.generation >= 0 || !s.user_data) return out;
  if (s.user_data->size() == 4) {
    protocol::Reader r(*s.user_data);
    out.generation = r.read_int32();
  } else if (auto d = decode_sticky_user_data(*s.user_data); d && d->generation) {
    out.generation = *d->generation;
  }
  return out;
}

GroupAssignment sticky_assign(const PartitionCounts& counts, const std::vector<Member>& members) {
  return sticky_with(counts, members, &sticky_ownership);
}

GroupAssignment cooperative_sticky_assign(const PartitionCounts& counts, const std::vector<Member>& members) {
  GroupAssignment out = sticky_with(counts, members, &cooperative_ownership);
  // Who reports owning each partition now, whatever their generation: any of them may still be
  // processing it, so it moves to nobody else until they have all let it go.
  std::map<TopicPartition, std::set<std::string>> owners;
  for (const auto& m : members) {
    for (const auto& tp : cooperative_ownership(m.subscription).partitions) owners[tp].insert(m.member_id);
  }
  for (auto& [id, partitions] : out) {
    std::erase_if(partitions, [&](const TopicPartition& tp) {
      auto it = owners.find(tp);
      return it != owners.end() && !it->second.contains(id);
    });
  }
  return out;
}

Subscription member_subscription(AssignorKind kind, std::int16_t version, std::vector<std::string> topics,
                                 const std::vector<TopicPartition>& owned, std::int32_t generation,
                                 std::optional<std::string> rack_id) {
  KEEL_ASSERT_MSG(version >= 0 && version <= subscription_version_max, "subscription version {}", version);
  Subscription s;
  std::sort(topics.begin(), topics.end());
  s.topics = std::move(topics);
  if (version >= 3) s.rack_id = std::move(rack_id);
  if (kind == AssignorKind::sticky) {
    s.user_data = encode_sticky_user_data(owned, generation);
  } else if (kind == AssignorKind::cooperative_sticky) {
    if (version >= 1) s.owned_partitions = group_by_topic(owned);
    if (version >= 2) {
      s.generation_id = generation;
    } else {
      s.user_data = encode_cooperative_user_data(generation);
    }
  }
  return s;
}

AssignmentChange apply_assignment(AssignorKind kind, const std::vector<TopicPartition>& owned,
                                  const std::vector<TopicPartition>& assigned) {
  const auto mine = sorted_unique(owned);
  const auto given = sorted_unique(assigned);
  AssignmentChange change;
  if (!is_cooperative(kind)) {
    change.revoked = mine;
    change.added = given;
    return change;
  }
  std::set_difference(mine.begin(), mine.end(), given.begin(), given.end(), std::back_inserter(change.revoked));
  std::set_difference(given.begin(), given.end(), mine.begin(), mine.end(), std::back_inserter(change.added));
  change.rejoin = !change.revoked.empty();
  return change;
}

}  // namespace keel::client::assignors
