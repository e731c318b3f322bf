#pragma once
// Checkers over a run's history, named and defined as Jepsen's Kafka workload names them
// (../shared/reference/jepsen-kafka-checks.md): lost-write, unseen, duplicate,
// inconsistent-offsets, unexpected, nonmonotonic-send, nonmonotonic-poll, poll-skip, liveness.
#include "sim/workload/group_history.h"
#include "sim/workload/history.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace keel::sim::check {

struct Violation {
  std::string check;      // the checker's name, e.g. "lost-write"
  bool allowed = false;   // counted and reported, but not a failure in this run's mode
  std::int64_t at_ns = 0; // the simulated time to pin it to (e.g. the lost write's acknowledgement)
  std::string key;        // "topic-partition", empty when not about one key
  std::string message;    // one line a human reads
  nlohmann::json details; // the records, offsets, values, op indices and times involved
};

struct CheckResult {
  std::vector<Violation> violations;       // in a deterministic order: by check, then key, then time
  std::map<std::string, std::uint64_t> counts;  // check -> violations found (allowed ones too)
  bool passed() const;                     // no violation that is not allowed
};

struct ClusterObservations;  // sim/check/cluster_checks.h

// Runs the named checks (names from scenario::all_check_names(); an unknown name is an error the
// scenario parser already refused). The history checks read the history; the cluster checks
// (cluster_checks.h) read the observations, and high-watermark-monotonic the history. Results of
// both kinds merge into one CheckResult in the order `checks` names them.
CheckResult run_checks(const workload::History& history, const ClusterObservations& observations,
                       const std::vector<std::string>& checks);
// The same with the run's consumer groups: each group check (group_checks.h) runs over every group,
// its violations merged under the check's name (no groups: nothing to find).
CheckResult run_checks(const workload::History& history, const ClusterObservations& observations,
                       const std::vector<workload::GroupHistory>& groups, const std::vector<std::string>& checks);
// The same with no cluster observations: the cluster checks that read only them pass.
CheckResult run_checks(const workload::History& history, const std::vector<std::string>& checks);

}  // namespace keel::sim::check
