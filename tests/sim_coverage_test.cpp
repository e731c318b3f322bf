// Coverage of the interesting: KEEL_SOMETIMES / KEEL_ALWAYS marks (broker/base/coverage.h), the
// coverage a run and a sweep report (sim/coverage/marks.h), and coverage-guided exploration
// (sim/coverage/explore.h).
#include <catch2/catch.hpp>

#include <fmt/format.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <string>

#include "broker/base/coverage.h"
#include "sim/coverage/explore.h"
#include "sim/coverage/marks.h"
#include "sim/scenario/scenario.h"
#include "tests/support/scenario_run.h"

namespace {

using namespace keel::sim;  // coverage:: is keel::sim::coverage here

// Marks of this file's own, so the tests know exactly when they are reached.
void reach_sometimes(int times) {
  for (int i = 0; i < times; ++i) KEEL_SOMETIMES("test.coverage.sometimes");
}
void check_always(bool holds) { KEEL_ALWAYS(holds, "test.coverage.always"); }
[[maybe_unused]] void never_called() { KEEL_SOMETIMES("test.coverage.never_reached"); }

const coverage::MarkInfo* find_mark(const std::vector<coverage::MarkInfo>& catalogue, const std::string& name) {
  auto it = std::find_if(catalogue.begin(), catalogue.end(), [&](const auto& m) { return m.name == name; });
  return it == catalogue.end() ? nullptr : &*it;
}

scenario::Scenario parse(const std::string& text) {
  auto s = scenario::parse_scenario(text, "test.json");
  REQUIRE(s);
  return *s;
}

// One broker, a producer and a consumer, and no fault: nothing ever recovers a log.
const char* quiet_broker = R"({
  "name": "quiet-broker",
  "cluster": { "brokers": 1, "buggify": false },
  "topics": [ { "name": "events", "partitions": 2 } ],
  "workload": {
    "producers": [ { "topic": "events", "rate": 50, "acks": "all" } ],
    "consumers": [ { "topics": ["events"], "assignment": "all" } ]
  },
  "duration": "15s",
  "quiescence": { "recover": "2s", "final_read_timeout": "20s", "liveness_within": "10s" }
})";

}  // namespace

TEST_CASE("coverage: every mark of the binary is in the catalogue before main, reached or not", "[sim][coverage]") {
  const auto catalogue = coverage::binary_catalogue();
  const auto* never = find_mark(catalogue, "test.coverage.never_reached");
  REQUIRE(never != nullptr);
  CHECK(never->kind == "sometimes");
  REQUIRE(never->where.size() == 1);
  CHECK_THAT(never->where[0], Catch::StartsWith("tests/sim_coverage_test.cpp:"));
  const auto* always = find_mark(catalogue, "test.coverage.always");
  REQUIRE(always != nullptr);
  CHECK(always->kind == "always");
  // The broker's own marks, with the place they are at.
  const auto* unclean = find_mark(catalogue, "controller.election.unclean");
  REQUIRE(unclean != nullptr);
  CHECK_THAT(unclean->where.at(0), Catch::StartsWith("broker/metadata/control_election.cpp:"));
  CHECK(find_mark(catalogue, "raft.election.split_vote") != nullptr);
  CHECK(std::is_sorted(catalogue.begin(), catalogue.end(), [](const auto& a, const auto& b) { return a.name < b.name; }));
}

TEST_CASE("coverage: marks count only while a recorder is installed on the thread, by name", "[sim][coverage]") {
  reach_sometimes(3);  // no recorder: nothing counts, nothing breaks
  coverage::Counts counted;
  {
    const coverage::RunMarks marks;
    reach_sometimes(2);
    check_always(true);
    check_always(true);
    counted = marks.counts();
  }
  CHECK(counted == coverage::Counts{{"test.coverage.always", 2}, {"test.coverage.sometimes", 2}});
  const coverage::RunMarks after;
  reach_sometimes(1);
  CHECK(after.counts() == coverage::Counts{{"test.coverage.sometimes", 1}});
}

