// The consumer-group workload of keel-sim: its scenario section (workload.groups[]) and the errors
// that name a bad key, the group checks wired into run_checks and all_check_names, and a small run
// whose histories the checks read.
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <string>

#include "sim/check/checks.h"
#include "sim/check/cluster_checks.h"
#include "sim/check/group_checks.h"
#include "sim/runner.h"
#include "sim/scenario/scenario.h"
#include "sim/scenario/scenario_json.h"
#include "sim/workload/group_workload.h"
#include "tests/support/scenario_run.h"

namespace {

using namespace keel;
using namespace keel::sim;
using namespace std::chrono_literals;

// One broker and one group; `group` is the group's JSON object, `duration` the run's.
std::string scenario_with(const std::string& group, const std::string& duration = "20s") {
  return fmt::format(R"({{
  "cluster": {{"brokers": 1, "config": {{"offsets.topic.num.partitions": 1, "offsets.topic.replication.factor": 1,
                                         "group.initial.rebalance.delay.ms": 300}}}},
  "topics": [{{"name": "t", "partitions": 4}}],
  "workload": {{
    "producers": [{{"topic": "t", "rate": 40}}],
    "groups": [{}]
  }},
  "duration": "{}",
  "quiescence": {{"recover": "5s"}}
}})",
                     group, duration);
}

std::string parse_error(const std::string& group) {
  auto s = scenario::parse_scenario(scenario_with(group), "g.json");
  REQUIRE_FALSE(s);
  return s.error().message;
}

TEST_CASE("scenario: workload.groups[] parses every field of a group", "[sim][scenario][group]") {
  auto s = scenario::parse_scenario(scenario_with(R"({"group": "g", "topics": ["t"], "members": 4,
      "assignors": ["cooperative-sticky"], "commit": "auto", "static": true, "session_timeout": "8s",
      "heartbeat_interval": "2s", "rebalance_timeout": "12s", "auto_commit_interval": "500ms",
      "behaviours": [{"at": "9s", "member": 2, "action": "restart", "duration": "3s"},
                     {"at": "4s", "member": 3, "action": "join"}],
      "random": {"per_minute": 2, "actions": ["crash", "slow"], "down": "3s"}})"),
                                    "g.json");
  REQUIRE(s);
  REQUIRE(s->workload.groups.size() == 1);
  const auto& g = s->workload.groups[0];
  CHECK(g.group_id == "g");
  CHECK(g.members == 4);
  CHECK(g.assignors == std::vector<std::string>{"cooperative-sticky"});
  CHECK(g.commit == scenario::CommitMode::auto_commit);
  CHECK(g.static_members);
  CHECK(g.session_timeout == 8s);
  CHECK(g.heartbeat_interval == 2s);
  CHECK(g.rebalance_timeout == 12s);
  CHECK(g.auto_commit_interval == 500ms);
  REQUIRE(g.behaviours.size() == 2);  // in time order
  CHECK(g.behaviours[0].action == scenario::MemberAction::join);
  CHECK(g.behaviours[1].member == 2);
  CHECK(g.behaviours[1].duration == 3s);
  CHECK(g.random.per_minute == 2);
  CHECK(g.random.actions == std::vector<scenario::MemberAction>{scenario::MemberAction::crash, scenario::MemberAction::slow});
  CHECK(g.random.down == 3s);
}

