// draw_scenario: one seed's scenario from a swarm space. Every draw comes from one stream derived
// from the seed alone, in a fixed order, and each feature draws the same numbers whether or not the
// space lets it vary (a fault kind left out of the list still draws its chance and its rate), so a
// space that narrows one range leaves the other features of a seed as they were.
#include "sim/swarm/space.h"

#include "broker/platform/random.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <bit>
#include <set>

namespace keel::sim::swarm {

namespace {

using scenario::Scenario;

std::int64_t pick(Random& rng, IntRange r) { return rng.between(r.lo, r.hi); }
std::int64_t pick_capped(Random& rng, IntRange r, std::int64_t cap) {
  return rng.between(std::min(r.lo, cap), std::min(r.hi, cap));
}

// Log-uniform over the integers [lo, hi] (a uniform bit length, then a uniform value of that
// length): small values come up as often as large ones, with no floating point that could differ
// between machines.
std::int64_t log_uniform(Random& rng, std::int64_t lo, std::int64_t hi) {
  const auto bits = [](std::int64_t v) { return static_cast<int>(std::bit_width(static_cast<std::uint64_t>(v))); };
  const int b = static_cast<int>(rng.between(bits(lo), bits(hi)));
  if (b == 0) return 0;
  const std::int64_t from = std::max(lo, std::int64_t{1} << (b - 1));
  const std::int64_t to = std::min(hi, (std::int64_t{1} << b) - 1);
  return rng.between(from, to);
}

// A rate in tenths: log-uniform over [lo, hi], one decimal.
double rate_in(Random& rng, NumberRange r) {
  const auto tenths = [](double v) { return static_cast<std::int64_t>(v * 10 + 0.5); };
  return static_cast<double>(log_uniform(rng, tenths(r.lo), tenths(r.hi))) / 10;
}

void draw_cluster(Random& rng, const SwarmSpace& sp, Scenario& s) {
  auto& c = s.cluster;
  c.brokers = static_cast<int>(pick(rng, sp.brokers));
  c.controllers = static_cast<int>(std::max<std::int64_t>(1, pick_capped(rng, sp.controllers, c.brokers)));
  c.randomize_config = rng.chance(sp.randomize_config_chance);
  c.config = sp.config;
  const std::int64_t lag_ms = log_uniform(rng, sp.replica_lag_ms.lo, sp.replica_lag_ms.hi);
  if (c.brokers > 1) c.config.emplace("replica.lag.time.max.ms", std::to_string(lag_ms));
}

void draw_topics(Random& rng, const SwarmSpace& sp, Scenario& s) {
  const auto n = pick(rng, sp.topics);
  for (std::int64_t i = 0; i < n; ++i) {
    scenario::TopicSpec t;
    t.name = fmt::format("t{}", i);
    t.partitions = static_cast<int>(pick(rng, sp.partitions));
    t.replication_factor = static_cast<int>(pick_capped(rng, sp.replication_factor, s.cluster.brokers));
    const auto min_isr = pick_capped(rng, sp.min_insync_replicas, t.replication_factor);
    if (t.replication_factor > 1) t.configs["min.insync.replicas"] = std::to_string(min_isr);
    s.topics.push_back(std::move(t));
  }
}

void draw_workload(Random& rng, const SwarmSpace& sp, Scenario& s) {
  const auto producers = pick(rng, sp.producers);
  for (std::int64_t i = 0; i < producers; ++i) {
    scenario::ProducerSpec p;
    p.topic = s.topics[rng.below(s.topics.size())].name;
    p.count = static_cast<int>(pick(rng, sp.producer_count));
    p.rate = std::max(0.1, rate_in(rng, sp.rate));
    p.acks = sp.acks[rng.below(sp.acks.size())];
    p.max_in_flight = static_cast<int>(pick(rng, sp.max_in_flight));
    p.key_distribution = static_cast<scenario::KeyDistribution>(rng.below(4));
    s.workload.producers.push_back(std::move(p));
  }
  const auto consumers = pick(rng, sp.consumers);
  for (std::int64_t i = 0; i < consumers; ++i) {
    scenario::ConsumerSpec c;
    const bool all_topics = rng.chance(0.5);
    const auto one = rng.below(s.topics.size());
    for (std::size_t t = 0; t < s.topics.size(); ++t) {
      if (all_topics || t == one) c.topics.push_back(s.topics[t].name);
    }
    c.count = static_cast<int>(pick(rng, sp.consumer_count));
    c.assignment = rng.chance(0.5) ? scenario::Assignment::all : scenario::Assignment::split;
    s.workload.consumers.push_back(std::move(c));
  }
}

}  // namespace

double& rate_of(RandomFaultOptions& o, const std::string& kind) {
  if (kind == "kill") return o.kill_per_min;
  if (kind == "power_off") return o.power_off_per_min;
  if (kind == "pause") return o.pause_per_min;
  if (kind == "isolate") return o.isolate_per_min;
  if (kind == "one_way") return o.one_way_per_min;
  if (kind == "clog") return o.clog_per_min;
  if (kind == "clock_jump") return o.clock_jump_per_min;
  if (kind == "disk_faults") return o.disk_faults_per_min;
  KEEL_ASSERT_MSG(kind == "reassign", "unknown random fault kind {}", kind);
  return o.reassign_per_min;
}

namespace {

void draw_faults(Random& rng, const SwarmSpace& sp, Scenario& s) {
  RandomFaultOptions o;
  for (const auto& kind : random_fault_kinds()) rate_of(o, kind) = 0;
  bool any = false;
  for (const auto& kind : random_fault_kinds()) {
    const bool on = rng.chance(sp.fault_kind_chance);
    const double rate = rate_in(rng, sp.fault_rate);
    const bool listed = std::find(sp.fault_kinds.begin(), sp.fault_kinds.end(), kind) != sp.fault_kinds.end();
    const bool possible = kind != "reassign" || s.cluster.brokers >= 2;
    if (on && listed && possible && rate > 0) {
      rate_of(o, kind) = rate;
      any = true;
    }
  }
  o.faulty_nodes_max = static_cast<int>(pick_capped(rng, sp.faulty_nodes_max, s.cluster.brokers));
  s.random_faults.enabled = any;
  s.random_faults.options = o;
}

}  // namespace

bool lossy_producers(const Scenario& s) {
  const auto& o = s.random_faults.options;
  const bool faults =
      s.random_faults.enabled && (o.kill_per_min + o.power_off_per_min + o.pause_per_min + o.isolate_per_min +
                                  o.one_way_per_min + o.clog_per_min + o.disk_faults_per_min + o.reassign_per_min) > 0;
  return std::any_of(s.workload.producers.begin(), s.workload.producers.end(),
                     [&](const auto& p) { return p.acks == 0 || (p.acks == 1 && faults); });
}

namespace {

// What a correct broker promises in the drawn configuration decides which checks apply.
void apply_rules(const SwarmSpace& sp, Scenario& s) {
  // Under Kafka's default flush policy a power loss may take acknowledged records from every
  // replica that holds them (scenarios/README.md); syncing before acknowledging makes the no-loss
  // checks hold.
  if (s.random_faults.options.power_off_per_min > 0) s.cluster.config.emplace("log.flush.interval.messages", "1");
  std::vector<std::string> checks = sp.checks.empty() ? scenario::all_check_names() : sp.checks;
  if (lossy_producers(s)) {
    // acks 0 never hears of a loss, and acks 1 loses what the leader had not replicated when it
    // failed: the lost offsets are then reused, and a later send may land below an earlier one.
    static const std::set<std::string> loss = {"lost-write", "unseen", "inconsistent-offsets", "nonmonotonic-send"};
    std::erase_if(checks, [](const std::string& c) { return loss.contains(c); });
  }
  if (!sp.checks.empty() || checks.size() != scenario::all_check_names().size()) s.checks = checks;
}

std::string fault_list(const Scenario& s) {
  std::vector<std::string> on;
  auto o = s.random_faults.options;
  for (const auto& kind : random_fault_kinds()) {
    if (s.random_faults.enabled && rate_of(o, kind) > 0) on.push_back(kind);
  }
  return on.empty() ? "none" : fmt::format("{}", fmt::join(on, ","));
}

}  // namespace

std::string shape(const Scenario& s) {
  int partitions = 0, rf_max = 0;
  for (const auto& t : s.topics) {
    partitions += t.partitions;
    rf_max = std::max(rf_max, t.replication_factor);
  }
  std::set<std::string> acks;
  for (const auto& p : s.workload.producers) acks.insert(p.acks == -1 ? "all" : std::to_string(p.acks));
  return fmt::format("b{}c{} t{}p{} rf{} acks={} f={}", s.cluster.brokers, s.cluster.controllers, s.topics.size(),
                     partitions, rf_max, fmt::join(acks, ","), fault_list(s));
}

Scenario draw_scenario(const SwarmSpace& sp, std::uint64_t seed) {
  // A stream of its own: the run that follows draws from the seed's other streams, untouched.
  Random rng = Random::derive(seed, 0x5357524dull, "swarm-draw");
  Scenario s;
  s.name = sp.name;
  draw_cluster(rng, sp, s);
  draw_topics(rng, sp, s);
  draw_workload(rng, sp, s);
  draw_faults(rng, sp, s);
  s.duration = std::chrono::seconds(pick(rng, sp.duration_s));
  s.quiescence = sp.quiescence;
  apply_rules(sp, s);
  s.description = fmt::format("Seed {} of swarm space {}: {}{}.", seed, sp.name, shape(s),
                              s.cluster.randomize_config ? ", randomised broker knobs" : "");
  return s;
}

}  // namespace keel::sim::swarm
