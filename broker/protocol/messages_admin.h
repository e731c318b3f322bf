#pragma once
// The admin APIs beside topic creation and deletion: CreatePartitions (key 37, versions 0-3,
// flexible from 2), DeleteRecords (21, 0-2, flexible from 2), ElectLeaders (43, 0-2, flexible from
// 2), DescribeLogDirs (35, 1-4, flexible from 2) and DescribeCluster (60, 0-1, always flexible):
// the versions Kafka 4.0 serves.
#include "broker/protocol/schema.h"

#include <limits>

namespace keel::protocol {

struct CreatePartitionsRequest {
  static constexpr ApiKey api_key = ApiKey::create_partitions;
  static constexpr bool is_request = true;
  static constexpr std::string_view message_name = "CreatePartitionsRequest";

  struct CreatePartitionsAssignment {
    std::vector<std::int32_t> broker_ids;

    template <class V>
    static void fields(V& v) {
      v.field("broker_ids", &CreatePartitionsAssignment::broker_ids, versions(0));
    }
    bool operator==(const CreatePartitionsAssignment&) const = default;
  };

  struct CreatePartitionsTopic {
    std::string name;
    std::int32_t count = 0;
    std::optional<std::vector<CreatePartitionsAssignment>> assignments;

    template <class V>
    static void fields(V& v) {
      using S = CreatePartitionsTopic;
      v.field("name", &S::name, versions(0));
      v.field("count", &S::count, versions(0));
      v.field("assignments", &S::assignments, versions(0).nullable(0));
    }
    bool operator==(const CreatePartitionsTopic&) const = default;
  };

  std::vector<CreatePartitionsTopic> topics;
  std::int32_t timeout_ms = 0;
  bool validate_only = false;

  template <class V>
  static void fields(V& v) {
    using S = CreatePartitionsRequest;
    v.field("topics", &S::topics, versions(0));
    v.field("timeout_ms", &S::timeout_ms, versions(0));
    v.field("validate_only", &S::validate_only, versions(0));
  }
  bool operator==(const CreatePartitionsRequest&) const = default;
};

struct CreatePartitionsResponse {
  static constexpr ApiKey api_key = ApiKey::create_partitions;
  static constexpr bool is_request = false;
  static constexpr std::string_view message_name = "CreatePartitionsResponse";

  struct CreatePartitionsTopicResult {
    std::string name;
    std::int16_t error_code = 0;
    std::optional<std::string> error_message;

    template <class V>
    static void fields(V& v) {
      using S = CreatePartitionsTopicResult;
      v.field("name", &S::name, versions(0));
      v.field("error_code", &S::error_code, versions(0));
      v.field("error_message", &S::error_message, versions(0).nullable(0));
    }
    bool operator==(const CreatePartitionsTopicResult&) const = default;
  };

  std::int32_t throttle_time_ms = 0;
  std::vector<CreatePartitionsTopicResult> results;

  template <class V>
  static void fields(V& v) {
    using S = CreatePartitionsResponse;
    v.field("throttle_time_ms", &S::throttle_time_ms, versions(0));
    v.field("results", &S::results, versions(0));
  }
  bool operator==(const CreatePartitionsResponse&) const = default;
};

struct DeleteRecordsRequest {
  static constexpr ApiKey api_key = ApiKey::delete_records;
  static constexpr bool is_request = true;
  static constexpr std::string_view message_name = "DeleteRecordsRequest";
  // DeleteRecordsPartition::offset meaning "up to the high watermark".
  static constexpr std::int64_t high_watermark = -1;

  struct DeleteRecordsPartition {
    std::int32_t partition_index = 0;
    std::int64_t offset = 0;

    template <class V>
    static void fields(V& v) {
      v.field("partition_index", &DeleteRecordsPartition::partition_index, versions(0));
      v.field("offset", &DeleteRecordsPartition::offset, versions(0));
    }
    bool operator==(const DeleteRecordsPartition&) const = default;
  };

  struct DeleteRecordsTopic {
    std::string name;
    std::vector<DeleteRecordsPartition> partitions;

    template <class V>
    static void fields(V& v) {
      v.field("name", &DeleteRecordsTopic::name, versions(0));
      v.field("partitions", &DeleteRecordsTopic::partitions, versions(0));
    }
    bool operator==(const DeleteRecordsTopic&) const = default;
  };

  std::vector<DeleteRecordsTopic> topics;
  std::int32_t timeout_ms = 0;

  template <class V>
  static void fields(V& v) {
    v.field("topics", &DeleteRecordsRequest::topics, versions(0));
    v.field("timeout_ms", &DeleteRecordsRequest::timeout_ms, versions(0));
  }
  bool operator==(const DeleteRecordsRequest&) const = default;
};

struct DeleteRecordsResponse {
  static constexpr ApiKey api_key = ApiKey::delete_records;
  static constexpr bool is_request = false;
  static constexpr std::string_view message_name = "DeleteRecordsResponse";

  struct DeleteRecordsPartitionResult {
    std::int32_t partition_index = 0;
    std::int64_t low_watermark = -1;
    std::int16_t error_code = 0;

