// The Keel client's group consumer and group admin calls against a Keel node in the simulated world:
// n0 runs the node, n1..n3 one group member each (so that a member can crash: its machine's process
// killed), n4 a producer that keeps writing, n5 the test's admin scripts. A ledger outside the world
// records who holds which partition (from the rebalance callbacks) and who processed which record,
// and catches a partition handed to a member while another still holds it.
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "broker/client/admin.h"
#include "broker/client/group_consumer.h"
#include "broker/client/producer.h"
#include "tests/support/bytes.h"
#include "tests/support/group_client.h"
#include "tests/support/keel_world.h"

namespace {

using namespace keel;
using namespace keel::client;
using namespace std::chrono_literals;
using assignors::AssignorKind;
using protocol::ErrorCode;

constexpr int members_max = 3;
constexpr std::int32_t partitions = 6;
const std::string topic = "t";
const std::string group_name = "g";

std::string broker_extra() {
  return "offsets.topic.replication.factor=1\noffsets.topic.num.partitions=3\ngroup.initial.rebalance.delay.ms=300\n";
}

// Three Keel nodes: __consumer_offsets (one partition) and the topic replicated three times.
std::string cluster_extra() {
  return "offsets.topic.replication.factor=3\noffsets.topic.num.partitions=1\nmin.insync.replicas=2\n"
         "replica.lag.time.max.ms=5000\nbroker.session.timeout.ms=3000\nbroker.heartbeat.interval.ms=500\n"
         "group.initial.rebalance.delay.ms=300\n";
}

struct Processed {
  Instant at;
  int member = 0;
  std::int64_t offset = 0;
};

// What the members did, kept outside the world so that it survives their processes.
struct Ledger {
  std::map<TopicPartition, int> owner;  // partition -> the member holding it
  std::vector<std::string> violations;  // double ownership, records of partitions not held
  std::map<int, std::set<TopicPartition>> revoked;
  std::map<int, std::set<TopicPartition>> lost;
  std::map<int, Instant> first_revoke_at;  // member -> (world time) its first revoke since this was cleared
  std::map<int, int> assignments;  // member -> on_assigned calls
  std::map<int, std::int32_t> generation;
  std::map<TopicPartition, std::vector<Processed>> processed;
  std::map<int, std::vector<Status>> commits;  // member -> every commit's outcome
  std::map<int, std::string> errors;           // member -> the last poll error
  std::map<int, int> coordinator;              // member -> the coordinator it last spoke to
  std::map<int, bool> stop, close, done;
  std::map<int, bool> paused;  // member -> its application does not call poll meanwhile
  bool producing = true;
  std::int64_t produced = 0;
  std::function<Instant()> world_now;  // the world's clock: each machine's own clock has its own offset

