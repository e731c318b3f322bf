#pragma once
// Topic administration over the seam: create, delete, and read metadata. Each call finds a broker
// (retrying connects for up to the request timeout, as a broker may still be starting) and sends
// one request; a request whose connection breaks is not resent (CreateTopics is not idempotent:
// a resend could answer TOPIC_ALREADY_EXISTS for the caller's own topic), the caller decides.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "broker/base/topic_partition.h"
#include "broker/client/cluster.h"

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

 private:
  Result<std::shared_ptr<BrokerConnection>> connect_any();
  // A connection to the leader of `tp`, from fresh metadata.
  Result<std::shared_ptr<BrokerConnection>> connect_leader(const TopicPartition& tp);
  // The version of `key` to use on `connection`, at most `client_max`.
  Result<std::int16_t> version(const BrokerConnection& connection, protocol::ApiKey key, std::int16_t client_max);

  Cluster cluster_;
  Duration request_timeout_;
};

}  // namespace keel::client
