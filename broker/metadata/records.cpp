#include "broker/metadata/records.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace keel::metadata {
namespace {

using protocol::Reader;
using protocol::Writer;

// --- field helpers -------------------------------------------------------------------------

void write_ids(Writer& w, const std::vector<std::int32_t>& ids) {
  w.write_array_length(static_cast<std::int32_t>(ids.size()));
  for (auto id : ids) w.write_int32(id);
}

void write_optional_ids(Writer& w, const std::optional<std::vector<std::int32_t>>& ids) {
  if (!ids) return w.write_array_length(-1);
  write_ids(w, *ids);
}

std::optional<std::vector<std::int32_t>> read_optional_ids(Reader& r) {
  const std::int32_t n = r.read_array_length();
  if (n < 0 || !r.ok()) return std::nullopt;
  std::vector<std::int32_t> ids;
  ids.reserve(static_cast<std::size_t>(n));
  for (std::int32_t i = 0; i < n && r.ok(); ++i) ids.push_back(r.read_int32());
  return ids;
}

std::vector<std::int32_t> read_ids(Reader& r) {
  auto ids = read_optional_ids(r);
  if (!ids && r.ok()) r.fail("a replica list is null");
  return ids ? std::move(*ids) : std::vector<std::int32_t>{};
}

}  // namespace

void write_endpoints(Writer& w, const std::vector<Endpoint>& endpoints) {
  w.write_array_length(static_cast<std::int32_t>(endpoints.size()));
  for (const auto& e : endpoints) {
    w.write_string(e.listener);
    w.write_string(e.host);
    w.write_uint16(e.port);
  }
}

std::vector<Endpoint> read_endpoints(Reader& r, std::int32_t max) {
  std::vector<Endpoint> out;
  const std::int32_t n = r.read_array_length();
  if (!r.ok()) return out;
  if (n < 0) {
    r.fail("the endpoint list is null");
    return out;
  }
  if (n > max) {
    r.fail(fmt::format("{} endpoints, at most {}", n, max));
    return out;
  }
  for (std::int32_t i = 0; i < n && r.ok(); ++i) {
    Endpoint e;
    e.listener = r.read_string();
    e.host = r.read_string();
    e.port = r.read_uint16();
    out.push_back(std::move(e));
  }
  return out;
}

