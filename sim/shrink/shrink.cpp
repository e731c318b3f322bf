#include "sim/shrink/shrink.h"

#include "sim/runner.h"
#include "sim/scenario/scenario_json.h"
#include "sim/shrink/ddmin.h"
#include "sim/shrink/schedule.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <thread>

namespace keel::sim::shrink {

using scenario::Scenario;

Trial run_trial(const Scenario& s, std::uint64_t seed) {
  Trial t;
  RunOptions o;
  o.seed = seed;
  o.scenario_arg = s.source_path;
  auto outcome = run_scenario(s, o);
  if (!outcome) {
    t.error = outcome.error().message;
    return t;
  }
  t.ran = true;
  for (const auto& v : outcome->report.violations) {
    if (!v.allowed) t.failed_checks.insert(v.check);
  }
  t.report = std::move(outcome->report);
  return t;
}

namespace {

// Written and parsed back: a candidate is exactly what its file will say, and one the parser
// refuses (a fault left after the end of a shorter run) is never run.
std::optional<Scenario> through_file(const Scenario& s, std::string* problem) {
  auto parsed = scenario::parse_scenario(scenario::to_json(s).dump(), s.name + ".json");
  if (!parsed) {
    *problem = parsed.error().message;
    return std::nullopt;
  }
  parsed->source_path = s.source_path;
  return std::move(*parsed);
}

std::string units_list(const std::vector<FaultUnit>& units, std::size_t shown_max) {
  std::vector<std::string> names;
  for (std::size_t i = 0; i < units.size() && i < shown_max; ++i) names.push_back(describe(units[i]));
  if (units.size() > shown_max) names.push_back(fmt::format("{} more", units.size() - shown_max));
  return fmt::format("{}", fmt::join(names, "; "));
}

std::size_t random_faults_struck(const report::Report& r) {
  std::size_t n = 0;
  for (const auto& e : r.timeline) n += e.name.starts_with("Fault") && e.name != "FaultHealAll";
  return n;
}

class Shrinker {
 public:
  Shrinker(const Scenario& original, const ShrinkOptions& options) : o_(options), best_(original) {}

  ShrinkResult run() {
    const auto start = std::chrono::steady_clock::now();
    ShrinkResult r;
    if (!fails(best_, "the original run")) {
      r.wall_seconds = seconds_since(start);
      r.runs = runs_;
      return r;
    }
    r.reproduced = true;
    units_ = scripted_units(best_.faults);
    r.faults_before = units_.size() + (best_.random_faults.enabled ? random_faults_struck(last_failing_) : 0);
    r.scripted = !best_.random_faults.enabled || script_random_faults(r.notes);
    r.scripted ? shrink_faults() : shrink_rates();
    shorten();
    cut_workload();
    if (r.scripted) round_times();
    r.minimal = best_;
    r.faults_after = units_.size() + (best_.random_faults.enabled ? random_faults_struck(last_failing_) : 0);
    r.runs = runs_;
    r.last_report = last_failing_;
    r.wall_seconds = seconds_since(start);
    return r;
  }

 private:
  static double seconds_since(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
  }
  bool budget_left() const { return runs_ < o_.runs_max; }

  void say(const std::string& line) {
    if (o_.log) {
      fmt::print(o_.log, "{}\n", line);
      std::fflush(o_.log);
    }
  }

  // One candidate of a batch: parsed back from its file, and its cache key.
  struct Prepared {
    std::optional<Scenario> scenario;  // nothing: not a valid scenario
    std::string key;
    bool run = false;  // not in the cache, and within the budget: it runs
    Trial trial;
  };

  Prepared prepare(const Scenario& candidate, const std::string& what, std::size_t& planned) {
    Prepared p;
    std::string problem;
    p.scenario = through_file(candidate, &problem);
    if (!p.scenario) {
      say(fmt::format("  skip  {}: not a valid scenario ({})", what, problem));
      return p;
    }
    p.key = scenario::to_json(*p.scenario).dump();
    p.run = !cache_.contains(p.key) && runs_ + planned < o_.runs_max;
    planned += p.run;
    return p;
  }

  void record(Prepared& p, const std::string& what, bool after_first) {
    ++runs_;
    const Trial& t = p.trial;
    const bool failed = t.ran && t.failed_checks.contains(o_.check);
    cache_[p.key] = failed ? std::optional<report::Report>(t.report) : std::nullopt;
    const std::string verdict = !t.ran   ? "could not run: " + t.error
                                : failed ? "fails " + o_.check
                                : t.failed_checks.empty()
                                    ? "passes"
                                    : fmt::format("fails only {}", fmt::join(t.failed_checks, ", "));
    say(fmt::format("  #{:<3} {} [{:.2f}s]: {}{}", runs_, what, t.report.stats.wall_seconds, verdict,
                    after_first ? " (run alongside; an earlier candidate failed)" : ""));
  }

