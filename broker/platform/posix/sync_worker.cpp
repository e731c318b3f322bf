#include "broker/platform/posix/sync_worker.h"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

namespace keel::posix {

namespace {
UniqueFd make_done_fd() {
  const int fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  KEEL_ASSERT_MSG(fd >= 0, "eventfd: {}", std::strerror(errno));
  return UniqueFd(fd);
}

int run_sync(int fd, SyncWorker::Kind kind) {
  while (true) {
    const int rc = kind == SyncWorker::Kind::data ? ::fdatasync(fd) : ::fsync(fd);
    if (rc == 0) return 0;
    if (errno != EINTR) return errno;
  }
}
}  // namespace

SyncWorker::SyncWorker(EventLoop& loop) : loop_(loop), done_fd_(make_done_fd()) {
  const Status st = loop_.watch(done_fd_.get(), EPOLLIN, this);
  KEEL_ASSERT_MSG(st.ok(), "registering the sync eventfd: {}", st.error().message);
  thread_ = std::thread([this] { thread_main(); });
}

SyncWorker::~SyncWorker() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_worker_.notify_one();
  thread_.join();
  loop_.unwatch(done_fd_.get());
  // Ops left in done_ belong to tasks that are gone; their in-flight count goes with them.
  for (std::size_t i = 0; i < done_.size(); ++i) loop_.io_end();
}

int SyncWorker::sync(std::shared_ptr<UniqueFd> fd, Kind kind) {
  Executor* ex = Executor::current();
  KEEL_ASSERT_MSG(ex != nullptr, "sync outside a task");
  auto op = std::make_shared<Op>();
  op->fd = std::move(fd);
  op->kind = kind;
  op->token = ex->prepare_wait();
  {
    std::lock_guard lock(mutex_);
    KEEL_ASSERT_LT(queue_.size(), queue_max);
    queue_.push_back(op);
  }
  wake_worker_.notify_one();
  loop_.io_begin();
  ex->park();
  // Only this op's completion holds the token, so waking means the sync finished.
  KEEL_ASSERT(op->done);
  return op->err;
}

void SyncWorker::thread_main() {
  // Signals (SIGINT, SIGTERM) belong to the loop thread; none should interrupt a sync here.
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, nullptr);
  std::unique_lock lock(mutex_);
  while (true) {
    wake_worker_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, and every queued sync has run
    std::shared_ptr<Op> op = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    op->err = run_sync(op->fd->get(), op->kind);
    lock.lock();
    done_.push_back(std::move(op));
    const std::uint64_t one = 1;
    [[maybe_unused]] const ssize_t n = ::write(done_fd_.get(), &one, sizeof(one));
  }
}

void SyncWorker::on_ready(std::uint32_t) {
  std::uint64_t count = 0;
  [[maybe_unused]] const ssize_t n = ::read(done_fd_.get(), &count, sizeof(count));
  std::deque<std::shared_ptr<Op>> finished;
  {
    std::lock_guard lock(mutex_);
    finished.swap(done_);
  }
  for (const auto& op : finished) {
    op->done = true;
    ++syncs_completed_;
    loop_.io_end();
    op->token.executor->wake(op->token);  // stale if the task was cancelled meanwhile
  }
}

}  // namespace keel::posix