    template <class V>
    static void fields(V& v) {
      using S = DeleteRecordsPartitionResult;
      v.field("partition_index", &S::partition_index, versions(0));
      v.field("low_watermark", &S::low_watermark, versions(0));
      v.field("error_code", &S::error_code, versions(0));
    }
    bool operator==(const DeleteRecordsPartitionResult&) const = default;
  };

  struct DeleteRecordsTopicResult {
    std::string name;
    std::vector<DeleteRecordsPartitionResult> partitions;

    template <class V>
    static void fields(V& v) {
      v.field("name", &DeleteRecordsTopicResult::name, versions(0));
      v.field("partitions", &DeleteRecordsTopicResult::partitions, versions(0));
    }
    bool operator==(const DeleteRecordsTopicResult&) const = default;
  };

  std::int32_t throttle_time_ms = 0;
  std::vector<DeleteRecordsTopicResult> topics;

  template <class V>
  static void fields(V& v) {
    v.field("throttle_time_ms", &DeleteRecordsResponse::throttle_time_ms, versions(0));
    v.field("topics", &DeleteRecordsResponse::topics, versions(0));
  }
  bool operator==(const DeleteRecordsResponse&) const = default;
};

struct ElectLeadersRequest {
  static constexpr ApiKey api_key = ApiKey::elect_leaders;
  static constexpr bool is_request = true;
  static constexpr std::string_view message_name = "ElectLeadersRequest";
  static constexpr std::int8_t preferred = 0;
  static constexpr std::int8_t unclean = 1;

  struct TopicPartitions {
    std::string topic;
    std::vector<std::int32_t> partitions;

    template <class V>
    static void fields(V& v) {
      v.field("topic", &TopicPartitions::topic, versions(0));
      v.field("partitions", &TopicPartitions::partitions, versions(0));
    }
    bool operator==(const TopicPartitions&) const = default;
  };

  std::int8_t election_type = preferred;  // v0 elects the preferred leader only
  std::optional<std::vector<TopicPartitions>> topic_partitions;  // null: every partition
  std::int32_t timeout_ms = 60000;

  template <class V>
  static void fields(V& v) {
    using S = ElectLeadersRequest;
    v.field("election_type", &S::election_type, versions(1));
    v.field("topic_partitions", &S::topic_partitions, versions(0).nullable(0));
    v.field("timeout_ms", &S::timeout_ms, versions(0));
  }
  bool operator==(const ElectLeadersRequest&) const = default;
};

struct ElectLeadersResponse {
  static constexpr ApiKey api_key = ApiKey::elect_leaders;
  static constexpr bool is_request = false;
  static constexpr std::string_view message_name = "ElectLeadersResponse";

  struct PartitionResult {
    std::int32_t partition_id = 0;
    std::int16_t error_code = 0;
    std::optional<std::string> error_message;

    template <class V>
    static void fields(V& v) {
      using S = PartitionResult;
      v.field("partition_id", &S::partition_id, versions(0));
      v.field("error_code", &S::error_code, versions(0));
      v.field("error_message", &S::error_message, versions(0).nullable(0));
    }
    bool operator==(const PartitionResult&) const = default;
  };

  struct ReplicaElectionResult {
    std::string topic;
    std::vector<PartitionResult> partition_result;

    template <class V>
    static void fields(V& v) {
      v.field("topic", &ReplicaElectionResult::topic, versions(0));
      v.field("partition_result", &ReplicaElectionResult::partition_result, versions(0));
    }
    bool operator==(const ReplicaElectionResult&) const = default;
  };

  std::int32_t throttle_time_ms = 0;
  std::int16_t error_code = 0;
  std::vector<ReplicaElectionResult> replica_election_results;

  template <class V>
  static void fields(V& v) {
    using S = ElectLeadersResponse;
    v.field("throttle_time_ms", &S::throttle_time_ms, versions(0));
    v.field("error_code", &S::error_code, versions(1));
    v.field("replica_election_results", &S::replica_election_results, versions(0));
  }
  bool operator==(const ElectLeadersResponse&) const = default;
};

struct DescribeLogDirsRequest {
  static constexpr ApiKey api_key = ApiKey::describe_log_dirs;
  static constexpr bool is_request = true;
  static constexpr std::string_view message_name = "DescribeLogDirsRequest";

  struct DescribableLogDirTopic {
    std::string topic;
    std::vector<std::int32_t> partitions;

    template <class V>
    static void fields(V& v) {
      v.field("topic", &DescribableLogDirTopic::topic, versions(0));
      v.field("partitions", &DescribableLogDirTopic::partitions, versions(0));
    }
    bool operator==(const DescribableLogDirTopic&) const = default;
  };

  // null: every partition; empty (Kafka's default): none.
  std::optional<std::vector<DescribableLogDirTopic>> topics = std::vector<DescribableLogDirTopic>{};

  template <class V>
  static void fields(V& v) {
    v.field("topics", &DescribeLogDirsRequest::topics, versions(0).nullable(0));
  }
  bool operator==(const DescribeLogDirsRequest&) const = default;
};

struct DescribeLogDirsResponse {
  static constexpr ApiKey api_key = ApiKey::describe_log_dirs;
  static constexpr bool is_request = false;
  static constexpr std::string_view message_name = "DescribeLogDirsResponse";

