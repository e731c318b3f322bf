#pragma once
// A simulated machine: its clock, its disk (which outlives processes), and the process running
// broker code on it. Process faults: kill -9 (the process dies, the kernel resets its
// connections, the page cache survives), power loss (everything stops, unsynced writes are lost
// or torn, peers hear nothing), pause (the process stops running for a while), restart.
#include "broker/platform/runtime.h"
#include "sim/disk.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace keel::sim {

class World;

// What a process runs when it starts: spawn tasks on `rt` and return (or keep running as the
// "main" task).
using ProcessMain = std::function<void(Runtime& rt)>;

// A node's clocks. Monotonic local time runs at (1 + drift) times world time from an offset and
// never jumps; wall time is local monotonic time plus an offset that jumps on clock faults.
class NodeClock {
 public:
  NodeClock(std::int64_t mono_offset_ns, double drift, std::int64_t wall_offset_ns);
  Instant local(Instant world) const;
  Instant world_at(Instant local) const;  // the first world instant at which local() >= local
  WallTime wall(Instant world) const;
  void set_drift(Instant world_now, double drift);  // rebases so local time stays continuous
  void jump_wall(Duration by) { wall_offset_ns_ += by.count(); }
  double drift() const { return rate_ - 1.0; }

 private:
  std::int64_t base_world_ns_ = 0;
  std::int64_t base_local_ns_ = 0;
  double rate_ = 1.0;
  std::int64_t wall_offset_ns_ = 0;
};

struct NodeOptions {
  int id = 0;
  std::string name;               // network host name; "n<id>" when empty
  double clock_drift_max = 1e-4;  // |drift| drawn uniformly below this (100 ppm: a cheap crystal)
  Duration clock_offset_max = 10s;  // wall clocks differ between nodes by up to this much
  DiskOptions disk;
};

enum class ProcessState : std::uint8_t {
  down,     // no process (never started, killed, or the machine is off)
  running,  // tasks run
  paused,   // tasks exist but do not run until the pause ends (SIGSTOP, a long GC pause)
};

class SimRuntime;

class SimNode {
 public:
  SimNode(World& world, const NodeOptions& options);
  ~SimNode();

  int id() const { return id_; }
  const std::string& name() const { return name_; }
  ProcessState state() const { return state_; }
  bool powered() const { return powered_; }
  std::uint32_t incarnation() const { return incarnation_; }
  NodeClock& clock() { return clock_; }
  SimDisk& disk() { return *disk_; }
  World& world() { return world_; }
  SimRuntime* runtime() { return runtime_.get(); }  // null while down
  Instant paused_until() const { return paused_until_; }

  // Process lifecycle. start() needs a main set with set_main() (restart reuses it).
  void set_main(ProcessMain main) { main_ = std::move(main); }
  void start();
  void kill();                     // kill -9
  void power_off();                // power loss: process gone, disk crash, silence on the network
  void power_on_and_start();       // after power_off
  void restart() { kill(); start(); }
  void pause(Duration d);

  // Called by World when an event for this node comes due while it is paused.
  bool is_paused_at(Instant world_now) const { return state_ == ProcessState::paused && world_now < paused_until_; }

 private:
  void stop_process(const char* how);

  World& world_;
  int id_;
  std::string name_;
  NodeClock clock_;
  std::unique_ptr<SimDisk> disk_;
  ProcessMain main_;
  std::unique_ptr<SimRuntime> runtime_;
  std::uint32_t incarnation_ = 0;
  ProcessState state_ = ProcessState::down;
  bool powered_ = true;
  Instant paused_until_{};
};

// One process incarnation's view of the world through the seam.
class SimRuntime final : public Runtime {
 public:
  SimRuntime(SimNode& node, std::uint32_t incarnation);
  ~SimRuntime() override;

  NodeId node_id() const override { return NodeId{node_.id()}; }
  Instant now() const override;
  WallTime wall_now() const override;
  Random& random() override { return random_; }
  Disk& disk() override;
  Network& net() override;
  Executor& executor() override { return executor_; }
  TraceSink& trace_sink() override { return sink_; }
  bool buggify(std::string_view site) override;
  // A BUGGIFY site of the simulated disk or network, acting for this process: when `site` fires,
  // a length in [1, n) drawn from the buggify stream (so the process's own stream is untouched);
  // otherwise n. Never shortens below one byte, so a read or write always makes progress.
  std::size_t buggify_shorten(std::string_view site, std::size_t n);
  void task_ready(TaskRef ref) override;
  // Under the BUGGIFY site `task_start_late`, a spawned task sometimes starts late: whatever its
  // spawner assumed still holds at its first run may have changed (posix runs every ready task and
  // a batch of I/O in between).
  void task_spawned(TaskRef ref) override;
  // Under the BUGGIFY site `timer_late`, a timer sometimes fires late (never early): an
  // overloaded machine, a long GC pause, a scheduler that did not get to the process in time.
  void wake_at(Instant at, WaitToken token) override;

  SimNode& node() { return node_; }

 private:
  class Sink final : public TraceSink {
   public:
    explicit Sink(SimNode& node) : node_(node) {}
    bool wants(Severity s) const override;
    void emit(Severity s, std::string_view name, std::string_view fields) override;

   private:
    SimNode& node_;
  };

  SimNode& node_;
  std::uint32_t incarnation_;
  // The late extra of a timer that timer_late makes late: 1 us up to `max`, mostly small, drawn
  // from `random` (each site's stream).
  static Duration draw_late(Random& random, Duration max);

  Random random_;
  Random buggify_random_;
  // timer_late, decided once per process (it is asked on every timer), with a stream of its own
  // so that timers do not shift the draws of the other sites.
  double timer_late_probability_ = 0;  // 0: the site is off
  Random timer_late_random_;
  // task_start_late, the same way.
  double task_late_probability_ = 0;
  Random task_late_random_;
  Sink sink_;
  Executor executor_;  // last: destroyed first, so unwinding tasks still see the rest
};

}  // namespace keel::sim
