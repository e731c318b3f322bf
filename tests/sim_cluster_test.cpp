// A replicated cluster end to end in the simulated world: three KRaft nodes (broker and controller
// in one), replication factor 3, a workload with acks=all, and faults; what the replicas hold at the
// end, who led, what the quorum committed, and that one seed replays one run.
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <map>
#include <set>

#include "sim/runner.h"
#include "sim/scenario/scenario.h"
#include "tests/support/scenario_run.h"

namespace {

using namespace keel;
using namespace keel::sim;
using keel::test::run_seed;

// Three combined nodes, RF 3, min.insync.replicas 2; `faults` is the scenario's faults object.
scenario::Scenario three_nodes(const std::string& faults, const std::string& duration = "20s") {
  const std::string text = fmt::format(R"({{
    "name": "cluster-test",
    "cluster": {{ "brokers": 3, "config": {{ "min.insync.replicas": 2, "replica.lag.time.max.ms": 5000,
                                         "broker.session.timeout.ms": 3000, "broker.heartbeat.interval.ms": 500 }} }},
    "topics": [ {{ "name": "events", "partitions": 3, "replication_factor": 3 }} ],
    "workload": {{
      "producers": [ {{ "topic": "events", "rate": 100, "acks": "all" }} ],
      "consumers": [ {{ "topics": ["events"] }} ]
    }},
    "faults": {},
    "duration": "{}",
    "quiescence": {{ "recover": "5s" }}
  }})",
                                       faults, duration);
  auto s = scenario::parse_scenario(text, "cluster-test");
  REQUIRE(s);
  return *s;
}

// partition -> node -> the records of that replica at the end
using Replicas = std::map<std::string, std::map<int, std::vector<check::ClusterObservations::ReplicaRecord>>>;

Replicas final_replicas(const RunOutcome& r) {
  Replicas out;
  for (const auto& snap : r.cluster.replica_snapshots) {
    if (snap.label == "final") out[snap.partition][snap.node] = snap.records;
  }
  return out;
}

bool same_records(const std::vector<check::ClusterObservations::ReplicaRecord>& a,
                  const std::vector<check::ClusterObservations::ReplicaRecord>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].offset != b[i].offset || a[i].hash != b[i].hash || a[i].leader_epoch != b[i].leader_epoch) return false;
  }
  return true;
}

}  // namespace

TEST_CASE("cluster: three KRaft nodes elect a controller, replicate every partition to all three replicas, and "
          "acknowledge with acks=all",
          "[sim][cluster]") {
  const auto r = run_seed(three_nodes(R"({})"), 1);
  CHECK(r.passed());
  CHECK(r.report.stats.records_acknowledged > 1000);
  CHECK(r.report.stats.records_final_read >= r.report.stats.records_acknowledged);
  CHECK_FALSE(r.cluster.raft_leaders.empty());
  // Every node applied the same committed metadata, and it reached all three.
  REQUIRE(r.cluster.final_metadata_end.size() == 3);
  std::set<std::int64_t> ends;
  for (const auto& [node, end] : r.cluster.final_metadata_end) ends.insert(end);
  CHECK(*ends.begin() > 3);  // registrations of three brokers and the topic at least
  // Each partition has a leader claim and three replicas holding the same records after quiescence.
  const auto replicas = final_replicas(r);
  REQUIRE(replicas.size() == 3);
  std::size_t records = 0;
  for (const auto& [partition, nodes] : replicas) {
    REQUIRE(nodes.size() == 3);
    const auto& first = nodes.begin()->second;
    records += first.size();
    for (const auto& [node, recs] : nodes) CHECK(same_records(recs, first));
  }
  CHECK(records == r.report.stats.records_acknowledged + 3);  // + a liveness probe per partition
  std::set<std::string> led;
  for (const auto& claim : r.cluster.leader_claims) led.insert(claim.partition);
  CHECK(led.size() == 3);
}

