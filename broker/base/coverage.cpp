// The catalogue of mark sites and the per-thread recorder behind KEEL_SOMETIMES and KEEL_ALWAYS.
#include "broker/base/coverage.h"

namespace keel::coverage {

namespace {

// A function-local static: sites register from the static initialisers of many files, in an order
// the linker picks, so the catalogue must exist before the first of them whatever that order is.
std::vector<MarkSite>& catalogue() {
  static std::vector<MarkSite> sites;
  return sites;
}

bool valid_name(std::string_view name) {
  if (name.empty()) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
  });
}

}  // namespace

std::string_view mark_kind_name(MarkKind k) { return k == MarkKind::always ? "always" : "sometimes"; }

const std::vector<MarkSite>& mark_sites() { return catalogue(); }

std::string_view source_path(std::string_view file) {
  for (std::string_view top : {"broker/", "sim/", "net-sim/", "tests/", "tools/"}) {
    for (std::size_t at = file.find(top); at != std::string_view::npos; at = file.find(top, at + 1)) {
      if (at == 0 || file[at - 1] == '/') return file.substr(at);
    }
  }
  return file;
}

std::map<std::string, std::uint64_t> MarkCounts::by_name() const {
  std::map<std::string, std::uint64_t> out;
  const auto& sites = mark_sites();
  for (std::size_t i = 0; i < counts_.size() && i < sites.size(); ++i) {
    if (counts_[i] > 0) out[std::string(sites[i].name)] += counts_[i];
  }
  return out;
}

MarkCounts* set_mark_counts(MarkCounts* counts) {
  MarkCounts* previous = detail::mark_counts;
  detail::mark_counts = counts;
  return previous;
}

namespace detail {

std::size_t register_site(std::string_view name, MarkKind kind, std::string_view file, int line) {
  auto& sites = catalogue();
  KEEL_ASSERT_MSG(valid_name(name), "mark name '{}' at {}:{}: use lower case, digits, '.', '_' and '-'", name, file,
                  line);
  for (const MarkSite& s : sites) {
    KEEL_ASSERT_MSG(s.name != name || s.kind == kind, "mark '{}' is a {} at {}:{} and a {} at {}:{}", name,
                    mark_kind_name(s.kind), s.file, s.line, mark_kind_name(kind), file, line);
  }
  sites.push_back(MarkSite{name, kind, file, line});
  return sites.size() - 1;
}

}  // namespace detail
}  // namespace keel::coverage
