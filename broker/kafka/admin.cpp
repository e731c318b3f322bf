#include "broker/kafka/admin.h"

#include <fmt/format.h>

#include <functional>

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

}  // namespace

std::string topic_name_problem(std::string_view name) {
  if (name.empty()) return "topic name is empty";
  if (name.size() > 249) return fmt::format("topic name is {} characters long; at most 249 are allowed", name.size());
  if (name == "." || name == "..") return fmt::format("topic name '{}' is not allowed", name);
  if (!is_legal_topic_name(name)) return fmt::format("topic name '{}' has an illegal character; use [a-zA-Z0-9._-]", name);
  return {};
}

std::optional<TopicError> create_topic(BrokerServices& broker, const std::string& name, std::int32_t partitions,
                                       std::int16_t replication_factor,
                                       const std::map<std::string, std::string>& configs, bool validate_only) {
  if (auto problem = topic_name_problem(name); !problem.empty()) return TopicError{ErrorCode::invalid_topic_exception, problem};
  if (validate_only) return validate_topic(broker, partitions, replication_factor, configs);
  if (auto log_config = config::apply_topic_configs(broker.config.log, configs); !log_config) {
    return TopicError{ErrorCode::invalid_config, log_config.error().message};
  }
  metadata::CreateTopicRequest request{name, partitions, replication_factor, configs};
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
