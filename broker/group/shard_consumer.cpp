// KIP-848 consumer groups on the shard: ConsumerGroupHeartbeat (join, leave, static leave and
// replacement, epochs, the target assignment, reconciliation), the session and rebalance timers
// that fence members, and the replay of records 3 and 5-8. Kafka's GroupMetadataManager
// (consumerGroupHeartbeat, consumerGroupLeave, throwIfConsumerGroupMemberEpochIsInvalid,
// maybeReconcile) is the model; ../shared/reference/consumer-groups.md §7 sums it up.
//
// An operation changes the group only through records: `emit` applies a record to the shard at once
// (so later steps of the same operation see it) and adds it to the write; the runtime's own replay of
// the write's records skips those (GroupShard::replay).
#include <fmt/format.h>

#include <algorithm>

#include "broker/base/assert.h"
#include "broker/client/assignors/server_assignors.h"
#include "broker/group/group_shard.h"

namespace keel::group {

using protocol::ErrorCode;
using Heartbeat = protocol::ConsumerGroupHeartbeatRequest;
using HeartbeatAnswer = protocol::ConsumerGroupHeartbeatResponse;

namespace {

constexpr std::int32_t leave_epoch = -1;
constexpr std::int32_t static_leave_epoch = -2;

std::int16_t code(ErrorCode e) { return static_cast<std::int16_t>(e); }

std::string session_timer(const std::string& group_id, const std::string& member_id) {
  return fmt::format("consumer-session-{}-{}", group_id, member_id);
}
std::string rebalance_timer(const std::string& group_id, const std::string& member_id) {
  return fmt::format("consumer-rebalance-{}-{}", group_id, member_id);
}

std::set<TopicPartition> owned_partitions(const std::vector<Heartbeat::TopicPartitions>& owned) {
  std::set<TopicPartition> out;
  for (const auto& t : owned) {
    for (std::int32_t p : t.partitions) out.insert({topic_key(t.topic_id), p});
  }
  return out;
}

HeartbeatAnswer::Assignment wire_assignment(const std::set<TopicPartition>& assigned) {
  HeartbeatAnswer::Assignment out;
  for (const auto& t : to_topic_ids(assigned)) out.topic_partitions.push_back({t.topic_id, t.partitions});
  return out;
}

ConsumerCurrentAssignmentValue current_value(const assignors::ReconciledMember& m) {
  return {m.member_epoch, m.previous_member_epoch, static_cast<std::int8_t>(m.state), to_topic_ids(m.assigned),
          to_topic_ids(m.pending_revocation)};
}

// The member's metadata after a heartbeat: fields the request leaves null keep their value.
ConsumerMemberMetadataValue merged_metadata(const ConsumerMemberMetadataValue& old, const Heartbeat& rq,
                                            const Client& client) {
  ConsumerMemberMetadataValue v = old;
  if (rq.instance_id) v.instance_id = rq.instance_id;
  if (rq.rack_id) v.rack_id = rq.rack_id;
  v.client_id = client.client_id;
  v.client_host = client.host;
  if (rq.subscribed_topic_names) {
    v.subscribed_topic_names = *rq.subscribed_topic_names;
    std::sort(v.subscribed_topic_names.begin(), v.subscribed_topic_names.end());
    v.subscribed_topic_names.erase(std::unique(v.subscribed_topic_names.begin(), v.subscribed_topic_names.end()),
                                   v.subscribed_topic_names.end());
  }
  if (rq.subscribed_topic_regex) v.subscribed_topic_regex = rq.subscribed_topic_regex->empty() ? std::nullopt : rq.subscribed_topic_regex;
  if (rq.rebalance_timeout_ms != -1) v.rebalance_timeout_ms = rq.rebalance_timeout_ms;
  if (rq.server_assignor) v.server_assignor = rq.server_assignor->empty() ? std::nullopt : rq.server_assignor;
  return v;
}

bool subscription_changed(const ConsumerMemberMetadataValue& a, const ConsumerMemberMetadataValue& b) {
  return a.subscribed_topic_names != b.subscribed_topic_names || a.subscribed_topic_regex != b.subscribed_topic_regex ||
         a.server_assignor != b.server_assignor;
}

}  // namespace

// Kafka's ConsumerGroupHeartbeatRequest validation, before the shard (errors are INVALID_REQUEST).
std::optional<std::string> check_heartbeat(const Heartbeat& rq, std::int16_t version) {
  auto blank = [](const std::optional<std::string>& s) {
    return s && std::all_of(s->begin(), s->end(), [](char c) { return c == ' ' || c == '\t'; });
  };
  if (rq.group_id.empty() || blank(rq.group_id)) return "GroupId can't be empty.";
  if (blank(rq.instance_id)) return "InstanceId can't be empty.";
  if (blank(rq.rack_id)) return "RackId can't be empty.";
  if (rq.member_epoch < static_leave_epoch) return fmt::format("MemberEpoch is {}, but must be at least -2.", rq.member_epoch);
  const bool id_needed = version >= 1 || rq.member_epoch > 0 || rq.member_epoch == leave_epoch;
  if (id_needed && (rq.member_id.empty() || blank(rq.member_id))) return "MemberId can't be empty.";
  if (rq.member_epoch == 0) {
    if (rq.rebalance_timeout_ms == -1) return "RebalanceTimeoutMs must be provided in first request.";
    if (!rq.topic_partitions || !rq.topic_partitions->empty()) return "TopicPartitions must be empty when (re-)joining.";
    if (!rq.subscribed_topic_names && !rq.subscribed_topic_regex) {
      return "SubscribedTopicNames or SubscribedTopicRegex must be set in first request.";
    }
  }
  if (rq.member_epoch == static_leave_epoch && !rq.instance_id) return "InstanceId can't be null.";
  return std::nullopt;  // an unknown ServerAssignor is UNSUPPORTED_ASSIGNOR, answered by the coordinator
}

void GroupShard::emit(coordinator::WriteResult& result, coordinator::CoordinatorRecord record) {
  apply_record(record);
  applied_.push_back(record);
  result.records.push_back(std::move(record));
}

ConsumerGroup& GroupShard::get_or_create_consumer(const std::string& id) {
  auto& slot = consumer_groups_[id];
  if (!slot) slot = std::make_unique<ConsumerGroup>(id);
  return *slot;
}

const ConsumerGroup* GroupShard::consumer_group(const std::string& id) const {
  auto it = consumer_groups_.find(id);
  return it == consumer_groups_.end() ? nullptr : it->second.get();
}

coordinator::WriteResult GroupShard::consumer_heartbeat(const Heartbeat& rq, const Client& client,
                                                        const TopicsView& topics, HeartbeatAnswer& out) {
  out.heartbeat_interval_ms = config_.consumer_heartbeat_interval_ms;
  if (rq.member_epoch == leave_epoch || rq.member_epoch == static_leave_epoch) return consumer_leave(rq, out);
  coordinator::WriteResult result;
  ConsumerGroup* g = consumer_group_for_join(rq, result, out);
  if (g == nullptr) return result;
  std::string member_id = rq.member_id;
  if (std::int16_t error = consumer_member_lookup(*g, rq, client, member_id, result); error != 0) {
    out.error_code = error;
    return result;
  }
  const ConsumerMember* m = g->member(member_id);
  const bool joining = m == nullptr || rq.member_epoch == 0;
  const ConsumerMemberMetadataValue before = m != nullptr ? m->metadata : ConsumerMemberMetadataValue{};
  const ConsumerMemberMetadataValue after = merged_metadata(before, rq, client);
  if (m == nullptr || !(after == before)) emit(result, consumer_member_metadata_record(g->id(), member_id, after));
  // A new member, a changed subscription, or subscribed topics that changed in the metadata (created,
  // deleted, more partitions, a regex matching more): a new group epoch, and so a new target.
  const std::int64_t hash = subscription_hash(*g, topics);
  if (m == nullptr || subscription_changed(before, after) || hash != g->metadata_hash()) {
    emit(result, consumer_group_metadata_record(g->id(), {g->group_epoch() + 1, hash}));
  }
  if (g->group_epoch() > g->assignment_epoch()) compute_target(*g, topics, result);
  const std::set<TopicPartition> assigned_before = g->member(member_id)->current.assigned;
  reconcile_member(*g, member_id, rq.topic_partitions, result);
  const ConsumerMember& now = *g->member(member_id);
  schedule_consumer_session(g->id(), member_id);
  out.member_id = member_id;
  out.member_epoch = now.current.member_epoch;
  const bool full = rq.rebalance_timeout_ms != -1 && (rq.subscribed_topic_names || rq.subscribed_topic_regex) &&
                    rq.topic_partitions;
  if (joining || full || now.current.assigned != assigned_before) out.assignment = wire_assignment(now.current.assigned);
  return result;
}

// The group a joining or heartbeating member names: created for epoch 0 (an empty classic group of
// that id is replaced), GROUP_ID_NOT_FOUND otherwise, or when a classic group with members holds the
// id (Keel does not convert a live classic group: Kafka's migration policy "disabled").
ConsumerGroup* GroupShard::consumer_group_for_join(const Heartbeat& rq, coordinator::WriteResult& result,
                                                   HeartbeatAnswer& out) {
  if (auto it = consumer_groups_.find(rq.group_id); it != consumer_groups_.end()) return it->second.get();
  if (const ClassicGroup* classic = group(rq.group_id); classic != nullptr) {
    if (!classic->members().empty() || rq.member_epoch != 0) {
      out.error_code = code(ErrorCode::group_id_not_found);
      out.error_message = fmt::format("Group {} is not a consumer group.", rq.group_id);
      return nullptr;
    }
    emit(result, group_tombstone({rq.group_id}));
  }
  if (rq.member_epoch != 0) {
    out.error_code = code(ErrorCode::group_id_not_found);
    out.error_message = fmt::format("Group {} not found.", rq.group_id);
    return nullptr;
  }
  return &get_or_create_consumer(rq.group_id);
}

// Finds (or admits) the member: epoch checks (FENCED_MEMBER_EPOCH), static instances
// (UNRELEASED_INSTANCE_ID, replacement of a member that left with -2), group.consumer.max.size.
// `member_id` becomes the id the member goes on under.
std::int16_t GroupShard::consumer_member_lookup(ConsumerGroup& g, const Heartbeat& rq, const Client& client,
                                                std::string& member_id, coordinator::WriteResult& result) {
  const ConsumerMember* m = g.member(member_id);
  if (rq.member_epoch != 0) {
    if (m == nullptr) return code(ErrorCode::unknown_member_id);
    const auto& c = m->current;
    if (rq.member_epoch > c.member_epoch) return code(ErrorCode::fenced_member_epoch);
    if (rq.member_epoch < c.member_epoch) {
      const bool subset = rq.topic_partitions && std::ranges::includes(c.assigned, owned_partitions(*rq.topic_partitions));
      if (rq.member_epoch != c.previous_member_epoch || !subset) return code(ErrorCode::fenced_member_epoch);
    }
    return 0;
  }
  if (rq.instance_id) {
    const ConsumerMember* holder = g.static_member(*rq.instance_id);
    if (holder != nullptr && holder->member_id != member_id) {
      if (holder->current.member_epoch != static_leave_epoch) return code(ErrorCode::unreleased_instance_id);
      replace_static_member(g, *holder, member_id, client, result);
      return 0;
    }
  }
  if (m == nullptr && static_cast<std::int32_t>(g.members().size()) >= config_.consumer_max_size) {
    return code(ErrorCode::group_max_size_reached);
  }
  return 0;
}

// A static member that left with -2 comes back under a new member id: its records move to the new
// id (the old id's removed first, so its partitions are free when the new id takes them), and the
// group epoch stays: nothing is reassigned.
void GroupShard::replace_static_member(ConsumerGroup& g, const ConsumerMember& old, const std::string& new_id,
                                       const Client& client, coordinator::WriteResult& result) {
  KEEL_ASSERT(old.current.member_epoch == static_leave_epoch);
  KEEL_ASSERT(g.member(new_id) == nullptr);
  const ConsumerMember copy = old;
  const std::int32_t group_epoch = g.group_epoch();
  remove_consumer_member(g, copy.member_id, result);
  ConsumerMemberMetadataValue metadata = copy.metadata;
  metadata.client_id = client.client_id;
  metadata.client_host = client.host;
  emit(result, consumer_member_metadata_record(g.id(), new_id, metadata));
  emit(result, consumer_target_member_record(g.id(), new_id, {to_topic_ids(copy.target)}));
  assignors::ReconciledMember current = copy.current;
  current.member_epoch = 0;
  current.previous_member_epoch = 0;
  emit(result, consumer_current_assignment_record(g.id(), new_id, current_value(current)));
  // The partitions moved whole to the new id, and nothing was reassigned.
  KEEL_ASSERT(g.member(copy.member_id) == nullptr);
  KEEL_ASSERT(g.member(new_id) != nullptr && g.member(new_id)->target == copy.target);
  KEEL_ASSERT(g.member(new_id)->current.assigned == copy.current.assigned);
  KEEL_ASSERT_EQ(g.group_epoch(), group_epoch);
}

// Records 8, 7 and 5 of the member as tombstones (Kafka's order), and its timers cancelled.
void GroupShard::remove_consumer_member(ConsumerGroup& g, const std::string& member_id, coordinator::WriteResult& result) {
  for (std::int16_t type : {consumer_current_assignment_type, consumer_target_member_type, consumer_member_metadata_type}) {
    emit(result, consumer_tombstone({type, g.id(), member_id}));
  }
  ctx_.cancel(session_timer(g.id(), member_id));
  ctx_.cancel(rebalance_timer(g.id(), member_id));
  // Traced once the tombstones are committed (the simulator's group checks: from then on the member
  // owns nothing and its commits must be refused; a failover before that brings it back).
  result.after_commit.push_back([&rt = ctx_.runtime(), group = g.id(), member_id](coordinator::CoordinatorError error) {
    if (error == coordinator::CoordinatorError::none)
      rt.trace("GroupMemberRemoved").detail("Group", group).detail("Member", member_id).detail("Why", "consumer group");
  });
}

// Leaving: -1 removes the member (and bumps the group epoch); -2 keeps a static member with its
// partitions at epoch -2 until its session expires or a new member takes its instance id.
coordinator::WriteResult GroupShard::consumer_leave(const Heartbeat& rq, HeartbeatAnswer& out) {
  coordinator::WriteResult result;
  out.member_id = rq.member_id;
  out.member_epoch = rq.member_epoch;
  auto it = consumer_groups_.find(rq.group_id);
  if (it == consumer_groups_.end()) {
    out.error_code = code(ErrorCode::group_id_not_found);
    return result;
  }
  ConsumerGroup& g = *it->second;
  const ConsumerMember* m = g.member(rq.member_id);
  if (rq.instance_id) {
    const ConsumerMember* holder = g.static_member(*rq.instance_id);
    if (holder == nullptr) {
      out.error_code = code(ErrorCode::unknown_member_id);
      return result;
    }
    if (holder->member_id != rq.member_id) {
      out.error_code = code(ErrorCode::fenced_instance_id);
      return result;
    }
  }
  if (m == nullptr) {
    out.error_code = code(ErrorCode::unknown_member_id);
    return result;
  }
  if (rq.member_epoch == static_leave_epoch) {
    assignors::ReconciledMember current = m->current;
    current.previous_member_epoch = current.member_epoch;
    current.member_epoch = static_leave_epoch;
    emit(result, consumer_current_assignment_record(g.id(), m->member_id, current_value(current)));
    ctx_.cancel(rebalance_timer(g.id(), rq.member_id));
    return result;
  }
  // Traced when decided, as a timer's fence is: from here on this coordinator gives the member's
  // partitions away, even if it reloads the removal from its own log before it commits.
  ctx_.runtime()
      .trace("ConsumerMemberLeft", Severity::info)
      .detail("Group", g.id())
      .detail("Member", rq.member_id)
      .detail("Epoch", m->current.member_epoch);
  fence_consumer_member(g, rq.member_id, result);
  return result;
}

// Removes the member and bumps the group epoch, so that the others are assigned its partitions. As
// Kafka, the subscription metadata is computed again without the member (from the metadata's topics
// now: a timer has no request of its own), so that the next heartbeat bumps nothing more. Without a
// source of topics (tests), the stored hash stays.
void GroupShard::fence_consumer_member(ConsumerGroup& g, const std::string& member_id, coordinator::WriteResult& result) {
  KEEL_ASSERT(g.member(member_id) != nullptr);
  const std::int32_t epoch = g.group_epoch();
  remove_consumer_member(g, member_id, result);
  const std::int64_t hash = topics_ ? subscription_hash(g, topics_()) : g.metadata_hash();
  emit(result, consumer_group_metadata_record(g.id(), {epoch + 1, hash}));
  KEEL_ASSERT(g.member(member_id) == nullptr);
  KEEL_ASSERT_EQ(g.group_epoch(), epoch + 1);
}

// FNV-1a over every subscribed topic that exists (name, id, partitions), in name order.
std::int64_t GroupShard::subscription_hash(const ConsumerGroup& g, const TopicsView& topics) const {
  std::set<std::string> keys;
  for (const auto& [id, m] : g.members()) {
    for (const auto& key : subscribed_topic_keys(m.metadata, topics)) keys.insert(key);
  }
  std::uint64_t h = 1469598103934665603ULL;
  auto mix = [&h](std::string_view s) {
    for (char c : s) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
    h = (h ^ 0xff) * 1099511628211ULL;
  };
  for (const auto& key : keys) {
    mix(key);
    mix(std::to_string(topics.partitions(key)));
  }
  return static_cast<std::int64_t>(h);
}

// The group's assignor: the one most members ask for (ties to the first by name), else uniform.
assignors::ServerAssignorKind GroupShard::group_assignor(const ConsumerGroup& g) const {
  std::map<std::string, int> votes;
  for (const auto& [id, m] : g.members()) {
    if (m.metadata.server_assignor) ++votes[*m.metadata.server_assignor];
  }
  const std::string* best = nullptr;
  int most = 0;
  for (const auto& [name, n] : votes) {
    if (n > most) best = &name, most = n;
  }
  if (best != nullptr) {
    if (auto kind = assignors::server_assignor_by_name(*best)) return *kind;
  }
  return assignors::ServerAssignorKind::uniform;
}

// The target assignment for the group epoch: the assignor over every member's subscription as the
// metadata image resolves it now; records 7 for members whose target changed, then record 6.
void GroupShard::compute_target(ConsumerGroup& g, const TopicsView& topics, coordinator::WriteResult& result) {
  KEEL_ASSERT(g.group_epoch() > g.assignment_epoch());
  assignors::PartitionCounts counts;
  std::vector<assignors::TargetMember> members;
  for (const auto& [id, m] : g.members()) {
    assignors::TargetMember t{id, m.metadata.instance_id, {}, {m.target.begin(), m.target.end()}};
    for (const auto& key : subscribed_topic_keys(m.metadata, topics)) {
      t.topics.insert(key);
      counts[key] = topics.partitions(key);
    }
    members.push_back(std::move(t));
  }
  const assignors::GroupAssignment assignment = assignors::server_assign(group_assignor(g), counts, members);
  for (const auto& [id, m] : g.members()) {
    std::set<TopicPartition> target;
    if (auto it = assignment.find(id); it != assignment.end()) target.insert(it->second.begin(), it->second.end());
    if (target != m.target) emit(result, consumer_target_member_record(g.id(), id, {to_topic_ids(target)}));
  }
  emit(result, consumer_target_metadata_record(g.id(), {g.group_epoch()}));
  // The target is the group epoch's, and no partition is the target of two members.
  KEEL_ASSERT_EQ(g.assignment_epoch(), g.group_epoch());
  std::set<TopicPartition> targeted;
  for (const auto& [id, m] : g.members()) {
    for (const auto& tp : m.target) KEEL_ASSERT(targeted.insert(tp).second);
  }
}

// One step of the member towards its target (reconcile.h), with who holds what in the group; the
// rebalance timer runs while the member must still revoke partitions.
void GroupShard::reconcile_member(ConsumerGroup& g, const std::string& member_id,
                                  const std::optional<std::vector<Heartbeat::TopicPartitions>>& owned,
                                  coordinator::WriteResult& result) {
  const ConsumerMember& m = *g.member(member_id);
  std::optional<std::set<TopicPartition>> reported;
  if (owned) reported = owned_partitions(*owned);
  auto held_by_other = [&g, &member_id](const TopicPartition& tp) {
    const std::string* owner = g.owner(tp);
    return owner != nullptr && *owner != member_id;
  };
  const assignors::ReconciledMember next =
      assignors::reconcile(m.current, {g.assignment_epoch(), m.target}, reported, held_by_other);
  const bool was_unrevoked = m.current.state == assignors::MemberState::unrevoked_partitions;
  const std::int32_t old_epoch = m.current.member_epoch;
  if (!(next == m.current)) emit(result, consumer_current_assignment_record(g.id(), member_id, current_value(next)));
  if (next.state != assignors::MemberState::unrevoked_partitions) {
    ctx_.cancel(rebalance_timer(g.id(), member_id));
  } else if (!was_unrevoked || old_epoch != next.member_epoch) {
    schedule_consumer_timer(rebalance_timer(g.id(), member_id), g.id(), member_id, next.member_epoch,
                            std::max(g.member(member_id)->metadata.rebalance_timeout_ms, 0));
  }
}

void GroupShard::schedule_consumer_session(const std::string& group_id, const std::string& member_id) {
  schedule_consumer_timer(session_timer(group_id, member_id), group_id, member_id, std::nullopt,
                          config_.consumer_session_timeout_ms);
}

// A timer that fences the member when it fires (if it is still there, and for the rebalance timer
// still at the epoch it was armed for).
void GroupShard::schedule_consumer_timer(const std::string& name, const std::string& group_id,
                                         const std::string& member_id, std::optional<std::int32_t> epoch,
                                         std::int32_t timeout_ms) {
  ctx_.schedule(name, std::chrono::milliseconds(timeout_ms), [this, group_id, member_id, epoch](coordinator::Shard&) {
    coordinator::WriteResult result;
    auto it = consumer_groups_.find(group_id);
    if (it == consumer_groups_.end()) return result;
    const ConsumerMember* m = it->second->member(member_id);
    if (m == nullptr || (epoch && m->current.member_epoch != *epoch)) return result;
    ctx_.runtime()
        .trace("ConsumerMemberFenced", Severity::info)
        .detail("Group", group_id)
        .detail("Member", member_id)
        .detail("Epoch", m->current.member_epoch)
        .detail("Why", epoch ? "rebalance timeout" : "session timeout");
    fence_consumer_member(*it->second, member_id, result);
    return result;
  });
}

// The subscribed topics that exist now, by topic key (regexes: see resolve in TopicsView).
std::set<std::string> GroupShard::subscribed_topic_keys(const ConsumerMemberMetadataValue& m,
                                                        const TopicsView& topics) const {
  std::set<std::string> out;
  for (const auto& name : m.subscribed_topic_names) {
    if (auto key = topics.key_of(name)) out.insert(*key);
  }
  if (m.subscribed_topic_regex) {
    for (const auto& key : topics.matching(*m.subscribed_topic_regex)) out.insert(key);
  }
  return out;
}

void GroupShard::replay_consumer(const ConsumerRecord& r) {
  const std::string& group_id = r.key.group_id;
  if (r.tombstone && r.key.type == consumer_group_metadata_type) {
    consumer_groups_.erase(group_id);
    return;
  }
  if (r.tombstone && !consumer_groups_.contains(group_id)) return;
  ConsumerGroup& g = get_or_create_consumer(group_id);
  const std::string& member = r.key.member_id;
  switch (r.key.type) {
    case consumer_group_metadata_type: g.set_group_epoch(r.group_metadata->epoch, r.group_metadata->metadata_hash); break;
    case consumer_target_metadata_type:
      if (r.target_metadata) g.set_assignment_epoch(r.target_metadata->assignment_epoch);
      break;
    case consumer_member_metadata_type:
      r.tombstone ? g.remove_member_metadata(member) : g.set_member_metadata(member, *r.member_metadata);
      break;
    case consumer_target_member_type:
      r.tombstone ? g.remove_target(member) : g.set_target(member, from_topic_ids(r.target_member->topic_partitions));
      break;
    default:
      if (r.tombstone) {
        g.remove_current(member);
      } else {
        const auto& v = *r.current_assignment;
        g.set_current(member, {static_cast<assignors::MemberState>(v.state), v.member_epoch, v.previous_member_epoch,
                               from_topic_ids(v.assigned_partitions), from_topic_ids(v.partitions_pending_revocation)});
      }
      break;
  }
}

// Loaded members get a fresh session, as Kafka's onLoaded does; one that is gone is fenced after it.
void GroupShard::consumer_groups_loaded() {
  for (const auto& [group_id, g] : consumer_groups_) {
    for (const auto& [member_id, m] : g->members()) schedule_consumer_session(group_id, member_id);
  }
}

}  // namespace keel::group
