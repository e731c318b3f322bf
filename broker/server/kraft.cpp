// The replicated cluster's side of a Broker (process.roles set): its member of the metadata quorum,
// its registration and heartbeats with the active controller (Kafka's BrokerLifecycleManager), the
// metadata image mirrored into the topic registry and handed to the replica manager partition by
// partition, and topic creation and deletion forwarded to the controller.
#include <fmt/format.h>

#include "broker/metadata/quorum.h"
#include "broker/metadata/rpc.h"
#include "broker/partition/replica_manager.h"
#include "broker/server/broker.h"

namespace keel::server {

using protocol::ErrorCode;

namespace {

std::string metadata_dir(const BrokerConfig& config) {
  const std::string base = config.metadata_log_dir.empty() ? config.log_dirs.front() : config.metadata_log_dir;
  return base + "/" + std::string(storage::metadata_log_dir_name);
}


// The listener other brokers reach this one on: inter.broker.listener.name, else the first
// advertised listener.
const Endpoint& inter_broker_endpoint(const BrokerConfig& config) {
  for (const auto& e : config.advertised_listeners) {
    if (e.listener_name == config.inter_broker_listener_name) return e;
  }
  return config.advertised_listeners.front();
}

metadata::QuorumOptions quorum_options(const BrokerConfig& config, std::uint64_t seed) {
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

partition::ReplicaManagerOptions replica_options(const BrokerConfig& config) {
  partition::ReplicaManagerOptions o;
  o.broker_id = config.node_id;
  o.replica_lag_time_max_ms = config.replica_lag_time_max_ms;
  o.replica_fetch_wait_max = std::chrono::milliseconds(config.replica_fetch_wait_max_ms);
  o.replica_fetch_max_bytes = config.replica_fetch_max_bytes;
  o.replica_fetch_backoff = std::chrono::milliseconds(config.replica_fetch_backoff_ms);
  o.request_timeout = std::chrono::milliseconds(config.quorum_request_timeout_ms) + o.replica_fetch_wait_max;
  o.high_watermark_checkpoint_interval = std::chrono::milliseconds(config.replica_high_watermark_checkpoint_interval_ms);
  o.isr_check_interval = std::chrono::milliseconds(std::max<std::int64_t>(1, config.replica_lag_time_max_ms / 2));
  return o;
}

}  // namespace

Status Broker::start_kraft() {
  if (config_.controller_quorum_voters.empty()) {
    return make_error(Errc::invalid_argument, "process.roles is set but controller.quorum.voters is empty");
  }
  for (auto& b : incarnation_.bytes) b = static_cast<std::uint8_t>(rt_.random().below(256));
  quorum_ = std::make_unique<metadata::Quorum>(rt_, quorum_options(config_, rt_.random().next()));
  if (config_.has_role("broker")) {
    partition::ReplicaManagerHooks hooks;
    hooks.broker_address = [this](std::int32_t id) -> std::optional<Address> {
      const auto* reg = quorum_->image().broker(id);
      if (reg == nullptr) return std::nullopt;
      const std::string& name = inter_broker_endpoint(config_).listener_name;
      for (const auto& e : reg->endpoints) {
        if (e.listener == name) return Address{e.host, e.port};
      }
      if (reg->endpoints.empty()) return std::nullopt;
      return Address{reg->endpoints.front().host, reg->endpoints.front().port};
    };
    hooks.broker_epoch = [this] { return broker_epoch_; };
    hooks.isr_eligible = [this](std::int32_t id, std::int64_t epoch) {
      const auto* reg = quorum_->image().broker(id);
      return reg != nullptr && reg->active() && (epoch < 0 || epoch == reg->epoch);
    };
    hooks.alter_partition = [this](const partition::IsrProposal& p) { return alter_partition(p); };
    hooks.log = [this](const TopicPartition& tp) -> storage::Log* {
      if (storage::Log* log = logs_->get(tp)) return log;
      const TopicInfo* topic = topics_->find(tp.topic);
      auto config = topic != nullptr ? topic_log_config(*topic) : Result<storage::LogConfig>(config_.log);
      auto created = logs_->create(tp, config ? *config : config_.log);
      return created ? *created : nullptr;
    };
    hooks.min_insync_replicas = [this](const std::string& topic) {
      const TopicInfo* info = topics_->find(topic);
      auto config = info != nullptr ? topic_log_config(*info) : Result<storage::LogConfig>(config_.log);
      return config ? config->min_insync_replicas : config_.log.min_insync_replicas;
    };
    hooks.high_watermark_moved = [this](const TopicPartition& tp) {
      fetch_purgatory_->check_and_complete(partition_key(tp.topic, tp.partition));
    };
    replicas_ = std::make_unique<partition::ReplicaManager>(rt_, replica_options(config_), std::move(hooks));
  }
  return {};
}

// Started once the listeners are bound, so peers can reach the quorum member at once.
void Broker::start_kraft_tasks() {
  if (auto st = quorum_->start(); !st) {
    rt_.trace("QuorumStartFailed", Severity::error).detail("Error", st.error().message);
    return;
  }
  if (!replicas_) return;
  replicas_->start(config_.log_dirs);
  track(rt_.spawn("metadata-listener", [this] { metadata_loop(); }));
  track(rt_.spawn("broker-lifecycle", [this] { lifecycle_loop(); }));
}

// ---- registration and heartbeats ----

bool Broker::register_with_controller() {
  metadata::RegisterBrokerRequest request;
  request.broker_id = config_.node_id;
  request.incarnation = incarnation_;
  for (const auto& e : config_.advertised_listeners) request.endpoints.push_back({e.listener_name, e.host, e.port});
  const auto deadline = rt_.now() + std::chrono::milliseconds(config_.quorum_request_timeout_ms);
  auto reply = quorum_->call(request, deadline);
  if (!reply && reply.code() != Errc::corrupt) return false;
  if (!reply || reply->error != ErrorCode::none) {
    rt_.trace("BrokerRegistrationRefused", Severity::warn)
        .detail("Error", reply ? std::string(protocol::error_name(reply->error)) : reply.error().message);
    return false;
  }
  broker_epoch_ = reply->broker_epoch;
  rt_.trace("BrokerRegistered").detail("NodeId", config_.node_id).detail("BrokerEpoch", broker_epoch_);
  return true;
}

void Broker::lifecycle_loop() {
  const Duration interval = std::chrono::milliseconds(config_.broker_heartbeat_interval_ms);
  for (;;) {
    while (broker_epoch_ < 0) {
      if (register_with_controller()) break;
      rt_.sleep_for(interval / 4);
    }
    metadata::HeartbeatRequest request;
    request.broker_id = config_.node_id;
    request.broker_epoch = broker_epoch_;
    request.current_metadata_offset = quorum_->applied_offset();
    request.want_shutdown = want_shutdown_;
    const auto deadline = rt_.now() + std::chrono::milliseconds(config_.quorum_request_timeout_ms);
    auto reply = quorum_->call(request, deadline);
    if (!reply && reply.code() != Errc::corrupt && want_shutdown_) {
      // No controller answers (the rest of the cluster may be stopping too): nobody can take the
      // leaderships over, so waiting longer helps no one.
      shutdown_approved_.set();
    }
    if (reply && reply->error == ErrorCode::stale_broker_epoch) {
      broker_epoch_ = -1;  // the controller forgot us (or we it): register again
      continue;
    }
    if (reply && reply->error == ErrorCode::none && want_shutdown_ && reply->should_shut_down) {
      shutdown_approved_.set();
    }
    // While shutting down, ask often: the controller moves leadership as soon as it hears.
    rt_.sleep_for(want_shutdown_ ? interval / 4 : interval);
  }
}

partition::IsrReply Broker::alter_partition(const partition::IsrProposal& proposal) {
  partition::IsrReply out;
  out.error = ErrorCode::unknown_topic_or_partition;
  const auto* topic = quorum_->image().topic(proposal.tp.topic);
  if (topic == nullptr) return out;
  metadata::AlterPartitionRequest request;
  request.broker_id = config_.node_id;
  request.broker_epoch = broker_epoch_;
  request.topic_id = topic->id;
  request.partition = proposal.tp.partition;
  request.leader_epoch = proposal.leader_epoch;
  request.partition_epoch = proposal.partition_epoch;
  for (std::int32_t id : proposal.isr) {
    const auto* reg = quorum_->image().broker(id);
    request.new_isr.push_back({id, reg != nullptr ? reg->epoch : -1});
  }
  const auto deadline = rt_.now() + std::chrono::milliseconds(config_.quorum_request_timeout_ms);
  auto reply = quorum_->call(request, deadline);
  out.error = ErrorCode::request_timed_out;
  if (!reply) return out;
  out.error = reply->error;
  out.isr = reply->isr;
  out.leader_epoch = reply->leader_epoch;
  out.partition_epoch = reply->partition_epoch;
  return out;
}

void Broker::controlled_shutdown(Duration timeout) {
  if (broker_epoch_ < 0) return;  // never registered: nothing to hand over
  want_shutdown_ = true;
  const bool approved = shutdown_approved_.wait(rt_.now() + timeout);
  rt_.trace("ControlledShutdown").detail("NodeId", config_.node_id).detail("Approved", approved);
}

// ---- following the metadata ----

void Broker::metadata_loop() {
  std::int64_t seen = -2;
  for (;;) {
    // As Kafka's broker: replicas act on the metadata only once this incarnation is registered and
    // has applied the metadata up to its own registration. Before that the image may still name
    // this broker the leader of partitions the controller is moving away from its previous
    // incarnation; leading them now from a log a power loss shortened would make followers
    // truncate acknowledged records.
    const bool caught_up = broker_epoch_ >= 0 && quorum_->applied_offset() >= broker_epoch_;
    if (caught_up && quorum_->applied_offset() != seen) {
      seen = quorum_->applied_offset();
      sync_metadata();
      continue;  // applying may have waited: look again before sleeping
    }
    quorum_->image_changed().wait(rt_.now() + std::chrono::seconds(1));
  }
}

// Mirrors the image's topics into the registry and hands every partition whose partition epoch
// moved to the replica manager.
void Broker::sync_metadata() {
  const metadata::MetadataImage& image = quorum_->image();
  std::vector<std::string> gone;
  for (const auto& [name, info] : topics_->all()) {
    if (image.topic(name) == nullptr) gone.push_back(name);
  }
  for (const auto& name : gone) {
    const std::int32_t partitions = topics_->find(name)->partitions;
    (void)topics_->remove(name);
    for (std::int32_t p = 0; p < partitions; ++p) {
      TopicPartition tp{name, p};
      replicas_->remove(tp);
      applied_partition_epochs_.erase(tp);
      if (logs_->get(tp) != nullptr) (void)logs_->remove(tp);
      fetch_purgatory_->check_and_complete(partition_key(name, p));
    }
    rt_.trace("TopicDeleted").detail("Topic", name);
  }
  std::vector<partition::PartitionAssignment> changed;
  for (const auto& [id, topic] : image.topics()) {
    if (topics_->find(topic.name) == nullptr) {
      const auto rf = topic.partitions.empty() ? 1 : topic.partitions.begin()->second.replicas.size();
      (void)topics_->add(TopicInfo{topic.name, topic.id, static_cast<std::int32_t>(topic.partitions.size()),
                                   static_cast<std::int16_t>(rf), topic.configs});
    }
    for (const auto& [index, partition] : topic.partitions) {
      TopicPartition tp{topic.name, index};
      auto it = applied_partition_epochs_.find(tp);
      if (it != applied_partition_epochs_.end() && it->second == partition.partition_epoch) continue;
      applied_partition_epochs_[tp] = partition.partition_epoch;
      changed.push_back({tp, partition.replicas, partition.isr, partition.leader, partition.leader_epoch,
                         partition.partition_epoch});
    }
  }
  // apply() may wait (a partition busy appending); the image may move on meanwhile, which the
  // next round picks up.
  for (const auto& a : changed) {
    replicas_->apply(a);
    // A replica reassigned away (or away while this broker was down) is deleted, as Kafka does
    // once a partition leaves a broker.
    const bool replica = std::find(a.replicas.begin(), a.replicas.end(), config_.node_id) != a.replicas.end();
    if (!replica && logs_->get(a.tp) != nullptr) {
      replicas_->remove(a.tp);
      if (auto st = logs_->remove(a.tp); !st) {
        rt_.trace("ReplicaDeleteFailed", Severity::warn).detail("Partition", a.tp.to_string()).detail("Error", st.error().message);
      } else {
        rt_.trace("ReplicaDeleted").detail("Partition", a.tp.to_string()).detail("LeaderEpoch", a.leader_epoch);
      }
    }
  }
}

bool Broker::await_metadata(const std::function<bool()>& ready, Duration timeout) {
  const Instant deadline = rt_.now() + timeout;
  while (!ready()) {
    if (rt_.now() >= deadline) return false;
    quorum_->image_changed().wait(std::min(deadline, rt_.now() + std::chrono::milliseconds(100)));
  }
  return true;
}

// ---- topics, through the controller ----

std::optional<Broker::TopicError> Broker::create_topic_kraft(const std::string& name, std::int32_t partitions,
                                                             std::int16_t replication_factor,
                                                             const std::map<std::string, std::string>& configs) {
  metadata::CreateTopicRequest request{name, partitions, replication_factor, configs};
  const auto timeout = std::chrono::milliseconds(config_.quorum_request_timeout_ms) * 5;
  auto reply = quorum_->call(request, rt_.now() + timeout);
  if (!reply) {
    const bool unreadable = reply.code() == Errc::corrupt;
    return TopicError{unreadable ? ErrorCode::unknown_server_error : ErrorCode::request_timed_out,
                      reply.error().message};
  }
  if (reply->error != ErrorCode::none) return TopicError{reply->error, reply->message};
  // Kafka answers once the records are committed; this broker answers once it has applied them
  // too, so the client's next Metadata request here finds the topic.
  const auto id = reply->topic_id;
  await_metadata([&] { return quorum_->image().topic(id) != nullptr; }, timeout);
  rt_.trace("TopicCreated").detail("Topic", name).detail("Partitions", partitions);
  return std::nullopt;
}

std::optional<Broker::TopicError> Broker::delete_topic_kraft(const std::string& name) {
  const auto timeout = std::chrono::milliseconds(config_.quorum_request_timeout_ms) * 5;
  auto reply = quorum_->call(metadata::DeleteTopicRequest{name}, rt_.now() + timeout);
  if (!reply) {
    const bool unreadable = reply.code() == Errc::corrupt;
    return TopicError{unreadable ? ErrorCode::unknown_server_error : ErrorCode::request_timed_out,
                      reply.error().message};
  }
  const ErrorCode code = reply->error;
  if (code != ErrorCode::none) return TopicError{code, fmt::format("Topic '{}': {}", name, protocol::error_name(code))};
  await_metadata([&] { return quorum_->image().topic(name) == nullptr; }, timeout);
  return std::nullopt;
}

}  // namespace keel::server

namespace keel::server {

// ---- partition reassignment ----

namespace {

using metadata::ReassignmentResult;

// A single broker holds every partition itself: the only reassignment it can carry out is to stay.
ReassignmentResult reassign_single(const TopicRegistry& topics, std::int32_t node_id, const metadata::ReassignmentTarget& target,
                                   bool allow_replication_factor_change) {
  ReassignmentResult out{target.topic, target.partition, ErrorCode::none, ""};
  auto refuse = [&](ErrorCode error, std::string message) {
    out.error = error;
    out.message = fmt::format("{}-{}: {}", target.topic, target.partition, message);
    return out;
  };
  const TopicInfo* topic = topics.find(target.topic);
  if (topic == nullptr) return refuse(ErrorCode::unknown_topic_or_partition, "no such topic");
  if (target.partition < 0 || target.partition >= topic->partitions)
    return refuse(ErrorCode::unknown_topic_or_partition, "no such partition");
  if (!target.replicas) return refuse(ErrorCode::no_reassignment_in_progress, "no reassignment is in progress");
  const auto& replicas = *target.replicas;
  if (replicas.empty()) return refuse(ErrorCode::invalid_replica_assignment, "the replica list is empty");
  for (std::size_t i = 0; i < replicas.size(); ++i) {
    if (replicas[i] != node_id)
      return refuse(ErrorCode::invalid_replica_assignment, fmt::format("broker {} is not registered", replicas[i]));
    if (i > 0) return refuse(ErrorCode::invalid_replica_assignment, fmt::format("broker {} is named more than once", node_id));
  }
  if (!allow_replication_factor_change && topic->replication_factor != 1)
    return refuse(ErrorCode::invalid_replication_factor,
                  fmt::format("the replication factor would change from {} to 1", topic->replication_factor));
  return out;
}

}  // namespace

Result<metadata::AlterReassignmentsReply> Broker::alter_reassignments(const metadata::AlterReassignmentsRequest& request,
                                                                        Duration timeout) {
  if (!quorum_) {
    metadata::AlterReassignmentsReply reply;
    for (const auto& target : request.partitions)
      reply.results.push_back(reassign_single(*topics_, config_.node_id, target, request.allow_replication_factor_change));
    return reply;
  }
  auto reply = quorum_->call(request, rt_.now() + timeout);
  if (!reply) return reply.error();
  // One result per requested partition, in request order (the handler pairs them up by position).
  bool matches = reply->results.size() == request.partitions.size();
  for (std::size_t i = 0; matches && i < request.partitions.size(); ++i) {
    matches = reply->results[i].topic == request.partitions[i].topic &&
              reply->results[i].partition == request.partitions[i].partition;
  }
  if (!matches) return make_error(Errc::corrupt, "the controller answered AlterPartitionReassignments for other partitions");
  rt_.trace("ReassignmentsAltered").detail("Partitions", request.partitions.size());
  return reply;
}

Result<metadata::ListReassignmentsReply> Broker::list_reassignments(const metadata::ListReassignmentsRequest& request,
                                                                      Duration timeout) {
  if (!quorum_) return metadata::ListReassignmentsReply{};
  return quorum_->call(request, rt_.now() + timeout);
}

}  // namespace keel::server
