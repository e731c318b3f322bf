// The coordinator runtime and the classic group coordinator, in the simulator over an in-memory
// __consumer_offsets partition (tests/support/memory_log.h): records and placement, loading from a
// log with tombstones, writes that do not commit, the classic state machine's rebalances and
// timeouts, and offset commit fencing.
#include <catch2/catch.hpp>

#include "broker/group/group_coordinator.h"
#include "broker/group/records.h"
#include "tests/support/memory_log.h"
#include "tests/support/sim_world.h"

#include <set>

using namespace keel;
using namespace keel::group;
using keel::coordinator::CoordinatorError;
using keel::protocol::ErrorCode;

namespace {

std::int16_t code(ErrorCode c) { return static_cast<std::int16_t>(c); }

GroupCoordinatorOptions one_partition() {
  GroupCoordinatorOptions o;
  o.offsets_partitions = 1;
  o.group.initial_rebalance_delay_ms = 3000;
  return o;
}

protocol::JoinGroupRequest join_request(const std::string& group, const std::string& member = "") {
  protocol::JoinGroupRequest r;
  r.group_id = group;
  r.member_id = member;
  r.session_timeout_ms = 10000;
  r.rebalance_timeout_ms = 20000;
  r.protocol_type = "consumer";
  r.protocols = {{"range", protocol::Bytes{1}}, {"roundrobin", protocol::Bytes{2}}};
  return r;
}

Client client_at(std::int16_t version) { return Client{"c", "/127.0.0.1", version}; }

// Joins with JoinGroup v5: MEMBER_ID_REQUIRED first, then the join with the id handed out.
protocol::JoinGroupResponse join_v5(GroupCoordinator& gc, const std::string& group) {
  auto first = gc.join_group(join_request(group), client_at(5));
  if (first.error_code != code(ErrorCode::member_id_required)) return first;
  return gc.join_group(join_request(group, first.member_id), client_at(5));
}

void load(GroupCoordinator& gc, Runtime& rt, std::int32_t epoch = 0) {
  gc.on_role_changes({partition::RoleChange{TopicPartition{"__consumer_offsets", 0}, true, epoch}});
  while (gc.runtime().status(0) == CoordinatorError::load_in_progress) rt.sleep_for(std::chrono::milliseconds(1));
}

protocol::OffsetCommitRequest commit_request(const std::string& group, std::int32_t generation,
                                             const std::string& member, std::int64_t offset) {
  protocol::OffsetCommitRequest r;
  r.group_id = group;
  r.generation_id_or_member_epoch = generation;
  r.member_id = member;
  r.topics = {{"t", {{0, offset, -1, std::string("m")}}}};
  return r;
}

std::int64_t committed(GroupCoordinator& gc, const std::string& group) {
  auto fetched = gc.offset_fetch(group, std::vector<protocol::OffsetFetchRequest::Topic>{{"t", {0}}});
  if (fetched.error_code != 0 || fetched.topics.empty()) return -100 - fetched.error_code;
  return fetched.topics[0].partitions[0].committed_offset;
}

auto known = [](const std::string&, std::int32_t) { return true; };

}  // namespace

TEST_CASE("group records: placement matches Kafka's test vectors", "[group]") {
  CHECK(java_string_hash("test-group") == 627841412);
  CHECK(java_string_hash("my-group") == -1906497762);
  CHECK(partition_for("test-group", 50) == 12);
  CHECK(partition_for("my-group", 50) == 12);
  CHECK(partition_for("kcat", 50) == 49);
  CHECK(partition_for("", 50) == 0);
  CHECK(partition_for("grüppe", 50) == 12);
  CHECK(partition_for("polygenelubricants", 50) == 0);  // hashCode is INT_MIN; Kafka's abs gives 0
}