  // The first candidate, in order, whose run fails the check (a candidate that ran before is
  // recalled, not run again). Runs `jobs` candidates at once and prints a line per run, in order;
  // the answer is the one a run at a time would give.
  std::optional<std::size_t> first_failing(const std::vector<Scenario>& candidates,
                                           const std::vector<std::string>& whats) {
    const std::size_t jobs = std::max<std::size_t>(1, o_.jobs);
    for (std::size_t begin = 0; begin < candidates.size(); begin += jobs) {
      const std::size_t end = std::min(candidates.size(), begin + jobs);
      std::vector<Prepared> batch;
      std::size_t planned = 0;
      for (std::size_t i = begin; i < end; ++i) batch.push_back(prepare(candidates[i], whats[i], planned));
      run_all(batch);
      std::optional<std::size_t> first;
      for (std::size_t i = 0; i < batch.size(); ++i) {
        if (batch[i].run) record(batch[i], whats[begin + i], first.has_value());
        const auto it = batch[i].scenario ? cache_.find(batch[i].key) : cache_.end();
        if (!first && it != cache_.end() && it->second) {
          first = begin + i;
          last_failing_ = *it->second;
        }
      }
      if (first) return first;
    }
    return std::nullopt;
  }

  // The batch's runs, each on a thread of its own when there are several.
  void run_all(std::vector<Prepared>& batch) const {
    std::vector<std::thread> threads;
    for (auto& p : batch) {
      if (!p.run) continue;
      const auto go = [this, &p] { p.trial = o_.run(*p.scenario, o_.seed); };
      if (batch.size() == 1)
        go();
      else
        threads.emplace_back(go);
    }
    for (auto& t : threads) t.join();
  }

  // Runs the candidate (or recalls its verdict); true when the check still fails.
  bool fails(const Scenario& candidate, const std::string& what) {
    return first_failing({candidate}, {what}).has_value();
  }

  // Keeps the candidate when it still fails.
  bool try_keep(const Scenario& candidate, const std::string& what) {
    if (!fails(candidate, what)) return false;
    best_ = candidate;
    say("        kept");
    return true;
  }

  Scenario with_units(const std::vector<FaultUnit>& units) const {
    Scenario s = best_;
    s.faults = flatten(units);
    return s;
  }

  bool script_random_faults(std::vector<std::string>& notes) {
    std::vector<std::string> left_out;
    auto random = struck_random_faults(last_failing_, best_, &left_out);
    for (auto& n : left_out) notes.push_back(n);
    std::vector<FaultUnit> all = units_;
    all.insert(all.end(), random.begin(), random.end());
    Scenario s = with_units(all);
    s.random_faults = {};
    say(fmt::format("step: the {} random faults that struck as a scripted schedule ({} in all)", random.size(),
                    all.size()));
    if (try_keep(s, "scripted schedule, random faults off")) {
      units_ = std::move(all);
      return true;
    }
    notes.push_back(
        "the scripted schedule did not fail the check (the failure depends on more than the faults' "
        "times and places); the random fault rates were shrunk instead");
    say("step: " + notes.back());
    return false;
  }

  void shrink_faults() {
    say(fmt::format("step: remove faults by delta debugging ({} fault units)", units_.size()));
    if (units_.empty()) return;
    if (try_keep(with_units({}), "no faults at all")) {
      units_.clear();
      return;
    }
    const auto pick = [&](const std::vector<std::size_t>& keep) {
      std::vector<FaultUnit> out;
      for (std::size_t i : keep) out.push_back(units_[i]);
      return out;
    };
    const auto describe_keep = [&](const std::vector<std::size_t>& keep) {
      std::vector<FaultUnit> dropped;
      for (std::size_t i = 0; i < units_.size(); ++i) {
        if (!std::binary_search(keep.begin(), keep.end(), i)) dropped.push_back(units_[i]);
      }
      // Name the smaller side: the few faults kept, or the few dropped.
      const std::string which =
          keep.size() <= dropped.size() ? "keep " + units_list(pick(keep), 3) : "drop " + units_list(dropped, 3);
      return fmt::format("{} of {} faults: {}", keep.size(), units_.size(), which);
    };
    const auto first = [&](const std::vector<std::vector<std::size_t>>& keeps) {
      std::vector<Scenario> candidates;
      std::vector<std::string> whats;
      for (const auto& keep : keeps) {
        candidates.push_back(with_units(pick(keep)));
        whats.push_back(describe_keep(keep));
      }
      return first_failing(candidates, whats);
    };
    const auto keep = ddmin(units_.size(), first);
    units_ = pick(keep);
    best_ = with_units(units_);
    say(fmt::format("        {} fault(s) left: {}", units_.size(), units_list(units_, units_.size())));
  }

