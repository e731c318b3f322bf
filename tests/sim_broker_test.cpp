// One broker (node 0) and, on node 1, an admin, a producer and a live consumer, in the simulated
// world while the broker is killed (kill -9) and powered off at seeded times and restarted. A fresh
// consumer then reads every partition back. Checked, per seed:
//
// (a) With sync before ack (log.flush.interval.messages=1): every acknowledged record is in the
//     final log at the offset it was acknowledged with, with its value; the final log has no gaps;
//     and everything the live consumer saw is in the final log (consumers only see durable records).
// (b) With Kafka's default flush policy (no fsync on append; durability comes from replication), a
//     power loss may lose acknowledged records, but only the unsynced tail. Exactly: split the run
//     into power epochs (from one power-on to the next power loss; a kill -9 keeps the page cache,
//     so offsets are never reused inside an epoch). For each epoch that ends in a power loss and
//     each partition, let F be the highest recovery point the broker's log reported during the
//     epoch (everything below it was fsynced). Then (1) every record acknowledged in the epoch at
//     an offset below F is in the final log with its value, and (2) the lost ones are a suffix of
//     the epoch's acknowledgements ordered by offset: once one is lost, every one above it is lost
//     too. An epoch that does not end in a power loss loses nothing.
// Always: the final log has no gaps and holds only values the producer sent; the fresh consumer
//     never sees one offset with two values; the live consumer never sees one offset with two values
//     within a power epoch (across a power loss it may, in (b): the broker reuses the lost offsets,
//     which is the trade-off; it is counted and must be zero in (a)).
// (c) The same seed gives the same trace hash twice.
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "broker/client/admin.h"
#include "broker/client/consumer.h"
#include "broker/client/producer.h"
#include "broker/node/node.h"
#include "broker/storage/log.h"
#include "broker/storage/log_manager.h"
#include "tests/support/bytes.h"
#include "tests/support/keel_world.h"