namespace {

// --- per-record layouts --------------------------------------------------------------------

void write_fields(Writer& w, const RegisterBrokerRecord& v) {
  w.write_int32(v.broker_id);
  w.write_uuid(v.incarnation_id);
  w.write_int64(v.broker_epoch);
  write_endpoints(w, v.endpoints);
  w.write_nullable_string(v.rack);
  w.write_bool(v.fenced);
  w.write_bool(v.in_controlled_shutdown);
}
void read_fields(Reader& r, RegisterBrokerRecord& v) {
  v.broker_id = r.read_int32();
  v.incarnation_id = r.read_uuid();
  v.broker_epoch = r.read_int64();
  v.endpoints = read_endpoints(r);
  v.rack = r.read_nullable_string();
  v.fenced = r.read_bool();
  v.in_controlled_shutdown = r.read_bool();
}

void write_fields(Writer& w, const UnregisterBrokerRecord& v) {
  w.write_int32(v.broker_id);
  w.write_int64(v.broker_epoch);
}
void read_fields(Reader& r, UnregisterBrokerRecord& v) {
  v.broker_id = r.read_int32();
  v.broker_epoch = r.read_int64();
}

void write_fields(Writer& w, const TopicRecord& v) {
  w.write_string(v.name);
  w.write_uuid(v.topic_id);
}
void read_fields(Reader& r, TopicRecord& v) {
  v.name = r.read_string();
  v.topic_id = r.read_uuid();
}

void write_fields(Writer& w, const PartitionRecord& v) {
  w.write_int32(v.partition_id);
  w.write_uuid(v.topic_id);
  write_ids(w, v.replicas);
  write_ids(w, v.isr);
  w.write_int32(v.leader);
  w.write_int8(static_cast<std::int8_t>(v.leader_recovery_state));
  w.write_int32(v.leader_epoch);
  w.write_int32(v.partition_epoch);
  write_ids(w, v.removing_replicas);
  write_ids(w, v.adding_replicas);
}
void read_fields(Reader& r, PartitionRecord& v, std::int8_t version) {
  v.partition_id = r.read_int32();
  v.topic_id = r.read_uuid();
  v.replicas = read_ids(r);
  v.isr = read_ids(r);
  v.leader = r.read_int32();
  const std::int8_t state = r.read_int8();
  if (r.ok() && state != 0 && state != 1) r.fail(fmt::format("leader recovery state {} is not 0 or 1", state));
  v.leader_recovery_state = static_cast<LeaderRecoveryState>(state);
  v.leader_epoch = r.read_int32();
  v.partition_epoch = r.read_int32();
  if (version >= 1) {
    v.removing_replicas = read_ids(r);
    v.adding_replicas = read_ids(r);
  }
}

void write_fields(Writer& w, const ConfigRecord& v) {
  w.write_string(v.resource);
  w.write_string(v.name);
  w.write_nullable_string(v.value);
}
void read_fields(Reader& r, ConfigRecord& v) {
  v.resource = r.read_string();
  v.name = r.read_string();
  v.value = r.read_nullable_string();
}

void write_fields(Writer& w, const PartitionChangeRecord& v) {
  w.write_int32(v.partition_id);
  w.write_uuid(v.topic_id);
  write_optional_ids(w, v.isr);
  write_optional_ids(w, v.replicas);
  w.write_int32(v.leader);
  w.write_int8(v.leader_recovery_state);
  write_optional_ids(w, v.removing_replicas);
  write_optional_ids(w, v.adding_replicas);
}
void read_fields(Reader& r, PartitionChangeRecord& v, std::int8_t version) {
  v.partition_id = r.read_int32();
  v.topic_id = r.read_uuid();
  v.isr = read_optional_ids(r);
  v.replicas = read_optional_ids(r);
  v.leader = r.read_int32();
  v.leader_recovery_state = r.read_int8();
  if (r.ok() && (v.leader_recovery_state < -1 || v.leader_recovery_state > 1))
    r.fail(fmt::format("leader recovery state {} is not -1, 0 or 1", v.leader_recovery_state));
  if (r.ok() && v.leader < leader_unchanged) r.fail(fmt::format("leader {} is below -2", v.leader));
  if (version >= 1) {
    v.removing_replicas = read_optional_ids(r);
    v.adding_replicas = read_optional_ids(r);
  }
}

void write_fields(Writer& w, const RemoveTopicRecord& v) { w.write_uuid(v.topic_id); }
void read_fields(Reader& r, RemoveTopicRecord& v) { v.topic_id = r.read_uuid(); }

void write_fields(Writer& w, const BrokerRegistrationChangeRecord& v) {
  w.write_int32(v.broker_id);
  w.write_int64(v.broker_epoch);
  w.write_int8(static_cast<std::int8_t>(v.fenced));
  w.write_int8(v.in_controlled_shutdown);
}
void read_fields(Reader& r, BrokerRegistrationChangeRecord& v) {
  v.broker_id = r.read_int32();
  v.broker_epoch = r.read_int64();
  const std::int8_t fenced = r.read_int8();
  if (r.ok() && (fenced < -1 || fenced > 1)) r.fail(fmt::format("fenced {} is not -1, 0 or 1", fenced));
  v.fenced = static_cast<FenceChange>(fenced);
  v.in_controlled_shutdown = r.read_int8();
  if (r.ok() && (v.in_controlled_shutdown < 0 || v.in_controlled_shutdown > 1))
    r.fail(fmt::format("in_controlled_shutdown {} is not 0 or 1", v.in_controlled_shutdown));
}

void write_fields(Writer&, const NoOpRecord&) {}
void read_fields(Reader&, NoOpRecord&) {}

template <class T>
Result<MetadataRecord> decode_as(Reader& r, std::int8_t version) {
  T value;
  if constexpr (requires { read_fields(r, value, version); }) {
    read_fields(r, value, version);
  } else {
    read_fields(r, value);
  }
  if (!r.ok())
    return make_error(Errc::corrupt, fmt::format("decode {}: truncated or invalid field: {}", record_type_name(T::type), r.error().message));
  if (r.remaining() != 0)
    return make_error(Errc::corrupt, fmt::format("decode {}: {} trailing bytes", record_type_name(T::type), r.remaining()));
  return MetadataRecord(std::move(value));
}

std::string describe_fields(const RegisterBrokerRecord& v) {
  std::string endpoints;
  for (const auto& e : v.endpoints) endpoints += fmt::format("{}{}://{}:{}", endpoints.empty() ? "" : ",", e.listener, e.host, e.port);
  return fmt::format("broker={}, incarnation={}, epoch={}, endpoints=[{}], rack={}, fenced={}, in_controlled_shutdown={}",
                     v.broker_id, to_string(v.incarnation_id), v.broker_epoch, endpoints, v.rack.value_or("null"),
                     v.fenced, v.in_controlled_shutdown);
}
std::string describe_fields(const UnregisterBrokerRecord& v) {
  return fmt::format("broker={}, epoch={}", v.broker_id, v.broker_epoch);
}
std::string describe_fields(const TopicRecord& v) { return fmt::format("name={}, id={}", v.name, to_string(v.topic_id)); }
// ", removing=[..], adding=[..]" while a reassignment is in progress, else nothing.
std::string describe_reassignment(const std::vector<std::int32_t>& removing, const std::vector<std::int32_t>& adding) {
  if (removing.empty() && adding.empty()) return "";
  return fmt::format(", removing=[{}], adding=[{}]", fmt::join(removing, ","), fmt::join(adding, ","));
}
std::string describe_fields(const PartitionRecord& v) {
  return fmt::format("topic={}, partition={}, replicas=[{}], isr=[{}], leader={}, recovery={}, leader_epoch={}, partition_epoch={}",
                     to_string(v.topic_id), v.partition_id, fmt::join(v.replicas, ","), fmt::join(v.isr, ","), v.leader,
                     static_cast<int>(v.leader_recovery_state), v.leader_epoch, v.partition_epoch) +
         describe_reassignment(v.removing_replicas, v.adding_replicas);
}
std::string describe_fields(const ConfigRecord& v) {
  return fmt::format("resource={}, {}={}", v.resource, v.name, v.value.value_or("null"));
}
std::string describe_fields(const PartitionChangeRecord& v) {
  std::string s = fmt::format("topic={}, partition={}", to_string(v.topic_id), v.partition_id);
  if (v.leader != leader_unchanged) s += fmt::format(", leader={}", v.leader);
  if (v.isr) s += fmt::format(", isr=[{}]", fmt::join(*v.isr, ","));
  if (v.replicas) s += fmt::format(", replicas=[{}]", fmt::join(*v.replicas, ","));
  if (v.leader_recovery_state != recovery_state_unchanged) s += fmt::format(", recovery={}", v.leader_recovery_state);
  if (v.removing_replicas) s += fmt::format(", removing=[{}]", fmt::join(*v.removing_replicas, ","));
  if (v.adding_replicas) s += fmt::format(", adding=[{}]", fmt::join(*v.adding_replicas, ","));
  return s;
}
std::string describe_fields(const RemoveTopicRecord& v) { return fmt::format("id={}", to_string(v.topic_id)); }
std::string describe_fields(const BrokerRegistrationChangeRecord& v) {
  return fmt::format("broker={}, epoch={}, fenced={}, in_controlled_shutdown={}", v.broker_id, v.broker_epoch,
                     static_cast<int>(v.fenced), v.in_controlled_shutdown);
}
std::string describe_fields(const NoOpRecord&) { return ""; }

}  // namespace

