#include "broker/kafka/admin.h"

#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <set>

#include "broker/base/topic_partition.h"
#include "broker/metadata/quorum.h"
#include "broker/partition/replica_manager.h"

namespace keel::kafka {

using protocol::ErrorCode;

namespace {

Duration controller_call_timeout(const BrokerServices& broker) {
  return std::chrono::milliseconds(broker.config.quorum_request_timeout_ms) * 5;
}

// Waits until the metadata this broker applied satisfies `ready` (a created topic shows up), and
// then until its replica manager acted on that metadata (this broker leads or follows the new
// partitions), so the client's next request here finds them served.
bool await_metadata(BrokerServices& broker, const std::function<bool()>& ready, Duration timeout) {
  const Instant deadline = broker.rt.now() + timeout;
  while (!ready()) {
    if (broker.rt.now() >= deadline) return false;
    broker.quorum.image_changed().wait(std::min(deadline, broker.rt.now() + std::chrono::milliseconds(100)));
  }
  const std::int64_t applied = broker.quorum.applied_offset();
  while (broker.replicas.published_offset() < applied) {
    if (!broker.replicas.published().wait(deadline)) return false;
  }
  return true;
}

// No controller answered in time (a timeout), or its answer did not decode (corrupt).
TopicError call_failed(const Error& error) {
  return TopicError{error.code == Errc::corrupt ? ErrorCode::unknown_server_error : ErrorCode::request_timed_out,
                    error.message};
}

std::optional<TopicError> validate_topic(const BrokerServices& broker, std::int32_t partitions,
                                         std::int16_t replication_factor,
                                         const std::map<std::string, std::string>& configs) {
  if (partitions == -1) partitions = broker.config.num_partitions;
  if (replication_factor == -1) replication_factor = broker.config.default_replication_factor;
  if (partitions < 1) {
    return TopicError{ErrorCode::invalid_partitions, fmt::format("Number of partitions must be at least 1, got {}.", partitions)};
  }
  const auto live = broker.quorum.image().live_brokers().size();
  if (replication_factor < 1 || static_cast<std::size_t>(replication_factor) > live) {
    return TopicError{ErrorCode::invalid_replication_factor,
                      fmt::format("Replication factor {} is not possible with {} live broker{}.", replication_factor,
                                  live, live == 1 ? "" : "s")};
  }
  if (auto log_config = config::apply_topic_configs(broker.config.log, configs); !log_config) {
    return TopicError{ErrorCode::invalid_config, log_config.error().message};
  }
  return std::nullopt;
}

using KindOf = std::optional<config::TopicConfigKind> (*)(std::string_view);

std::optional<TopicError> check_change(const metadata::ConfigChange& c, KindOf kind_of) {
  const auto kind = kind_of(c.name);
  if (!kind && kind_of == &config::topic_config_kind) {
    return TopicError{ErrorCode::invalid_config, fmt::format("Unknown topic config name: {}", c.name)};
  }
  if (!kind) {
    return TopicError{ErrorCode::invalid_request,
                      fmt::format("Cannot update these configs dynamically: {} (Keel changes only the log defaults "
                                  "of topic configs at run time)", c.name)};
  }
  const bool list_op = c.op == metadata::ConfigChange::append || c.op == metadata::ConfigChange::subtract;
  if (list_op && !kind->is_list) {
    return TopicError{ErrorCode::invalid_request,
                      fmt::format("Config value {} is not allowed for config key: {}",
                                  c.op == metadata::ConfigChange::append ? "append" : "subtract", c.name)};
  }
  if (c.op != metadata::ConfigChange::remove && !c.value) {
    return TopicError{ErrorCode::invalid_request, fmt::format("Null value not supported for : {}", c.name)};
  }
  return std::nullopt;
}

std::optional<TopicError> check_changes(const std::vector<metadata::ConfigChange>& changes, KindOf kind_of) {
  std::set<std::string> seen;
  for (const auto& c : changes) {
    if (!seen.insert(c.name).second) {
      return TopicError{ErrorCode::invalid_request, fmt::format("Error due to duplicate config keys: {}", c.name)};
    }
    if (c.op < metadata::ConfigChange::set || c.op > metadata::ConfigChange::subtract) {
      return TopicError{ErrorCode::invalid_request, fmt::format("Unknown config operation {} for {}", c.op, c.name)};
    }
    if (auto error = check_change(c, kind_of)) return error;
  }
  return std::nullopt;
}

// The changes that take `before` to `after`: SET each new or changed key, DELETE each dropped one.
std::vector<metadata::ConfigChange> diff_configs(const std::map<std::string, std::string>& before,
                                                 const std::map<std::string, std::string>& after) {
  std::vector<metadata::ConfigChange> out;
  for (const auto& [name, value] : before) {
    if (after.count(name) == 0) out.push_back({name, metadata::ConfigChange::remove, std::nullopt});
  }
  for (const auto& [name, value] : after) {
    auto it = before.find(name);
    if (it == before.end() || it->second != value) out.push_back({name, metadata::ConfigChange::set, value});
  }
  return out;
}

}  // namespace

std::optional<TopicError> alter_topic_configs(BrokerServices& broker, const std::string& topic,
                                              const std::vector<metadata::ConfigChange>& changes, bool replace_all,
                                              bool validate_only) {
  const auto* t = broker.quorum.image().topic(topic);
  if (t == nullptr) return TopicError{ErrorCode::unknown_topic_or_partition, fmt::format("Topic '{}' does not exist.", topic)};
  if (auto error = check_changes(changes, &config::topic_config_kind)) return error;
  const auto list_default = [](const std::string& name) { return config::topic_config_kind(name)->default_text; };
  const auto after = metadata::apply_config_changes(t->configs, changes, replace_all, list_default);
  if (auto log_config = config::apply_topic_configs(broker.config.log, after); !log_config) {
    return TopicError{ErrorCode::invalid_config, log_config.error().message};
  }
  if (validate_only) return std::nullopt;
  // The controller gets the resolved values (APPEND and SUBTRACT as the SET of their result).
  metadata::AlterTopicConfigsRequest request{topic, diff_configs(t->configs, after), false};
  const auto timeout = controller_call_timeout(broker);
  auto reply = broker.quorum.call(request, broker.rt.now() + timeout);
  if (!reply) return call_failed(reply.error());
  if (reply->error != ErrorCode::none) return TopicError{reply->error, reply->message};
  await_metadata(broker, [&] {
    const auto* now = broker.quorum.image().topic(topic);
    return now == nullptr || now->configs == after;
  }, timeout);
  broker.rt.trace("TopicConfigsAltered").detail("Topic", topic).detail("Changes", request.changes.size());
  return std::nullopt;
}

std::optional<TopicError> alter_broker_configs(BrokerServices& broker, const std::string& id,
                                               const std::vector<metadata::ConfigChange>& changes, bool replace_all,
                                               bool validate_only) {
  const bool numeric = id.size() < 10 && std::all_of(id.begin(), id.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (!numeric) return TopicError{ErrorCode::invalid_request, fmt::format("'{}' is not a broker id", id)};
  if (auto error = check_changes(changes, &config::broker_config_kind)) return error;
  const auto& current = broker.quorum.image().broker_configs(id);
  const auto list_default = [](const std::string& name) { return config::broker_config_kind(name)->default_text; };
  const auto after = metadata::apply_config_changes(current, changes, replace_all, list_default);
  if (auto log_config = config::apply_broker_configs(broker.config.log, after); !log_config) {
    return TopicError{ErrorCode::invalid_config, log_config.error().message};
  }
  if (validate_only) return std::nullopt;
  const std::string resource = std::string(metadata::broker_config_prefix) + id;
  metadata::AlterTopicConfigsRequest request{resource, diff_configs(current, after), false};
  const auto timeout = controller_call_timeout(broker);
  auto reply = broker.quorum.call(request, broker.rt.now() + timeout);
  if (!reply) return call_failed(reply.error());
  if (reply->error != ErrorCode::none) return TopicError{reply->error, reply->message};
  await_metadata(broker, [&] { return broker.quorum.image().broker_configs(id) == after; }, timeout);
  broker.rt.trace("BrokerConfigsAltered").detail("Broker", id.empty() ? "<default>" : id).detail("Changes", request.changes.size());
  return std::nullopt;
}

std::string topic_name_problem(std::string_view name) {
  if (name.empty()) return "topic name is empty";
  if (name.size() > 249) return fmt::format("topic name is {} characters long; at most 249 are allowed", name.size());
  if (name == "." || name == "..") return fmt::format("topic name '{}' is not allowed", name);
  if (!is_legal_topic_name(name)) return fmt::format("topic name '{}' has an illegal character; use [a-zA-Z0-9._-]", name);
  return {};
}

std::optional<TopicError> create_topic(BrokerServices& broker, const std::string& name, std::int32_t partitions,
                                       std::int16_t replication_factor,
                                       const std::map<std::string, std::string>& configs, bool validate_only,
                                       std::vector<metadata::NewPartitionAssignment> assignments) {
  if (auto problem = topic_name_problem(name); !problem.empty()) return TopicError{ErrorCode::invalid_topic_exception, problem};
  if (validate_only) return validate_topic(broker, partitions, replication_factor, configs);
  if (auto log_config = config::apply_topic_configs(broker.config.log, configs); !log_config) {
    return TopicError{ErrorCode::invalid_config, log_config.error().message};
  }
  const bool manual = !assignments.empty();
  metadata::CreateTopicRequest request{name, manual ? -1 : partitions, manual ? std::int16_t{-1} : replication_factor,
                                       configs, std::move(assignments)};
  const auto timeout = controller_call_timeout(broker);
  auto reply = broker.quorum.call(request, broker.rt.now() + timeout);
  if (!reply) return call_failed(reply.error());
  if (reply->error != ErrorCode::none) return TopicError{reply->error, reply->message};
  const auto id = reply->topic_id;
  await_metadata(broker, [&] { return broker.quorum.image().topic(id) != nullptr; }, timeout);
  broker.rt.trace("TopicCreated").detail("Topic", name).detail("Partitions", partitions);
  return std::nullopt;
}

std::optional<TopicError> delete_topic(BrokerServices& broker, const std::string& name) {
  const auto timeout = controller_call_timeout(broker);
  auto reply = broker.quorum.call(metadata::DeleteTopicRequest{name}, broker.rt.now() + timeout);
  if (!reply) return call_failed(reply.error());
  const ErrorCode code = reply->error;
  if (code != ErrorCode::none) return TopicError{code, fmt::format("Topic '{}': {}", name, protocol::error_name(code))};
  await_metadata(broker, [&] { return broker.quorum.image().topic(name) == nullptr; }, timeout);
  broker.rt.trace("TopicDeleted").detail("Topic", name);
  return std::nullopt;
}

Result<metadata::AlterReassignmentsReply> alter_reassignments(BrokerServices& broker,
                                                              const metadata::AlterReassignmentsRequest& request,
                                                              Duration timeout) {
  auto reply = broker.quorum.call(request, broker.rt.now() + timeout);
  if (!reply) return reply.error();
  // One result per requested partition, in request order (the handler pairs them up by position).
  bool matches = reply->results.size() == request.partitions.size();
  for (std::size_t i = 0; matches && i < request.partitions.size(); ++i) {
    matches = reply->results[i].topic == request.partitions[i].topic &&
              reply->results[i].partition == request.partitions[i].partition;
  }
  if (!matches) return make_error(Errc::corrupt, "the controller answered AlterPartitionReassignments for other partitions");
  broker.rt.trace("ReassignmentsAltered").detail("Partitions", request.partitions.size());
  return reply;
}

Result<metadata::ListReassignmentsReply> list_reassignments(BrokerServices& broker,
                                                            const metadata::ListReassignmentsRequest& request,
                                                            Duration timeout) {
  return broker.quorum.call(request, broker.rt.now() + timeout);
}

std::optional<TopicError> create_partitions(BrokerServices& broker, const metadata::CreatePartitionsRequest& request,
                                            Duration timeout) {
  auto reply = broker.quorum.call(request, broker.rt.now() + timeout);
  if (!reply) return call_failed(reply.error());
  if (reply->error != ErrorCode::none) return TopicError{reply->error, reply->message};
  if (request.validate_only) return std::nullopt;
  const auto has_all = [&] {
    const auto* topic = broker.quorum.image().topic(request.topic);
    return topic != nullptr && topic->partitions.size() >= static_cast<std::size_t>(request.count);
  };
  await_metadata(broker, has_all, timeout);
  broker.rt.trace("PartitionsCreated").detail("Topic", request.topic).detail("Count", request.count);
  return std::nullopt;
}

Result<metadata::ElectLeadersReply> elect_leaders(BrokerServices& broker, const metadata::ElectLeadersRequest& request,
                                                  Duration timeout) {
  auto reply = broker.quorum.call(request, broker.rt.now() + timeout);
  if (!reply) return reply.error();
  if (request.partitions.has_value() && reply->results.size() != request.partitions->size())
    return make_error(Errc::corrupt, "the controller answered ElectLeaders for other partitions");
  broker.rt.trace("LeadersElected").detail("Results", reply->results.size());
  return reply;
}

}  // namespace keel::kafka