namespace {

using namespace keel;
using namespace keel::client;
using namespace std::chrono_literals;

using test::bootstrap;
using test::text_of;
const std::string topic = "events";
constexpr int partitions = 2;
constexpr Duration fault_phase = 40s;

struct Observed {
  TopicPartition tp;
  std::int64_t offset = 0;
  std::string value;
  Instant at{};  // node 1's clock: when the acknowledgement or the record arrived
};

struct Crash {
  Instant at{};  // world time
  bool power_loss = false;
  Instant restart_on_client_clock{};  // when the broker came back, on node 1's clock
  // The partition logs' recovery points and ends just before the crash (absent while the broker
  // was still starting).
  std::map<TopicPartition, std::int64_t> recovery_point;
  std::map<TopicPartition, std::int64_t> log_end;
};

struct Outcome {
  std::uint64_t produced = 0;
  std::vector<Observed> acked;
  std::vector<Observed> consumed;  // by the live consumer, during the faults
  std::vector<Crash> crashes;
  std::map<TopicPartition, std::map<std::int64_t, std::string>> final_log;
  std::vector<std::string> final_read_conflicts;  // the fresh consumer saw an offset with two values
  std::set<std::string> sent_values;
  bool final_read_complete = false;
  std::uint64_t trace_hash = 0;
  std::uint64_t producer_retries = 0;
  std::uint64_t consumer_resets = 0;
};

// The broker of node 0 as the test sees it: set while a started broker serves.
struct BrokerProbe {
  node::Node* broker = nullptr;
};

std::vector<TopicPartition> all_partitions() {
  std::vector<TopicPartition> tps;
  for (int p = 0; p < partitions; ++p) tps.push_back(TopicPartition{topic, p});
  return tps;
}

bool create_events_topic(Runtime& rt) { return test::create_topic_retrying(rt, topic, partitions); }

// Client settings drawn per seed, so seeds also cover linger, batch sizes, acks and in-flight limits.
ProducerConfig producer_config(Random& random) {
  ProducerConfig pc;
  pc.bootstrap_servers = bootstrap;
  pc.acks = random.chance(0.5) ? std::int16_t{-1} : std::int16_t{1};
  pc.linger = std::chrono::milliseconds(random.between(0, 20));
  pc.batch_bytes = static_cast<std::int32_t>(random.between(200, 4000));
  pc.max_in_flight_per_connection = random.chance(0.5) ? 1 : 5;
  pc.request_timeout = 2s;
  pc.delivery_timeout = 8s;
  pc.retry_backoff = std::chrono::milliseconds(random.between(50, 300));
  return pc;
}

// Sends a record every 10 to 30 ms (keys over 5 values) and records each acknowledgement.
void produce(Runtime& rt, Outcome& out, const ProducerConfig& pc, Duration duration) {
  const Instant end = rt.now() + duration;
  Producer producer(rt, pc);
  std::vector<std::pair<std::string, std::shared_ptr<Delivery>>> pending;
  const auto collect = [&](bool all) {
    for (auto it = pending.begin(); it != pending.end();) {
      if (!all && !it->second->done()) {
        ++it;
        continue;
      }
      auto md = it->second->wait();
      if (md) out.acked.push_back(Observed{md->topic_partition(), md->offset, it->first, it->second->completed_at()});
      it = pending.erase(it);
    }
  };
  for (std::uint64_t i = 0; rt.now() < end; ++i) {
    ProducerRecord r;
    r.topic = topic;
    const std::string value = fmt::format("v{}", i);
    r.key = protocol::Bytes{static_cast<std::uint8_t>('a' + i % 5)};
    r.value = protocol::Bytes(value.begin(), value.end());
    out.sent_values.insert(value);
    pending.emplace_back(value, producer.send(std::move(r)));
    ++out.produced;
    rt.sleep_for(std::chrono::milliseconds(10 + rt.random().below(21)));
    collect(false);
  }
  (void)producer.flush();
  collect(true);
  out.producer_retries = producer.retries();
}

// Tails every partition from the start while the faults go on, until `stop`.
void consume_live(Runtime& rt, Outcome& out, const bool& stop) {
  ConsumerConfig cc;
  cc.bootstrap_servers = bootstrap;
  cc.client_id = "live-consumer";
  cc.request_timeout = 2s;
  cc.fetch_max_wait = 200ms;
  cc.auto_offset_reset = ConsumerConfig::Reset::earliest;
  Consumer consumer(rt, cc);
  consumer.assign(all_partitions());
  while (!stop) {
    auto records = consumer.poll(300ms);
    if (!records) continue;  // no broker to ask: it is down
    for (const auto& r : *records) {
      out.consumed.push_back(Observed{r.topic_partition, r.offset, text_of(r.value), rt.now()});
    }
  }
  out.consumer_resets = consumer.offset_resets();
}

// After the faults: a fresh consumer reads every partition from the start up to its end offset.
void final_read(Runtime& rt, Outcome& out) {
  ConsumerConfig cc;
  cc.bootstrap_servers = bootstrap;
  cc.client_id = "final-consumer";
  cc.request_timeout = 2s;
  cc.auto_offset_reset = ConsumerConfig::Reset::none;
  Consumer consumer(rt, cc);
  const auto tps = all_partitions();
  consumer.assign(tps);
  std::map<TopicPartition, std::int64_t> ends;
  for (const auto& tp : tps) {
    for (int attempt = 0; attempt < 100 && !ends.contains(tp); ++attempt) {
      if (auto end = consumer.end_offset(tp)) ends[tp] = *end;
      else rt.sleep_for(200ms);
    }
  }
  if (ends.size() != tps.size() || !consumer.seek_to_beginning(tps)) return;
  for (int round = 0; round < 1000; ++round) {
    bool done = true;
    for (const auto& tp : tps) done = done && consumer.position(tp).value_or(0) >= ends[tp];
    if (done) {
      out.final_read_complete = true;
      return;
    }
    auto records = consumer.poll(500ms);
    if (!records) continue;
    for (const auto& r : *records) {
      auto [it, fresh] = out.final_log[r.topic_partition].emplace(r.offset, text_of(r.value));
      if (!fresh && it->second != text_of(r.value)) {
        out.final_read_conflicts.push_back(fmt::format("{}-{} offset {}: {} and {}", r.topic_partition.topic,
                                                       r.topic_partition.partition, r.offset, it->second,
                                                       text_of(r.value)));
      }
    }
  }
}

void note_logs(const BrokerProbe& probe, Crash& crash) {
  if (probe.broker == nullptr) return;
  for (const auto& tp : all_partitions()) {
    if (storage::Log* log = probe.broker->logs().get(TopicPartition{tp.topic, tp.partition})) {
      crash.recovery_point[tp] = log->recovery_point();
      crash.log_end[tp] = log->log_end_offset();
    }
  }
}

struct Options {
  std::uint64_t seed = 1;
  bool sync_before_ack = false;
  bool power_losses = true;
};

void schedule_crashes(sim::World& world, Outcome& out, BrokerProbe& probe, bool power_losses) {
  // A kill -9 or a power loss every 2 to 7 s, back after 0.2 to 3 s, decided by the seed.
  Random faults = world.stream(-1, "crash-schedule");
  Instant t = world.now() + 3s;
  while (t < world.now() + fault_phase) {
    const bool power = power_losses && faults.chance(0.5);
    const Duration down = std::chrono::milliseconds(faults.between(200, 3000));
    Crash crash;
    crash.at = t;
    crash.power_loss = power;
    crash.restart_on_client_clock = world.node(1).clock().local(t + down);
    const std::size_t index = out.crashes.size();
    out.crashes.push_back(crash);
    world.at(t, [&world, &out, &probe, index, power] {
      note_logs(probe, out.crashes[index]);
      power ? world.node(0).power_off() : world.node(0).kill();
    });
    world.at(t + down, [&world, power] { power ? world.node(0).power_on_and_start() : world.node(0).start(); });
    t += down + std::chrono::milliseconds(faults.between(2000, 7000));
  }
}

Outcome run(const Options& o) {
  sim::World world(test::world_options(o.seed));
  test::add_nodes(world, 2);
  std::string extra = "log.segment.bytes=20000\n";
  if (o.sync_before_ack) extra += "log.flush.interval.messages=1\n";
  BrokerProbe probe;
  world.node(0).set_main([c = test::single_node_config(extra), &probe](Runtime& rt) {
    node::Node broker(rt, c);
    if (!broker.start()) return;
    struct Publish {
      BrokerProbe& p;
      ~Publish() { p.broker = nullptr; }
    } publish{probe};
    probe.broker = &broker;
    (void)broker.serve();
  });
  world.node(0).start();

  Outcome out;
  schedule_crashes(world, out, probe, o.power_losses);
  Random client_random = world.stream(1, "client-config");
  const ProducerConfig pc = producer_config(client_random);
  test::run_script(world, 1, [&out, pc](Runtime& rt) {
    if (!create_events_topic(rt)) return;
    auto stop = std::make_shared<bool>(false);
    auto consumer_done = std::make_shared<Event>();
    rt.spawn("live-consumer", [&rt, &out, stop, consumer_done] {
      consume_live(rt, out, *stop);
      consumer_done->set();
    });
    produce(rt, out, pc, fault_phase);
    rt.sleep_for(5s);  // the last restart is over by now, and the live consumer caught up
    *stop = true;
    consumer_done->wait();
    final_read(rt, out);
  }, 10min);
  out.trace_hash = world.trace().hash();
  // Stop both processes while `out` and `probe`, which their tasks point at, still exist.
  test::kill_all(world);
  return out;
}

// ---- the checks ----

struct Figures {
  int seeds = 0;
  std::uint64_t produced = 0, acked = 0, lost = 0, lost_above_flush = 0, kept_above_flush = 0;
  std::uint64_t power_losses = 0, kills = 0, live_rewritten = 0, retries = 0, resets = 0;
};

// The power epoch (number of power-ons before) something seen on node 1's clock at `at` belongs
// to. The broker is down between a power loss and its restart, so whatever arrives then was sent
// before the loss and belongs to the epoch before.
int power_epoch(const Outcome& out, Instant at) {
  int epoch = 0;
  for (const auto& c : out.crashes) epoch += c.power_loss && c.restart_on_client_clock <= at ? 1 : 0;
  return epoch;
}

// The highest recovery point of `tp` seen during `epoch`, and whether the epoch ended in a power loss.
std::pair<std::int64_t, bool> epoch_end(const Outcome& out, int epoch, const TopicPartition& tp) {
  std::int64_t flushed = 0;
  int current = 0;
  for (const auto& c : out.crashes) {
    if (current == epoch) {
      if (auto it = c.recovery_point.find(tp); it != c.recovery_point.end()) flushed = std::max(flushed, it->second);
      if (c.power_loss) return {flushed, true};
    }
    current += c.power_loss ? 1 : 0;
  }
  return {flushed, false};
}

bool kept(const Outcome& out, const Observed& a) {
  auto log = out.final_log.find(a.tp);
  if (log == out.final_log.end()) return false;
  auto it = log->second.find(a.offset);
  return it != log->second.end() && it->second == a.value;
}

std::string where(const Observed& a) { return fmt::format("{} at {}-{} offset {}", a.value, a.tp.topic, a.tp.partition, a.offset); }

void check_acknowledged(const Outcome& out, bool keep_all, Figures& f, std::vector<std::string>& v) {
  std::map<std::pair<TopicPartition, int>, std::vector<const Observed*>> epochs;
  for (const auto& a : out.acked) epochs[{a.tp, power_epoch(out, a.at)}].push_back(&a);
  for (auto& [key, acked] : epochs) {
    const auto& [tp, epoch] = key;
    const auto [flushed, lossy] = epoch_end(out, epoch, tp);
    std::sort(acked.begin(), acked.end(), [](const Observed* x, const Observed* y) { return x->offset < y->offset; });
    const Observed* first_lost = nullptr;
    for (const Observed* a : acked) {
      if (kept(out, *a)) {
        f.kept_above_flush += lossy && a->offset >= flushed ? 1 : 0;
        if (first_lost != nullptr) {
          v.push_back(fmt::format("{} survived though {} below it was lost (power epoch {}): the loss is not a tail",
                                  where(*a), where(*first_lost), epoch));
        }
        continue;
      }
      ++f.lost;
      if (first_lost == nullptr) first_lost = a;
      if (keep_all || !lossy) {
        v.push_back(fmt::format("{} was acknowledged and lost (power epoch {}, {})", where(*a), epoch,
                                lossy ? "ended by a power loss" : "no power loss"));
      } else if (a->offset < flushed) {
        v.push_back(fmt::format("{} was lost though the log had flushed up to {} (power epoch {})", where(*a), flushed, epoch));
      } else {
        ++f.lost_above_flush;
      }
    }
  }
}

void check_final_log(const Outcome& out, std::vector<std::string>& v) {
  for (const auto& c : out.final_read_conflicts) v.push_back("the fresh consumer saw two values at " + c);
  for (const auto& [tp, log] : out.final_log) {
    std::int64_t expected = 0;
    for (const auto& [offset, value] : log) {
      if (offset != expected) {
        v.push_back(fmt::format("the final log of {}-{} has a gap: offset {} after {}", tp.topic, tp.partition, offset,
                                expected - 1));
      }
      expected = offset + 1;
      if (!out.sent_values.contains(value)) {
        v.push_back(fmt::format("{}-{} offset {} holds {}, which was never sent", tp.topic, tp.partition, offset, value));
      }
    }
  }
}

void check_live_consumer(const Outcome& out, bool sync_before_ack, Figures& f, std::vector<std::string>& v) {
  std::map<std::pair<TopicPartition, std::int64_t>, std::map<int, std::string>> seen;  // -> epoch -> value
  for (const auto& c : out.consumed) {
    const int epoch = power_epoch(out, c.at);
    auto& by_epoch = seen[{c.tp, c.offset}];
    auto [it, fresh] = by_epoch.emplace(epoch, c.value);
    if (!fresh && it->second != c.value) {
      v.push_back(fmt::format("the live consumer saw {} and {} within power epoch {}", where(c), it->second, epoch));
    }
    if (sync_before_ack && !kept(out, c)) v.push_back(fmt::format("the live consumer saw {}, which did not survive", where(c)));
  }
  for (const auto& [key, by_epoch] : seen) {
    std::set<std::string> values;
    for (const auto& [epoch, value] : by_epoch) values.insert(value);
    f.live_rewritten += values.size() > 1 ? 1 : 0;
  }
  if (sync_before_ack && f.live_rewritten > 0) {
    v.push_back(fmt::format("the live consumer saw {} offsets with two values across power losses", f.live_rewritten));
  }
}

// Every check on one run's outcome; one line per violation.
std::vector<std::string> check_outcome(const Outcome& out, bool sync_before_ack, Figures& f) {
  std::vector<std::string> violations;
  check_acknowledged(out, sync_before_ack, f, violations);
  check_final_log(out, violations);
  check_live_consumer(out, sync_before_ack, f, violations);
  return violations;
}

void check_seed(const Options& o, Figures& f) {
  const Outcome out = run(o);
  Figures mine;
  const auto violations = check_outcome(out, o.sync_before_ack, mine);
  for (const auto& c : out.crashes) ++(c.power_loss ? mine.power_losses : mine.kills);
  INFO(fmt::format("seed {} sync_before_ack={} power_losses={}: {} produced, {} acknowledged, {} consumed live, "
                   "{} kills, {} power losses, {} lost",
                   o.seed, o.sync_before_ack, o.power_losses, out.produced, out.acked.size(), out.consumed.size(),
                   mine.kills, mine.power_losses, mine.lost));
  REQUIRE(out.final_read_complete);
  CHECK(out.acked.size() > out.produced / 2);  // the broker is up most of the time
  CHECK(!out.consumed.empty());
  for (const auto& violation : violations) FAIL_CHECK(violation);
  f.seeds += 1;
  f.produced += out.produced;
  f.acked += out.acked.size();
  f.lost += mine.lost;
  f.lost_above_flush += mine.lost_above_flush;
  f.kept_above_flush += mine.kept_above_flush;
  f.power_losses += mine.power_losses;
  f.kills += mine.kills;
  f.live_rewritten += mine.live_rewritten;
  f.retries += out.producer_retries;
  f.resets += out.consumer_resets;
}

Figures sweep(std::uint64_t first, std::uint64_t count, bool sync_before_ack, bool power_losses) {
  Figures f;
  for (std::uint64_t seed = first; seed < first + count; ++seed) {
    Options o;
    o.seed = seed;
    o.sync_before_ack = sync_before_ack;
    o.power_losses = power_losses;
    check_seed(o, f);
  }
  WARN(fmt::format("{} seeds (sync_before_ack={}, power losses={}): {} produced, {} acknowledged, {} kills, {} power "
                   "losses, {} acknowledged lost (all above the flushed point: {}), {} kept above it, {} offsets the "
                   "live consumer saw with two values, {} producer retries, {} consumer offset resets",
                   f.seeds, sync_before_ack, power_losses, f.produced, f.acked, f.kills, f.power_losses, f.lost,
                   f.lost_above_flush, f.kept_above_flush, f.live_rewritten, f.retries, f.resets));
  return f;
}

}  // namespace

