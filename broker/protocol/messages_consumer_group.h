#pragma once
// The consumer group protocol of KIP-848: ConsumerGroupHeartbeat (key 68) and ConsumerGroupDescribe
// (key 69), versions 0-1, flexible in every version. Heartbeat v1 adds the subscribed regex (and
// member ids chosen by the consumer); Describe v1 adds each member's type.
#include "broker/protocol/schema.h"

namespace keel::protocol {

struct ConsumerGroupHeartbeatRequest {
  static constexpr ApiKey api_key = ApiKey::consumer_group_heartbeat;
  static constexpr bool is_request = true;
  static constexpr std::string_view message_name = "ConsumerGroupHeartbeatRequest";

  struct TopicPartitions {
    Uuid topic_id;
    std::vector<std::int32_t> partitions;

    template <class V>
    static void fields(V& v) {
      using S = TopicPartitions;
      v.field("topic_id", &S::topic_id, versions(0));
      v.field("partitions", &S::partitions, versions(0));
    }
    bool operator==(const TopicPartitions&) const = default;
  };

  std::string group_id;
  std::string member_id;
  // 0 joins, -1 leaves, -2 leaves for now (a static member that will come back).
  std::int32_t member_epoch = 0;
  // The nullable fields below are null when they did not change since the member's last heartbeat.
  std::optional<std::string> instance_id;
  std::optional<std::string> rack_id;
  std::int32_t rebalance_timeout_ms = -1;
  std::optional<std::vector<std::string>> subscribed_topic_names;
  std::optional<std::string> subscribed_topic_regex;
  std::optional<std::string> server_assignor;
  std::optional<std::vector<TopicPartitions>> topic_partitions;

  template <class V>
  static void fields(V& v) {
    using S = ConsumerGroupHeartbeatRequest;
    v.field("group_id", &S::group_id, versions(0));
    v.field("member_id", &S::member_id, versions(0));
    v.field("member_epoch", &S::member_epoch, versions(0));
    v.field("instance_id", &S::instance_id, versions(0).nullable(0));
    v.field("rack_id", &S::rack_id, versions(0).nullable(0));
    v.field("rebalance_timeout_ms", &S::rebalance_timeout_ms, versions(0));
    v.field("subscribed_topic_names", &S::subscribed_topic_names, versions(0).nullable(0));
    v.field("subscribed_topic_regex", &S::subscribed_topic_regex, versions(1).nullable(1));
    v.field("server_assignor", &S::server_assignor, versions(0).nullable(0));
    v.field("topic_partitions", &S::topic_partitions, versions(0).nullable(0));
  }
  bool operator==(const ConsumerGroupHeartbeatRequest&) const = default;
};

struct ConsumerGroupHeartbeatResponse {
  static constexpr ApiKey api_key = ApiKey::consumer_group_heartbeat;
  static constexpr bool is_request = false;
  static constexpr std::string_view message_name = "ConsumerGroupHeartbeatResponse";

  using TopicPartitions = ConsumerGroupHeartbeatRequest::TopicPartitions;

  struct Assignment {
    std::vector<TopicPartitions> topic_partitions;

    template <class V>
    static void fields(V& v) {
      using S = Assignment;
      v.field("topic_partitions", &S::topic_partitions, versions(0));
    }
    bool operator==(const Assignment&) const = default;
  };

  std::int32_t throttle_time_ms = 0;
  std::int16_t error_code = 0;
  std::optional<std::string> error_message;
  std::optional<std::string> member_id;
  std::int32_t member_epoch = 0;
  std::int32_t heartbeat_interval_ms = 0;
  std::optional<Assignment> assignment;  // null: the assignment did not change

  template <class V>
  static void fields(V& v) {
    using S = ConsumerGroupHeartbeatResponse;
    v.field("throttle_time_ms", &S::throttle_time_ms, versions(0));
    v.field("error_code", &S::error_code, versions(0));
    v.field("error_message", &S::error_message, versions(0).nullable(0));
    v.field("member_id", &S::member_id, versions(0).nullable(0));
    v.field("member_epoch", &S::member_epoch, versions(0));
    v.field("heartbeat_interval_ms", &S::heartbeat_interval_ms, versions(0));
    v.field("assignment", &S::assignment, versions(0).nullable(0));
  }
  bool operator==(const ConsumerGroupHeartbeatResponse&) const = default;
};

struct ConsumerGroupDescribeRequest {
  static constexpr ApiKey api_key = ApiKey::consumer_group_describe;
  static constexpr bool is_request = true;
  static constexpr std::string_view message_name = "ConsumerGroupDescribeRequest";

