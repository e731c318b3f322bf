#pragma once
// A sweep's results: one record per seed, as the child process that ran the seed reports it, as
// the sweep's results file (JSON) stores it, and as `keel-sim merge` reads it back from the files
// of several shards.
#include "broker/base/result.h"
#include "sim/coverage/marks.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace keel::sim::sweep {

// What became of one seed. PASS and FAIL come from the run's checks; CRASH is a run that stopped
// its process (a failed assertion, a signal) before it gave a result; TIMEOUT a run that went on
// past the sweep's --seed-timeout (its process was killed); ERROR is a run that could not start
// (a broker config the broker refuses). Every verdict but PASS counts as failed.
struct SeedResult {
  struct Violation {
    std::string check;
    std::string message;
  };
  std::uint64_t seed = 0;
  std::string verdict;                // "PASS", "FAIL", "CRASH", "TIMEOUT" or "ERROR"
  std::string trace_hash;             // 16 hex digits; empty unless PASS or FAIL
  std::vector<Violation> violations;  // the violations that are not allowed (FAIL)
  std::string message;                // one line: the first violation, the assertion, the error
  std::string output;                 // CRASH, TIMEOUT: the end of what the process wrote (stderr)
  std::string reproduce;              // the command that reruns the seed
  std::string report_dir;             // FAIL: the seed's report folder
  bool rerun_hash_differs = false;    // FAIL: the report's rerun hashed differently (nondeterminism)
  double simulated_seconds = 0;
  double wall_seconds = 0;
  coverage::Counts marks;  // the coverage marks the run reached (PASS, FAIL, ERROR: none; CRASH, TIMEOUT: unknown)
  bool passed() const { return verdict == "PASS"; }
  bool marks_known() const { return verdict == "PASS" || verdict == "FAIL"; }
};

nlohmann::json to_json(const SeedResult& r);
Result<SeedResult> seed_result_from_json(const nlohmann::json& j);

// A share of a sweep's seeds: the seeds whose index in the range (seed - first) is `index` modulo
// `count`. Every seed of the range is in exactly one shard, and a shard's seeds spread over the
// range, so slow stretches of seeds are shared out too.
struct Shard {
  std::uint64_t index = 0;
  std::uint64_t count = 1;
  bool contains(std::uint64_t first, std::uint64_t seed) const { return (seed - first) % count == index; }
  bool whole() const { return count == 1; }
};

// "i/N" with 0 <= i < N (a Kubernetes completion index, a CI matrix index).
Result<Shard> parse_shard(const std::string& text);

struct SweepResults {
  std::string scenario;       // the scenario's name
  std::string scenario_path;  // as the reproduce commands name it
  std::string version;        // keel's version
  std::uint64_t first = 0, last = 0;  // the seed range swept, inclusive
  Shard shard;                        // which share of the range this file holds ({0, 1}: all of it)
  std::vector<SeedResult> seeds;      // in seed order
  double wall_seconds = 0;            // the sweep's wall time (a merge: the sum over its shards)
  std::vector<coverage::MarkInfo> marks;  // every coverage mark of the binary that ran the seeds
  std::size_t failed() const;
  coverage::CoverageReport coverage() const;  // which marks the seeds reached, and which none did
};

nlohmann::json to_json(const SweepResults& r);
Result<SweepResults> sweep_results_from_json(const nlohmann::json& j);
Result<SweepResults> read_sweep_results(const std::string& path);

// Joins the results of the shards of one sweep. An error names what does not fit: files of other
// scenarios or seed ranges, a shard given twice (an overlap), a shard missing, a seed outside its
// shard or held twice.
Result<SweepResults> merge_shards(const std::vector<SweepResults>& shards, const std::vector<std::string>& names);

}  // namespace keel::sim::sweep
