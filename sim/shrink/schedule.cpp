#include "sim/shrink/schedule.h"

#include <fmt/format.h>

#include <algorithm>
#include <optional>

namespace keel::sim::shrink {

namespace {

using scenario::FaultKind;
using scenario::NodeRef;
using scenario::ScriptedFault;

bool ends_with_restart(FaultKind k) {
  return k == FaultKind::kill || k == FaultKind::power_off || k == FaultKind::shutdown;
}

std::string seconds(Duration d) { return fmt::format("{:.3f}s", static_cast<double>(d.count()) / 1e9); }

std::int64_t field(const report::TimelineEvent& e, const char* key) {
  const auto it = e.fields.find(key);
  return it != e.fields.end() && it->is_number_integer() ? it->get<std::int64_t>() : 0;
}

ScriptedFault fault_at(Duration at, FaultKind kind, int node) {
  ScriptedFault f;
  f.at = at;
  f.kind = kind;
  f.node = NodeRef{false, node};
  return f;
}

// A kill or power loss and, when it comes before the end of the main phase, the restart the random
// injector scheduled (after it, the quiescence phase restarts every node).
FaultUnit down_then_up(Duration at, FaultKind kind, int node, Duration down_for, Duration run) {
  FaultUnit u{{fault_at(at, kind, node)}, true};
  if (at + down_for < run) u.faults.push_back(fault_at(at + down_for, FaultKind::restart, node));
  return u;
}

// "[0,2]" (the trace's list of broker ids) as node references; nothing for "cancel".
std::optional<std::vector<NodeRef>> replica_list(const std::string& text) {
  if (text == "cancel") return std::nullopt;
  std::vector<NodeRef> out;
  const auto ids = nlohmann::json::parse(text, nullptr, false);
  if (!ids.is_array()) return out;
  for (const auto& id : ids) {
    if (id.is_number_integer()) out.push_back(NodeRef{false, id.get<int>()});
  }
  return out;
}

std::optional<FaultUnit> reassign_unit(const report::TimelineEvent& e, Duration at, std::vector<std::string>* notes) {
  const std::string partition = e.fields.value("partition", std::string());
  const auto dash = partition.rfind('-');
  if (e.node < 0 || dash == std::string::npos) {
    if (notes)
      notes->push_back(fmt::format("a reassignment at {} found no running broker to ask: left out", seconds(at)));
    return std::nullopt;
  }
  ScriptedFault f;
  f.at = at;
  f.kind = FaultKind::reassign;
  f.topic = partition.substr(0, dash);
  f.partition = std::stoi(partition.substr(dash + 1));
  const auto replicas = replica_list(e.fields.value("replicas", std::string("cancel")));
  f.target = replicas ? scenario::ReassignTarget::listed : scenario::ReassignTarget::cancel;
  if (replicas) f.replicas = *replicas;
  return FaultUnit{{f}, true};
}

// A fault with a duration: nothing when the drawn duration is zero (it did nothing, and a scripted
// fault without a duration would mean "until healed").
std::optional<FaultUnit> timed(ScriptedFault f, Duration d, std::vector<std::string>* notes) {
  if (d.count() <= 0) {
    if (notes) notes->push_back(fmt::format("{} lasted no time: left out", describe(f)));
    return std::nullopt;
  }
  f.duration = d;
  return FaultUnit{{f}, true};
}

std::optional<FaultUnit> isolate_unit(int node, Duration at, Duration d, const scenario::Scenario& s,
                                      std::vector<std::string>* notes) {
  // The random injector cuts a broker off from the other brokers (not from the client).
  ScriptedFault f = fault_at(at, FaultKind::partition, node);
  f.sets = {{NodeRef{false, node}}, {}};
  for (int b = 0; b < s.cluster.brokers; ++b) {
    if (b != node) f.sets[1].push_back(NodeRef{false, b});
  }
  if (f.sets[1].empty()) {
    if (notes)
      notes->push_back(
          fmt::format("isolate broker-{} at {}: the only broker, nothing to cut: left out", node, seconds(at)));
    return std::nullopt;
  }
  return timed(f, d, notes);
}

std::optional<FaultUnit> convert(const report::TimelineEvent& e, Duration at, const scenario::Scenario& s,
                                 std::vector<std::string>* notes) {
  const Duration run = s.duration;
  const int node = e.node;
  const auto& o = s.random_faults.options;
  if (e.name == "FaultKill") return down_then_up(at, FaultKind::kill, node, Duration(field(e, "restart_in_ns")), run);
  if (e.name == "FaultPowerOff")
    return down_then_up(at, FaultKind::power_off, node, Duration(field(e, "power_on_in_ns")), run);
  if (e.name == "FaultPause")
    return timed(fault_at(at, FaultKind::pause, node), Duration(field(e, "duration_ns")), notes);
  if (e.name == "FaultIsolate") return isolate_unit(node, at, Duration(field(e, "duration_ns")), s, notes);
  if (e.name == "FaultClog")
    return timed(fault_at(at, FaultKind::clog, node), Duration(field(e, "duration_ns")), notes);
  if (e.name == "FaultOneWay") {
    ScriptedFault f = fault_at(at, FaultKind::block, node);
    f.to = NodeRef{false, static_cast<int>(field(e, "to"))};
    return timed(f, Duration(field(e, "duration_ns")), notes);
  }
  if (e.name == "FaultClockJump") {
    ScriptedFault f = fault_at(at, FaultKind::clock_jump, node);
    f.by = Duration(field(e, "by_ns"));
    return FaultUnit{{f}, true};
  }
  if (e.name == "FaultDisk") {
    ScriptedFault f = fault_at(at, FaultKind::disk_faults, node);
    f.error_rate = o.disk_fault_error_probability;
    f.bit_flip_rate = o.disk_fault_bit_flip_probability;
    return timed(f, Duration(field(e, "duration_ns")), notes);
  }
  if (e.name == "FaultReassign") return reassign_unit(e, at, notes);
  if (notes) notes->push_back(fmt::format("{} at {}: not a fault the shrinker knows: left out", e.name, seconds(at)));
  return std::nullopt;
}

}  // namespace

std::vector<FaultUnit> scripted_units(const std::vector<ScriptedFault>& faults) {
  std::vector<FaultUnit> units;
  std::vector<bool> used(faults.size(), false);
  for (std::size_t i = 0; i < faults.size(); ++i) {
    if (used[i]) continue;
    FaultUnit u{{faults[i]}, false};
    used[i] = true;
    for (std::size_t j = i + 1; ends_with_restart(faults[i].kind) && j < faults.size(); ++j) {
      if (!used[j] && faults[j].kind == FaultKind::restart && faults[j].node == faults[i].node) {
        u.faults.push_back(faults[j]);
        used[j] = true;
        break;
      }
    }
    units.push_back(std::move(u));
  }
  return units;
}

std::vector<FaultUnit> struck_random_faults(const report::Report& report, const scenario::Scenario& scenario,
                                            std::vector<std::string>* notes) {
  // Timeline times are the world's; the main phase started `duration` before the quiescence.
  const std::int64_t start_ns = report.quiesce_ns >= 0 ? report.quiesce_ns - report.duration_ns : 0;
  std::vector<FaultUnit> units;
  for (const auto& e : report.timeline) {
    if (!e.name.starts_with("Fault") || e.name == "FaultHealAll") continue;
    const Duration at(e.at_ns - start_ns);
    if (at.count() < 0 || at >= scenario.duration) continue;
    if (e.name != "FaultReassign" && (e.node < 0 || e.node >= scenario.cluster.brokers)) continue;
    if (auto unit = convert(e, at, scenario, notes)) units.push_back(std::move(*unit));
  }
  return units;
}

std::vector<ScriptedFault> flatten(const std::vector<FaultUnit>& units) {
  std::vector<ScriptedFault> out;
  for (const auto& u : units) out.insert(out.end(), u.faults.begin(), u.faults.end());
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.at < b.at; });
  return out;
}

