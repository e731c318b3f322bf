// Coordinator failover in the simulated world: three Keel nodes, __consumer_offsets with one
// partition replicated three times, a classic group of members committing and rebalancing (raw
// protocol, tests/support/group_client.h), and the leader of the group's partition cut off from its
// followers and then killed while commits are in flight and a rebalance waits. Every acknowledged commit is readable from the new
// coordinator, which loads the partition (answering COORDINATOR_LOAD_IN_PROGRESS meanwhile), and a
// seed replays the same run.
#include <catch2/catch.hpp>

#include <map>
#include <memory>

#include "net-sim/network.h"
#include "tests/support/group_client.h"
#include "tests/support/keel_world.h"

using namespace keel;
using namespace std::chrono_literals;
using protocol::ErrorCode;

namespace {

constexpr int keel_nodes = 3;
constexpr int client_node = 3;
constexpr std::int32_t partitions = 4;

std::int16_t code(ErrorCode c) { return static_cast<std::int16_t>(c); }

// What the members saw and did, shared between their tasks and the test.
struct Shared {
  std::map<std::int32_t, std::int64_t> acknowledged;  // partition -> highest offset whose commit was acknowledged
  std::map<std::int32_t, std::int64_t> attempted;     // partition -> highest offset sent
  std::int64_t load_in_progress = 0;                  // answers COORDINATOR_LOAD_IN_PROGRESS
  std::int64_t acknowledged_after_kill = 0;
  int first_coordinator = -1;
  bool killed = false;
  bool stop = false;
  int rejoins = 0;
  int verified = 0;  // members that read their partition's offset back from the new coordinator
  int lost = 0;      // ...and found less than what was acknowledged to them
};

struct Outcome {
  std::uint64_t trace_hash = 0;
  Shared shared;
  std::vector<std::int64_t> fetched;  // committed offsets read from the new coordinator at the end
  int final_coordinator = -1;
  std::map<int, std::int64_t> loads_completed;  // node -> CoordinatorLoaded events
  bool finished = false;
};

void note(Shared& s, std::int16_t error) {
  if (error == code(ErrorCode::coordinator_load_in_progress)) ++s.load_in_progress;
}

// (Re)joins and syncs until the member is in a Stable generation or the run stops. The leader gives
// each member a byte; the assignment itself does not matter here.
void rejoin(Runtime& rt, test::GroupMember& m, Shared& s) {
  while (!s.stop) {
    auto joined = m.join(10000, 15000);
    if (joined && joined->error_code == 0) {
      std::vector<protocol::SyncGroupRequest::Assignment> assignments;
      for (const auto& other : joined->members) assignments.push_back({other.member_id, protocol::Bytes{1}});
      auto synced = m.sync(std::move(assignments));
      if (synced && synced->error_code == 0) return;
      if (synced) note(s, synced->error_code);
    } else if (joined) {
      note(s, joined->error_code);
    }
    if (!joined || test::coordinator_moved(joined->error_code)) (void)m.find_coordinator(rt.now() + 60s);
    rt.sleep_for(100ms);
  }
}

// After the kill, the member's first read from its new coordinator: the offset last acknowledged to
// it (it is its partition's only committer) must be there. False when the coordinator moved again.
bool check_offset(Runtime& rt, test::GroupMember& m, std::int32_t partition, Shared& s) {
  if (m.coordinator() == s.first_coordinator) return false;  // not yet the new one
  for (int attempt = 0; attempt < 200; ++attempt) {
    auto fetched = m.fetch(partition + 1);
    if (!fetched) return false;
    if (fetched->error == 0) {
      ++s.verified;
      if (fetched->offsets[static_cast<std::size_t>(partition)] < s.acknowledged[partition]) ++s.lost;
      return true;
    }
    note(s, fetched->error);
    if (!test::coordinator_moved(fetched->error)) return false;
    rt.sleep_for(20ms);
  }
  return false;
}

// A member: joins, then commits its own partition in a loop (heartbeating between commits), joining
// again when the group rebalances and finding the coordinator again when it moves.
void member_loop(Runtime& rt, test::GroupMember& m, std::int32_t partition, Shared& s) {
  if (!m.find_coordinator(rt.now() + 60s)) return;
  if (s.first_coordinator < 0) s.first_coordinator = m.coordinator();
  rejoin(rt, m, s);
  std::int64_t offset = 0;
  bool checked = false;
  while (!s.stop) {
    const std::int64_t next = ++offset;
    s.attempted[partition] = next;
    const auto error = m.commit(partition, next, false);
    const auto beat = error && *error == 0 ? m.heartbeat() : std::nullopt;
    if (error && *error == 0) {
      s.acknowledged[partition] = next;
      if (s.killed) ++s.acknowledged_after_kill;
    }
    const std::int16_t e = error ? *error : (beat ? beat->error_code : std::int16_t{0});
    const std::int16_t b = beat ? beat->error_code : std::int16_t{0};
    note(s, e);
    if (!error || test::coordinator_moved(e)) {
      rt.sleep_for(20ms);
      if (m.find_coordinator(rt.now() + 60s) && s.killed && !checked) checked = check_offset(rt, m, partition, s);
      continue;
    }
    if (e == code(ErrorCode::rebalance_in_progress) || e == code(ErrorCode::illegal_generation) ||
        b == code(ErrorCode::rebalance_in_progress)) {
      ++s.rejoins;
      rejoin(rt, m, s);
    }
    rt.sleep_for(20ms);
  }
}

// From the kill until a surviving node answers for the group, asks both survivors every 2 ms: the
// new coordinator answers COORDINATOR_LOAD_IN_PROGRESS while it loads.
void probe_load(Runtime& rt, const std::vector<Address>& servers, Shared& s) {
  while (!s.killed) rt.sleep_for(1ms);
  std::map<int, std::unique_ptr<test::RawClient>> clients;
  protocol::OffsetFetchRequest request;
  request.group_id = "failover";
  while (!s.stop) {
    for (int n = 0; n < keel_nodes; ++n) {
      if (n == s.first_coordinator) continue;
      auto& c = clients[n];
      if (!c) {
        c = std::make_unique<test::RawClient>(rt, servers[static_cast<std::size_t>(n)]);
        if (!c->try_connect()) {
          c.reset();
          continue;
        }
      }
      auto r = c->call<protocol::OffsetFetchResponse>(request, 7);
      if (!r) {
        c.reset();
        continue;
      }
      note(s, r->error_code);
      if (r->error_code == 0) return;
    }
    rt.sleep_for(2ms);
  }
}

std::string cluster_extra() {
  return "offsets.topic.replication.factor=3\noffsets.topic.num.partitions=1\nmin.insync.replicas=2\n"
         "replica.lag.time.max.ms=5000\nbroker.session.timeout.ms=3000\nbroker.heartbeat.interval.ms=500\n"
         "group.initial.rebalance.delay.ms=500\n";
}

// The end: a fresh client reads the group's offsets from whoever coordinates it now.
void read_final_offsets(Runtime& rt, const std::vector<Address>& servers, Outcome& out) {
  test::GroupMember reader(rt, servers, "failover");
  for (int attempt = 0; attempt < 100 && out.fetched.empty(); ++attempt) {
    if (!reader.find_coordinator(rt.now() + 60s)) continue;
    auto fetched = reader.fetch(partitions);
    if (fetched && fetched->error == 0) {
      out.fetched = fetched->offsets;
      out.final_coordinator = reader.coordinator();
    } else {
      if (fetched) note(out.shared, fetched->error);
      rt.sleep_for(100ms);
    }
  }
}

Outcome run_failover(std::uint64_t seed) {
  Outcome out;
  sim::WorldOptions options = test::world_options(seed);
  options.trace.observer = [&out](std::int64_t, int node, std::string_view name, std::string_view) {
    if (name == "CoordinatorLoaded") ++out.loads_completed[node];
  };
  sim::World world(options);
  test::add_nodes(world, keel_nodes + 1);
  for (int n = 0; n < keel_nodes; ++n) test::start_keel_node(world, n, test::cluster_node_config(n, keel_nodes, cluster_extra()));
  Shared& s = out.shared;
  const auto servers = test::cluster_bootstrap(keel_nodes);
  bool ready = false;
  world.node(client_node).set_main([&](Runtime& rt) {
    if (!test::await_serving(rt, servers, keel_nodes) || !test::create_topic_retrying(rt, "t", partitions, 30s, servers)) return;
    ready = true;
    std::vector<std::unique_ptr<test::GroupMember>> members;
    for (std::int32_t p = 0; p < partitions; ++p) members.push_back(std::make_unique<test::GroupMember>(rt, servers, "failover"));
    WaitGroup wg;
    wg.add();
    rt.spawn("load-prober", [&] {
      probe_load(rt, servers, s);
      wg.done();
    });
    for (std::int32_t p = 0; p < partitions; ++p) {
      wg.add();
      rt.spawn("member", [&, p] {
        // The last member joins later: its join starts a rebalance the kill lands in.
        if (p == partitions - 1) rt.sleep_for(4s);
        member_loop(rt, *members[static_cast<std::size_t>(p)], p, s);
        wg.done();
      });
    }
    wg.wait();
    read_final_offsets(rt, servers, out);
    out.finished = true;
  });
  world.node(client_node).start();
  REQUIRE(world.run_while([&] { return !ready; }, world.now() + 120s));
  // Commits and the first rebalance run; the late member's join lands at 4 s, the kill just after.
  world.run_for(4s + 300ms);
  REQUIRE(s.first_coordinator >= 0);
  // First cut the coordinator off from the other brokers (clients still reach it): commits are
  // appended on it alone and must not be acknowledged; then kill it. A coordinator that answered
  // before the high watermark would lose what it acknowledged here.
  std::vector<int> others;
  for (int n = 0; n < keel_nodes; ++n) {
    if (n != s.first_coordinator) others.push_back(n);
  }
  world.net().partition({s.first_coordinator}, others);
  world.run_for(300ms);
  s.killed = true;
  world.node(s.first_coordinator).kill();
  world.net().heal_all();
  world.run_for(20s);
  world.node(s.first_coordinator).start();  // back, as a follower
  world.run_for(5s);
  s.stop = true;
  REQUIRE(world.run_while([&] { return !out.finished; }, world.now() + 180s));
  out.trace_hash = world.trace().hash();
  test::kill_all(world);
  return out;
}

}  // namespace

