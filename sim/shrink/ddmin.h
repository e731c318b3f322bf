#pragma once
// Delta debugging (Zeller and Hildebrandt, "Simplifying and Isolating Failure-Inducing Input",
// 2002): from a set of items whose presence makes a test fail, a subset that still fails and from
// which no single item can be removed without the failure going away (1-minimal). The test is the
// caller's: here, one simulated run of a scenario with those faults.
#include <cstddef>
#include <functional>
#include <vector>

namespace keel::sim::shrink {

// `fails(subset)` is true when the subset (indices into the original items, ascending) still fails.
// `fails` is never asked about the full set (the caller knows it fails) and may be asked about the
// same subset twice (cache it when a test costs). Stops early, returning the smallest failing
// subset so far, once `fails` has been called `tests_max` times.
std::vector<std::size_t> ddmin(std::size_t items, const std::function<bool(const std::vector<std::size_t>&)>& fails,
                               std::size_t tests_max);

}  // namespace keel::sim::shrink
