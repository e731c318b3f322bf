// The consumer group checkers over crafted histories: a clean cooperative history (and its eager and
// KIP-848 variants) passes them all, and each checker catches the violation it names.
#include <catch2/catch.hpp>

#include "sim/check/group_checks.h"

namespace {

using namespace keel;
using namespace keel::sim;
using namespace keel::sim::workload;

constexpr std::int64_t s = 1'000'000'000;  // one second in ns
const TopicPartition t0{"t", 0};
const TopicPartition t1{"t", 1};

MemberEvent event(MemberEvent::Kind kind, double at, std::int32_t generation,
                  std::vector<TopicPartition> partitions = {}) {
  return {kind, static_cast<std::int64_t>(at * s), generation, std::move(partitions)};
}

Commit commit(const std::string& member, std::int32_t generation, double invoke, double complete,
              std::map<TopicPartition, std::int64_t> offsets, CommitOutcome outcome = CommitOutcome::ok) {
  return {static_cast<std::int64_t>(invoke * s),
          static_cast<std::int64_t>(complete * s),
          member,
          generation,
          std::move(offsets),
          outcome,
          outcome == CommitOutcome::fail ? "ILLEGAL_GENERATION" : ""};
}

Processed processed(const TopicPartition& tp, std::int64_t offset, double at) {
  return {tp, offset, static_cast<std::int64_t>(at * s)};
}

// Members A and B share topic t (2 partitions). A owns both from generation 1; B joins; in
// generation 2 A gives up t-1, and in generation 3 B receives it and resumes from A's commit.
GroupHistory clean(GroupProtocol protocol = GroupProtocol::classic_cooperative) {
  GroupHistory h;
  h.group_id = "g";
  h.protocol = protocol;
  h.partition_counts = {{"t", 2}};
  GroupMember a{1, "A", std::nullopt, {}, {}, {}, {}, {}};
  a.events = {event(MemberEvent::Kind::assigned, 1.0, 1, {t0, t1}), event(MemberEvent::Kind::assigned, 2.0, 2),
              event(MemberEvent::Kind::revoked, 2.1, 2, {t1}), event(MemberEvent::Kind::assigned, 2.5, 3)};
  a.offset_reads = {{static_cast<std::int64_t>(1.0 * s), static_cast<std::int64_t>(1.05 * s), {{t0, -1}, {t1, -1}}}};
  a.processed = {processed(t0, 0, 1.1), processed(t0, 1, 1.1), processed(t1, 0, 1.2), processed(t0, 2, 3.0)};
  a.commits = {commit("A", 1, 1.3, 1.4, {{t0, 2}, {t1, 1}}), commit("A", 3, 3.1, 3.2, {{t0, 3}})};
  GroupMember b{2, "B", std::nullopt, {}, {}, {}, {}, {}};
  b.events = {event(MemberEvent::Kind::assigned, 2.0, 2), event(MemberEvent::Kind::assigned, 2.5, 3, {t1})};
  b.offset_reads = {{static_cast<std::int64_t>(2.5 * s), static_cast<std::int64_t>(2.6 * s), {{t1, 1}}}};
  b.processed = {processed(t1, 1, 2.7)};
  b.commits = {commit("B", 3, 2.8, 2.9, {{t1, 2}})};
  h.members = {a, b};
  h.coordinator_commits = {{static_cast<std::int64_t>(2.85 * s), 1, "B", 3, {{t1, 2}}}};
  h.produced = {{t0, {0, 1, 2}}, {t1, {0, 1}}};
  h.quiescent = GroupSnapshot{10 * s,     "Stable",          {{"A", {t0}}, {"B", {t1}}}, {{"A", {"t"}}, {"B", {"t"}}},
                              {"A", "B"}, {{t0, 3}, {t1, 2}}};
  return h;
}

std::vector<check::Violation> run(const GroupHistory& h, const std::string& name) {
  std::vector<check::Violation> out;
  REQUIRE(check::run_group_check(name, h, out));
  return out;
}

bool mentions(const check::Violation& v, const std::string& text) { return v.message.find(text) != std::string::npos; }

}  // namespace

