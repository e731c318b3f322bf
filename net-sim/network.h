#pragma once
// The simulated network: TCP-like connections between simulated nodes. Each direction of a
// connection is an ordered byte stream (no loss, no duplicates, no reordering) whose segments
// arrive after a per-link latency with jitter. Faults:
// - partitions (full, one-way, between sets of nodes) hold traffic; traffic held longer than
//   `partition_reset_timeout` resets the connection; connects across a partition time out;
// - clogging delays all of a node's traffic, in and out, until the clog ends;
// - random resets of established connections; random refused connects;
// - a killed process resets its peers' connections (the kernel sends RST); a powered-off machine
//   goes silent: its peers hear nothing until their own timeouts fire.
#include "broker/platform/network.h"
#include "broker/platform/random.h"
#include "broker/base/time.h"

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace keel::sim {
class World;
}

namespace keel::net_sim {

// The network's behaviour as data; probabilities are per event named.
struct NetworkOptions {
  Duration latency_min = 50us;            // one-way latency of a segment on a healthy link
  Duration latency_max = 500us;           // jitter: latency is uniform in [min, max]
  Duration partition_reset_timeout = 10s; // held traffic older than this resets its connection
  double reset_probability = 0;           // per segment delivered: the connection is reset instead
  double connect_refuse_probability = 0;  // per connect: refused although someone listens
  std::size_t send_buffer_bytes = 1 << 20;  // bytes in flight per direction before write() waits
  std::size_t segment_bytes_max = 64 << 10; // a write larger than this goes out as several segments
  std::size_t listen_backlog = 128;         // established, unaccepted connections per listener;
                                            // a connect beyond it is refused
};

struct NetworkStats {
  std::uint64_t connects = 0, established = 0, refused = 0, connect_timeouts = 0, segments = 0, bytes = 0;
  std::uint64_t resets = 0, random_resets = 0, partition_resets = 0;
};

class SimNetwork {
 public:
  explicit SimNetwork(sim::World& world);
  ~SimNetwork();

  void set_options(const NetworkOptions& options) { options_ = options; }
  const NetworkOptions& options() const { return options_; }
  const NetworkStats& stats() const { return stats_; }

  // Registers a machine under a host name; `endpoint(node)` is its keel::Network.
  void add_node(int node, const std::string& host);
  Network& endpoint(int node);

  // ---- faults ----
  void block(int from, int to);                 // one-way: traffic from -> to is held
  void unblock(int from, int to);
  void partition(const std::vector<int>& a, const std::vector<int>& b);  // both ways between sets
  void isolate(int node);                        // from everyone else, both ways
  void heal_all();                               // every block lifted; held traffic flows
  bool blocked(int from, int to) const;
  void clog(int node, Duration d);               // the node's traffic waits until now + d
  void set_link_latency(int a, int b, Duration min, Duration max);  // both directions

  // ---- process and machine events (called by sim::SimNode) ----
  void process_killed(int node);   // listeners closed; every connection reset on both ends
  void machine_down(int node);     // listeners closed; its connections go silent
  void machine_up(int node);

  // Connections the network still tracks (neither reset nor closed at both ends): for tests.
  std::size_t connection_count() const;

  struct State;  // the model, defined in net-sim/model.h

 private:
  sim::World& world_;
  NetworkOptions options_;
  NetworkStats stats_;
  std::unique_ptr<State> state_;
};

}  // namespace keel::net_sim