TEST_CASE("scenario: a group written back as a scenario file parses to the same group", "[sim][scenario][group]") {
  auto s = scenario::parse_scenario(scenario_with(R"({"group": "g", "topics": ["t"], "members": 4,
      "assignors": ["sticky", "range"], "commit": "async", "static": true, "session_timeout": "7s",
      "behaviours": [{"at": "9s", "member": 2, "action": "slow", "duration": "3s"}, {"at": "4s", "member": 3, "action": "leave"}],
      "random": {"per_minute": 1.5, "actions": ["restart"], "duration": "2s"}})"),
                                    "g.json");
  REQUIRE(s);
  auto again = scenario::parse_scenario(scenario::to_json(*s).dump(), "again.json");
  REQUIRE(again);
  REQUIRE(again->workload.groups.size() == 1);
  const auto& a = s->workload.groups[0];
  const auto& b = again->workload.groups[0];
  CHECK(b.group_id == a.group_id);
  CHECK(b.topics == a.topics);
  CHECK(b.members == a.members);
  CHECK(b.assignors == a.assignors);
  CHECK(b.commit == a.commit);
  CHECK(b.static_members == a.static_members);
  CHECK(b.session_timeout == a.session_timeout);
  CHECK(b.rebalance_timeout == a.rebalance_timeout);
  REQUIRE(b.behaviours.size() == a.behaviours.size());
  for (std::size_t i = 0; i < a.behaviours.size(); ++i) {
    CHECK(b.behaviours[i].at == a.behaviours[i].at);
    CHECK(b.behaviours[i].member == a.behaviours[i].member);
    CHECK(b.behaviours[i].action == a.behaviours[i].action);
    CHECK(b.behaviours[i].duration == a.behaviours[i].duration);
  }
  CHECK(b.random.per_minute == a.random.per_minute);
  CHECK(b.random.actions == a.random.actions);
  CHECK(b.random.duration == a.random.duration);
}

TEST_CASE("scenario: a bad group names the key that is wrong", "[sim][scenario][group]") {
  CHECK_THAT(parse_error(R"({"group": "g", "topics": ["t"], "membres": 3})"),
             Catch::Contains("workload.groups[0].membres: unknown key (did you mean \"members\"?)"));
  CHECK_THAT(parse_error(R"({"group": "g", "topics": ["nope"]})"), Catch::Contains("workload.groups[0].topics[0]"));
  CHECK_THAT(parse_error(R"({"group": "g", "topics": ["t"], "assignors": ["range", "fair"]})"),
             Catch::Contains("workload.groups[0].assignors[1]: unknown assignor \"fair\""));
  CHECK_THAT(parse_error(R"({"group": "g", "topics": ["t"], "commit": "later"})"),
             Catch::Contains("workload.groups[0].commit: expected one of"));
  CHECK_THAT(parse_error(R"({"group": "g", "topics": ["t"], "session_timeout": "1s", "heartbeat_interval": "2s"})"),
             Catch::Contains("workload.groups[0].heartbeat_interval: must be below session_timeout"));
  CHECK_THAT(parse_error(R"({"group": "g", "topics": ["t"], "members": 2,
                             "behaviours": [{"at": "1s", "member": 2, "action": "crash"}]})"),
             Catch::Contains("workload.groups[0].behaviours[0].member: must be at most 1"));
  CHECK_THAT(parse_error(R"({"group": "g", "topics": ["t"], "behaviours": [{"at": "1s", "member": 0, "action": "slow"}]})"),
             Catch::Contains("workload.groups[0].behaviours[0].duration: missing"));
  CHECK_THAT(parse_error(R"({"group": "g", "topics": ["t"], "behaviours": [{"at": "30s", "member": 0, "action": "crash"}]})"),
             Catch::Contains("workload.groups[0].behaviours: member 0's crash at 30s is not within the duration"));
  CHECK_THAT(parse_error(R"({"group": "g", "topics": ["t"], "random": {"per_minute": 1, "actions": ["join"]}})"),
             Catch::Contains("workload.groups[0].random.actions[0]: expected \"leave\", \"crash\", \"restart\", \"slow\" or \"pause\""));
  CHECK_THAT(parse_error(R"({"topics": ["t"]})"), Catch::Contains("workload.groups[0].group: missing"));
  CHECK_THAT(parse_error(R"({"group": "g", "topics": ["t"], "session_timeout": "6s",
                            "behaviours": [{"at": "1s", "member": 0, "action": "pause", "duration": "6s"}]})"),
             Catch::Contains("workload.groups[0].behaviours[0].duration: the pause lasts 6s, not longer than the "
                             "session timeout (6s): a pause must outlast it"));
  CHECK_THAT(parse_error(R"({"group": "g", "topics": ["t"], "behaviours": [{"at": "1s", "member": 0, "action": "pause"}]})"),
             Catch::Contains("workload.groups[0].behaviours[0].duration: missing: how long the pause lasts"));
  CHECK_THAT(parse_error(R"({"group": "g", "topics": ["t"], "random": {"per_minute": 1, "actions": ["pause"]}})"),
             Catch::Contains("workload.groups[0].random.duration: a random pause lasts 5s, not longer than the "
                             "session timeout (10s)"));
}

