// The controller calls and metadata entry payloads between Keel nodes (rpc.h): the call table,
// every message round-trips, and damaged input (every truncation, every corrupted byte) is an error
// naming the message, never a crash.
#include <catch2/catch.hpp>

#include "broker/metadata/rpc.h"

#include <fmt/format.h>

using namespace keel;
using namespace keel::metadata;

namespace {

template <class T>
T round_trip(const T& value) {
  const auto bytes = encode(value);
  auto back = decode<T>(bytes);
  REQUIRE(back);
  CHECK(*back == value);
  // Every strict prefix is refused, naming the message and the truncation.
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    auto cut = decode<T>(std::span<const std::uint8_t>(bytes.data(), n));
    REQUIRE_FALSE(cut);
    CHECK(cut.code() == Errc::corrupt);
    CHECK_THAT(cut.error().message, Catch::StartsWith(std::string(T::message_name) + "."));
    CHECK_THAT(cut.error().message, Catch::Contains("truncated"));
  }
  return *back;
}

// Every byte replaced by a few other values: each result is either some valid message or a clean
// error naming the message.
template <class T>
void corrupt_every_byte(const T& value) {
  const auto bytes = encode(value);
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    for (std::uint8_t replacement : {0x00, 0x01, 0x02, 0x7f, 0x80, 0xff}) {
      if (bytes[i] == replacement) continue;
      auto damaged = bytes;
      damaged[i] = replacement;
      auto out = decode<T>(damaged);
      if (out) continue;
      INFO(T::message_name << " byte " << i << " = " << int(replacement) << ": " << out.error().message);
      CHECK(out.code() == Errc::corrupt);
      CHECK_THAT(out.error().message, Catch::StartsWith(std::string(T::message_name)));
    }
  }
}

RegisterBrokerRequest sample_registration() {
  RegisterBrokerRequest reg{3, Uuid{}, {{"PLAINTEXT", "n3", 9092}, {"CONTROLLER", "n3", 9093}}, std::string("rack-a")};
  reg.incarnation.bytes[0] = 7;
  return reg;
}

AlterPartitionRequest sample_alter() {
  AlterPartitionRequest alter;
  alter.broker_id = 2;
  alter.broker_epoch = 5;
  alter.partition = 4;
  alter.leader_epoch = 3;
  alter.partition_epoch = 9;
  alter.new_isr = {{2, 5}, {0, -1}};
  alter.leader_recovery_state = LeaderRecoveryState::recovering;
  return alter;
}

ListReassignmentsRequest sample_list() {
  ListReassignmentsRequest some;
  some.topics = std::vector<ListReassignmentsRequest::Topic>{{"orders", {0, 2}}, {"empty", {}}};
  return some;
}

// Calls f(message) for a sample of every request and reply of the table, fields away from defaults.
template <class F>
void for_each_sample(F&& f) {
  f(sample_registration());
  f(RegisterBrokerReply{ErrorCode::none, 42});
  f(HeartbeatRequest{1, 17, 99, true, false});
  f(HeartbeatReply{ErrorCode::stale_broker_epoch, true, false, true});
  f(sample_alter());
  f(AlterPartitionReply{ErrorCode::none, 2, 3, {2, 0}, 10, LeaderRecoveryState::recovered});
  f(CreateTopicRequest{"orders", 6, 3, {{"min.insync.replicas", "2"}}, {{{BrokerId{2}, BrokerId{1}}}}});
  f(CreateTopicReply{ErrorCode::topic_already_exists, "exists", Uuid{}});
  f(DeleteTopicRequest{"orders"});
  f(DeleteTopicReply{ErrorCode::unknown_topic_or_partition});
  f(AlterReassignmentsRequest{{{"orders", 1, std::vector<BrokerId>{3, 1, 2}}, {"orders", 2, std::nullopt}}, false});
  f(AlterReassignmentsReply{{{"orders", 1, ErrorCode::none, ""}, {"orders", 2, ErrorCode::no_reassignment_in_progress, "none"}}});
  f(ListReassignmentsRequest{});
  f(sample_list());
  f(ListReassignmentsReply{{{"orders", 1, {3, 1, 2, 4}, {3}, {4}}}});
  f(CreatePartitionsRequest{"orders", 8, {{{3, 1}}, {{1, 2}}}, true});
  f(CreatePartitionsReply{ErrorCode::invalid_partitions, "not an increase"});
  f(ElectLeadersRequest{ElectionType::unclean, std::vector<ElectionTarget>{{"orders", 1}, {"logs", 0}}});
  f(ElectLeadersRequest{ElectionType::preferred, std::nullopt});
  f(ElectLeadersReply{{{"orders", 1, ErrorCode::election_not_needed, ""}, {"logs", 0, ErrorCode::none, ""}}});
  f(AlterTopicConfigsRequest{"orders", {{"retention.ms", ConfigChange::set, "1000"}, {"flush.ms", ConfigChange::remove, std::nullopt}}, true});
  f(AlterTopicConfigsReply{ErrorCode::unknown_topic_or_partition, "gone"});
}

}  // namespace

