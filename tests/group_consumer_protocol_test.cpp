// KIP-848 consumer groups on the coordinator, in the simulator over an in-memory __consumer_offsets
// partition (tests/support/memory_log.h): ConsumerGroupHeartbeat joins (one member, several),
// revocation before reassignment (no partition ever held by two members), fencing on session and
// rebalance timeouts and on bad epochs, static leave (-2) and replacement, UNRELEASED_INSTANCE_ID,
// request checks, commits and fetches with member epochs, ConsumerGroupDescribe, DescribeGroups,
// ListGroups and DeleteGroups, regex subscriptions, and a new coordinator loading the group from the
// log (tombstones included).
#include <catch2/catch.hpp>

#include "broker/group/group_coordinator.h"
#include "tests/support/kafka_client.h"
#include "tests/support/keel_world.h"
#include "tests/support/memory_log.h"
#include "tests/support/sim_world.h"

#include <map>
#include <set>

using namespace keel;
using namespace keel::group;
using keel::coordinator::CoordinatorError;
using keel::protocol::ErrorCode;
using Heartbeat = protocol::ConsumerGroupHeartbeatRequest;
using HeartbeatAnswer = protocol::ConsumerGroupHeartbeatResponse;

namespace {

std::int16_t code(ErrorCode c) { return static_cast<std::int16_t>(c); }

GroupCoordinatorOptions one_partition() {
  GroupCoordinatorOptions o;
  o.offsets_partitions = 1;
  return o;
}

void load(GroupCoordinator& gc, Runtime& rt, std::int32_t epoch = 0) {
  gc.on_role_changes({partition::RoleChange{TopicPartition{"__consumer_offsets", 0}, true, epoch}});
  while (gc.runtime().status(0) == CoordinatorError::load_in_progress) rt.sleep_for(std::chrono::milliseconds(1));
}

protocol::Uuid topic_id(std::uint8_t n) {
  protocol::Uuid id;
  id.bytes[15] = n;
  return id;
}

// Topics "t" (6 partitions), "u" (2) and "other" (1).
TopicsView topics() {
  TopicsView v;
  v.by_name["t"] = {topic_id(1), 6};
  v.by_name["u"] = {topic_id(2), 2};
  v.by_name["other"] = {topic_id(3), 1};
  return v;
}

const Client heartbeat_client{"c", "/127.0.0.1", 1};

Heartbeat join_request(const std::string& member, std::vector<std::string> subscription = {"t"}) {
  Heartbeat r;
  r.group_id = "g";
  r.member_id = member;
  r.member_epoch = 0;
  r.rebalance_timeout_ms = 30000;
  r.subscribed_topic_names = std::move(subscription);
  r.topic_partitions.emplace();
  return r;
}

Heartbeat beat(const std::string& member, std::int32_t epoch, std::optional<std::set<std::int32_t>> owned_t) {
  Heartbeat r;
  r.group_id = "g";
  r.member_id = member;
  r.member_epoch = epoch;
  if (owned_t) r.topic_partitions = std::vector<Heartbeat::TopicPartitions>{{topic_id(1), {owned_t->begin(), owned_t->end()}}};
  return r;
}

// The partitions of "t" in an answer's assignment (nullopt: no assignment in the answer).
std::optional<std::set<std::int32_t>> assigned_t(const HeartbeatAnswer& a) {
  if (!a.assignment) return std::nullopt;
  std::set<std::int32_t> out;
  for (const auto& tp : a.assignment->topic_partitions) {
    if (tp.topic_id == topic_id(1)) out.insert(tp.partitions.begin(), tp.partitions.end());
  }
  return out;
}

// A member as a KIP-848 consumer runs it: heartbeats report what it owns; it takes the assignment
// each answer brings (revoking by leaving partitions out of its next heartbeat).
struct Member {
  Member(std::string member_id) : id(std::move(member_id)) {}  // NOLINT: {"id"} in tests
  std::string id;
  std::int32_t epoch = 0;
  std::set<std::int32_t> owned;
  std::int16_t last_error = 0;

