#include "sim/coverage/explore_command.h"

#include "sim/commands.h"
#include "sim/coverage/explore.h"
#include "sim/sweep/progress.h"
#include "sim/sweep/results.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <chrono>
#include <fstream>
#include <set>

namespace keel::sim {

namespace {

using coverage::CoverageReport;

// The plain sweep explore is measured against: the scenario as given, the same seeds.
CoverageReport plain_sweep(const scenario::Scenario& s, const ExploreArgs& a, std::uint64_t* failed) {
  std::vector<coverage::Counts> counts;
  sweep::Progress progress(stderr, a.budget, true);
  const std::string arg = resolve_scenario(a.scenario);
  for (std::uint64_t i = 0; i < a.budget; ++i) {
    auto r = coverage::run_in_process(s, a.first_seed + i, arg);
    *failed += r.verdict == "PASS" ? 0 : 1;
    progress.seed_done(r.verdict == "PASS");
    counts.push_back(std::move(r.marks));
  }
  progress.finish();
  std::vector<coverage::SeedMarks> runs;
  for (std::uint64_t i = 0; i < a.budget; ++i) runs.push_back({a.first_seed + i, &counts[i]});
  return coverage::coverage_of(coverage::binary_catalogue(), runs);
}

std::vector<std::string> reached_only_by(const CoverageReport& a, const CoverageReport& b) {
  std::set<std::string> in_b;
  for (const auto& m : b.marks) {
    if (m.runs > 0) in_b.insert(m.info.name);
  }
  std::vector<std::string> out;
  for (const auto& m : a.marks) {
    if (m.runs > 0 && !in_b.contains(m.info.name)) out.push_back(m.info.name);
  }
  return out;
}

nlohmann::json corpus_json(const coverage::ExploreResult& r) {
  nlohmann::json corpus = nlohmann::json::array();
  for (const auto& in : r.corpus) {
    corpus.push_back({{"run", in.run}, {"seed", in.seed}, {"parent", in.parent}, {"mutations", in.mutations},
                      {"new_marks", in.new_marks}, {"path", in.path},
                      {"reproduce", fmt::format("keel-sim run {} --seed {}", in.path, in.seed)}});
  }
  nlohmann::json failures = nlohmann::json::array();
  for (const auto& f : r.failures) {
    failures.push_back({{"run", f.run}, {"seed", f.seed}, {"verdict", f.verdict}, {"message", f.message},
                        {"reproduce", fmt::format("keel-sim run {} --seed {}", f.path, f.seed)}});
  }
  return {{"corpus", corpus}, {"failures", failures}, {"coverage", coverage::to_json(r.coverage)}};
}

void write_json(const std::string& path, const nlohmann::json& j) {
  std::ofstream f(path, std::ios::trunc);
  f << j.dump(2) << "\n";
  if (!f.flush()) throw UsageError{fmt::format("cannot write '{}'", path)};
}

// The sweep explore is compared with: run here over the same seeds, or read from --baseline.
CoverageReport baseline(const scenario::Scenario& s, const ExploreArgs& a, std::uint64_t* failed, std::string* what) {
  if (a.baseline.empty()) {
    *what = fmt::format("a plain sweep of the same seeds {}..{}", a.first_seed, a.first_seed + a.budget - 1);
    return plain_sweep(s, a, failed);
  }
  auto results = sweep::read_sweep_results(a.baseline);
  if (!results) throw UsageError{fmt::format("--baseline: {}", results.error().message)};
  if (results->scenario != s.name) {
    throw UsageError{fmt::format("--baseline: {} is a sweep of {}, not {}", a.baseline, results->scenario, s.name)};
  }
  *what = fmt::format("the plain sweep of seeds {}..{} in {}", results->first, results->last, a.baseline);
  return results->coverage();
}

void print_comparison(std::FILE* out, const CoverageReport& explored, const CoverageReport& plain,
                      const std::string& what, nlohmann::json& j) {
  const auto gained = reached_only_by(explored, plain);
  const auto lost = reached_only_by(plain, explored);
  fmt::print(out, "explore reached {} marks in {} runs; {} reached {} in {} runs\n", explored.reached(), explored.runs,
             what, plain.reached(), plain.runs);
  fmt::print(out, "reached by explore only ({}): {}\n", gained.size(), fmt::join(gained, " "));
  fmt::print(out, "reached by the plain sweep only ({}): {}\n", lost.size(), fmt::join(lost, " "));
  j["plain_sweep"] = coverage::to_json(plain);
  j["explore_only"] = gained;
  j["plain_only"] = lost;
}

}  // namespace

int explore_command(const ExploreArgs& a, std::FILE* out) {
  const scenario::Scenario s = load_or_throw(a.scenario);
  if (a.budget == 0 || a.budget > 1'000'000) throw UsageError{fmt::format("--budget: {} is outside 1..1000000", a.budget)};
  coverage::ExploreOptions o;
  o.budget = a.budget;
  o.first_seed = a.first_seed;
  o.explore_seed = a.explore_seed;
  o.dir = a.out.empty() ? fmt::format("{}/{}/explore", a.reports, s.name) : a.out;
  o.log = out;
  fmt::print(out, "explore: {} with {} runs (seeds {}..{}), explore seed {}; inputs under {}\n", s.name, a.budget,
             a.first_seed, a.first_seed + a.budget - 1, a.explore_seed, o.dir);
  const auto start = std::chrono::steady_clock::now();
  const coverage::ExploreResult r = coverage::explore(s, o);
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  fmt::print(out, "corpus: {} inputs in {}/corpus; {} runs failed; {:.1f}s wall\n", r.corpus.size(), o.dir,
             r.failures.size(), wall);
  coverage::print_coverage(out, r.coverage);
  nlohmann::json j = corpus_json(r);
  std::uint64_t plain_failed = 0;
  if (a.compare) {
    std::string what;
    const CoverageReport plain = baseline(s, a, &plain_failed, &what);
    print_comparison(out, r.coverage, plain, what, j);
  }
  write_json(o.dir + "/explore.json", j);
  fmt::print(out, "json: {}/explore.json\n", o.dir);
  return r.failures.empty() && plain_failed == 0 ? 0 : 1;
}

}  // namespace keel::sim
