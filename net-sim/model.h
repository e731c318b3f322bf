#pragma once
// The inside of the simulated network: connections, their two flows, listeners, and the State that
// moves segments between nodes. Only net-sim/*.cpp include this; everyone else sees network.h.
//
// Lifetimes. A connection's shared state (Conn) is owned jointly by the network's registry and by
// the handles (and accept queues, and pending connects) that refer to it, so a handle destroyed
// while its task unwinds, or a task blocked in read() when another task closes the handle, never
// touches freed memory. World callbacks never hold a Conn: they carry its id and look it up, so a
// connection that is gone simply makes them no-ops. A Conn or listener leaves the registry once
// nothing more can happen to it, and its `net` pointer is nulled then (and when the network dies),
// so a late handle operation never reaches a dead network.
#include "broker/platform/network.h"
#include "broker/platform/random.h"
#include "broker/platform/sync.h"
#include "net-sim/network.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace keel::sim {
class World;
}

namespace keel::net_sim {

using State = SimNetwork::State;

// Why a connection was reset; the name goes into the trace.
enum class ResetReason : std::uint8_t {
  process_killed,   // the kernel of a killed process sent RST
  partition,        // traffic was held longer than partition_reset_timeout
  random,           // reset_probability fired on a delivery
  listener_closed,  // the connection sat in the accept queue of a listener that closed
  closed_receiver,  // data arrived for an end its process had already closed
  peer_rebooted,    // traffic reached a machine that lost the connection in a power cycle
};
const char* reset_reason_name(ResetReason r);

struct Segment {
  std::vector<std::byte> bytes;
  bool fin = false;  // end of stream: the sender closed its end after `bytes`
  Instant deliver_at{};
};

// One direction of a connection: what `from` sent that `to` has not read yet.
struct Flow {
  int from = -1;
  int to = -1;
  std::deque<Segment> in_flight;  // sent, not yet delivered; deliver_at never decreases
  std::size_t in_flight_bytes = 0;
  std::deque<std::vector<std::byte>> unread;  // delivered, not yet read
  std::size_t unread_front = 0;               // bytes of unread.front() already read
  std::size_t unread_bytes = 0;
  bool fin_sent = false;
  bool fin_delivered = false;
  Instant last_deliver_at{};
  // Set while the head segment is due but held by a block or a dead machine. The generation
  // tells a partition-reset check whether the hold it was armed for is still the current one.
  std::optional<Instant> held_since;
  std::uint64_t hold_generation = 0;
  WaitQueue readers;  // tasks of `to` waiting for bytes or end of stream
  WaitQueue writers;  // tasks of `from` waiting for send buffer space

  std::size_t buffered_bytes() const { return in_flight_bytes + unread_bytes; }
};

// One end of a connection, as its process sees it.
struct End {
  int node = -1;
  Address local;
  Address peer;
  bool closed = false;  // the process closed (or dropped) its handle
  Instant closed_at{};  // world time of the close
  bool dead = false;    // the machine lost power with this end open: it never speaks again
};

struct Conn {
  std::uint64_t id = 0;
  State* net = nullptr;  // null once out of the registry
  std::array<End, 2> ends;    // 0: the connecting side, 1: the accepting side
  std::array<Flow, 2> flows;  // flows[i] carries what ends[i] writes to ends[1 - i]
  bool reset = false;
  ResetReason reset_reason = ResetReason::random;
};

struct ListenerState {
  State* net = nullptr;  // null once closed
  int node = -1;
  Address local;
  std::deque<std::shared_ptr<Conn>> queue;  // established, not yet accepted
  WaitQueue acceptors;
  bool closed = false;
};

// A connect in progress: the decision arrives one latency after the call.
struct PendingConnect {
  std::uint64_t id = 0;
  int from = -1;
  int to = -1;
  Address target;
  bool done = false;       // decided: `conn` or `error` is set
  bool abandoned = false;  // the caller gave up (timed out, or its task died)
  std::shared_ptr<Conn> conn;
  std::optional<Error> error;
  WaitQueue waiters;
};

struct LinkLatency {
  Duration min{};
  Duration max{};
};

class Endpoint;

struct Host {
  std::string name;
  std::unique_ptr<Endpoint> endpoint;
  std::uint16_t next_ephemeral_port = 0;
  Instant clogged_until{};
  bool down = false;  // powered off
};

struct SimNetwork::State {
 public:
  State(sim::World& world, const NetworkOptions& options, NetworkStats& stats);
  ~State();
  State(const State&) = delete;
  State& operator=(const State&) = delete;

