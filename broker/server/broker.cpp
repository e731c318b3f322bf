#include "broker/server/broker.h"

#include "broker/metadata/quorum.h"
#include "broker/partition/replica_manager.h"

#include <fmt/format.h>

#include "broker/server/connection.h"

namespace keel::server {

using protocol::ErrorCode;

std::string partition_key(const std::string& topic, std::int32_t partition) {
  return fmt::format("{}-{}", topic, partition);
}

Broker::Broker(Runtime& rt, BrokerConfig config) : rt_(rt), config_(std::move(config)) {}

Broker::~Broker() {
  cancel_tasks();
  for (auto& listener : listeners_) listener.close();
  if (timer_) timer_->shutdown();
}

void Broker::track(TaskRef task) {
  auto& executor = rt_.executor();
  std::erase_if(tasks_, [&](TaskRef t) { return !executor.alive(t); });
  tasks_.push_back(task);
}

void Broker::cancel_tasks() {
  auto& executor = rt_.executor();
  const TaskRef self = Executor::current_task();
  // Newest first, as the executor cancels a node's tasks.
  for (auto it = tasks_.rbegin(); it != tasks_.rend(); ++it) {
    if (it->id != self.id && executor.alive(*it)) executor.cancel(*it);
  }
  tasks_.clear();
}

const Endpoint& Broker::advertised() const {
  KEEL_ASSERT(!config_.advertised_listeners.empty());
  return config_.advertised_listeners.front();
}

Status Broker::start() {
  // The registry first, so logs found at start-up open with their topic's settings.
  // A replicated cluster's broker keeps its topics in the metadata log; the registry mirrors it.
  topics_ = std::make_unique<TopicRegistry>(rt_, config_.kraft() ? std::string() : config_.log_dirs.front());
  if (auto st = topics_->load(); !st) return st;
  storage::LogManager::Options options;
  options.log_dirs = config_.log_dirs;
  options.defaults = config_.log;
  options.config_for = [this](const TopicPartition& tp) {
    const TopicInfo* topic = topics_->find(tp.topic);
    auto config = topic != nullptr ? topic_log_config(*topic) : Result<storage::LogConfig>(config_.log);
    return config ? *config : config_.log;
  };
  options.retention_check_interval = std::chrono::milliseconds(config_.log_retention_check_interval_ms);
  options.initial_task_delay = std::chrono::milliseconds(config_.log_initial_task_delay_ms);
  options.checkpoint_interval = std::chrono::milliseconds(config_.log_flush_offset_checkpoint_interval_ms);
  auto logs = storage::LogManager::open(rt_, options);
  if (!logs) return logs.error();
  logs_ = std::move(*logs);
  if (!config_.kraft()) {
    if (auto st = open_topic_logs(); !st) return st;
  }
  timer_ = std::make_unique<SystemTimer>(rt_);
  fetch_purgatory_ = std::make_unique<DelayedOperationPurgatory>("Fetch", *timer_);
  cluster_id_ = config_.cluster_id.empty() ? std::string("keel-cluster") : config_.cluster_id;
  for (const auto& endpoint : config_.listeners) {
    const std::string host = endpoint.host.empty() ? std::string("0.0.0.0") : endpoint.host;
    auto listener = rt_.net().listen(Address{host, endpoint.port});
    if (!listener) {
      return make_error(listener.error().code, fmt::format("listener {}://{}:{}: {}", endpoint.listener_name, host,
                                                           endpoint.port, listener.error().message));
    }
    bound_.push_back(listener->local());
    listeners_.push_back(std::move(*listener));
  }
  if (config_.kraft()) {
    if (auto st = start_kraft(); !st) return st;
    start_kraft_tasks();
  }
  logs_->start();
  rt_.trace("BrokerStarted")
      .detail("NodeId", config_.node_id)
      .detail("Listener", bound_.empty() ? std::string() : bound_.front().to_string())
      .detail("Topics", topics_->all().size())
      .detail("Partitions", logs_->partitions().size());
  return {};
}

// Every registered topic gets its partition logs (a crash may have come between the registry write
// and the log creation); a partition dir no topic owns is removed, as KRaft brokers do with strays.
Status Broker::open_topic_logs() {
  for (const auto& [name, topic] : topics_->all()) {
    auto config = topic_log_config(topic);
    if (!config) return config.error();
    for (std::int32_t p = 0; p < topic.partitions; ++p) {
      TopicPartition tp{name, p};
      storage::Log* log = logs_->get(tp);
      if (log != nullptr) {
        log->set_config(*config);
      } else if (auto created = logs_->create(tp, *config); !created) {
        return created.error();
      } else {
        log = *created;
      }
      // What survived recovery is on disk: all of it is readable.
      log->set_high_watermark(log->log_end_offset());
    }
  }
  for (const auto& tp : logs_->partitions()) {
    const TopicInfo* topic = topics_->find(tp.topic);
    if (topic != nullptr && tp.partition < topic->partitions) continue;
    rt_.trace("StrayPartitionRemoved", Severity::warn).detail("Partition", tp.to_string());
    if (auto st = logs_->remove(tp); !st) return st;
  }
  return {};
}

Status Broker::serve() {
  KEEL_ASSERT(!listeners_.empty());
  WaitGroup group;
  for (auto& listener : listeners_) {
    group.add(1);
    track(rt_.spawn("accept", [this, &listener, &group] {
      accept_loop(listener);
      group.done();
    }));
  }
  group.wait();
  return {};
}

void Broker::accept_loop(Listener& listener) {
  while (true) {
    auto connection = listener.accept();
    if (!connection) {
      rt_.trace("AcceptFailed", Severity::warn).detail("Error", connection.error().message);
      if (!listener.is_open()) return;
      rt_.sleep_for(std::chrono::milliseconds(10));
      continue;
    }
    const std::uint64_t id = ++connections_accepted_;
    // std::function needs a copyable callable; the connection moves in through a shared_ptr.
    auto shared = std::make_shared<Connection>(std::move(*connection));
    track(rt_.spawn(fmt::format("connection-{}", id), [this, id, shared] {
      serve_connection(*this, std::move(*shared), id);
    }));
  }
}

Status Broker::shutdown() {
  if (replicas_) controlled_shutdown(std::chrono::seconds(30));
  cancel_tasks();
  if (replicas_) (void)replicas_->shutdown();
  if (quorum_) quorum_->stop();
  for (auto& listener : listeners_) listener.close();
  listeners_.clear();
  if (timer_) timer_->shutdown();
  return logs_ ? logs_->shutdown() : Status{};
}

Result<storage::LogConfig> Broker::topic_log_config(const TopicInfo& topic) const {
  return apply_topic_configs(config_.log, topic.configs);
}

std::optional<Broker::TopicError> Broker::create_topic(const std::string& name, std::int32_t partitions,
                                                       std::int16_t replication_factor,
                                                       const std::map<std::string, std::string>& configs,
                                                       bool validate_only) {
  if (auto problem = topic_name_problem(name); !problem.empty()) {
    return TopicError{ErrorCode::invalid_topic_exception, problem};
  }
  if (quorum_) {
    if (auto log_config = apply_topic_configs(config_.log, configs); !log_config) {
      return TopicError{ErrorCode::invalid_config, log_config.error().message};
    }
    if (validate_only) return std::nullopt;
    return create_topic_kraft(name, partitions, replication_factor, configs);
  }
  if (topics_->find(name) != nullptr) {
    return TopicError{ErrorCode::topic_already_exists, fmt::format("Topic '{}' already exists.", name)};
  }
  if (partitions == -1) partitions = config_.num_partitions;
  if (replication_factor == -1) replication_factor = config_.default_replication_factor;
  if (partitions < 1) {
    return TopicError{ErrorCode::invalid_partitions, fmt::format("Number of partitions must be at least 1, got {}.", partitions)};
  }
  if (replication_factor < 1 || replication_factor > 1) {
    return TopicError{ErrorCode::invalid_replication_factor,
                      fmt::format("Replication factor {} is not possible with 1 broker.", replication_factor)};
  }
  auto log_config = apply_topic_configs(config_.log, configs);
  if (!log_config) return TopicError{ErrorCode::invalid_config, log_config.error().message};
  if (validate_only) return std::nullopt;
  TopicInfo topic{name, topics_->new_topic_id(), partitions, replication_factor, configs};
  if (auto st = topics_->add(topic); !st) return TopicError{ErrorCode::unknown_server_error, st.error().message};
  for (std::int32_t p = 0; p < partitions; ++p) {
    auto created = logs_->create(TopicPartition{name, p}, *log_config);
    if (!created) return TopicError{ErrorCode::unknown_server_error, created.error().message};
    (*created)->set_high_watermark((*created)->log_end_offset());
  }
  rt_.trace("TopicCreated").detail("Topic", name).detail("Partitions", partitions);
  return std::nullopt;
}

std::optional<Broker::TopicError> Broker::delete_topic(const std::string& name) {
  if (quorum_) return delete_topic_kraft(name);
  const TopicInfo* topic = topics_->find(name);
  if (topic == nullptr) {
    return TopicError{ErrorCode::unknown_topic_or_partition, fmt::format("Topic '{}' does not exist.", name)};
  }
  const std::int32_t partitions = topic->partitions;
  if (auto st = topics_->remove(name); !st) return TopicError{ErrorCode::unknown_server_error, st.error().message};
  for (std::int32_t p = 0; p < partitions; ++p) {
    TopicPartition tp{name, p};
    if (logs_->get(tp) == nullptr) continue;
    if (auto st = logs_->remove(tp); !st) return TopicError{ErrorCode::unknown_server_error, st.error().message};
    fetch_purgatory_->check_and_complete(partition_key(name, p));
  }
  rt_.trace("TopicDeleted").detail("Topic", name);
  return std::nullopt;
}

void Broker::partition_appended(const std::string& topic, std::int32_t partition) {
  fetch_purgatory_->check_and_complete(partition_key(topic, partition));
}

Status run_broker(Runtime& rt, const BrokerConfig& config) {
  Broker broker(rt, config);
  if (auto st = broker.start(); !st) {
    rt.trace("BrokerStartFailed", Severity::error).detail("Error", st.error().message);
    return st;
  }
  return broker.serve();
}

}  // namespace keel::server
