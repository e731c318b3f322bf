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

std::vector<std::size_t> ddmin(std::size_t items, const std::function<bool(const std::vector<std::size_t>&)>& fails,
                               std::size_t tests_max) {
  std::vector<std::size_t> current(items);
  for (std::size_t i = 0; i < items; ++i) current[i] = i;
  std::size_t tests = 0;
  const auto test = [&](const std::vector<std::size_t>& subset) { return ++tests <= tests_max && fails(subset); };
  std::size_t n = 2;
  while (current.size() >= 2 && tests < tests_max) {
    n = std::min(n, current.size());
    const auto chunks = split(current, n);
    bool reduced = false;
    // A chunk alone still fails: keep only it, and split it in two.
    for (const auto& chunk : chunks) {
      if (test(chunk)) {
        current = chunk;
        n = 2;
        reduced = true;
        break;
      }
    }
    // The rest without one chunk still fails: drop that chunk, at the same granularity.
    for (std::size_t i = 0; !reduced && n > 2 && i < chunks.size(); ++i) {
      const auto rest = without(current, chunks[i]);
      if (test(rest)) {
        current = rest;
        n = std::max<std::size_t>(n - 1, 2);
        reduced = true;
      }
    }
    if (reduced) continue;
    if (n == current.size()) break;  // every single item is needed: 1-minimal
    n = std::min(current.size(), 2 * n);
  }
  // One item left: it may not be needed at all.
  if (current.size() == 1 && tests < tests_max && test({})) current.clear();
  return current;
}

}  // namespace keel::sim::shrink