  void heartbeat(GroupCoordinator& gc, const TopicsView& view) {
    auto a = epoch == 0 ? gc.consumer_group_heartbeat(join_request(id), 1, heartbeat_client, view)
                        : gc.consumer_group_heartbeat(beat(id, epoch, owned), 1, heartbeat_client, view);
    last_error = a.error_code;
    if (a.error_code != 0) return;
    epoch = a.member_epoch;
    if (auto t = assigned_t(a)) owned = *t;
  }
};

// Checks after every step that no partition of "t" is held by two members, as the group sees it.
void check_single_owner(GroupCoordinator& gc, int& violations) {
  auto d = gc.consumer_group_describe("g", topics());
  std::map<std::int32_t, int> holders;
  for (const auto& m : d.members) {
    for (const auto& tp : m.assignment.topic_partitions) {
      for (auto p : tp.partitions) ++holders[p];
    }
  }
  for (const auto& [p, n] : holders) violations += n > 1 ? 1 : 0;
}

}  // namespace

TEST_CASE("consumer group: one member joins with epoch 0 and gets every partition at epoch 1", "[group][kip848]") {
  test::MemoryLog log;
  test::MachineRig rig;
  HeartbeatAnswer joined, again;
  protocol::ConsumerGroupDescribeResponse::DescribedGroup described;
  rig.run([&](Runtime& rt) {
    GroupCoordinator gc(rt, log, one_partition());
    load(gc, rt);
    joined = gc.consumer_group_heartbeat(join_request("m1"), 1, heartbeat_client, topics());
    again = gc.consumer_group_heartbeat(beat("m1", joined.member_epoch, std::set<std::int32_t>{0, 1, 2, 3, 4, 5}), 1,
                                        heartbeat_client, topics());
    described = gc.consumer_group_describe("g", topics());
  });
  CHECK(joined.error_code == 0);
  CHECK(joined.member_id == std::optional<std::string>("m1"));
  CHECK(joined.member_epoch == 1);
  CHECK(joined.heartbeat_interval_ms == 5000);
  CHECK(assigned_t(joined) == std::set<std::int32_t>{0, 1, 2, 3, 4, 5});
  CHECK(again.error_code == 0);
  CHECK(again.member_epoch == 1);
  CHECK_FALSE(again.assignment.has_value());  // nothing changed: no assignment in the answer
  CHECK(described.group_state == "Stable");
  CHECK(described.group_epoch == 1);
  CHECK(described.assignment_epoch == 1);
  CHECK(described.assignor_name == "uniform");
  REQUIRE(described.members.size() == 1);
  CHECK(described.members[0].assignment.topic_partitions[0].topic_name == "t");
  // The records: group epoch, member, target, current assignment (types 3, 5, 6, 7, 8).
  std::set<std::int16_t> types;
  for (const auto& r : log.records) types.insert(static_cast<std::int16_t>(r.key[0] << 8 | r.key[1]));
  CHECK(types == std::set<std::int16_t>{3, 5, 6, 7, 8});
}

TEST_CASE("consumer group: a second member gets partitions only after the first revoked them", "[group][kip848]") {
  test::MemoryLog log;
  test::MachineRig rig;
  Member a{"a"}, b{"b"};
  std::int32_t b_epoch_while_waiting = -1;
  std::set<std::int32_t> b_while_waiting, a_pending;
  int violations = 0;
  std::string state_while_waiting, final_state;
  rig.run([&](Runtime& rt) {
    GroupCoordinator gc(rt, log, one_partition());
    load(gc, rt);
    const TopicsView view = topics();
    a.heartbeat(gc, view);  // a holds 0..5
    b.heartbeat(gc, view);  // b joins: epoch 2, target 3 partitions, all still held by a
    b_epoch_while_waiting = b.epoch;
    b_while_waiting = b.owned;
    state_while_waiting = gc.consumer_group_describe("g", view).group_state;
    check_single_owner(gc, violations);
    a.heartbeat(gc, view);  // a learns it must give up three: its answer keeps only its share
    check_single_owner(gc, violations);
    a_pending = a.owned;
    a.heartbeat(gc, view);  // reports the smaller set: the three are released
    check_single_owner(gc, violations);
    b.heartbeat(gc, view);  // b picks them up
    check_single_owner(gc, violations);
    a.heartbeat(gc, view);
    b.heartbeat(gc, view);
    final_state = gc.consumer_group_describe("g", view).group_state;
  });
  CHECK(b_epoch_while_waiting == 2);
  CHECK(b_while_waiting.empty());  // nothing yet: a still holds everything
  CHECK(state_while_waiting == "Reconciling");
  CHECK(a_pending.size() == 3);
  CHECK(b.owned.size() == 3);
  CHECK(a.owned.size() == 3);
  std::set<std::int32_t> all = a.owned;
  all.insert(b.owned.begin(), b.owned.end());
  CHECK(all == std::set<std::int32_t>{0, 1, 2, 3, 4, 5});
  CHECK(a.epoch == 2);
  CHECK(b.epoch == 2);
  CHECK(violations == 0);
  CHECK(final_state == "Stable");
}

