#pragma once
// THE SEAM. A Runtime is one node's whole view of the outside world: its clocks, its tasks, its
// random generator, its disk, its network, its trace and its fault points. Broker code is given a
// Runtime& explicitly (no globals), so two simulated brokers in one process never share state by
// accident. Two implementations exist: sim::SimRuntime (sim/) and posix::PosixRuntime
// (broker/platform/posix/).
#include "broker/platform/disk.h"
#include "broker/platform/network.h"
#include "broker/platform/random.h"
#include "broker/platform/sync.h"
#include "broker/platform/task.h"
#include "broker/base/time.h"
#include "broker/platform/trace.h"

#include <compare>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace keel {

// A node id (Kafka's node.id). A distinct type so it cannot be mixed with a partition or offset.
struct NodeId {
  std::int32_t value = -1;
  friend auto operator<=>(const NodeId&, const NodeId&) = default;
};

class Runtime : public TaskDriver {
 public:
  virtual NodeId node_id() const = 0;
  virtual Instant now() const = 0;         // monotonic
  virtual WallTime wall_now() const = 0;   // wall clock: may jump, may differ between nodes
  virtual Random& random() = 0;            // this node's seeded generator
  virtual Disk& disk() = 0;
  virtual Network& net() = 0;
  virtual Executor& executor() = 0;
  virtual TraceSink& trace_sink() = 0;
  // A named fault point. Always false in production; in simulation each site is enabled or not
  // per seed, and an enabled site fires with some probability each time it is evaluated.
  virtual bool buggify(std::string_view site) = 0;

  Instant driver_now() const override { return now(); }

  TaskRef spawn(std::string name, std::function<void()> fn) { return executor().spawn(std::move(name), std::move(fn)); }
  void sleep_for(Duration d) { sleep_until(now() + d); }
  void sleep_until(Instant t);
  Instant deadline_after(Duration d) const { return now() + d; }
  TraceEvent trace(std::string_view name, Severity severity = Severity::info) {
    return TraceEvent(&trace_sink(), severity, name);
  }
};

}  // namespace keel

// KEEL_BUGGIFY(rt, "site"): true when the fault point should fire now.
#define KEEL_BUGGIFY(rt, site) ((rt).buggify(site))

template <>
struct fmt::formatter<keel::NodeId> : fmt::formatter<std::int32_t> {
  auto format(keel::NodeId n, fmt::format_context& ctx) const { return fmt::formatter<std::int32_t>::format(n.value, ctx); }
};
