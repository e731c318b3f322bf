#pragma once
// `keel-sim swarm [SPACE] --seeds A..B`: each seed draws its own scenario from a swarm space
// (sim/swarm/space.h) and runs it with that seed; a table, a summary like sweep's (and how often
// each fault kind was on, and failed), JUnit XML. Each failing seed's drawn scenario is written
// beside its report (reports/<space>/<seed>/scenario.json, which the report names), so `keel-sim
// run`, `replay` and `shrink` take it as is. Exit codes: 0 every seed passed, 1 a seed failed, 2
// bad input (or a drawn scenario the parser refused: a defect of the draw).
#include <cstdio>
#include <string>

namespace keel::sim {

struct SwarmArgs {
  std::string space;             // a swarm space file or a name in scenarios/swarm/; empty: the whole space
  std::string seeds = "1..100";  // A..B, inclusive
  int jobs = 0;                  // 0: one per core
  std::string reports = "reports";
  std::string junit;  // default <reports>/<space>/swarm-<A>-<B>.xml
  bool show = false;  // print each seed's drawn scenario, run nothing
};

int swarm_command(const SwarmArgs& a, std::FILE* out);

}  // namespace keel::sim
