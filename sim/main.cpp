// keel-sim: the simulator's command line.
//   keel-sim run SCENARIO --seed N [--out DIR] [--trace-level L] [--check-determinism]
//   keel-sim sweep SCENARIO --seeds A..B [--jobs J] [--shard i/N] [--junit FILE] [--json FILE]
//   keel-sim merge RESULTS.json... [--junit FILE] [--json FILE]
//   keel-sim replay REPORT.json [--trace-level debug]
//   keel-sim shrink REPORT.json [--check NAME] [--out FILE] [--max-runs N] [--jobs J]
//   keel-sim swarm [SPACE] --seeds A..B [--jobs J] [--show]
//   keel-sim explore SCENARIO --budget N [--first-seed S] [--explore-seed E] [--baseline SWEEP.json] [--no-compare]
//   keel-sim list [DIR]
//   keel-sim selftest --seed N [--nodes K] [--duration 60s] [--check-determinism]
//   keel-sim bench [--quick] [--only SECTIONS] [--scenario FILE] [--scenario-seeds N]
// Exit codes: 0 pass, 1 a violation (or a determinism failure), 2 bad arguments.
#include "sim/bench/bench.h"
#include "sim/commands.h"
#include "sim/coverage/explore_command.h"
#include "sim/determinism.h"
#include "sim/selftest/selftest.h"
#include "sim/sweep/processes.h"
#include "sim/shrink/shrink_command.h"
#include "sim/swarm/swarm_command.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cstdio>
#include <memory>
#include <optional>

