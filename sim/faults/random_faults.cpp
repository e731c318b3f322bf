#include "sim/faults/random_faults.h"

#include "net-sim/network.h"
#include "sim/node.h"
#include "sim/world.h"

#include <cmath>

namespace keel::sim {

std::uint64_t FaultCounts::total() const {
  std::uint64_t n = 0;
  for (const auto& [_, c] : by_type) n += c;
  return n;
}

RandomFaults::RandomFaults(World& world, std::vector<int> nodes, RandomFaultOptions options)
    : world_(world), nodes_(std::move(nodes)), options_(options), rng_(world.stream(-1, "random-faults")) {
  for (int n : nodes_) normal_disk_[n] = world_.node(n).disk().options();
}

Duration RandomFaults::between(Duration lo, Duration hi) {
  return Duration(rng_.between(lo.count(), std::max(lo.count(), hi.count())));
}

void RandomFaults::start(Instant until) {
  stopped_ = false;
  schedule_next(until);
}

void RandomFaults::schedule_next(Instant until) {
  const auto& o = options_;
  const double per_min = o.kill_per_min + o.power_off_per_min + o.pause_per_min + o.isolate_per_min +
                         o.one_way_per_min + o.clog_per_min + o.clock_jump_per_min + o.disk_faults_per_min +
                         o.reassign_per_min;
  if (per_min <= 0 || nodes_.empty()) return;
  // Poisson arrivals: exponential gaps with mean one minute / rate.
  const double gap_s = -std::log(1.0 - rng_.unit()) * 60.0 / per_min;
  const Instant next = world_.now() + Duration(static_cast<std::int64_t>(gap_s * 1e9));
  if (next >= until) return;
  const std::uint64_t gen = generation_;
  world_.at(next, [this, until, gen] {
    if (stopped_ || gen != generation_) return;
    strike(until);
    schedule_next(until);
  });
}

bool RandomFaults::trouble_budget_left() const {
  int troubled = 0;
  for (const auto& [node, until] : troubled_until_) {
    if (until > world_.now()) ++troubled;
  }
  return troubled < options_.faulty_nodes_max;
}

int RandomFaults::pick_healthy_node() {
  std::vector<int> healthy;
  for (int n : nodes_) {
    auto it = troubled_until_.find(n);
    if (it == troubled_until_.end() || it->second <= world_.now()) healthy.push_back(n);
  }
  if (healthy.empty()) return -1;
  return healthy[rng_.below(healthy.size())];
}

void RandomFaults::mark(int node, Duration d) { troubled_until_[node] = world_.now() + d; }

void RandomFaults::strike(Instant /*until*/) {
  const auto& o = options_;
  const double rates[] = {o.kill_per_min,    o.power_off_per_min, o.pause_per_min,      o.isolate_per_min,
                          o.one_way_per_min, o.clog_per_min,      o.clock_jump_per_min, o.disk_faults_per_min,
                          o.reassign_per_min};
  double total = 0;
  for (double r : rates) total += r;
  double pick = rng_.unit() * total;
  int kind = 0;
  while (kind < 8 && pick >= rates[kind]) pick -= rates[kind++];
  if (kind == 8) {
    // An operator's move takes no node out: no atlas budget, no node picked.
    ++counts_.by_type["reassign"];
    if (on_reassign) on_reassign();
    return;
  }
  // Clock jumps and clogs do not take a node out; everything else counts against the atlas.
  const bool harmless = kind == 5 || kind == 6;
  if (!harmless && !trouble_budget_left()) {
    ++counts_.by_type["skipped_by_atlas"];
    return;
  }
  const int node = pick_healthy_node();
  if (node < 0) return;
  switch (kind) {
    case 0: do_kill(node); break;
    case 1: do_power_off(node); break;
    case 2: do_pause(node); break;
    case 3: do_isolate(node); break;
    case 4: do_one_way(node); break;
    case 5: do_clog(node); break;
    case 6: do_clock_jump(node); break;
    default: do_disk_faults(node); break;
  }
}

void RandomFaults::do_kill(int node) {
  ++counts_.by_type["kill"];
  const Duration d = between(options_.restart_delay_min, options_.restart_delay_max);
  mark(node, d);
  world_.event("FaultKill", node).detail("restart_in_ns", d.count());
  world_.node(node).kill();
  const std::uint64_t gen = generation_;
  world_.after(d, [this, node, gen] {
    if (gen != generation_) return;
    SimNode& n = world_.node(node);
    if (n.powered() && n.state() == ProcessState::down) n.start();
  });
}

void RandomFaults::do_power_off(int node) {
  ++counts_.by_type["power_off"];
  const Duration d = between(options_.restart_delay_min, options_.restart_delay_max);
  mark(node, d);
  world_.event("FaultPowerOff", node).detail("power_on_in_ns", d.count());
  world_.node(node).power_off();
  const std::uint64_t gen = generation_;
  world_.after(d, [this, node, gen] {
    if (gen != generation_) return;
    SimNode& n = world_.node(node);
    if (!n.powered()) n.power_on_and_start();
  });
}

void RandomFaults::do_pause(int node) {
  ++counts_.by_type["pause"];
  const Duration d = between(options_.pause_duration_min, options_.pause_duration_max);
  mark(node, d);
  world_.event("FaultPause", node).detail("duration_ns", d.count());
  world_.node(node).pause(d);
}

void RandomFaults::do_isolate(int node) {
  ++counts_.by_type["isolate"];
  const Duration d = between(options_.partition_duration_min, options_.partition_duration_max);
  mark(node, d);
  world_.event("FaultIsolate", node).detail("duration_ns", d.count());
  auto& net = world_.net();
  for (int other : nodes_) {
    if (other == node) continue;
    net.block(node, other);
    net.block(other, node);
  }
  const std::uint64_t gen = generation_;
  world_.after(d, [this, node, gen] {
    if (gen != generation_) return;
    for (int other : nodes_) {
      if (other == node) continue;
      world_.net().unblock(node, other);
      world_.net().unblock(other, node);
    }
  });
}

void RandomFaults::do_one_way(int node) {
  if (nodes_.size() < 2) return;
  ++counts_.by_type["one_way"];
  int other = node;
  while (other == node) other = nodes_[rng_.below(nodes_.size())];
  const Duration d = between(options_.partition_duration_min, options_.partition_duration_max);
  mark(node, d);
  world_.event("FaultOneWay", node).detail("to", other).detail("duration_ns", d.count());
  world_.net().block(node, other);
  const std::uint64_t gen = generation_;
  world_.after(d, [this, node, other, gen] {
    if (gen == generation_) world_.net().unblock(node, other);
  });
}

void RandomFaults::do_clog(int node) {
  ++counts_.by_type["clog"];
  const Duration d = between(options_.clog_duration_min, options_.clog_duration_max);
  world_.event("FaultClog", node).detail("duration_ns", d.count());
  world_.net().clog(node, d);
}

void RandomFaults::do_clock_jump(int node) {
  ++counts_.by_type["clock_jump"];
  const std::int64_t max = options_.clock_jump_max.count();
  const Duration by(rng_.between(-max, max));
  world_.event("FaultClockJump", node).detail("by_ns", by.count());
  world_.node(node).clock().jump_wall(by);
}

void RandomFaults::do_disk_faults(int node) {
  ++counts_.by_type["disk_faults"];
  const Duration d = between(Duration(0), options_.disk_fault_window_max);
  mark(node, d);
  SimDisk& disk = world_.node(node).disk();
  const DiskOptions normal = normal_disk_.at(node);
  DiskOptions faulty = normal;
  faulty.read_error_probability = options_.disk_fault_error_probability;
  faulty.write_error_probability = options_.disk_fault_error_probability;
  faulty.sync_error_probability = options_.disk_fault_error_probability;
  faulty.read_bit_flip_probability = options_.disk_fault_bit_flip_probability;
  world_.event("FaultDisk", node).detail("duration_ns", d.count());
  disk.set_options(faulty);
  world_.after(d, [&disk, normal] { disk.set_options(normal); });
}

void RandomFaults::heal_all() {
  stopped_ = true;
  ++generation_;
  world_.event("FaultHealAll");
  world_.net().heal_all();
  for (int node : nodes_) {
    SimNode& n = world_.node(node);
    if (!n.powered()) {
      n.power_on_and_start();
    } else if (n.state() == ProcessState::down) {
      n.start();
    }
  }
  for (const auto& [node, normal] : normal_disk_) world_.node(node).disk().set_options(normal);
  troubled_until_.clear();
}

}  // namespace keel::sim
