#pragma once
// The cluster metadata records (KIP-631) as plain values, and Keel's own binary form of them.
// Every record on the wire is: type (int8, Kafka's metadata apiKey), version (int8), then the fields
// its fields() list names for that version (protocol/schema.h, Keel's internal form). The layout is
// Keel's; it follows Kafka's field meanings, not its JSON schemas. Decoding never trusts its input:
// a truncated, unknown or trailing-garbage record is an error value naming the record type, the
// field and what was wrong.
#include "broker/base/ids.h"
#include "broker/base/result.h"
#include "broker/protocol/schema.h"
#include "broker/protocol/wire.h"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace keel::metadata {

using protocol::Uuid;
using protocol::versions;

// PartitionChangeRecord.leader: -2 leaves the leader alone, -1 means "no leader".
constexpr BrokerId leader_unchanged = -2;
constexpr BrokerId no_leader = -1;
// PartitionChangeRecord.leader_recovery_state: -1 leaves it alone.
constexpr std::int8_t recovery_state_unchanged = -1;

// Whether the leader's log is known to hold everything committed (RECOVERED), or it was elected
// uncleanly and has yet to tell the controller it finished recovery (RECOVERING, KIP-704).
enum class LeaderRecoveryState : std::int8_t { recovered = 0, recovering = 1 };

// BrokerRegistrationChangeRecord.fenced.
enum class FenceChange : std::int8_t { unfence = -1, none = 0, fence = 1 };

// The most listeners a broker registers with (records and controller calls refuse more).
constexpr std::int32_t endpoints_max = 64;

struct Endpoint {
  std::string listener;
  std::string host;
  std::uint16_t port = 0;
  bool operator==(const Endpoint&) const = default;

  template <class V>
  static void fields(V& v) {
    using S = Endpoint;
    v.field("listener", &S::listener, versions(0));
    v.field("host", &S::host, versions(0));
    v.field("port", &S::port, versions(0));
  }
};

// Each record type: its type byte, its name, its fields, and the field list that is its layout
// (a field added in a later record version says so in versions()).
struct RegisterBrokerRecord {
  static constexpr std::int8_t type = 0;
  static constexpr std::string_view message_name = "RegisterBrokerRecord";
  BrokerId broker_id = 0;
  Uuid incarnation_id;
  std::int64_t broker_epoch = 0;
  std::vector<Endpoint> endpoints;
  std::optional<std::string> rack;
  bool fenced = true;
  bool in_controlled_shutdown = false;
  bool operator==(const RegisterBrokerRecord&) const = default;

  template <class V>
  static void fields(V& v) {
    using S = RegisterBrokerRecord;
    v.field("broker_id", &S::broker_id, versions(0));
    v.field("incarnation_id", &S::incarnation_id, versions(0));
    v.field("broker_epoch", &S::broker_epoch, versions(0));
    v.field("endpoints", &S::endpoints, versions(0).at_most(endpoints_max));
    v.field("rack", &S::rack, versions(0).nullable(0));
    v.field("fenced", &S::fenced, versions(0));
    v.field("in_controlled_shutdown", &S::in_controlled_shutdown, versions(0));
  }
};

struct UnregisterBrokerRecord {
  static constexpr std::int8_t type = 1;
  static constexpr std::string_view message_name = "UnregisterBrokerRecord";
  BrokerId broker_id = 0;
  std::int64_t broker_epoch = 0;
  bool operator==(const UnregisterBrokerRecord&) const = default;

  template <class V>
  static void fields(V& v) {
    using S = UnregisterBrokerRecord;
    v.field("broker_id", &S::broker_id, versions(0));
    v.field("broker_epoch", &S::broker_epoch, versions(0));
  }
};

struct TopicRecord {
  static constexpr std::int8_t type = 2;
  static constexpr std::string_view message_name = "TopicRecord";
  std::string name;
  Uuid topic_id;
  bool operator==(const TopicRecord&) const = default;

  template <class V>
  static void fields(V& v) {
    using S = TopicRecord;
    v.field("name", &S::name, versions(0));
    v.field("topic_id", &S::topic_id, versions(0));
  }
};

struct PartitionRecord {
  static constexpr std::int8_t type = 3;
  static constexpr std::string_view message_name = "PartitionRecord";
  std::int32_t partition_id = 0;
  Uuid topic_id;
  std::vector<BrokerId> replicas;
  std::vector<BrokerId> isr;
  BrokerId leader = no_leader;
  LeaderRecoveryState leader_recovery_state = LeaderRecoveryState::recovered;
  std::int32_t leader_epoch = 0;
  std::int32_t partition_epoch = 0;
  // A reassignment in progress (record version 1+): replicas leaving and replicas joining, both
  // also in `replicas`.
  std::vector<BrokerId> removing_replicas;
  std::vector<BrokerId> adding_replicas;
  bool operator==(const PartitionRecord&) const = default;

  template <class V>
  static void fields(V& v) {
    using S = PartitionRecord;
    v.field("partition_id", &S::partition_id, versions(0));
    v.field("topic_id", &S::topic_id, versions(0));
    v.field("replicas", &S::replicas, versions(0));
    v.field("isr", &S::isr, versions(0));
    v.field("leader", &S::leader, versions(0));
    v.field("leader_recovery_state", &S::leader_recovery_state, versions(0).in_range(0, 1));
    v.field("leader_epoch", &S::leader_epoch, versions(0));
    v.field("partition_epoch", &S::partition_epoch, versions(0));
    v.field("removing_replicas", &S::removing_replicas, versions(1));
    v.field("adding_replicas", &S::adding_replicas, versions(1));
  }
};

