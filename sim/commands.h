#pragma once
// The scenario commands of keel-sim: run, sweep, merge, replay, list. Exit codes: 0 pass, 1 a
// violation (or a replay whose hash differs), 2 bad input (a bad scenario file, a bad argument).
#include "sim/runner.h"
#include "sim/scenario/scenario.h"

#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace keel::sim {

struct RunArgs {
  std::string scenario;  // a path, or a name in scenarios/ ("smoke" for scenarios/smoke.json)
  std::uint64_t seed = 1;
  std::string out;       // the report directory; default reports/<scenario>/<seed>
  std::string trace_level = "info";
  bool check_determinism = false;
  std::string plant_assert_at;  // a simulated time: a KEEL_ASSERT fails then (tests, demonstrations)
};

// The seeds of a sweep run in worker processes (`keel-sim sweep-worker`), so a seed that fails an
// assertion or crashes is one failed seed and the sweep goes on.
struct SweepArgs {
  std::string scenario;
  std::string seeds = "1..100";  // A..B, inclusive
  int jobs = 0;                  // worker processes; 0: one per core
  std::string shard;             // "i/N": only the seeds whose index in A..B is i modulo N
  std::string junit;             // default reports/<scenario>/sweep-<A>-<B>[-shard-<i>-of-<N>].xml
  std::string json;              // the results file, for `keel-sim merge`; default as junit, .json
  std::string reports = "reports";
  bool progress = true;          // a progress line on stderr, when it is a terminal
  std::string seed_timeout;      // a duration: a seed still running after it is killed (TIMEOUT); "": none
  std::string plant_assert_at;   // see RunArgs; for the seeds in plant_assert_seeds (all if empty)
  std::vector<std::uint64_t> plant_assert_seeds;
  std::string executable;        // the keel-sim binary the workers run
};

// A sweep's worker process: reads seeds from stdin, one a line, runs each and writes its result
// (one line of JSON) to sweep::result_fd; exits at the end of its input.
struct SweepWorkerArgs {
  std::string scenario;  // as the sweep resolved it
  std::string reports = "reports";
  std::string plant_assert_at;
  std::vector<std::uint64_t> plant_assert_seeds;
};

struct MergeArgs {
  std::vector<std::string> files;  // the results files of a sweep's shards
  std::string junit;               // default reports/<scenario>/sweep-<A>-<B>.xml
  std::string json;                // default reports/<scenario>/sweep-<A>-<B>.json
  std::string reports = "reports";
};

struct ReplayArgs {
  std::string report;  // a report.json
  std::string trace_level = "info";
  std::string out;     // where to write trace.jsonl and the new report; default: the report's folder
};

int run_command(const RunArgs& a, std::FILE* out);
int sweep_command(const SweepArgs& a, std::FILE* out);
int sweep_worker_command(const SweepWorkerArgs& a);
int merge_command(const MergeArgs& a, std::FILE* out);
int replay_command(const ReplayArgs& a, std::FILE* out);
int list_command(const std::string& dir, std::FILE* out);

// Thrown for bad arguments; main prints it and exits 2.
struct UsageError {
  std::string message;
};

// Shared by the commands (commands.cpp, sweep/sweep_commands.cpp).
std::string resolve_scenario(const std::string& arg);  // a file, or a name in scenarios/
scenario::Scenario load_or_throw(const std::string& arg);
std::string default_report_dir(const std::string& reports, const std::string& scenario, std::uint64_t seed);
using FilePtr = std::unique_ptr<std::FILE, int (*)(std::FILE*)>;
FilePtr open_for_writing(const std::string& path);  // creates its folder; UsageError if it cannot
RunOutcome run_or_throw(const scenario::Scenario& s, const RunOptions& o);
// "" is no planted assertion; otherwise a duration (--plant-assert-at).
std::optional<Duration> plant_assert_arg(const std::string& text);

}  // namespace keel::sim
