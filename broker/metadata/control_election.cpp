#include "broker/metadata/control_election.h"
#include "broker/base/coverage.h"

#include <algorithm>
#include <cctype>

namespace keel::metadata {
namespace {

const PartitionRegistration& existing_partition(const MetadataImage& image, const Uuid& topic_id, std::int32_t partition_id) {
  const auto* p = image.partition(topic_id, partition_id);
  KEEL_ASSERT_MSG(p != nullptr, "election for unknown partition {}-{}", to_string(topic_id), partition_id);
  return *p;
}

}  // namespace

PartitionChangeBuilder::PartitionChangeBuilder(const MetadataImage& image, const Uuid& topic_id, std::int32_t partition_id)
    : image_(image),
      topic_id_(topic_id),
      partition_id_(partition_id),
      current_(existing_partition(image, topic_id, partition_id)),
      target_replicas_(current_.replicas),
      target_isr_(current_.isr),
      target_removing_(current_.removing_replicas),
      target_adding_(current_.adding_replicas),
      target_recovery_state_(current_.leader_recovery_state) {}

PartitionChangeBuilder& PartitionChangeBuilder::set_election(Election election) {
  election_ = election;
  return *this;
}

PartitionChangeBuilder& PartitionChangeBuilder::set_target_isr(std::vector<BrokerId> isr) {
  target_isr_ = std::move(isr);
  return *this;
}

PartitionChangeBuilder& PartitionChangeBuilder::set_target_recovery_state(LeaderRecoveryState state) {
  target_recovery_state_ = state;
  return *this;
}

PartitionChangeBuilder& PartitionChangeBuilder::set_target_assignment(std::vector<BrokerId> replicas,
                                                                     std::vector<BrokerId> removing,
                                                                     std::vector<BrokerId> adding) {
  KEEL_ASSERT(!replicas.empty());
  target_replicas_ = std::move(replicas);
  target_removing_ = std::move(removing);
  target_adding_ = std::move(adding);
  return *this;
}

PartitionChangeBuilder& PartitionChangeBuilder::exclude_broker(BrokerId broker) {
  excluded_ = broker;
  return *this;
}

PartitionChangeBuilder& PartitionChangeBuilder::include_broker(BrokerId broker) {
  included_ = broker;
  return *this;
}

bool PartitionChangeBuilder::acceptable(BrokerId broker) const {
  if (broker < 0 || excluded_ == broker) return false;
  if (included_ == broker) return image_.broker(broker) != nullptr;
  return image_.is_active(broker);
}

bool PartitionChangeBuilder::valid_new_leader(const Target& target, BrokerId broker) const {
  return contains(target.isr, broker) && acceptable(broker);
}

PartitionChangeBuilder::ElectionResult PartitionChangeBuilder::elect(const Target& target) const {
  const ElectionResult elected = elect_among(target);
  // A clean leader comes from the ISR; an unclean one is at least a replica; either may lead.
  if (elected.leader != no_leader) {
    KEEL_ASSERT_MSG(contains(target.replicas, elected.leader), "elected leader {} is not a replica", elected.leader);
    KEEL_ASSERT_MSG(elected.unclean || contains(target.isr, elected.leader), "clean leader {} is not in the ISR",
                    elected.leader);
    KEEL_ASSERT(acceptable(elected.leader));
  }
  KEEL_ALWAYS(!elected.unclean || election_ == Election::unclean, "controller.election.unclean_only_where_enabled");
  return elected;
}

PartitionChangeBuilder::ElectionResult PartitionChangeBuilder::elect_among(const Target& target) const {
  const auto& replicas = target.replicas;
  if (election_ == Election::preferred && valid_new_leader(target, replicas.front())) return {replicas.front(), false};
  if (valid_new_leader(target, current_.leader)) return {current_.leader, false};
  for (auto r : replicas)
    if (valid_new_leader(target, r)) return {r, false};
  if (election_ == Election::unclean) {
    for (auto r : replicas)
      if (acceptable(r)) return {r, true};
  }
  return {no_leader, false};
}

std::optional<PartitionChangeRecord> PartitionChangeBuilder::build() const {
  Target target{target_replicas_, target_isr_, target_removing_, target_adding_};
  if (auto done = complete_reassignment(target.replicas, target.isr, target.removing, target.adding)) {
    KEEL_SOMETIMES("controller.reassignment.completed");
    target = Target{std::move(done->replicas), std::move(done->isr), {}, {}};
  }
  PartitionChangeRecord record;
  record.topic_id = topic_id_;
  record.partition_id = partition_id_;
  std::vector<BrokerId> isr = target.isr;
  LeaderRecoveryState recovery = target_recovery_state_;
  const ElectionResult elected = elect(target);
  if (elected.leader != current_.leader) {
    record.leader = elected.leader;
    if (elected.unclean) {
      KEEL_SOMETIMES("controller.election.unclean");
      isr = {elected.leader};
      recovery = LeaderRecoveryState::recovering;
    }
  }
  // A replica dropped from the list must be fenced from the partition: a new leader epoch does it
  // (the same leader, named again).
  const bool drops_replica = std::any_of(current_.replicas.begin(), current_.replicas.end(),
                                         [&](BrokerId r) { return !contains(target.replicas, r); });
  if (record.leader == leader_unchanged && drops_replica) record.leader = current_.leader;
  if (elected.leader == no_leader && current_.leader != no_leader) KEEL_SOMETIMES("controller.election.partition_offline");
  // Without ELR the ISR is never emptied: the last member stays so it can lead again when it returns.
  if (!isr.empty() && isr != current_.isr) record.isr = std::move(isr);
  if (recovery != current_.leader_recovery_state) record.leader_recovery_state = static_cast<std::int8_t>(recovery);
  if (target.replicas != current_.replicas) record.replicas = target.replicas;
  if (target.removing != current_.removing_replicas) record.removing_replicas = target.removing;
  if (target.adding != current_.adding_replicas) record.adding_replicas = target.adding;
  if (record.leader == leader_unchanged && !record.isr && record.leader_recovery_state == recovery_state_unchanged &&
      !record.replicas && !record.removing_replicas && !record.adding_replicas)
    return std::nullopt;
  // The change leaves a partition the image accepts (the same check the image applies).
  KEEL_ASSERT_MSG(image_.check(record).ok(), "{}", image_.check(record).ok() ? "" : image_.check(record).error().message);
  return record;
}

std::optional<CompletedReassignment> complete_reassignment(const std::vector<BrokerId>& replicas,
                                                           const std::vector<BrokerId>& isr,
                                                           const std::vector<BrokerId>& removing,
                                                           const std::vector<BrokerId>& adding) {
  if (removing.empty() && adding.empty()) return std::nullopt;
  CompletedReassignment done{without(replicas, removing), without(isr, removing)};
  if (done.isr.empty() || done.replicas.empty()) return std::nullopt;
  for (auto r : done.replicas)
    if (!contains(done.isr, r)) return std::nullopt;
  // Complete: every target replica is in the ISR, and nothing leaving stays.
  for (auto r : removing) KEEL_ASSERT(!contains(done.replicas, r) && !contains(done.isr, r));
  KEEL_ASSERT_EQ(done.replicas.size(), done.isr.size());
  return done;
}

Election election_for_topic(const MetadataImage& image, const Uuid& topic_id, bool unclean_default) {
  const auto value = image.topic_config(topic_id, "unclean.leader.election.enable");
  // Kafka reads booleans case-insensitively ("TRUE" is true).
  const bool unclean = value ? value->size() == 4 && std::equal(value->begin(), value->end(), "true",
                                                                [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) == b; })
                             : unclean_default;
  return unclean ? Election::unclean : Election::online;
}

