#include "broker/purgatory/timing_wheel.h"

#include <deque>
#include <limits>
#include <queue>
#include <vector>

#include "broker/base/assert.h"
#include "broker/platform/sync.h"

namespace keel::purgatory {

namespace detail {

namespace {

using TaskList = std::list<std::shared_ptr<TimerTask>>;

// Times are nanoseconds since the timer's origin; `never` stands for "no deadline".
constexpr std::int64_t never = std::numeric_limits<std::int64_t>::max();

std::int64_t add_saturating(std::int64_t a, std::int64_t b) {
  KEEL_ASSERT(a >= 0 && b >= 0);
  return a > never - b ? never : a + b;
}

}  // namespace

// The tasks of one slot of one wheel: all due in the same tick of that wheel.
struct Bucket {
  std::int64_t expiration = -1;  // -1 while not queued
  TaskList tasks;
};

// Queued buckets, earliest expiration first, ties in the order they were queued.
class DelayQueue {
 public:
  void offer(Bucket* bucket) { heap_.push(Entry{bucket->expiration, next_sequence_++, bucket}); }

  // The earliest bucket due at or before `now`, or nullptr.
  Bucket* poll(std::int64_t now) {
    drop_stale();
    if (heap_.empty() || heap_.top().expiration > now) return nullptr;
    Bucket* bucket = heap_.top().bucket;
    heap_.pop();
    return bucket;
  }
  std::int64_t next_expiration() {
    drop_stale();
    return heap_.empty() ? never : heap_.top().expiration;
  }
  void clear() { heap_ = {}; }

 private:
  struct Entry {
    std::int64_t expiration;
    std::uint64_t sequence;
    Bucket* bucket;
  };
  struct Later {
    bool operator()(const Entry& a, const Entry& b) const {
      return a.expiration != b.expiration ? a.expiration > b.expiration : a.sequence > b.sequence;
    }
  };
  // An entry whose bucket was flushed (or requeued) since is stale. The wheel never requeues a
  // bucket it has not flushed, so this is a safety net, not a path taken.
  void drop_stale() {
    while (!heap_.empty() && heap_.top().bucket->expiration != heap_.top().expiration) heap_.pop();
  }

  std::priority_queue<Entry, std::vector<Entry>, Later> heap_;
  std::uint64_t next_sequence_ = 0;
};

class TimingWheel {
 public:
  TimingWheel(std::int64_t tick, int wheel_size, std::int64_t start, DelayQueue& queue)
      : tick_(tick),
        wheel_size_(wheel_size),
        interval_(tick > never / wheel_size ? never : tick * wheel_size),
        current_(start - start % tick),
        queue_(queue),
        buckets_(static_cast<std::size_t>(wheel_size)) {}

  // Files a task (its expiration set) into the bucket of its tick, here or in an overflow wheel.
  // False when it is due already: the caller runs it.
  bool add(const std::shared_ptr<TimerTask>& task) {
    const std::int64_t expiration = task->expiration_ns_;
    if (expiration < add_saturating(current_, tick_)) return false;
    // Within the span, every slot holds one tick only. The widest wheel (its span past the end
    // of time) takes everything.
    if (interval_ == never || expiration < add_saturating(current_, interval_)) {
      file(task, expiration / tick_);
      return true;
    }
    if (!overflow_) overflow_ = std::make_unique<TimingWheel>(interval_, wheel_size_, current_, queue_);
    return overflow_->add(task);
  }

  void advance_clock(std::int64_t time) {
    if (time < add_saturating(current_, tick_)) return;
    current_ = time - time % tick_;
    if (overflow_) overflow_->advance_clock(current_);
  }

  int levels() const { return 1 + (overflow_ ? overflow_->levels() : 0); }

  template <class F>
  void for_each_bucket(F&& f) {
    for (auto& b : buckets_) f(b);
    if (overflow_) overflow_->for_each_bucket(f);
  }