TEST_CASE("group checks: a clean history passes every group check, in each protocol", "[check][sim][group]") {
  for (auto protocol : {GroupProtocol::classic_cooperative, GroupProtocol::classic_eager, GroupProtocol::consumer}) {
    const auto result = check::run_group_checks(clean(protocol));
    INFO((result.violations.empty() ? std::string() : result.violations.front().message));
    CHECK(result.passed());
    CHECK(result.counts.size() == check::group_check_names().size());
  }
  std::vector<check::Violation> none;
  CHECK_FALSE(check::run_group_check("no-such-check", clean(), none));
}

TEST_CASE("group checks: single-owner: a cooperative member given a partition its old owner has not revoked",
          "[check][sim][group]") {
  GroupHistory h = clean();
  h.members[1].events[1].at_ns = static_cast<std::int64_t>(1.5 * s);  // B gets t-1 at 1.5 s; A revokes it at 2.1 s
  h.members[1].processed[0].at_ns = static_cast<std::int64_t>(1.6 * s);
  const auto v = run(h, "group-single-owner");
  REQUIRE(v.size() == 1);
  CHECK(v[0].key == "t-1");
  CHECK(v[0].at_ns == static_cast<std::int64_t>(1.5 * s));
  CHECK(mentions(v[0], "owned by two members at once from 1.500s until 2.100s"));
  CHECK(mentions(v[0], "member A (process 1)"));
  CHECK(mentions(v[0], "processed 0 and 1 records"));
  // The same overlap after the coordinator removed A (A a zombie) is not a violation.
  h.members[0].events.insert(h.members[0].events.begin() + 1, event(MemberEvent::Kind::removed, 1.4, 1));
  CHECK(run(h, "group-single-owner").empty());
}

TEST_CASE(
    "group checks: single-owner: eager members given one partition in one generation; a zombie across "
    "generations is allowed",
    "[check][sim][group]") {
  GroupHistory h = clean(GroupProtocol::classic_eager);
  h.members[1].events[1].at_ns = static_cast<std::int64_t>(1.5 * s);  // overlap in time, different generations
  CHECK(run(h, "group-single-owner").empty());
  h.members[1].events.push_back(event(MemberEvent::Kind::assigned, 1.0, 1, {t1}));  // t-1 in A's generation 1 too
  const auto v = run(h, "group-single-owner");
  REQUIRE(v.size() == 1);
  CHECK(mentions(v[0], "t-1 was given to two members in generation 1"));
  // A static member's new instance inherits its crashed predecessor's assignment in the same
  // generation (no rebalance): not two owners.
  GroupHistory replaced = clean(GroupProtocol::classic_eager);
  replaced.members[0].events.insert(replaced.members[0].events.begin() + 1, event(MemberEvent::Kind::lost, 1.5, 1));
  replaced.members[1].events.push_back(event(MemberEvent::Kind::assigned, 1.6, 1, {t0, t1}));
  CHECK(run(replaced, "group-single-owner").empty());
}

TEST_CASE("group checks: single-owner: a KIP-848 assignment that reaches a member after its fence, at the fenced "
          "epoch or older, is a zombie's; a newer one is live",
          "[check][sim][group]") {
  // B gets t-1 at epoch 3 (2.5 s). A, fenced at epoch 2 at 2.2 s, applies an epoch-2 assignment of t-1
  // only at 2.6 s (granted before the fence, its topic names resolved late): a zombie, no owner.
  GroupHistory h = clean(GroupProtocol::consumer);
  auto& a = h.members[0].events;
  a.insert(a.begin() + 3, event(MemberEvent::Kind::removed, 2.2, 2));
  a.push_back(event(MemberEvent::Kind::assigned, 2.6, 2, {t1}));
  CHECK(run(h, "group-single-owner").empty());
  // The same assignment at epoch 4, newer than the fence: A rejoined and owns t-1 beside B.
  a.back().generation = 4;
  const auto v = run(h, "group-single-owner");
  REQUIRE(v.size() == 1);
  CHECK(mentions(v[0], "t-1 owned by two members at once from 2.600s"));
}

