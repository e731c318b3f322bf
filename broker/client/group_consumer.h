#pragma once
// A Kafka consumer in a classic consumer group (../shared/reference/consumer-groups.md §1, §3, §4):
// subscribe to topics, and the group's coordinator and leader decide which member reads which
// partition. The member finds the coordinator, joins (JoinGroup, asking again after
// MEMBER_ID_REQUIRED), and as leader runs the group's assignor (range, roundrobin, sticky,
// cooperative-sticky from assignors/) over every member's subscription for SyncGroup. A heartbeat
// task keeps the membership alive; REBALANCE_IN_PROGRESS, ILLEGAL_GENERATION and UNKNOWN_MEMBER_ID
// make it join again, NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE and a broken connection make it
// find the coordinator again. FENCED_INSTANCE_ID (another process took this static member's
// instance id) is fatal: the partitions are lost and every later call fails.
//
// Eager assignors revoke everything before joining; with cooperative-sticky (KIP-429) a member keeps
// what it owns, revokes only what the leader gave away, and joins again at once so the second
// rebalance can hand those partitions to their new owners.
//
// Positions start at the group's committed offsets (OffsetFetch), else at auto_offset_reset. Commits
// (sync, async, automatic on an interval and before a revoke) carry the generation and member id.
// Rebalance callbacks and the outcomes of asynchronous commits run inside poll (and commit_sync and
// close), on the caller's task, as in the Java client.
//
// A member whose application does not poll within the rebalance timeout (max.poll.interval.ms)
// leaves the group from its heartbeat task (a static member just stops heartbeating); its next
// poll reports the partitions lost and joins again.
//
// With group_protocol consumer (KIP-848, §7) the coordinator assigns: the member heartbeats with
// ConsumerGroupHeartbeat (ConsumerMembership holds the protocol's state) and reconciles inside poll:
// revoked partitions are committed (auto commit) and revoked before the next heartbeat reports the
// smaller set, added ones are assigned once Metadata names their topic ids. Commits use OffsetCommit
// v9 with the member epoch (STALE_MEMBER_EPOCH: heartbeat at once, then commit again), OffsetFetch
// v9 names the member. A fenced member (FENCED_MEMBER_EPOCH, UNKNOWN_MEMBER_ID) loses its partitions
// and joins again at epoch 0; UNRELEASED_INSTANCE_ID is fatal.
//
// Not here: pattern subscriptions in the classic protocol.
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "broker/client/assignors/assignor.h"
#include "broker/client/consumer.h"
#include "broker/client/consumer_membership.h"
#include "broker/client/group_membership.h"

namespace keel::client {

enum class GroupProtocol : std::uint8_t {
  classic,   // JoinGroup / SyncGroup / Heartbeat, a leader member assigns
  consumer,  // KIP-848's ConsumerGroupHeartbeat, the coordinator assigns
};

struct GroupConsumerConfig {
  ConsumerConfig consumer;  // bootstrap servers, fetch sizes, auto_offset_reset, timeouts
  std::string group_id;
  std::optional<std::string> group_instance_id;  // static membership (KIP-345)
  GroupProtocol group_protocol = GroupProtocol::classic;  // group.protocol
  // group.remote.assignor: the server-side assignor a consumer-protocol member asks for ("uniform",
  // "range"); null leaves it to the coordinator. The consumer protocol ignores `assignors`,
  // `session_timeout` and `heartbeat_interval` (the coordinator sets them).
  std::optional<std::string> remote_assignor;
  // Offered in this order of preference; the coordinator picks one every member offers. The group is
  // cooperative only when every assignor offered is (Java's rule).
  std::vector<assignors::AssignorKind> assignors = {assignors::AssignorKind::range};
  Duration session_timeout = std::chrono::seconds(45);
  Duration heartbeat_interval = std::chrono::seconds(3);
  Duration rebalance_timeout = std::chrono::minutes(5);  // max.poll.interval.ms
  bool enable_auto_commit = true;
  Duration auto_commit_interval = std::chrono::seconds(5);
  Duration retry_backoff = std::chrono::milliseconds(100);
};

// What the application hears, from inside poll / commit_sync / close. Every member is optional.
struct GroupListener {
  // Partitions given to this member in `generation` (called after every completed rebalance, with
  // the newly added partitions, perhaps none).
  std::function<void(const std::vector<TopicPartition>&, std::int32_t generation)> on_assigned;
  // Partitions this member gives up while still in the group (their offsets were committed first
  // when auto commit is on).
  std::function<void(const std::vector<TopicPartition>&, std::int32_t generation)> on_revoked;
  // Partitions taken away without a chance to commit: the member was fenced, or the coordinator
  // forgot it (UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION).
  std::function<void(const std::vector<TopicPartition>&)> on_lost;
  // Every commit's outcome: commit_sync, commit_async, auto commit and the commit before a revoke.
  std::function<void(const OffsetMap&, const Status&)> on_commit;
};

class GroupConsumer {
 public:
  GroupConsumer(Runtime& rt, GroupConsumerConfig config);
  // Without close(): the tasks stop and the connections close, but the member does not leave, so
  // the coordinator removes it only after its session timeout (a crashed process).
  ~GroupConsumer();
  GroupConsumer(const GroupConsumer&) = delete;
  GroupConsumer& operator=(const GroupConsumer&) = delete;

