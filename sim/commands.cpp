#include "sim/commands.h"

#include "broker/base/version.h"
#include "sim/determinism.h"
#include "sim/report/report.h"
#include "sim/runner.h"
#include "sim/scenario/scenario.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <vector>

namespace keel::sim {

namespace fs = std::filesystem;

// A scenario named on the command line: a file, or a name in scenarios/.
std::string resolve_scenario(const std::string& arg) {
  if (fs::exists(arg)) return arg;
  const std::string in_dir = fmt::format("scenarios/{}.json", arg);
  if (arg.find('/') == std::string::npos && fs::exists(in_dir)) return in_dir;
  return arg;  // load_scenario names the missing file
}

scenario::Scenario load_or_throw(const std::string& arg) {
  auto s = scenario::load_scenario(resolve_scenario(arg));
  if (!s) throw UsageError{s.error().message};
  return std::move(*s);
}

std::string default_report_dir(const std::string& reports, const std::string& scenario, std::uint64_t seed) {
  return fmt::format("{}/{}/{}", reports, scenario, seed);
}

std::optional<Duration> plant_assert_arg(const std::string& text) {
  if (text.empty()) return std::nullopt;
  Duration d{};
  if (!parse_duration(text, &d)) {
    throw UsageError{fmt::format("--plant-assert-at: '{}' is not a duration (examples: 500ms, 10s)", text)};
  }
  return d;
}

FilePtr open_for_writing(const std::string& path) {
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  FilePtr f(std::fopen(path.c_str(), "w"), &std::fclose);
  if (!f) throw UsageError{fmt::format("cannot write '{}'", path)};
  return f;
}

RunOutcome run_or_throw(const scenario::Scenario& s, const RunOptions& o) {
  auto r = run_scenario(s, o);
  if (!r) throw UsageError{r.error().message};
  return std::move(*r);
}

namespace {

Severity trace_level(const std::string& level) {
  if (level == "debug") return Severity::debug;
  if (level == "info") return Severity::info;
  if (level == "warn") return Severity::warn;
  if (level == "error") return Severity::error;
  throw UsageError{fmt::format("--trace-level: '{}' is not one of debug, info, warn, error", level)};
}


void print_summary(std::FILE* out, const report::Report& r) {
  const auto& s = r.stats;
  fmt::print(out, "scenario: {} seed={} ({})\n", r.scenario, r.seed, r.scenario_path);
  fmt::print(out, "  records: {} sent, {} acknowledged, {} failed, {} unknown; {} consumed, {} read back at the end\n",
             s.records_sent, s.records_acknowledged, s.records_failed, s.records_unknown, s.records_consumed,
             s.records_final_read);
  std::string faults;
  for (const auto& [type, n] : s.faults) faults += fmt::format(" {}={}", type, n);
  fmt::print(out, "  faults:{}\n", faults.empty() ? " none" : faults);
  for (const auto& g : s.groups) fmt::print(out, "  group {}\n", g);
  fmt::print(out, "  produce latency ms: p50 {:.2f} p99 {:.2f} max {:.2f} ({} acknowledged)\n", s.produce_latency.p50_ms,
             s.produce_latency.p99_ms, s.produce_latency.max_ms, s.produce_latency.count);
  fmt::print(out, "  world: {} events; {:.1f}s simulated in {:.2f}s wall\n", s.world_events, s.simulated_seconds,
             s.wall_seconds);
  std::size_t shown = 0;
  for (const auto& v : r.violations) {
    if (shown++ == 20) {
      fmt::print(out, "  ... and {} more violations (see the report)\n", r.violations.size() - 20);
      break;
    }
    fmt::print(out, "  {}{}: {}\n", v.allowed ? "allowed " : "violation ", v.check, v.message);
  }
  if (r.verdict != "PASS") fmt::print(out, "  reproduce: {}\n", r.reproduce);
}


int check_determinism(const scenario::Scenario& s, RunOptions o, std::FILE* out) {
  o.capture = true;
  o.trace_out = nullptr;
  const RunOutcome a = run_or_throw(s, o);
  const RunOutcome b = run_or_throw(s, o);
  print_summary(out, b.report);
  const auto d = find_divergence(a.captured, b.captured);
  if (!d && a.trace_hash == b.trace_hash) {
    fmt::print(out, "determinism: 2 runs, {} events each, identical\n", a.captured.size());
    fmt::print(out, "verdict: {}  trace-hash: {:016x}\n", b.report.verdict, b.trace_hash);
    return b.passed() ? 0 : 1;
  }
  if (d) {
    fmt::print(out, "determinism: FAILED: the runs part at event #{}\n  run 1: {}\n  run 2: {}\n", d->index, d->first_run,
               d->second_run);
  } else {
    fmt::print(out, "determinism: FAILED: same events, different hashes\n");
  }
  fmt::print(out, "verdict: FAIL  trace-hash: {:016x} {:016x}\n", a.trace_hash, b.trace_hash);
  return 1;
}

}  // namespace

int run_command(const RunArgs& a, std::FILE* out) {
  const scenario::Scenario s = load_or_throw(a.scenario);
  RunOptions o;
  o.seed = a.seed;
  o.trace_level = trace_level(a.trace_level);
  o.scenario_arg = resolve_scenario(a.scenario);
  o.plant_assert_at = plant_assert_arg(a.plant_assert_at);
  if (a.check_determinism) return check_determinism(s, o, out);
  const std::string dir = a.out.empty() ? default_report_dir("reports", s.name, a.seed) : a.out;
  FilePtr trace = open_for_writing(dir + "/trace.jsonl");
  o.trace_out = trace.get();
  const RunOutcome r = run_or_throw(s, o);
  trace.reset();
  if (Status w = report::write_report(r.report, dir); !w) throw UsageError{w.error().message};
  print_summary(out, r.report);
  fmt::print(out, "report: {}/report.html (and report.json, trace.jsonl)\n", dir);
  fmt::print(out, "verdict: {}  trace-hash: {}\n", r.report.verdict, r.report.trace_hash);
  return r.passed() ? 0 : 1;
}

int replay_command(const ReplayArgs& a, std::FILE* out) {
  auto old = report::read_report(a.report);
  if (!old) throw UsageError{old.error().message};
  const scenario::Scenario s = load_or_throw(old->scenario_path);
  if (old->version != version()) {
    fmt::print(out, "replay: note: the report was written by keel {}, this is keel {}\n", old->version, version());
  }
  RunOptions o;
  o.seed = old->seed;
  o.trace_level = trace_level(a.trace_level);
  o.scenario_arg = old->scenario_path;
  const std::string dir = a.out.empty() ? fs::path(a.report).parent_path().string() : a.out;
  const std::string trace_path = (dir.empty() ? std::string(".") : dir) + "/trace.jsonl";
  FilePtr trace = open_for_writing(trace_path);
  o.trace_out = trace.get();
  const RunOutcome r = run_or_throw(s, o);
  trace.reset();
  print_summary(out, r.report);
  fmt::print(out, "trace: {} (level {})\n", trace_path, a.trace_level);
  const bool same = r.report.trace_hash == old->trace_hash;
  fmt::print(out, "replay: {} (report {}, replay {})\n", same ? "the trace hash matches" : "THE TRACE HASH DIFFERS",
             old->trace_hash, r.report.trace_hash);
  fmt::print(out, "verdict: {}  trace-hash: {}\n", r.report.verdict, r.report.trace_hash);
  return same ? 0 : 1;
}

int list_command(const std::string& dir, std::FILE* out) {
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.path().extension() == ".json") files.push_back(e.path());
  }
  if (ec) throw UsageError{fmt::format("cannot list '{}': {}", dir, ec.message())};
  std::sort(files.begin(), files.end());
  int bad = 0;
  for (const auto& f : files) {
    auto s = scenario::load_scenario(f.string());
    if (!s) {
      ++bad;
      fmt::print(out, "{:<32} INVALID: {}\n", f.stem().string(), s.error().message);
      continue;
    }
    std::string line = s->description.substr(0, s->description.find('\n'));
    fmt::print(out, "{:<32} {}\n", s->name, line);
  }
  return bad == 0 ? 0 : 2;
}

}  // namespace keel::sim
