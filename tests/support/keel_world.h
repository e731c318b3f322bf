#pragma once
// Keel nodes in a simulated world: a machine that runs a node with a given config, and the world
// most client and protocol tests use, one Keel node (n0, serving clients on n0:9092) and one
// client machine (n1) that runs the test's scripts.
#include <functional>
#include <utility>

#include "broker/config/config.h"
#include "broker/node/node.h"
#include "tests/support/node_config.h"
#include "tests/support/sim_world.h"

namespace keel::test {

// Sets machine `node`'s process to run a Keel node with `config`, and starts it.
inline void start_keel_node(sim::World& world, int node, config::BrokerConfig config) {
  world.node(node).set_main([config = std::move(config)](Runtime& rt) { (void)node::run_node(rt, config); });
  world.node(node).start();
}

// n0 runs a Keel node with `config`; n1 runs the test's client scripts.
class NodeAndClient {
 public:
  explicit NodeAndClient(sim::WorldOptions options, config::BrokerConfig config = single_node_config())
      : world(std::move(options)) {
    add_nodes(world, 2);
    start_keel_node(world, 0, std::move(config));
  }

  // Runs `script` as a fresh process of n1 until it returns; false when `limit` passed first.
  bool run_client(std::function<void(Runtime&)> script, Duration limit) {
    return run_script(world, 1, std::move(script), limit);
  }

  sim::World world;
};

}  // namespace keel::test
