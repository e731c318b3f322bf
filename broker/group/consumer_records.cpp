#include "broker/group/consumer_records.h"

#include <fmt/format.h>

#include "broker/protocol/schema.h"

namespace keel::protocol {

template <>
struct FieldsOf<group::TopicIdPartitions> {
  template <class V>
  static void fields(V& v) {
    using S = group::TopicIdPartitions;
    v.field("topic_id", &S::topic_id, versions(0));
    v.field("partitions", &S::partitions, versions(0));
  }
};

template <>
struct FieldsOf<group::ConsumerGroupMetadataValue> {
  template <class V>
  static void fields(V& v) {
    v.field("epoch", &group::ConsumerGroupMetadataValue::epoch, versions(0));
    v.field("metadata_hash", &group::ConsumerGroupMetadataValue::metadata_hash, versions(0).tagged(0, 0));
  }
};

template <>
struct FieldsOf<group::ConsumerMemberMetadataValue> {
  template <class V>
  static void fields(V& v) {
    using S = group::ConsumerMemberMetadataValue;
    v.field("instance_id", &S::instance_id, versions(0).nullable(0));
    v.field("rack_id", &S::rack_id, versions(0).nullable(0));
    v.field("client_id", &S::client_id, versions(0));
    v.field("client_host", &S::client_host, versions(0));
    v.field("subscribed_topic_names", &S::subscribed_topic_names, versions(0));
    v.field("subscribed_topic_regex", &S::subscribed_topic_regex, versions(0).nullable(0));
    v.field("rebalance_timeout_ms", &S::rebalance_timeout_ms, versions(0));
    v.field("server_assignor", &S::server_assignor, versions(0).nullable(0));
  }
};

template <>
struct FieldsOf<group::ConsumerTargetMetadataValue> {
  template <class V>
  static void fields(V& v) {
    v.field("assignment_epoch", &group::ConsumerTargetMetadataValue::assignment_epoch, versions(0));
  }
};

template <>
struct FieldsOf<group::ConsumerTargetMemberValue> {
  template <class V>
  static void fields(V& v) {
    v.field("topic_partitions", &group::ConsumerTargetMemberValue::topic_partitions, versions(0));
  }
};

template <>
struct FieldsOf<group::ConsumerCurrentAssignmentValue> {
  template <class V>
  static void fields(V& v) {
    using S = group::ConsumerCurrentAssignmentValue;
    v.field("member_epoch", &S::member_epoch, versions(0));
    v.field("previous_member_epoch", &S::previous_member_epoch, versions(0));
    v.field("state", &S::state, versions(0).in_range(0, 2));
    v.field("assigned_partitions", &S::assigned_partitions, versions(0));
    v.field("partitions_pending_revocation", &S::partitions_pending_revocation, versions(0));
  }
};

}  // namespace keel::protocol

namespace keel::group {

namespace {

// Values are flexible from version 0 (Kafka's "flexibleVersions": "0+").
constexpr protocol::WireContext value_context{0, true, true};

struct GroupIdKey {
  std::string group_id;
};
struct GroupMemberKey {
  std::string group_id;
  std::string member_id;
};

}  // namespace
}  // namespace keel::group

namespace keel::protocol {
template <>
struct FieldsOf<group::GroupIdKey> {
  template <class V>
  static void fields(V& v) {
    v.field("group_id", &group::GroupIdKey::group_id, versions(0));
  }
};
template <>
struct FieldsOf<group::GroupMemberKey> {
  template <class V>
  static void fields(V& v) {
    v.field("group_id", &group::GroupMemberKey::group_id, versions(0));
    v.field("member_id", &group::GroupMemberKey::member_id, versions(0));
  }
};
}  // namespace keel::protocol

