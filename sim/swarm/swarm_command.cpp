#include "sim/swarm/swarm_command.h"

#include "sim/commands.h"
#include "sim/report/junit.h"
#include "sim/report/report.h"
#include "sim/runner.h"
#include "sim/scenario/scenario_json.h"
#include "sim/swarm/space.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <thread>

namespace keel::sim {

namespace {

namespace fs = std::filesystem;

swarm::SwarmSpace space_or_throw(const std::string& arg) {
  if (arg.empty()) return {};
  std::string path = arg;
  if (!fs::exists(path) && arg.find('/') == std::string::npos) path = fmt::format("scenarios/swarm/{}.json", arg);
  auto s = swarm::load_space(path);
  if (!s) throw UsageError{s.error().message};
  return std::move(*s);
}

std::pair<std::uint64_t, std::uint64_t> seed_range(const std::string& text) {
  const auto dots = text.find("..");
  try {
    if (dots == std::string::npos) return {std::stoull(text), std::stoull(text)};
    const std::uint64_t a = std::stoull(text.substr(0, dots)), b = std::stoull(text.substr(dots + 2));
    if (a <= b) return {a, b};
  } catch (const std::exception&) {
  }
  throw UsageError{fmt::format("--seeds: '{}' is not a range A..B with A <= B (e.g. 1..200)", text)};
}

std::string seed_dir(const SwarmArgs& a, const swarm::SwarmSpace& sp, std::uint64_t seed) {
  return fmt::format("{}/{}/{}", a.reports, sp.name, seed);
}

// The seed's scenario as its file will read: drawn, written, parsed back (so the parser validates
// every draw, and what runs is what the file says).
Result<scenario::Scenario> drawn(const swarm::SwarmSpace& sp, std::uint64_t seed, const std::string& file) {
  const scenario::Scenario s = swarm::draw_scenario(sp, seed);
  auto parsed = scenario::parse_scenario(scenario::to_json(s).dump(), file);
  if (!parsed)
    return make_error(Errc::invalid_argument, "the drawn scenario does not parse: " + parsed.error().message);
  parsed->source_path = file;
  return parsed;
}

struct SeedRun {
  std::uint64_t seed = 0;
  std::string error;  // the scenario could not be drawn or run
  std::string shape;
  bool passed = false;
  std::string hash;
  std::size_t violations = 0;
  std::string first_violation;
  std::set<std::string> failed_checks;  // checks with a violation that is not allowed
  double simulated = 0, wall = 0;
  std::vector<std::string> kinds_on;  // random fault kinds with a rate
};

SeedRun run_one(const SwarmArgs& a, const swarm::SwarmSpace& sp, std::uint64_t seed) {
  SeedRun r;
  r.seed = seed;
  const std::string file = seed_dir(a, sp, seed) + "/scenario.json";
  auto s = drawn(sp, seed, file);
  if (!s) {
    r.error = s.error().message;
    return r;
  }
  r.shape = swarm::shape(*s);
  const auto j = scenario::to_json(*s);
  if (j.contains("faults") && j["faults"].contains("random")) {
    for (const auto& kind : swarm::random_fault_kinds()) {
      if (j["faults"]["random"].contains(kind)) r.kinds_on.push_back(kind);
    }
  }
  RunOptions o;
  o.seed = seed;
  o.scenario_arg = file;
  auto outcome = run_scenario(*s, o);
  if (!outcome) {
    r.error = outcome.error().message;
    return r;
  }
  r.passed = outcome->passed();
  r.hash = outcome->report.trace_hash;
  for (const auto& v : outcome->report.violations) {
    if (v.allowed) continue;
    r.failed_checks.insert(v.check);
    if (r.violations++ == 0) r.first_violation = v.check + ": " + v.message;
  }
  r.simulated = outcome->report.stats.simulated_seconds;
  r.wall = outcome->report.stats.wall_seconds;
  return r;
}

std::vector<SeedRun> run_all(const SwarmArgs& a, const swarm::SwarmSpace& sp, std::uint64_t first, std::uint64_t last,
                             int jobs) {
  std::vector<SeedRun> results(last - first + 1);
  std::atomic<std::uint64_t> next{0};
  const auto worker = [&] {
    for (std::uint64_t i = next++; i < results.size(); i = next++) results[i] = run_one(a, sp, first + i);
  };
  std::vector<std::thread> threads;
  for (int j = 0; j < jobs; ++j) threads.emplace_back(worker);
  for (auto& t : threads) t.join();
  return results;
}

void print_table(std::FILE* out, const std::vector<SeedRun>& results) {
  fmt::print(out, "{:>8}  {:<7} {:>10}  {:<16}  {:>6}  {:>6}  {:<58} {}\n", "seed", "verdict", "violations",
             "trace-hash", "sim s", "wall s", "drawn", "first violation");
  for (const auto& r : results) {
    const std::string verdict = !r.error.empty() ? "ERROR" : r.passed ? "PASS" : "FAIL";
    fmt::print(out, "{:>8}  {:<7} {:>10}  {:<16}  {:>6.1f}  {:>6.2f}  {:<58} {}\n", r.seed, verdict, r.violations,
               r.hash, r.simulated, r.wall, r.shape, r.error.empty() ? r.first_violation.substr(0, 100) : r.error);
  }
}

// How often each fault kind was on and how many of those seeds failed, and which checks failed:
// where a swarm's failures cluster says which feature a bug needs (or which one hides it).
void print_breakdown(std::FILE* out, const std::vector<SeedRun>& results) {
  std::map<std::string, std::pair<std::size_t, std::size_t>> on;  // kind -> (seeds, failed)
  for (const auto& r : results) {
    for (const auto& k : r.kinds_on) {
      ++on[k].first;
      on[k].second += r.error.empty() && !r.passed ? 1 : 0;
    }
  }
  std::string line;
  for (const auto& kind : swarm::random_fault_kinds()) {
    const auto [seeds, failed] = on[kind];
    line += fmt::format(" {} {}{}", kind, seeds, failed > 0 ? fmt::format(" ({} failed)", failed) : "");
  }
  fmt::print(out, "fault kinds on, in seeds:{}\n", line);
  std::map<std::string, std::size_t> by_check;
  for (const auto& r : results) {
    for (const auto& c : r.failed_checks) ++by_check[c];
  }
  std::string checks;
  for (const auto& [check, seeds] : by_check) checks += fmt::format(" {} {}", check, seeds);
  if (!checks.empty()) fmt::print(out, "failed checks, in seeds:{}\n", checks);
}

// A failing seed's drawn scenario is written beside its report and the seed run again with its
// trace, so the folder is complete; the report names the scenario file.
void write_failure(const SwarmArgs& a, const swarm::SwarmSpace& sp, const SeedRun& r, std::FILE* out) {
  const std::string dir = seed_dir(a, sp, r.seed), file = dir + "/scenario.json";
  auto s = drawn(sp, r.seed, file);
  if (!s) return;
  if (Status w = scenario::write_scenario_file(*s, file); !w) throw UsageError{w.error().message};
  std::FILE* trace = std::fopen((dir + "/trace.jsonl").c_str(), "w");
  RunOptions o;
  o.seed = r.seed;
  o.scenario_arg = file;
  o.trace_out = trace;
  auto again = run_scenario(*s, o);
  if (trace) std::fclose(trace);
  if (!again) return;
  (void)report::write_report(again->report, dir);
  fmt::print(out, "seed {}: report {}/report.html; reproduce: {}; shrink: keel-sim shrink {}/report.json{}\n", r.seed,
             dir, reproduce_command(file, r.seed), dir,
             again->report.trace_hash == r.hash ? "" : " (WARNING: the rerun's trace hash differs: nondeterminism)");
}

std::string write_junit(const SwarmArgs& a, const swarm::SwarmSpace& sp, const std::vector<SeedRun>& results,
                        std::uint64_t first, std::uint64_t last) {
  std::vector<report::JUnitCase> cases;
  for (const auto& r : results) {
    report::JUnitCase c;
    c.name = fmt::format("seed {}", r.seed);
    c.classname = fmt::format("keel-sim.swarm.{}", sp.name);
    c.time_seconds = r.wall;
    c.failed = !r.passed;
    if (c.failed) {
      c.failure_message = r.error.empty() ? r.first_violation : r.error;
      c.failure_text =
          fmt::format("reproduce: {}\n", reproduce_command(seed_dir(a, sp, r.seed) + "/scenario.json", r.seed));
    }
    c.system_out = fmt::format("drawn: {}; trace-hash: {}", r.shape, r.hash);
    cases.push_back(std::move(c));
  }
  const std::string path =
      a.junit.empty() ? fmt::format("{}/{}/swarm-{}-{}.xml", a.reports, sp.name, first, last) : a.junit;
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << report::junit_xml(fmt::format("keel-sim swarm {}", sp.name), cases);
  if (!f.flush()) throw UsageError{fmt::format("cannot write '{}'", path)};
  return path;
}

int show(const swarm::SwarmSpace& sp, std::uint64_t first, std::uint64_t last, std::FILE* out) {
  for (std::uint64_t seed = first; seed <= last; ++seed) {
    fmt::print(out, "{}\n", scenario::to_json(swarm::draw_scenario(sp, seed)).dump(2));
  }
  return 0;
}

}  // namespace

int swarm_command(const SwarmArgs& a, std::FILE* out) {
  const swarm::SwarmSpace sp = space_or_throw(a.space);
  const auto [first, last] = seed_range(a.seeds);
  if (a.show) return show(sp, first, last, out);
  if (a.jobs < 0 || a.jobs > 256) throw UsageError{fmt::format("--jobs: {} is outside 1..256", a.jobs)};
  int jobs = a.jobs > 0 ? a.jobs : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  jobs = static_cast<int>(std::min<std::uint64_t>(static_cast<std::uint64_t>(jobs), last - first + 1));
  const auto wall_start = std::chrono::steady_clock::now();
  const auto results = run_all(a, sp, first, last, jobs);
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  print_table(out, results);
  std::size_t failed = 0, errors = 0;
  double simulated = 0;
  for (const auto& r : results) {
    failed += r.passed ? 0 : 1;
    errors += r.error.empty() ? 0 : 1;
    simulated += r.simulated;
    if (!r.passed && r.error.empty()) write_failure(a, sp, r, out);
  }
  print_breakdown(out, results);
  fmt::print(out, "junit: {}\n", write_junit(a, sp, results, first, last));
  fmt::print(out, "swarm: {} seeds of {} in {:.1f}s wall with {} jobs ({:.0f} simulated s per wall s)\n",
             results.size(), sp.name, wall, jobs, wall > 0 ? simulated / wall : 0.0);
  fmt::print(out, "{} passed, {} failed\n", results.size() - failed, failed);
  if (errors > 0) return 2;
  return failed == 0 ? 0 : 1;
}

}  // namespace keel::sim
