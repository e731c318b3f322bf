#include "broker/server/timing_wheel.h"

#include "broker/platform/assert.h"

namespace keel::server {

void BucketQueue::offer(TimerBucket* bucket) { queue_.emplace(std::pair{bucket->expiration_ms, sequence_++}, bucket); }

TimerBucket* BucketQueue::poll(std::int64_t now_ms) {
  while (!queue_.empty()) {
    auto it = queue_.begin();
    if (it->first.first > now_ms) return nullptr;
    TimerBucket* bucket = it->second;
    const std::int64_t queued_for = it->first.first;
    queue_.erase(it);
    // A bucket re-queued for a later round leaves a stale entry behind: skip it.
    if (bucket->expiration_ms == queued_for) return bucket;
  }
  return nullptr;
}

std::optional<std::int64_t> BucketQueue::next_expiration() const {
  if (queue_.empty()) return std::nullopt;
  return queue_.begin()->first.first;
}

TimingWheel::TimingWheel(std::int64_t tick_ms, int wheel_size, std::int64_t start_ms, BucketQueue& queue)
    : tick_ms_(tick_ms),
      wheel_size_(wheel_size),
      interval_ms_(tick_ms * wheel_size),
      current_time_ms_(start_ms - start_ms % tick_ms),
      queue_(queue),
      buckets_(static_cast<std::size_t>(wheel_size)) {
  KEEL_ASSERT(tick_ms > 0 && wheel_size > 0);
}

bool TimingWheel::add(std::int64_t expiration_ms, std::shared_ptr<TimerTask> task) {
  if (task->cancelled()) return false;
  if (expiration_ms < current_time_ms_ + tick_ms_) return false;  // due now
  if (expiration_ms < current_time_ms_ + interval_ms_) {
    const std::int64_t virtual_id = expiration_ms / tick_ms_;
    TimerBucket& bucket = buckets_[static_cast<std::size_t>(virtual_id % wheel_size_)];
    bucket.tasks.emplace_back(expiration_ms, std::move(task));
    // A bucket is queued once per round: when its expiration changes.
    if (bucket.expiration_ms != virtual_id * tick_ms_) {
      bucket.expiration_ms = virtual_id * tick_ms_;
      queue_.offer(&bucket);
    }
    return true;
  }
  if (!overflow_) overflow_ = std::make_unique<TimingWheel>(interval_ms_, wheel_size_, current_time_ms_, queue_);
  return overflow_->add(expiration_ms, std::move(task));
}

void TimingWheel::advance_clock(std::int64_t time_ms) {
  if (time_ms < current_time_ms_ + tick_ms_) return;
  current_time_ms_ = time_ms - time_ms % tick_ms_;
  if (overflow_) overflow_->advance_clock(current_time_ms_);
}

SystemTimer::SystemTimer(Runtime& rt, Duration tick, int wheel_size) : rt_(rt) {
  wheel_ = std::make_unique<TimingWheel>(std::max<std::int64_t>(1, to_ms(tick)), wheel_size, now_ms(), queue_);
  reaper_ = rt_.spawn("timer-reaper", [this] { reap(); });
}

SystemTimer::~SystemTimer() { shutdown(); }

void SystemTimer::shutdown() {
  if (stopped_) return;
  stopped_ = true;
  auto& executor = rt_.executor();
  if (executor.alive(reaper_) && Executor::current_task().id != reaper_.id) executor.cancel(reaper_);
}

std::int64_t SystemTimer::now_ms() const { return to_ms(rt_.now().time_since_epoch()); }

void SystemTimer::add(std::shared_ptr<TimerTask> task) {
  if (stopped_) return;
  const std::int64_t expiration = now_ms() + std::max<std::int64_t>(0, to_ms(task->delay()));
  const auto before = queue_.next_expiration();
  add_entry(expiration, std::move(task));
  const auto after = queue_.next_expiration();
  if (after && (!before || *after < *before)) wake_.set();  // the reaper sleeps until a later time
}

void SystemTimer::add_entry(std::int64_t expiration_ms, std::shared_ptr<TimerTask> task) {
  if (wheel_->add(expiration_ms, task)) {
    ++size_;
    return;
  }
  if (!task->cancelled()) task->run();
}

void SystemTimer::advance() {
  const std::int64_t now = now_ms();
  while (TimerBucket* bucket = queue_.poll(now)) {
    wheel_->advance_clock(bucket->expiration_ms);
    auto tasks = std::move(bucket->tasks);
    bucket->tasks.clear();
    bucket->expiration_ms = -1;
    for (auto& [expiration, task] : tasks) {
      --size_;
      add_entry(expiration, std::move(task));
    }
  }
  wheel_->advance_clock(now);
}

void SystemTimer::reap() {
  while (!stopped_) {
    const auto next = queue_.next_expiration();
    wake_.reset();
    if (next) {
      (void)wake_.wait(Instant{} + std::chrono::milliseconds(*next));
    } else {
      (void)wake_.wait();
    }
    advance();
  }
}

}  // namespace keel::server
