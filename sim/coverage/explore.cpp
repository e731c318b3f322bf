#include "sim/coverage/explore.h"

#include "sim/runner.h"
#include "sim/scenario/scenario_json.h"
#include "sim/swarm/space.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <bit>
#include <filesystem>
#include <set>

namespace keel::sim::coverage {

namespace {

using scenario::Scenario;

// How often a run takes the scenario as given (a fresh seed, no mutation) rather than mutating an
// input of the corpus: plain seeds keep finding what the scenario reaches by itself.
constexpr double plain_run_chance = 0.15;
constexpr int mutations_per_run_max = 3;
constexpr int mutation_draws_max = 20;  // draws before giving up on a mutation that applies

// A mutated input must stay a scenario a correct broker passes: a producer that turned lossy
// (acks 1 beside faults it did not have) no longer promises what the no-loss checks check.
void keep_checks_honest(Scenario& s, const Scenario& base) {
  if (!swarm::lossy_producers(s) || swarm::lossy_producers(base)) return;
  static const std::set<std::string> loss = {"lost-write", "unseen", "inconsistent-offsets", "nonmonotonic-send"};
  std::vector<std::string> checks = s.checks.empty() ? scenario::all_check_names() : s.checks;
  std::erase_if(checks, [](const std::string& c) { return loss.contains(c); });
  s.checks = checks;
}

// AFL's hit-count buckets: 1, 2-3, 4-7, ... so a mark reached far more often than before counts
// as something new, and one reached a little more often does not.
int bucket(std::uint64_t hits) { return static_cast<int>(std::bit_width(hits)); }

struct Candidate {
  Scenario scenario;
  int parent = -1;
  std::vector<std::string> mutations;
};

class Explorer {
 public:
  Explorer(const Scenario& base, const ExploreOptions& o)
      : base_(base), o_(o), rng_(Random::derive(o.explore_seed, 0, "explore")) {}

  ExploreResult run();

 private:
  Candidate choose(std::uint64_t i);
  std::string write(const Scenario& s, const std::string& name) const;
  std::vector<std::string> novelty(const Counts& marks, bool* new_bucket);
  void log(std::uint64_t i, std::uint64_t seed, const Candidate& c, const RunResult& r,
           const std::vector<std::string>& fresh) const;