TEST_CASE("group checks: a classic assignment that reaches a member after its removal, at the generation it was "
          "removed in or older, is a zombie's: it owns nothing, and its commits stay fenced",
          "[check][sim][group]") {
  // A, removed (session timeout) in generation 2 at 2.2 s, applies a generation-2 assignment of t-1
  // only at 2.6 s (its SyncGroup answer was on its way), after B got t-1 in generation 3 at 2.5 s
  // (groups.json seed 194): a zombie, no owner.
  GroupHistory h = clean();
  auto& a = h.members[0].events;
  a.back() = event(MemberEvent::Kind::removed, 2.2, 2);  // instead of A's generation 3
  a.push_back(event(MemberEvent::Kind::assigned, 2.6, 2, {t1}));
  h.members[0].commits.pop_back();
  CHECK(run(h, "group-single-owner").empty());
  // The zombie's commit, acknowledged, is a fenced one: the zombie's assignment is no return.
  h.members[0].commits.push_back(commit("A", 2, 2.7, 2.8, {{t1, 1}}));
  auto fenced = run(h, "group-fenced-commit");
  REQUIRE(fenced.size() == 1);
  CHECK(mentions(fenced[0], "member A (process 1) was removed at 2.200s"));
  // An assignment in generation 4, newer than the removal: A is back (a failover restored it) and
  // owns t-1 beside B.
  h.members[0].commits.pop_back();
  a.back().generation = 4;
  const auto v = run(h, "group-single-owner");
  REQUIRE(v.size() == 1);
  CHECK(mentions(v[0], "t-1 owned by two members at once from 2.600s"));
}

TEST_CASE("group checks: single-owner: KIP-848 members owning a partition at once across epochs",
          "[check][sim][group]") {
  GroupHistory h = clean(GroupProtocol::consumer);
  CHECK(run(h, "group-single-owner").empty());
  h.members[0].events[2].at_ns = static_cast<std::int64_t>(2.7 * s);  // A releases t-1 only after B got it
  const auto v = run(h, "group-single-owner");
  REQUIRE(v.size() == 1);
  CHECK(mentions(v[0], "(epoch 1, since 1.000s) and member B (process 2) (epoch 3)"));
}

TEST_CASE("group checks: fenced-commit: a commit at an old generation acknowledged after a newer one was handed out",
          "[check][sim][group]") {
  GroupHistory h = clean();
  h.members[0].commits.push_back(commit("A", 1, 2.6, 2.7, {{t0, 3}}));  // generation 3 reached B at 2.5 s
  auto v = run(h, "group-fenced-commit");
  REQUIRE(v.size() == 1);
  CHECK(mentions(v[0], "a commit by member A at generation 1 was acknowledged"));
  CHECK(mentions(v[0], "member A (process 1) received generation 2 at 2.000s"));
  // The same commit refused is fine, and so is one sent before generation 2 existed.
  h.members[0].commits.back().outcome = CommitOutcome::fail;
  CHECK(run(h, "group-fenced-commit").empty());
}

TEST_CASE("group checks: fenced-commit: a removed member's commit, acknowledged by the client or the coordinator",
          "[check][sim][group]") {
  GroupHistory h = clean();
  h.members[1].events.push_back(event(MemberEvent::Kind::removed, 5.0, 3));
  h.members[1].commits.push_back(commit("B", 3, 6.0, 6.1, {{t1, 2}}));
  h.coordinator_commits.push_back({static_cast<std::int64_t>(7 * s), 2, "B", 3, {{t1, 2}}});
  const auto v = run(h, "group-fenced-commit");
  REQUIRE(v.size() == 2);
  CHECK(mentions(v[0], "member B (process 2) was removed at 5.000s"));
  CHECK(mentions(v[1], "the coordinator on node 2"));
}

