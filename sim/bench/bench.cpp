#include "sim/bench/bench.h"

#include "broker/platform/runtime.h"
#include "sim/node.h"
#include "sim/runner.h"
#include "sim/scenario/scenario.h"
#include "sim/selftest/selftest.h"
#include "sim/world.h"

#include <chrono>
#include <ctime>
#include <deque>
#include <fmt/format.h>
#include <set>
#include <sstream>

namespace keel::sim::bench {

namespace {

// Every rate is per second of CPU time of this thread: on an idle machine that is the wall time,
// and on a loaded one (other builds, other sweeps) it leaves out the time spent waiting for a core.
double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

struct Stopwatch {
  std::chrono::steady_clock::time_point wall0 = std::chrono::steady_clock::now();
  double cpu0 = cpu_seconds();
  double cpu() const { return cpu_seconds() - cpu0; }
  double wall() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count(); }
};

// The baseline: an executor driven by a plain FIFO, two tasks yielding to each other.
class FifoDriver final : public TaskDriver {
 public:
  void task_ready(TaskRef ref) override { ready.push_back(ref); }
  void wake_at(Instant, WaitToken) override { KEEL_UNREACHABLE(); }
  Instant driver_now() const override { return Instant{}; }
  std::deque<TaskRef> ready;
};

double coroutine_resumes_per_second(std::uint64_t n, int tasks = 2) {
  FifoDriver driver;
  Executor ex(driver);
  for (int t = 0; t < tasks; ++t) {
    ex.spawn("yielder", [&ex, n, tasks] {
      for (std::uint64_t i = 0; i < n / static_cast<std::uint64_t>(tasks); ++i) ex.yield();
    });
  }
  const Stopwatch watch;
  std::uint64_t runs = 0;
  while (!driver.ready.empty()) {
    const TaskRef ref = driver.ready.front();
    driver.ready.pop_front();
    runs += ex.run(ref) ? 1 : 0;
  }
  return static_cast<double>(runs) / watch.cpu();
}

// The world's scheduler: `tasks` tasks on one node, each sleeping a random 1..1000 us in a loop;
// every sleep is one timer event and one task run through the (time, tie, seq) queue.
double scheduler_events_per_second(int tasks, Duration simulated) {
  World world(WorldOptions{});
  NodeOptions no;
  no.id = 0;
  SimNode& node = world.add_node(no);
  node.set_main([tasks](Runtime& rt) {
    for (int t = 0; t < tasks; ++t) {
      rt.spawn("sleeper", [&rt] {
        while (true) rt.sleep_for(Duration(rt.random().between(1'000, 1'000'000)));
      });
    }
  });
  node.start();
  const Stopwatch watch;
  world.run_for(simulated);
  return static_cast<double>(world.events_run()) / watch.cpu();
}

void selftest_speed(std::FILE* out, int nodes, Duration duration, double baseline) {
  selftest::SelftestOptions o;
  o.seed = 1;
  o.nodes = nodes;
  o.duration = duration;
  o.quiesce = 5s;
  const Stopwatch watch;
  const auto r = selftest::run_selftest(o);
  const double cpu = watch.cpu();
  const double sim_s = std::chrono::duration<double>(r.simulated).count();
  const double events_per_s = static_cast<double>(r.world_events) / cpu;
  fmt::print(out, "selftest {:>2} nodes: {:8.1f} simulated s per s ({:.0f}s in {:.2f}s cpu), {:.2f}M events/s "
                  "({:.3f} of baseline), {} ops ok, {}\n",
             nodes, sim_s / cpu, sim_s, cpu, events_per_s / 1e6, events_per_s / baseline, r.ops_ok,
             r.passed() ? "pass" : "FAIL");
}

// What keeps the 1,000-task scheduler under its target, from this run's own figures: the bare
// round robin over 1,000 stacks (no clock, no event queue) bounds what the world can do, since each
// event resumes one task; what the world adds per event is the rest.
void print_scheduler_obstacle(std::FILE* out, double bare_1000, double world_1000) {
  const double bare_ns = 1e9 / bare_1000;
  const double world_ns = 1e9 / world_1000;
  fmt::print(out, "  in the way: an event costs {:.0f} ns; switching among 1000 stacks alone costs {:.0f} ns ({:.0f}%), "
                  "the clock and event queue the other {:.0f} ns; 10M events/s allows 100 ns{}\n",
             world_ns, bare_ns, 100 * bare_ns / world_ns, world_ns - bare_ns,
             bare_1000 < 10e6 ? ", which the bare switch alone exceeds on this machine (a resume misses the cache at the "
                                "stack's top; jump_fcontext saves the FPU control words: sim/bench/README.md)"
                              : "");
}

// What keeps a scenario under 1,000 simulated s per s: how many events it makes per simulated
// second fixes the cost per event the target allows; the world's own cost per event (the scheduler
// with 10 tasks) is measured beside it, and the rest is the simulated code itself.
void print_scenario_obstacle(std::FILE* out, double events_per_simulated_s, double events_per_cpu_s, double scheduler_eps) {
  const double event_ns = 1e9 / events_per_cpu_s;
  const double allowed_ns = 1e9 / (1000 * events_per_simulated_s);
  const double world_ns = 1e9 / scheduler_eps;
  fmt::print(out, "  in the way: {:.0f} events per simulated s, so the target allows {:.0f} ns per event; one costs {:.0f} ns, "
                  "of which the scheduler and switch take about {:.0f} ns ({:.0f}%) and the simulated code (broker, "
                  "clients, faults, checks) the rest\n",
             events_per_simulated_s, allowed_ns, event_ns, world_ns, 100 * world_ns / event_ns);
}

// The speed of a whole scenario: seeds 1..N one after another on this thread (one core), each a
// full run (cluster, workload, faults, checks, report), as a sweep with --jobs 1 runs them.
void scenario_speed(std::FILE* out, const BenchOptions& options, double baseline, double scheduler_eps) {
  auto s = scenario::load_scenario(options.scenario);
  if (!s) {
    fmt::print(out, "scenario {}: {}\n", options.scenario, s.error().message);
    return;
  }
  const std::uint64_t seeds = options.quick ? 1 : options.scenario_seeds;
  double simulated = 0;
  std::uint64_t events = 0;
  int failed = 0;
  const Stopwatch watch;
  for (std::uint64_t seed = 1; seed <= seeds; ++seed) {
    RunOptions ro;
    ro.seed = seed;
    auto outcome = run_scenario(*s, ro);
    if (!outcome) {
      fmt::print(out, "scenario {} seed {}: {}\n", s->name, seed, outcome.error().message);
      return;
    }
    simulated += outcome->report.stats.simulated_seconds;
    events += outcome->report.stats.world_events;
    failed += outcome->passed() ? 0 : 1;
  }
  const double cpu = watch.cpu();
  const double rate = simulated / cpu;
  fmt::print(out, "scenario {} (seeds 1..{}, one core): {:.0f} simulated s per s ({:.0f}s in {:.2f}s cpu, {:.2f}s wall), "
                  "{:.2f}M events/s ({:.3f} of baseline), {} failed  [target >= 1000 simulated s per s: {}]\n",
             s->name, seeds, rate, simulated, cpu, watch.wall(), static_cast<double>(events) / cpu / 1e6,
             static_cast<double>(events) / cpu / baseline, failed, rate >= 1000 ? "met" : "NOT met");
  if (rate < 1000 && events > 0 && simulated > 0) print_scenario_obstacle(out, events / simulated, events / cpu, scheduler_eps);
}

std::set<std::string> sections(const std::string& only) {
  std::set<std::string> out;
  std::stringstream in(only);
  for (std::string part; std::getline(in, part, ',');) {
    if (!part.empty()) out.insert(part);
  }
  return out;
}

}  // namespace

int run_bench(const BenchOptions& options, std::FILE* out) {
  const std::set<std::string> only = sections(options.only);
  for (const auto& name : only) {
    if (name != "switch" && name != "scheduler" && name != "selftest" && name != "scenario" && name != "groups") {
      fmt::print(stderr, "keel-sim bench: --only: '{}' is not one of switch, scheduler, selftest, scenario, groups\n", name);
      return 2;
    }
  }
  const auto wanted = [&only](const char* name) { return only.empty() || only.contains(name); };
  const std::uint64_t switches = options.quick ? 200'000 : 4'000'000;
  const double baseline = coroutine_resumes_per_second(switches);
  fmt::print(out, "(rates per second of this thread's CPU time: the wall time on an idle machine)\n");
  fmt::print(out, "coroutine resumes (switch in + out), FIFO driver: {:.2f}M/s  [baseline]\n", baseline / 1e6);
  double scheduler_10 = 0;  // the world's events per second with 10 tasks: its own cost per event
  if (wanted("scheduler")) {
    // The same round robin over 1,000 tasks: what switching among many stacks costs by itself.
    const double many = coroutine_resumes_per_second(switches, 1000);
    fmt::print(out, "coroutine resumes, FIFO driver, 1000 tasks: {:.2f}M/s ({:.3f} of baseline)\n", many / 1e6,
               many / baseline);
    for (int tasks : {10, 1000}) {
      const double eps = scheduler_events_per_second(tasks, options.quick ? 2s : 20s);
      fmt::print(out, "world scheduler, {:>4} sleeping tasks: {:.2f}M events/s ({:.3f} of baseline){}\n", tasks,
                 eps / 1e6, eps / baseline,
                 tasks == 1000 ? fmt::format("  [target >= 10M events/s: {}]", eps >= 10e6 ? "met" : "NOT met") : "");
      if (tasks == 10) scheduler_10 = eps;
      if (tasks == 1000 && eps < 10e6) print_scheduler_obstacle(out, many, eps);
    }
  }
  if (wanted("selftest")) {
    const Duration d = options.quick ? 10s : 60s;
    selftest_speed(out, 3, d, baseline);
    selftest_speed(out, 10, d, baseline);
  }
  if (wanted("scenario")) {
    if (scheduler_10 == 0) scheduler_10 = scheduler_events_per_second(10, 2s);
    scenario_speed(out, options, baseline, scheduler_10);
  }
  if (wanted("groups")) group_bench(options, out);
  return 0;
}

}  // namespace keel::sim::bench
