#include "broker/coordinator/runtime.h"
#include "broker/base/coverage.h"

#include <fmt/format.h>

#include <deque>
#include <optional>

#include "broker/base/assert.h"

namespace keel::coordinator {

std::string_view coordinator_error_name(CoordinatorError error) {
  switch (error) {
    case CoordinatorError::none: return "none";
    case CoordinatorError::not_coordinator: return "not_coordinator";
    case CoordinatorError::load_in_progress: return "load_in_progress";
    case CoordinatorError::not_available: return "not_available";
    case CoordinatorError::record_too_large: return "record_too_large";
  }
  return "unknown";
}

namespace {

// A shard's life: loading (replaying the log) -> active (serving) -> unloaded. A shard is never
// reused: a reload builds a new one.
enum class Phase : std::uint8_t { loading, active, unloaded };

bool legal(Phase from, Phase to) {
  return (from == Phase::loading && (to == Phase::active || to == Phase::unloaded)) ||
         (from == Phase::active && to == Phase::unloaded);
}

std::string_view phase_name(Phase p) {
  switch (p) {
    case Phase::loading: return "loading";
    case Phase::active: return "active";
    case Phase::unloaded: return "unloaded";
  }
  return "?";
}

}  // namespace

struct Timer {
  Instant deadline;
  std::uint64_t sequence = 0;  // ties at one deadline fire in the order they were scheduled
  WriteOp op;
};

// How a deferred answer ends: the caller of write() or read() waits for it.
struct CoordinatorRuntime::Completion {
  Event done;
  CoordinatorError error = CoordinatorError::none;

  void finish(CoordinatorError e) {
    KEEL_ASSERT(!done.is_set());
    error = e;
    done.set();
  }
  CoordinatorError wait() {
    done.wait();
    return error;
  }
};

struct CoordinatorRuntime::ShardState {
  // An operation that ran and whose answer waits for the high watermark to reach `end_offset` (the
  // end of what the shard had appended when it ran).
  struct Deferred {
    std::int64_t end_offset = 0;
    Instant deadline;
    std::vector<std::function<void(CoordinatorError)>> after_commit;
    std::shared_ptr<Completion> completion;

    void finish(CoordinatorError error) {
      for (auto& done : after_commit) done(error);
      completion->finish(error);
    }
  };

  TopicPartition tp;
  std::int32_t leader_epoch = -1;
  std::uint64_t incarnation = 0;
  Phase phase = Phase::loading;
  std::unique_ptr<Context> context;
  std::unique_ptr<Shard> shard;
  // Held by an operation while it runs and appends (and, without writes_in_flight, until its
  // answer), so operations apply and append in one order.
  Mutex mutex;
  std::map<std::string, Timer> timers;
  std::uint64_t timer_sequence = 0;
  WaitQueue timers_changed;
  std::int64_t records_loaded = 0;
  // Answers not yet released, in the order their operations ran; end offsets never decrease. Empty
  // means every record this shard appended is committed.
  std::deque<Deferred> deferred;
  std::int64_t appended_end = 0;  // the offset after the last record this shard appended
  WaitQueue deferred_changed;

  void set_phase(Phase to) {
    KEEL_ASSERT_MSG(legal(phase, to), "coordinator shard {}: illegal transition {} -> {}", tp.to_string(),
                    phase_name(phase), phase_name(to));
    phase = to;
    timers_changed.notify_all();
    deferred_changed.notify_all();
  }
};

class CoordinatorRuntime::Context final : public ShardContext {
 public:
  Context(Runtime& rt, ShardState& state) : rt_(rt), state_(state) {}
  const TopicPartition& tp() const override { return state_.tp; }
  Runtime& runtime() override { return rt_; }
  void schedule(const std::string& name, Duration after, WriteOp op) override {
    state_.timers[name] = Timer{rt_.now() + after, ++state_.timer_sequence, std::move(op)};
    state_.timers_changed.notify_all();
  }
  void cancel(const std::string& name) override {
    if (state_.timers.erase(name) > 0) state_.timers_changed.notify_all();
  }
  bool scheduled(const std::string& name) const override { return state_.timers.contains(name); }

