// JoinGroup and the join phase of a rebalance (Kafka's GroupMetadataManager.classicGroupJoin*,
// prepareRebalance, completeClassicGroupJoin), as a shard of the coordinator runtime.
#include <fmt/format.h>
#include "broker/base/coverage.h"

#include "broker/base/assert.h"
#include "broker/group/group_shard.h"

namespace keel::group {

using coordinator::WriteResult;
using protocol::ErrorCode;
using protocol::JoinGroupRequest;
using protocol::JoinGroupResponse;

namespace {

std::int16_t code(ErrorCode c) { return static_cast<std::int16_t>(c); }

std::vector<std::string> protocol_names(const JoinGroupRequest& request) {
  std::vector<std::string> out;
  for (const auto& p : request.protocols) out.push_back(p.name);
  return out;
}

JoinGroupResponse join_error(ErrorCode error, const std::string& member_id) {
  JoinGroupResponse r;
  r.error_code = code(error);
  r.generation_id = -1;
  r.member_id = member_id;
  return r;
}

std::string join_timer(const std::string& group_id) { return "join-" + group_id; }
std::string sync_timer(const std::string& group_id) { return "sync-" + group_id; }

// A JoinGroup v0 has no rebalance timeout: the session timeout stands in for it (brod#465).
std::int32_t rebalance_timeout(const JoinGroupRequest& request) {
  return request.rebalance_timeout_ms > 0 ? request.rebalance_timeout_ms : request.session_timeout_ms;
}

ClassicMember member_from(const JoinGroupRequest& request, const Client& client, const std::string& member_id) {
  ClassicMember m;
  m.member_id = member_id;
  m.instance_id = request.group_instance_id;
  m.client_id = client.client_id;
  m.client_host = client.host;
  m.session_timeout_ms = request.session_timeout_ms;
  m.rebalance_timeout_ms = rebalance_timeout(request);
  m.protocol_type = request.protocol_type;
  for (const auto& p : request.protocols) m.protocols.emplace_back(p.name, p.metadata);
  m.join_version = client.version;
  return m;
}

bool same_protocols(const ClassicMember& m, const JoinGroupRequest& request) {
  if (m.protocols.size() != request.protocols.size()) return false;
  for (std::size_t i = 0; i < m.protocols.size(); ++i) {
    if (m.protocols[i].first != request.protocols[i].name || m.protocols[i].second != request.protocols[i].metadata) {
      return false;
    }
  }
  return true;
}

}  // namespace

void append(WriteResult& into, WriteResult from) {
  for (auto& r : from.records) into.records.push_back(std::move(r));
  for (auto& f : from.after_commit) into.after_commit.push_back(std::move(f));
}

WriteResult GroupShard::join(const JoinGroupRequest& request, const Client& client, const JoinReply& reply) {
  auto refuse = [&](ErrorCode error) {
    reply->set(join_error(error, request.member_id));
    return WriteResult{};
  };
  if (request.group_id.empty()) return refuse(ErrorCode::invalid_group_id);
  if (request.session_timeout_ms < config_.min_session_timeout_ms ||
      request.session_timeout_ms > config_.max_session_timeout_ms) {
    return refuse(ErrorCode::invalid_session_timeout);
  }
  if (auto it = consumer_groups_.find(request.group_id); it != consumer_groups_.end()) {
    // Kafka with group.consumer.migration.policy=disabled: a live consumer group refuses classic
    // members; an empty one gives way to a classic group.
    if (!it->second->empty()) return refuse(ErrorCode::inconsistent_group_protocol);
    WriteResult dropped;
    emit(dropped, consumer_tombstone({consumer_target_metadata_type, request.group_id, {}}));
    emit(dropped, consumer_tombstone({consumer_group_metadata_type, request.group_id, {}}));
    append(dropped, join(request, client, reply));
    return dropped;
  }
  const bool exists = groups_.contains(request.group_id);
  if (!exists && !request.member_id.empty()) return refuse(ErrorCode::unknown_member_id);
  ClassicGroup& g = get_or_create(request.group_id);
  const bool known = !request.member_id.empty() && (g.has_member(request.member_id) || g.pending_members().contains(request.member_id));
  // group.max.size: an Empty group always takes members; otherwise only known ones, or while below.
  if (!known && !g.in(GroupState::empty) && g.members().size() >= static_cast<std::size_t>(config_.max_size)) {
    return refuse(ErrorCode::group_max_size_reached);
  }
  WriteResult result = request.member_id.empty() ? join_new_member(g, request, client, reply)
                                                 : join_existing_member(g, request, client, reply);
  // A new group is written at once (generation 0), so that it survives a coordinator failover.
  if (!exists && result.records.empty()) result.records.push_back(metadata_record(g));
  return result;
}

WriteResult GroupShard::join_new_member(ClassicGroup& g, const JoinGroupRequest& request, const Client& client,
                                        const JoinReply& reply) {
  if (g.in(GroupState::dead)) {
    reply->set(join_error(ErrorCode::coordinator_not_available, request.member_id));
    return {};
  }
  if (!g.supports(request.protocol_type, protocol_names(request))) {
    reply->set(join_error(ErrorCode::inconsistent_group_protocol, request.member_id));
    return {};
  }
  const std::string new_id = new_member_id(request.group_instance_id.value_or(client.client_id));
  if (request.group_instance_id) return join_static_member(g, request, client, reply, new_id);
  if (client.version >= 4) {
    // KIP-394: the member id is handed out first; the member joins with it, or is forgotten after
    // its session timeout.
    g.pending_members().insert(new_id);
    schedule_session(g.id(), new_id, request.session_timeout_ms);
    reply->set(join_error(ErrorCode::member_id_required, new_id));
    return {};
  }
  return add_member_and_rebalance(g, request, client, reply, new_id);
}

WriteResult GroupShard::join_existing_member(ClassicGroup& g, const JoinGroupRequest& request, const Client& client,
                                             const JoinReply& reply) {
  auto refuse = [&](std::int16_t error) {
    JoinGroupResponse r = join_error(ErrorCode::none, request.member_id);
    r.error_code = error;
    reply->set(std::move(r));
    return WriteResult{};
  };
  if (g.in(GroupState::dead)) return refuse(code(ErrorCode::coordinator_not_available));
  if (g.pending_members().contains(request.member_id)) {
    if (!g.supports(request.protocol_type, protocol_names(request))) return refuse(code(ErrorCode::inconsistent_group_protocol));
    return add_member_and_rebalance(g, request, client, reply, request.member_id);
  }
  if (auto error = check_member(g, request.member_id, request.group_instance_id); error != 0) return refuse(error);
  if (!g.supports(request.protocol_type, protocol_names(request))) return refuse(code(ErrorCode::inconsistent_group_protocol));
  ClassicMember& m = *g.member(request.member_id);
  switch (g.state()) {
    case GroupState::preparing_rebalance: return update_member_and_rebalance(g, m, request, client, reply);
    case GroupState::completing_rebalance:
      if (!same_protocols(m, request)) return update_member_and_rebalance(g, m, request, client, reply);
      reply->set(join_response(g, m));  // a join reply that got lost: the same answer again
      return {};
    case GroupState::stable:
      // The leader rejoining while Stable forces a rebalance (its way to react to metadata changes).
      if (g.is_leader(m.member_id) || !same_protocols(m, request)) {
        return update_member_and_rebalance(g, m, request, client, reply);
      }
      reply->set(join_response(g, m));
      return {};
    case GroupState::empty:
    case GroupState::dead: return refuse(code(ErrorCode::unknown_member_id));
  }
  return {};
}

// KIP-345: a static member rejoining under a new member id replaces its old incarnation, which is
// fenced (its parked requests answered FENCED_INSTANCE_ID).
WriteResult GroupShard::join_static_member(ClassicGroup& g, const JoinGroupRequest& request, const Client& client,
                                           const JoinReply& reply, const std::string& new_id) {
  const auto old_id = g.static_member(*request.group_instance_id);
  if (!old_id) return add_member_and_rebalance(g, request, client, reply, new_id);
  ClassicMember* old = g.member(*old_id);
  KEEL_ASSERT(old != nullptr);
  if (old->awaiting_join) answer_join(*old, join_error(ErrorCode::fenced_instance_id, *old_id));
  if (old->awaiting_sync) {
    protocol::SyncGroupResponse fenced;
    fenced.error_code = code(ErrorCode::fenced_instance_id);
    old->awaiting_sync->set(fenced);
    old->awaiting_sync.reset();
  }
  cancel_member_timers(g, *old_id);
  const bool was_leader = g.is_leader(*old_id);
  const auto protocol_before = g.protocol_name();
  g.replace_static_member(*request.group_instance_id, *old_id, member_from(request, client, new_id));
  ClassicMember& m = *g.member(new_id);
  reschedule_session(g, m);
  if (g.in(GroupState::stable) && protocol_before && g.select_protocol() == *protocol_before) {
    // No rebalance: the new incarnation takes the old one's assignment. Below JoinGroup v9 a replaced
    // leader is told the old leader's id, so that it acts as a follower and does not reassign.
    JoinGroupResponse r = join_response(g, m);
    r.members.clear();
    if (was_leader) r.leader = *old_id;
    WriteResult result;
    result.records.push_back(metadata_record(g));
    reply->set(std::move(r));
    return result;
  }
  m.awaiting_join = reply;
  if (g.in(GroupState::preparing_rebalance)) return maybe_complete_join(g);
  return prepare_rebalance(g, "static member replaced");
}

WriteResult GroupShard::add_member_and_rebalance(ClassicGroup& g, const JoinGroupRequest& request, const Client& client,
                                                 const JoinReply& reply, const std::string& member_id) {
  ClassicMember m = member_from(request, client, member_id);
  m.awaiting_join = reply;
  m.is_new = true;
  g.add_member(std::move(m));
  g.new_member_added = true;
  // A new member's join waits at most this long for the rebalance (KAFKA-7610).
  schedule_session(g.id(), member_id, config_.new_member_join_timeout_ms);
  if (g.in(GroupState::preparing_rebalance)) return maybe_complete_join(g);
  return prepare_rebalance(g, "member joined");
}

WriteResult GroupShard::update_member_and_rebalance(ClassicGroup& g, ClassicMember& m, const JoinGroupRequest& request,
                                                    const Client& client, const JoinReply& reply) {
  m.protocols.clear();
  for (const auto& p : request.protocols) m.protocols.emplace_back(p.name, p.metadata);
  m.session_timeout_ms = request.session_timeout_ms;
  m.rebalance_timeout_ms = rebalance_timeout(request);
  m.join_version = client.version;
  if (m.awaiting_join) answer_join(m, join_error(ErrorCode::unknown_member_id, m.member_id));  // superseded
  m.awaiting_join = reply;
  if (g.in(GroupState::preparing_rebalance)) return maybe_complete_join(g);
  return prepare_rebalance(g, "member rejoined");
}

WriteResult GroupShard::prepare_rebalance(ClassicGroup& g, std::string_view reason) {
  if (g.in(GroupState::completing_rebalance)) reset_assignments_with_error(g, code(ErrorCode::rebalance_in_progress));
  ctx_.cancel(sync_timer(g.id()));
  const std::string id = g.id();
  auto on_timer = [this, id](coordinator::Shard&) { return on_join_timer(id); };
  const bool initial = g.in(GroupState::empty);
  if (initial) {
    const std::int32_t delay = config_.initial_rebalance_delay_ms;
    g.initial_join() = ClassicGroup::InitialJoin{delay, std::max(g.max_rebalance_timeout_ms() - delay, 0)};
    g.new_member_added = false;
    ctx_.schedule(join_timer(id), std::chrono::milliseconds(delay), on_timer);
  } else {
    g.initial_join().reset();
    ctx_.schedule(join_timer(id), std::chrono::milliseconds(g.max_rebalance_timeout_ms()), on_timer);
  }
  if (g.generation() > 0) KEEL_SOMETIMES("group.rebalance.of_a_formed_group");
  g.transition(GroupState::preparing_rebalance, now_ms());
  ctx_.runtime()
      .trace("GroupRebalancing")
      .detail("Group", id)
      .detail("Generation", g.generation())
      .detail("Members", g.members().size())
      .detail("Reason", reason);
  if (initial) return {};
  return maybe_complete_join(g);
}

WriteResult GroupShard::maybe_complete_join(ClassicGroup& g) {
  if (!g.in(GroupState::preparing_rebalance) || g.initial_join() || !g.all_members_joined()) return {};
  return complete_join(g);
}

WriteResult GroupShard::on_join_timer(const std::string& group_id) {
  auto it = groups_.find(group_id);
  if (it == groups_.end() || !it->second->in(GroupState::preparing_rebalance)) return {};
  ClassicGroup& g = *it->second;
  if (auto& initial = g.initial_join(); initial && g.new_member_added && initial->remaining_ms > 0) {
    // Members are still arriving: wait another delay, within what the rebalance timeout leaves.
    g.new_member_added = false;
    const std::int32_t delay = std::min(initial->delay_ms, initial->remaining_ms);
    initial->remaining_ms -= delay;
    ctx_.schedule(join_timer(group_id), std::chrono::milliseconds(delay),
                  [this, group_id](coordinator::Shard&) { return on_join_timer(group_id); });
    return {};
  }
  return complete_join(g);
}

WriteResult GroupShard::complete_join(ClassicGroup& g) {
  KEEL_ASSERT_MSG(g.in(GroupState::preparing_rebalance), "group {}: join completes in {}", g.id(), state_name(g.state()));
  g.initial_join().reset();
  ctx_.cancel(join_timer(g.id()));
  // Dynamic members that did not rejoin are gone; static ones keep their place.
  std::vector<std::string> gone;
  for (const auto& [id, m] : g.members()) {
    if (!m.awaiting_join && !m.instance_id) gone.push_back(id);
  }
  for (const auto& id : gone) drop_member(g, id, "did not rejoin within the rebalance timeout");
  for (const auto& id : g.pending_members()) cancel_member_timers(g, id);
  g.pending_members().clear();
  if (!g.elect_joined_leader() && !g.members().empty()) {
    // Only static members that have not rejoined yet: wait for them another rebalance timeout.
    const std::string id = g.id();
    ctx_.schedule(join_timer(id), std::chrono::milliseconds(g.max_rebalance_timeout_ms()),
                  [this, id](coordinator::Shard&) { return on_join_timer(id); });
    return {};
  }
  g.init_next_generation(now_ms());
  ctx_.runtime()
      .trace("GroupJoinCompleted")
      .detail("Group", g.id())
      .detail("Generation", g.generation())
      .detail("Members", g.members().size())
      .detail("Protocol", g.protocol_name().value_or(""));
  WriteResult result;
  if (g.in(GroupState::empty)) {
    result.records.push_back(metadata_record(g));
    return result;
  }
  for (auto& [id, m] : g.members()) {
    if (!m.awaiting_join) continue;
    answer_join(m, join_response(g, m));
    m.is_new = false;
    reschedule_session(g, m);
  }
  const std::string id = g.id();
  const std::int32_t generation = g.generation();
  ctx_.schedule(sync_timer(id), std::chrono::milliseconds(g.max_rebalance_timeout_ms()),
                [this, id, generation](coordinator::Shard&) { return on_sync_timer(id, generation); });
  return result;
}

JoinGroupResponse GroupShard::join_response(const ClassicGroup& g, const ClassicMember& m) const {
  JoinGroupResponse r;
  r.generation_id = g.generation();
  r.protocol_type = g.protocol_type();
  r.protocol_name = g.protocol_name();
  r.leader = g.leader().value_or("");
  r.member_id = m.member_id;
  if (!g.is_leader(m.member_id)) return r;
  for (const auto& [id, member] : g.members()) {
    const protocol::Bytes* metadata = member.metadata_for(g.protocol_name().value_or(""));
    r.members.push_back({id, member.instance_id, metadata != nullptr ? *metadata : protocol::Bytes{}});
  }
  return r;
}

void GroupShard::answer_join(ClassicMember& m, JoinGroupResponse response) {
  KEEL_ASSERT(m.awaiting_join != nullptr);
  m.awaiting_join->set(std::move(response));
  m.awaiting_join.reset();
}

}  // namespace keel::group