  sim::World& world() { return world_; }
  const NetworkOptions& options() const { return options_; }
  NetworkStats& stats() { return stats_; }
  Instant now() const;

  // ---- hosts and links ----
  void add_host(int node, const std::string& name);
  Host& host(int node);
  bool has_host(int node) const { return hosts_.contains(node); }
  std::optional<int> resolve(const std::string& name) const;
  bool blocked(int from, int to) const { return blocks_.contains({from, to}); }
  void set_blocked(int from, int to, bool on);
  void set_latency(int from, int to, LinkLatency l) { latencies_[{from, to}] = l; }
  // When something sent now from `from` to `to` arrives, before ordering: clogs, then latency.
  Instant arrival(int from, int to);
  std::vector<int> host_ids() const;
  // A BUGGIFY site of the network acting for `node`'s process (sim::SimRuntime::buggify_shorten):
  // a length in [1, n) when it fires, else n (also when no process runs there).
  std::size_t buggify_shorten(int node, std::string_view site, std::size_t n);

  // ---- listeners ----
  Result<Listener> listen(int node, const Address& address);
  void close_listener(const std::shared_ptr<ListenerState>& ls, bool reset_queued);
  void close_listeners(int node, bool reset_queued);

  // ---- connects ----
  std::shared_ptr<PendingConnect> start_connect(int from, int to, const Address& target);
  Error connect_timed_out(PendingConnect& p);

  // ---- connections ----
  void send(const std::shared_ptr<Conn>& c, int side, std::vector<std::byte> bytes, bool fin);
  void close_end(const std::shared_ptr<Conn>& c, int side);
  void reset(std::shared_ptr<Conn> c, ResetReason why);
  void pump_all();
  void heal_all();
  void clog(int node, Duration d);
  std::shared_ptr<Conn> find(std::uint64_t id) const;
  std::size_t connection_count() const { return conns_.size(); }

  // ---- process and machine events ----
  void process_killed(int node);
  void machine_down(int node);
  void machine_up(int node);

 private:
  std::uint16_t pick_port(int node);
  void decide_connect(const std::shared_ptr<PendingConnect>& p);
  void finish_connect(const std::shared_ptr<PendingConnect>& p, std::shared_ptr<Conn> c, std::optional<Error> e);
  void refuse(const std::shared_ptr<PendingConnect>& p, const char* why);
  std::shared_ptr<Conn> make_conn(const PendingConnect& p);
  void pump(std::uint64_t id, int side);
  static void pump_hook(void* state, std::uint64_t id, std::uint64_t side);
  void pump_flow(const std::shared_ptr<Conn>& c, int side);
  bool held(const Conn& c, int side) const;
  void hold(const std::shared_ptr<Conn>& c, int side);
  static void release_hold(Flow& f);
  void check_hold(std::uint64_t id, int side, std::uint64_t generation);
  void deliver(const std::shared_ptr<Conn>& c, int side);
  void unregister(std::uint64_t id);
  std::vector<std::shared_ptr<Conn>> conns_of(int node) const;

  sim::World& world_;
  const NetworkOptions& options_;
  NetworkStats& stats_;
  Random rng_;  // every draw of the network, in world-event order
  std::map<int, Host> hosts_;
  std::map<std::string, int> names_;
  std::set<std::pair<int, int>> blocks_;
  std::map<std::pair<int, int>, LinkLatency> latencies_;
  std::map<std::pair<int, std::uint16_t>, std::shared_ptr<ListenerState>> listeners_;
  std::map<std::uint64_t, std::shared_ptr<Conn>> conns_;
  std::uint64_t next_conn_id_ = 1;
  std::uint64_t next_connect_id_ = 1;
};

// ---- handles (handles.cpp) ----

// A node's keel::Network.
class Endpoint final : public Network {
 public:
  Endpoint(State& net, int node) : net_(net), node_(node) {}
  Result<Listener> listen(const Address& address) override { return net_.listen(node_, address); }
  Result<Connection> connect(const Address& address, Duration timeout) override;

 private:
  State& net_;
  int node_;
};

Connection make_connection(std::shared_ptr<Conn> c, int side);
Listener make_listener(std::shared_ptr<ListenerState> ls);

// Marks `side` closed and wakes the tasks of that end blocked in read or write: they see
// Errc::closed. Sends nothing; State::close_end does the rest when the network is still there.
void mark_closed(Conn& c, int side, Instant t);

// The first instant `timeout` after `now`, saturating instead of overflowing.
Instant saturating_deadline(Instant now, Duration timeout);

}  // namespace keel::net_sim