  std::set<TopicPartition> held_by(int member) const {
    std::set<TopicPartition> out;
    for (const auto& [tp, m] : owner) {
      if (m == member) out.insert(tp);
    }
    return out;
  }
  // A crashed member's process is gone: it holds nothing any more.
  void forget(int member) { std::erase_if(owner, [&](const auto& e) { return e.second == member; }); }
};

GroupListener ledger_listener(Ledger& ledger, int m) {
  GroupListener l;
  l.on_assigned = [&ledger, m](const std::vector<TopicPartition>& tps, std::int32_t generation) {
    ++ledger.assignments[m];
    ledger.generation[m] = generation;
    for (const auto& tp : tps) {
      auto it = ledger.owner.find(tp);
      if (it != ledger.owner.end() && it->second != m) {
        ledger.violations.push_back(fmt::format("{}-{} given to member {} while member {} holds it (generation {})",
                                                tp.topic, tp.partition, m, it->second, generation));
      }
      ledger.owner[tp] = m;
    }
  };
  const auto release = [&ledger, m](const std::vector<TopicPartition>& tps, std::map<int, std::set<TopicPartition>>& into) {
    for (const auto& tp : tps) {
      auto it = ledger.owner.find(tp);
      if (it == ledger.owner.end() || it->second != m) {
        ledger.violations.push_back(fmt::format("member {} gave up {}-{}, which it did not hold", m, tp.topic, tp.partition));
      } else {
        ledger.owner.erase(it);
      }
      into[m].insert(tp);
    }
  };
  l.on_revoked = [&ledger, release, m](const std::vector<TopicPartition>& tps, std::int32_t) {
    if (!tps.empty()) ledger.first_revoke_at.try_emplace(m, ledger.world_now());
    release(tps, ledger.revoked);
  };
  l.on_lost = [&ledger, release](const std::vector<TopicPartition>& tps) { release(tps, ledger.lost); };
  l.on_commit = [&ledger, m](const OffsetMap&, const Status& st) { ledger.commits[m].push_back(st); };
  return l;
}

GroupConsumerConfig member_config(int m, AssignorKind kind, std::vector<Address> servers = test::bootstrap) {
  GroupConsumerConfig c;
  c.consumer.bootstrap_servers = std::move(servers);
  c.consumer.client_id = fmt::format("member-{}", m);
  c.consumer.fetch_max_wait = 100ms;
  c.group_id = group_name;
  c.assignors = {kind};
  c.session_timeout = 6s;
  c.heartbeat_interval = 500ms;
  c.rebalance_timeout = 10s;
  c.auto_commit_interval = 1s;
  return c;
}

void process(Ledger& ledger, int m, const std::vector<ConsumerRecord>& records) {
  for (const auto& r : records) {
    auto it = ledger.owner.find(r.topic_partition);
    if (it == ledger.owner.end() || it->second != m) {
      ledger.violations.push_back(fmt::format("member {} processed {}-{}@{} without holding it", m, r.topic_partition.topic,
                                              r.topic_partition.partition, r.offset));
    }
    ledger.processed[r.topic_partition].push_back({ledger.world_now(), m, r.offset});
  }
}

void member_main(Runtime& rt, Ledger& ledger, int m, GroupConsumerConfig config) {
  ledger.done[m] = false;
  GroupConsumer consumer(rt, std::move(config));
  consumer.subscribe({topic}, ledger_listener(ledger, m));
  while (!ledger.stop[m]) {
    if (ledger.paused[m]) {
      rt.sleep_for(100ms);
      continue;
    }
    auto records = consumer.poll(100ms);
    if (!records) {
      ledger.errors[m] = records.error().message;
      if (kafka_error_code(records.error()) == ErrorCode::fenced_instance_id) break;
      continue;
    }
    if (ledger.paused[m]) continue;  // paused during this poll: the test forgot what it held
    process(ledger, m, *records);
    if (auto c = consumer.coordinator_node()) ledger.coordinator[m] = *c;
  }
  if (ledger.close[m]) (void)consumer.close();
  ledger.done[m] = true;
}

// Creates the topic (replicated over every broker), then writes one record every 20 ms, round robin
// over the partitions, until told to stop.
void producer_main(Runtime& rt, Ledger& ledger, const std::vector<Address>& servers) {
  if (!test::await_serving(rt, servers, servers.size())) return;
  Admin admin(rt, servers);
  const auto replicas = static_cast<std::int16_t>(servers.size());
  for (int attempt = 0; attempt < 50; ++attempt) {
    const Status created = admin.create_topic(topic, partitions, replicas);
    if (created || is_kafka_error(created, ErrorCode::topic_already_exists)) break;
    rt.sleep_for(100ms);
  }
  ProducerConfig pc;
  pc.bootstrap_servers = servers;
  pc.linger = 5ms;
  Producer producer(rt, pc);
  for (std::int64_t i = 0; ledger.producing; ++i) {
    ProducerRecord r;
    r.topic = topic;
    r.partition = static_cast<std::int32_t>(i % partitions);
    r.value = test::bytes_of(fmt::format("v{}", i));
    if (producer.send_and_wait(std::move(r))) ++ledger.produced;
    rt.sleep_for(20ms);
  }
}

// Machines: the Keel nodes first, then one per member, then the producer's, then the admin's.
class GroupWorld {
 public:
  explicit GroupWorld(std::uint64_t seed, int brokers = 1)
      : world(test::world_options(seed)), brokers(brokers), servers(test::cluster_bootstrap(brokers)) {
    ledger.world_now = [this] { return world.now(); };
    test::add_nodes(world, admin_node() + 1);
    for (int n = 0; n < brokers; ++n) {
      test::start_keel_node(world, n, brokers == 1 ? test::single_node_config(broker_extra())
                                                   : test::cluster_node_config(n, brokers, cluster_extra()));
    }
    world.node(producer_node()).set_main([this](Runtime& rt) { producer_main(rt, ledger, servers); });
    world.node(producer_node()).start();
    REQUIRE(world.run_while([&] { return ledger.produced < partitions; }, world.now() + 120s));
  }
  ~GroupWorld() { test::kill_all(world); }

  int node_of(int member) const { return brokers + member; }
  int producer_node() const { return brokers + members_max; }
  int admin_node() const { return brokers + members_max + 1; }

