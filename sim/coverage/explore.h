#pragma once
// Coverage-guided exploration (`keel-sim explore`): a budget of runs spent on seeds and scenario
// mutations that reach coverage marks not reached yet, as a fuzzer keeps the inputs that find new
// edges. The corpus starts with the scenario as given; each run takes either the scenario as given
// or an input of the corpus (favouring inputs that reach marks few runs reach), applies one to three mutations (fault rates and kinds, scripted fault
// times, the duration, producer rates, replica lag, randomised broker knobs), and runs it with the
// next seed. A run that reaches a mark not reached before, or a mark more often than any run before
// by a power of two (AFL's hit-count buckets), joins the corpus.
//
// Mutations keep the scenario's checks honest: a producer that may lose acknowledged records with a
// correct broker (acks 0, or acks 1 beside faults) turns the no-loss checks off, and power losses
// are only added where every append is synced. Everything the explorer decides comes from its own
// seed, so the same options give the same corpus.
#include "sim/coverage/marks.h"
#include "sim/scenario/scenario.h"

#include "broker/platform/random.h"

#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

namespace keel::sim::coverage {

// What became of one run.
struct RunResult {
  std::string verdict;  // "PASS", "FAIL" or "ERROR" (could not start)
  std::string message;  // the first violation, or the error
  Counts marks;
};

// Runs `s` with `seed`; `scenario_arg` names the file it was written to (for reproduce commands),
// or is empty.
using RunFn = std::function<RunResult(const scenario::Scenario& s, std::uint64_t seed, const std::string& scenario_arg)>;
RunResult run_in_process(const scenario::Scenario& s, std::uint64_t seed, const std::string& scenario_arg);

struct ExploreOptions {
  std::uint64_t budget = 100;       // runs
  std::uint64_t first_seed = 1;     // run i runs with seed first_seed + i (a plain sweep's seeds)
  std::uint64_t explore_seed = 1;   // the stream the explorer's choices are drawn from
  std::string dir;                  // inputs, the corpus and failing inputs go here; empty: nothing written
  std::FILE* log = nullptr;         // a line per run that found something or failed
  RunFn run = run_in_process;
};

// One input kept: the scenario and seed of a run that found something.
struct Input {
  std::uint64_t run = 0;   // its index among the runs
  std::uint64_t seed = 0;
  int parent = -1;         // the corpus input it was mutated from; -1: the scenario as given
  std::vector<std::string> mutations;
  std::vector<std::string> new_marks;  // marks no run had reached before
  Counts marks;            // every mark its run reached
  std::string path;        // where it was written ("" when nothing is written)
  scenario::Scenario scenario;
};

struct Failure {
  std::uint64_t run = 0;
  std::uint64_t seed = 0;
  std::string verdict, message, path;
};

struct ExploreResult {
  std::vector<Input> corpus;
  std::vector<Failure> failures;
  std::vector<SeedMarks> runs;  // every run's marks, in run order (seed = its seed)
  std::vector<Counts> counts;   // what runs point into
  CoverageReport coverage;
};

ExploreResult explore(const scenario::Scenario& base, const ExploreOptions& options);

// Applies one mutation to `s`, drawn from `rng`; returns what it did ("kill_rate x2"), or "" when
// the drawn mutation does not apply to `s` (the caller draws again).
std::string mutate_once(scenario::Scenario& s, Random& rng);

}  // namespace keel::sim::coverage
