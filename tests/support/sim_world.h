#pragma once
// Simulated worlds for tests: a world of a seed, machines added in id order, a process that runs a
// test's script until it returns, and MachineRig, one machine whose processes run test bodies on
// its simulated disk. Task bodies return values and never throw; Catch2 checks run outside them
// (or on values computed before, never across a suspension of the task).
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sim/disk.h"
#include "sim/node.h"
#include "sim/world.h"

namespace keel::test {

// What a world's trace observer gets: time, node, event name and its fields.
using TraceObserver =
    std::function<void(std::int64_t time_ns, int node, std::string_view name, std::string_view fields)>;

inline sim::WorldOptions world_options(std::uint64_t seed) {
  sim::WorldOptions o;
  o.seed = seed;
  return o;
}

// A world of `seed`. `buggify` false: no fault point ever fires (tests that pin exact timings).
inline sim::World make_world(std::uint64_t seed, bool buggify = true) {
  sim::WorldOptions o = world_options(seed);
  o.buggify = buggify;
  return sim::World(o);
}

// Adds machines with ids 0 .. count-1 (named n0, n1, ...), each with `options` but for its id.
inline void add_nodes(sim::World& world, int count, sim::NodeOptions options = {}) {
  for (int i = 0; i < count; ++i) {
    options.id = i;
    world.add_node(options);
  }
}

// Adds the next machine, sets its process to run `main` and starts it.
inline sim::SimNode& add_running_node(sim::World& world, sim::ProcessMain main) {
  sim::NodeOptions options;
  options.id = world.node_count();
  sim::SimNode& node = world.add_node(options);
  node.set_main(std::move(main));
  node.start();
  return node;
}

// Runs `script` as a fresh process of machine `node` (killing the one it has) until the script
// returns; false when `limit` of simulated time passed first.
inline bool run_script(sim::World& world, int node, std::function<void(Runtime&)> script, Duration limit) {
  auto done = std::make_shared<bool>(false);
  world.node(node).set_main([done, script](Runtime& rt) {
    script(rt);
    *done = true;
  });
  if (world.node(node).state() != sim::ProcessState::down) world.node(node).kill();
  world.node(node).start();
  return world.run_while([&] { return !*done; }, world.now() + limit);
}

// Kills every machine's process: a test does it before what the processes' tasks point at goes.
inline void kill_all(sim::World& world) {
  for (int i = 0; i < world.node_count(); ++i) world.node(i).kill();
}

// No faults at all, and a power loss drops every unsynced write: tests turn on what they exercise.
inline sim::DiskOptions quiet_disk() {
  sim::DiskOptions o;
  o.crash_keep_probability = 0;
  o.crash_tear_probability = 0;
  return o;
}

// A power loss that keeps, tears or drops each unsynced write at random (the default model).
inline sim::DiskOptions tearing_disk() {
  sim::DiskOptions o;
  o.crash_keep_probability = 0.3;
  o.crash_tear_probability = 0.4;
  return o;
}

// "ok", or the error of a Result or Status: task bodies keep it, the test checks it.
template <class R>
std::string describe(const R& r) {
  return r.ok() ? "ok" : r.error().message;
}

// One simulated machine (node 0) whose processes run test bodies, for tests of what lives on its
// disk. With `record_events`, the trace events of its processes are kept for events().
class MachineRig {
 public:
  explicit MachineRig(sim::DiskOptions disk = quiet_disk(), std::uint64_t seed = 1, bool record_events = false)
      : events_(std::make_shared<Events>()),
        world_(options(seed, record_events ? events_ : nullptr)),
        node_(world_.add_node(node_options(disk))) {}

  // Starts a fresh process (killing the previous one, powering the machine on if it is off), runs
  // `body` in it and returns once the body has returned. The process stays up.
  void run(const std::function<void(Runtime&)>& body) {
    bool done = false;
    start([&](Runtime& rt) {
      body(rt);
      done = true;
    });
    world_.run_while([&] { return !done; }, world_.now() + std::chrono::hours(24));
    REQUIRE(done);
  }

  // Starts `body` in a fresh process without waiting for it.
  void start(std::function<void(Runtime&)> body) {
    node_.set_main(std::move(body));
    if (node_.state() != sim::ProcessState::down) node_.kill();
    if (node_.powered()) {
      node_.start();
    } else {
      node_.power_on_and_start();
    }
  }

  // Runs world events until `stop()` holds or there are none left.
  void step_until(const std::function<bool()>& stop, std::uint64_t steps_max = 10'000'000) {
    for (std::uint64_t i = 0; i < steps_max && !stop(); ++i) {
      if (!world_.step()) return;
    }
  }
  void steps(std::uint64_t n) {
    for (std::uint64_t i = 0; i < n; ++i) {
      if (!world_.step()) return;
    }
  }
  void power_loss() { node_.power_off(); }

  sim::World& world() { return world_; }
  sim::SimNode& node() { return node_; }
  sim::SimDisk& disk() { return node_.disk(); }
  bool exists(const std::string& file_path) { return disk().contents(file_path).has_value(); }
  // A file's contents as the running process sees them, and as a power loss would leave them.
  std::string contents(const std::string& path) { return disk().contents(path).value_or("<none>"); }
  std::string durable(const std::string& path) { return disk().durable_contents(path).value_or("<none>"); }

  // "name fields" of every recorded event named `name`, in order.
  std::vector<std::string> events(std::string_view name) const {
    std::vector<std::string> out;
    for (const auto& [n, fields] : *events_) {
      if (n == name) out.push_back(n + fields);
    }
    return out;
  }

 private:
  using Events = std::vector<std::pair<std::string, std::string>>;

  static sim::WorldOptions options(std::uint64_t seed, std::shared_ptr<Events> events) {
    sim::WorldOptions o = world_options(seed);
    if (events) {
      o.trace.observer = [events](std::int64_t, int node, std::string_view name, std::string_view fields) {
        if (node == 0) events->emplace_back(std::string(name), std::string(fields));
      };
    }
    return o;
  }
  static sim::NodeOptions node_options(const sim::DiskOptions& disk) {
    sim::NodeOptions o;
    o.id = 0;
    o.disk = disk;
    return o;
  }

  std::shared_ptr<Events> events_;
  sim::World world_;
  sim::SimNode& node_;
};

}  // namespace keel::test
