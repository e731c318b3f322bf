#pragma once
// The client-side assignors of the classic consumer protocol, run by the group leader over every
// member's Subscription (../shared/reference/consumer-groups.md §4): range, roundrobin, sticky and
// cooperative-sticky, under the names Kafka and librdkafka give them.
//
// Every assignor is a pure function of (partition counts, members): no clock, no randomness, and no
// iteration order that depends on pointers or hash seeds, so equal inputs give equal outputs in any
// process. Inputs may arrive in any order; members are identified by member id (which must be
// unique). Topics a member subscribes to that are not in the partition counts (not in metadata) are
// skipped, as Kafka skips them.
#include "broker/base/topic_partition.h"
#include "broker/client/assignors/consumer_protocol.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace keel::client::assignors {

struct Member {
  std::string member_id;
  std::optional<std::string> instance_id;  // group.instance.id of a static member
  Subscription subscription;
};

using PartitionCounts = std::map<std::string, std::int32_t>;  // topic -> partitions, from metadata
// member id -> its partitions, sorted; every member given is present, perhaps with none.
using GroupAssignment = std::map<std::string, std::vector<TopicPartition>>;

enum class AssignorKind : std::uint8_t { range, roundrobin, sticky, cooperative_sticky };

std::string_view assignor_name(AssignorKind kind);  // "range", "roundrobin", "sticky", "cooperative-sticky"
std::optional<AssignorKind> assignor_by_name(std::string_view name);
// Cooperative (KIP-429): members keep what they own across a rebalance and give up only what the
// leader takes away; eager: members revoke everything before they rejoin.
bool is_cooperative(AssignorKind kind);

GroupAssignment assign(AssignorKind kind, const PartitionCounts& counts, const std::vector<Member>& members);

// range: per topic, its subscribers in Kafka's member order (static members first by instance id,
// then by member id); with q = P / C and r = P % C, the i-th gets q + (i < r) contiguous partitions
// starting at q * i + min(i, r).
GroupAssignment range_assign(const PartitionCounts& counts, const std::vector<Member>& members);
// roundrobin: every subscribed partition sorted by (topic, partition), dealt to the members in
// Kafka's member order, skipping members that do not subscribe to the partition's topic.
GroupAssignment round_robin_assign(const PartitionCounts& counts, const std::vector<Member>& members);
// sticky (eager, KIP-54): balanced first, then as many partitions as possible stay with their
// previous owner, read from the member's user data (the StickyAssignor layout below).
GroupAssignment sticky_assign(const PartitionCounts& counts, const std::vector<Member>& members);
// cooperative-sticky (KIP-429): the sticky assignment over the partitions members report owning,
// then each partition that would move to a new owner while another member still reports owning it
// is withheld (given to nobody this round); its owner revokes it and a second rebalance moves it.
GroupAssignment cooperative_sticky_assign(const PartitionCounts& counts, const std::vector<Member>& members);

// Kafka's member order for range and roundrobin (Java's MemberInfo): members with an instance id
// first, by instance id; then the others by member id.
bool member_order_less(const Member& a, const Member& b);

// ---- what the sticky assignors' members write ----

// The StickyAssignor user data that Java's StickyAssignor and librdkafka's sticky and
// cooperative-sticky assignors write: [{topic, partitions[]}] then int32 generation (v1). v0 (Java
// before KIP-341) lacks the generation.
struct StickyUserData {
  std::vector<TopicPartition> partitions;  // sorted
  std::optional<std::int32_t> generation;  // absent in v0
  bool operator==(const StickyUserData&) const = default;
};
Bytes encode_sticky_user_data(const std::vector<TopicPartition>& partitions, std::int32_t generation);
// Reads v1, or v0 when the bytes end after the partitions; anything else is an error.
Result<StickyUserData> decode_sticky_user_data(std::span<const std::uint8_t> bytes);
// Java's CooperativeStickyAssignor user data: the int32 generation alone.
Bytes encode_cooperative_user_data(std::int32_t generation);

// What a sticky assignor believes a member owned, and at which generation (-1: unknown).
struct Ownership {
  std::vector<TopicPartition> partitions;  // sorted, no duplicates
  std::int32_t generation = -1;
};
// sticky: the user data if it parses (Java and librdkafka), else the subscription's owned
// partitions and generation.
Ownership sticky_ownership(const Subscription& s);
// cooperative-sticky: the subscription's owned partitions; the generation from the subscription
// (v2+, where it is not -1), else the user data: 4 bytes are Java's generation, a StickyAssignor
// layout is librdkafka's, anything else leaves it unknown (-1).
Ownership cooperative_ownership(const Subscription& s);

// ---- what the leader does with JoinGroup's member list ----

// A member as JoinGroup lists it to the leader: its protocol metadata is a Subscription's bytes.
struct JoinedMember {
  std::string member_id;
  std::optional<std::string> instance_id;
  Bytes metadata;
};
struct LeaderAssignment {
  std::map<std::string, Bytes> assignments;  // member id -> Assignment bytes (SyncGroup's), every member
  std::vector<std::string> rejected;         // "member <id>: <why>" for members given nothing
};
// Decodes every member's subscription and runs the assignor. As librdkafka's leader does, a member
// whose subscription does not parse, or names no topic, takes no part and gets zero bytes (which
// every client reads as "nothing assigned"); the others' assignments are encoded at `version`.
LeaderAssignment leader_assign(AssignorKind kind, const PartitionCounts& counts,
                               const std::vector<JoinedMember>& joined, std::int16_t version);

// ---- what a member sends and does ----

// The Subscription a member of a group using `kind` sends in JoinGroup at `version` (0..3): its
// topics (sorted); for sticky, the StickyAssignor user data of what it owns at `generation` (as Java
// and librdkafka write it); for cooperative-sticky, the owned partitions (v1+) and generation (v2+),
// or at v1 the generation as Java's 4-byte user data; the rack at v3.
Subscription member_subscription(AssignorKind kind, std::int16_t version, std::vector<std::string> topics,
                                 const std::vector<TopicPartition>& owned, std::int32_t generation,
                                 std::optional<std::string> rack_id = std::nullopt);

// What a member does with the assignment SyncGroup brought. Eager: it revoked everything before it
// rejoined, so whatever it still owns is revoked and everything assigned is added. Cooperative
// (KIP-429): it revokes only what it owns and was not given, adds what it did not own, and rejoins
// at once when it revoked anything, so that a second rebalance can hand those partitions over.
struct AssignmentChange {
  std::vector<TopicPartition> revoked;  // sorted
  std::vector<TopicPartition> added;    // sorted
  bool rejoin = false;
  bool operator==(const AssignmentChange&) const = default;
};
AssignmentChange apply_assignment(AssignorKind kind, const std::vector<TopicPartition>& owned,
                                  const std::vector<TopicPartition>& assigned);

}  // namespace keel::client::assignors