  void start_member(int m, GroupConsumerConfig config) {
    ledger.stop[m] = false;
    ledger.close[m] = false;
    world.node(node_of(m)).set_main([this, m, config](Runtime& rt) { member_main(rt, ledger, m, config); });
    world.node(node_of(m)).start();
  }
  // Stops member m's loop; with `close` it commits, revokes and leaves first.
  void stop_member(int m, bool close) {
    ledger.stop[m] = true;
    ledger.close[m] = close;
    REQUIRE(world.run_while([&] { return !ledger.done[m]; }, world.now() + 60s));
  }
  void crash_member(int m) {
    world.node(node_of(m)).kill();
    ledger.forget(m);
  }
  // Runs until the members in `live` hold every partition between them, each holding some.
  bool run_until_shared(const std::vector<int>& live, Duration limit) {
    return world.run_while([&] { return !shared_by(live); }, world.now() + limit);
  }
  bool shared_by(const std::vector<int>& live) const {
    if (static_cast<std::int32_t>(ledger.owner.size()) != partitions) return false;
    for (int m : live) {
      if (ledger.held_by(m).empty()) return false;
    }
    return std::all_of(ledger.owner.begin(), ledger.owner.end(), [&](const auto& e) {
      return std::find(live.begin(), live.end(), e.second) != live.end();
    });
  }
  void admin(std::function<void(Runtime&)> script) {
    REQUIRE(test::run_script(world, admin_node(), std::move(script), 120s));
  }
  // A consumer started again with `config` reads every partition; the first offset it reads on each
  // is where it resumed (the group's committed offset).
  std::map<TopicPartition, std::int64_t> first_offsets_after_restart(const GroupConsumerConfig& config) {
    std::map<TopicPartition, std::int64_t> first;
    admin([&](Runtime& rt) {
      GroupConsumer c(rt, config);
      c.subscribe({topic});
      while (first.size() < static_cast<std::size_t>(partitions)) {
        auto records = c.poll(100ms);
        REQUIRE(records);
        for (const auto& r : *records) first.try_emplace(r.topic_partition, r.offset);
      }
      REQUIRE(c.close());
    });
    return first;
  }

  sim::World world;
  int brokers;
  std::vector<Address> servers;
  Ledger ledger;
};

const std::vector<AssignorKind> every_assignor = {AssignorKind::range, AssignorKind::roundrobin, AssignorKind::sticky,
                                                  AssignorKind::cooperative_sticky};

}  // namespace

TEST_CASE("client group: the ledger catches a partition given to a second holder, a record read without holding "
          "its partition, and a release of a partition not held",
          "[client][group]") {
  Ledger ledger;
  ledger.world_now = [] { return Instant{}; };
  auto a = ledger_listener(ledger, 0);
  auto b = ledger_listener(ledger, 1);
  const TopicPartition tp{topic, 0};
  a.on_assigned({tp}, 1);
  CHECK(ledger.violations.empty());
  b.on_assigned({tp}, 2);
  REQUIRE(ledger.violations.size() == 1);
  CHECK(ledger.violations[0] == "t-0 given to member 1 while member 0 holds it (generation 2)");
  ConsumerRecord r;
  r.topic_partition = tp;
  r.offset = 5;
  process(ledger, 0, {r});
  REQUIRE(ledger.violations.size() == 2);
  CHECK(ledger.violations[1] == "member 0 processed t-0@5 without holding it");
  b.on_revoked({tp}, 2);
  CHECK(ledger.owner.empty());
  a.on_lost({tp});
  REQUIRE(ledger.violations.size() == 3);
  CHECK(ledger.violations[2] == "member 0 gave up t-0, which it did not hold");
}

TEST_CASE("client group: three members share the partitions with each assignor, never two holding one; a member "
          "that leaves has its partitions taken over",
          "[client][group][sim]") {
  const std::uint64_t seed = GENERATE(range(1, 6));  // seeds 1..240 all pass; five keep the default run short
  INFO("seed " << seed);
  const auto kind = GENERATE(from_range(every_assignor));
  INFO("assignor " << assignors::assignor_name(kind));
  GroupWorld w(seed);
  for (int m = 0; m < members_max; ++m) w.start_member(m, member_config(m, kind));
  REQUIRE(w.run_until_shared({0, 1, 2}, 60s));
  w.world.run_for(3s);
  CHECK(w.shared_by({0, 1, 2}));
  for (int m = 0; m < members_max; ++m) CHECK(w.ledger.held_by(m).size() == 2);
  w.stop_member(2, true);
  CHECK(w.ledger.held_by(2).empty());  // it revoked everything before leaving
  REQUIRE(w.run_until_shared({0, 1}, 30s));
  w.world.run_for(3s);
  CHECK(w.ledger.held_by(0).size() == 3);
  CHECK(w.ledger.held_by(1).size() == 3);
  INFO(fmt::format("{}", fmt::join(w.ledger.violations, "\n")));
  CHECK(w.ledger.violations.empty());
  // Every partition was read by someone, and its records came in offset order with no gap between
  // consecutive readers (the next reader resumed at the committed offset; auto commit before revoke).
  for (std::int32_t p = 0; p < partitions; ++p) CHECK_FALSE(w.ledger.processed[TopicPartition{topic, p}].empty());
}

