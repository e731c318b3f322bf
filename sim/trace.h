#pragma once
// The simulation's trace: every scheduling decision, delivery, disk operation and fault, plus the
// broker's own trace events, folded into one 64-bit hash in the order they happen. Two runs of one
// seed must produce the same sequence; when they do not, the recorder's captured text finds the
// first event where they part.
#include "broker/platform/trace.h"

#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace keel::sim {

struct TraceOptions {
  Severity write_level = Severity::info;  // events at or above this go to `out`
  bool write_scheduler = false;           // also write one line per task run (very verbose)
  std::FILE* out = nullptr;               // trace.jsonl; nullptr writes nothing
  bool capture = false;                   // keep every hashed event's text (determinism check)
  // Called with every hashed event (severity info and above) as it is recorded: how the runner
  // builds a report's timeline. It must not record events itself.
  std::function<void(std::int64_t time_ns, int node, std::string_view name, std::string_view fields)> observer;
  // Also hand debug events to `observer` (never hashed nor written unless write_level asks): what a
  // checker that needs the brokers' per-append events (the retention check) turns on. Debug events
  // have no side effects, so this changes neither the run nor its hash.
  bool observe_debug = false;
};

class TraceRecorder {
 public:
  explicit TraceRecorder(TraceOptions options);

  // A world or broker event. Hashed when severity >= info; an error fails the run.
  void event(std::int64_t time_ns, int node, Severity s, std::string_view name, std::string_view fields);
  // A scheduler decision: `node` ran task `task_id`. Hashed as binary; text only when asked, and
  // only then is the task's name looked up (`name()` returns it).
  template <class NameFn>
  void task_run(std::int64_t time_ns, int node, std::uint64_t task_id, NameFn&& name) {
    ++count_;
    mix(static_cast<std::uint64_t>(time_ns));
    mix((static_cast<std::uint64_t>(node) << 48) ^ task_id);
    if (options_.capture || (options_.out != nullptr && options_.write_scheduler)) {
      task_run_text(time_ns, node, task_id, name());
    }
  }
  bool wants(Severity s) const { return s >= Severity::info || options_.write_level <= s || options_.observe_debug; }

  std::uint64_t hash() const { return hash_; }
  std::uint64_t events() const { return count_; }
  std::uint64_t errors() const { return errors_; }
  const std::string& first_error() const { return first_error_; }
  // Captured text of hashed event i (capture mode only).
  std::string_view captured(std::size_t i) const;
  std::size_t captured_count() const { return offsets_.size(); }
  const std::vector<std::uint64_t>& hashes() const { return hashes_; }

 private:
  void mix(std::uint64_t v) { hash_ = (rotl(hash_ ^ v, 29) * kMul) ^ (hash_ >> 32); }
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  static constexpr std::uint64_t kMul = 0x9E3779B97F4A7C15ull;
  void task_run_text(std::int64_t time_ns, int node, std::uint64_t task_id, std::string_view task_name);
  void mix_bytes(std::string_view s);
  void line(std::string& out, std::int64_t time_ns, int node, Severity s, std::string_view name,
            std::string_view fields) const;
  void keep(std::string_view text);

  TraceOptions options_;
  std::uint64_t hash_ = 0x6A09E667F3BCC908ull;
  std::uint64_t count_ = 0;
  std::uint64_t errors_ = 0;
  std::string first_error_;
  std::string scratch_;
  std::string captured_text_;
  std::vector<std::size_t> offsets_;
  std::vector<std::uint64_t> hashes_;  // running hash after each event (capture mode)
};

}  // namespace keel::sim
