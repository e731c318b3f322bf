#pragma once
// fdatasync/fsync can take milliseconds to seconds; run on the loop thread they would stall every
// task of the node. The SyncWorker runs them on one helper thread instead: the calling task
// suspends, the helper thread syncs, then signals an eventfd in the epoll set, and the loop wakes
// the task. Other tasks run meanwhile. One thread is enough: syncs of one disk queue up in the
// device anyway, and callers batch their syncs.
#include "broker/platform/posix/loop.h"

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>

namespace keel::posix {

class SyncWorker final : private Watcher {
 public:
  enum class Kind { data, full };  // fdatasync (file contents), fsync (a directory's entries)

  static constexpr std::size_t queue_max = 1u << 16;  // at most one sync per task in flight

  explicit SyncWorker(EventLoop& loop);
  ~SyncWorker();  // finishes the syncs still queued, then joins the thread
  SyncWorker(const SyncWorker&) = delete;
  SyncWorker& operator=(const SyncWorker&) = delete;

  // From a task: syncs `fd` on the helper thread while the task is suspended. Returns 0 or the
  // errno value. The descriptor is shared so that it stays open until the sync finishes, even if
  // the task is cancelled and its File closed meanwhile.
  int sync(std::shared_ptr<UniqueFd> fd, Kind kind);

  EventLoop& loop() { return loop_; }
  std::uint64_t syncs_completed() const { return syncs_completed_; }

 private:
  struct Op {
    std::shared_ptr<UniqueFd> fd;
    Kind kind = Kind::data;
    WaitToken token;
    int err = 0;        // written by the helper thread before the op moves to done_
    bool done = false;  // written by the loop thread once it has taken the op from done_
  };

  void on_ready(std::uint32_t events) override;  // loop thread: completions
  void thread_main();

  EventLoop& loop_;
  UniqueFd done_fd_;  // eventfd the helper thread writes after each sync
  std::mutex mutex_;
  std::condition_variable wake_worker_;
  std::deque<std::shared_ptr<Op>> queue_;  // guarded by mutex_
  std::deque<std::shared_ptr<Op>> done_;   // guarded by mutex_
  bool stopping_ = false;                  // guarded by mutex_
  std::uint64_t syncs_completed_ = 0;      // loop thread only
  std::thread thread_;                     // last: starts once everything above exists
};

}  // namespace keel::posix
