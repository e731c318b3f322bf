#pragma once
// A scenario written back as a scenario file: what `keel-sim shrink` writes as the minimal scenario
// and `keel-sim swarm` as the scenario a seed drew. parse_scenario(to_json(s)) gives s back field
// for field (durations are written with the unit that keeps them exact, e.g. "12345678901ns"), so a
// written file reruns the very run it describes. Fields at their default are left out, so a small
// scenario reads small.
#include "broker/base/result.h"
#include "sim/scenario/scenario.h"

#include <nlohmann/json.hpp>

#include <string>

namespace keel::sim::scenario {

nlohmann::ordered_json to_json(const Scenario& s);
nlohmann::ordered_json to_json(const ScriptedFault& f);

// Writes to_json(s) to `path` (creating its folder), two-space indented.
Status write_scenario_file(const Scenario& s, const std::string& path);

}  // namespace keel::sim::scenario
