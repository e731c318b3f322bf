#include "sim/runner.h"

#include "broker/base/version.h"
#include "broker/base/assert.h"
#include "sim/check/checks.h"
#include "sim/check/cluster_checks.h"
#include "sim/cluster/cluster.h"
#include "sim/cluster/randomize_config.h"
#include "sim/coverage/marks.h"
#include "sim/faults/random_faults.h"
#include "sim/node.h"
#include "sim/workload/group_workload.h"
#include "sim/workload/workload.h"
#include "sim/world.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>

namespace keel::sim {

namespace {

using workload::History;
using workload::Op;
using workload::OpStatus;
using workload::OpType;
using workload::Phase;

// The world events the report's timeline is drawn from.
bool on_timeline(std::string_view name) {
  static const std::set<std::string_view> names = {"ProcessStart", "ProcessStop", "PowerOff",   "PowerOn",
                                                   "ProcessPause", "ProcessResume", "NetBlock", "NetUnblock",
                                                   "NetHeal",      "NetClog",      "LeaderChange", "Quiesce",
                                                   "Recovered",    "BecomeLeader", "ControllerElected",
                                                   "ReassignAnswered", "ReplicaDeleted", "ReplicaStartOver"};
  return names.contains(name) || name.starts_with("Fault") || name.starts_with("Scripted");
}

// What the trace observer collects while the world runs.
struct Observed {
  std::vector<report::TimelineEvent> timeline;
  std::map<std::string, std::uint64_t> buggify;  // site -> times fired
  check::ClusterObservations cluster;            // leadership and metadata commits, for the cluster checks
  std::vector<workload::CoordinatorEvent> group_events;  // removals, failovers and commits, for the group histories
};

nlohmann::json fields_json(std::string_view fields) {
  auto j = nlohmann::json::parse("{" + std::string(fields.substr(fields.empty() ? 0 : 1)) + "}", nullptr, false);
  return j.is_object() ? j : nlohmann::json::object();
}

// Leadership and metadata events the brokers trace, as the cluster checks want them.
bool observe_cluster(check::ClusterObservations& c, std::int64_t time_ns, int node, std::string_view name,
                     std::string_view fields) {
  if (name != "BecomeLeader" && name != "ControllerElected" && name != "MetadataCommitted") return false;
  const auto j = fields_json(fields);
  if (name == "BecomeLeader" && j.contains("Partition") && j.contains("LeaderEpoch")) {
    c.leader_claims.push_back({time_ns, node, j["Partition"].get<std::string>(), j["LeaderEpoch"].get<std::int32_t>()});
  } else if (name == "ControllerElected" && j.contains("Epoch")) {
    c.raft_leaders.push_back({time_ns, node, j["Epoch"].get<std::int32_t>()});
  } else if (name == "MetadataCommitted" && j.contains("Offset") && j.contains("Epoch") && j.contains("Hash")) {
    c.metadata_commits.push_back({time_ns, node, j["Offset"].get<std::int64_t>(), j["Epoch"].get<std::int32_t>(),
                                  j["Hash"].get<std::uint64_t>()});
  }
  return name == "MetadataCommitted";
}

// The text of `key`'s value in a trace event's fields (`,"key":value` repeated): a number as written,
// a string without its quotes. Nothing when the key is absent or the fields hold an escape anywhere
// (then a quote could sit inside a string); the caller parses such fields as JSON instead.
std::optional<std::string_view> plain_field(std::string_view fields, std::string_view key) {
  if (fields.find('\\') != std::string_view::npos) return std::nullopt;
  for (std::size_t at = fields.find(key); at != std::string_view::npos; at = fields.find(key, at + 1)) {
    const std::size_t end = at + key.size();
    if (at == 0 || fields[at - 1] != '"' || fields.substr(end, 2) != "\":") continue;
    std::string_view value = fields.substr(end + 2);
    if (value.starts_with('"')) {
      const std::size_t close = value.find('"', 1);
      return close == std::string_view::npos ? std::nullopt : std::optional(value.substr(1, close - 1));
    }
    return value.substr(0, value.find(','));
  }
  return std::nullopt;
}

std::optional<std::int64_t> plain_int_field(std::string_view fields, std::string_view key) {
  const auto text = plain_field(fields, key);
  std::int64_t v = 0;
  if (!text || std::from_chars(text->data(), text->data() + text->size(), v).ptr != text->data() + text->size()) {
    return std::nullopt;
  }
  return v;
}

// A LogAppended event (one per append on every broker: the most frequent event a run observes)
// read without building a JSON document. Nothing when a field is missing or not plain; the JSON
// path then reads it, and asserts on what it cannot.
std::optional<check::RetentionEvent> plain_appended(std::string_view fields) {
  const auto tp = plain_field(fields, "tp");
  const auto first = plain_int_field(fields, "first_offset");
  const auto wall = plain_int_field(fields, "wall_ms");
  const auto batches = plain_field(fields, "batches");
  if (!tp || !first || !wall || !batches) return std::nullopt;
  check::RetentionEvent e;
  e.kind = check::RetentionEvent::Kind::append;
  e.partition = std::string(*tp);
  e.first_offset = *first;
  e.wall_ms = *wall;
  if (!check::parse_appended_batches(std::string(*batches), e.batches)) return std::nullopt;
  return e;
}

// What the retention check reads: every append (a debug event), segment deletion and clock jump.
bool observe_retention(check::RetentionObservations& r, std::int64_t time_ns, int node, std::string_view name,
                       std::string_view fields) {
  using Kind = check::RetentionEvent::Kind;
  const bool jump = name == "FaultClockJump" || name == "Scriptedclock_jump";
  if (!r.observed || (name != "LogAppended" && name != "LogSegmentDeleted" && !jump)) return false;
  if (name == "LogAppended") {
    if (auto e = plain_appended(fields)) {
      e->at_ns = time_ns;
      e->node = node;
      r.events.push_back(std::move(*e));
      return true;
    }
  }
  const auto j = fields_json(fields);
  check::RetentionEvent e;
  e.at_ns = time_ns;
  e.node = node;
  if (jump) {
    e.kind = Kind::clock_jump;
    e.jump_ns = j.value("by_ns", std::int64_t{0});
  } else if (name == "LogAppended") {
    e.kind = Kind::append;
    e.partition = j.value("tp", std::string());
    e.first_offset = j.value("first_offset", std::int64_t{0});
    e.wall_ms = j.value("wall_ms", std::int64_t{0});
    KEEL_ASSERT_MSG(check::parse_appended_batches(j.value("batches", std::string()), e.batches), "LogAppended: {}", fields);
  } else {
    e.kind = Kind::delete_segment;
    e.partition = j.value("tp", std::string());
    e.reason = j.value("reason", std::string());
    e.first_offset = j.value("base_offset", std::int64_t{0});
    e.end_offset = j.value("end_offset", std::int64_t{0});
    e.decided_ms = j.value("decided_ms", std::int64_t{0});
    e.log_bytes_kept = j.value("log_bytes_kept", std::int64_t{0});
  }
  r.events.push_back(std::move(e));
  return name == "LogAppended";
}

// The group coordinators' events the group histories need (workload::CoordinatorEvent).
bool observe_group(std::vector<workload::CoordinatorEvent>& out, std::int64_t time_ns, int node, std::string_view name,
                   std::string_view fields) {
  using Kind = workload::CoordinatorEvent::Kind;
  static const std::map<std::string_view, Kind> kinds = {{"GroupMemberRemoved", Kind::removed},
                                                         {"GroupStable", Kind::stable},
                                                         {"CoordinatorUnloaded", Kind::unloaded},
                                                         {"CoordinatorLoaded", Kind::loaded},
                                                         {"OffsetCommitAcknowledged", Kind::commit},
                                                         {"ConsumerMemberFenced", Kind::fenced},
                                                         {"ConsumerMemberLeft", Kind::fenced}};
  const auto kind = kinds.find(name);
  if (kind == kinds.end()) return false;
  const auto j = fields_json(fields);
  workload::CoordinatorEvent e{kind->second, time_ns, node, j.value("Group", std::string()),
                               j.value("Member", std::string()),
                               j.value("Generation", j.value("Epoch", std::int32_t{-1})), {}};
  if (e.kind == Kind::commit) {
    auto offsets = workload::parse_commit_offsets(j.value("Offsets", std::string()));
    KEEL_ASSERT_MSG(offsets.has_value(), "OffsetCommitAcknowledged: unreadable offsets in {}", fields);
    e.offsets = std::move(*offsets);
    e.taken_ns = time_ns - j.value("WaitedNs", std::int64_t{0});
  }
  out.push_back(std::move(e));
  return true;
}

void observe(Observed& seen, std::int64_t time_ns, int node, std::string_view name, std::string_view fields) {
  if (observe_retention(seen.cluster.retention, time_ns, node, name, fields)) return;
  if (observe_group(seen.group_events, time_ns, node, name, fields)) return;
  if (name == "Buggify") {
    const auto j = fields_json(fields);
    if (j.contains("site") && j["site"].is_string()) ++seen.buggify[j["site"].get<std::string>()];
    return;
  }
  if (observe_cluster(seen.cluster, time_ns, node, name, fields)) return;
  if (!on_timeline(name)) return;
  report::TimelineEvent e;
  e.at_ns = time_ns;
  e.node = node;
  e.name = std::string(name);
  auto j = nlohmann::json::parse("{" + std::string(fields.substr(fields.empty() ? 0 : 1)) + "}", nullptr, false);
  e.fields = j.is_object() ? std::move(j) : nlohmann::json::object();
  if (name == "NetBlock" || name == "NetUnblock") e.fields["from"] = node;
  seen.timeline.push_back(std::move(e));
}

report::LatencyPercentiles percentiles(std::vector<std::int64_t> ns) {
  report::LatencyPercentiles p;
  p.count = ns.size();
  if (ns.empty()) return p;
  std::sort(ns.begin(), ns.end());
  const auto at = [&](double q) {
    const std::size_t i = std::min(ns.size() - 1, static_cast<std::size_t>(q * static_cast<double>(ns.size())));
    return static_cast<double>(ns[i]) / 1e6;
  };
  p.p50_ms = at(0.50);
  p.p90_ms = at(0.90);
  p.p99_ms = at(0.99);
  p.p999_ms = at(0.999);
  p.max_ms = static_cast<double>(ns.back()) / 1e6;
  return p;
}

void add_to(std::vector<std::uint64_t>& buckets, std::int64_t at_ns, std::int64_t bucket_ns, std::uint64_t n) {
  if (at_ns < 0) return;
  const auto i = static_cast<std::size_t>(at_ns / bucket_ns);
  if (buckets.size() <= i) buckets.resize(i + 1, 0);
  buckets[i] += n;
}

// One line per group for the summary: what its members went through.
std::string group_summary(const workload::GroupHistory& g) {
  std::size_t assigned = 0, removed = 0, processed = 0, ok = 0, failed = 0, unknown = 0;
  std::set<int> processes;
  for (const auto& m : g.members) {
    processes.insert(m.process);
    for (const auto& e : m.events) {
      assigned += e.kind == workload::MemberEvent::Kind::assigned;
      removed += e.kind == workload::MemberEvent::Kind::removed;
    }
    processed += m.processed.size();
    for (const auto& c : m.commits) {
      ok += c.outcome == workload::CommitOutcome::ok;
      failed += c.outcome == workload::CommitOutcome::fail;
      unknown += c.outcome == workload::CommitOutcome::info;
    }
  }
  return fmt::format("{} ({}): {} processes, {} member ids, {} assignments, {} removals, {} records processed, "
                     "{} commits ok, {} failed, {} unknown; at the end {}",
                     g.group_id, workload::group_protocol_name(g.protocol), processes.size(), g.members.size(), assigned,
                     removed, processed, ok, failed, unknown, g.quiescent ? g.quiescent->state : "not described");
}

void fill_statistics(const History& h, report::Report& r) {
  auto& s = r.stats;
  std::vector<std::int64_t> produce, end_to_end;
  std::map<std::pair<int, std::int64_t>, std::int64_t> sent_at;  // (key, value) -> invoke
  std::set<std::pair<int, std::int64_t>> delivered;
  for (const Op& op : h.ops) {
    if (op.type == OpType::send) {
      if (op.phase == Phase::main) {
        ++s.records_sent;
        s.records_acknowledged += op.status == OpStatus::ok;
        s.records_failed += op.status == OpStatus::fail;
        s.records_unknown += op.status == OpStatus::info;
      }
      sent_at[{op.key, op.value}] = op.invoke_ns;
      if (op.status == OpStatus::ok) {
        produce.push_back(op.complete_ns - op.invoke_ns);
        add_to(r.series.acknowledged, op.complete_ns, r.series.bucket_ns, 1);
      }
    } else if (op.type == OpType::poll && op.status == OpStatus::ok) {
      if (op.phase == Phase::final) {
        s.records_final_read += op.reads.size();
        continue;
      }
      if (op.phase != Phase::main) continue;
      s.records_consumed += op.reads.size();
      add_to(r.series.consumed, op.complete_ns, r.series.bucket_ns, op.reads.size());
      for (const auto& read : op.reads) {
        auto it = sent_at.find({read.key, read.value});
        if (it != sent_at.end() && delivered.insert(it->first).second) end_to_end.push_back(op.complete_ns - it->second);
      }
    }
  }
  s.produce_latency = percentiles(std::move(produce));
  s.end_to_end_latency = percentiles(std::move(end_to_end));
  const std::size_t buckets = std::max(r.series.acknowledged.size(), r.series.consumed.size());
  r.series.acknowledged.resize(buckets, 0);
  r.series.consumed.resize(buckets, 0);
}

// Ops the run's end cut short stay indeterminate, completing when the run ended.
void close_open_ops(History& h, std::int64_t end_ns) {
  for (Op& op : h.ops) {
    if (op.complete_ns == 0 && op.status == OpStatus::info) {
      op.complete_ns = end_ns;
      if (op.error.empty()) op.error = "no outcome before the client's process stopped or the run ended";
    }
  }
}

// An error-severity trace event fails the run like a violated check does.
void add_trace_errors(const TraceRecorder& trace, check::CheckResult& checks) {
  if (trace.errors() == 0) return;
  check::Violation v;
  v.check = "trace-error";
  v.message = fmt::format("{} error-severity trace event(s); the first: {}", trace.errors(), trace.first_error());
  v.details = {{"errors", trace.errors()}, {"first", trace.first_error()}};
  checks.violations.push_back(std::move(v));
  checks.counts["trace-error"] = trace.errors();
}

}  // namespace

std::string reproduce_command(const std::string& scenario_arg, std::uint64_t seed,
                              const std::optional<Duration>& plant_assert_at) {
  return fmt::format("keel-sim run {} --seed {}{}", scenario_arg, seed,
                     plant_assert_at ? " --plant-assert-at " + format_duration(*plant_assert_at) : "");
}

struct ScenarioRun {
  const scenario::Scenario& scenario;
  const RunOptions& options;
  Observed seen;
  std::unique_ptr<World> world;
  std::unique_ptr<SimCluster> cluster;
  std::unique_ptr<RandomFaults> random;
  History history;
  std::vector<workload::GroupHistory> groups;  // one per workload.groups[]
  std::unique_ptr<workload::Context> ctx;
  std::map<std::string, std::string> randomized;
  std::shared_ptr<SimCluster::ReplicaProbe> checkpoints;  // replicas looked at during the run
};

namespace {

// Whether any topic may elect a leader outside its ISR (then acknowledged records may be lost, and
// the loss checks count them as allowed).
bool unclean_election_allowed(const scenario::Scenario& s) {
  const auto on = [](const std::map<std::string, std::string>& m) {
    auto it = m.find("unclean.leader.election.enable");
    return it != m.end() && it->second == "true";
  };
  if (on(s.cluster.config)) return true;
  for (const auto& [b, c] : s.cluster.broker_config) {
    if (on(c)) return true;
  }
  for (const auto& t : s.topics) {
    if (on(t.configs)) return true;
  }
  return false;
}

// The replicas are compared at checkpoints during the main phase too, not only at the end.
constexpr Duration checkpoint_interval = 15s;
// How long the final observation waits for every node's committed metadata to be the same.
constexpr Duration metadata_catch_up = 10s;
// And how long the brokers then have to act on it before the final look at their replicas.
constexpr Duration metadata_settle = 1s;

void schedule_checkpoints(ScenarioRun& run, Instant start) {
  run.checkpoints = std::make_shared<SimCluster::ReplicaProbe>();
  for (Duration at = checkpoint_interval; at < run.scenario.duration; at += checkpoint_interval) {
    run.world->at(start + at, [&run] { run.cluster->probe_replicas(run.checkpoints, "checkpoint"); });
  }
}

// After the final reads: every running replica's log, and every node's committed metadata end.
void finish_observations(ScenarioRun& run, Instant limit) {
  // Observers follow the quorum a fetch behind: give every node a moment to apply what is committed,
  // and then to act on it (a replica moved away is deleted), before the replicas are looked at.
  const auto converged = [&] {
    const auto ends = run.cluster->metadata_ends();
    std::set<std::int64_t> distinct;
    for (const auto& [node, end] : ends) distinct.insert(end);
    return distinct.size() <= 1;
  };
  run.world->run_while([&] { return !converged(); }, std::min(limit, run.world->now() + metadata_catch_up));
  run.world->run_while([] { return true; }, std::min(limit, run.world->now() + metadata_settle));
  run.seen.cluster.final_assignments = run.cluster->final_assignments();
  run.seen.cluster.reassignments = run.cluster->reassignments();
  auto shared_probe = std::make_shared<SimCluster::ReplicaProbe>();
  SimCluster::ReplicaProbe& probe = *shared_probe;
  run.cluster->probe_replicas(shared_probe, "final");
  run.world->run_while(
      [&] { return !run.cluster->probe_done(probe) || (run.checkpoints && !run.cluster->probe_done(*run.checkpoints)); },
      limit);
  if (run.checkpoints) {
    run.seen.cluster.replica_snapshots = std::move(run.checkpoints->snapshots);
    run.checkpoints.reset();
  }
  for (auto& snap : probe.snapshots) run.seen.cluster.replica_snapshots.push_back(std::move(snap));
  run.seen.cluster.final_logs = std::move(probe.logs);
  // The committed ends last: the metadata-committed check compares them with every commit the run
  // saw, so nothing may commit after they are taken.
  run.world->run_while([&] { return !converged(); }, std::min(limit, run.world->now() + metadata_catch_up));
  run.seen.cluster.final_metadata_end = run.cluster->metadata_ends();
}

// A topic's retention as the brokers will apply it: the topic's config, else the cluster's broker
// config (log.retention.ms, .minutes, .hours; log.retention.bytes), else Kafka's defaults.
std::map<std::string, check::RetentionLimits> retention_limits(const scenario::Scenario& s) {
  const auto number = [](const std::map<std::string, std::string>& m, const std::string& key) -> std::optional<std::int64_t> {
    auto it = m.find(key);
    if (it == m.end()) return std::nullopt;
    return std::stoll(it->second);
  };
  check::RetentionLimits broker;
  if (auto h = number(s.cluster.config, "log.retention.hours")) broker.retention_ms = *h < 0 ? -1 : *h * 3'600'000;
  if (auto m = number(s.cluster.config, "log.retention.minutes")) broker.retention_ms = *m < 0 ? -1 : *m * 60'000;
  if (auto ms = number(s.cluster.config, "log.retention.ms")) broker.retention_ms = *ms;
  if (auto b = number(s.cluster.config, "log.retention.bytes")) broker.retention_bytes = *b;
  std::map<std::string, check::RetentionLimits> out;
  for (const auto& t : s.topics) {
    check::RetentionLimits l = broker;
    if (auto ms = number(t.configs, "retention.ms")) l.retention_ms = *ms;
    if (auto b = number(t.configs, "retention.bytes")) l.retention_bytes = *b;
    out[t.name] = l;
  }
  return out;
}

std::unique_ptr<World> make_world(ScenarioRun& run) {
  const auto& checks = run.scenario.checks;
  if (checks.empty() || std::find(checks.begin(), checks.end(), "retention") != checks.end()) {
    run.seen.cluster.retention.observed = true;
    run.seen.cluster.retention.limits = retention_limits(run.scenario);
  }
  WorldOptions wo;
  wo.trace.observe_debug = run.seen.cluster.retention.observed;
  wo.seed = run.options.seed;
  wo.buggify = run.scenario.cluster.buggify;
  wo.buggify_force_sites = run.scenario.cluster.buggify_sites;
  wo.buggify_force_probability = run.scenario.cluster.buggify_probability;
  wo.trace.out = run.options.trace_out;
  wo.trace.write_level = run.options.trace_level;
  wo.trace.write_scheduler = run.options.trace_level == Severity::debug;
  wo.trace.capture = run.options.capture;
  wo.trace.observer = [&seen = run.seen](std::int64_t t, int node, std::string_view name, std::string_view fields) {
    observe(seen, t, node, name, fields);
  };
  return std::make_unique<World>(wo);
}

void schedule_faults(ScenarioRun& run, Instant start) {
  World& world = *run.world;
  for (const auto& f : run.scenario.faults) {
    world.at(start + f.at, [&run, &f] { run.cluster->apply(f); });
  }
  const Instant main_end = start + run.scenario.duration;
  if (run.scenario.random_faults.enabled) {
    run.random = std::make_unique<RandomFaults>(world, run.cluster->broker_nodes(), run.scenario.random_faults.options);
    run.random->on_reassign = [&run] { run.cluster->reassign_random(); };
    world.at(start, [&run, main_end] { run.random->start(main_end); });
  }
  world.at(main_end, [&run] {
    run.world->event("Quiesce");
    if (run.random) run.random->heal_all();
    run.cluster->heal_all();
    run.history.quiesce_ns = to_ns(run.world->now());
  });
  world.at(main_end + run.scenario.quiescence.recover, [&run] {
    run.world->event("Recovered");
    run.history.recovered_ns = to_ns(run.world->now());
  });
}

void plant_assert(World& world, Instant at, Duration since_start) {
  world.at(at, [since_start] {
    const bool planted = true;
    KEEL_ASSERT_MSG(!planted, "planted by --plant-assert-at {}", format_duration(since_start));
  });
}

// While a run is on this thread, a failed assertion names the scenario, the seed and the command
// that reproduces the run.
class AssertContext {
 public:
  AssertContext(const scenario::Scenario& s, const RunOptions& o)
      : text_(fmt::format("scenario {} seed {}: reproduce with: {}", s.name, o.seed,
                          reproduce_command(o.scenario_arg.empty() ? s.source_path : o.scenario_arg, o.seed,
                                            o.plant_assert_at))),
        previous_(set_assert_context(text_.c_str())) {}
  ~AssertContext() { set_assert_context(previous_); }
  AssertContext(const AssertContext&) = delete;
  AssertContext& operator=(const AssertContext&) = delete;

