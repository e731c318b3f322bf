// One broker, one producer and one consumer in the simulated world while the broker is killed
// (kill -9) and powered off at seeded times and restarted. With the sync-before-ack setting
// (log.flush.interval.messages=1) every acknowledged record survives. Without it (Kafka's default:
// no fsync on append, durability from replication), a power loss may lose acknowledged records,
// but only the unsynced tail: within each run of the broker between two crashes, what is lost of
// a partition is a suffix of what that run acknowledged, and a kill -9 (the page cache survives)
// loses nothing. The same seed gives the same run, hash for hash.
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "broker/client/admin.h"
#include "broker/client/consumer.h"
#include "broker/client/producer.h"
#include "broker/server/broker.h"
#include "broker/server/config.h"
#include "sim/node.h"
#include "sim/world.h"

namespace {

using namespace keel;
using namespace keel::client;

const std::vector<Address> bootstrap{{"n0", 9092}};
constexpr int partitions = 2;
constexpr Duration fault_phase = std::chrono::seconds(40);

struct Acked {
  TopicPartition tp;
  std::int64_t offset = 0;
  std::string value;
  Instant acked_at{};  // the producer's clock
};

struct Crash {
  Instant at{};
  bool power_loss = false;
  Instant restart_on_client_clock{};  // when the broker came back, on the producer's clock
};

struct Outcome {
  std::vector<Acked> acked;
  std::vector<Crash> crashes;
  std::map<TopicPartition, std::map<std::int64_t, std::string>> final_log;
  bool final_read_complete = false;
  std::uint64_t trace_hash = 0;
  std::uint64_t produced = 0;
};

std::string text(const std::optional<protocol::Bytes>& b) { return b ? std::string(b->begin(), b->end()) : std::string(); }

// The producer side of node 1: sends a record every 20 ms and records each acknowledgement with the
// time it arrived.
void produce(Runtime& rt, Outcome& out, Duration duration) {
  const Instant end = rt.now() + duration;
  ProducerConfig pc;
  pc.bootstrap_servers = bootstrap;
  pc.linger = std::chrono::milliseconds(5);
  pc.request_timeout = std::chrono::seconds(2);
  pc.delivery_timeout = std::chrono::seconds(8);
  pc.retry_backoff = std::chrono::milliseconds(200);
  Producer producer(rt, pc);
  std::vector<std::pair<std::string, std::shared_ptr<Delivery>>> pending;
  const auto collect = [&](bool all) {
    for (auto it = pending.begin(); it != pending.end();) {
      if (!all && !it->second->done()) {
        ++it;
        continue;
      }
      auto md = it->second->wait();
      if (md) out.acked.push_back(Acked{md->topic_partition, md->offset, it->first, it->second->completed_at()});
      it = pending.erase(it);
    }
  };
  for (std::uint64_t i = 0; rt.now() < end; ++i) {
    ProducerRecord r;
    r.topic = "events";
    const std::string value = fmt::format("v{}", i);
    r.key = protocol::Bytes{static_cast<std::uint8_t>('a' + i % 5)};
    r.value = protocol::Bytes(value.begin(), value.end());
    pending.emplace_back(value, producer.send(std::move(r)));
    ++out.produced;
    rt.sleep_for(std::chrono::milliseconds(20));
    collect(false);
  }
  (void)producer.flush();
  collect(true);
}

// After the faults: a fresh consumer reads every partition from the start up to its end offset.
void final_read(Runtime& rt, Outcome& out) {
  ConsumerConfig cc;
  cc.bootstrap_servers = bootstrap;
  cc.request_timeout = std::chrono::seconds(2);
  Consumer consumer(rt, cc);
  std::vector<TopicPartition> tps;
  for (int p = 0; p < partitions; ++p) tps.push_back(TopicPartition{"events", p});
  consumer.assign(tps);
  std::map<TopicPartition, std::int64_t> ends;
  for (const auto& tp : tps) {
    for (int attempt = 0; attempt < 100 && !ends.contains(tp); ++attempt) {
      if (auto end = consumer.end_offset(tp)) ends[tp] = *end;
      else rt.sleep_for(std::chrono::milliseconds(200));
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
    auto records = consumer.poll(std::chrono::milliseconds(500));
    if (!records) continue;
    for (const auto& r : *records) out.final_log[r.topic_partition][r.offset] = text(r.value);
  }
}

Outcome run(std::uint64_t seed, bool sync_before_ack, bool power_losses = true) {
  sim::WorldOptions options;
  options.seed = seed;
  sim::World world(options);
  for (int i = 0; i < 2; ++i) {
    sim::NodeOptions o;
    o.id = i;
    world.add_node(o);
  }
  std::string text = "node.id=0\nlisteners=PLAINTEXT://n0:9092\nlog.dirs=logs\nlog.segment.bytes=20000\n";
  if (sync_before_ack) text += "log.flush.interval.messages=1\n";
  auto config = server::parse_broker_config(text, "test", {});
  KEEL_ASSERT(static_cast<bool>(config));
  world.node(0).set_main([c = *config](Runtime& rt) { (void)server::run_broker(rt, c); });
  world.node(0).start();

  // The crash schedule, decided by the seed: a kill -9 or a power loss every 2 to 7 s, back after 0.2 to 3 s.
  Outcome out;
  Random faults = world.stream(-1, "crash-schedule");
  Instant t = world.now() + std::chrono::seconds(3);
  while (t < world.now() + fault_phase) {
    const bool power = power_losses && faults.chance(0.5);
    const Duration down = std::chrono::milliseconds(faults.between(200, 3000));
    out.crashes.push_back(Crash{t, power, world.node(1).clock().local(t + down)});
    world.at(t, [&world, power] { power ? world.node(0).power_off() : world.node(0).kill(); });
    world.at(t + down, [&world, power] { power ? world.node(0).power_on_and_start() : world.node(0).start(); });
    t += down + std::chrono::milliseconds(faults.between(2000, 7000));
  }
  auto done = std::make_shared<bool>(false);
  world.node(1).set_main([&out, done](Runtime& rt) {
    Admin admin(rt, bootstrap);
    (void)admin.create_topic("events", partitions, 1);
    produce(rt, out, fault_phase);
    rt.sleep_for(std::chrono::seconds(5));  // the last restart is over by now
    final_read(rt, out);
    *done = true;
  });
  world.node(1).start();
  world.run_while([&] { return !*done; }, world.now() + std::chrono::minutes(10));
  out.trace_hash = world.trace().hash();
  return out;
}

struct Losses {
  int lost = 0;
  std::vector<std::string> violations;
};

// Which run of the broker acknowledged a record: the number of restarts before the acknowledgement
// arrived. While the broker is down nothing can be appended, so an acknowledgement that arrives
// between a crash and the restart still belongs to the run before.
int broker_run(const Outcome& out, Instant acked_at) {
  int run = 0;
  for (const auto& c : out.crashes) run += c.restart_on_client_clock <= acked_at ? 1 : 0;
  return run;
}

// Kept: the final log holds the acknowledged value at its offset. Losing only the unsynced tail
// means: of what one run of the broker acknowledged in a partition, the lost records are the ones
// at the highest offsets (a suffix). With sync before ack, or with kills only, nothing is lost.
Losses check(const Outcome& out, bool must_keep_all) {
  Losses l;
  std::map<std::pair<TopicPartition, int>, std::vector<const Acked*>> runs;
  for (const auto& a : out.acked) runs[{a.tp, broker_run(out, a.acked_at)}].push_back(&a);
  for (auto& [key, acked] : runs) {
    const auto& tp = key.first;
    std::sort(acked.begin(), acked.end(), [](const Acked* x, const Acked* y) { return x->offset < y->offset; });
    const auto log_it = out.final_log.find(tp);
    const Acked* first_lost = nullptr;
    for (const Acked* a : acked) {
      const bool kept = log_it != out.final_log.end() && log_it->second.count(a->offset) != 0 &&
                        log_it->second.at(a->offset) == a->value;
      if (!kept) {
        ++l.lost;
        if (first_lost == nullptr) first_lost = a;
        if (must_keep_all) {
          l.violations.push_back(fmt::format("{} at {}-{} offset {} (broker run {}) was acknowledged and lost", a->value,
                                             tp.topic, tp.partition, a->offset, key.second));
        }
      } else if (first_lost != nullptr) {
        l.violations.push_back(fmt::format("{} at {}-{} offset {} survived though {} at offset {} before it was lost "
                                           "(broker run {}): the loss is not a tail", a->value, tp.topic, tp.partition,
                                           a->offset, first_lost->value, first_lost->offset, key.second));
      }
    }
  }
  return l;
}

void check_seed(std::uint64_t seed, bool sync_before_ack, int& total_lost, bool power_losses = true) {
  const Outcome out = run(seed, sync_before_ack, power_losses);
  INFO(fmt::format("seed {} sync_before_ack={} power_losses={}: {} produced, {} acknowledged, {} crashes", seed,
                   sync_before_ack, power_losses, out.produced, out.acked.size(), out.crashes.size()));
  REQUIRE(out.final_read_complete);
  CHECK(out.acked.size() > out.produced / 2);  // the broker is up most of the time
  const Losses losses = check(out, sync_before_ack || !power_losses);
  for (const auto& v : losses.violations) FAIL_CHECK(v);
  total_lost += losses.lost;
}

}  // namespace

TEST_CASE("sim broker: with sync before ack, no acknowledged record is lost to kills and power losses",
          "[sim][broker]") {
  int lost = 0;
  for (std::uint64_t seed = 1; seed <= 20; ++seed) check_seed(seed, true, lost);
  CHECK(lost == 0);
}

TEST_CASE("sim broker: without sync, a power loss loses at most the unsynced tail", "[sim][broker]") {
  int lost = 0;
  for (std::uint64_t seed = 1; seed <= 20; ++seed) check_seed(seed, false, lost);
  // Kafka's trade-off is real here: some power loss in these seeds does lose acknowledged records.
  CHECK(lost > 0);
}

TEST_CASE("sim broker: without sync, kill -9 alone loses nothing (the page cache survives)", "[sim][broker]") {
  int lost = 0;
  for (std::uint64_t seed = 1; seed <= 10; ++seed) check_seed(seed, false, lost, false);
  CHECK(lost == 0);
}

TEST_CASE("sim broker: one seed replays the same run", "[sim][broker]") {
  const Outcome a = run(42, false);
  const Outcome b = run(42, false);
  CHECK(a.trace_hash == b.trace_hash);
  CHECK(a.acked.size() == b.acked.size());
  CHECK(run(43, false).trace_hash != a.trace_hash);
}

TEST_CASE("sim broker: a longer sweep of seeds", "[.long]") {
  int lost = 0;
  for (std::uint64_t seed = 100; seed < 300; ++seed) {
    check_seed(seed, true, lost);
    check_seed(seed, false, lost, false);
    int allowed = 0;
    check_seed(seed, false, allowed);
  }
  CHECK(lost == 0);
}
