// The durable side of the Raft core: the envelope codec (every message round-trips; every
// malformed input fails cleanly and names the field) and RaftStore, the quorum state, log and
// snapshots of one node on the simulated disk, through power losses that drop or tear unsynced
// writes.
#include "broker/metadata/raft_codec.h"
#include "broker/metadata/raft_store.h"
#include "tests/support/bytes.h"
#include "tests/support/sim_world.h"

#include <catch2/catch.hpp>
#include <fmt/format.h>

using namespace keel::metadata::raft;
using keel::Errc;

namespace {

using keel::test::bytes_of;

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
    out.push_back(Envelope{.from = NodeId{1 + static_cast<std::int32_t>(out.size())}, .to = 100, .correlation_id = correlation++,
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
  CHECK_THAT(refused(wire), Catch::StartsWith("FetchResponse.entries: null array where the field is not nullable"));

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

// ---------------------------------------------------------------------------------------------
// RaftStore on the simulated disk.

namespace {

using keel::OpenOptions;
using keel::Runtime;
using keel::Severity;

const std::string store_dir = "data/__cluster_metadata-0";

// Entries of recognisable content and varied sizes (tens to a few hundred bytes), so that a batch
// of frames spans several 512-byte sectors and a power loss can tear inside a frame.
Entry entry(std::int64_t offset, std::int32_t epoch) {
  std::string data = fmt::format("entry-{}-epoch-{}:", offset, epoch);
  while (data.size() < static_cast<std::size_t>(20 + (offset * 37) % 200)) data += static_cast<char>('a' + data.size() % 26);
  return Entry{.offset = offset, .epoch = epoch, .data = bytes_of(data)};
}
std::vector<Entry> entries(std::int64_t from, std::int64_t to, std::int32_t epoch) {
  std::vector<Entry> out;
  for (std::int64_t o = from; o < to; ++o) out.push_back(entry(o, epoch));
  return out;
}

// One simulated machine whose processes run a test body, recording the broker's trace events.
struct StoreRig : keel::test::MachineRig {
  explicit StoreRig(keel::sim::DiskOptions disk = keel::test::quiet_disk(), std::uint64_t seed = 1)
      : MachineRig(disk, seed, /*record_events=*/true) {}
};

// What a process saw of the store after opening it.
struct Loaded {
  std::string error;
  Persisted persisted;
  RaftStoreLoadInfo info;
  std::int64_t log_end_offset = -1;
};

Loaded open_store(StoreRig& rig) {
  Loaded out;
  rig.run([&](Runtime& rt) {
    auto store = RaftStore::open(rt, store_dir);
    if (!store) return void(out.error = store.error().message);
    out.persisted = (*store)->loaded();
    out.info = (*store)->load_info();
    out.log_end_offset = (*store)->log_end_offset();
  });
  return out;
}

// Runs `body` against an opened store; "" or the first error.
std::string with_store(StoreRig& rig, const std::function<keel::Status(RaftStore&)>& body) {
  std::string error;
  rig.run([&](Runtime& rt) {
    auto store = RaftStore::open(rt, store_dir);
    if (!store) return void(error = store.error().message);
    if (auto st = body(**store); !st) error = st.error().message;
  });
  return error;
}

#define KEEL_TRY(expr)          \
  do {                          \
    if (auto st_ = (expr); !st_) return st_; \
  } while (0)

// "" when `got` is entries[0, got.size()) of `appended`; otherwise the first difference.
std::string check_prefix(const std::vector<Entry>& got, const std::vector<Entry>& appended) {
  if (got.size() > appended.size()) return fmt::format("{} entries loaded, only {} appended", got.size(), appended.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    if (!(got[i] == appended[i])) return fmt::format("entry {} differs (offset {} epoch {})", i, got[i].offset, got[i].epoch);
  }
  return "";
}

}  // namespace

TEST_CASE("raft store: a new directory loads as epoch 0 with nobody voted and an empty log", "[controller][raftstore]") {
  StoreRig rig;
  const Loaded l = open_store(rig);
  REQUIRE(l.error == "");
  CHECK(l.persisted.state == QuorumStateData{});
  CHECK_FALSE(l.persisted.snapshot.has_value());
  CHECK(l.persisted.entries.empty());
  CHECK(l.log_end_offset == 0);
  rig.power_loss();  // the directory and the empty log were created durably
  CHECK(rig.disk().durable_contents(store_dir + "/log").has_value());
}

TEST_CASE("raft store: quorum state and synced entries survive a power loss", "[controller][raftstore]") {
  StoreRig rig;
  const QuorumStateData state{.epoch = 5, .voted_id = 2, .leader_id = 3};
  const auto appended = entries(0, 30, 5);
  REQUIRE(with_store(rig, [&](RaftStore& s) {
            KEEL_TRY(s.write_quorum_state(state));
            KEEL_TRY(s.append(std::vector<Entry>(appended.begin(), appended.begin() + 10)));
            KEEL_TRY(s.append(std::vector<Entry>(appended.begin() + 10, appended.end())));
            return s.sync();
          }) == "");
  rig.power_loss();
  const Loaded l = open_store(rig);
  REQUIRE(l.error == "");
  CHECK(l.persisted.state == state);
  CHECK(l.persisted.entries == appended);
  CHECK(l.info.log_bytes_dropped == 0);
  CHECK(rig.events("RaftLogCut").empty());
}

TEST_CASE("raft store: after a power loss on a tearing disk the log is a prefix of what was appended, with all that was synced",
          "[controller][raftstore]") {
  int seeds_cut = 0;
  int seeds_lost = 0;
  for (std::uint64_t seed = 1; seed <= 30; ++seed) {
    INFO("seed " << seed);
    StoreRig rig(keel::test::tearing_disk(), seed);
    std::vector<Entry> appended = entries(0, 20, 1);
    for (std::int64_t o = 20; o < 60; ++o) appended.push_back(entry(o, 2 + static_cast<std::int32_t>(o / 25)));
    REQUIRE(with_store(rig, [&](RaftStore& s) {
              KEEL_TRY(s.write_quorum_state({.epoch = 3, .voted_id = 0, .leader_id = 0}));
              KEEL_TRY(s.append(std::vector<Entry>(appended.begin(), appended.begin() + 20)));
              KEEL_TRY(s.sync());
              for (std::size_t at = 20; at < appended.size(); at += 8) {  // unsynced, several writes
                const auto end = appended.begin() + static_cast<std::ptrdiff_t>(std::min(at + 8, appended.size()));
                KEEL_TRY(s.append(std::vector<Entry>(appended.begin() + static_cast<std::ptrdiff_t>(at), end)));
              }
              return keel::Status{};
            }) == "");
    rig.power_loss();
    const Loaded l = open_store(rig);
    REQUIRE(l.error == "");
    CHECK(l.persisted.state == QuorumStateData{.epoch = 3, .voted_id = 0, .leader_id = 0});
    CHECK(l.persisted.entries.size() >= 20);
    CHECK(check_prefix(l.persisted.entries, appended) == "");
    if (l.info.log_bytes_dropped > 0) {
      ++seeds_cut;
      CHECK(rig.events("RaftLogCut").size() == 1);
    }
    if (l.persisted.entries.size() < appended.size()) ++seeds_lost;
    // The cut is durable and the log continues from it: append, sync, lose power, load again.
    const auto kept = l.persisted.entries.size();
    const auto more = entries(static_cast<std::int64_t>(kept), static_cast<std::int64_t>(kept) + 3, 9);
    REQUIRE(with_store(rig, [&](RaftStore& s) {
              KEEL_TRY(s.append(more));
              return s.sync();
            }) == "");
    rig.power_loss();
    const Loaded again = open_store(rig);
    REQUIRE(again.error == "");
    std::vector<Entry> want(appended.begin(), appended.begin() + static_cast<std::ptrdiff_t>(kept));
    want.insert(want.end(), more.begin(), more.end());
    CHECK(again.persisted.entries == want);
    CHECK(again.info.log_bytes_dropped == 0);
  }
  CHECK(seeds_cut > 0);   // some power losses tore a frame
  CHECK(seeds_lost > 0);  // and some lost unsynced entries
}

TEST_CASE("raft store: truncate_to then append replaces the tail, durably", "[controller][raftstore]") {
  StoreRig rig;
  auto want = entries(0, 12, 1);
  const auto replacement = entries(7, 10, 2);
  REQUIRE(with_store(rig, [&](RaftStore& s) {
            KEEL_TRY(s.append(want));
            KEEL_TRY(s.sync());
            KEEL_TRY(s.truncate_to(7));
            KEEL_TRY(s.truncate_to(9));  // beyond the end: nothing to do
            KEEL_TRY(s.append(replacement));
            return s.sync();
          }) == "");
  want.resize(7);
  want.insert(want.end(), replacement.begin(), replacement.end());
  rig.power_loss();
  const Loaded l = open_store(rig);
  REQUIRE(l.error == "");
  CHECK(l.persisted.entries == want);
  CHECK(l.info.log_bytes_dropped == 0);
  // A truncation is durable before anything is appended: cut, no append, power loss.
  REQUIRE(with_store(rig, [&](RaftStore& s) { return s.truncate_to(3); }) == "");
  rig.power_loss();
  const Loaded cut = open_store(rig);
  REQUIRE(cut.error == "");
  CHECK(cut.persisted.entries == std::vector<Entry>(want.begin(), want.begin() + 3));
}

TEST_CASE("raft store: a snapshot, compaction and reopen load the snapshot and only the entries after it",
          "[controller][raftstore]") {
  StoreRig rig;
  const auto all = entries(0, 40, 2);
  const Snapshot first{.id = {.end_offset = 10, .epoch = 2}, .data = bytes_of("state at 10")};
  const Snapshot second{.id = {.end_offset = 25, .epoch = 2}, .data = bytes_of("state at 25")};
  REQUIRE(with_store(rig, [&](RaftStore& s) {
            KEEL_TRY(s.append(std::vector<Entry>(all.begin(), all.begin() + 30)));
            KEEL_TRY(s.sync());
            KEEL_TRY(s.save_snapshot(first));
            KEEL_TRY(s.compact_to(first.id));
            return s.save_snapshot(second);  // saved, not yet compacted
          }) == "");
  rig.power_loss();
  Loaded l = open_store(rig);
  REQUIRE(l.error == "");
  REQUIRE(l.persisted.snapshot.has_value());
  CHECK(l.persisted.snapshot->id == second.id);
  CHECK(l.persisted.snapshot->data == second.data);
  CHECK(l.info.entries_below_snapshot == 15);
  CHECK(l.persisted.entries == std::vector<Entry>(all.begin() + 25, all.begin() + 30));
  CHECK(rig.disk().contents(store_dir + "/" + snapshot_file_name(first.id)).has_value());  // until compact_to(second)

  REQUIRE(with_store(rig, [&](RaftStore& s) {
            KEEL_TRY(s.compact_to(second.id));
            KEEL_TRY(s.append(std::vector<Entry>(all.begin() + 30, all.end())));
            return s.sync();
          }) == "");
  rig.power_loss();
  l = open_store(rig);
  REQUIRE(l.error == "");
  REQUIRE(l.persisted.snapshot.has_value());
  CHECK(l.persisted.snapshot->id == second.id);
  CHECK(l.info.entries_below_snapshot == 0);
  CHECK(l.persisted.entries == std::vector<Entry>(all.begin() + 25, all.end()));
  CHECK(l.log_end_offset == 40);
  CHECK_FALSE(rig.disk().contents(store_dir + "/" + snapshot_file_name(first.id)).has_value());
}

TEST_CASE("raft store: an installed snapshot replaces the log, even when the power goes before the log is dropped",
          "[controller][raftstore]") {
  const Snapshot leader{.id = {.end_offset = 50, .epoch = 7}, .data = bytes_of("leader state")};
  for (const bool whole_install : {true, false}) {
    INFO((whole_install ? "install_snapshot finished" : "only the snapshot file was written"));
    StoreRig rig;
    REQUIRE(with_store(rig, [&](RaftStore& s) {
              KEEL_TRY(s.append(entries(0, 20, 3)));  // a stale log of an old epoch
              KEEL_TRY(s.sync());
              return whole_install ? s.install_snapshot(leader) : s.save_snapshot(leader);
            }) == "");
    rig.power_loss();
    Loaded l = open_store(rig);
    REQUIRE(l.error == "");
    REQUIRE(l.persisted.snapshot.has_value());
    CHECK(l.persisted.snapshot->id == leader.id);
    CHECK(l.persisted.entries.empty());
    CHECK(l.log_end_offset == 50);
    CHECK(l.info.log_discarded == !whole_install);
    // Fetching continues after the snapshot.
    REQUIRE(with_store(rig, [&](RaftStore& s) {
              KEEL_TRY(s.append(entries(50, 55, 7)));
              return s.sync();
            }) == "");
    rig.power_loss();
    l = open_store(rig);
    REQUIRE(l.error == "");
    CHECK(l.persisted.entries == entries(50, 55, 7));
  }
}

TEST_CASE("raft store: a corrupt quorum-state file is an error naming the file", "[controller][raftstore]") {
  for (const std::string text : {"{\"epoch\":3,\"voted_id\":", "{\"epoch\":3,\"leader_id\":1,\"data_version\":0}",
                                 "{\"epoch\":\"3\",\"voted_id\":1,\"leader_id\":1,\"data_version\":0}",
                                 "{\"epoch\":3,\"voted_id\":1,\"leader_id\":1,\"data_version\":1}", ""}) {
    INFO("quorum-state: " << text);
    StoreRig rig;
    REQUIRE(with_store(rig, [&](RaftStore& s) { return s.write_quorum_state({.epoch = 3, .voted_id = 1}); }) == "");
    std::string error;
    rig.run([&](Runtime& rt) {
      auto f = rt.disk().open(store_dir + "/quorum-state", OpenOptions{.truncate = true});
      if (!f) return void(error = f.error().message);
      if (auto st = f->write_at(0, std::as_bytes(std::span(text.data(), text.size()))); !st) error = st.error().message;
    });
    REQUIRE(error == "");
    const Loaded l = open_store(rig);
    CHECK_THAT(l.error, Catch::StartsWith(store_dir + "/quorum-state: "));
  }
}

TEST_CASE("raft store: the quorum state written is the one loaded, as the JSON the file documents",
          "[controller][raftstore]") {
  StoreRig rig;
  REQUIRE(with_store(rig, [&](RaftStore& s) { return s.write_quorum_state({.epoch = 12, .voted_id = -1, .leader_id = 4}); }) ==
          "");
  CHECK(*rig.disk().contents(store_dir + "/quorum-state") ==
        "{\"epoch\":12,\"voted_id\":-1,\"leader_id\":4,\"data_version\":0}\n");
  rig.power_loss();
  CHECK(open_store(rig).persisted.state == QuorumStateData{.epoch = 12, .voted_id = -1, .leader_id = 4});
}

TEST_CASE("raft store: a bit flipped in the middle of the log cuts it at that frame, with a trace event",
          "[controller][raftstore]") {
  StoreRig rig;
  const auto appended = entries(0, 30, 1);
  REQUIRE(with_store(rig, [&](RaftStore& s) {
            KEEL_TRY(s.append(appended));
            return s.sync();
          }) == "");
  // Frame 17 starts after 17 frames of header + data; flip a bit inside its data.
  std::uint64_t at = 0;
  for (int i = 0; i < 17; ++i) at += log_frame_header_bytes + appended[static_cast<std::size_t>(i)].data.size();
  const std::string log = *rig.disk().contents(store_dir + "/log");
  std::string error;
  rig.run([&](Runtime& rt) {
    auto f = rt.disk().open(store_dir + "/log", OpenOptions{});
    if (!f) return void(error = f.error().message);
    const std::byte b = static_cast<std::byte>(log[at + log_frame_header_bytes + 3] ^ 0x04);
    if (auto st = f->write_at(at + log_frame_header_bytes + 3, std::span(&b, 1)); !st) return void(error = st.error().message);
    if (auto st = f->sync(); !st) error = st.error().message;
  });
  REQUIRE(error == "");
  const Loaded l = open_store(rig);
  REQUIRE(l.error == "");
  CHECK(l.persisted.entries == std::vector<Entry>(appended.begin(), appended.begin() + 17));
  CHECK(l.info.log_bytes_dropped == static_cast<std::int64_t>(log.size() - at));
  CHECK_THAT(l.info.log_problem, Catch::Contains(fmt::format("CRC mismatch in the frame at byte {}", at)));
  const auto cuts = rig.events("RaftLogCut");
  REQUIRE(cuts.size() == 1);
  CHECK_THAT(cuts[0], Catch::Contains(fmt::format("\"dropped_bytes\":{}", log.size() - at)));
  CHECK(rig.disk().contents(store_dir + "/log")->size() == at);
}

TEST_CASE("raft store: a leftover .tmp snapshot is ignored and removed, and a corrupt newest snapshot falls back",
          "[controller][raftstore]") {
  StoreRig rig;
  const Snapshot good{.id = {.end_offset = 5, .epoch = 1}, .data = bytes_of("good")};
  REQUIRE(with_store(rig, [&](RaftStore& s) {
            KEEL_TRY(s.append(entries(0, 12, 1)));
            KEEL_TRY(s.sync());
            return s.save_snapshot(good);
          }) == "");
  const std::string newer = snapshot_file_name({.end_offset = 10, .epoch = 1});
  std::string error;
  rig.run([&](Runtime& rt) {
    // A snapshot whose write never finished, and a complete-looking newer one with a bad CRC.
    for (const std::string& name : {newer + ".tmp", newer}) {
      auto f = rt.disk().open(store_dir + "/" + name, OpenOptions{.create = true});
      if (!f) return void(error = f.error().message);
      const std::string junk = "KRSN0000 not a snapshot at all, whatever its name says";
      if (auto st = f->write_at(0, std::as_bytes(std::span(junk.data(), junk.size()))); !st) return void(error = st.error().message);
      if (auto st = f->sync(); !st) return void(error = st.error().message);
    }
    if (auto st = rt.disk().sync_dir(store_dir); !st) error = st.error().message;
  });
  REQUIRE(error == "");
  const Loaded l = open_store(rig);
  REQUIRE(l.error == "");
  REQUIRE(l.persisted.snapshot.has_value());
  CHECK(l.persisted.snapshot->id == good.id);
  CHECK(l.persisted.entries == entries(5, 12, 1));
  CHECK(l.info.leftovers_removed == std::vector<std::string>{newer + ".tmp"});
  CHECK(l.info.snapshots_skipped == std::vector<std::string>{newer});
  CHECK_FALSE(rig.disk().contents(store_dir + "/" + newer + ".tmp").has_value());
  CHECK(rig.events("RaftSnapshotSkipped").size() == 1);
}

TEST_CASE("raft store: a compacted log whose snapshot is gone is an error, not a silent loss", "[controller][raftstore]") {
  StoreRig rig;
  const Snapshot snap{.id = {.end_offset = 8, .epoch = 1}, .data = bytes_of("s")};
  REQUIRE(with_store(rig, [&](RaftStore& s) {
            KEEL_TRY(s.append(entries(0, 12, 1)));
            KEEL_TRY(s.save_snapshot(snap));
            return s.compact_to(snap.id);
          }) == "");
  std::string error;
  rig.run([&](Runtime& rt) {
    if (auto st = rt.disk().remove(store_dir + "/" + snapshot_file_name(snap.id)); !st) error = st.error().message;
  });
  REQUIRE(error == "");
  const Loaded l = open_store(rig);
  CHECK_THAT(l.error, Catch::Contains("the log starts at offset 8 but no snapshot covers the offsets below"));
}
