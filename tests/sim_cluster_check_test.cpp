// The cluster checkers over crafted observations: each one passes a clean cluster and catches the
// violation it names. Also: losses are allowed, but still counted, under unclean leader election.
#include <catch2/catch.hpp>

#include "sim/check/cluster_checks.h"
#include "sim/scenario/scenario.h"

#include <algorithm>

namespace {

using namespace keel::sim;
using namespace keel::sim::workload;
using check::ClusterObservations;
using check::run_checks;
using Obs = ClusterObservations;

constexpr std::int64_t second_ns = 1'000'000'000;

check::CheckResult only(const Obs& obs, const std::string& name) { return run_checks(History{}, obs, {name}); }

// A healthy three-node cluster: node 0 leads the quorum in epoch 1, then node 1 in epoch 2; every
// node commits the same metadata entries; partition t-0 moves from broker 0 (epoch 0) to broker 1
// (epoch 1).
Obs clean() {
  Obs o;
  o.raft_leaders = {{1 * second_ns, 0, 1}, {10 * second_ns, 1, 2}};
  for (int node = 0; node < 3; ++node) {
    for (std::int64_t offset = 0; offset < 5; ++offset) {
      const std::int32_t epoch = offset < 3 ? 1 : 2;
      o.metadata_commits.push_back({(offset + 2) * second_ns + node, node, offset, epoch, 1000u + static_cast<std::uint64_t>(offset)});
    }
    o.final_metadata_end[node] = 5;
  }
  o.leader_claims = {{2 * second_ns, 0, "t-0", 0}, {11 * second_ns, 1, "t-0", 1}, {2 * second_ns, 1, "t-1", 0},
                     {11 * second_ns, 1, "t-1", 0}};  // broker 1 re-applying its own claim is no second leader
  return o;
}

// One replica of t-0 at 20s with records [from, to), record o in leader epoch (o < 3 ? 0 : 1).
Obs::ReplicaSnapshot replica(int node, std::int64_t hw, std::int64_t from, std::int64_t to, std::string label = "final") {
  Obs::ReplicaSnapshot s;
  s.at_ns = 20 * second_ns;
  s.label = std::move(label);
  s.node = node;
  s.partition = "t-0";
  s.high_watermark = hw;
  s.log_start = from;
  s.log_end = to;
  for (std::int64_t o = from; o < to; ++o) {
    s.records.push_back({o, o < 3 ? 0 : 1, 5000u + static_cast<std::uint64_t>(o)});
  }
  return s;
}

std::vector<check::Violation> of(const check::CheckResult& r, const std::string& name) {
  std::vector<check::Violation> out;
  for (const auto& v : r.violations) {
    if (v.check == name) out.push_back(v);
  }
  return out;
}

std::string first_message(const check::CheckResult& r) {
  return r.violations.empty() ? std::string() : r.violations.front().message;
}

Op poll_op(int process, std::vector<std::pair<int, std::int64_t>> hws, std::int64_t at_ns) {
  Op op;
  op.process = process;
  op.type = OpType::poll;
  op.high_watermarks = std::move(hws);
  op.invoke_ns = at_ns;
  op.complete_ns = at_ns + 1000;
  return op;
}

}  // namespace

TEST_CASE("cluster checks: a clean cluster (one leader per epoch, agreeing commits, equal replicas below the HW) "
          "passes every check",
          "[sim][check]") {
  Obs o = clean();
  o.replica_snapshots = {replica(0, 5, 0, 5), replica(1, 5, 0, 6), replica(2, 4, 1, 4)};
  History h;
  h.keys = {"t-0", "t-1"};
  h.add(poll_op(1, {{0, 3}, {1, 2}}, 1 * second_ns));
  h.add(poll_op(1, {{0, 3}, {0, 5}, {1, 2}}, 2 * second_ns));
  // The cluster checks on their own, and all checks together: every check is counted.
  const auto cluster = run_checks(h, o, check::cluster_check_names());
  INFO(first_message(cluster));
  CHECK(cluster.violations.empty());
  CHECK(cluster.counts.size() == check::cluster_check_names().size());
  for (const auto& name : check::cluster_check_names()) {
    CHECK(std::find(scenario::all_check_names().begin(), scenario::all_check_names().end(), name) !=
          scenario::all_check_names().end());
  }
}

