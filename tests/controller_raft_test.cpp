// The KRaft-style Raft core: unit tests of the vote, fetch, high-watermark, check-quorum, restart
// and snapshot rules on a small synchronous bench, then a seeded simulation in the spirit of
// Kafka's RaftEventSimulationTest that runs 3- and 5-voter clusters (plus an observer) through
// message delays, drops, partitions, kills and restarts, checking the safety invariants after
// every event. Each invariant checker also has a test where it fails on a crafted history.
#include "broker/controller/raft.h"

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <set>
#include <string>

using namespace keel::controller::raft;
using keel::Random;

namespace {

Bytes value_bytes(std::int64_t v) {
  Bytes b(8);
  for (int i = 0; i < 8; ++i) b[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(v >> (8 * i));
  return b;
}

std::int64_t bytes_value(const Bytes& b, std::size_t at = 0) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | b.at(at + static_cast<std::size_t>(i));
  return static_cast<std::int64_t>(v);
}

RaftConfig make_config(NodeId id, std::vector<NodeId> voters, std::uint64_t seed = 7) {
  RaftConfig c;
  c.node_id = id;
  c.voters = std::move(voters);
  c.seed = seed;
  c.max_entries_per_fetch = 16;
  c.snapshot_chunk_bytes = 16;
  return c;
}

std::vector<Entry> entries_with_epochs(const std::vector<std::int32_t>& epochs, std::int64_t from = 0) {
  std::vector<Entry> out;
  for (auto e : epochs) {
    const auto offset = from + static_cast<std::int64_t>(out.size());
    out.push_back(Entry{offset, e, value_bytes(offset)});
  }
  return out;
}

template <class T>
std::vector<T> messages_of(const Ready& r) {
  std::vector<T> out;
  for (const auto& env : r.send) {
    if (auto* m = std::get_if<T>(&env.message)) out.push_back(*m);
  }
  return out;
}

Envelope to_node(NodeId from, NodeId to, Message m) { return Envelope{from, to, 1, std::move(m)}; }

// The replicated state machine of the tests: it counts entries and remembers the last value, and
// keeps a digest of everything applied so two replicas can be compared at any offset.
struct Counter {
  std::int64_t end_offset = 0;
  std::int32_t last_epoch = 0;
  std::int64_t last_value = -1;
  std::uint64_t digest = 0xCBF29CE484222325ull;

  // False when the leader's increasing values arrive out of order.
  bool apply(const Entry& e) {
    REQUIRE(e.offset == end_offset);
    ++end_offset;
    last_epoch = e.epoch;
    digest = (digest ^ static_cast<std::uint64_t>(e.epoch)) * 0x100000001B3ull;
    if (e.data.empty()) return true;  // A new leader's first entry.
    const auto v = bytes_value(e.data);
    digest = (digest ^ static_cast<std::uint64_t>(v)) * 0x100000001B3ull;
    const bool ordered = v > last_value;
    last_value = v;
    return ordered;
  }

  // Padded so that a snapshot spans several 16-byte chunks.
  Bytes encode() const {
    Bytes b;
    for (auto v : {end_offset, static_cast<std::int64_t>(last_epoch), last_value, static_cast<std::int64_t>(digest)}) {
      auto x = value_bytes(v);
      b.insert(b.end(), x.begin(), x.end());
    }
    b.resize(b.size() + 21, 0xAB);
    return b;
  }
  static Counter decode(const Bytes& b) {
    return Counter{bytes_value(b, 0), static_cast<std::int32_t>(bytes_value(b, 8)), bytes_value(b, 16),
                   static_cast<std::uint64_t>(bytes_value(b, 24))};
  }
};

// ---------------------------------------------------------------------------------------------
// A synchronous bench for unit tests: every Ready is persisted and fsynced at once, messages are
// delivered in order without delay, and `isolated` nodes lose everything they send or receive.
struct Bench {
  struct Node {
    std::unique_ptr<RaftCore> core;
    Persisted disk;
    Counter state;
    std::vector<std::int64_t> truncations;
    int installs = 0;
    std::int64_t max_hw = 0;
  };
  std::vector<NodeId> voters;
  std::map<NodeId, Node> nodes;
  std::deque<Envelope> wire;
  std::set<NodeId> isolated;
  std::int64_t now = 0;
  std::uint64_t seed = 11;
  std::int64_t next_value = 1000;

