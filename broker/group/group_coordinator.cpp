#include "broker/group/group_coordinator.h"

#include "broker/base/assert.h"

#include <fmt/format.h>

namespace keel::group {

using coordinator::CoordinatorError;
using protocol::ErrorCode;

namespace {

coordinator::RuntimeOptions runtime_options(const GroupCoordinatorOptions& options) {
  coordinator::RuntimeOptions o;
  o.topic = std::string(offsets_topic);
  o.write_timeout = options.commit_timeout;
  o.writes_in_flight = options.writes_in_flight;
  return o;
}

template <class Response>
Response with_error(std::int16_t error) {
  Response r;
  r.error_code = error;
  return r;
}

}  // namespace

GroupCoordinator::GroupCoordinator(Runtime& rt, partition::ReplicaManager& replicas, GroupCoordinatorOptions options)
    : rt_(rt), options_(std::move(options)) {
  replica_log_ = std::make_unique<coordinator::ReplicaLog>(rt_, replicas);
  const GroupConfig config = options_.group;
  runtime_ = std::make_unique<coordinator::CoordinatorRuntime>(
      rt_, runtime_options(options_), *replica_log_, [config, topics = options_.topics](coordinator::ShardContext& ctx) {
        return std::make_unique<GroupShard>(ctx, config, topics);
      });
}

GroupCoordinator::GroupCoordinator(Runtime& rt, coordinator::PartitionLog& log, GroupCoordinatorOptions options)
    : rt_(rt), options_(std::move(options)) {
  const GroupConfig config = options_.group;
  runtime_ = std::make_unique<coordinator::CoordinatorRuntime>(
      rt_, runtime_options(options_), log, [config, topics = options_.topics](coordinator::ShardContext& ctx) {
        return std::make_unique<GroupShard>(ctx, config, topics);
      });
}

GroupCoordinator::~GroupCoordinator() { stop(); }

void GroupCoordinator::stop() { runtime_->stop(); }

std::int32_t GroupCoordinator::partition_for(std::string_view group_id) const {
  return group::partition_for(group_id, options_.offsets_partitions);
}

void GroupCoordinator::on_role_changes(const std::vector<partition::RoleChange>& changes) {
  for (const auto& c : changes) {
    if (c.tp.topic == offsets_topic) runtime_->on_role_change(c.tp.partition, c.leader, c.leader_epoch);
  }
}

CoordinatorError GroupCoordinator::write(const std::string& group_id, std::string_view name,
                                         const std::function<coordinator::WriteResult(GroupShard&)>& op) {
  return runtime_->write(partition_for(group_id), name,
                         [&](coordinator::Shard& shard) { return op(static_cast<GroupShard&>(shard)); });
}

CoordinatorError GroupCoordinator::read(const std::string& group_id, const std::function<void(GroupShard&)>& op) {
  return runtime_->read(partition_for(group_id), [&](coordinator::Shard& shard) { op(static_cast<GroupShard&>(shard)); });
}

Instant GroupCoordinator::park_deadline(std::int32_t rebalance_timeout_ms) const {
  const std::int32_t bound = std::max(rebalance_timeout_ms, options_.group.new_member_join_timeout_ms);
  return rt_.now() + std::chrono::milliseconds(bound) + std::chrono::seconds(30);
}

protocol::JoinGroupResponse GroupCoordinator::join_group(const protocol::JoinGroupRequest& request, const Client& client) {
  auto reply = std::make_shared<Reply<protocol::JoinGroupResponse>>();
  const auto error = write(request.group_id, "join-group",
                           [&](GroupShard& shard) { return shard.join(request, client, reply); });
  protocol::JoinGroupResponse out;
  if (error != CoordinatorError::none) {
    out.error_code = kafka_error(error);
    out.member_id = request.member_id;
  } else if (!reply->ready.wait(park_deadline(request.rebalance_timeout_ms))) {
    out.error_code = static_cast<std::int16_t>(ErrorCode::rebalance_in_progress);
    out.member_id = request.member_id;
  } else {
    out = std::move(*reply->value);
  }
  // Error answers carry "" as the protocol name below v7 (not nullable there); JoinGroup v0-6
  // readers take the encoder's empty string for a null.
  return out;
}

protocol::SyncGroupResponse GroupCoordinator::sync_group(const protocol::SyncGroupRequest& request, const Client& client) {
  auto reply = std::make_shared<Reply<protocol::SyncGroupResponse>>();
  const auto error = write(request.group_id, "sync-group",
                           [&](GroupShard& shard) { return shard.sync(request, client, reply); });
  if (error != CoordinatorError::none) return with_error<protocol::SyncGroupResponse>(kafka_error(error));
  if (!reply->ready.wait(park_deadline(0))) {
    return with_error<protocol::SyncGroupResponse>(static_cast<std::int16_t>(ErrorCode::rebalance_in_progress));
  }
  return std::move(*reply->value);
}

protocol::HeartbeatResponse GroupCoordinator::heartbeat(const protocol::HeartbeatRequest& request) {
  protocol::HeartbeatResponse out;
  const auto error = write(request.group_id, "heartbeat", [&](GroupShard& shard) { return shard.heartbeat(request, out); });
  if (error != CoordinatorError::none) return with_error<protocol::HeartbeatResponse>(kafka_error(error));
  return out;
}

protocol::LeaveGroupResponse GroupCoordinator::leave_group(const protocol::LeaveGroupRequest& request,
                                                           const Client& client) {
  protocol::LeaveGroupResponse out;
  const auto error = write(request.group_id, "leave-group", [&](GroupShard& shard) { return shard.leave(request, client, out); });
  if (error != CoordinatorError::none) return with_error<protocol::LeaveGroupResponse>(kafka_error(error));
  return out;
}

protocol::OffsetCommitResponse GroupCoordinator::offset_commit(
    const protocol::OffsetCommitRequest& request, const Client& client,
    const std::function<bool(const std::string&, std::int32_t)>& known) {
  protocol::OffsetCommitResponse out;
  const auto error = write(request.group_id, "offset-commit",
                           [&](GroupShard& shard) { return shard.commit(request, client, known, out); });
  if (error == CoordinatorError::none) return out;
  // The group-level error, in every partition (the response has no other place for it).
  out.topics.clear();
  for (const auto& topic : request.topics) {
    protocol::OffsetCommitResponse::Topic t{topic.name, {}};
    for (const auto& p : topic.partitions) t.partitions.push_back({p.partition_index, kafka_error(error)});
    out.topics.push_back(std::move(t));
  }
  return out;
}

protocol::OffsetFetchResponse::Group GroupCoordinator::offset_fetch(
    const std::string& group_id, const std::optional<std::vector<protocol::OffsetFetchRequest::Topic>>& topics,
    const std::optional<std::string>& member_id, std::int32_t member_epoch) {
  protocol::OffsetFetchResponse::Group out;
  const auto error = read(group_id, [&](GroupShard& shard) {
    out.group_id = group_id;
    out.error_code = shard.check_fetch(group_id, member_id, member_epoch);
    if (out.error_code == 0) shard.fetch(group_id, topics, out);
  });
  if (error != CoordinatorError::none) {
    out = {};
    out.group_id = group_id;
    out.error_code = kafka_error(error);
  }
  return out;
}

protocol::OffsetDeleteResponse GroupCoordinator::offset_delete(const protocol::OffsetDeleteRequest& request) {
  protocol::OffsetDeleteResponse out;
  const auto error = write(request.group_id, "offset-delete", [&](GroupShard& shard) { return shard.delete_offsets(request, out); });
  if (error != CoordinatorError::none) {
    out = {};
    out.error_code = kafka_error(error);
  }
  return out;
}

protocol::DescribeGroupsResponse::Group GroupCoordinator::describe_group(const std::string& group_id) {
  protocol::DescribeGroupsResponse::Group out;
  const auto error = read(group_id, [&](GroupShard& shard) { shard.describe(group_id, out); });
  if (error != CoordinatorError::none) {
    out = {};
    out.group_id = group_id;
    out.error_code = kafka_error(error);
  }
  return out;
}

protocol::ListGroupsResponse GroupCoordinator::list_groups(const protocol::ListGroupsRequest& request) {
  protocol::ListGroupsResponse out;
  for (std::int32_t partition = 0; partition < options_.offsets_partitions; ++partition) {
    const auto status = runtime_->status(partition);
    if (status == CoordinatorError::load_in_progress) {
      out.error_code = kafka_error(status);  // a partial list would hide groups: retry once loaded
      out.groups.clear();
      return out;
    }
    if (status != CoordinatorError::none) continue;
    (void)runtime_->read(partition, [&](coordinator::Shard& shard) {
      static_cast<GroupShard&>(shard).list(request.states_filter, out.groups);
    });
  }
  return out;
}

protocol::DeleteGroupsResponse::Result GroupCoordinator::delete_group(const std::string& group_id) {
  protocol::DeleteGroupsResponse::Result out;
  out.group_id = group_id;
  const auto error = write(group_id, "delete-group", [&](GroupShard& shard) { return shard.delete_group(group_id, out.error_code); });
  if (error != CoordinatorError::none) out.error_code = kafka_error(error);
  return out;
}

}  // namespace keel::group