std::string_view record_type_name(std::int8_t type) {
  switch (type) {
    case RegisterBrokerRecord::type: return "RegisterBrokerRecord";
    case UnregisterBrokerRecord::type: return "UnregisterBrokerRecord";
    case TopicRecord::type: return "TopicRecord";
    case PartitionRecord::type: return "PartitionRecord";
    case ConfigRecord::type: return "ConfigRecord";
    case PartitionChangeRecord::type: return "PartitionChangeRecord";
    case RemoveTopicRecord::type: return "RemoveTopicRecord";
    case BrokerRegistrationChangeRecord::type: return "BrokerRegistrationChangeRecord";
    case NoOpRecord::type: return "NoOpRecord";
    default: return "UnknownRecord";
  }
}

std::string_view record_type_name(const MetadataRecord& record) {
  return std::visit([](const auto& v) { return record_type_name(std::decay_t<decltype(v)>::type); }, record);
}

protocol::Bytes encode(const MetadataRecord& record) {
  Writer w;
  std::visit(
      [&](const auto& v) {
        w.write_int8(std::decay_t<decltype(v)>::type);
        w.write_int8(record_version);
        write_fields(w, v);
      },
      record);
  KEEL_ASSERT_LE(w.size(), record_bytes_max);
  return w.take();
}