TEST_CASE("group failover: the coordinator's node killed during commits and a rebalance; acknowledged commits "
          "survive on the new coordinator, which loads first; one seed, one run",
          "[group][sim]") {
  const std::uint64_t seed = GENERATE(range(1, 4));  // 1..20 all pass; three keep the default run short
  INFO("seed " << seed);
  const Outcome a = run_failover(seed);
  const Shared& s = a.shared;
  REQUIRE(a.fetched.size() == static_cast<std::size_t>(partitions));
  CHECK(a.final_coordinator != s.first_coordinator);  // leadership moved and stayed (no preferred-leader move back yet)
  for (std::int32_t p = 0; p < partitions; ++p) {
    INFO("partition " << p);
    REQUIRE(s.acknowledged.contains(p));
    // Every acknowledged commit is there; nothing beyond what was sent.
    CHECK(a.fetched[static_cast<std::size_t>(p)] >= s.acknowledged.at(p));
    CHECK(a.fetched[static_cast<std::size_t>(p)] <= s.attempted.at(p));
  }
  CHECK(s.verified == partitions);  // each member read its offset back from the new coordinator...
  CHECK(s.lost == 0);                // ...and found every commit acknowledged to it
  CHECK(s.acknowledged_after_kill > 0);   // the group went on committing through the new coordinator
  CHECK(s.rejoins > 0);                   // the late member's join made the others rebalance
  CHECK(s.load_in_progress > 0);          // the new coordinator answered while it loaded
  CHECK(a.loads_completed.size() >= 2);   // loaded on the first coordinator and on its successor

  const Outcome b = run_failover(seed);
  CHECK(a.trace_hash == b.trace_hash);
  CHECK(a.fetched == b.fetched);
}
