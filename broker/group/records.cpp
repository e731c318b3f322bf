#include "broker/group/records.h"

#include <fmt/format.h>

#include "broker/protocol/schema.h"

namespace keel::protocol {

template <>
struct FieldsOf<group::OffsetCommitKey> {
  template <class V>
  static void fields(V& v) {
    using S = group::OffsetCommitKey;
    v.field("group", &S::group, versions(0));
    v.field("topic", &S::topic, versions(0));
    v.field("partition", &S::partition, versions(0));
  }
};

template <>
struct FieldsOf<group::OffsetCommitValue> {
  template <class V>
  static void fields(V& v) {
    using S = group::OffsetCommitValue;
    v.field("offset", &S::offset, versions(0));
    v.field("leader_epoch", &S::leader_epoch, versions(3));
    v.field("metadata", &S::metadata, versions(0));
    v.field("commit_timestamp", &S::commit_timestamp, versions(0));
    v.field("expire_timestamp", &S::expire_timestamp, versions(1, 1));
  }
};

template <>
struct FieldsOf<group::GroupMetadataKey> {
  template <class V>
  static void fields(V& v) {
    v.field("group", &group::GroupMetadataKey::group, versions(0));
  }
};

template <>
struct FieldsOf<group::GroupMemberValue> {
  template <class V>
  static void fields(V& v) {
    using S = group::GroupMemberValue;
    v.field("member_id", &S::member_id, versions(0));
    v.field("group_instance_id", &S::group_instance_id, versions(3).nullable(3));
    v.field("client_id", &S::client_id, versions(0));
    v.field("client_host", &S::client_host, versions(0));
    v.field("rebalance_timeout", &S::rebalance_timeout, versions(1));
    v.field("session_timeout", &S::session_timeout, versions(0));
    v.field("subscription", &S::subscription, versions(0));
    v.field("assignment", &S::assignment, versions(0));
  }
};

template <>
struct FieldsOf<group::GroupMetadataValue> {
  template <class V>
  static void fields(V& v) {
    using S = group::GroupMetadataValue;
    v.field("protocol_type", &S::protocol_type, versions(0));
    v.field("generation", &S::generation, versions(0));
    v.field("protocol", &S::protocol, versions(0).nullable(0));
    v.field("leader", &S::leader, versions(0).nullable(0));
    v.field("current_state_timestamp", &S::current_state_timestamp, versions(2));
    v.field("members", &S::members, versions(0));
  }
};

}  // namespace keel::protocol

