#include "sim/determinism.h"

namespace keel::sim {

std::optional<Divergence> find_divergence(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  std::size_t i = 0;
  while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
  if (i == a.size() && i == b.size()) return std::nullopt;
  Divergence d;
  d.index = i;
  if (i > 0) d.last_common = a[i - 1];
  d.first_run = i < a.size() ? a[i] : "<end of trace>";
  d.second_run = i < b.size() ? b[i] : "<end of trace>";
  return d;
}

}  // namespace keel::sim