TEST_CASE("group records: offset commits and group metadata round-trip, tombstones decode as such", "[group]") {
  const OffsetCommitKey key{"g", "t", 3};
  const OffsetCommitValue value{42, 7, "meta", 1000, -1};
  auto decoded = decode_record(offset_commit_record(key, value));
  REQUIRE(decoded.ok());
  const auto& offset = std::get<OffsetRecord>(*decoded);
  CHECK(offset.key == key);
  REQUIRE(offset.value.has_value());
  CHECK(*offset.value == value);
  // Kafka's layout: the record type, then the key struct; the value version, then the value.
  const auto record = offset_commit_record(key, value);
  CHECK(record.key[0] == 0);
  CHECK(record.key[1] == 1);
  CHECK((*record.value)[1] == 3);

  GroupMetadataValue group;
  group.protocol_type = "consumer";
  group.generation = 4;
  group.protocol = "range";
  group.leader = "m1";
  group.members = {{"m1", std::string("i1"), "client", "/h", 300000, 10000, {1, 2}, {3}}};
  auto g = decode_record(group_metadata_record({"g"}, group));
  REQUIRE(g.ok());
  CHECK(std::get<GroupRecord>(*g).value == group);

  auto tomb = decode_record(offset_tombstone(key));
  REQUIRE(tomb.ok());
  CHECK_FALSE(std::get<OffsetRecord>(*tomb).value.has_value());
  auto unknown = decode_record({protocol::Bytes{0, 10, 1}, protocol::Bytes{0, 0}});  // a share group record type
  REQUIRE(unknown.ok());
  CHECK(std::holds_alternative<std::monostate>(*unknown));
  CHECK_FALSE(decode_record({protocol::Bytes{0, 1, 0}, std::nullopt}).ok());  // a truncated key
}

TEST_CASE("group state machine: only Kafka's transitions are legal", "[group]") {
  using S = GroupState;
  CHECK(legal_transition(S::empty, S::preparing_rebalance));
  CHECK(legal_transition(S::preparing_rebalance, S::completing_rebalance));
  CHECK(legal_transition(S::completing_rebalance, S::stable));
  CHECK(legal_transition(S::stable, S::preparing_rebalance));
  CHECK(legal_transition(S::preparing_rebalance, S::empty));
  CHECK(legal_transition(S::stable, S::dead));
  CHECK_FALSE(legal_transition(S::empty, S::stable));
  CHECK_FALSE(legal_transition(S::stable, S::completing_rebalance));
  CHECK_FALSE(legal_transition(S::completing_rebalance, S::empty));
  CHECK_FALSE(legal_transition(S::dead, S::empty));
}

TEST_CASE("coordinator: a shard loads from an uncompacted log with tombstones", "[group]") {
  test::MemoryLog log;
  log.records = {
      offset_commit_record({"g1", "t", 0}, {5, -1, "", 1, -1}),
      offset_commit_record({"g1", "t", 1}, {9, -1, "", 1, -1}),
      offset_commit_record({"g1", "t", 0}, {7, -1, "", 2, -1}),
      offset_tombstone({"g1", "t", 1}),
      group_metadata_record({"g2"}, GroupMetadataValue{"consumer", 3, "range", "m", 5, {}}),
      offset_commit_record({"g2", "t", 0}, {11, -1, "", 1, -1}),
      offset_tombstone({"g2", "t", 0}),
      group_tombstone({"g2"}),
      group_metadata_record({"g3"}, GroupMetadataValue{"consumer", 2, "range", "m", 5,
                                                       {{"m", std::nullopt, "c", "/h", 20000, 10000, {}, {}}}}),
  };
  log.high_watermark = static_cast<std::int64_t>(log.records.size());
  test::MachineRig rig;
  std::int64_t p0 = 0, p1 = 0, g2_offset = 0;
  std::string g1_state, g2_state, g3_state;
  std::int32_t g3_members = 0;
  rig.run([&](Runtime& rt) {
    GroupCoordinator gc(rt, log, one_partition());
    load(gc, rt);
    auto fetched = gc.offset_fetch("g1", std::vector<protocol::OffsetFetchRequest::Topic>{{"t", {0, 1}}});
    p0 = fetched.topics[0].partitions[0].committed_offset;
    p1 = fetched.topics[0].partitions[1].committed_offset;
    g2_offset = committed(gc, "g2");
    g1_state = gc.describe_group("g1").group_state;
    g2_state = gc.describe_group("g2").group_state;
    auto g3 = gc.describe_group("g3");
    g3_state = g3.group_state;
    g3_members = static_cast<std::int32_t>(g3.members.size());
  });
  CHECK(p0 == 7);   // the later commit wins
  CHECK(p1 == -1);  // tombstoned
  CHECK(g2_offset == -1);
  CHECK(g1_state == "Empty");  // a simple group, known through its offsets
  CHECK(g2_state == "Dead");   // deleted: unknown
  CHECK(g3_state == "Stable");  // loaded with members
  CHECK(g3_members == 1);
}