  void shrink_rates() {
    say("step: shrink the random fault rates");
    using Options = RandomFaultOptions;
    const std::pair<const char*, double Options::*> rates[] = {{"kill", &Options::kill_per_min},
                                                               {"power_off", &Options::power_off_per_min},
                                                               {"pause", &Options::pause_per_min},
                                                               {"isolate", &Options::isolate_per_min},
                                                               {"one_way", &Options::one_way_per_min},
                                                               {"clog", &Options::clog_per_min},
                                                               {"clock_jump", &Options::clock_jump_per_min},
                                                               {"disk_faults", &Options::disk_faults_per_min},
                                                               {"reassign", &Options::reassign_per_min}};
    for (const auto& [name, rate] : rates) {
      const auto get = [rate](Scenario& s) -> double& { return s.random_faults.options.*rate; };
      if (get(best_) <= 0) continue;
      Scenario off = best_;
      get(off) = 0;
      if (try_keep(off, fmt::format("random {} off", name))) continue;
      for (int halvings = 0; halvings < 3; ++halvings) {
        Scenario half = best_;
        get(half) = get(best_) / 2;
        if (!try_keep(half, fmt::format("random {} at {}/min", name, get(half)))) break;
      }
    }
    if (!units_.empty()) shrink_faults();
  }

  // The last moment a fault strikes or a group member acts, from the start of the run.
  Duration last_fault() const {
    Duration last{};
    for (const auto& f : best_.faults) last = std::max(last, f.at);
    for (const auto& g : best_.workload.groups) {
      for (const auto& b : g.behaviours) last = std::max(last, b.at);
    }
    return last;
  }

  void shorten() {
    const auto whole_seconds = [](Duration d) { return std::chrono::duration_cast<std::chrono::seconds>(d).count(); };
    std::int64_t lo = std::max<std::int64_t>(1, whole_seconds(last_fault()) + 1);
    std::int64_t hi = whole_seconds(best_.duration);
    if (lo >= hi) return;
    say(fmt::format("step: shorten the run ({} now; the last fault or member behaviour at {:.3f}s)", format_duration(best_.duration),
                    static_cast<double>(last_fault().count()) / 1e9));
    const auto at = [&](std::int64_t s) {
      Scenario c = best_;
      c.duration = std::chrono::seconds(s);
      return try_keep(c, fmt::format("duration {}s", s));
    };
    if (at(lo)) return;
    ++lo;
    while (lo < hi && budget_left()) {
      const std::int64_t mid = lo + (hi - lo) / 2;
      if (at(mid)) {
        hi = mid;
      } else {
        lo = mid + 1;
      }
    }
  }

  // Tries `min`, then halving from the current value while the check keeps failing.
  template <class T, class Get>
  void shrink_value(Get get, T min, const std::string& what) {
    if (get(best_) <= min) return;
    Scenario c = best_;
    get(c) = min;
    if (try_keep(c, fmt::format("{} {}", what, min))) return;
    while (budget_left()) {
      const T half = std::max<T>(min, get(best_) / 2);
      if (half <= min || half >= get(best_)) return;
      Scenario h = best_;
      get(h) = half;
      if (!try_keep(h, fmt::format("{} {}", what, half))) return;
    }
  }

  void cut_producers() {
    auto& producers = best_.workload.producers;
    for (std::size_t i = producers.size(); i-- > 0 && producers.size() > 1;) {
      Scenario c = best_;
      c.workload.producers.erase(c.workload.producers.begin() + static_cast<std::ptrdiff_t>(i));
      try_keep(c, fmt::format("without producers[{}] (topic {})", i, best_.workload.producers[i].topic));
    }
    for (std::size_t i = 0; i < best_.workload.producers.size(); ++i) {
      shrink_value<int>([i](Scenario& s) -> int& { return s.workload.producers[i].count; }, 1,
                        fmt::format("producers[{}].count", i));
      shrink_value<double>([i](Scenario& s) -> double& { return s.workload.producers[i].rate; }, 1.0,
                           fmt::format("producers[{}].rate", i));
    }
  }

