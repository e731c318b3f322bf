// keel-sim shrink: delta debugging, the scenario writer it relies on, the conversion of random
// faults that struck into a scripted schedule, and a planted failure among twenty faults.
#include "sim/report/report.h"
#include "sim/runner.h"
#include "sim/scenario/scenario.h"
#include "sim/scenario/scenario_json.h"
#include "sim/shrink/ddmin.h"
#include "sim/shrink/schedule.h"
#include "sim/shrink/shrink.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>

using namespace keel;
using namespace keel::sim;

namespace {

scenario::Scenario parse_or_fail(const std::string& text) {
  auto s = scenario::parse_scenario(text, "test.json");
  INFO((s ? std::string() : s.error().message));
  REQUIRE(s);
  return std::move(*s);
}

// The faults a run's timeline shows, as (seconds from the start rounded to ms, node, kind), with
// random (Fault*) and scripted (Scripted*) events named alike.
std::vector<std::tuple<std::int64_t, int, std::string>> struck(const report::Report& r) {
  const std::int64_t start = r.quiesce_ns - r.duration_ns;
  std::vector<std::tuple<std::int64_t, int, std::string>> out;
  for (const auto& e : r.timeline) {
    std::string kind;
    if (e.name == "FaultKill" || e.name == "Scriptedkill") kind = "kill";
    if (e.name == "FaultPause" || e.name == "Scriptedpause") kind = "pause";
    if (e.name == "FaultClog" || e.name == "Scriptedclog") kind = "clog";
    if (e.name == "FaultClockJump" || e.name == "Scriptedclock_jump") kind = "clock_jump";
    if (!kind.empty()) out.emplace_back((e.at_ns - start) / 1'000'000, e.node, kind);
  }
  return out;
}

// Four brokers, a light workload, and twenty random faults in twenty seconds (seed 6): among them
// exactly one kill of broker-1 and one of broker-3.
const char* twenty_faults = R"({
  "name": "planted",
  "cluster": { "brokers": 4, "controllers": 3 },
  "topics": [ { "name": "events", "partitions": 2, "replication_factor": 2 } ],
  "workload": { "producers": [ { "topic": "events", "rate": 20 } ] },
  "faults": { "random": { "kill": 9, "pause": 20, "clog": 20, "clock_jump": 20,
                          "restart_delay_min": "100ms", "restart_delay_max": "1s",
                          "pause_duration_max": "1s", "clog_duration_max": "1s", "clock_jump_max": "5s" } },
  "duration": "20s",
  "quiescence": { "recover": "2s", "liveness_within": "10s", "final_read_timeout": "10s" }
})";
constexpr std::uint64_t twenty_faults_seed = 6;

bool killed(const report::Report& r, int node) {
  return std::any_of(r.timeline.begin(), r.timeline.end(), [&](const report::TimelineEvent& e) {
    return e.node == node && (e.name == "FaultKill" || e.name == "Scriptedkill");
  });
}

}  // namespace

TEST_CASE("shrink: ddmin finds the two items among twenty that fail only together", "[sim][shrink]") {
  std::size_t tests = 0;
  const auto fails = [&](const std::vector<std::size_t>& s) {
    ++tests;
    return std::count(s.begin(), s.end(), 3) == 1 && std::count(s.begin(), s.end(), 17) == 1;
  };
  CHECK(shrink::ddmin(20, fails, 1000) == std::vector<std::size_t>{3, 17});
  CHECK(tests < 60);
}

TEST_CASE("shrink: ddmin returns nothing when no item is needed, one when one is, and stops at its budget",
          "[sim][shrink]") {
  const auto always = [](const std::vector<std::size_t>&) { return true; };
  CHECK(shrink::ddmin(8, always, 100).empty());
  const auto needs_five = [](const std::vector<std::size_t>& s) { return std::count(s.begin(), s.end(), 5) == 1; };
  CHECK(shrink::ddmin(8, needs_five, 100) == std::vector<std::size_t>{5});
  std::size_t tests = 0;
  const auto counted = [&](const std::vector<std::size_t>& s) {
    ++tests;
    return needs_five(s);
  };
  const auto partial = shrink::ddmin(64, counted, 3);
  CHECK(tests == 3);
  CHECK(std::count(partial.begin(), partial.end(), 5) == 1);  // still a failing set
}