TEST_CASE("controller rpc: the call table maps each request to its id, name and reply", "[controller][rpc]") {
  STATIC_REQUIRE(std::is_same_v<CallTraits<RegisterBrokerRequest>::Reply, RegisterBrokerReply>);
  STATIC_REQUIRE(std::is_same_v<CallTraits<DeleteTopicRequest>::Reply, DeleteTopicReply>);
  STATIC_REQUIRE(CallTraits<HeartbeatRequest>::id == QuorumCall::heartbeat);
  STATIC_REQUIRE(CallTraits<ListReassignmentsRequest>::id == QuorumCall::list_reassignments);
  STATIC_REQUIRE(std::is_same_v<CallTraits<CreatePartitionsRequest>::Reply, CreatePartitionsReply>);
  CHECK(CallTraits<ElectLeadersRequest>::name == "ElectLeaders");
  CHECK(CallTraits<AlterReassignmentsRequest>::name == "AlterPartitionReassignments");
  STATIC_REQUIRE(CallMessage<CreateTopicReply>);
  STATIC_REQUIRE_FALSE(CallMessage<TopicRecord>);

  // Every id from 0 (Raft) to the last row is a call, named; nothing past it is.
  std::size_t rows = 0;
  for_each_controller_call([&](const auto& row) {
    ++rows;
    CHECK(valid_quorum_call(static_cast<std::int8_t>(row.id)));
    CHECK(quorum_call_name(row.id) == row.name);
  });
  CHECK(rows == 10);
  CHECK(valid_quorum_call(0));
  CHECK(quorum_call_name(QuorumCall::raft) == "Raft");
  CHECK_FALSE(valid_quorum_call(11));
  CHECK_FALSE(valid_quorum_call(-1));
}

TEST_CASE("controller rpc: every call and reply round-trips and every truncation is refused", "[controller][rpc]") {
  std::size_t samples = 0;
  for_each_sample([&](const auto& message) {
    INFO(protocol::to_string(message));
    round_trip(message);
    ++samples;
  });
  CHECK(samples == 22);
  const auto reg = round_trip(sample_registration());
  CHECK(reg.endpoints.size() == 2);
  CHECK(reg.rack == "rack-a");
  CHECK(round_trip(sample_alter()).new_isr[1].broker_epoch == -1);
  CHECK(round_trip(CreateTopicRequest{"orders", 6, 3, {{"min.insync.replicas", "2"}}, {}}).configs.at("min.insync.replicas") == "2");
  CHECK(round_trip(sample_list()).topics->at(1).name == "empty");
  CHECK_FALSE(round_trip(ListReassignmentsRequest{}).topics.has_value());
}

TEST_CASE("controller rpc: a corrupted byte anywhere in any call is a valid message or an error naming it",
          "[controller][rpc]") {
  for_each_sample([](const auto& message) { corrupt_every_byte(message); });
}

