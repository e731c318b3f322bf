#pragma once
// OffsetForLeaderEpoch (key 23), versions 2-4; flexible from 4. A follower asks its leader where
// one of its leader epochs ends (KIP-101), to truncate exactly what diverged.
#include "broker/protocol/schema.h"

namespace keel::protocol {

struct OffsetForLeaderEpochRequest {
  static constexpr ApiKey api_key = ApiKey::offset_for_leader_epoch;
  static constexpr bool is_request = true;
  static constexpr std::string_view message_name = "OffsetForLeaderEpochRequest";

  // replica_id for a consumer asking (not a follower).
  static constexpr std::int32_t consumer_replica_id = -1;

  struct Partition {
    std::int32_t partition = 0;
    std::int32_t current_leader_epoch = -1;
    std::int32_t leader_epoch = 0;

    template <class V>
    static void fields(V& v) {
      using S = Partition;
      v.field("partition", &S::partition, versions(0));
      v.field("current_leader_epoch", &S::current_leader_epoch, versions(2));
      v.field("leader_epoch", &S::leader_epoch, versions(0));
    }
    bool operator==(const Partition&) const = default;
  };

  struct Topic {
    std::string topic;
    std::vector<Partition> partitions;

    template <class V>
    static void fields(V& v) {
      using S = Topic;
      v.field("topic", &S::topic, versions(0));
      v.field("partitions", &S::partitions, versions(0));
    }
    bool operator==(const Topic&) const = default;
  };

  std::int32_t replica_id = -2;
  std::vector<Topic> topics;

  template <class V>
  static void fields(V& v) {
    using S = OffsetForLeaderEpochRequest;
    v.field("replica_id", &S::replica_id, versions(3));
    v.field("topics", &S::topics, versions(0));
  }
  bool operator==(const OffsetForLeaderEpochRequest&) const = default;
};

struct OffsetForLeaderEpochResponse {
  static constexpr ApiKey api_key = ApiKey::offset_for_leader_epoch;
  static constexpr bool is_request = false;
  static constexpr std::string_view message_name = "OffsetForLeaderEpochResponse";

  struct EpochEndOffset {
    std::int16_t error_code = 0;
    std::int32_t partition = 0;
    std::int32_t leader_epoch = -1;
    std::int64_t end_offset = -1;

    template <class V>
    static void fields(V& v) {
      using S = EpochEndOffset;
      v.field("error_code", &S::error_code, versions(0));
      v.field("partition", &S::partition, versions(0));
      v.field("leader_epoch", &S::leader_epoch, versions(1));
      v.field("end_offset", &S::end_offset, versions(0));
    }
    bool operator==(const EpochEndOffset&) const = default;
  };

  struct TopicResult {
    std::string topic;
    std::vector<EpochEndOffset> partitions;

    template <class V>
    static void fields(V& v) {
      using S = TopicResult;
      v.field("topic", &S::topic, versions(0));
      v.field("partitions", &S::partitions, versions(0));
    }
    bool operator==(const TopicResult&) const = default;
  };

  std::int32_t throttle_time_ms = 0;
  std::vector<TopicResult> topics;

  template <class V>
  static void fields(V& v) {
    using S = OffsetForLeaderEpochResponse;
    v.field("throttle_time_ms", &S::throttle_time_ms, versions(2));
    v.field("topics", &S::topics, versions(0));
  }
  bool operator==(const OffsetForLeaderEpochResponse&) const = default;
};

}  // namespace keel::protocol
