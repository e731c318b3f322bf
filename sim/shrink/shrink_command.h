#pragma once
// `keel-sim shrink REPORT.json`: the failing run of a report, shrunk (sim/shrink/shrink.h) to a
// scenario file that fails the same check with the same seed, written beside the report
// (shrunk.json) and run once more from the file to show `keel-sim run` reproduces it. Exit codes: 0
// a shrunk scenario written and reproduced, 1 the report's failure does not reproduce (or the
// shrunk file does not fail when run from the file), 2 bad input.
#include <cstddef>
#include <cstdio>
#include <string>

namespace keel::sim {

struct ShrinkArgs {
  std::string report;  // a failing run's report.json
  std::string check;   // the check that must keep failing; default: the report's first violation
  std::string out;     // default: shrunk.json beside the report
  std::size_t runs_max = 400;
  int jobs = 0;  // candidates run at once while faults are removed; 0: one per core
};

int shrink_command(const ShrinkArgs& a, std::FILE* out);

}  // namespace keel::sim
