#include "sim/bench/bench.h"

#include "broker/platform/runtime.h"
#include "sim/node.h"
#include "sim/selftest/selftest.h"
#include "sim/world.h"

#include <chrono>
#include <deque>
#include <fmt/format.h>

namespace keel::sim::bench {

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// The baseline: an executor driven by a plain FIFO, two tasks yielding to each other.
class FifoDriver final : public TaskDriver {
 public:
  void task_ready(TaskRef ref) override { ready.push_back(ref); }
  void wake_at(Instant, WaitToken) override { KEEL_UNREACHABLE(); }
  Instant driver_now() const override { return Instant{}; }
  std::deque<TaskRef> ready;
};

double coroutine_resumes_per_second(std::uint64_t n) {
  FifoDriver driver;
  Executor ex(driver);
  for (int t = 0; t < 2; ++t) {
    ex.spawn("yielder", [&ex, n] {
      for (std::uint64_t i = 0; i < n / 2; ++i) ex.yield();
    });
  }
  const auto t0 = std::chrono::steady_clock::now();
  std::uint64_t runs = 0;
  while (!driver.ready.empty()) {
    const TaskRef ref = driver.ready.front();
    driver.ready.pop_front();
    runs += ex.run(ref) ? 1 : 0;
  }
  return static_cast<double>(runs) / seconds_since(t0);
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
  const auto t0 = std::chrono::steady_clock::now();
  world.run_for(simulated);
  return static_cast<double>(world.events_run()) / seconds_since(t0);
}

void selftest_speed(std::FILE* out, int nodes, Duration duration, double baseline) {
  selftest::SelftestOptions o;
  o.seed = 1;
  o.nodes = nodes;
  o.duration = duration;
  o.quiesce = 5s;
  const auto r = selftest::run_selftest(o);
  const double sim_s = std::chrono::duration<double>(r.simulated).count();
  const double events_per_s = static_cast<double>(r.world_events) / r.wall_seconds;
  fmt::print(out, "selftest {:>2} nodes: {:8.1f} simulated s per wall s ({:.0f}s in {:.2f}s wall), {:.2f}M events/s "
                  "({:.3f} of baseline), {} ops ok, {}\n",
             nodes, sim_s / r.wall_seconds, sim_s, r.wall_seconds, events_per_s / 1e6, events_per_s / baseline,
             r.ops_ok, r.passed() ? "pass" : "FAIL");
}

}  // namespace

void world_bench(const BenchOptions& options, std::FILE* out);

int run_bench(const BenchOptions& options, std::FILE* out) {
  if (!options.only.empty() && options.only != "world" && options.only != "groups") {
    fmt::print(stderr, "keel-sim bench: --only {}: no such section (world, groups)\n", options.only);
    return 2;
  }
  if (options.only.empty() || options.only == "world") world_bench(options, out);
  if (options.only.empty() || options.only == "groups") group_bench(options, out);
  return 0;
}

void world_bench(const BenchOptions& options, std::FILE* out) {
  const std::uint64_t switches = options.quick ? 200'000 : 4'000'000;
  const double baseline = coroutine_resumes_per_second(switches);
  fmt::print(out, "coroutine resumes (switch in + out), FIFO driver: {:.2f}M/s  [baseline]\n", baseline / 1e6);
  for (int tasks : {10, 1000}) {
    const double eps = scheduler_events_per_second(tasks, options.quick ? 2s : 20s);
    fmt::print(out, "world scheduler, {:>4} sleeping tasks: {:.2f}M events/s ({:.3f} of baseline)\n", tasks,
               eps / 1e6, eps / baseline);
  }
  const Duration d = options.quick ? 10s : 60s;
  selftest_speed(out, 3, d, baseline);
  selftest_speed(out, 10, d, baseline);
}

}  // namespace keel::sim::bench