TEST_CASE("consumer group: several members converge; a member leaving with -1 hands its partitions on",
          "[group][kip848]") {
  test::MemoryLog log;
  test::MachineRig rig;
  std::vector<Member> members{{"m1"}, {"m2"}, {"m3"}};
  int violations = 0;
  HeartbeatAnswer left;
  std::size_t after_leave = 0;
  rig.run([&](Runtime& rt) {
    GroupCoordinator gc(rt, log, one_partition());
    load(gc, rt);
    const TopicsView view = topics();
    for (int round = 0; round < 6; ++round) {
      for (auto& m : members) {
        m.heartbeat(gc, view);
        check_single_owner(gc, violations);
      }
    }
    Heartbeat leave = beat("m3", -1, std::nullopt);
    left = gc.consumer_group_heartbeat(leave, 1, heartbeat_client, view);
    members.pop_back();
    for (int round = 0; round < 4; ++round) {
      for (auto& m : members) {
        m.heartbeat(gc, view);
        check_single_owner(gc, violations);
      }
    }
    after_leave = gc.consumer_group_describe("g", view).members.size();
  });
  CHECK(violations == 0);
  CHECK(left.error_code == 0);
  CHECK(left.member_epoch == -1);
  CHECK(after_leave == 2);
  CHECK(members[0].owned.size() == 3);
  CHECK(members[1].owned.size() == 3);
}

TEST_CASE("consumer group: bad epochs are fenced, unknown members refused, request checks answer 42", "[group][kip848]") {
  test::MemoryLog log;
  test::MachineRig rig;
  std::int16_t ahead = -1, behind = -1, unknown = -1, no_group = -1, no_timeout = -1, bad_assignor = -1, bad_regex = -1,
               no_instance = -1, owned_on_join = -1, previous_ok = -1;
  rig.run([&](Runtime& rt) {
    GroupCoordinator gc(rt, log, one_partition());
    load(gc, rt);
    const TopicsView view = topics();
    Member a{"a"}, b{"b"};
    a.heartbeat(gc, view);
    a.heartbeat(gc, view);
    ahead = gc.consumer_group_heartbeat(beat("a", a.epoch + 1, a.owned), 1, heartbeat_client, view).error_code;
    b.heartbeat(gc, view);  // group epoch 2
    a.heartbeat(gc, view);
    a.heartbeat(gc, view);  // a is at epoch 2 now
    // Epoch 1 is a's previous epoch, and what it reports is within its assignment: accepted.
    previous_ok = gc.consumer_group_heartbeat(beat("a", 1, a.owned), 1, heartbeat_client, view).error_code;
    behind = gc.consumer_group_heartbeat(beat("a", 1, std::set<std::int32_t>{0, 1, 2, 3, 4, 5}), 1, heartbeat_client, view).error_code;
    unknown = gc.consumer_group_heartbeat(beat("zz", 3, std::set<std::int32_t>{}), 1, heartbeat_client, view).error_code;
    Heartbeat other = beat("a", 1, std::set<std::int32_t>{});
    other.group_id = "nope";
    no_group = gc.consumer_group_heartbeat(other, 1, heartbeat_client, view).error_code;
    Heartbeat j = join_request("c");
    j.rebalance_timeout_ms = -1;
    no_timeout = gc.consumer_group_heartbeat(j, 1, heartbeat_client, view).error_code;
    j = join_request("c");
    j.server_assignor = "sticky";
    bad_assignor = gc.consumer_group_heartbeat(j, 1, heartbeat_client, view).error_code;
    j = join_request("c");
    j.subscribed_topic_regex = "t(";
    bad_regex = gc.consumer_group_heartbeat(j, 1, heartbeat_client, view).error_code;
    Heartbeat s = beat("a", -2, std::nullopt);
    no_instance = gc.consumer_group_heartbeat(s, 1, heartbeat_client, view).error_code;
    j = join_request("c");
    j.topic_partitions = std::vector<Heartbeat::TopicPartitions>{{topic_id(1), {0}}};
    owned_on_join = gc.consumer_group_heartbeat(j, 1, heartbeat_client, view).error_code;
  });
  CHECK(ahead == code(ErrorCode::fenced_member_epoch));
  CHECK(previous_ok == 0);
  CHECK(behind == code(ErrorCode::fenced_member_epoch));
  CHECK(unknown == code(ErrorCode::unknown_member_id));
  CHECK(no_group == code(ErrorCode::group_id_not_found));
  CHECK(no_timeout == code(ErrorCode::invalid_request));
  CHECK(bad_assignor == code(ErrorCode::unsupported_assignor));
  CHECK(bad_regex == code(ErrorCode::invalid_regular_expression));
  CHECK(no_instance == code(ErrorCode::invalid_request));
  CHECK(owned_on_join == code(ErrorCode::invalid_request));
}

