#pragma once
// The records of __consumer_offsets in Kafka's formats, so that Kafka's tools could read a Keel
// log: a key is an int16 record type then the key struct (version 0); a value is an int16 version
// then the value struct; a record with no value is a tombstone.
//
//   type 1  OffsetCommit   key {group, topic, partition}; value v3 written (v0-v4 read)
//   type 2  GroupMetadata  key {group};                   value v3 written (v0-v3 read)
//
// Type 0 (legacy offsets) is read as type 1; the KIP-848 consumer group types 3 and 5-8 are in
// consumer_records.h; the others (4, 16, share, streams) are skipped on load.
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "broker/base/result.h"
#include "broker/coordinator/record.h"
#include "broker/group/consumer_records.h"
#include "broker/protocol/wire.h"

namespace keel::group {

inline constexpr std::int16_t offset_commit_record_type = 1;
inline constexpr std::int16_t group_metadata_record_type = 2;
inline constexpr std::int16_t offset_commit_value_version = 3;
inline constexpr std::int16_t group_metadata_value_version = 3;

struct OffsetCommitKey {
  std::string group;
  std::string topic;
  std::int32_t partition = 0;
  bool operator==(const OffsetCommitKey&) const = default;
};

struct OffsetCommitValue {
  std::int64_t offset = 0;
  std::int32_t leader_epoch = -1;
  std::string metadata;
  std::int64_t commit_timestamp = 0;
  std::int64_t expire_timestamp = -1;  // v1 only
  bool operator==(const OffsetCommitValue&) const = default;
};

struct GroupMetadataKey {
  std::string group;
  bool operator==(const GroupMetadataKey&) const = default;
};

struct GroupMemberValue {
  std::string member_id;
  std::optional<std::string> group_instance_id;
  std::string client_id;
  std::string client_host;
  std::int32_t rebalance_timeout = -1;
  std::int32_t session_timeout = 0;
  protocol::Bytes subscription;
  protocol::Bytes assignment;
  bool operator==(const GroupMemberValue&) const = default;
};

struct GroupMetadataValue {
  std::string protocol_type;
  std::int32_t generation = 0;
  std::optional<std::string> protocol;
  std::optional<std::string> leader;
  std::int64_t current_state_timestamp = -1;
  std::vector<GroupMemberValue> members;
  bool operator==(const GroupMetadataValue&) const = default;
};

coordinator::CoordinatorRecord offset_commit_record(const OffsetCommitKey& key, const OffsetCommitValue& value);
coordinator::CoordinatorRecord offset_tombstone(const OffsetCommitKey& key);
coordinator::CoordinatorRecord group_metadata_record(const GroupMetadataKey& key, const GroupMetadataValue& value);
coordinator::CoordinatorRecord group_tombstone(const GroupMetadataKey& key);

// One record as read back: its key, and its value unless it is a tombstone. Unknown record types
// are std::monostate (skipped); malformed bytes are an error naming the record type and field.
struct OffsetRecord {
  OffsetCommitKey key;
  std::optional<OffsetCommitValue> value;
};
struct GroupRecord {
  GroupMetadataKey key;
  std::optional<GroupMetadataValue> value;
};
using DecodedRecord = std::variant<std::monostate, OffsetRecord, GroupRecord, ConsumerRecord>;
Result<DecodedRecord> decode_record(const coordinator::CoordinatorRecord& record);

// The coordinator's partition for a group: abs(Java String.hashCode(group)) % partitions, with
// hashCode over UTF-16 code units and abs(INT_MIN) = 0, as Kafka places groups.
std::int32_t java_string_hash(std::string_view utf8);
std::int32_t partition_for(std::string_view group_id, std::int32_t partitions);

// The topics of a consumer protocol subscription (ConsumerProtocolSubscription, any version: the
// version, then the topic names), or an error for bytes that are not one.
Result<std::vector<std::string>> subscription_topics(std::span<const std::uint8_t> subscription);

}  // namespace keel::group
