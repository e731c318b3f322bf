// Tasks and their primitives, driven by the simulated world.
#include "broker/platform/runtime.h"
#include "sim/node.h"
#include "sim/world.h"
#include "tests/support/sim_world.h"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace keel;
using namespace keel::sim;

namespace {

using keel::test::make_world;
using keel::test::add_running_node;

struct Flag {
  bool* set;
  ~Flag() { *set = true; }
};

}  // namespace

TEST_CASE("tasks: sleepers wake in deadline order at their simulated times", "[sim][task]") {
  World w = make_world(1);
  std::vector<std::pair<int, std::int64_t>> woke;
  add_running_node(w, [&](Runtime& rt) {
    for (int ms : {30, 10, 20}) {
      rt.spawn("sleeper", [&rt, &woke, ms] {
        const Instant start = rt.now();
        rt.sleep_for(std::chrono::milliseconds(ms));
        woke.emplace_back(ms, to_ms(rt.now() - start));
      });
    }
  });
  w.run_for(1s);
  REQUIRE(woke.size() == 3);
  CHECK(woke[0].first == 10);
  CHECK(woke[1].first == 20);
  CHECK(woke[2].first == 30);
  for (auto [ms, elapsed] : woke) CHECK(elapsed >= ms);
}

TEST_CASE("tasks: an idle simulated hour takes well under a second of wall time", "[sim][task]") {
  World w = make_world(2);
  int ticks = 0;
  add_running_node(w, [&](Runtime& rt) {
    rt.spawn("ticker", [&rt, &ticks] {
      while (true) {
        rt.sleep_for(1min);
        ++ticks;
      }
    });
  });
  const auto t0 = std::chrono::steady_clock::now();
  w.run_for(1h + 1s);  // the node's clock may run up to 100 ppm slow
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  CHECK(ticks == 60);
  CHECK(w.now() == Instant(1h + 1s));
  CHECK(wall < 0.5);
}

TEST_CASE("tasks: event wakes every waiter; wait with a deadline times out", "[sim][task]") {
  World w = make_world(3);
  Event ev;
  int woken = 0;
  bool timed_out = false;
  add_running_node(w, [&](Runtime& rt) {
    for (int i = 0; i < 3; ++i) rt.spawn("waiter", [&] { woken += ev.wait() ? 1 : 0; });
    rt.spawn("impatient", [&] { timed_out = !ev.wait(rt.now() + 5ms); });
    rt.spawn("setter", [&] {
      rt.sleep_for(10ms);
      ev.set();
    });
  });
  w.run_for(1s);
  CHECK(woken == 3);
  CHECK(timed_out);
}

TEST_CASE("tasks: mutex keeps two multi-step sections from interleaving", "[sim][task]") {
  World w = make_world(4);
  Mutex mu;
  std::string log;
  add_running_node(w, [&](Runtime& rt) {
    for (char c : {'a', 'b', 'c'}) {
      rt.spawn("writer", [&, c] {
        for (int round = 0; round < 3; ++round) {
          Mutex::Guard g(mu);
          log += c;
          rt.sleep_for(1ms);
          log += c;
        }
      });
    }
  });
  w.run_for(1s);
  REQUIRE(log.size() == 18);
  for (std::size_t i = 0; i < log.size(); i += 2) CHECK(log[i] == log[i + 1]);
}

