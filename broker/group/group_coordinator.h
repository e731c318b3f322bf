#pragma once
// The group coordinator of one broker (Kafka's GroupCoordinatorService): the coordinator runtime
// over __consumer_offsets with a GroupShard per partition, and one entry point per Kafka API that
// the front end's handlers call. Each finds the group's partition, runs the operation on its shard
// (a write: answered once committed), and waits for a parked JoinGroup or SyncGroup to be answered.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "broker/coordinator/partition_log.h"
#include "broker/coordinator/runtime.h"
#include "broker/group/group_shard.h"
#include "broker/partition/replica_manager.h"

namespace keel::group {

inline constexpr std::string_view offsets_topic = "__consumer_offsets";

struct GroupCoordinatorOptions {
  std::int32_t offsets_partitions = 50;          // offsets.topic.num.partitions
  std::int16_t offsets_replication_factor = 3;   // offsets.topic.replication.factor
  std::int32_t offsets_segment_bytes = 104857600;  // offsets.topic.segment.bytes
  Duration commit_timeout = std::chrono::milliseconds(5000);  // offsets.commit.timeout.ms
  bool writes_in_flight = true;  // false: one write per commit round trip (coordinator::RuntimeOptions)
  GroupConfig group;
  // The metadata's topics now, for what no request brings topics to: a timer's fence computes the
  // group's subscription metadata again from them, as Kafka's coordinator does from its current
  // image. Unset (tests), a fence keeps the stored subscription hash.
  std::function<TopicsView()> topics;
};

class GroupCoordinator {
 public:
  GroupCoordinator(Runtime& rt, partition::ReplicaManager& replicas, GroupCoordinatorOptions options);
  // For tests: any partition log (an in-memory one).
  GroupCoordinator(Runtime& rt, coordinator::PartitionLog& log, GroupCoordinatorOptions options);
  ~GroupCoordinator();

  const GroupCoordinatorOptions& options() const { return options_; }
  std::int32_t partition_for(std::string_view group_id) const;
  // Leadership changes the node saw; those of __consumer_offsets load or unload shards.
  void on_role_changes(const std::vector<partition::RoleChange>& changes);
  void stop();
  coordinator::CoordinatorRuntime& runtime() { return *runtime_; }

  protocol::JoinGroupResponse join_group(const protocol::JoinGroupRequest& request, const Client& client);
  protocol::SyncGroupResponse sync_group(const protocol::SyncGroupRequest& request, const Client& client);
  protocol::HeartbeatResponse heartbeat(const protocol::HeartbeatRequest& request);
  protocol::LeaveGroupResponse leave_group(const protocol::LeaveGroupRequest& request, const Client& client);
  protocol::OffsetCommitResponse offset_commit(const protocol::OffsetCommitRequest& request, const Client& client,
                                               const std::function<bool(const std::string&, std::int32_t)>& known);
  // A fetch naming a consumer group member (v9) is checked against its epoch.
  protocol::OffsetFetchResponse::Group offset_fetch(
      const std::string& group_id, const std::optional<std::vector<protocol::OffsetFetchRequest::Topic>>& topics,
      const std::optional<std::string>& member_id = std::nullopt, std::int32_t member_epoch = -1);
  protocol::OffsetDeleteResponse offset_delete(const protocol::OffsetDeleteRequest& request);
  protocol::DescribeGroupsResponse::Group describe_group(const std::string& group_id);
  protocol::ListGroupsResponse list_groups(const protocol::ListGroupsRequest& request);
  protocol::DeleteGroupsResponse::Result delete_group(const std::string& group_id);
  // KIP-848: `version` is the request's (it decides which checks apply), `topics` the metadata
  // image's topics as the handler saw them.
  protocol::ConsumerGroupHeartbeatResponse consumer_group_heartbeat(const protocol::ConsumerGroupHeartbeatRequest& request,
                                                                    std::int16_t version, const Client& client,
                                                                    const TopicsView& topics);
  protocol::ConsumerGroupDescribeResponse::DescribedGroup consumer_group_describe(const std::string& group_id,
                                                                                  const TopicsView& topics);

 private:
  coordinator::CoordinatorError write(const std::string& group_id, std::string_view name,
                                      const std::function<coordinator::WriteResult(GroupShard&)>& op);
  coordinator::CoordinatorError read(const std::string& group_id, const std::function<void(GroupShard&)>& op);
  // How long a parked JoinGroup or SyncGroup may wait before the handler gives up on it.
  Instant park_deadline(std::int32_t rebalance_timeout_ms) const;

  Runtime& rt_;
  GroupCoordinatorOptions options_;
  std::unique_ptr<coordinator::ReplicaLog> replica_log_;
  std::unique_ptr<coordinator::CoordinatorRuntime> runtime_;
};

}  // namespace keel::group
