#pragma once
// What a consumer group workload records, for the group checkers (sim/check/group_checks.h), in the
// spirit of history.h: what each member was given and gave up, what it processed and committed, and
// what the coordinators acknowledged, all at world time (ns since the start of the run).
//
// Ownership as the checkers see it: a member owns a partition from the moment an assignment naming
// it reaches the member until the member gives it up (revoked: its revocation callback returned),
// loses it (lost: a crash, or the member learns it was fenced), or the coordinator removes the member
// (removed: session expiry, LeaveGroup, fencing). A zombie that keeps fetching after its removal is
// not a live owner; that it may still process records is Kafka's behaviour (fetches are not fenced).
#include "broker/base/topic_partition.h"

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace keel::sim::workload {

enum class GroupProtocol : std::uint8_t {
  classic_eager,        // range, roundrobin, sticky: members revoke everything before they rejoin
  classic_cooperative,  // cooperative-sticky (KIP-429): members give up only what they lose
  consumer,             // KIP-848: the coordinator assigns; `generation` fields hold member epochs
};

std::string_view group_protocol_name(GroupProtocol p);

struct MemberEvent {
  enum class Kind : std::uint8_t {
    assigned,  // `partitions` reached the member (in addition to what it owns) at `generation`
    revoked,   // the member gave `partitions` up
    lost,      // the member lost everything it owned (crash, or it learnt it was fenced)
    removed,   // the coordinator removed the member: from here on it owns nothing live. Recorded at
               // the time the coordinator removed it (its trace), not when the member learnt of it:
               // a new owner may receive the member's partitions in between. `generation` is the
               // group's generation (classic) or the member's epoch (KIP-848) it was removed at (-1
               // where unknown): an assignment of that generation or older reaching the member later
               // is a zombie's (its SyncGroup or heartbeat answer was on its way).
    restored,  // a coordinator failover undid the removal before it (never written: the reloaded
               // group has the member back, in its generation). Gives no partitions back to the
               // history's ownership, but commits with the member's identity may be accepted again.
  };
  Kind kind = Kind::assigned;
  std::int64_t at_ns = 0;
  std::int32_t generation = -1;  // the generation (classic) or member epoch (consumer) it came with
  std::vector<TopicPartition> partitions;
};

struct Processed {
  TopicPartition partition;
  std::int64_t offset = 0;
  std::int64_t at_ns = 0;  // when the application was handed the record
};

enum class CommitOutcome : std::uint8_t { ok, fail, info };

struct Commit {
  std::int64_t invoke_ns = 0;
  std::int64_t complete_ns = 0;
  std::string member_id;                           // the member id the request carried
  std::int32_t generation = -1;                    // the generation or member epoch the request carried
  std::map<TopicPartition, std::int64_t> offsets;  // the next offset to read, per partition
  CommitOutcome outcome = CommitOutcome::ok;
  std::string error;  // the Kafka error of a failed commit
};

// The committed offsets an OffsetFetch returned (-1: none committed).
struct OffsetRead {
  std::int64_t invoke_ns = 0;
  std::int64_t complete_ns = 0;
  std::map<TopicPartition, std::int64_t> offsets;
};

// The member's position moved other than by processing: a seek, an offset reset by the admin client,
// or auto.offset.reset (no committed offset, or one out of range). A commit after it may go back, or
// lie past what the member processed.
struct OffsetReset {
  std::int64_t at_ns = 0;
  TopicPartition partition;
};

// One member incarnation: a process with a member id (a static member restarted is a new incarnation
// with the same instance id).
struct GroupMember {
  int process = 0;
  std::string member_id;
  std::optional<std::string> instance_id;
  std::vector<MemberEvent> events;   // in time order
  std::vector<Processed> processed;  // in time order
  std::vector<Commit> commits;       // in invocation order
  std::vector<OffsetRead> offset_reads;
  std::vector<OffsetReset> resets;
};

// A commit a coordinator acknowledged (its record reached the high watermark and it answered).
struct CoordinatorCommit {
  std::int64_t at_ns = 0;
  int node = 0;
  std::string member_id;
  std::int32_t generation = -1;
  std::map<TopicPartition, std::int64_t> offsets;
  std::int64_t taken_ns = 0;  // when the coordinator took the commit (0: unknown, at_ns stands for it)
};

// The group as the coordinator describes it once faults have stopped and the group has settled.
struct GroupSnapshot {
  std::int64_t at_ns = 0;
  std::string state;                                              // "Stable", "Empty", ...
  std::map<std::string, std::vector<TopicPartition>> assignment;  // member id -> partitions
  std::map<std::string, std::set<std::string>> subscriptions;     // member id -> topics
  std::set<std::string> live_members;                // the members the workload knows are running and not paused
  std::map<TopicPartition, std::int64_t> committed;  // OffsetFetch of every subscribed partition
};

struct GroupHistory {
  std::string group_id;
  GroupProtocol protocol = GroupProtocol::classic_eager;
  std::map<std::string, std::int32_t> partition_counts;  // the subscribed topics
  std::vector<GroupMember> members;
  std::vector<CoordinatorCommit> coordinator_commits;
  // Every record a producer had acknowledged, by partition (offsets); the group must process them all.
  std::map<TopicPartition, std::set<std::int64_t>> produced;
  std::optional<GroupSnapshot> quiescent;  // after quiescence
};

}  // namespace keel::sim::workload
