#pragma once
// Tasks: stackful coroutines (Boost.Coroutine2) run by a per-node Executor. Broker code is ordinary
// sequential C++; a call that waits suspends the calling task, and the runtime (simulated or posix)
// resumes it later. The executor knows nothing of time or I/O: it asks its TaskDriver to run ready
// tasks, and the driver decides when (the simulator puts them in its one event queue).
//
// Cancellation: destroying a suspended coroutine unwinds its stack (Boost throws forced_unwind
// inside it), so a killed node's tasks run their destructors and release what they own. Task code
// must therefore never swallow exceptions with `catch (...)` without rethrowing.
#include "broker/base/time.h"

#include <boost/coroutine2/coroutine.hpp>
#include <boost/coroutine2/pooled_fixedsize_stack.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace keel {

class Executor;

// Identifies one task for its whole life; never reused by a later task in the same executor.
struct TaskRef {
  std::uint32_t slot = 0;
  std::uint64_t id = 0;  // 0: no task
  bool valid() const { return id != 0; }
};

// Identifies one suspension of one task. Waking with a stale token (the task was woken already,
// moved on to another wait, or died) does nothing: timers never need cancelling.
struct WaitToken {
  Executor* executor = nullptr;
  std::uint32_t slot = 0;
  std::uint64_t wait_id = 0;
};

// What an executor needs from the runtime that drives it.
class TaskDriver {
 public:
  virtual ~TaskDriver() = default;
  // The task became ready; call Executor::run(ref) later, outside any task of this executor.
  virtual void task_ready(TaskRef ref) = 0;
  // A task was spawned and is ready for its first run. By default the same as task_ready; the
  // simulator may start it later (the BUGGIFY site task_start_late), as a loaded machine does.
  virtual void task_spawned(TaskRef ref) { task_ready(ref); }
  // Wake `token` at monotonic time `at` (the current time or later).
  virtual void wake_at(Instant at, WaitToken token) = 0;
  virtual Instant driver_now() const = 0;
};

class Executor {
 public:
  struct Options {
    std::size_t stack_bytes = 256 * 1024;  // per task; broker code keeps big buffers on the heap
    std::size_t tasks_max = 1u << 16;      // a limit on everything: a runaway spawn loop stops here
  };

  Executor(TaskDriver& driver, Options options);
  explicit Executor(TaskDriver& driver) : Executor(driver, Options{}) {}
  ~Executor();  // cancels every task still alive
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  // Creates a task that starts when the driver runs it. Returns an invalid ref while stopping.
  TaskRef spawn(std::string name, std::function<void()> fn);

  // Driver side: resumes the task if it is still alive and ready; returns false otherwise.
  bool run(TaskRef ref);

  // Wakes a suspended task. Returns false for a stale token.
  bool wake(const WaitToken& token);

  // Destroys one task (not the current one), unwinding its stack.
  void cancel(TaskRef ref);
  // Destroys every task, newest slot first (deterministic). New spawns are refused meanwhile.
  void cancel_all();

  bool alive(TaskRef ref) const {
    return ref.slot < states_.size() && states_[ref.slot].task_id == ref.id && ref.id != 0 &&
           states_[ref.slot].state != State::dying;
  }
  // Whether waking `token` would still do something (its task waits on exactly that wait).
  bool wake_pending(std::uint32_t slot, std::uint64_t wait_id) const {
    return slot < states_.size() && wait_id != 0 && states_[slot].wait_id == wait_id;
  }
  std::size_t live_tasks() const { return live_; }
  std::uint64_t switches() const { return switches_; }
  TaskDriver& driver() { return driver_; }
  const std::string& task_name(TaskRef ref) const;

  // ---- called from inside a task ----
  static Executor* current();          // the executor running the calling task, or nullptr
  static TaskRef current_task();
  WaitToken prepare_wait();            // a new token for the calling task's next park()
  void park();                         // suspends until the prepared token is woken
  void yield();                        // lets every other ready task run first

 private:
  struct Task;
  using Coro = boost::coroutines2::coroutine<void>;
  enum class State : std::uint8_t { free, ready, running, waiting, dying };
  // What the scheduler checks on every wake-up and run, kept apart from the task's coroutine,
  // name and function: one dense array the size of the slots, so that deciding whether a wake-up
  // is stale touches no task object.
  struct SlotState {
    std::uint64_t task_id = 0;  // 0: the slot is free
    std::uint64_t wait_id = 0;  // the prepared wait; 0 when none is outstanding
    State state = State::free;
    bool woken_early = false;   // woken between prepare_wait() and park()
  };

  Task* lookup(std::uint32_t slot, std::uint64_t id) const;
  void destroy(std::uint32_t slot);

  TaskDriver& driver_;
  Options options_;
  boost::coroutines2::pooled_fixedsize_stack stacks_;
  std::vector<std::unique_ptr<Task>> slots_;
  std::vector<SlotState> states_;  // index: slot
  std::vector<std::uint32_t> free_slots_;
  std::size_t live_ = 0;
  std::uint64_t next_id_ = 1;
  std::uint64_t switches_ = 0;
  bool stopping_ = false;
  Task* running_ = nullptr;
  std::uint32_t running_slot_ = 0;  // the slot of running_, while it is set
};

}  // namespace keel
