#pragma once
// The client side of a scenario run: everything that runs on the client node. It creates the
// topics, runs the scenario's producers and consumers until the end of the main phase, waits for
// the cluster to recover after the faults are healed, probes liveness and reads every partition
// back from the start with a fresh consumer. Every operation goes into the run's History.
//
// The client node may itself be killed by a fault: its main then starts over (topics exist,
// so setup is quick), with fresh client processes; operations cut short stay `info`.
#include "broker/platform/network.h"
#include "broker/platform/runtime.h"
#include "broker/storage/topic_partition.h"
#include "sim/scenario/scenario.h"
#include "sim/workload/group_history.h"
#include "sim/workload/history.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace keel::sim {
class World;
}

namespace keel::sim::workload {

// Keys of the history: every partition of every topic, in scenario order, including those that
// workload.create_partitions adds during the run (a topic's keys are its final partitions).
class KeyTable {
 public:
  explicit KeyTable(const std::vector<scenario::TopicSpec>& topics, const scenario::WorkloadSpec& workload = {});
  int key(const std::string& topic, std::int32_t partition) const;  // -1 when unknown
  const std::vector<std::pair<std::string, std::int32_t>>& all() const { return keys_; }
  std::vector<std::string> names() const;  // "topic-partition" per key

 private:
  std::vector<std::pair<std::string, std::int32_t>> keys_;
  std::map<std::pair<std::string, std::int32_t>, int> index_;
};

struct Context {
  World& world;
  const scenario::Scenario& scenario;
  int client_node = 0;
  std::vector<Address> bootstrap;
  History& history;
  KeyTable keys;
  std::int64_t main_end_ns = 0;   // world time: producers and consumers stop
  std::int64_t recover_ns = 0;    // world time: the final reads and the liveness probe begin
  std::int64_t next_value = 0;    // values are unique across the run
  int next_process = 0;
  bool done = false;              // the final reads ended (in time or not)
  bool final_read_complete = false;
  std::vector<GroupHistory>* groups = nullptr;  // one per workload.groups[] (group_workload.h)
  // topic -> the partitions the client's metadata has shown so far (it only grows): producers and
  // consumers use a partition that workload.create_partitions adds once it shows here.
  std::map<std::string, std::int32_t> visible_partitions = {};
};

// The client node's main: runs until ctx.done.
void client_main(Runtime& rt, Context& ctx);

// The value a record carries: its decimal id, padded with '.' to `record_bytes`; -1 when `bytes`
// is not one of ours.
std::string encode_value(std::int64_t value, int record_bytes);
std::int64_t decode_value(const std::string& bytes);

}  // namespace keel::sim::workload