// Seeds per mode: together about 20 s of test time on these machines (~60 ms a seed).
constexpr std::uint64_t seeds_sync = 120;
constexpr std::uint64_t seeds_default = 120;
constexpr std::uint64_t seeds_kill_only = 30;

TEST_CASE("sim broker: with sync before ack, no acknowledged record is lost to kills and power losses",
          "[sim][broker][sweep]") {
  const Figures f = sweep(1, seeds_sync, true, true);
  CHECK(f.lost == 0);
  CHECK(f.power_losses > 0);
}

TEST_CASE("sim broker: without sync, a power loss loses at most the unsynced tail", "[sim][broker][sweep]") {
  const Figures f = sweep(1, seeds_default, false, true);
  // Kafka's trade-off is real here: power losses in these seeds do lose acknowledged records.
  CHECK(f.lost > 0);
  CHECK(f.lost == f.lost_above_flush);
}

TEST_CASE("sim broker: without sync, kill -9 alone loses nothing (the page cache survives)", "[sim][broker][sweep]") {
  const Figures f = sweep(1, seeds_kill_only, false, false);
  CHECK(f.lost == 0);
  CHECK(f.live_rewritten == 0);
}

TEST_CASE("sim broker: one seed replays the same run, another seed a different one", "[sim][broker]") {
  for (bool sync : {false, true}) {
    Options o;
    o.seed = 42;
    o.sync_before_ack = sync;
    const Outcome a = run(o);
    const Outcome b = run(o);
    CHECK(a.trace_hash == b.trace_hash);
    CHECK(a.acked.size() == b.acked.size());
    CHECK(a.consumed.size() == b.consumed.size());
    o.seed = 43;
    CHECK(run(o).trace_hash != a.trace_hash);
  }
}

