#include "broker/metadata/rpc.h"

#include <fmt/format.h>

namespace keel::metadata {

using protocol::Reader;
using protocol::Writer;

namespace {

// Limits on what a decoded message may hold, so hostile input never drives an allocation.
constexpr std::int32_t records_per_entry_max = 100'000;
constexpr std::int32_t endpoints_max = 64;
constexpr std::int32_t isr_members_max = 1024;
constexpr std::int32_t configs_max = 1024;
constexpr std::int32_t partitions_max = 1'000'000;  // partitions named in one reassignment call

void write_ids(Writer& w, const std::vector<std::int32_t>& ids) {
  w.write_int32(static_cast<std::int32_t>(ids.size()));
  for (auto id : ids) w.write_int32(id);
}

std::vector<std::int32_t> read_ids(Reader& r, const char* what) {
  const std::int32_t n = r.read_array_length();
  std::vector<std::int32_t> out;
  if (n < 0 || n > isr_members_max) {
    r.fail(fmt::format("{}: {} members", what, n));
    return out;
  }
  for (std::int32_t i = 0; i < n && r.ok(); ++i) out.push_back(r.read_int32());
  return out;
}

// A count read before that many entries; refused when negative or above `max`.
std::int32_t read_count(Reader& r, std::int32_t max, const char* what) {
  const std::int32_t n = r.read_array_length();
  if (r.ok() && (n < 0 || n > max)) r.fail(fmt::format("{}: {} entries", what, n));
  return r.ok() ? n : 0;
}

template <class T>
Result<T> finish(Reader& r, T value, std::string_view name) {
  if (r.ok() && r.remaining() != 0) r.fail(fmt::format("{} trailing bytes", r.remaining()));
  if (!r.ok()) return make_error(Errc::corrupt, fmt::format("{}: {}", name, r.error().message));
  return value;
}

}  // namespace

std::string_view quorum_call_name(QuorumCall call) {
  switch (call) {
    case QuorumCall::raft: return "Raft";
    case QuorumCall::register_broker: return "RegisterBroker";
    case QuorumCall::heartbeat: return "BrokerHeartbeat";
    case QuorumCall::alter_partition: return "AlterPartition";
    case QuorumCall::create_topic: return "CreateTopic";
    case QuorumCall::delete_topic: return "DeleteTopic";
    case QuorumCall::alter_reassignments: return "AlterPartitionReassignments";
    case QuorumCall::list_reassignments: return "ListPartitionReassignments";
  }
  return "?";
}

bool valid_quorum_call(std::int8_t value) { return value >= 0 && value <= 7; }

protocol::Bytes encode_records(const std::vector<MetadataRecord>& records) {
  if (records.empty()) return {};
  Writer w;
  w.write_int32(static_cast<std::int32_t>(records.size()));
  for (const auto& record : records) w.write_bytes(encode(record));
  return w.take();
}

Result<std::vector<MetadataRecord>> decode_records(std::span<const std::uint8_t> payload) {
  std::vector<MetadataRecord> out;
  if (payload.empty()) return out;
  Reader r(payload);
  const std::int32_t n = r.read_array_length();
  if (n < 0 || n > records_per_entry_max) {
    return make_error(Errc::corrupt, fmt::format("metadata entry: {} records", n));
  }
  for (std::int32_t i = 0; i < n && r.ok(); ++i) {
    const protocol::Bytes bytes = r.read_bytes();
    if (!r.ok()) break;
    auto record = decode(bytes);
    if (!record) return make_error(Errc::corrupt, fmt::format("metadata entry record {}: {}", i, record.error().message));
    out.push_back(std::move(*record));
  }
  return finish(r, std::move(out), "metadata entry");
}

// ---- RegisterBroker ----

protocol::Bytes encode(const RegisterBrokerRequest& m) {
  Writer w;
  w.write_int32(m.broker_id);
  w.write_uuid(m.incarnation);
  write_endpoints(w, m.endpoints);
  w.write_nullable_string(m.rack);
  return w.take();
}

template <>
Result<RegisterBrokerRequest> decode(std::span<const std::uint8_t> bytes) {
  Reader r(bytes);
  RegisterBrokerRequest m;
  m.broker_id = r.read_int32();
  m.incarnation = r.read_uuid();
  m.endpoints = read_endpoints(r, endpoints_max);
  m.rack = r.read_nullable_string();
  return finish(r, std::move(m), "RegisterBrokerRequest");
}

protocol::Bytes encode(const RegisterBrokerReply& m) {
  Writer w;
  w.write_int16(static_cast<std::int16_t>(m.error));
  w.write_int64(m.broker_epoch);
  return w.take();
}

template <>
Result<RegisterBrokerReply> decode(std::span<const std::uint8_t> bytes) {
  Reader r(bytes);
  RegisterBrokerReply m;
  m.error = static_cast<ErrorCode>(r.read_int16());
  m.broker_epoch = r.read_int64();
  return finish(r, m, "RegisterBrokerReply");
}

// ---- BrokerHeartbeat ----

protocol::Bytes encode(const HeartbeatRequest& m) {
  Writer w;
  w.write_int32(m.broker_id);
  w.write_int64(m.broker_epoch);
  w.write_int64(m.current_metadata_offset);
  w.write_bool(m.want_fence);
  w.write_bool(m.want_shutdown);
  return w.take();
}

template <>
Result<HeartbeatRequest> decode(std::span<const std::uint8_t> bytes) {
  Reader r(bytes);
  HeartbeatRequest m;
  m.broker_id = r.read_int32();
  m.broker_epoch = r.read_int64();
  m.current_metadata_offset = r.read_int64();
  m.want_fence = r.read_bool();
  m.want_shutdown = r.read_bool();
  return finish(r, m, "HeartbeatRequest");
}

protocol::Bytes encode(const HeartbeatReply& m) {
  Writer w;
  w.write_int16(static_cast<std::int16_t>(m.error));
  w.write_bool(m.is_caught_up);
  w.write_bool(m.is_fenced);
  w.write_bool(m.should_shut_down);
  return w.take();
}

template <>
Result<HeartbeatReply> decode(std::span<const std::uint8_t> bytes) {
  Reader r(bytes);
  HeartbeatReply m;
  m.error = static_cast<ErrorCode>(r.read_int16());
  m.is_caught_up = r.read_bool();
  m.is_fenced = r.read_bool();
  m.should_shut_down = r.read_bool();
  return finish(r, m, "HeartbeatReply");
}

// ---- AlterPartition ----

protocol::Bytes encode(const AlterPartitionRequest& m) {
  Writer w;
  w.write_int32(m.broker_id);
  w.write_int64(m.broker_epoch);
  w.write_uuid(m.topic_id);
  w.write_int32(m.partition);
  w.write_int32(m.leader_epoch);
  w.write_int32(m.partition_epoch);
  w.write_int32(static_cast<std::int32_t>(m.new_isr.size()));
  for (const auto& member : m.new_isr) {
    w.write_int32(member.broker_id);
    w.write_int64(member.broker_epoch);
  }
  w.write_int8(static_cast<std::int8_t>(m.leader_recovery_state));
  return w.take();
}

template <>
Result<AlterPartitionRequest> decode(std::span<const std::uint8_t> bytes) {
  Reader r(bytes);
  AlterPartitionRequest m;
  m.broker_id = r.read_int32();
  m.broker_epoch = r.read_int64();
  m.topic_id = r.read_uuid();
  m.partition = r.read_int32();
  m.leader_epoch = r.read_int32();
  m.partition_epoch = r.read_int32();
  const std::int32_t n = r.read_array_length();
  if (n < 0 || n > isr_members_max) r.fail(fmt::format("new_isr: {} members", n));
  for (std::int32_t i = 0; i < n && r.ok(); ++i) {
    IsrMember member;
    member.broker_id = r.read_int32();
    member.broker_epoch = r.read_int64();
    m.new_isr.push_back(member);
  }
  const std::int8_t state = r.read_int8();
  if (r.ok() && state != 0 && state != 1) r.fail(fmt::format("leader_recovery_state: {}", state));
  m.leader_recovery_state = static_cast<LeaderRecoveryState>(state);
  return finish(r, std::move(m), "AlterPartitionRequest");
}

protocol::Bytes encode(const AlterPartitionReply& m) {
  Writer w;
  w.write_int16(static_cast<std::int16_t>(m.error));
  w.write_int32(m.leader);
  w.write_int32(m.leader_epoch);
  write_ids(w, m.isr);
  w.write_int32(m.partition_epoch);
  w.write_int8(static_cast<std::int8_t>(m.leader_recovery_state));
  return w.take();
}

template <>
Result<AlterPartitionReply> decode(std::span<const std::uint8_t> bytes) {
  Reader r(bytes);
  AlterPartitionReply m;
  m.error = static_cast<ErrorCode>(r.read_int16());
  m.leader = r.read_int32();
  m.leader_epoch = r.read_int32();
  m.isr = read_ids(r, "isr");
  m.partition_epoch = r.read_int32();
  const std::int8_t state = r.read_int8();
  if (r.ok() && state != 0 && state != 1) r.fail(fmt::format("leader_recovery_state: {}", state));
  m.leader_recovery_state = static_cast<LeaderRecoveryState>(state);
  return finish(r, std::move(m), "AlterPartitionReply");
}

// ---- CreateTopic ----

protocol::Bytes encode(const CreateTopicRequest& m) {
  Writer w;
  w.write_string(m.name);
  w.write_int32(m.partitions);
  w.write_int16(m.replication_factor);
  w.write_int32(static_cast<std::int32_t>(m.configs.size()));
  for (const auto& [k, v] : m.configs) {
    w.write_string(k);
    w.write_string(v);
  }
  return w.take();
}

template <>
Result<CreateTopicRequest> decode(std::span<const std::uint8_t> bytes) {
  Reader r(bytes);
  CreateTopicRequest m;
  m.name = r.read_string();
  m.partitions = r.read_int32();
  m.replication_factor = r.read_int16();
  const std::int32_t n = r.read_array_length();
  if (n < 0 || n > configs_max) r.fail(fmt::format("configs: {}", n));
  for (std::int32_t i = 0; i < n && r.ok(); ++i) {
    std::string k = r.read_string();
    m.configs[k] = r.read_string();
  }
  return finish(r, std::move(m), "CreateTopicRequest");
}

protocol::Bytes encode(const CreateTopicReply& m) {
  Writer w;
  w.write_int16(static_cast<std::int16_t>(m.error));
  w.write_string(m.message);
  w.write_uuid(m.topic_id);
  return w.take();
}

template <>
Result<CreateTopicReply> decode(std::span<const std::uint8_t> bytes) {
  Reader r(bytes);
  CreateTopicReply m;
  m.error = static_cast<ErrorCode>(r.read_int16());
  m.message = r.read_string();
  m.topic_id = r.read_uuid();
  return finish(r, std::move(m), "CreateTopicReply");
}

// ---- AlterPartitionReassignments / ListPartitionReassignments ----

protocol::Bytes encode(const AlterReassignmentsRequest& m) {
  Writer w;
  w.write_bool(m.allow_replication_factor_change);
  w.write_int32(static_cast<std::int32_t>(m.partitions.size()));
  for (const auto& t : m.partitions) {
    w.write_string(t.topic);
    w.write_int32(t.partition);
    w.write_bool(t.replicas.has_value());
    if (t.replicas) write_ids(w, *t.replicas);
  }
  return w.take();
}

template <>
Result<AlterReassignmentsRequest> decode(std::span<const std::uint8_t> bytes) {
  Reader r(bytes);
  AlterReassignmentsRequest m;
  m.allow_replication_factor_change = r.read_bool();
  const std::int32_t n = read_count(r, partitions_max, "partitions");
  for (std::int32_t i = 0; i < n && r.ok(); ++i) {
    ReassignmentTarget t;
    t.topic = r.read_string();
    t.partition = r.read_int32();
    if (r.read_bool()) t.replicas = read_ids(r, "replicas");
    m.partitions.push_back(std::move(t));
  }
  return finish(r, std::move(m), "AlterReassignmentsRequest");
}

protocol::Bytes encode(const AlterReassignmentsReply& m) {
  Writer w;
  w.write_int32(static_cast<std::int32_t>(m.results.size()));
  for (const auto& res : m.results) {
    w.write_string(res.topic);
    w.write_int32(res.partition);
    w.write_int16(static_cast<std::int16_t>(res.error));
    w.write_string(res.message);
  }
  return w.take();
}

template <>
Result<AlterReassignmentsReply> decode(std::span<const std::uint8_t> bytes) {
  Reader r(bytes);
  AlterReassignmentsReply m;
  const std::int32_t n = read_count(r, partitions_max, "results");
  for (std::int32_t i = 0; i < n && r.ok(); ++i) {
    ReassignmentResult res;
    res.topic = r.read_string();
    res.partition = r.read_int32();
    res.error = static_cast<ErrorCode>(r.read_int16());
    res.message = r.read_string();
    m.results.push_back(std::move(res));
  }
  return finish(r, std::move(m), "AlterReassignmentsReply");
}

protocol::Bytes encode(const ListReassignmentsRequest& m) {
  Writer w;
  w.write_int32(m.topics ? static_cast<std::int32_t>(m.topics->size()) : -1);
  if (m.topics) {
    for (const auto& t : *m.topics) {
      w.write_string(t.name);
      write_ids(w, t.partitions);
    }
  }
  return w.take();
}

template <>
Result<ListReassignmentsRequest> decode(std::span<const std::uint8_t> bytes) {
  Reader r(bytes);
  ListReassignmentsRequest m;
  const std::int32_t n = r.read_array_length();
  if (r.ok() && n >= 0) {
    m.topics.emplace();
    if (n > partitions_max) r.fail(fmt::format("topics: {} entries", n));
    for (std::int32_t i = 0; i < n && r.ok(); ++i) {
      ListReassignmentsRequest::Topic t;
      t.name = r.read_string();
      const std::int32_t k = read_count(r, partitions_max, "partitions");
      for (std::int32_t j = 0; j < k && r.ok(); ++j) t.partitions.push_back(r.read_int32());
      m.topics->push_back(std::move(t));
    }
  }
  return finish(r, std::move(m), "ListReassignmentsRequest");
}

protocol::Bytes encode(const ListReassignmentsReply& m) {
  Writer w;
  w.write_int32(static_cast<std::int32_t>(m.ongoing.size()));
  for (const auto& o : m.ongoing) {
    w.write_string(o.topic);
    w.write_int32(o.partition);
    write_ids(w, o.replicas);
    write_ids(w, o.adding);
    write_ids(w, o.removing);
  }
  return w.take();
}

template <>
Result<ListReassignmentsReply> decode(std::span<const std::uint8_t> bytes) {
  Reader r(bytes);
  ListReassignmentsReply m;
  const std::int32_t n = read_count(r, partitions_max, "reassignments");
  for (std::int32_t i = 0; i < n && r.ok(); ++i) {
    OngoingReassignment o;
    o.topic = r.read_string();
    o.partition = r.read_int32();
    o.replicas = read_ids(r, "replicas");
    o.adding = read_ids(r, "adding");
    o.removing = read_ids(r, "removing");
    m.ongoing.push_back(std::move(o));
  }
  return finish(r, std::move(m), "ListReassignmentsReply");
}

}  // namespace keel::metadata
