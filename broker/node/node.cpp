#include "broker/node/node.h"

#include <fmt/format.h>

#include "broker/base/assert.h"
#include "broker/group/group_coordinator.h"
#include "broker/kafka/group_client.h"
#include "broker/kafka/server.h"
#include "broker/metadata/quorum.h"
#include "broker/node/log_dirs.h"
#include "broker/partition/replica_manager.h"
#include "broker/storage/log_manager.h"

namespace keel::node {

namespace {

std::string metadata_dir(const config::BrokerConfig& config) {
  const std::string base = config.metadata_log_dir.empty() ? config.log_dirs.front() : config.metadata_log_dir;
  return base + "/" + std::string(storage::metadata_log_dir_name);
}

// The listener other brokers reach this one on: inter.broker.listener.name, else the first
// advertised listener.
const config::Endpoint& inter_broker_endpoint(const config::BrokerConfig& config) {
  for (const auto& e : config.advertised_listeners) {
    if (e.listener_name == config.inter_broker_listener_name) return e;
  }
  return config.advertised_listeners.front();
}

metadata::QuorumOptions quorum_options(const config::BrokerConfig& config, std::uint64_t seed) {
  metadata::QuorumOptions o;
  o.node_id = config.node_id;
  for (const auto& v : config.controller_quorum_voters) o.voters[v.id] = Address{v.host, v.port};
  o.voter = config.has_role("controller");
  o.dir = o.voter ? metadata_dir(config) : std::string();
  o.election_timeout_ms = config.quorum_election_timeout_ms;
  o.fetch_timeout_ms = config.quorum_fetch_timeout_ms;
  o.election_backoff_max_ms = config.quorum_election_backoff_max_ms;
  o.request_timeout_ms = config.quorum_request_timeout_ms;
  o.controller.broker_session_timeout_ms = config.broker_session_timeout_ms;
  o.controller.unclean_leader_election_enable = config.log.unclean_leader_election;
  o.controller.default_partitions = config.num_partitions;
  o.controller.default_replication_factor = config.default_replication_factor;
  o.leader_imbalance_check_interval_ms = config.leader_imbalance_check_interval_seconds * 1000;
  o.auto_leader_rebalance = config.auto_leader_rebalance_enable;
  o.snapshot_every_bytes = config.metadata_snapshot_bytes;
  o.seed = seed;
  return o;
}

partition::ReplicaManagerOptions replica_options(const config::BrokerConfig& config) {
  partition::ReplicaManagerOptions o;
  o.broker_id = config.node_id;
  o.inter_broker_listener = inter_broker_endpoint(config).listener_name;
  o.replica_lag_time_max_ms = config.replica_lag_time_max_ms;
  o.replica_fetch_wait_max = std::chrono::milliseconds(config.replica_fetch_wait_max_ms);
  o.replica_fetch_max_bytes = config.replica_fetch_max_bytes;
  o.replica_fetch_backoff = std::chrono::milliseconds(config.replica_fetch_backoff_ms);
  o.request_timeout = std::chrono::milliseconds(config.quorum_request_timeout_ms) + o.replica_fetch_wait_max;
  o.controller_timeout = std::chrono::milliseconds(config.quorum_request_timeout_ms);
  o.high_watermark_checkpoint_interval = std::chrono::milliseconds(config.replica_high_watermark_checkpoint_interval_ms);
  o.isr_check_interval = std::chrono::milliseconds(std::max<std::int64_t>(1, config.replica_lag_time_max_ms / 2));
  o.log_defaults = config.log;
  return o;
}

group::GroupCoordinatorOptions group_options(const config::BrokerConfig& config) {
  group::GroupCoordinatorOptions o;
  o.offsets_partitions = config.offsets_topic_num_partitions;
  o.offsets_replication_factor = config.offsets_topic_replication_factor;
  o.offsets_segment_bytes = config.offsets_topic_segment_bytes;
  o.commit_timeout = std::chrono::milliseconds(config.offsets_commit_timeout_ms);
  o.writes_in_flight = config.coordinator_writes_in_flight;
  o.group.initial_rebalance_delay_ms = config.group_initial_rebalance_delay_ms;
  o.group.min_session_timeout_ms = config.group_min_session_timeout_ms;
  o.group.max_session_timeout_ms = config.group_max_session_timeout_ms;
  o.group.max_size = config.group_max_size;
  o.group.consumer_session_timeout_ms = config.group_consumer_session_timeout_ms;
  o.group.consumer_heartbeat_interval_ms = config.group_consumer_heartbeat_interval_ms;
  return o;
}

storage::LogManager::Options log_options(const config::BrokerConfig& config) {
  storage::LogManager::Options options;
  options.log_dirs = config.log_dirs;
  // Logs open with the broker's settings; the replica manager applies each topic's overrides as
  // soon as the metadata names the partition.
  options.defaults = config.log;
  options.retention_check_interval = std::chrono::milliseconds(config.log_retention_check_interval_ms);
  options.initial_task_delay = std::chrono::milliseconds(config.log_initial_task_delay_ms);
  options.checkpoint_interval = std::chrono::milliseconds(config.log_flush_offset_checkpoint_interval_ms);
  return options;
}

}  // namespace

Node::Node(Runtime& rt, config::BrokerConfig config) : rt_(rt), config_(std::move(config)) {
  KEEL_ASSERT_MSG(!config_.process_roles.empty() && !config_.controller_quorum_voters.empty(),
                  "node {}: a config without process.roles or voters passed validation", config_.node_id);
}

Node::~Node() {
  cancel_tasks();
  server_.reset();
  groups_.reset();
  replicas_.reset();
  quorum_.reset();
}

void Node::track(TaskRef task) {
  auto& executor = rt_.executor();
  std::erase_if(tasks_, [&](TaskRef t) { return !executor.alive(t); });
  tasks_.push_back(task);
}

void Node::cancel_tasks() {
  auto& executor = rt_.executor();
  const TaskRef self = Executor::current_task();
  for (auto it = tasks_.rbegin(); it != tasks_.rend(); ++it) {
    if (it->id != self.id && executor.alive(*it)) executor.cancel(*it);
  }
  tasks_.clear();
}

const std::vector<Address>& Node::bound() const {
  KEEL_ASSERT(server_ != nullptr);
  return server_->bound();
}

Status Node::open_parts() {
  auto cluster_id = prepare_log_dirs(rt_, config_);
  if (!cluster_id) return cluster_id.error();
  cluster_id_ = std::move(*cluster_id);
  auto logs = storage::LogManager::open(rt_, log_options(config_));
  if (!logs) return logs.error();
  logs_ = std::move(*logs);
  for (auto& b : incarnation_.bytes) b = static_cast<std::uint8_t>(rt_.random().below(256));
  quorum_ = std::make_unique<metadata::Quorum>(rt_, quorum_options(config_, rt_.random().next()));
  replicas_ = std::make_unique<partition::ReplicaManager>(rt_, replica_options(config_), *logs_, *quorum_);
  auto groups = group_options(config_);
  groups.topics = [quorum = quorum_.get()] { return kafka::topics_view(quorum->image()); };
  groups_ = std::make_unique<group::GroupCoordinator>(rt_, *replicas_, std::move(groups));
  server_ = std::make_unique<kafka::KafkaServer>(
      kafka::BrokerServices{rt_, config_, cluster_id_, *quorum_, *replicas_, *groups_, caught_up_});
  return server_->bind();
}

Status Node::start() {
  KEEL_ASSERT(!started_);
  if (auto st = open_parts(); !st) return st;
  // Started once the listeners are bound, so peers can reach the quorum member at once.
  if (auto st = quorum_->start(); !st) return st;
  start_tasks();
  logs_->start();
  started_ = true;
  rt_.trace("NodeStarted")
      .detail("NodeId", config_.node_id)
      .detail("Roles", fmt::format("{}", fmt::join(config_.process_roles, ",")))
      .detail("Listener", bound().empty() ? std::string() : bound().front().to_string())
      .detail("Partitions", logs_->partitions().size());
  return {};
}

void Node::start_tasks() {
  if (!config_.has_role("broker")) {  // a controller-only node holds no partitions, and has nothing to catch up
    caught_up_.set();
    return;
  }
  replicas_->start(config_.log_dirs);
  track(rt_.spawn("metadata-publisher", [this] { metadata_loop(); }));
  track(rt_.spawn("broker-lifecycle", [this] { lifecycle_loop(); }));
}

Status Node::serve() {
  server_->serve();
  return {};
}

Status Node::shutdown() {
  if (config_.has_role("broker")) controlled_shutdown(std::chrono::seconds(30));
  cancel_tasks();
  if (server_) server_->stop();
  if (groups_) groups_->stop();
  if (replicas_) (void)replicas_->shutdown();
  if (quorum_) quorum_->stop();
  return logs_ ? logs_->shutdown() : Status{};
}

// As Kafka's broker: replicas act on the metadata only once this incarnation is registered and has
// applied the metadata up to its own registration. Before that the image may still name this broker
// the leader of partitions the controller is moving away from its previous incarnation; leading them
// now from a log a power loss shortened would make followers truncate acknowledged records.
void Node::metadata_loop() {
  std::int64_t seen = -2;
  for (;;) {
    const bool caught_up = broker_epoch_ >= 0 && quorum_->applied_offset() >= broker_epoch_;
    if (caught_up && quorum_->applied_offset() != seen) {
      seen = quorum_->applied_offset();
      // Leaderships of __consumer_offsets partitions load and unload the group coordinator's shards.
      groups_->on_role_changes(replicas_->apply_image(quorum_->image()));
      if (!caught_up_.is_set()) {
        KEEL_ASSERT(broker_epoch_ >= 0 && seen >= broker_epoch_);  // registered, and applied past it
        caught_up_.set();
        rt_.trace("BrokerCaughtUp").detail("NodeId", config_.node_id).detail("AppliedOffset", seen);
      }
      continue;  // applying may have waited: look again before sleeping
    }
    quorum_->image_changed().wait(rt_.now() + std::chrono::seconds(1));
  }
}

Status run_node(Runtime& rt, const config::BrokerConfig& config) {
  Node node(rt, config);
  if (auto st = node.start(); !st) {
    rt.trace("NodeStartFailed", Severity::error).detail("Error", st.error().message);
    return st;
  }
  return node.serve();
}

}  // namespace keel::node
