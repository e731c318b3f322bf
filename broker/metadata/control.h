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

#include <functional>
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

// ---- The controller calls' requests and replies ----
//
// Each lists its fields once (protocol/schema.h); rpc.h's table pairs them into calls. They travel
// in Keel's internal form (no versions yet: every field is versions(0)), and decoding refuses
// lengths over the limits below, so hostile input never drives a large allocation.
constexpr std::int32_t isr_members_max = 1024;       // an ISR or replica list in a call
constexpr std::int32_t topic_configs_max = 1024;     // configs given to one new topic
constexpr std::int32_t call_partitions_max = 1'000'000;  // partitions named in one reassignment call

struct RegisterBrokerRequest {
  static constexpr std::string_view message_name = "RegisterBrokerRequest";
  BrokerId broker_id = 0;
  Uuid incarnation;
  std::vector<Endpoint> endpoints;
  std::optional<std::string> rack;
  bool operator==(const RegisterBrokerRequest&) const = default;

  template <class V>
  static void fields(V& v) {
    using S = RegisterBrokerRequest;
    v.field("broker_id", &S::broker_id, versions(0));
    v.field("incarnation", &S::incarnation, versions(0));
    v.field("endpoints", &S::endpoints, versions(0).at_most(endpoints_max));
    v.field("rack", &S::rack, versions(0).nullable(0));
  }
};
struct RegisterBrokerReply {
  static constexpr std::string_view message_name = "RegisterBrokerReply";
  ErrorCode error = ErrorCode::none;
  std::int64_t broker_epoch = -1;
  bool operator==(const RegisterBrokerReply&) const = default;

  template <class V>
  static void fields(V& v) {
    using S = RegisterBrokerReply;
    v.field("error", &S::error, versions(0));
    v.field("broker_epoch", &S::broker_epoch, versions(0));
  }
};

struct HeartbeatRequest {
  static constexpr std::string_view message_name = "HeartbeatRequest";
  BrokerId broker_id = 0;
  std::int64_t broker_epoch = 0;
  std::int64_t current_metadata_offset = -1;
  bool want_fence = false;
  bool want_shutdown = false;
  bool operator==(const HeartbeatRequest&) const = default;

  template <class V>
  static void fields(V& v) {
    using S = HeartbeatRequest;
    v.field("broker_id", &S::broker_id, versions(0));
    v.field("broker_epoch", &S::broker_epoch, versions(0));
    v.field("current_metadata_offset", &S::current_metadata_offset, versions(0));
    v.field("want_fence", &S::want_fence, versions(0));
    v.field("want_shutdown", &S::want_shutdown, versions(0));
  }
};
struct HeartbeatReply {
  static constexpr std::string_view message_name = "HeartbeatReply";
  ErrorCode error = ErrorCode::none;
  bool is_caught_up = false;
  bool is_fenced = true;
  bool should_shut_down = false;
  bool operator==(const HeartbeatReply&) const = default;

  template <class V>
  static void fields(V& v) {
    using S = HeartbeatReply;
    v.field("error", &S::error, versions(0));
    v.field("is_caught_up", &S::is_caught_up, versions(0));
    v.field("is_fenced", &S::is_fenced, versions(0));
    v.field("should_shut_down", &S::should_shut_down, versions(0));
  }
};

// The replicas of one partition a client placed itself (CreateTopics, CreatePartitions): the
// first is the preferred leader.
struct NewPartitionAssignment {
  std::vector<BrokerId> replicas;
  bool operator==(const NewPartitionAssignment&) const = default;

  template <class V>
  static void fields(V& v) {
    v.field("replicas", &NewPartitionAssignment::replicas, versions(0).at_most(isr_members_max));
  }
};

struct CreateTopicRequest {
  static constexpr std::string_view message_name = "CreateTopicRequest";
  std::string name;
  std::int32_t partitions = -1;          // -1: the default
  std::int16_t replication_factor = -1;  // -1: the default
  std::map<std::string, std::string> configs;
  // Partition i on assignments[i] (partitions and replication_factor then -1); empty: placed by
  // the controller.
  std::vector<NewPartitionAssignment> assignments;
  bool operator==(const CreateTopicRequest&) const = default;

