#pragma once
// A run's report: what keel-sim writes to reports/<scenario>/<seed>/report.json and renders as
// report.html (one self-contained page, inline SVG), and what `keel-sim replay` reads back.
#include "broker/base/result.h"
#include "sim/check/checks.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace keel::sim::report {

// A world-level event the timeline is drawn from, as the trace has it: ProcessStart,
// ProcessStop, PowerOff, PowerOn, ProcessPause, ProcessResume, NetBlock, NetUnblock, NetHeal,
// NetClog, Fault* (FaultKill, FaultPowerOff, FaultPause, FaultIsolate, FaultOneWay, FaultClog,
// FaultClockJump, FaultDisk, FaultHealAll), Scripted* (the scenario's scripted faults),
// LeaderChange, Quiesce, Recovered, Buggify.
struct TimelineEvent {
  std::int64_t at_ns = 0;
  int node = -1;        // world node id, -1 for the world itself
  std::string name;
  nlohmann::json fields = nlohmann::json::object();  // the event's fields (e.g. {"from":0,"to":2})
};

struct LatencyPercentiles {
  std::uint64_t count = 0;
  double p50_ms = 0, p90_ms = 0, p99_ms = 0, p999_ms = 0, max_ms = 0;
};

struct Statistics {
  std::uint64_t records_sent = 0;          // send ops invoked
  std::uint64_t records_acknowledged = 0;  // send ops ok
  std::uint64_t records_failed = 0;        // send ops fail
  std::uint64_t records_unknown = 0;       // send ops info
  std::uint64_t records_consumed = 0;      // records returned by polls during the main phase
  std::uint64_t records_final_read = 0;    // records the final reads returned
  std::map<std::string, std::uint64_t> faults;  // by type, sorted by name
  std::vector<std::string> groups;  // one line per consumer group: members, rebalances, records, commits, end state
  LatencyPercentiles produce_latency;      // invoke to acknowledgement, ok sends
  LatencyPercentiles end_to_end_latency;   // send invoke to the first main-phase poll that returned the value
  double simulated_seconds = 0;
  double wall_seconds = 0;
  std::uint64_t world_events = 0;
  std::uint64_t trace_events = 0;
};

// Throughput over simulated time, one bucket per `bucket_ns`.
struct Series {
  std::int64_t bucket_ns = 1'000'000'000;
  std::vector<std::uint64_t> acknowledged;  // ok sends completed in each bucket
  std::vector<std::uint64_t> consumed;      // records polled in each bucket (main phase)
};

struct NodeInfo {
  int id = 0;
  std::string name;  // "broker-0", "client"
  std::string host;  // network host name
};

struct Report {
  std::string scenario;       // the scenario's name
  std::string scenario_path;  // the file it came from, as given on the command line
  std::uint64_t seed = 0;
  std::string version;        // keel's version string
  std::string verdict;        // "PASS" or "FAIL"
  std::string trace_hash;     // 16 hex digits
  std::string reproduce;      // the command that reruns this exact run
  std::vector<check::Violation> violations;
  std::map<std::string, std::uint64_t> check_counts;
  std::vector<std::string> checks;                    // the checks that ran
  std::map<std::string, std::string> randomized_config;  // knob -> value drawn from the seed
  std::vector<std::string> buggify_sites;             // sites that fired at least once, sorted
  std::map<std::string, std::uint64_t> marks;         // coverage marks reached (broker/base/coverage.h) -> times
  Statistics stats;
  Series series;
  std::vector<NodeInfo> nodes;
  std::vector<TimelineEvent> timeline;  // in time order
  std::int64_t duration_ns = 0;         // the main phase
  std::int64_t quiesce_ns = -1;         // when faults were healed
  std::int64_t end_ns = 0;              // when the run ended
};

nlohmann::json to_json(const Report& r);
Result<Report> from_json(const nlohmann::json& j);  // for replay; names the missing or bad field

// The whole page: inline CSS and SVG, no scripts from the network, nothing external.
std::string render_html(const Report& r);

// Writes report.json and report.html into `dir` (created with its parents).
Status write_report(const Report& r, const std::string& dir);
Result<Report> read_report(const std::string& report_json_path);

}  // namespace keel::sim::report
