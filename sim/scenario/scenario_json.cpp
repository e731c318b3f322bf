#include "sim/scenario/scenario_json.h"

#include <fmt/format.h>

#include <filesystem>
#include <fstream>

namespace keel::sim::scenario {

namespace {

using ojson = nlohmann::ordered_json;

std::string dur(Duration d) { return format_duration(d); }

ojson settings(const std::map<std::string, std::string>& m) {
  ojson o = ojson::object();
  for (const auto& [k, v] : m) o[k] = v;
  return o;
}

ojson cluster_json(const ClusterSpec& c) {
  const ClusterSpec d;
  ojson o = ojson::object();
  o["brokers"] = c.brokers;
  if (c.controllers != d.controllers) o["controllers"] = c.controllers;
  if (!c.config.empty()) o["config"] = settings(c.config);
  if (!c.broker_config.empty()) {
    ojson per = ojson::object();
    for (const auto& [index, m] : c.broker_config) per[std::to_string(index)] = settings(m);
    o["broker_config"] = per;
  }
  if (c.randomize_config != d.randomize_config) o["randomize_config"] = c.randomize_config;
  if (!c.buggify_sites.empty()) {
    o["buggify"] = ojson{{"sites", c.buggify_sites}, {"probability", c.buggify_probability}};
  } else if (c.buggify != d.buggify) {
    o["buggify"] = c.buggify;
  }
  return o;
}

ojson topic_json(const TopicSpec& t) {
  ojson o = {{"name", t.name}, {"partitions", t.partitions}, {"replication_factor", t.replication_factor}};
  if (!t.configs.empty()) o["configs"] = settings(t.configs);
  return o;
}

std::string_view key_distribution_name(KeyDistribution k) {
  switch (k) {
    case KeyDistribution::none:
      return "none";
    case KeyDistribution::uniform:
      return "uniform";
    case KeyDistribution::zipf:
      return "zipf";
    case KeyDistribution::sequential:
      return "sequential";
  }
  return "uniform";
}

ojson producer_json(const ProducerSpec& p) {
  const ProducerSpec d;
  ojson o = {{"topic", p.topic}};
  if (p.count != d.count) o["count"] = p.count;
  o["rate"] = p.rate;
  o["acks"] = p.acks == -1 ? ojson("all") : ojson(p.acks);
  if (p.record_bytes != d.record_bytes) o["record_bytes"] = p.record_bytes;
  if (p.key_distribution != d.key_distribution) o["key_distribution"] = key_distribution_name(p.key_distribution);
  if (p.keys != d.keys) o["keys"] = p.keys;
  if (p.linger != d.linger) o["linger"] = dur(p.linger);
  if (p.batch_bytes != d.batch_bytes) o["batch_bytes"] = p.batch_bytes;
  if (p.max_in_flight != d.max_in_flight) o["max_in_flight"] = p.max_in_flight;
  if (p.request_timeout != d.request_timeout) o["request_timeout"] = dur(p.request_timeout);
  if (p.delivery_timeout != d.delivery_timeout) o["delivery_timeout"] = dur(p.delivery_timeout);
  if (p.retry_backoff != d.retry_backoff) o["retry_backoff"] = dur(p.retry_backoff);
  if (!p.timestamps.empty()) {
    static constexpr const char* names[] = {"now", "none", "past", "future"};
    ojson modes = ojson::array();
    for (const auto t : p.timestamps) modes.push_back(names[static_cast<int>(t)]);
    o["timestamps"] = modes;
  }
  return o;
}

ojson consumer_json(const ConsumerSpec& c) {
  const ConsumerSpec d;
  ojson o = {{"topics", c.topics}};
  if (c.count != d.count) o["count"] = c.count;
  o["assignment"] = c.assignment == Assignment::all ? "all" : "split";
  if (c.fetch_max_wait != d.fetch_max_wait) o["fetch_max_wait"] = dur(c.fetch_max_wait);
  if (c.poll_timeout != d.poll_timeout) o["poll_timeout"] = dur(c.poll_timeout);
  if (c.request_timeout != d.request_timeout) o["request_timeout"] = dur(c.request_timeout);
  return o;
}

ojson behaviour_json(const MemberBehaviour& b) {
  ojson o = {{"at", dur(b.at)}, {"member", b.member}, {"action", member_action_name(b.action)}};
  if (b.action == MemberAction::restart || b.action == MemberAction::slow || b.action == MemberAction::pause)
    o["duration"] = dur(b.duration);
  return o;
}

ojson group_json(const GroupSpec& g) {
  const GroupSpec d;
  ojson o = {{"group", g.group_id}, {"topics", g.topics}, {"members", g.members}};
  const bool consumer = g.protocol == GroupProtocolKind::consumer;
  if (consumer) {
    o["protocol"] = "consumer";
    o["assignor"] = g.assignor;
  } else {
    o["assignors"] = g.assignors;
  }
  static constexpr const char* commits[] = {"sync", "async", "auto"};
  o["commit"] = commits[static_cast<int>(g.commit)];
  if (g.static_members != d.static_members) o["static"] = g.static_members;
  const std::pair<const char*, Duration> durations[] = {
      {"session_timeout", g.session_timeout},       {"heartbeat_interval", g.heartbeat_interval},
      {"rebalance_timeout", g.rebalance_timeout},   {"auto_commit_interval", g.auto_commit_interval},
      {"poll_timeout", g.poll_timeout},             {"request_timeout", g.request_timeout}};
  for (const auto& [key, value] : durations) {
    // A consumer-protocol group's session timeout and heartbeat interval are the cluster config's.
    if (!consumer || (std::string_view(key) != "session_timeout" && std::string_view(key) != "heartbeat_interval"))
      o[key] = dur(value);
  }
  if (!g.behaviours.empty()) {
    o["behaviours"] = ojson::array();
    for (const auto& b : g.behaviours) o["behaviours"].push_back(behaviour_json(b));
  }
  if (!g.random.actions.empty()) {
    ojson actions = ojson::array();
    for (const auto a : g.random.actions) actions.push_back(member_action_name(a));
    o["random"] = {{"per_minute", g.random.per_minute}, {"actions", actions}, {"down", dur(g.random.down)},
                   {"duration", dur(g.random.duration)}};
  }
  return o;
}

ojson random_json(const RandomFaultOptions& x) {
  const RandomFaultOptions d;
  ojson o = ojson::object();
  const std::pair<const char*, double> rates[] = {{"kill", x.kill_per_min},
                                                  {"power_off", x.power_off_per_min},
                                                  {"pause", x.pause_per_min},
                                                  {"isolate", x.isolate_per_min},
                                                  {"one_way", x.one_way_per_min},
                                                  {"clog", x.clog_per_min},
                                                  {"clock_jump", x.clock_jump_per_min},
                                                  {"disk_faults", x.disk_faults_per_min},
                                                  {"reassign", x.reassign_per_min}};
  for (const auto& [key, rate] : rates) {
    if (rate > 0) o[key] = rate;  // the file's default rate is 0
  }
  const std::pair<const char*, std::pair<Duration, Duration>> durations[] = {
      {"restart_delay_min", {x.restart_delay_min, d.restart_delay_min}},
      {"restart_delay_max", {x.restart_delay_max, d.restart_delay_max}},
      {"pause_duration_min", {x.pause_duration_min, d.pause_duration_min}},
      {"pause_duration_max", {x.pause_duration_max, d.pause_duration_max}},
      {"partition_duration_min", {x.partition_duration_min, d.partition_duration_min}},
      {"partition_duration_max", {x.partition_duration_max, d.partition_duration_max}},
      {"clog_duration_min", {x.clog_duration_min, d.clog_duration_min}},
      {"clog_duration_max", {x.clog_duration_max, d.clog_duration_max}},
      {"clock_jump_max", {x.clock_jump_max, d.clock_jump_max}},
      {"disk_fault_window_max", {x.disk_fault_window_max, d.disk_fault_window_max}}};
  for (const auto& [key, values] : durations) {
    if (values.first != values.second) o[key] = dur(values.first);
  }
  if (x.disk_fault_error_probability != d.disk_fault_error_probability)
    o["disk_fault_error_probability"] = x.disk_fault_error_probability;
  if (x.disk_fault_bit_flip_probability != d.disk_fault_bit_flip_probability)
    o["disk_fault_bit_flip_probability"] = x.disk_fault_bit_flip_probability;
  if (x.faulty_nodes_max != d.faulty_nodes_max) o["faulty_nodes_max"] = x.faulty_nodes_max;
  return o;
}

ojson quiescence_json(const QuiescenceSpec& q) {
  return {{"recover", dur(q.recover)},
          {"final_read_timeout", dur(q.final_read_timeout)},
          {"liveness_within", dur(q.liveness_within)}};
}

}  // namespace

ojson to_json(const ScriptedFault& f) {
  const std::string kind(fault_kind_name(f.kind));
  ojson o = {{"at", dur(f.at)}};
  switch (f.kind) {
    case FaultKind::heal:
      o[kind] = true;
      break;
    case FaultKind::reassign:
      o[kind] = fmt::format("{}-{}", f.topic, f.partition);
      break;
    case FaultKind::partition: {
      ojson sets = ojson::array();
      for (const auto& set : f.sets) {
        ojson names = ojson::array();
        for (const auto& ref : set) names.push_back(node_name(ref));
        sets.push_back(names);
      }
      o[kind] = sets;
      break;
    }
    default:
      o[kind] = node_name(f.node);
      break;
  }
  if (f.kind == FaultKind::block) o["to"] = node_name(f.to);
  if (f.duration.count() != 0) o["duration"] = dur(f.duration);
  if (f.kind == FaultKind::clock_jump) o["by"] = dur(f.by);
  if (f.kind == FaultKind::disk_faults) {
    o["error_rate"] = f.error_rate;
    o["bit_flip_rate"] = f.bit_flip_rate;
  }
  if (f.kind == FaultKind::reassign) {
    if (f.target == ReassignTarget::cancel) {
      o["replicas"] = nullptr;
    } else if (f.target == ReassignTarget::listed) {
      ojson names = ojson::array();
      for (const auto& ref : f.replicas) names.push_back(node_name(ref));
      o["replicas"] = names;
    }
  }
  return o;
}

ojson to_json(const Scenario& s) {
  ojson o = ojson::object();
  o["name"] = s.name;
  if (!s.description.empty()) o["description"] = s.description;
  o["cluster"] = cluster_json(s.cluster);
  o["topics"] = ojson::array();
  for (const auto& t : s.topics) o["topics"].push_back(topic_json(t));
  ojson workload = {{"producers", ojson::array()}};
  for (const auto& p : s.workload.producers) workload["producers"].push_back(producer_json(p));
  if (!s.workload.consumers.empty()) {
    workload["consumers"] = ojson::array();
    for (const auto& c : s.workload.consumers) workload["consumers"].push_back(consumer_json(c));
  }
  if (!s.workload.groups.empty()) {
    workload["groups"] = ojson::array();
    for (const auto& g : s.workload.groups) workload["groups"].push_back(group_json(g));
  }
  if (!s.workload.delete_records.empty()) {
    workload["delete_records"] = ojson::array();
    for (const auto& d : s.workload.delete_records) workload["delete_records"].push_back({{"topic", d.topic}, {"every", dur(d.every)}});
  }
  if (!s.workload.create_partitions.empty()) {
    workload["create_partitions"] = ojson::array();
    for (const auto& c : s.workload.create_partitions) {
      workload["create_partitions"].push_back({{"topic", c.topic}, {"at", dur(c.at)}, {"count", c.count}});
    }
  }
  o["workload"] = workload;
  if (!s.faults.empty() || s.random_faults.enabled) {
    ojson faults = ojson::object();
    if (!s.faults.empty()) {
      faults["scripted"] = ojson::array();
      for (const auto& f : s.faults) faults["scripted"].push_back(to_json(f));
    }
    if (s.random_faults.enabled) faults["random"] = random_json(s.random_faults.options);
    o["faults"] = faults;
  }
  o["duration"] = dur(s.duration);
  o["quiescence"] = quiescence_json(s.quiescence);
  if (!s.checks.empty()) o["checks"] = s.checks;
  return o;
}

Status write_scenario_file(const Scenario& s, const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path parent = fs::path(path).parent_path();
  if (!parent.empty()) fs::create_directories(parent, ec);
  if (ec) return make_error(Errc::io_error, fmt::format("cannot create '{}': {}", parent.string(), ec.message()));
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << to_json(s).dump(2) << "\n";
  if (!out.flush()) return make_error(Errc::io_error, fmt::format("cannot write '{}'", path));
  return {};
}

}  // namespace keel::sim::scenario
