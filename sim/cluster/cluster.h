#pragma once
// The nodes of a scenario run inside one world: brokers 0..B-1 running the real broker
// (a node::Node over each node's simulated runtime) and one client node (id B) for the
// workload. Applies the scenario's scripted faults and heals everything for the quiescence phase.
#include "broker/platform/network.h"
#include "broker/platform/random.h"
#include "broker/platform/runtime.h"
#include "broker/base/result.h"
#include "broker/config/config.h"
#include "sim/check/cluster_checks.h"
#include "sim/disk.h"
#include "sim/scenario/scenario.h"

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace keel::node {
class Node;
}

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
  // A random fault's reassignment: a partition of a random topic to random brokers (as many as its
  // replication factor), or, one time in five, cancelling whatever move it has in progress.
  void reassign_random();
  // Lifts every network fault, restores every disk and starts every node that is down.
  void heal_all();
  const std::map<std::string, std::uint64_t>& scripted_counts() const { return counts_; }

  // Every running broker's replicas as they stand (log contents per offset), taken by a task on
  // each broker node: the world must run until `done` says so. Brokers down are skipped.
  struct ReplicaProbe {
    std::vector<check::ClusterObservations::ReplicaSnapshot> snapshots;
    std::vector<check::ClusterObservations::HeldLog> logs;  // every partition log on each broker
    std::map<int, std::uint32_t> pending;  // node -> the incarnation whose probe task has not ended
  };
  // Shared with the probe tasks: a task can outlive the run's wait for it (the run ends first, and
  // the task unwinds when the world goes), and must not write into a probe that is gone.
  void probe_replicas(const std::shared_ptr<ReplicaProbe>& probe, std::string label);
  // Every probe task ended, or died with its process (a kill runs no destructors, so a task that
  // dies says nothing).
  bool probe_done(const ReplicaProbe& probe) const;
  // Each running broker's committed metadata end (one past the last entry it applied).
  std::map<int, std::int64_t> metadata_ends() const;
  // Every partition's assignment in the metadata of the running broker that applied the most
  // ("topic-p" -> replicas, adding, removing); empty without a replicated cluster.
  std::map<std::string, check::ClusterObservations::Assignment> final_assignments() const;
  // The reassignments the scenario asked for, with the answers (filled as they come).
  const std::vector<check::ClusterObservations::Reassignment>& reassignments() const { return reassignments_; }

 private:
  std::string properties_for(int broker) const;
  void run_broker_process(Runtime& rt, int broker, const config::BrokerConfig& config);
  void unblock_sets(const std::vector<std::vector<int>>& sets);
  void restart(int node);
  void graceful_stop(int node);
  void disk_faults(int node, const scenario::ScriptedFault& f);
  // `event_name` must outlive the event (a string literal).
  void reassign(const scenario::ScriptedFault& f, std::string_view event_name);

  World& world_;
  const scenario::Scenario& scenario_;
  std::map<std::string, std::string> randomized_;
  int brokers_ = 0;
  std::vector<config::BrokerConfig> configs_;
  std::map<int, DiskOptions> normal_disk_;
  std::map<std::string, std::uint64_t> counts_;
  std::vector<node::Node*> live_;  // the node object of each running broker node, else null
  Random reassign_random_;             // which broker is asked, and random targets
  std::vector<check::ClusterObservations::Reassignment> reassignments_;
};

}  // namespace keel::sim