TEST_CASE("cluster checks: with no observations the cluster checks have nothing to judge and pass", "[sim][check]") {
  const auto r = run_checks(History{}, check::cluster_check_names());
  CHECK(r.passed());
  CHECK(r.violations.empty());
  CHECK(r.counts.size() == check::cluster_check_names().size());
}

TEST_CASE("cluster checks: single-leader: two brokers claiming one partition at one leader epoch", "[sim][check]") {
  Obs o = clean();
  o.leader_claims.push_back({12 * second_ns, 2, "t-0", 1});  // broker 1 claimed epoch 1 at 11s
  const auto r = only(o, "single-leader");
  const auto v = of(r, "single-leader");
  REQUIRE(v.size() == 1);
  CHECK_FALSE(r.passed());
  CHECK(r.counts.at("single-leader") == 1);
  CHECK(v[0].key == "t-0");
  CHECK(v[0].at_ns == 12 * second_ns);
  CHECK(v[0].details["leader_epoch"] == 1);
  CHECK(v[0].details["claims"].size() == 2);
  CHECK(v[0].details["claims"][0]["node"] == 1);
  CHECK(v[0].details["claims"][1]["node"] == 2);
  CHECK(v[0].message.find("leader epoch 1") != std::string::npos);
  CHECK(v[0].message.find("node 2 at 12.000s") != std::string::npos);
}

TEST_CASE("cluster checks: single-controller: two controllers leading the metadata quorum in one epoch", "[sim][check]") {
  Obs o = clean();
  o.raft_leaders.push_back({11 * second_ns, 2, 2});
  o.raft_leaders.push_back({12 * second_ns, 0, 3});  // a later epoch of its own: fine
  const auto r = only(o, "single-controller");
  const auto v = of(r, "single-controller");
  REQUIRE(v.size() == 1);
  CHECK_FALSE(r.passed());
  CHECK(v[0].key.empty());
  CHECK(v[0].at_ns == 11 * second_ns);
  CHECK(v[0].details["epoch"] == 2);
  CHECK(v[0].details["claims"] == nlohmann::json::array({{{"node", 1}, {"at_ns", 10 * second_ns}},
                                                          {{"node", 2}, {"at_ns", 11 * second_ns}}}));
  CHECK(v[0].message.find("epoch 2") != std::string::npos);
}

TEST_CASE("cluster checks: metadata-committed: two different entries committed at one offset", "[sim][check]") {
  SECTION("a different hash") {
    Obs o = clean();
    for (auto& c : o.metadata_commits) {
      if (c.node == 2 && c.offset == 3) c.data_hash = 77;
    }
    const auto v = of(only(o, "metadata-committed"), "metadata-committed");
    REQUIRE(v.size() == 1);
    CHECK(v[0].details["offset"] == 3);
    REQUIRE(v[0].details["versions"].size() == 2);
    CHECK(v[0].details["versions"][0]["data_hash"] == 77);
    CHECK(v[0].details["versions"][0]["commits"][0]["node"] == 2);
    CHECK(v[0].details["versions"][1]["commits"].size() == 2);
    CHECK(v[0].at_ns == 5 * second_ns + 2);  // when the second version was first committed
    CHECK(v[0].message.find("metadata offset 3") != std::string::npos);
  }
  SECTION("the same data in a different epoch") {
    Obs o = clean();
    for (auto& c : o.metadata_commits) {
      if (c.node == 0 && c.offset == 1) c.epoch = 7;
    }
    const auto v = of(only(o, "metadata-committed"), "metadata-committed");
    REQUIRE(v.size() == 1);
    CHECK(v[0].details["offset"] == 1);
  }
}