TEST_CASE("shrink: every scenario file survives writing and parsing back unchanged", "[sim][shrink]") {
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(std::filesystem::path(KEEL_SOURCE_DIR) / "scenarios")) {
    if (e.path().extension() != ".json") continue;
    ++files;
    auto s = scenario::load_scenario(e.path().string());
    REQUIRE(s);
    const auto written = scenario::to_json(*s);
    auto again = scenario::parse_scenario(written.dump(), e.path().string());
    INFO(e.path().string() << ": " << (again ? std::string() : again.error().message));
    REQUIRE(again);
    CHECK(scenario::to_json(*again) == written);
    CHECK(again->faults.size() == s->faults.size());
    CHECK(again->random_faults.enabled == s->random_faults.enabled);
  }
  CHECK(files >= 10);
}

TEST_CASE("shrink: durations that are not whole seconds are written exactly", "[sim][shrink]") {
  auto s = parse_or_fail(
      R"({"topics": [{"name": "t"}], "workload": {"producers": [{"topic": "t"}]}, "duration": "20s",
    "faults": {"scripted": [{"at": "12345678901ns", "clock_jump": "broker-0", "by": "-1500ms"}]}})");
  const auto again = parse_or_fail(scenario::to_json(s).dump());
  REQUIRE(again.faults.size() == 1);
  CHECK(again.faults[0].at == Duration(12345678901));
  CHECK(again.faults[0].by == -1500ms);
}

TEST_CASE("shrink: a kill and its restart are one unit; other faults stand alone", "[sim][shrink]") {
  const auto s = parse_or_fail(R"({"cluster": {"brokers": 3}, "topics": [{"name": "t"}],
    "workload": {"producers": [{"topic": "t"}]}, "duration": "60s", "faults": {"scripted": [
      {"at": "10s", "kill": "broker-0"}, {"at": "11s", "pause": "broker-1", "duration": "1s"},
      {"at": "12s", "restart": "broker-0"}, {"at": "20s", "restart": "broker-2"}]}})");
  const auto units = shrink::scripted_units(s.faults);
  REQUIRE(units.size() == 3);
  CHECK(units[0].faults.size() == 2);
  CHECK(shrink::describe(units[0]) == "kill broker-0 at 10.000s, restart broker-0 at 12.000s");
  CHECK(shrink::describe(units[1]) == "pause broker-1 at 11.000s for 1.000s");
  CHECK(shrink::describe(units[2]) == "restart broker-2 at 20.000s");
  CHECK(shrink::flatten(units).size() == 4);
}

