#pragma once
// One consumer's membership in a group of KIP-848's consumer protocol
// (../shared/reference/consumer-groups.md §7), as a state machine without I/O: GroupConsumer (or a
// test playing the coordinator) asks it what the next ConsumerGroupHeartbeat carries and when it is
// due, hands it each answer, and runs the reconciliation it plans. Kafka's ConsumerMembershipManager
// and librdkafka's rdkafka_cgrp.c are the models.
//
// - The member id is the client's own (a random UUID, KIP-1082); it joins with epoch 0 and a full
//   request (subscription, rebalance timeout, server assignor, no owned partitions), then sends only
//   what changed since the last answered request; after an error or a lost answer the next request
//   is full again, so the coordinator resends the assignment.
// - The coordinator's assignment names topics by id. Reconciliation revokes what left the target
//   first (the owner commits and runs its callback), then adds what is new once the topic's name is
//   known (the owner learns names from Metadata v10+); the heartbeat that follows reports the new
//   owned set, and only then may the coordinator hand revoked partitions to another member.
// - FENCED_MEMBER_EPOCH and UNKNOWN_MEMBER_ID (and GROUP_ID_NOT_FOUND: the group was deleted): the
//   member lost everything; the owner reports the partitions lost and it joins again at epoch 0.
//   UNRELEASED_INSTANCE_ID (another process holds this static member's instance id), an unknown
//   assignor, a bad regex, a full group and the like are fatal, as in librdkafka and Java.
//   NOT_COORDINATOR and COORDINATOR_NOT_AVAILABLE: the owner finds the coordinator again.
// - Leaving sends epoch -1 (a static member -2: its instance id keeps its partitions until the
//   session timeout).
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "broker/base/topic_partition.h"
#include "broker/base/time.h"
#include "broker/platform/random.h"
#include "broker/protocol/errors.h"
#include "broker/protocol/wire.h"

namespace keel::client {

// Partitions by topic id, as ConsumerGroupHeartbeat carries them (each list sorted, no duplicates).
using TopicIdPartitions = std::map<protocol::Uuid, std::vector<std::int32_t>>;

// A fresh member id: 16 random bytes (a version 4 UUID) in Kafka's form, base64url without padding.
std::string random_member_id(Random& random);
std::string uuid_base64url(const protocol::Uuid& id);

// The epochs a heartbeat sends to leave.
inline constexpr std::int32_t leave_epoch = -1;
inline constexpr std::int32_t static_leave_epoch = -2;

// What the next ConsumerGroupHeartbeat carries; a null field is unchanged since the last answer.
struct ConsumerHeartbeat {
  std::string member_id;
  std::int32_t member_epoch = 0;
  std::optional<std::string> instance_id;
  std::int32_t rebalance_timeout_ms = -1;
  std::optional<std::vector<std::string>> subscribed_topic_names;
  std::optional<std::string> subscribed_topic_regex;
  std::optional<std::string> server_assignor;
  std::optional<TopicIdPartitions> owned;
  bool operator==(const ConsumerHeartbeat&) const = default;
};

// The parts of a ConsumerGroupHeartbeat answer the member acts on.
struct ConsumerHeartbeatAnswer {
  protocol::ErrorCode error = protocol::ErrorCode::none;
  std::int32_t member_epoch = 0;
  std::int32_t heartbeat_interval_ms = 0;
  std::optional<TopicIdPartitions> assignment;  // null: unchanged
};

// One step of reconciliation the owner carries out: commit and revoke `revoke` (the application's
// on_revoked), then take `add` (on_assigned), then call reconciled().
struct Reconciliation {
  std::vector<TopicPartition> revoke;  // sorted
  std::vector<TopicPartition> add;     // sorted
  std::int32_t epoch = 0;              // the member epoch the target came with
  std::uint64_t incarnation = 0;       // which membership it belongs to (a fence starts another)
};

struct ConsumerMembershipConfig {
  std::string member_id;
  std::optional<std::string> instance_id;  // static membership
  Duration rebalance_timeout = std::chrono::minutes(5);
  std::optional<std::string> server_assignor;  // group.remote.assignor; null: the group's default
  Duration retry_backoff = std::chrono::milliseconds(100);
  Duration retry_backoff_max = std::chrono::seconds(1);
};

class ConsumerMembership {
 public:
  enum class State : std::uint8_t {
    unsubscribed,   // no subscription yet
    joining,        // epoch 0 is to be sent
    reconciling,    // in the group; the target differs from what the member owns
    acknowledging,  // a reconciliation step finished: heartbeat at once to report the owned set
    stable,         // owns its target; heartbeats every interval
    fenced,         // lost its partitions; the owner reports them lost, then rejoin()
    leaving,        // the leave heartbeat is to be sent
    left,           // out of the group for good (closed)
    fatal,          // nothing more: error() says why
  };

