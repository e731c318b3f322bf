#pragma once
// The shrinker behind `keel-sim shrink`: from a scenario and a seed whose run fails a check, a
// smaller scenario whose run with the same seed fails the same check. In order:
//   1. the original run again (it must still fail the check), and the random faults that struck
//      in it, from its timeline;
//   2. those faults as a scripted schedule, random faults off (so the run no longer draws from the
//      random fault stream); if the scripted run does not fail the check, the shrinker says so and
//      shrinks the random fault rates instead;
//   3. the faults removed by delta debugging (ddmin) while the check still fails;
//   4. the duration shortened, down to just after the last fault;
//   5. the cluster and the workload cut: brokers no fault names, producers, their count and rate,
//      consumers, consumer groups (whole groups, random behaviours, scripted behaviours by ddmin,
//      members; then the run shortened again), topics and partitions;
//   6. the fault times rounded (to 100 ms, else 1 ms), so the file reads easily.
// Each try is one run, printed as it goes (what was tried, whether the check still failed, kept
// or undone). Random streams are per purpose (World::stream), so what is not removed draws the
// same numbers as before: most removals leave the rest of the run alone.
#include "sim/report/report.h"
#include "sim/scenario/scenario.h"

#include <cstdint>
#include <cstdio>
#include <functional>
#include <set>
#include <string>
#include <vector>

namespace keel::sim::shrink {

// One run as the shrinker judges it.
struct Trial {
  bool ran = false;  // false: the run could not start (error says why)
  std::string error;
  std::set<std::string> failed_checks;  // checks with a violation that is not allowed
  report::Report report;
};

// How a candidate scenario is run. The default is run_trial; a test may wrap it
// (to judge a run with a check of its own).
using RunFn = std::function<Trial(const scenario::Scenario&, std::uint64_t seed)>;
Trial run_trial(const scenario::Scenario& s, std::uint64_t seed);

struct ShrinkOptions {
  std::uint64_t seed = 1;
  std::string check;           // the check that must keep failing
  std::size_t runs_max = 400;  // the budget of runs; past it, the smallest failing scenario so far
  std::FILE* log = nullptr;    // one line per try; nullptr prints nothing
  // Candidates run at once while faults are removed (each on a thread; `run` must allow that).
  // The result is the same for any value: the first failing candidate in order is the one kept.
  std::size_t jobs = 1;
  RunFn run = run_trial;
};

struct ShrinkResult {
  bool reproduced = false;        // the original run failed the check (else nothing was shrunk)
  bool scripted = false;          // the random faults became a scripted schedule that still fails
  scenario::Scenario minimal;     // fails `check` with the seed (when reproduced)
  std::size_t faults_before = 0;  // the original run's fault units: scripted, and random ones that struck
  std::size_t faults_after = 0;   // the minimal scenario's (random ones that struck, if not scripted)
  std::size_t runs = 0;
  double wall_seconds = 0;
  std::vector<std::string> notes;  // what the conversion left out; why the scripted schedule was not used
  report::Report last_report;      // the minimal scenario's run
};

ShrinkResult shrink_scenario(const scenario::Scenario& original, const ShrinkOptions& options);

}  // namespace keel::sim::shrink
