#pragma once
// The event loop of the posix runtime: one per process (one per PosixRuntime), single-threaded.
// It owns the three things that make tasks run:
//   - a FIFO queue of ready tasks (the executor's TaskDriver::task_ready lands here);
//   - a min-heap of timers (TaskDriver::wake_at), ordered by (time, insertion sequence);
//   - an epoll set of descriptors, each with a Watcher told about readiness.
// A turn fires due timers, runs the tasks that were ready when the turn began, then polls epoll
// with a timeout of zero (tasks still ready) or up to the next timer.
#include "broker/platform/posix/sys.h"
#include "broker/platform/task.h"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <vector>

namespace keel::posix {

// Owner of a descriptor registered with the loop. Called on the loop thread, outside any task,
// with the epoll event bits; it must only wake tasks (never run task code or destroy watchers).
class Watcher {
 public:
  virtual void on_ready(std::uint32_t events) = 0;

 protected:
  ~Watcher() = default;
};

class EventLoop {
 public:
  // Why a run of the loop returned.
  enum class Exit {
    stopped,     // request_stop() was called
    finished,    // (until idle) no task is alive
    blocked,     // (until idle) tasks are alive but nothing pending could ever wake them
    time_limit,  // the caller's limit passed first
  };

  static constexpr int events_per_poll_max = 256;
  // Stale timers (their task woke early or died) are dropped when the heap doubles past this.
  static constexpr std::size_t timers_compact_min = 4096;

  EventLoop();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  void push_ready(TaskRef ref) { ready_.push_back(ref); }
  void add_timer(Instant at, WaitToken token);

  Status watch(int fd, std::uint32_t events, Watcher* watcher);
  void unwatch(int fd);

  // Operations whose completion comes from outside the task world (a socket becoming ready, a
  // sync finishing on the helper thread). While any is pending the loop is not idle.
  void io_begin() { ++io_pending_; }
  void io_end();
  std::size_t io_pending() const { return io_pending_; }

  // Handles (files, sockets) that point at this loop; all must be gone before it is destroyed.
  void handle_opened() { ++handles_open_; }
  void handle_closed();
  std::size_t handles_open() const { return handles_open_; }

  // Async-signal-safe and callable from any thread: the loop returns at its next turn.
  void request_stop() noexcept;

  // Runs turns until stopped, or (until_idle) until nothing is left to do, or until `limit`.
  Exit run(Executor& executor, bool until_idle, Instant limit);
  // Drops queued task refs and timers; used once every task has been cancelled.
  void clear();

  std::size_t ready_size() const { return ready_.size(); }
  std::size_t timers_size() const { return timers_.size(); }

 private:
  struct Timer {
    Instant at;
    std::uint64_t seq;
    WaitToken token;
  };
  struct Later {
    bool operator()(const Timer& a, const Timer& b) const { return a.at != b.at ? a.at > b.at : a.seq > b.seq; }
  };
  class StopWatcher final : public Watcher {
   public:
    explicit StopWatcher(int fd) : fd_(fd) {}
    void on_ready(std::uint32_t events) override;

   private:
    int fd_;
  };

  void fire_due_timers(Instant now);
  void run_ready_batch(Executor& executor);
  void poll(Instant now, Instant limit);
  void compact_timers();

  UniqueFd epoll_fd_;
  UniqueFd stop_fd_;  // eventfd: request_stop() writes it so a blocked epoll_wait returns
  StopWatcher stop_watcher_;
  std::atomic<bool> stop_requested_{false};
  std::deque<TaskRef> ready_;
  std::vector<Timer> timers_;  // a heap under Later
  std::size_t timers_compact_at_ = timers_compact_min;
  std::uint64_t timer_seq_ = 0;
  std::size_t io_pending_ = 0;
  std::size_t handles_open_ = 0;
};

// Counts one in-flight wait for the duration of a scope, including when the waiting task is
// cancelled and its stack unwinds.
class IoWait {
 public:
  explicit IoWait(EventLoop& loop) : loop_(loop) { loop_.io_begin(); }
  ~IoWait() { loop_.io_end(); }
  IoWait(const IoWait&) = delete;
  IoWait& operator=(const IoWait&) = delete;

 private:
  EventLoop& loop_;
};

}  // namespace keel::posix
