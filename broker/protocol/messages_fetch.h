#pragma once
// Fetch (key 1), versions 4-12; flexible from 12. Topic ids (v13+) lie above Keel's range.
#include "broker/protocol/schema.h"

#include <limits>

namespace keel::protocol {

struct FetchRequest {
  static constexpr ApiKey api_key = ApiKey::fetch;
  static constexpr bool is_request = true;
  static constexpr std::string_view message_name = "FetchRequest";

  struct FetchPartition {
    std::int32_t partition = 0;
    std::int32_t current_leader_epoch = -1;
    std::int64_t fetch_offset = 0;
    std::int32_t last_fetched_epoch = -1;
    std::int64_t log_start_offset = -1;
    std::int32_t partition_max_bytes = 0;

    template <class V>
    static void fields(V& v) {
      using S = FetchPartition;
      v.field("partition", &S::partition, versions(0));
      v.field("current_leader_epoch", &S::current_leader_epoch, versions(9));
      v.field("fetch_offset", &S::fetch_offset, versions(0));
      v.field("last_fetched_epoch", &S::last_fetched_epoch, versions(12));
      v.field("log_start_offset", &S::log_start_offset, versions(5));
      v.field("partition_max_bytes", &S::partition_max_bytes, versions(0));
    }
    bool operator==(const FetchPartition&) const = default;
  };

  struct FetchTopic {
    std::string topic;
    std::vector<FetchPartition> partitions;

    template <class V>
    static void fields(V& v) {
      using S = FetchTopic;
      v.field("topic", &S::topic, versions(0, 12));
      v.field("partitions", &S::partitions, versions(0));
    }
    bool operator==(const FetchTopic&) const = default;
  };

  struct ForgottenTopic {
    std::string topic;
    std::vector<std::int32_t> partitions;

    template <class V>
    static void fields(V& v) {
      using S = ForgottenTopic;
      v.field("topic", &S::topic, versions(7, 12));
      v.field("partitions", &S::partitions, versions(7));
    }
    bool operator==(const ForgottenTopic&) const = default;
  };

  std::optional<std::string> cluster_id;  // tagged
  std::int32_t replica_id = -1;
  std::int32_t max_wait_ms = 0;
  std::int32_t min_bytes = 0;
  std::int32_t max_bytes = std::numeric_limits<std::int32_t>::max();
  std::int8_t isolation_level = 0;
  std::int32_t session_id = 0;
  std::int32_t session_epoch = -1;
  std::vector<FetchTopic> topics;
  std::vector<ForgottenTopic> forgotten_topics_data;
  std::string rack_id;

  template <class V>
  static void fields(V& v) {
    using S = FetchRequest;
    v.field("cluster_id", &S::cluster_id, versions(12).nullable(12).tagged(0, 12));
    v.field("replica_id", &S::replica_id, versions(0, 14));
    v.field("max_wait_ms", &S::max_wait_ms, versions(0));
    v.field("min_bytes", &S::min_bytes, versions(0));
    v.field("max_bytes", &S::max_bytes, versions(3));
    v.field("isolation_level", &S::isolation_level, versions(4));
    v.field("session_id", &S::session_id, versions(7));
    v.field("session_epoch", &S::session_epoch, versions(7));
    v.field("topics", &S::topics, versions(0));
    v.field("forgotten_topics_data", &S::forgotten_topics_data, versions(7));
    v.field("rack_id", &S::rack_id, versions(11));
  }
  bool operator==(const FetchRequest&) const = default;
};

struct FetchResponse {
  static constexpr ApiKey api_key = ApiKey::fetch;
  static constexpr bool is_request = false;
  static constexpr std::string_view message_name = "FetchResponse";

  struct EpochEndOffset {
    std::int32_t epoch = -1;
    std::int64_t end_offset = -1;

