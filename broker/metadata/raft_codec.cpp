// The Raft envelope codec: a field list per message type (described here, outside raft.h, whose
// core knows nothing of the wire), encoded and decoded by the schema codec's internal form.
#include "broker/metadata/raft_codec.h"

#include "broker/protocol/schema.h"

#include <fmt/format.h>

#include <type_traits>
#include <utility>

namespace keel::metadata::raft {
namespace {

template <class T, class V>
struct VariantIndex;
template <class T, class... Ts>
struct VariantIndex<T, std::variant<Ts...>> {
  static constexpr std::size_t value = [] {
    std::size_t i = 0;
    (void)((std::is_same_v<T, Ts> ? true : (++i, false)) || ...);
    return i;
  }();
};
template <class T>
constexpr bool type_is(MessageType t) {
  return VariantIndex<T, Message>::value == static_cast<std::size_t>(t);
}
static_assert(std::variant_size_v<Message> == message_types);
static_assert(type_is<VoteRequest>(MessageType::vote_request));
static_assert(type_is<VoteResponse>(MessageType::vote_response));
static_assert(type_is<BeginQuorumEpochRequest>(MessageType::begin_quorum_epoch_request));
static_assert(type_is<BeginQuorumEpochResponse>(MessageType::begin_quorum_epoch_response));
static_assert(type_is<EndQuorumEpochRequest>(MessageType::end_quorum_epoch_request));
static_assert(type_is<EndQuorumEpochResponse>(MessageType::end_quorum_epoch_response));
static_assert(type_is<FetchRequest>(MessageType::fetch_request));
static_assert(type_is<FetchResponse>(MessageType::fetch_response));
static_assert(type_is<FetchSnapshotRequest>(MessageType::fetch_snapshot_request));
static_assert(type_is<FetchSnapshotResponse>(MessageType::fetch_snapshot_response));

// What precedes every message: the codec's version, the addresses, and the message type.
struct Header {
  std::int8_t version = codec_version;
  NodeId from = no_node;
  NodeId to = no_node;
  std::int64_t correlation_id = 0;
  std::int8_t type = 0;

  template <class V>
  static void fields(V& v) {
    using protocol::versions;
    v.field("version", &Header::version, versions(0));
    v.field("from", &Header::from, versions(0));
    v.field("to", &Header::to, versions(0));
    v.field("correlation_id", &Header::correlation_id, versions(0));
    v.field("type", &Header::type, versions(0));
  }
};

}  // namespace
}  // namespace keel::metadata::raft

// ---- The field lists: the single description of the layout. ----