TEST_CASE("consumer group: a silent member is fenced after its session; one that does not revoke after its rebalance "
          "timeout",
          "[group][kip848]") {
  test::MemoryLog log;
  test::MachineRig rig;
  std::int16_t late = -1, stubborn_late = -1;
  std::size_t after_session = 0;
  std::set<std::int32_t> survivor;
  rig.run([&](Runtime& rt) {
    GroupCoordinator gc(rt, log, one_partition());
    load(gc, rt);
    const TopicsView view = topics();
    Member a{"a"}, b{"b"};
    a.heartbeat(gc, view);
    b.heartbeat(gc, view);
    // b keeps heartbeating, a says nothing: after 45 s a is fenced and b gets everything.
    for (int i = 0; i < 10; ++i) {
      rt.sleep_for(std::chrono::milliseconds(5000));
      b.heartbeat(gc, view);
    }
    after_session = gc.consumer_group_describe("g", view).members.size();
    late = gc.consumer_group_heartbeat(beat("a", a.epoch, a.owned), 1, heartbeat_client, view).error_code;
    b.heartbeat(gc, view);
    survivor = b.owned;
    // c joins; b must revoke half but keeps reporting everything: fenced after its rebalance timeout
    // (30 s), while c keeps heartbeating.
    Member c{"c"};
    c.heartbeat(gc, view);
    (void)gc.consumer_group_heartbeat(beat("b", b.epoch, b.owned), 1, heartbeat_client, view);
    for (int i = 0; i < 7; ++i) {
      rt.sleep_for(std::chrono::milliseconds(5000));
      c.heartbeat(gc, view);
      if (i < 5) (void)gc.consumer_group_heartbeat(beat("b", b.epoch, b.owned), 1, heartbeat_client, view);
    }
    stubborn_late = gc.consumer_group_heartbeat(beat("b", b.epoch, b.owned), 1, heartbeat_client, view).error_code;
    c.heartbeat(gc, view);
  });
  CHECK(after_session == 1);
  CHECK(late == code(ErrorCode::unknown_member_id));
  CHECK(survivor == std::set<std::int32_t>{0, 1, 2, 3, 4, 5});
  CHECK(stubborn_late == code(ErrorCode::unknown_member_id));
}