TEST_CASE("scenario: a KIP-848 group takes a server assignor and the coordinator's timeouts", "[sim][scenario][group]") {
  std::string text = scenario_with(R"({"group": "g", "topics": ["t"], "protocol": "consumer", "assignor": "range",
      "rebalance_timeout": "9s", "static": true, "behaviours": [{"at": "2s", "member": 1, "action": "pause", "duration": "7s"}]})");
  const std::string config = R"("group.initial.rebalance.delay.ms": 300)";
  text.replace(text.find(config), config.size(),
               config + R"(, "group.consumer.session.timeout.ms": 6000, "group.consumer.heartbeat.interval.ms": 500)");
  auto s = scenario::parse_scenario(text, "g.json");
  REQUIRE(s);
  const auto& g = s->workload.groups.at(0);
  CHECK(g.protocol == scenario::GroupProtocolKind::consumer);
  CHECK(g.assignor == "range");
  CHECK(g.session_timeout == 6s);  // the coordinator's, from the cluster config
  CHECK(g.heartbeat_interval == 500ms);
  CHECK(g.rebalance_timeout == 9s);
  auto again = scenario::parse_scenario(scenario::to_json(*s).dump(), "again.json");
  REQUIRE(again);
  CHECK(again->workload.groups.at(0).protocol == scenario::GroupProtocolKind::consumer);
  CHECK(again->workload.groups.at(0).assignor == "range");
  CHECK(again->workload.groups.at(0).session_timeout == 6s);
  const auto histories = workload::make_group_histories(*s);
  CHECK(histories.at(0).protocol == workload::GroupProtocol::consumer);
  // The default: classic, and a consumer group's assignor is uniform (the coordinator's default).
  auto classic = scenario::parse_scenario(scenario_with(R"({"group": "g", "topics": ["t"]})"), "g.json");
  REQUIRE(classic);
  CHECK(classic->workload.groups.at(0).protocol == scenario::GroupProtocolKind::classic);
  auto uniform = scenario::parse_scenario(scenario_with(R"({"group": "g", "topics": ["t"], "protocol": "consumer"})"), "g.json");
  REQUIRE(uniform);
  CHECK(uniform->workload.groups.at(0).assignor == "uniform");
  CHECK(uniform->workload.groups.at(0).session_timeout == 45s);  // Kafka's default
}

TEST_CASE("scenario: a bad KIP-848 group names the key that is wrong", "[sim][scenario][group]") {
  CHECK_THAT(parse_error(R"({"group": "g", "topics": ["t"], "protocol": "eager"})"),
             Catch::Contains("workload.groups[0].protocol: expected one of"));
  CHECK_THAT(parse_error(R"({"group": "g", "topics": ["t"], "protocol": "consumer", "assignor": "sticky"})"),
             Catch::Contains("workload.groups[0].assignor: unknown server assignor \"sticky\" (known: uniform, range)"));
  CHECK_THAT(parse_error(R"({"group": "g", "topics": ["t"], "protocol": "consumer", "assignors": ["range"]})"),
             Catch::Contains("workload.groups[0].assignors: client assignors are for the classic protocol"));
  CHECK_THAT(parse_error(R"({"group": "g", "topics": ["t"], "assignor": "uniform"})"),
             Catch::Contains("workload.groups[0].assignor: a server assignor is for \"protocol\": \"consumer\""));
  CHECK_THAT(parse_error(R"({"group": "g", "topics": ["t"], "protocol": "consumer", "session_timeout": "8s"})"),
             Catch::Contains("workload.groups[0].session_timeout: the coordinator sets it with \"protocol\": \"consumer\": "
                             "use the cluster config's group.consumer.session.timeout.ms"));
  CHECK_THAT(parse_error(R"({"group": "g", "topics": ["t"], "protocol": "consumer", "heartbeat_interval": "1s"})"),
             Catch::Contains("group.consumer.heartbeat.interval.ms"));
  // A pause must outlast the coordinator's session timeout (45 s unless the cluster config says).
  CHECK_THAT(parse_error(R"({"group": "g", "topics": ["t"], "protocol": "consumer",
                            "behaviours": [{"at": "1s", "member": 0, "action": "pause", "duration": "10s"}]})"),
             Catch::Contains("workload.groups[0].behaviours: member 0's pause at 1s lasts 10s, not longer than the "
                             "session timeout (45s)"));
}

