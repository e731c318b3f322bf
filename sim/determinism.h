#pragma once
// Localising nondeterminism: given the captured traces of two runs of one seed, the first event
// where they part. FoundationDB compares a final value; naming the event is what makes the bug
// fixable (it points at the task, the time and the fields where behaviour first differed).
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace keel::sim {

struct Divergence {
  std::size_t index = 0;      // the first differing event
  std::string last_common;    // the event just before it, if any
  std::string first_run;      // event `index` of each run, or "<end of trace>"
  std::string second_run;
};

std::optional<Divergence> find_divergence(const std::vector<std::string>& a, const std::vector<std::string>& b);

}  // namespace keel::sim