  template <class V>
  static void fields(V& v) {
    using S = CreateTopicRequest;
    v.field("name", &S::name, versions(0));
    v.field("partitions", &S::partitions, versions(0));
    v.field("replication_factor", &S::replication_factor, versions(0));
    v.field("configs", &S::configs, versions(0).at_most(topic_configs_max));
    v.field("assignments", &S::assignments, versions(0).at_most(call_partitions_max));
  }
};
struct CreateTopicReply {
  static constexpr std::string_view message_name = "CreateTopicReply";
  ErrorCode error = ErrorCode::none;
  std::string message;
  Uuid topic_id;
  bool operator==(const CreateTopicReply&) const = default;

  template <class V>
  static void fields(V& v) {
    using S = CreateTopicReply;
    v.field("error", &S::error, versions(0));
    v.field("message", &S::message, versions(0));
    v.field("topic_id", &S::topic_id, versions(0));
  }
};

struct DeleteTopicRequest {
  static constexpr std::string_view message_name = "DeleteTopicRequest";
  std::string name;
  bool operator==(const DeleteTopicRequest&) const = default;

  template <class V>
  static void fields(V& v) {
    v.field("name", &DeleteTopicRequest::name, versions(0));
  }
};
struct DeleteTopicReply {
  static constexpr std::string_view message_name = "DeleteTopicReply";
  ErrorCode error = ErrorCode::none;
  bool operator==(const DeleteTopicReply&) const = default;

  template <class V>
  static void fields(V& v) {
    v.field("error", &DeleteTopicReply::error, versions(0));
  }
};

struct IsrMember {
  BrokerId broker_id = 0;
  std::int64_t broker_epoch = -1;  // -1 skips the epoch check (KIP-903)
  bool operator==(const IsrMember&) const = default;

  template <class V>
  static void fields(V& v) {
    v.field("broker_id", &IsrMember::broker_id, versions(0));
    v.field("broker_epoch", &IsrMember::broker_epoch, versions(0));
  }
};
struct AlterPartitionRequest {
  static constexpr std::string_view message_name = "AlterPartitionRequest";
  BrokerId broker_id = 0;
  std::int64_t broker_epoch = 0;
  Uuid topic_id;
  std::int32_t partition = 0;
  std::int32_t leader_epoch = 0;
  std::int32_t partition_epoch = 0;
  std::vector<IsrMember> new_isr;
  LeaderRecoveryState leader_recovery_state = LeaderRecoveryState::recovered;
  bool operator==(const AlterPartitionRequest&) const = default;

  template <class V>
  static void fields(V& v) {
    using S = AlterPartitionRequest;
    v.field("broker_id", &S::broker_id, versions(0));
    v.field("broker_epoch", &S::broker_epoch, versions(0));
    v.field("topic_id", &S::topic_id, versions(0));
    v.field("partition", &S::partition, versions(0));
    v.field("leader_epoch", &S::leader_epoch, versions(0));
    v.field("partition_epoch", &S::partition_epoch, versions(0));
    v.field("new_isr", &S::new_isr, versions(0).at_most(isr_members_max));
    v.field("leader_recovery_state", &S::leader_recovery_state, versions(0).in_range(0, 1));
  }
};
struct AlterPartitionReply {
  static constexpr std::string_view message_name = "AlterPartitionReply";
  ErrorCode error = ErrorCode::none;
  BrokerId leader = no_leader;
  std::int32_t leader_epoch = -1;
  std::vector<BrokerId> isr;
  std::int32_t partition_epoch = -1;
  LeaderRecoveryState leader_recovery_state = LeaderRecoveryState::recovered;
  bool operator==(const AlterPartitionReply&) const = default;

  template <class V>
  static void fields(V& v) {
    using S = AlterPartitionReply;
    v.field("error", &S::error, versions(0));
    v.field("leader", &S::leader, versions(0));
    v.field("leader_epoch", &S::leader_epoch, versions(0));
    v.field("isr", &S::isr, versions(0).at_most(isr_members_max));
    v.field("partition_epoch", &S::partition_epoch, versions(0));
    v.field("leader_recovery_state", &S::leader_recovery_state, versions(0).in_range(0, 1));
  }
};

