// keel-sim sweep, sweep-worker (the processes that run its seeds) and merge.
#include "broker/base/version.h"
#include "sim/commands.h"
#include "sim/report/junit.h"
#include "sim/runner.h"
#include "sim/sweep/processes.h"
#include "sim/sweep/progress.h"
#include "sim/sweep/results.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <thread>

namespace keel::sim {

namespace {

using sweep::SeedResult;
using sweep::Shard;
using sweep::SweepResults;

// A sweep keeps a result per seed in memory and in its files: ten million is days of CPU for the
// shortest scenario; a longer sweep is several sweeps (or shards).
constexpr std::uint64_t sweep_seeds_max = 10'000'000;

std::pair<std::uint64_t, std::uint64_t> parse_seeds(const std::string& text) {
  const auto dots = text.find("..");
  const UsageError bad{fmt::format("--seeds: '{}' is not a range A..B with A <= B (e.g. 1..200)", text)};
  std::uint64_t a = 0, b = 0;
  try {
    a = std::stoull(text.substr(0, dots));
    b = dots == std::string::npos ? a : std::stoull(text.substr(dots + 2));
  } catch (const std::exception&) {
    throw bad;
  }
  if (a > b) throw bad;
  if (b - a >= sweep_seeds_max) {
    throw UsageError{fmt::format("--seeds: '{}' is more than {} seeds; sweep them in parts", text, sweep_seeds_max)};
  }
  return {a, b};
}

// ---- the worker: seeds run in a process apart from the sweep's ----

SeedResult result_of(const RunOutcome& outcome) {
  const report::Report& report = outcome.report;
  SeedResult r;
  r.seed = report.seed;
  r.verdict = report.verdict;
  r.trace_hash = report.trace_hash;
  r.reproduce = report.reproduce;
  for (const auto& v : report.violations) {
    if (v.allowed) continue;
    if (r.violations.empty()) r.message = v.check + ": " + v.message;
    r.violations.push_back({v.check, v.message});
  }
  r.simulated_seconds = report.stats.simulated_seconds;
  r.wall_seconds = report.stats.wall_seconds;
  r.marks = report.marks;
  return r;
}

// A failed seed is run again with its trace written, so its report folder is complete; the
// rerun's hash must match the first run's.
void write_failure_report(const scenario::Scenario& s, RunOptions o, const std::string& reports, SeedResult& r) {
  r.report_dir = default_report_dir(reports, s.name, r.seed);
  FilePtr trace = open_for_writing(r.report_dir + "/trace.jsonl");
  o.trace_out = trace.get();
  const RunOutcome again = run_or_throw(s, o);
  trace.reset();
  (void)report::write_report(again.report, r.report_dir);
  r.rerun_hash_differs = again.report.trace_hash != r.trace_hash;
}

void write_result(const SeedResult& r) {
  const std::string text = sweep::to_json(r).dump() + "\n";
  std::size_t written = 0;
  while (written < text.size()) {
    const ssize_t n = write(sweep::result_fd, text.data() + written, text.size() - written);
    if (n <= 0) {
      throw UsageError{fmt::format("sweep-worker: cannot write a result to file descriptor {} (this command is run "
                                   "by keel-sim sweep, which reads it there)",
                                   sweep::result_fd)};
    }
    written += static_cast<std::size_t>(n);
  }
}

bool chosen(const std::vector<std::uint64_t>& seeds, std::uint64_t seed) {
  return seeds.empty() || std::find(seeds.begin(), seeds.end(), seed) != seeds.end();
}

SeedResult run_one_seed(const scenario::Scenario& s, RunOptions o, const std::string& reports) {
  auto outcome = run_scenario(s, o);
  if (outcome) {
    SeedResult r = result_of(*outcome);
    if (!r.passed()) write_failure_report(s, o, reports, r);
    return r;
  }
  SeedResult r;
  r.seed = o.seed;
  r.verdict = "ERROR";
  r.message = outcome.error().message;
  r.reproduce = reproduce_command(o.scenario_arg, o.seed, o.plant_assert_at);
  return r;
}

}  // namespace

int sweep_worker_command(const SweepWorkerArgs& a) {
  const scenario::Scenario s = load_or_throw(a.scenario);
  const auto plant = plant_assert_arg(a.plant_assert_at);
  std::string line;
  while (std::getline(std::cin, line)) {
    RunOptions o;
    try {
      o.seed = std::stoull(line);
    } catch (const std::exception&) {
      throw UsageError{fmt::format("sweep-worker: '{}' is not a seed", line)};
    }
    o.scenario_arg = resolve_scenario(a.scenario);
    if (chosen(a.plant_assert_seeds, o.seed)) o.plant_assert_at = plant;
    write_result(run_one_seed(s, o, a.reports));
  }
  return 0;
}

namespace {

// ---- the sweep: the seeds, their workers, the results ----

struct SweepPlan {
  scenario::Scenario scenario;
  std::string scenario_arg;  // resolved: what the workers and the reproduce commands name
  std::uint64_t first = 0, last = 0;
  Shard shard;
  std::vector<std::uint64_t> seeds;  // this shard's
  sweep::TaskOptions tasks;
  std::optional<Duration> plant_assert_at;
};

std::vector<std::string> worker_argv(const SweepArgs& a, const SweepPlan& p) {
  std::vector<std::string> argv = {a.executable, "sweep-worker", p.scenario_arg, "--reports", a.reports};
  if (p.plant_assert_at) {
    argv.insert(argv.end(), {"--plant-assert-at", a.plant_assert_at});
    if (!a.plant_assert_seeds.empty()) {
      std::string seeds;
      for (auto seed : a.plant_assert_seeds) seeds += (seeds.empty() ? "" : ",") + std::to_string(seed);
      argv.insert(argv.end(), {"--plant-assert-seeds", seeds});
    }
  }
  return argv;
}

// The line of a crashed run's output that says why: its failed assertion, or else its last line.
std::string crash_message(const sweep::TaskEnd& e) {
  const auto at = e.output.rfind("assertion failed: ");
  if (at != std::string::npos && (at == 0 || e.output[at - 1] == '\n')) {
    return e.output.substr(at, e.output.find('\n', at) - at);
  }
  std::string last = e.output.substr(0, e.output.find_last_not_of('\n') + 1);
  last = last.substr(last.rfind('\n') + 1);
  return sweep::describe_exit(e) + (last.empty() ? "" : ": " + last);
}

SeedResult from_task(const SweepArgs& a, const SweepPlan& p, std::uint64_t seed, sweep::TaskEnd e) {
  std::string unreadable;  // a result line that is not one (a bug of the worker's)
  if (!e.died()) {
    const auto j = nlohmann::json::parse(e.result, nullptr, false);
    auto r = j.is_discarded() ? Result<SeedResult>(make_error(Errc::corrupt, "not JSON")) : sweep::seed_result_from_json(j);
    if (r && r->seed == seed) return std::move(*r);
    unreadable = fmt::format("the worker's result is not one for seed {}: {}", seed, e.result.substr(0, 200));
  }
  SeedResult r;
  r.seed = seed;
  r.verdict = e.timed_out ? "TIMEOUT" : "CRASH";
  r.message = unreadable.empty() ? crash_message(e) : unreadable;
  r.output = std::move(e.output);
  const bool planted = p.plant_assert_at && chosen(a.plant_assert_seeds, seed);
  r.reproduce = reproduce_command(p.scenario_arg, seed, planted ? p.plant_assert_at : std::nullopt);
  r.wall_seconds = e.wall_seconds;
  return r;
}

std::vector<SeedResult> run_seeds(const SweepArgs& a, const SweepPlan& p) {
  std::vector<std::string> tasks;
  for (std::uint64_t seed : p.seeds) tasks.push_back(std::to_string(seed));
  std::vector<SeedResult> results(p.seeds.size());
  sweep::Progress progress(stderr, p.seeds.size(), a.progress);
  std::string error;
  const bool started = sweep::run_tasks(worker_argv(a, p), tasks, p.tasks, [&](std::size_t i, sweep::TaskEnd e) {
    results[i] = from_task(a, p, p.seeds[i], std::move(e));
    progress.seed_done(results[i].passed());
  }, &error);
  progress.finish();
  if (!started) throw UsageError{fmt::format("sweep: cannot start a worker process: {}", error)};
  return results;
}

SweepPlan plan_sweep(const SweepArgs& a) {
  SweepPlan p;
  p.scenario = load_or_throw(a.scenario);
  p.scenario_arg = resolve_scenario(a.scenario);
  std::tie(p.first, p.last) = parse_seeds(a.seeds);
  if (!a.shard.empty()) {
    auto shard = sweep::parse_shard(a.shard);
    if (!shard) throw UsageError{shard.error().message};
    p.shard = *shard;
  }
  for (std::uint64_t seed = p.first; seed >= p.first && seed <= p.last; ++seed) {  // >= first: no wrap at 2^64
    if (p.shard.contains(p.first, seed)) p.seeds.push_back(seed);
  }
  if (a.jobs < 0 || a.jobs > 256) throw UsageError{fmt::format("--jobs: {} is outside 1..256", a.jobs)};
  const int jobs = a.jobs > 0 ? a.jobs : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  p.tasks.jobs = static_cast<int>(std::clamp<std::uint64_t>(p.seeds.size(), 1, static_cast<std::uint64_t>(jobs)));
  if (!a.seed_timeout.empty()) {
    Duration limit{};
    if (!parse_duration(a.seed_timeout, &limit) || limit <= Duration::zero()) {
      throw UsageError{fmt::format("--seed-timeout: '{}' is not a duration above zero (examples: 90s, 10m)", a.seed_timeout)};
    }
    p.tasks.task_timeout_seconds = std::chrono::duration<double>(limit).count();
  }
  p.plant_assert_at = plant_assert_arg(a.plant_assert_at);
  if (a.executable.empty()) throw UsageError{"sweep: cannot find the keel-sim executable to run the seeds with"};
  return p;
}

void print_table(std::FILE* out, const std::vector<SeedResult>& results) {
  fmt::print(out, "{:>8}  {:<7} {:>10}  {:<16}  {:>8}  {:>7}  {}\n", "seed", "verdict", "violations", "trace-hash", "sim s",
             "wall s", "first violation");
  for (const auto& r : results) {
    fmt::print(out, "{:>8}  {:<7} {:>10}  {:<16}  {:>8.1f}  {:>7.2f}  {}\n", r.seed, r.verdict, r.violations.size(),
               r.trace_hash, r.simulated_seconds, r.wall_seconds, r.message.substr(0, 100));
  }
}

// One line per failed seed: where its report is (or why it has none) and how to reproduce it.
void print_failures(std::FILE* out, const std::vector<SeedResult>& results) {
  for (const auto& r : results) {
    if (r.verdict == "FAIL") {
      fmt::print(out, "seed {}: report {}/report.html; reproduce: {}{}\n", r.seed, r.report_dir, r.reproduce,
                 r.rerun_hash_differs ? " (WARNING: the rerun's trace hash differs: nondeterminism)" : "");
    } else if (r.verdict == "CRASH") {
      fmt::print(out, "seed {}: crashed: {}; reproduce: {}\n", r.seed, r.message, r.reproduce);
    } else if (r.verdict == "TIMEOUT") {
      fmt::print(out, "seed {}: {}; reproduce: {}\n", r.seed, r.message, r.reproduce);
    } else if (r.verdict == "ERROR") {
      fmt::print(out, "seed {}: error: {}; reproduce: {}\n", r.seed, r.message, r.reproduce);
    }
  }
}

std::string junit_text(const SweepResults& results) {
  std::vector<report::JUnitCase> cases;
  for (const auto& r : results.seeds) {
    report::JUnitCase c;
    c.name = fmt::format("seed {}", r.seed);
    c.classname = fmt::format("keel-sim.{}", results.scenario);
    c.time_seconds = r.wall_seconds;
    c.failed = !r.passed();
    if (c.failed) {
      c.failure_message = r.verdict == "FAIL" ? r.message : fmt::format("{}: {}", r.verdict, r.message);
      c.failure_text = fmt::format("reproduce: {}\n", r.reproduce);
      for (const auto& v : r.violations) c.failure_text += fmt::format("{}: {}\n", v.check, v.message);
      if (!r.output.empty()) c.failure_text += "output (the end):\n" + r.output;
    }
    if (!r.trace_hash.empty()) c.system_out = fmt::format("trace-hash: {}", r.trace_hash);
    cases.push_back(std::move(c));
  }
  return report::junit_xml(fmt::format("keel-sim sweep {}", results.scenario), cases);
}

// Written beside the path and renamed into place, so whoever waits for a results file (a merge
// step polling a shared volume) never reads half of one.
void write_text(const std::string& path, const std::string& text) {
  const std::string partial = path + ".partial";
  FilePtr f = open_for_writing(partial);
  const bool written = std::fwrite(text.data(), 1, text.size(), f.get()) == text.size();
  if (!written || std::fclose(f.release()) != 0) throw UsageError{fmt::format("cannot write '{}'", partial)};
  std::error_code ec;
  std::filesystem::rename(partial, path, ec);
  if (ec) throw UsageError{fmt::format("cannot rename '{}' to '{}': {}", partial, path, ec.message())};
}

// Writes the JUnit XML and the results file (default paths beside each other under reports/),
// prints the failed seeds, the paths, and returns the exit code: 2 if a seed could not start, 1 if
// any failed, else 0. `summary` is the line before "N passed, M failed".
int finish(std::FILE* out, const SweepResults& results, const std::string& junit, const std::string& json,
           const std::string& reports, const std::string& summary) {
  std::string base = fmt::format("{}/{}/sweep-{}-{}", reports, results.scenario, results.first, results.last);
  if (!results.shard.whole()) base += fmt::format("-shard-{}-of-{}", results.shard.index, results.shard.count);
  const std::string junit_path = junit.empty() ? base + ".xml" : junit;
  const std::string json_path = json.empty() ? base + ".json" : json;
  print_failures(out, results.seeds);
  coverage::print_coverage(out, results.coverage());
  write_text(junit_path, junit_text(results));
  write_text(json_path, sweep::to_json(results).dump(2) + "\n");
  fmt::print(out, "junit: {}\njson: {}\n", junit_path, json_path);
  fmt::print(out, "{}\n", summary);
  fmt::print(out, "{} passed, {} failed\n", results.seeds.size() - results.failed(), results.failed());
  for (const auto& r : results.seeds) {
    if (r.verdict == "ERROR") return 2;
  }
  return results.failed() == 0 ? 0 : 1;
}

}  // namespace

int sweep_command(const SweepArgs& a, std::FILE* out) {
  const SweepPlan p = plan_sweep(a);
  const auto wall_start = std::chrono::steady_clock::now();
  SweepResults results;
  results.seeds = run_seeds(a, p);
  results.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  results.scenario = p.scenario.name;
  results.scenario_path = p.scenario_arg;
  results.version = std::string(version());
  results.first = p.first;
  results.last = p.last;
  results.shard = p.shard;
  results.marks = coverage::binary_catalogue();
  print_table(out, results.seeds);
  double simulated = 0;
  for (const auto& r : results.seeds) simulated += r.simulated_seconds;
  const double wall = results.wall_seconds;
  std::string summary = fmt::format("sweep: {} seeds of {} in {:.1f}s wall with {} jobs ({:.0f} simulated s per wall s)",
                                    results.seeds.size(), p.scenario.name, wall, p.tasks.jobs, wall > 0 ? simulated / wall : 0.0);
  if (!p.shard.whole()) summary += fmt::format("; shard {}/{} of seeds {}..{}", p.shard.index, p.shard.count, p.first, p.last);
  return finish(out, results, a.junit, a.json, a.reports, summary);
}

int merge_command(const MergeArgs& a, std::FILE* out) {
  std::vector<SweepResults> shards;
  for (const auto& file : a.files) {
    auto r = sweep::read_sweep_results(file);
    if (!r) throw UsageError{r.error().message};
    shards.push_back(std::move(*r));
  }
  auto merged = sweep::merge_shards(shards, a.files);
  if (!merged) throw UsageError{fmt::format("merge: {}", merged.error().message)};
  print_table(out, merged->seeds);
  const std::string summary = fmt::format("merge: {} seeds of {} ({}..{}) from {} shards, {:.1f}s wall in all",
                                          merged->seeds.size(), merged->scenario, merged->first, merged->last,
                                          shards.size(), merged->wall_seconds);
  return finish(out, *merged, a.junit, a.json, a.reports, summary);
}

}  // namespace keel::sim
