// Consumer groups beside the heartbeat: commits and fetches checked against member epochs (Kafka
// 4.0's ConsumerGroup.validateOffsetCommit and validateOffsetFetch), ConsumerGroupDescribe, and
// DescribeGroups, ListGroups and DeleteGroups for consumer groups.
#include <fmt/format.h>

#include "broker/group/group_shard.h"

namespace keel::group {

using protocol::ErrorCode;

namespace {

std::int16_t code(ErrorCode e) { return static_cast<std::int16_t>(e); }

}  // namespace

// A commit without a member (epoch below 0) goes in only while the group is empty; otherwise the
// member must exist (UNKNOWN_MEMBER_ID), commit with v9 or above (UNSUPPORTED_VERSION), and at
// exactly its epoch (STALE_MEMBER_EPOCH).
std::int16_t GroupShard::check_consumer_commit(const ConsumerGroup& g, const protocol::OffsetCommitRequest& request,
                                               std::int16_t version) const {
  if (request.generation_id_or_member_epoch < 0 && g.empty()) return 0;
  const ConsumerMember* m = g.member(request.member_id);
  if (m == nullptr) return code(ErrorCode::unknown_member_id);
  if (version < 9) return code(ErrorCode::unsupported_version);
  if (request.generation_id_or_member_epoch != m->current.member_epoch) return code(ErrorCode::stale_member_epoch);
  return 0;
}

std::int16_t GroupShard::check_fetch(const std::string& group_id, const std::optional<std::string>& member_id,
                                     std::int32_t member_epoch) const {
  if (!member_id && member_epoch < 0) return 0;
  const ConsumerGroup* g = consumer_group(group_id);
  if (g == nullptr) return 0;  // a classic group's fetch names no member
  const ConsumerMember* m = g->member(member_id.value_or(""));
  if (m == nullptr) return code(ErrorCode::unknown_member_id);
  if (member_epoch != m->current.member_epoch) return code(ErrorCode::stale_member_epoch);
  return 0;
}

void GroupShard::consumer_describe(const std::string& group_id, const TopicsView& topics,
                                   protocol::ConsumerGroupDescribeResponse::DescribedGroup& out) const {
  using Described = protocol::ConsumerGroupDescribeResponse;
  out.group_id = group_id;
  const ConsumerGroup* g = consumer_group(group_id);
  if (g == nullptr) {
    out.error_code = code(ErrorCode::group_id_not_found);
    out.error_message = group(group_id) != nullptr ? fmt::format("Group {} is not a consumer group.", group_id)
                                                   : fmt::format("Group {} not found.", group_id);
    return;
  }
  out.group_state = std::string(consumer_state_name(g->state()));
  out.group_epoch = g->group_epoch();
  out.assignment_epoch = g->assignment_epoch();
  out.assignor_name = std::string(assignors::server_assignor_name(group_assignor(*g)));
  auto named = [&topics](const std::set<TopicPartition>& partitions) {
    Described::Assignment a;
    for (const auto& t : to_topic_ids(partitions)) {
      a.topic_partitions.push_back({t.topic_id, topics.name_of(topic_key(t.topic_id)).value_or(""), t.partitions});
    }
    return a;
  };
  for (const auto& [id, m] : g->members()) {
    Described::Member member;
    member.member_id = id;
    member.instance_id = m.metadata.instance_id;
    member.rack_id = m.metadata.rack_id;
    member.member_epoch = m.current.member_epoch;
    member.client_id = m.metadata.client_id;
    member.client_host = m.metadata.client_host;
    member.subscribed_topic_names = m.metadata.subscribed_topic_names;
    member.subscribed_topic_regex = m.metadata.subscribed_topic_regex;
    member.assignment = named(m.current.assigned);
    member.target_assignment = named(m.target);
    member.member_type = 1;  // consumer protocol (Keel has no classic members in a consumer group)
    out.members.push_back(std::move(member));
  }
}

// DescribeGroups of a consumer group, as Kafka answers it: protocol type "consumer", the
// consumer group's state, and its members (without classic metadata or assignment bytes).
bool GroupShard::describe_consumer(const std::string& group_id, protocol::DescribeGroupsResponse::Group& out) const {
  const ConsumerGroup* g = consumer_group(group_id);
  if (g == nullptr) return false;
  out.group_id = group_id;
  out.group_state = std::string(consumer_state_name(g->state()));
  out.protocol_type = "consumer";
  for (const auto& [id, m] : g->members()) {
    protocol::DescribeGroupsResponse::Member member;
    member.member_id = id;
    member.group_instance_id = m.metadata.instance_id;
    member.client_id = m.metadata.client_id;
    member.client_host = m.metadata.client_host;
    out.members.push_back(std::move(member));
  }
  return true;
}

// Deleting an empty consumer group: its offsets, then records 6 and 3 as tombstones (an empty
// group has no member records left).
coordinator::WriteResult GroupShard::delete_consumer_group(const ConsumerGroup& g, std::int16_t& error_code) {
  coordinator::WriteResult result;
  if (!g.empty()) {
    error_code = code(ErrorCode::non_empty_group);
    return result;
  }
  error_code = 0;
  if (const auto* committed = offsets(g.id())) {
    for (const auto& [tp, offset] : *committed) result.records.push_back(offset_tombstone({g.id(), tp.topic, tp.partition}));
  }
  result.records.push_back(consumer_tombstone({consumer_target_metadata_type, g.id(), {}}));
  result.records.push_back(consumer_tombstone({consumer_group_metadata_type, g.id(), {}}));
  return result;
}

}  // namespace keel::group