TEST_CASE("group checks: fenced-commit: KIP-848 commits are fenced by the committer's own epoch only",
          "[check][sim][group]") {
  GroupHistory h = clean(GroupProtocol::consumer);
  h.members[1].events.push_back(event(MemberEvent::Kind::assigned, 4.0, 9));  // B's epoch moves to 9
  h.members[0].commits.push_back(commit("A", 3, 4.5, 4.6, {{t0, 3}}));        // A's own epoch is still 3
  CHECK(run(h, "group-fenced-commit").empty());
  h.members[1].commits.push_back(commit("B", 3, 4.5, 4.6, {{t1, 2}}));
  const auto v = run(h, "group-fenced-commit");
  REQUIRE(v.size() == 1);
  CHECK(mentions(v[0], "member B at epoch 3 was acknowledged"));
  CHECK(mentions(v[0], "received epoch 9 at 4.000s"));
  // A fenced member rejoins under its own id at epoch 0 and commits at its new epoch: not fenced.
  GroupHistory rejoined = clean(GroupProtocol::consumer);
  rejoined.members[0].events.push_back(event(MemberEvent::Kind::removed, 5.0, 3));
  rejoined.members[0].events.push_back(event(MemberEvent::Kind::assigned, 5.5, 12, {t0}));
  rejoined.members[0].commits.push_back(commit("A", 12, 6.0, 6.1, {{t0, 3}}));
  CHECK(run(rejoined, "group-fenced-commit").empty());
  rejoined.members[0].commits.push_back(commit("A", 3, 6.2, 6.3, {{t0, 3}}));  // its pre-fence epoch
  CHECK(run(rejoined, "group-fenced-commit").size() == 1);
}

TEST_CASE("group checks: commit-monotonic: a committed offset going back without a seek", "[check][sim][group]") {
  GroupHistory h = clean();
  h.members[1].commits.push_back(commit("B", 3, 3.5, 3.6, {{t1, 0}}));
  auto v = run(h, "group-commit-monotonic");
  REQUIRE(v.size() == 1);
  CHECK(v[0].key == "t-1");
  CHECK(mentions(v[0], "went back from 2 (member B (process 2) at generation 3, acknowledged at 2.900s) to 0"));
  h.members[1].resets.push_back({static_cast<std::int64_t>(3.4 * s), t1});
  CHECK(run(h, "group-commit-monotonic").empty());
}

TEST_CASE("group checks: at-least-once: an acknowledged record nobody processed, and a commit past processing",
          "[check][sim][group]") {
  GroupHistory h = clean();
  h.produced[t0].insert(3);  // acknowledged records nobody processed
  h.produced[t1].insert(2);
  auto v = run(h, "group-at-least-once");
  REQUIRE(v.size() == 2);
  CHECK(mentions(v[0], "t-0: 1 acknowledged record(s) never processed by any member of group g: offsets [3]"));
  CHECK(v[1].key == "t-1");
  GroupHistory ahead = clean();
  ahead.members[0].commits.push_back(commit("A", 3, 3.3, 3.4, {{t0, 10}}));
  v = run(ahead, "group-at-least-once");
  REQUIRE(v.size() == 1);
  CHECK(mentions(v[0], "committed offset 10 of t-0 at 3.300s, past what it had processed or read as committed (3)"));
}

TEST_CASE(
    "group checks: quiescent-assignment: a partition held twice or by nobody, a missing live member, a group "
    "not Stable, unbalanced sizes",
    "[check][sim][group]") {
  GroupHistory h = clean();
  h.quiescent->assignment["A"] = {t0, t1};
  auto v = run(h, "group-quiescent-assignment");
  REQUIRE(v.size() == 1);
  CHECK(mentions(v[0], "t-1 is assigned to 2 members: [\"A\", \"B\"]"));
  h.quiescent->assignment["B"] = {};
  v = run(h, "group-quiescent-assignment");
  REQUIRE(v.size() == 1);
  CHECK(mentions(v[0], "members subscribe to the same topics but hold between 0 and 2 partitions"));
  h = clean();
  h.quiescent->assignment.erase("B");
  h.quiescent->state = "PreparingRebalance";
  v = run(h, "group-quiescent-assignment");
  REQUIRE(v.size() == 3);
  CHECK(mentions(v[0], "the group is PreparingRebalance, not Stable"));
  CHECK(mentions(v[1], "live member B is not in the group"));
  CHECK(mentions(v[2], "t-1 is assigned to no member"));
}

