#pragma once
// Checkers over a consumer group's history (sim/workload/group_history.h): the invariants of
// ../shared/reference/consumer-groups.md §9.
//
//   group-single-owner          no partition owned by two members at once: for eager groups, no two
//                               live members given one partition in the same generation (a static
//                               member's new instance inherits a dead one's share); for cooperative
//                               and KIP-848 groups, no two members owning it at the same moment,
//                               across generations and epochs (§9.1, §9.3, KAFKA-16147)
//   group-fenced-commit         no commit acknowledged from a fenced generation or epoch or from a
//                               removed member: once a member received generation g+1 (classic), or
//                               the committer's own epoch moved on (KIP-848, Kafka 4.0's rule: the
//                               epoch must equal the member's; KIP-1251's relaxation is not modelled),
//                               or the committer was removed, a commit with the old identity must
//                               fail (§9.8)
//   group-commit-monotonic      a partition's committed offset never goes back: an acknowledged commit
//                               below one acknowledged before it was sent, with no seek or reset in
//                               between, is a finding (§9.9; Kafka does not enforce it)
//   group-at-least-once         every acknowledged record of a subscribed partition was processed by
//                               some member, and no member committed past what it processed or read
//                               as committed (§9.15)
//   group-quiescent-assignment  after quiescence the group is Stable, every partition of a subscribed
//                               topic is assigned to exactly one live member that subscribes to it,
//                               every live member is in the group, and with equal subscriptions
//                               assignment sizes differ by at most one (§9.14)
//   group-commit-durable        every committed offset read (by a member resuming, or at the end) is
//                               the value of a commit that could be the latest: never older than an
//                               acknowledged commit that completed before the read began, never
//                               missing once one was acknowledged, never a value nobody committed
//                               (§9.7, KAFKA-20634: an acknowledged commit lost across failover)
//   group-generation-monotonic  no member receives a generation (epoch) lower than one it received
//                               before, even across a coordinator failover (§9.5, §9.6)
#include "sim/check/checks.h"
#include "sim/workload/group_history.h"

#include <string>
#include <vector>

namespace keel::sim::check {

// The group checks' names, in the order above.
const std::vector<std::string>& group_check_names();

// Runs one group check by name, appending its violations (in a deterministic order) to `out`.
// Returns false when `name` is not a group check.
bool run_group_check(const std::string& name, const workload::GroupHistory& history, std::vector<Violation>& out);

// Runs the named group checks (all of them when `checks` is empty) into one result.
CheckResult run_group_checks(const workload::GroupHistory& history, const std::vector<std::string>& checks = {});

}  // namespace keel::sim::check