 private:
  Runtime& rt_;
  ShardState& state_;
};

CoordinatorRuntime::CoordinatorRuntime(Runtime& rt, RuntimeOptions options, PartitionLog& log, ShardFactory factory)
    : rt_(rt), options_(std::move(options)), log_(log), factory_(std::move(factory)) {
  KEEL_ASSERT(!options_.topic.empty());
}

CoordinatorRuntime::~CoordinatorRuntime() { stop(); }

void CoordinatorRuntime::stop() {
  stopped_ = true;
  std::vector<std::shared_ptr<ShardState>> all;
  for (const auto& [partition, s] : shards_) all.push_back(s);
  for (const auto& s : all) unload(s, CoordinatorError::not_coordinator);
  auto& executor = rt_.executor();
  const TaskRef self = Executor::current_task();
  for (TaskRef t : tasks_) {
    if (t.id != self.id && executor.alive(t)) executor.cancel(t);
  }
  tasks_.clear();
}

void CoordinatorRuntime::track(TaskRef task) {
  auto& executor = rt_.executor();
  std::erase_if(tasks_, [&](TaskRef t) { return !executor.alive(t); });
  tasks_.push_back(task);
}

std::shared_ptr<CoordinatorRuntime::ShardState> CoordinatorRuntime::find(std::int32_t partition) const {
  auto it = shards_.find(partition);
  return it == shards_.end() ? nullptr : it->second;
}

void CoordinatorRuntime::on_role_change(std::int32_t partition, bool leader, std::int32_t leader_epoch) {
  if (stopped_) return;
  auto existing = find(partition);
  if (existing && leader && existing->leader_epoch == leader_epoch) return;
  if (existing) unload(existing, CoordinatorError::not_coordinator);
  if (!leader) return;
  auto s = std::make_shared<ShardState>();
  s->tp = TopicPartition{options_.topic, partition};
  s->leader_epoch = leader_epoch;
  s->incarnation = next_incarnation_++;
  s->context = std::make_unique<Context>(rt_, *s);
  s->shard = factory_(*s->context);
  shards_[partition] = s;
  rt_.trace("CoordinatorLoadStarted").detail("Partition", s->tp.to_string()).detail("LeaderEpoch", leader_epoch);
  track(rt_.spawn(fmt::format("coordinator-load-{}", s->tp.to_string()), [this, s] { load(s); }));
}

// Replays the committed log from its start. Only what the high watermark covers is read, and the load
// completes only once it covers the whole log as it stood when the load began: records a previous
// leader wrote but never committed are either committed by now or truncated, never half-applied.
void CoordinatorRuntime::load(std::shared_ptr<ShardState> s) {
  const Instant started = rt_.now();
  if (!replay_committed(*s)) return;
  Mutex::Guard guard(s->mutex);
  if (s->phase != Phase::loading) return;
  s->set_phase(Phase::active);
  if (s->records_loaded > 0) KEEL_SOMETIMES("coordinator.loaded_state_from_log");
  s->shard->loaded();
  rt_.trace("CoordinatorLoaded")
      .detail("Partition", s->tp.to_string())
      .detail("LeaderEpoch", s->leader_epoch)
      .detail("Records", s->records_loaded)
      .detail("Ms", to_ms(rt_.now() - started));
  track(rt_.spawn(fmt::format("coordinator-timers-{}", s->tp.to_string()), [this, s] { timer_loop(s); }));
  track(rt_.spawn(fmt::format("coordinator-commits-{}", s->tp.to_string()), [this, s] { commit_loop(s); }));
}

bool CoordinatorRuntime::replay_committed(ShardState& s) {
  std::int64_t next = 0;
  std::int64_t target = -1;
  while (s.phase == Phase::loading) {
    LogRead r = log_.read(s.tp, s.leader_epoch, next);
    if (s.phase != Phase::loading) return false;
    if (r.error != CoordinatorError::none) {
      rt_.sleep_for(options_.load_retry_backoff);  // not readable yet (a new leader's first moments)
      continue;
    }
    if (target < 0) target = r.log_end;
    for (const auto& record : r.records) s.shard->replay(record);
    s.records_loaded += static_cast<std::int64_t>(r.records.size());
    KEEL_ASSERT_GE(r.next_offset, next);
    next = r.next_offset;
    if (next >= target) return true;
    if (r.records.empty()) rt_.sleep_for(options_.load_retry_backoff);
  }
  return false;
}

CoordinatorError CoordinatorRuntime::check(const std::shared_ptr<ShardState>& s, std::int32_t partition) const {
  if (!s || find(partition) != s || s->phase == Phase::unloaded) return CoordinatorError::not_coordinator;
  if (s->phase == Phase::loading) return CoordinatorError::load_in_progress;
  return CoordinatorError::none;
}

CoordinatorError CoordinatorRuntime::status(std::int32_t partition) const { return check(find(partition), partition); }

std::vector<std::int32_t> CoordinatorRuntime::active_partitions() const {
  std::vector<std::int32_t> out;
  for (const auto& [partition, s] : shards_) {
    if (s->phase == Phase::active) out.push_back(partition);
  }
  return out;
}

CoordinatorError CoordinatorRuntime::read(std::int32_t partition, const ReadOp& op) {
  auto s = find(partition);
  if (auto error = check(s, partition); error != CoordinatorError::none) return error;
  std::shared_ptr<Completion> completion;
  {
    Mutex::Guard guard(s->mutex);
    if (auto error = check(s, partition); error != CoordinatorError::none) return error;
    op(*s->shard);
    completion = defer(*s, {}, false);
  }
  return completion->wait();
}

CoordinatorError CoordinatorRuntime::write(std::int32_t partition, std::string_view name, const WriteOp& op) {
  auto s = find(partition);
  if (auto error = check(s, partition); error != CoordinatorError::none) return error;
  std::optional<Mutex::Guard> guard;
  guard.emplace(s->mutex);
  const auto completion = submit_write(s, partition, name, op);
  if (options_.writes_in_flight) guard.reset();  // the next operation runs while this one commits
  return completion->wait();
}

// Runs a write operation under the shard's mutex: applies its records and appends them, and returns
// its deferred answer.
std::shared_ptr<CoordinatorRuntime::Completion> CoordinatorRuntime::submit_write(const std::shared_ptr<ShardState>& s,
                                                                                 std::int32_t partition,
                                                                                 std::string_view name,
                                                                                 const WriteOp& op) {
  KEEL_ASSERT(s->mutex.locked());
  if (auto error = check(s, partition); error != CoordinatorError::none) {
    auto refused = std::make_shared<Completion>();
    refused->finish(error);
    return refused;
  }
  WriteResult result = op(*s->shard);
  for (const auto& record : result.records) s->shard->replay(record);
  CoordinatorError error = CoordinatorError::none;
  const bool appends = !result.records.empty();
  if (appends) {
    const LogAppend appended = log_.append(s->tp, s->leader_epoch, result.records);
    error = appended.error;
    if (error == CoordinatorError::none) {
      KEEL_ASSERT_GT(appended.end_offset, s->appended_end);
      s->appended_end = appended.end_offset;
    }
  }
  auto completion = defer(*s, std::move(result.after_commit), appends);  // a failed append is queued, then failed below
  if (error != CoordinatorError::none) {
    KEEL_SOMETIMES("coordinator.write_failed");
    rt_.trace("CoordinatorWriteFailed", Severity::warn)
        .detail("Partition", s->tp.to_string())
        .detail("Operation", name)
        .detail("Error", coordinator_error_name(error));
    fail(s, error);  // answers this write and every one still in flight with the error
  }
  return completion;
}

// Queues an operation's answer behind the records appended so far (`appended`: it appended some
// itself); answered at once when nothing appended is still waiting to commit.
std::shared_ptr<CoordinatorRuntime::Completion> CoordinatorRuntime::defer(
    ShardState& s, std::vector<std::function<void(CoordinatorError)>> after_commit, bool appended) {
  ShardState::Deferred d{s.appended_end, rt_.now() + options_.write_timeout, std::move(after_commit),
                         std::make_shared<Completion>()};
  auto completion = d.completion;
  if (s.phase != Phase::active) {
    d.finish(CoordinatorError::not_coordinator);  // unloaded while the operation appended
  } else if (s.deferred.empty() && !appended) {
    d.finish(CoordinatorError::none);
  } else {
    KEEL_ASSERT(s.deferred.empty() || s.deferred.back().end_offset <= d.end_offset);
    s.deferred.push_back(std::move(d));
    s.deferred_changed.notify_all();
  }
  return completion;
}

// Releases deferred answers in order as the high watermark passes them. A commit that fails or
// times out fails the shard (and with it every answer still deferred).
void CoordinatorRuntime::commit_loop(std::shared_ptr<ShardState> s) {
  while (s->phase == Phase::active) {
    if (s->deferred.empty()) {
      s->deferred_changed.wait();
      continue;
    }
    const std::int64_t end = s->deferred.front().end_offset;
    const CoordinatorError error = log_.wait_committed(s->tp, s->leader_epoch, end, s->deferred.front().deadline);
    if (s->phase != Phase::active) return;  // unloaded meanwhile: the unload gave every answer
    if (error != CoordinatorError::none) {
      rt_.trace("CoordinatorCommitFailed", Severity::warn)
          .detail("Partition", s->tp.to_string())
          .detail("EndOffset", end)
          .detail("InFlight", s->deferred.size())
          .detail("Error", coordinator_error_name(error));
      fail(s, error);
      return;
    }
    complete_committed(*s, end);
  }
}

void CoordinatorRuntime::complete_committed(ShardState& s, std::int64_t committed) {
  while (s.phase == Phase::active && !s.deferred.empty() && s.deferred.front().end_offset <= committed) {
    ShardState::Deferred d = std::move(s.deferred.front());
    s.deferred.pop_front();
    d.finish(CoordinatorError::none);
  }
}

// A write that did not commit left the shard holding state the log may not have: the shard is
// dropped and loaded again from the log (which waits until what the log holds is committed).
void CoordinatorRuntime::fail(const std::shared_ptr<ShardState>& s, CoordinatorError error) {
  const std::int32_t partition = s->tp.partition;
  const std::int32_t epoch = s->leader_epoch;
  const bool current = find(partition) == s;
  unload(s, error);
  if (current && !stopped_) on_role_change(partition, true, epoch);
}

void CoordinatorRuntime::unload(const std::shared_ptr<ShardState>& s, CoordinatorError error) {
  if (s->phase == Phase::unloaded) return;
  const bool was_active = s->phase == Phase::active;
  // Leadership moved on while the log was still being replayed.
  if (s->phase == Phase::loading) KEEL_SOMETIMES("coordinator.unloaded_while_loading");
  s->set_phase(Phase::unloaded);
  s->timers.clear();
  if (auto it = shards_.find(s->tp.partition); it != shards_.end() && it->second == s) shards_.erase(it);
  // Answers still deferred fail, in order: what they saw may never commit.
  std::deque<ShardState::Deferred> deferred = std::move(s->deferred);
  s->deferred.clear();
  for (auto& d : deferred) d.finish(error);
  // Parked requests are answered at once: the shard is gone whether or not an operation holds it.
  s->shard->unloaded(error);
  rt_.trace("CoordinatorUnloaded")
      .detail("Partition", s->tp.to_string())
      .detail("LeaderEpoch", s->leader_epoch)
      .detail("WasActive", was_active)
      .detail("Why", coordinator_error_name(error));
}

void CoordinatorRuntime::timer_loop(std::shared_ptr<ShardState> s) {
  while (s->phase == Phase::active) {
    const Timer* first = nullptr;
    for (const auto& [name, t] : s->timers) {
      if (!first || std::tie(t.deadline, t.sequence) < std::tie(first->deadline, first->sequence)) first = &t;
    }
    if (first == nullptr) {
      s->timers_changed.wait();
    } else if (rt_.now() < first->deadline) {
      s->timers_changed.wait(first->deadline);
    } else {
      run_due_timer(s);
    }
  }
}

void CoordinatorRuntime::run_due_timer(const std::shared_ptr<ShardState>& s) {
  Mutex::Guard guard(s->mutex);
  if (s->phase != Phase::active) return;
  auto due = s->timers.end();
  for (auto it = s->timers.begin(); it != s->timers.end(); ++it) {
    if (it->second.deadline > rt_.now()) continue;
    if (due == s->timers.end() ||
        std::tie(it->second.deadline, it->second.sequence) < std::tie(due->second.deadline, due->second.sequence)) {
      due = it;
    }
  }
  if (due == s->timers.end()) return;  // cancelled or moved while this task waited for the lock
  const std::string name = due->first;
  WriteOp op = std::move(due->second.op);
  s->timers.erase(due);
  const auto completion = submit_write(s, s->tp.partition, name, op);
  if (!options_.writes_in_flight) (void)completion->wait();
}

}  // namespace keel::coordinator
