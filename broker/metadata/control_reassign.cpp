// Partition reassignment (Kafka's ReplicationControlManager.alterPartitionReassignments and
// listPartitionReassignments). A move is two partition changes: the first puts the target replicas
// in the replica list beside the current ones (marked adding and removing), and the second, made
// by whichever change first finds every target replica in the ISR (usually the leader's
// AlterPartition that lets the last new replica in), drops the leaving ones. Both come from
// PartitionChangeBuilder, which also elects a new leader when the current one is leaving.
#include "broker/metadata/control.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

namespace keel::metadata {
namespace {

struct Refusal {
  ErrorCode error;
  std::string message;
};

// Kafka's validateManualPartitionAssignment.
std::optional<Refusal> check_target_replicas(const MetadataImage& image, const std::vector<std::int32_t>& replicas) {
  if (replicas.empty()) return Refusal{ErrorCode::invalid_replica_assignment, "the replica list is empty"};
  std::set<std::int32_t> seen;
  for (auto b : replicas) {
    if (!seen.insert(b).second)
      return Refusal{ErrorCode::invalid_replica_assignment, fmt::format("broker {} is named more than once", b)};
    if (image.broker(b) == nullptr)
      return Refusal{ErrorCode::invalid_replica_assignment, fmt::format("broker {} is not registered", b)};
  }
  return std::nullopt;
}

// The replicas the partition had before the reassignment in progress (if any) began.
std::vector<std::int32_t> original_replicas(const PartitionRegistration& p) { return without(p.replicas, p.adding_replicas); }

}  // namespace

Decision<AlterReassignmentsReply> Controller::alter_reassignments(const MetadataImage& image,
                                                                  const AlterReassignmentsRequest& request) const {
  Decision<AlterReassignmentsReply> out;
  std::set<std::pair<std::string, std::int32_t>> accepted;
  for (const auto& target : request.partitions) {
    ReassignmentResult result{target.topic, target.partition, ErrorCode::none, ""};
    auto refuse = [&](ErrorCode error, std::string message) {
      result.error = error;
      result.message = fmt::format("{}-{}: {}", target.topic, target.partition, message);
    };
    const auto* topic = image.topic(target.topic);
    const auto* p = image.partition(target.topic, target.partition);
    if (accepted.count({target.topic, target.partition}) > 0) {
      // The changes are computed on one image and committed together: a second change to the same
      // partition would be computed on a state the first one replaced.
      refuse(ErrorCode::invalid_request, "the partition is already reassigned by this request");
    } else if (topic == nullptr) {
      refuse(ErrorCode::unknown_topic_or_partition, "no such topic");
    } else if (p == nullptr) {
      refuse(ErrorCode::unknown_topic_or_partition, "no such partition");
    } else if (!target.replicas) {
      // Cancel: back to the replicas from before, keeping those it was removing (Kafka's
      // PartitionReassignmentRevert).
      if (!p->reassigning()) {
        refuse(ErrorCode::no_reassignment_in_progress, "no reassignment is in progress");
      } else {
        auto replicas = original_replicas(*p);
        auto isr = without(p->isr, p->adding_replicas);
        const Election election = election_for_topic(image, topic->id, config_.unclean_leader_election_enable);
        if (isr.empty() && election != Election::unclean) {
          refuse(ErrorCode::invalid_replica_assignment,
                 "cancelling would need an unclean leader election (every ISR member is a replica being added)");
        } else {
          // An empty ISR takes the first original replica, as an unclean election would.
          if (isr.empty()) isr.push_back(replicas.front());
          auto change = PartitionChangeBuilder(image, topic->id, target.partition)
                            .set_election(election)
                            .set_target_isr(std::move(isr))
                            .set_target_assignment(std::move(replicas), {}, {})
                            .build();
          if (change) out.records.push_back(std::move(*change));
        }
      }
    } else if (auto bad = check_target_replicas(image, *target.replicas)) {
      refuse(bad->error, bad->message);
    } else if (!request.allow_replication_factor_change &&
               target.replicas->size() != original_replicas(*p).size()) {
      refuse(ErrorCode::invalid_replication_factor,
             fmt::format("the replication factor would change from {} to {}", original_replicas(*p).size(),
                         target.replicas->size()));
    } else {
      // The target first, then the replicas leaving (Kafka's PartitionReassignmentReplicas). A
      // reassignment in progress is replaced: what it was adding and is no longer wanted leaves too.
      const auto& wanted = *target.replicas;
      std::vector<std::int32_t> removing = without(p->replicas, wanted);
      std::vector<std::int32_t> adding = without(wanted, p->replicas);
      std::sort(removing.begin(), removing.end());
      std::sort(adding.begin(), adding.end());
      std::vector<std::int32_t> merged = wanted;
      merged.insert(merged.end(), removing.begin(), removing.end());
      auto change = PartitionChangeBuilder(image, topic->id, target.partition)
                        .set_election(election_for_topic(image, topic->id, config_.unclean_leader_election_enable))
                        .set_target_assignment(std::move(merged), std::move(removing), std::move(adding))
                        .build();
      if (change) out.records.push_back(std::move(*change));
    }
    if (result.error == ErrorCode::none) accepted.insert({target.topic, target.partition});
    out.reply.results.push_back(std::move(result));
  }
  return out;
}

ListReassignmentsReply Controller::list_reassignments(const MetadataImage& image,
                                                      const ListReassignmentsRequest& request) const {
  std::set<std::pair<std::string, std::int32_t>> wanted;
  if (request.topics) {
    for (const auto& t : *request.topics)
      for (auto index : t.partitions) wanted.insert({t.name, index});
  } else {
    for (const auto& [id, topic] : image.topics())
      for (const auto& [index, p] : topic.partitions) wanted.insert({topic.name, index});
  }
  ListReassignmentsReply reply;
  for (const auto& [name, index] : wanted) {
    const auto* p = image.partition(name, index);
    if (p == nullptr || !p->reassigning()) continue;
    reply.ongoing.push_back({name, index, p->replicas, p->adding_replicas, p->removing_replicas});
  }
  return reply;
}

}  // namespace keel::metadata
