#pragma once
// Task primitives: a wait queue (the building block), event, mutex, channel and wait group. All
// are single-threaded (one executor's tasks, or the simulator's one thread) and wake in FIFO order, so the
// order in which waiters wake is decided by the program, never by addresses or hash seeds.
//
// A waiter is a node on the waiting task's own stack. If that task is cancelled while it waits,
// the node unlinks itself as the stack unwinds; a notification it received but never consumed is
// passed to the next waiter, so cancellation cannot strand the others.
#include "broker/base/result.h"
#include "broker/platform/task.h"

#include <cstddef>
#include <deque>
#include <optional>

namespace keel {

class WaitQueue {
 public:
  WaitQueue() = default;
  WaitQueue(const WaitQueue&) = delete;
  WaitQueue& operator=(const WaitQueue&) = delete;
  ~WaitQueue();

  // Suspends the calling task until notified or until `deadline`. True when notified.
  bool wait(Instant deadline = instant_max);
  bool wait_for(Duration timeout);
  void notify_one();
  void notify_all();
  bool empty() const { return waiting_.head == nullptr; }
  std::size_t size() const;

 private:
  // A waiter sits in one of two lists: `waiting` until notified, then `woken` until its task
  // resumes and consumes the notification.
  struct Waiter;
  struct List {
    Waiter* head = nullptr;
    Waiter* tail = nullptr;
  };
  struct Waiter {
    WaitQueue* queue = nullptr;  // null once detached (consumed, or the queue died)
    List* list = nullptr;
    Waiter* prev = nullptr;
    Waiter* next = nullptr;
    WaitToken token;
    bool notified = false;
    ~Waiter();
  };
  static void link(List& l, Waiter* w);
  static void unlink(Waiter* w);
  void notify(Waiter* w);
  List waiting_;
  List woken_;
};

// A one-shot (until reset) flag that tasks can wait for.
class Event {
 public:
  void set();
  void reset() { set_ = false; }
  bool is_set() const { return set_; }
  // True once set; false if the deadline passed first.
  bool wait(Instant deadline = instant_max);
  bool wait_for(Duration timeout);

 private:
  bool set_ = false;
  WaitQueue waiters_;
};

// A mutex for tasks (not threads): use it to keep a multi-step operation that suspends (write a
// batch, then sync) from interleaving with another task's. Waiters wake in FIFO order, but a task
// that asks while the lock is free takes it first (no hand-off), so a woken waiter re-checks.
class Mutex {
 public:
  void lock();
  bool try_lock();
  void unlock();
  bool locked() const { return locked_; }

  class Guard {
   public:
    explicit Guard(Mutex& m) : m_(&m) { m_->lock(); }
    ~Guard() {
      if (m_) m_->unlock();
    }
    Guard(const Guard&) = delete;
    Guard& operator=(const Guard&) = delete;

   private:
    Mutex* m_;
  };

 private:
  bool locked_ = false;
  WaitQueue waiters_;
};

// Counts outstanding work; wait() returns when the count is back to zero.
class WaitGroup {
 public:
  void add(std::size_t n = 1) { count_ += n; }
  void done();
  bool wait(Instant deadline = instant_max);
  std::size_t count() const { return count_; }

 private:
  std::size_t count_ = 0;
  WaitQueue waiters_;
};

// A bounded FIFO channel between tasks. send() waits while full; recv() waits while empty and
// returns nullopt once the channel is closed and drained.
template <class T>
class Channel {
 public:
  explicit Channel(std::size_t capacity) : capacity_(capacity) { KEEL_ASSERT(capacity > 0); }

  // Errc::closed if the channel was closed; Errc::timed_out at the deadline.
  Status send(T value, Instant deadline = instant_max) {
    while (!closed_ && items_.size() >= capacity_) {
      if (!senders_.wait(deadline)) return make_error(Errc::timed_out, "channel send timed out");
    }
    if (closed_) return make_error(Errc::closed, "channel closed");
    items_.push_back(std::move(value));
    receivers_.notify_one();
    return {};
  }
  bool try_send(T value) {
    if (closed_ || items_.size() >= capacity_) return false;
    items_.push_back(std::move(value));
    receivers_.notify_one();
    return true;
  }
  std::optional<T> recv(Instant deadline = instant_max) {
    while (items_.empty() && !closed_) {
      if (!receivers_.wait(deadline)) return std::nullopt;
    }
    return try_recv();
  }
  std::optional<T> try_recv() {
    if (items_.empty()) return std::nullopt;
    T value = std::move(items_.front());
    items_.pop_front();
    senders_.notify_one();
    return value;
  }
  void close() {
    closed_ = true;
    receivers_.notify_all();
    senders_.notify_all();
  }
  bool closed() const { return closed_; }
  std::size_t size() const { return items_.size(); }
  std::size_t capacity() const { return capacity_; }

 private:
  std::size_t capacity_;
  bool closed_ = false;
  std::deque<T> items_;
  WaitQueue receivers_;
  WaitQueue senders_;
};

}  // namespace keel
