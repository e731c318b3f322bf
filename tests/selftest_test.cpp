// The selftest workload as a test of the simulated world: determinism over many seeds, variety
// across seeds, the register's safety under random faults, and its checker on crafted histories.
#include "sim/determinism.h"
#include "sim/node.h"
#include "sim/selftest/selftest.h"
#include "sim/world.h"
#include "tests/support/sim_world.h"

#include <catch2/catch.hpp>

#include <set>

using namespace keel;
using namespace keel::sim;
using namespace keel::sim::selftest;

namespace {

SelftestOptions short_run(std::uint64_t seed, Duration duration = 5s) {
  SelftestOptions o;
  o.seed = seed;
  o.nodes = 3;
  o.duration = duration;
  o.quiesce = 3s;
  // Dense faults so that a short run meets every kind.
  o.fault_options.kill_per_min = 12;
  o.fault_options.power_off_per_min = 6;
  o.fault_options.pause_per_min = 6;
  o.fault_options.isolate_per_min = 6;
  o.fault_options.clog_per_min = 6;
  o.fault_options.disk_faults_per_min = 6;
  return o;
}

OpRecord op(bool write, std::int64_t invoke, std::int64_t complete, std::uint64_t ts, std::uint32_t writer,
            std::uint64_t value, bool ok = true) {
  OpRecord r;
  r.is_write = write;
  r.invoke_ns = invoke;
  r.complete_ns = complete;
  r.ok = ok;
  r.v = Versioned{ts, writer, value};
  return r;
}

}  // namespace

TEST_CASE("determinism: the same seed gives the same trace hash, over 50 seeds", "[sim][determinism]") {
  for (std::uint64_t seed = 1; seed <= 50; ++seed) {
    const auto a = run_selftest(short_run(seed, 2s));
    const auto b = run_selftest(short_run(seed, 2s));
    INFO("seed " << seed);
    REQUIRE(a.trace_hash == b.trace_hash);
    REQUIRE(a.world_events == b.world_events);
    REQUIRE(a.ops_ok == b.ops_ok);
  }
}

TEST_CASE("determinism: dropping stale wake-ups from the queue changes nothing but speed", "[sim][determinism]") {
  int seeds_dropping = 0;
  for (std::uint64_t seed : {1, 2, 3}) {
    SelftestOptions o = short_run(seed, 10s);
    o.nodes = 7;  // enough timeouts in flight to trigger the clean-up (4096 queued events) in most runs
    const auto with = run_selftest(o);
    o.drop_stale_wakes = false;
    const auto without = run_selftest(o);
    INFO("seed " << seed);
    CHECK(with.trace_hash == without.trace_hash);
    CHECK(with.world_events <= without.world_events);
    seeds_dropping += with.world_events < without.world_events ? 1 : 0;  // it dropped something
  }
  CHECK(seeds_dropping >= 2);
}

TEST_CASE("determinism: different seeds give different interleavings", "[sim][determinism]") {
  std::set<std::uint64_t> hashes;
  std::set<std::uint64_t> event_counts;
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    const auto r = run_selftest(short_run(seed, 2s));
    hashes.insert(r.trace_hash);
    event_counts.insert(r.world_events);
  }
  CHECK(hashes.size() == 20);
  CHECK(event_counts.size() > 10);  // not just different labels: different amounts of work
}

TEST_CASE("determinism: the first divergent event is named when two runs differ", "[sim][determinism]") {
  // A deliberately nondeterministic workload: a counter that outlives the run changes how long a
  // task sleeps in the second run.
  static int runs = 0;
  auto capture = [](int run) {
    WorldOptions wo = test::world_options(5);
    wo.trace.capture = true;
    World w(wo);
    test::add_running_node(w, [run](Runtime& rt) {
      for (int i = 0; i < 5; ++i) {
        rt.trace("Tick").detail("i", i);
        rt.sleep_for(i == 3 && run == 2 ? 2ms : 1ms);
      }
    });
    w.run_for(1s);
    std::vector<std::string> texts;
    for (std::size_t i = 0; i < w.trace().captured_count(); ++i) texts.emplace_back(w.trace().captured(i));
    return std::make_pair(w.trace().hash(), texts);
  };
  const auto [h1, t1] = capture(++runs);
  const auto [h2, t2] = capture(++runs);
  REQUIRE(h1 != h2);
  const auto d = find_divergence(t1, t2);
  REQUIRE(d.has_value());
  CHECK(d->last_common.find("\"i\":3") != std::string::npos);  // the last Tick both runs agree on
  CHECK(d->first_run != d->second_run);
  CHECK_FALSE(find_divergence(t1, t1).has_value());
}

