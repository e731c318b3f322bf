#pragma once
// keel::posix::PosixRuntime: the production implementation of the seam. One per process: one
// epoll event loop on the calling thread runs the node's tasks; files use pread/pwrite with
// fdatasync on one helper thread; sockets are non-blocking TCP; clocks are CLOCK_MONOTONIC and
// CLOCK_REALTIME; buggify() is always false.
//
//   keel::posix::PosixRuntime rt({.node_id = keel::NodeId{1}, .data_root = "/var/lib/keel"});
//   rt.stop_on_signals();              // SIGINT / SIGTERM end run()
//   rt.spawn("server", [&] { ... });
//   rt.run();                          // until stop(); then every task still alive is cancelled
//
// Handles from disk() and net() (File, Connection, Listener) must be destroyed before the runtime;
// a task's own handles are, because the runtime cancels its tasks first. The destructor asserts it.
#include "broker/platform/runtime.h"

#include <cstdint>
#include <cstdio>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>

namespace keel::posix {

class EventLoop;
class SyncWorker;
class PosixDisk;
class PosixNetwork;
class JsonLineTraceSink;

struct PosixOptions {
  NodeId node_id{0};
  std::string data_root = ".";              // every Disk path is relative to this directory
  Severity log_level = Severity::info;      // trace events below this are not built
  std::FILE* trace_file = nullptr;          // where trace lines go; nullptr means stderr
  std::ostream* trace_stream = nullptr;     // when set, trace lines go here instead
  std::optional<std::uint64_t> seed;        // random(): seeded from getrandom() unless given
  Executor::Options executor{};
};

// Why run_until_idle() returned.
enum class RunExit {
  stopped,     // stop() or request_stop(); every task that was alive has been cancelled
  finished,    // no task is alive
  blocked,     // tasks are alive, but no timer, I/O or ready task is left that could wake them
  time_limit,  // the limit passed first; the tasks are still alive
};
std::string_view run_exit_name(RunExit e);

class PosixRuntime final : public Runtime {
 public:
  using Options = PosixOptions;

  explicit PosixRuntime(Options options = {});
  ~PosixRuntime() override;  // cancels every task, then closes what the runtime owns
  PosixRuntime(const PosixRuntime&) = delete;
  PosixRuntime& operator=(const PosixRuntime&) = delete;

  // ---- running ----
  // Runs tasks until stop() or request_stop(); then cancels every task still alive (their stacks
  // unwind, their destructors run) and returns. Call from the thread that created the runtime,
  // outside any task. The runtime can run again afterwards.
  void run();
  // Like run(), but a stop request (a signal) returns with every task still alive, so the caller
  // can run a graceful shutdown (a broker's controlled shutdown needs its heartbeats and its
  // quorum member running) with run_until_idle() before the tasks go.
  void run_until_stop_requested();
  // For tests and tools: runs until no task is alive, until the live tasks are blocked on
  // something nothing pending can deliver, until stop(), or until `limit` has passed.
  RunExit run_until_idle(Duration limit = Duration::max());
  // Asks run() to return at the loop's next turn. From a task or the loop thread.
  void stop() { request_stop(); }
  // Async-signal-safe and callable from any thread (an eventfd wakes the loop).
  void request_stop() noexcept;
  // Installs SIGINT and SIGTERM handlers that call request_stop() on this runtime (one runtime
  // per process may do this); the destructor puts the previous handlers back.
  void stop_on_signals();

  std::uint64_t seed() const { return seed_; }
  const Options& options() const { return options_; }
  std::uint64_t syncs_completed() const;  // fdatasync/fsync calls finished on the helper thread
  std::size_t open_handles() const;       // files and sockets currently open
  std::size_t pending_timers() const;     // timers in the heap, stale ones included

  // ---- Runtime ----
  NodeId node_id() const override { return options_.node_id; }
  Instant now() const override;
  WallTime wall_now() const override;
  Random& random() override { return random_; }
  Disk& disk() override;
  Network& net() override;
  Executor& executor() override { return executor_; }
  TraceSink& trace_sink() override;
  bool buggify(std::string_view) override { return false; }

  // ---- TaskDriver ----
  void task_ready(TaskRef ref) override;
  void wake_at(Instant at, WaitToken token) override;

 private:
  RunExit run_loop(bool until_idle, Instant limit, bool cancel_on_stop = true);
  void cancel_everything();
  void restore_signals();

  Options options_;
  std::uint64_t seed_;
  Random random_;
  std::unique_ptr<EventLoop> loop_;
  std::unique_ptr<SyncWorker> sync_;
  std::unique_ptr<JsonLineTraceSink> trace_;
  std::unique_ptr<PosixDisk> disk_;
  std::unique_ptr<PosixNetwork> net_;
  bool signals_installed_ = false;
  Executor executor_;  // last: destroyed first, while everything its tasks use still exists
};

}  // namespace keel::posix