TEST_CASE("cluster checks: metadata-committed: a node whose final committed end is behind the largest reached",
          "[sim][check]") {
  Obs o = clean();
  o.final_metadata_end[2] = 3;  // node 2 committed offsets 0..4 during the run, ended at 3
  o.final_metadata_end[1] = 6;  // ahead of anything observed: not a loss
  const auto r = only(o, "metadata-committed");
  const auto v = of(r, "metadata-committed");
  REQUIRE(v.size() == 1);
  CHECK_FALSE(r.passed());
  CHECK(v[0].details["node"] == 2);
  CHECK(v[0].details["final_end"] == 3);
  CHECK(v[0].details["max_committed_end"] == 5);
  CHECK(v[0].details["reached_by"] == 0);  // node 0 committed offset 4 first
  CHECK(v[0].at_ns == 6 * second_ns);
  CHECK(v[0].message.find("2 committed entries lost") != std::string::npos);

  SECTION("a node absent from the final ends is not judged") {
    o.final_metadata_end.erase(2);
    CHECK(only(o, "metadata-committed").passed());
  }
}

TEST_CASE("cluster checks: replica-divergence: replicas must agree below both high watermarks", "[sim][check]") {
  SECTION("a record with a different hash below the high watermark") {
    Obs o;
    o.replica_snapshots = {replica(0, 5, 0, 5), replica(1, 5, 0, 5), replica(2, 5, 0, 5)};
    o.replica_snapshots[1].records[2].hash = 1;
    const auto r = only(o, "replica-divergence");
    const auto v = of(r, "replica-divergence");
    REQUIRE(v.size() == 2);  // node 1 against node 0, and against node 2
    CHECK_FALSE(r.passed());
    CHECK(v[0].key == "t-0");
    CHECK(v[0].details["offset"] == 2);
    CHECK(v[0].details["replicas"][0]["node"] == 0);
    CHECK(v[0].details["replicas"][1]["node"] == 1);
    CHECK(v[0].details["records"][1]["hash"] == 1);
    CHECK(v[1].details["replicas"][0]["node"] == 1);
    CHECK(v[1].details["replicas"][1]["node"] == 2);
    CHECK(v[0].message.find("diverge at offset 2") != std::string::npos);
  }
  SECTION("a different leader epoch below the high watermark; only the first divergent offset is reported") {
    Obs o;
    o.replica_snapshots = {replica(0, 5, 0, 5), replica(1, 5, 0, 5)};
    o.replica_snapshots[1].records[3].leader_epoch = 2;
    o.replica_snapshots[1].records[4].hash = 9;
    const auto v = of(only(o, "replica-divergence"), "replica-divergence");
    REQUIRE(v.size() == 1);
    CHECK(v[0].details["offset"] == 3);
  }
  SECTION("a replica missing a record below the high watermark") {
    Obs o;
    o.replica_snapshots = {replica(0, 5, 0, 5), replica(1, 5, 0, 5)};
    auto& recs = o.replica_snapshots[0].records;
    recs.erase(recs.begin() + 1);
    const auto v = of(only(o, "replica-divergence"), "replica-divergence");
    REQUIRE(v.size() == 1);
    CHECK(v[0].details["offset"] == 1);
    CHECK(v[0].details["records"][0].is_null());
    CHECK(v[0].message.find("node 0 has no record") != std::string::npos);
  }
}

