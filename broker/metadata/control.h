#pragma once
// The active controller's decisions (Kafka's QuorumController with ClusterControlManager and
// ReplicationControlManager), as pure functions over a MetadataImage. Each returns the records to
// append and the reply; the caller appends the records, and once they are committed applies them to
// the image (MetadataImage::apply) before asking for the next decision. Nothing here changes the
// image. The only memory of its own is the heartbeat sessions, which Kafka keeps in memory too.
#include "broker/metadata/control_election.h"
#include "broker/metadata/control_heartbeat.h"
#include "broker/metadata/image.h"
#include "broker/platform/random.h"
#include "broker/protocol/errors.h"

#include <map>
#include <string>
#include <vector>

namespace keel::metadata {

using protocol::ErrorCode;

struct ControllerConfig {
  std::int64_t broker_session_timeout_ms = 9000;
  // Broker default for topics without their own unclean.leader.election.enable.
  bool unclean_leader_election_enable = false;
  // Used when a CreateTopics request says -1.
  std::int32_t default_partitions = 1;
  std::int16_t default_replication_factor = 1;
  // Limits on what one request may create.
  std::int32_t partitions_per_topic_max = 10'000;
  std::size_t topic_name_length_max = 249;  // Kafka's limit
};

// Records to append and the reply to send once they are committed.
template <class Reply>
struct Decision {
  std::vector<MetadataRecord> records;
  Reply reply;
};

struct RegisterBrokerRequest {
  std::int32_t broker_id = 0;
  Uuid incarnation;
  std::vector<Endpoint> endpoints;
  std::optional<std::string> rack;
};
struct RegisterBrokerReply {
  ErrorCode error = ErrorCode::none;
  std::int64_t broker_epoch = -1;
};

struct HeartbeatRequest {
  std::int32_t broker_id = 0;
  std::int64_t broker_epoch = 0;
  std::int64_t current_metadata_offset = -1;
  bool want_fence = false;
  bool want_shutdown = false;
};
struct HeartbeatReply {
  ErrorCode error = ErrorCode::none;
  bool is_caught_up = false;
  bool is_fenced = true;
  bool should_shut_down = false;
};

struct CreateTopicRequest {
  std::string name;
  std::int32_t partitions = -1;          // -1: the default
  std::int16_t replication_factor = -1;  // -1: the default
  std::map<std::string, std::string> configs;
};
struct CreateTopicReply {
  ErrorCode error = ErrorCode::none;
  std::string message;
  Uuid topic_id;
};

struct IsrMember {
  std::int32_t broker_id = 0;
  std::int64_t broker_epoch = -1;  // -1 skips the epoch check (KIP-903)
};
struct AlterPartitionRequest {
  std::int32_t broker_id = 0;
  std::int64_t broker_epoch = 0;
  Uuid topic_id;
  std::int32_t partition = 0;
  std::int32_t leader_epoch = 0;
  std::int32_t partition_epoch = 0;
  std::vector<IsrMember> new_isr;
  LeaderRecoveryState leader_recovery_state = LeaderRecoveryState::recovered;
};
struct AlterPartitionReply {
  ErrorCode error = ErrorCode::none;
  std::int32_t leader = no_leader;
  std::int32_t leader_epoch = -1;
  std::vector<std::int32_t> isr;
  std::int32_t partition_epoch = -1;
  LeaderRecoveryState leader_recovery_state = LeaderRecoveryState::recovered;
};

// AlterPartitionReassignments for one partition: move it to `replicas` (in that order, the first
// the preferred leader), or cancel the reassignment in progress when `replicas` is null.
struct ReassignmentTarget {
  std::string topic;
  std::int32_t partition = 0;
  std::optional<std::vector<std::int32_t>> replicas;
  bool operator==(const ReassignmentTarget&) const = default;
};
struct AlterReassignmentsRequest {
  std::vector<ReassignmentTarget> partitions;
  // false (v1+): refuse a target whose size differs from the current replication factor.
  bool allow_replication_factor_change = true;
  bool operator==(const AlterReassignmentsRequest&) const = default;
};
struct ReassignmentResult {
  std::string topic;
  std::int32_t partition = 0;
  ErrorCode error = ErrorCode::none;
  std::string message;  // empty when error is none
  bool operator==(const ReassignmentResult&) const = default;
};
// One result per requested partition, in request order.
struct AlterReassignmentsReply {
  std::vector<ReassignmentResult> results;
  bool operator==(const AlterReassignmentsReply&) const = default;
};

// ListPartitionReassignments: the named partitions (unknown ones and those not reassigning are
// left out), or every reassigning partition when `topics` is null.
struct ListReassignmentsRequest {
  struct Topic {
    std::string name;
    std::vector<std::int32_t> partitions;
    bool operator==(const Topic&) const = default;
  };
  std::optional<std::vector<Topic>> topics;
  bool operator==(const ListReassignmentsRequest&) const = default;
};
struct OngoingReassignment {
  std::string topic;
  std::int32_t partition = 0;
  std::vector<std::int32_t> replicas;  // the whole set now: targets first, then those leaving
  std::vector<std::int32_t> adding;
  std::vector<std::int32_t> removing;
  bool operator==(const OngoingReassignment&) const = default;
};
// By topic name, then partition.
struct ListReassignmentsReply {
  std::vector<OngoingReassignment> ongoing;
  bool operator==(const ListReassignmentsReply&) const = default;
};

class Controller {
 public:
  explicit Controller(ControllerConfig config = {});