  explicit Bench(std::vector<NodeId> v, std::vector<NodeId> observers = {}) : voters(std::move(v)) {
    for (auto id : voters) start(id, Persisted{});
    for (auto id : observers) start(id, Persisted{});
  }

  void start(NodeId id, Persisted p) {
    auto& n = nodes[id];
    n.disk = p;
    n.state = Counter{};
    n.max_hw = 0;
    n.truncations.clear();
    n.core = std::make_unique<RaftCore>(make_config(id, voters, seed + static_cast<std::uint64_t>(id) * 31 + static_cast<std::uint64_t>(now)), std::move(p), now);
    drain(id);
  }
  void restart(NodeId id) { start(id, nodes[id].disk); }

  RaftCore& core(NodeId id) { return *nodes.at(id).core; }

  void drain(NodeId id) {
    auto& n = nodes[id];
    for (Ready r = n.core->take_ready(); !r.empty(); r = n.core->take_ready()) {
      if (r.persist_state) n.disk.state = *r.persist_state;
      if (r.install_snapshot) {
        n.disk.snapshot = r.install_snapshot;
        n.disk.entries.clear();
        ++n.installs;
      }
      if (r.truncate_to) {
        n.truncations.push_back(*r.truncate_to);
        std::erase_if(n.disk.entries, [&](const Entry& e) { return e.offset >= *r.truncate_to; });
      }
      for (auto& e : r.append) n.disk.entries.push_back(e);
      for (auto& env : r.send) wire.push_back(env);
      if (r.load_snapshot) n.state = Counter::decode(r.load_snapshot->data);
      for (auto& e : r.committed) REQUIRE(n.state.apply(e));
      n.core->persisted(n.core->log_end_offset());
      REQUIRE(n.core->high_watermark() >= n.max_hw);
      n.max_hw = n.core->high_watermark();
    }
  }

  void pump() {
    for (int rounds = 0; rounds < 100000; ++rounds) {
      for (auto& [id, n] : nodes) drain(id);
      if (wire.empty()) return;
      Envelope env = std::move(wire.front());
      wire.pop_front();
      if (isolated.count(env.from) || isolated.count(env.to) || !nodes.count(env.to)) continue;
      nodes[env.to].core->step(env, now);
    }
    FAIL("bench did not settle");
  }

  void run(std::int64_t ms) {
    for (std::int64_t t = 0; t < ms; t += 10) {
      now += 10;
      for (auto& [id, n] : nodes) n.core->tick(now);
      pump();
    }
  }

  NodeId leader() const {
    NodeId found = no_node;
    for (const auto& [id, n] : nodes) {
      if (n.core->is_leader() && (found == no_node || n.core->epoch() > nodes.at(found).core->epoch())) found = id;
    }
    return found;
  }

  NodeId elect() {
    for (int i = 0; i < 100 && leader() == no_node; ++i) run(100);
    REQUIRE(leader() != no_node);
    return leader();
  }

  void propose(int count) {
    for (int i = 0; i < count; ++i) REQUIRE(core(leader()).propose(value_bytes(next_value++)));
    pump();
  }

  void take_snapshot(NodeId id) {
    auto& n = nodes[id];
    n.core->snapshot_taken(SnapshotId{n.state.end_offset, n.state.last_epoch}, n.state.encode());
    n.disk.snapshot = Snapshot{SnapshotId{n.state.end_offset, n.state.last_epoch}, n.state.encode()};
    std::erase_if(n.disk.entries, [&](const Entry& e) { return e.offset < n.state.end_offset; });
  }
};

}  // namespace