TEST_CASE("client group: a crashed member's partitions go to the others after its session timeout, not before",
          "[client][group][sim]") {
  const std::uint64_t seed = GENERATE(range(1, 6));  // seeds 1..240 all pass; five keep the default run short
  INFO("seed " << seed);
  GroupWorld w(seed);
  for (int m = 0; m < members_max; ++m) w.start_member(m, member_config(m, AssignorKind::range));
  REQUIRE(w.run_until_shared({0, 1, 2}, 60s));
  w.world.run_for(2s);
  const auto orphaned = w.ledger.held_by(2);
  const Instant crashed_at = w.world.now();
  w.crash_member(2);
  REQUIRE(w.run_until_shared({0, 1}, 30s));
  // Until the coordinator times the member out (6 s of silence), the group does not rebalance.
  CHECK(w.world.now() - crashed_at >= 5s);
  std::set<TopicPartition> taken;
  for (int m : {0, 1}) {
    for (const auto& tp : w.ledger.held_by(m)) taken.insert(tp);
  }
  for (const auto& tp : orphaned) CHECK(taken.contains(tp));
  w.world.run_for(3s);
  INFO(fmt::format("{}", fmt::join(w.ledger.violations, "\n")));
  CHECK(w.ledger.violations.empty());
}

TEST_CASE("client group: cooperative-sticky keeps consuming the partitions that stay while a member joins, and "
          "revokes only those that move; eager revokes everything",
          "[client][group][sim]") {
  const std::uint64_t seed = GENERATE(range(1, 6));  // seeds 1..240 all pass; five keep the default run short
  INFO("seed " << seed);
  const bool cooperative = GENERATE(true, false);
  const auto kind = cooperative ? AssignorKind::cooperative_sticky : AssignorKind::sticky;
  INFO("assignor " << assignors::assignor_name(kind));
  GroupWorld w(seed);
  w.start_member(0, member_config(0, kind));
  w.start_member(1, member_config(1, kind));
  REQUIRE(w.run_until_shared({0, 1}, 60s));
  w.world.run_for(2s);
  const auto before0 = w.ledger.held_by(0), before1 = w.ledger.held_by(1);
  w.ledger.revoked.clear();
  w.ledger.first_revoke_at.clear();
  // The new member hears of the second rebalance (cooperative) only at its next heartbeat, 2 s
  // apart: a window in which the others keep reading what they kept.
  auto late = member_config(2, kind);
  late.heartbeat_interval = 2s;
  w.start_member(2, late);
  REQUIRE(w.run_until_shared({0, 1, 2}, 60s));
  const Instant shared_at = w.world.now();
  w.world.run_for(2s);
  const auto moved = w.ledger.held_by(2);
  CHECK(moved.size() == 2);
  std::set<TopicPartition> revoked;
  for (int m : {0, 1}) revoked.insert(w.ledger.revoked[m].begin(), w.ledger.revoked[m].end());
  // Cooperative: a partition that stayed was read by its owner while the second rebalance ran, from
  // the owner's revoke of what moved until the new member had its share.
  int kept_read_during_rebalance = 0;
  for (const auto& [tp, owner] : w.ledger.owner) {
    if (owner == 2) continue;
    REQUIRE(w.ledger.first_revoke_at.contains(owner));
    const Instant revoked_at = w.ledger.first_revoke_at.at(owner);
    INFO("member " << owner << " revoked " << to_ms(shared_at - revoked_at) << " ms before the new member had its share");
    const auto& log = w.ledger.processed[tp];
    kept_read_during_rebalance += std::any_of(log.begin(), log.end(), [&](const Processed& p) {
      return p.member == owner && p.at > revoked_at && p.at < shared_at;
    });
  }
  if (cooperative) {
    CHECK(revoked == moved);
    CHECK(kept_read_during_rebalance == partitions - 2);
  } else {
    std::set<TopicPartition> all(before0);
    all.insert(before1.begin(), before1.end());
    CHECK(revoked == all);  // (and from its revoke to its next assignment a member reads nothing: the ledger checks)
  }
  INFO(fmt::format("{}", fmt::join(w.ledger.violations, "\n")));
  CHECK(w.ledger.violations.empty());
}