  // `next_offset` is the offset the first returned record will get. A new incarnation's epoch is the
  // offset of its RegisterBrokerRecord, which comes first in the batch.
  Decision<RegisterBrokerReply> register_broker(const MetadataImage& image, const RegisterBrokerRequest& request,
                                                std::int64_t next_offset, std::int64_t now_ms);
  // `next_offset`, when known (>= 0), is the offset the returned records will be committed at (a
  // driver that appends a decision as one entry); otherwise each record is taken to get its own.
  Decision<HeartbeatReply> heartbeat(const MetadataImage& image, const HeartbeatRequest& request, std::int64_t now_ms,
                                     std::int64_t next_offset = -1);
  // Fences at most one broker whose session expired (the one silent longest), as Kafka does; call
  // again after applying the records to fence the next.
  std::vector<MetadataRecord> fence_stale_brokers(const MetadataImage& image, std::int64_t now_ms);
  // Forgets a broker (Kafka's UnregisterBroker): out of every ISR it is in (never emptying one, so a
  // last member may stay until it registers again), its leaderships moved, its session dropped.
  Decision<ErrorCode> unregister_broker(const MetadataImage& image, std::int32_t broker);

  Decision<CreateTopicReply> create_topic(const MetadataImage& image, const CreateTopicRequest& request, Random& random) const;
  Decision<ErrorCode> delete_topic(const MetadataImage& image, std::string_view name) const;
  Decision<AlterPartitionReply> alter_partition(const MetadataImage& image, const AlterPartitionRequest& request) const;
  // Starts, changes or cancels partition reassignments (Kafka's alterPartitionReassignments): a
  // move adds the new replicas at once and removes the leaving ones once every target replica is
  // in the ISR (see control_election.h); it completes at once when that is already so.
  Decision<AlterReassignmentsReply> alter_reassignments(const MetadataImage& image,
                                                        const AlterReassignmentsRequest& request) const;
  ListReassignmentsReply list_reassignments(const MetadataImage& image, const ListReassignmentsRequest& request) const;
  // Moves leadership back to each partition's first replica where that one is valid (auto rebalance).
  std::vector<MetadataRecord> elect_preferred_leaders(const MetadataImage& image) const;

  // The partition side of taking a broker out / bringing it back (also used by the operations above).
  std::vector<MetadataRecord> fence_broker(const MetadataImage& image, std::int32_t broker) const;
  std::vector<MetadataRecord> unfence_broker(const MetadataImage& image, std::int32_t broker) const;
  std::vector<MetadataRecord> enter_controlled_shutdown(const MetadataImage& image, std::int32_t broker) const;

  const ControllerConfig& config() const { return config_; }
  const BrokerHeartbeatManager& heartbeats() const { return heartbeats_; }

 private:
  ControllerConfig config_;
  BrokerHeartbeatManager heartbeats_;
};

// Kafka's topic name rule: 1..249 characters of [a-zA-Z0-9._-], and not "." or "..".
bool valid_topic_name(std::string_view name, std::size_t length_max = 249);
// A topic id from `random`, never zero.
Uuid random_topic_id(Random& random);
// Current state of a registered broker as the image says it.
BrokerControlState control_state(const BrokerRegistration& broker);

}  // namespace keel::metadata