TEST_CASE("coordinator: operations wait for the load and stop at unload", "[group]") {
  test::MemoryLog log;
  test::MachineRig rig;
  CoordinatorError before = CoordinatorError::none, during = CoordinatorError::none, after = CoordinatorError::none;
  std::int16_t commit_after_unload = 0;
  rig.run([&](Runtime& rt) {
    GroupCoordinator gc(rt, log, one_partition());
    before = gc.runtime().status(0);
    log.records.push_back(offset_commit_record({"g", "t", 0}, {1, -1, "", 1, -1}));  // not yet committed
    gc.on_role_changes({partition::RoleChange{TopicPartition{"__consumer_offsets", 0}, true, 0}});
    rt.sleep_for(std::chrono::milliseconds(200));
    during = gc.runtime().status(0);  // the load waits for the high watermark to cover the log
    log.high_watermark = 1;
    rt.sleep_for(std::chrono::milliseconds(200));
    after = gc.runtime().status(0);
    gc.on_role_changes({partition::RoleChange{TopicPartition{"__consumer_offsets", 0}, false, 1}});
    commit_after_unload = gc.offset_commit(commit_request("g", -1, "", 5), client_at(7), known).topics[0].partitions[0].error_code;
  });
  CHECK(before == CoordinatorError::not_coordinator);
  CHECK(during == CoordinatorError::load_in_progress);
  CHECK(after == CoordinatorError::none);
  CHECK(commit_after_unload == code(ErrorCode::not_coordinator));
}

TEST_CASE("coordinator: a write that does not commit is answered with an error and not kept", "[group]") {
  test::MemoryLog log;
  test::MachineRig rig;
  std::int16_t first = -1, failed = -1;
  std::int64_t kept = 0, after_reload = 0;
  rig.run([&](Runtime& rt) {
    GroupCoordinator gc(rt, log, one_partition());
    load(gc, rt);
    first = gc.offset_commit(commit_request("g", -1, "", 5), client_at(7), known).topics[0].partitions[0].error_code;
    log.hold_commits = true;
    failed = gc.offset_commit(commit_request("g", -1, "", 9), client_at(7), known).topics[0].partitions[0].error_code;
    kept = committed(gc, "g");  // the shard is reloading: not the coordinator's answer yet
    log.truncate_to_high_watermark();  // the uncommitted record is gone, as after a leader change
    log.hold_commits = false;
    while (gc.runtime().status(0) != CoordinatorError::none) rt.sleep_for(std::chrono::milliseconds(5));
    after_reload = committed(gc, "g");
  });
  CHECK(first == 0);
  CHECK(failed == code(ErrorCode::coordinator_not_available));
  CHECK(kept == -100 - code(ErrorCode::coordinator_load_in_progress));
  CHECK(after_reload == 5);
}