  std::vector<std::string> group_ids;
  bool include_authorized_operations = false;

  template <class V>
  static void fields(V& v) {
    using S = ConsumerGroupDescribeRequest;
    v.field("group_ids", &S::group_ids, versions(0));
    v.field("include_authorized_operations", &S::include_authorized_operations, versions(0));
  }
  bool operator==(const ConsumerGroupDescribeRequest&) const = default;
};

struct ConsumerGroupDescribeResponse {
  static constexpr ApiKey api_key = ApiKey::consumer_group_describe;
  static constexpr bool is_request = false;
  static constexpr std::string_view message_name = "ConsumerGroupDescribeResponse";

  static constexpr std::int32_t authorized_operations_unknown = std::numeric_limits<std::int32_t>::min();

  struct TopicPartitions {
    Uuid topic_id;
    std::string topic_name;
    std::vector<std::int32_t> partitions;

    template <class V>
    static void fields(V& v) {
      using S = TopicPartitions;
      v.field("topic_id", &S::topic_id, versions(0));
      v.field("topic_name", &S::topic_name, versions(0));
      v.field("partitions", &S::partitions, versions(0));
    }
    bool operator==(const TopicPartitions&) const = default;
  };

  struct Assignment {
    std::vector<TopicPartitions> topic_partitions;

    template <class V>
    static void fields(V& v) {
      using S = Assignment;
      v.field("topic_partitions", &S::topic_partitions, versions(0));
    }
    bool operator==(const Assignment&) const = default;
  };

  struct Member {
    std::string member_id;
    std::optional<std::string> instance_id;
    std::optional<std::string> rack_id;
    std::int32_t member_epoch = 0;
    std::string client_id;
    std::string client_host;
    std::vector<std::string> subscribed_topic_names;
    std::optional<std::string> subscribed_topic_regex;
    Assignment assignment;
    Assignment target_assignment;
    std::int8_t member_type = -1;  // -1 unknown, 0 classic, 1 consumer

    template <class V>
    static void fields(V& v) {
      using S = Member;
      v.field("member_id", &S::member_id, versions(0));
      v.field("instance_id", &S::instance_id, versions(0).nullable(0));
      v.field("rack_id", &S::rack_id, versions(0).nullable(0));
      v.field("member_epoch", &S::member_epoch, versions(0));
      v.field("client_id", &S::client_id, versions(0));
      v.field("client_host", &S::client_host, versions(0));
      v.field("subscribed_topic_names", &S::subscribed_topic_names, versions(0));
      v.field("subscribed_topic_regex", &S::subscribed_topic_regex, versions(0).nullable(0));
      v.field("assignment", &S::assignment, versions(0));
      v.field("target_assignment", &S::target_assignment, versions(0));
      v.field("member_type", &S::member_type, versions(1));
    }
    bool operator==(const Member&) const = default;
  };

  struct DescribedGroup {
    std::int16_t error_code = 0;
    std::optional<std::string> error_message;
    std::string group_id;
    std::string group_state;
    std::int32_t group_epoch = 0;
    std::int32_t assignment_epoch = 0;
    std::string assignor_name;
    std::vector<Member> members;
    std::int32_t authorized_operations = authorized_operations_unknown;

    template <class V>
    static void fields(V& v) {
      using S = DescribedGroup;
      v.field("error_code", &S::error_code, versions(0));
      v.field("error_message", &S::error_message, versions(0).nullable(0));
      v.field("group_id", &S::group_id, versions(0));
      v.field("group_state", &S::group_state, versions(0));
      v.field("group_epoch", &S::group_epoch, versions(0));
      v.field("assignment_epoch", &S::assignment_epoch, versions(0));
      v.field("assignor_name", &S::assignor_name, versions(0));
      v.field("members", &S::members, versions(0));
      v.field("authorized_operations", &S::authorized_operations, versions(0));
    }
    bool operator==(const DescribedGroup&) const = default;
  };

  std::int32_t throttle_time_ms = 0;
  std::vector<DescribedGroup> groups;

  template <class V>
  static void fields(V& v) {
    using S = ConsumerGroupDescribeResponse;
    v.field("throttle_time_ms", &S::throttle_time_ms, versions(0));
    v.field("groups", &S::groups, versions(0));
  }
  bool operator==(const ConsumerGroupDescribeResponse&) const = default;
};

}  // namespace keel::protocol
