#include "broker/platform/task.h"

#include "broker/base/assert.h"

#include <exception>

namespace keel {

namespace {
thread_local Executor* tls_executor = nullptr;
thread_local TaskRef tls_task;
}  // namespace

struct Executor::Task {
  enum class State { ready, running, waiting, dying };

  std::string name;
  TaskRef ref;
  State state = State::ready;
  std::uint64_t wait_id = 0;   // the prepared wait; 0 when none is outstanding
  bool woken_early = false;    // woken between prepare_wait() and park()
  std::function<void()> fn;
  Coro::pull_type* sink = nullptr;
  std::unique_ptr<Coro::push_type> coro;
};

// Restores the thread's "current task" when a resume or an unwind returns.
class CurrentScope {
 public:
  CurrentScope(Executor* e, TaskRef t) : saved_e_(tls_executor), saved_t_(tls_task) {
    tls_executor = e;
    tls_task = t;
  }
  ~CurrentScope() {
    tls_executor = saved_e_;
    tls_task = saved_t_;
  }

 private:
  Executor* saved_e_;
  TaskRef saved_t_;
};

Executor::Executor(TaskDriver& driver, Options options)
    : driver_(driver), options_(options), stacks_(options.stack_bytes) {}

Executor::~Executor() { cancel_all(); }

Executor* Executor::current() { return tls_executor; }
TaskRef Executor::current_task() { return tls_task; }

TaskRef Executor::spawn(std::string name, std::function<void()> fn) {
  if (stopping_) return {};
  KEEL_ASSERT_MSG(live_ < options_.tasks_max, "task limit {} reached spawning {}", options_.tasks_max, name);
  std::uint32_t slot;
  if (!free_slots_.empty()) {
    slot = free_slots_.back();
    free_slots_.pop_back();
  } else {
    slot = static_cast<std::uint32_t>(slots_.size());
    slots_.emplace_back();
  }
  auto task = std::make_unique<Task>();
  task->name = std::move(name);
  task->ref = TaskRef{slot, next_id_++};
  task->fn = std::move(fn);
  Task* raw = task.get();
  task->coro = std::make_unique<Coro::push_type>(stacks_, [raw](Coro::pull_type& sink) {
    raw->sink = &sink;
    raw->fn();
  });
  slots_[slot] = std::move(task);
  ++live_;
  driver_.task_ready(raw->ref);
  return raw->ref;
}

Executor::Task* Executor::lookup(std::uint32_t slot, std::uint64_t id) const {
  if (slot >= slots_.size()) return nullptr;
  Task* t = slots_[slot].get();
  if (t == nullptr || t->ref.id != id) return nullptr;
  return t;
}

bool Executor::alive(TaskRef ref) const {
  const Task* t = lookup(ref.slot, ref.id);
  return t != nullptr && t->state != Task::State::dying;
}

bool Executor::wake_pending(std::uint32_t slot, std::uint64_t wait_id) const {
  if (slot >= slots_.size() || wait_id == 0) return false;
  const Task* t = slots_[slot].get();
  return t != nullptr && t->wait_id == wait_id;
}

const std::string& Executor::task_name(TaskRef ref) const {
  static const std::string none = "<gone>";
  const Task* t = lookup(ref.slot, ref.id);
  return t ? t->name : none;
}

bool Executor::run(TaskRef ref) {
  Task* t = lookup(ref.slot, ref.id);
  if (t == nullptr || t->state != Task::State::ready) return false;
  KEEL_ASSERT_MSG(running_ == nullptr, "run({}) from inside task {}", t->name, running_ ? running_->name : "");
  t->state = Task::State::running;
  ++switches_;
  {
    CurrentScope scope(this, t->ref);
    running_ = t;
    try {
      (*t->coro)();
    } catch (const std::exception& e) {
      detail::assert_fail("task threw", __FILE__, __LINE__, fmt::format("task '{}' threw: {}", t->name, e.what()));
    }
    running_ = nullptr;
  }
  if (!*t->coro) {
    destroy(ref.slot);
  } else {
    KEEL_ASSERT_MSG(t->state == Task::State::waiting || t->state == Task::State::ready,
                    "task '{}' returned to the executor while running", t->name);
  }
  return true;
}

bool Executor::wake(const WaitToken& token) {
  KEEL_ASSERT(token.executor == this);
  if (token.slot >= slots_.size()) return false;
  Task* t = slots_[token.slot].get();
  if (t == nullptr || t->wait_id == 0 || t->wait_id != token.wait_id) return false;
  t->wait_id = 0;
  switch (t->state) {
    case Task::State::running:
      t->woken_early = true;
      return true;
    case Task::State::waiting:
      t->state = Task::State::ready;
      driver_.task_ready(t->ref);
      return true;
    default:
      return false;
  }
}

WaitToken Executor::prepare_wait() {
  KEEL_ASSERT_MSG(running_ != nullptr && tls_executor == this, "prepare_wait outside a task");
  running_->wait_id = next_id_++;
  running_->woken_early = false;
  return WaitToken{this, running_->ref.slot, running_->wait_id};
}

void Executor::park() {
  Task* t = running_;
  KEEL_ASSERT_MSG(t != nullptr && tls_executor == this, "park outside a task");
  if (t->woken_early) {
    t->woken_early = false;
    return;
  }
  KEEL_ASSERT_MSG(t->wait_id != 0, "task '{}' parked without prepare_wait", t->name);
  t->state = Task::State::waiting;
  (*t->sink)();
  KEEL_ASSERT(t->state == Task::State::running);
}

void Executor::yield() {
  Task* t = running_;
  KEEL_ASSERT_MSG(t != nullptr && tls_executor == this, "yield outside a task");
  t->wait_id = 0;
  t->state = Task::State::ready;
  driver_.task_ready(t->ref);
  (*t->sink)();
}

void Executor::destroy(std::uint32_t slot) {
  Task* t = slots_[slot].get();
  KEEL_ASSERT(t != nullptr);
  t->state = Task::State::dying;
  t->wait_id = 0;
  {
    // Destructors that run while the stack unwinds see the dying task as current.
    CurrentScope scope(this, t->ref);
    Task* saved = running_;
    running_ = t;
    t->coro.reset();
    running_ = saved;
  }
  slots_[slot].reset();
  free_slots_.push_back(slot);
  --live_;
}

void Executor::cancel(TaskRef ref) {
  Task* t = lookup(ref.slot, ref.id);
  if (t == nullptr || t->state == Task::State::dying) return;
  KEEL_ASSERT_MSG(t != running_, "task '{}' cancelled itself", t->name);
  destroy(ref.slot);
}

void Executor::cancel_all() {
  KEEL_ASSERT_MSG(running_ == nullptr, "cancel_all from inside a task");
  stopping_ = true;
  // Newest slots first: tasks spawned later usually depend on those that spawned them, so they
  // unwind while what they use is still there. The order is a function of the program alone.
  for (std::size_t i = slots_.size(); i-- > 0;) {
    if (slots_[i] && slots_[i]->state != Task::State::dying) destroy(static_cast<std::uint32_t>(i));
  }
  stopping_ = false;
}

}  // namespace keel
