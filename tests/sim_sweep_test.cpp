// keel-sim sweep: each seed in a process of its own (a failed assertion is one failed seed),
// sharded sweeps and their merge, the progress line. The end-to-end cases run the built keel-sim
// binary (KEEL_SIM_BINARY) as a child process, as a user or CI would.
#include <catch2/catch.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "sim/runner.h"
#include "sim/scenario/scenario.h"
#include "sim/sweep/processes.h"
#include "sim/sweep/progress.h"
#include "sim/sweep/results.h"
#include "tests/support/temp_dir.h"
#include "tests/support/scenario_run.h"

namespace {

namespace fs = std::filesystem;
using namespace keel;
using namespace keel::sim;

const std::string smoke = test::repo_path("scenarios/smoke.json");

using keel::test::TempDir;

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

struct Ran {
  int exit_code = -1;  // the shell's: 128 + N for a process a signal ended
  std::string out, err;
};

// Runs keel-sim with these arguments; stdout and stderr go to files in `dir`.
Ran keel_sim(const TempDir& dir, const std::string& args) {
  const std::string out = dir / "stdout", err = dir / "stderr";
  const std::string command = fmt::format("'{}' {} >'{}' 2>'{}'", KEEL_SIM_BINARY, args, out, err);
  const int status = std::system(command.c_str());
  REQUIRE(WIFEXITED(status));
  return Ran{WEXITSTATUS(status), read_file(out), read_file(err)};
}

nlohmann::json read_json(const std::string& path) {
  auto j = nlohmann::json::parse(read_file(path), nullptr, false);
  REQUIRE_FALSE(j.is_discarded());
  return j;
}

// seed -> (verdict, trace hash), from a results file.
std::map<std::uint64_t, std::pair<std::string, std::string>> verdicts(const nlohmann::json& results) {
  std::map<std::uint64_t, std::pair<std::string, std::string>> out;
  for (const auto& r : results.at("results")) {
    out[r.at("seed").get<std::uint64_t>()] = {r.at("verdict").get<std::string>(), r.at("trace_hash").get<std::string>()};
  }
  return out;
}

// The first line of `text` that starts with `prefix` (empty if none).
std::string line_starting(const std::string& text, const std::string& prefix) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with(prefix)) return line;
  }
  return "";
}

std::string sweep_args(const TempDir& dir, const std::string& seeds, const std::string& name, const std::string& more) {
  return fmt::format("sweep '{}' --seeds {} --no-progress --reports '{}' --junit '{}' --json '{}' {}", smoke, seeds,
                     dir / "reports", dir / (name + ".xml"), dir / (name + ".json"), more);
}

}  // namespace

TEST_CASE("sweep: a seed that fails an assertion is one failed seed with its message and reproduce command",
          "[sim][sweep][sweep-isolation]") {
  TempDir dir("keel-sweep-test-assert");
  const Ran ran = keel_sim(dir, sweep_args(dir, "1..3", "s", "--jobs 2 --plant-assert-at 10s --plant-assert-seeds 2"));
  INFO(ran.out << ran.err);
  CHECK(ran.exit_code == 1);
  const std::string reproduce = fmt::format("keel-sim run {} --seed 2 --plant-assert-at 10s", smoke);
  CHECK_THAT(ran.out, Catch::Contains("seed 2: crashed: assertion failed: !planted at "));
  CHECK_THAT(ran.out, Catch::Contains("planted by --plant-assert-at 10s; reproduce: " + reproduce + "\n"));
  CHECK_THAT(ran.out, Catch::Contains("\n2 passed, 1 failed\n"));
  CHECK(ran.err.empty());  // no progress line when stderr is not a terminal

  const auto j = read_json(dir / "s.json");
  const auto v = verdicts(j);
  REQUIRE(v.size() == 3);
  CHECK(v.at(1).first == "PASS");
  CHECK(v.at(2).first == "CRASH");
  CHECK(v.at(3).first == "PASS");
  const auto& crashed = j.at("results").at(1);
  CHECK(crashed.at("reproduce") == reproduce);
  // The child's stderr: the assertion, then the context keel-sim's runner set.
  CHECK_THAT(crashed.at("output").get<std::string>(),
             Catch::Contains("while running: scenario smoke seed 2: reproduce with: " + reproduce));
  const std::string xml = read_file(dir / "s.xml");
  CHECK_THAT(xml, Catch::Contains("tests=\"3\" failures=\"1\""));
  CHECK_THAT(xml, Catch::Contains("<testcase name=\"seed 2\""));
  CHECK_THAT(xml, Catch::Contains("message=\"CRASH: assertion failed: !planted"));
  CHECK_THAT(xml, Catch::Contains("reproduce: " + reproduce));
}

