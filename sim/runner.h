#pragma once
// One scenario run: a world built from the scenario and the seed, the cluster and workload in it,
// the faults (scripted and random), the quiescence phase, the checks and the report. The same
// scenario and seed give the same run, bit for bit: the trace hash proves it.
#include "broker/base/result.h"
#include "broker/platform/trace.h"
#include "sim/check/cluster_checks.h"
#include "sim/report/report.h"
#include "sim/scenario/scenario.h"
#include "sim/workload/group_history.h"
#include "sim/workload/history.h"

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

namespace keel::sim {

struct RunOptions {
  std::uint64_t seed = 1;
  std::FILE* trace_out = nullptr;            // trace.jsonl; nullptr writes none
  Severity trace_level = Severity::info;     // what goes to trace_out (debug adds task runs)
  bool capture = false;                      // keep every hashed event's text (determinism checks)
  std::string scenario_arg;                  // how the scenario was named on the command line
  // Test and demonstration hook: a KEEL_ASSERT fails at this simulated time (since the start of
  // the workload), stopping the process as a broker's failed assertion would.
  std::optional<Duration> plant_assert_at;
};

struct RunOutcome {
  report::Report report;
  workload::History history;
  std::vector<workload::GroupHistory> groups;  // the consumer groups' histories (workload.groups[])
  std::uint64_t trace_hash = 0;
  std::vector<std::string> captured;  // every hashed event's text, with RunOptions::capture
  check::ClusterObservations cluster;  // what the cluster checks saw (replicated clusters)
  bool passed() const { return report.verdict == "PASS"; }
};

// An error only for input the run cannot start with (a broker config the broker refuses, a
// cluster this build cannot run); everything that happens in the run is in the report.
Result<RunOutcome> run_scenario(const scenario::Scenario& scenario, const RunOptions& options);

// The command that reruns a run: keel-sim run <scenario> --seed N [--plant-assert-at T].
std::string reproduce_command(const std::string& scenario_arg, std::uint64_t seed,
                              const std::optional<Duration>& plant_assert_at = std::nullopt);

}  // namespace keel::sim