 private:
  void file(const std::shared_ptr<TimerTask>& task, std::int64_t virtual_id) {
    Bucket& bucket = buckets_[static_cast<std::size_t>(virtual_id % wheel_size_)];
    bucket.tasks.push_back(task);
    task->bucket_ = &bucket.tasks;
    task->position_ = std::prev(bucket.tasks.end());
    const std::int64_t expiration = virtual_id * tick_;
    if (bucket.expiration != expiration) {
      KEEL_ASSERT_MSG(bucket.expiration == -1, "bucket due at {} reused for {} before it was flushed",
                      bucket.expiration, expiration);
      bucket.expiration = expiration;
      queue_.offer(&bucket);
    }
  }

  std::int64_t tick_;
  int wheel_size_;
  std::int64_t interval_;  // tick * wheel_size, or `never` past the end of time
  std::int64_t current_;   // a whole number of ticks
  DelayQueue& queue_;
  std::vector<Bucket> buckets_;
  std::unique_ptr<TimingWheel> overflow_;
};

// What the SystemTimer and its reaper task share. The reaper holds it too, so a reaper woken
// after the SystemTimer is gone finds it stopped rather than freed.
struct TimerCore {
  TimerCore(Runtime& runtime, Duration tick, int wheel_size)
      : rt(runtime), origin(runtime.now()), tick_ns(to_ns(tick)), wheel(tick_ns, wheel_size, 0, queue) {}

  std::int64_t now_ns() const {
    const std::int64_t t = to_ns(rt.now() - origin);
    KEEL_ASSERT_MSG(t >= 0, "the monotonic clock went back {} ns", -t);
    return t;
  }

  Instant instant_at(std::int64_t ns) const {
    if (ns == never || ns > to_ns(instant_max) - to_ns(origin)) return instant_max;
    return origin + Duration(ns);
  }

  // Now plus the delay, rounded up to the tick: a task never runs before its delay has passed.
  std::int64_t expiration_after(Duration delay) const {
    const std::int64_t raw = add_saturating(now_ns(), std::max<std::int64_t>(0, to_ns(delay)));
    const std::int64_t rest = raw % tick_ns;
    if (rest == 0) return raw;
    return raw - rest > never - tick_ns ? raw - rest : raw - rest + tick_ns;
  }

  void add(std::shared_ptr<TimerTask> task) {
    KEEL_ASSERT(task != nullptr);
    KEEL_ASSERT_MSG(task->core_ == nullptr, "a timer task is added while it is still scheduled");
    if (task->cancelled_ || stopped) return;
    task->core_ = this;
    task->expiration_ns_ = expiration_after(task->delay_);
    ++size;
    file(task);
    // The reaper sleeps until the earliest bucket: wake it for anything due sooner.
    if (sleeping && (!due.empty() || task->expiration_ns_ < sleeping_until)) wakeup.notify_one();
  }

  void file(const std::shared_ptr<TimerTask>& task) {
    if (!wheel.add(task)) {
      task->bucket_ = nullptr;
      due.push_back(task);
    }
  }

  // Cancel: out of its bucket (or skipped when due). Drops this timer's reference last.
  void remove(TimerTask& task) {
    std::shared_ptr<TimerTask> last;
    if (task.bucket_ != nullptr) {
      last = std::move(*task.position_);
      task.bucket_->erase(task.position_);
      task.bucket_ = nullptr;
    }
    task.core_ = nullptr;
    KEEL_ASSERT(size > 0);
    --size;
  }

  // Flushes every bucket due by `now`: the wheels' clocks move to each bucket's expiration in turn
  // and its tasks are filed again, into finer wheels or the due list. True if any bucket was due.
  bool advance(std::int64_t now) {
    bool any = false;
    while (Bucket* bucket = queue.poll(now)) {
      any = true;
      wheel.advance_clock(bucket->expiration);
      TaskList tasks;
      tasks.swap(bucket->tasks);
      bucket->expiration = -1;
      for (auto& task : tasks) {
        task->bucket_ = nullptr;
        file(task);
      }
    }
    return any;
  }

