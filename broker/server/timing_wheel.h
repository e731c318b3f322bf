#pragma once
// Kafka's timer for delayed operations (SystemTimer over a hierarchical TimingWheel): adding and
// cancelling a task cost O(1) whatever its delay, and only buckets, not tasks, are ordered by time.
// A wheel has `wheel_size` buckets of `tick` each; a task beyond its span goes to an overflow wheel
// whose tick is the whole span of the wheel below, created on demand. When a bucket comes due, its
// tasks are re-added: those still in the future fall into a finer wheel, the rest run.
//
// The clock is the runtime's (simulated or real): a reaper task sleeps until the earliest bucket is
// due, or until a task with an earlier deadline is added, and then fires what is due.
#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <vector>

#include "broker/platform/runtime.h"
#include "broker/platform/sync.h"

namespace keel::server {

class TimerTask {
 public:
  explicit TimerTask(Duration delay) : delay_(delay) {}
  virtual ~TimerTask() = default;
  virtual void run() = 0;
  // A cancelled task never runs; it leaves its bucket when the bucket is next flushed.
  void cancel() { cancelled_ = true; }
  bool cancelled() const { return cancelled_; }
  Duration delay() const { return delay_; }

 private:
  Duration delay_;
  bool cancelled_ = false;
};

class TimingWheel;

// The tasks of one slot of one wheel, due together at `expiration_ms`.
struct TimerBucket {
  std::int64_t expiration_ms = -1;
  std::list<std::pair<std::int64_t, std::shared_ptr<TimerTask>>> tasks;  // (expiration, task)
};

// Buckets ordered by due time, then by when they were queued: deterministic, no pointer order.
class BucketQueue {
 public:
  void offer(TimerBucket* bucket);
  // The earliest bucket due at or before `now_ms`, or nullptr.
  TimerBucket* poll(std::int64_t now_ms);
  std::optional<std::int64_t> next_expiration() const;

 private:
  std::multimap<std::pair<std::int64_t, std::uint64_t>, TimerBucket*> queue_;
  std::uint64_t sequence_ = 0;
};

class TimingWheel {
 public:
  TimingWheel(std::int64_t tick_ms, int wheel_size, std::int64_t start_ms, BucketQueue& queue);
  // False when the task is due already (or cancelled): the caller runs (or drops) it.
  bool add(std::int64_t expiration_ms, std::shared_ptr<TimerTask> task);
  void advance_clock(std::int64_t time_ms);
  std::int64_t current_time_ms() const { return current_time_ms_; }

 private:
  std::int64_t tick_ms_;
  int wheel_size_;
  std::int64_t interval_ms_;
  std::int64_t current_time_ms_;
  BucketQueue& queue_;
  std::vector<TimerBucket> buckets_;
  std::unique_ptr<TimingWheel> overflow_;
};

class SystemTimer {
 public:
  explicit SystemTimer(Runtime& rt, Duration tick = std::chrono::milliseconds(1), int wheel_size = 20);
  ~SystemTimer();
  SystemTimer(const SystemTimer&) = delete;
  SystemTimer& operator=(const SystemTimer&) = delete;

  // Runs `task` once its delay has passed (to the tick), unless it is cancelled first.
  void add(std::shared_ptr<TimerTask> task);
  std::size_t size() const { return size_; }
  // Stops the reaper; tasks not yet run never run.
  void shutdown();

  // Fires everything due at the runtime's current time (the reaper calls this; tests may too).
  void advance();

 private:
  void add_entry(std::int64_t expiration_ms, std::shared_ptr<TimerTask> task);
  void reap();
  std::int64_t now_ms() const;

  Runtime& rt_;
  BucketQueue queue_;
  std::unique_ptr<TimingWheel> wheel_;
  std::size_t size_ = 0;
  Event wake_;
  TaskRef reaper_;
  bool stopped_ = false;
};

}  // namespace keel::server
