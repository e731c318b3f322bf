#pragma once
// Delta debugging (Zeller and Hildebrandt, "Simplifying and Isolating Failure-Inducing Input",
// 2002): from a set of items whose presence makes a test fail, a subset that still fails and from
// which no single item can be removed without the failure going away (1-minimal). The test is the
// caller's: here, one simulated run of a scenario with those faults.
#include <cstddef>
#include <functional>
#include <optional>
#include <vector>

namespace keel::sim::shrink {

// `first_failing(candidates)`: the index of the first candidate subset, in order, that still
// fails, or nothing. Subsets are indices into the original items, ascending. The caller may test
// the candidates in parallel, so long as it answers with the first in order: the result is then
// the same however many are tested at once. It is never asked about the full set (the caller knows
// it fails), and may be asked about the same subset twice (cache it when a test costs). Once it
// answers nothing to everything (a budget spent), ddmin ends within a few calls, returning the
// smallest failing subset so far.
using FirstFailing = std::function<std::optional<std::size_t>(const std::vector<std::vector<std::size_t>>&)>;
std::vector<std::size_t> ddmin(std::size_t items, const FirstFailing& first_failing);

// The same with one test at a time: `fails(subset)`, called at most `tests_max` times.
std::vector<std::size_t> ddmin(std::size_t items, const std::function<bool(const std::vector<std::size_t>&)>& fails,
                               std::size_t tests_max);

}  // namespace keel::sim::shrink