    template <class V>
    static void fields(V& v) {
      using S = EpochEndOffset;
      v.field("epoch", &S::epoch, versions(12));
      v.field("end_offset", &S::end_offset, versions(12));
    }
    bool operator==(const EpochEndOffset&) const = default;
  };

  struct LeaderIdAndEpoch {
    std::int32_t leader_id = -1;
    std::int32_t leader_epoch = -1;

    template <class V>
    static void fields(V& v) {
      using S = LeaderIdAndEpoch;
      v.field("leader_id", &S::leader_id, versions(12));
      v.field("leader_epoch", &S::leader_epoch, versions(12));
    }
    bool operator==(const LeaderIdAndEpoch&) const = default;
  };

  struct SnapshotId {
    std::int64_t end_offset = -1;
    std::int32_t epoch = -1;

    template <class V>
    static void fields(V& v) {
      using S = SnapshotId;
      v.field("end_offset", &S::end_offset, versions(0));
      v.field("epoch", &S::epoch, versions(0));
    }
    bool operator==(const SnapshotId&) const = default;
  };

  struct AbortedTransaction {
    std::int64_t producer_id = 0;
    std::int64_t first_offset = 0;

    template <class V>
    static void fields(V& v) {
      using S = AbortedTransaction;
      v.field("producer_id", &S::producer_id, versions(4));
      v.field("first_offset", &S::first_offset, versions(4));
    }
    bool operator==(const AbortedTransaction&) const = default;
  };

  struct PartitionData {
    std::int32_t partition_index = 0;
    std::int16_t error_code = 0;
    std::int64_t high_watermark = 0;
    std::int64_t last_stable_offset = -1;
    std::int64_t log_start_offset = -1;
    EpochEndOffset diverging_epoch;    // tagged
    LeaderIdAndEpoch current_leader;   // tagged
    SnapshotId snapshot_id;            // tagged
    std::optional<std::vector<AbortedTransaction>> aborted_transactions;
    std::int32_t preferred_read_replica = -1;
    std::optional<Bytes> records;

    template <class V>
    static void fields(V& v) {
      using S = PartitionData;
      v.field("partition_index", &S::partition_index, versions(0));
      v.field("error_code", &S::error_code, versions(0));
      v.field("high_watermark", &S::high_watermark, versions(0));
      v.field("last_stable_offset", &S::last_stable_offset, versions(4));
      v.field("log_start_offset", &S::log_start_offset, versions(5));
      v.field("diverging_epoch", &S::diverging_epoch, versions(12).tagged(0, 12));
      v.field("current_leader", &S::current_leader, versions(12).tagged(1, 12));
      v.field("snapshot_id", &S::snapshot_id, versions(12).tagged(2, 12));
      v.field("aborted_transactions", &S::aborted_transactions, versions(4).nullable(4));
      v.field("preferred_read_replica", &S::preferred_read_replica, versions(11));
      v.field("records", &S::records, versions(0).nullable(0));
    }
    bool operator==(const PartitionData&) const = default;
  };

  struct FetchableTopicResponse {
    std::string topic;
    std::vector<PartitionData> partitions;

    template <class V>
    static void fields(V& v) {
      using S = FetchableTopicResponse;
      v.field("topic", &S::topic, versions(0, 12));
      v.field("partitions", &S::partitions, versions(0));
    }
    bool operator==(const FetchableTopicResponse&) const = default;
  };

  std::int32_t throttle_time_ms = 0;
  std::int16_t error_code = 0;
  std::int32_t session_id = 0;
  std::vector<FetchableTopicResponse> responses;

  template <class V>
  static void fields(V& v) {
    using S = FetchResponse;
    v.field("throttle_time_ms", &S::throttle_time_ms, versions(1));
    v.field("error_code", &S::error_code, versions(7));
    v.field("session_id", &S::session_id, versions(7));
    v.field("responses", &S::responses, versions(0));
  }
  bool operator==(const FetchResponse&) const = default;
};

}  // namespace keel::protocol
