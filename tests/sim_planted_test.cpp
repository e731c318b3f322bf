// Swarm runs against plain sweeps on planted bugs (issue 13): how many seeds, and how much wall
// time, until the first run whose checks catch the bug. A measurement, not part of the default
// run: `build/keel-tests "[planted]"` (the hidden tag keeps it out of `make test`).
//
// The bugs are planted in the checkers' input, in this file only: after a run, the history
// forgets every record a planted "broker defect" would have lost (its value is gone from every
// read), and the checks run again. Each defect strikes under its own conditions, read from the
// run's timeline, so which configurations can catch it differs from one to the next:
//   ack-while-paused     a record acknowledged while some broker's process was paused
//   ack-after-jump-back  a record acknowledged within 2 s after a broker's wall clock jumped back
//   ack-after-quiet      a record acknowledged after 20 s without any fault (frequent faults mask it)
#include "sim/check/checks.h"
#include "sim/check/cluster_checks.h"
#include "sim/runner.h"
#include "sim/scenario/scenario_json.h"
#include "sim/swarm/space.h"

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <set>

using namespace keel;
using namespace keel::sim;
namespace fs = std::filesystem;

namespace {

using workload::History;
using workload::OpStatus;
using workload::OpType;
using workload::Phase;

// Main-phase acknowledgements (value, when) of a run.
std::vector<std::pair<std::int64_t, std::int64_t>> acks(const History& h) {
  std::vector<std::pair<std::int64_t, std::int64_t>> out;
  for (const auto& op : h.ops) {
    if (op.type == OpType::send && op.status == OpStatus::ok && op.phase == Phase::main && op.offset)
      out.emplace_back(op.value, op.complete_ns);
  }
  return out;
}

bool is_fault(const std::string& name) {
  return (name.starts_with("Fault") && name != "FaultHealAll") || name.starts_with("Scripted");
}

using Lost = std::function<std::set<std::int64_t>(const History&, const report::Report&)>;

std::set<std::int64_t> ack_while_paused(const History& h, const report::Report& r) {
  std::vector<std::pair<std::int64_t, std::int64_t>> paused;  // [from, to)
  std::map<int, std::int64_t> since;
  for (const auto& e : r.timeline) {
    if (e.name == "ProcessPause") since[e.node] = e.at_ns;
    if (e.name == "ProcessResume" && since.contains(e.node)) {
      paused.emplace_back(since[e.node], e.at_ns);
      since.erase(e.node);
    }
  }
  std::set<std::int64_t> lost;
  for (const auto& [value, at] : acks(h)) {
    if (std::any_of(paused.begin(), paused.end(), [at](const auto& p) { return p.first <= at && at < p.second; }))
      lost.insert(value);
  }
  return lost;
}

std::set<std::int64_t> ack_after_jump_back(const History& h, const report::Report& r) {
  std::vector<std::int64_t> jumps;
  for (const auto& e : r.timeline) {
    if ((e.name == "FaultClockJump" || e.name == "Scriptedclock_jump") && e.fields.value("by_ns", std::int64_t{0}) < 0)
      jumps.push_back(e.at_ns);
  }
  std::set<std::int64_t> lost;
  for (const auto& [value, at] : acks(h)) {
    if (std::any_of(jumps.begin(), jumps.end(), [at](std::int64_t j) { return j <= at && at < j + 2'000'000'000; }))
      lost.insert(value);
  }
  return lost;
}

std::set<std::int64_t> ack_after_quiet(const History& h, const report::Report& r) {
  constexpr std::int64_t quiet_ns = 20'000'000'000;
  const std::int64_t start = r.quiesce_ns - r.duration_ns;
  std::vector<std::int64_t> faults = {start};
  for (const auto& e : r.timeline) {
    if (is_fault(e.name)) faults.push_back(e.at_ns);
  }
  std::set<std::int64_t> lost;
  for (const auto& [value, at] : acks(h)) {
    const auto last = std::upper_bound(faults.begin(), faults.end(), at);
    if (last != faults.begin() && at - *std::prev(last) >= quiet_ns) lost.insert(value);
  }
  return lost;
}

struct Planted {
  const char* name;
  Lost lost;
};

const std::vector<Planted>& planted_bugs() {
  static const std::vector<Planted> bugs = {{"ack-while-paused", ack_while_paused},
                                            {"ack-after-jump-back", ack_after_jump_back},
                                            {"ack-after-quiet", ack_after_quiet}};
  return bugs;
}

// The run's checks fail once the planted defect's losses are taken out of the
// history.
bool caught(const RunOutcome& o, const scenario::Scenario& s, const Planted& bug) {
  const auto lost = bug.lost(o.history, o.report);
  if (lost.empty()) return false;
  History h = o.history;
  for (auto& op : h.ops) std::erase_if(op.reads, [&](const workload::Read& r) { return lost.contains(r.value); });
  return !check::run_checks(h, o.cluster, s.checks.empty() ? scenario::all_check_names() : s.checks).passed();
}

struct Tally {
  std::string source;
  std::size_t seeds = 0;
  double wall = 0;
  std::vector<std::uint64_t> first;   // per bug: the first seed that caught it (0: none)
  std::vector<double> wall_to_first;  // per bug: wall seconds of the runs up to and including it
  std::vector<std::size_t> catches;   // per bug: seeds that caught it
  std::size_t failed_unplanted = 0;   // runs that failed before anything was planted (not counted)
};

void count(Tally& t, std::uint64_t seed, const scenario::Scenario& s) {
  RunOptions o;
  o.seed = seed;
  const auto run = run_scenario(s, o);
  REQUIRE(run);
  ++t.seeds;
  t.wall += run->report.stats.wall_seconds;
  if (!run->passed()) {
    ++t.failed_unplanted;
    return;
  }
  for (std::size_t b = 0; b < planted_bugs().size(); ++b) {
    if (!caught(*run, s, planted_bugs()[b])) continue;
    ++t.catches[b];
    if (t.first[b] == 0) {
      t.first[b] = seed;
      t.wall_to_first[b] = t.wall;
    }
  }
}

Tally fresh(std::string source) {
  const std::size_t n = planted_bugs().size();
  return Tally{std::move(source),
               0,
               0,
               std::vector<std::uint64_t>(n, 0),
               std::vector<double>(n, 0),
               std::vector<std::size_t>(n, 0),
               0};
}

void print(const std::vector<Tally>& tallies) {
  std::string head = fmt::format("{:<28} {:>5} {:>7}", "source", "seeds", "wall s");
  for (const auto& b : planted_bugs()) head += fmt::format("  {:>30}", fmt::format("{}: first (s) rate", b.name));
  fmt::print("{}\n", head);
  for (const auto& t : tallies) {
    std::string line = fmt::format("{:<28} {:>5} {:>7.1f}", t.source, t.seeds, t.wall);
    for (std::size_t b = 0; b < t.first.size(); ++b) {
      const std::string first = t.first[b] == 0 ? "-" : fmt::format("{} ({:.1f})", t.first[b], t.wall_to_first[b]);
      line += fmt::format("  {:>30}", fmt::format("{} {}/{}", first, t.catches[b], t.seeds));
    }
    if (t.failed_unplanted > 0) line += fmt::format("  ({} failed unplanted)", t.failed_unplanted);
    fmt::print("{}\n", line);
    std::fflush(stdout);
  }
}

}  // namespace

TEST_CASE("planted: a planted defect that strikes a run is caught by its checks", "[.][planted]") {
  // Sanity for the measurement below: the first seed of a scenario with random pauses in which a
  // record is acknowledged during a pause fails once that record is lost.
  auto s = scenario::load_scenario((fs::path(KEEL_SOURCE_DIR) / "scenarios" / "controller-failover.json").string());
  REQUIRE(s);
  bool struck = false;
  for (std::uint64_t seed = 1; seed <= 10 && !struck; ++seed) {
    RunOptions o;
    o.seed = seed;
    const auto run = run_scenario(*s, o);
    REQUIRE(run);
    REQUIRE(run->passed());
    if (ack_while_paused(run->history, run->report).empty()) continue;
    struck = true;
    CHECK(caught(*run, *s, planted_bugs()[0]));
  }
  CHECK(struck);
}

TEST_CASE("planted: seeds and wall time to the first catch, plain sweeps against swarms", "[.][planted]") {
  constexpr std::uint64_t sweep_seeds = 20, swarm_seeds = 100;
  std::vector<Tally> tallies;
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(fs::path(KEEL_SOURCE_DIR) / "scenarios")) {
    if (e.path().extension() == ".json") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    auto s = scenario::load_scenario(f.string());
    REQUIRE(s);
    tallies.push_back(fresh("sweep " + s->name));
    for (std::uint64_t seed = 1; seed <= sweep_seeds; ++seed) count(tallies.back(), seed, *s);
    print({tallies.back()});
  }
  for (const std::string space : {"", "replicated"}) {
    swarm::SwarmSpace sp;
    if (!space.empty()) {
      auto loaded = swarm::load_space((fs::path(KEEL_SOURCE_DIR) / "scenarios" / "swarm" / (space + ".json")).string());
      REQUIRE(loaded);
      sp = *loaded;
    }
    tallies.push_back(fresh("swarm " + sp.name));
    for (std::uint64_t seed = 1; seed <= swarm_seeds; ++seed) {
      auto s = scenario::parse_scenario(scenario::to_json(swarm::draw_scenario(sp, seed)).dump(), "drawn.json");
      REQUIRE(s);
      count(tallies.back(), seed, *s);
    }
    print({tallies.back()});
  }
  fmt::print("\n");
  print(tallies);
  // The whole-space swarm catches every planted defect within its seeds.
  for (std::size_t b = 0; b < planted_bugs().size(); ++b) CHECK(tallies[tallies.size() - 2].first[b] != 0);
}