TEST_CASE("shrink: the random faults of a report become scripted faults at the same times and places",
          "[sim][shrink]") {
  const auto s = parse_or_fail(
      R"({"cluster": {"brokers": 2}, "topics": [{"name": "t", "partitions": 2}],
    "workload": {"producers": [{"topic": "t"}]}, "duration": "30s", "faults": {"random": {"disk_faults": 1}}})");
  report::Report r;
  r.duration_ns = 30'000'000'000;
  r.quiesce_ns = 31'000'000'000;  // the main phase started at 1 s of world time
  r.timeline = {{6'000'000'000, 1, "FaultKill", {{"restart_in_ns", 2'000'000'000}}},
                {8'000'000'000, 0, "FaultIsolate", {{"duration_ns", 500'000'000}}},
                {9'000'000'000, 0, "FaultOneWay", {{"to", 1}, {"duration_ns", 0}}},
                {10'000'000'000, 1, "FaultReassign", {{"partition", "t-1"}, {"replicas", "[1,0]"}}},
                {11'000'000'000, 0, "FaultDisk", {{"duration_ns", 700'000'000}}},
                {30'500'000'000, 0, "FaultPowerOff", {{"power_on_in_ns", 1'000'000'000}}},
                {31'000'000'000, -1, "FaultHealAll", {}}};
  std::vector<std::string> notes;
  const auto units = shrink::struck_random_faults(r, s, &notes);
  REQUIRE(units.size() == 5);
  CHECK(shrink::describe(units[0]) == "kill broker-1 at 5.000s, restart broker-1 at 7.000s");
  CHECK(shrink::describe(units[1]) == "partition broker-0 | broker-1 at 7.000s for 0.500s");
  CHECK(shrink::describe(units[2]) == "reassign t-1 at 9.000s");
  CHECK(units[2].faults[0].replicas == std::vector<scenario::NodeRef>{{false, 1}, {false, 0}});
  CHECK(units[3].faults[0].error_rate == s.random_faults.options.disk_fault_error_probability);
  // Struck in the last second of the main phase: its power-on comes after the run's end.
  CHECK(shrink::describe(units[4]) == "power_off broker-0 at 29.500s");
  REQUIRE(notes.size() == 1);  // the one-way block that lasted no time
  CHECK(notes[0].find("lasted no time") != std::string::npos);
}

TEST_CASE("shrink: a run's random faults, replayed as a scripted schedule, strike at the same times and places",
          "[sim][shrink]") {
  const auto s = parse_or_fail(twenty_faults);
  const auto random = shrink::run_trial(s, twenty_faults_seed);
  REQUIRE(random.ran);
  scenario::Scenario scripted = s;
  scripted.random_faults = {};
  scripted.faults = shrink::flatten(shrink::struck_random_faults(random.report, s, nullptr));
  const auto replayed = shrink::run_trial(scripted, twenty_faults_seed);
  REQUIRE(replayed.ran);
  const auto a = struck(random.report), b = struck(replayed.report);
  CHECK(a.size() >= 18);
  CHECK(a == b);
}

TEST_CASE("shrink: a failure planted on two kills among twenty faults shrinks to exactly those two", "[sim][shrink]") {
  // The planted check (this test's alone): the run fails when broker-1 and broker-3 were both
  // killed.
  const auto planted = [](const scenario::Scenario& s, std::uint64_t seed) {
    shrink::Trial t = shrink::run_trial(s, seed);
    if (t.ran && killed(t.report, 1) && killed(t.report, 3)) t.failed_checks.insert("planted-two-kills");
    return t;
  };
  const auto s = parse_or_fail(twenty_faults);
  const auto original = planted(s, twenty_faults_seed);
  const auto faults = struck(original.report);
  REQUIRE(faults.size() == 20);
  REQUIRE(std::count_if(faults.begin(), faults.end(), [](const auto& f) { return std::get<2>(f) == "kill"; }) == 2);
  shrink::ShrinkOptions o;
  o.seed = twenty_faults_seed;
  o.check = "planted-two-kills";
  o.run = planted;
  const auto r = shrink::shrink_scenario(s, o);
  REQUIRE(r.reproduced);
  CHECK(r.scripted);
  CHECK(r.faults_before == 20);
  CHECK(r.faults_after == 2);
  const auto units = shrink::scripted_units(r.minimal.faults);
  REQUIRE(units.size() == 2);
  CHECK(units[0].faults[0].kind == scenario::FaultKind::kill);
  CHECK(units[1].faults[0].kind == scenario::FaultKind::kill);
  CHECK(units[0].faults[0].node.broker + units[1].faults[0].node.broker == 4);  // broker-1 and broker-3
  CHECK(units[0].faults[0].node.broker != units[1].faults[0].node.broker);
  CHECK_FALSE(r.minimal.random_faults.enabled);
  CHECK(r.runs < 60);
  // Two candidates at a time: the same result (the first failing candidate in order is kept).
  o.jobs = 2;
  const auto parallel = shrink::shrink_scenario(s, o);
  CHECK(scenario::to_json(parallel.minimal) == scenario::to_json(r.minimal));
  CHECK(parallel.runs >= r.runs);
  // The minimal scenario, written and read back, fails the planted check with the same seed.
  const auto again = parse_or_fail(scenario::to_json(r.minimal).dump());
  CHECK(planted(again, twenty_faults_seed).failed_checks.contains("planted-two-kills"));
}

TEST_CASE("shrink: when the scripted schedule does not fail, the random fault rates are shrunk instead",
          "[sim][shrink]") {
  // A failure only a random kill shows (the injector's FaultKill event): a scripted kill does not.
  const auto random_kill = [](const scenario::Scenario& s, std::uint64_t seed) {
    shrink::Trial t = shrink::run_trial(s, seed);
    const auto& timeline = t.report.timeline;
    if (std::any_of(timeline.begin(), timeline.end(), [](const auto& e) { return e.name == "FaultKill"; }))
      t.failed_checks.insert("planted-random-kill");
    return t;
  };
  const auto s = parse_or_fail(twenty_faults);
  shrink::ShrinkOptions o;
  o.seed = twenty_faults_seed;
  o.check = "planted-random-kill";
  o.run = random_kill;
  const auto r = shrink::shrink_scenario(s, o);
  REQUIRE(r.reproduced);
  CHECK_FALSE(r.scripted);
  REQUIRE_FALSE(r.notes.empty());
  CHECK(r.notes.back().find("rates were shrunk instead") != std::string::npos);
  const auto& rates = r.minimal.random_faults.options;
  CHECK(r.minimal.random_faults.enabled);
  CHECK(rates.kill_per_min > 0);
  CHECK(rates.pause_per_min + rates.clog_per_min + rates.clock_jump_per_min == 0);
  CHECK(r.faults_after < r.faults_before);
}

namespace {

// One broker and two groups with many behaviours; a failure planted on group b's paused member:
// some commit of group b refused after the coordinator had removed its member (a zombie's commit,
// which only a pause past the session timeout makes here).
const char* two_groups = R"({
  "name": "planted-groups",
  "cluster": { "brokers": 1, "config": { "offsets.topic.num.partitions": 1, "offsets.topic.replication.factor": 1,
                                         "group.initial.rebalance.delay.ms": 300 } },
  "topics": [ { "name": "t", "partitions": 4 } ],
  "workload": {
    "producers": [ { "topic": "t", "rate": 20 } ],
    "groups": [
      { "group": "a", "topics": ["t"], "members": 3, "session_timeout": "6s",
        "behaviours": [ { "at": "3s", "member": 1, "action": "crash" }, { "at": "6s", "member": 1, "action": "join" } ] },
      { "group": "b", "topics": ["t"], "members": 4, "session_timeout": "6s", "rebalance_timeout": "8s",
        "behaviours": [ { "at": "2s", "member": 3, "action": "join" }, { "at": "4s", "member": 0, "action": "leave" },
                        { "at": "5s", "member": 2, "action": "pause", "duration": "7s" },
                        { "at": "9s", "member": 0, "action": "join" },
                        { "at": "10s", "member": 1, "action": "slow", "duration": "2s" },
                        { "at": "13s", "member": 3, "action": "restart", "duration": "1s" } ],
        "random": { "per_minute": 6, "actions": ["crash", "slow"], "down": "2s", "duration": "1s" } }
    ]
  },
  "duration": "16s",
  "quiescence": { "recover": "3s", "liveness_within": "10s", "final_read_timeout": "10s" }
})";

bool zombie_commit_refused(const workload::GroupHistory& g) {
  for (const auto& m : g.members) {
    for (const auto& e : m.events) {
      if (e.kind != workload::MemberEvent::Kind::removed) continue;
      for (const auto& c : m.commits) {
        if (c.invoke_ns > e.at_ns && c.outcome != workload::CommitOutcome::ok) return true;
      }
    }
  }
  return false;
}

}  // namespace

