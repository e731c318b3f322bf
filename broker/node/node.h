#pragma once
// One Keel node: the wiring of its parts. Every node runs the metadata quorum (a controller is a
// voter, a broker-only node an observer); a single node is a one-voter combined node, as in Kafka 4.
// The same code runs in production (keel, over the posix runtime) and inside the simulated world
// (keel-sim, over a node's runtime).
//
//   Node node(rt, config);
//   node.start();   // log dirs checked or formatted, logs recovered, quorum and replicas started, listeners bound
//   node.serve();   // serves until the task is cancelled (node killed, runtime stopped)
//
// Parts, each owned here and handed to the next by reference: the log manager (storage), the
// quorum member (metadata), the replica manager (partition), the Kafka front end (kafka). The node's
// own tasks: the broker lifecycle (registration, heartbeats, controlled shutdown: lifecycle.cpp) and
// the metadata publisher (committed metadata to the replica manager).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "broker/base/result.h"
#include "broker/config/config.h"
#include "broker/platform/network.h"
#include "broker/platform/runtime.h"
#include "broker/platform/sync.h"
#include "broker/protocol/wire.h"

namespace keel::storage {
class LogManager;
}
namespace keel::metadata {
class Quorum;
}
namespace keel::partition {
class ReplicaManager;
}
namespace keel::kafka {
class KafkaServer;
}
namespace keel::group {
class GroupCoordinator;
}

namespace keel::node {

class Node {
 public:
  Node(Runtime& rt, config::BrokerConfig config);
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  // Checks (or formats) the log dirs, opens and recovers the logs, binds the listeners and starts the
  // quorum member, the replica manager and the node's tasks.
  Status start();
  // Accepts connections on every listener until cancelled.
  Status serve();
  // A clean stop: a controlled shutdown (leaderships moved away), then the listeners close, the
  // logs are flushed and their checkpoints written.
  Status shutdown();

  Runtime& runtime() { return rt_; }
  const config::BrokerConfig& config() const { return config_; }
  const std::string& cluster_id() const { return cluster_id_; }
  // Where listeners were actually bound (a configured port 0 picks a free one).
  const std::vector<Address>& bound() const;
  storage::LogManager& logs() { return *logs_; }
  metadata::Quorum& quorum() { return *quorum_; }
  partition::ReplicaManager& replicas() { return *replicas_; }
  group::GroupCoordinator& groups() { return *groups_; }
  kafka::KafkaServer& server() { return *server_; }
  // Whether start() got as far as the replica manager (the simulator's probes ask).
  bool started() const { return started_; }
  // This broker's epoch from its registration with the controller, -1 before it registered.
  std::int64_t broker_epoch() const { return broker_epoch_; }

 private:
  Status open_parts();
  void start_tasks();
  // ---- the broker lifecycle (lifecycle.cpp) ----
  void lifecycle_loop();
  bool register_with_controller();
  void heartbeat();
  // Kafka's controlled shutdown: asks the controller (through the heartbeats) to move this
  // broker's leaderships away and waits until it says to stop, at most `timeout`.
  void controlled_shutdown(Duration timeout);
  // ---- the metadata publisher ----
  void metadata_loop();

  void track(TaskRef task);
  void cancel_tasks();

  Runtime& rt_;
  config::BrokerConfig config_;
  std::string cluster_id_;
  std::unique_ptr<storage::LogManager> logs_;
  std::unique_ptr<metadata::Quorum> quorum_;
  std::unique_ptr<partition::ReplicaManager> replicas_;
  std::unique_ptr<group::GroupCoordinator> groups_;
  std::unique_ptr<kafka::KafkaServer> server_;
  std::vector<TaskRef> tasks_;
  bool started_ = false;

  std::int64_t broker_epoch_ = -1;
  // Set when the metadata is first applied after registration: the front end serves clients from then on.
  Event caught_up_;
  protocol::Uuid incarnation_;
  // Controlled shutdown: heartbeats ask for it, and the controller's answer (leadership moved
  // away) sets the event.
  bool want_shutdown_ = false;
  Event shutdown_approved_;
};

// Starts a node on `rt` and serves until the calling task is cancelled. Start-up errors (a bad or
// foreign log dir, a port in use) come back as the Status.
Status run_node(Runtime& rt, const config::BrokerConfig& config);

}  // namespace keel::node