TEST_CASE("sweep: the reproduce command of a crashed seed fails the same assertion and names the run",
          "[sim][sweep][sweep-isolation]") {
  TempDir dir("keel-sweep-test-reproduce");
  const Ran ran = keel_sim(dir, fmt::format("run '{}' --seed 2 --plant-assert-at 10s --out '{}'", smoke, dir / "r"));
  CHECK(ran.exit_code == 128 + SIGABRT);
  CHECK_THAT(ran.err, Catch::Contains("assertion failed: !planted at "));
  CHECK_THAT(ran.err, Catch::Contains(fmt::format(
                          "\n  while running: scenario smoke seed 2: reproduce with: keel-sim run {} --seed 2 "
                          "--plant-assert-at 10s\n",
                          smoke)));
}

TEST_CASE("sweep: trace hashes depend neither on --jobs nor on the child processes", "[sim][sweep][sweep-isolation]") {
  TempDir dir("keel-sweep-test-jobs");
  REQUIRE(keel_sim(dir, sweep_args(dir, "1..3", "one", "--jobs 1")).exit_code == 0);
  REQUIRE(keel_sim(dir, sweep_args(dir, "1..3", "three", "--jobs 3")).exit_code == 0);
  const auto one = verdicts(read_json(dir / "one.json"));
  CHECK(one == verdicts(read_json(dir / "three.json")));
  auto s = scenario::load_scenario(smoke);
  REQUIRE(s);
  for (std::uint64_t seed = 1; seed <= 3; ++seed) {
    RunOptions o;
    o.seed = seed;
    auto in_process = run_scenario(*s, o);
    REQUIRE(in_process);
    CHECK(one.at(seed) == std::make_pair(in_process->report.verdict, in_process->report.trace_hash));
  }
}

