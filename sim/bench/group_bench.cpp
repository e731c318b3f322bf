// `keel-sim bench --only groups`: consumer groups through Keel nodes in the simulated world, with
// raw protocol members (tests/support/group_client.h): how long a group of 10 and of 100 members
// takes to become Stable after they all join (classic protocol, and KIP-848 with Keel's group
// consumer), and how many offset commits per second one coordinator acknowledges, with writes in
// flight and without.
#include "sim/bench/bench.h"

#include <chrono>
#include <fmt/format.h>
#include <memory>
#include <set>

#include "broker/client/admin.h"
#include "broker/client/group_consumer.h"
#include "broker/node/node.h"
#include "sim/node.h"
#include "sim/world.h"
#include "tests/support/group_client.h"

namespace keel::sim::bench {

namespace {

using namespace std::chrono_literals;

double wall_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// A world of `keel_nodes` Keel nodes (n0..) running `configs`, and one client machine after them.
struct GroupWorld {
  explicit GroupWorld(const std::vector<config::BrokerConfig>& configs) : world(options()) {
    for (int id = 0; id <= static_cast<int>(configs.size()); ++id) {
      NodeOptions n;
      n.id = id;
      world.add_node(n);
    }
    for (std::size_t id = 0; id < configs.size(); ++id) {
      world.node(static_cast<int>(id)).set_main([c = configs[id]](Runtime& rt) { (void)node::run_node(rt, c); });
      world.node(static_cast<int>(id)).start();
    }
  }
  static WorldOptions options() {
    WorldOptions o;
    o.seed = 1;
    o.buggify = false;  // figures of the code's own speed, not of injected faults
    return o;
  }
  // Runs `script` on the client machine; false when `limit` of simulated time passed first.
  bool run(std::function<void(Runtime&)> script, Duration limit) {
    const int client = world.node_count() - 1;
    bool done = false;
    world.node(client).set_main([&done, script = std::move(script)](Runtime& rt) {
      script(rt);
      done = true;
    });
    world.node(client).start();
    return world.run_while([&] { return !done; }, world.now() + limit);
  }
  World world;
};

struct StableFigures {
  bool ok = false;
  double simulated_s = 0;
  double wall_s = 0;
  std::int32_t generation = -1;
};

// Every member finds the coordinator first; then all join at once, the leader assigns, and the
// group is Stable when the last SyncGroup is answered.
void join_and_sync(Runtime& rt, std::vector<std::unique_ptr<test::GroupMember>>& members, StableFigures& f) {
  const Instant start = rt.now();
  const auto wall0 = std::chrono::steady_clock::now();
  WaitGroup wg;
  int synced = 0;
  for (auto& m : members) {
    wg.add();
    rt.spawn("member", [&, member = m.get()] {
      auto joined = member->join();
      if (joined && joined->error_code == 0) {
        std::vector<protocol::SyncGroupRequest::Assignment> assignments;
        for (const auto& other : joined->members) assignments.push_back({other.member_id, protocol::Bytes{1}});
        auto synced_reply = member->sync(std::move(assignments));
        if (synced_reply && synced_reply->error_code == 0) ++synced;
        f.generation = member->generation();
      }
      wg.done();
    });
  }
  wg.wait();
  f.simulated_s = std::chrono::duration<double>(rt.now() - start).count();
  f.wall_s = wall_since(wall0);
  f.ok = synced == static_cast<int>(members.size());
}

StableFigures time_to_stable(int members) {
  GroupWorld w({test::single_node_config("offsets.topic.replication.factor=1\noffsets.topic.num.partitions=1\n")});
  StableFigures f;
  (void)w.run(
      [&](Runtime& rt) {
        std::vector<std::unique_ptr<test::GroupMember>> ms;
        for (int i = 0; i < members; ++i) {
          ms.push_back(std::make_unique<test::GroupMember>(rt, test::bootstrap, "bench-group"));
          if (!ms.back()->find_coordinator(rt.now() + 60s)) return;
        }
        join_and_sync(rt, ms, f);
      },
      10min);
  return f;
}

// KIP-848: `members` Keel group consumers (group.protocol consumer, the uniform assignor) on a topic
// of as many partitions, all polling from the same instant; the group is stable when every member
// owns exactly one partition (each revoked before its new owner got it) and ConsumerGroupDescribe
// says Stable. The coordinator's heartbeat interval is Kafka's default, 5 s; a member heartbeats
// sooner when a reconciliation step finished.
bool all_own_one(const std::vector<std::unique_ptr<client::GroupConsumer>>& consumers) {
  std::set<TopicPartition> owned;
  for (const auto& c : consumers) {
    const auto a = c->assignment();
    if (a.size() != 1) return false;
    owned.insert(a.front());
  }
  return owned.size() == consumers.size();
}

void poll_until_stable(Runtime& rt, std::vector<std::unique_ptr<client::GroupConsumer>>& consumers, StableFigures& f) {
  const Instant start = rt.now();
  const auto wall0 = std::chrono::steady_clock::now();
  bool done = false;
  WaitGroup wg;
  for (auto& c : consumers) {
    wg.add();
    rt.spawn("member", [&, consumer = c.get()] {
      while (!done) (void)consumer->poll(100ms);
      wg.done();
    });
  }
  client::Admin admin(rt, test::bootstrap, 5s);
  while (rt.now() - start < 5min) {
    rt.sleep_for(10ms);
    if (!all_own_one(consumers)) continue;
    auto d = admin.describe_consumer_group("bench-kip848");
    if (!d || d->state != "Stable") continue;
    f.simulated_s = std::chrono::duration<double>(rt.now() - start).count();
    f.wall_s = wall_since(wall0);
    f.generation = d->group_epoch;
    f.ok = true;
    break;
  }
  done = true;
  wg.wait();
}

StableFigures kip848_time_to_stable(int members) {
  GroupWorld w({test::single_node_config("offsets.topic.replication.factor=1\noffsets.topic.num.partitions=1\n")});
  StableFigures f;
  (void)w.run(
      [&](Runtime& rt) {
        if (!test::await_serving(rt, test::bootstrap) || !test::create_topic_retrying(rt, "t", members)) return;
        std::vector<std::unique_ptr<client::GroupConsumer>> consumers;
        for (int i = 0; i < members; ++i) {
          client::GroupConsumerConfig c;
          c.consumer.bootstrap_servers = test::bootstrap;
          c.consumer.client_id = fmt::format("bench-member-{}", i);
          c.group_id = "bench-kip848";
          c.group_protocol = client::GroupProtocol::consumer;
          c.remote_assignor = "uniform";
          c.enable_auto_commit = false;
          consumers.push_back(std::make_unique<client::GroupConsumer>(rt, std::move(c)));
          consumers.back()->subscribe({"t"});
        }
        poll_until_stable(rt, consumers, f);
        for (auto& c : consumers) (void)c->close();
      },
      10min);
  return f;
}

struct CommitFigures {
  bool ok = false;
  std::int64_t acknowledged = 0;
  std::int64_t failed = 0;
  double simulated_s = 0;
  double wall_s = 0;
};

// Three nodes for the commit benchmarks: __consumer_offsets in one partition replicated three times
// (each commit waits for the followers), and `more` config.
std::vector<config::BrokerConfig> commit_cluster(const std::string& more) {
  const std::string extra =
      "offsets.topic.replication.factor=3\noffsets.topic.num.partitions=1\nmin.insync.replicas=2\n" + more;
  std::vector<config::BrokerConfig> configs;
  for (int n = 0; n < 3; ++n) configs.push_back(test::cluster_node_config(n, 3, extra));
  return configs;
}

// `clients` connections to the coordinator of one group (a simple group: generation -1), each
// committing its own partition in a loop for `run` of simulated time, on three nodes with
// __consumer_offsets replicated three times (each commit waits for the followers).
CommitFigures commit_rate(bool writes_in_flight, int clients, Duration run) {
  GroupWorld w(commit_cluster(fmt::format("keel.coordinator.writes.in.flight={}\n", writes_in_flight)));
  CommitFigures f;
  (void)w.run(
      [&](Runtime& rt) {
        const auto servers = test::cluster_bootstrap(3);
        if (!test::await_serving(rt, servers, 3) || !test::create_topic_retrying(rt, "t", clients, 30s, servers)) return;
        std::vector<std::unique_ptr<test::GroupMember>> ms;
        for (int i = 0; i < clients; ++i) {
          ms.push_back(std::make_unique<test::GroupMember>(rt, servers, "bench-commits"));
          if (!ms.back()->find_coordinator(rt.now() + 60s)) return;
        }
        (void)ms.front()->commit(0, 0, true);  // the shard is loaded and the first write made
        const Instant start = rt.now();
        const auto wall0 = std::chrono::steady_clock::now();
        WaitGroup wg;
        for (int i = 0; i < clients; ++i) {
          wg.add();
          rt.spawn("committer", [&, i] {
            for (std::int64_t offset = 1; rt.now() - start < run; ++offset) {
              const auto error = ms[static_cast<std::size_t>(i)]->commit(i, offset, true);
              (error && *error == 0 ? f.acknowledged : f.failed) += 1;
            }
            wg.done();
          });
        }
        wg.wait();
        f.simulated_s = std::chrono::duration<double>(rt.now() - start).count();
        f.wall_s = wall_since(wall0);
        f.ok = true;
      },
      10min);
  return f;
}

// KIP-848's commit path (OffsetCommit v9, checked against the member epoch): `clients` Keel group
// consumers of one consumer-protocol group, each committing its own partition with commit_sync in a
// loop, on the same three nodes as commit_rate (writes in flight).
void commit_members(Runtime& rt, std::vector<std::unique_ptr<client::GroupConsumer>>& consumers, Duration run,
                    CommitFigures& f) {
  const Instant start = rt.now();
  const auto wall0 = std::chrono::steady_clock::now();
  WaitGroup wg;
  for (auto& c : consumers) {
    wg.add();
    rt.spawn("committer", [&, consumer = c.get()] {
      const TopicPartition tp = consumer->assignment().front();
      for (std::int64_t offset = 1; rt.now() - start < run; ++offset) {
        (consumer->commit_sync({{tp, offset}}) ? f.acknowledged : f.failed) += 1;
      }
      wg.done();
    });
  }
  wg.wait();
  f.simulated_s = std::chrono::duration<double>(rt.now() - start).count();
  f.wall_s = wall_since(wall0);
  f.ok = true;
}

CommitFigures kip848_commit_rate(int clients, Duration run) {
  GroupWorld w(commit_cluster(""));
  CommitFigures f;
  (void)w.run(
      [&](Runtime& rt) {
        const auto servers = test::cluster_bootstrap(3);
        if (!test::await_serving(rt, servers, 3) || !test::create_topic_retrying(rt, "t", clients, 30s, servers)) return;
        std::vector<std::unique_ptr<client::GroupConsumer>> consumers;
        for (int i = 0; i < clients; ++i) {
          client::GroupConsumerConfig c;
          c.consumer.bootstrap_servers = servers;
          c.group_id = "bench-kip848-commits";
          c.group_protocol = client::GroupProtocol::consumer;
          c.enable_auto_commit = false;
          consumers.push_back(std::make_unique<client::GroupConsumer>(rt, std::move(c)));
          consumers.back()->subscribe({"t"});
        }
        bool joined = false;
        WaitGroup polling;  // the members poll (and so reconcile) until each owns its partition
        polling.add();
        rt.spawn("joining", [&] {
          while (!joined) {
            for (auto& c : consumers) (void)c->poll(10ms);
          }
          polling.done();
        });
        const Instant deadline = rt.now() + 2min;
        while (!all_own_one(consumers) && rt.now() < deadline) rt.sleep_for(10ms);
        joined = true;
        polling.wait();
        if (all_own_one(consumers)) commit_members(rt, consumers, run, f);
        for (auto& c : consumers) (void)c->close();
      },
      10min);
  return f;
}

}  // namespace

void group_bench(const BenchOptions& options, std::FILE* out) {
  for (int members : {10, 100}) {
    const auto f = time_to_stable(members);
    fmt::print(out,
               "group of {:>3} members, classic, joined at once: Stable after {:.3f} simulated s (the initial "
               "rebalance delay, 3 s, included), {:.2f} wall s, generation {}{}\n",
               members, f.simulated_s, f.wall_s, f.generation, f.ok ? "" : "  FAILED");
  }
  for (int members : {10, 100}) {
    const auto f = kip848_time_to_stable(members);
    fmt::print(out,
               "group of {:>3} members, KIP-848 (uniform, Keel's group consumer), polling at once: every member owns "
               "its one partition and the group is Stable after {:.3f} simulated s, {:.2f} wall s, group epoch {}{}\n",
               members, f.simulated_s, f.wall_s, f.generation, f.ok ? "" : "  FAILED");
  }
  const int clients = 16;
  const Duration run = options.quick ? 2s : 10s;
  for (bool in_flight : {false, true}) {
    const auto f = commit_rate(in_flight, clients, run);
    fmt::print(out,
               "offset commits, one coordinator, RF 3, {} connections, writes in flight {:<5}: {:>8.0f} per simulated s, "
               "{:>8.0f} per wall s ({} acknowledged, {} failed){}\n",
               clients, in_flight ? "on" : "off", static_cast<double>(f.acknowledged) / std::max(f.simulated_s, 1e-9),
               static_cast<double>(f.acknowledged) / std::max(f.wall_s, 1e-9), f.acknowledged, f.failed,
               f.ok ? "" : "  FAILED");
  }
  const auto f = kip848_commit_rate(clients, run);
  fmt::print(out,
             "offset commits, one coordinator, RF 3, {} KIP-848 members (OffsetCommit v9, member epochs), commit_sync: "
             "{:>8.0f} per simulated s, {:>8.0f} per wall s ({} acknowledged, {} failed){}\n",
             clients, static_cast<double>(f.acknowledged) / std::max(f.simulated_s, 1e-9),
             static_cast<double>(f.acknowledged) / std::max(f.wall_s, 1e-9), f.acknowledged, f.failed,
             f.ok ? "" : "  FAILED");
}

}  // namespace keel::sim::bench
