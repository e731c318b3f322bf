#pragma once
// The nodes of a scenario run inside one world: brokers 0..B-1 running the real broker
// (server::run_broker over each node's simulated runtime) and one client node (id B) for the
// workload. Applies the scenario's scripted faults and heals everything for the quiescence phase.
#include "broker/platform/network.h"
#include "broker/platform/result.h"
#include "broker/server/config.h"
#include "sim/disk.h"
#include "sim/scenario/scenario.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace keel::sim {

class World;

class SimCluster {
 public:
  // `randomized`: config overrides drawn from the seed, applied before the scenario's own.
  SimCluster(World& world, const scenario::Scenario& scenario, std::map<std::string, std::string> randomized);

  // Adds the nodes and checks every broker's config; an error names the broker and the key.
  Status build();
  // Starts every broker process.
  void start_brokers();

  int client_node() const { return brokers_; }
  std::vector<int> broker_nodes() const;
  std::vector<Address> bootstrap() const;
  int node_id(const scenario::NodeRef& ref) const { return ref.client ? brokers_ : ref.broker; }
  std::string node_name(int id) const;

  // Applies one scripted fault now (and schedules its end when it has a duration).
  void apply(const scenario::ScriptedFault& fault);
  // Lifts every network fault, restores every disk and starts every node that is down.
  void heal_all();
  const std::map<std::string, std::uint64_t>& scripted_counts() const { return counts_; }

 private:
  std::string properties_for(int broker) const;
  void unblock_sets(const std::vector<std::vector<int>>& sets);
  void restart(int node);
  void disk_faults(int node, const scenario::ScriptedFault& f);

  World& world_;
  const scenario::Scenario& scenario_;
  std::map<std::string, std::string> randomized_;
  int brokers_ = 0;
  std::vector<server::BrokerConfig> configs_;
  std::map<int, DiskOptions> normal_disk_;
  std::map<std::string, std::uint64_t> counts_;
};

}  // namespace keel::sim
