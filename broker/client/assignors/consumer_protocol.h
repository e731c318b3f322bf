#pragma once
// The consumer protocol's embedded byte layouts (Kafka's ConsumerProtocolSubscription and
// ConsumerProtocolAssignment, ../shared/reference/consumer-groups.md §4): what a classic group member
// puts in JoinGroup's protocol metadata and what the leader hands each member through SyncGroup.
// Both are an int16 version followed by a non-flexible struct:
//
//   Subscription v0: Topics [string], UserData nullable bytes
//                v1: + OwnedPartitions [{Topic string, Partitions [int32]}]
//                v2: + GenerationId int32 (-1 when unknown)
//                v3: + RackId nullable string
//   Assignment v0-v3: AssignedPartitions [{Topic string, Partitions [int32]}], UserData nullable bytes
//
// A version above the highest known (3) is read as version 3 and its extra trailing bytes ignored,
// as Kafka does, so a newer client still joins. Bytes left over after a known version are ignored
// too (Kafka's readers ignore them). Truncated or malformed bytes are an error naming the field and
// the byte offset. An empty Assignment (zero bytes) means "nothing assigned" and decodes as such.
#include "broker/base/result.h"
#include "broker/base/topic_partition.h"
#include "broker/protocol/wire.h"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace keel::client::assignors {

using protocol::Bytes;

constexpr std::int16_t subscription_version_max = 3;
constexpr std::int16_t assignment_version_max = 3;

// Partitions of one topic, in the order they were written (decode keeps it; encode writes it).
struct TopicPartitions {
  std::string topic;
  std::vector<std::int32_t> partitions;
  bool operator==(const TopicPartitions&) const = default;
};

struct Subscription {
  std::vector<std::string> topics;
  std::optional<Bytes> user_data;
  std::vector<TopicPartitions> owned_partitions;  // v1+
  std::int32_t generation_id = -1;                // v2+
  std::optional<std::string> rack_id;             // v3+
  bool operator==(const Subscription&) const = default;
};

struct Assignment {
  std::vector<TopicPartitions> partitions;
  std::optional<Bytes> user_data;
  bool operator==(const Assignment&) const = default;
};

// Encodes at `version` (0..3): fields the version lacks are left out.
Bytes encode_subscription(const Subscription& subscription, std::int16_t version);
Result<Subscription> decode_subscription(std::span<const std::uint8_t> bytes);
// The version a subscription was written at (the first two bytes), or an error if there are none.
Result<std::int16_t> subscription_version(std::span<const std::uint8_t> bytes);

Bytes encode_assignment(const Assignment& assignment, std::int16_t version);
Result<Assignment> decode_assignment(std::span<const std::uint8_t> bytes);

// [{topic, partitions}] as a flat sorted list of partitions, and back (grouped by topic, both sorted).
std::vector<TopicPartition> flatten(const std::vector<TopicPartitions>& grouped);
std::vector<TopicPartitions> group_by_topic(std::vector<TopicPartition> partitions);

// The partition lists the sticky assignors carry in user data and in owned partitions:
// [{topic string, partitions [int32]}] with classic lengths, as the two layouts above write it.
void write_topic_partitions(protocol::Writer& w, const std::vector<TopicPartitions>& list);
std::vector<TopicPartitions> read_topic_partitions(protocol::Reader& r);

}  // namespace keel::client::assignors
