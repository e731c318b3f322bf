// The KRaft-style Raft core: unit tests of the vote, fetch, high-watermark, check-quorum, restart
// and snapshot rules on a small synchronous bench, then a seeded simulation in the spirit of
// Kafka's RaftEventSimulationTest that runs 3- and 5-voter clusters (plus an observer) through
// message delays, drops, partitions, kills and restarts, checking the safety invariants after
// every event. Each invariant checker also has a test where it fails on a crafted history.
#include "broker/metadata/raft.h"

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <cstdlib>
#include <deque>
#include <map>
#include <memory>
#include <set>
#include <string>

using namespace keel::metadata::raft;
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
  std::set<NodeId> minority;  // When not empty, messages between it and the rest are lost.
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
    n.core = std::make_unique<RaftCore>(make_config(id, voters, seed + static_cast<std::uint64_t>(id.value) * 31 + static_cast<std::uint64_t>(now)), std::move(p), now);
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
      const bool split = !minority.empty() && minority.count(env.from) != minority.count(env.to);
      if (split || isolated.count(env.from) || isolated.count(env.to) || !nodes.count(env.to)) continue;
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
  const NodeId other = 6 - leader.value - follower.value;
  auto& f = bench.core(follower);
  REQUIRE(f.role() == Role::follower);
  f.step(to_node(other, follower, VoteRequest{f.epoch(), other, f.last_epoch(), f.log_end_offset(), true}), bench.now);
  r = f.take_ready();
  REQUIRE(messages_of<VoteResponse>(r).at(0).granted == false);
  REQUIRE(f.role() == Role::follower);
}