  void run_due() {
    while (!due.empty() && !stopped) {
      std::shared_ptr<TimerTask> task = std::move(due.front());
      due.pop_front();
      if (task->core_ != this) continue;  // cancelled while due
      task->core_ = nullptr;
      --size;
      task->run();
    }
  }

  // Releases every task without running it.
  void stop() {
    stopped = true;
    wheel.for_each_bucket([](Bucket& bucket) {
      for (auto& task : bucket.tasks) {
        task->core_ = nullptr;
        task->bucket_ = nullptr;
      }
      bucket.expiration = -1;
      TaskList released;
      released.swap(bucket.tasks);
    });
    for (auto& task : due) task->core_ = nullptr;
    std::deque<std::shared_ptr<TimerTask>> released;
    released.swap(due);
    queue.clear();
    size = 0;
    wakeup.notify_all();
  }

  Runtime& rt;
  const Instant origin;
  const std::int64_t tick_ns;
  DelayQueue queue;
  TimingWheel wheel;
  std::deque<std::shared_ptr<TimerTask>> due;  // to run now, in order
  std::size_t size = 0;
  WaitQueue wakeup;
  bool sleeping = false;           // the reaper waits on `wakeup`...
  std::int64_t sleeping_until = never;  // ...until this time
  bool stopped = false;
};

namespace {

// The most a BUGGIFY'd reaper oversleeps.
constexpr std::int64_t reaper_late_ms_max = 100;

void reap(const std::shared_ptr<TimerCore>& core) {
  while (!core->stopped) {
    core->run_due();
    if (core->stopped) return;
    if (core->advance(core->now_ns()) || !core->due.empty()) continue;
    const std::int64_t next = core->queue.next_expiration();
    core->sleeping = true;
    core->sleeping_until = next;
    (void)core->wakeup.wait(core->instant_at(next));
    core->sleeping = false;
    // BUGGIFY timer_reaper_late: the reaper runs late, as a reaper thread does when it is
    // descheduled, the machine is overloaded or a GC pause hits. Expirations come late (never
    // early); whoever waits on one must not count on punctuality.
    // Only shutdown() cuts the lateness short (add() does not wake a reaper that is not sleeping).
    if (KEEL_BUGGIFY(core->rt, "timer_reaper_late") && !core->stopped) {
      const auto late = std::chrono::milliseconds(core->rt.random().between(1, reaper_late_ms_max));
      (void)core->wakeup.wait(core->rt.now() + late);
    }
  }
}

}  // namespace

}  // namespace detail

TimerTask::~TimerTask() = default;

void TimerTask::cancel() {
  cancelled_ = true;
  if (core_ != nullptr) core_->remove(*this);  // may drop the last reference to this: nothing after it
}

SystemTimer::SystemTimer(Runtime& rt, Duration tick, int wheel_size) {
  KEEL_ASSERT_MSG(tick > Duration::zero(), "timer tick must be positive");
  KEEL_ASSERT_MSG(wheel_size >= 2, "timer wheel size {} must be at least 2", wheel_size);
  core_ = std::make_shared<detail::TimerCore>(rt, tick, wheel_size);
  rt.spawn("timer-reaper", [core = core_] { detail::reap(core); });
}

SystemTimer::~SystemTimer() { shutdown(); }

void SystemTimer::add(std::shared_ptr<TimerTask> task) { core_->add(std::move(task)); }

std::size_t SystemTimer::size() const { return core_->size; }

void SystemTimer::shutdown() {
  if (!core_->stopped) core_->stop();
}

Duration SystemTimer::tick() const { return Duration(core_->tick_ns); }

int SystemTimer::wheel_levels() const { return core_->wheel.levels(); }

}  // namespace keel::purgatory
