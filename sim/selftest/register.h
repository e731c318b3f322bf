#pragma once
// The selftest workload: a few nodes keep a replicated, durable register per key with the ABD
// quorum algorithm (Attiya, Bar-Noy, Dolev). It exercises every part of the seam at once: tasks
// and their primitives, timers and deadlines, the network (each operation talks to every node),
// and the disk (a checksummed append-only log synced before every acknowledgement, compacted into
// a snapshot through write / sync / rename / directory sync / truncate, and recovered at start-up
// from whatever a crash left behind).
//
// This is node code: it sees the world only through keel::Runtime, like the broker.
#include "broker/platform/runtime.h"

#include <compare>
#include <cstdint>
#include <memory>
#include <vector>

namespace keel::sim::selftest {

// A register value with its version: (ts, writer) orders writes; `value` is unique per write.
struct Versioned {
  std::uint64_t ts = 0;
  std::uint32_t writer = 0;
  std::uint64_t value = 0;
  bool newer_than(const Versioned& o) const { return ts != o.ts ? ts > o.ts : writer > o.writer; }
  friend bool operator==(const Versioned&, const Versioned&) = default;
};

struct OpRecord {
  int node = 0;
  bool is_write = false;
  std::uint32_t key = 0;
  std::int64_t invoke_ns = 0;    // world time
  std::int64_t complete_ns = -1; // world time; -1 while pending or if its process died first
  bool ok = false;               // false: failed, timed out or never finished (a write may still take effect)
  Versioned v;                   // written, or read
};

// Where a node reports its operations, in the manner of a Jepsen history: an operation is
// recorded when it is invoked (so a write whose process dies mid-way is still known), its value
// once chosen, and its outcome when it completes. The simulator stamps them with world time, so
// real-time order is judged by one clock and not by the nodes' drifting ones.
class OpRecorder {
 public:
  virtual ~OpRecorder() = default;
  virtual std::size_t invoke(int node, bool is_write, std::uint32_t key) = 0;
  virtual void set_value(std::size_t op, const Versioned& v) = 0;
  virtual void complete(std::size_t op, bool ok) = 0;
  virtual std::uint64_t next_value() = 0;  // a value never written before
  // Durability, node by node: a node acknowledged storing `v` (it was synced first), and after a
  // restart it recovered `v` for `key`. A recovered version older than one acknowledged is a
  // lost acknowledged write, whether or not the quorum happens to hide it.
  virtual void acknowledged(int node, std::uint32_t key, const Versioned& v) = 0;
  virtual void recovered(int node, std::uint32_t key, const Versioned& v) = 0;
};

struct RegisterOptions {
  int nodes = 3;                       // nodes are "n0".."n<nodes-1>"
  std::uint16_t port = 7000;
  std::uint32_t keys = 4;
  Duration think_time_max = 20ms;      // pause between a client's operations
  Duration op_timeout = 1s;            // a quorum phase gives up after this
  Duration connect_timeout = 300ms;
  std::uint32_t compact_after_records = 64;  // log records before a snapshot
  int clients_per_node = 1;
};

// The process main of one register node.
void run_register_node(Runtime& rt, const RegisterOptions& options, OpRecorder& recorder);

}  // namespace keel::sim::selftest