  void cut_consumers() {
    for (std::size_t i = best_.workload.consumers.size(); i-- > 0;) {
      Scenario c = best_;
      c.workload.consumers.erase(c.workload.consumers.begin() + static_cast<std::ptrdiff_t>(i));
      try_keep(c, fmt::format("without consumers[{}]", i));
    }
    for (std::size_t i = 0; i < best_.workload.consumers.size(); ++i) {
      shrink_value<int>([i](Scenario& s) -> int& { return s.workload.consumers[i].count; }, 1,
                        fmt::format("consumers[{}].count", i));
    }
  }

  // Consumer groups: whole groups, then each group's random behaviours, its scripted behaviours (by
  // delta debugging) and its members (the last first; later members' behaviours renumbered).
  void cut_groups() {
    auto& groups = best_.workload.groups;
    for (std::size_t i = groups.size(); i-- > 0;) {
      Scenario c = best_;
      c.workload.groups.erase(c.workload.groups.begin() + static_cast<std::ptrdiff_t>(i));
      try_keep(c, fmt::format("without group {}", groups[i].group_id));
    }
    for (std::size_t i = 0; i < best_.workload.groups.size(); ++i) {
      if (best_.workload.groups[i].random.per_minute > 0) {
        Scenario c = best_;
        c.workload.groups[i].random = {};
        try_keep(c, fmt::format("group {} without random behaviours", c.workload.groups[i].group_id));
      }
      cut_behaviours(i);
      for (int m = best_.workload.groups[i].members; m-- > 0 && best_.workload.groups[i].members > 1;)
        try_keep(without_member(best_, i, m), fmt::format("group {} without member {}", best_.workload.groups[i].group_id, m));
    }
  }

  void cut_behaviours(std::size_t g) {
    const auto all = best_.workload.groups[g].behaviours;
    const std::string id = best_.workload.groups[g].group_id;
    if (all.empty()) return;
    say(fmt::format("step: remove group {}'s behaviours by delta debugging ({})", id, all.size()));
    const auto with = [&](const std::vector<std::size_t>& keep) {
      Scenario s = best_;
      auto& behaviours = s.workload.groups[g].behaviours;
      behaviours.clear();
      for (std::size_t i : keep) behaviours.push_back(all[i]);
      return s;
    };
    const auto first = [&](const std::vector<std::vector<std::size_t>>& keeps) {
      std::vector<Scenario> candidates;
      std::vector<std::string> whats;
      for (const auto& keep : keeps) {
        candidates.push_back(with(keep));
        whats.push_back(fmt::format("group {}: {} of {} behaviours", id, keep.size(), all.size()));
      }
      return first_failing(candidates, whats);
    };
    best_ = with(ddmin(all.size(), first));
    say(fmt::format("        group {}: {} behaviour(s) left", id, best_.workload.groups[g].behaviours.size()));
  }

  static Scenario without_member(Scenario s, std::size_t g, int member) {
    auto& spec = s.workload.groups[g];
    std::erase_if(spec.behaviours, [&](const auto& b) { return b.member == member; });
    for (auto& b : spec.behaviours) b.member -= b.member > member ? 1 : 0;
    --spec.members;
    return s;
  }

  // The scenario without topic `name`: its producers, its place in consumers' lists and its
  // reassignments go with it.
  static Scenario without_topic(Scenario s, const std::string& name) {
    std::erase_if(s.topics, [&](const auto& t) { return t.name == name; });
    std::erase_if(s.workload.producers, [&](const auto& p) { return p.topic == name; });
    for (auto& c : s.workload.consumers) std::erase(c.topics, name);
    std::erase_if(s.workload.consumers, [](const auto& c) { return c.topics.empty(); });
    for (auto& g : s.workload.groups) std::erase(g.topics, name);
    std::erase_if(s.workload.groups, [](const auto& g) { return g.topics.empty(); });
    std::erase_if(s.faults, [&](const auto& f) { return f.kind == scenario::FaultKind::reassign && f.topic == name; });
    return s;
  }

  void cut_topics() {
    for (std::size_t i = best_.topics.size(); i-- > 0 && best_.topics.size() > 1;) {
      const std::string name = best_.topics[i].name;
      Scenario c = without_topic(best_, name);
      if (c.workload.producers.empty()) continue;
      if (try_keep(c, fmt::format("without topic {}", name))) units_ = scripted_units_of(best_);
    }
    for (std::size_t i = 0; i < best_.topics.size(); ++i) {
      int min = 1;
      for (const auto& f : best_.faults) {
        if (f.kind == scenario::FaultKind::reassign && f.topic == best_.topics[i].name)
          min = std::max(min, f.partition + 1);
      }
      shrink_value<int>([i](Scenario& s) -> int& { return s.topics[i].partitions; }, min,
                        fmt::format("topics[{}].partitions", i));
    }
  }

