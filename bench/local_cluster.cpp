#include "bench/local_cluster.h"

#include <fmt/format.h>

#include <algorithm>

#include "broker/client/admin.h"

namespace keel::bench {
namespace {

Result<std::vector<std::uint16_t>> distinct_free_ports(std::size_t count) {
  std::vector<std::uint16_t> ports;
  while (ports.size() < count) {
    auto port = free_port();
    if (!port) return port.error();
    if (std::find(ports.begin(), ports.end(), *port) == ports.end()) ports.push_back(*port);
  }
  return ports;
}

// The keys that make node `index` (node.id index + 1) one of the cluster's combined nodes.
std::vector<std::string> node_keys(const LocalClusterOptions& o, std::int32_t index, const std::string& voters,
                                   std::uint16_t client_port, std::uint16_t controller_port) {
  std::vector<std::string> keys{
      fmt::format("node.id={}", index + 1),
      "process.roles=broker,controller",
      "controller.quorum.voters=" + voters,
      "controller.listener.names=CONTROLLER",
      fmt::format("listeners=PLAINTEXT://127.0.0.1:{},CONTROLLER://127.0.0.1:{}", client_port, controller_port),
      fmt::format("advertised.listeners=PLAINTEXT://127.0.0.1:{}", client_port),
      "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
      fmt::format("default.replication.factor={}", o.nodes),
      fmt::format("min.insync.replicas={}", o.min_insync_replicas),
  };
  keys.insert(keys.end(), o.overrides.begin(), o.overrides.end());
  return keys;
}

}  // namespace

Result<std::unique_ptr<LocalCluster>> LocalCluster::start(const LocalClusterOptions& options) {
  std::unique_ptr<LocalCluster> cluster(new LocalCluster());
  auto ports = distinct_free_ports(2 * static_cast<std::size_t>(options.nodes));
  if (!ports) return ports.error();
  std::string voters;
  for (std::int32_t i = 0; i < options.nodes; ++i) {
    voters += fmt::format("{}{}@127.0.0.1:{}", i == 0 ? "" : ",", i + 1, (*ports)[options.nodes + i]);
  }
  for (std::int32_t i = 0; i < options.nodes; ++i) {
    LocalKeelOptions lo;
    lo.binary = options.binary;
    lo.port = (*ports)[i];
    lo.overrides = node_keys(options, i, voters, (*ports)[i], (*ports)[options.nodes + i]);
    auto node = LocalKeel::start(lo);
    if (!node) {
      return make_error(node.error().code, fmt::format("node {}: {}", i + 1, node.error().message));
    }
    cluster->bootstrap_.push_back((*node)->address());
    cluster->nodes_.push_back(std::move(*node));
  }
  return cluster;
}

Status LocalCluster::stop() {
  Status first;
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    auto st = nodes_[i]->stop();
    if (!st && first) first = make_error(st.error().code, fmt::format("node {}: {}", i + 1, st.error().message));
  }
  return first;
}

Status wait_until_formed(Runtime& rt, const std::vector<Address>& bootstrap, std::int32_t brokers, Duration timeout) {
  const Instant deadline = rt.now() + timeout;
  client::Admin admin(rt, bootstrap, 2s);
  std::string last = "no answer";
  while (rt.now() < deadline) {
    auto md = admin.metadata({});
    if (md && static_cast<std::int32_t>(md->brokers.size()) == brokers) return {};
    last = md ? fmt::format("{} broker(s) in Metadata", md->brokers.size()) : md.error().message;
    rt.sleep_for(100ms);
  }
  return make_error(Errc::timed_out, fmt::format("the cluster did not list {} brokers: {}", brokers, last));
}

namespace {

// Every partition of `topic` has a leader and `replicas` replicas in sync.
bool topic_settled(const protocol::MetadataResponse& md, const std::string& topic, std::int32_t partitions,
                   std::size_t replicas) {
  for (const auto& t : md.topics) {
    if (t.name != topic) continue;
    if (t.error_code != 0 || static_cast<std::int32_t>(t.partitions.size()) != partitions) return false;
    return std::all_of(t.partitions.begin(), t.partitions.end(), [&](const auto& p) {
      return p.error_code == 0 && p.leader_id >= 0 && p.isr_nodes.size() == replicas;
    });
  }
  return false;
}

}  // namespace

Status create_replicated_topic(Runtime& rt, const std::vector<Address>& bootstrap, const std::string& topic,
                               std::int32_t partitions, std::int16_t replication_factor, Duration timeout) {
  const Instant deadline = rt.now() + timeout;
  client::Admin admin(rt, bootstrap, 5s);
  std::string last;
  for (;;) {
    auto st = admin.create_topic(topic, partitions, replication_factor);
    if (st || client::is_kafka_error(st, protocol::ErrorCode::topic_already_exists)) break;
    last = st.error().message;
    if (rt.now() >= deadline) return make_error(Errc::timed_out, fmt::format("create {}: {}", topic, last));
    rt.sleep_for(200ms);
  }
  while (rt.now() < deadline) {
    auto md = admin.metadata({topic});
    if (md && topic_settled(*md, topic, partitions, static_cast<std::size_t>(replication_factor))) return {};
    rt.sleep_for(50ms);
  }
  return make_error(Errc::timed_out, fmt::format("{}: not every partition got a leader and an ISR of {} in time",
                                                 topic, replication_factor));
}

}  // namespace keel::bench