  void subscribe(std::vector<std::string> topics, GroupListener listener = {});
  // Every topic whose whole name matches `regex` (RE2, resolved by the coordinator); the consumer
  // protocol only.
  void subscribe_regex(std::string regex, GroupListener listener = {});
  // Takes part in the group (joining or rejoining as needed), then returns the records that arrived
  // by `timeout`. An error when the member was fenced (FENCED_INSTANCE_ID), a position needs a
  // reset and auto_offset_reset is none, or a batch does not decode; brokers out of reach are
  // waited out (asked again until the timeout).
  Result<std::vector<ConsumerRecord>> poll(Duration timeout);

  // Commits the positions of every assigned partition (or `offsets`) with this member's generation
  // and id; waits for the answer. Fails with REBALANCE_IN_PROGRESS, ILLEGAL_GENERATION or
  // UNKNOWN_MEMBER_ID when the group moved on, and retries coordinator moves within
  // default_api_timeout.
  Status commit_sync();
  Status commit_sync(const OffsetMap& offsets);
  // Sends the commit from a task of its own; `done` (and the listener's on_commit) hears the outcome
  // from a later poll, commit_sync or close.
  void commit_async(std::function<void(const OffsetMap&, const Status&)> done = {});
  // The group's committed offsets for `partitions` (OffsetFetch); -1 where none.
  Result<OffsetMap> committed(const std::vector<TopicPartition>& partitions);

  // Commits (with auto commit), revokes, and leaves the group (a static member does not leave: its
  // instance id keeps its place until the session timeout).
  Status close();

  std::vector<TopicPartition> assignment() const { return consumer_.assignment(); }
  std::optional<std::int64_t> position(const TopicPartition& tp) const { return consumer_.position(tp); }
  void seek(const TopicPartition& tp, std::int64_t offset) { consumer_.seek(tp, offset); }
  const std::string& member_id() const { return membership_ ? membership_->member_id() : member_id_; }
  // The classic generation, or the consumer protocol's member epoch.
  std::int32_t generation() const { return membership_ ? membership_->member_epoch() : generation_; }
  // The consumer protocol's membership (null with the classic protocol).
  const ConsumerMembership* membership() const { return membership_.get(); }
  bool is_leader() const { return !member_id_.empty() && leader_id_ == member_id_; }
  std::optional<assignors::AssignorKind> protocol() const { return protocol_; }
  bool cooperative() const;
  std::optional<std::int32_t> coordinator_node() const { return link_.coordinator_node(); }
  std::uint64_t rebalances() const { return rebalances_; }
  // Times the member left because the application did not poll within the rebalance timeout.
  std::uint64_t poll_timeouts() const { return poll_timeouts_; }
  // The whole process stops until `until` (a long GC pause, SIGSTOP), for simulation: the
  // application stops polling by itself; this keeps the heartbeat task silent meanwhile, as in a
  // stopped process, so past the session timeout the coordinator removes the member.
  void freeze_until(Instant until) { frozen_until_ = until; }

 private:
  enum class State : std::uint8_t {
    unjoined,     // not in a generation
    rebalancing,  // joining or syncing
    stable,       // in a generation, consuming its assignment
    fenced,       // another process took this static member's instance id: nothing more
  };