TEST_CASE("raft: a voter campaigns with its durable log end, not with entries still unflushed", "[controller][raft]") {
  RaftCore core(make_config(1, {1, 2, 3}), Persisted{{1, no_node, 2}, {}, {}}, 0);
  REQUIRE(core.role() == Role::follower);
  core.tick(1);
  auto fetch = core.take_ready().send.at(0);
  REQUIRE(std::holds_alternative<FetchRequest>(fetch.message));
  FetchResponse resp{error::none, 1, 2, 0, 0, {}, {}, entries_with_epochs({1, 1, 1})};
  core.step(Envelope{2, 1, fetch.correlation_id, resp}, 5);
  REQUIRE(core.take_ready().append.size() == 3);  // Written, but the driver has not fsynced them.

  core.tick(2100);  // Fetch timeout: pre-vote.
  REQUIRE(core.role() == Role::prospective);
  auto votes = messages_of<VoteRequest>(core.take_ready());
  REQUIRE(votes.size() == 2);
  REQUIRE(votes[0].last_offset == 0);
  REQUIRE(votes[0].last_epoch == 0);

  core.persisted(3);
  core.tick(5000);  // The pre-vote round timed out; the next one advertises the flushed entries.
  core.tick(9000);
  votes = messages_of<VoteRequest>(core.take_ready());
  REQUIRE_FALSE(votes.empty());
  REQUIRE(votes.back().last_offset == 3);
  REQUIRE(votes.back().last_epoch == 1);
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
  // Node 2 holds epochs 3 and 5 that nobody else has; nodes 1 and 3 hold epochs 2, 4 and 6.
  Bench bench({1, 2, 3});
  bench.start(1, Persisted{{6, no_node, no_node}, {}, entries_with_epochs({1, 1, 2, 4, 4, 6})});
  bench.start(2, Persisted{{6, no_node, no_node}, {}, entries_with_epochs({1, 1, 3, 3, 5, 5})});
  bench.start(3, Persisted{{6, no_node, no_node}, {}, entries_with_epochs({1, 1, 2, 4, 4, 6})});
  const NodeId leader = bench.elect();
  REQUIRE(leader != 2);  // Its last epoch (5) is behind.
  bench.propose(3);
  bench.run(200);
  auto& follower = bench.nodes[2];
  // Round 1: the leader's epoch 4 (largest <= 5) ends at 5; node 2's largest epoch <= 4 is 3,
  // ending at 4, so it keeps [0, 4). Round 2: the leader's epoch 2 (largest <= 3) ends at 3, node
  // 2's largest <= 2 is 1, ending at 2. Round 3: (offset 2, epoch 1) matches and entries flow.
  REQUIRE(follower.truncations == std::vector<std::int64_t>{4, 2});
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

TEST_CASE("raft: a leader serves its snapshot in bounded chunks and refuses unknown snapshots and bad positions",
          "[controller][raft]") {
  Bench bench({1});
  bench.elect();
  bench.propose(5);
  bench.take_snapshot(1);
  auto& leader = bench.core(1);
  const auto id = leader.log().snapshot()->id;
  const auto size = static_cast<std::int64_t>(leader.log().snapshot()->data.size());
  REQUIRE(size > 16);

  leader.step(to_node(2, 1, FetchSnapshotRequest{leader.epoch(), 2, id, 16}), bench.now);
  auto resp = messages_of<FetchSnapshotResponse>(leader.take_ready()).at(0);
  REQUIRE(resp.error == error::none);
  REQUIRE(resp.size == size);
  REQUIRE(resp.chunk.size() == 16);  // snapshot_chunk_bytes
  REQUIRE(std::equal(resp.chunk.begin(), resp.chunk.end(), leader.log().snapshot()->data.begin() + 16));

  leader.step(to_node(2, 1, FetchSnapshotRequest{leader.epoch(), 2, id, size + 1}), bench.now);
  REQUIRE(messages_of<FetchSnapshotResponse>(leader.take_ready()).at(0).error == error::position_out_of_range);
  leader.step(to_node(2, 1, FetchSnapshotRequest{leader.epoch(), 2, SnapshotId{id.end_offset - 1, id.epoch}, 0}),
              bench.now);
  REQUIRE(messages_of<FetchSnapshotResponse>(leader.take_ready()).at(0).error == error::snapshot_not_found);
  leader.step(to_node(2, 1, FetchSnapshotRequest{leader.epoch() - 1, 2, id, 0}), bench.now);
  REQUIRE(messages_of<FetchSnapshotResponse>(leader.take_ready()).at(0).error == error::fenced_leader_epoch);
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

TEST_CASE("raft: a leader split into a 2-node minority of 5 loses its uncommitted tail to the majority's leader",
          "[controller][raft]") {
  Bench bench({1, 2, 3, 4, 5});
  const NodeId old_leader = bench.elect();
  bench.propose(5);
  bench.run(100);
  const auto committed = bench.core(old_leader).high_watermark();
  const NodeId buddy = old_leader == 1 ? 2 : 1;
  bench.minority = {old_leader, buddy};
  bench.propose(4);  // Reaches the buddy only: never committed.
  bench.run(100);
  REQUIRE(bench.core(buddy).log_end_offset() == bench.core(old_leader).log_end_offset());
  REQUIRE(bench.core(old_leader).high_watermark() == committed);

  bench.run(8000);  // The majority elects a leader and moves on; the old one resigns (check-quorum).
  REQUIRE(bench.core(old_leader).role() != Role::leader);
  const NodeId new_leader = bench.leader();
  REQUIRE(bench.minority.count(new_leader) == 0);
  bench.propose(3);
  bench.run(100);
  const auto majority_hw = bench.core(new_leader).high_watermark();
  REQUIRE(majority_hw > committed);

  bench.minority.clear();
  bench.run(4000);
  REQUIRE(bench.leader() == new_leader);
  for (NodeId id : {1, 2, 3, 4, 5}) {
    auto& c = bench.core(id);
    REQUIRE(c.log_end_offset() == bench.core(new_leader).log_end_offset());
    REQUIRE(c.high_watermark() == bench.core(new_leader).high_watermark());
    for (auto o = c.log_start_offset(); o < c.log_end_offset(); ++o) REQUIRE(c.log().at(o) == bench.core(new_leader).log().at(o));
  }
  REQUIRE_FALSE(bench.nodes[old_leader].truncations.empty());
  REQUIRE_FALSE(bench.nodes[buddy].truncations.empty());
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

// ---------------------------------------------------------------------------------------------
// Simulation in the spirit of Kafka's RaftEventSimulationTest.

namespace {

// The safety invariants, fed with what the simulated nodes persist and report. Each records its
// first violation as text; a test below feeds each one a crafted history it must reject.
class Checker {
 public:
  // MonotonicEpoch, SingleLeader (one leader per epoch over every persisted state of every node)
  // and one vote per node per epoch.
  void persisted_state(NodeId node, const QuorumStateData& s) {
    auto [it, fresh] = last_state_.try_emplace(node, s);
    if (!fresh) {
      if (s.epoch < it->second.epoch) fail("MonotonicEpoch: node {} epoch {} -> {}", node, it->second.epoch, s.epoch);
      if (s.epoch == it->second.epoch && it->second.voted_id != no_node && s.voted_id != it->second.voted_id) {
        fail("SingleVote: node {} voted {} then {} in epoch {}", node, it->second.voted_id, s.voted_id, s.epoch);
      }
      it->second = s;
    }
    if (s.leader_id != no_node) leader(s.epoch, s.leader_id);
  }
  // Also fed with every node seen acting as leader in memory.
  void leader(std::int32_t epoch, NodeId node) {
    auto [it, first] = leaders_.try_emplace(epoch, node);
    if (!first && it->second != node) fail("SingleLeader: epoch {} has leaders {} and {}", epoch, it->second, node);
  }

  // MonotonicHighWatermark: what one incarnation of a node reports never goes back.
  void high_watermark(NodeId node, std::int64_t incarnation, std::int64_t hw) {
    auto& [inc, last] = hw_[node];
    if (inc == incarnation && hw < last) fail("MonotonicHighWatermark: node {} {} -> {}", node, last, hw);
    inc = incarnation;
    last = hw;
  }

  // ConsistentCommittedData: every node applies the same entry at each committed offset, and the
  // state after it (the counter's digest) is the same everywhere, snapshots included.
  void committed(NodeId node, const Entry& e) {
    auto [it, fresh] = committed_.try_emplace(e.offset, e);
    if (!fresh && !(it->second == e)) {
      fail("ConsistentCommittedData: node {} offset {} epoch {} differs from epoch {}", node, e.offset, e.epoch,
           it->second.epoch);
    }
  }
  void state_at(NodeId node, std::int64_t end_offset, std::uint64_t digest) {
    auto [it, fresh] = states_.try_emplace(end_offset, digest);
    if (!fresh && it->second != digest) fail("ConsistentCommittedData: node {} state differs at {}", node, end_offset);
  }
  void out_of_order(NodeId node, std::int64_t offset) { fail("Counter: node {} applied a smaller value at {}", node, offset); }

  // MajorityReachedHighWatermark: a majority of voters durably hold everything any leader committed.
  void leader_high_watermark(std::int64_t hw) { committed_end_ = std::max(committed_end_, hw); }
  void durable_ends(const std::vector<std::int64_t>& voter_ends, std::size_t majority) {
    const auto holding = std::count_if(voter_ends.begin(), voter_ends.end(), [&](auto e) { return e >= committed_end_; });
    if (static_cast<std::size_t>(holding) < majority) {
      fail("MajorityReachedHighWatermark: only {} voters hold offset {}", holding, committed_end_);
    }
  }

  // SnapshotAtLogStart: a log that does not start at 0 starts exactly where its snapshot ends.
  void log_start(NodeId node, std::int64_t start, std::optional<SnapshotId> snapshot) {
    const auto expected = snapshot ? snapshot->end_offset : 0;
    if (start != expected) fail("SnapshotAtLogStart: node {} log starts at {}, snapshot ends at {}", node, start, expected);
  }
  // LeaderNeverLoadSnapshot: a leader's state machine is the source of snapshots, never a sink.
  void snapshot_loaded(NodeId node, bool is_leader) {
    if (is_leader) fail("LeaderNeverLoadSnapshot: leader {} loaded a snapshot", node);
  }

  bool ok() const { return failure_.empty(); }
  const std::string& failure() const { return failure_; }
  std::int64_t committed_end() const { return committed_end_; }

 private:
  template <class... A>
  void fail(fmt::format_string<A...> f, A&&... a) {
    if (failure_.empty()) failure_ = fmt::format(f, std::forward<A>(a)...);
  }
  std::map<NodeId, QuorumStateData> last_state_;
  std::map<std::int32_t, NodeId> leaders_;
  std::map<NodeId, std::pair<std::int64_t, std::int64_t>> hw_;
  std::map<std::int64_t, Entry> committed_;
  std::map<std::int64_t, std::uint64_t> states_;
  std::int64_t committed_end_ = 0;
  std::string failure_;
};

// The fault model: named probabilities and latencies, each saying what it does.
struct SimOptions {
  int voters = 3;
  int observers = 1;
  std::int64_t duration_ms = 180'000;      // Faults run until duration - heal_ms.
  std::int64_t heal_ms = 15'000;           // Then everything heals and the cluster must make progress.
  std::int64_t tick_ms = 5;                // Each node is ticked every tick_ms + rand[0, 3).
  std::int64_t propose_every_ms = 10;      // The harness proposes the next counter value this often.
  std::int64_t snapshot_every_entries = 50;
  double drop_p = 0.02;                    // A message is lost in the network.
  double duplicate_p = 0.01;               // A message is delivered twice (a retransmission).
  std::int64_t delay_min_ms = 1;           // Each delivered message takes [min, max] ms.
  std::int64_t delay_max_ms = 20;
  double sync_now_p = 0.6;                 // A Ready's appends are fsynced at once, else within sync_delay_max_ms.
  std::int64_t sync_delay_max_ms = 25;
  double lose_unsynced_p = 0.5;            // A kill loses the log's unfsynced tail.
  std::int64_t fault_every_ms = 3000;      // Mean gap between fault events.
  std::int64_t down_max_ms = 8000;         // A killed node restarts within this.
  bool randomize_knobs = true;             // Draw fetch size and snapshot interval from the seed.
};

// What a run exercised, so a sweep can show it reached the interesting paths.
struct SimStats {
  int elections = 0;
  int resignations = 0;
  int prospective_rounds = 0;
  int truncations = 0;
  int snapshot_installs = 0;
  int kills = 0;
  int lost_tails = 0;
  std::int64_t committed = 0;
  void add(const SimStats& o) {
    elections += o.elections;
    resignations += o.resignations;
    prospective_rounds += o.prospective_rounds;
    truncations += o.truncations;
    snapshot_installs += o.snapshot_installs;
    kills += o.kills;
    lost_tails += o.lost_tails;
    committed += o.committed;
  }
};

class World {
 public:
  World(std::uint64_t seed, SimOptions options) : seed_(seed), o_(options), random_(Random::derive(seed, 0, "world")) {
    if (o_.randomize_knobs) {
      // Tiny fetches replicate a new leader's epoch-start entry separately from older entries,
      // which is where the commit rule on the epoch start offset matters.
      static constexpr std::int32_t fetch_sizes[] = {1, 2, 4, 16};
      max_entries_per_fetch_ = fetch_sizes[random_.below(std::size(fetch_sizes))];
      o_.snapshot_every_entries = random_.between(10, 200);
    }
    for (int i = 0; i < o_.voters; ++i) voters_.push_back(i + 1);
    for (NodeId id : voters_) ids_.push_back(id);
    for (int i = 0; i < o_.observers; ++i) ids_.push_back(100 + i);
    for (NodeId id : ids_) {
      start(id);
      schedule(random_.between(0, o_.tick_ms), Kind::tick, id);
    }
    schedule(o_.propose_every_ms, Kind::propose, 0);
    schedule(o_.fault_every_ms, Kind::fault, 0);
  }

  // Runs to the end or the first violation; returns an empty string or the reason, with the seed.
  std::string run() {
    const auto heal_at = o_.duration_ms - o_.heal_ms;
    while (!events_.empty() && checker_.ok()) {
      auto it = events_.begin();
      Event ev = std::move(it->second);
      events_.erase(it);
      if (now_ < heal_at && ev.time >= heal_at) heal_everything(heal_at);
      if (ev.time > o_.duration_ms) break;
      now_ = ev.time;
      handle(ev);
      check_invariants();
      fold(ev);
    }
    if (!checker_.ok()) return fmt::format("seed {} at {} ms: {}{}", seed_, now_, checker_.failure(), describe());
    if (checker_.committed_end() <= committed_at_heal_) {
      return fmt::format("seed {}: no progress after healing (committed end {}){}", seed_, checker_.committed_end(),
                         describe());
    }
    return {};
  }

  // One line per node, for failure reports.
  std::string describe() const {
    std::string out;
    for (NodeId id : ids_) {
      const auto& n = nodes_.at(id);
      if (!n.core) {
        out += fmt::format("\n  node {} down", id);
        continue;
      }
      const auto& c = *n.core;
      out += fmt::format("\n  node {} {} epoch {} leader {} voted {} log [{}, {}) persisted {} hw {}", id,
                         role_name(c.role()), c.epoch(), c.leader_id(), c.voted_id(), c.log_start_offset(),
                         c.log_end_offset(), c.persisted_end_offset(), c.high_watermark());
    }
    return out;
  }

  std::uint64_t trace_hash() const { return hash_; }
  Checker& checker() { return checker_; }
  std::int64_t committed_end() const { return checker_.committed_end(); }
  SimStats stats() const {
    SimStats out = stats_;
    out.elections = static_cast<int>(leaders_seen_.size());
    out.committed = checker_.committed_end();
    return out;
  }

 private:
  enum class Kind { tick, deliver, sync, propose, fault, restart };
  struct Event {
    std::int64_t time = 0;
    Kind kind = Kind::tick;
    NodeId node = no_node;
    std::int64_t incarnation = 0;       // Of `node` when scheduled (sync) / of the receiver (deliver).
    std::int64_t from_incarnation = 0;  // Of the sender (deliver).
    std::optional<Envelope> envelope;
  };
  struct Disk {
    QuorumStateData state;
    std::optional<Snapshot> snapshot;
    std::vector<Entry> entries;  // After the snapshot; dense.
    std::int64_t synced_end = 0;  // Entries below this survive a kill.
    std::int64_t end() const { return entries.empty() ? (snapshot ? snapshot->id.end_offset : 0) : entries.back().offset + 1; }
  };
  struct Node {
    std::unique_ptr<RaftCore> core;  // Null while the node is down.
    Disk disk;
    Counter state;
    std::int64_t incarnation = 0;
    std::int64_t last_snapshot_end = 0;
    Role last_role = Role::unattached;
  };

  void schedule(std::int64_t at, Kind kind, NodeId node, std::optional<Envelope> env = {}, std::int64_t inc = 0,
                std::int64_t from_inc = 0) {
    events_.emplace(std::make_pair(at, seq_++), Event{at, kind, node, inc, from_inc, std::move(env)});
  }

  void start(NodeId id) {
    auto& n = nodes_[id];
    ++n.incarnation;
    n.state = Counter{};
    n.last_snapshot_end = n.disk.snapshot ? n.disk.snapshot->id.end_offset : 0;
    auto config = make_config(id, voters_, seed_ * 1000003 + static_cast<std::uint64_t>(id.value) * 101 +
                                               static_cast<std::uint64_t>(n.incarnation));
    config.max_entries_per_fetch = max_entries_per_fetch_;
    // Back-pressure: with one entry per fetch the followers replicate slower than the harness
    // proposes, and an unbounded leader would run ahead for ever.
    config.uncommitted_entries_max = 100;
    n.core = std::make_unique<RaftCore>(config, Persisted{n.disk.state, n.disk.snapshot, n.disk.entries}, now_);
    n.disk.synced_end = n.disk.end();
    process(id);
  }

  void kill(NodeId id) {
    auto& n = nodes_[id];
    n.core.reset();
    ++stats_.kills;
    if (random_.chance(o_.lose_unsynced_p)) {
      if (n.disk.end() > n.disk.synced_end) ++stats_.lost_tails;
      std::erase_if(n.disk.entries, [&](const Entry& e) { return e.offset >= n.disk.synced_end; });
    }
  }

  void handle(const Event& ev) {
    switch (ev.kind) {
      case Kind::tick: return on_tick(ev.node);
      case Kind::deliver: return on_deliver(ev);
      case Kind::sync: return on_sync(ev);
      case Kind::propose: return on_propose();
      case Kind::fault: return on_fault();
      case Kind::restart:
        if (!nodes_[ev.node].core) start(ev.node);
        return;
    }
  }

  void on_tick(NodeId id) {
    schedule(now_ + o_.tick_ms + random_.between(0, 2), Kind::tick, id);
    auto& n = nodes_[id];
    if (!n.core) return;
    n.core->tick(now_);
    process(id);
  }

  // A restart breaks every connection, so messages to or from an earlier incarnation are lost.
  void on_deliver(const Event& ev) {
    const auto& env = *ev.envelope;
    auto& to = nodes_[env.to];
    auto& from = nodes_[env.from];
    if (!to.core || to.incarnation != ev.incarnation || from.incarnation != ev.from_incarnation) return;
    to.core->step(env, now_);
    process(env.to);
  }

  void on_sync(const Event& ev) {
    auto& n = nodes_[ev.node];
    if (!n.core || n.incarnation != ev.incarnation) return;
    fsync(ev.node);
  }

  void fsync(NodeId id) {
    auto& n = nodes_[id];
    n.disk.synced_end = n.disk.end();
    n.core->persisted(n.disk.synced_end);
    process(id);
  }

  void on_propose() {
    schedule(now_ + o_.propose_every_ms + random_.between(0, 3), Kind::propose, 0);
    std::vector<NodeId> leaders;
    for (NodeId id : ids_) {
      if (nodes_[id].core && nodes_[id].core->is_leader()) leaders.push_back(id);
    }
    if (leaders.empty()) return;
    const NodeId id = leaders[random_.below(leaders.size())];
    if (nodes_[id].core->propose(value_bytes(next_value_))) ++next_value_;
    process(id);
  }

  void on_fault() {
    schedule(now_ + random_.between(o_.fault_every_ms / 2, o_.fault_every_ms * 3 / 2), Kind::fault, 0);
    if (now_ >= o_.duration_ms - o_.heal_ms) return;
    const NodeId a = ids_[random_.below(ids_.size())];
    const NodeId b = ids_[random_.below(ids_.size())];
    const auto pick = random_.below(100);
    if (pick < 20) {
      kill_for_a_while(a);
    } else if (pick < 35) {
      kill_for_a_while(current_leader());  // Leader changes are where the epoch rules matter.
    } else if (pick < 50) {
      isolate(a);
    } else if (pick < 60) {
      if (a != b) blocked_.insert({a, b});  // One way: a's messages to b are lost, b's to a arrive.
    } else if (pick < 75) {
      split_randomly();
    } else {
      blocked_.clear();
    }
  }

  NodeId current_leader() {
    for (NodeId id : ids_) {
      if (nodes_[id].core && nodes_[id].core->is_leader()) return id;
    }
    return no_node;
  }

  void kill_for_a_while(NodeId id) {
    if (id == no_node || !nodes_[id].core) return;
    kill(id);
    schedule(now_ + random_.between(100, o_.down_max_ms), Kind::restart, id);
  }

  void isolate(NodeId a) {
    for (NodeId x : ids_) {
      if (x != a) blocked_.insert({a, x}), blocked_.insert({x, a});
    }
  }

  void split_randomly() {
    std::set<NodeId> side;
    for (NodeId x : ids_) {
      if (random_.chance(0.5)) side.insert(x);
    }
    for (NodeId x : ids_) {
      for (NodeId y : ids_) {
        if (side.count(x) != side.count(y)) blocked_.insert({x, y});
      }
    }
  }

  void heal_everything(std::int64_t at) {
    now_ = at;
    blocked_.clear();
    for (NodeId id : ids_) {
      if (!nodes_[id].core) start(id);
    }
    committed_at_heal_ = checker_.committed_end();
  }

  // Carries out every Ready the node has, in the order the Ready asks for.
  void process(NodeId id) {
    auto& n = nodes_[id];
    for (Ready r = n.core->take_ready(); !r.empty(); r = n.core->take_ready()) {
      write_disk(id, r);
      for (auto& env : r.send) route(std::move(env));
      if (r.load_snapshot) load(id, *r.load_snapshot);
      for (const auto& e : r.committed) apply(id, e);
    }
  }

  void write_disk(NodeId id, const Ready& r) {
    auto& n = nodes_[id];
    auto& d = n.disk;
    if (r.persist_state) {
      checker_.persisted_state(id, *r.persist_state);
      d.state = *r.persist_state;
    }
    if (r.install_snapshot) {
      ++stats_.snapshot_installs;
      d.snapshot = r.install_snapshot;
      d.entries.clear();
      d.synced_end = d.snapshot->id.end_offset;
    }
    if (r.truncate_to) {
      ++stats_.truncations;
      std::erase_if(d.entries, [&](const Entry& e) { return e.offset >= *r.truncate_to; });
      d.synced_end = std::min(d.synced_end, *r.truncate_to);
    }
    for (const auto& e : r.append) {
      REQUIRE(e.offset == d.end());
      d.entries.push_back(e);
    }
    if (r.append.empty()) return;
    if (random_.chance(o_.sync_now_p)) {
      d.synced_end = d.end();
      n.core->persisted(d.synced_end);
    } else {
      schedule(now_ + random_.between(1, o_.sync_delay_max_ms), Kind::sync, id, {}, n.incarnation);
    }
  }

  void route(Envelope env) {
    if (blocked_.count({env.from, env.to}) || random_.chance(o_.drop_p)) return;
    const auto at = now_ + random_.between(o_.delay_min_ms, o_.delay_max_ms);
    const auto to_inc = nodes_[env.to].incarnation;
    const auto from_inc = nodes_[env.from].incarnation;
    const NodeId to = env.to;
    if (random_.chance(o_.duplicate_p)) {
      schedule(now_ + random_.between(o_.delay_min_ms, o_.delay_max_ms), Kind::deliver, to, env, to_inc, from_inc);
    }
    schedule(at, Kind::deliver, to, std::move(env), to_inc, from_inc);
  }

  void load(NodeId id, const Snapshot& s) {
    auto& n = nodes_[id];
    checker_.snapshot_loaded(id, n.core->is_leader());
    n.state = Counter::decode(s.data);
    REQUIRE(n.state.end_offset == s.id.end_offset);
    checker_.state_at(id, n.state.end_offset, n.state.digest);
  }

  void apply(NodeId id, const Entry& e) {
    auto& n = nodes_[id];
    checker_.committed(id, e);
    if (!n.state.apply(e)) checker_.out_of_order(id, e.offset);
    checker_.state_at(id, n.state.end_offset, n.state.digest);
    if (n.state.end_offset - n.last_snapshot_end >= o_.snapshot_every_entries) take_snapshot(id);
  }

  void take_snapshot(NodeId id) {
    auto& n = nodes_[id];
    const SnapshotId sid{n.state.end_offset, n.state.last_epoch};
    n.core->snapshot_taken(sid, n.state.encode());
    n.disk.snapshot = Snapshot{sid, n.state.encode()};
    std::erase_if(n.disk.entries, [&](const Entry& e) { return e.offset < sid.end_offset; });
    n.disk.synced_end = std::max(n.disk.synced_end, sid.end_offset);
    n.last_snapshot_end = sid.end_offset;
  }

  void check_invariants() {
    std::vector<std::int64_t> durable;
    for (NodeId id : ids_) {
      auto& n = nodes_[id];
      if (id < 100) {
        const auto snap_end = n.disk.snapshot ? n.disk.snapshot->id.end_offset : 0;
        durable.push_back(std::max(snap_end, n.disk.synced_end));
      }
      if (!n.core) continue;
      REQUIRE(n.core->quorum_state() == n.disk.state);  // Persisted before acting.
      const auto& snap = n.core->log().snapshot();
      checker_.log_start(id, n.core->log_start_offset(), snap ? std::optional(snap->id) : std::nullopt);
      checker_.high_watermark(id, n.incarnation, n.core->high_watermark());
      if (n.core->is_leader()) {
        checker_.leader(n.core->epoch(), id);
        checker_.leader_high_watermark(n.core->high_watermark());
        leaders_seen_.insert({n.core->epoch(), id});
      }
      if (n.core->role() != n.last_role) {
        stats_.resignations += n.core->role() == Role::resigned;
        stats_.prospective_rounds += n.core->role() == Role::prospective;
        n.last_role = n.core->role();
      }
    }
    checker_.durable_ends(durable, voters_.size() / 2 + 1);
  }

  void fold(const Event& ev) {
    auto mix = [&](std::uint64_t v) { hash_ = (hash_ ^ v) * 0x100000001B3ull; };
    mix(static_cast<std::uint64_t>(ev.time));
    mix(static_cast<std::uint64_t>(ev.kind));
    mix(static_cast<std::uint64_t>(ev.node.value));
    const auto& n = nodes_[ev.node];
    if (!n.core) return;
    mix(static_cast<std::uint64_t>(n.core->role()));
    mix(static_cast<std::uint64_t>(n.core->epoch()));
    mix(static_cast<std::uint64_t>(n.core->high_watermark()));
    mix(static_cast<std::uint64_t>(n.core->log_end_offset()));
  }

  std::uint64_t seed_;
  SimOptions o_;
  Random random_;
  std::int32_t max_entries_per_fetch_ = 16;
  std::vector<NodeId> voters_;
  std::vector<NodeId> ids_;
  std::map<NodeId, Node> nodes_;
  std::map<std::pair<std::int64_t, std::uint64_t>, Event> events_;
  std::uint64_t seq_ = 0;
  std::int64_t now_ = 0;
  std::set<std::pair<NodeId, NodeId>> blocked_;
  std::int64_t next_value_ = 1;
  std::int64_t committed_at_heal_ = 0;
  std::set<std::pair<std::int32_t, NodeId>> leaders_seen_;
  Checker checker_;
  SimStats stats_;
  std::uint64_t hash_ = 0xCBF29CE484222325ull;
};

SimOptions options_for(std::uint64_t seed, SimOptions base) {
  base.voters = seed % 2 == 0 ? 5 : 3;
  return base;
}

// Every failure names its seed and the command that replays it alone (an assertion inside the
// core aborts the process; Catch still prints the INFO below with the signal).
SimStats sweep(std::uint64_t first_seed, int seeds, SimOptions base) {
  SimStats total;
  for (int i = 0; i < seeds; ++i) {
    const auto seed = first_seed + static_cast<std::uint64_t>(i);
    const SimOptions o = options_for(seed, base);
    INFO("seed " << seed << " (" << o.voters << " voters, " << o.duration_ms / 1000
                 << " s); replay: KEEL_RAFT_SEED=" << seed << " KEEL_RAFT_SECONDS=" << o.duration_ms / 1000
                 << " keel-tests \"[raft_replay]\"");
    World world(seed, o);
    const auto failure = world.run();
    INFO(failure);
    REQUIRE(failure.empty());
    REQUIRE(world.stats().elections >= 1);
    total.add(world.stats());
  }
  return total;
}

}  // namespace

TEST_CASE("raft simulation: 3- and 5-voter clusters with an observer keep every safety invariant under faults",
          "[controller][raft]") {
  const auto s = sweep(1, 30, SimOptions{});
  // The faults must actually reach the paths the invariants guard.
  CHECK(s.elections > 60);
  CHECK(s.resignations > 0);
  CHECK(s.prospective_rounds > 0);
  CHECK(s.truncations > 0);
  CHECK(s.snapshot_installs > 0);
  CHECK(s.lost_tails > 0);
  WARN(fmt::format("30 seeds: {} elections, {} resignations, {} pre-vote rounds, {} truncations, {} snapshot "
                   "installs, {} kills ({} lost an unfsynced tail), {} entries committed",
                   s.elections, s.resignations, s.prospective_rounds, s.truncations, s.snapshot_installs, s.kills,
                   s.lost_tails, s.committed));
}

std::uint64_t env_or(const char* name, std::uint64_t fallback) {
  const char* v = std::getenv(name);
  return v == nullptr ? fallback : std::stoull(v);
}

// KEEL_RAFT_FIRST_SEED and KEEL_RAFT_SEEDS widen the sweep.
TEST_CASE("raft simulation: long sweep over many seeds", "[.long][raft_sweep]") {
  SimOptions o;
  o.duration_ms = 300'000;
  const auto first = env_or("KEEL_RAFT_FIRST_SEED", 1000);
  const auto seeds = static_cast<int>(env_or("KEEL_RAFT_SEEDS", 300));
  const auto s = sweep(first, seeds, o);
  WARN(fmt::format("seeds {}..{} x 300 s: {} elections, {} truncations, {} snapshot installs, {} kills, {} committed",
                   first, first + static_cast<std::uint64_t>(seeds) - 1, s.elections, s.truncations,
                   s.snapshot_installs, s.kills, s.committed));
}

TEST_CASE("raft simulation: replay one seed from KEEL_RAFT_SEED", "[.raft_replay]") {
  const char* seed = std::getenv("KEEL_RAFT_SEED");
  const char* seconds = std::getenv("KEEL_RAFT_SECONDS");
  REQUIRE(seed != nullptr);
  SimOptions o;
  if (seconds != nullptr) o.duration_ms = std::stoll(seconds) * 1000;
  const auto failure = World(std::stoull(seed), options_for(std::stoull(seed), o)).run();
  INFO(failure);
  REQUIRE(failure.empty());
}

TEST_CASE("raft simulation: the same seed replays the same history", "[controller][raft]") {
  SimOptions o;
  o.duration_ms = 30'000;
  o.heal_ms = 10'000;
  World a(42, o), b(42, o), c(43, o);
  REQUIRE(a.run().empty());
  REQUIRE(b.run().empty());
  REQUIRE(c.run().empty());
  REQUIRE(a.trace_hash() == b.trace_hash());
  REQUIRE(a.trace_hash() != c.trace_hash());
}

TEST_CASE("raft checkers: each invariant checker rejects a crafted violating history", "[controller][raft]") {
  SECTION("two leaders in one epoch") {
    Checker c;
    c.persisted_state(1, {3, 1, 1});
    c.persisted_state(2, {3, 1, 2});
    REQUIRE_THAT(c.failure(), Catch::Contains("SingleLeader"));
  }
  SECTION("a node's persisted epoch goes back") {
    Checker c;
    c.persisted_state(1, {5, no_node, no_node});
    c.persisted_state(1, {4, no_node, no_node});
    REQUIRE_THAT(c.failure(), Catch::Contains("MonotonicEpoch"));
  }
  SECTION("a node votes twice in one epoch") {
    Checker c;
    c.persisted_state(1, {5, 2, no_node});
    c.persisted_state(1, {5, 3, no_node});
    REQUIRE_THAT(c.failure(), Catch::Contains("SingleVote"));
  }
  SECTION("a high watermark decreases") {
    Checker c;
    c.high_watermark(1, 1, 10);
    c.high_watermark(1, 2, 4);  // A restart may start lower: allowed.
    REQUIRE(c.ok());
    c.high_watermark(1, 2, 3);
    REQUIRE_THAT(c.failure(), Catch::Contains("MonotonicHighWatermark"));
  }
  SECTION("divergent committed data") {
    Checker c;
    c.committed(1, Entry{7, 2, value_bytes(70)});
    c.committed(2, Entry{7, 2, value_bytes(70)});
    REQUIRE(c.ok());
    c.committed(3, Entry{7, 3, value_bytes(71)});
    REQUIRE_THAT(c.failure(), Catch::Contains("ConsistentCommittedData"));
  }
  SECTION("divergent state machine at one offset") {
    Checker c;
    c.state_at(1, 8, 1234);
    c.state_at(2, 8, 1235);
    REQUIRE_THAT(c.failure(), Catch::Contains("ConsistentCommittedData"));
  }
  SECTION("a log that starts away from its snapshot") {
    Checker c;
    c.log_start(1, 40, SnapshotId{40, 2});
    c.log_start(2, 0, std::nullopt);
    REQUIRE(c.ok());
    c.log_start(3, 41, SnapshotId{40, 2});
    REQUIRE_THAT(c.failure(), Catch::Contains("SnapshotAtLogStart"));
  }
  SECTION("a leader that loads a snapshot") {
    Checker c;
    c.snapshot_loaded(1, false);
    REQUIRE(c.ok());
    c.snapshot_loaded(2, true);
    REQUIRE_THAT(c.failure(), Catch::Contains("LeaderNeverLoadSnapshot"));
  }
  SECTION("a committed offset held by a minority") {
    Checker c;
    c.leader_high_watermark(20);
    c.durable_ends({20, 25, 3}, 2);
    REQUIRE(c.ok());
    c.durable_ends({20, 19, 3}, 2);
    REQUIRE_THAT(c.failure(), Catch::Contains("MajorityReachedHighWatermark"));
  }
}