TEST_CASE("classic group: two members join, the leader assigns, the group is Stable; a leave rebalances", "[group]") {
  test::MemoryLog log;
  test::MachineRig rig;
  protocol::JoinGroupResponse a, b, rejoin;
  protocol::SyncGroupResponse sync_a, sync_b;
  std::string state_after_sync, state_after_leave;
  std::int16_t heartbeat_after_leave = -1;
  Instant joined_at{};
  rig.run([&](Runtime& rt) {
    GroupCoordinator gc(rt, log, one_partition());
    load(gc, rt);
    const Instant start = rt.now();
    WaitGroup wg;
    wg.add(2);
    rt.spawn("a", [&] { a = join_v5(gc, "g"); wg.done(); });
    rt.spawn("b", [&] { rt.sleep_for(std::chrono::milliseconds(1000)); b = join_v5(gc, "g"); wg.done(); });
    wg.wait();
    joined_at = Instant{} + (rt.now() - start);
    const auto& leader = a.leader == a.member_id ? a : b;
    const auto& follower = a.leader == a.member_id ? b : a;
    protocol::SyncGroupRequest follower_sync{"g", follower.generation_id, follower.member_id, {}, {}, {}, {}};
    protocol::SyncGroupRequest leader_sync{"g", leader.generation_id, leader.member_id, {}, {}, {},
                                           {{leader.member_id, {7}}, {follower.member_id, {8}}}};
    wg.add(2);
    rt.spawn("follower-sync", [&] { sync_b = gc.sync_group(follower_sync, client_at(3)); wg.done(); });
    rt.spawn("leader-sync", [&] { rt.sleep_for(std::chrono::milliseconds(100)); sync_a = gc.sync_group(leader_sync, client_at(3)); wg.done(); });
    wg.wait();
    state_after_sync = gc.describe_group("g").group_state;
    protocol::LeaveGroupRequest leave{"g", follower.member_id, {}};
    (void)gc.leave_group(leave, client_at(1));
    heartbeat_after_leave = gc.heartbeat({"g", leader.generation_id, leader.member_id, {}}).error_code;
    rejoin = gc.join_group(join_request("g", leader.member_id), client_at(5));
    state_after_leave = gc.describe_group("g").group_state;
  });
  CHECK(a.error_code == 0);
  CHECK(b.error_code == 0);
  CHECK(a.generation_id == 1);
  CHECK(b.generation_id == 1);
  CHECK(a.protocol_name == std::optional<std::string>("range"));  // every member's first choice
  CHECK(a.leader == b.leader);
  CHECK((a.members.size() == 2) != (b.members.size() == 2));  // only the leader sees the members
  CHECK(joined_at - Instant{} >= std::chrono::milliseconds(3000));  // the initial rebalance delay
  CHECK(sync_a.error_code == 0);
  CHECK(sync_b.error_code == 0);
  CHECK(sync_a.assignment == protocol::Bytes{7});
  CHECK(sync_b.assignment == protocol::Bytes{8});
  CHECK(state_after_sync == "Stable");
  CHECK(heartbeat_after_leave == code(ErrorCode::rebalance_in_progress));
  CHECK(rejoin.error_code == 0);
  CHECK(rejoin.generation_id == 2);
  CHECK(rejoin.members.size() == 1);
  CHECK(state_after_leave == "CompletingRebalance");
}

TEST_CASE("classic group: a member that stops heartbeating is removed after its session timeout", "[group]") {
  test::MemoryLog log;
  test::MachineRig rig;
  std::string state_before, state_after;
  std::int16_t late_heartbeat = -1;
  rig.run([&](Runtime& rt) {
    GroupCoordinator gc(rt, log, one_partition());
    load(gc, rt);
    auto joined = join_v5(gc, "g");
    (void)gc.sync_group({"g", joined.generation_id, joined.member_id, {}, {}, {}, {{joined.member_id, {1}}}}, client_at(3));
    state_before = gc.describe_group("g").group_state;
    rt.sleep_for(std::chrono::milliseconds(10000 + 100));  // its session timeout passes without a heartbeat
    state_after = gc.describe_group("g").group_state;
    late_heartbeat = gc.heartbeat({"g", joined.generation_id, joined.member_id, {}}).error_code;
  });
  CHECK(state_before == "Stable");
  CHECK(state_after == "Empty");  // the last member gone: the join completes with nobody
  CHECK(late_heartbeat == code(ErrorCode::unknown_member_id));
}

TEST_CASE("offsets: commits are fenced by generation and member; simple groups commit with -1", "[group]") {
  test::MemoryLog log;
  test::MachineRig rig;
  std::int16_t simple = -1, stale = -1, unknown = -1, current = -1, no_identity = -1;
  std::int64_t after = 0;
  rig.run([&](Runtime& rt) {
    GroupCoordinator gc(rt, log, one_partition());
    load(gc, rt);
    simple = gc.offset_commit(commit_request("simple", -1, "", 3), client_at(7), known).topics[0].partitions[0].error_code;
    auto joined = join_v5(gc, "g");
    (void)gc.sync_group({"g", joined.generation_id, joined.member_id, {}, {}, {}, {}}, client_at(3));
    stale = gc.offset_commit(commit_request("g", joined.generation_id - 1, joined.member_id, 4), client_at(7), known)
                .topics[0].partitions[0].error_code;
    unknown = gc.offset_commit(commit_request("g", joined.generation_id, "nobody", 4), client_at(7), known)
                  .topics[0].partitions[0].error_code;
    no_identity = gc.offset_commit(commit_request("g", -1, "", 4), client_at(7), known).topics[0].partitions[0].error_code;
    current = gc.offset_commit(commit_request("g", joined.generation_id, joined.member_id, 6), client_at(7), known)
                  .topics[0].partitions[0].error_code;
    after = committed(gc, "g");
  });
  CHECK(simple == 0);
  CHECK(stale == code(ErrorCode::illegal_generation));
  CHECK(unknown == code(ErrorCode::unknown_member_id));
  CHECK(no_identity == code(ErrorCode::unknown_member_id));
  CHECK(current == 0);
  CHECK(after == 6);
}

