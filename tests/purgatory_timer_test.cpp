// The hierarchical timing wheel (SystemTimer) on the simulated clock.
#include "broker/platform/runtime.h"
#include "broker/purgatory/timing_wheel.h"
#include "sim/node.h"
#include "sim/world.h"
#include "tests/support/sim_world.h"

#include <catch2/catch.hpp>

#include <functional>
#include <map>
#include <set>
#include <memory>
#include <vector>

using namespace keel;
using namespace keel::sim;
using namespace keel::purgatory;

namespace {

using keel::test::add_running_node;

// These tests pin the wheel's exact timing (at its delay, at most a tick late), which BUGGIFY
// timer_reaper_late bends on purpose; tests/sim_buggify_test.cpp checks what still holds when the
// reaper runs late.
World make_world(std::uint64_t seed) { return test::make_world(seed, /*buggify=*/false); }

struct Firing {
  int id = 0;
  Instant added{};
  Instant fired{};
  Duration delay{};
};

// Records when it ran.
class Recorder : public TimerTask {
 public:
  Recorder(Runtime& rt, std::vector<Firing>& log, int id, Duration delay)
      : TimerTask(delay), rt_(rt), log_(log), id_(id), added_(rt.now()) {}
  void run() override {
    Firing f;
    f.id = id_;
    f.added = added_;
    f.fired = rt_.now();
    f.delay = delay();
    log_.push_back(f);
  }

 private:
  Runtime& rt_;
  std::vector<Firing>& log_;
  int id_;
  Instant added_;
};

// Runs a function when due.
class Callback : public TimerTask {
 public:
  Callback(Duration delay, std::function<void()> fn) : TimerTask(delay), fn_(std::move(fn)) {}
  void run() override { fn_(); }

 private:
  std::function<void()> fn_;
};

// Every task ran once, at its delay or up to one tick after it, never before.
void check_on_time(const std::vector<Firing>& log, std::size_t expected, Duration tick) {
  REQUIRE(log.size() == expected);
  std::map<int, int> runs;
  for (const auto& f : log) {
    ++runs[f.id];
    const Duration late = (f.fired - f.added) - f.delay;
    INFO("task " << f.id << " delay " << to_ns(f.delay) << " ns ran " << to_ns(late) << " ns late");
    CHECK(late >= Duration::zero());
    CHECK(late <= tick);
  }
  CHECK(runs.size() == expected);
}

}  // namespace

TEST_CASE("timer: tasks run at their delay to the tick, never before, from 1 ns to days across wheel levels", "[server][timer][sim]") {
  World w = make_world(11);
  std::vector<Firing> log;
  std::unique_ptr<SystemTimer> timer;
  int levels_after_adding = 0;
  const std::vector<Duration> delays = {0ns, 1ns, 999us, 1ms, 1500us, 2ms, 19ms, 20ms, 21ms, 399ms, 400ms,
                                        401ms, 7999ms, 8001ms, 1min, 159s, 161s, 59min, 2h, 17h, 30h, 200h};
  add_running_node(w, [&](Runtime& rt) {
    timer = std::make_unique<SystemTimer>(rt);
    rt.spawn("adder", [&] {
      rt.sleep_for(300us);  // off the tick grid: expirations round up
      for (std::size_t i = 0; i < delays.size(); ++i) {
        timer->add(std::make_shared<Recorder>(rt, log, static_cast<int>(i), delays[i]));
      }
      levels_after_adding = timer->wheel_levels();
    });
  });
  w.run_for(201h);
  check_on_time(log, delays.size(), 1ms);
  CHECK(levels_after_adding >= 7);  // 200 h needs the seventh wheel (1 ms x 20^7 = 14.8 days)
  CHECK(timer->size() == 0);
  for (std::size_t i = 1; i < log.size(); ++i) CHECK(log[i - 1].fired <= log[i].fired);
}