TEST_CASE("cluster checks: replica-divergence: what is not compared, and divergence under unclean leader election",
          "[sim][check]") {
  SECTION("above a high watermark, records may differ and be missing") {
    Obs o;
    o.replica_snapshots = {replica(0, 3, 0, 6), replica(1, 5, 0, 4)};  // compared: [0, 3)
    o.replica_snapshots[0].records[3].leader_epoch = 5;
    o.replica_snapshots[0].records[4].hash = 1;
    CHECK(only(o, "replica-divergence").passed());
  }
  SECTION("below a replica's log start, records are not compared") {
    Obs o;
    o.replica_snapshots = {replica(0, 5, 0, 5), replica(1, 5, 2, 5)};
    o.replica_snapshots[0].records[1].hash = 1;
    CHECK(only(o, "replica-divergence").passed());
  }
  SECTION("under unclean leader election: allowed at a checkpoint, a failure in the final snapshot") {
    Obs o;
    o.replica_snapshots = {replica(0, 5, 0, 5, "checkpoint"), replica(1, 5, 0, 5, "checkpoint"), replica(0, 5, 0, 5),
                           replica(1, 5, 0, 5)};
    o.replica_snapshots[0].at_ns = o.replica_snapshots[1].at_ns = 10 * second_ns;
    o.replica_snapshots[1].records[3].hash = 1;
    o.replica_snapshots[3].records[4].hash = 1;
    History h;
    h.unclean_election = true;
    const auto r = run_checks(h, o, {"replica-divergence"});
    REQUIRE(r.violations.size() == 2);
    CHECK_FALSE(r.passed());
    CHECK(r.counts.at("replica-divergence") == 2);
    CHECK(r.violations[0].details["label"] == "checkpoint");
    CHECK(r.violations[0].allowed);
    CHECK(r.violations[0].message.find("unclean leader election") != std::string::npos);
    CHECK(r.violations[1].details["label"] == "final");
    CHECK_FALSE(r.violations[1].allowed);
  }
  SECTION("replicas are compared only with those snapshotted at the same moment") {
    Obs o;
    o.replica_snapshots = {replica(0, 5, 0, 5, "checkpoint"), replica(1, 5, 0, 5)};
    o.replica_snapshots[1].records[1].hash = 1;
    CHECK(only(o, "replica-divergence").passed());
  }
}

TEST_CASE("cluster checks: high-watermark-monotonic: a consumer's high watermark must never go back", "[sim][check]") {
  History h;
  h.keys = {"t-0", "t-1"};
  h.add(poll_op(1, {{0, 10}, {1, 4}}, 1 * second_ns));
  h.add(poll_op(2, {{0, 3}}, 2 * second_ns));          // another process starts afresh
  h.add(poll_op(1, {{1, 4}, {0, 12}}, 3 * second_ns));  // equal and rising: fine
  h.add(poll_op(1, {{0, 7}}, 4 * second_ns));           // back from 12
  const auto r = run_checks(h, Obs{}, {"high-watermark-monotonic"});
  const auto v = of(r, "high-watermark-monotonic");
  REQUIRE(v.size() == 1);
  CHECK_FALSE(r.passed());
  CHECK(v[0].key == "t-0");
  CHECK(v[0].at_ns == 4 * second_ns + 1000);
  CHECK(v[0].details["process"] == 1);
  CHECK(v[0].details["high_watermark"] == 7);
  CHECK(v[0].details["previous_high_watermark"] == 12);
  CHECK(v[0].details["op"] == 3);
  CHECK(v[0].details["previous_op"] == 2);
  CHECK(v[0].message.find("from 12") != std::string::npos);

  SECTION("within one poll too") {
    h.add(poll_op(2, {{1, 9}, {1, 8}}, 5 * second_ns));
    CHECK(of(run_checks(h, Obs{}, {"high-watermark-monotonic"}), "high-watermark-monotonic").size() == 2);
  }
}

TEST_CASE("cluster checks: lost-write and unseen are counted but allowed under unclean leader election",
          "[sim][check]") {
  // Value 11 acknowledged at offset 1 and never read, though value 12 after it was.
  History h;
  h.keys = {"t-0"};
  std::int64_t now = 1'000'000;
  for (std::int64_t v = 10; v < 13; ++v) {
    Op op;
    op.process = 1;
    op.type = OpType::send;
    op.key = 0;
    op.value = v;
    op.offset = v - 10;
    op.invoke_ns = now;
    op.complete_ns = now += 1000;
    h.add(op);
  }
  Op poll = poll_op(2, {}, now);
  poll.reads = {{0, 0, 10}, {0, 2, 12}};
  h.add(poll);

  const std::vector<std::string> losses = {"lost-write", "unseen"};
  SECTION("clean election only: a failure") {
    const auto r = run_checks(h, losses);
    CHECK_FALSE(r.passed());
    CHECK(r.counts.at("lost-write") == 1);
    CHECK(r.counts.at("unseen") == 1);
    REQUIRE(r.violations.size() == 2);
    for (const auto& v : r.violations) {
      CHECK_FALSE(v.allowed);
      CHECK(v.message.find("unclean") == std::string::npos);
    }
  }
  SECTION("unclean election: reported and counted, allowed") {
    h.unclean_election = true;
    const auto r = run_checks(h, losses);
    CHECK(r.passed());
    CHECK(r.counts.at("lost-write") == 1);
    CHECK(r.counts.at("unseen") == 1);
    REQUIRE(r.violations.size() == 2);
    CHECK(r.violations[0].check == "lost-write");
    CHECK(r.violations[1].check == "unseen");
    for (const auto& v : r.violations) {
      CHECK(v.allowed);
      CHECK(v.message.find("unclean leader election") != std::string::npos);
    }
  }
}