namespace {

// Commits `offset` for the simple group "g" in a task of its own, recording when it is answered.
// The task starts `offset` ms from now: spawned tasks run in an order the seed picks, and the tests
// need the operations to run in a known one.
struct Answer {
  std::int64_t offset = 0;
  std::int16_t error = -1;
};

void commit_in_task(Runtime& rt, GroupCoordinator& gc, std::int64_t offset, std::vector<Answer>& answers, WaitGroup& wg) {
  wg.add();
  rt.spawn(fmt::format("commit-{}", offset), [&rt, &gc, offset, &answers, &wg] {
    rt.sleep_for(std::chrono::milliseconds(offset));
    const auto error = gc.offset_commit(commit_request("g", -1, "", offset), client_at(7), known).topics[0].partitions[0].error_code;
    answers.push_back({offset, error});
    wg.done();
  });
}

}  // namespace

TEST_CASE("coordinator: several writes in flight at once, answered in order as the high watermark passes them", "[group]") {
  test::MemoryLog log;
  test::MachineRig rig;
  std::size_t appended_while_held = 0, answered_while_held = 0, answered_after_two = 0;
  std::vector<Answer> answers;
  std::int64_t final_offset = 0;
  rig.run([&](Runtime& rt) {
    GroupCoordinator gc(rt, log, one_partition());
    load(gc, rt);
    log.hold_commits = true;
    WaitGroup wg;
    for (std::int64_t offset : {1, 2, 3}) commit_in_task(rt, gc, offset, answers, wg);
    rt.sleep_for(std::chrono::milliseconds(100));
    appended_while_held = log.records.size();  // each ran and appended without waiting for the last
    answered_while_held = answers.size();
    log.commit_to(2);
    rt.sleep_for(std::chrono::milliseconds(1));
    answered_after_two = answers.size();
    log.commit_to(3);
    wg.wait();
    final_offset = committed(gc, "g");
  });
  CHECK(appended_while_held == 3);
  CHECK(answered_while_held == 0);
  CHECK(answered_after_two == 2);
  REQUIRE(answers.size() == 3);
  std::set<std::int64_t> first_two{answers[0].offset, answers[1].offset};
  CHECK(first_two == std::set<std::int64_t>{1, 2});  // the two whose records the high watermark passed
  CHECK(answers[2].offset == 3);
  for (const auto& a : answers) CHECK(a.error == 0);
  CHECK(final_offset == 3);
}

TEST_CASE("coordinator: without writes in flight a shard appends one write per commit round trip", "[group]") {
  test::MemoryLog log;
  test::MachineRig rig;
  std::size_t appended_while_held = 0;
  std::vector<Answer> answers;
  rig.run([&](Runtime& rt) {
    auto options = one_partition();
    options.writes_in_flight = false;
    GroupCoordinator gc(rt, log, options);
    load(gc, rt);
    log.hold_commits = true;
    WaitGroup wg;
    for (std::int64_t offset : {1, 2, 3}) commit_in_task(rt, gc, offset, answers, wg);
    rt.sleep_for(std::chrono::milliseconds(100));
    appended_while_held = log.records.size();
    log.hold_commits = false;
    log.commit_to(1);
    wg.wait();
  });
  CHECK(appended_while_held == 1);
  REQUIRE(answers.size() == 3);
  CHECK(answers[2].offset == 3);
  CHECK(answers[2].error == 0);
}