TEST_CASE("consumer group: a member fenced by its session timer takes its subscription out of the group's metadata, "
          "so the next heartbeat bumps the epoch no further",
          "[group][kip848]") {
  test::MemoryLog log;
  test::MachineRig rig;
  std::int32_t after_fence = -1, after_next_heartbeat = -1, members_left = -1;
  rig.run([&](Runtime& rt) {
    GroupCoordinatorOptions o = one_partition();
    o.topics = [] { return topics(); };  // the node gives its metadata image's
    GroupCoordinator gc(rt, log, o);
    load(gc, rt);
    const TopicsView view = topics();
    Member a{"a"};
    a.heartbeat(gc, view);
    // x alone subscribes to "u", and then goes silent.
    (void)gc.consumer_group_heartbeat(join_request("x", {"u"}), 1, heartbeat_client, view);
    a.heartbeat(gc, view);
    // a keeps heartbeating until just before x's session (45 s) runs out, and then waits past it.
    for (int i = 0; i < 11; ++i) {
      rt.sleep_for(std::chrono::milliseconds(4000));
      a.heartbeat(gc, view);
    }
    rt.sleep_for(std::chrono::milliseconds(2000));
    auto d = gc.consumer_group_describe("g", view);
    after_fence = d.group_epoch;
    members_left = static_cast<std::int32_t>(d.members.size());
    a.heartbeat(gc, view);
    after_next_heartbeat = gc.consumer_group_describe("g", view).group_epoch;
  });
  CHECK(members_left == 1);
  CHECK(after_fence > 0);
  CHECK(after_next_heartbeat == after_fence);
}

TEST_CASE("consumer group: a static member leaves with -2, keeps its partitions, and a new process takes its "
          "instance; an active instance is UNRELEASED_INSTANCE_ID",
          "[group][kip848]") {
  test::MemoryLog log;
  test::MachineRig rig;
  std::int16_t unreleased = -1;
  HeartbeatAnswer left, replaced;
  std::int32_t epoch_before = 0, group_epoch_before = 0, group_epoch_after = 0;
  rig.run([&](Runtime& rt) {
    GroupCoordinator gc(rt, log, one_partition());
    load(gc, rt);
    const TopicsView view = topics();
    Heartbeat j = join_request("s1");
    j.instance_id = "i1";
    auto first = gc.consumer_group_heartbeat(j, 1, heartbeat_client, view);
    epoch_before = first.member_epoch;
    Heartbeat dup = join_request("s2");
    dup.instance_id = "i1";
    unreleased = gc.consumer_group_heartbeat(dup, 1, heartbeat_client, view).error_code;
    group_epoch_before = gc.consumer_group_describe("g", view).group_epoch;
    Heartbeat leave = beat("s1", -2, std::nullopt);
    leave.instance_id = "i1";
    left = gc.consumer_group_heartbeat(leave, 1, heartbeat_client, view);
    replaced = gc.consumer_group_heartbeat(dup, 1, heartbeat_client, view);
    group_epoch_after = gc.consumer_group_describe("g", view).group_epoch;
  });
  CHECK(epoch_before == 1);
  CHECK(unreleased == code(ErrorCode::unreleased_instance_id));
  CHECK(left.error_code == 0);
  CHECK(left.member_epoch == -2);
  CHECK(replaced.error_code == 0);
  CHECK(replaced.member_id == std::optional<std::string>("s2"));
  CHECK(replaced.member_epoch == 1);
  CHECK(assigned_t(replaced) == std::set<std::int32_t>{0, 1, 2, 3, 4, 5});
  CHECK(group_epoch_after == group_epoch_before);  // nothing reassigned
}