TEST_CASE("cluster: killing a leader moves leadership to another in-sync replica at a higher epoch, and the "
          "restarted node catches up",
          "[sim][cluster]") {
  const auto r = run_seed(three_nodes(R"({"scripted": [{"at": "6s", "kill": "broker-0"}, {"at": "12s", "restart": "broker-0"}]})"), 2);
  CHECK(r.passed());
  // Some partition got a second leader (epoch > 0) on a node other than broker-0.
  bool moved = false;
  for (const auto& claim : r.cluster.leader_claims) moved = moved || (claim.leader_epoch > 0 && claim.node != 0);
  CHECK(moved);
  for (const auto& [partition, nodes] : final_replicas(r)) {
    REQUIRE(nodes.size() == 3);
    for (const auto& [node, recs] : nodes) CHECK(same_records(recs, nodes.begin()->second));
  }
}

TEST_CASE("cluster: one seed replays the same replicated run, bit for bit", "[sim][cluster]") {
  const auto s = three_nodes(R"({"scripted": [{"at": "4s", "reassign": "events-0", "replicas": ["broker-2", "broker-0"]},
                                               {"at": "5s", "kill": "broker-1"}, {"at": "8s", "restart": "broker-1"},
                                               {"at": "9s", "reassign": "events-0"}]})",
                             "12s");
  const auto a = run_seed(s, 7);
  const auto b = run_seed(s, 7);
  const auto c = run_seed(s, 8);
  CHECK(a.trace_hash == b.trace_hash);
  CHECK(a.trace_hash != c.trace_hash);
  CHECK(a.report.stats.records_acknowledged == b.report.stats.records_acknowledged);
}