namespace {

// Member 2's application stops polling for longer than its rebalance timeout (2 s): it leaves, the
// others take its partitions well before its session timeout (10 s classic, 45 s KIP-848), and when
// it polls again it hears them lost and joins again.
void check_poll_timeout_leave(GroupWorld& w, const std::function<GroupConsumerConfig(int)>& config_of) {
  for (int m = 0; m < members_max; ++m) {
    auto config = config_of(m);
    config.rebalance_timeout = 2s;
    config.session_timeout = 10s;
    w.start_member(m, config);
  }
  REQUIRE(w.run_until_shared({0, 1, 2}, 60s));
  w.world.run_for(2s);
  const auto held = w.ledger.held_by(2);
  const Instant paused_at = w.world.now();
  w.ledger.paused[2] = true;
  w.ledger.forget(2);  // it reads nothing while its application is busy elsewhere
  REQUIRE(w.run_until_shared({0, 1}, 30s));
  const Duration taken_after = w.world.now() - paused_at;
  CHECK(taken_after >= 2s);
  CHECK(taken_after < 8s);  // well before the session timeout
  w.ledger.paused[2] = false;
  REQUIRE(w.run_until_shared({0, 1, 2}, 30s));
  CHECK(w.ledger.lost[2] == held);
  // The ledger forgot what member 2 held when it stopped polling, so its on_lost releases partitions
  // the ledger no longer gives it: those are the only complaints allowed.
  std::erase_if(w.ledger.violations, [](const std::string& v) {
    return v.starts_with("member 2 gave up") && v.ends_with("which it did not hold");
  });
  INFO(fmt::format("{}", fmt::join(w.ledger.violations, "\n")));
  CHECK(w.ledger.violations.empty());
}

}  // namespace

TEST_CASE("client group: a member that does not poll within its rebalance timeout leaves, the others take its "
          "partitions before its session timeout, and when it polls again it hears them lost and joins again",
          "[client][group][sim]") {
  const std::uint64_t seed = GENERATE(range(1, 6));  // seeds 1..240 all pass; five keep the default run short
  INFO("seed " << seed);
  GroupWorld w(seed);
  check_poll_timeout_leave(w, [](int m) { return member_config(m, AssignorKind::range); });
}

TEST_CASE("client group: a static member restarted within its session timeout keeps its assignment without a "
          "rebalance; a second process with its instance id fences the first",
          "[client][group][sim]") {
  const std::uint64_t seed = GENERATE(range(1, 6));  // seeds 1..240 all pass; five keep the default run short
  INFO("seed " << seed);
  GroupWorld w(seed);
  std::vector<GroupConsumerConfig> configs;
  for (int m = 0; m < members_max; ++m) {
    configs.push_back(member_config(m, AssignorKind::range));
    configs.back().group_instance_id = fmt::format("static-{}", m);
  }
  for (int m = 0; m < members_max; ++m) w.start_member(m, configs[m]);
  REQUIRE(w.run_until_shared({0, 1, 2}, 60s));
  w.world.run_for(2s);
  const auto held = w.ledger.held_by(2);
  const auto generation = w.ledger.generation[0];
  const int assignments0 = w.ledger.assignments[0];
  w.crash_member(2);
  w.world.run_for(2s);
  w.start_member(2, configs[2]);
  REQUIRE(w.run_until_shared({0, 1, 2}, 30s));
  w.world.run_for(8s);  // past the old process's session timeout
  CHECK(w.ledger.held_by(2) == held);
  CHECK(w.ledger.generation[0] == generation);
  CHECK(w.ledger.assignments[0] == assignments0);  // members 0 and 1 saw no rebalance
  CHECK(w.ledger.revoked[0].empty());

  INFO(fmt::format("{}", fmt::join(w.ledger.violations, "\n")));
  CHECK(w.ledger.violations.empty());

  // Member 1's instance id taken by a process on the admin machine: the old process is fenced. (Until
  // its next heartbeat it still holds what the new process was given, as in Kafka, so the ledger's
  // ownership checks do not apply from here on.)
  Ledger& ledger = w.ledger;
  ledger.stop[3] = false;
  w.world.node(w.admin_node()).set_main([&ledger, config = configs[1]](Runtime& rt) { member_main(rt, ledger, 3, config); });
  w.world.node(w.admin_node()).start();
  REQUIRE(w.world.run_while([&] { return !ledger.done.contains(1) || !ledger.done[1]; }, w.world.now() + 30s));
  CHECK(ledger.errors[1].starts_with("FENCED_INSTANCE_ID"));
  CHECK_FALSE(ledger.lost[1].empty());
  CHECK(ledger.held_by(1).empty());
}

