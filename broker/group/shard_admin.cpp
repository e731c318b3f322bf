// DescribeGroups, ListGroups and DeleteGroups (Kafka's GroupMetadataManager.describeGroups,
// listGroups, and the group deletion of GroupCoordinatorShard).
#include <algorithm>

#include "broker/group/group_shard.h"

namespace keel::group {

using coordinator::WriteResult;
using protocol::ErrorCode;

namespace {

bool equal_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

}  // namespace

void GroupShard::describe(const std::string& group_id, protocol::DescribeGroupsResponse::Group& out) const {
  if (describe_consumer(group_id, out)) return;
  out.group_id = group_id;
  const ClassicGroup* g = group(group_id);
  if (g == nullptr) {
    out.group_state = std::string(state_name(GroupState::dead));
    return;
  }
  out.group_state = std::string(state_name(g->state()));
  out.protocol_type = g->protocol_type().value_or("");
  const bool stable = g->in(GroupState::stable);
  if (stable) out.protocol_data = g->protocol_name().value_or("");
  for (const auto& [id, m] : g->members()) {
    protocol::DescribeGroupsResponse::Member member;
    member.member_id = id;
    member.group_instance_id = m.instance_id;
    member.client_id = m.client_id;
    member.client_host = m.client_host;
    // Metadata and assignments mean something only once an assignment is handed out.
    if (stable) {
      if (const auto* metadata = m.metadata_for(out.protocol_data)) member.member_metadata = *metadata;
      member.member_assignment = m.assignment;
    }
    out.members.push_back(std::move(member));
  }
}

void GroupShard::list(const std::vector<std::string>& states_filter,
                      std::vector<protocol::ListGroupsResponse::Group>& out) const {
  for (const auto& [id, g] : groups_) {
    const std::string_view state = state_name(g->state());
    const bool wanted = states_filter.empty() || std::any_of(states_filter.begin(), states_filter.end(), [&](const auto& s) {
                          return equal_ignoring_case(s, state);
                        });
    if (wanted) out.push_back({id, g->protocol_type().value_or(""), std::string(state)});
  }
  for (const auto& [id, g] : consumer_groups_) {
    const std::string_view state = consumer_state_name(g->state());
    const bool wanted = states_filter.empty() || std::any_of(states_filter.begin(), states_filter.end(), [&](const auto& s) {
                          return equal_ignoring_case(s, state);
                        });
    if (wanted) out.push_back({id, "consumer", std::string(state)});
  }
}

WriteResult GroupShard::delete_group(const std::string& group_id, std::int16_t& error_code) {
  if (const ConsumerGroup* consumer = consumer_group(group_id)) return delete_consumer_group(*consumer, error_code);
  const ClassicGroup* g = group(group_id);
  if (g == nullptr) {
    error_code = static_cast<std::int16_t>(ErrorCode::group_id_not_found);
    return {};
  }
  if (!g->in(GroupState::empty) && !g->in(GroupState::dead)) {
    error_code = static_cast<std::int16_t>(ErrorCode::non_empty_group);
    return {};
  }
  error_code = 0;
  WriteResult result;
  if (const auto* committed = offsets(group_id)) {
    for (const auto& [tp, offset] : *committed) result.records.push_back(offset_tombstone({group_id, tp.topic, tp.partition}));
  }
  result.records.push_back(group_tombstone({group_id}));
  return result;
}

}  // namespace keel::group