std::vector<MetadataRecord> remove_from_isrs(const MetadataImage& image, BrokerId broker, bool unclean_default) {
  std::vector<MetadataRecord> out;
  for (const auto& [topic_id, topic] : image.topics()) {
    for (const auto& [index, p] : topic.partitions) {
      if (!p.in_isr(broker) && p.leader != broker) continue;
      auto change = PartitionChangeBuilder(image, topic_id, index)
                        .set_election(election_for_topic(image, topic_id, unclean_default))
                        .set_target_isr(without(p.isr, {broker}))
                        .exclude_broker(broker)
                        .build();
      if (change) out.push_back(std::move(*change));
    }
  }
  return out;
}

std::vector<MetadataRecord> elect_leaderless(const MetadataImage& image, BrokerId broker, bool unclean_default) {
  std::vector<MetadataRecord> out;
  for (const auto& [topic_id, topic] : image.topics()) {
    for (const auto& [index, p] : topic.partitions) {
      if (p.leader != no_leader) continue;
      auto change = PartitionChangeBuilder(image, topic_id, index)
                        .set_election(election_for_topic(image, topic_id, unclean_default))
                        .include_broker(broker)
                        .build();
      if (change) out.push_back(std::move(*change));
    }
  }
  return out;
}

}  // namespace keel::metadata