 private:
  std::string text_;
  const char* previous_;
};

report::Report make_report(ScenarioRun& run, const check::CheckResult& checks, double wall_seconds) {
  const auto& s = run.scenario;
  report::Report r;
  r.scenario = s.name;
  r.scenario_path = run.options.scenario_arg.empty() ? s.source_path : run.options.scenario_arg;
  r.seed = run.options.seed;
  r.version = std::string(version());
  r.verdict = checks.passed() ? "PASS" : "FAIL";
  r.trace_hash = fmt::format("{:016x}", run.world->trace().hash());
  r.reproduce = reproduce_command(r.scenario_path, r.seed, run.options.plant_assert_at);
  r.violations = checks.violations;
  r.check_counts = checks.counts;
  r.checks = s.checks.empty() ? scenario::all_check_names() : s.checks;
  for (const auto& [site, n] : run.world->buggify_fired()) r.buggify_sites.push_back(site);
  r.randomized_config = run.randomized;
  fill_statistics(run.history, r);
  for (const auto& g : run.groups) r.stats.groups.push_back(group_summary(g));
  if (run.random) {
    for (const auto& [type, n] : run.random->counts().by_type) r.stats.faults[type] += n;
  }
  for (const auto& [type, n] : run.cluster->scripted_counts()) r.stats.faults["scripted_" + type] += n;
  r.stats.simulated_seconds = static_cast<double>(to_ns(run.world->now())) / 1e9;
  r.stats.wall_seconds = wall_seconds;
  r.stats.world_events = run.world->events_run();
  r.stats.trace_events = run.world->trace().events();
  for (int id = 0; id < run.world->node_count(); ++id) {
    r.nodes.push_back(report::NodeInfo{id, run.cluster->node_name(id), run.world->node(id).name()});
  }
  r.timeline = std::move(run.seen.timeline);
  r.duration_ns = s.duration.count();
  r.quiesce_ns = run.history.quiesce_ns;
  r.end_ns = to_ns(run.world->now());
  return r;
}

}  // namespace

Result<RunOutcome> run_scenario(const scenario::Scenario& scenario, const RunOptions& options) {
  const auto wall_start = std::chrono::steady_clock::now();  // for the report only; never decides anything
  const AssertContext assert_context(scenario, options);
  const coverage::RunMarks marks;  // the broker's coverage marks this run reaches
  ScenarioRun run{scenario, options, {}, nullptr, nullptr, nullptr, {}, {}, nullptr, {}, nullptr};
  run.world = make_world(run);
  std::map<std::string, std::string> randomized;
  if (scenario.cluster.randomize_config) {
    Random rng = run.world->stream(-1, "broker-config");
    randomized = cluster::randomize_broker_config(rng);
  }
  run.cluster = std::make_unique<SimCluster>(*run.world, scenario, randomized);
  run.randomized = randomized;
  if (Status s = run.cluster->build(); !s) return s.error();
  run.history.keys = workload::KeyTable(scenario.topics, scenario.workload).names();
  run.history.liveness_within_ns = scenario.quiescence.liveness_within.count();
  bool ordered = true;
  for (const auto& p : scenario.workload.producers) ordered = ordered && p.max_in_flight == 1;
  run.history.ordered_sends = ordered;
  run.history.unclean_election = unclean_election_allowed(scenario);
  run.groups = workload::make_group_histories(scenario);

  const Instant start = run.world->now();
  run.ctx = std::unique_ptr<workload::Context>(new workload::Context{
      *run.world, scenario, run.cluster->client_node(), run.cluster->bootstrap(), run.history,
      workload::KeyTable(scenario.topics, scenario.workload), to_ns(start + scenario.duration),
      to_ns(start + scenario.duration + scenario.quiescence.recover)});
  run.ctx->groups = &run.groups;
  run.world->node(run.cluster->client_node()).set_main([ctx = run.ctx.get()](Runtime& rt) { workload::client_main(rt, *ctx); });
  run.cluster->start_brokers();
  run.world->node(run.cluster->client_node()).start();
  schedule_faults(run, start);
  schedule_checkpoints(run, start);
  if (options.plant_assert_at) plant_assert(*run.world, start + *options.plant_assert_at, *options.plant_assert_at);

  const auto& q = scenario.quiescence;
  const Instant limit = start + scenario.duration + q.recover + q.liveness_within + q.final_read_timeout + 60s;
  run.world->run_while([&] { return !run.ctx->done; }, limit);
  finish_observations(run, limit);
  // Stop every process while what their tasks point at still exists.
  for (int id = 0; id < run.world->node_count(); ++id) run.world->node(id).kill();
  close_open_ops(run.history, to_ns(run.world->now()));
  workload::finish_group_histories(run.groups, run.seen.group_events, run.history, run.ctx->keys);

  auto checks = check::run_checks(run.history, run.seen.cluster, run.groups,
                                  scenario.checks.empty() ? scenario::all_check_names() : scenario.checks);
  add_trace_errors(run.world->trace(), checks);
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  RunOutcome out;
  out.report = make_report(run, checks, wall);
  out.report.marks = marks.counts();
  out.trace_hash = run.world->trace().hash();
  const TraceRecorder& trace = run.world->trace();
  for (std::size_t i = 0; i < trace.captured_count(); ++i) out.captured.emplace_back(trace.captured(i));
  out.history = std::move(run.history);
  out.groups = std::move(run.groups);
  out.cluster = std::move(run.seen.cluster);
  return out;
}

}  // namespace keel::sim