TEST_CASE("cluster checks: reassignment-completed: a move must end on its target, finished, with no replica left behind",
          "[sim][check]") {
  using Ids = std::vector<std::int32_t>;
  const auto asked = [](std::int64_t at_s, Ids target, bool answered = true, std::int16_t error = 0) {
    Obs::Reassignment r;
    r.at_ns = at_s * second_ns;
    r.node = 1;
    r.partition = "t-0";
    r.target = std::move(target);
    r.answered = answered;
    r.error = error;
    return r;
  };
  Obs o;
  o.reassignments = {asked(5, {0, 1, 2}), asked(8, {4, 0}, true, 39), asked(9, {2, 1, 0})};
  o.final_assignments["t-0"] = {{2, 1, 0}, {}, {}};
  o.replica_snapshots = {replica(0, 5, 0, 5), replica(1, 5, 0, 5), replica(2, 5, 0, 5)};
  // The last accepted target holds (the refused one in between does not count).
  CHECK(only(o, "reassignment-completed").violations.empty());

  SECTION("still reassigning at the end") {
    o.final_assignments["t-0"] = {{2, 1, 0, 3}, {}, {3}};
    const auto r = only(o, "reassignment-completed");
    REQUIRE(r.violations.size() == 1);
    CHECK(r.violations[0].message == "t-0 ended the run still reassigning: replicas [2,1,0,3], adding [], removing [3]");
  }
  SECTION("ended on other replicas than the last accepted target") {
    o.final_assignments["t-0"] = {{0, 1, 2}, {}, {}};
    const auto r = only(o, "reassignment-completed");
    REQUIRE(r.violations.size() == 1);
    CHECK(r.violations[0].message == "t-0 ended on replicas [0,1,2], not on [2,1,0] that broker-1 accepted at 9.000s");
  }
  SECTION("a later request whose answer was lost may be the one that took effect") {
    o.reassignments.push_back(asked(12, {3, 1, 0}, false));
    o.final_assignments["t-0"] = {{3, 1, 0}, {}, {}};
    o.replica_snapshots = {replica(0, 5, 0, 5), replica(1, 5, 0, 5), replica(3, 5, 0, 5)};
    CHECK(only(o, "reassignment-completed").violations.empty());
  }
  SECTION("a cancel answered 'no reassignment in progress' may have been carried out by a controller that lost "
          "leadership before answering") {
    o.reassignments.push_back(asked(12, {}, true, 85));
    o.reassignments.back().target.reset();
    o.final_assignments["t-0"] = {{1, 0, 2}, {}, {}};
    CHECK(only(o, "reassignment-completed").violations.empty());
    // A move refused for a bad target proves nothing of the kind.
    o.reassignments.back() = asked(12, {1, 0, 2}, true, 39);
    CHECK(only(o, "reassignment-completed").violations.size() == 1);
  }
  SECTION("a cancel ends wherever the move began") {
    o.reassignments.push_back(asked(12, {}, true));
    o.reassignments.back().target.reset();
    o.final_assignments["t-0"] = {{1, 0, 2}, {}, {}};
    CHECK(only(o, "reassignment-completed").violations.empty());
  }
  SECTION("a broker outside the final replicas still holds the partition") {
    o.final_logs = {{0, "t-0", 5}, {1, "t-0", 5}, {2, "t-0", 5}};
    CHECK(only(o, "reassignment-completed").violations.empty());
    o.final_logs.push_back({3, "t-0", 2});
    const auto r = only(o, "reassignment-completed");
    REQUIRE(r.violations.size() == 1);
    CHECK(r.violations[0].message == "broker-3 still holds t-0 (log end 2) although the replicas are [2,1,0]");
  }
}