namespace keel::protocol {

namespace raft = metadata::raft;

template <>
struct FieldsOf<raft::Entry> {
  template <class V>
  static void fields(V& v) {
    using S = raft::Entry;
    v.field("offset", &S::offset, versions(0));
    v.field("epoch", &S::epoch, versions(0));
    v.field("data", &S::data, versions(0).at_most(raft::codec_entry_bytes_max));
  }
};
template <>
struct FieldsOf<raft::EpochEnd> {
  template <class V>
  static void fields(V& v) {
    v.field("epoch", &raft::EpochEnd::epoch, versions(0));
    v.field("end_offset", &raft::EpochEnd::end_offset, versions(0));
  }
};
template <>
struct FieldsOf<raft::SnapshotId> {
  template <class V>
  static void fields(V& v) {
    v.field("end_offset", &raft::SnapshotId::end_offset, versions(0));
    v.field("epoch", &raft::SnapshotId::epoch, versions(0));
  }
};
template <>
struct FieldsOf<raft::VoteRequest> {
  template <class V>
  static void fields(V& v) {
    using S = raft::VoteRequest;
    v.field("epoch", &S::epoch, versions(0));
    v.field("candidate_id", &S::candidate_id, versions(0));
    v.field("last_epoch", &S::last_epoch, versions(0));
    v.field("last_offset", &S::last_offset, versions(0));
    v.field("pre_vote", &S::pre_vote, versions(0));
  }
};
template <>
struct FieldsOf<raft::VoteResponse> {
  template <class V>
  static void fields(V& v) {
    using S = raft::VoteResponse;
    v.field("error", &S::error, versions(0));
    v.field("epoch", &S::epoch, versions(0));
    v.field("leader_id", &S::leader_id, versions(0));
    v.field("granted", &S::granted, versions(0));
    v.field("pre_vote", &S::pre_vote, versions(0));
  }
};
template <>
struct FieldsOf<raft::BeginQuorumEpochRequest> {
  template <class V>
  static void fields(V& v) {
    using S = raft::BeginQuorumEpochRequest;
    v.field("epoch", &S::epoch, versions(0));
    v.field("leader_id", &S::leader_id, versions(0));
  }
};
template <>
struct FieldsOf<raft::BeginQuorumEpochResponse> {
  template <class V>
  static void fields(V& v) {
    using S = raft::BeginQuorumEpochResponse;
    v.field("error", &S::error, versions(0));
    v.field("epoch", &S::epoch, versions(0));
    v.field("leader_id", &S::leader_id, versions(0));
  }
};
template <>
struct FieldsOf<raft::EndQuorumEpochRequest> {
  template <class V>
  static void fields(V& v) {
    using S = raft::EndQuorumEpochRequest;
    v.field("epoch", &S::epoch, versions(0));
    v.field("leader_id", &S::leader_id, versions(0));
    v.field("preferred_successors", &S::preferred_successors, versions(0).at_most(raft::codec_node_ids_max));
  }
};
template <>
struct FieldsOf<raft::EndQuorumEpochResponse> {
  template <class V>
  static void fields(V& v) {
    using S = raft::EndQuorumEpochResponse;
    v.field("error", &S::error, versions(0));
    v.field("epoch", &S::epoch, versions(0));
    v.field("leader_id", &S::leader_id, versions(0));
  }
};
template <>
struct FieldsOf<raft::FetchRequest> {
  template <class V>
  static void fields(V& v) {
    using S = raft::FetchRequest;
    v.field("epoch", &S::epoch, versions(0));
    v.field("replica_id", &S::replica_id, versions(0));
    v.field("fetch_offset", &S::fetch_offset, versions(0));
    v.field("last_fetched_epoch", &S::last_fetched_epoch, versions(0));
    v.field("max_entries", &S::max_entries, versions(0));
    v.field("max_wait_ms", &S::max_wait_ms, versions(0));
  }
};
template <>
struct FieldsOf<raft::FetchResponse> {
  template <class V>
  static void fields(V& v) {
    using S = raft::FetchResponse;
    v.field("error", &S::error, versions(0));
    v.field("epoch", &S::epoch, versions(0));
    v.field("leader_id", &S::leader_id, versions(0));
    v.field("high_watermark", &S::high_watermark, versions(0));
    v.field("log_start_offset", &S::log_start_offset, versions(0));
    v.field("diverging", &S::diverging, versions(0).with_presence_byte());
    v.field("snapshot_id", &S::snapshot_id, versions(0).with_presence_byte());
    v.field("entries", &S::entries, versions(0).at_most(raft::codec_entries_per_message_max));
  }
};
template <>
struct FieldsOf<raft::FetchSnapshotRequest> {
  template <class V>
  static void fields(V& v) {
    using S = raft::FetchSnapshotRequest;
    v.field("epoch", &S::epoch, versions(0));
    v.field("replica_id", &S::replica_id, versions(0));
    v.field("snapshot_id", &S::snapshot_id, versions(0));
    v.field("position", &S::position, versions(0));
  }
};
template <>
struct FieldsOf<raft::FetchSnapshotResponse> {
  template <class V>
  static void fields(V& v) {
    using S = raft::FetchSnapshotResponse;
    v.field("error", &S::error, versions(0));
    v.field("epoch", &S::epoch, versions(0));
    v.field("leader_id", &S::leader_id, versions(0));
    v.field("snapshot_id", &S::snapshot_id, versions(0));
    v.field("size", &S::size, versions(0));
    v.field("position", &S::position, versions(0));
    v.field("chunk", &S::chunk, versions(0).at_most(raft::codec_chunk_bytes_max));
  }
};

}  // namespace keel::protocol

namespace keel::metadata::raft {
namespace {

template <std::size_t... I>
Message make_message(std::size_t index, std::index_sequence<I...>) {
  static constexpr Message (*makers[])() = {+[]() { return Message(std::in_place_index<I>); }...};
  return makers[index]();
}

Error corrupt(std::string message) { return make_error(Errc::corrupt, std::move(message)); }

}  // namespace

protocol::Bytes encode(const Envelope& envelope) {
  protocol::Writer w;
  const Header header{codec_version, envelope.from, envelope.to, envelope.correlation_id,
                      static_cast<std::int8_t>(envelope.message.index())};
  protocol::encode_internal(w, header);
  std::visit([&](const auto& m) { protocol::encode_internal(w, m); }, envelope.message);
  return w.take();
}

Result<Envelope> decode_envelope(std::span<const std::uint8_t> data) {
  protocol::Reader r(data);
  Header header;
  if (auto st = protocol::decode_internal(r, header, "Envelope"); !st) return st.error();
  if (header.version != codec_version) {
    return corrupt(fmt::format("Envelope.version: {} is not {}", header.version, codec_version));
  }
  if (header.type < 0 || static_cast<std::size_t>(header.type) >= message_types) {
    return corrupt(fmt::format("Envelope.type: {} is unknown", header.type));
  }
  Envelope out{header.from, header.to, header.correlation_id,
               make_message(static_cast<std::size_t>(header.type), std::make_index_sequence<message_types>())};
  const std::string_view name = message_name(out.message);
  auto st = std::visit([&](auto& m) { return protocol::decode_internal(r, m, name); }, out.message);
  if (st) st = protocol::expect_end(r, name);
  if (!st) return st.error();
  return out;
}

}  // namespace keel::metadata::raft