// ---------------------------------------------------------------------------------------------
// Votes

TEST_CASE("raft: a voter grants one vote per epoch, to a candidate whose log is at least as up to date",
          "[controller][raft]") {
  RaftCore core(make_config(1, {1, 2, 3}), Persisted{{2, no_node, no_node}, {}, entries_with_epochs({1, 1, 2})}, 0);
  (void)core.take_ready();

  // (epoch 1, offset 5) is behind (epoch 2, offset 3): the epoch compares first.
  core.step(to_node(2, 1, VoteRequest{3, 2, 1, 5, false}), 10);
  auto r = core.take_ready();
  REQUIRE(messages_of<VoteResponse>(r).at(0).granted == false);
  REQUIRE(r.persist_state == QuorumStateData{3, no_node, no_node});  // The higher epoch is adopted anyway.

  // (2, 2) is shorter than (2, 3).
  core.step(to_node(2, 1, VoteRequest{3, 2, 2, 2, false}), 20);
  REQUIRE(messages_of<VoteResponse>(core.take_ready()).at(0).granted == false);

  // (2, 3) is equal: granted, and the vote is in the same Ready as the reply, to persist first.
  core.step(to_node(2, 1, VoteRequest{3, 2, 2, 3, false}), 30);
  r = core.take_ready();
  REQUIRE(messages_of<VoteResponse>(r).at(0).granted);
  REQUIRE(r.persist_state == QuorumStateData{3, 2, no_node});

  // Another candidate in the same epoch is refused even with a longer log; the same one again is not.
  core.step(to_node(3, 1, VoteRequest{3, 3, 2, 9, false}), 40);
  REQUIRE(messages_of<VoteResponse>(core.take_ready()).at(0).granted == false);
  core.step(to_node(2, 1, VoteRequest{3, 2, 2, 3, false}), 50);
  REQUIRE(messages_of<VoteResponse>(core.take_ready()).at(0).granted);

  // A later epoch frees the vote, and a newer log epoch with fewer entries wins.
  core.step(to_node(3, 1, VoteRequest{4, 3, 3, 1, false}), 60);
  r = core.take_ready();
  REQUIRE(messages_of<VoteResponse>(r).at(0).granted);
  REQUIRE(r.persist_state == QuorumStateData{4, 3, no_node});
}

TEST_CASE("raft: vote requests from an older epoch are fenced and malformed ones are invalid", "[controller][raft]") {
  RaftCore core(make_config(1, {1, 2, 3}), Persisted{{5, no_node, no_node}, {}, {}}, 0);
  (void)core.take_ready();
  core.step(to_node(2, 1, VoteRequest{4, 2, 0, 0, false}), 1);
  auto resp = messages_of<VoteResponse>(core.take_ready()).at(0);
  REQUIRE(resp.error == error::fenced_leader_epoch);
  REQUIRE(resp.epoch == 5);

  for (auto bad : {VoteRequest{6, 2, 6, 0, false}, VoteRequest{6, 2, 0, -1, false}, VoteRequest{6, 2, 7, 0, true}}) {
    core.step(to_node(2, 1, bad), 2);
    auto r = core.take_ready();
    REQUIRE(messages_of<VoteResponse>(r).at(0).error == error::invalid_request);
    REQUIRE_FALSE(r.persist_state);
  }
}