TEST_CASE("shrink: a group failure shrinks to the one group, member and behaviour it needs", "[sim][shrink][group]") {
  const auto planted = [](const scenario::Scenario& s, std::uint64_t seed) {
    shrink::Trial t;
    RunOptions o;
    o.seed = seed;
    auto outcome = run_scenario(s, o);
    if (!outcome) {
      t.error = outcome.error().message;
      return t;
    }
    t.ran = true;
    for (const auto& g : outcome->groups) {
      if (g.group_id == "b" && zombie_commit_refused(g)) t.failed_checks.insert("planted-zombie-commit");
    }
    t.report = std::move(outcome->report);
    return t;
  };
  const auto s = parse_or_fail(two_groups);
  shrink::ShrinkOptions o;
  o.seed = 2;
  o.check = "planted-zombie-commit";
  o.run = planted;
  o.jobs = 2;
  const auto r = shrink::shrink_scenario(s, o);
  REQUIRE(r.reproduced);
  REQUIRE(r.minimal.workload.groups.size() == 1);
  const auto& b = r.minimal.workload.groups[0];
  CHECK(b.group_id == "b");
  CHECK(b.members == 1);
  REQUIRE(b.behaviours.size() == 1);
  CHECK(b.behaviours[0].action == scenario::MemberAction::pause);
  CHECK(b.behaviours[0].member == 0);
  CHECK(b.random.per_minute == 0);
  CHECK(r.minimal.duration < s.duration);
  // Written and read back, it still fails the planted check with the same seed.
  CHECK(planted(parse_or_fail(scenario::to_json(r.minimal).dump()), o.seed).failed_checks.contains("planted-zombie-commit"));
}
