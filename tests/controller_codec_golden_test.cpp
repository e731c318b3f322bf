// The bytes Keel's own messages are written as: metadata records (on disk, in the metadata log and
// its snapshots), a metadata entry's payload, the controller calls and the Raft envelope. Each
// sample's encoding is compared with bytes recorded from the hand-written codecs these replaced, so
// a change of layout (which would make an old log unreadable, or old and new nodes unable to talk)
// fails here; and the recorded bytes decode back to what re-encodes as the same bytes.
#include "broker/metadata/raft_codec.h"
#include "broker/metadata/rpc.h"

#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <string>
#include <utility>
#include <vector>

using namespace keel;
using namespace keel::metadata;

namespace {

std::string hex(std::span<const std::uint8_t> bytes) {
  std::string out;
  for (auto b : bytes) out += fmt::format("{:02x}", b);
  return out;
}

protocol::Bytes unhex(std::string_view text) {
  REQUIRE(text.size() % 2 == 0);
  protocol::Bytes out;
  for (std::size_t i = 0; i < text.size(); i += 2)
    out.push_back(static_cast<std::uint8_t>(std::stoi(std::string(text.substr(i, 2)), nullptr, 16)));
  return out;
}

Uuid uuid_of(std::uint8_t tag) {
  Uuid id;
  id.bytes[0] = tag;
  id.bytes[15] = 0x5a;
  return id;
}

// One of each record type, every field away from its default where it has one.
std::vector<std::pair<MetadataRecord, std::string_view>> golden_records() {
  return {
      {RegisterBrokerRecord{
           3, uuid_of(3), 17, {{"PLAINTEXT", "b3", 9092}, {"CONTROLLER", "b3", 9093}}, "rack-a", true, false},
       "0001000000030300000000000000000000000000005a0000000000000011000000020009504c41494e54455854000262"
       "332384000a434f4e54524f4c4c455200026233238500067261636b2d610100"},
      {RegisterBrokerRecord{4, uuid_of(4), 0, {}, std::nullopt, false, true},
       "0001000000040400000000000000000000000000005a000000000000000000000000ffff0001"},
      {UnregisterBrokerRecord{3, 17}, "0101000000030000000000000011"},
      {TopicRecord{"orders", uuid_of(9)}, "020100066f72646572730900000000000000000000000000005a"},
      {PartitionRecord{2, uuid_of(9), {1, 2, 3}, {1, 3}, 3, LeaderRecoveryState::recovering, 5, 11, {1}, {3}},
       "0301000000020900000000000000000000000000005a0000000300000001000000020000000300000002000000010000"
       "00030000000301000000050000000b00000001000000010000000100000003"},
      {ConfigRecord{"orders", "retention.ms", "1000"}, "040100066f7264657273000c726574656e74696f6e2e6d73000431303030"},
      {ConfigRecord{"orders", "cleanup.policy", std::nullopt},
       "040100066f7264657273000e636c65616e75702e706f6c696379ffff"},
      {PartitionChangeRecord{2, uuid_of(9), std::vector<BrokerId>{1}, std::nullopt, leader_unchanged,
                             recovery_state_unchanged, std::nullopt, std::nullopt},
       "0501000000020900000000000000000000000000005a0000000100000001fffffffffffffffeffffffffffffffffff"},
      {PartitionChangeRecord{3, uuid_of(9), std::nullopt, std::vector<BrokerId>{4, 5}, no_leader, 1,
                             std::vector<BrokerId>{}, std::vector<BrokerId>{5}},
       "0501000000030900000000000000000000000000005affffffff000000020000000400000005ffffffff010000000000"
       "00000100000005"},
      {RemoveTopicRecord{uuid_of(9)}, "09010900000000000000000000000000005a"},
      {BrokerRegistrationChangeRecord{4, 12, FenceChange::unfence, 1}, "110100000004000000000000000cff01"},
      {NoOpRecord{}, "1401"},
  };
}

}  // namespace

TEST_CASE("keel codec golden bytes: every metadata record keeps its on-disk layout", "[controller][codec]") {
  for (const auto& [record, golden] : golden_records()) {
    INFO(describe(record));
    CHECK(hex(encode(record)) == golden);
    auto decoded = decode(unhex(golden));
    REQUIRE(decoded.ok());
    CHECK(*decoded == record);
  }
}

