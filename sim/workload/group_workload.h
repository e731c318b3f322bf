#pragma once
// The consumer groups of a scenario (workload.groups[], scenario.h: GroupSpec) on the client node:
// Keel group consumers that subscribe, process what they poll and commit it (sync, async or
// automatically), and that join late, leave, crash, restart (as the same static member) and process
// slowly past the rebalance timeout, at scripted times or at random. Everything goes into the
// group's GroupHistory (group_history.h) for the group checkers (sim/check/group_checks.h):
//
//   (and pause past the session timeout: no polls and no heartbeats, then a zombie commit on resuming).
//   - assignments, revocations and losses from the GroupListener callbacks, at the time they reach
//     the application; a crash loses what the member owned at the crash;
//   - a new GroupMember entry for every member id a process holds (a member that rejoins as a new
//     member after UNKNOWN_MEMBER_ID is a new incarnation, as a restarted static member is);
//   - every record poll hands the application (processed at once, so before the next commit);
//   - the position each newly assigned partition starts from, when above 0, as a committed offset
//     read (it came from the group's OffsetFetch: nothing else moves a position here);
//   - commits: sync and async ones with the identity, offsets and times of the call; automatic ones
//     (and the commit before a revoke) matched to the poll or close they were sent from by their
//     offsets, identity and invocation time taken from that call (unmatched: indeterminate);
//   - after the run (finish_group_histories): the coordinators' removals of members (and the
//     failovers that undid them) and acknowledged commits, from their trace events, and every
//     record the producers had acknowledged.
//
// A group with `"protocol": "consumer"` runs KIP-848 members (the coordinator assigns with the
// group's server assignor); its history's generations are member epochs, its removals are traced
// once committed, and its quiescent snapshot comes from ConsumerGroupDescribe.
//
// When the main phase ends every member that is down starts again, so that the group ends whole;
// after recovery the members poll until every acknowledged record was processed (or a deadline),
// then the group is described until it is Stable with exactly the running members (or a deadline):
// the quiescent snapshot.
#include "sim/workload/group_history.h"
#include "sim/workload/history.h"
#include "sim/workload/workload.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace keel::sim::workload {

// What the group coordinators traced that the group histories need (the runner collects them).
struct CoordinatorEvent {
  enum class Kind : std::uint8_t {
    removed,   // GroupMemberRemoved: a member removed in memory; written only with the group's next
               // GroupMetadata record (Kafka's rule), so a failover before that brings it back
    stable,    // GroupStable: a generation's GroupMetadata record committed: every earlier removal of
               // the group on that node is written
    unloaded,  // CoordinatorUnloaded: what the node had not written is forgotten
    loaded,    // CoordinatorLoaded: the groups are back as last written
    commit,    // OffsetCommitAcknowledged: a commit's records committed and answered
    fenced,    // ConsumerMemberFenced or ConsumerMemberLeft: a KIP-848 member fenced in memory (its
               // session or rebalance timer) or leaving with epoch -1; written once GroupMemberRemoved
               // follows on that node, else a failover may undo it (or a reload from the node's own
               // log may keep it)
  };
  Kind kind = Kind::removed;
  std::int64_t at_ns = 0;
  int node = 0;
  std::string group;      // removed, stable, commit
  std::string member_id;  // removed, fenced, commit
  std::int32_t generation = -1;                    // commit: the generation the request carried
  std::map<TopicPartition, std::int64_t> offsets;  // commit
  std::int64_t taken_ns = 0;  // commit: when the coordinator took it (at_ns less the wait for its records)
};

// A commit's "Offsets" field ("topic-partition=offset,..."), or nothing when it does not parse.
std::optional<std::map<TopicPartition, std::int64_t>> parse_commit_offsets(std::string_view text);

// One empty history per group of the scenario (group id, protocol, subscribed partition counts).
std::vector<GroupHistory> make_group_histories(const scenario::Scenario& s);

// Runs every group of ctx.scenario until each has its quiescent snapshot (or its deadline). Needs
// ctx.groups; returns at once when the scenario has no groups.
void run_groups(Runtime& rt, Context& ctx);

// After the run: the coordinators' acknowledged commits as each group's coordinator_commits; the
// removals attached to the member incarnations they removed, each followed by a `restored` event
// when a failover undid it (see restore_time in the .cpp); and the records the producers had
// acknowledged (main phase) on the subscribed partitions as each group's `produced`.
void finish_group_histories(std::vector<GroupHistory>& groups, const std::vector<CoordinatorEvent>& events,
                            const History& history, const KeyTable& keys);

}  // namespace keel::sim::workload