  explicit ConsumerMembership(ConsumerMembershipConfig config);

  void subscribe(std::vector<std::string> topics);
  void subscribe_regex(std::string regex);

  // ---- heartbeats ----
  // When the next heartbeat should go (now for joining, acknowledging and leaving); nullopt while
  // one is in flight or none is to be sent.
  std::optional<Instant> heartbeat_due() const;
  // Builds the heartbeat and marks it in flight.
  ConsumerHeartbeat heartbeat(Instant now);
  // The coordinator's answer to the heartbeat in flight. Returns the error the owner must act on
  // (NOT_COORDINATOR or COORDINATOR_NOT_AVAILABLE: find the coordinator again), else none.
  protocol::ErrorCode on_answer(Instant now, const ConsumerHeartbeatAnswer& answer);
  // No answer (a broken connection, a timeout): ask again, in full, after a backoff.
  void on_failure(Instant now);
  // Sends the next heartbeat at once (after STALE_MEMBER_EPOCH on a commit, as librdkafka does).
  void heartbeat_now() { urgent_ = true; }
  std::uint64_t answers() const { return answers_; }

  // ---- reconciliation, on the owner's task ----
  // The next step towards the target, naming topics through `topic_name`; nullopt when there is
  // nothing the member can do now (its target reached, waiting for topic names, or a step under way:
  // one at a time). From here on heartbeats report the step's added partitions as owned.
  std::optional<Reconciliation> reconcile(const std::function<std::optional<std::string>(const protocol::Uuid&)>& topic_name);
  // The owner finished `step` (revoked, committed, assigned): the member owns the result, and the
  // next heartbeat reports it. A step of an earlier incarnation (the member was fenced meanwhile)
  // changes nothing.
  void reconciled(const Reconciliation& step);
  // Topic ids of the target whose names are not yet known.
  std::vector<protocol::Uuid> unresolved() const { return unresolved_; }

  // ---- fencing and leaving ----
  // After the owner reported the partitions lost (fenced, or left after a poll timeout): join again
  // at epoch 0 with the same member id.
  void rejoin();
  // Close: the next heartbeat leaves (epoch -1, or -2 for a static member). The owner revokes first.
  void leave();

  State state() const { return state_; }
  bool in_group() const;  // holds an epoch > 0
  std::int32_t member_epoch() const { return member_epoch_; }
  const std::string& member_id() const { return config_.member_id; }
  const std::vector<TopicPartition>& owned() const { return owned_; }  // sorted
  Duration heartbeat_interval() const { return heartbeat_interval_; }
  // Why the member is fatal, or fenced.
  protocol::ErrorCode error() const { return error_; }
  std::uint64_t incarnation() const { return incarnation_; }

 private:
  struct Owned {
    protocol::Uuid id;
    std::int32_t partition = 0;
    auto operator<=>(const Owned&) const = default;
  };
  void fence(protocol::ErrorCode why);
  void take_answer(Instant now, const ConsumerHeartbeatAnswer& answer);
  void after_error(Instant now, protocol::ErrorCode code);
  void settle_state();
  TopicIdPartitions owned_by_id() const;
  TopicIdPartitions reported() const;
  bool target_reached() const;
  void forget_sent();

  ConsumerMembershipConfig config_;
  State state_ = State::unsubscribed;
  protocol::ErrorCode error_ = protocol::ErrorCode::none;
  std::vector<std::string> topics_;
  std::optional<std::string> regex_;
  std::int32_t member_epoch_ = 0;
  Duration heartbeat_interval_{};
  std::set<Owned> owned_ids_;
  std::set<Owned> adding_;  // what the step under way takes
  bool step_in_progress_ = false;
  std::vector<TopicPartition> owned_;
  std::map<protocol::Uuid, std::string> names_;  // topic names the member learned for its owned ids
  std::optional<TopicIdPartitions> target_;      // the coordinator's latest assignment
  std::vector<protocol::Uuid> unresolved_;
  std::uint64_t incarnation_ = 0;
  // Heartbeat scheduling.
  bool in_flight_ = false;
  std::uint64_t in_flight_incarnation_ = 0;
  bool urgent_ = false;
  Instant next_heartbeat_{};  // the regular interval's next beat
  Instant retry_at_{};        // after an error, nothing goes before this
  Duration backoff_{};
  std::uint64_t answers_ = 0;
  // What the coordinator last heard (null: it must be sent again).
  std::optional<std::vector<std::string>> sent_topics_;
  std::optional<std::string> sent_regex_;
  std::optional<std::optional<std::string>> sent_assignor_;
  std::optional<TopicIdPartitions> sent_owned_;
  bool sent_rebalance_timeout_ = false;
  ConsumerHeartbeat pending_;  // the request in flight, what it will have told once answered
};

}  // namespace keel::client