TEST_CASE("keel codec golden bytes: version 0 partition records (before reassignment) still decode",
          "[controller][codec]") {
  const PartitionRecord partition{2, uuid_of(9), {1, 2}, {1}, 1, LeaderRecoveryState::recovered, 5, 11, {}, {}};
  auto decoded =
      decode(unhex("0300000000020900000000000000000000000000005a0000000200000001000000020000000100000001000000010000"
                   "0000050000000b"));
  REQUIRE(decoded.ok());
  CHECK(std::get<PartitionRecord>(*decoded) == partition);
  const PartitionChangeRecord change{2, uuid_of(9), std::nullopt, std::vector<BrokerId>{1, 2},
                                     2, -1,         std::nullopt, std::nullopt};
  decoded = decode(unhex("0500000000020900000000000000000000000000005affffffff00000002000000010000000200000002ff"));
  REQUIRE(decoded.ok());
  CHECK(std::get<PartitionChangeRecord>(*decoded) == change);
}

TEST_CASE("keel codec golden bytes: a metadata entry's payload keeps its layout", "[controller][codec]") {
  const std::vector<MetadataRecord> records{TopicRecord{"t", uuid_of(1)}, NoOpRecord{}};
  const std::string golden = "000000020000001502010001740100000000000000000000000000005a000000021401";
  CHECK(hex(encode_records(records)) == golden);
  auto decoded = decode_records(unhex(golden));
  REQUIRE(decoded.ok());
  CHECK(*decoded == records);
}

namespace {

template <class T>
void check_golden(const T& message, std::string_view golden) {
  INFO(golden);
  CHECK(hex(encode(message)) == golden);
  auto decoded = decode<T>(unhex(golden));
  REQUIRE(decoded.ok());
  CHECK(hex(encode(*decoded)) == golden);
}

}  // namespace

TEST_CASE("keel codec golden bytes: every controller call and reply keeps its layout", "[controller][codec]") {
  check_golden(RegisterBrokerRequest{3, uuid_of(7), {{"PLAINTEXT", "n3", 9092}}, std::string("rack-a")},
               "000000030700000000000000000000000000005a000000010009504c41494e5445585400026e33238400067261636b2d61");
  check_golden(RegisterBrokerRequest{1, uuid_of(1), {}, std::nullopt},
               "000000010100000000000000000000000000005a00000000ffff");
  check_golden(RegisterBrokerReply{ErrorCode::duplicate_broker_registration, 42}, "0065000000000000002a");
  check_golden(HeartbeatRequest{1, 17, 99, true, false}, "00000001000000000000001100000000000000630100");
  check_golden(HeartbeatReply{ErrorCode::stale_broker_epoch, true, false, true}, "004d010001");
  check_golden(AlterPartitionRequest{2, 5, uuid_of(4), 4, 3, 9, {{2, 5}, {0, -1}}, LeaderRecoveryState::recovering},
               "0000000200000000000000050400000000000000000000000000005a0000000400000003000000090000000200000002"
               "000000000000000500000000ffffffffffffffff01");
  check_golden(AlterPartitionReply{ErrorCode::none, 2, 3, {2, 0}, 10, LeaderRecoveryState::recovered},
               "000000000002000000030000000200000002000000000000000a00");
  // Assignments (a count, then per partition its replica count and ids) were appended when the
  // controller began to take a client's placement; nodes of the release before cannot read it.
  check_golden(CreateTopicRequest{"orders", 6, 3, {{"min.insync.replicas", "2"}, {"cleanup.policy", "compact"}}, {}},
               "00066f726465727300000006000300000002000e636c65616e75702e706f6c6963790007636f6d7061637400136d696e"
               "2e696e73796e632e7265706c6963617300013200000000");
  check_golden(CreateTopicRequest{"t", -1, -1, {}, {{{BrokerId{3}, BrokerId{1}}}}},
               "000174ffffffffffff00000000000000010000000200000003" "00000001");
  check_golden(CreateTopicReply{ErrorCode::topic_already_exists, "exists", uuid_of(2)},
               "002400066578697374730200000000000000000000000000005a");
  check_golden(
      AlterReassignmentsRequest{{{"orders", 1, std::vector<BrokerId>{3, 1, 2}}, {"orders", 2, std::nullopt}},
                                false},
      "000000000200066f726465727300000001010000000300000003000000010000000200066f72646572730000000200");
  check_golden(AlterReassignmentsReply{{{"orders", 1, ErrorCode::none, ""},
                                        {"orders", 2, ErrorCode::no_reassignment_in_progress, "none"}}},
               "0000000200066f7264657273000000010000000000066f726465727300000002005500046e6f6e65");
  check_golden(ListReassignmentsRequest{}, "ffffffff");
  ListReassignmentsRequest some;
  some.topics = std::vector<ListReassignmentsRequest::Topic>{{"orders", {0, 2}}, {"empty", {}}};
  check_golden(some, "0000000200066f72646572730000000200000000000000020005656d70747900000000");
  check_golden(ListReassignmentsReply{{{"orders", 1, {3, 1, 2, 4}, {3}, {4}}}},
               "0000000100066f7264657273000000010000000400000003000000010000000200000004000000010000000300000001"
               "00000004");
}

