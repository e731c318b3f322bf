// The scenario mutations `keel-sim explore` draws from. Each leaves a scenario a correct broker
// passes: rates, times, lengths and knobs move within what the scenario's checks allow.
#include "sim/coverage/explore.h"
#include "sim/swarm/space.h"

#include <fmt/format.h>

#include <algorithm>

namespace keel::sim::coverage {

namespace {

using scenario::Scenario;

constexpr double rate_per_min_max = 30;
constexpr Duration duration_min = 15s;
constexpr Duration duration_max = 180s;
constexpr double producer_rate_max = 400;

std::vector<std::string> kinds_on(const Scenario& s) {
  std::vector<std::string> on;
  if (!s.random_faults.enabled) return on;
  auto o = s.random_faults.options;
  for (const auto& kind : swarm::random_fault_kinds()) {
    if (swarm::rate_of(o, kind) > 0) on.push_back(kind);
  }
  return on;
}

bool syncs_every_append(const Scenario& s) {
  auto it = s.cluster.config.find("log.flush.interval.messages");
  return it != s.cluster.config.end() && it->second == "1";
}

// A kind the scenario may take on: what the swarm draws (disk faults only where they are on
// already), reassignments only in a cluster, power losses only where every append is synced.
bool may_add(const Scenario& s, const std::string& kind) {
  if (kind == "disk_faults") return false;
  if (kind == "reassign") return s.cluster.brokers >= 2;
  if (kind == "power_off") return syncs_every_append(s);
  return true;
}

template <typename T>
const T& pick(Random& rng, const std::vector<T>& v) {
  return v[rng.below(v.size())];
}

std::string scale_fault_rate(Scenario& s, Random& rng) {
  const auto on = kinds_on(s);
  if (on.empty()) return "";
  const std::string& kind = pick(rng, on);
  const double factor = rng.chance(0.5) ? 2.0 : 0.5;
  double& rate = swarm::rate_of(s.random_faults.options, kind);
  rate = std::clamp(rate * factor, 0.1, rate_per_min_max);
  return fmt::format("{}_rate x{}", kind, factor);
}

std::string fault_kind_on(Scenario& s, Random& rng) {
  const auto on = kinds_on(s);
  std::vector<std::string> off;
  for (const auto& kind : swarm::random_fault_kinds()) {
    if (std::find(on.begin(), on.end(), kind) == on.end() && may_add(s, kind)) off.push_back(kind);
  }
  if (off.empty()) return "";
  auto& o = s.random_faults.options;
  if (!s.random_faults.enabled) {
    for (const auto& kind : swarm::random_fault_kinds()) swarm::rate_of(o, kind) = 0;
    s.random_faults.enabled = true;
  }
  const std::string& kind = pick(rng, off);
  const double rate = static_cast<double>(rng.between(5, 60)) / 10;  // 0.5 to 6 a minute, as the swarm
  swarm::rate_of(o, kind) = rate;
  return fmt::format("{} on ({}/min)", kind, rate);
}

std::string fault_kind_off(Scenario& s, Random& rng) {
  const auto on = kinds_on(s);
  if (on.empty()) return "";
  const std::string& kind = pick(rng, on);
  swarm::rate_of(s.random_faults.options, kind) = 0;
  if (on.size() == 1) s.random_faults.enabled = false;
  return fmt::format("{} off", kind);
}

// More nodes in trouble at once: unclean elections, ISRs below min.insync, lost quorums.
std::string more_faulty_nodes(Scenario& s, Random&) {
  int& n = s.random_faults.options.faulty_nodes_max;
  if (!s.random_faults.enabled || n >= std::max(1, s.cluster.brokers - 1)) return "";
  ++n;
  return fmt::format("faulty_nodes_max {}", n);
}

std::string shift_scripted_fault(Scenario& s, Random& rng) {
  if (s.faults.empty()) return "";
  const std::size_t i = rng.below(s.faults.size());
  const Duration by = std::chrono::milliseconds(rng.between(200, 5000)) * (rng.chance(0.5) ? 1 : -1);
  auto& at = s.faults[i].at;
  at = std::clamp(at + by, Duration::zero(), s.duration - 1ms);
  return fmt::format("scripted[{}] at {}", i, format_duration(at));
}

std::string drop_scripted_fault(Scenario& s, Random& rng) {
  if (s.faults.empty()) return "";
  const std::size_t i = rng.below(s.faults.size());
  const auto kind = scenario::fault_kind_name(s.faults[i].kind);
  s.faults.erase(s.faults.begin() + static_cast<std::ptrdiff_t>(i));
  return fmt::format("scripted[{}] ({}) dropped", i, kind);
}

std::string scale_duration(Scenario& s, Random& rng) {
  Duration last_fault = Duration::zero();
  for (const auto& f : s.faults) last_fault = std::max(last_fault, f.at);
  const bool longer = rng.chance(0.5);
  const Duration next = std::clamp<Duration>(longer ? s.duration * 3 / 2 : s.duration * 2 / 3, duration_min, duration_max);
  if (next == s.duration || next < last_fault + 5s) return "";
  s.duration = std::chrono::duration_cast<std::chrono::seconds>(next);
  return fmt::format("duration {}", format_duration(s.duration));
}

std::string scale_producer_rate(Scenario& s, Random& rng) {
  if (s.workload.producers.empty()) return "";
  const std::size_t i = rng.below(s.workload.producers.size());
  const double factor = rng.chance(0.5) ? 2.0 : 0.5;
  double& rate = s.workload.producers[i].rate;
  rate = std::clamp(rate * factor, 1.0, producer_rate_max);
  return fmt::format("producers[{}].rate {}", i, rate);
}

// How long a follower may lag before it leaves the ISR: short lags shrink ISRs often.
std::string replica_lag(Scenario& s, Random& rng) {
  if (s.cluster.brokers < 2) return "";
  const auto ms = rng.between(10, 300) * 100;
  s.cluster.config["replica.lag.time.max.ms"] = std::to_string(ms);
  return fmt::format("replica.lag.time.max.ms {}", ms);
}

std::string randomize_knobs(Scenario& s, Random&) {
  if (s.cluster.randomize_config) return "";
  s.cluster.randomize_config = true;
  return "randomize_config on";
}

using Mutation = std::string (*)(Scenario&, Random&);
constexpr Mutation mutations[] = {scale_fault_rate,     scale_fault_rate,    fault_kind_on,       fault_kind_off,
                                  more_faulty_nodes,    shift_scripted_fault, drop_scripted_fault, scale_duration,
                                  scale_producer_rate,  replica_lag,         randomize_knobs};

}  // namespace

std::string mutate_once(Scenario& s, Random& rng) {
  return mutations[rng.below(std::size(mutations))](s, rng);
}

}  // namespace keel::sim::coverage
