#pragma once
// A run's faults as units the shrinker removes one by one. A unit is what a person would call one
// fault: a kill and the restart that ends it, a pause, a partition with its duration. The random
// faults that struck in a run are read back from its report's timeline (the Fault* events the
// random fault injector traces, with the node, the time and the drawn durations) and written as
// scripted faults, so that the run no longer depends on the random fault stream.
#include "sim/report/report.h"
#include "sim/scenario/scenario.h"

#include <string>
#include <vector>

namespace keel::sim::shrink {

struct FaultUnit {
  std::vector<scenario::ScriptedFault> faults;  // in time order; the first is what the unit is named after
  bool from_random = false;                     // converted from a random fault that struck
};

// The scenario's own scripted faults as units: a kill, power_off or shutdown together with the next
// restart of the same node, everything else alone.
std::vector<FaultUnit> scripted_units(const std::vector<scenario::ScriptedFault>& faults);

// The random faults a run's report shows striking, as scripted units (times from the start of the
// run). A random fault that a scripted fault cannot express, or that had no effect (an isolation of
// the only broker, a zero-length disk fault window), is left out and named in `notes`.
std::vector<FaultUnit> struck_random_faults(const report::Report& report, const scenario::Scenario& scenario,
                                            std::vector<std::string>* notes);

// The units' faults as one schedule in time order (ties keep unit order).
std::vector<scenario::ScriptedFault> flatten(const std::vector<FaultUnit>& units);

// "kill broker-1 at 12.3s (restart at 14s)": one line a person reads.
std::string describe(const FaultUnit& unit);
std::string describe(const scenario::ScriptedFault& fault);

}  // namespace keel::sim::shrink
