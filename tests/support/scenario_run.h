#pragma once
// Scenario runs in tests: the path of a file in the source tree, and one seed of a scenario run in
// this process.
#include <catch2/catch.hpp>

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>

#include "sim/runner.h"
#include "sim/scenario/scenario.h"

namespace keel::test {

#ifdef KEEL_SOURCE_DIR
// A path relative to the source tree (CMakeLists.txt gives the files that read the repo's files
// KEEL_SOURCE_DIR).
inline std::string repo_path(const std::string& relative) {
  return (std::filesystem::path(KEEL_SOURCE_DIR) / relative).string();
}
#endif

// Runs one seed of `s`; a scenario that cannot run fails the test.
inline sim::RunOutcome run_seed(const sim::scenario::Scenario& s, std::uint64_t seed) {
  sim::RunOptions o;
  o.seed = seed;
  auto r = sim::run_scenario(s, o);
  REQUIRE(r);
  return std::move(*r);
}

}  // namespace keel::test
