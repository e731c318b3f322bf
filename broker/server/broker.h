#pragma once
// One Keel broker: the partition logs of its log dirs, the topics it knows, its listeners, and a task
// per client connection. The same code runs in production (keel, over the posix runtime) and inside
// the simulated world (keel-sim, over a node's runtime).
//
//   auto config = parse_broker_config(text, "server.properties", overrides);
//   run_broker(rt, *config);   // serves until the task is cancelled (node killed, runtime stopped)
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <map>
#include <optional>
#include <vector>

#include "broker/platform/network.h"
#include "broker/base/result.h"
#include "broker/platform/runtime.h"
#include "broker/platform/sync.h"
#include "broker/protocol/errors.h"
#include "broker/config/config.h"
#include "broker/purgatory/purgatory.h"
#include "broker/server/topics.h"
#include "broker/storage/log_manager.h"

namespace keel::metadata {
class Quorum;
struct AlterReassignmentsRequest;
struct AlterReassignmentsReply;
struct ListReassignmentsRequest;
struct ListReassignmentsReply;
}
namespace keel::partition {
class ReplicaManager;
struct IsrProposal;
struct IsrReply;
}

namespace keel::server {

using namespace config;  // transitional: the server splits into kafka/ and node/ next
using purgatory::SystemTimer;
using purgatory::DelayedOperationPurgatory;
using purgatory::DelayedOperation;

class Broker {
 public:
  Broker(Runtime& rt, BrokerConfig config);
  ~Broker();
  Broker(const Broker&) = delete;
  Broker& operator=(const Broker&) = delete;

  // Opens and recovers the logs, loads the topics, creates missing partition logs, binds the listeners.
  Status start();
  // Accepts connections on every listener until cancelled. Each connection gets its own task.
  Status serve();
  // A clean stop: closes listeners, flushes logs and writes their checkpoints.
  Status shutdown();

  Runtime& runtime() { return rt_; }
  const BrokerConfig& config() const { return config_; }
  TopicRegistry& topics() { return *topics_; }
  storage::LogManager& logs() { return *logs_; }
  SystemTimer& timer() { return *timer_; }
  DelayedOperationPurgatory& fetch_purgatory() { return *fetch_purgatory_; }
  // The address clients should use to reach this broker (the first advertised listener).
  const Endpoint& advertised() const;
  std::string cluster_id() const { return cluster_id_; }
  // Where listeners were actually bound (a configured port 0 picks a free one).
  const std::vector<Address>& bound() const { return bound_; }

  // Creates a topic's registry entry and its partition logs. Errors carry the Kafka error to return.
  struct TopicError {
    protocol::ErrorCode code;
    std::string message;
  };
  std::optional<TopicError> create_topic(const std::string& name, std::int32_t partitions,
                                         std::int16_t replication_factor,
                                         const std::map<std::string, std::string>& configs, bool validate_only);
  std::optional<TopicError> delete_topic(const std::string& name);
  // The effective log settings of a topic: broker defaults overridden by the topic's configs.
  Result<storage::LogConfig> topic_log_config(const TopicInfo& topic) const;
  // Wakes delayed fetches waiting on a partition after an append.
  void partition_appended(const std::string& topic, std::int32_t partition);

  // Partition reassignment (AlterPartitionReassignments, ListPartitionReassignments). In a
  // replicated cluster both go to the active controller (kraft.cpp); a single broker holds every
  // partition itself and can only be asked to keep it there. An error value means no controller
  // answered within `timeout`.
  Result<metadata::AlterReassignmentsReply> alter_reassignments(const metadata::AlterReassignmentsRequest& request,
                                                                  Duration timeout);
  Result<metadata::ListReassignmentsReply> list_reassignments(const metadata::ListReassignmentsRequest& request,
                                                                Duration timeout);

  // The replicated cluster (process.roles set, kraft.cpp): this node's member of the metadata
  // quorum, and (broker role) its replica manager. Both nullptr for a single broker.
  metadata::Quorum* quorum() { return quorum_.get(); }
  partition::ReplicaManager* replicas() { return replicas_.get(); }
  // This broker's epoch from its registration with the controller, -1 before it registered.
  std::int64_t broker_epoch() const { return broker_epoch_; }

 private:
  // ---- the replicated cluster (kraft.cpp) ----
  Status start_kraft();
  void start_kraft_tasks();
  void lifecycle_loop();
  void metadata_loop();
  void sync_metadata();
  bool register_with_controller();
  // Kafka's controlled shutdown: asks the controller (through the heartbeats) to move this
  // broker's leaderships away and waits until it says to stop, at most `timeout`.
  void controlled_shutdown(Duration timeout);
  std::optional<TopicError> create_topic_kraft(const std::string& name, std::int32_t partitions,
                                               std::int16_t replication_factor,
                                               const std::map<std::string, std::string>& configs);
  std::optional<TopicError> delete_topic_kraft(const std::string& name);
  partition::IsrReply alter_partition(const partition::IsrProposal& proposal);
  // Waits until the metadata this broker applied satisfies `ready` (a created topic shows up).
  bool await_metadata(const std::function<bool()>& ready, Duration timeout);

  void accept_loop(Listener& listener);
  Status open_topic_logs();
  // Tasks this broker spawned (accept loops, connections): cancelled when it is destroyed, so none
  // outlives the broker it refers to.
  void track(TaskRef task);
  void cancel_tasks();

  Runtime& rt_;
  BrokerConfig config_;
  std::string cluster_id_;
  std::unique_ptr<storage::LogManager> logs_;
  std::unique_ptr<TopicRegistry> topics_;
  std::unique_ptr<SystemTimer> timer_;
  std::unique_ptr<DelayedOperationPurgatory> fetch_purgatory_;
  std::vector<Listener> listeners_;
  std::vector<Address> bound_;
  std::uint64_t connections_accepted_ = 0;
  std::vector<TaskRef> tasks_;

  std::unique_ptr<metadata::Quorum> quorum_;
  std::unique_ptr<partition::ReplicaManager> replicas_;
  std::int64_t broker_epoch_ = -1;
  protocol::Uuid incarnation_;
  // Controlled shutdown: heartbeats ask for it, and the controller's answer (leadership moved
  // away) sets the event.
  bool want_shutdown_ = false;
  Event shutdown_approved_;
  // The partition epoch last handed to the replica manager, per partition.
  std::map<TopicPartition, std::int32_t> applied_partition_epochs_;
};

// Starts a broker on `rt` and serves until the calling task is cancelled. Start-up errors (bad log
// dirs, a port in use) come back as the Status.
Status run_broker(Runtime& rt, const BrokerConfig& config);

// The key purgatories and appends use for one partition.
std::string partition_key(const std::string& topic, std::int32_t partition);

}  // namespace keel::server