TEST_CASE("raft: an unattached voter grants a pre-vote without persisting; a follower that hears from its leader refuses",
          "[controller][raft]") {
  RaftCore core(make_config(1, {1, 2, 3}), Persisted{{2, no_node, no_node}, {}, {}}, 0);
  (void)core.take_ready();
  core.step(to_node(2, 1, VoteRequest{2, 2, 0, 0, true}), 1);
  auto r = core.take_ready();
  REQUIRE(messages_of<VoteResponse>(r).at(0).granted);
  REQUIRE_FALSE(r.persist_state);
  REQUIRE(core.role() == Role::unattached);

  Bench bench({1, 2, 3});
  const NodeId leader = bench.elect();
  const NodeId follower = leader == 1 ? 2 : 1;
  const NodeId other = 6 - leader - follower;
  auto& f = bench.core(follower);
  REQUIRE(f.role() == Role::follower);
  f.step(to_node(other, follower, VoteRequest{f.epoch(), other, f.last_epoch(), f.log_end_offset(), true}), bench.now);
  r = f.take_ready();
  REQUIRE(messages_of<VoteResponse>(r).at(0).granted == false);
  REQUIRE(f.role() == Role::follower);
}

TEST_CASE("raft: a cut-off voter's pre-votes do not disturb a healthy quorum", "[controller][raft]") {
  Bench bench({1, 2, 3});
  const NodeId leader = bench.elect();
  const auto epoch = bench.core(leader).epoch();
  const NodeId cut = leader == 3 ? 2 : 3;
  bench.isolated = {cut};
  bench.run(6000);  // The cut-off voter times out and asks for pre-votes again and again.
  REQUIRE(bench.core(cut).epoch() == epoch);  // Without a won pre-vote it never bumps the epoch.
  bench.isolated.clear();
  bench.run(3000);
  REQUIRE(bench.leader() == leader);
  REQUIRE(bench.core(leader).epoch() == epoch);
  REQUIRE(bench.core(cut).role() == Role::follower);
}

// ---------------------------------------------------------------------------------------------
// Replication

TEST_CASE("raft: a follower with a divergent tail truncates over several rounds and converges on the leader's log",
          "[controller][raft]") {
  // Node 2 holds a long tail of epoch 3 that nobody else has; nodes 1 and 3 hold epochs 2 and 4.
  Bench bench({1, 2, 3});
  bench.start(1, Persisted{{4, no_node, no_node}, {}, entries_with_epochs({1, 1, 2, 4, 4})});
  bench.start(2, Persisted{{4, no_node, no_node}, {}, entries_with_epochs({1, 1, 3, 3, 3, 3, 3})});
  bench.start(3, Persisted{{4, no_node, no_node}, {}, entries_with_epochs({1, 1, 2, 4, 4})});
  const NodeId leader = bench.elect();
  REQUIRE(leader != 2);  // Its last epoch (3) is behind.
  bench.propose(3);
  bench.run(200);
  auto& follower = bench.nodes[2];
  // Round one: the leader's epoch 2 ends at 3, node 2 holds no epoch 2, so it goes back to 2.
  REQUIRE(follower.truncations.size() >= 1);
  REQUIRE(follower.truncations.front() == 2);
  REQUIRE(follower.core->log_end_offset() == bench.core(leader).log_end_offset());
  for (auto o = std::int64_t{0}; o < follower.core->log_end_offset(); ++o) {
    REQUIRE(follower.core->log().at(o) == bench.core(leader).log().at(o));
  }
  REQUIRE(follower.core->high_watermark() == bench.core(leader).high_watermark());
}

