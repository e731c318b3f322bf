// The durable side of the Raft core: the envelope codec (every message round-trips; every
// malformed input fails cleanly and names the field) and RaftStore, the quorum state, log and
// snapshots of one node on the simulated disk, through power losses that drop or tear unsynced
// writes.
#include "broker/controller/raft_codec.h"
#include "tests/storage_test_support.h"

#include <catch2/catch.hpp>
#include <fmt/format.h>

using namespace keel::controller::raft;
using keel::Errc;

namespace {

Bytes bytes_of(std::string_view s) { return Bytes(s.begin(), s.end()); }

// One envelope per message type, every field away from its default.
std::vector<Envelope> sample_envelopes() {
  std::vector<Message> messages;
  messages.push_back(VoteRequest{.epoch = 7, .candidate_id = 2, .last_epoch = 6, .last_offset = 1234, .pre_vote = true});
  messages.push_back(VoteResponse{.error = error::fenced_leader_epoch, .epoch = 9, .leader_id = 3, .granted = true,
                                  .pre_vote = true});
  messages.push_back(BeginQuorumEpochRequest{.epoch = 11, .leader_id = 4});
  messages.push_back(BeginQuorumEpochResponse{.error = error::not_leader_or_follower, .epoch = 12, .leader_id = 5});
  messages.push_back(EndQuorumEpochRequest{.epoch = 13, .leader_id = 1, .preferred_successors = {3, 2, 7}});
  messages.push_back(EndQuorumEpochResponse{.error = error::unknown_leader_epoch, .epoch = 14, .leader_id = 2});
  messages.push_back(FetchRequest{.epoch = 15, .replica_id = 3, .fetch_offset = 1 << 20, .last_fetched_epoch = 14,
                                  .max_entries = 64, .max_wait_ms = 500});
  messages.push_back(FetchResponse{.error = error::none,
                                   .epoch = 16,
                                   .leader_id = 1,
                                   .high_watermark = 40,
                                   .log_start_offset = 30,
                                   .diverging = EpochEnd{.epoch = 15, .end_offset = 38},
                                   .snapshot_id = SnapshotId{.end_offset = 30, .epoch = 12},
                                   .entries = {Entry{.offset = 41, .epoch = 16, .data = {}},
                                               Entry{.offset = 42, .epoch = 16, .data = bytes_of("put a=1")},
                                               Entry{.offset = 43, .epoch = 16, .data = bytes_of("put b=22")}}});
  messages.push_back(FetchSnapshotRequest{.epoch = 17, .replica_id = 4, .snapshot_id = {.end_offset = 900, .epoch = 16},
                                          .position = 4096});
  messages.push_back(FetchSnapshotResponse{.error = error::snapshot_not_found,
                                           .epoch = 18,
                                           .leader_id = 2,
                                           .snapshot_id = {.end_offset = 900, .epoch = 16},
                                           .size = 10000,
                                           .position = 8192,
                                           .chunk = bytes_of("chunk of snapshot bytes")});
  std::vector<Envelope> out;
  std::int64_t correlation = 1'000'000'007;
  for (auto& m : messages) {
    out.push_back(Envelope{.from = 1 + static_cast<NodeId>(out.size()), .to = 100, .correlation_id = correlation++,
                           .message = std::move(m)});
  }
  return out;
}

bool same_message(const Message& a, const Message& b) {
  if (a.index() != b.index()) return false;
  // The message structs have no operator==; comparing encodings would trust the codec under test.
  return std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        const T& y = std::get<T>(b);
        if constexpr (std::is_same_v<T, FetchResponse>) {
          return x.error == y.error && x.epoch == y.epoch && x.leader_id == y.leader_id &&
                 x.high_watermark == y.high_watermark && x.log_start_offset == y.log_start_offset &&
                 x.diverging == y.diverging && x.snapshot_id == y.snapshot_id && x.entries == y.entries;
        } else if constexpr (std::is_same_v<T, VoteRequest>) {
          return x.epoch == y.epoch && x.candidate_id == y.candidate_id && x.last_epoch == y.last_epoch &&
                 x.last_offset == y.last_offset && x.pre_vote == y.pre_vote;
        } else if constexpr (std::is_same_v<T, VoteResponse>) {
          return x.error == y.error && x.epoch == y.epoch && x.leader_id == y.leader_id && x.granted == y.granted &&
                 x.pre_vote == y.pre_vote;
        } else if constexpr (std::is_same_v<T, BeginQuorumEpochRequest>) {
          return x.epoch == y.epoch && x.leader_id == y.leader_id;
        } else if constexpr (std::is_same_v<T, EndQuorumEpochRequest>) {
          return x.epoch == y.epoch && x.leader_id == y.leader_id && x.preferred_successors == y.preferred_successors;
        } else if constexpr (std::is_same_v<T, FetchRequest>) {
          return x.epoch == y.epoch && x.replica_id == y.replica_id && x.fetch_offset == y.fetch_offset &&
                 x.last_fetched_epoch == y.last_fetched_epoch && x.max_entries == y.max_entries &&
                 x.max_wait_ms == y.max_wait_ms;
        } else if constexpr (std::is_same_v<T, FetchSnapshotRequest>) {
          return x.epoch == y.epoch && x.replica_id == y.replica_id && x.snapshot_id == y.snapshot_id &&
                 x.position == y.position;
        } else if constexpr (std::is_same_v<T, FetchSnapshotResponse>) {
          return x.error == y.error && x.epoch == y.epoch && x.leader_id == y.leader_id &&
                 x.snapshot_id == y.snapshot_id && x.size == y.size && x.position == y.position && x.chunk == y.chunk;
        } else {  // BeginQuorumEpochResponse, EndQuorumEpochResponse
          return x.error == y.error && x.epoch == y.epoch && x.leader_id == y.leader_id;
        }
      },
      a);
}