TEST_CASE("coordinator: a failed append with writes in flight fails them all, in order, and reloads from the log", "[group]") {
  test::MemoryLog log;
  test::MachineRig rig;
  std::vector<Answer> answers;
  std::int64_t read_in_flight = 0, after_reload = 0;
  std::int16_t failed = -1;
  rig.run([&](Runtime& rt) {
    GroupCoordinator gc(rt, log, one_partition());
    load(gc, rt);
    REQUIRE(gc.offset_commit(commit_request("g", -1, "", 5), client_at(7), known).topics[0].partitions[0].error_code == 0);
    log.hold_commits = true;
    WaitGroup wg;
    commit_in_task(rt, gc, 6, answers, wg);
    commit_in_task(rt, gc, 7, answers, wg);
    wg.add();
    rt.spawn("reader", [&] {
      rt.sleep_for(std::chrono::milliseconds(20));  // after both writes ran
      read_in_flight = committed(gc, "g");
      wg.done();
    });
    rt.sleep_for(std::chrono::milliseconds(100));
    REQUIRE(answers.empty());
    log.refuse_appends = true;  // the next write's append fails: the shard is dropped
    failed = gc.offset_commit(commit_request("g", -1, "", 8), client_at(7), known).topics[0].partitions[0].error_code;
    log.truncate_to_high_watermark();  // 6 and 7 never committed; a new leader drops them
    log.refuse_appends = false;
    log.hold_commits = false;
    wg.wait();
    while (gc.runtime().status(0) != CoordinatorError::none) rt.sleep_for(std::chrono::milliseconds(5));
    after_reload = committed(gc, "g");
  });
  REQUIRE(answers.size() == 2);  // both in-flight writes fail (the order is the runtime test's)
  CHECK(failed == code(ErrorCode::not_coordinator));  // the write whose append failed
  for (const auto& a : answers) CHECK(a.error == code(ErrorCode::not_coordinator));
  CHECK(read_in_flight == -100 - code(ErrorCode::not_coordinator));  // the read saw 7, so it fails with them
  CHECK(after_reload == 5);
}

TEST_CASE("coordinator: a read never answers with an uncommitted write", "[group]") {
  test::MemoryLog log;
  test::MachineRig rig;
  std::int64_t before = 0, read = 0, read_without_writes = 0;
  bool answered_while_held = true;
  std::string state_read;
  rig.run([&](Runtime& rt) {
    GroupCoordinator gc(rt, log, one_partition());
    load(gc, rt);
    REQUIRE(gc.offset_commit(commit_request("g", -1, "", 5), client_at(7), known).topics[0].partitions[0].error_code == 0);
    before = committed(gc, "g");
    log.hold_commits = true;
    std::vector<Answer> answers;
    WaitGroup wg;
    commit_in_task(rt, gc, 9, answers, wg);
    bool read_done = false;
    wg.add();
    rt.spawn("reader", [&] {
      rt.sleep_for(std::chrono::milliseconds(20));  // after the write ran
      read = committed(gc, "g");
      state_read = gc.describe_group("g").group_state;
      read_done = true;
      wg.done();
    });
    rt.sleep_for(std::chrono::milliseconds(100));
    answered_while_held = read_done;  // the read ran after the write: it waits for its commit
    log.commit_to(2);
    wg.wait();
    read_without_writes = committed(gc, "g");
  });
  CHECK(before == 5);
  CHECK_FALSE(answered_while_held);
  CHECK(read == 9);
  CHECK(state_read == "Empty");
  CHECK(read_without_writes == 9);
}

namespace {

// A shard that only counts: each record's key is a tag, and each write tells when it was released.
class TagShard final : public coordinator::Shard {
 public:
  void replay(const coordinator::CoordinatorRecord& record) override { replayed.push_back(record.key.at(0)); }
  void unloaded(CoordinatorError) override {}
  std::vector<std::uint8_t> replayed;
};

struct Released {
  std::uint8_t tag = 0;
  CoordinatorError error = CoordinatorError::none;
  bool operator==(const Released&) const = default;
};

coordinator::WriteOp tagged_write(std::uint8_t tag, std::vector<Released>& released) {
  return [tag, &released](coordinator::Shard&) {
    coordinator::WriteResult r;
    r.records.push_back({protocol::Bytes{tag}, protocol::Bytes{tag}});
    r.after_commit.push_back([tag, &released](CoordinatorError e) { released.push_back({tag, e}); });
    return r;
  };
}

// Writes tags 1..count, each from its own task, `gap` apart so they run in that order.
void write_tags(Runtime& rt, coordinator::CoordinatorRuntime& runtime, int count, std::vector<Released>& released,
                std::vector<CoordinatorError>& returned, WaitGroup& wg) {
  for (int t = 1; t <= count; ++t) {
    wg.add();
    rt.spawn("writer", [&, t] {
      rt.sleep_for(std::chrono::milliseconds(t));
      returned.push_back(runtime.write(0, "tag", tagged_write(static_cast<std::uint8_t>(t), released)));
      wg.done();
    });
  }
}

}  // namespace