namespace {

// A crafted history: one power loss at 10 s (back at 12 s on the client's clock) after the log of
// partition 0 had flushed up to offset 3. Before it, a0..a5 were acknowledged at offsets 0..5;
// after it, b4 and b5 at offsets 4 and 5 (the lost offsets reused).
Outcome crafted() {
  Outcome out;
  const TopicPartition tp{topic, 0};
  const Instant t0 = Instant{} + 1h;
  Crash crash;
  crash.at = t0 + 10s;
  crash.power_loss = true;
  crash.restart_on_client_clock = t0 + 12s;
  crash.recovery_point[tp] = 3;
  crash.log_end[tp] = 6;
  out.crashes.push_back(crash);
  for (int i = 0; i < 6; ++i) {
    out.acked.push_back(Observed{tp, i, fmt::format("a{}", i), t0 + 5s});
    out.sent_values.insert(fmt::format("a{}", i));
    out.final_log[tp][i] = fmt::format("a{}", i);
  }
  for (int i = 4; i < 6; ++i) {
    out.acked.push_back(Observed{tp, i, fmt::format("b{}", i), t0 + 20s});
    out.sent_values.insert(fmt::format("b{}", i));
    out.final_log[tp][i] = fmt::format("b{}", i);
  }
  out.consumed.push_back(Observed{tp, 4, "a4", t0 + 6s});
  out.consumed.push_back(Observed{tp, 4, "b4", t0 + 21s});
  out.final_read_complete = true;
  return out;
}

bool mentions(const std::vector<std::string>& violations, const std::string& what) {
  return std::any_of(violations.begin(), violations.end(), [&](const std::string& v) { return v.find(what) != std::string::npos; });
}

}  // namespace

