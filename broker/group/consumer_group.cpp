#include "broker/group/consumer_group.h"

#include <fmt/format.h>

#include "broker/base/assert.h"

namespace keel::group {

std::string topic_key(const protocol::Uuid& id) {
  std::string out;
  out.reserve(32);
  for (auto b : id.bytes) out += fmt::format("{:02x}", b);
  return out;
}

protocol::Uuid topic_uuid(std::string_view key) {
  KEEL_ASSERT_EQ(key.size(), std::size_t{32});
  protocol::Uuid id;
  auto nibble = [](char c) { return static_cast<std::uint8_t>(c <= '9' ? c - '0' : c - 'a' + 10); };
  for (std::size_t i = 0; i < id.bytes.size(); ++i) {
    id.bytes[i] = static_cast<std::uint8_t>(nibble(key[2 * i]) << 4 | nibble(key[2 * i + 1]));
  }
  return id;
}

std::vector<TopicIdPartitions> to_topic_ids(const std::set<TopicPartition>& partitions) {
  std::vector<TopicIdPartitions> out;
  std::string last;
  for (const auto& tp : partitions) {  // ordered by topic, then partition
    if (out.empty() || tp.topic != last) {
      out.push_back({topic_uuid(tp.topic), {}});
      last = tp.topic;
    }
    out.back().partitions.push_back(tp.partition);
  }
  return out;
}

std::set<TopicPartition> from_topic_ids(const std::vector<TopicIdPartitions>& partitions) {
  std::set<TopicPartition> out;
  for (const auto& t : partitions) {
    for (std::int32_t p : t.partitions) out.insert({topic_key(t.topic_id), p});
  }
  return out;
}

std::string_view consumer_state_name(ConsumerGroupState s) {
  switch (s) {
    case ConsumerGroupState::empty: return "Empty";
    case ConsumerGroupState::assigning: return "Assigning";
    case ConsumerGroupState::reconciling: return "Reconciling";
    case ConsumerGroupState::stable: return "Stable";
  }
  return "Unknown";
}

const ConsumerMember* ConsumerGroup::member(const std::string& member_id) const {
  auto it = members_.find(member_id);
  return it == members_.end() ? nullptr : &it->second;
}

const ConsumerMember* ConsumerGroup::static_member(const std::string& instance_id) const {
  for (const auto& [id, m] : members_) {
    if (m.metadata.instance_id == instance_id) return &m;
  }
  return nullptr;
}

const std::string* ConsumerGroup::owner(const TopicPartition& tp) const {
  auto it = owners_.find(tp);
  return it == owners_.end() ? nullptr : &it->second;
}

// Kafka's ConsumerGroup.maybeUpdateGroupState.
ConsumerGroupState ConsumerGroup::state() const {
  if (members_.empty()) return ConsumerGroupState::empty;
  if (group_epoch_ > assignment_epoch_) return ConsumerGroupState::assigning;
  for (const auto& [id, m] : members_) {
    if (m.current.member_epoch != assignment_epoch_ || m.current.state != assignors::MemberState::stable) {
      return ConsumerGroupState::reconciling;
    }
  }
  return ConsumerGroupState::stable;
}

void ConsumerGroup::set_group_epoch(std::int32_t epoch, std::int64_t metadata_hash) {
  KEEL_ASSERT_MSG(epoch >= group_epoch_, "group {}: epoch {} after {}", id_, epoch, group_epoch_);
  group_epoch_ = epoch;
  metadata_hash_ = metadata_hash;
}

void ConsumerGroup::set_assignment_epoch(std::int32_t epoch) {
  KEEL_ASSERT_MSG(epoch >= assignment_epoch_ && epoch <= group_epoch_, "group {}: assignment epoch {} after {} (group {})",
                  id_, epoch, assignment_epoch_, group_epoch_);
  assignment_epoch_ = epoch;
}

ConsumerMember& ConsumerGroup::slot(const std::string& member_id) {
  ConsumerMember& m = members_[member_id];
  m.member_id = member_id;
  return m;
}

void ConsumerGroup::set_member_metadata(const std::string& member_id, const ConsumerMemberMetadataValue& metadata) {
  ConsumerMember& m = slot(member_id);
  m.metadata = metadata;
  m.has_metadata = true;
}

void ConsumerGroup::set_target(const std::string& member_id, std::set<TopicPartition> target) {
  slot(member_id).target = std::move(target);
}

// The one place a partition changes hands: every partition the member now holds must be free or
// its own already, so no partition is ever held by two members.
void ConsumerGroup::set_current(const std::string& member_id, const assignors::ReconciledMember& current) {
  ConsumerMember& m = slot(member_id);
  const bool static_leave = current.member_epoch == -2 || m.current.member_epoch == -2;
  KEEL_ASSERT_MSG(static_leave || current.member_epoch >= m.current.member_epoch,
                  "group {} member {}: epoch {} after {}", id_, member_id, current.member_epoch, m.current.member_epoch);
  release_holdings(member_id);
  for (const auto* held : {&current.assigned, &current.pending_revocation}) {
    for (const auto& tp : *held) {
      auto [it, inserted] = owners_.emplace(tp, member_id);
      KEEL_ASSERT_MSG(inserted, "group {}: {} given to {} while {} holds it", id_, tp.to_string(), member_id, it->second);
    }
  }
  m.current = current;
}

void ConsumerGroup::release_holdings(const std::string& member_id) {
  auto it = members_.find(member_id);
  if (it == members_.end()) return;
  for (const auto* held : {&it->second.current.assigned, &it->second.current.pending_revocation}) {
    for (const auto& tp : *held) {
      auto owner = owners_.find(tp);
      KEEL_ASSERT(owner != owners_.end() && owner->second == member_id);
      owners_.erase(owner);
    }
  }
}

void ConsumerGroup::remove_member_metadata(const std::string& member_id) {
  release_holdings(member_id);
  members_.erase(member_id);
}

void ConsumerGroup::remove_target(const std::string& member_id) {
  if (auto it = members_.find(member_id); it != members_.end()) it->second.target.clear();
}

void ConsumerGroup::remove_current(const std::string& member_id) {
  if (auto it = members_.find(member_id); it != members_.end()) {
    release_holdings(member_id);
    it->second.current = assignors::ReconciledMember{};
  }
}

}  // namespace keel::group