// AlterPartitionReassignments for one partition: move it to `replicas` (in that order, the first
// the preferred leader), or cancel the reassignment in progress when `replicas` is null.
struct ReassignmentTarget {
  std::string topic;
  std::int32_t partition = 0;
  std::optional<std::vector<BrokerId>> replicas;
  bool operator==(const ReassignmentTarget&) const = default;

  template <class V>
  static void fields(V& v) {
    using S = ReassignmentTarget;
    v.field("topic", &S::topic, versions(0));
    v.field("partition", &S::partition, versions(0));
    v.field("replicas", &S::replicas, versions(0).with_presence_byte().at_most(isr_members_max));
  }
};
struct AlterReassignmentsRequest {
  static constexpr std::string_view message_name = "AlterReassignmentsRequest";
  std::vector<ReassignmentTarget> partitions;
  // false (v1+): refuse a target whose size differs from the current replication factor.
  bool allow_replication_factor_change = true;
  bool operator==(const AlterReassignmentsRequest&) const = default;

  template <class V>
  static void fields(V& v) {
    using S = AlterReassignmentsRequest;
    v.field("allow_replication_factor_change", &S::allow_replication_factor_change, versions(0));
    v.field("partitions", &S::partitions, versions(0).at_most(call_partitions_max));
  }
};
struct ReassignmentResult {
  std::string topic;
  std::int32_t partition = 0;
  ErrorCode error = ErrorCode::none;
  std::string message;  // empty when error is none
  bool operator==(const ReassignmentResult&) const = default;

  template <class V>
  static void fields(V& v) {
    using S = ReassignmentResult;
    v.field("topic", &S::topic, versions(0));
    v.field("partition", &S::partition, versions(0));
    v.field("error", &S::error, versions(0));
    v.field("message", &S::message, versions(0));
  }
};
// One result per requested partition, in request order.
struct AlterReassignmentsReply {
  static constexpr std::string_view message_name = "AlterReassignmentsReply";
  std::vector<ReassignmentResult> results;
  bool operator==(const AlterReassignmentsReply&) const = default;

  template <class V>
  static void fields(V& v) {
    v.field("results", &AlterReassignmentsReply::results, versions(0).at_most(call_partitions_max));
  }
};

// ListPartitionReassignments: the named partitions (unknown ones and those not reassigning are
// left out), or every reassigning partition when `topics` is null.
struct ListReassignmentsRequest {
  static constexpr std::string_view message_name = "ListReassignmentsRequest";
  struct Topic {
    std::string name;
    std::vector<std::int32_t> partitions;
    bool operator==(const Topic&) const = default;

    template <class V>
    static void fields(V& v) {
      v.field("name", &Topic::name, versions(0));
      v.field("partitions", &Topic::partitions, versions(0).at_most(call_partitions_max));
    }
  };
  std::optional<std::vector<Topic>> topics;
  bool operator==(const ListReassignmentsRequest&) const = default;

  template <class V>
  static void fields(V& v) {
    v.field("topics", &ListReassignmentsRequest::topics, versions(0).nullable(0).at_most(call_partitions_max));
  }
};
struct OngoingReassignment {
  std::string topic;
  std::int32_t partition = 0;
  std::vector<BrokerId> replicas;  // the whole set now: targets first, then those leaving
  std::vector<BrokerId> adding;
  std::vector<BrokerId> removing;
  bool operator==(const OngoingReassignment&) const = default;

  template <class V>
  static void fields(V& v) {
    using S = OngoingReassignment;
    v.field("topic", &S::topic, versions(0));
    v.field("partition", &S::partition, versions(0));
    v.field("replicas", &S::replicas, versions(0).at_most(isr_members_max));
    v.field("adding", &S::adding, versions(0).at_most(isr_members_max));
    v.field("removing", &S::removing, versions(0).at_most(isr_members_max));
  }
};
// By topic name, then partition.
struct ListReassignmentsReply {
  static constexpr std::string_view message_name = "ListReassignmentsReply";
  std::vector<OngoingReassignment> ongoing;
  bool operator==(const ListReassignmentsReply&) const = default;

