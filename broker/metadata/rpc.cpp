#include "broker/metadata/rpc.h"

#include <fmt/format.h>

namespace keel::metadata {

namespace {

// A metadata log entry's payload: the records of one decision, each encoded on its own (type,
// version, fields: records.h), so that each says which version it was written at.
struct MetadataEntry {
  // Bounds what a hostile count can make a reader take. A decision writes a handful; a snapshot
  // (the same payload) writes one record per broker, topic, partition and config, so a cluster
  // past this many would write a snapshot it cannot read back (the limit predates the schema codec).
  static constexpr std::int32_t records_max = 100'000;
  std::vector<protocol::Bytes> records;

  template <class V>
  static void fields(V& v) {
    v.field("records", &MetadataEntry::records, versions(0).at_most(records_max));
  }
};

constexpr std::string_view entry_name = "metadata entry";

}  // namespace

std::string_view quorum_call_name(QuorumCall call) {
  std::string_view name = call == QuorumCall::raft ? "Raft" : "?";
  for_each_controller_call([&](const auto& row) {
    if (row.id == call) name = row.name;
  });
  return name;
}

bool valid_quorum_call(std::int8_t value) {
  const auto call = static_cast<QuorumCall>(value);
  bool known = call == QuorumCall::raft;
  for_each_controller_call([&](const auto& row) { known = known || row.id == call; });
  return known;
}

protocol::Bytes encode_records(const std::vector<MetadataRecord>& records) {
  if (records.empty()) return {};
  MetadataEntry entry;
  entry.records.reserve(records.size());
  for (const auto& record : records) entry.records.push_back(encode(record));
  return protocol::encode_internal(entry);
}

Result<std::vector<MetadataRecord>> decode_records(std::span<const std::uint8_t> payload) {
  std::vector<MetadataRecord> out;
  if (payload.empty()) return out;
  auto entry = protocol::decode_internal<MetadataEntry>(payload, entry_name);
  if (!entry) return entry.error();
  out.reserve(entry->records.size());
  for (std::size_t i = 0; i < entry->records.size(); ++i) {
    auto record = decode(entry->records[i]);
    if (!record) {
      return make_error(Errc::corrupt, fmt::format("{} record {}: {}", entry_name, i, record.error().message));
    }
    out.push_back(std::move(*record));
  }
  return out;
}

}  // namespace keel::metadata