TEST_CASE("raft: a leader answers a fetch from an older epoch's end with DivergingEpoch and one below its start with the snapshot",
          "[controller][raft]") {
  Bench bench({1});
  bench.elect();
  bench.propose(5);
  bench.take_snapshot(1);
  auto& leader = bench.core(1);
  const auto epoch = leader.epoch();
  const auto start = leader.log_start_offset();
  REQUIRE(start > 0);
  bench.propose(3);

  leader.step(to_node(2, 1, FetchRequest{epoch, 2, 0, 0, 16, 0}), bench.now);
  auto resp = messages_of<FetchResponse>(leader.take_ready()).at(0);
  REQUIRE(resp.snapshot_id == SnapshotId{start, epoch});

  leader.step(to_node(2, 1, FetchRequest{epoch, 2, leader.log_end_offset() + 4, epoch, 16, 0}), bench.now);
  resp = messages_of<FetchResponse>(leader.take_ready()).at(0);
  REQUIRE(resp.diverging == EpochEnd{epoch, leader.log_end_offset()});

  leader.step(to_node(2, 1, FetchRequest{epoch + 1, 2, 0, 0, 16, 0}), bench.now);
  REQUIRE(messages_of<FetchResponse>(leader.take_ready()).at(0).error == error::unknown_leader_epoch);
  leader.step(to_node(2, 1, FetchRequest{epoch, 2, 0, epoch + 1, 16, 0}), bench.now);
  REQUIRE(messages_of<FetchResponse>(leader.take_ready()).at(0).error == error::invalid_request);
}

TEST_CASE("raft: the high watermark needs a majority, waits for the new epoch's first entry and never moves back",
          "[controller][raft]") {
  Bench bench({1, 2, 3});
  const NodeId first = bench.elect();
  bench.propose(10);
  bench.run(100);
  const auto committed = bench.core(first).high_watermark();
  REQUIRE(committed == bench.core(first).log_end_offset());

  // With both followers cut off nothing new commits.
  std::set<NodeId> followers = {1, 2, 3};
  followers.erase(first);
  bench.isolated = followers;
  bench.propose(4);
  bench.run(100);
  REQUIRE(bench.core(first).high_watermark() == committed);

  // The old leader is cut off instead; the new leader commits the old entries only with its own.
  bench.isolated = {first};
  bench.run(8000);
  const NodeId second = bench.leader();
  REQUIRE(second != first);
  REQUIRE(bench.core(second).high_watermark() > committed);
  REQUIRE(bench.core(second).log().at(bench.core(second).high_watermark() - 1).epoch == bench.core(second).epoch());
  bench.isolated.clear();
  bench.run(3000);
  // The old leader's uncommitted tail is gone and its HW (checked monotonic in every drain) caught up.
  REQUIRE(bench.core(first).high_watermark() == bench.core(second).high_watermark());
  REQUIRE(bench.core(first).role() == Role::follower);
}

TEST_CASE("raft: a leader that cannot reach a majority resigns after 1.5 fetch timeouts (check-quorum)",
          "[controller][raft]") {
  Bench bench({1, 2, 3});
  const NodeId leader = bench.elect();
  bench.isolated = {leader};
  bench.run(2500);
  REQUIRE(bench.core(leader).role() == Role::leader);
  bench.run(600);
  REQUIRE(bench.core(leader).role() != Role::leader);
}

TEST_CASE("raft: a leader that resigns gracefully hands over to the most caught-up voter", "[controller][raft]") {
  Bench bench({1, 2, 3});
  const NodeId leader = bench.elect();
  const auto epoch = bench.core(leader).epoch();
  bench.propose(3);
  bench.core(leader).resign();
  REQUIRE(bench.core(leader).role() == Role::resigned);
  bench.pump();
  bench.run(1000);  // Well below the 2 s fetch timeout: the ranked successor starts at once.
  REQUIRE(bench.leader() != no_node);
  REQUIRE(bench.leader() != leader);
  REQUIRE(bench.core(bench.leader()).epoch() == epoch + 1);
}

TEST_CASE("raft: an observer finds the leader through the voters and replicates without voting", "[controller][raft]") {
  Bench bench({1, 2, 3}, {9});
  const NodeId leader = bench.elect();
  bench.propose(20);
  bench.run(500);
  auto& observer = bench.core(9);
  REQUIRE(observer.role() == Role::follower);
  REQUIRE(observer.leader_id() == leader);
  REQUIRE(observer.high_watermark() == bench.core(leader).high_watermark());
  observer.step(to_node(1, 9, VoteRequest{observer.epoch() + 1, 1, 99, 99, false}), bench.now);
  REQUIRE(messages_of<VoteResponse>(observer.take_ready()).at(0).granted == false);
}