Result<MetadataRecord> decode(std::span<const std::uint8_t> bytes) {
  if (bytes.size() < 2)
    return make_error(Errc::corrupt, fmt::format("decode metadata record: truncated, {} bytes hold no type and version", bytes.size()));
  if (bytes.size() > record_bytes_max)
    return make_error(Errc::corrupt, fmt::format("decode metadata record: {} bytes exceed the limit of {}", bytes.size(), record_bytes_max));
  Reader r(bytes);
  const std::int8_t type = r.read_int8();
  const std::int8_t version = r.read_int8();
  const std::string_view name = record_type_name(type);
  if (name == "UnknownRecord") return make_error(Errc::corrupt, fmt::format("decode metadata record: unknown type {}", type));
  if (version < record_version_min || version > record_version)
    return make_error(Errc::corrupt,
                      fmt::format("decode {}: bad version {} (knows {}..{})", name, version, record_version_min, record_version));
  switch (type) {
    case RegisterBrokerRecord::type: return decode_as<RegisterBrokerRecord>(r, version);
    case UnregisterBrokerRecord::type: return decode_as<UnregisterBrokerRecord>(r, version);
    case TopicRecord::type: return decode_as<TopicRecord>(r, version);
    case PartitionRecord::type: return decode_as<PartitionRecord>(r, version);
    case ConfigRecord::type: return decode_as<ConfigRecord>(r, version);
    case PartitionChangeRecord::type: return decode_as<PartitionChangeRecord>(r, version);
    case RemoveTopicRecord::type: return decode_as<RemoveTopicRecord>(r, version);
    case BrokerRegistrationChangeRecord::type: return decode_as<BrokerRegistrationChangeRecord>(r, version);
    case NoOpRecord::type: return decode_as<NoOpRecord>(r, version);
  }
  KEEL_UNREACHABLE();
}

std::string describe(const MetadataRecord& record) {
  return std::visit([](const auto& v) { return fmt::format("{}({})", record_type_name(std::decay_t<decltype(v)>::type), describe_fields(v)); },
                    record);
}

std::string to_string(const Uuid& id) {
  std::string s;
  for (std::size_t i = 0; i < id.bytes.size(); ++i) s += fmt::format("{:02x}", id.bytes[i]);
  return s;
}

}  // namespace keel::metadata