TEST_CASE("sweep: shards run as separate processes merge into the unsharded sweep, seed for seed",
          "[sim][sweep][sweep-isolation]") {
  TempDir dir("keel-sweep-test-shards");
  const std::string plant = "--jobs 2 --plant-assert-at 5s --plant-assert-seeds 4";
  const Ran whole = keel_sim(dir, sweep_args(dir, "1..5", "whole", plant));
  REQUIRE(whole.exit_code == 1);
  std::vector<std::string> files;
  for (int i = 0; i < 3; ++i) {
    const std::string name = fmt::format("shard-{}", i);
    const Ran shard = keel_sim(dir, sweep_args(dir, "1..5", name, plant + fmt::format(" --shard {}/3", i)));
    CHECK(shard.exit_code == (i == 0 ? 1 : 0));  // seed 4 (index 3) is shard 0's
    files.push_back(dir / (name + ".json"));
  }
  CHECK(verdicts(read_json(files[1])).size() == 2);  // seeds 2 and 5
  const Ran merged = keel_sim(dir, fmt::format("merge '{}' '{}' '{}' --json '{}' --junit '{}'", files[2], files[0],
                                               files[1], dir / "merged.json", dir / "merged.xml"));
  INFO(merged.out << merged.err);
  CHECK(merged.exit_code == 1);
  CHECK_THAT(merged.out, Catch::Contains("merge: 5 seeds of smoke (1..5) from 3 shards"));
  CHECK_THAT(merged.out, Catch::Contains("seed 4: crashed: assertion failed: !planted"));
  CHECK_THAT(merged.out, Catch::Contains(fmt::format("reproduce: keel-sim run {} --seed 4 --plant-assert-at 5s", smoke)));
  CHECK_THAT(merged.out, Catch::Contains("\n4 passed, 1 failed\n"));
  const auto expected = verdicts(read_json(dir / "whole.json"));
  CHECK(expected.size() == 5);
  CHECK(verdicts(read_json(dir / "merged.json")) == expected);
  CHECK_THAT(read_file(dir / "merged.xml"), Catch::Contains("tests=\"5\" failures=\"1\""));
  // The coverage of the marks joins too: the same marks, runs, hits and first seeds as unsharded
  // (the crashed seed's marks are unknown in both).
  const auto whole_coverage = read_json(dir / "whole.json").at("coverage");
  CHECK(whole_coverage.at("runs") == 4);
  CHECK(whole_coverage.at("marks_reached").get<int>() > 0);
  CHECK(read_json(dir / "merged.json").at("coverage") == whole_coverage);
  CHECK(read_json(files[0]).at("coverage") != whole_coverage);  // a shard alone covers less
}

TEST_CASE("sweep: the coverage report says which marks were reached, how often, by which seeds, and which never",
          "[sim][sweep][coverage]") {
  TempDir dir("keel-sweep-test-coverage");
  const Ran ran = keel_sim(dir, sweep_args(dir, "1..2", "cov", "--jobs 1"));
  INFO(ran.out << ran.err);
  REQUIRE(ran.exit_code == 0);
  // smoke kills its one broker at 20s: the restart recovers the logs; one broker never elects uncleanly.
  CHECK_THAT(line_starting(ran.out, "coverage: "), Catch::Matches("coverage: \\d+ of \\d+ marks reached in 2 runs .*"));
  CHECK_THAT(line_starting(ran.out, "  storage.recovery.segment_recovered "),
             Catch::Matches(" +storage.recovery.segment_recovered +sometimes +2 +\\d+  1,2"));
  CHECK_THAT(line_starting(ran.out, "never reached ("), Catch::Matches("never reached \\(\\d+\\):"));
  CHECK_THAT(line_starting(ran.out, "  controller.election.unclean "),
             Catch::Matches(" +controller.election.unclean +sometimes +broker/metadata/control_election.cpp:\\d+"));
  const auto results = read_json(dir / "cov.json");
  const auto& never = results.at("coverage").at("never_reached");
  CHECK(std::find(never.begin(), never.end(), "controller.election.unclean") != never.end());
  CHECK(results.at("results").at(0).at("marks").at("storage.recovery.segment_recovered").get<int>() > 0);
}

TEST_CASE("merge: overlapping or missing shards are refused, naming the shard", "[sim][sweep][sweep-isolation]") {
  TempDir dir("keel-sweep-test-merge-refused");
  // Seeds that fail an assertion at once make cheap shards.
  for (int i = 0; i < 3; ++i) {
    const auto args = sweep_args(dir, "1..3", fmt::format("shard-{}", i), fmt::format("--shard {}/3 --plant-assert-at 0s", i));
    REQUIRE(keel_sim(dir, args).exit_code == 1);
  }
  const auto shard = [&](int i) { return fmt::format("'{}'", dir / fmt::format("shard-{}.json", i)); };
  const Ran overlap = keel_sim(dir, fmt::format("merge {} {} {} {}", shard(0), shard(1), shard(2), shard(1)));
  CHECK(overlap.exit_code == 2);
  CHECK_THAT(overlap.err, Catch::Contains("merge: shards overlap: shard 1/3 is in both"));
  const Ran missing = keel_sim(dir, fmt::format("merge {} {}", shard(0), shard(2)));
  CHECK(missing.exit_code == 2);
  CHECK_THAT(missing.err, Catch::Contains("merge: shard 1/3 is missing"));
  const Ran all = keel_sim(dir, fmt::format("merge {} {} {} --reports '{}'", shard(0), shard(1), shard(2), dir / "r"));
  CHECK(all.exit_code == 1);
  CHECK_THAT(all.out, Catch::Contains("\n0 passed, 3 failed\n"));
}