TEST_CASE("tasks: channel delivers in order, applies backpressure and ends on close", "[sim][task]") {
  World w = make_world(5);
  Channel<int> ch(2);
  std::vector<int> got;
  std::size_t max_size = 0;
  add_running_node(w, [&](Runtime& rt) {
    rt.spawn("producer", [&] {
      for (int i = 0; i < 10; ++i) {
        REQUIRE(ch.send(i).ok());
        max_size = std::max(max_size, ch.size());
      }
      ch.close();
    });
    rt.spawn("consumer", [&] {
      while (auto v = ch.recv()) {
        got.push_back(*v);
        rt.sleep_for(1ms);
      }
    });
  });
  w.run_for(1s);
  CHECK(got == std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  CHECK(max_size <= 2);
  CHECK(ch.send(1).code() == Errc::closed);
}

TEST_CASE("tasks: wait group returns when all work is done", "[sim][task]") {
  World w = make_world(6);
  WaitGroup wg;
  std::int64_t done_at_ms = -1;
  add_running_node(w, [&](Runtime& rt) {
    for (int ms : {5, 15, 10}) {
      wg.add();
      rt.spawn("worker", [&, ms] {
        rt.sleep_for(std::chrono::milliseconds(ms));
        wg.done();
      });
    }
    const Instant start = rt.now();
    wg.wait();
    done_at_ms = to_ms(rt.now() - start);
  });
  w.run_for(1s);
  CHECK(done_at_ms >= 15);
  CHECK(done_at_ms < 20);
}

TEST_CASE("tasks: a killed node's coroutines unwind and run their destructors", "[sim][task]") {
  World w = make_world(7);
  bool sleeper_unwound = false, waiter_unwound = false, reached_end = false;
  Event never;
  auto shared = std::make_shared<int>(42);
  std::weak_ptr<int> watch = shared;
  SimNode& n = add_running_node(w, [&, shared](Runtime& rt) mutable {
    rt.spawn("sleeper", [&, s = shared] {
      Flag f{&sleeper_unwound};
      rt.sleep_for(1h);
      reached_end = true;
    });
    rt.spawn("waiter", [&] {
      Flag f{&waiter_unwound};
      never.wait();
      reached_end = true;
    });
    shared.reset();
  });
  shared.reset();
  w.run_for(1s);
  REQUIRE(n.runtime()->executor().live_tasks() == 2);
  CHECK_FALSE(watch.expired());  // the sleeper's closure holds it
  n.kill();
  CHECK(sleeper_unwound);
  CHECK(waiter_unwound);
  CHECK_FALSE(reached_end);
  CHECK(watch.expired());  // nothing the tasks owned leaked
  CHECK(n.runtime() == nullptr);
  w.run_for(2h);  // stale timers of the dead process do nothing
  CHECK_FALSE(reached_end);
}

TEST_CASE("tasks: a notification given to a waiter that is cancelled passes to the next", "[sim][task]") {
  World w = make_world(8);
  WaitQueue q;
  bool second_woke = false;
  TaskRef first;
  add_running_node(w, [&](Runtime& rt) {
    first = rt.spawn("first", [&] { q.wait(); });
    rt.spawn("second", [&] { second_woke = q.wait(); });
    rt.spawn("notifier", [&] {
      rt.sleep_for(1ms);
      q.notify_one();                // goes to `first`...
      rt.executor().cancel(first);   // ...which dies before it runs
    });
  });
  w.run_for(1s);
  CHECK(second_woke);
}

TEST_CASE("tasks: a paused node runs nothing until the pause ends", "[sim][task]") {
  World w = make_world(9);
  std::vector<std::int64_t> ticks;
  SimNode& n = add_running_node(w, [&](Runtime& rt) {
    rt.spawn("ticker", [&] {
      while (true) {
        rt.sleep_for(10ms);
        ticks.push_back(to_ms(w.now().time_since_epoch()));
      }
    });
  });
  w.run_for(55ms);
  const auto before = ticks.size();
  n.pause(100ms);
  w.run_for(99ms);
  CHECK(ticks.size() == before);
  w.run_for(30ms);
  CHECK(ticks.size() > before);
}

TEST_CASE("clock: node clocks drift and wall clocks jump while monotonic time never goes back", "[sim][task]") {
  World w = make_world(10);
  test::add_nodes(w, 3);
  w.run_for(1h);
  const Instant a = w.node(0).clock().local(w.now());
  const Instant b = w.node(1).clock().local(w.now());
  CHECK(a != b);  // different offsets and drift
  const WallTime before = w.node(2).clock().wall(w.now());
  w.node(2).clock().jump_wall(-30s);
  CHECK(w.node(2).clock().wall(w.now()) < before);
  const Instant mono = w.node(2).clock().local(w.now());
  w.node(2).clock().set_drift(w.now(), 5e-4);
  CHECK(w.node(2).clock().local(w.now()) == mono);
  // world_at inverts local: the first world instant at which the node's clock reads `t`.
  const Instant t = mono + 1s;
  const Instant wt = w.node(2).clock().world_at(t);
  CHECK(w.node(2).clock().local(wt) >= t);
  CHECK(w.node(2).clock().local(wt - 1ns) < t);
}

TEST_CASE("buggify: a site is on or off per seed, and an enabled site fires only sometimes", "[sim][task]") {
  int enabled_seeds = 0;
  for (std::uint64_t seed = 1; seed <= 64; ++seed) {
    World w = make_world(seed);
    const bool on = w.buggify_enabled("short_read");
    CHECK(on == make_world(seed).buggify_enabled("short_read"));  // a pure function of (seed, site)
    if (!on) continue;
    ++enabled_seeds;
    int fired = 0;
    // Enough evaluations that even the lowest rate (0.01) fires: 0.99^3000 ~ 1e-13.
    add_running_node(w, [&](Runtime& rt) {
      for (int i = 0; i < 3000; ++i) fired += KEEL_BUGGIFY(rt, "short_read") ? 1 : 0;
    });
    w.run_for(1s);
    CHECK(fired > 0);
    CHECK(fired < 3000);
  }
  CHECK(enabled_seeds > 4);   // about a quarter of the seeds
  CHECK(enabled_seeds < 40);
}