TEST_CASE("consumer group: commits need the member's exact epoch and v9; fetches with a member are checked too",
          "[group][kip848]") {
  test::MemoryLog log;
  test::MachineRig rig;
  std::int16_t current = -1, stale = -1, unknown = -1, old_version = -1, fetch_ok = -1, fetch_stale = -1, admin = -1;
  std::int64_t offset = -1;
  auto known = [](const std::string&, std::int32_t) { return true; };
  auto commit = [](const std::string& member, std::int32_t epoch, std::int64_t at) {
    protocol::OffsetCommitRequest r;
    r.group_id = "g";
    r.generation_id_or_member_epoch = epoch;
    r.member_id = member;
    r.topics = {{"t", {{0, at, -1, std::string()}}}};
    return r;
  };
  rig.run([&](Runtime& rt) {
    GroupCoordinator gc(rt, log, one_partition());
    load(gc, rt);
    Member a{"a"};
    a.heartbeat(gc, topics());
    auto code_of = [](const protocol::OffsetCommitResponse& r) { return r.topics[0].partitions[0].error_code; };
    current = code_of(gc.offset_commit(commit("a", a.epoch, 42), Client{"c", "/h", 9}, known));
    stale = code_of(gc.offset_commit(commit("a", a.epoch - 1, 43), Client{"c", "/h", 9}, known));
    unknown = code_of(gc.offset_commit(commit("zz", a.epoch, 44), Client{"c", "/h", 9}, known));
    old_version = code_of(gc.offset_commit(commit("a", a.epoch, 45), Client{"c", "/h", 8}, known));
    admin = code_of(gc.offset_commit(commit("", -1, 46), Client{"c", "/h", 9}, known));  // not empty: refused
    const auto topics_wanted = std::vector<protocol::OffsetFetchRequest::Topic>{{"t", {0}}};
    auto fetched = gc.offset_fetch("g", topics_wanted, std::string("a"), a.epoch);
    fetch_ok = fetched.error_code;
    offset = fetched.topics.empty() ? -1 : fetched.topics[0].partitions[0].committed_offset;
    fetch_stale = gc.offset_fetch("g", topics_wanted, std::string("a"), a.epoch + 5).error_code;
  });
  CHECK(current == 0);
  CHECK(stale == code(ErrorCode::stale_member_epoch));
  CHECK(unknown == code(ErrorCode::unknown_member_id));
  CHECK(old_version == code(ErrorCode::unsupported_version));
  CHECK(admin == code(ErrorCode::unknown_member_id));
  CHECK(fetch_ok == 0);
  CHECK(offset == 42);
  CHECK(fetch_stale == code(ErrorCode::stale_member_epoch));
}

TEST_CASE("consumer group: a new coordinator loads the group from the log and the members carry on", "[group][kip848]") {
  test::MemoryLog log;
  test::MachineRig rig;
  std::vector<Member> members{{"m1"}, {"m2"}};
  protocol::ConsumerGroupDescribeResponse::DescribedGroup before, after;
  std::int16_t carry_on = -1, fenced_after = -1;
  rig.run([&](Runtime& rt) {
    const TopicsView view = topics();
    {
      GroupCoordinator gc(rt, log, one_partition());
      load(gc, rt);
      for (int round = 0; round < 4; ++round) {
        for (auto& m : members) m.heartbeat(gc, view);
      }
      Member gone{"m3"};
      gone.heartbeat(gc, view);
      (void)gc.consumer_group_heartbeat(beat("m3", -1, std::nullopt), 1, heartbeat_client, view);  // tombstones in the log
      for (int round = 0; round < 3; ++round) {
        for (auto& m : members) m.heartbeat(gc, view);
      }
      before = gc.consumer_group_describe("g", view);
      gc.stop();
    }
    log.leader_epoch = 1;  // the partition's new leader
    GroupCoordinator next(rt, log, one_partition());
    load(next, rt, 1);
    after = next.consumer_group_describe("g", view);
    carry_on = next.consumer_group_heartbeat(beat("m1", members[0].epoch, members[0].owned), 1, heartbeat_client, view).error_code;
    fenced_after = next.consumer_group_heartbeat(beat("m3", 1, std::set<std::int32_t>{}), 1, heartbeat_client, view).error_code;
  });
  CHECK(before.group_state == "Stable");
  CHECK(after.group_state == before.group_state);
  CHECK(after.group_epoch == before.group_epoch);
  CHECK(after.assignment_epoch == before.assignment_epoch);
  REQUIRE(after.members.size() == 2);
  CHECK(after.members == before.members);
  CHECK(carry_on == 0);
  CHECK(fenced_after == code(ErrorCode::unknown_member_id));
}

