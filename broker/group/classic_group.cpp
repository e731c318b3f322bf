#include "broker/group/classic_group.h"

#include <algorithm>

#include "broker/base/assert.h"

namespace keel::group {

std::string_view state_name(GroupState state) {
  switch (state) {
    case GroupState::empty: return "Empty";
    case GroupState::preparing_rebalance: return "PreparingRebalance";
    case GroupState::completing_rebalance: return "CompletingRebalance";
    case GroupState::stable: return "Stable";
    case GroupState::dead: return "Dead";
  }
  return "Unknown";
}

bool legal_transition(GroupState from, GroupState to) {
  switch (to) {
    case GroupState::empty: return from == GroupState::preparing_rebalance;
    case GroupState::preparing_rebalance:
      return from == GroupState::stable || from == GroupState::completing_rebalance || from == GroupState::empty;
    case GroupState::completing_rebalance: return from == GroupState::preparing_rebalance;
    case GroupState::stable: return from == GroupState::completing_rebalance;
    case GroupState::dead: return true;
  }
  return false;
}

void ClassicGroup::transition(GroupState to, std::int64_t now_ms) {
  KEEL_ASSERT_MSG(legal_transition(state_, to), "group {}: illegal transition {} -> {}", id_, state_name(state_),
                  state_name(to));
  state_ = to;
  state_timestamp_ms_ = now_ms;
}

const protocol::Bytes* ClassicMember::metadata_for(const std::string& protocol) const {
  for (const auto& [name, metadata] : protocols) {
    if (name == protocol) return &metadata;
  }
  return nullptr;
}

ClassicMember* ClassicGroup::member(const std::string& id) {
  auto it = members_.find(id);
  return it == members_.end() ? nullptr : &it->second;
}

std::optional<std::string> ClassicGroup::static_member(const std::string& instance_id) const {
  auto it = static_members_.find(instance_id);
  if (it == static_members_.end()) return std::nullopt;
  return it->second;
}

void ClassicGroup::add_member(ClassicMember member) {
  KEEL_ASSERT_MSG(!members_.contains(member.member_id), "group {}: member {} added twice", id_, member.member_id);
  if (members_.empty()) protocol_type_ = member.protocol_type;
  if (!leader_) leader_ = member.member_id;
  if (member.instance_id) static_members_[*member.instance_id] = member.member_id;
  pending_.erase(member.member_id);
  const std::string id = member.member_id;
  members_.emplace(id, std::move(member));
}

void ClassicGroup::remove_member(const std::string& member_id) {
  auto it = members_.find(member_id);
  KEEL_ASSERT_MSG(it != members_.end(), "group {}: removing unknown member {}", id_, member_id);
  if (it->second.instance_id) static_members_.erase(*it->second.instance_id);
  members_.erase(it);
  pending_sync_.erase(member_id);
  if (is_leader(member_id)) leader_ = members_.empty() ? std::nullopt : std::optional(members_.begin()->first);
}

void ClassicGroup::replace_static_member(const std::string& instance_id, const std::string& old_id,
                                         ClassicMember replacement) {
  auto it = members_.find(old_id);
  KEEL_ASSERT_MSG(it != members_.end(), "group {}: static member {} has no member {}", id_, instance_id, old_id);
  replacement.assignment = std::move(it->second.assignment);
  const bool was_leader = is_leader(old_id);
  members_.erase(it);
  pending_sync_.erase(old_id);
  static_members_[instance_id] = replacement.member_id;
  if (was_leader) leader_ = replacement.member_id;
  const std::string id = replacement.member_id;
  members_.emplace(id, std::move(replacement));
}

bool ClassicGroup::supports(const std::string& type, const std::vector<std::string>& protocols) const {
  if (members_.empty()) return !type.empty() && !protocols.empty();
  if (!protocol_type_ || *protocol_type_ != type) return false;
  return std::any_of(protocols.begin(), protocols.end(), [&](const std::string& p) {
    return std::all_of(members_.begin(), members_.end(), [&](const auto& m) { return m.second.metadata_for(p) != nullptr; });
  });
}

std::string ClassicGroup::select_protocol() const {
  KEEL_ASSERT(!members_.empty());
  auto supported_by_all = [&](const std::string& p) {
    return std::all_of(members_.begin(), members_.end(), [&](const auto& m) { return m.second.metadata_for(p) != nullptr; });
  };
  std::map<std::string, int> votes;
  for (const auto& [id, m] : members_) {
    for (const auto& [name, metadata] : m.protocols) {
      if (!supported_by_all(name)) continue;
      ++votes[name];
      break;
    }
  }
  KEEL_ASSERT_MSG(!votes.empty(), "group {}: no protocol all members support", id_);
  int best = 0;
  for (const auto& [name, count] : votes) best = std::max(best, count);
  const ClassicMember& chooser = leader_ && members_.contains(*leader_) ? members_.at(*leader_) : members_.begin()->second;
  for (const auto& [name, metadata] : chooser.protocols) {
    if (votes.contains(name) && votes.at(name) == best) return name;
  }
  for (const auto& [name, count] : votes) {
    if (count == best) return name;
  }
  KEEL_ASSERT_MSG(false, "group {}: vote without a winner", id_);
  return {};
}

void ClassicGroup::init_next_generation(std::int64_t now_ms) {
  KEEL_ASSERT_MSG(in(GroupState::preparing_rebalance), "group {}: next generation in {}", id_, state_name(state_));
  ++generation_;
  pending_sync_.clear();
  if (members_.empty()) {
    protocol_name_.reset();
    transition(GroupState::empty, now_ms);
    return;
  }
  protocol_name_ = select_protocol();
  for (const auto& [id, m] : members_) pending_sync_.insert(id);
  transition(GroupState::completing_rebalance, now_ms);
}

bool ClassicGroup::elect_joined_leader() {
  if (leader_) {
    auto it = members_.find(*leader_);
    if (it != members_.end() && it->second.awaiting_join) return true;
  }
  for (const auto& [id, m] : members_) {
    if (m.awaiting_join) {
      leader_ = id;
      return true;
    }
  }
  leader_.reset();
  return false;
}

bool ClassicGroup::all_members_joined() const {
  return pending_.empty() && std::all_of(members_.begin(), members_.end(), [](const auto& m) {
           return m.second.awaiting_join != nullptr;
         });
}

std::size_t ClassicGroup::awaiting_join_count() const {
  return static_cast<std::size_t>(
      std::count_if(members_.begin(), members_.end(), [](const auto& m) { return m.second.awaiting_join != nullptr; }));
}

std::int32_t ClassicGroup::max_rebalance_timeout_ms() const {
  std::int32_t out = 0;
  for (const auto& [id, m] : members_) out = std::max(out, m.rebalance_timeout_ms);
  return out;
}

void ClassicGroup::restore(const std::string& protocol_type, std::int32_t generation, std::optional<std::string> protocol,
                           std::optional<std::string> leader, std::int64_t now_ms) {
  protocol_type_ = protocol_type;
  generation_ = generation;
  protocol_name_ = std::move(protocol);
  leader_ = std::move(leader);
  state_ = members_.empty() ? GroupState::empty : GroupState::stable;
  state_timestamp_ms_ = now_ms;
}

}  // namespace keel::group
