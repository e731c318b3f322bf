#pragma once
// Kafka's timer for delayed operations (SystemTimer over a hierarchical TimingWheel), on the
// runtime's clock. Adding or cancelling a task costs O(1) whatever its delay; only buckets, not
// tasks, are ordered by time.
//
// A wheel has `wheel_size` buckets of `tick` each and spans tick * wheel_size. A task due beyond
// that span goes to an overflow wheel whose tick is the whole span of the wheel below, created on
// demand (1 ms x 20: 20 ms, 400 ms, 8 s, 160 s, 53 min, 17.8 h, ...). A bucket holds the tasks due in
// its tick and is queued by its expiration. When a bucket comes due, the wheels' clocks move to its
// expiration and its tasks are added again: those still in the future fall into a finer wheel, the
// rest run. A task's expiration is rounded up to the tick, so it runs at its time or up to one tick
// later, never earlier (later still when the reaper itself runs late: BUGGIFY timer_reaper_late).
//
// A reaper task sleeps until the earliest bucket is due, or until a task due earlier than that is
// added, and then runs what is due, in order of expiration and then of adding. Tasks run inside the
// reaper: run() must not wait (it may add or cancel tasks). Everything is single-threaded and
// ordered by (time, sequence), never by addresses, so a simulation replays exactly.
#include <cstdint>
#include <list>
#include <memory>

#include "broker/platform/runtime.h"

namespace keel::purgatory {

namespace detail {
struct TimerCore;
class TimingWheel;
}  // namespace detail

class TimerTask : public std::enable_shared_from_this<TimerTask> {
 public:
  explicit TimerTask(Duration delay) : delay_(delay) {}
  virtual ~TimerTask();
  TimerTask(const TimerTask&) = delete;
  TimerTask& operator=(const TimerTask&) = delete;

  virtual void run() = 0;

  // Takes the task out of its timer for good: it will not run. Safe at any time, more than once,
  // also before it is added (it then never runs). The timer lets go of its reference last thing, so
  // the caller keeps the task alive through the call by holding its own reference.
  void cancel();
  bool cancelled() const { return cancelled_; }
  // In a timer, waiting for its time (or due and about to run).
  bool scheduled() const { return core_ != nullptr; }
  Duration delay() const { return delay_; }

 private:
  friend struct detail::TimerCore;
  friend class detail::TimingWheel;

  Duration delay_;
  bool cancelled_ = false;
  // While scheduled: its timer and, unless it is due already, its bucket and place in it.
  detail::TimerCore* core_ = nullptr;
  std::list<std::shared_ptr<TimerTask>>* bucket_ = nullptr;
  std::list<std::shared_ptr<TimerTask>>::iterator position_;
  std::int64_t expiration_ns_ = 0;  // since the timer's origin, a whole number of ticks
};

class SystemTimer {
 public:
  explicit SystemTimer(Runtime& rt, Duration tick = std::chrono::milliseconds(1), int wheel_size = 20);
  ~SystemTimer();  // shutdown()
  SystemTimer(const SystemTimer&) = delete;
  SystemTimer& operator=(const SystemTimer&) = delete;

  // Runs `task` once its delay (from now) has passed, to the tick, unless it is cancelled first.
  // A task is added once; adding a cancelled task, or any task after shutdown(), does nothing.
  void add(std::shared_ptr<TimerTask> task);
  // Tasks added and not yet run or cancelled.
  std::size_t size() const;
  // Stops the reaper; the tasks not yet run never run (they are released, not cancelled).
  void shutdown();

  Duration tick() const;
  // How many wheels exist now: 1, plus the overflow wheels that far deadlines have created.
  int wheel_levels() const;

 private:
  std::shared_ptr<detail::TimerCore> core_;  // shared with the reaper task, which may outlive this
};

}  // namespace keel::purgatory
