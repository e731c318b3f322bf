#pragma once
// Swarm testing (Groce, Zhang, Eide, Chen and Regehr, "Swarm Testing", ISSTA 2012): instead of
// every run enabling every feature, each seed draws its own configuration: the cluster's size, its
// topics, its workload, which fault kinds are on at all and at what rates, the broker's knobs. A
// fault kind left out of a run cannot mask a bug another kind exposes, and a run with few kinds
// drives each of them harder.
//
// A swarm space gives the ranges the draw picks from (scenarios/README.md, "Swarm spaces"); the
// whole space is a SwarmSpace left at its defaults. draw_scenario(space, seed) is a pure function
// of the space and the seed, and its result is an ordinary scenario: written to a file it runs with
// `keel-sim run` and shrinks with `keel-sim shrink`.
#include "broker/base/result.h"
#include "broker/base/time.h"
#include "sim/scenario/scenario.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace keel::sim::swarm {

struct IntRange {
  std::int64_t lo = 0, hi = 0;  // inclusive
};
struct NumberRange {
  double lo = 0, hi = 0;  // drawn log-uniformly (rates span orders of magnitude)
};

struct SwarmSpace {
  std::string name = "swarm";  // names the report folder of every drawn scenario
  std::string description;
  std::string source_path;

  // The cluster.
  IntRange brokers{1, 5};
  IntRange controllers{1, 3};                 // capped at the drawn broker count
  double randomize_config_chance = 0.5;       // chance the knobs of sim/cluster/randomize_config are drawn
  IntRange replica_lag_ms{3000, 30000};       // replica.lag.time.max.ms (replicated clusters), log-uniform
  std::map<std::string, std::string> config;  // fixed server.properties settings of every drawn cluster

  // Topics: t0, t1, ...
  IntRange topics{1, 3};
  IntRange partitions{1, 6};
  IntRange replication_factor{1, 3};   // capped at the brokers
  IntRange min_insync_replicas{1, 2};  // a topic config, capped at its replication factor

  // The workload.
  IntRange producers{1, 3};                      // producer entries, each on a topic drawn from the topics
  IntRange producer_count{1, 2};                 // clients per entry
  NumberRange rate{5, 200};                      // records per second per producer
  std::vector<std::int16_t> acks{-1, -1, 1, 0};  // drawn evenly (listed twice: twice as often); -1 is "all"
  IntRange max_in_flight{1, 5};
  IntRange consumers{0, 2};  // consumer entries
  IntRange consumer_count{1, 2};

  // The faults: each kind listed is on with fault_kind_chance, at a rate drawn from fault_rate.
  std::vector<std::string> fault_kinds{"kill",    "power_off", "pause",      "isolate",
                                       "one_way", "clog",      "clock_jump", "reassign"};
  double fault_kind_chance = 0.5;
  NumberRange fault_rate{0.5, 6};   // per simulated minute, per kind
  IntRange faulty_nodes_max{1, 1};  // the fault atlas (capped at the brokers)

  // The run.
  IntRange duration_s{20, 60};
  scenario::QuiescenceSpec quiescence;
  std::vector<std::string> checks;  // empty: every check that applies to the drawn scenario
};

// The random fault kinds a space may list (those of faults.random).
const std::vector<std::string>& random_fault_kinds();

// A swarm space file: {"name": ..., "description": ..., "swarm": {...}}. Keys left out keep the
// whole space's range. Errors name the file, the path and the problem, as scenario errors do.
Result<SwarmSpace> parse_space(std::string_view json_text, std::string_view source_name);
Result<SwarmSpace> load_space(const std::string& path);

// The rate of a random fault kind (one of random_fault_kinds()) in `o`.
double& rate_of(RandomFaultOptions& o, const std::string& kind);

// Whether a producer of `s` may lose what it was told was written with a correct broker: acks 0,
// or acks 1 beside random faults. The no-loss checks do not apply then.
bool lossy_producers(const scenario::Scenario& s);

// The scenario seed `seed` draws from the space (named space.name). Checks that a correct broker
// may fail in the drawn configuration are left out (see scenarios/README.md): a producer with acks
// 0, or acks 1 beside faults, may lose what it was told was written.
scenario::Scenario draw_scenario(const SwarmSpace& space, std::uint64_t seed);

// A dozen characters for a table: "b3c3 t2p5 rf2 acks=all,1 f=kill,pause".
std::string shape(const scenario::Scenario& s);

}  // namespace keel::sim::swarm