TEST_CASE("consumer group: a regex subscription is matched against whole names and follows new topics",
          "[group][kip848]") {
  test::MemoryLog log;
  test::MachineRig rig;
  std::set<std::string> first, later;
  rig.run([&](Runtime& rt) {
    GroupCoordinator gc(rt, log, one_partition());
    load(gc, rt);
    TopicsView view = topics();
    Heartbeat j = join_request("r");
    j.subscribed_topic_names.reset();
    j.subscribed_topic_regex = "t|u.*";  // matches "t" and "u", not "other"
    auto a = gc.consumer_group_heartbeat(j, 1, heartbeat_client, view);
    auto names = [&](const protocol::ConsumerGroupDescribeResponse::DescribedGroup& d) {
      std::set<std::string> out;
      for (const auto& tp : d.members[0].target_assignment.topic_partitions) out.insert(tp.topic_name);
      return out;
    };
    first = names(gc.consumer_group_describe("g", view));
    view.by_name["u2"] = {topic_id(4), 1};  // a new topic that matches
    Heartbeat again = beat("r", a.member_epoch, std::nullopt);
    again.topic_partitions = std::vector<Heartbeat::TopicPartitions>{};
    (void)gc.consumer_group_heartbeat(again, 1, heartbeat_client, view);
    later = names(gc.consumer_group_describe("g", view));
  });
  CHECK(first == std::set<std::string>{"t", "u"});
  CHECK(later == std::set<std::string>{"t", "u", "u2"});
}

TEST_CASE("consumer group: DescribeGroups and ListGroups show it as Kafka does; DeleteGroups removes it once empty",
          "[group][kip848]") {
  test::MemoryLog log;
  test::MachineRig rig;
  protocol::DescribeGroupsResponse::Group described;
  protocol::ListGroupsResponse listed;
  std::int16_t delete_busy = -1, delete_empty = -1;
  std::int16_t classic_join = -1;
  protocol::ConsumerGroupDescribeResponse::DescribedGroup after_delete;
  rig.run([&](Runtime& rt) {
    GroupCoordinator gc(rt, log, one_partition());
    load(gc, rt);
    Member a{"a"};
    a.heartbeat(gc, topics());
    described = gc.describe_group("g");
    listed = gc.list_groups({});
    delete_busy = gc.delete_group("g").error_code;
    protocol::JoinGroupRequest classic;
    classic.group_id = "g";
    classic.session_timeout_ms = 10000;
    classic.rebalance_timeout_ms = 10000;
    classic.protocol_type = "consumer";
    classic.protocols = {{"range", protocol::Bytes{1}}};
    classic_join = gc.join_group(classic, Client{"c", "/h", 5}).error_code;
    (void)gc.consumer_group_heartbeat(beat("a", -1, std::nullopt), 1, heartbeat_client, topics());
    delete_empty = gc.delete_group("g").error_code;
    after_delete = gc.consumer_group_describe("g", topics());
  });
  CHECK(described.protocol_type == "consumer");
  CHECK(described.group_state == "Stable");
  CHECK(described.members.size() == 1);
  REQUIRE(listed.groups.size() == 1);
  CHECK(listed.groups[0].protocol_type == "consumer");
  CHECK(listed.groups[0].group_state == "Stable");
  CHECK(delete_busy == code(ErrorCode::non_empty_group));
  CHECK(classic_join == code(ErrorCode::inconsistent_group_protocol));
  CHECK(delete_empty == 0);
  CHECK(after_delete.error_code == code(ErrorCode::group_id_not_found));
}

TEST_CASE("consumer group records: Kafka's layouts, flexible values, tombstones", "[group][kip848]") {
  const auto r = consumer_group_metadata_record("g", {7});
  CHECK(r.key == protocol::Bytes{0, 3, 0, 1, 'g'});
  CHECK(r.value == std::optional<protocol::Bytes>(protocol::Bytes{0, 0, /*epoch*/ 0, 0, 0, 7, /*tags*/ 0}));
  ConsumerCurrentAssignmentValue v{3, 2, 1, {{topic_id(1), {0, 2}}}, {{topic_id(1), {1}}}};
  auto decoded = decode_record(consumer_current_assignment_record("g", "m", v));
  REQUIRE(decoded.ok());
  const auto* c = std::get_if<ConsumerRecord>(&*decoded);
  REQUIRE(c != nullptr);
  CHECK(c->key.member_id == "m");
  CHECK(c->current_assignment == std::optional<ConsumerCurrentAssignmentValue>(v));
  auto tomb = decode_record(consumer_tombstone({consumer_member_metadata_type, "g", "m"}));
  REQUIRE(tomb.ok());
  CHECK(std::get<ConsumerRecord>(*tomb).tombstone);
  auto bad = consumer_current_assignment_record("g", "m", v);
  (*bad.value)[10] = 9;  // the state byte: 9 is no MemberState
  auto refused = decode_record(bad);
  REQUIRE_FALSE(refused.ok());
  CHECK_THAT(refused.error().message, Catch::Contains("state"));
}

