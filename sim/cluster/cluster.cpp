#include "sim/cluster/cluster.h"

#include "broker/metadata/control.h"
#include "broker/metadata/quorum.h"
#include "broker/protocol/record_batch.h"
#include "broker/partition/replica_manager.h"
#include "broker/kafka/admin.h"
#include "broker/kafka/server.h"
#include "broker/node/node.h"
#include "net-sim/network.h"
#include "sim/node.h"
#include "sim/world.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

namespace keel::sim {

using scenario::FaultKind;

constexpr std::uint16_t broker_port = 9092;
constexpr std::uint16_t controller_port = 9093;

namespace {

int controller_count(const scenario::ClusterSpec& c) {
  return c.controllers > 0 ? c.controllers : std::min(c.brokers, 3);
}

}  // namespace

SimCluster::SimCluster(World& world, const scenario::Scenario& scenario, std::map<std::string, std::string> randomized)
    : world_(world),
      scenario_(scenario),
      randomized_(std::move(randomized)),
      brokers_(scenario.cluster.brokers),
      reassign_random_(world.stream(scenario.cluster.brokers, "reassign")) {}

std::string SimCluster::properties_for(int broker) const {
  std::map<std::string, std::string> props = randomized_;
  for (const auto& [k, v] : scenario_.cluster.config) props[k] = v;
  if (auto it = scenario_.cluster.broker_config.find(broker); it != scenario_.cluster.broker_config.end()) {
    for (const auto& [k, v] : it->second) props[k] = v;
  }
  props["node.id"] = std::to_string(broker);
  // Every node runs the metadata quorum: the first controllers are combined nodes holding it (a
  // single node is a one-voter combined node), the rest brokers only.
  const int controllers = controller_count(scenario_.cluster);
  std::string voters;
  for (int c = 0; c < controllers; ++c) voters += fmt::format("{}{}@n{}:{}", c == 0 ? "" : ",", c, c, controller_port);
  const bool controller = broker < controllers;
  props["process.roles"] = controller ? "broker,controller" : "broker";
  props["controller.quorum.voters"] = voters;
  props["controller.listener.names"] = "CONTROLLER";
  props["listener.security.protocol.map"] = "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT";
  props["listeners"] = controller ? fmt::format("PLAINTEXT://n{}:{},CONTROLLER://n{}:{}", broker, broker_port, broker, controller_port)
                                  : fmt::format("PLAINTEXT://n{}:{}", broker, broker_port);
  if (!props.contains("log.dirs")) props["log.dirs"] = "logs";
  std::string text;
  for (const auto& [k, v] : props) text += fmt::format("{}={}\n", k, v);
  return text;
}

Status SimCluster::build() {
  for (int id = 0; id <= brokers_; ++id) {
    NodeOptions n;
    n.id = id;
    world_.add_node(n);
    normal_disk_[id] = world_.node(id).disk().options();
  }
  for (int b = 0; b < brokers_; ++b) {
    const std::string source = fmt::format("{} cluster config of {}", scenario_.source_path.empty() ? scenario_.name : scenario_.source_path, node_name(b));
    auto config = config::parse_broker_config(properties_for(b), source, {});
    if (!config) return config.error();
    configs_.push_back(*config);
    world_.node(b).set_main([this, b, c = *config](Runtime& rt) { run_broker_process(rt, b, c); });
  }
  live_.assign(static_cast<std::size_t>(brokers_), nullptr);
  return {};
}

// a node::Node, keeping a pointer to the broker while it runs so the runner can look at its
// replicas; the pointer goes when the process does (a kill unwinds this frame).
void SimCluster::run_broker_process(Runtime& rt, int b, const config::BrokerConfig& config) {
  node::Node broker(rt, config);
  struct Live {
    node::Node*& slot;
    ~Live() { slot = nullptr; }
  } live{live_[static_cast<std::size_t>(b)]};
  if (const Status s = broker.start(); !s) {
    rt.trace("BrokerStartFailed", Severity::warn).detail("error", s.error().message);
    return;
  }
  live.slot = &broker;
  (void)broker.serve();
}

namespace {

std::uint64_t fnv1a(std::span<const std::uint8_t> bytes, std::uint64_t h = 0xCBF29CE484222325ull) {
  for (auto b : bytes) {
    h ^= b;
    h *= 0x100000001B3ull;
  }
  return h;
}

// The records of one replica, one per offset, read from its log start to its log end.
std::vector<check::ClusterObservations::ReplicaRecord> read_replica(storage::Log& log) {
  std::vector<check::ClusterObservations::ReplicaRecord> out;
  std::int64_t offset = log.log_start_offset();
  while (offset < log.log_end_offset()) {
    offset = std::max(offset, log.log_start_offset());  // retention may delete while this task reads
    auto read = log.read(offset, 1 << 20, log.log_end_offset(), true);
    if (!read && offset < log.log_start_offset()) continue;  // deleted under the read: from the new start
    if (!read || read->records.empty()) break;
    const auto scan = protocol::scan_batches(read->records, false);
    if (scan.batches.empty()) break;
    for (const auto& [pos, header] : scan.batches) {
      const std::span<const std::uint8_t> batch(read->records.data() + pos, header.size_bytes());
      auto records = protocol::decode_records(batch);
      if (!records) continue;
      for (const auto& r : *records) {
        if (r.offset < offset) continue;
        std::uint64_t h = fnv1a(r.key ? std::span<const std::uint8_t>(*r.key) : std::span<const std::uint8_t>());
        h = fnv1a(r.value ? std::span<const std::uint8_t>(*r.value) : std::span<const std::uint8_t>(), h);
        out.push_back({r.offset, header.partition_leader_epoch, h});
      }
      offset = std::max(offset, header.last_offset() + 1);
    }
  }
  return out;
}

}  // namespace

std::map<int, std::int64_t> SimCluster::metadata_ends() const {
  std::map<int, std::int64_t> out;
  for (int b = 0; b < brokers_; ++b) {
    node::Node* broker = live_[static_cast<std::size_t>(b)];
    if (broker != nullptr && broker->started()) out[b] = broker->quorum().applied_offset() + 1;
  }
  return out;
}

void SimCluster::probe_replicas(const std::shared_ptr<ReplicaProbe>& shared, std::string label) {
  ReplicaProbe& probe = *shared;
  const std::int64_t at_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(world_.now().time_since_epoch()).count();
  for (int b = 0; b < brokers_; ++b) {
    node::Node* broker = live_[static_cast<std::size_t>(b)];
    SimRuntime* rt = world_.node(b).runtime();
    if (broker == nullptr || !broker->started() || rt == nullptr) continue;
    probe.pending[b] = world_.node(b).incarnation();
    rt->spawn("probe-replicas", [this, b, shared, label, at_ns] {
      ReplicaProbe& probe = *shared;
      struct Done {
        std::map<int, std::uint32_t>& pending;
        int node;
        ~Done() { pending.erase(node); }
      } done{probe.pending, b};
      node::Node* broker = live_[static_cast<std::size_t>(b)];
      if (broker == nullptr) return;
      for (const auto& status : broker->replicas().status()) {
        storage::Log* log = broker->logs().get(status.tp);
        if (log == nullptr) continue;
        check::ClusterObservations::ReplicaSnapshot snap;
        snap.at_ns = at_ns;
        snap.label = label;
        snap.node = b;
        snap.partition = status.tp.to_string();
        snap.high_watermark = status.high_watermark;
        snap.log_end = status.log_end;
        snap.records = read_replica(*log);
        // What retention deleted while the records were read is below the log start now.
        snap.log_start = std::max(status.log_start, log->log_start_offset());
        std::erase_if(snap.records, [&](const auto& r) { return r.offset < snap.log_start; });
        probe.snapshots.push_back(std::move(snap));
      }
      for (const auto& tp : broker->logs().partitions()) {
        if (storage::Log* log = broker->logs().get(tp)) probe.logs.push_back({b, tp.to_string(), log->log_end_offset()});
      }
    });
  }
}

bool SimCluster::probe_done(const ReplicaProbe& probe) const {
  for (const auto& [node, incarnation] : probe.pending) {
    const SimNode& n = world_.node(node);
    if (n.incarnation() == incarnation && n.state() != ProcessState::down) return false;
  }
  return true;
}

void SimCluster::start_brokers() {
  for (int b = 0; b < brokers_; ++b) world_.node(b).start();
}

std::vector<int> SimCluster::broker_nodes() const {
  std::vector<int> ids;
  for (int b = 0; b < brokers_; ++b) ids.push_back(b);
  return ids;
}

std::vector<Address> SimCluster::bootstrap() const {
  std::vector<Address> out;
  for (int b = 0; b < brokers_; ++b) out.push_back(Address{fmt::format("n{}", b), broker_port});
  return out;
}

std::string SimCluster::node_name(int id) const {
  return id == brokers_ ? "client" : fmt::format("broker-{}", id);
}

void SimCluster::restart(int node) {
  SimNode& n = world_.node(node);
  if (!n.powered()) {
    n.power_on_and_start();
  } else if (n.state() == ProcessState::down) {
    n.start();
  }
}

void SimCluster::unblock_sets(const std::vector<std::vector<int>>& sets) {
  auto& net = world_.net();
  for (std::size_t i = 0; i < sets.size(); ++i) {
    for (std::size_t j = 0; j < sets.size(); ++j) {
      if (i == j) continue;
      for (int a : sets[i]) {
        for (int b : sets[j]) net.unblock(a, b);
      }
    }
  }
}

void SimCluster::disk_faults(int node, const scenario::ScriptedFault& f) {
  SimDisk& disk = world_.node(node).disk();
  DiskOptions faulty = normal_disk_.at(node);
  faulty.read_error_probability = f.error_rate;
  faulty.write_error_probability = f.error_rate;
  faulty.sync_error_probability = f.error_rate;
  faulty.read_bit_flip_probability = f.bit_flip_rate;
  disk.set_options(faulty);
  const DiskOptions normal = normal_disk_.at(node);
  world_.after(f.duration, [&disk, normal] { disk.set_options(normal); });
}

void SimCluster::apply(const scenario::ScriptedFault& f) {
  const std::string kind(scenario::fault_kind_name(f.kind));
  ++counts_[kind];
  if (f.kind == FaultKind::reassign) return reassign(f, "Scriptedreassign");
  const int node = node_id(f.node);
  const std::string name = "Scripted" + kind;  // outlives the event, which keeps a view of it
  auto event = world_.event(name, f.kind == FaultKind::heal ? -1 : node);
  auto& net = world_.net();
  SimNode& n = world_.node(node);
  switch (f.kind) {
    case FaultKind::kill: n.kill(); break;
    case FaultKind::power_off: n.power_off(); break;
    case FaultKind::restart: restart(node); break;
    case FaultKind::pause:
      event.detail("duration_ns", f.duration.count());
      if (n.state() == ProcessState::running) n.pause(f.duration);
      break;
    case FaultKind::partition: {
      std::vector<std::vector<int>> sets;
      for (const auto& set : f.sets) {
        sets.emplace_back();
        for (const auto& ref : set) sets.back().push_back(node_id(ref));
      }
      for (std::size_t i = 0; i < sets.size(); ++i) {
        for (std::size_t j = i + 1; j < sets.size(); ++j) net.partition(sets[i], sets[j]);
      }
      if (f.duration.count() > 0) world_.after(f.duration, [this, sets] { unblock_sets(sets); });
      break;
    }
    case FaultKind::isolate: {
      net.isolate(node);
      std::vector<int> others;
      for (int id = 0; id <= brokers_; ++id) {
        if (id != node) others.push_back(id);
      }
      if (f.duration.count() > 0) world_.after(f.duration, [this, node, others] { unblock_sets({{node}, others}); });
      break;
    }
    case FaultKind::block: {
      const int to = node_id(f.to);
      event.detail("to", to);
      net.block(node, to);
      if (f.duration.count() > 0) world_.after(f.duration, [this, node, to] { world_.net().unblock(node, to); });
      break;
    }
    case FaultKind::clog: net.clog(node, f.duration); break;
    case FaultKind::heal: net.heal_all(); break;
    case FaultKind::clock_jump:
      event.detail("by_ns", f.by.count());
      n.clock().jump_wall(f.by);
      break;
    case FaultKind::disk_faults: disk_faults(node, f); break;
    case FaultKind::shutdown: graceful_stop(node); break;
    case FaultKind::reassign: break;  // above
  }
}

// As an operator's AlterPartitionReassignments: sent to a running broker (from a random start),
// which forwards it to the active controller. The answer is kept for the reassignment-completed
// check; a broker that dies meanwhile leaves it unanswered.
void SimCluster::reassign(const scenario::ScriptedFault& f, std::string_view event_name) {
  const std::string partition = fmt::format("{}-{}", f.topic, f.partition);
  std::optional<std::vector<std::int32_t>> target;
  if (f.target == scenario::ReassignTarget::listed) {
    target.emplace();
    for (const auto& ref : f.replicas) target->push_back(ref.broker);
  } else if (f.target == scenario::ReassignTarget::random) {
    const auto topic = std::find_if(scenario_.topics.begin(), scenario_.topics.end(),
                                    [&](const auto& t) { return t.name == f.topic; });
    std::vector<std::int32_t> brokers;
    for (int b = 0; b < brokers_; ++b) brokers.push_back(b);
    for (std::size_t i = brokers.size(); i > 1; --i) std::swap(brokers[i - 1], brokers[reassign_random_.below(i)]);
    brokers.resize(std::min<std::size_t>(brokers.size(), static_cast<std::size_t>(topic->replication_factor)));
    target = std::move(brokers);
  }
  const int start = static_cast<int>(reassign_random_.below(static_cast<std::uint64_t>(brokers_)));
  int node = -1;
  for (int i = 0; i < brokers_ && node < 0; ++i) {
    const int b = (start + i) % brokers_;
    if (live_[static_cast<std::size_t>(b)] != nullptr && world_.node(b).runtime() != nullptr) node = b;
  }
  auto event = world_.event(event_name, node);
  event.detail("partition", partition).detail("replicas", target ? fmt::format("[{}]", fmt::join(*target, ",")) : "cancel");
  if (node < 0) return;  // nobody to ask: the operator's tool would fail to connect
  const std::size_t index = reassignments_.size();
  check::ClusterObservations::Reassignment asked;
  asked.node = node;
  asked.partition = partition;
  asked.target = target;
  reassignments_.push_back(asked);
  const std::uint32_t incarnation = world_.node(node).incarnation();
  world_.node(node).runtime()->spawn("reassign", [this, node, incarnation, index, f, target] {
    metadata::AlterReassignmentsRequest request;
    std::optional<std::vector<BrokerId>> replicas;  // none: cancel
    if (target) replicas = ids_of<BrokerId>(*target);
    request.partitions.push_back({f.topic, f.partition, std::move(replicas)});
    node::Node* broker = live_[static_cast<std::size_t>(node)];
    if (broker == nullptr) return;
    auto reply = kafka::alter_reassignments(broker->server().services(), request, std::chrono::seconds(10));
    if (world_.node(node).incarnation() != incarnation) return;
    auto& r = reassignments_[index];
    r.at_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(world_.now().time_since_epoch()).count();
    if (!reply || reply->results.size() != 1) {
      r.message = reply ? "an answer for other partitions" : reply.error().message;
      return;
    }
    r.answered = true;
    r.error = static_cast<std::int16_t>(reply->results[0].error);
    r.message = reply->results[0].message;
    world_.event("ReassignAnswered", node).detail("partition", r.partition).detail("error", r.error)
        .detail("message", r.message);
  });
}

void SimCluster::reassign_random() {
  if (brokers_ < 2 || scenario_.topics.empty()) return;
  const auto& topic = scenario_.topics[reassign_random_.below(scenario_.topics.size())];
  scenario::ScriptedFault f;
  f.kind = FaultKind::reassign;
  f.topic = topic.name;
  f.partition = static_cast<int>(reassign_random_.below(static_cast<std::uint64_t>(topic.partitions)));
  f.target = reassign_random_.chance(0.2) ? scenario::ReassignTarget::cancel : scenario::ReassignTarget::random;
  reassign(f, "FaultReassign");
}

std::map<std::string, check::ClusterObservations::Assignment> SimCluster::final_assignments() const {
  node::Node* best = nullptr;
  for (node::Node* broker : live_) {
    if (broker == nullptr || !broker->started()) continue;
    if (best == nullptr || broker->quorum().applied_offset() > best->quorum().applied_offset()) best = broker;
  }
  std::map<std::string, check::ClusterObservations::Assignment> out;
  if (best == nullptr) return out;
  for (const auto& [id, topic] : best->quorum().image().topics()) {
    for (const auto& [index, p] : topic.partitions)
      out[fmt::format("{}-{}", topic.name, index)] = {raw_ids(p.replicas), raw_ids(p.adding_replicas), raw_ids(p.removing_replicas)};
  }
  return out;
}

// A clean stop, as SIGTERM gives the keel binary: the broker's shutdown (a replicated cluster's
// broker first has the controller move its leaderships away), then the process ends.
void SimCluster::graceful_stop(int node) {
  SimNode& n = world_.node(node);
  node::Node* broker = node < brokers_ ? live_[static_cast<std::size_t>(node)] : nullptr;
  if (broker == nullptr || n.runtime() == nullptr) {
    if (n.state() != ProcessState::down) n.kill();  // not serving (yet): nothing to hand over
    return;
  }
  const std::uint32_t incarnation = n.incarnation();
  n.runtime()->spawn("graceful-stop", [this, node, incarnation] {
    if (node::Node* b = live_[static_cast<std::size_t>(node)]) (void)b->shutdown();
    world_.after(Duration(0), [this, node, incarnation] {
      SimNode& stopping = world_.node(node);
      if (stopping.incarnation() == incarnation && stopping.state() != ProcessState::down) stopping.kill();
    });
  });
}

void SimCluster::heal_all() {
  world_.net().heal_all();
  for (const auto& [node, normal] : normal_disk_) world_.node(node).disk().set_options(normal);
  for (int id = 0; id <= brokers_; ++id) restart(id);
}

}  // namespace keel::sim