// Byte offsets in an encoded envelope: version, from, to, correlation id, type.
constexpr std::size_t header_bytes = 1 + 4 + 4 + 8 + 1;

}  // namespace

TEST_CASE("raft codec: every message type round-trips with all its fields", "[controller][raftstore]") {
  const auto samples = sample_envelopes();
  REQUIRE(samples.size() == message_types);
  for (const auto& in : samples) {
    INFO(message_name(in.message));
    const Bytes wire = encode(in);
    CHECK(wire[header_bytes - 1] == in.message.index());
    auto out = decode_envelope(wire);
    REQUIRE(out.ok());
    CHECK(out->from == in.from);
    CHECK(out->to == in.to);
    CHECK(out->correlation_id == in.correlation_id);
    CHECK(same_message(out->message, in.message));
    CHECK(encode(*out) == wire);
  }
}

TEST_CASE("raft codec: the comparison used by the round-trip test tells messages apart", "[controller][raftstore]") {
  auto samples = sample_envelopes();
  auto changed = samples[7];
  std::get<FetchResponse>(changed.message).entries[1].data.push_back('x');
  CHECK_FALSE(same_message(changed.message, samples[7].message));
  CHECK_FALSE(same_message(samples[0].message, samples[1].message));
}

TEST_CASE("raft codec: every truncated prefix of every message fails cleanly", "[controller][raftstore]") {
  for (const auto& in : sample_envelopes()) {
    const Bytes wire = encode(in);
    for (std::size_t n = 0; n < wire.size(); ++n) {
      INFO(message_name(in.message) << " cut to " << n << " of " << wire.size() << " bytes");
      auto out = decode_envelope(std::span(wire.data(), n));
      REQUIRE_FALSE(out.ok());
      CHECK(out.code() == Errc::corrupt);
      CHECK_THAT(out.error().message, Catch::Contains("truncated"));
    }
  }
}