TEST_CASE("controller rpc: bad enums, bools, presence bytes and lengths over the limits are refused by field",
          "[controller][rpc]") {
  auto refused = [](const protocol::Bytes& bytes) {
    auto out = decode<AlterPartitionRequest>(bytes);
    return out.ok() ? std::string("accepted") : out.error().message;
  };
  auto wrong_state = encode(AlterPartitionRequest{});
  wrong_state.back() = 5;  // leader_recovery_state
  CHECK_THAT(refused(wrong_state), Catch::StartsWith("AlterPartitionRequest.leader_recovery_state: 5 is not in 0..1"));

  // AlterReassignmentsRequest: the allow flag, then the count; a target's replicas after a presence byte.
  auto request = encode(AlterReassignmentsRequest{{{"t", 0, std::vector<BrokerId>{1}}}, true});
  request[0] = 2;
  auto out = decode<AlterReassignmentsRequest>(request);
  REQUIRE_FALSE(out);
  CHECK_THAT(out.error().message, Catch::StartsWith("AlterReassignmentsRequest.allow_replication_factor_change: 2 is neither 0 nor 1"));
  request[0] = 1;
  request[1 + 4 + 3 + 4] = 3;  // the presence byte of partitions[0].replicas
  out = decode<AlterReassignmentsRequest>(request);
  REQUIRE_FALSE(out);
  CHECK_THAT(out.error().message, Catch::StartsWith("AlterReassignmentsRequest.partitions[0].replicas: 3 is neither 0 nor 1"));

  protocol::Writer too_many;
  too_many.write_int32(1);
  too_many.write_uuid({});
  too_many.write_array_length(endpoints_max + 1);
  auto reg = decode<RegisterBrokerRequest>(too_many.data());
  REQUIRE_FALSE(reg);
  CHECK_THAT(reg.error().message, Catch::StartsWith(fmt::format("RegisterBrokerRequest.endpoints: length {} over the limit of {}",
                                                                endpoints_max + 1, endpoints_max)));

  // A topic's configs are a map: a key given twice is refused.
  protocol::Writer twice;
  twice.write_string("t");
  twice.write_int32(1);
  twice.write_int16(1);
  twice.write_array_length(2);
  for (int i = 0; i < 2; ++i) {
    twice.write_string("retention.ms");
    twice.write_string("1");
  }
  auto create = decode<CreateTopicRequest>(twice.data());
  REQUIRE_FALSE(create);
  CHECK_THAT(create.error().message, Catch::StartsWith("CreateTopicRequest.configs[1]: a key appears twice"));
}

TEST_CASE("controller rpc: a metadata entry holds a decision's records; damage is an error naming it",
          "[controller][rpc]") {
  std::vector<MetadataRecord> records{TopicRecord{"t", Uuid{}}, NoOpRecord{}};
  const auto bytes = encode_records(records);
  auto back = decode_records(bytes);
  REQUIRE(back);
  CHECK(*back == records);
  CHECK(decode_records({})->empty());  // the leader's entry at the start of its epoch
  auto trailing = bytes;
  trailing.push_back(0);
  auto bad = decode_records(trailing);
  REQUIRE_FALSE(bad);
  CHECK_THAT(bad.error().message, Catch::StartsWith("metadata entry: 1 trailing bytes"));
  for (std::size_t n = 1; n < bytes.size(); ++n) {
    auto cut = decode_records(std::span<const std::uint8_t>(bytes.data(), n));
    REQUIRE_FALSE(cut);
    CHECK_THAT(cut.error().message, Catch::StartsWith("metadata entry"));
  }
  const std::vector<std::uint8_t> huge{0x7f, 0xff, 0xff, 0xff};
  CHECK_FALSE(decode_records(huge));

  // A record inside that cannot be read names the entry, the record's index and its type.
  auto damaged = bytes;
  damaged[4 + 4 + 1] = 9;  // the first record's version byte
  bad = decode_records(damaged);
  REQUIRE_FALSE(bad);
  CHECK_THAT(bad.error().message, Catch::StartsWith("metadata entry record 0: decode TopicRecord: bad version 9"));
}
