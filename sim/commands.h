#pragma once
// The scenario commands of keel-sim: run, sweep, replay, list. Exit codes: 0 pass, 1 a violation
// (or a replay whose hash differs), 2 bad input (a bad scenario file, a bad argument).
#include <cstdint>
#include <cstdio>
#include <string>

namespace keel::sim {

struct RunArgs {
  std::string scenario;  // a path, or a name in scenarios/ ("smoke" for scenarios/smoke.json)
  std::uint64_t seed = 1;
  std::string out;       // the report directory; default reports/<scenario>/<seed>
  std::string trace_level = "info";
  bool check_determinism = false;
};

struct SweepArgs {
  std::string scenario;
  std::string seeds = "1..100";  // A..B, inclusive
  int jobs = 0;                  // 0: one per core
  std::string junit;             // default reports/<scenario>/sweep-<A>-<B>.xml
  std::string reports = "reports";
  bool progress = true;
};

struct ReplayArgs {
  std::string report;  // a report.json
  std::string trace_level = "info";
  std::string out;     // where to write trace.jsonl and the new report; default: the report's folder
};

int run_command(const RunArgs& a, std::FILE* out);
int sweep_command(const SweepArgs& a, std::FILE* out);
int replay_command(const ReplayArgs& a, std::FILE* out);
int list_command(const std::string& dir, std::FILE* out);

// Thrown for bad arguments; main prints it and exits 2.
struct UsageError {
  std::string message;
};

}  // namespace keel::sim