TEST_CASE("raft codec: a truncated entry names the message, the entry and the field", "[controller][raftstore]") {
  Envelope in = sample_envelopes()[7];
  auto& entries = std::get<FetchResponse>(in.message).entries;
  for (int i = 0; i < 3; ++i) entries.push_back(Entry{.offset = 44 + i, .epoch = 16, .data = bytes_of("abcdefgh")});
  const Bytes wire = encode(in);
  auto out = decode_envelope(std::span(wire.data(), wire.size() - 3));  // inside entries[5].data
  REQUIRE_FALSE(out.ok());
  CHECK_THAT(out.error().message, Catch::StartsWith("FetchResponse.entries[5].data: truncated"));
  out = decode_envelope(std::span(wire.data(), wire.size() - 8 - 4 - 2));  // inside entries[5].epoch
  REQUIRE_FALSE(out.ok());
  CHECK_THAT(out.error().message, Catch::StartsWith("FetchResponse.entries[5].epoch: truncated"));
}

TEST_CASE("raft codec: trailing bytes, unknown versions and types, bad flags and lengths over the limits are refused",
          "[controller][raftstore]") {
  const auto samples = sample_envelopes();
  auto refused = [](const Bytes& wire) {
    auto out = decode_envelope(wire);
    return out.ok() ? std::string("accepted") : out.error().message;
  };
  Bytes wire = encode(samples[2]);
  wire.push_back(0);
  CHECK_THAT(refused(wire), Catch::StartsWith("BeginQuorumEpochRequest: 1 trailing bytes"));

  wire = encode(samples[2]);
  wire[0] = 2;
  CHECK_THAT(refused(wire), Catch::StartsWith("Envelope.version: 2 is not 1"));

  wire = encode(samples[2]);
  wire[header_bytes - 1] = static_cast<std::uint8_t>(message_types);
  CHECK_THAT(refused(wire), Catch::StartsWith("Envelope.type: 10 is unknown"));
  wire[header_bytes - 1] = 0xff;
  CHECK_THAT(refused(wire), Catch::StartsWith("Envelope.type: -1 is unknown"));

  wire = encode(samples[0]);  // VoteRequest ends with the pre_vote bool
  wire.back() = 2;
  CHECK_THAT(refused(wire), Catch::StartsWith("VoteRequest.pre_vote: 2 is neither 0 nor 1"));

  // FetchResponse: error(2) epoch(4) leader(4) hw(8) log start(8), then the diverging presence byte.
  wire = encode(samples[7]);
  wire[header_bytes + 26] = 3;
  CHECK_THAT(refused(wire), Catch::StartsWith("FetchResponse.diverging: 3 is neither 0 nor 1"));

  // The entry count follows diverging (1 + 12) and snapshot_id (1 + 12).
  keel::protocol::Writer count;
  count.write_int32(codec_entries_per_message_max + 1);
  wire = encode(samples[7]);
  std::copy(count.data().begin(), count.data().end(), wire.begin() + header_bytes + 27 + 13 + 12);
  CHECK_THAT(refused(wire), Catch::StartsWith("FetchResponse.entries: length 4097 over the limit of 4096"));
  keel::protocol::Writer negative;
  negative.write_int32(-1);
  std::copy(negative.data().begin(), negative.data().end(), wire.begin() + header_bytes + 27 + 13 + 12);
  CHECK_THAT(refused(wire), Catch::StartsWith("FetchResponse.entries: negative length -1"));

  // A chunk length over the limit, before any allocation.
  keel::protocol::Writer chunk;
  const Bytes chunk_data = std::get<FetchSnapshotResponse>(samples[9].message).chunk;
  wire = encode(samples[9]);
  const std::size_t chunk_length_at = wire.size() - chunk_data.size() - 4;
  chunk.write_int32(codec_chunk_bytes_max + 1);
  std::copy(chunk.data().begin(), chunk.data().end(), wire.begin() + static_cast<std::ptrdiff_t>(chunk_length_at));
  CHECK_THAT(refused(wire), Catch::StartsWith(fmt::format("FetchSnapshotResponse.chunk: length {} over the limit of {}",
                                                           codec_chunk_bytes_max + 1, codec_chunk_bytes_max)));
}