TEST_CASE("group checks: commit-durable: an acknowledged commit missing or replaced by an older value after failover",
          "[check][sim][group]") {
  GroupHistory h = clean();
  h.quiescent->committed[t0] = 2;  // A's commit of 3 was acknowledged at 3.2 s
  auto v = run(h, "group-commit-durable");
  REQUIRE(v.size() == 1);
  CHECK(mentions(v[0], "t-0: the final OffsetFetch read committed offset 2 at 10.000s, but an older value"));
  CHECK(mentions(v[0], "acknowledged to member A (process 1) at 3.200s (offset 3)"));
  h.quiescent->committed[t0] = -1;
  CHECK(mentions(run(h, "group-commit-durable").at(0), "nothing, though a commit was acknowledged"));
  h.quiescent->committed[t0] = 7;
  CHECK(run(h, "group-commit-durable").size() == 1);
  // An indeterminate commit may land any time, so its value is a legal read.
  h.members[0].commits.push_back(commit("A", 3, 4.0, 4.5, {{t0, 7}}, CommitOutcome::info));
  CHECK(run(h, "group-commit-durable").empty());
  // A read before any commit was sent cannot see the value a later commit writes.
  GroupHistory early = clean();
  early.members[0].offset_reads[0].offsets[t0] = 2;
  v = run(early, "group-commit-durable");
  REQUIRE(v.size() == 1);
  CHECK(mentions(v[0], "member A (process 1) read committed offset 2 at 1.050s, but offset 2 was never committed"));
  // B resuming from nothing although A's commit of t-1 was acknowledged before B asked.
  GroupHistory lost = clean();
  lost.members[1].offset_reads[0].offsets[t1] = -1;
  v = run(lost, "group-commit-durable");
  REQUIRE(v.size() == 1);
  CHECK(mentions(v[0], "member B (process 2) read committed offset -1 at 2.600s"));
}

TEST_CASE("group checks: generation-monotonic: a member handed an older generation than it had",
          "[check][sim][group]") {
  GroupHistory h = clean();
  CHECK(run(h, "group-generation-monotonic").empty());
  h.members[1].events.push_back(event(MemberEvent::Kind::assigned, 4.0, 2, {t0}));  // B had generation 3
  const auto v = run(h, "group-generation-monotonic");
  REQUIRE(v.size() == 1);
  CHECK(mentions(v[0], "member B (process 2) received generation 2 at 4.000s after generation 3 at 2.500s"));
}

TEST_CASE("group checks: commit-durable: a commit only the coordinator acknowledged, lost after failover",
          "[check][sim][group]") {
  // A's commit of t-0 at 5 never got its answer (the connection broke), but the coordinator
  // acknowledged it at 4.2 s; the final read finds A's older 3.
  GroupHistory h = clean();
  h.members[0].commits.push_back(commit("A", 3, 4.0, 4.5, {{t0, 5}}, CommitOutcome::info));
  CHECK(run(h, "group-commit-durable").empty());  // without the coordinator's word, 3 may be the latest
  h.coordinator_commits.push_back({static_cast<std::int64_t>(4.2 * s), 1, "A", 3, {{t0, 5}}});
  const auto v = run(h, "group-commit-durable");
  REQUIRE(v.size() == 1);
  CHECK(mentions(v[0], "t-0: the final OffsetFetch read committed offset 3 at 10.000s, but an older value"));
  CHECK(mentions(v[0], "acknowledged to the coordinator on node 1 at 4.200s (offset 5)"));
  h.quiescent->committed[t0] = 5;
  CHECK(run(h, "group-commit-durable").empty());
}

