#include "broker/controller/control_election.h"

#include <algorithm>

namespace keel::controller {
namespace {

const PartitionRegistration& existing_partition(const MetadataImage& image, const Uuid& topic_id, std::int32_t partition_id) {
  const auto* p = image.partition(topic_id, partition_id);
  KEEL_ASSERT_MSG(p != nullptr, "election for unknown partition {}-{}", to_string(topic_id), partition_id);
  return *p;
}

bool contains(const std::vector<std::int32_t>& v, std::int32_t x) { return std::find(v.begin(), v.end(), x) != v.end(); }

}  // namespace

PartitionChangeBuilder::PartitionChangeBuilder(const MetadataImage& image, const Uuid& topic_id, std::int32_t partition_id)
    : image_(image),
      topic_id_(topic_id),
      partition_id_(partition_id),
      current_(existing_partition(image, topic_id, partition_id)),
      target_isr_(current_.isr),
      target_recovery_state_(current_.leader_recovery_state) {}

PartitionChangeBuilder& PartitionChangeBuilder::set_election(Election election) {
  election_ = election;
  return *this;
}

PartitionChangeBuilder& PartitionChangeBuilder::set_target_isr(std::vector<std::int32_t> isr) {
  target_isr_ = std::move(isr);
  return *this;
}

PartitionChangeBuilder& PartitionChangeBuilder::set_target_recovery_state(LeaderRecoveryState state) {
  target_recovery_state_ = state;
  return *this;
}

PartitionChangeBuilder& PartitionChangeBuilder::exclude_broker(std::int32_t broker) {
  excluded_ = broker;
  return *this;
}

PartitionChangeBuilder& PartitionChangeBuilder::include_broker(std::int32_t broker) {
  included_ = broker;
  return *this;
}

bool PartitionChangeBuilder::acceptable(std::int32_t broker) const {
  if (broker < 0 || excluded_ == broker) return false;
  if (included_ == broker) return image_.broker(broker) != nullptr;
  return image_.is_active(broker);
}

bool PartitionChangeBuilder::valid_new_leader(std::int32_t broker) const {
  return contains(target_isr_, broker) && acceptable(broker);
}

PartitionChangeBuilder::ElectionResult PartitionChangeBuilder::elect() const {
  const auto& replicas = current_.replicas;
  if (election_ == Election::preferred && valid_new_leader(replicas.front())) return {replicas.front(), false};
  if (valid_new_leader(current_.leader)) return {current_.leader, false};
  for (auto r : replicas)
    if (valid_new_leader(r)) return {r, false};
  if (election_ == Election::unclean) {
    for (auto r : replicas)
      if (acceptable(r)) return {r, true};
  }
  return {no_leader, false};
}

std::optional<PartitionChangeRecord> PartitionChangeBuilder::build() const {
  PartitionChangeRecord record;
  record.topic_id = topic_id_;
  record.partition_id = partition_id_;
  std::vector<std::int32_t> isr = target_isr_;
  LeaderRecoveryState recovery = target_recovery_state_;
  const ElectionResult elected = elect();
  if (elected.leader != current_.leader) {
    record.leader = elected.leader;
    if (elected.unclean) {
      isr = {elected.leader};
      recovery = LeaderRecoveryState::recovering;
    }
  }
  // Without ELR the ISR is never emptied: the last member stays so it can lead again when it returns.
  if (!isr.empty() && isr != current_.isr) record.isr = std::move(isr);
  if (recovery != current_.leader_recovery_state) record.leader_recovery_state = static_cast<std::int8_t>(recovery);
  if (record.leader == leader_unchanged && !record.isr && record.leader_recovery_state == recovery_state_unchanged)
    return std::nullopt;
  return record;
}

Election election_for_topic(const MetadataImage& image, const Uuid& topic_id, bool unclean_default) {
  const auto value = image.topic_config(topic_id, "unclean.leader.election.enable");
  const bool unclean = value ? *value == "true" : unclean_default;
  return unclean ? Election::unclean : Election::online;
}

std::vector<MetadataRecord> remove_from_isrs(const MetadataImage& image, std::int32_t broker, bool unclean_default) {
  std::vector<MetadataRecord> out;
  for (const auto& [topic_id, topic] : image.topics()) {
    for (const auto& [index, p] : topic.partitions) {
      if (!p.in_isr(broker) && p.leader != broker) continue;
      std::vector<std::int32_t> isr;
      std::copy_if(p.isr.begin(), p.isr.end(), std::back_inserter(isr), [&](std::int32_t b) { return b != broker; });
      auto change = PartitionChangeBuilder(image, topic_id, index)
                        .set_election(election_for_topic(image, topic_id, unclean_default))
                        .set_target_isr(std::move(isr))
                        .exclude_broker(broker)
                        .build();
      if (change) out.push_back(std::move(*change));
    }
  }
  return out;
}

std::vector<MetadataRecord> elect_leaderless(const MetadataImage& image, std::int32_t broker, bool unclean_default) {
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

}  // namespace keel::controller