namespace keel::group {

namespace {

bool keyed_by_group_only(std::int16_t type) {
  return type == consumer_group_metadata_type || type == consumer_target_metadata_type;
}

protocol::Bytes encode_key(const ConsumerRecordKey& key) {
  protocol::Writer w;
  w.write_int16(key.type);
  if (keyed_by_group_only(key.type)) {
    protocol::encode_internal(w, GroupIdKey{key.group_id}, 0);
  } else {
    protocol::encode_internal(w, GroupMemberKey{key.group_id, key.member_id}, 0);
  }
  return w.take();
}

template <class Value>
coordinator::CoordinatorRecord make_record(const ConsumerRecordKey& key, const Value& value) {
  protocol::Writer w;
  w.write_int16(0);
  protocol::detail::encode_struct(w, value, value_context);
  return {encode_key(key), w.take()};
}

template <class Value>
Result<std::optional<Value>> decode_value(const std::optional<protocol::Bytes>& bytes, std::string_view name) {
  if (!bytes) return std::optional<Value>();
  protocol::Reader r(*bytes);
  const std::int16_t version = r.read_int16();
  if (!r.ok()) return make_error(Errc::corrupt, fmt::format("{}: no version", name));
  if (version != 0) return make_error(Errc::corrupt, fmt::format("{}: version {} is not one Keel reads (0)", name, version));
  Value out{};
  protocol::detail::DecodePath where;
  protocol::detail::decode_struct(r, out, value_context, where);
  if (!r.ok()) return make_error(Errc::corrupt, fmt::format("{}.{}: {}", name, where.path, r.error().message));
  if (r.remaining() != 0) return make_error(Errc::corrupt, fmt::format("{}: {} bytes after it", name, r.remaining()));
  return std::optional<Value>(std::move(out));
}

Result<ConsumerRecordKey> decode_key(std::int16_t type, std::span<const std::uint8_t> bytes) {
  ConsumerRecordKey key{type, {}, {}};
  if (keyed_by_group_only(type)) {
    auto k = protocol::decode_internal<GroupIdKey>(bytes, fmt::format("ConsumerGroup record {} key", type));
    if (!k) return k.error();
    key.group_id = std::move(k->group_id);
  } else {
    auto k = protocol::decode_internal<GroupMemberKey>(bytes, fmt::format("ConsumerGroup record {} key", type));
    if (!k) return k.error();
    key.group_id = std::move(k->group_id);
    key.member_id = std::move(k->member_id);
  }
  return key;
}

template <class Value>
Status read_into(std::optional<Value>& out, const std::optional<protocol::Bytes>& bytes, std::string_view name) {
  auto v = decode_value<Value>(bytes, name);
  if (!v) return v.error();
  out = std::move(*v);
  return {};
}

}  // namespace

coordinator::CoordinatorRecord consumer_group_metadata_record(const std::string& group, const ConsumerGroupMetadataValue& v) {
  return make_record({consumer_group_metadata_type, group, {}}, v);
}
coordinator::CoordinatorRecord consumer_member_metadata_record(const std::string& group, const std::string& member,
                                                               const ConsumerMemberMetadataValue& v) {
  return make_record({consumer_member_metadata_type, group, member}, v);
}
coordinator::CoordinatorRecord consumer_target_metadata_record(const std::string& group,
                                                               const ConsumerTargetMetadataValue& v) {
  return make_record({consumer_target_metadata_type, group, {}}, v);
}
coordinator::CoordinatorRecord consumer_target_member_record(const std::string& group, const std::string& member,
                                                             const ConsumerTargetMemberValue& v) {
  return make_record({consumer_target_member_type, group, member}, v);
}
coordinator::CoordinatorRecord consumer_current_assignment_record(const std::string& group, const std::string& member,
                                                                  const ConsumerCurrentAssignmentValue& v) {
  return make_record({consumer_current_assignment_type, group, member}, v);
}
coordinator::CoordinatorRecord consumer_tombstone(const ConsumerRecordKey& key) {
  KEEL_ASSERT(is_consumer_record_type(key.type));
  return {encode_key(key), std::nullopt};
}

bool is_consumer_record_type(std::int16_t type) {
  return type == consumer_group_metadata_type || type == consumer_member_metadata_type ||
         type == consumer_target_metadata_type || type == consumer_target_member_type ||
         type == consumer_current_assignment_type;
}

Result<ConsumerRecord> decode_consumer_record(std::int16_t type, std::span<const std::uint8_t> key,
                                              const std::optional<protocol::Bytes>& value) {
  auto k = decode_key(type, key);
  if (!k) return k.error();
  ConsumerRecord out;
  out.key = std::move(*k);
  out.tombstone = !value.has_value();
  Status st;
  switch (type) {
    case consumer_group_metadata_type: st = read_into(out.group_metadata, value, "ConsumerGroupMetadataValue"); break;
    case consumer_member_metadata_type:
      st = read_into(out.member_metadata, value, "ConsumerGroupMemberMetadataValue");
      break;
    case consumer_target_metadata_type:
      st = read_into(out.target_metadata, value, "ConsumerGroupTargetAssignmentMetadataValue");
      break;
    case consumer_target_member_type:
      st = read_into(out.target_member, value, "ConsumerGroupTargetAssignmentMemberValue");
      break;
    default:
      st = read_into(out.current_assignment, value, "ConsumerGroupCurrentMemberAssignmentValue");
      break;
  }
  if (!st) return st.error();
  return out;
}

}  // namespace keel::group
