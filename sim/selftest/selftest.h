#pragma once
// `keel-sim selftest`: the register workload on a few simulated nodes under random faults, then a
// quiet phase, then a check of the operations' history. It exists to exercise (and benchmark) the
// simulated world itself before any broker code runs in it.
#include "sim/faults/random_faults.h"
#include "sim/selftest/register.h"
#include "sim/trace.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace keel::sim::selftest {

struct SelftestOptions {
  std::uint64_t seed = 1;
  int nodes = 3;
  Duration duration = 60s;       // with faults
  Duration quiesce = 10s;        // faults healed, every node up: the register must serve again
  bool faults = true;
  RandomFaultOptions fault_options;
  RegisterOptions register_options;
  TraceOptions trace;
  bool drop_stale_wakes = true;  // WorldOptions::drop_stale_wakes
};

struct SelftestResult {
  std::uint64_t trace_hash = 0;
  std::uint64_t trace_events = 0;
  std::uint64_t world_events = 0;
  std::uint64_t task_switches = 0;
  std::uint64_t ops_ok = 0, ops_failed = 0, reads_ok = 0, writes_ok = 0;
  std::uint64_t ops_ok_after_quiesce = 0;
  FaultCounts faults;
  std::vector<std::string> violations;
  Duration simulated{};
  double wall_seconds = 0;
  std::vector<std::string> captured;  // every hashed event's text, when options.trace.capture
  bool passed() const { return violations.empty(); }
};

SelftestResult run_selftest(const SelftestOptions& options);

// Durability, node by node: what each node acknowledged (after a sync) must still be there when
// it recovers from a crash. Catches a lost acknowledged write even where quorums would hide it.
class DurabilityCheck {
 public:
  void acknowledged(int node, std::uint32_t key, const Versioned& v);
  void recovered(int node, std::uint32_t key, const Versioned& v, std::int64_t now_ns);
  const std::vector<std::string>& violations() const { return violations_; }

 private:
  std::map<std::pair<int, std::uint32_t>, Versioned> acked_;  // (node, key) -> newest acknowledged
  std::vector<std::string> violations_;
};

// The register's correctness, from the history alone (exposed for tests on crafted histories):
// every value read was written (or is the initial one); no two writes share a version; and in
// real time, an operation that starts after another completed sees a version at least as new
// (strictly newer for a write). Returns one line per violation.
std::vector<std::string> check_register_history(const std::vector<OpRecord>& history);

}  // namespace keel::sim::selftest
