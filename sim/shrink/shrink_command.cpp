#include "sim/shrink/shrink_command.h"

#include "sim/commands.h"
#include "sim/report/report.h"
#include "sim/runner.h"
#include "sim/scenario/scenario_json.h"
#include "sim/shrink/schedule.h"
#include "sim/shrink/shrink.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <thread>

namespace keel::sim {

namespace {

namespace fs = std::filesystem;

// The check to keep failing: the one asked for, else the report's first violation that is not
// allowed.
std::string target_check(const report::Report& r, const ShrinkArgs& a) {
  if (!a.check.empty()) {
    const auto& known = scenario::all_check_names();
    if (std::find(known.begin(), known.end(), a.check) == known.end() && a.check != "trace-error")
      throw UsageError{fmt::format("--check: unknown check \"{}\"", a.check)};
    return a.check;
  }
  for (const auto& v : r.violations) {
    if (!v.allowed) return v.check;
  }
  throw UsageError{fmt::format("{}: the run passed (verdict {}): nothing to shrink", a.report, r.verdict)};
}

scenario::Scenario load_scenario_of(const report::Report& r) {
  std::string path = r.scenario_path;
  if (!fs::exists(path) && path.find('/') == std::string::npos) path = fmt::format("scenarios/{}.json", path);
  auto s = scenario::load_scenario(path);
  if (!s) throw UsageError{fmt::format("the report's scenario: {}", s.error().message)};
  return std::move(*s);
}

std::string shape(const scenario::Scenario& s) {
  int producers = 0, consumers = 0, partitions = 0;
  for (const auto& p : s.workload.producers) producers += p.count;
  for (const auto& c : s.workload.consumers) consumers += c.count;
  for (const auto& t : s.topics) partitions += t.partitions;
  return fmt::format("{} broker(s), {} topic(s) with {} partition(s), {} producer(s), {} consumer(s), duration {}",
                     s.cluster.brokers, s.topics.size(), partitions, producers, consumers, format_duration(s.duration));
}

// Runs the written file as `keel-sim run FILE --seed N` would, and says whether it fails the check.
bool verify(const std::string& path, std::uint64_t seed, const std::string& check, std::FILE* out) {
  auto s = scenario::load_scenario(path);
  if (!s) {
    fmt::print(out, "shrink: the written file does not load: {}\n", s.error().message);
    return false;
  }
  const shrink::Trial t = shrink::run_trial(*s, seed);
  const bool failed = t.ran && t.failed_checks.contains(check);
  fmt::print(out, "verify: {} --seed {}: {} (trace-hash {})\n", path, seed,
             failed ? "fails " + check : "DOES NOT FAIL " + check, t.report.trace_hash);
  return failed;
}

}  // namespace

int shrink_command(const ShrinkArgs& a, std::FILE* out) {
  auto r = report::read_report(a.report);
  if (!r) throw UsageError{r.error().message};
  const std::string check = target_check(*r, a);
  scenario::Scenario original = load_scenario_of(*r);
  fmt::print(out, "shrink: {} seed {} ({}), check {}\n", r->scenario, r->seed, r->scenario_path, check);
  fmt::print(out, "  from: {}\n", shape(original));
  shrink::ShrinkOptions o;
  o.seed = r->seed;
  o.check = check;
  o.runs_max = a.runs_max;
  if (a.jobs < 0 || a.jobs > 256) throw UsageError{fmt::format("--jobs: {} is outside 1..256", a.jobs)};
  o.jobs = a.jobs > 0 ? static_cast<std::size_t>(a.jobs) : std::max(1u, std::thread::hardware_concurrency());
  o.log = out;
  auto result = shrink::shrink_scenario(original, o);
  if (!result.reproduced) {
    fmt::print(
        out,
        "shrink: seed {} of {} does not fail {} here (the scenario file or the build changed since the report); nothing to shrink\n",
        r->seed, r->scenario_path, check);
    return 1;
  }
  for (const auto& n : result.notes) fmt::print(out, "  note: {}\n", n);
  auto& m = result.minimal;
  m.name = original.name + "-shrunk";
  m.description = fmt::format("Shrunk by keel-sim shrink from {} seed {}: fails {} with {} of {} faults.",
                              r->scenario_path, r->seed, check, result.faults_after, result.faults_before);
  const std::string path = a.out.empty() ? (fs::path(a.report).parent_path() / "shrunk.json").string() : a.out;
  if (Status w = scenario::write_scenario_file(m, path); !w) throw UsageError{w.error().message};
  fmt::print(out, "shrunk: {} fault(s) -> {} ({}), in {} runs and {:.1f}s wall\n", result.faults_before,
             result.faults_after, result.scripted ? "scripted" : "random faults kept, rates shrunk", result.runs,
             result.wall_seconds);
  fmt::print(out, "  to:   {}\n", shape(m));
  for (const auto& u : shrink::scripted_units(m.faults)) fmt::print(out, "  fault: {}\n", shrink::describe(u));
  fmt::print(out, "scenario: {}\n", path);
  const bool ok = verify(path, r->seed, check, out);
  fmt::print(out, "reproduce: keel-sim run {} --seed {}\n", path, r->seed);
  return ok ? 0 : 1;
}

}  // namespace keel::sim
