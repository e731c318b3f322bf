// SyncGroup, Heartbeat and LeaveGroup, and what removes members: session and sync timeouts
// (Kafka's GroupMetadataManager.classicGroupSync*, classicGroupHeartbeat*, classicGroupLeave*,
// onExpireHeartbeat, expirePendingSync).
#include <fmt/format.h>
#include "broker/base/coverage.h"

#include "broker/base/assert.h"
#include "broker/group/group_shard.h"

namespace keel::group {

using coordinator::WriteResult;
using protocol::ErrorCode;

namespace {

std::int16_t code(ErrorCode c) { return static_cast<std::int16_t>(c); }

std::string session_timer(const std::string& group_id, const std::string& member_id) {
  return fmt::format("session-{}-{}", group_id, member_id);
}

protocol::JoinGroupResponse unknown_member_join(const std::string& member_id) {
  protocol::JoinGroupResponse r;
  r.error_code = code(ErrorCode::unknown_member_id);
  r.member_id = member_id;
  return r;
}

protocol::SyncGroupResponse sync_error(std::int16_t error) {
  protocol::SyncGroupResponse r;
  r.error_code = error;
  return r;
}

}  // namespace

std::int16_t GroupShard::check_member(const ClassicGroup& g, const std::string& member_id,
                                      const std::optional<std::string>& instance_id) const {
  if (instance_id) {
    const auto owner = g.static_member(*instance_id);
    if (owner && *owner != member_id) return code(ErrorCode::fenced_instance_id);
  }
  if (!g.has_member(member_id)) return code(ErrorCode::unknown_member_id);
  return 0;
}

void GroupShard::schedule_session(const std::string& group_id, const std::string& member_id, std::int32_t timeout_ms) {
  ctx_.schedule(session_timer(group_id, member_id), std::chrono::milliseconds(timeout_ms),
                [this, group_id, member_id](coordinator::Shard&) { return on_session_timer(group_id, member_id); });
}

void GroupShard::reschedule_session(const ClassicGroup& g, const ClassicMember& m) {
  schedule_session(g.id(), m.member_id, m.session_timeout_ms);
}

void GroupShard::cancel_member_timers(const ClassicGroup& g, const std::string& member_id) {
  ctx_.cancel(session_timer(g.id(), member_id));
}

void GroupShard::reset_assignments_with_error(ClassicGroup& g, std::int16_t error) {
  for (auto& [id, m] : g.members()) {
    m.assignment.clear();
    if (m.awaiting_sync) {
      m.awaiting_sync->set(sync_error(error));
      m.awaiting_sync.reset();
    }
  }
}

WriteResult GroupShard::on_session_timer(const std::string& group_id, const std::string& member_id) {
  auto it = groups_.find(group_id);
  if (it == groups_.end()) return {};
  ClassicGroup& g = *it->second;
  if (g.pending_members().erase(member_id) > 0) return maybe_complete_join(g);
  const ClassicMember* m = g.member(member_id);
  if (m == nullptr) return {};
  // A member that has a request parked is alive; only a new member's join is bounded.
  if (!m->is_new && (m->awaiting_join || m->awaiting_sync)) return {};
  return remove_member_and_update(g, member_id, m->is_new ? "new member join timed out" : "session timed out");
}

// Every classic removal goes through here: the member's timers stop, and the trace names the
// generation it was removed in. An assignment of that generation reaching the member later is a
// zombie's (its SyncGroup answer was on its way), whatever it processes meanwhile.
void GroupShard::drop_member(ClassicGroup& g, const std::string& member_id, std::string_view why) {
  KEEL_ASSERT(g.member(member_id) != nullptr);
  cancel_member_timers(g, member_id);
  g.remove_member(member_id);
  KEEL_ASSERT(g.member(member_id) == nullptr);
  ctx_.runtime()
      .trace("GroupMemberRemoved")
      .detail("Group", g.id())
      .detail("Member", member_id)
      .detail("Generation", g.generation())
      .detail("Why", why);
}

WriteResult GroupShard::remove_member_and_update(ClassicGroup& g, const std::string& member_id, std::string_view why) {
  ClassicMember* m = g.member(member_id);
  KEEL_ASSERT(m != nullptr);
  if (m->awaiting_join) answer_join(*m, unknown_member_join(member_id));
  if (m->awaiting_sync) m->awaiting_sync->set(sync_error(code(ErrorCode::unknown_member_id)));
  drop_member(g, member_id, why);
  if (g.state() != GroupState::stable) KEEL_SOMETIMES("group.member.removed_during_rebalance");
  switch (g.state()) {
    case GroupState::stable:
    case GroupState::completing_rebalance: return prepare_rebalance(g, why);
    case GroupState::preparing_rebalance: return maybe_complete_join(g);
    case GroupState::empty:
    case GroupState::dead: return {};
  }
  return {};
}

// The sync timer: members that joined this generation but never synced are removed (KAFKA-12890).
WriteResult GroupShard::on_sync_timer(const std::string& group_id, std::int32_t generation) {
  auto it = groups_.find(group_id);
  if (it == groups_.end()) return {};
  ClassicGroup& g = *it->second;
  if (g.generation() != generation || !(g.in(GroupState::completing_rebalance) || g.in(GroupState::stable))) return {};
  const std::vector<std::string> unsynced(g.pending_sync().begin(), g.pending_sync().end());
  if (unsynced.empty()) return {};
  for (const auto& id : unsynced) {
    ClassicMember* m = g.member(id);
    if (m == nullptr) continue;
    if (m->awaiting_join) answer_join(*m, unknown_member_join(id));
    drop_member(g, id, "did not sync");
  }
  return prepare_rebalance(g, "members did not sync");
}

WriteResult GroupShard::sync(const protocol::SyncGroupRequest& request, const Client& client, const SyncReply& reply) {
  auto refuse = [&](std::int16_t error) {
    reply->set(sync_error(error));
    return WriteResult{};
  };
  auto it = groups_.find(request.group_id);
  if (it == groups_.end()) return refuse(code(ErrorCode::unknown_member_id));
  ClassicGroup& g = *it->second;
  if (g.in(GroupState::dead)) return refuse(code(ErrorCode::coordinator_not_available));
  if (auto error = check_member(g, request.member_id, request.group_instance_id); error != 0) return refuse(error);
  if (request.generation_id != g.generation()) return refuse(code(ErrorCode::illegal_generation));
  if ((request.protocol_type && *request.protocol_type != g.protocol_type().value_or("")) ||
      (request.protocol_name && *request.protocol_name != g.protocol_name().value_or(""))) {
    return refuse(code(ErrorCode::inconsistent_group_protocol));
  }
  ClassicMember& m = *g.member(request.member_id);
  switch (g.state()) {
    case GroupState::empty:
    case GroupState::dead: return refuse(code(ErrorCode::unknown_member_id));
    case GroupState::preparing_rebalance: return refuse(code(ErrorCode::rebalance_in_progress));
    case GroupState::completing_rebalance:
      g.pending_sync().erase(m.member_id);
      m.awaiting_sync = reply;
      reschedule_session(g, m);
      if (g.is_leader(m.member_id)) return finish_sync(g, request);
      return {};
    case GroupState::stable: {
      g.pending_sync().erase(m.member_id);
      protocol::SyncGroupResponse r;
      r.protocol_type = g.protocol_type();
      r.protocol_name = g.protocol_name();
      r.assignment = m.assignment;
      reply->set(std::move(r));
      reschedule_session(g, m);
      return {};
    }
  }
  (void)client;
  return {};
}

// The leader's assignment: written as one GroupMetadata record; only once it commits (and the
// generation has not moved meanwhile) is every parked sync answered and the group Stable.
WriteResult GroupShard::finish_sync(ClassicGroup& g, const protocol::SyncGroupRequest& request) {
  for (auto& [id, m] : g.members()) {
    m.assignment.clear();
    for (const auto& a : request.assignments) {
      if (a.member_id == id) m.assignment = a.assignment;
    }
  }
  WriteResult result;
  result.records.push_back(metadata_record(g));
  const std::string id = g.id();
  const std::int32_t generation = g.generation();
  result.after_commit.push_back([this, id, generation](coordinator::CoordinatorError error) {
    // A failed write unloads the shard, which answers the parked syncs itself.
    if (error != coordinator::CoordinatorError::none) return;
    auto it = groups_.find(id);
    if (it == groups_.end() || it->second->generation() != generation ||
        !it->second->in(GroupState::completing_rebalance)) {
      return;
    }
    ClassicGroup& group = *it->second;
    for (auto& [member_id, m] : group.members()) {
      if (!m.awaiting_sync) continue;
      protocol::SyncGroupResponse r;
      r.protocol_type = group.protocol_type();
      r.protocol_name = group.protocol_name();
      r.assignment = m.assignment;
      m.awaiting_sync->set(std::move(r));
      m.awaiting_sync.reset();
    }
    group.transition(GroupState::stable, now_ms());
    ctx_.runtime().trace("GroupStable").detail("Group", id).detail("Generation", generation).detail("Members", group.members().size());
  });
  return result;
}

WriteResult GroupShard::heartbeat(const protocol::HeartbeatRequest& request, protocol::HeartbeatResponse& response) {
  auto it = groups_.find(request.group_id);
  if (it == groups_.end() || it->second->in(GroupState::empty)) {
    response.error_code = code(ErrorCode::unknown_member_id);
    return {};
  }
  ClassicGroup& g = *it->second;
  if (g.in(GroupState::dead)) {
    response.error_code = code(ErrorCode::coordinator_not_available);
  } else if (auto error = check_member(g, request.member_id, request.group_instance_id); error != 0) {
    response.error_code = error;
  } else if (request.generation_id != g.generation()) {
    response.error_code = code(ErrorCode::illegal_generation);
  } else {
    reschedule_session(g, *g.member(request.member_id));
    if (g.in(GroupState::preparing_rebalance)) response.error_code = code(ErrorCode::rebalance_in_progress);
  }
  return {};
}

std::int16_t GroupShard::leave_one(ClassicGroup& g, const protocol::LeaveGroupRequest::MemberIdentity& who,
                                   WriteResult& result) {
  std::string member_id = who.member_id;
  if (who.group_instance_id) {
    const auto owner = g.static_member(*who.group_instance_id);
    if (!owner) return code(ErrorCode::unknown_member_id);
    // An empty member id with a known instance id is an admin's removal of that static member.
    if (!member_id.empty() && *owner != member_id) return code(ErrorCode::fenced_instance_id);
    member_id = *owner;
  }
  if (g.pending_members().erase(member_id) > 0) {
    cancel_member_timers(g, member_id);
    append(result, maybe_complete_join(g));
    return 0;
  }
  if (!g.has_member(member_id)) return code(ErrorCode::unknown_member_id);
  append(result, remove_member_and_update(g, member_id, "left the group"));
  return 0;
}

WriteResult GroupShard::leave(const protocol::LeaveGroupRequest& request, const Client& client,
                              protocol::LeaveGroupResponse& response) {
  auto it = groups_.find(request.group_id);
  if (it == groups_.end()) {
    response.error_code = code(ErrorCode::unknown_member_id);
    return {};
  }
  ClassicGroup& g = *it->second;
  if (g.in(GroupState::dead)) {
    response.error_code = code(ErrorCode::coordinator_not_available);
    return {};
  }
  WriteResult result;
  if (client.version < 3) {
    response.error_code = leave_one(g, {request.member_id, std::nullopt, std::nullopt}, result);
    return result;
  }
  for (const auto& who : request.members) {
    response.members.push_back({who.member_id, who.group_instance_id, leave_one(g, who, result)});
  }
  return result;
}

}  // namespace keel::group