  const Scenario& base_;
  const ExploreOptions& o_;
  Random rng_;
  ExploreResult result_;
  std::map<std::string, int> best_bucket_;  // mark -> highest hit-count bucket a run reached
  std::map<std::string, std::uint64_t> runs_reaching_;  // mark -> runs that reached it so far
  std::size_t pick_parent();
};

// An input is picked in proportion to how rare its marks are: each mark it reached weighs
// rarity_scale divided by the runs that reached it, so an input that alone reaches a mark is
// mutated far more often than one that reaches only what every run does. Integers: the choice is
// the same on every machine.
constexpr std::uint64_t rarity_scale = 1000;

std::size_t Explorer::pick_parent() {
  std::vector<std::uint64_t> weights;
  std::uint64_t total = 0;
  for (const Input& in : result_.corpus) {
    std::uint64_t w = 1;
    for (const auto& [name, hits] : in.marks) w += rarity_scale / std::max<std::uint64_t>(1, runs_reaching_[name]);
    weights.push_back(w);
    total += w;
  }
  std::uint64_t draw = rng_.below(total);
  for (std::size_t i = 0; i < weights.size(); ++i) {
    if (draw < weights[i]) return i;
    draw -= weights[i];
  }
  KEEL_UNREACHABLE();
}

Candidate Explorer::choose(std::uint64_t i) {
  Candidate c{base_, -1, {}};
  if (i == 0 || result_.corpus.empty() || rng_.chance(plain_run_chance)) return c;
  c.parent = static_cast<int>(pick_parent());
  c.scenario = result_.corpus[static_cast<std::size_t>(c.parent)].scenario;
  const auto n = 1 + rng_.below(mutations_per_run_max);
  for (std::uint64_t m = 0; m < n; ++m) {
    for (int draw = 0; draw < mutation_draws_max; ++draw) {
      std::string what = mutate_once(c.scenario, rng_);
      if (what.empty()) continue;
      c.mutations.push_back(std::move(what));
      break;
    }
  }
  keep_checks_honest(c.scenario, base_);
  return c;
}

std::string Explorer::write(const Scenario& s, const std::string& name) const {
  if (o_.dir.empty()) return "";
  const std::string path = o_.dir + "/" + name;
  if (auto st = scenario::write_scenario_file(s, path); !st) {
    throw std::runtime_error(fmt::format("explore: {}", st.error().message));
  }
  return path;
}

std::vector<std::string> Explorer::novelty(const Counts& marks, bool* new_bucket) {
  std::vector<std::string> fresh;
  *new_bucket = false;
  for (const auto& [name, hits] : marks) {
    auto [it, first] = best_bucket_.emplace(name, bucket(hits));
    if (first) {
      fresh.push_back(name);
    } else if (bucket(hits) > it->second) {
      it->second = bucket(hits);
      *new_bucket = true;
    }
  }
  return fresh;
}

void Explorer::log(std::uint64_t i, std::uint64_t seed, const Candidate& c, const RunResult& r,
                   const std::vector<std::string>& fresh) const {
  if (o_.log == nullptr) return;
  const std::string parent = c.parent < 0 ? "given" : fmt::format("#{}", c.parent);
  const std::string what = c.mutations.empty() ? "-" : fmt::format("{}", fmt::join(c.mutations, "; "));
  fmt::print(o_.log, "run {:>4}  seed {:>6}  {:<5}  {:<7} {:<60}  {}\n", i, seed, parent, r.verdict, what.substr(0, 60),
             fresh.empty() ? std::string("(more hits)") : fmt::format("+{} {}", fresh.size(), fmt::join(fresh, " ")));
}

ExploreResult Explorer::run() {
  for (std::uint64_t i = 0; i < o_.budget; ++i) {
    const std::uint64_t seed = o_.first_seed + i;
    Candidate c = choose(i);
    // Written before the run: a run that stops the process (a failed assertion) leaves its input
    // behind, which the reproduce command the assertion prints names.
    const std::string input = write(c.scenario, "input.json");
    RunResult r = o_.run(c.scenario, seed, input);
    bool new_bucket = false;
    std::vector<std::string> fresh = novelty(r.marks, &new_bucket);
    for (const auto& [name, hits] : r.marks) ++runs_reaching_[name];
    if (r.verdict != "PASS") {
      const std::string path = write(c.scenario, fmt::format("failures/run-{}-seed-{}.json", i, seed));
      result_.failures.push_back(Failure{i, seed, r.verdict, r.message, path});
      if (o_.log) fmt::print(o_.log, "run {} seed {}: {}: {}; reproduce: keel-sim run {} --seed {}\n", i, seed, r.verdict,
                             r.message, path.empty() ? "<not written>" : path, seed);
    }
    if (!fresh.empty() || new_bucket) {
      const std::string path = write(c.scenario, fmt::format("corpus/{}-seed-{}.json", result_.corpus.size(), seed));
      log(i, seed, c, r, fresh);
      result_.corpus.push_back(Input{i, seed, c.parent, c.mutations, fresh, r.marks, path, std::move(c.scenario)});
    }
    result_.counts.push_back(std::move(r.marks));
  }
  if (!o_.dir.empty()) std::filesystem::remove(o_.dir + "/input.json");
  for (std::uint64_t i = 0; i < o_.budget; ++i) result_.runs.push_back({o_.first_seed + i, &result_.counts[i]});
  return std::move(result_);
}

}  // namespace

RunResult run_in_process(const Scenario& s, std::uint64_t seed, const std::string& scenario_arg) {
  RunOptions o;
  o.seed = seed;
  o.scenario_arg = scenario_arg;
  auto out = run_scenario(s, o);
  if (!out) return RunResult{"ERROR", out.error().message, {}};
  RunResult r{out->report.verdict, "", out->report.marks};
  for (const auto& v : out->report.violations) {
    if (!v.allowed) {
      r.message = v.check + ": " + v.message;
      break;
    }
  }
  return r;
}

ExploreResult explore(const Scenario& base, const ExploreOptions& options) {
  ExploreResult result = Explorer(base, options).run();
  result.coverage = coverage_of(binary_catalogue(), result.runs);
  return result;
}

}  // namespace keel::sim::coverage
