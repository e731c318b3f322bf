#pragma once
// The simulated world: one event queue ordered by (time, tie-break, sequence), one virtual clock
// that jumps to the next event when nothing is runnable, one seed from which every random stream
// is derived, the machines (nodes) and the network between them. Single-threaded: everything in a
// world happens on the thread that calls run_*(); separate worlds may run on separate threads.
#include "broker/platform/random.h"
#include "broker/platform/task.h"
#include "broker/base/time.h"
#include "sim/event_queue.h"
#include "sim/trace.h"

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace keel::net_sim {
class SimNetwork;
struct NetworkOptions;
}  // namespace keel::net_sim

namespace keel::sim {

class SimNode;
struct NodeOptions;

struct WorldOptions {
  std::uint64_t seed = 1;
  TraceOptions trace;
  // Ties between events at the same instant break at random (by the seed) when true, in
  // scheduling order when false. Random ties are what make different seeds explore different
  // interleavings of otherwise simultaneous work.
  bool random_tie_break = true;
  // Drop queued wake-ups that can no longer do anything (see drop_stale_wakes). Changes speed,
  // never behaviour; a test runs with it off and on and compares hashes.
  bool drop_stale_wakes = true;
  // BUGGIFY: the fault points of broker code (KEEL_BUGGIFY), of the simulated disk and network
  // (short reads, split writes) and of the world's timers (timer_late). On: each site is enabled
  // or not per seed, and an enabled site fires with a probability of its own (World::
  // buggify_probability) each time it is evaluated. Off: no site ever fires.
  bool buggify = true;
  // Test hook. When not empty, exactly these sites are enabled (whatever the seed, while `buggify`
  // is on) and each fires with buggify_force_probability; every other site stays off. A test
  // forces one fault point on to show that the code around it stays correct when it fires often.
  std::vector<std::string> buggify_force_sites;
  double buggify_force_probability = 0.5;
  // When the site `timer_late` fires for a timer (a sleep, a wait's deadline), the timer fires
  // this much later at most: 1 us to this, most extras small and a few long (sim/README.md).
  Duration buggify_timer_late_max = 200ms;
  // When the site `task_start_late` fires for a task being spawned, its first run comes this much
  // later at most (drawn as timer_late's extras are).
  Duration buggify_task_start_late_max = 20ms;
};

class World {
 public:
  explicit World(WorldOptions options);
  ~World();
  World(const World&) = delete;
  World& operator=(const World&) = delete;

  std::uint64_t seed() const { return options_.seed; }
  Instant now() const { return now_; }
  // An independent stream for (node, purpose); node -1 for world-level purposes.
  Random stream(std::int64_t node, std::string_view purpose) const;

  // ---- scheduling ----
  void at(Instant t, std::function<void()> fn);
  void after(Duration d, std::function<void()> fn) { at(now_ + d, std::move(fn)); }
  // A callback without an allocation: `hook(context, a, b)` at `t`. For the network's deliveries
  // and other hot paths whose state fits in two integers.
  using Hook = void (*)(void* context, std::uint64_t a, std::uint64_t b);
  void at(Instant t, Hook hook, void* context, std::uint64_t a, std::uint64_t b);
  void schedule_task(int node, std::uint32_t incarnation, TaskRef ref, Instant t);
  void schedule_wake(int node, std::uint32_t incarnation, WaitToken token, Instant t);

  // ---- running ----
  bool step();                    // runs one event; false when the queue is empty
  void run_until(Instant t);      // runs every event up to t, then sets the clock to t
  void run_for(Duration d) { run_until(now_ + d); }
  // Runs while `keep_going()` holds (checked before each event), up to `limit`. True when it
  // stopped because keep_going() turned false.
  bool run_while(const std::function<bool()>& keep_going, Instant limit);
  std::uint64_t events_run() const { return events_run_; }
  std::uint64_t tasks_run() const { return tasks_run_; }  // coroutine resumes: one switch in, one out
  std::size_t pending_events() const { return queue_.size(); }