TEST_CASE("sweep: a worker that dies ends only its task; the tasks after it run in a new worker",
          "[sim][sweep-isolation]") {
  // A worker that answers each line with a result, except "segv" (a crash) and "exit" (exits 7),
  // writing a line of output before each.
  const std::vector<std::string> worker = {
      "/bin/sh", "-c",
      "while read t; do echo \"out $t\"; echo \"err $t\" >&2; case $t in segv) kill -SEGV $$;; exit) exit 7;; esac; "
      "echo \"result $t\" >&3; done"};
  const std::vector<std::string> tasks = {"a", "b", "segv", "c", "exit", "d"};
  std::map<std::size_t, sweep::TaskEnd> ends;
  std::string error;
  REQUIRE(sweep::run_tasks(worker, tasks, {2, 0}, [&](std::size_t i, sweep::TaskEnd e) { ends[i] = std::move(e); }, &error));
  REQUIRE(ends.size() == tasks.size());
  for (std::size_t i : {0, 1, 3, 5}) {
    INFO(tasks[i]);
    CHECK(ends[i].result == "result " + tasks[i]);
    CHECK_FALSE(ends[i].died());
  }
  CHECK(ends[2].died());
  CHECK(ends[2].signal == SIGSEGV);
  CHECK(ends[2].output == "out segv\nerr segv\n");
  CHECK(sweep::describe_exit(ends[2]) == fmt::format("killed by signal {} ({})", SIGSEGV, strsignal(SIGSEGV)));
  CHECK(ends[4].died());
  CHECK(ends[4].signal == 0);
  CHECK(sweep::describe_exit(ends[4]) == "exited with status 7");
}

TEST_CASE("sweep: a worker whose executable cannot run ends its task, saying so", "[sim][sweep-isolation]") {
  std::string error;
  std::size_t reported = 0;
  CHECK(sweep::run_tasks({"/nonexistent/keel-sim"}, {"1"}, {1, 0}, [&](std::size_t, sweep::TaskEnd e) {
    ++reported;
    CHECK(e.died());
    CHECK(e.exit_code == 127);
    CHECK_THAT(e.output, Catch::Contains("cannot execute the worker process"));
  }, &error));
  CHECK(reported == 1);
}

TEST_CASE("sweep: a worker whose task runs past the time limit is killed and the task reported timed out",
          "[sim][sweep-isolation]") {
  // "hang" never ends by itself; the tasks after it run in a new worker.
  const std::vector<std::string> worker = {
      "/bin/sh", "-c", "while read t; do echo \"started $t\"; [ $t = hang ] && exec sleep 600; echo \"result $t\" >&3; done"};
  std::map<std::size_t, sweep::TaskEnd> ends;
  std::string error;
  REQUIRE(sweep::run_tasks(worker, {"a", "hang", "b"}, {1, 0.3}, [&](std::size_t i, sweep::TaskEnd e) {
    ends[i] = std::move(e);
  }, &error));
  REQUIRE(ends.size() == 3);
  CHECK(ends[0].result == "result a");
  CHECK(ends[2].result == "result b");
  CHECK(ends[1].died());
  CHECK(ends[1].timed_out);
  CHECK(ends[1].signal == SIGKILL);
  CHECK(ends[1].wall_seconds >= 0.3);
  CHECK(ends[1].output == "started hang\n");
  CHECK_THAT(sweep::describe_exit(ends[1]), Catch::StartsWith("timed out after "));
}

