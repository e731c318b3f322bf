#include "broker/platform/posix/loop.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

namespace keel::posix {

namespace {
UniqueFd make_eventfd() {
  const int fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  KEEL_ASSERT_MSG(fd >= 0, "eventfd: {}", std::strerror(errno));
  return UniqueFd(fd);
}

UniqueFd make_epoll() {
  const int fd = ::epoll_create1(EPOLL_CLOEXEC);
  KEEL_ASSERT_MSG(fd >= 0, "epoll_create1: {}", std::strerror(errno));
  return UniqueFd(fd);
}

// epoll_pwait2 takes a nanosecond timeout but needs Linux 5.11; older kernels fall back to
// epoll_wait, whose millisecond timeout is rounded up so a timer never fires early.
std::atomic<bool> pwait2_missing{false};

int wait_for_events(int epfd, epoll_event* events, int max, Duration timeout, bool infinite) {
  if (!pwait2_missing) {
    timespec ts{};
    ts.tv_sec = static_cast<time_t>(timeout.count() / 1'000'000'000);
    ts.tv_nsec = static_cast<long>(timeout.count() % 1'000'000'000);
    const int n = ::epoll_pwait2(epfd, events, max, infinite ? nullptr : &ts, nullptr);
    if (n >= 0 || errno != ENOSYS) return n;
    pwait2_missing = true;
  }
  int ms = -1;
  if (!infinite) {
    const auto ceil_ms = std::chrono::ceil<std::chrono::milliseconds>(timeout).count();
    ms = static_cast<int>(std::min<std::int64_t>(ceil_ms, 24 * 3600 * 1000));
  }
  return ::epoll_wait(epfd, events, max, ms);
}
}  // namespace

void EventLoop::StopWatcher::on_ready(std::uint32_t) {
  std::uint64_t count = 0;
  // The eventfd only needs draining; the flag it accompanies carries the meaning.
  [[maybe_unused]] const ssize_t n = ::read(fd_, &count, sizeof(count));
}

EventLoop::EventLoop() : epoll_fd_(make_epoll()), stop_fd_(make_eventfd()), stop_watcher_(stop_fd_.get()) {
  const Status st = watch(stop_fd_.get(), EPOLLIN, &stop_watcher_);
  KEEL_ASSERT_MSG(st.ok(), "registering the stop eventfd: {}", st.error().message);
}

EventLoop::~EventLoop() {
  KEEL_ASSERT_MSG(handles_open_ == 0, "{} file or socket handles outlived their PosixRuntime", handles_open_);
}

void EventLoop::add_timer(Instant at, WaitToken token) {
  timers_.push_back(Timer{at, timer_seq_++, token});
  std::push_heap(timers_.begin(), timers_.end(), Later{});
  if (timers_.size() >= timers_compact_at_) compact_timers();
}

// Timers are never cancelled, so long deadlines that were met early would pile up; drop the
// ones whose wait has ended (the executor knows which waits are still pending).
void EventLoop::compact_timers() {
  std::erase_if(timers_, [](const Timer& t) { return !t.token.executor->wake_pending(t.token.slot, t.token.wait_id); });
  std::make_heap(timers_.begin(), timers_.end(), Later{});
  timers_compact_at_ = std::max(timers_compact_min, timers_.size() * 2);
}

Status EventLoop::watch(int fd, std::uint32_t events, Watcher* watcher) {
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = watcher;
  if (::epoll_ctl(epoll_fd_.get(), EPOLL_CTL_ADD, fd, &ev) != 0) return sys_error(errno, "epoll_ctl add fd", std::to_string(fd));
  return {};
}

void EventLoop::unwatch(int fd) {
  // Failure means the descriptor was never registered (a socket that failed half way through
  // being set up); there is nothing to undo then.
  [[maybe_unused]] const int rc = ::epoll_ctl(epoll_fd_.get(), EPOLL_CTL_DEL, fd, nullptr);
}

void EventLoop::io_end() {
  KEEL_ASSERT_MSG(io_pending_ > 0, "io_end without io_begin");
  --io_pending_;
}

void EventLoop::handle_closed() {
  KEEL_ASSERT_MSG(handles_open_ > 0, "handle closed twice");
  --handles_open_;
}

void EventLoop::request_stop() noexcept {
  stop_requested_.store(true);
  const std::uint64_t one = 1;
  [[maybe_unused]] const ssize_t n = ::write(stop_fd_.get(), &one, sizeof(one));
}

void EventLoop::fire_due_timers(Instant now) {
  while (!timers_.empty() && timers_.front().at <= now) {
    std::pop_heap(timers_.begin(), timers_.end(), Later{});
    const WaitToken token = timers_.back().token;
    timers_.pop_back();
    token.executor->wake(token);  // a stale token (woken already, task gone) does nothing
  }
}

// Runs only the tasks that were ready when the batch began: a task that yields goes to the back
// and runs after the next poll, so a busy task cannot starve I/O and timers.
void EventLoop::run_ready_batch(Executor& executor) {
  for (std::size_t n = ready_.size(); n > 0 && !ready_.empty(); --n) {
    const TaskRef ref = ready_.front();
    ready_.pop_front();
    executor.run(ref);  // false for a task that died after it was queued: nothing to do
  }
}

void EventLoop::poll(Instant now, Instant limit) {
  Instant next = limit;
  if (!timers_.empty()) next = std::min(next, timers_.front().at);
  const bool infinite = ready_.empty() && next == instant_max;
  Duration timeout = Duration::zero();
  if (ready_.empty() && !infinite) timeout = std::max(Duration::zero(), next - now);

  epoll_event events[events_per_poll_max];
  const int n = wait_for_events(epoll_fd_.get(), events, events_per_poll_max, timeout, infinite);
  if (n < 0) {
    KEEL_ASSERT_MSG(errno == EINTR, "epoll_wait: {}", std::strerror(errno));
    return;
  }
  // No task runs while the batch is dispatched, so no watcher can be destroyed under us.
  for (int i = 0; i < n; ++i) static_cast<Watcher*>(events[i].data.ptr)->on_ready(events[i].events);
}

EventLoop::Exit EventLoop::run(Executor& executor, bool until_idle, Instant limit) {
  while (true) {
    if (stop_requested_.exchange(false)) return Exit::stopped;
    const Instant now = monotonic_now();
    fire_due_timers(now);
    run_ready_batch(executor);
    if (until_idle && ready_.empty()) {
      if (executor.live_tasks() == 0) return Exit::finished;
      if (timers_.empty() && io_pending_ == 0) return Exit::blocked;
    }
    if (stop_requested_.exchange(false)) return Exit::stopped;
    if (monotonic_now() >= limit) return Exit::time_limit;
    poll(monotonic_now(), limit);
  }
}

void EventLoop::clear() {
  ready_.clear();
  timers_.clear();
  timers_compact_at_ = timers_compact_min;
}

}  // namespace keel::posix