TEST_CASE("sim broker: the durability checks pass a lost unsynced tail and catch every other loss", "[sim][broker]") {
  const TopicPartition tp{topic, 0};
  Figures f;
  // a4 and a5 lost above the flushed point 3: Kafka's trade-off, fine by default, not with sync.
  CHECK(check_outcome(crafted(), false, f).empty());
  CHECK(f.lost == 2);
  CHECK(f.lost_above_flush == 2);
  CHECK(f.live_rewritten == 1);
  const auto strict = check_outcome(crafted(), true, f);
  CHECK(mentions(strict, "a4 at events-0 offset 4 was acknowledged and lost"));
  CHECK(mentions(strict, "live consumer saw a4 at events-0 offset 4, which did not survive"));
  CHECK(mentions(strict, "two values across power losses"));

  Outcome below_flush = crafted();  // a2 lost (the log holds a stranger there): it was synced
  below_flush.final_log[tp][2] = "a5";
  auto v = check_outcome(below_flush, false, f);
  CHECK(mentions(v, "a2 at events-0 offset 2 was lost though the log had flushed up to 3"));
  CHECK(mentions(v, "a3 at events-0 offset 3 survived though a2 at events-0 offset 2 below it was lost"));

  Outcome after_loss = crafted();  // b5 lost with no power loss after it
  after_loss.final_log[tp].erase(5);
  CHECK(mentions(check_outcome(after_loss, false, f), "b5 at events-0 offset 5 was acknowledged and lost (power epoch 1, no power loss)"));

  Outcome gap = crafted();
  gap.final_log[tp].erase(1);
  CHECK(mentions(check_outcome(gap, false, f), "has a gap: offset 2 after 0"));

  Outcome phantom = crafted();
  phantom.sent_values.erase("a0");
  CHECK(mentions(check_outcome(phantom, false, f), "holds a0, which was never sent"));

  Outcome conflict = crafted();
  conflict.final_read_conflicts.push_back("events-0 offset 1: a1 and x");
  CHECK(mentions(check_outcome(conflict, false, f), "the fresh consumer saw two values"));

  Outcome rewritten = crafted();  // the live consumer saw two values in one power epoch
  rewritten.consumed.push_back(Observed{tp, 1, "a1", Instant{} + 1h + 6s});
  rewritten.consumed.push_back(Observed{tp, 1, "zz", Instant{} + 1h + 7s});
  CHECK(mentions(check_outcome(rewritten, false, f), "within power epoch 0"));
}