// ---------------------------------------------------------------------------------------------
// Restart

TEST_CASE("raft: a former leader restarts resigned in its epoch and a voter restarts bound to its vote",
          "[controller][raft]") {
  RaftCore was_leader(make_config(1, {1, 2, 3}), Persisted{{4, 1, 1}, {}, entries_with_epochs({4})}, 0);
  REQUIRE(was_leader.role() == Role::resigned);
  REQUIRE(was_leader.epoch() == 4);
  REQUIRE_FALSE(was_leader.propose(value_bytes(1)));

  RaftCore voted(make_config(1, {1, 2, 3}), Persisted{{4, 2, no_node}, {}, {}}, 0);
  REQUIRE(voted.role() == Role::unattached);
  voted.step(to_node(3, 1, VoteRequest{4, 3, 0, 0, false}), 1);
  REQUIRE(messages_of<VoteResponse>(voted.take_ready()).at(0).granted == false);
  voted.step(to_node(2, 1, VoteRequest{4, 2, 0, 0, false}), 2);
  REQUIRE(messages_of<VoteResponse>(voted.take_ready()).at(0).granted);

  RaftCore candidate(make_config(1, {1, 2, 3}), Persisted{{4, 1, no_node}, {}, {}}, 0);
  REQUIRE(candidate.role() == Role::candidate);
  REQUIRE(messages_of<VoteRequest>(candidate.take_ready()).size() == 2);

  RaftCore behind(make_config(1, {1, 2, 3}), Persisted{{2, no_node, no_node}, {}, entries_with_epochs({1, 3})}, 0);
  REQUIRE(behind.epoch() == 3);  // The log's last epoch wins over an older quorum-state file.
  REQUIRE(behind.take_ready().persist_state == QuorumStateData{3, no_node, no_node});
}

TEST_CASE("raft: a cluster restarted from its persisted state elects a leader and keeps its committed entries",
          "[controller][raft]") {
  Bench bench({1, 2, 3});
  const NodeId leader = bench.elect();
  bench.propose(7);
  bench.run(200);
  const auto committed = bench.core(leader).high_watermark();
  for (NodeId id : {1, 2, 3}) bench.restart(id);
  REQUIRE(bench.core(leader).role() == Role::resigned);
  const NodeId next = bench.elect();
  bench.run(200);
  REQUIRE(bench.core(next).high_watermark() > committed);
  REQUIRE(bench.nodes[next].state.end_offset == bench.core(next).high_watermark());
}

// ---------------------------------------------------------------------------------------------
// Snapshots

TEST_CASE("raft: a follower below the leader's log start installs the snapshot in chunks and then catches up",
          "[controller][raft]") {
  Bench bench({1, 2, 3});
  const NodeId leader = bench.elect();
  const NodeId lagging = leader == 3 ? 2 : 3;
  bench.isolated = {lagging};
  bench.propose(40);
  bench.run(100);
  for (auto& [id, n] : bench.nodes) {
    if (id != lagging) bench.take_snapshot(id);
  }
  const auto snapshot_end = bench.core(leader).log_start_offset();
  REQUIRE(snapshot_end > 40);
  bench.propose(5);
  bench.isolated.clear();
  bench.run(3000);
  auto& n = bench.nodes[lagging];
  REQUIRE(n.installs == 1);
  REQUIRE(n.core->log_start_offset() == snapshot_end);
  REQUIRE(n.core->log_end_offset() == bench.core(leader).log_end_offset());
  REQUIRE(n.core->high_watermark() == bench.core(leader).high_watermark());
  REQUIRE(n.state.digest == bench.nodes[leader].state.digest);
  REQUIRE(n.state.end_offset == bench.nodes[leader].state.end_offset);
}