TEST_CASE("keel codec golden bytes: DeleteTopic's request is the topic name and its reply an error code",
          "[controller][codec]") {
  protocol::Writer request;
  request.write_string("orders");
  CHECK(hex(request.data()) == "00066f7264657273");
  protocol::Writer reply;
  reply.write_int16(static_cast<std::int16_t>(ErrorCode::unknown_topic_or_partition));
  CHECK(hex(reply.data()) == "0003");
}

namespace {

// One envelope per Raft message type, every field away from its default.
std::vector<std::pair<raft::Envelope, std::string_view>> golden_envelopes() {
  using namespace keel::metadata::raft;
  auto bytes_of = [](std::string_view s) { return Bytes(s.begin(), s.end()); };
  return {
      {{1, 100, 7, VoteRequest{7, 2, 6, 1234, true}},
       "01000000010000006400000000000000070000000007000000020000000600000000000004d201"},
      {{2, 100, 8, VoteResponse{error::fenced_leader_epoch, 9, 3, true, false}},
       "010000000200000064000000000000000801004a00000009000000030100"},
      {{3, 100, 9, BeginQuorumEpochRequest{11, 4}}, "0100000003000000640000000000000009020000000b00000004"},
      {{4, 100, 10, BeginQuorumEpochResponse{error::not_leader_or_follower, 12, 5}},
       "010000000400000064000000000000000a0300060000000c00000005"},
      {{5, 100, 11, EndQuorumEpochRequest{13, 1, {3, 2, 7}}},
       "010000000500000064000000000000000b040000000d0000000100000003000000030000000200000007"},
      {{6, 100, 12, EndQuorumEpochResponse{error::unknown_leader_epoch, 14, 2}},
       "010000000600000064000000000000000c05004b0000000e00000002"},
      {{7, 100, 13, FetchRequest{15, 3, 1 << 20, 14, 64, 500}},
       "010000000700000064000000000000000d060000000f0000000300000000001000000000000e00000040000000000000"
       "01f4"},
      {{8, 100, 14,
        FetchResponse{error::none,
                      16,
                      1,
                      40,
                      30,
                      EpochEnd{15, 38},
                      std::nullopt,
                      {Entry{41, 16, {}}, Entry{42, 16, bytes_of("put a=1")}}}},
       "010000000800000064000000000000000e07000000000010000000010000000000000028000000000000001e01000000"
       "0f0000000000000026000000000200000000000000290000001000000000000000000000002a00000010000000077075"
       "7420613d31"},
      {{8, 100, 15, FetchResponse{error::none, 16, 1, 40, 30, std::nullopt, SnapshotId{30, 12}, {}}},
       "010000000800000064000000000000000f07000000000010000000010000000000000028000000000000001e00010000"
       "00000000001e0000000c00000000"},
      {{9, 100, 16, FetchSnapshotRequest{17, 4, SnapshotId{900, 16}, 4096}},
       "01000000090000006400000000000000100800000011000000040000000000000384000000100000000000001000"},
      {{10, 100, 17,
        FetchSnapshotResponse{error::snapshot_not_found, 18, 2, SnapshotId{900, 16}, 10000, 8192, bytes_of("chunk")}},
       "010000000a00000064000000000000001109006200000012000000020000000000000384000000100000000000002710"
       "0000000000002000000000056368756e6b"},
  };
}

}  // namespace

TEST_CASE("keel codec golden bytes: every Raft message keeps its layout", "[controller][codec]") {
  for (const auto& [envelope, golden] : golden_envelopes()) {
    INFO(raft::message_name(envelope.message));
    CHECK(hex(raft::encode(envelope)) == golden);
    auto decoded = raft::decode_envelope(unhex(golden));
    REQUIRE(decoded.ok());
    CHECK(hex(raft::encode(*decoded)) == golden);
  }
}