TEST_CASE("sim broker: a longer sweep of seeds", "[.long]") {
  Figures f = sweep(1000, 300, true, true);
  CHECK(f.lost == 0);
  f = sweep(1000, 300, false, true);
  CHECK(f.lost == f.lost_above_flush);
  f = sweep(1000, 100, false, false);
  CHECK(f.lost == 0);
}


namespace {

struct Visibility {
  std::vector<std::string> gone;  // read by the consumer, then taken by the power loss
  std::uint64_t consumed = 0;
  std::uint64_t read_before_ack = 0;  // arrived at the consumer > 0.5 ms before its ack arrived
};

// Fetches every partition without waiting, at full speed, until `stop`.
void consume_tight(Runtime& rt, Outcome& out, const bool& stop) {
  ConsumerConfig cc;
  cc.bootstrap_servers = bootstrap;
  cc.request_timeout = 1s;
  cc.fetch_max_wait = 0ms;
  Consumer consumer(rt, cc);
  consumer.assign(all_partitions());
  while (!stop) {
    auto records = consumer.poll(50ms);
    if (!records) continue;
    for (const auto& r : *records) {
      out.consumed.push_back(Observed{r.topic_partition, r.offset, text_of(r.value), rt.now()});
    }
  }
}

// Sends one record at a time for 6 s, without retries, each waiting for its acknowledgement.
void produce_one_by_one(Runtime& rt, Outcome& out) {
  ProducerConfig pc;
  pc.bootstrap_servers = bootstrap;
  pc.linger = 0ms;
  pc.request_timeout = 1s;
  pc.delivery_timeout = 5s;
  pc.retries = 0;
  Producer producer(rt, pc);
  const Instant end = rt.now() + 6s;
  for (int i = 0; rt.now() < end; ++i) {
    ProducerRecord r;
    r.topic = topic;
    const std::string value = fmt::format("v{}", i);
    r.value = test::bytes_of(value);
    out.sent_values.insert(value);
    if (auto md = producer.send_and_wait(std::move(r))) {
      out.acked.push_back(Observed{md->topic_partition(), md->offset, value, rt.now()});
    }
  }
}

// What the consumer read that the power loss took, and what it read before its acknowledgement.
Visibility visibility_of(const Outcome& out) {
  Visibility v;
  v.consumed = out.consumed.size();
  std::map<std::string, Instant> acked_at;
  for (const auto& a : out.acked) acked_at[a.value] = a.at;
  for (const auto& c : out.consumed) {
    if (!kept(out, c)) v.gone.push_back(where(c));
    auto it = acked_at.find(c.value);
    // One-way latency is at most 0.5 ms: the fetch answer left before the ack, i.e. before the fsync ended.
    if (it != acked_at.end() && c.at + 500us < it->second) ++v.read_before_ack;
  }
  return v;
}

// A producer that sends one record at a time without retries (so the broker is nearly always inside
// the fsync of an append, and a record lost with the broker is not resent into the same offset) and
// a consumer that fetches without waiting, both at full speed; one power loss at a seeded time.
Visibility read_unsynced(std::uint64_t seed) {
  sim::World world(test::world_options(seed));
  test::add_nodes(world, 2);
  test::start_keel_node(world, 0, test::single_node_config("log.flush.interval.messages=1\n"));
  Random faults = world.stream(-1, "power-loss");
  const Instant crash = world.now() + 2s + std::chrono::microseconds(faults.between(0, 2000000));
  world.at(crash, [&world] { world.node(0).power_off(); });
  world.at(crash + 1s, [&world] { world.node(0).power_on_and_start(); });
  Outcome out;
  test::run_script(world, 1, [&out](Runtime& rt) {
    if (!create_events_topic(rt)) return;
    auto stop = std::make_shared<bool>(false);
    rt.spawn("tight-consumer", [&rt, &out, stop] { consume_tight(rt, out, *stop); });
    produce_one_by_one(rt, out);
    *stop = true;
    rt.sleep_for(200ms);
    final_read(rt, out);
  }, 5min);
  test::kill_all(world);
  KEEL_ASSERT(out.final_read_complete && !out.consumed.empty());
  return visibility_of(out);
}

}  // namespace

