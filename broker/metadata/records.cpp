#include "broker/metadata/records.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <optional>
#include <type_traits>
#include <utility>

namespace keel::metadata {
namespace {

using protocol::Reader;
using protocol::Writer;

// Calls f(std::type_identity<T>{}) for the record type T whose type byte is `type`; false when
// no record type has it.
template <class F>
bool with_record_type(std::int8_t type, F&& f) {
  return [&]<std::size_t... I>(std::index_sequence<I...>) {
    auto one = [&]<class T>(std::type_identity<T> t) {
      if (T::type != type) return false;
      f(t);
      return true;
    };
    return (one(std::type_identity<std::variant_alternative_t<I, MetadataRecord>>{}) || ...);
  }(std::make_index_sequence<std::variant_size_v<MetadataRecord>>{});
}

// No two record types share a type byte.
constexpr bool type_bytes_unique() {
  return []<std::size_t... I>(std::index_sequence<I...>) {
    const std::int8_t types[] = {std::variant_alternative_t<I, MetadataRecord>::type...};
    for (std::size_t a = 0; a < sizeof...(I); ++a) {
      for (std::size_t b = a + 1; b < sizeof...(I); ++b) {
        if (types[a] == types[b]) return false;
      }
    }
    return true;
  }(std::make_index_sequence<std::variant_size_v<MetadataRecord>>{});
}
static_assert(type_bytes_unique());

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
std::string describe_reassignment(const std::vector<BrokerId>& removing, const std::vector<BrokerId>& adding) {
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
  std::string_view name = "UnknownRecord";
  with_record_type(type, [&]<class T>(std::type_identity<T>) { name = T::message_name; });
  return name;
}

std::string_view record_type_name(const MetadataRecord& record) {
  return std::visit([](const auto& v) { return std::decay_t<decltype(v)>::message_name; }, record);
}

protocol::Bytes encode(const MetadataRecord& record) {
  Writer w;
  std::visit(
      [&](const auto& v) {
        w.write_int8(std::decay_t<decltype(v)>::type);
        w.write_int8(record_version);
        protocol::encode_internal(w, v, record_version);
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
  const auto type = static_cast<std::int8_t>(bytes[0]);
  const auto version = static_cast<std::int8_t>(bytes[1]);
  std::optional<Result<MetadataRecord>> out;
  const bool known = with_record_type(type, [&]<class T>(std::type_identity<T>) {
    if (version < record_version_min || version > record_version) {
      out = make_error(Errc::corrupt, fmt::format("decode {}: bad version {} (knows {}..{})", T::message_name, version,
                                                  record_version_min, record_version));
      return;
    }
    Reader r(bytes);
    r.skip(2);  // type and version
    T value;
    Status st = protocol::decode_internal(r, value, T::message_name, version);
    if (st) st = protocol::expect_end(r, T::message_name);
    out = st ? Result<MetadataRecord>(MetadataRecord(std::move(value))) : Result<MetadataRecord>(st.error());
  });
  if (!known) return make_error(Errc::corrupt, fmt::format("decode metadata record: unknown type {}", type));
  return std::move(*out);
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
