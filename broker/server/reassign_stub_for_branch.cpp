// TEMPORARY, delete at merge: Broker::alter_reassignments and Broker::list_reassignments are being
// written in kraft.cpp. These stand-ins give this branch a broker that builds and answers as a
// single broker should; reassign_on_single_broker() moves into kraft.cpp's non-KRaft branch then.
#include <fmt/format.h>

#include "broker/controller/control.h"
#include "broker/server/broker.h"

namespace keel::server {
namespace {

using controller::ReassignmentResult;
using controller::ReassignmentTarget;
using protocol::ErrorCode;

ReassignmentResult refused(const ReassignmentTarget& target, ErrorCode error, std::string message) {
  return ReassignmentResult{target.topic, target.partition, error, std::move(message)};
}

// A single broker holds every partition alone and never moves one, so the only target it can
// accept is the placement the partition already has: exactly this broker. That is also why
// allow_replication_factor_change never refuses anything here: every topic of a single broker has
// replication factor 1 (create_topic refuses more), and the one acceptable target keeps it.
// The checks run in Kafka's order: the partition, then cancel, then the replica list.
ReassignmentResult reassign_on_single_broker(Broker& broker, const ReassignmentTarget& target) {
  const TopicInfo* topic = broker.topics().find(target.topic);
  if (topic == nullptr) {
    return refused(target, ErrorCode::unknown_topic_or_partition, fmt::format("Topic {} does not exist.", target.topic));
  }
  if (target.partition < 0 || target.partition >= topic->partitions) {
    return refused(target, ErrorCode::unknown_topic_or_partition,
                   fmt::format("Topic {} has no partition {} (it has {}).", target.topic, target.partition,
                               topic->partitions));
  }
  if (!target.replicas) {
    return refused(target, ErrorCode::no_reassignment_in_progress,
                   fmt::format("Partition {}-{} has no reassignment in progress to cancel.", target.topic,
                               target.partition));
  }
  const std::vector<std::int32_t>& replicas = *target.replicas;
  const std::int32_t self = broker.config().node_id;
  if (replicas.empty()) {
    return refused(target, ErrorCode::invalid_replica_assignment, "The replica list is empty.");
  }
  for (std::int32_t id : replicas) {
    if (id != self) {
      return refused(target, ErrorCode::invalid_replica_assignment,
                     fmt::format("Broker {} is not registered: this cluster is the single broker {}.", id, self));
    }
  }
  if (replicas.size() > 1) {
    return refused(target, ErrorCode::invalid_replica_assignment,
                   fmt::format("The replica list names broker {} {} times.", self, replicas.size()));
  }
  return ReassignmentResult{target.topic, target.partition, ErrorCode::none, ""};
}

Error not_on_this_branch() {
  return make_error(Errc::invalid_argument, "partition reassignment in a replicated cluster is not built yet");
}

}  // namespace

// The replicated cluster's answer is the controller's, which this branch does not have: its
// brokers answer as if no controller did. A single broker answers at once.
Result<controller::AlterReassignmentsReply> Broker::alter_reassignments(
    const controller::AlterReassignmentsRequest& request, Duration) {
  if (quorum() != nullptr) return not_on_this_branch();
  controller::AlterReassignmentsReply reply;
  for (const auto& target : request.partitions) reply.results.push_back(reassign_on_single_broker(*this, target));
  return reply;
}

// Nothing is ever being reassigned on a single broker.
Result<controller::ListReassignmentsReply> Broker::list_reassignments(const controller::ListReassignmentsRequest&,
                                                                      Duration) {
  if (quorum() != nullptr) return not_on_this_branch();
  return controller::ListReassignmentsReply{};
}

}  // namespace keel::server
