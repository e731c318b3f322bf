#include "sim/sweep/results.h"

#include <fmt/format.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace keel::sim::sweep {

namespace {

const std::set<std::string> verdicts = {"PASS", "FAIL", "CRASH", "TIMEOUT", "ERROR"};
constexpr const char* results_format = "keel-sim-sweep/1";

Error bad(std::string message) { return make_error(Errc::invalid_argument, std::move(message)); }

}  // namespace

nlohmann::json to_json(const SeedResult& r) {
  nlohmann::json violations = nlohmann::json::array();
  for (const auto& v : r.violations) violations.push_back({{"check", v.check}, {"message", v.message}});
  return {{"seed", r.seed},
          {"verdict", r.verdict},
          {"trace_hash", r.trace_hash},
          {"violations", violations},
          {"message", r.message},
          {"output", r.output},
          {"reproduce", r.reproduce},
          {"report_dir", r.report_dir},
          {"rerun_hash_differs", r.rerun_hash_differs},
          {"simulated_seconds", r.simulated_seconds},
          {"wall_seconds", r.wall_seconds},
          {"marks", r.marks}};
}

Result<SeedResult> seed_result_from_json(const nlohmann::json& j) {
  SeedResult r;
  try {
    r.seed = j.at("seed").get<std::uint64_t>();
    r.verdict = j.at("verdict").get<std::string>();
    r.trace_hash = j.at("trace_hash").get<std::string>();
    for (const auto& v : j.at("violations")) {
      r.violations.push_back({v.at("check").get<std::string>(), v.at("message").get<std::string>()});
    }
    r.message = j.at("message").get<std::string>();
    r.output = j.at("output").get<std::string>();
    r.reproduce = j.at("reproduce").get<std::string>();
    r.report_dir = j.at("report_dir").get<std::string>();
    r.rerun_hash_differs = j.at("rerun_hash_differs").get<bool>();
    r.simulated_seconds = j.at("simulated_seconds").get<double>();
    r.wall_seconds = j.at("wall_seconds").get<double>();
    r.marks = j.value("marks", coverage::Counts{});  // results written before marks existed have none
  } catch (const nlohmann::json::exception& e) {
    return bad(fmt::format("a seed's result: {}", e.what()));
  }
  if (!verdicts.contains(r.verdict)) {
    return bad(fmt::format("seed {}: verdict '{}' is not one of PASS, FAIL, CRASH, TIMEOUT, ERROR", r.seed, r.verdict));
  }
  return r;
}

Result<Shard> parse_shard(const std::string& text) {
  const auto slash = text.find('/');
  try {
    std::size_t used_index = 0, used_count = 0;
    if (slash != std::string::npos && slash > 0 && text[0] != '-' && text[slash + 1] != '-') {
      const Shard s{std::stoull(text.substr(0, slash), &used_index), std::stoull(text.substr(slash + 1), &used_count)};
      if (used_index == slash && used_count == text.size() - slash - 1 && s.count > 0 && s.index < s.count) return s;
    }
  } catch (const std::exception&) {
  }
  return bad(fmt::format("--shard: '{}' is not i/N with 0 <= i < N (e.g. 0/4 .. 3/4)", text));
}

coverage::CoverageReport SweepResults::coverage() const {
  std::vector<coverage::SeedMarks> runs;
  for (const auto& s : seeds) runs.push_back({s.seed, s.marks_known() ? &s.marks : nullptr});
  return coverage::coverage_of(marks, runs);
}

std::size_t SweepResults::failed() const {
  std::size_t n = 0;
  for (const auto& s : seeds) n += s.passed() ? 0 : 1;
  return n;
}

nlohmann::json to_json(const SweepResults& r) {
  nlohmann::json seeds = nlohmann::json::array();
  for (const auto& s : r.seeds) seeds.push_back(to_json(s));
  return {{"format", results_format},
          {"scenario", r.scenario},
          {"scenario_path", r.scenario_path},
          {"version", r.version},
          {"seeds", {{"first", r.first}, {"last", r.last}}},
          {"shard", {{"index", r.shard.index}, {"count", r.shard.count}}},
          {"passed", r.seeds.size() - r.failed()},
          {"failed", r.failed()},
          {"wall_seconds", r.wall_seconds},
          {"coverage", coverage::to_json(r.coverage())},
          {"results", seeds}};
}

Result<SweepResults> sweep_results_from_json(const nlohmann::json& j) {
  SweepResults r;
  try {
    if (j.at("format").get<std::string>() != results_format) {
      return bad(fmt::format("format '{}' is not {}", j.at("format").get<std::string>(), results_format));
    }
    r.scenario = j.at("scenario").get<std::string>();
    r.scenario_path = j.at("scenario_path").get<std::string>();
    r.version = j.at("version").get<std::string>();
    r.first = j.at("seeds").at("first").get<std::uint64_t>();
    r.last = j.at("seeds").at("last").get<std::uint64_t>();
    r.shard = {j.at("shard").at("index").get<std::uint64_t>(), j.at("shard").at("count").get<std::uint64_t>()};
    r.wall_seconds = j.at("wall_seconds").get<double>();
    for (const auto& s : j.at("results")) {
      auto seed = seed_result_from_json(s);
      if (!seed) return seed.error();
      r.seeds.push_back(std::move(*seed));
    }
    if (j.contains("coverage")) {
      auto marks = coverage::catalogue_from_json(j.at("coverage"));
      if (!marks) return marks.error();
      r.marks = std::move(*marks);
    }
  } catch (const nlohmann::json::exception& e) {
    return bad(e.what());
  }
  if (r.shard.count == 0 || r.shard.index >= r.shard.count) {
    return bad(fmt::format("shard {}/{} is not i/N with 0 <= i < N", r.shard.index, r.shard.count));
  }
  return r;
}