  // Units of a schedule that lost faults (with a topic): what is left of each unit.
  std::vector<FaultUnit> scripted_units_of(const Scenario& s) const {
    std::vector<FaultUnit> out;
    for (const auto& u : units_) {
      FaultUnit kept{{}, u.from_random};
      for (const auto& f : u.faults) {
        if (std::any_of(s.faults.begin(), s.faults.end(),
                        [&](const auto& g) { return scenario::to_json(g) == scenario::to_json(f); }))
          kept.faults.push_back(f);
      }
      if (!kept.faults.empty()) out.push_back(std::move(kept));
    }
    return out;
  }

  // Whether any fault names broker `b`.
  static bool names_broker(const Scenario& s, int b) {
    const scenario::NodeRef ref{false, b};
    for (const auto& f : s.faults) {
      const bool in_sets = std::any_of(f.sets.begin(), f.sets.end(), [&](const auto& set) {
        return std::find(set.begin(), set.end(), ref) != set.end();
      });
      const bool in_replicas = std::find(f.replicas.begin(), f.replicas.end(), ref) != f.replicas.end();
      const bool named = f.kind != scenario::FaultKind::heal && f.kind != scenario::FaultKind::reassign &&
                         f.kind != scenario::FaultKind::partition && f.node == ref;
      if (named || (f.kind == scenario::FaultKind::block && f.to == ref) || in_sets || in_replicas) return true;
    }
    return false;
  }

  // The scenario with its last broker gone: replication factors, min.insync.replicas and the
  // quorum capped at what is left.
  static Scenario one_broker_less(Scenario s) {
    const int brokers = --s.cluster.brokers;
    s.cluster.controllers = std::min(s.cluster.controllers, brokers);
    s.cluster.broker_config.erase(brokers);
    for (auto& t : s.topics) {
      t.replication_factor = std::min(t.replication_factor, brokers);
      if (auto it = t.configs.find("min.insync.replicas"); it != t.configs.end() && std::stoi(it->second) > brokers)
        it->second = std::to_string(brokers);
    }
    if (brokers < 2) s.random_faults.options.reassign_per_min = 0;
    return s;
  }

  // Brokers from the last down, while no fault names the last one and the check still fails.
  void cut_cluster() {
    while (best_.cluster.brokers > 1 && !names_broker(best_, best_.cluster.brokers - 1) && budget_left()) {
      if (!try_keep(one_broker_less(best_), fmt::format("{} brokers", best_.cluster.brokers - 1))) return;
    }
  }

  void cut_workload() {
    say("step: cut the cluster and the workload");
    cut_cluster();
    cut_producers();
    cut_consumers();
    if (!best_.workload.groups.empty()) {
      cut_groups();
      shorten();  // the behaviours removed may have held the run long
    }
    cut_topics();
  }

  static Duration rounded(Duration d, Duration to) {
    return Duration((d.count() + to.count() / 2) / to.count() * to.count());
  }

  void round_times() {
    if (units_.empty()) return;
    say("step: round the fault times");
    for (const Duration to : {Duration(100ms), Duration(1ms)}) {
      std::vector<FaultUnit> units = units_;
      for (auto& u : units) {
        for (auto& f : u.faults) {
          f.at = std::min(rounded(f.at, to), best_.duration - to);
          if (f.duration.count() > 0) f.duration = std::max(to, rounded(f.duration, to));
          if (f.kind == scenario::FaultKind::clock_jump) f.by = rounded(f.by, to);
        }
      }
      if (try_keep(with_units(units), fmt::format("fault times rounded to {}", format_duration(to)))) {
        units_ = std::move(units);
        return;
      }
    }
  }

  const ShrinkOptions& o_;
  Scenario best_;                 // the smallest scenario known to fail the check
  std::vector<FaultUnit> units_;  // best_'s scripted faults as units
  std::map<std::string, std::optional<report::Report>>
      cache_;                    // candidate's JSON -> its report when it failed the check
  report::Report last_failing_;  // the report of the last run that failed the check
  std::size_t runs_ = 0;
};

}  // namespace

ShrinkResult shrink_scenario(const Scenario& original, const ShrinkOptions& options) {
  Shrinker shrinker(original, options);
  return shrinker.run();
}

}  // namespace keel::sim::shrink