TEST_CASE("checks: every group check is a check a scenario may name, and run_checks runs it over each group",
          "[sim][check][group]") {
  const auto& all = scenario::all_check_names();
  for (const auto& name : check::group_check_names()) CHECK(std::find(all.begin(), all.end(), name) != all.end());

  // Two live members given one partition in one generation: caught through run_checks.
  workload::GroupHistory h;
  h.group_id = "g";
  h.partition_counts["t"] = 2;
  for (int p = 0; p < 2; ++p) {
    workload::GroupMember m;
    m.process = p;
    m.member_id = fmt::format("m{}", p);
    m.events.push_back({workload::MemberEvent::Kind::assigned, 1'000'000'000 + p, 1, {TopicPartition{"t", 0}}});
    h.members.push_back(m);
  }
  const workload::History none;
  const check::ClusterObservations observations;
  const auto caught = check::run_checks(none, observations, {h}, {"group-single-owner"});
  CHECK_FALSE(caught.passed());
  CHECK(caught.counts.at("group-single-owner") == 1);
  REQUIRE(caught.violations.size() == 1);
  CHECK(caught.violations[0].key == "t-0");
  // No groups: nothing to find.
  CHECK(check::run_checks(none, observations, {}, {"group-single-owner"}).passed());
}

TEST_CASE("keel-sim run: a group's members process every acknowledged record and the group ends stable",
          "[sim][run][group]") {
  auto s = scenario::parse_scenario(scenario_with(R"({"group": "g", "topics": ["t"], "members": 3,
      "session_timeout": "6s", "rebalance_timeout": "8s",
      "behaviours": [{"at": "6s", "member": 2, "action": "join"}, {"at": "10s", "member": 0, "action": "crash"},
                     {"at": "13s", "member": 1, "action": "leave"}, {"at": "15s", "member": 1, "action": "join"}]})"),
                                    "g.json");
  REQUIRE(s);
  const auto out = test::run_seed(*s, 3);
  const std::string first = out.report.violations.empty() ? std::string() : out.report.violations[0].message;
  INFO(first);
  CHECK(out.passed());
  REQUIRE(out.groups.size() == 1);
  const auto& g = out.groups[0];
  REQUIRE(g.quiescent);
  CHECK(g.quiescent->state == "Stable");
  CHECK(g.quiescent->live_members.size() == 3);  // the crashed member started again when the faults ended
  std::size_t processed = 0, removed = 0, commits = 0;
  for (const auto& m : g.members) {
    processed += m.processed.size();
    commits += m.commits.size();
    for (const auto& e : m.events) removed += e.kind == workload::MemberEvent::Kind::removed;
  }
  std::size_t produced = 0;
  for (const auto& [tp, offsets] : g.produced) produced += offsets.size();
  CHECK(produced > 100);
  CHECK(processed >= produced);
  CHECK(commits > 0);
  CHECK(removed >= 2);  // the crashed member (session timeout) and the one that left
  CHECK(g.members.size() >= 5);  // three first incarnations, the crashed and the left member again
  CHECK(out.report.check_counts.contains("group-at-least-once"));
}

}  // namespace