namespace keel::group {

protocol::ConsumerGroupHeartbeatResponse GroupCoordinator::consumer_group_heartbeat(
    const protocol::ConsumerGroupHeartbeatRequest& request, std::int16_t version, const Client& client,
    const TopicsView& topics) {
  protocol::ConsumerGroupHeartbeatResponse out;
  if (auto problem = check_heartbeat(request, version)) {
    out.error_code = static_cast<std::int16_t>(ErrorCode::invalid_request);
    out.error_message = *problem;
    return out;
  }
  if (request.server_assignor && !request.server_assignor->empty() &&
      !client::assignors::server_assignor_by_name(*request.server_assignor)) {
    out.error_code = static_cast<std::int16_t>(ErrorCode::unsupported_assignor);
    out.error_message = fmt::format("ServerAssignor {} is not supported. Supported assignors: uniform, range.",
                                    *request.server_assignor);
    return out;
  }
  if (request.subscribed_topic_regex && !request.subscribed_topic_regex->empty()) {
    if (auto problem = regex_problem(*request.subscribed_topic_regex)) {
      out.error_code = static_cast<std::int16_t>(ErrorCode::invalid_regular_expression);
      out.error_message = *problem;
      return out;
    }
  }
  const auto error = write(request.group_id, "consumer-group-heartbeat",
                           [&](GroupShard& shard) { return shard.consumer_heartbeat(request, client, topics, out); });
  if (error != CoordinatorError::none) return with_error<protocol::ConsumerGroupHeartbeatResponse>(kafka_error(error));
  return out;
}

protocol::ConsumerGroupDescribeResponse::DescribedGroup GroupCoordinator::consumer_group_describe(
    const std::string& group_id, const TopicsView& topics) {
  protocol::ConsumerGroupDescribeResponse::DescribedGroup out;
  const auto error = read(group_id, [&](GroupShard& shard) { shard.consumer_describe(group_id, topics, out); });
  if (error != CoordinatorError::none) {
    out = {};
    out.group_id = group_id;
    out.error_code = kafka_error(error);
  }
  return out;
}

}  // namespace keel::group