TEST_CASE("group checks: fenced-commit: a removal a failover undid (never written) lets the member commit again",
          "[check][sim][group]") {
  // B removed at 5 s (session expiry, in memory only); the coordinator fails over and reloads B at
  // 6 s, in generation 3 as last written.
  GroupHistory h = clean();
  h.members[1].events.push_back(event(MemberEvent::Kind::removed, 5.0, -1));
  h.members[1].events.push_back(event(MemberEvent::Kind::restored, 6.0, -1));
  h.members[1].commits.push_back(commit("B", 3, 5.8, 6.3, {{t1, 2}}));  // sent before, taken after the reload
  h.coordinator_commits.push_back({static_cast<std::int64_t>(6.2 * s), 2, "B", 3, {{t1, 2}}});
  CHECK(run(h, "group-fenced-commit").empty());
  // Acknowledged while the removal stood (before the reload): caught, by the client and the coordinator.
  h.members[1].commits.push_back(commit("B", 3, 5.2, 5.4, {{t1, 2}}));
  h.coordinator_commits.push_back({static_cast<std::int64_t>(5.3 * s), 2, "B", 3, {{t1, 2}}});
  const auto v = run(h, "group-fenced-commit");
  REQUIRE(v.size() == 2);
  CHECK(mentions(v[0], "member B (process 2) was removed at 5.000s"));
  CHECK(mentions(v[1], "(the coordinator on node 2, 5.300s)"));
}

// KIP-848: A is fenced at 5 s (removed, its records committed), loses t-0, and comes back under its
// own member id at epoch 0; B takes t-0 over at epoch 14 and resumes from A's last commit.
GroupHistory fenced_and_back() {
  GroupHistory h = clean(GroupProtocol::consumer);
  auto& a = h.members[0];
  a.events.push_back(event(MemberEvent::Kind::removed, 5.0, -1));
  a.events.push_back(event(MemberEvent::Kind::lost, 5.5, -1, {t0}));
  a.events.push_back(event(MemberEvent::Kind::assigned, 7.0, 15));  // back, with nothing yet
  auto& b = h.members[1];
  b.events.push_back(event(MemberEvent::Kind::assigned, 6.0, 14, {t0}));
  b.offset_reads.push_back({static_cast<std::int64_t>(6.0 * s), static_cast<std::int64_t>(6.1 * s), {{t0, 3}}});
  b.processed.push_back(processed(t0, 3, 6.2));
  b.commits.push_back(commit("B", 14, 6.3, 6.4, {{t0, 4}}));
  h.produced[t0].insert(3);
  h.quiescent->assignment = {{"A", {t1}}, {"B", {t0}}};
  h.quiescent->committed[t0] = 4;
  return h;
}

TEST_CASE("group checks: fenced-commit: KIP-848 commits judged at the epoch the fence names and when the coordinator "
          "took them",
          "[check][sim][group]") {
  // A is fenced at 5.0 s at epoch 3 (the history's removal carries it); the coordinator acknowledges
  // commits of A at 5.3 s.
  GroupHistory h = fenced_and_back();
  h.members[0].events[4].generation = 3;
  REQUIRE(h.members[0].events[4].kind == MemberEvent::Kind::removed);
  SECTION("taken before the fence, acknowledged after it: legal; taken after it: caught") {
    h.coordinator_commits.push_back({static_cast<std::int64_t>(5.3 * s), 1, "A", 3, {{t0, 3}}, static_cast<std::int64_t>(4.9 * s)});
    CHECK(run(h, "group-fenced-commit").empty());
    h.coordinator_commits.back().taken_ns = static_cast<std::int64_t>(5.1 * s);
    const auto v = run(h, "group-fenced-commit");
    REQUIRE(v.size() == 1);
    CHECK(mentions(v[0], "a commit by member A at epoch 3 was acknowledged (the coordinator on node 1, 5.100s)"));
  }
  SECTION("at an epoch newer than the fence's (A rejoined): legal; at the fenced epoch: caught") {
    h.coordinator_commits.push_back({static_cast<std::int64_t>(5.3 * s), 1, "A", 4, {{t0, 3}}, static_cast<std::int64_t>(5.2 * s)});
    CHECK(run(h, "group-fenced-commit").empty());
    h.coordinator_commits.back().generation = 3;
    CHECK(run(h, "group-fenced-commit").size() == 1);
  }
}

