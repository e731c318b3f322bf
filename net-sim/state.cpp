// The model's moving parts: listeners, connect decisions, and segments travelling along flows
// (held by blocks and dead machines, delayed by clogs, reset by faults).
#include "net-sim/model.h"
#include "sim/world.h"

#include <fmt/format.h>

#include <algorithm>

namespace keel::net_sim {

// ---- listeners ----

Result<Listener> SimNetwork::State::listen(int node, const Address& address) {
  Host& h = host(node);
  if (!address.host.empty() && address.host != "0.0.0.0" && address.host != h.name) {
    return make_error(Errc::invalid_argument,
                      fmt::format("listen on {}: host '{}' is not this machine ({})", address.to_string(),
                                  address.host, h.name));
  }
  const std::uint16_t port = address.port != 0 ? address.port : pick_port(node);
  if (port == 0) {
    return make_error(Errc::address_in_use, fmt::format("listen on {} ({}): no free ephemeral port",
                                                        address.to_string(), h.name));
  }
  if (listeners_.contains({node, port})) {
    return make_error(Errc::address_in_use, fmt::format("listen on {}:{}: port in use", h.name, port));
  }
  auto ls = std::make_shared<ListenerState>();
  ls->net = this;
  ls->node = node;
  ls->local = Address{h.name, port};
  listeners_.emplace(std::make_pair(node, port), ls);
  world_.event("NetListen", node).detail("port", port);
  return make_listener(std::move(ls));
}

void SimNetwork::State::close_listener(const std::shared_ptr<ListenerState>& ls, bool reset_queued) {
  if (ls->closed) return;
  ls->closed = true;
  ls->net = nullptr;
  auto it = listeners_.find({ls->node, ls->local.port});
  if (it != listeners_.end() && it->second == ls) listeners_.erase(it);
  world_.event("NetUnlisten", ls->node).detail("port", ls->local.port).detail("queued", ls->queue.size());
  std::deque<std::shared_ptr<Conn>> queued;
  queued.swap(ls->queue);
  ls->acceptors.notify_all();
  if (!reset_queued) return;
  for (auto& c : queued) reset(c, ResetReason::listener_closed);
}

void SimNetwork::State::close_listeners(int node, bool reset_queued) {
  std::vector<std::shared_ptr<ListenerState>> mine;
  for (auto it = listeners_.lower_bound({node, 0}); it != listeners_.end() && it->first.first == node; ++it) {
    mine.push_back(it->second);
  }
  for (const auto& ls : mine) close_listener(ls, reset_queued);
}

// ---- connects ----

std::shared_ptr<PendingConnect> SimNetwork::State::start_connect(int from, int to, const Address& target) {
  auto p = std::make_shared<PendingConnect>();
  p->id = next_connect_id_++;
  p->from = from;
  p->to = to;
  p->target = target;
  ++stats_.connects;
  world_.event("NetConnect", from).detail("attempt", p->id).detail("to", to).detail("port", target.port);
  world_.at(arrival(from, to), [this, p] { decide_connect(p); });
  return p;
}

Error SimNetwork::State::connect_timed_out(PendingConnect& p) {
  p.abandoned = true;
  ++stats_.connect_timeouts;
  world_.event("NetConnectTimeout", p.from).detail("attempt", p.id).detail("to", p.to).detail("port", p.target.port);
  return make_error(Errc::timed_out,
                    fmt::format("connect {} -> {}: timed out", host(p.from).name, p.target.to_string()));
}

// The SYN reached the target machine (or did not): one latency after the connect call.
void SimNetwork::State::decide_connect(const std::shared_ptr<PendingConnect>& p) {
  if (p->abandoned) return;
  // A lost SYN: the caller waits for its timeout, as TCP would after its retries.
  if (host(p->from).down || host(p->to).down || blocked(p->from, p->to) || blocked(p->to, p->from)) return;
  auto it = listeners_.find({p->to, p->target.port});
  if (it == listeners_.end()) return refuse(p, "nobody listens there");
  if (rng_.chance(options_.connect_refuse_probability)) return refuse(p, "fault injection");
  ListenerState& ls = *it->second;
  if (ls.queue.size() >= options_.listen_backlog) return refuse(p, "the accept backlog is full");
  std::shared_ptr<Conn> c = make_conn(*p);
  conns_.emplace(c->id, c);
  ls.queue.push_back(c);
  ls.acceptors.notify_one();
  ++stats_.established;
  world_.event("NetAccept", p->to)
      .detail("conn", c->id)
      .detail("attempt", p->id)
      .detail("from", p->from)
      .detail("port", p->target.port);
  finish_connect(p, std::move(c), std::nullopt);
}

void SimNetwork::State::refuse(const std::shared_ptr<PendingConnect>& p, const char* why) {
  ++stats_.refused;
  world_.event("NetRefuse", p->to).detail("attempt", p->id).detail("from", p->from).detail("port", p->target.port);
  finish_connect(p, nullptr,
                 make_error(Errc::refused, fmt::format("connect {} -> {}: refused ({})", host(p->from).name,
                                                       p->target.to_string(), why)));
}

void SimNetwork::State::finish_connect(const std::shared_ptr<PendingConnect>& p, std::shared_ptr<Conn> c,
                                       std::optional<Error> e) {
  KEEL_ASSERT(!p->done);
  p->done = true;
  p->conn = std::move(c);
  p->error = std::move(e);
  p->waiters.notify_all();
}

std::shared_ptr<Conn> SimNetwork::State::make_conn(const PendingConnect& p) {
  auto c = std::make_shared<Conn>();
  c->id = next_conn_id_++;
  c->net = this;
  const Address client{host(p.from).name, pick_port(p.from)};
  const Address server{host(p.to).name, p.target.port};
  c->ends[0].node = p.from;
  c->ends[0].local = client;
  c->ends[0].peer = server;
  c->ends[1].node = p.to;
  c->ends[1].local = server;
  c->ends[1].peer = client;
  c->flows[0].from = c->flows[1].to = p.from;
  c->flows[0].to = c->flows[1].from = p.to;
  return c;
}

// ---- flows ----

void SimNetwork::State::send(const std::shared_ptr<Conn>& c, int side, std::vector<std::byte> bytes, bool fin) {
  Flow& f = c->flows[side];
  const End& e = c->ends[side];
  if (fin) f.fin_sent = true;
  // A machine without power sends nothing, and neither does an end that died with one.
  if (e.dead || host(e.node).down) return;
  const std::size_t n = bytes.size();
  // Later segments never overtake earlier ones: the stream stays ordered whatever the jitter.
  const Instant at = std::max(arrival(f.from, f.to), f.last_deliver_at);
  f.last_deliver_at = at;
  f.in_flight.push_back(Segment{std::move(bytes), fin, at});
  f.in_flight_bytes += n;
  world_.at(at, &State::pump_hook, this, c->id, static_cast<std::uint64_t>(side));
}

void SimNetwork::State::pump(std::uint64_t id, int side) {
  if (auto c = find(id)) pump_flow(c, side);
}

// A delivery is one world event per segment: scheduled without allocating a closure.
void SimNetwork::State::pump_hook(void* state, std::uint64_t id, std::uint64_t side) {
  static_cast<State*>(state)->pump(id, static_cast<int>(side));
}

void SimNetwork::State::pump_all() {
  std::vector<std::shared_ptr<Conn>> all;
  all.reserve(conns_.size());
  for (const auto& [id, c] : conns_) all.push_back(c);
  for (const auto& c : all) {
    for (int side = 0; side < 2; ++side) pump_flow(c, side);
  }
}

// Delivers every due segment at the head of the flow, unless a block, a dead machine or a clog
// stands in the way.
void SimNetwork::State::pump_flow(const std::shared_ptr<Conn>& c, int side) {
  Flow& f = c->flows[side];
  while (!c->reset && !f.in_flight.empty() && f.in_flight.front().deliver_at <= now()) {
    // The receiving machine came back without this connection: its kernel answers with RST.
    if (c->ends[1 - side].dead && !host(f.to).down) return reset(c, ResetReason::peer_rebooted);
    if (held(*c, side)) return hold(c, side);
    release_hold(f);
    const Instant clog_end = std::max(host(f.from).clogged_until, host(f.to).clogged_until);
    if (clog_end > now()) {
      world_.at(clog_end, &State::pump_hook, this, c->id, static_cast<std::uint64_t>(side));
      return;
    }
    deliver(c, side);
  }
  if (f.in_flight.empty()) release_hold(f);
}

bool SimNetwork::State::held(const Conn& c, int side) const {
  const Flow& f = c.flows[side];
  return blocked(f.from, f.to) || c.ends[1 - side].dead;
}

void SimNetwork::State::hold(const std::shared_ptr<Conn>& c, int side) {
  Flow& f = c->flows[side];
  if (f.held_since) return;
  f.held_since = now();
  const std::uint64_t generation = ++f.hold_generation;
  world_.after(options_.partition_reset_timeout,
               [this, id = c->id, side, generation] { check_hold(id, side, generation); });
}

void SimNetwork::State::release_hold(Flow& f) {
  if (!f.held_since) return;
  f.held_since.reset();
  ++f.hold_generation;
}

// TCP gives up on a segment it has retransmitted for too long and resets the connection.
void SimNetwork::State::check_hold(std::uint64_t id, int side, std::uint64_t generation) {
  auto c = find(id);
  if (!c) return;
  const Flow& f = c->flows[side];
  if (!f.held_since || f.hold_generation != generation) return;
  ++stats_.partition_resets;
  reset(c, ResetReason::partition);
}

void SimNetwork::State::deliver(const std::shared_ptr<Conn>& c, int side) {
  Flow& f = c->flows[side];
  Segment s = std::move(f.in_flight.front());
  f.in_flight.pop_front();
  f.in_flight_bytes -= s.bytes.size();
  if (rng_.chance(options_.reset_probability)) {
    ++stats_.random_resets;
    return reset(c, ResetReason::random);
  }
  ++stats_.segments;
  stats_.bytes += s.bytes.size();
  world_.event("NetDeliver", f.to)
      .detail("conn", c->id)
      .detail("from", f.from)
      .detail("bytes", s.bytes.size())
      .detail("fin", s.fin);
  if (c->ends[1 - side].closed) {
    // Nobody will read it: the receiving kernel answers data for a closed socket with RST.
    if (!s.bytes.empty()) reset(c, ResetReason::closed_receiver);
    return;
  }
  if (!s.bytes.empty()) {
    f.unread_bytes += s.bytes.size();
    f.unread.push_back(std::move(s.bytes));
  }
  if (s.fin) f.fin_delivered = true;
  f.readers.notify_all();
}

void SimNetwork::State::reset(std::shared_ptr<Conn> c, ResetReason why) {
  if (c->reset) return;
  c->reset = true;
  c->reset_reason = why;
  ++stats_.resets;
  world_.event("NetReset", c->ends[0].node)
      .detail("conn", c->id)
      .detail("peer", c->ends[1].node)
      .detail("reason", reset_reason_name(why));
  for (Flow& f : c->flows) {
    f.in_flight.clear();
    f.in_flight_bytes = 0;
    f.unread.clear();
    f.unread_front = 0;
    f.unread_bytes = 0;
    release_hold(f);
    f.readers.notify_all();
    f.writers.notify_all();
  }
  unregister(c->id);
}

void SimNetwork::State::close_end(const std::shared_ptr<Conn>& c, int side) {
  if (c->ends[side].closed) return;
  mark_closed(*c, side, now());
  if (c->reset) return;
  send(c, side, {}, /*fin=*/true);
  // Both ends closed: nothing anyone could observe happens on this connection any more.
  if (c->ends[1 - side].closed) unregister(c->id);
}

}  // namespace keel::net_sim
