#pragma once
// The server-side assignors of KIP-848 (../shared/reference/consumer-groups.md §7.5), as pure
// functions: given the members with their subscriptions and current target assignment, and the
// partition count of each topic, the new target assignment. The group coordinator runs one whenever
// the group epoch is ahead of the target assignment epoch.
//
// They live beside the client-side assignors because they share the balancing engine (balance.h)
// and their tests; they depend on nothing but broker/base, so the coordinator (broker/group) can
// link keel_client for them, or the folder can move to a library of its own that both link.
//
// Topics are keyed by one string per topic (the coordinator picks the topic id or the name and uses
// it throughout). Members may arrive in any order; the result depends only on the inputs' values.
#include "broker/base/topic_partition.h"
#include "broker/client/assignors/assignor.h"

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace keel::client::assignors {

struct TargetMember {
  std::string member_id;
  std::optional<std::string> instance_id;
  std::set<std::string> topics;         // the topics it subscribes to
  std::vector<TopicPartition> current;  // its partitions in the current target assignment
};

enum class ServerAssignorKind : std::uint8_t { uniform, range };

std::string_view server_assignor_name(ServerAssignorKind kind);  // "uniform", "range"
std::optional<ServerAssignorKind> server_assignor_by_name(std::string_view name);

GroupAssignment server_assign(ServerAssignorKind kind, const PartitionCounts& counts,
                              const std::vector<TargetMember>& members);

// uniform: balance first (with equal subscriptions, sizes differ by at most one; otherwise no member
// could take a partition from one holding two more), then as much of the current target as balance
// allows stays where it is. A partition that two members' current targets both hold is kept by
// neither (a target never holds one twice; this keeps a corrupt one from spreading).
GroupAssignment uniform_assign(const PartitionCounts& counts, const std::vector<TargetMember>& members);

// range: per topic, with P partitions and C subscribers, each subscriber gets P / C partitions and
// the first P % C of them (in the order below) one more; a member keeps the lowest-numbered
// partitions of its current target up to its share, and the rest are dealt in ascending ranges.
// So with equal subscriptions and equal partition counts the same partition numbers of every topic
// go to the same member (co-partitioning). Members are ordered as Kafka's client-side range orders
// them: static members by instance id first, then the others by member id.
GroupAssignment server_range_assign(const PartitionCounts& counts, const std::vector<TargetMember>& members);

}  // namespace keel::client::assignors