TEST_CASE("consumer group over the wire: ApiVersions lists 68 and 69; a member joins by ConsumerGroupHeartbeat v1 "
          "and gets the topic's partitions by id, which Metadata v12 resolves",
          "[group][kip848][sim]") {
  sim::WorldOptions options = test::world_options(11);
  options.buggify = false;
  test::NodeAndClient rig(std::move(options),
                          test::single_node_config("offsets.topic.replication.factor=1\noffsets.topic.num.partitions=1\n"));
  std::optional<protocol::ApiVersionsResponse> versions;
  std::optional<HeartbeatAnswer> joined;
  std::optional<protocol::MetadataResponse> by_id;
  std::optional<protocol::ConsumerGroupDescribeResponse> described;
  protocol::Uuid orders_id;
  REQUIRE(rig.run_client([&](Runtime& rt) {
    test::RawClient c(rt);
    if (!c.connect()) return;
    versions = c.call<protocol::ApiVersionsResponse>(protocol::ApiVersionsRequest{}, 2);
    (void)c.call<protocol::CreateTopicsResponse>(test::create_request("orders", 3), 4);
    protocol::MetadataRequest m;
    m.topics.emplace().push_back({{}, "orders"});
    auto named = c.call<protocol::MetadataResponse>(m, 12);
    if (!named || named->topics.empty()) return;
    orders_id = named->topics[0].topic_id;
    protocol::FindCoordinatorRequest find;
    find.coordinator_keys = {"g"};
    for (int attempt = 0; attempt < 200 && !(joined && joined->error_code == 0); ++attempt) {
      (void)c.call<protocol::FindCoordinatorResponse>(find, 4);
      Heartbeat j = join_request("member-1", {"orders"});
      joined = c.call<HeartbeatAnswer>(j, 1);
      rt.sleep_for(std::chrono::milliseconds(100));
    }
    protocol::MetadataRequest ids;
    ids.topics.emplace().push_back({orders_id, std::nullopt});
    ids.topics->push_back({topic_id(99), std::nullopt});
    by_id = c.call<protocol::MetadataResponse>(ids, 12);
    described = c.call<protocol::ConsumerGroupDescribeResponse>(protocol::ConsumerGroupDescribeRequest{{"g"}, false}, 1);
  }, std::chrono::minutes(5)));
  REQUIRE(versions);
  std::set<std::int16_t> keys;
  for (const auto& k : versions->api_keys) keys.insert(k.api_key);
  CHECK(keys.contains(68));
  CHECK(keys.contains(69));
  REQUIRE(joined);
  CHECK(joined->error_code == 0);
  CHECK(joined->member_epoch == 1);
  REQUIRE(joined->assignment);
  REQUIRE(joined->assignment->topic_partitions.size() == 1);
  CHECK(joined->assignment->topic_partitions[0].topic_id == orders_id);
  CHECK(joined->assignment->topic_partitions[0].partitions == std::vector<std::int32_t>{0, 1, 2});
  REQUIRE(by_id);
  REQUIRE(by_id->topics.size() == 2);
  CHECK(by_id->topics[0].name == std::optional<std::string>("orders"));
  CHECK(by_id->topics[0].partitions.size() == 3);
  CHECK(by_id->topics[1].error_code == code(ErrorCode::unknown_topic_id));
  CHECK_FALSE(by_id->topics[1].name.has_value());
  REQUIRE(described);
  REQUIRE(described->groups.size() == 1);
  CHECK(described->groups[0].group_state == "Stable");
  REQUIRE(described->groups[0].members.size() == 1);
  CHECK(described->groups[0].members[0].member_type == 1);
  CHECK(described->groups[0].members[0].assignment.topic_partitions[0].topic_name == "orders");
}
