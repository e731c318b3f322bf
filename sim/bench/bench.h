#pragma once
// `keel-sim bench`: how fast the simulator runs, as figures and as ratios against a baseline
// measured in the same run (raw coroutine switches), so that a slower machine does not read as a
// regression. Not a test: nothing here asserts a speed.
#include <cstdio>
#include <string>

namespace keel::sim::bench {

struct BenchOptions {
  bool quick = false;  // smaller sizes, for a smoke run
  std::string only;    // one section: "world" (the simulator's speed) or "groups"; empty: all
};

int run_bench(const BenchOptions& options, std::FILE* out);
// The "groups" section (group_bench.cpp).
void group_bench(const BenchOptions& options, std::FILE* out);

}  // namespace keel::sim::bench
