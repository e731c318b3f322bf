#pragma once
// The engine behind the sticky assignors (client sticky and cooperative-sticky, and the server-side
// uniform assignor of KIP-848): a balanced assignment that keeps as many partitions as possible where
// they were.
//
//   1. Every member keeps the partitions it is given as `kept` (the caller has already dropped those
//      the member no longer subscribes to, that no longer exist, or that two members claim).
//   2. Each partition nobody keeps goes to the eligible member (one subscribed to its topic) with the
//      fewest partitions, ties to the first member; the partitions with the fewest eligible members
//      go first, so a constrained member is served before the others fill up.
//   3. While some member A could take a partition from a member B with count(A) < count(B) - 1
//      (Kafka's definition of "not balanced"), one such partition moves from the fullest B to the
//      emptiest eligible A. B gives up a partition it did not keep before one it kept. Each move
//      lowers the sum of squared counts, so this ends.
//
// With equal subscriptions the result has sizes that differ by at most one and moves the fewest
// partitions that allows. Members are indexed in the order given; the caller sorts them, so the
// result depends only on the inputs' values.
#include "broker/base/topic_partition.h"

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace keel::client::assignors {

struct BalanceMember {
  std::set<std::string> topics;      // subscribed
  std::vector<TopicPartition> kept;  // partitions it holds now and may keep
};

// Returns, per member (same order), its sorted partitions. Every partition of a topic in `counts`
// that some member subscribes to is assigned to exactly one subscribed member. A partition kept by
// two members, or kept by a member not subscribed to it, is a programmer error (asserted).
std::vector<std::vector<TopicPartition>> balance_sticky(const std::map<std::string, std::int32_t>& counts,
                                                        const std::vector<BalanceMember>& members);

// Kafka's balance test: true when no member could take a partition it subscribes to from a member
// holding at least two more than it. `assignment` is per member, as balance_sticky returns it.
bool is_balanced(const std::vector<BalanceMember>& members, const std::vector<std::vector<TopicPartition>>& assignment);

}  // namespace keel::client::assignors
