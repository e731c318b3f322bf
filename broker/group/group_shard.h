#pragma once
// The group coordinator's state machine for one __consumer_offsets partition (Kafka's
// GroupCoordinatorShard: GroupMetadataManager + OffsetMetadataManager): the classic groups placed
// on the partition and their committed offsets. It runs inside the coordinator runtime: every
// operation below is a write operation (its records are appended and committed before the handler
// answers) or a read; timers (session, join, sync) are the runtime's and run as write operations.
//
// Operations take the Kafka request and fill the Kafka response (errors as Kafka error codes). A
// request that must wait (JoinGroup, SyncGroup) leaves a Reply in the group, answered later by
// another operation or a timer.
#include <cstdint>
#include <functional>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "broker/base/topic_partition.h"
#include "broker/coordinator/runtime.h"
#include "broker/client/assignors/server_assignors.h"
#include "broker/group/classic_group.h"
#include "broker/group/consumer_group.h"
#include "broker/group/records.h"
#include "broker/protocol/messages.h"

namespace keel::group {

struct GroupConfig {
  std::int32_t initial_rebalance_delay_ms = 3000;     // group.initial.rebalance.delay.ms
  std::int32_t min_session_timeout_ms = 6000;         // group.min.session.timeout.ms
  std::int32_t max_session_timeout_ms = 1800000;      // group.max.session.timeout.ms
  std::int32_t max_size = std::numeric_limits<std::int32_t>::max();  // group.max.size
  std::int32_t new_member_join_timeout_ms = 300000;   // KAFKA-7610: a new member's join waits at most this
  std::int32_t offset_metadata_max_bytes = 4096;      // offset.metadata.max.bytes
  std::int32_t consumer_session_timeout_ms = 45000;   // group.consumer.session.timeout.ms
  std::int32_t consumer_heartbeat_interval_ms = 5000;  // group.consumer.heartbeat.interval.ms
  std::int32_t consumer_max_size = std::numeric_limits<std::int32_t>::max();  // group.consumer.max.size
};

// The topics of the metadata image as a consumer group sees them when a heartbeat arrives: by name,
// with their topic id and partition count. Subscriptions are resolved against it.
struct TopicsView {
  struct Topic {
    protocol::Uuid id;
    std::int32_t partitions = 0;
  };
  std::map<std::string, Topic> by_name;

  std::optional<std::string> key_of(const std::string& name) const;  // the topic key (consumer_group.h)
  std::int32_t partitions(const std::string& key) const;
  std::optional<std::string> name_of(const std::string& key) const;
  // The keys of the topics whose whole name matches `regex` (RE2 syntax).
  std::vector<std::string> matching(const std::string& regex) const;
};

// Who sent a request (for member ids and DescribeGroups).
struct Client {
  std::string client_id;
  std::string host;
  std::int16_t version = 0;
};

struct CommittedOffset {
  std::int64_t offset = -1;
  std::int32_t leader_epoch = -1;
  std::string metadata;
  std::int64_t commit_timestamp = 0;
};

class GroupShard final : public coordinator::Shard {
 public:
  GroupShard(coordinator::ShardContext& context, GroupConfig config, std::function<TopicsView()> topics = {})
      : ctx_(context), config_(config), topics_(std::move(topics)) {}
  ~GroupShard() override;

  // ---- coordinator::Shard ----
  void replay(const coordinator::CoordinatorRecord& record) override;
  void loaded() override;
  void unloaded(coordinator::CoordinatorError error) override;

  // ---- classic protocol (shard_join.cpp, shard_members.cpp) ----
  coordinator::WriteResult join(const protocol::JoinGroupRequest& request, const Client& client, const JoinReply& reply);
  coordinator::WriteResult sync(const protocol::SyncGroupRequest& request, const Client& client, const SyncReply& reply);
  coordinator::WriteResult heartbeat(const protocol::HeartbeatRequest& request, protocol::HeartbeatResponse& response);
  coordinator::WriteResult leave(const protocol::LeaveGroupRequest& request, const Client& client,
                                 protocol::LeaveGroupResponse& response);

  // ---- offsets (shard_offsets.cpp) ----
  // `known` says whether a topic-partition exists (UNKNOWN_TOPIC_OR_PARTITION otherwise).
  coordinator::WriteResult commit(const protocol::OffsetCommitRequest& request, const Client& client,
                                  const std::function<bool(const std::string&, std::int32_t)>& known,
                                  protocol::OffsetCommitResponse& response);
  // One group's offsets, in OffsetFetch v8's group form (the handler shapes older versions).
  void fetch(const std::string& group_id, const std::optional<std::vector<protocol::OffsetFetchRequest::Topic>>& topics,
             protocol::OffsetFetchResponse::Group& out) const;
  coordinator::WriteResult delete_offsets(const protocol::OffsetDeleteRequest& request,
                                          protocol::OffsetDeleteResponse& response);

