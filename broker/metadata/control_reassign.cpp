// Partition reassignment (Kafka's ReplicationControlManager.alterPartitionReassignments and
// listPartitionReassignments). A move is two partition changes: the first puts the target replicas
// in the replica list beside the current ones (marked adding and removing), and the second, made
// by whichever change first finds every target replica in the ISR (usually the leader's
// AlterPartition that lets the last new replica in), drops the leaving ones. Both come from
// PartitionChangeBuilder, which also elects a new leader when the current one is leaving.
#include "broker/metadata/control.h"
#include "broker/base/coverage.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <variant>

namespace keel::metadata {
namespace {

struct Refusal {
  ErrorCode error;
  std::string message;
};

// Kafka's validateManualPartitionAssignment.
std::optional<Refusal> check_target_replicas(const MetadataImage& image, const std::vector<BrokerId>& replicas) {
  if (replicas.empty()) return Refusal{ErrorCode::invalid_replica_assignment, "the replica list is empty"};
  std::set<BrokerId> seen;
  for (auto b : replicas) {
    if (!seen.insert(b).second)
      return Refusal{ErrorCode::invalid_replica_assignment, fmt::format("broker {} is named more than once", b)};
    if (image.broker(b) == nullptr)
      return Refusal{ErrorCode::invalid_replica_assignment, fmt::format("broker {} is not registered", b)};
  }
  return std::nullopt;
}

// The replicas the partition had before the reassignment in progress (if any) began.
std::vector<BrokerId> original_replicas(const PartitionRegistration& p) { return without(p.replicas, p.adding_replicas); }

// The change one target asks for, or why it is refused. An empty change is an accepted no-op.
using Outcome = std::variant<Refusal, std::optional<PartitionChangeRecord>>;

// Cancel: back to the replicas from before, keeping those it was removing (Kafka's
// PartitionReassignmentRevert).
Outcome cancel(const MetadataImage& image, const TopicImage& topic, std::int32_t partition,
               const PartitionRegistration& p, Election election) {
  if (!p.reassigning()) return Refusal{ErrorCode::no_reassignment_in_progress, "no reassignment is in progress"};
  auto replicas = original_replicas(p);
  auto isr = without(p.isr, p.adding_replicas);
  if (isr.empty() && election != Election::unclean) {
    KEEL_SOMETIMES("controller.reassignment.cancel_refused_needs_unclean");
    return Refusal{ErrorCode::invalid_replica_assignment,
                   "cancelling would need an unclean leader election (every ISR member is a replica being added)"};
  }
  KEEL_SOMETIMES("controller.reassignment.cancelled");
  // An empty ISR takes the first original replica, as an unclean election would.
  if (isr.empty()) isr.push_back(replicas.front());
  return PartitionChangeBuilder(image, topic.id, partition)
      .set_election(election)
      .set_target_isr(std::move(isr))
      .set_target_assignment(std::move(replicas), {}, {})
      .build();
}

// A move: the target first, then the replicas leaving (Kafka's PartitionReassignmentReplicas). A
// reassignment in progress is replaced: what it was adding and is no longer wanted leaves too.
Outcome move(const MetadataImage& image, const TopicImage& topic, std::int32_t partition, const PartitionRegistration& p,
             const std::vector<BrokerId>& wanted, bool allow_replication_factor_change, Election election) {
  if (auto bad = check_target_replicas(image, wanted)) return *bad;
  const auto original = original_replicas(p).size();
  if (!allow_replication_factor_change && wanted.size() != original) {
    return Refusal{ErrorCode::invalid_replication_factor,
                   fmt::format("the replication factor would change from {} to {}", original, wanted.size())};
  }
  if (p.reassigning()) KEEL_SOMETIMES("controller.reassignment.replaced_in_progress");
  std::vector<BrokerId> removing = without(p.replicas, wanted);
  std::vector<BrokerId> adding = without(wanted, p.replicas);
  std::sort(removing.begin(), removing.end());
  std::sort(adding.begin(), adding.end());
  std::vector<BrokerId> merged = wanted;
  merged.insert(merged.end(), removing.begin(), removing.end());
  KEEL_ASSERT_EQ(merged.size(), wanted.size() + removing.size());
  return PartitionChangeBuilder(image, topic.id, partition)
      .set_election(election)
      .set_target_assignment(std::move(merged), std::move(removing), std::move(adding))
      .build();
}

}  // namespace

Decision<AlterReassignmentsReply> Controller::alter_reassignments(const MetadataImage& image,
                                                                  const AlterReassignmentsRequest& request) const {
  Decision<AlterReassignmentsReply> out;
  std::set<std::pair<std::string, std::int32_t>> accepted;
  for (const auto& target : request.partitions) {
    const auto* topic = image.topic(target.topic);
    const auto* p = image.partition(target.topic, target.partition);
    Outcome outcome = Refusal{ErrorCode::none, ""};
    if (accepted.count({target.topic, target.partition}) > 0) {
      // The changes are computed on one image and committed together: a second change to the same
      // partition would be computed on a state the first one replaced.
      outcome = Refusal{ErrorCode::invalid_request, "the partition is already reassigned by this request"};
    } else if (topic == nullptr) {
      outcome = Refusal{ErrorCode::unknown_topic_or_partition, "no such topic"};
    } else if (p == nullptr) {
      outcome = Refusal{ErrorCode::unknown_topic_or_partition, "no such partition"};
    } else {
      const Election election = election_for_topic(image, topic->id, config_.unclean_leader_election_enable);
      outcome = target.replicas ? move(image, *topic, target.partition, *p, *target.replicas,
                                       request.allow_replication_factor_change, election)
                                : cancel(image, *topic, target.partition, *p, election);
    }
    ReassignmentResult result{target.topic, target.partition, ErrorCode::none, ""};
    if (const auto* refused = std::get_if<Refusal>(&outcome)) {
      KEEL_ASSERT(refused->error != ErrorCode::none);
      result.error = refused->error;
      result.message = fmt::format("{}-{}: {}", target.topic, target.partition, refused->message);
    } else {
      if (auto& change = std::get<std::optional<PartitionChangeRecord>>(outcome)) out.records.push_back(std::move(*change));
      accepted.insert({target.topic, target.partition});
    }
    out.reply.results.push_back(std::move(result));
  }
  KEEL_ASSERT_EQ(out.reply.results.size(), request.partitions.size());
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