TEST_CASE("client group: commits survive; a restarted consumer resumes from them; sync, async and auto commits "
          "report their outcomes",
          "[client][group][sim]") {
  const std::uint64_t seed = GENERATE(range(1, 6));  // seeds 1..240 all pass; five keep the default run short
  INFO("seed " << seed);
  GroupWorld w(seed);
  auto config = member_config(0, AssignorKind::range);
  config.enable_auto_commit = false;
  OffsetMap committed_sync;
  std::vector<Status> async_outcomes;
  w.admin([&](Runtime& rt) {
    GroupConsumer c(rt, config);
    c.subscribe({topic});
    std::int64_t seen = 0;
    while (seen < 60) {
      auto records = c.poll(100ms);
      INFO((records ? std::string() : records.error().message));
      REQUIRE(records);
      seen += static_cast<std::int64_t>(records->size());
    }
    c.commit_async([&](const OffsetMap&, const Status& st) { async_outcomes.push_back(st); });
    while (async_outcomes.empty()) (void)c.poll(50ms);
    (void)c.poll(200ms);
    REQUIRE(c.commit_sync());
    for (const auto& tp : c.assignment()) committed_sync[tp] = *c.position(tp);
    REQUIRE(c.close());
  });
  REQUIRE(async_outcomes.size() == 1);
  CHECK(async_outcomes[0]);
  REQUIRE(committed_sync.size() == static_cast<std::size_t>(partitions));
  CHECK(w.first_offsets_after_restart(config) == committed_sync);

  // Auto commit: a member that polls for a while commits on its interval, then before leaving.
  auto automatic = member_config(1, AssignorKind::range);
  automatic.group_id = "auto";
  w.start_member(1, automatic);
  w.world.run_for(5s);
  w.stop_member(1, true);
  CHECK(w.ledger.commits[1].size() >= 3);
  for (const auto& st : w.ledger.commits[1]) CHECK(st);
  OffsetMap auto_committed;
  w.admin([&](Runtime& rt) {
    Admin admin(rt, test::bootstrap);
    auto c = admin.committed_offsets("auto");
    REQUIRE(c);
    auto_committed = *c;
  });
  REQUIRE(auto_committed.size() == static_cast<std::size_t>(partitions));
  for (const auto& [tp, offset] : auto_committed) {
    const auto& log = w.ledger.processed[tp];
    std::int64_t last = -1;
    for (const auto& p : log) {
      if (p.member == 1) last = std::max(last, p.offset);
    }
    CHECK(offset == last + 1);  // everything it processed, committed when it closed
  }
}

namespace {

// After every member left: the group is Empty, its lag is the log end minus its committed offsets,
// an admin commit lands, an offset can be deleted, and then the group itself.
void check_after_members_left(Runtime& rt) {
  Admin admin(rt, test::bootstrap);
  auto described = admin.describe_group(group_name);
  REQUIRE(described);
  CHECK(described->state == "Empty");
  CHECK(described->members.empty());
  auto lag = admin.lag(group_name);
  REQUIRE(lag);
  CHECK(lag->size() == static_cast<std::size_t>(partitions));
  auto committed = admin.committed_offsets(group_name);
  REQUIRE(committed);
  for (const auto& [tp, l] : *lag) {
    REQUIRE(l.committed);
    CHECK(*l.committed == committed->at(tp));
    CHECK(*l.lag == l.log_end - *l.committed);
    CHECK(*l.lag >= 0);
  }
  const TopicPartition p0{topic, 0}, p1{topic, 1};
  REQUIRE(admin.alter_offsets(group_name, {{p0, 1}}));
  auto altered = admin.lag(group_name);
  REQUIRE(altered);
  CHECK(altered->at(p0).committed == 1);
  CHECK(altered->at(p0).lag == altered->at(p0).log_end - 1);
  REQUIRE(admin.delete_offsets(group_name, {p1}));
  auto after = admin.committed_offsets(group_name, {p0, p1});
  REQUIRE(after);
  CHECK(after->at(p0) == 1);
  CHECK(after->at(p1) == -1);
  REQUIRE(admin.delete_group(group_name));
  auto listed = admin.list_groups();
  REQUIRE(listed);
  CHECK(listed->empty());
}

}  // namespace