TEST_CASE("group checks: KIP-848: a member fenced and back under its id passes; each check catches its violation",
          "[check][sim][group]") {
  {
    const auto result = check::run_group_checks(fenced_and_back());
    INFO((result.violations.empty() ? std::string() : result.violations.front().message));
    CHECK(result.passed());
  }
  SECTION("single-owner: B handed t-0 before the coordinator removed A") {
    GroupHistory h = fenced_and_back();
    h.members[1].events.back().at_ns = static_cast<std::int64_t>(4.5 * s);
    const auto v = run(h, "group-single-owner");
    REQUIRE(v.size() == 1);
    CHECK(mentions(v[0], "t-0 owned by two members at once from 4.500s until 5.000s"));
  }
  SECTION("fenced-commit: A's commit at its pre-fence epoch acknowledged after the removal") {
    GroupHistory h = fenced_and_back();
    h.coordinator_commits.push_back({static_cast<std::int64_t>(5.3 * s), 1, "A", 3, {{t0, 3}}});
    const auto v = run(h, "group-fenced-commit");
    REQUIRE(v.size() == 1);
    CHECK(mentions(v[0], "a commit by member A at epoch 3 was acknowledged (the coordinator on node 1, 5.300s)"));
    CHECK(mentions(v[0], "member A (process 1) was removed at 5.000s"));
  }
  SECTION("commit-monotonic: B's commit at its new epoch goes below A's") {
    GroupHistory h = fenced_and_back();
    h.members[1].commits.back().offsets[t0] = 1;
    h.members[1].commits.back().generation = 14;
    const auto v = run(h, "group-commit-monotonic");
    REQUIRE(v.size() == 1);
    CHECK(mentions(v[0], "t-0 committed offset went back from 3 (member A (process 1) at epoch 3, acknowledged at"));
  }
  SECTION("at-least-once: the record A left behind never processed by B") {
    GroupHistory h = fenced_and_back();
    h.members[1].processed.pop_back();
    h.members[1].commits.pop_back();
    h.quiescent->committed[t0] = 3;
    const auto v = run(h, "group-at-least-once");
    REQUIRE(v.size() == 1);
    CHECK(mentions(v[0], "t-0: 1 acknowledged record(s) never processed by any member of group g: offsets [3]"));
  }
  SECTION("quiescent-assignment: the group still Reconciling, t-0 held by the fenced member as well") {
    GroupHistory h = fenced_and_back();
    h.quiescent->state = "Reconciling";
    h.quiescent->assignment["A"] = {t0, t1};
    const auto v = run(h, "group-quiescent-assignment");
    REQUIRE(v.size() == 2);
    CHECK(mentions(v[0], "the group is Reconciling, not Stable"));
    CHECK(mentions(v[1], "t-0 is assigned to 2 members"));
  }
  SECTION("commit-durable: B's acknowledged commit lost across the failover") {
    GroupHistory h = fenced_and_back();
    h.quiescent->committed[t0] = 3;
    const auto v = run(h, "group-commit-durable");
    REQUIRE(v.size() == 1);
    CHECK(mentions(v[0], "acknowledged to member B (process 2) at 6.400s (offset 4)"));
  }
  SECTION("generation-monotonic: A back at an epoch below the one it was fenced in") {
    GroupHistory h = fenced_and_back();
    h.members[0].events.back().generation = 2;
    const auto v = run(h, "group-generation-monotonic");
    REQUIRE(v.size() == 1);
    CHECK(mentions(v[0], "member A (process 1) received epoch 2 at 7.000s after epoch 3 at 2.500s"));
  }
}
