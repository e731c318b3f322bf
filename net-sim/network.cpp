// SimNetwork: hosts, links and faults, and the public face of the model in state.cpp.
#include "net-sim/network.h"

#include "net-sim/model.h"
#include "sim/node.h"
#include "sim/world.h"

#include <algorithm>

namespace keel::net_sim {

const char* reset_reason_name(ResetReason r) {
  switch (r) {
    case ResetReason::process_killed: return "process_killed";
    case ResetReason::partition: return "partition";
    case ResetReason::random: return "random";
    case ResetReason::listener_closed: return "listener_closed";
    case ResetReason::closed_receiver: return "closed_receiver";
    case ResetReason::peer_rebooted: return "peer_rebooted";
  }
  return "unknown";
}

// ---- hosts and links ----

namespace {
// Linux's default ephemeral range (net.ipv4.ip_local_port_range).
constexpr std::uint16_t kEphemeralFirst = 32768;
constexpr std::uint16_t kEphemeralLast = 60999;
}  // namespace

SimNetwork::State::State(sim::World& world, const NetworkOptions& options, NetworkStats& stats)
    : world_(world), options_(options), stats_(stats), rng_(world.stream(-1, "net")) {}

SimNetwork::State::~State() {
  // Handles may outlive the network (a test keeps one past its world): they must not reach back.
  for (auto& [id, c] : conns_) c->net = nullptr;
  for (auto& [key, ls] : listeners_) ls->net = nullptr;
}

Instant SimNetwork::State::now() const { return world_.now(); }

void SimNetwork::State::add_host(int node, const std::string& name) {
  KEEL_ASSERT_MSG(!hosts_.contains(node), "node {} added to the network twice", node);
  KEEL_ASSERT_MSG(!names_.contains(name), "host name '{}' taken by node {}", name, names_.at(name));
  KEEL_ASSERT_MSG(!name.empty() && name != "0.0.0.0", "node {}: '{}' cannot be a host name", node, name);
  Host h;
  h.name = name;
  h.endpoint = std::make_unique<Endpoint>(*this, node);
  h.next_ephemeral_port = kEphemeralFirst;
  hosts_.emplace(node, std::move(h));
  names_.emplace(name, node);
}

Host& SimNetwork::State::host(int node) {
  auto it = hosts_.find(node);
  KEEL_ASSERT_MSG(it != hosts_.end(), "node {} is not on the network", node);
  return it->second;
}

std::optional<int> SimNetwork::State::resolve(const std::string& name) const {
  auto it = names_.find(name);
  if (it == names_.end()) return std::nullopt;
  return it->second;
}

std::vector<int> SimNetwork::State::host_ids() const {
  std::vector<int> ids;
  for (const auto& [id, h] : hosts_) ids.push_back(id);
  return ids;
}

std::size_t SimNetwork::State::buggify_shorten(int node, std::string_view site, std::size_t n) {
  if (node < 0 || node >= world_.node_count()) return n;
  sim::SimRuntime* rt = world_.node(node).runtime();
  return rt != nullptr ? rt->buggify_shorten(site, n) : n;
}

void SimNetwork::State::set_blocked(int from, int to, bool on) {
  if (on) {
    if (blocks_.insert({from, to}).second) world_.event("NetBlock", from).detail("to", to);
    return;
  }
  if (blocks_.erase({from, to}) == 0) return;
  world_.event("NetUnblock", from).detail("to", to);
  pump_all();  // held traffic flows now, in order
}

void SimNetwork::State::heal_all() {
  blocks_.clear();
  world_.event("NetHeal");
  pump_all();
}

void SimNetwork::State::clog(int node, Duration d) {
  Host& h = host(node);
  h.clogged_until = std::max(h.clogged_until, now() + d);
  world_.event("NetClog", node).detail("duration_ns", to_ns(d));
}

Instant SimNetwork::State::arrival(int from, int to) {
  const Instant depart = std::max({now(), host(from).clogged_until, host(to).clogged_until});
  auto it = latencies_.find({from, to});
  const LinkLatency l = it != latencies_.end() ? it->second : LinkLatency{options_.latency_min, options_.latency_max};
  KEEL_ASSERT_LE(l.min.count(), l.max.count());
  return depart + Duration(rng_.between(l.min.count(), l.max.count()));
}

std::uint16_t SimNetwork::State::pick_port(int node) {
  Host& h = host(node);
  for (int tries = 0; tries <= kEphemeralLast - kEphemeralFirst; ++tries) {
    const std::uint16_t port = h.next_ephemeral_port;
    h.next_ephemeral_port = port == kEphemeralLast ? kEphemeralFirst : static_cast<std::uint16_t>(port + 1);
    if (!listeners_.contains({node, port})) return port;
  }
  return 0;
}

std::shared_ptr<Conn> SimNetwork::State::find(std::uint64_t id) const {
  auto it = conns_.find(id);
  return it == conns_.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<Conn>> SimNetwork::State::conns_of(int node) const {
  std::vector<std::shared_ptr<Conn>> out;
  for (const auto& [id, c] : conns_) {
    if (c->ends[0].node == node || c->ends[1].node == node) out.push_back(c);
  }
  return out;
}

void SimNetwork::State::unregister(std::uint64_t id) {
  auto it = conns_.find(id);
  if (it == conns_.end()) return;
  it->second->net = nullptr;
  conns_.erase(it);
}

// ---- process and machine events ----

void SimNetwork::State::process_killed(int node) {
  close_listeners(node, /*reset_queued=*/true);
  for (const auto& c : conns_of(node)) {
    for (const End& e : c->ends) {
      // An end closed at this very instant was closed by the dying process (its tasks unwinding),
      // whichever of the two the node does first: the kernel resets it all the same.
      if (e.node == node && !e.dead && (!e.closed || e.closed_at == now())) {
        reset(c, ResetReason::process_killed);
        break;
      }
    }
  }
}

void SimNetwork::State::machine_down(int node) {
  host(node).down = true;
  world_.event("NetMachineDown", node);
  for (const auto& c : conns_of(node)) {
    if (c->reset) continue;
    for (int side = 0; side < 2; ++side) {
      if (c->ends[side].node != node) continue;
      // What the machine had sent but not yet delivered dies with it, and it sends nothing more.
      c->ends[side].dead = true;
      Flow& out = c->flows[side];
      out.in_flight.clear();
      out.in_flight_bytes = 0;
      release_hold(out);
    }
    // Traffic towards the dead machine is held from now on, and resets once held too long.
    for (int side = 0; side < 2; ++side) pump_flow(c, side);
  }
  close_listeners(node, /*reset_queued=*/false);
}

void SimNetwork::State::machine_up(int node) {
  host(node).down = false;
  world_.event("NetMachineUp", node);
  pump_all();  // traffic held for connections the machine forgot now gets its RST
}

// ---- SimNetwork ----

SimNetwork::SimNetwork(sim::World& world)
    : world_(world), state_(std::make_unique<State>(world, options_, stats_)) {}

SimNetwork::~SimNetwork() = default;

void SimNetwork::add_node(int node, const std::string& host) { state_->add_host(node, host); }
Network& SimNetwork::endpoint(int node) { return *state_->host(node).endpoint; }

void SimNetwork::block(int from, int to) { state_->set_blocked(from, to, true); }
void SimNetwork::unblock(int from, int to) { state_->set_blocked(from, to, false); }
bool SimNetwork::blocked(int from, int to) const { return state_->blocked(from, to); }
void SimNetwork::heal_all() { state_->heal_all(); }
void SimNetwork::clog(int node, Duration d) { state_->clog(node, d); }

void SimNetwork::partition(const std::vector<int>& a, const std::vector<int>& b) {
  for (int x : a) {
    for (int y : b) {
      if (x == y) continue;
      state_->set_blocked(x, y, true);
      state_->set_blocked(y, x, true);
    }
  }
}

void SimNetwork::isolate(int node) {
  for (int other : state_->host_ids()) {
    if (other == node) continue;
    state_->set_blocked(node, other, true);
    state_->set_blocked(other, node, true);
  }
}

void SimNetwork::set_link_latency(int a, int b, Duration min, Duration max) {
  KEEL_ASSERT_LE(min.count(), max.count());
  KEEL_ASSERT_GE(min.count(), 0);
  state_->set_latency(a, b, LinkLatency{min, max});
  state_->set_latency(b, a, LinkLatency{min, max});
}

void SimNetwork::process_killed(int node) { state_->process_killed(node); }
void SimNetwork::machine_down(int node) { state_->machine_down(node); }
void SimNetwork::machine_up(int node) { state_->machine_up(node); }
std::size_t SimNetwork::connection_count() const { return state_->connection_count(); }

}  // namespace keel::net_sim