TEST_CASE("client group: admin lists, describes, deletes groups and offsets, alters offsets, computes lag",
          "[client][group][sim]") {
  const std::uint64_t seed = GENERATE(range(1, 6));  // seeds 1..240 all pass; five keep the default run short
  INFO("seed " << seed);
  GroupWorld w(seed);
  for (int m = 0; m < 2; ++m) w.start_member(m, member_config(m, AssignorKind::roundrobin));
  REQUIRE(w.run_until_shared({0, 1}, 60s));
  w.world.run_for(3s);
  const auto held0 = w.ledger.held_by(0);
  w.admin([&](Runtime& rt) {
    Admin admin(rt, test::bootstrap);
    auto listed = admin.list_groups();
    REQUIRE(listed);
    REQUIRE(listed->size() == 1);
    CHECK((*listed)[0].group_id == group_name);
    CHECK((*listed)[0].protocol_type == "consumer");
    CHECK((*listed)[0].state == "Stable");
    auto described = admin.describe_group(group_name);
    REQUIRE(described);
    CHECK(described->state == "Stable");
    CHECK(described->protocol == "roundrobin");
    REQUIRE(described->members.size() == 2);
    std::set<TopicPartition> assigned;
    for (const auto& m : described->members) {
      CHECK(m.assignment.size() == 3);
      assigned.insert(m.assignment.begin(), m.assignment.end());
      if (m.client_id == "member-0") CHECK(std::set<TopicPartition>(m.assignment.begin(), m.assignment.end()) == held0);
    }
    CHECK(assigned.size() == static_cast<std::size_t>(partitions));
    CHECK(is_kafka_error(admin.delete_group(group_name), ErrorCode::non_empty_group));
    CHECK(is_kafka_error(admin.delete_group("nobody"), ErrorCode::group_id_not_found));
    CHECK(is_kafka_error(admin.delete_offsets(group_name, {TopicPartition{topic, 0}}), ErrorCode::group_subscribed_to_topic));
    CHECK(is_kafka_error(admin.alter_offsets(group_name, {{TopicPartition{topic, 0}, 0}}), ErrorCode::unknown_member_id));
  });
  w.stop_member(0, true);
  w.stop_member(1, true);
  w.world.run_for(1s);
  w.ledger.producing = false;
  w.world.run_for(1s);
  w.admin(check_after_members_left);
}

namespace {

struct FailoverOutcome {
  std::uint64_t trace_hash = 0;
  int killed = -1;
  std::map<int, int> coordinators_after;
  bool shared_after = false;
  int partitions_read_after = 0;  // partitions read by someone in the last 10 s
  std::vector<std::string> violations;
};

FailoverOutcome run_coordinator_failover(std::uint64_t seed) {
  FailoverOutcome out;
  GroupWorld w(seed, 3);
  for (int m = 0; m < members_max; ++m) w.start_member(m, member_config(m, AssignorKind::cooperative_sticky, w.servers));
  REQUIRE(w.run_until_shared({0, 1, 2}, 90s));
  w.world.run_for(2s);
  REQUIRE(w.ledger.coordinator.size() == static_cast<std::size_t>(members_max));
  out.killed = w.ledger.coordinator[0];
  w.world.node(out.killed).kill();
  w.world.run_for(30s);
  out.coordinators_after = w.ledger.coordinator;
  out.shared_after = w.shared_by({0, 1, 2});
  const Instant recent = w.world.now() - 10s;
  for (const auto& [tp, log] : w.ledger.processed) {
    out.partitions_read_after += std::any_of(log.begin(), log.end(), [&](const Processed& p) { return p.at > recent; });
  }
  out.violations = w.ledger.violations;
  out.trace_hash = w.world.trace().hash();
  return out;
}

}  // namespace

TEST_CASE("client group: the coordinator's node killed, the members find the new coordinator and go on reading, "
          "no partition held twice; a seed replays the same run",
          "[client][group][sim]") {
  const std::uint64_t seed = GENERATE(range(1, 6));  // seeds 1..240 all pass; five keep the default run short
  INFO("seed " << seed);
  const FailoverOutcome a = run_coordinator_failover(seed);
  for (const auto& [m, c] : a.coordinators_after) {
    INFO("member " << m);
    CHECK(c != a.killed);
  }
  CHECK(a.shared_after);
  CHECK(a.partitions_read_after == partitions);
  INFO(fmt::format("{}", fmt::join(a.violations, "\n")));
  CHECK(a.violations.empty());
  CHECK(run_coordinator_failover(seed).trace_hash == a.trace_hash);
}

// ---- KIP-848: the consumer protocol (group_protocol consumer), the coordinator assigns ----

namespace {

GroupConsumerConfig kip848_config(int m, std::optional<std::string> assignor = std::nullopt) {
  auto c = member_config(m, AssignorKind::range);
  c.group_protocol = GroupProtocol::consumer;
  c.remote_assignor = std::move(assignor);
  return c;
}

}  // namespace

