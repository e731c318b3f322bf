#include "sim/shrink/ddmin.h"

#include <algorithm>

namespace keel::sim::shrink {

namespace {

// `current` split into n chunks of (nearly) equal size, in order.
std::vector<std::vector<std::size_t>> split(const std::vector<std::size_t>& current, std::size_t n) {
  std::vector<std::vector<std::size_t>> chunks;
  std::size_t begin = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t end = begin + (current.size() - begin) / (n - i);
    chunks.emplace_back(current.begin() + static_cast<std::ptrdiff_t>(begin),
                        current.begin() + static_cast<std::ptrdiff_t>(end));
    begin = end;
  }
  return chunks;
}

std::vector<std::size_t> without(const std::vector<std::size_t>& current, const std::vector<std::size_t>& chunk) {
  std::vector<std::size_t> out;
  std::set_difference(current.begin(), current.end(), chunk.begin(), chunk.end(), std::back_inserter(out));
  return out;
}

}  // namespace

std::vector<std::size_t> ddmin(std::size_t items, const FirstFailing& first_failing) {
  std::vector<std::size_t> current(items);
  for (std::size_t i = 0; i < items; ++i) current[i] = i;
  std::size_t n = 2;
  while (current.size() >= 2) {
    n = std::min(n, current.size());
    const auto chunks = split(current, n);
    // A chunk alone still fails: keep only it, and split it in two.
    if (const auto i = first_failing(chunks)) {
      current = chunks[*i];
      n = 2;
      continue;
    }
    // The rest without one chunk still fails: drop that chunk, at the same granularity.
    if (n > 2) {
      std::vector<std::vector<std::size_t>> rests;
      for (const auto& chunk : chunks) rests.push_back(without(current, chunk));
      if (const auto i = first_failing(rests)) {
        current = rests[*i];
        n = std::max<std::size_t>(n - 1, 2);
        continue;
      }
    }
    if (n == current.size()) break;  // every single item is needed: 1-minimal
    n = std::min(current.size(), 2 * n);
  }
  // One item left: it may not be needed at all.
  if (current.size() == 1 && first_failing({{}})) current.clear();
  return current;
}

std::vector<std::size_t> ddmin(std::size_t items, const std::function<bool(const std::vector<std::size_t>&)>& fails,
                               std::size_t tests_max) {
  std::size_t tests = 0;
  const auto one_at_a_time =
      [&](const std::vector<std::vector<std::size_t>>& candidates) -> std::optional<std::size_t> {
    for (std::size_t i = 0; i < candidates.size(); ++i) {
      if (++tests <= tests_max && fails(candidates[i])) return i;
    }
    return std::nullopt;
  };
  return ddmin(items, one_at_a_time);
}

}  // namespace keel::sim::shrink