TEST_CASE("timer: ten thousand tasks added over time each run once, on time, in order of expiration", "[server][timer][sim]") {
  World w = make_world(12);
  std::vector<Firing> log;
  std::unique_ptr<SystemTimer> timer;
  std::size_t most_pending = 0;
  add_running_node(w, [&](Runtime& rt) {
    timer = std::make_unique<SystemTimer>(rt);
    for (int adder = 0; adder < 4; ++adder) {
      rt.spawn("adder", [&, adder] {
        for (int i = 0; i < 2500; ++i) {
          const auto delay = std::chrono::microseconds(static_cast<std::int64_t>(rt.random().below(20'000'000)));
          timer->add(std::make_shared<Recorder>(rt, log, adder * 2500 + i, delay));
          most_pending = std::max(most_pending, timer->size());
          if (i % 100 == 0) rt.sleep_for(std::chrono::microseconds(static_cast<std::int64_t>(rt.random().below(50'000))));
        }
      });
    }
  });
  w.run_for(30s);
  check_on_time(log, 10000, 1ms);
  CHECK(most_pending > 1000);
  CHECK(timer->size() == 0);
  // Run order follows the expiration: no task runs after one due more than a tick later.
  Instant latest_due{};
  for (const auto& f : log) {
    const Instant due = f.added + f.delay;
    CHECK(latest_due <= due + 1ms);
    latest_due = std::max(latest_due, due);
  }
}

TEST_CASE("timer: a coarser tick still never runs a task early and at most one tick late", "[server][timer][sim]") {
  World w = make_world(13);
  std::vector<Firing> log;
  std::unique_ptr<SystemTimer> timer;
  add_running_node(w, [&](Runtime& rt) {
    timer = std::make_unique<SystemTimer>(rt, 10ms, 8);
    rt.spawn("adder", [&] {
      for (int i = 0; i < 50; ++i) {
        rt.sleep_for(std::chrono::microseconds(static_cast<std::int64_t>(rt.random().below(7000))));
        const auto delay = std::chrono::microseconds(static_cast<std::int64_t>(rt.random().below(3'000'000)));
        timer->add(std::make_shared<Recorder>(rt, log, i, delay));
      }
    });
  });
  w.run_for(10s);
  check_on_time(log, 50, 10ms);
  CHECK(timer->tick() == 10ms);
}

TEST_CASE("timer: cancelled tasks never run, also one cancelled by another due in the same tick", "[server][timer][sim]") {
  World w = make_world(14);
  std::vector<Firing> log;
  std::unique_ptr<SystemTimer> timer;
  std::size_t size_after_cancel = 0;
  bool cancelled_ran = false;
  add_running_node(w, [&](Runtime& rt) {
    timer = std::make_unique<SystemTimer>(rt);
    rt.spawn("adder", [&] {
      std::vector<std::shared_ptr<Recorder>> tasks;
      for (int i = 0; i < 100; ++i) {
        tasks.push_back(std::make_shared<Recorder>(rt, log, i, std::chrono::milliseconds(10 * i + 5)));
        timer->add(tasks.back());
      }
      rt.sleep_for(200ms);  // the first twenty have run by now
      for (int i = 1; i < 100; i += 2) tasks[static_cast<std::size_t>(i)]->cancel();
      tasks[3]->cancel();  // twice is harmless
      size_after_cancel = timer->size();
      // Two due in the same tick: the first cancels the second.
      auto victim = std::make_shared<Callback>(50ms, [&] { cancelled_ran = true; });
      timer->add(std::make_shared<Callback>(50ms, [victim] { victim->cancel(); }));
      timer->add(victim);
      // Cancelled before being added: never runs.
      auto early = std::make_shared<Callback>(1ms, [&] { cancelled_ran = true; });
      early->cancel();
      timer->add(early);
      CHECK_FALSE(early->scheduled());
    });
  });
  w.run_for(5s);
  CHECK_FALSE(cancelled_ran);
  CHECK(size_after_cancel == 40);  // 80 pending at 200 ms, half cancelled
  std::set<int> ran;
  for (const auto& f : log) ran.insert(f.id);
  for (int i = 0; i < 100; ++i) {
    const bool should_run = i < 20 || i % 2 == 0;
    INFO("task " << i);
    CHECK(ran.count(i) == (should_run ? 1u : 0u));
  }
  CHECK(timer->size() == 0);
}

TEST_CASE("timer: the reaper sleeping until a far deadline wakes for a task added with an earlier one", "[server][timer][sim]") {
  World w = make_world(15);
  std::vector<Firing> log;
  std::unique_ptr<SystemTimer> timer;
  Instant start{};
  add_running_node(w, [&](Runtime& rt) {
    timer = std::make_unique<SystemTimer>(rt);
    start = rt.now();
    timer->add(std::make_shared<Recorder>(rt, log, 1, 1h));
    rt.spawn("late adder", [&] {
      rt.sleep_for(10ms);  // the reaper sleeps towards the 1 h task's bucket by now
      timer->add(std::make_shared<Recorder>(rt, log, 2, 5ms));
      rt.sleep_for(100ms);
      timer->add(std::make_shared<Recorder>(rt, log, 3, 0ns));
    });
  });
  w.run_for(2h);
  REQUIRE(log.size() == 3);
  check_on_time(log, 3, 1ms);
  CHECK(log[0].id == 2);
  CHECK(log[0].fired - start <= 16ms);
  CHECK(log[1].id == 3);
  CHECK(log[2].id == 1);
}

TEST_CASE("timer: tasks due in the same tick run in the order they were added", "[server][timer][sim]") {
  World w = make_world(16);
  std::vector<int> order;
  std::unique_ptr<SystemTimer> timer;
  add_running_node(w, [&](Runtime& rt) {
    timer = std::make_unique<SystemTimer>(rt);
    rt.spawn("adder", [&] {
      // Same expiration reached through different wheels: a far one added first, near ones later.
      timer->add(std::make_shared<Callback>(500ms, [&] { order.push_back(0); }));
      rt.sleep_for(490ms);
      for (int i = 1; i <= 5; ++i) timer->add(std::make_shared<Callback>(10ms, [&, i] { order.push_back(i); }));
    });
  });
  w.run_for(1s);
  CHECK(order == std::vector<int>{0, 1, 2, 3, 4, 5});
}

TEST_CASE("timer: a task may add tasks when it runs, also ones due at once", "[server][timer][sim]") {
  World w = make_world(17);
  std::vector<Instant> ran;
  std::unique_ptr<SystemTimer> timer;
  add_running_node(w, [&](Runtime& rt) {
    timer = std::make_unique<SystemTimer>(rt);
    std::function<void(int)> chain = [&](int left) {
      ran.push_back(rt.now());
      if (left > 0) timer->add(std::make_shared<Callback>(left % 2 == 0 ? 0ns : 7ms, [&chain, left] { chain(left - 1); }));
    };
    timer->add(std::make_shared<Callback>(7ms, [&chain] { chain(10); }));
    rt.sleep_for(1s);  // keeps `chain` alive
  });
  w.run_for(2s);
  REQUIRE(ran.size() == 11);
  CHECK(ran.back() - ran.front() >= 35ms);  // five 7 ms hops
  CHECK(ran.back() - ran.front() <= 40ms);
}

TEST_CASE("timer: after shutdown no task runs, new ones are refused and the reaper ends", "[server][timer][sim]") {
  World w = make_world(18);
  std::vector<Firing> log;
  std::unique_ptr<SystemTimer> timer;
  std::size_t tasks_before = 0;
  std::size_t tasks_after = 0;
  add_running_node(w, [&](Runtime& rt) {
    timer = std::make_unique<SystemTimer>(rt);
    for (int i = 0; i < 10; ++i) timer->add(std::make_shared<Recorder>(rt, log, i, std::chrono::milliseconds(100 * (i + 1))));
    rt.spawn("stopper", [&] {
      rt.sleep_for(350ms);
      tasks_before = rt.executor().live_tasks();
      timer->shutdown();
      CHECK(timer->size() == 0);
      timer->add(std::make_shared<Recorder>(rt, log, 99, 1ms));
      CHECK(timer->size() == 0);
      rt.sleep_for(1ms);
      tasks_after = rt.executor().live_tasks();
    });
  });
  w.run_for(3s);
  CHECK(log.size() == 3);
  CHECK(tasks_after + 1 == tasks_before);  // the reaper is gone
}

TEST_CASE("timer: a timer destroyed while its reaper sleeps leaves nothing dangling", "[server][timer][sim]") {
  World w = make_world(19);
  bool ran = false;
  add_running_node(w, [&](Runtime& rt) {
    rt.spawn("owner", [&] {
      auto timer = std::make_unique<SystemTimer>(rt);
      auto task = std::make_shared<Callback>(10ms, [&] { ran = true; });
      timer->add(task);
      rt.sleep_for(1ms);
      timer.reset();
      CHECK_FALSE(task->scheduled());
      task->cancel();  // harmless on a released task
    });
  });
  w.run_for(1s);
  CHECK_FALSE(ran);
}