TEST_CASE("sweep: --shard i/N splits a range so each seed is in exactly one shard", "[sim][sweep-isolation]") {
  auto s = sweep::parse_shard("1/3");
  REQUIRE(s);
  CHECK(s->index == 1);
  CHECK(s->count == 3);
  for (const char* bad : {"3/3", "0/0", "1", "a/3", "1/b", "-1/3", "1/3x", "/3", "1/"}) {
    INFO(bad);
    auto r = sweep::parse_shard(bad);
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Catch::Contains(fmt::format("--shard: '{}' is not i/N", bad)));
  }
  std::map<std::uint64_t, int> holders;
  for (std::uint64_t i = 0; i < 4; ++i) {
    for (std::uint64_t seed = 10; seed <= 30; ++seed) holders[seed] += sweep::Shard{i, 4}.contains(10, seed) ? 1 : 0;
  }
  for (const auto& [seed, n] : holders) CHECK(n == 1);
}

TEST_CASE("merge: a seed outside its shard or a shard of another sweep is refused", "[sim][sweep-isolation]") {
  const auto shard = [](std::uint64_t index, std::vector<std::uint64_t> seeds) {
    sweep::SweepResults r;
    r.scenario = "smoke";
    r.scenario_path = "scenarios/smoke.json";
    r.first = 1;
    r.last = 4;
    r.shard = {index, 2};
    for (auto seed : seeds) {
      sweep::SeedResult passed;
      passed.seed = seed;
      passed.verdict = "PASS";
      r.seeds.push_back(passed);
    }
    return r;
  };
  const std::vector<std::string> names = {"a.json", "b.json"};
  auto ok = sweep::merge_shards({shard(0, {1, 3}), shard(1, {2, 4})}, names);
  REQUIRE(ok);
  CHECK(ok->seeds.size() == 4);
  CHECK(ok->shard.whole());
  auto outside = sweep::merge_shards({shard(0, {1, 2}), shard(1, {2, 4})}, names);
  REQUIRE_FALSE(outside);
  CHECK(outside.error().message == "a.json: seed 2 is not in shard 0/2 of 1..4");
  auto short_one = sweep::merge_shards({shard(0, {1}), shard(1, {2, 4})}, names);
  REQUIRE_FALSE(short_one);
  CHECK(short_one.error().message == "a.json: shard 0/2 holds 1 results, its share of 1..4 is 2 seeds");
  auto other = shard(1, {2, 4});
  other.last = 5;
  auto mismatch = sweep::merge_shards({shard(0, {1, 3}), other}, names);
  REQUIRE_FALSE(mismatch);
  CHECK(mismatch.error().message == "a.json holds seeds 1..4, b.json seeds 1..5");
}

TEST_CASE("sweep: the progress line shows seeds done, failures, the rate and the time left", "[sim][sweep-isolation]") {
  CHECK(sweep::progress_line(0, 40, 0, 0) == "[..............................] 0/40 seeds, 0 failed");
  CHECK(sweep::progress_line(10, 40, 1, 4.0) ==
        "[#######.......................] 10/40 seeds, 1 failed, 2.5 seeds/s, 12s left");
  CHECK(sweep::progress_line(10, 1000, 0, 5.0) ==
        "[..............................] 10/1000 seeds, 0 failed, 2.0 seeds/s, 8m15s left");
  CHECK(sweep::progress_line(40, 40, 2, 8.0) == "[##############################] 40/40 seeds, 2 failed, 5.0 seeds/s");
  // Not a terminal: nothing is drawn, whatever happens.
  std::FILE* file = std::tmpfile();
  REQUIRE(file != nullptr);
  {
    sweep::Progress progress(file, 2, true);
    CHECK_FALSE(progress.drawing());
    progress.seed_done(true);
    progress.seed_done(false);
    progress.finish();
  }
  CHECK(std::ftell(file) == 0);
  std::fclose(file);
}
