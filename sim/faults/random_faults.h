#pragma once
// Random fault injection: the seed decides when and where each fault strikes. Rates are per
// simulated minute for the whole cluster; each fault heals by itself after a random duration.
// The "fault atlas" rule keeps a run recoverable: at most `faulty_nodes_max` nodes are down,
// paused or cut off at once, so a majority can always make progress when a scenario wants
// liveness.
#include "broker/platform/random.h"
#include "broker/base/time.h"
#include "sim/disk.h"

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace keel::sim {

class World;

struct RandomFaultOptions {
  double kill_per_min = 2;          // kill -9 a process; restarted after restart_delay
  double power_off_per_min = 1;     // power loss: unsynced writes lost or torn; powered on later
  double pause_per_min = 2;         // the process stops running for pause_duration
  double isolate_per_min = 2;       // cut one node off from all others, both ways
  double one_way_per_min = 1;       // block traffic one way between two nodes
  double clog_per_min = 2;          // delay all of a node's traffic for clog_duration
  double clock_jump_per_min = 1;    // the wall clock of a node jumps by up to clock_jump_max
  double disk_faults_per_min = 1;   // a window in which a node's disk flips bits and fails I/O
  double reassign_per_min = 0;      // an operator moves a random partition to random brokers (on_reassign)
  Duration restart_delay_min = 100ms, restart_delay_max = 5s;
  Duration pause_duration_min = 50ms, pause_duration_max = 3s;
  Duration partition_duration_min = 200ms, partition_duration_max = 8s;
  Duration clog_duration_min = 50ms, clog_duration_max = 2s;
  Duration clock_jump_max = 30s;
  Duration disk_fault_window_max = 5s;
  double disk_fault_error_probability = 0.02;     // EIO per operation during a window
  double disk_fault_bit_flip_probability = 0.01;  // flipped bit per read during a window
  int faulty_nodes_max = 1;         // the atlas: never more nodes in trouble at once
};

struct FaultCounts {
  std::map<std::string, std::uint64_t> by_type;  // sorted by name: deterministic output
  std::uint64_t total() const;
};

class RandomFaults {
 public:
  RandomFaults(World& world, std::vector<int> nodes, RandomFaultOptions options);

  // Schedules faults from now until `until`; each heals by itself.
  void start(Instant until);
  // Ends every fault now: heals the network, resumes and restarts nodes, restores disks.
  void heal_all();
  const FaultCounts& counts() const { return counts_; }
  // Carries out a random reassignment (the cluster knows the topics and the brokers); without it
  // reassign_per_min strikes nothing.
  std::function<void()> on_reassign;

 private:
  void schedule_next(Instant until);
  void strike(Instant until);
  int pick_healthy_node();
  bool trouble_budget_left() const;
  void mark(int node, Duration d);
  Duration between(Duration lo, Duration hi);

  void do_kill(int node);
  void do_power_off(int node);
  void do_pause(int node);
  void do_isolate(int node);
  void do_one_way(int node);
  void do_clog(int node);
  void do_clock_jump(int node);
  void do_disk_faults(int node);

  World& world_;
  std::vector<int> nodes_;
  RandomFaultOptions options_;
  Random rng_;
  FaultCounts counts_;
  std::map<int, DiskOptions> normal_disk_;   // each node's disk settings outside fault windows
  std::map<int, Instant> troubled_until_;  // node -> when its current fault ends
  std::uint64_t generation_ = 0;            // bumped by heal_all: pending heals become no-ops
  bool stopped_ = false;
};

}  // namespace keel::sim