  void settle();
  Status ensure_active(Instant deadline);
  void start_rebalance();
  Status finish_rebalance(Instant deadline);
  Result<protocol::JoinGroupResponse> join_group();
  Result<std::vector<TopicPartition>> sync_group(const protocol::JoinGroupResponse& joined);
  Result<std::vector<protocol::SyncGroupRequest::Assignment>> leader_assignments(const protocol::JoinGroupResponse& joined);
  protocol::JoinGroupRequest join_request() const;
  Error note_error(protocol::ErrorCode code, const char* api);
  void apply(std::vector<TopicPartition> assigned);
  Status fetch_committed_positions(Instant deadline);
  std::vector<TopicPartition> merge_assignment(const TopicPartition& tp) const;
  void revoke(const std::vector<TopicPartition>& partitions);
  void lose_all();
  void heartbeat_loop();
  void heartbeat_once();
  void leave_for_poll_timeout();
  bool member_poll_expired() const;
  void member_leave_for_poll_timeout();
  bool settle_stale_member();
  OffsetMap consumed_offsets() const;
  // Commits with the member's generation (or epoch) now, or with `generation_of_offsets` if given.
  Status commit_once(const OffsetMap& offsets, std::optional<std::int32_t> generation_of_offsets = std::nullopt);
  Status commit_retrying(const OffsetMap& offsets, Instant deadline);
  Result<OffsetMap> committed_retrying(const std::vector<TopicPartition>& partitions, Instant deadline);
  void maybe_auto_commit();
  void report_commit(const OffsetMap& offsets, const Status& status,
                     const std::function<void(const OffsetMap&, const Status&)>& done);
  void deliver_commit_outcomes();
  Status leave_group();
  Status leave_group_retrying();
  Status fenced_error() const;
  bool in_generation() const;
  // The consumer protocol (group_consumer_kip848.cpp).
  void member_heartbeat_loop();
  void member_heartbeat_once();
  void settle_member();
  Status ensure_member(Instant deadline);
  void reconcile_member();
  void resolve_topic_ids();
  void take_step(const Reconciliation& step);
  Status close_member();
  void wait_member_answer(Instant deadline);
  Error member_commit_error(protocol::ErrorCode code, std::int32_t epoch);

  Runtime& rt_;
  GroupConsumerConfig config_;
  Consumer consumer_;  // fetches the assigned partitions
  Cluster cluster_;    // metadata for the leader's assignment, and a broker to ask for the coordinator
  CoordinatorLink link_;
  std::unique_ptr<ConsumerMembership> membership_;  // the consumer protocol's state
  Event member_wake_;                               // a heartbeat may be due sooner: wakes its task
  Instant next_id_refresh_{};                       // Metadata for unknown topic ids, not before this
  std::vector<std::string> topics_;
  std::optional<std::string> regex_;  // the consumer protocol's regex subscription
  GroupListener listener_;
  State state_ = State::unjoined;
  bool rejoin_needed_ = false;
  // Heard by the heartbeat task or a commit; settle() acts on them on the application's task.
  bool reset_pending_ = false;     // UNKNOWN_MEMBER_ID or ILLEGAL_GENERATION: partitions lost, join anew
  bool forget_member_id_ = false;  // ...and with UNKNOWN_MEMBER_ID, as a new member
  bool fence_pending_ = false;     // FENCED_INSTANCE_ID
  std::string member_id_;
  std::string leader_id_;
  std::int32_t generation_ = -1;
  std::optional<assignors::AssignorKind> protocol_;
  std::vector<TopicPartition> owned_;         // sorted: what this member was given and keeps
  std::vector<TopicPartition> unpositioned_;  // sorted: owned, committed offsets not yet fetched
  Instant next_auto_commit_{};
  std::uint64_t rebalances_ = 0;
  std::uint64_t poll_timeouts_ = 0;
  // KIP-848: the application missed its poll deadline and the member left (or, static, went
  // silent); the next poll reports the partitions lost and joins again.
  bool poll_stale_ = false;
  Instant last_poll_{};  // when the application last called poll
  Instant frozen_until_{};  // freeze_until: no heartbeats before then
  struct CommitOutcome {
    OffsetMap offsets;
    Status status;
    std::function<void(const OffsetMap&, const Status&)> done;
  };
  std::deque<CommitOutcome> commit_outcomes_;  // asynchronous commits answered, not yet reported
  // Set once the latest asynchronous commit is answered: the next one waits for it, so that commits
  // reach the coordinator in the order they were made (Java's go out in order on one connection).
  // Sent from tasks of their own that all wait out a coordinator move, they would otherwise race,
  // and an old commit landing last would move the committed offset back.
  std::shared_ptr<Event> last_async_commit_;
  std::optional<Result<std::vector<TopicPartition>>> rebalance_result_;  // the rebalance task's outcome
  Instant next_join_{};
  TaskRef rebalance_task_;  // after a failed rebalance, the next starts no earlier
  std::vector<TaskRef> tasks_;
  bool closed_ = false;
};

}  // namespace keel::client