namespace keel::group {

namespace {

template <class Key>
protocol::Bytes encode_key(std::int16_t type, const Key& key) {
  protocol::Writer w;
  w.write_int16(type);
  protocol::encode_internal(w, key, 0);
  return w.take();
}

template <class Value>
protocol::Bytes encode_value(std::int16_t version, const Value& value) {
  protocol::Writer w;
  w.write_int16(version);
  protocol::encode_internal(w, value, version);
  return w.take();
}

// Reads a key or value struct that must fill the rest of `r`.
template <class S>
Result<S> read_rest(protocol::Reader& r, std::string_view name, std::int16_t version) {
  S out{};
  if (auto st = protocol::decode_internal(r, out, name, version); !st) return st.error();
  if (r.remaining() != 0) return make_error(Errc::corrupt, fmt::format("{}: {} bytes after it", name, r.remaining()));
  return out;
}

template <class Value>
Result<std::optional<Value>> decode_value(const std::optional<protocol::Bytes>& bytes, std::string_view name,
                                          std::int16_t max_version) {
  if (!bytes) return std::optional<Value>();
  protocol::Reader r(*bytes);
  const std::int16_t version = r.read_int16();
  if (!r.ok()) return make_error(Errc::corrupt, fmt::format("{}: no version", name));
  // Versions above what Keel knows are flexible (a tag buffer it cannot read): refused by name.
  if (version < 0 || version > max_version) {
    return make_error(Errc::corrupt, fmt::format("{}: version {} is not one Keel reads (0-{})", name, version, max_version));
  }
  auto value = read_rest<Value>(r, name, version);
  if (!value) return value.error();
  return std::optional<Value>(std::move(*value));
}

}  // namespace

coordinator::CoordinatorRecord offset_commit_record(const OffsetCommitKey& key, const OffsetCommitValue& value) {
  return {encode_key(offset_commit_record_type, key), encode_value(offset_commit_value_version, value)};
}

coordinator::CoordinatorRecord offset_tombstone(const OffsetCommitKey& key) {
  return {encode_key(offset_commit_record_type, key), std::nullopt};
}

coordinator::CoordinatorRecord group_metadata_record(const GroupMetadataKey& key, const GroupMetadataValue& value) {
  return {encode_key(group_metadata_record_type, key), encode_value(group_metadata_value_version, value)};
}

coordinator::CoordinatorRecord group_tombstone(const GroupMetadataKey& key) {
  return {encode_key(group_metadata_record_type, key), std::nullopt};
}

Result<DecodedRecord> decode_record(const coordinator::CoordinatorRecord& record) {
  protocol::Reader r(record.key);
  const std::int16_t type = r.read_int16();
  if (!r.ok()) return make_error(Errc::corrupt, "__consumer_offsets record: key shorter than its type");
  if (type == 0 || type == offset_commit_record_type) {
    auto key = read_rest<OffsetCommitKey>(r, "OffsetCommitKey", 0);
    if (!key) return key.error();
    auto value = decode_value<OffsetCommitValue>(record.value, "OffsetCommitValue", 3);
    if (!value) return value.error();
    return DecodedRecord(OffsetRecord{std::move(*key), std::move(*value)});
  }
  if (type == group_metadata_record_type) {
    auto key = read_rest<GroupMetadataKey>(r, "GroupMetadataKey", 0);
    if (!key) return key.error();
    auto value = decode_value<GroupMetadataValue>(record.value, "GroupMetadataValue", 3);
    if (!value) return value.error();
    return DecodedRecord(GroupRecord{std::move(*key), std::move(*value)});
  }
  if (is_consumer_record_type(type)) {
    auto consumer = decode_consumer_record(type, std::span<const std::uint8_t>(record.key).subspan(2), record.value);
    if (!consumer) return consumer.error();
    return DecodedRecord(std::move(*consumer));
  }
  return DecodedRecord(std::monostate{});
}

// Java's String.hashCode: h = 31*h + c over the UTF-16 code units, in wrapping int32 arithmetic.
// UTF-8 is decoded to code points; those above U+FFFF count as their two surrogates.
std::int32_t java_string_hash(std::string_view utf8) {
  std::uint32_t h = 0;
  auto add = [&h](std::uint32_t unit) { h = h * 31u + unit; };
  for (std::size_t i = 0; i < utf8.size();) {
    const auto c = static_cast<unsigned char>(utf8[i]);
    std::uint32_t cp = c;
    std::size_t len = 1;
    if (c >= 0xF0 && i + 3 < utf8.size()) {
      cp = ((c & 0x07u) << 18) | ((utf8[i + 1] & 0x3Fu) << 12) | ((utf8[i + 2] & 0x3Fu) << 6) | (utf8[i + 3] & 0x3Fu);
      len = 4;
    } else if (c >= 0xE0 && i + 2 < utf8.size()) {
      cp = ((c & 0x0Fu) << 12) | ((utf8[i + 1] & 0x3Fu) << 6) | (utf8[i + 2] & 0x3Fu);
      len = 3;
    } else if (c >= 0xC0 && i + 1 < utf8.size()) {
      cp = ((c & 0x1Fu) << 6) | (utf8[i + 1] & 0x3Fu);
      len = 2;
    }
    if (cp > 0xFFFF) {
      cp -= 0x10000;
      add(0xD800u + (cp >> 10));
      add(0xDC00u + (cp & 0x3FFu));
    } else {
      add(cp);
    }
    i += len;
  }
  return static_cast<std::int32_t>(h);
}

std::int32_t partition_for(std::string_view group_id, std::int32_t partitions) {
  KEEL_ASSERT_GT(partitions, 0);
  const std::int32_t h = java_string_hash(group_id);
  // Kafka's Utils.abs: abs(INT_MIN) is 0, not INT_MIN.
  const std::int32_t abs = h == std::numeric_limits<std::int32_t>::min() ? 0 : (h < 0 ? -h : h);
  return abs % partitions;
}

Result<std::vector<std::string>> subscription_topics(std::span<const std::uint8_t> subscription) {
  protocol::Reader r(subscription);
  const std::int16_t version = r.read_int16();
  const std::int32_t count = r.read_int32();
  std::vector<std::string> topics;
  for (std::int32_t i = 0; r.ok() && version >= 0 && i < count && r.remaining() > 0; ++i) topics.push_back(r.read_string());
  if (!r.ok() || version < 0 || count < 0 || static_cast<std::int32_t>(topics.size()) != count) {
    return make_error(Errc::corrupt, "consumer protocol subscription: malformed topic list");
  }
  return topics;
}

}  // namespace keel::group