  template <class V>
  static void fields(V& v) {
    v.field("ongoing", &ListReassignmentsReply::ongoing, versions(0).at_most(call_partitions_max));
  }
};

// CreatePartitions for one topic: grow it to `count` partitions, on the brokers each new
// partition's assignment names (its first the preferred leader) or, when `assignments` is empty,
// placed as a new topic's are. `validate_only` decides without records.
struct CreatePartitionsRequest {
  static constexpr std::string_view message_name = "CreatePartitionsRequest";
  std::string topic;
  std::int32_t count = 0;
  std::vector<NewPartitionAssignment> assignments;  // empty: the controller places them
  bool validate_only = false;
  bool operator==(const CreatePartitionsRequest&) const = default;

  template <class V>
  static void fields(V& v) {
    using S = CreatePartitionsRequest;
    v.field("topic", &S::topic, versions(0));
    v.field("count", &S::count, versions(0));
    v.field("assignments", &S::assignments, versions(0).at_most(call_partitions_max));
    v.field("validate_only", &S::validate_only, versions(0));
  }
};
struct CreatePartitionsReply {
  static constexpr std::string_view message_name = "CreatePartitionsReply";
  ErrorCode error = ErrorCode::none;
  std::string message;  // empty when error is none
  bool operator==(const CreatePartitionsReply&) const = default;

  template <class V>
  static void fields(V& v) {
    v.field("error", &CreatePartitionsReply::error, versions(0));
    v.field("message", &CreatePartitionsReply::message, versions(0));
  }
};

// ElectLeaders: a preferred or unclean election on the named partitions, or on every partition
// when `partitions` is null (then only partitions that needed one are answered, as Kafka does).
enum class ElectionType : std::int8_t { preferred = 0, unclean = 1 };
struct ElectionTarget {
  std::string topic;
  std::int32_t partition = 0;
  bool operator==(const ElectionTarget&) const = default;

  template <class V>
  static void fields(V& v) {
    v.field("topic", &ElectionTarget::topic, versions(0));
    v.field("partition", &ElectionTarget::partition, versions(0));
  }
};
struct ElectLeadersRequest {
  static constexpr std::string_view message_name = "ElectLeadersRequest";
  ElectionType type = ElectionType::preferred;
  std::optional<std::vector<ElectionTarget>> partitions;
  bool operator==(const ElectLeadersRequest&) const = default;

  template <class V>
  static void fields(V& v) {
    v.field("type", &ElectLeadersRequest::type, versions(0).in_range(0, 1));
    v.field("partitions", &ElectLeadersRequest::partitions, versions(0).nullable(0).at_most(call_partitions_max));
  }
};
// One result per requested partition, in request order (see ElectLeadersRequest for null).
struct ElectLeadersReply {
  static constexpr std::string_view message_name = "ElectLeadersReply";
  std::vector<ReassignmentResult> results;
  bool operator==(const ElectLeadersReply&) const = default;

  template <class V>
  static void fields(V& v) {
    v.field("results", &ElectLeadersReply::results, versions(0).at_most(call_partitions_max));
  }
};

// IncrementalAlterConfigs / AlterConfigs for one topic, as changes to its configs: SET a value,
// DELETE a key (back to the broker's), APPEND items to a list or SUBTRACT items from it. With
// `replace_all` (AlterConfigs), every key not SET is deleted. The broker validated the values; the
// controller applies the changes to the configs it has and writes one ConfigRecord per changed key.
struct ConfigChange {
  static constexpr std::int8_t set = 0;
  static constexpr std::int8_t remove = 1;  // Kafka's DELETE
  static constexpr std::int8_t append = 2;
  static constexpr std::int8_t subtract = 3;
  std::string name;
  std::int8_t op = set;
  std::optional<std::string> value;
  bool operator==(const ConfigChange&) const = default;

