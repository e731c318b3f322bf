#pragma once
// The wire form of a Raft Envelope between controllers: Keel's own layout (not Kafka's KRaft
// RPCs), written by the schema codec's internal form (protocol/schema.h) from one field list per
// message (raft_codec.cpp; raft.h stays free of wire concerns).
//
//   int8  codec_version (1)
//   int32 from, int32 to, int64 correlation_id
//   int8  message type (MessageType below: the index of the alternative in raft::Message)
//   the message's fields in declaration order:
//     int16 / int32 / int64 big-endian, bool as one byte 0 or 1,
//     bytes as int32 length + content, a list as int32 count + elements,
//     an optional field as a presence byte (0 or 1) and then the value when present,
//     nested structs (Entry, EpochEnd, SnapshotId) as their fields in order.
//
// Decoding refuses trailing bytes, an unknown version or type, truncation, a bool or presence byte
// other than 0/1, and any count or length over the limits below, and names the field:
// "FetchResponse.entries[3].data: truncated: ...".
#include "broker/metadata/raft.h"

#include <cstdint>
#include <span>

namespace keel::metadata::raft {

inline constexpr std::int8_t codec_version = 1;

// The message type byte: the index of the alternative in raft::Message, named. raft_codec.cpp
// asserts at compile time that each name matches its alternative.
enum class MessageType : std::int8_t {
  vote_request = 0,
  vote_response = 1,
  begin_quorum_epoch_request = 2,
  begin_quorum_epoch_response = 3,
  end_quorum_epoch_request = 4,
  end_quorum_epoch_response = 5,
  fetch_request = 6,
  fetch_response = 7,
  fetch_snapshot_request = 8,
  fetch_snapshot_response = 9,
};
inline constexpr std::size_t message_types = 10;

// Limits on what one decoded message may hold, so a hostile or corrupt frame never drives a
// large allocation. Entries come from propose(), which the controller keeps small; snapshot chunks
// are RaftConfig::snapshot_chunk_bytes (4 KiB by default).
inline constexpr std::int32_t codec_entries_per_message_max = 4096;
inline constexpr std::int32_t codec_entry_bytes_max = 1 << 20;
inline constexpr std::int32_t codec_chunk_bytes_max = 1 << 20;
inline constexpr std::int32_t codec_node_ids_max = 1024;  // EndQuorumEpoch's preferred successors
// RaftConfig's defaults must fit: 64 entries per fetch, 4 KiB snapshot chunks.
static_assert(codec_entries_per_message_max >= 64 && codec_chunk_bytes_max >= 4096);

protocol::Bytes encode(const Envelope& envelope);
// Errc::corrupt naming the field on any malformed input.
Result<Envelope> decode_envelope(std::span<const std::uint8_t> data);

}  // namespace keel::metadata::raft
