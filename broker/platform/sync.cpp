#include "broker/platform/sync.h"

namespace keel {

// ---- WaitQueue ----

void WaitQueue::link(List& l, Waiter* w) {
  w->list = &l;
  w->prev = l.tail;
  w->next = nullptr;
  if (l.tail) l.tail->next = w; else l.head = w;
  l.tail = w;
}

void WaitQueue::unlink(Waiter* w) {
  List* l = w->list;
  if (l == nullptr) return;
  if (w->prev) w->prev->next = w->next; else l->head = w->next;
  if (w->next) w->next->prev = w->prev; else l->tail = w->prev;
  w->prev = w->next = nullptr;
  w->list = nullptr;
}

WaitQueue::~WaitQueue() {
  // A task still waiting on a queue that dies has a lifetime bug in its caller; detach the
  // waiters so that their own destructors stay safe.
  for (List* l : {&waiting_, &woken_}) {
    while (l->head != nullptr) {
      Waiter* w = l->head;
      unlink(w);
      w->queue = nullptr;
    }
  }
}

WaitQueue::Waiter::~Waiter() {
  if (queue == nullptr) return;
  const bool handed_wakeup = notified;
  unlink(this);
  // Notified but never resumed (its task was cancelled): hand the wake-up to the next waiter.
  if (handed_wakeup) queue->notify_one();
}

bool WaitQueue::wait(Instant deadline) {
  Executor* ex = Executor::current();
  KEEL_ASSERT_MSG(ex != nullptr, "WaitQueue::wait outside a task");
  Waiter w;
  w.queue = this;
  w.token = ex->prepare_wait();
  link(waiting_, &w);
  if (deadline != instant_max) ex->driver().wake_at(deadline, w.token);
  ex->park();
  const bool notified = w.notified;
  unlink(&w);
  w.queue = nullptr;  // consumed: nothing to hand on
  return notified;
}

bool WaitQueue::wait_for(Duration timeout) {
  Executor* ex = Executor::current();
  KEEL_ASSERT_MSG(ex != nullptr, "WaitQueue::wait_for outside a task");
  return wait(ex->driver().driver_now() + timeout);
}

void WaitQueue::notify(Waiter* w) {
  unlink(w);
  w->notified = true;
  link(woken_, w);
  w->token.executor->wake(w->token);
}

void WaitQueue::notify_one() {
  if (waiting_.head != nullptr) notify(waiting_.head);
}

void WaitQueue::notify_all() {
  while (waiting_.head != nullptr) notify(waiting_.head);
}

std::size_t WaitQueue::size() const {
  std::size_t n = 0;
  for (Waiter* w = waiting_.head; w; w = w->next) ++n;
  return n;
}

// ---- Event ----

void Event::set() {
  set_ = true;
  waiters_.notify_all();
}

bool Event::wait(Instant deadline) {
  while (!set_) {
    if (!waiters_.wait(deadline)) return set_;
  }
  return true;
}

bool Event::wait_for(Duration timeout) {
  Executor* ex = Executor::current();
  KEEL_ASSERT(ex != nullptr);
  return wait(ex->driver().driver_now() + timeout);
}

// ---- Mutex ----

bool Mutex::try_lock() {
  if (locked_) return false;
  locked_ = true;
  return true;
}

void Mutex::lock() {
  // A woken waiter re-checks: a notification whose task died was handed on, never lost.
  while (locked_) waiters_.wait();
  locked_ = true;
}

void Mutex::unlock() {
  KEEL_ASSERT_MSG(locked_, "unlock of a mutex that is not locked");
  locked_ = false;
  waiters_.notify_one();
}

// ---- WaitGroup ----

void WaitGroup::done() {
  KEEL_ASSERT_MSG(count_ > 0, "WaitGroup::done below zero");
  if (--count_ == 0) waiters_.notify_all();
}

bool WaitGroup::wait(Instant deadline) {
  while (count_ > 0) {
    if (!waiters_.wait(deadline)) return count_ == 0;
  }
  return true;
}

}  // namespace keel
