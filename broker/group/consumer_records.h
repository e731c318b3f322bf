#pragma once
// The records of KIP-848 consumer groups in __consumer_offsets, in Kafka's formats
// (group-coordinator/ConsumerGroup*.json): a key is an int16 record type then the key struct
// (version 0, classic encoding); a value is an int16 version (0) then the value struct in the
// flexible encoding (compact strings and arrays, tag buffers). No value is a tombstone.
//
//   type 3  ConsumerGroupMetadata          key {group}          value {epoch}
//   type 5  ConsumerGroupMemberMetadata    key {group, member}  value {instance, rack, client, subscription, ...}
//   type 6  ConsumerGroupTargetAssignmentMetadata  key {group}  value {assignment epoch}
//   type 7  ConsumerGroupTargetAssignmentMember    key {group, member}  value {topic partitions}
//   type 8  ConsumerGroupCurrentMemberAssignment   key {group, member}  value {epochs, state, partitions}
//
// Tagged fields Keel does not use (classic member metadata, per-partition epochs, the assignment time)
// are skipped when read and not written.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "broker/base/result.h"
#include "broker/coordinator/record.h"
#include "broker/protocol/wire.h"

namespace keel::group {

inline constexpr std::int16_t consumer_group_metadata_type = 3;
inline constexpr std::int16_t consumer_member_metadata_type = 5;
inline constexpr std::int16_t consumer_target_metadata_type = 6;
inline constexpr std::int16_t consumer_target_member_type = 7;
inline constexpr std::int16_t consumer_current_assignment_type = 8;

// The key of types 3 and 6 (member_id empty, not written) and of 5, 7 and 8.
struct ConsumerRecordKey {
  std::int16_t type = 0;
  std::string group_id;
  std::string member_id;
  bool operator==(const ConsumerRecordKey&) const = default;
};

struct TopicIdPartitions {
  protocol::Uuid topic_id;
  std::vector<std::int32_t> partitions;
  bool operator==(const TopicIdPartitions&) const = default;
};

struct ConsumerGroupMetadataValue {
  std::int32_t epoch = 0;
  // Tagged (Kafka 4.1): a hash of the subscribed topics' ids and partition counts, so that a change
  // of metadata bumps the epoch once, and a loaded group knows what its target was computed for.
  std::int64_t metadata_hash = 0;
  bool operator==(const ConsumerGroupMetadataValue&) const = default;
};

struct ConsumerMemberMetadataValue {
  std::optional<std::string> instance_id;
  std::optional<std::string> rack_id;
  std::string client_id;
  std::string client_host;
  std::vector<std::string> subscribed_topic_names;
  std::optional<std::string> subscribed_topic_regex;
  std::int32_t rebalance_timeout_ms = -1;
  std::optional<std::string> server_assignor;
  bool operator==(const ConsumerMemberMetadataValue&) const = default;
};

struct ConsumerTargetMetadataValue {
  std::int32_t assignment_epoch = 0;
  bool operator==(const ConsumerTargetMetadataValue&) const = default;
};

struct ConsumerTargetMemberValue {
  std::vector<TopicIdPartitions> topic_partitions;
  bool operator==(const ConsumerTargetMemberValue&) const = default;
};

struct ConsumerCurrentAssignmentValue {
  std::int32_t member_epoch = 0;
  std::int32_t previous_member_epoch = 0;
  std::int8_t state = 0;  // MemberState: 0 stable, 1 unrevoked partitions, 2 unreleased partitions
  std::vector<TopicIdPartitions> assigned_partitions;
  std::vector<TopicIdPartitions> partitions_pending_revocation;
  bool operator==(const ConsumerCurrentAssignmentValue&) const = default;
};

coordinator::CoordinatorRecord consumer_group_metadata_record(const std::string& group, const ConsumerGroupMetadataValue& v);
coordinator::CoordinatorRecord consumer_member_metadata_record(const std::string& group, const std::string& member,
                                                               const ConsumerMemberMetadataValue& v);
coordinator::CoordinatorRecord consumer_target_metadata_record(const std::string& group,
                                                               const ConsumerTargetMetadataValue& v);
coordinator::CoordinatorRecord consumer_target_member_record(const std::string& group, const std::string& member,
                                                             const ConsumerTargetMemberValue& v);
coordinator::CoordinatorRecord consumer_current_assignment_record(const std::string& group, const std::string& member,
                                                                  const ConsumerCurrentAssignmentValue& v);
// A tombstone for any of the five types.
coordinator::CoordinatorRecord consumer_tombstone(const ConsumerRecordKey& key);

// One consumer group record as read back; the value that goes with key.type, or none (tombstone).
struct ConsumerRecord {
  ConsumerRecordKey key;
  std::optional<ConsumerGroupMetadataValue> group_metadata;
  std::optional<ConsumerMemberMetadataValue> member_metadata;
  std::optional<ConsumerTargetMetadataValue> target_metadata;
  std::optional<ConsumerTargetMemberValue> target_member;
  std::optional<ConsumerCurrentAssignmentValue> current_assignment;
  bool tombstone = false;
};

bool is_consumer_record_type(std::int16_t type);
// `key` is the key after its type (read by the caller); errors name the record and the field.
Result<ConsumerRecord> decode_consumer_record(std::int16_t type, std::span<const std::uint8_t> key,
                                              const std::optional<protocol::Bytes>& value);

}  // namespace keel::group