TEST_CASE("client group (KIP-848): three members share the partitions with the uniform and range assignors, never "
          "two holding one; a member that leaves has its partitions taken over",
          "[client][group][kip848][sim]") {
  const std::uint64_t seed = GENERATE(range(1, 4));
  INFO("seed " << seed);
  const std::string assignor = GENERATE(as<std::string>(), "uniform", "range");
  INFO("assignor " << assignor);
  GroupWorld w(seed);
  for (int m = 0; m < members_max; ++m) w.start_member(m, kip848_config(m, assignor));
  REQUIRE(w.run_until_shared({0, 1, 2}, 60s));
  w.world.run_for(3s);
  CHECK(w.shared_by({0, 1, 2}));
  for (int m = 0; m < members_max; ++m) CHECK(w.ledger.held_by(m).size() == 2);
  w.stop_member(2, true);
  CHECK(w.ledger.held_by(2).empty());
  REQUIRE(w.run_until_shared({0, 1}, 60s));
  w.world.run_for(3s);
  CHECK(w.ledger.held_by(0).size() == 3);
  CHECK(w.ledger.held_by(1).size() == 3);
  INFO(fmt::format("{}", fmt::join(w.ledger.violations, "\n")));
  CHECK(w.ledger.violations.empty());
  for (std::int32_t p = 0; p < partitions; ++p) CHECK_FALSE(w.ledger.processed[TopicPartition{topic, p}].empty());
  for (int m = 0; m < 2; ++m) CHECK(w.ledger.errors[m].empty());
}

TEST_CASE("client group (KIP-848): commits with the member epoch survive, a restarted consumer resumes from them; "
          "the admin describes the group",
          "[client][group][kip848][sim]") {
  const std::uint64_t seed = GENERATE(range(1, 4));
  INFO("seed " << seed);
  GroupWorld w(seed);
  auto config = kip848_config(0);
  config.enable_auto_commit = false;
  OffsetMap committed_sync;
  std::optional<ConsumerGroupDescription> described;
  w.admin([&](Runtime& rt) {
    GroupConsumer c(rt, config);
    c.subscribe({topic});
    std::int64_t seen = 0;
    while (seen < 60) {
      auto records = c.poll(100ms);
      INFO((records ? std::string() : records.error().message));
      REQUIRE(records);
      seen += static_cast<std::int64_t>(records->size());
    }
    REQUIRE(c.commit_sync());
    for (const auto& tp : c.assignment()) committed_sync[tp] = *c.position(tp);
    Admin admin(rt, test::bootstrap);
    auto d = admin.describe_consumer_group(group_name);
    INFO((d ? std::string() : d.error().message));
    REQUIRE(d);
    described = *d;
    REQUIRE(c.close());
  });
  REQUIRE(committed_sync.size() == static_cast<std::size_t>(partitions));
  REQUIRE(described);
  CHECK(described->state == "Stable");
  REQUIRE(described->members.size() == 1);
  CHECK(described->members[0].member_id.size() == 22);
  CHECK(described->members[0].assignment.size() == static_cast<std::size_t>(partitions));
  CHECK(described->members[0].subscribed_topic_names == std::vector<std::string>{topic});
  CHECK(w.first_offsets_after_restart(config) == committed_sync);
}
TEST_CASE("client group (KIP-848): a member that does not poll within max.poll.interval.ms leaves with epoch -1, the "
          "others take its partitions before its session timeout, and when it polls again it hears them lost and "
          "joins again",
          "[client][group][kip848][sim]") {
  const std::uint64_t seed = GENERATE(range(1, 6));
  INFO("seed " << seed);
  GroupWorld w(seed);
  check_poll_timeout_leave(w, [](int m) { return kip848_config(m); });
}

TEST_CASE("client group (KIP-848): a static member that closes (epoch -2) and comes back within its session timeout "
          "gets its partitions back and the others revoke nothing",
          "[client][group][kip848][sim]") {
  const std::uint64_t seed = GENERATE(range(1, 4));
  INFO("seed " << seed);
  GroupWorld w(seed);
  std::vector<GroupConsumerConfig> configs;
  for (int m = 0; m < members_max; ++m) {
    configs.push_back(kip848_config(m));
    configs.back().group_instance_id = fmt::format("static-{}", m);
  }
  for (int m = 0; m < members_max; ++m) w.start_member(m, configs[m]);
  REQUIRE(w.run_until_shared({0, 1, 2}, 60s));
  w.world.run_for(3s);
  const auto held = w.ledger.held_by(2);
  w.ledger.revoked.clear();
  w.stop_member(2, true);
  w.world.node(w.node_of(2)).kill();  // its process ended after close: the machine restarts it
  w.start_member(2, configs[2]);
  REQUIRE(w.run_until_shared({0, 1, 2}, 30s));
  w.world.run_for(3s);
  CHECK(w.ledger.held_by(2) == held);
  CHECK(w.ledger.revoked[0].empty());
  CHECK(w.ledger.revoked[1].empty());
  INFO(fmt::format("{}", fmt::join(w.ledger.violations, "\n")));
  CHECK(w.ledger.violations.empty());
}