TEST_CASE("selftest: the register stays linearizable under random faults and serves after quiesce",
          "[sim][selftest]") {
  std::uint64_t faults = 0;
  for (std::uint64_t seed = 100; seed < 110; ++seed) {
    const auto r = run_selftest(short_run(seed, 20s));
    INFO("seed " << seed << ": " << (r.violations.empty() ? "" : r.violations.front()));
    CHECK(r.passed());
    CHECK(r.ops_ok > 50);
    faults += r.faults.total();
  }
  CHECK(faults > 50);
}

TEST_CASE("selftest checker: a read older than a completed write is caught", "[sim][selftest][checker]") {
  std::vector<OpRecord> h = {
      op(true, 0, 10, 1, 0, 100),   // write v100 at ts 1, done at 10
      op(false, 20, 30, 0, 0, 0),   // a read starting at 20 sees the initial value: stale
  };
  const auto v = check_register_history(h);
  REQUIRE(v.size() == 1);
  CHECK(v[0].find("stale read") != std::string::npos);
}

TEST_CASE("selftest checker: a read of a value nobody wrote is caught", "[sim][selftest][checker]") {
  std::vector<OpRecord> h = {op(true, 0, 10, 1, 0, 100), op(false, 20, 30, 1, 0, 999)};
  const auto v = check_register_history(h);
  REQUIRE_FALSE(v.empty());
  CHECK(v[0].find("never written") != std::string::npos);
}

TEST_CASE("selftest checker: two acknowledged writes with one version are caught", "[sim][selftest][checker]") {
  std::vector<OpRecord> h = {op(true, 0, 10, 1, 0, 100), op(true, 5, 15, 1, 0, 101)};
  const auto v = check_register_history(h);
  REQUIRE_FALSE(v.empty());
  CHECK(v[0].find("share a version") != std::string::npos);
}

TEST_CASE("selftest checker: a write that does not supersede an earlier one is caught", "[sim][selftest][checker]") {
  std::vector<OpRecord> h = {op(true, 0, 10, 2, 0, 100), op(true, 20, 30, 1, 1, 101)};
  const auto v = check_register_history(h);
  REQUIRE(v.size() == 1);
  CHECK(v[0].find("stale write") != std::string::npos);
}

TEST_CASE("selftest checker: concurrent operations and failed writes are allowed", "[sim][selftest][checker]") {
  std::vector<OpRecord> h = {
      op(true, 0, 50, 1, 0, 100),            // overlaps the read below
      op(false, 10, 20, 0, 0, 0),            // may see the old value: concurrent
      op(true, 60, 70, 2, 1, 101, false),    // failed: may or may not take effect
      op(false, 80, 90, 2, 1, 101),          // ...and here it did
      op(false, 95, 99, 2, 1, 101),
  };
  CHECK(check_register_history(h).empty());
}

TEST_CASE("durability check: a node that recovers less than it acknowledged is caught", "[sim][selftest][checker]") {
  DurabilityCheck d;
  d.acknowledged(1, 0, Versioned{5, 2, 50});
  d.acknowledged(1, 0, Versioned{4, 0, 40});  // older: the newest acknowledged stays ts 5
  d.acknowledged(2, 0, Versioned{5, 2, 50});
  d.recovered(2, 0, Versioned{6, 0, 60}, 100);  // newer than acknowledged: fine
  CHECK(d.violations().empty());
  d.recovered(1, 0, Versioned{4, 0, 40}, 200);  // lost ts 5
  REQUIRE(d.violations().size() == 1);
  CHECK(d.violations()[0].find("node 1 acknowledged key 0 at ts=5") != std::string::npos);
  d.recovered(1, 0, Versioned{4, 0, 40}, 300);  // the same loss is reported once
  CHECK(d.violations().size() == 1);
}