  // ---- admin (shard_admin.cpp) ----
  void describe(const std::string& group_id, protocol::DescribeGroupsResponse::Group& out) const;
  void list(const std::vector<std::string>& states_filter, std::vector<protocol::ListGroupsResponse::Group>& out) const;
  coordinator::WriteResult delete_group(const std::string& group_id, std::int16_t& error_code);

  // ---- KIP-848 consumer groups (shard_consumer.cpp) ----
  coordinator::WriteResult consumer_heartbeat(const protocol::ConsumerGroupHeartbeatRequest& request,
                                              const Client& client, const TopicsView& topics,
                                              protocol::ConsumerGroupHeartbeatResponse& response);
  void consumer_describe(const std::string& group_id, const TopicsView& topics,
                         protocol::ConsumerGroupDescribeResponse::DescribedGroup& out) const;
  // OffsetFetch v9's member check: a fetch naming a member of a consumer group must carry its epoch.
  std::int16_t check_fetch(const std::string& group_id, const std::optional<std::string>& member_id,
                           std::int32_t member_epoch) const;

  // For tests and checkers.
  const ClassicGroup* group(const std::string& id) const;
  const ConsumerGroup* consumer_group(const std::string& id) const;
  const std::map<TopicPartition, CommittedOffset>* offsets(const std::string& group_id) const;

 private:
  // ---- join (shard_join.cpp) ----
  coordinator::WriteResult join_new_member(ClassicGroup& g, const protocol::JoinGroupRequest& request,
                                           const Client& client, const JoinReply& reply);
  coordinator::WriteResult join_existing_member(ClassicGroup& g, const protocol::JoinGroupRequest& request,
                                                const Client& client, const JoinReply& reply);
  coordinator::WriteResult join_static_member(ClassicGroup& g, const protocol::JoinGroupRequest& request,
                                              const Client& client, const JoinReply& reply, const std::string& new_id);
  coordinator::WriteResult add_member_and_rebalance(ClassicGroup& g, const protocol::JoinGroupRequest& request,
                                                    const Client& client, const JoinReply& reply,
                                                    const std::string& member_id);
  coordinator::WriteResult update_member_and_rebalance(ClassicGroup& g, ClassicMember& m,
                                                       const protocol::JoinGroupRequest& request, const Client& client,
                                                       const JoinReply& reply);
  coordinator::WriteResult prepare_rebalance(ClassicGroup& g, std::string_view reason);
  coordinator::WriteResult maybe_complete_join(ClassicGroup& g);
  coordinator::WriteResult complete_join(ClassicGroup& g);
  coordinator::WriteResult on_join_timer(const std::string& group_id);
  coordinator::WriteResult on_sync_timer(const std::string& group_id, std::int32_t generation);
  coordinator::WriteResult on_session_timer(const std::string& group_id, const std::string& member_id);
  protocol::JoinGroupResponse join_response(const ClassicGroup& g, const ClassicMember& m) const;
  void answer_join(ClassicMember& m, protocol::JoinGroupResponse response);

  // ---- members (shard_members.cpp) ----
  // The member a request names: error UNKNOWN_MEMBER_ID or FENCED_INSTANCE_ID when it does not exist
  // or its instance now belongs to another member.
  std::int16_t check_member(const ClassicGroup& g, const std::string& member_id,
                            const std::optional<std::string>& instance_id) const;
  void drop_member(ClassicGroup& g, const std::string& member_id, std::string_view why);
  coordinator::WriteResult remove_member_and_update(ClassicGroup& g, const std::string& member_id, std::string_view why);
  void cancel_member_timers(const ClassicGroup& g, const std::string& member_id);
  void reschedule_session(const ClassicGroup& g, const ClassicMember& m);
  void schedule_session(const std::string& group_id, const std::string& member_id, std::int32_t timeout_ms);
  void reset_assignments_with_error(ClassicGroup& g, std::int16_t error);
  std::int16_t leave_one(ClassicGroup& g, const protocol::LeaveGroupRequest::MemberIdentity& who,
                         coordinator::WriteResult& result);
  coordinator::WriteResult finish_sync(ClassicGroup& g, const protocol::SyncGroupRequest& request);
  std::int16_t check_commit(const protocol::OffsetCommitRequest& request);