// Topic configuration. `resource` is a topic name, or a broker's dynamic configs: "broker:" then a
// broker id, or "broker:" alone for the cluster-wide default (no topic name holds a ':'). A null
// value deletes the key.
inline constexpr std::string_view broker_config_prefix = "broker:";
struct ConfigRecord {
  static constexpr std::int8_t type = 4;
  static constexpr std::string_view message_name = "ConfigRecord";
  std::string resource;
  std::string name;
  std::optional<std::string> value;
  bool operator==(const ConfigRecord&) const = default;

  template <class V>
  static void fields(V& v) {
    using S = ConfigRecord;
    v.field("resource", &S::resource, versions(0));
    v.field("name", &S::name, versions(0));
    v.field("value", &S::value, versions(0).nullable(0));
  }
};

struct PartitionChangeRecord {
  static constexpr std::int8_t type = 5;
  static constexpr std::string_view message_name = "PartitionChangeRecord";
  std::int32_t partition_id = 0;
  Uuid topic_id;
  std::optional<std::vector<BrokerId>> isr;       // null: unchanged
  std::optional<std::vector<BrokerId>> replicas;  // null: unchanged
  BrokerId leader = leader_unchanged;
  std::int8_t leader_recovery_state = recovery_state_unchanged;
  std::optional<std::vector<BrokerId>> removing_replicas;  // null: unchanged (version 1+)
  std::optional<std::vector<BrokerId>> adding_replicas;    // null: unchanged (version 1+)
  bool operator==(const PartitionChangeRecord&) const = default;

  template <class V>
  static void fields(V& v) {
    using S = PartitionChangeRecord;
    v.field("partition_id", &S::partition_id, versions(0));
    v.field("topic_id", &S::topic_id, versions(0));
    v.field("isr", &S::isr, versions(0).nullable(0));
    v.field("replicas", &S::replicas, versions(0).nullable(0));
    v.field("leader", &S::leader, versions(0).in_range(leader_unchanged.value));
    v.field("leader_recovery_state", &S::leader_recovery_state, versions(0).in_range(recovery_state_unchanged, 1));
    v.field("removing_replicas", &S::removing_replicas, versions(1).nullable(1));
    v.field("adding_replicas", &S::adding_replicas, versions(1).nullable(1));
  }
};

struct RemoveTopicRecord {
  static constexpr std::int8_t type = 9;
  static constexpr std::string_view message_name = "RemoveTopicRecord";
  Uuid topic_id;
  bool operator==(const RemoveTopicRecord&) const = default;

  template <class V>
  static void fields(V& v) {
    v.field("topic_id", &RemoveTopicRecord::topic_id, versions(0));
  }
};

struct BrokerRegistrationChangeRecord {
  static constexpr std::int8_t type = 17;
  static constexpr std::string_view message_name = "BrokerRegistrationChangeRecord";
  BrokerId broker_id = 0;
  std::int64_t broker_epoch = 0;
  FenceChange fenced = FenceChange::none;
  std::int8_t in_controlled_shutdown = 0;  // 1: entering controlled shutdown, 0: unchanged
  bool operator==(const BrokerRegistrationChangeRecord&) const = default;

  template <class V>
  static void fields(V& v) {
    using S = BrokerRegistrationChangeRecord;
    v.field("broker_id", &S::broker_id, versions(0));
    v.field("broker_epoch", &S::broker_epoch, versions(0));
    v.field("fenced", &S::fenced, versions(0).in_range(-1, 1));
    v.field("in_controlled_shutdown", &S::in_controlled_shutdown, versions(0).in_range(0, 1));
  }
};

struct NoOpRecord {
  static constexpr std::int8_t type = 20;
  static constexpr std::string_view message_name = "NoOpRecord";
  bool operator==(const NoOpRecord&) const = default;

  template <class V>
  static void fields(V&) {}
};

using MetadataRecord =
    std::variant<RegisterBrokerRecord, UnregisterBrokerRecord, TopicRecord, PartitionRecord, ConfigRecord,
                 PartitionChangeRecord, RemoveTopicRecord, BrokerRegistrationChangeRecord, NoOpRecord>;

// The version every record is written at. Version 1 added the reassignment fields (removing and
// adding replicas) to PartitionRecord and PartitionChangeRecord; decode reads 0 and 1 (what each
// version holds is in the records' field lists).
constexpr std::int8_t record_version = 1;
constexpr std::int8_t record_version_min = 0;
// A record larger than this is refused by decode (a limit on everything, even metadata).
constexpr std::size_t record_bytes_max = 1 << 20;

std::string_view record_type_name(const MetadataRecord& record);
// Kafka's name for a type byte ("PartitionChangeRecord"), or "UnknownRecord".
std::string_view record_type_name(std::int8_t type);

protocol::Bytes encode(const MetadataRecord& record);
// Errc::corrupt with a message naming the record type and the fault.
Result<MetadataRecord> decode(std::span<const std::uint8_t> bytes);

// One line for traces: "PartitionChangeRecord(topic=..., partition=0, leader=2, isr=[1,2])".
std::string describe(const MetadataRecord& record);
std::string to_string(const Uuid& id);

}  // namespace keel::metadata
