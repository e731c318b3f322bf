#include "sim/commands.h"

#include "broker/base/version.h"
#include "sim/determinism.h"
#include "sim/report/junit.h"
#include "sim/report/report.h"
#include "sim/runner.h"
#include "sim/scenario/scenario.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace keel::sim {

namespace fs = std::filesystem;

namespace {

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

Severity trace_level(const std::string& level) {
  if (level == "debug") return Severity::debug;
  if (level == "info") return Severity::info;
  if (level == "warn") return Severity::warn;
  if (level == "error") return Severity::error;
  throw UsageError{fmt::format("--trace-level: '{}' is not one of debug, info, warn, error", level)};
}

using FilePtr = std::unique_ptr<std::FILE, int (*)(std::FILE*)>;

FilePtr open_for_writing(const std::string& path) {
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  FilePtr f(std::fopen(path.c_str(), "w"), &std::fclose);
  if (!f) throw UsageError{fmt::format("cannot write '{}'", path)};
  return f;
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

std::string default_report_dir(const std::string& reports, const std::string& scenario, std::uint64_t seed) {
  return fmt::format("{}/{}/{}", reports, scenario, seed);
}

RunOutcome run_or_throw(const scenario::Scenario& s, const RunOptions& o) {
  auto r = run_scenario(s, o);
  if (!r) throw UsageError{r.error().message};
  return std::move(*r);
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

// ---- sweep ----

namespace {

struct SeedResult {
  std::uint64_t seed = 0;
  bool done = false;
  bool passed = false;
  std::string error;  // the run could not start
  std::string hash;
  std::size_t violations = 0;
  std::string first_violation;
  double simulated = 0, wall = 0;
  report::Report report;  // kept for failed seeds only
};

std::pair<std::uint64_t, std::uint64_t> parse_seeds(const std::string& text) {
  const auto dots = text.find("..");
  try {
    if (dots == std::string::npos) {
      const std::uint64_t one = std::stoull(text);
      return {one, one};
    }
    const std::uint64_t a = std::stoull(text.substr(0, dots)), b = std::stoull(text.substr(dots + 2));
    if (a <= b) return {a, b};
  } catch (const std::exception&) {
  }
  throw UsageError{fmt::format("--seeds: '{}' is not a range A..B with A <= B (e.g. 1..200)", text)};
}

SeedResult run_seed(const scenario::Scenario& s, const std::string& scenario_arg, std::uint64_t seed) {
  SeedResult r;
  r.seed = seed;
  RunOptions o;
  o.seed = seed;
  o.scenario_arg = scenario_arg;
  auto outcome = run_scenario(s, o);
  r.done = true;
  if (!outcome) {
    r.error = outcome.error().message;
    return r;
  }
  r.passed = outcome->passed();
  r.hash = outcome->report.trace_hash;
  for (const auto& v : outcome->report.violations) {
    if (v.allowed) continue;
    if (r.violations++ == 0) r.first_violation = v.check + ": " + v.message;
  }
  r.simulated = outcome->report.stats.simulated_seconds;
  r.wall = outcome->report.stats.wall_seconds;
  if (!r.passed) r.report = std::move(outcome->report);
  return r;
}

class Progress {
 public:
  Progress(std::FILE* out, std::size_t total, bool enabled)
      : out_(out), total_(total), enabled_(enabled), tty_(isatty(fileno(out)) != 0) {}

  void seed_done(const SeedResult& r) {
    std::lock_guard lock(mutex_);
    ++done_;
    failed_ += r.passed ? 0 : 1;
    if (!enabled_) return;
    if (tty_) {
      const std::size_t width = 30, filled = done_ * width / total_;
      fmt::print(out_, "\r[{}{}] {}/{} seeds, {} failed", std::string(filled, '#'), std::string(width - filled, '.'),
                 done_, total_, failed_);
      if (done_ == total_) fmt::print(out_, "\n");
      std::fflush(out_);
    } else if (!r.passed || done_ == total_ || done_ % std::max<std::size_t>(1, total_ / 10) == 0) {
      fmt::print(out_, "progress: {}/{} seeds done, {} failed{}\n", done_, total_, failed_,
                 r.passed ? "" : fmt::format(" (seed {} failed)", r.seed));
      std::fflush(out_);
    }
  }

 private:
  std::FILE* out_;
  std::size_t total_, done_ = 0, failed_ = 0;
  bool enabled_, tty_;
  std::mutex mutex_;
};

std::vector<SeedResult> run_seeds(const scenario::Scenario& s, const std::string& arg, std::uint64_t first,
                                  std::uint64_t last, int jobs, Progress& progress) {
  std::vector<SeedResult> results(last - first + 1);
  std::atomic<std::uint64_t> next{0};
  const auto worker = [&] {
    for (std::uint64_t i = next++; i < results.size(); i = next++) {
      results[i] = run_seed(s, arg, first + i);
      progress.seed_done(results[i]);
    }
  };
  std::vector<std::thread> threads;
  for (int j = 0; j < jobs; ++j) threads.emplace_back(worker);
  for (auto& t : threads) t.join();
  return results;
}

void print_table(std::FILE* out, const std::vector<SeedResult>& results) {
  fmt::print(out, "{:>8}  {:<7} {:>10}  {:<16}  {:>8}  {:>7}  {}\n", "seed", "verdict", "violations", "trace-hash", "sim s",
             "wall s", "first violation");
  for (const auto& r : results) {
    const std::string verdict = !r.error.empty() ? "ERROR" : r.passed ? "PASS" : "FAIL";
    fmt::print(out, "{:>8}  {:<7} {:>10}  {:<16}  {:>8.1f}  {:>7.2f}  {}\n", r.seed, verdict, r.violations, r.hash,
               r.simulated, r.wall, r.error.empty() ? r.first_violation.substr(0, 100) : r.error);
  }
}

std::string write_junit(const SweepArgs& a, const scenario::Scenario& s, const std::string& arg,
                        const std::vector<SeedResult>& results, std::uint64_t first, std::uint64_t last) {
  std::vector<report::JUnitCase> cases;
  for (const auto& r : results) {
    report::JUnitCase c;
    c.name = fmt::format("seed {}", r.seed);
    c.classname = fmt::format("keel-sim.{}", s.name);
    c.time_seconds = r.wall;
    c.failed = !r.passed;
    if (c.failed) {
      c.failure_message = r.error.empty() ? r.first_violation : r.error;
      c.failure_text = fmt::format("reproduce: {}\n", reproduce_command(arg, r.seed));
      for (const auto& v : r.report.violations) c.failure_text += fmt::format("{}: {}\n", v.check, v.message);
    }
    c.system_out = fmt::format("trace-hash: {}", r.hash);
    cases.push_back(std::move(c));
  }
  const std::string path = a.junit.empty() ? fmt::format("{}/{}/sweep-{}-{}.xml", a.reports, s.name, first, last) : a.junit;
  FilePtr f = open_for_writing(path);
  const std::string xml = report::junit_xml(fmt::format("keel-sim sweep {}", s.name), cases);
  std::fwrite(xml.data(), 1, xml.size(), f.get());
  return path;
}

// A failed seed is run again with its trace written, so its report folder is complete; the
// rerun's hash must match the sweep's.
void write_failure_report(const SweepArgs& a, const scenario::Scenario& s, const std::string& arg, const SeedResult& r,
                          std::FILE* out) {
  if (!r.error.empty()) return;
  const std::string dir = default_report_dir(a.reports, s.name, r.seed);
  FilePtr trace = open_for_writing(dir + "/trace.jsonl");
  RunOptions o;
  o.seed = r.seed;
  o.scenario_arg = arg;
  o.trace_out = trace.get();
  const RunOutcome again = run_or_throw(s, o);
  trace.reset();
  (void)report::write_report(again.report, dir);
  fmt::print(out, "seed {}: report {}/report.html; reproduce: {}{}\n", r.seed, dir, reproduce_command(arg, r.seed),
             again.report.trace_hash == r.hash ? "" : " (WARNING: the rerun's trace hash differs: nondeterminism)");
}

}  // namespace

int sweep_command(const SweepArgs& a, std::FILE* out) {
  const scenario::Scenario s = load_or_throw(a.scenario);
  const std::string arg = resolve_scenario(a.scenario);
  const auto [first, last] = parse_seeds(a.seeds);
  int jobs = a.jobs > 0 ? a.jobs : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (a.jobs < 0 || a.jobs > 256) throw UsageError{fmt::format("--jobs: {} is outside 1..256", a.jobs)};
  jobs = static_cast<int>(std::min<std::uint64_t>(static_cast<std::uint64_t>(jobs), last - first + 1));
  const auto wall_start = std::chrono::steady_clock::now();
  Progress progress(out, last - first + 1, a.progress);
  const auto results = run_seeds(s, arg, first, last, jobs, progress);
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  print_table(out, results);
  std::size_t failed = 0, errors = 0;
  double simulated = 0;
  for (const auto& r : results) {
    failed += r.passed ? 0 : 1;
    errors += r.error.empty() ? 0 : 1;
    simulated += r.simulated;
    if (!r.passed) write_failure_report(a, s, arg, r, out);
  }
  fmt::print(out, "junit: {}\n", write_junit(a, s, arg, results, first, last));
  fmt::print(out, "sweep: {} seeds of {} in {:.1f}s wall with {} jobs ({:.0f} simulated s per wall s)\n", results.size(),
             s.name, wall, jobs, wall > 0 ? simulated / wall : 0.0);
  fmt::print(out, "{} passed, {} failed\n", results.size() - failed, failed);
  if (errors > 0) return 2;
  return failed == 0 ? 0 : 1;
}

}  // namespace keel::sim
