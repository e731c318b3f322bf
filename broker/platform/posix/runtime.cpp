#include "broker/platform/posix/runtime.h"

#include "broker/platform/posix/disk.h"
#include "broker/platform/posix/loop.h"
#include "broker/platform/posix/net.h"
#include "broker/platform/posix/sync_worker.h"
#include "broker/platform/posix/trace.h"

#include <atomic>
#include <csignal>

namespace keel::posix {

namespace {
// The runtime that SIGINT/SIGTERM stop. A signal handler can reach nothing else.
std::atomic<PosixRuntime*> signal_target{nullptr};
struct sigaction previous_sigint {};
struct sigaction previous_sigterm {};

extern "C" void on_stop_signal(int) {
  if (PosixRuntime* rt = signal_target.load()) rt->request_stop();
}
}  // namespace

std::string_view run_exit_name(RunExit e) {
  switch (e) {
    case RunExit::stopped: return "stopped";
    case RunExit::finished: return "finished";
    case RunExit::blocked: return "blocked";
    case RunExit::time_limit: return "time_limit";
  }
  return "unknown";
}

PosixRuntime::PosixRuntime(Options options)
    : options_(std::move(options)),
      seed_(options_.seed ? *options_.seed : os_random_seed()),
      random_(seed_),
      loop_(std::make_unique<EventLoop>()),
      sync_(std::make_unique<SyncWorker>(*loop_)),
      trace_(std::make_unique<JsonLineTraceSink>(options_.node_id.value, options_.log_level, options_.trace_file,
                                                 options_.trace_stream)),
      disk_(std::make_unique<PosixDisk>(options_.data_root, *sync_)),
      net_(std::make_unique<PosixNetwork>(*loop_)),
      executor_(*this, options_.executor) {}

PosixRuntime::~PosixRuntime() {
  cancel_everything();
  restore_signals();
  KEEL_ASSERT_MSG(loop_->handles_open() == 0,
                  "{} files or sockets are still open as their PosixRuntime is destroyed; destroy them first",
                  loop_->handles_open());
}

Instant PosixRuntime::now() const { return monotonic_now(); }
WallTime PosixRuntime::wall_now() const { return realtime_now(); }
Disk& PosixRuntime::disk() { return *disk_; }
Network& PosixRuntime::net() { return *net_; }
TraceSink& PosixRuntime::trace_sink() { return *trace_; }
std::uint64_t PosixRuntime::syncs_completed() const { return sync_->syncs_completed(); }
std::size_t PosixRuntime::open_handles() const { return loop_->handles_open(); }
std::size_t PosixRuntime::pending_timers() const { return loop_->timers_size(); }

void PosixRuntime::task_ready(TaskRef ref) { loop_->push_ready(ref); }
void PosixRuntime::wake_at(Instant at, WaitToken token) { loop_->add_timer(at, token); }

void PosixRuntime::request_stop() noexcept { loop_->request_stop(); }

void PosixRuntime::run() { run_loop(false, instant_max); }

void PosixRuntime::run_until_stop_requested() { run_loop(false, instant_max, false); }

RunExit PosixRuntime::run_until_idle(Duration limit) { return run_loop(true, saturating_add(now(), limit)); }

RunExit PosixRuntime::run_loop(bool until_idle, Instant limit, bool cancel_on_stop) {
  KEEL_ASSERT_MSG(Executor::current() == nullptr, "PosixRuntime::run called from inside a task");
  switch (loop_->run(executor_, until_idle, limit)) {
    case EventLoop::Exit::stopped:
      if (cancel_on_stop) cancel_everything();
      return RunExit::stopped;
    case EventLoop::Exit::finished: return RunExit::finished;
    case EventLoop::Exit::blocked: return RunExit::blocked;
    case EventLoop::Exit::time_limit: return RunExit::time_limit;
  }
  KEEL_UNREACHABLE();
}

// Tasks go first: their stacks unwind and close the files and sockets they hold while the loop
// and the helper thread still exist. What they queued on the way out refers to dead tasks.
void PosixRuntime::cancel_everything() {
  executor_.cancel_all();
  loop_->clear();
}

void PosixRuntime::stop_on_signals() {
  PosixRuntime* expected = nullptr;
  const bool mine = signal_target.compare_exchange_strong(expected, this);
  KEEL_ASSERT_MSG(mine || expected == this, "another PosixRuntime already handles SIGINT/SIGTERM");
  if (signals_installed_) return;
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  ::sigaction(SIGINT, &sa, &previous_sigint);
  ::sigaction(SIGTERM, &sa, &previous_sigterm);
  signals_installed_ = true;
}

void PosixRuntime::restore_signals() {
  if (!signals_installed_) return;
  ::sigaction(SIGINT, &previous_sigint, nullptr);
  ::sigaction(SIGTERM, &previous_sigterm, nullptr);
  signal_target.store(nullptr);
  signals_installed_ = false;
}

}  // namespace keel::posix
