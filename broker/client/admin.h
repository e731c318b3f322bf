#pragma once
// Topic and group administration over the seam: create, delete, and read metadata; describe and
// alter configs; list, describe
// and delete consumer groups, delete and alter their committed offsets, and compute their lag
// (../shared/reference/consumer-groups.md §6). Each call finds a broker
// (retrying connects for up to the request timeout, as a broker may still be starting) and sends
// one request; a request whose connection breaks is not resent (CreateTopics is not idempotent:
// a resend could answer TOPIC_ALREADY_EXISTS for the caller's own topic), the caller decides.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "broker/base/topic_partition.h"
#include "broker/client/cluster.h"
#include "broker/client/group_membership.h"

namespace keel::client {

// ListOffsets specs besides a timestamp (Kafka's OffsetSpec).
enum class OffsetSpec : std::int64_t {
  latest = -1,          // the high watermark
  earliest = -2,        // the log start
  max_timestamp = -3,   // the record with the largest timestamp
  earliest_local = -4,  // the local log start (the log start: no tiered storage)
  latest_tiered = -5,   // the last tiered offset (-1: no tiered storage)
};

struct ListedOffset {
  std::int64_t offset = -1;
  std::int64_t timestamp = -1;
  std::int32_t leader_epoch = -1;
};

// One partition's answer to ElectLeaders: none, ELECTION_NOT_NEEDED, ...
struct ElectionResult {
  TopicPartition tp;
  protocol::ErrorCode error = protocol::ErrorCode::none;
  std::string message;
};
enum class ElectionKind : std::int8_t { preferred = 0, unclean = 1 };

struct GroupListing {
  std::string group_id;
  std::string protocol_type;  // "consumer" for consumer groups; empty for a group that only commits
  std::string state;          // Kafka's name: Empty, Stable, PreparingRebalance, ... (ListGroups v4+)
  std::int32_t coordinator = -1;
  bool operator==(const GroupListing&) const = default;
};

struct MemberDescription {
  std::string member_id;
  std::optional<std::string> instance_id;
  std::string client_id;
  std::string client_host;
  std::vector<TopicPartition> assignment;  // decoded from the member's assignment bytes; sorted
};

struct GroupDescription {
  std::string group_id;
  std::string state;          // Dead for a group the coordinator does not know
  std::string protocol_type;
  std::string protocol;       // the assignor's name, while Stable
  std::vector<MemberDescription> members;  // by member id
  std::int32_t coordinator = -1;
};

// A KIP-848 group as ConsumerGroupDescribe shows it (../shared/reference/consumer-groups.md §7.2).
struct ConsumerMemberDescription {
  std::string member_id;
  std::optional<std::string> instance_id;
  std::int32_t member_epoch = 0;
  std::string client_id;
  std::string client_host;
  std::vector<std::string> subscribed_topic_names;
  std::optional<std::string> subscribed_topic_regex;
  std::vector<TopicPartition> assignment;         // what it owns now; sorted
  std::vector<TopicPartition> target_assignment;  // where reconciliation takes it; sorted
};

struct ConsumerGroupDescription {
  std::string group_id;
  std::string state;  // Empty, Assigning, Reconciling, Stable, Dead
  std::int32_t group_epoch = 0;
  std::int32_t assignment_epoch = 0;
  std::string assignor;
  std::vector<ConsumerMemberDescription> members;  // by member id
  std::int32_t coordinator = -1;
};

// One partition's lag as kafka-consumer-groups.sh shows it: log end (the high watermark) minus the
// committed offset, absent when the group committed nothing for it.
struct PartitionLag {
  std::optional<std::int64_t> committed;
  std::int64_t log_end = -1;
  std::optional<std::int64_t> lag;
};

class Admin {
 public:
  Admin(Runtime& rt, std::vector<Address> bootstrap_servers, Duration request_timeout = std::chrono::seconds(30));

  // Kafka errors come back as kafka_error() values: is_kafka_error(status,
  // protocol::ErrorCode::topic_already_exists) tells that the topic exists.
  Status create_topic(const std::string& name, std::int32_t partitions, std::int16_t replication_factor,
                      const std::map<std::string, std::string>& configs = {});
  Status delete_topic(const std::string& name);
  Result<protocol::MetadataResponse> metadata(const std::vector<std::string>& topics);