  struct DescribeLogDirsPartition {
    std::int32_t partition_index = 0;
    std::int64_t partition_size = 0;
    std::int64_t offset_lag = 0;
    bool is_future_key = false;

    template <class V>
    static void fields(V& v) {
      using S = DescribeLogDirsPartition;
      v.field("partition_index", &S::partition_index, versions(0));
      v.field("partition_size", &S::partition_size, versions(0));
      v.field("offset_lag", &S::offset_lag, versions(0));
      v.field("is_future_key", &S::is_future_key, versions(0));
    }
    bool operator==(const DescribeLogDirsPartition&) const = default;
  };

  struct DescribeLogDirsTopic {
    std::string name;
    std::vector<DescribeLogDirsPartition> partitions;

    template <class V>
    static void fields(V& v) {
      v.field("name", &DescribeLogDirsTopic::name, versions(0));
      v.field("partitions", &DescribeLogDirsTopic::partitions, versions(0));
    }
    bool operator==(const DescribeLogDirsTopic&) const = default;
  };

  struct DescribeLogDirsResult {
    std::int16_t error_code = 0;
    std::string log_dir;
    std::vector<DescribeLogDirsTopic> topics;
    std::int64_t total_bytes = -1;
    std::int64_t usable_bytes = -1;

    template <class V>
    static void fields(V& v) {
      using S = DescribeLogDirsResult;
      v.field("error_code", &S::error_code, versions(0));
      v.field("log_dir", &S::log_dir, versions(0));
      v.field("topics", &S::topics, versions(0));
      v.field("total_bytes", &S::total_bytes, versions(4));
      v.field("usable_bytes", &S::usable_bytes, versions(4));
    }
    bool operator==(const DescribeLogDirsResult&) const = default;
  };

  std::int32_t throttle_time_ms = 0;
  std::int16_t error_code = 0;
  std::vector<DescribeLogDirsResult> results;

  template <class V>
  static void fields(V& v) {
    using S = DescribeLogDirsResponse;
    v.field("throttle_time_ms", &S::throttle_time_ms, versions(0));
    v.field("error_code", &S::error_code, versions(3));
    v.field("results", &S::results, versions(0));
  }
  bool operator==(const DescribeLogDirsResponse&) const = default;
};

struct DescribeClusterRequest {
  static constexpr ApiKey api_key = ApiKey::describe_cluster;
  static constexpr bool is_request = true;
  static constexpr std::string_view message_name = "DescribeClusterRequest";
  static constexpr std::int8_t endpoint_brokers = 1;
  static constexpr std::int8_t endpoint_controllers = 2;

  bool include_cluster_authorized_operations = false;
  std::int8_t endpoint_type = endpoint_brokers;

  template <class V>
  static void fields(V& v) {
    using S = DescribeClusterRequest;
    v.field("include_cluster_authorized_operations", &S::include_cluster_authorized_operations, versions(0));
    v.field("endpoint_type", &S::endpoint_type, versions(1));
  }
  bool operator==(const DescribeClusterRequest&) const = default;
};

struct DescribeClusterResponse {
  static constexpr ApiKey api_key = ApiKey::describe_cluster;
  static constexpr bool is_request = false;
  static constexpr std::string_view message_name = "DescribeClusterResponse";

  struct DescribeClusterBroker {
    std::int32_t broker_id = 0;
    std::string host;
    std::int32_t port = 0;
    std::optional<std::string> rack;

    template <class V>
    static void fields(V& v) {
      using S = DescribeClusterBroker;
      v.field("broker_id", &S::broker_id, versions(0));
      v.field("host", &S::host, versions(0));
      v.field("port", &S::port, versions(0));
      v.field("rack", &S::rack, versions(0).nullable(0));
    }
    bool operator==(const DescribeClusterBroker&) const = default;
  };

  std::int32_t throttle_time_ms = 0;
  std::int16_t error_code = 0;
  std::optional<std::string> error_message;
  std::int8_t endpoint_type = DescribeClusterRequest::endpoint_brokers;
  std::string cluster_id;
  std::int32_t controller_id = -1;
  std::vector<DescribeClusterBroker> brokers;
  std::int32_t cluster_authorized_operations = std::numeric_limits<std::int32_t>::min();

  template <class V>
  static void fields(V& v) {
    using S = DescribeClusterResponse;
    v.field("throttle_time_ms", &S::throttle_time_ms, versions(0));
    v.field("error_code", &S::error_code, versions(0));
    v.field("error_message", &S::error_message, versions(0).nullable(0));
    v.field("endpoint_type", &S::endpoint_type, versions(1));
    v.field("cluster_id", &S::cluster_id, versions(0));
    v.field("controller_id", &S::controller_id, versions(0));
    v.field("brokers", &S::brokers, versions(0));
    v.field("cluster_authorized_operations", &S::cluster_authorized_operations, versions(0));
  }
  bool operator==(const DescribeClusterResponse&) const = default;
};

}  // namespace keel::protocol
