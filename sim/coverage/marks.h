#pragma once
// Coverage of the interesting, the harness's side: which of the broker's marks (KEEL_SOMETIMES,
// KEEL_ALWAYS in broker/base/coverage.h) a set of runs reached, how often and by which seeds, and
// which no run reached. A run counts its marks with a RunMarks on its thread; a sweep joins the
// runs' counts with the catalogue of every mark the binary holds.
#include "broker/base/coverage.h"
#include "broker/base/result.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

namespace keel::sim::coverage {

using Counts = std::map<std::string, std::uint64_t>;  // mark name -> times reached in one run

// Counts the marks reached on this thread while it lives (one run of a world).
class RunMarks {
 public:
  RunMarks() : previous_(keel::coverage::set_mark_counts(&counts_)) {}
  ~RunMarks() { keel::coverage::set_mark_counts(previous_); }
  RunMarks(const RunMarks&) = delete;
  RunMarks& operator=(const RunMarks&) = delete;
  Counts counts() const { return counts_.by_name(); }

 private:
  keel::coverage::MarkCounts counts_;
  keel::coverage::MarkCounts* previous_;
};

// One mark of the catalogue: its name, its kind, and where it is ("broker/partition/isr.cpp:58";
// a name at several places lists each).
struct MarkInfo {
  std::string name;
  std::string kind;  // "sometimes" or "always"
  std::vector<std::string> where;
};

// Every mark of this binary, sorted by name.
std::vector<MarkInfo> binary_catalogue();

// Two catalogues as one (a merge of shards): by name, places joined.
std::vector<MarkInfo> join_catalogues(const std::vector<MarkInfo>& a, const std::vector<MarkInfo>& b);

// How a set of runs covered one mark.
struct MarkCoverage {
  MarkInfo info;
  std::uint64_t runs = 0;  // runs that reached it
  std::uint64_t hits = 0;  // times reached, over every run
  std::vector<std::uint64_t> first_seeds;  // the first few seeds (in the order given) that reached it
};

constexpr std::size_t first_seeds_max = 5;

struct CoverageReport {
  std::uint64_t runs = 0;  // runs whose marks were counted (a crashed run's are not)
  std::vector<MarkCoverage> marks;  // the catalogue's marks, then any reached that it lacks; by name
  std::size_t reached() const;
  std::vector<const MarkCoverage*> never_reached() const;
};

struct SeedMarks {
  std::uint64_t seed = 0;
  const Counts* counts = nullptr;  // nullptr: the run's marks are unknown (it crashed)
};

// The coverage of the runs, given in seed order (first_seeds keeps that order).
CoverageReport coverage_of(const std::vector<MarkInfo>& catalogue, const std::vector<SeedMarks>& runs);

nlohmann::json to_json(const CoverageReport& r);
// The catalogue a coverage report was made with (its marks' names, kinds and places).
Result<std::vector<MarkInfo>> catalogue_from_json(const nlohmann::json& coverage);

// "coverage: 31 of 74 marks reached in 200 runs", the reached marks (runs, hits, first seeds) and
// the marks never reached, with where they are.
void print_coverage(std::FILE* out, const CoverageReport& r);

}  // namespace keel::sim::coverage