// Kafka with flush.messages=1 makes a record visible to consumers only once the append (and its
// flush) returned: the high watermark moves after. A broker that served fetches up to the log end,
// which moves before the flush, let consumers read records a power loss then took (18 of 50 seeds
// before the fix; the offset came back with another record). A regression test.
TEST_CASE("sim broker: with sync before ack, a consumer reads only records that survive a power loss",
          "[sim][broker][sweep]") {
  int seeds_with_loss = 0;
  std::uint64_t consumed = 0, early = 0;
  const std::uint64_t seeds = 15;
  for (std::uint64_t seed = 1; seed <= seeds; ++seed) {
    const Visibility v = read_unsynced(seed);
    consumed += v.consumed;
    early += v.read_before_ack;
    if (!v.gone.empty()) {
      ++seeds_with_loss;
      WARN(fmt::format("seed {}: the consumer read {} record(s) the power loss took, first {}", seed, v.gone.size(),
                       v.gone.front()));
    }
  }
  INFO(fmt::format("{} seeds: {} records consumed, {} of them more than 0.5 ms before their acknowledgement arrived; "
                   "{} seeds where the consumer read a record the power loss took", seeds, consumed, early, seeds_with_loss));
  CHECK(consumed > 0);
  CHECK(seeds_with_loss == 0);
  CHECK(early == 0);
}