TEST_CASE("cluster: a clean stop is a controlled shutdown: the broker's leaderships move to other replicas before "
          "its process ends",
          "[sim][cluster]") {
  const auto r = run_seed(three_nodes(R"({"scripted": [{"at": "6s", "shutdown": "broker-1"}, {"at": "12s", "restart": "broker-1"}]})"), 3);
  CHECK(r.passed());
  std::int64_t stopped_ns = -1;
  for (const auto& e : r.report.timeline) {
    if (e.name == "ProcessStop" && e.node == 1 && e.at_ns >= 6'000'000'000 && stopped_ns < 0) stopped_ns = e.at_ns;
  }
  REQUIRE(stopped_ns > 0);
  // Broker 1 led something before, and every partition it led got a new leader before it stopped.
  std::set<std::string> led_by_1;
  for (const auto& c : r.cluster.leader_claims) {
    if (c.node == 1 && c.at_ns < 6'000'000'000) led_by_1.insert(c.partition);
  }
  REQUIRE_FALSE(led_by_1.empty());
  for (const auto& partition : led_by_1) {
    bool handed_over = false;
    for (const auto& c : r.cluster.leader_claims) {
      handed_over = handed_over || (c.partition == partition && c.node != 1 && c.at_ns >= 6'000'000'000 &&
                                    c.at_ns < stopped_ns);
    }
    CHECK(handed_over);
  }
}

TEST_CASE("cluster: a partition reassigned onto a broker it never had: the newcomer starts at the leader's log start "
          "(retention took the rest), joins the ISR and the move completes",
          "[sim][cluster]") {
  // Replication factor 2 on three brokers: one broker lacks the partition, and the move to all three
  // must bring it in. Retention keeps only the newest few segments, so by then the leader's log no
  // longer starts at 0. The checks that judge the history against what consumers read back are left
  // out: retention deleting records is not a loss.
  const std::string text = R"({
    "name": "cluster-reassign-test",
    "cluster": { "brokers": 3, "config": { "min.insync.replicas": 1, "log.retention.check.interval.ms": 500,
                                         "log.initial.task.delay.ms": 1000 } },
    "topics": [ { "name": "events", "partitions": 1, "replication_factor": 2,
                  "configs": { "segment.bytes": "4096", "retention.bytes": "16384" } } ],
    "workload": { "producers": [ { "topic": "events", "rate": 100, "acks": "all" } ] },
    "faults": { "scripted": [ { "at": "12s", "reassign": "events-0", "replicas": ["broker-2", "broker-0", "broker-1"] } ] },
    "duration": "20s",
    "quiescence": { "recover": "5s" },
    "checks": [ "single-leader", "single-controller", "metadata-committed", "replica-divergence", "reassignment-completed" ]
  })";
  auto s = scenario::parse_scenario(text, "cluster-reassign-test");
  REQUIRE(s);
  const auto r = run_seed(*s, 5);
  INFO((r.report.violations.empty() ? std::string() : r.report.violations.front().message));
  CHECK(r.passed());
  const auto& a = r.cluster.final_assignments.at("events-0");
  CHECK(a.replicas == std::vector<std::int32_t>{2, 0, 1});
  CHECK(a.adding.empty());
  CHECK(a.removing.empty());
  std::int64_t started_over_at = -1;
  bool answered = false;
  for (const auto& e : r.report.timeline) {
    if (e.name == "ReassignAnswered") answered = e.fields.value("error", -1) == 0;
    if (e.name == "ReplicaStartOver" && e.fields.value("LeaderLogStart", std::int64_t{0}) > 0) started_over_at = e.at_ns;
  }
  CHECK(answered);
  CHECK(started_over_at >= 12'000'000'000);
  // Every replica ends with the same records from the newcomer's start on.
  const auto replicas = final_replicas(r);
  REQUIRE(replicas.at("events-0").size() == 3);
  std::int64_t newest_start = 0;
  for (const auto& snap : r.cluster.replica_snapshots)
    if (snap.label == "final") newest_start = std::max(newest_start, snap.log_start);
  CHECK(newest_start > 0);
}


TEST_CASE("cluster: a follower that starts over at a leader log start inside a batch (DeleteRecords) takes the batch "
          "whole, from its base",
          "[sim][cluster]") {
  // Broker 2 is down while DeleteRecords moves the leader's log start, which lands inside the
  // producer's large batches (400 ms of lingering at 200 records/s). Back, broker 2 is below the
  // leader's log start: it starts over there, and the first batch it fetches begins below that
  // offset. Kafka's follower restarts its empty log at the batch's base and appends the batch; an
  // append below the log end would be refused (Keel asserted, in delete-records seed 25).
  const std::string text = R"({
    "name": "straddling-batch-test",
    "cluster": { "brokers": 3, "config": { "min.insync.replicas": 2, "replica.fetch.backoff.ms": 200,
                                         "replica.lag.time.max.ms": 1500, "log.flush.interval.messages": 1 } },
    "topics": [ { "name": "trimmed", "partitions": 1, "replication_factor": 3 } ],
    "workload": {
      "producers": [ { "topic": "trimmed", "rate": 200, "acks": "all", "linger": "400ms", "batch_bytes": 1000000 } ],
      "consumers": [ { "topics": ["trimmed"], "assignment": "all" } ],
      "delete_records": [ { "topic": "trimmed", "every": "1s" } ]
    },
    "faults": { "scripted": [ { "at": "3s", "kill": "broker-2" }, { "at": "10s", "restart": "broker-2" } ] },
    "duration": "14s",
    "quiescence": { "recover": "5s", "final_read_timeout": "30s", "liveness_within": "20s" }
  })";
  auto s = scenario::parse_scenario(text, "straddling-batch-test");
  REQUIRE(s);
  const auto r = run_seed(*s, 7);  // seeds 7, 10, 12, 16 and 18 of 1..30 reach both marks
  INFO((r.report.violations.empty() ? std::string() : r.report.violations.front().message));
  CHECK(r.passed());
  CHECK(r.report.marks.count("partition.follower.started_over_at_leader_log_start") == 1);
  CHECK(r.report.marks.count("partition.follower.started_over_at_straddling_batch") == 1);
  // Every replica ends with the same records from the newest log start on.
  CHECK(final_replicas(r).at("trimmed-0").size() == 3);
}
