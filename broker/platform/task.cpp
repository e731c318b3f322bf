#include "broker/platform/task.h"

#include "broker/base/assert.h"

#include <exception>

namespace keel {

namespace {
thread_local Executor* tls_executor = nullptr;
thread_local TaskRef tls_task;
}  // namespace

struct Executor::Task {
  std::string name;
  TaskRef ref;
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
    states_.emplace_back();
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
  states_[slot] = SlotState{raw->ref.id, 0, State::ready, false};
  ++live_;
  driver_.task_spawned(raw->ref);
  return raw->ref;
}

Executor::Task* Executor::lookup(std::uint32_t slot, std::uint64_t id) const {
  if (slot >= slots_.size() || id == 0 || states_[slot].task_id != id) return nullptr;
  return slots_[slot].get();
}

const std::string& Executor::task_name(TaskRef ref) const {
  static const std::string none = "<gone>";
  const Task* t = lookup(ref.slot, ref.id);
  return t ? t->name : none;
}

bool Executor::run(TaskRef ref) {
  if (ref.slot >= states_.size()) return false;
  SlotState& st = states_[ref.slot];
  if (st.task_id != ref.id || ref.id == 0 || st.state != State::ready) return false;
  Task* t = slots_[ref.slot].get();
  KEEL_ASSERT_MSG(running_ == nullptr, "run({}) from inside task {}", t->name, running_ ? running_->name : "");
  st.state = State::running;
  ++switches_;
  {
    CurrentScope scope(this, t->ref);
    running_ = t;
    running_slot_ = ref.slot;
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
    const State after = states_[ref.slot].state;
    KEEL_ASSERT_MSG(after == State::waiting || after == State::ready, "task '{}' returned to the executor while running",
                    t->name);
  }
  return true;
}

bool Executor::wake(const WaitToken& token) {
  KEEL_ASSERT(token.executor == this);
  if (!wake_pending(token.slot, token.wait_id)) return false;
  SlotState& st = states_[token.slot];
  st.wait_id = 0;
  switch (st.state) {
    case State::running:
      st.woken_early = true;
      return true;
    case State::waiting:
      st.state = State::ready;
      driver_.task_ready(TaskRef{token.slot, st.task_id});
      return true;
    default:
      return false;
  }
}

WaitToken Executor::prepare_wait() {
  KEEL_ASSERT_MSG(running_ != nullptr && tls_executor == this, "prepare_wait outside a task");
  SlotState& st = states_[running_slot_];
  st.wait_id = next_id_++;
  st.woken_early = false;
  return WaitToken{this, running_slot_, st.wait_id};
}

void Executor::park() {
  Task* t = running_;
  KEEL_ASSERT_MSG(t != nullptr && tls_executor == this, "park outside a task");
  // The slot is read again after the switch: the states_ array may have grown meanwhile.
  const std::uint32_t slot = running_slot_;
  if (states_[slot].woken_early) {
    states_[slot].woken_early = false;
    return;
  }
  KEEL_ASSERT_MSG(states_[slot].wait_id != 0, "task '{}' parked without prepare_wait", t->name);
  states_[slot].state = State::waiting;
  (*t->sink)();
  KEEL_ASSERT(states_[slot].state == State::running);
}

void Executor::yield() {
  Task* t = running_;
  KEEL_ASSERT_MSG(t != nullptr && tls_executor == this, "yield outside a task");
  SlotState& st = states_[running_slot_];
  st.wait_id = 0;
  st.state = State::ready;
  driver_.task_ready(t->ref);
  (*t->sink)();
}

void Executor::destroy(std::uint32_t slot) {
  Task* t = slots_[slot].get();
  KEEL_ASSERT(t != nullptr);
  states_[slot].state = State::dying;
  states_[slot].wait_id = 0;
  {
    // Destructors that run while the stack unwinds see the dying task as current.
    CurrentScope scope(this, t->ref);
    Task* saved = running_;
    const std::uint32_t saved_slot = running_slot_;
    running_ = t;
    running_slot_ = slot;
    t->coro.reset();
    running_ = saved;
    running_slot_ = saved_slot;
  }
  slots_[slot].reset();
  states_[slot] = SlotState{};
  free_slots_.push_back(slot);
  --live_;
}

void Executor::cancel(TaskRef ref) {
  Task* t = lookup(ref.slot, ref.id);
  if (t == nullptr || states_[ref.slot].state == State::dying) return;
  KEEL_ASSERT_MSG(t != running_, "task '{}' cancelled itself", t->name);
  destroy(ref.slot);
}

void Executor::cancel_all() {
  KEEL_ASSERT_MSG(running_ == nullptr, "cancel_all from inside a task");
  stopping_ = true;
  // Newest slots first: tasks spawned later usually depend on those that spawned them, so they
  // unwind while what they use is still there. The order is a function of the program alone.
  for (std::size_t i = slots_.size(); i-- > 0;) {
    if (slots_[i] && states_[i].state != State::dying) destroy(static_cast<std::uint32_t>(i));
  }
  stopping_ = false;
}

}  // namespace keel