  // Grows `topic` to `count` partitions: each new one on the brokers of its assignment (the first
  // the preferred leader), or placed by the controller when `assignments` is empty.
  Status create_partitions(const std::string& topic, std::int32_t count,
                           const std::vector<std::vector<std::int32_t>>& assignments = {}, bool validate_only = false);
  // Deletes the records of `tp` below `offset` (-1: below the high watermark), at its leader;
  // the partition's low watermark once every live replica dropped them.
  Result<std::int64_t> delete_records(const TopicPartition& tp, std::int64_t offset);
  // ListOffsets at the partition's leader, by spec or by timestamp (the first record at or after it).
  Result<ListedOffset> list_offset(const TopicPartition& tp, OffsetSpec spec);
  Result<ListedOffset> list_offset(const TopicPartition& tp, std::int64_t timestamp);
  Result<protocol::DescribeClusterResponse> describe_cluster(bool include_authorized_operations = false);
  // On the named partitions, or on every partition (then only those that needed one are answered).
  Result<std::vector<ElectionResult>> elect_leaders(ElectionKind kind,
                                                    const std::optional<std::vector<TopicPartition>>& partitions);
  // One broker's log dirs (all its partitions).
  Result<protocol::DescribeLogDirsResponse> describe_log_dirs(std::int32_t broker_id);

  // ---- groups: each call finds the group's coordinator, asking again within the request timeout
  // when it moved or is loading; other Kafka errors come back as kafka_error() values.

  // Every broker's groups (a broker lists the groups it coordinates), sorted by group id; asks every
  // broker again after a broken connection or COORDINATOR_LOAD_IN_PROGRESS, within the request timeout.
  Result<std::vector<GroupListing>> list_groups();
  Result<GroupDescription> describe_group(const std::string& group);
  // A consumer-protocol group (ConsumerGroupDescribe): GROUP_ID_NOT_FOUND for an unknown group or
  // a classic one.
  Result<ConsumerGroupDescription> describe_consumer_group(const std::string& group);
  // GROUP_ID_NOT_FOUND for an unknown group, NON_EMPTY_GROUP while it has members.
  Status delete_group(const std::string& group);
  // OffsetDelete: GROUP_SUBSCRIBED_TO_TOPIC when a member still subscribes to a partition's topic.
  Status delete_offsets(const std::string& group, const std::vector<TopicPartition>& partitions);
  // Commits `offsets` as an admin commit (generation -1, no member id), as Kafka's admin client
  // does; the coordinator refuses it (UNKNOWN_MEMBER_ID) while the group has members.
  Status alter_offsets(const std::string& group, const OffsetMap& offsets);
  // The group's committed offsets: of `partitions`, or of every partition it committed (empty).
  Result<OffsetMap> committed_offsets(const std::string& group, const std::vector<TopicPartition>& partitions = {});
  // Every partition the group committed, with its log end and lag.
  Result<std::map<TopicPartition, PartitionLag>> lag(const std::string& group);

  // Configs of one resource (protocol::config_resource_topic with a topic name, or _broker with a
  // broker id): DescribeConfigs at the newest version both speak, with synonyms and documentation.
  using ConfigResult = protocol::DescribeConfigsResponse::DescribeConfigsResourceResult;
  Result<std::vector<ConfigResult>> describe_configs(std::int8_t resource_type, const std::string& name);
  // AlterConfigs: the resource's configs become exactly `configs`.
  Status alter_configs(std::int8_t resource_type, const std::string& name,
                       const std::map<std::string, std::string>& configs, bool validate_only = false);
  // IncrementalAlterConfigs: SET, DELETE, APPEND or SUBTRACT each key given.
  using ConfigOp = protocol::IncrementalAlterConfigsRequest::AlterableConfig;
  Status incremental_alter_configs(std::int8_t resource_type, const std::string& name, const std::vector<ConfigOp>& ops,
                                   bool validate_only = false);

 private:
  Result<std::shared_ptr<BrokerConnection>> connect_any();
  // A connection to the leader of `tp`, from fresh metadata.
  Result<std::shared_ptr<BrokerConnection>> connect_leader(const TopicPartition& tp);
  // The version of `key` to use on `connection`, at most `client_max`.
  Result<std::int16_t> version(const BrokerConnection& connection, protocol::ApiKey key, std::int16_t client_max);
  Result<std::vector<GroupListing>> list_groups_once();
  // Runs `call` against the group's coordinator until it answers something other than "moved" or
  // "loading", or the request timeout passes.
  template <class Call>
  auto with_coordinator(const std::string& group, Call call) -> decltype(call(std::declval<CoordinatorLink&>()));

  std::vector<Address> bootstrap_;

  Cluster cluster_;
  Duration request_timeout_;
};

}  // namespace keel::client
