#include "sim/coverage/marks.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

namespace keel::sim::coverage {

namespace {

void add_place(MarkInfo& m, const std::string& where) {
  if (std::find(m.where.begin(), m.where.end(), where) == m.where.end()) m.where.push_back(where);
}

std::vector<MarkInfo> sorted(std::map<std::string, MarkInfo> by_name) {
  std::vector<MarkInfo> out;
  for (auto& [name, m] : by_name) {
    std::sort(m.where.begin(), m.where.end());
    out.push_back(std::move(m));
  }
  return out;
}

Error bad(std::string message) { return make_error(Errc::invalid_argument, std::move(message)); }

}  // namespace

std::vector<MarkInfo> binary_catalogue() {
  std::map<std::string, MarkInfo> by_name;
  for (const auto& site : keel::coverage::mark_sites()) {
    MarkInfo& m = by_name[std::string(site.name)];
    m.name = std::string(site.name);
    m.kind = std::string(keel::coverage::mark_kind_name(site.kind));
    add_place(m, fmt::format("{}:{}", keel::coverage::source_path(site.file), site.line));
  }
  return sorted(std::move(by_name));
}

std::vector<MarkInfo> join_catalogues(const std::vector<MarkInfo>& a, const std::vector<MarkInfo>& b) {
  std::map<std::string, MarkInfo> by_name;
  for (const auto* list : {&a, &b}) {
    for (const MarkInfo& m : *list) {
      auto [it, fresh] = by_name.emplace(m.name, m);
      if (!fresh) {
        for (const auto& w : m.where) add_place(it->second, w);
      }
    }
  }
  return sorted(std::move(by_name));
}

std::size_t CoverageReport::reached() const {
  return static_cast<std::size_t>(std::count_if(marks.begin(), marks.end(), [](const auto& m) { return m.runs > 0; }));
}

std::vector<const MarkCoverage*> CoverageReport::never_reached() const {
  std::vector<const MarkCoverage*> out;
  for (const auto& m : marks) {
    if (m.runs == 0) out.push_back(&m);
  }
  return out;
}

CoverageReport coverage_of(const std::vector<MarkInfo>& catalogue, const std::vector<SeedMarks>& runs) {
  std::map<std::string, MarkCoverage> by_name;
  for (const MarkInfo& m : catalogue) by_name[m.name].info = m;
  CoverageReport r;
  for (const SeedMarks& run : runs) {
    if (run.counts == nullptr) continue;
    ++r.runs;
    for (const auto& [name, n] : *run.counts) {
      MarkCoverage& c = by_name[name];
      if (c.info.name.empty()) c.info = MarkInfo{name, "unknown", {}};  // a mark of another binary
      ++c.runs;
      c.hits += n;
      if (c.first_seeds.size() < first_seeds_max) c.first_seeds.push_back(run.seed);
    }
  }
  for (auto& [name, c] : by_name) r.marks.push_back(std::move(c));
  return r;
}

nlohmann::json to_json(const CoverageReport& r) {
  nlohmann::json marks = nlohmann::json::array();
  nlohmann::json never = nlohmann::json::array();
  for (const auto& m : r.marks) {
    marks.push_back({{"name", m.info.name},
                     {"kind", m.info.kind},
                     {"where", m.info.where},
                     {"runs", m.runs},
                     {"hits", m.hits},
                     {"first_seeds", m.first_seeds}});
    if (m.runs == 0) never.push_back(m.info.name);
  }
  return {{"runs", r.runs}, {"marks_total", r.marks.size()}, {"marks_reached", r.reached()},
          {"marks", marks},  {"never_reached", never}};
}

Result<std::vector<MarkInfo>> catalogue_from_json(const nlohmann::json& coverage) {
  std::vector<MarkInfo> out;
  try {
    for (const auto& m : coverage.at("marks")) {
      out.push_back(MarkInfo{m.at("name").get<std::string>(), m.at("kind").get<std::string>(),
                             m.at("where").get<std::vector<std::string>>()});
    }
  } catch (const nlohmann::json::exception& e) {
    return bad(fmt::format("coverage: {}", e.what()));
  }
  return out;
}

void print_coverage(std::FILE* out, const CoverageReport& r) {
  const auto count_kind = [&](const char* kind, bool reached_only) {
    return std::count_if(r.marks.begin(), r.marks.end(),
                         [&](const auto& m) { return m.info.kind == kind && (!reached_only || m.runs > 0); });
  };
  fmt::print(out, "coverage: {} of {} marks reached in {} runs (sometimes {} of {}, always {} of {})\n", r.reached(),
             r.marks.size(), r.runs, count_kind("sometimes", true), count_kind("sometimes", false),
             count_kind("always", true), count_kind("always", false));
  if (r.reached() > 0) {
    fmt::print(out, "  {:<62} {:<9} {:>6} {:>9}  {}\n", "mark reached", "kind", "runs", "hits", "first seeds");
    for (const auto& m : r.marks) {
      if (m.runs == 0) continue;
      fmt::print(out, "  {:<62} {:<9} {:>6} {:>9}  {}\n", m.info.name, m.info.kind, m.runs, m.hits,
                 fmt::join(m.first_seeds, ","));
    }
  }
  const auto never = r.never_reached();
  if (never.empty()) return;
  fmt::print(out, "never reached ({}):\n", never.size());
  for (const auto* m : never) {
    fmt::print(out, "  {:<62} {:<9} {}\n", m->info.name, m->info.kind, fmt::join(m->info.where, " "));
  }
}

}  // namespace keel::sim::coverage
