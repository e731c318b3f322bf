#pragma once
// `keel-sim explore SCENARIO --budget N`: coverage-guided exploration (sim/coverage/explore.h),
// then, unless --no-compare, a plain sweep of the same scenario over the same N seeds (or the sweep
// a --baseline results file holds), and the marks each reached that the other did not. Writes the corpus (the inputs that found something),
// failing inputs and explore.json under reports/<scenario>/explore/. Exit codes: 0 every run
// passed, 1 a run failed a check (its input and reproduce command are printed), 2 bad input.
#include <cstdint>
#include <cstdio>
#include <string>

namespace keel::sim {

struct ExploreArgs {
  std::string scenario;
  std::uint64_t budget = 100;      // runs of the explorer (and of the plain sweep it is compared with)
  std::uint64_t first_seed = 1;    // run i uses seed first_seed + i
  std::uint64_t explore_seed = 1;  // the explorer's own choices
  std::string out;                 // default reports/<scenario>/explore
  std::string reports = "reports";
  bool compare = true;             // also run the plain sweep of the same budget
  std::string baseline;            // a sweep's results file (sweep --json) to compare with instead of running one
};

int explore_command(const ExploreArgs& a, std::FILE* out);

}  // namespace keel::sim
