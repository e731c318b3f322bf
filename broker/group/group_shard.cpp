// The group shard's records (replay, the GroupMetadata record), its life in the runtime (loaded,
// unloaded), and small helpers.
#include "broker/group/group_shard.h"

#include <fmt/format.h>

#include "broker/base/assert.h"

namespace keel::group {

using coordinator::CoordinatorError;

std::int16_t kafka_error(CoordinatorError error) {
  switch (error) {
    case CoordinatorError::none: return 0;
    case CoordinatorError::not_coordinator: return static_cast<std::int16_t>(protocol::ErrorCode::not_coordinator);
    case CoordinatorError::load_in_progress:
      return static_cast<std::int16_t>(protocol::ErrorCode::coordinator_load_in_progress);
    case CoordinatorError::not_available: return static_cast<std::int16_t>(protocol::ErrorCode::coordinator_not_available);
    case CoordinatorError::record_too_large: return static_cast<std::int16_t>(protocol::ErrorCode::unknown_server_error);
  }
  return static_cast<std::int16_t>(protocol::ErrorCode::unknown_server_error);
}

GroupShard::~GroupShard() = default;

std::int64_t GroupShard::now_ms() const { return to_unix_ms(ctx_.runtime().wall_now()); }

std::string GroupShard::new_member_id(const std::string& prefix) {
  Random& random = ctx_.runtime().random();
  const std::uint64_t a = random.next();
  const std::uint64_t b = random.next();
  return fmt::format("{}-{:08x}-{:04x}-{:04x}-{:04x}-{:012x}", prefix, a >> 32, (a >> 16) & 0xffff, a & 0xffff, b >> 48,
                     b & 0xffffffffffffULL);
}

ClassicGroup& GroupShard::get_or_create(const std::string& id) {
  auto& slot = groups_[id];
  if (!slot) slot = std::make_unique<ClassicGroup>(id, now_ms());
  return *slot;
}

const ClassicGroup* GroupShard::group(const std::string& id) const {
  auto it = groups_.find(id);
  return it == groups_.end() ? nullptr : it->second.get();
}

const std::map<TopicPartition, CommittedOffset>* GroupShard::offsets(const std::string& group_id) const {
  auto it = offsets_.find(group_id);
  return it == offsets_.end() ? nullptr : &it->second;
}

coordinator::CoordinatorRecord GroupShard::metadata_record(const ClassicGroup& g) const {
  GroupMetadataValue v;
  v.protocol_type = g.protocol_type().value_or("");
  v.generation = g.generation();
  v.protocol = g.protocol_name();
  v.leader = g.leader();
  v.current_state_timestamp = g.state_timestamp_ms();
  for (const auto& [id, m] : g.members()) {
    const protocol::Bytes* subscription = m.metadata_for(g.protocol_name().value_or(""));
    v.members.push_back({id, m.instance_id, m.client_id, m.client_host, m.rebalance_timeout_ms, m.session_timeout_ms,
                         subscription != nullptr ? *subscription : protocol::Bytes{}, m.assignment});
  }
  return group_metadata_record({g.id()}, v);
}

void GroupShard::replay(const coordinator::CoordinatorRecord& record) {
  auto decoded = decode_record(record);
  if (!decoded) {
    // Kafka fails the load on a record it cannot read; Keel skips it and says so, so that one bad
    // record does not make every group on the partition unreachable.
    ctx_.runtime()
        .trace("CoordinatorRecordUnreadable", Severity::warn)
        .detail("Partition", ctx_.tp().to_string())
        .detail("Error", decoded.error().message);
    return;
  }
  if (auto* offset = std::get_if<OffsetRecord>(&*decoded)) replay_offset(*offset);
  if (auto* group = std::get_if<GroupRecord>(&*decoded)) replay_group(*group);
  if (auto* consumer = std::get_if<ConsumerRecord>(&*decoded)) replay_consumer(*consumer);
}

void GroupShard::replay_offset(const OffsetRecord& record) {
  const TopicPartition tp{record.key.topic, record.key.partition};
  if (!record.value) {
    if (auto it = offsets_.find(record.key.group); it != offsets_.end()) {
      it->second.erase(tp);
      if (it->second.empty()) offsets_.erase(it);
    }
    return;
  }
  const auto& v = *record.value;
  offsets_[record.key.group][tp] = CommittedOffset{v.offset, v.leader_epoch, v.metadata, v.commit_timestamp};
  // A simple group exists through its offsets (unless a consumer group holds the id).
  if (!consumer_groups_.contains(record.key.group)) get_or_create(record.key.group);
}

void GroupShard::replay_group(const GroupRecord& record) {
  const std::string& id = record.key.group;
  if (!record.value) {
    if (auto it = groups_.find(id); it != groups_.end()) {
      if (active_) it->second->transition(GroupState::dead, now_ms());
      groups_.erase(it);
    }
    return;
  }
  const GroupMetadataValue& v = *record.value;
  if (active_ && groups_.contains(id)) {
    // The operation that wrote it already holds this state in memory.
    KEEL_ASSERT_EQ(groups_.at(id)->generation(), v.generation);
    return;
  }
  auto g = std::make_unique<ClassicGroup>(id, v.current_state_timestamp);
  for (const auto& m : v.members) {
    ClassicMember member;
    member.member_id = m.member_id;
    member.instance_id = m.group_instance_id;
    member.client_id = m.client_id;
    member.client_host = m.client_host;
    member.session_timeout_ms = m.session_timeout;
    member.rebalance_timeout_ms = m.rebalance_timeout;
    member.protocol_type = v.protocol_type;
    if (v.protocol) member.protocols.emplace_back(*v.protocol, m.subscription);
    member.assignment = m.assignment;
    g->add_member(std::move(member));
  }
  g->restore(v.protocol_type, v.generation, v.protocol, v.leader, v.current_state_timestamp);
  groups_[id] = std::move(g);
}

// Loaded groups' members get a fresh session: those that are gone are removed after it.
void GroupShard::loaded() {
  active_ = true;
  for (const auto& [id, g] : groups_) {
    for (const auto& [member_id, m] : g->members()) reschedule_session(*g, m);
  }
  consumer_groups_loaded();
}

void GroupShard::unloaded(CoordinatorError error) {
  active_ = false;
  const std::int16_t code = kafka_error(error == CoordinatorError::none ? CoordinatorError::not_coordinator : error);
  for (auto& [id, g] : groups_) {
    for (auto& [member_id, m] : g->members()) {
      if (m.awaiting_join) {
        protocol::JoinGroupResponse r;
        r.error_code = code;
        r.member_id = member_id;
        answer_join(m, std::move(r));
      }
      if (m.awaiting_sync) {
        protocol::SyncGroupResponse r;
        r.error_code = code;
        m.awaiting_sync->set(std::move(r));
        m.awaiting_sync.reset();
      }
    }
  }
}

}  // namespace keel::group