namespace {

using namespace keel;
using namespace keel::sim;

struct SelftestArgs {
  std::uint64_t seed = 1;
  int nodes = 3;
  std::string duration = "60s";
  std::string quiesce = "10s";
  bool no_faults = false;
  bool check_determinism = false;
  std::string trace_path;
  std::string trace_level = "info";
};

using keel::sim::UsageError;

Duration duration_arg(const std::string& name, const std::string& text) {
  Duration d{};
  if (!parse_duration(text, &d)) {
    throw UsageError{fmt::format("--{}: '{}' is not a duration (examples: 500ms, 60s, 5m)", name, text)};
  }
  return d;
}

std::string reproduce_command(const SelftestArgs& a) {
  return fmt::format("keel-sim selftest --seed {} --nodes {} --duration {} --quiesce {}{}", a.seed, a.nodes,
                     a.duration, a.quiesce, a.no_faults ? " --no-faults" : "");
}

selftest::SelftestOptions options_from(const SelftestArgs& a) {
  selftest::SelftestOptions o;
  o.seed = a.seed;
  o.nodes = a.nodes;
  o.duration = duration_arg("duration", a.duration);
  o.quiesce = duration_arg("quiesce", a.quiesce);
  o.faults = !a.no_faults;
  if (a.nodes < 1 || a.nodes > 64) throw UsageError{fmt::format("--nodes: {} is outside 1..64", a.nodes)};
  if (a.trace_level == "debug") o.trace.write_level = Severity::debug;
  else if (a.trace_level == "info") o.trace.write_level = Severity::info;
  else if (a.trace_level == "warn") o.trace.write_level = Severity::warn;
  else if (a.trace_level == "error") o.trace.write_level = Severity::error;
  else throw UsageError{fmt::format("--trace-level: '{}' is not one of debug, info, warn, error", a.trace_level)};
  o.trace.write_scheduler = o.trace.write_level == Severity::debug;
  return o;
}

void print_result(const SelftestArgs& a, const selftest::SelftestResult& r) {
  fmt::print("selftest: seed={} nodes={} duration={} quiesce={}\n", a.seed, a.nodes, a.duration, a.quiesce);
  fmt::print("  operations: {} ok ({} reads, {} writes), {} failed or timed out; {} ok after quiesce\n", r.ops_ok,
             r.reads_ok, r.writes_ok, r.ops_failed, r.ops_ok_after_quiesce);
  std::string faults;
  for (const auto& [type, n] : r.faults.by_type) faults += fmt::format(" {}={}", type, n);
  fmt::print("  faults:{}\n", faults.empty() ? " none" : faults);
  const double sim_s = std::chrono::duration<double>(r.simulated).count();
  fmt::print("  world: {} events, {} task runs, {} trace events; {:.0f}s simulated in {:.2f}s wall ({:.0f}x)\n",
             r.world_events, r.task_switches, r.trace_events, sim_s, r.wall_seconds, sim_s / r.wall_seconds);
  const std::size_t shown = std::min<std::size_t>(r.violations.size(), 20);
  for (std::size_t i = 0; i < shown; ++i) fmt::print("  violation: {}\n", r.violations[i]);
  if (shown < r.violations.size()) fmt::print("  ... and {} more violations\n", r.violations.size() - shown);
  if (!r.passed()) fmt::print("  reproduce: {}\n", reproduce_command(a));
  fmt::print("verdict: {}\n", r.passed() ? "PASS" : "FAIL");
}

// Runs the seed twice with every hashed event's text kept, and names the first event where the
// two runs part.
int check_determinism(const SelftestArgs& a, selftest::SelftestOptions o) {
  o.trace.capture = true;
  o.trace.out = nullptr;
  const auto r1 = selftest::run_selftest(o);
  const auto r2 = selftest::run_selftest(o);
  const auto& t1 = r1.captured;
  const auto& t2 = r2.captured;
  print_result(a, r2);
  const auto d = find_divergence(t1, t2);
  if (!d && r1.trace_hash == r2.trace_hash) {
    fmt::print("determinism: 2 runs, {} events each, identical\n", t1.size());
    fmt::print("trace-hash: {:016x}\n", r2.trace_hash);
    return r2.passed() ? 0 : 1;
  }
  if (d) {
    fmt::print("determinism: FAILED: the runs part at event #{} of {} / {}\n", d->index, t1.size(), t2.size());
    if (d->index > 0) fmt::print("  last common event: {}\n", d->last_common);
    fmt::print("  run 1: {}\n  run 2: {}\n", d->first_run, d->second_run);
  } else {
    fmt::print("determinism: FAILED: same events, different hashes (an unhashed difference)\n");
  }
  fmt::print("  reproduce: {} --check-determinism\n", reproduce_command(a));
  fmt::print("trace-hash: {:016x} {:016x}\n", r1.trace_hash, r2.trace_hash);
  return 1;
}

int run_selftest(const SelftestArgs& a) {
  auto o = options_from(a);
  if (a.check_determinism) return check_determinism(a, o);
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> trace_file(nullptr, &std::fclose);
  if (!a.trace_path.empty()) {
    trace_file.reset(std::fopen(a.trace_path.c_str(), "w"));
    if (!trace_file) throw UsageError{fmt::format("--trace: cannot write '{}'", a.trace_path)};
    o.trace.out = trace_file.get();
  }
  const auto r = selftest::run_selftest(o);
  print_result(a, r);
  fmt::print("trace-hash: {:016x}\n", r.trace_hash);
  return r.passed() ? 0 : 1;
}

CLI::App* add_selftest_command(CLI::App& app, SelftestArgs& st) {
  auto* selftest = app.add_subcommand("selftest", "run the built-in replicated-register workload under random faults");
  selftest->add_option("--seed", st.seed, "the seed that decides everything in the run")->required();
  selftest->add_option("--nodes", st.nodes, "number of nodes (1..64)");
  selftest->add_option("--duration", st.duration, "simulated time with faults (e.g. 60s, 5m)");
  selftest->add_option("--quiesce", st.quiesce, "simulated time after every fault is healed");
  selftest->add_flag("--no-faults", st.no_faults, "inject no faults");
  selftest->add_flag("--check-determinism", st.check_determinism,
                     "run the seed twice and name the first event where the runs differ");
  selftest->add_option("--trace", st.trace_path, "write the trace (JSON lines) to this file");
  selftest->add_option("--trace-level", st.trace_level, "debug, info, warn or error (debug adds task runs)");
  return selftest;
}

// Hidden (group ""): the command a sweep starts its worker processes with.
CLI::App* add_sweep_worker_command(CLI::App& app, SweepWorkerArgs& sw) {
  auto* worker_cmd = app.add_subcommand("sweep-worker", "runs the seeds of a sweep it is given on stdin")->group("");
  worker_cmd->add_option("scenario", sw.scenario)->required();
  worker_cmd->add_option("--reports", sw.reports);
  worker_cmd->add_option("--plant-assert-at", sw.plant_assert_at);
  worker_cmd->add_option("--plant-assert-seeds", sw.plant_assert_seeds)->delimiter(',');
  return worker_cmd;
}

CLI::App* add_explore_command(CLI::App& app, ExploreArgs& a) {
  auto* cmd = app.add_subcommand("explore", "spend a budget of runs on seeds and scenario mutations that reach "
                                            "coverage marks not reached yet; compare with a plain sweep");
  cmd->add_option("scenario", a.scenario, "a scenario file, or a name in scenarios/")->required();
  cmd->add_option("--budget", a.budget, "runs (default 100)")->required();
  cmd->add_option("--first-seed", a.first_seed, "run i uses seed first-seed + i (default 1)");
  cmd->add_option("--explore-seed", a.explore_seed, "the seed of the explorer's own choices (default 1)");
  cmd->add_option("--out", a.out, "where the corpus, failing inputs and explore.json go (default reports/<scenario>/explore)");
  cmd->add_option("--reports", a.reports, "the folder the default --out is under");
  cmd->add_option("--baseline", a.baseline, "compare with this sweep results file (sweep --json) instead of running one");
  cmd->add_flag_callback("--no-compare", [&a] { a.compare = false; }, "skip the plain sweep of the same budget");
  return cmd;
}

// The exit code when parsing ends the program (--help: 0; bad arguments: 2); nullopt to go on.
std::optional<int> parse_arguments(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  return std::nullopt;
}

CLI::App* add_run_command(CLI::App& app, RunArgs& ra) {
  auto* run_cmd = app.add_subcommand("run", "run one seed of a scenario and write its report");
  run_cmd->add_option("scenario", ra.scenario, "a scenario file, or a name in scenarios/ (e.g. smoke)")->required();
  run_cmd->add_option("--seed", ra.seed, "the seed that decides everything in the run")->required();
  run_cmd->add_option("--out", ra.out, "the report folder (default reports/<scenario>/<seed>)");
  run_cmd->add_option("--trace-level", ra.trace_level, "debug, info, warn or error: what trace.jsonl gets");
  run_cmd->add_flag("--check-determinism", ra.check_determinism,
                    "run the seed twice and name the first event where the runs differ (writes no report)");
  // Hidden (group ""): for tests and demonstrations of how a failed assertion is reported.
  run_cmd->add_option("--plant-assert-at", ra.plant_assert_at, "a KEEL_ASSERT fails at this simulated time")->group("");
  return run_cmd;
}

CLI::App* add_sweep_command(CLI::App& app, SweepArgs& sa, bool& no_progress) {
  auto* sweep_cmd = app.add_subcommand("sweep", "run a range of seeds in worker processes; a table, a summary, JUnit XML and a results file");
  sweep_cmd->add_option("scenario", sa.scenario, "a scenario file, or a name in scenarios/")->required();
  sweep_cmd->add_option("--seeds", sa.seeds, "seeds A..B, inclusive")->required();
  sweep_cmd->add_option("--jobs", sa.jobs, "worker processes running seeds at once (default: one per core)");
  sweep_cmd->add_option("--shard", sa.shard, "i/N: run only the seeds whose index in A..B is i modulo N (0 <= i < N)");
  sweep_cmd->add_option("--junit", sa.junit, "where the JUnit XML goes (default reports/<scenario>/sweep-A-B.xml)");
  sweep_cmd->add_option("--json", sa.json, "where the results file goes, for merge (default: as --junit, .json)");
  sweep_cmd->add_option("--reports", sa.reports, "the folder failed seeds write their reports under");
  sweep_cmd->add_option("--seed-timeout", sa.seed_timeout,
                        "wall time (e.g. 10m) after which a seed still running is killed and reported TIMEOUT");
  sweep_cmd->add_flag("--no-progress", no_progress, "no progress line on stderr (drawn only on a terminal)");
  sweep_cmd->add_option("--plant-assert-at", sa.plant_assert_at, "a KEEL_ASSERT fails at this simulated time")->group("");
  sweep_cmd->add_option("--plant-assert-seeds", sa.plant_assert_seeds, "the seeds --plant-assert-at applies to")
      ->group("")
      ->delimiter(',');
  return sweep_cmd;
}

CLI::App* add_shrink_command(CLI::App& app, ShrinkArgs& ka) {
  auto* shrink_cmd = app.add_subcommand("shrink", "shrink a failing run to a smaller scenario that fails the same check");
  shrink_cmd->add_option("report", ka.report, "a failing run's report.json")->required();
  shrink_cmd->add_option("--check", ka.check, "the check that must keep failing (default: the report's first violation)");
  shrink_cmd->add_option("--out", ka.out, "the shrunk scenario file (default: shrunk.json beside the report)");
  shrink_cmd->add_option("--max-runs", ka.runs_max, "the budget of runs (default 400)");
  shrink_cmd->add_option("--jobs", ka.jobs, "candidates run at once while faults are removed (default: one per core)");
  return shrink_cmd;
}

CLI::App* add_swarm_command(CLI::App& app, SwarmArgs& wa) {
  auto* swarm_cmd = app.add_subcommand("swarm", "each seed draws its own scenario from a swarm space and runs it");
  swarm_cmd->add_option("space", wa.space, "a swarm space file or a name in scenarios/swarm/ (default: the whole space)");
  swarm_cmd->add_option("--seeds", wa.seeds, "seeds A..B, inclusive")->required();
  swarm_cmd->add_option("--jobs", wa.jobs, "worlds run in parallel, one per thread (default: one per core)");
  swarm_cmd->add_option("--reports", wa.reports, "the folder failed seeds write their reports under");
  swarm_cmd->add_option("--junit", wa.junit, "where the JUnit XML goes (default reports/<space>/swarm-A-B.xml)");
  swarm_cmd->add_flag("--show", wa.show, "print each seed's drawn scenario and run nothing");
  return swarm_cmd;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"keel-sim: Keel's deterministic simulator"};
  app.require_subcommand(1);
  RunArgs ra;
  auto* run_cmd = add_run_command(app, ra);
  SweepArgs sa;
  bool no_progress = false;
  auto* sweep_cmd = add_sweep_command(app, sa, no_progress);
  SweepWorkerArgs sw;
  auto* worker_cmd = add_sweep_worker_command(app, sw);
  MergeArgs ma;
  auto* merge_cmd = app.add_subcommand("merge", "join the results files of a sweep's shards into one summary");
  merge_cmd->add_option("results", ma.files, "the shards' results files (sweep --json)")->required();
  merge_cmd->add_option("--junit", ma.junit, "where the JUnit XML goes (default reports/<scenario>/sweep-A-B.xml)");
  merge_cmd->add_option("--json", ma.json, "where the merged results go (default reports/<scenario>/sweep-A-B.json)");
  merge_cmd->add_option("--reports", ma.reports, "the folder the default paths are under");
  ReplayArgs pa;
  auto* replay_cmd = app.add_subcommand("replay", "rerun the exact run of a report and confirm its trace hash");
  replay_cmd->add_option("report", pa.report, "a report.json")->required();
  replay_cmd->add_option("--trace-level", pa.trace_level, "debug, info, warn or error: what trace.jsonl gets");
  replay_cmd->add_option("--out", pa.out, "where trace.jsonl goes (default: the report's folder)");
  ShrinkArgs ka;
  auto* shrink_cmd = add_shrink_command(app, ka);
  SwarmArgs wa;
  auto* swarm_cmd = add_swarm_command(app, wa);
  std::string list_dir = "scenarios";
  auto* list_cmd = app.add_subcommand("list", "the scenarios in scenarios/, one line each");
  list_cmd->add_option("dir", list_dir, "the folder to list");
  SelftestArgs st;
  auto* selftest = add_selftest_command(app, st);
  ExploreArgs ea;
  auto* explore_cmd = add_explore_command(app, ea);
  bench::BenchOptions bo;
  auto* bench_cmd = app.add_subcommand("bench", "measure the simulator's speed (not a test)");
  bench_cmd->add_flag("--quick", bo.quick, "small sizes, for a smoke run");
  bench_cmd->add_option("--only", bo.only, "sections, comma separated: switch, scheduler, selftest, scenario, groups");
  bench_cmd->add_option("--scenario", bo.scenario, "the scenario section's scenario file");
  bench_cmd->add_option("--scenario-seeds", bo.scenario_seeds, "the scenario section runs seeds 1..N");
  if (const auto exit_code = parse_arguments(app, argc, argv)) return *exit_code;
  sa.progress = !no_progress;
  sa.executable = sweep::self_executable();
  try {
    if (*run_cmd) return run_command(ra, stdout);
    if (*sweep_cmd) return sweep_command(sa, stdout);
    if (*worker_cmd) return sweep_worker_command(sw);
    if (*merge_cmd) return merge_command(ma, stdout);
    if (*replay_cmd) return replay_command(pa, stdout);
    if (*list_cmd) return list_command(list_dir, stdout);
    if (*shrink_cmd) return shrink_command(ka, stdout);
    if (*swarm_cmd) return swarm_command(wa, stdout);
    if (*selftest) return run_selftest(st);
    if (*explore_cmd) return explore_command(ea, stdout);
    if (*bench_cmd) return bench::run_bench(bo, stdout);
  } catch (const UsageError& e) {
    fmt::print(stderr, "keel-sim: {}\n", e.message);
    return 2;
  }
  return 2;
}
