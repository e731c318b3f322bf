#pragma once
// The consumer groups of a scenario (workload.groups[], scenario.h: GroupSpec) on the client node:
// Keel group consumers that subscribe, process what they poll and commit it (sync, async or
// automatically), and that join late, leave, crash, restart (as the same static member) and process
// slowly past the rebalance timeout, at scripted times or at random. Everything goes into the
// group's GroupHistory (group_history.h) for the group checkers (sim/check/group_checks.h):
//
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
//   - after the run (finish_group_histories): the coordinators' removals of members, from their
//     GroupMemberRemoved trace events, and every record the producers had acknowledged.
//
// When the main phase ends every member that is down starts again, so that the group ends whole;
// after recovery the members poll until every acknowledged record was processed (or a deadline),
// then the group is described until it is Stable with exactly the running members (or a deadline):
// the quiescent snapshot.
#include "sim/workload/group_history.h"
#include "sim/workload/history.h"
#include "sim/workload/workload.h"

#include <cstdint>
#include <string>
#include <vector>

namespace keel::sim::workload {

// A coordinator's GroupMemberRemoved trace event, or its CoordinatorUnloaded (`unloaded`: what the
// coordinator had not yet written is forgotten, and the group is loaded back as last written).
struct CoordinatorRemoval {
  std::int64_t at_ns = 0;
  std::string group;
  std::string member_id;
  bool unloaded = false;
};

// One empty history per group of the scenario (group id, protocol, subscribed partition counts).
std::vector<GroupHistory> make_group_histories(const scenario::Scenario& s);

// Runs every group of ctx.scenario until each has its quiescent snapshot (or its deadline). Needs
// ctx.groups; returns at once when the scenario has no groups.
void run_groups(Runtime& rt, Context& ctx);

// After the run: the removals attached to the member incarnations they removed, and the records the
// producers had acknowledged (main phase) on the subscribed partitions as each group's `produced`.
// A removal a coordinator failover undid is left out: one followed by an unload, after which the
// member had a commit acknowledged under the same id (it was in the group as loaded back).
void finish_group_histories(std::vector<GroupHistory>& groups, const std::vector<CoordinatorRemoval>& removals,
                            const History& history, const KeyTable& keys);

}  // namespace keel::sim::workload