TEST_CASE("coordinator runtime: writes in flight are released in the order they ran; a failed commit fails every one "
          "still in flight, in order, and the shard reloads",
          "[group]") {
  test::MemoryLog log;
  test::MachineRig rig;
  std::vector<Released> released, after_failure;
  std::vector<CoordinatorError> returned;
  std::size_t appended = 0, released_while_held = 0;
  std::vector<std::uint8_t> reloaded;
  rig.run([&](Runtime& rt) {
    coordinator::RuntimeOptions options;
    options.topic = "__test";
    options.write_timeout = std::chrono::milliseconds(1000);
    TagShard* shard = nullptr;
    coordinator::CoordinatorRuntime runtime(rt, options, log, [&](coordinator::ShardContext&) {
      auto s = std::make_unique<TagShard>();
      shard = s.get();
      return s;
    });
    runtime.on_role_change(0, true, 0);
    while (runtime.status(0) != CoordinatorError::none) rt.sleep_for(std::chrono::milliseconds(1));
    log.hold_commits = true;
    WaitGroup wg;
    write_tags(rt, runtime, 4, released, returned, wg);
    rt.sleep_for(std::chrono::milliseconds(50));
    appended = log.records.size();
    released_while_held = released.size();
    log.commit_to(3);  // the followers have the first three
    wg.wait();
    after_failure = released;
    log.hold_commits = false;
    log.commit_to(4);  // the fourth commits after all, late: the reload keeps it
    while (runtime.status(0) != CoordinatorError::none) rt.sleep_for(std::chrono::milliseconds(1));
    reloaded = shard->replayed;
    runtime.stop();
  });
  CHECK(appended == 4);
  CHECK(released_while_held == 0);
  CHECK(after_failure == std::vector<Released>{{1, CoordinatorError::none},
                                               {2, CoordinatorError::none},
                                               {3, CoordinatorError::none},
                                               {4, CoordinatorError::not_available}});
  CHECK(reloaded == std::vector<std::uint8_t>{1, 2, 3, 4});  // the log's, not the dropped shard's
}

TEST_CASE("coordinator runtime: a failed append fails every write in flight before it, in the order they ran", "[group]") {
  test::MemoryLog log;
  test::MachineRig rig;
  std::vector<Released> released;
  std::vector<CoordinatorError> returned;
  CoordinatorError status_after = CoordinatorError::none;
  rig.run([&](Runtime& rt) {
    coordinator::RuntimeOptions options;
    options.topic = "__test";
    coordinator::CoordinatorRuntime runtime(rt, options, log,
                                            [](coordinator::ShardContext&) { return std::make_unique<TagShard>(); });
    runtime.on_role_change(0, true, 0);
    while (runtime.status(0) != CoordinatorError::none) rt.sleep_for(std::chrono::milliseconds(1));
    log.hold_commits = true;
    WaitGroup wg;
    write_tags(rt, runtime, 3, released, returned, wg);
    rt.sleep_for(std::chrono::milliseconds(50));
    log.refuse_appends = true;  // the fourth write's append fails
    returned.push_back(runtime.write(0, "tag", tagged_write(4, released)));
    status_after = runtime.status(0);
    wg.wait();
    runtime.stop();
  });
  CHECK(released == std::vector<Released>{{1, CoordinatorError::not_coordinator},
                                          {2, CoordinatorError::not_coordinator},
                                          {3, CoordinatorError::not_coordinator},
                                          {4, CoordinatorError::not_coordinator}});
  CHECK(returned.size() == 4);
  for (auto e : returned) CHECK(e == CoordinatorError::not_coordinator);
  CHECK(status_after == CoordinatorError::load_in_progress);  // reloading from the log
}
