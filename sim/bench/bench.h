#pragma once
// `keel-sim bench`: how fast the simulator runs, as figures and as ratios against a baseline
// measured in the same run (raw coroutine switches), so that a slower machine does not read as a
// regression. Not a test: nothing here asserts a speed. It prints the two speed targets of the
// world (scheduler events per second with 1,000 tasks; simulated seconds per wall second of a
// scenario on one core) and whether this run met them.
#include <cstdint>
#include <cstdio>
#include <string>

namespace keel::sim::bench {

struct BenchOptions {
  bool quick = false;  // smaller sizes, for a smoke run
  // Sections to run, comma separated: switch, scheduler, selftest, scenario, groups. Empty: all of them.
  // (The switch baseline always runs: every figure is printed against it.)
  std::string only;
  std::string scenario = "scenarios/leader-failover.json";  // the scenario section's scenario
  std::uint64_t scenario_seeds = 5;                           // seeds 1..N, one after another
};

int run_bench(const BenchOptions& options, std::FILE* out);
// The "groups" section (group_bench.cpp): consumer groups through Keel nodes.
void group_bench(const BenchOptions& options, std::FILE* out);

}  // namespace keel::sim::bench