  // ---- machines ----
  SimNode& add_node(const NodeOptions& options);
  SimNode& node(int id);
  int node_count() const { return static_cast<int>(nodes_.size()); }
  net_sim::SimNetwork& net() { return *net_; }
  TraceRecorder& trace() { return trace_; }
  // A world-level trace event (faults, deliveries). node -1 for the world itself.
  TraceEvent event(std::string_view name, int node = -1, Severity s = Severity::info);

  // Fault points: whether `site` is enabled in this run, and how likely it fires each time it is
  // evaluated. Both are pure functions of (seed, site), independent of the order in which sites
  // are first seen: a site is enabled in one seed in four, and fires with one of
  // kBuggifyProbabilities, drawn per (seed, site). Forced sites fire with the forced probability.
  static constexpr std::array<double, 4> kBuggifyProbabilities{0.01, 0.05, 0.25, 0.5};
  // Every BUGGIFY site there is: the world's (timer_late, task_start_late), the simulated disk's and
  // network's, and broker code's (KEEL_BUGGIFY), sorted. A scenario may only force these.
  static const std::vector<std::string>& known_buggify_sites();
  struct BuggifySite {
    bool enabled = false;
    double probability = 0;  // 0 when not enabled
  };
  BuggifySite buggify_site(std::string_view site) const;
  bool buggify_enabled(std::string_view site) const { return buggify_site(site).enabled; }
  double buggify_probability(std::string_view site) const { return buggify_site(site).probability; }
  Duration buggify_timer_late_max() const { return options_.buggify_timer_late_max; }
  Duration buggify_task_start_late_max() const { return options_.buggify_task_start_late_max; }
  // Called by a node's runtime when `site` fires: counts it and traces a "Buggify" event.
  void note_buggify_fired(std::string_view site, int node);
  // How often each site fired in this run, by site name (ordered, so reports are deterministic).
  const std::map<std::string, std::uint64_t>& buggify_fired() const { return buggify_fired_; }

 private:
  enum class Kind : std::uint8_t { callback, hook, task, wake };
  // What an event does: run a callback or hook (id: its index in callbacks_), run a task, or
  // wake a wait (id: the task or wait id, for `node`'s process `incarnation`).
  struct Event {
    Kind kind;
    std::int32_t node;
    std::uint32_t incarnation;
    std::uint32_t slot;
    std::uint64_t id;
  };
  struct Callback {
    std::function<void()> fn;
    Hook hook = nullptr;
    void* context = nullptr;
    std::uint64_t a = 0, b = 0;
  };
  class Sink;

  void push(std::int64_t time, const Event& event);
  void push_node_event(Kind kind, int node, std::uint32_t incarnation, std::uint32_t slot, std::uint64_t id, Instant t);
  bool stale(const Event& event);
  void drop_stale_wakes();
  void dispatch(std::int64_t time, const Event& event);
  void run_callback(std::uint64_t index);
  BuggifySite decide_buggify_site(std::string_view site) const;
  std::uint32_t store_callback(Callback cb);

  WorldOptions options_;
  Instant now_{};
  std::uint64_t seq_ = 0;
  std::uint64_t events_run_ = 0;
  std::uint64_t tasks_run_ = 0;
  Random tie_rng_;
  EventQueue<Event> queue_;
  std::size_t compact_at_ = 4096;  // queued events that trigger dropping stale wake-ups
  std::vector<Callback> callbacks_;
  std::vector<std::uint32_t> free_callbacks_;
  TraceRecorder trace_;
  std::vector<std::unique_ptr<Sink>> sinks_;  // index: node id + 1
  std::vector<std::unique_ptr<SimNode>> nodes_;
  std::unique_ptr<net_sim::SimNetwork> net_;
  std::map<std::string, std::uint64_t> buggify_fired_;
  // buggify_site() is asked on every evaluation of every fault point: a small cache of answers,
  // placed by where the site's name lives (site names are mostly string literals) and checked
  // against a copy of the name. Only a memo of a pure function: which entries it holds never
  // changes an answer.
  struct SiteMemo {
    std::string name;
    bool valid = false;
    BuggifySite site;
  };
  mutable std::array<SiteMemo, 64> site_memo_{};
};

}  // namespace keel::sim