TEST_CASE("coverage: a report counts runs, hits and the first seeds, and lists the marks never reached",
          "[sim][coverage]") {
  const std::vector<coverage::MarkInfo> catalogue = {{"a", "sometimes", {"x.cpp:1"}}, {"b", "always", {"x.cpp:2"}},
                                                     {"c", "sometimes", {"x.cpp:3"}}};
  const coverage::Counts one = {{"a", 2}}, two = {{"a", 1}, {"b", 5}};
  const auto r = coverage::coverage_of(catalogue, {{7, &one}, {9, nullptr}, {11, &two}, {12, &one}});
  CHECK(r.runs == 3);  // seed 9's marks are unknown (it crashed)
  CHECK(r.reached() == 2);
  REQUIRE(r.marks.size() == 3);
  CHECK(r.marks[0].runs == 3);
  CHECK(r.marks[0].hits == 5);
  CHECK(r.marks[0].first_seeds == std::vector<std::uint64_t>{7, 11, 12});
  CHECK(r.marks[1].first_seeds == std::vector<std::uint64_t>{11});
  const auto never = r.never_reached();
  REQUIRE(never.size() == 1);
  CHECK(never[0]->info.name == "c");
  const auto j = coverage::to_json(r);
  CHECK(j.at("never_reached") == nlohmann::json::array({"c"}));
  auto back = coverage::catalogue_from_json(j);
  REQUIRE(back);
  CHECK(back->size() == 3);
  CHECK(back->at(2).where == std::vector<std::string>{"x.cpp:3"});
}

TEST_CASE("coverage: a failing KEEL_ALWAYS stops the process as an assertion does, naming the run",
          "[sim][coverage]") {
  int err[2];
  REQUIRE(pipe(err) == 0);
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    std::signal(SIGABRT, SIG_DFL);  // Catch2's handler would report the abort as this test's failure
    dup2(err[1], 2);
    keel::set_assert_context("scenario test seed 3: reproduce with: keel-sim run test --seed 3");
    check_always(false);
    _exit(0);  // not reached
  }
  close(err[1]);
  std::string text;
  char buf[512];
  for (ssize_t n; (n = read(err[0], buf, sizeof buf)) > 0;) text.append(buf, static_cast<std::size_t>(n));
  close(err[0]);
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  CHECK(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGABRT);
  CHECK_THAT(text, Catch::Contains("assertion failed: holds at"));
  CHECK_THAT(text, Catch::Contains("KEEL_ALWAYS test.coverage.always failed"));
  CHECK_THAT(text, Catch::Contains("while running: scenario test seed 3: reproduce with: keel-sim run test --seed 3"));
}

TEST_CASE("coverage: the same seed reaches the same marks the same number of times", "[sim][coverage]") {
  const auto s = parse(quiet_broker);
  const auto a = keel::test::run_seed(s, 5).report.marks;
  const auto b = keel::test::run_seed(s, 5).report.marks;
  CHECK_FALSE(a.empty());
  CHECK(a == b);
  CHECK(a.contains("partition.leader.from_follower") == false);  // one broker: it never follows
}

TEST_CASE("explore: reaches at least the marks of a plain sweep of the same budget, and one it misses",
          "[sim][coverage][explore]") {
  const auto s = parse(quiet_broker);
  constexpr std::uint64_t budget = 10;
  std::vector<coverage::Counts> plain_counts;
  for (std::uint64_t seed = 1; seed <= budget; ++seed) plain_counts.push_back(keel::test::run_seed(s, seed).report.marks);
  std::vector<coverage::SeedMarks> plain_runs;
  for (std::uint64_t i = 0; i < budget; ++i) plain_runs.push_back({i + 1, &plain_counts[i]});
  const auto plain = coverage::coverage_of(coverage::binary_catalogue(), plain_runs);

  coverage::ExploreOptions o;
  o.budget = budget;
  const auto explored = coverage::explore(s, o);
  INFO("plain " << plain.reached() << ", explored " << explored.coverage.reached());
  CHECK(explored.failures.empty());
  CHECK(explored.coverage.runs == budget);
  CHECK(explored.coverage.reached() >= plain.reached());
  // No fault in the scenario: no log is ever recovered. A mutation that turns on kills gets there.
  const auto reached = [](const coverage::CoverageReport& r, const std::string& name) {
    return std::any_of(r.marks.begin(), r.marks.end(), [&](const auto& m) { return m.info.name == name && m.runs > 0; });
  };
  CHECK_FALSE(reached(plain, "storage.recovery.segment_recovered"));
  CHECK(reached(explored.coverage, "storage.recovery.segment_recovered"));
  REQUIRE_FALSE(explored.corpus.empty());
  CHECK(explored.corpus[0].parent == -1);  // the scenario as given finds the first marks
  // The same options give the same corpus.
  const auto again = coverage::explore(s, o);
  REQUIRE(again.corpus.size() == explored.corpus.size());
  for (std::size_t i = 0; i < again.corpus.size(); ++i) CHECK(again.corpus[i].mutations == explored.corpus[i].mutations);
}
