#pragma once
// Broker config knobs drawn from the seed (a scenario's "randomize_config": true), FoundationDB's
// knob randomisation applied to server.properties: each run of a sweep serves its workload with
// segment sizes, roll times, index densities and background intervals of its own, so code paths
// that only the defaults would leave cold get exercised.
//
// Only knobs whose value must not change what a correct broker answers are drawn: durability
// (log.flush.*), retention (log.retention.*), record limits (message.max.bytes) and timestamps
// stay as the scenario sets them. Every value drawn passes parse_broker_config. The runner applies
// these overrides before the scenario's own (so an explicit setting wins) and records them in the
// report. It draws them from a stream of their own (World::stream(-1, "broker-config")), so the
// knobs depend on the seed alone and drawing them shifts no other random choice.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "broker/platform/random.h"

namespace keel::sim::cluster {

// One knob: its server.properties key, the range its values are drawn from, and Kafka's default.
struct ConfigKnob {
  std::string_view key;
  std::int64_t min = 0;
  std::int64_t max = 0;
  std::int64_t kafka_default = 0;
};

// Every knob randomize_broker_config draws, in the order it draws them.
const std::vector<ConfigKnob>& randomized_knobs();

// One value per knob (key -> decimal value): a quarter of the time Kafka's default, a quarter an
// end of the range, otherwise spread evenly over the range's orders of magnitude (so small values
// come up as often as large ones). A pure function of the generator's state.
std::map<std::string, std::string> randomize_broker_config(Random& rng);

}  // namespace keel::sim::cluster