  // ---- consumer groups (shard_consumer.cpp) ----
  using Heartbeat = protocol::ConsumerGroupHeartbeatRequest;
  using HeartbeatAnswer = protocol::ConsumerGroupHeartbeatResponse;
  void emit(coordinator::WriteResult& result, coordinator::CoordinatorRecord record);
  ConsumerGroup& get_or_create_consumer(const std::string& id);
  ConsumerGroup* consumer_group_for_join(const Heartbeat& rq, coordinator::WriteResult& result, HeartbeatAnswer& out);
  std::int16_t consumer_member_lookup(ConsumerGroup& g, const Heartbeat& rq, const Client& client,
                                      std::string& member_id, coordinator::WriteResult& result);
  void replace_static_member(ConsumerGroup& g, const ConsumerMember& old, const std::string& new_id,
                             const Client& client, coordinator::WriteResult& result);
  void remove_consumer_member(ConsumerGroup& g, const std::string& member_id, coordinator::WriteResult& result);
  void fence_consumer_member(ConsumerGroup& g, const std::string& member_id, coordinator::WriteResult& result);
  coordinator::WriteResult consumer_leave(const Heartbeat& rq, HeartbeatAnswer& out);
  assignors::ServerAssignorKind group_assignor(const ConsumerGroup& g) const;
  void compute_target(ConsumerGroup& g, const TopicsView& topics, coordinator::WriteResult& result);
  void reconcile_member(ConsumerGroup& g, const std::string& member_id,
                        const std::optional<std::vector<Heartbeat::TopicPartitions>>& owned,
                        coordinator::WriteResult& result);
  void schedule_consumer_session(const std::string& group_id, const std::string& member_id);
  void schedule_consumer_timer(const std::string& name, const std::string& group_id, const std::string& member_id,
                               std::optional<std::int32_t> epoch, std::int32_t timeout_ms);
  std::set<std::string> subscribed_topic_keys(const ConsumerMemberMetadataValue& m, const TopicsView& topics) const;
  void replay_consumer(const ConsumerRecord& record);
  void consumer_groups_loaded();
  std::int16_t check_consumer_commit(const ConsumerGroup& g, const protocol::OffsetCommitRequest& request,
                                     std::int16_t version) const;
  bool describe_consumer(const std::string& group_id, protocol::DescribeGroupsResponse::Group& out) const;
  coordinator::WriteResult delete_consumer_group(const ConsumerGroup& g, std::int16_t& error_code);
  std::int64_t subscription_hash(const ConsumerGroup& g, const TopicsView& topics) const;

  // ---- records ----
  coordinator::CoordinatorRecord metadata_record(const ClassicGroup& g) const;
  void apply_record(const coordinator::CoordinatorRecord& record);
  void replay_offset(const OffsetRecord& record);
  void replay_group(const GroupRecord& record);
  ClassicGroup& get_or_create(const std::string& id);
  std::int64_t now_ms() const;
  std::string new_member_id(const std::string& prefix);

  coordinator::ShardContext& ctx_;
  GroupConfig config_;
  bool active_ = false;
  std::map<std::string, std::unique_ptr<ClassicGroup>> groups_;
  std::map<std::string, std::unique_ptr<ConsumerGroup>> consumer_groups_;  // ids never also in groups_
  // The topics as the latest heartbeat saw them (none since the load: nullopt), which a timer's
  // fencing resolves subscriptions against.
  std::function<TopicsView()> topics_;  // the metadata's topics now (GroupCoordinatorOptions::topics)
  std::deque<coordinator::CoordinatorRecord> applied_;  // emitted, not yet replayed by the runtime
  std::map<std::string, std::map<TopicPartition, CommittedOffset>> offsets_;
};

std::set<std::string> subscribed_topics(const ClassicGroup& g);

// ConsumerGroupHeartbeat's checks before the shard (Kafka's request validation): the message of an
// INVALID_REQUEST answer, or nothing when the request may go on.
std::optional<std::string> check_heartbeat(const protocol::ConsumerGroupHeartbeatRequest& request, std::int16_t version);
// Why a subscription regex is not one RE2 reads (INVALID_REGULAR_EXPRESSION), or nothing.
std::optional<std::string> regex_problem(const std::string& regex);

// The Kafka error code for a runtime error (NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS, ...).
std::int16_t kafka_error(coordinator::CoordinatorError error);

// Merges one operation's result into another (records in order, then the callbacks).
void append(coordinator::WriteResult& into, coordinator::WriteResult from);

}  // namespace keel::group
