#pragma once
// Ids that are numbers on the wire but different things in Keel: a broker (a replica of a
// partition, its leader, an ISR member, a registered broker) and a member of the Raft metadata
// quorum. In a combined node both come from the same node.id, yet a quorum member is not a broker
// (a controller-only node has no partitions) and neither is an int: an id never turns into a
// number, or into the other kind of id, without saying so (`.value`, or a constructor).
//
// A number becomes an id implicitly, so that a literal list of replicas ({1, 2, 3}) reads as it
// does in Kafka's tools and tests; what the types forbid is the other direction and the mix-ups.
#include <compare>
#include <concepts>
#include <cstdint>
#include <functional>
#include <vector>

#include <fmt/format.h>

namespace keel {

template <class Tag>
struct Id {
  std::int32_t value = -1;

  constexpr Id() = default;
  constexpr Id(std::int32_t v) : value(v) {}  // NOLINT(google-explicit-constructor): see above

  friend constexpr bool operator==(Id, Id) = default;
  friend constexpr auto operator<=>(Id, Id) = default;
};

// A broker: node.id of a node with the broker role.
using BrokerId = Id<struct BrokerIdTag>;
// A member of the Raft metadata quorum (a voter or an observer): node.id as the quorum knows it.
using RaftNodeId = Id<struct RaftNodeIdTag>;

inline constexpr BrokerId no_broker{-1};

// A list of ids as the numbers a wire message carries, and back.
template <class Tag>
std::vector<std::int32_t> raw_ids(const std::vector<Id<Tag>>& ids) {
  std::vector<std::int32_t> out;
  out.reserve(ids.size());
  for (Id<Tag> id : ids) out.push_back(id.value);
  return out;
}
template <class IdT>
std::vector<IdT> ids_of(const std::vector<std::int32_t>& raw) {
  return std::vector<IdT>(raw.begin(), raw.end());
}

template <class T>
inline constexpr bool is_id_v = false;
template <class Tag>
inline constexpr bool is_id_v<Id<Tag>> = true;

}  // namespace keel

template <class Tag>
struct std::hash<keel::Id<Tag>> {
  std::size_t operator()(keel::Id<Tag> id) const noexcept { return std::hash<std::int32_t>{}(id.value); }
};

template <class Tag>
struct fmt::formatter<keel::Id<Tag>> : fmt::formatter<std::int32_t> {
  auto format(keel::Id<Tag> id, fmt::format_context& ctx) const { return fmt::formatter<std::int32_t>::format(id.value, ctx); }
};