Result<SweepResults> read_sweep_results(const std::string& path) {
  std::ifstream in(path);
  if (!in) return make_error(Errc::not_found, fmt::format("cannot read '{}'", path));
  std::stringstream text;
  text << in.rdbuf();
  const auto j = nlohmann::json::parse(text.str(), nullptr, false);
  if (j.is_discarded()) return bad(fmt::format("{}: not JSON", path));
  auto r = sweep_results_from_json(j);
  if (!r) return bad(fmt::format("{}: {}", path, r.error().message));
  return r;
}

namespace {

// Every file is a shard of the same sweep as the first.
Status same_sweep(const std::vector<SweepResults>& shards, const std::vector<std::string>& names) {
  const SweepResults& a = shards.front();
  for (std::size_t i = 1; i < shards.size(); ++i) {
    const SweepResults& b = shards[i];
    if (b.scenario != a.scenario || b.scenario_path != a.scenario_path) {
      return bad(fmt::format("{} is a sweep of {} ({}), {} of {} ({})", names[0], a.scenario, a.scenario_path, names[i],
                             b.scenario, b.scenario_path));
    }
    if (b.first != a.first || b.last != a.last) {
      return bad(fmt::format("{} holds seeds {}..{}, {} seeds {}..{}", names[0], a.first, a.last, names[i], b.first,
                             b.last));
    }
    if (b.shard.count != a.shard.count) {
      return bad(fmt::format("{} is one of {} shards, {} one of {}", names[0], a.shard.count, names[i], b.shard.count));
    }
  }
  return {};
}

// Each shard index once, and each file holding exactly its shard's seeds.
Status shards_cover(const std::vector<SweepResults>& shards, const std::vector<std::string>& names) {
  const std::uint64_t count = shards.front().shard.count;
  std::map<std::uint64_t, std::size_t> by_index;
  for (std::size_t i = 0; i < shards.size(); ++i) {
    const Shard& s = shards[i].shard;
    if (auto [it, fresh] = by_index.emplace(s.index, i); !fresh) {
      return bad(fmt::format("shards overlap: shard {}/{} is in both {} and {}", s.index, count, names[it->second],
                             names[i]));
    }
  }
  for (std::uint64_t index = 0; index < count; ++index) {
    if (!by_index.contains(index)) return bad(fmt::format("shard {}/{} is missing", index, count));
  }
  for (std::size_t i = 0; i < shards.size(); ++i) {
    const SweepResults& r = shards[i];
    std::size_t expected = 0;
    for (std::uint64_t seed = r.first; seed <= r.last; ++seed) expected += r.shard.contains(r.first, seed) ? 1 : 0;
    for (const auto& s : r.seeds) {
      if (s.seed < r.first || s.seed > r.last || !r.shard.contains(r.first, s.seed)) {
        return bad(fmt::format("{}: seed {} is not in shard {}/{} of {}..{}", names[i], s.seed, r.shard.index, count,
                               r.first, r.last));
      }
    }
    if (r.seeds.size() != expected) {
      return bad(fmt::format("{}: shard {}/{} holds {} results, its share of {}..{} is {} seeds", names[i],
                             r.shard.index, count, r.seeds.size(), r.first, r.last, expected));
    }
  }
  return {};
}

}  // namespace

Result<SweepResults> merge_shards(const std::vector<SweepResults>& shards, const std::vector<std::string>& names) {
  KEEL_ASSERT_EQ(shards.size(), names.size());
  if (shards.empty()) return bad("merge: no results files given");
  if (Status s = same_sweep(shards, names); !s) return s.error();
  if (Status s = shards_cover(shards, names); !s) return s.error();
  SweepResults merged = shards.front();
  merged.shard = Shard{};
  merged.seeds.clear();
  merged.wall_seconds = 0;
  std::map<std::uint64_t, const SeedResult*> by_seed;
  for (std::size_t i = 0; i < shards.size(); ++i) {
    merged.wall_seconds += shards[i].wall_seconds;
    merged.marks = coverage::join_catalogues(merged.marks, shards[i].marks);
    for (const auto& s : shards[i].seeds) {
      if (!by_seed.emplace(s.seed, &s).second) {
        return bad(fmt::format("shards overlap: seed {} is held twice ({})", s.seed, names[i]));
      }
    }
  }
  for (const auto& [seed, result] : by_seed) merged.seeds.push_back(*result);
  return merged;
}

}  // namespace keel::sim::sweep