namespace {

using Kind = workload::CoordinatorEvent::Kind;

workload::CoordinatorEvent coordinator_event(Kind kind, double at, int node, std::string member = {}) {
  return {kind, static_cast<std::int64_t>(at * 1e9), node, "g", std::move(member), -1, {}};
}

// A KIP-848 group "g" with one member, M, given t-0 at epoch 3 at 1 s.
workload::GroupHistory kip848_member_history() {
  workload::GroupHistory h;
  h.group_id = "g";
  h.protocol = workload::GroupProtocol::consumer;
  workload::GroupMember m;
  m.member_id = "M";
  m.events.push_back({workload::MemberEvent::Kind::assigned, 1'000'000'000, 3, {TopicPartition{"t", 0}}});
  h.members.push_back(m);
  return h;
}

std::vector<workload::MemberEvent::Kind> kinds_of(const workload::GroupMember& m) {
  std::vector<workload::MemberEvent::Kind> out;
  for (const auto& e : m.events) out.push_back(e.kind);
  return out;
}

}  // namespace

TEST_CASE("group histories: a removal a failover undid is followed by `restored`, one written before it is not",
          "[sim][group]") {
  using MK = workload::MemberEvent::Kind;
  workload::GroupHistory h;
  h.group_id = "g";
  workload::GroupMember m;
  m.member_id = "M";
  m.events.push_back({MK::assigned, 1'000'000'000, 1, {TopicPartition{"t", 0}}});
  h.members.push_back(m);
  const workload::History history;
  const workload::KeyTable keys{std::vector<scenario::TopicSpec>{}};
  // Seed 336 of groups.json: M removed by session expiry on node 0, the node unloads before the
  // group's next GroupMetadata record, node 0 loads the group back with M and removes it again.
  std::vector<workload::CoordinatorEvent> events = {
      coordinator_event(Kind::removed, 46.5, 0, "M"), coordinator_event(Kind::unloaded, 50.3, 0),
      coordinator_event(Kind::loaded, 50.5, 0), coordinator_event(Kind::removed, 56.5, 0, "M")};
  auto undone = std::vector<workload::GroupHistory>{h};
  workload::finish_group_histories(undone, events, history, keys);
  CHECK(kinds_of(undone[0].members[0]) == std::vector<MK>{MK::assigned, MK::removed, MK::restored, MK::removed});
  CHECK(undone[0].members[0].events[2].at_ns == 50'500'000'000);

  // Written first (a GroupStable of the group on that node after it): the removal stands.
  auto written_events = events;
  written_events.insert(written_events.begin() + 1, coordinator_event(Kind::stable, 47.0, 0));
  auto written = std::vector<workload::GroupHistory>{h};
  workload::finish_group_histories(written, written_events, history, keys);
  CHECK(kinds_of(written[0].members[0]) == std::vector<MK>{MK::assigned, MK::removed, MK::removed});

  // Nothing shows the member came back: the removal stands. The coordinator's acknowledged commit
  // of M after the load does show it, and lands in coordinator_commits.
  events.pop_back();
  auto silent = std::vector<workload::GroupHistory>{h};
  workload::finish_group_histories(silent, events, history, keys);
  CHECK(kinds_of(silent[0].members[0]) == std::vector<MK>{MK::assigned, MK::removed});
  auto ack = coordinator_event(Kind::commit, 51.0, 1, "M");
  ack.generation = 1;
  ack.offsets = *workload::parse_commit_offsets("t-0=12,my-topic-3=4");
  events.push_back(ack);
  auto acked = std::vector<workload::GroupHistory>{h};
  workload::finish_group_histories(acked, events, history, keys);
  CHECK(kinds_of(acked[0].members[0]) == std::vector<MK>{MK::assigned, MK::removed, MK::restored});
  REQUIRE(acked[0].coordinator_commits.size() == 1);
  CHECK(acked[0].coordinator_commits[0].node == 1);
  CHECK(acked[0].coordinator_commits[0].offsets ==
        std::map<TopicPartition, std::int64_t>{{TopicPartition{"t", 0}, 12}, {TopicPartition{"my-topic", 3}, 4}});
  CHECK_FALSE(workload::parse_commit_offsets("t-0=x"));
  CHECK_FALSE(workload::parse_commit_offsets("t0=1"));
  CHECK(workload::parse_commit_offsets("")->empty());
}

TEST_CASE("group histories: a KIP-848 fence counts from when the coordinator decided it, written or not",
          "[sim][group]") {
  using MK = workload::MemberEvent::Kind;
  workload::GroupHistory h = kip848_member_history();
  const workload::History history;
  const workload::KeyTable keys{std::vector<scenario::TopicSpec>{}};
  // Seed 37 of groups-kip848.json: node 0 fences M at 31.09 s (session timeout) and unloads at
  // 32.0 s before the tombstones commit; it loads again from its own log at 37.08 s (the fence
  // replayed) and hands M's partitions to another member at 38.26 s, while M (a zombie, crashed)
  // learns nothing until 38.40 s. M's ownership ends at the fence, not at 38.40 s.
  std::vector<workload::CoordinatorEvent> events = {coordinator_event(Kind::fenced, 31.09, 0, "M"),
                                                    coordinator_event(Kind::unloaded, 32.0, 0),
                                                    coordinator_event(Kind::loaded, 37.08, 0)};
  auto unwritten = std::vector<workload::GroupHistory>{h};
  workload::finish_group_histories(unwritten, events, history, keys);
  CHECK(kinds_of(unwritten[0].members[0]) == std::vector<MK>{MK::assigned, MK::removed});
  CHECK(unwritten[0].members[0].events[1].at_ns == 31'090'000'000);
  // Written (GroupMemberRemoved on that node before any unload): one removal more, at the commit,
  // and no failover undoes it even when the member shows up again (it rejoined under its id).
  auto written_events = events;
  written_events.insert(written_events.begin() + 1, coordinator_event(Kind::removed, 31.1, 0, "M"));
  written_events.push_back(coordinator_event(Kind::fenced, 50.0, 0, "M"));
  auto written = std::vector<workload::GroupHistory>{h};
  workload::finish_group_histories(written, written_events, history, keys);
  CHECK(kinds_of(written[0].members[0]) == std::vector<MK>{MK::assigned, MK::removed, MK::removed, MK::removed});
  // Never written and the member in the group again after the reload (fenced once more): restored.
  events.push_back(coordinator_event(Kind::fenced, 50.0, 0, "M"));
  auto undone = std::vector<workload::GroupHistory>{h};
  workload::finish_group_histories(undone, events, history, keys);
  CHECK(kinds_of(undone[0].members[0]) == std::vector<MK>{MK::assigned, MK::removed, MK::restored, MK::removed});
  // A classic group ignores ConsumerMemberFenced.
  h.protocol = workload::GroupProtocol::classic_eager;
  auto classic = std::vector<workload::GroupHistory>{h};
  workload::finish_group_histories(classic, events, history, keys);
  CHECK(kinds_of(classic[0].members[0]) == std::vector<MK>{MK::assigned});
}

TEST_CASE("group histories: a KIP-848 fence carries the member's epoch; only a commit at that epoch or older after "
          "a reload shows it undone; a member whose first assignment came after its fence gets the removal",
          "[sim][group]") {
  using MK = workload::MemberEvent::Kind;
  workload::GroupHistory h = kip848_member_history();
  const workload::History history;
  const workload::KeyTable keys{std::vector<scenario::TopicSpec>{}};
  auto fence = coordinator_event(Kind::fenced, 31.0, 0, "M");
  fence.generation = 3;
  auto commit_at = [](std::int32_t epoch) {
    auto c = coordinator_event(Kind::commit, 40.0, 0, "M");
    c.generation = epoch;
    return c;
  };
  const std::vector<workload::CoordinatorEvent> reload = {fence, coordinator_event(Kind::unloaded, 32.0, 0),
                                                          coordinator_event(Kind::loaded, 37.0, 0)};
  // M rejoined under its id (epoch 5) and was fenced again, and committed at epoch 5: not undone.
  auto events = reload;
  auto again = coordinator_event(Kind::fenced, 50.0, 0, "M");
  again.generation = 5;
  events.insert(events.end(), {commit_at(5), again});
  auto rejoined = std::vector<workload::GroupHistory>{h};
  workload::finish_group_histories(rejoined, events, history, keys);
  CHECK(kinds_of(rejoined[0].members[0]) == std::vector<MK>{MK::assigned, MK::removed, MK::removed});
  CHECK(rejoined[0].members[0].events[1].generation == 3);
  // A commit at epoch 3 acknowledged after the reload: the reloaded group still had M at epoch 3.
  events = reload;
  events.push_back(commit_at(3));
  auto undone = std::vector<workload::GroupHistory>{h};
  workload::finish_group_histories(undone, events, history, keys);
  CHECK(kinds_of(undone[0].members[0]) == std::vector<MK>{MK::assigned, MK::removed, MK::restored});
  // Seed 479 of groups-kip848.json: M's first assignment reached it only after its fence (its topic
  // names resolved late, with brokers down). The fence is still M's, before that assignment.
  h.members[0].events[0].at_ns = 35'000'000'000;
  auto late = std::vector<workload::GroupHistory>{h};
  workload::finish_group_histories(late, reload, history, keys);
  CHECK(kinds_of(late[0].members[0]) == std::vector<MK>{MK::removed, MK::assigned});
}

TEST_CASE("keel-sim run: a member paused past its session timeout is removed, its old commit refused, and it rejoins",
          "[sim][run][group]") {
  auto s = scenario::parse_scenario(scenario_with(R"({"group": "g", "topics": ["t"], "members": 3,
      "session_timeout": "6s", "rebalance_timeout": "8s",
      "behaviours": [{"at": "8s", "member": 0, "action": "pause", "duration": "7s"}]})"),
                                    "g.json");
  REQUIRE(s);
  const auto out = test::run_seed(*s, 3);
  INFO((out.report.violations.empty() ? std::string() : out.report.violations[0].message));
  CHECK(out.passed());
  REQUIRE(out.groups.size() == 1);
  const auto& g = out.groups[0];
  constexpr std::int64_t resumed = 15'000'000'000;
  // The paused incarnation: removed by the coordinator during the pause, its commit after it refused,
  // then it heard it was fenced and lost its partitions.
  const workload::GroupMember* zombie = nullptr;
  for (const auto& m : g.members) {
    const bool removed_in_pause = std::any_of(m.events.begin(), m.events.end(), [&](const workload::MemberEvent& e) {
      return e.kind == workload::MemberEvent::Kind::removed && e.at_ns > 14'000'000'000 && e.at_ns < resumed;
    });
    if (removed_in_pause) zombie = &m;
  }
  REQUIRE(zombie != nullptr);
  const auto commit = std::find_if(zombie->commits.begin(), zombie->commits.end(),
                                   [&](const workload::Commit& c) { return c.invoke_ns >= resumed; });
  REQUIRE(commit != zombie->commits.end());
  CHECK(commit->outcome != workload::CommitOutcome::ok);
  CHECK_THAT(commit->error, Catch::Contains("UNKNOWN_MEMBER_ID") || Catch::Contains("ILLEGAL_GENERATION"));
  CHECK(std::any_of(zombie->events.begin(), zombie->events.end(), [&](const workload::MemberEvent& e) {
    return e.kind == workload::MemberEvent::Kind::lost && e.at_ns >= resumed;
  }));
  // The same process joined again under a new member id and was given partitions.
  CHECK(std::any_of(g.members.begin(), g.members.end(), [&](const workload::GroupMember& m) {
    return m.process == zombie->process && m.member_id != zombie->member_id && !m.events.empty() &&
           m.events.front().kind == workload::MemberEvent::Kind::assigned && m.events.front().at_ns > resumed;
  }));
  REQUIRE(g.quiescent);
  CHECK(g.quiescent->live_members.size() == 3);
}