std::string describe(const ScriptedFault& f) {
  const std::string kind(scenario::fault_kind_name(f.kind));
  std::string what;
  switch (f.kind) {
    case FaultKind::heal:
      what = "heal";
      break;
    case FaultKind::reassign:
      what = fmt::format("reassign {}-{}", f.topic, f.partition);
      break;
    case FaultKind::partition: {
      std::vector<std::string> sets;
      for (const auto& set : f.sets) {
        std::vector<std::string> names;
        for (const auto& n : set) names.push_back(scenario::node_name(n));
        sets.push_back(fmt::format("{}", fmt::join(names, ",")));
      }
      what = fmt::format("partition {}", fmt::join(sets, " | "));
      break;
    }
    case FaultKind::block:
      what = fmt::format("block {} -> {}", scenario::node_name(f.node), scenario::node_name(f.to));
      break;
    default:
      what = fmt::format("{} {}", kind, scenario::node_name(f.node));
      break;
  }
  what += " at " + seconds(f.at);
  if (f.duration.count() > 0) what += " for " + seconds(f.duration);
  if (f.kind == FaultKind::clock_jump) what += " by " + seconds(f.by);
  return what;
}

std::string describe(const FaultUnit& unit) {
  std::string out = describe(unit.faults.front());
  for (std::size_t i = 1; i < unit.faults.size(); ++i) out += ", " + describe(unit.faults[i]);
  return out;
}

}  // namespace keel::sim::shrink
