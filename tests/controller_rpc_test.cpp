// The controller calls and metadata entry payloads between Keel nodes (rpc.h): every message
// round-trips, and damaged input is an error naming the message, never a crash.
#include <catch2/catch.hpp>

#include "broker/metadata/rpc.h"

using namespace keel;
using namespace keel::metadata;

namespace {

template <class T>
T round_trip(const T& value) {
  const auto bytes = encode(value);
  auto back = decode<T>(bytes);
  REQUIRE(back);
  // Every strict prefix is refused.
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    auto cut = decode<T>(std::span<const std::uint8_t>(bytes.data(), n));
    CHECK_FALSE(cut);
  }
  return *back;
}

}  // namespace

TEST_CASE("controller rpc: every call and reply round-trips and every truncation is refused", "[controller][rpc]") {
  RegisterBrokerRequest reg{3, Uuid{}, {{"PLAINTEXT", "n3", 9092}, {"CONTROLLER", "n3", 9093}}, std::string("rack-a")};
  reg.incarnation.bytes[0] = 7;
  const auto reg2 = round_trip(reg);
  CHECK(reg2.broker_id == 3);
  CHECK(reg2.incarnation == reg.incarnation);
  CHECK(reg2.endpoints == reg.endpoints);
  CHECK(reg2.rack == reg.rack);
  CHECK(round_trip(RegisterBrokerReply{ErrorCode::none, 42}).broker_epoch == 42);

  const auto hb = round_trip(HeartbeatRequest{1, 17, 99, true, false});
  CHECK((hb.broker_id == 1 && hb.broker_epoch == 17 && hb.current_metadata_offset == 99 && hb.want_fence && !hb.want_shutdown));
  const auto hbr = round_trip(HeartbeatReply{ErrorCode::stale_broker_epoch, true, false, true});
  CHECK((hbr.error == ErrorCode::stale_broker_epoch && hbr.is_caught_up && !hbr.is_fenced && hbr.should_shut_down));

  AlterPartitionRequest alter;
  alter.broker_id = 2;
  alter.broker_epoch = 5;
  alter.partition = 4;
  alter.leader_epoch = 3;
  alter.partition_epoch = 9;
  alter.new_isr = {{2, 5}, {0, -1}};
  alter.leader_recovery_state = LeaderRecoveryState::recovering;
  const auto alter2 = round_trip(alter);
  CHECK(alter2.new_isr.size() == 2);
  CHECK(alter2.new_isr[1].broker_epoch == -1);
  CHECK(alter2.leader_recovery_state == LeaderRecoveryState::recovering);
  const auto reply = round_trip(AlterPartitionReply{ErrorCode::none, 2, 3, {2, 0}, 10, LeaderRecoveryState::recovered});
  CHECK(reply.isr == std::vector<std::int32_t>{2, 0});

  const auto topic = round_trip(CreateTopicRequest{"orders", 6, 3, {{"min.insync.replicas", "2"}}});
  CHECK(topic.configs.at("min.insync.replicas") == "2");
  CHECK(round_trip(CreateTopicReply{ErrorCode::topic_already_exists, "exists", Uuid{}}).message == "exists");

  const AlterReassignmentsRequest moves{{{"orders", 1, std::vector<std::int32_t>{3, 1, 2}}, {"orders", 2, std::nullopt}}, false};
  CHECK(round_trip(moves) == moves);
  const AlterReassignmentsReply moved{{{"orders", 1, ErrorCode::none, ""}, {"orders", 2, ErrorCode::no_reassignment_in_progress, "none"}}};
  CHECK(round_trip(moved) == moved);
  const ListReassignmentsRequest all;
  CHECK(round_trip(all) == all);
  ListReassignmentsRequest some;
  some.topics = std::vector<ListReassignmentsRequest::Topic>{{"orders", {0, 2}}, {"empty", {}}};
  CHECK(round_trip(some) == some);
  const ListReassignmentsReply ongoing{{{"orders", 1, {3, 1, 2, 4}, {3}, {4}}}};
  CHECK(round_trip(ongoing) == ongoing);
}

TEST_CASE("controller rpc: a metadata entry holds a decision's records; damage is an error naming it",
          "[controller][rpc]") {
  std::vector<MetadataRecord> records{TopicRecord{"t", Uuid{}}, NoOpRecord{}};
  const auto bytes = encode_records(records);
  auto back = decode_records(bytes);
  REQUIRE(back);
  CHECK(back->size() == 2);
  CHECK(decode_records({})->empty());  // the leader's entry at the start of its epoch
  auto trailing = bytes;
  trailing.push_back(0);
  auto bad = decode_records(trailing);
  REQUIRE_FALSE(bad);
  CHECK_THAT(bad.error().message, Catch::Contains("metadata entry"));
  auto cut = decode_records(std::span<const std::uint8_t>(bytes.data(), bytes.size() - 1));
  CHECK_FALSE(cut);
  const std::vector<std::uint8_t> huge{0x7f, 0xff, 0xff, 0xff};
  CHECK_FALSE(decode_records(huge));

  const auto alter = encode(AlterPartitionRequest{});
  auto wrong_state = alter;
  wrong_state.back() = 5;  // leader_recovery_state
  auto refused = decode<AlterPartitionRequest>(wrong_state);
  REQUIRE_FALSE(refused);
  CHECK_THAT(refused.error().message, Catch::Contains("leader_recovery_state"));
}