  template <class V>
  static void fields(V& v) {
    using S = ConfigChange;
    v.field("name", &S::name, versions(0));
    v.field("op", &S::op, versions(0).in_range(0, 3));
    v.field("value", &S::value, versions(0).nullable(0));
  }
};
struct AlterTopicConfigsRequest {
  static constexpr std::string_view message_name = "AlterTopicConfigsRequest";
  std::string topic;  // a topic, or a broker resource ("broker:<id>", "broker:" for the default; records.h)
  std::vector<ConfigChange> changes;
  bool replace_all = false;
  bool operator==(const AlterTopicConfigsRequest&) const = default;

  template <class V>
  static void fields(V& v) {
    using S = AlterTopicConfigsRequest;
    v.field("topic", &S::topic, versions(0));
    v.field("changes", &S::changes, versions(0).at_most(topic_configs_max));
    v.field("replace_all", &S::replace_all, versions(0));
  }
};
struct AlterTopicConfigsReply {
  static constexpr std::string_view message_name = "AlterTopicConfigsReply";
  ErrorCode error = ErrorCode::none;
  std::string message;
  bool operator==(const AlterTopicConfigsReply&) const = default;

  template <class V>
  static void fields(V& v) {
    using S = AlterTopicConfigsReply;
    v.field("error", &S::error, versions(0));
    v.field("message", &S::message, versions(0));
  }
};

// The configs `current` become after `changes` (list items are comma-separated; APPEND adds the
// items not yet there, SUBTRACT removes them, starting from `list_default(name)` when the key has no
// value). With replace_all, keys not SET are dropped. Shared by the broker's validation and the
// controller's decision, so both compute the same result.
std::map<std::string, std::string> apply_config_changes(const std::map<std::string, std::string>& current,
                                                        const std::vector<ConfigChange>& changes, bool replace_all,
                                                        const std::function<std::string(const std::string&)>& list_default);

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
  Decision<ErrorCode> unregister_broker(const MetadataImage& image, BrokerId broker);

  Decision<CreateTopicReply> create_topic(const MetadataImage& image, const CreateTopicRequest& request, Random& random) const;
  Decision<ErrorCode> delete_topic(const MetadataImage& image, std::string_view name) const;
  Decision<AlterPartitionReply> alter_partition(const MetadataImage& image, const AlterPartitionRequest& request) const;
  // Starts, changes or cancels partition reassignments (Kafka's alterPartitionReassignments): a
  // move adds the new replicas at once and removes the leaving ones once every target replica is
  // in the ISR (see control_election.h); it completes at once when that is already so.
  Decision<AlterReassignmentsReply> alter_reassignments(const MetadataImage& image,
                                                        const AlterReassignmentsRequest& request) const;
  ListReassignmentsReply list_reassignments(const MetadataImage& image, const ListReassignmentsRequest& request) const;
  // Kafka's createPartitions for one topic (ReplicationControlManager).
  Decision<CreatePartitionsReply> create_partitions(const MetadataImage& image, const CreatePartitionsRequest& request,
                                                    Random& random) const;
  // Kafka's electLeaders: ELECTION_NOT_NEEDED where the leader already is the one asked for,
  // PREFERRED_LEADER_NOT_AVAILABLE / ELIGIBLE_LEADERS_NOT_AVAILABLE where no election can give it.
  Decision<ElectLeadersReply> elect_leaders(const MetadataImage& image, const ElectLeadersRequest& request) const;

  // A topic's configs changed (IncrementalAlterConfigs, AlterConfigs): one ConfigRecord per key whose
  // value changes (a null value deletes it). UNKNOWN_TOPIC_OR_PARTITION for a topic that is not there.
  Decision<AlterTopicConfigsReply> alter_topic_configs(const MetadataImage& image,
                                                       const AlterTopicConfigsRequest& request) const;
  // Moves leadership back to each partition's first replica where that one is valid (auto rebalance).
  std::vector<MetadataRecord> elect_preferred_leaders(const MetadataImage& image) const;

  // The partition side of taking a broker out / bringing it back (also used by the operations above).
  std::vector<MetadataRecord> fence_broker(const MetadataImage& image, BrokerId broker) const;
  std::vector<MetadataRecord> unfence_broker(const MetadataImage& image, BrokerId broker) const;
  std::vector<MetadataRecord> enter_controlled_shutdown(const MetadataImage& image, BrokerId broker) const;

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
