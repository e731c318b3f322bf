#include "broker/partition/replica_manager.h"

#include "broker/rpc/connection.h"
#include "broker/base/assert.h"
#include "broker/protocol/record_batch.h"
#include "broker/storage/checkpoint.h"

#include <fmt/format.h>

#include <algorithm>

namespace keel::partition {

using protocol::ErrorCode;

enum class Role {
  none,      // not a replica here (or not yet told)
  leader,    // serves produce and fetch, tracks followers
  follower,  // copies the leader's log
};

struct ReplicaManager::Partition {
  TopicPartition tp;
  storage::Log* log = nullptr;
  LeaderEpochCache cache;
  Mutex mutex;
  Role role = Role::none;
  BrokerId leader = -1;
  std::int32_t leader_epoch = -1;
  std::int32_t partition_epoch = -1;
  std::vector<BrokerId> replicas;
  std::optional<LeaderState> leader_state;
  std::uint64_t generation = 0;  // bumped on every role or epoch change; a fetch task runs for one
  std::int64_t high_watermark = 0;
  WaitQueue high_watermark_changed;  // acks=all waiters
  bool isr_request_in_flight = false;
  Instant isr_retry_at{};  // after a refused AlterPartition, no new proposal before this
};

// A follower's connection to its leader, opened when first needed and again after it breaks.
class LeaderLink {
 public:
  LeaderLink(Runtime& rt, Duration request_timeout) : rt_(rt), request_timeout_(request_timeout) {}

  Result<std::shared_ptr<rpc::BrokerConnection>> get(const Address& address) {
    if (conn_ && conn_->usable() && conn_->address() == address) return conn_;
    if (conn_) conn_->close();
    conn_ = std::make_shared<rpc::BrokerConnection>(rt_, address, "keel-replica-fetcher", request_timeout_);
    if (auto st = conn_->open(request_timeout_); !st) {
      conn_.reset();
      return st.error();
    }
    return conn_;
  }
  void reset() {
    if (conn_) conn_->close();
    conn_.reset();
  }
  ~LeaderLink() { reset(); }

 private:
  Runtime& rt_;
  Duration request_timeout_;
  std::shared_ptr<rpc::BrokerConnection> conn_;
};

namespace {

// After the controller refuses an ISR change (a stale broker epoch while this broker registers
// again, a newer partition epoch on its way), the next proposal waits this long.
constexpr Duration isr_retry_backoff = std::chrono::milliseconds(500);

std::int64_t to_ms(Instant t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

Error protocol_error(ErrorCode code, std::string_view what) {
  return make_error(Errc::refused, fmt::format("{}: {}", what, protocol::error_name(code)));
}

}  // namespace

ReplicaManager::ReplicaManager(Runtime& rt, ReplicaManagerOptions options, ReplicaManagerHooks hooks)
    : rt_(rt), options_(options), hooks_(std::move(hooks)) {}

ReplicaManager::~ReplicaManager() {
  stopping_ = true;
  auto& executor = rt_.executor();
  const TaskRef self = Executor::current_task();
  for (auto it = tasks_.rbegin(); it != tasks_.rend(); ++it) {
    if (it->id != self.id && executor.alive(*it)) executor.cancel(*it);
  }
}

void ReplicaManager::start(const std::vector<std::string>& log_dirs) {
  log_dirs_ = log_dirs;
  for (const auto& dir : log_dirs_) {
    auto loaded = storage::read_offset_checkpoint(rt_.disk(), dir + "/" + std::string(replication_offset_checkpoint_file));
    if (!loaded) {
      rt_.trace("HighWatermarkCheckpointUnreadable", Severity::warn).detail("Dir", dir).detail("Error", loaded.error().message);
      continue;
    }
    hw_checkpoints_[dir] = std::move(*loaded);
  }
  tasks_.push_back(rt_.spawn("replica-isr", [this] { isr_loop(); }));
  tasks_.push_back(rt_.spawn("replica-hw-checkpoint", [this] { checkpoint_loop(); }));
}

Status ReplicaManager::shutdown() {
  stopping_ = true;
  for (auto& [tp, p] : partitions_) {
    ++p->generation;
    p->high_watermark_changed.notify_all();
  }
  auto st = write_high_watermarks();
  // The fetchers and loops would only notice at their next wake-up; a clean stop ends them now.
  auto& executor = rt_.executor();
  const TaskRef self = Executor::current_task();
  for (auto it = tasks_.rbegin(); it != tasks_.rend(); ++it) {
    if (it->id != self.id && executor.alive(*it)) executor.cancel(*it);
  }
  tasks_.clear();
  return st;
}

// ---- partitions and role changes ----

ReplicaManager::Partition* ReplicaManager::find(const TopicPartition& tp) const {
  auto it = partitions_.find(tp);
  return it == partitions_.end() ? nullptr : it->second.get();
}

ReplicaManager::Partition& ReplicaManager::get_or_open(const TopicPartition& tp) {
  if (Partition* p = find(tp)) {
    if (p->log == nullptr) open_log(*p);
    return *p;
  }
  auto p = std::make_unique<Partition>();
  p->tp = tp;
  open_log(*p);
  auto& ref = *p;
  partitions_.emplace(tp, std::move(p));
  return ref;
}

void ReplicaManager::open_log(Partition& p) {
  p.cache = LeaderEpochCache{};
  p.high_watermark = 0;
  p.log = hooks_.log(p.tp);
  if (p.log == nullptr) return;
  const std::string path = p.log->dir() + "/" + std::string(leader_epoch_checkpoint_file);
  auto cache = read_leader_epoch_checkpoint(rt_.disk(), path);
  if (cache) {
    p.cache = std::move(*cache);
  } else {
    // A torn or corrupt checkpoint: the epochs are rebuilt from the batches as they come again;
    // until then truncation falls back to asking about no epoch (the high watermark).
    rt_.trace("LeaderEpochCheckpointUnreadable", Severity::warn).detail("Partition", p.tp.to_string())
        .detail("Error", cache.error().message);
  }
  // Kafka re-truncates the cache on load: entries past the log end describe records a crash took.
  p.cache.truncate_from_end(p.log->log_end_offset());
  for (const auto& [dir, values] : hw_checkpoints_) {
    if (p.log->dir().rfind(dir, 0) != 0) continue;
    if (auto it = values.find(p.tp); it != values.end()) p.high_watermark = std::min(it->second, p.log->log_end_offset());
  }
  p.log->set_high_watermark(p.high_watermark);
}

void ReplicaManager::apply(const PartitionAssignment& a) {
  if (stopping_) return;
  const bool replica = std::find(a.replicas.begin(), a.replicas.end(), options_.broker_id) != a.replicas.end();
  if (!replica) {
    // Not (or no longer) a replica here: stop acting on it, and never open a log for it.
    Partition* existing = find(a.tp);
    if (existing == nullptr) return;
    Mutex::Guard guard(existing->mutex);
    if (a.partition_epoch < existing->partition_epoch) return;
    existing->partition_epoch = a.partition_epoch;
    stop_replica(*existing);
    return;
  }
  Partition& p = get_or_open(a.tp);
  Mutex::Guard guard(p.mutex);
  if (a.partition_epoch < p.partition_epoch) return;  // older news than what this replica acted on
  if (a.leader == options_.broker_id) {
    make_leader(p, a);
  } else {
    make_follower(p, a);
  }
}

void ReplicaManager::remove(const TopicPartition& tp) {
  Partition* p = find(tp);
  if (p == nullptr) return;
  Mutex::Guard guard(p->mutex);
  stop_replica(*p);
  // The log is going; whatever comes back here (a topic of the same name, a reassignment back to
  // this broker) starts from its own log and epochs.
  p->log = nullptr;
  p->cache = LeaderEpochCache{};
  p->high_watermark = 0;
}

void ReplicaManager::stop_replica(Partition& p) {
  p.role = Role::none;
  p.leader_state.reset();
  ++p.generation;
  p.high_watermark_changed.notify_all();
}

void ReplicaManager::make_leader(Partition& p, const PartitionAssignment& a) {
  const bool new_epoch = p.role != Role::leader || a.leader_epoch != p.leader_epoch;
  p.partition_epoch = a.partition_epoch;
  p.replicas = a.replicas;
  if (!new_epoch && p.leader_state) {
    // Only the ISR changed (the controller committed an AlterPartition, ours or not), or replicas
    // joined as a reassignment began (dropping one always brings a new epoch).
    p.leader_state->replicas_changed(a.replicas);
    p.leader_state->isr_committed(a.isr, a.partition_epoch, p.log->log_end_offset(), to_ms(rt_.now()));
    note_high_watermark(p, p.leader_state->high_watermark());
    return;
  }
  if (p.log == nullptr) {
    rt_.trace("BecomeLeaderWithoutLog", Severity::warn).detail("Partition", p.tp.to_string());
    return;
  }
  // The new epoch starts at the log end, recorded now even before any record of it (KIP-279: a
  // follower holding a later epoch than any record of ours must still get a right answer). The
  // checkpoint write suspends: the role changes only after it, all at once, so no fetch is served
  // by a leader whose state is half set up.
  if (p.cache.assign(a.leader_epoch, p.log->log_end_offset())) save_epoch_cache(p);
  ++p.generation;
  p.role = Role::leader;
  p.leader = a.leader;
  p.leader_epoch = a.leader_epoch;
  LeaderStateOptions o;
  o.leader_id = options_.broker_id;
  o.leader_epoch = a.leader_epoch;
  o.partition_epoch = a.partition_epoch;
  o.replicas = a.replicas;
  o.isr = a.isr;
  o.leader_log_end = p.log->log_end_offset();
  o.high_watermark = p.high_watermark;
  o.min_insync_replicas = hooks_.min_insync_replicas(p.tp.topic);
  o.replica_lag_time_max_ms = options_.replica_lag_time_max_ms;
  o.now_ms = to_ms(rt_.now());
  o.isr_eligible = hooks_.isr_eligible;
  p.leader_state.emplace(o);
  p.isr_request_in_flight = false;
  p.leader_state->maybe_advance_high_watermark(p.log->log_end_offset(), o.now_ms);
  note_high_watermark(p, p.leader_state->high_watermark());
  rt_.trace("BecomeLeader").detail("Partition", p.tp.to_string()).detail("LeaderEpoch", a.leader_epoch)
      .detail("LogEnd", p.log->log_end_offset()).detail("HighWatermark", p.high_watermark);
  p.high_watermark_changed.notify_all();
}

void ReplicaManager::make_follower(Partition& p, const PartitionAssignment& a) {
  const bool new_epoch = p.role != Role::follower || a.leader_epoch != p.leader_epoch || a.leader != p.leader;
  p.partition_epoch = a.partition_epoch;
  p.replicas = a.replicas;
  if (!new_epoch) return;
  if (p.log == nullptr) {
    rt_.trace("BecomeFollowerWithoutLog", Severity::warn).detail("Partition", p.tp.to_string());
    return;
  }
  ++p.generation;
  p.role = Role::follower;
  p.leader = a.leader;
  p.leader_epoch = a.leader_epoch;
  p.leader_state.reset();
  p.high_watermark_changed.notify_all();  // acks=all waiters learn they lost leadership
  rt_.trace("BecomeFollower").detail("Partition", p.tp.to_string()).detail("Leader", a.leader)
      .detail("LeaderEpoch", a.leader_epoch);
  if (a.leader < 0 || p.log == nullptr) return;  // no leader to fetch from yet
  const std::uint64_t generation = p.generation;
  const TopicPartition tp = p.tp;
  auto task = rt_.spawn(fmt::format("replica-fetch-{}", tp.to_string()), [this, tp, generation] {
    fetch_loop(tp, generation);
  });
  auto& executor = rt_.executor();
  std::erase_if(tasks_, [&](TaskRef t) { return !executor.alive(t); });
  tasks_.push_back(task);
}

void ReplicaManager::note_high_watermark(Partition& p, std::int64_t hw) {
  if (hw == p.high_watermark) return;
  p.high_watermark = hw;
  if (p.log) p.log->set_high_watermark(hw);
  p.high_watermark_changed.notify_all();
  if (hooks_.high_watermark_moved) hooks_.high_watermark_moved(p.tp);
}

void ReplicaManager::record_epochs(Partition& p, std::span<const std::uint8_t> batches) {
  const auto scan = protocol::scan_batches(batches, false);
  bool changed = false;
  for (const auto& [pos, header] : scan.batches) {
    if (header.partition_leader_epoch >= 0) changed |= p.cache.assign(header.partition_leader_epoch, header.base_offset);
  }
  if (changed) save_epoch_cache(p);
}

void ReplicaManager::save_epoch_cache(Partition& p) {
  if (p.log == nullptr) return;
  const std::string path = p.log->dir() + "/" + std::string(leader_epoch_checkpoint_file);
  if (auto st = write_leader_epoch_checkpoint(rt_.disk(), path, p.cache); !st) {
    rt_.trace("LeaderEpochCheckpointFailed", Severity::warn).detail("Partition", p.tp.to_string())
        .detail("Error", st.error().message);
  }
}

// ---- the leader's side ----

LeaderAppend ReplicaManager::append_as_leader(const TopicPartition& tp, std::span<const std::uint8_t> batches,
                                              std::int16_t acks) {
  LeaderAppend out;
  Partition* p = find(tp);
  if (p == nullptr || p->role != Role::leader || !p->leader_state || p->log == nullptr) {
    out.error = p == nullptr ? ErrorCode::unknown_topic_or_partition : ErrorCode::not_leader_or_follower;
    out.message = fmt::format("broker {} does not lead {}", options_.broker_id, tp.to_string());
    return out;
  }
  Mutex::Guard guard(p->mutex);
  if (p->role != Role::leader || !p->leader_state) {
    out.error = ErrorCode::not_leader_or_follower;
    out.message = fmt::format("broker {} lost the leadership of {}", options_.broker_id, tp.to_string());
    return out;
  }
  if (acks == -1 && p->leader_state->acks_all_before_append() == AcksAll::not_enough_replicas) {
    out.error = ErrorCode::not_enough_replicas;
    out.message = fmt::format("the ISR of {} ({} members) is below min.insync.replicas {}", tp.to_string(),
                              p->leader_state->isr().size(), p->leader_state->effective_min_isr());
    return out;
  }
  const std::int32_t epoch = p->leader_epoch;
  auto appended = p->log->append(batches, epoch);
  if (!appended) {
    out.error = appended.error().code == Errc::invalid_argument ? ErrorCode::invalid_record : ErrorCode::kafka_storage_error;
    out.message = appended.error().message;
    return out;
  }
  out.result = *appended;
  out.leader_epoch = epoch;
  if (p->leader_state) {
    p->leader_state->maybe_advance_high_watermark(p->log->log_end_offset(), to_ms(rt_.now()));
    note_high_watermark(*p, p->leader_state->high_watermark());
  }
  return out;
}

ErrorCode ReplicaManager::wait_for_acks(const TopicPartition& tp, std::int64_t required_offset,
                                        std::int32_t leader_epoch, Instant deadline) {
  Partition* p = find(tp);
  if (p == nullptr) return ErrorCode::not_leader_or_follower;
  for (;;) {
    if (p->role != Role::leader || p->leader_epoch != leader_epoch || !p->leader_state) {
      return ErrorCode::not_leader_or_follower;
    }
    switch (p->leader_state->acks_all_after_append(required_offset)) {
      case AcksAll::ok: return ErrorCode::none;
      case AcksAll::not_enough_after_append: return ErrorCode::not_enough_replicas_after_append;
      case AcksAll::not_enough_replicas: return ErrorCode::not_enough_replicas;
      case AcksAll::wait: break;
    }
    if (!p->high_watermark_changed.wait(deadline)) return ErrorCode::request_timed_out;
  }
}

ReadPermit ReplicaManager::read_permit(const TopicPartition& tp, BrokerId replica_id,
                                       std::int32_t current_leader_epoch, std::int64_t fetch_offset,
                                       std::int32_t last_fetched_epoch) {
  ReadPermit out;
  Partition* p = find(tp);
  if (p == nullptr || p->log == nullptr) {
    out.error = ErrorCode::unknown_topic_or_partition;
    return out;
  }
  out.leader = p->leader;
  out.leader_epoch = p->leader_epoch;
  if (p->role != Role::leader || !p->leader_state) {
    out.error = ErrorCode::not_leader_or_follower;
    return out;
  }
  if (current_leader_epoch >= 0 && current_leader_epoch < p->leader_epoch) {
    out.error = ErrorCode::fenced_leader_epoch;
    return out;
  }
  if (current_leader_epoch > p->leader_epoch) {
    out.error = ErrorCode::unknown_leader_epoch;
    return out;
  }
  const bool follower = replica_id >= 0;
  if (!follower && p->leader_state && p->high_watermark < p->leader_state->epoch_start_offset()) {
    // A new leader's high watermark starts where its own follower's was, behind the old leader's;
    // until it reaches this epoch's start, answering would show consumers a high watermark moving
    // back. Kafka refuses ListOffsets the same way (OFFSET_NOT_AVAILABLE); clients ask again.
    out.error = ErrorCode::not_leader_or_follower;
    return out;
  }
  out.log = p->log;
  out.high_watermark = p->high_watermark;
  out.max_offset = follower ? p->log->log_end_offset() : p->high_watermark;
  if (follower && last_fetched_epoch >= 0) {
    const EpochEndOffset mine = p->cache.end_offset_for(last_fetched_epoch, p->log->log_end_offset());
    if (mine.epoch < last_fetched_epoch || mine.end_offset < fetch_offset) out.diverging = mine;
  }
  return out;
}

void ReplicaManager::follower_fetched(const TopicPartition& tp, BrokerId replica_id, std::int64_t broker_epoch,
                                      std::int64_t fetch_offset) {
  Partition* p = find(tp);
  if (p == nullptr || p->role != Role::leader || !p->leader_state || p->log == nullptr) return;
  if (p->leader_state->follower(replica_id) == nullptr) return;  // not a replica of this partition
  p->leader_state->follower_fetched(replica_id, fetch_offset, broker_epoch, p->log->log_end_offset(),
                                    to_ms(rt_.now()));
  note_high_watermark(*p, p->leader_state->high_watermark());
  // A follower that caught up may rejoin the ISR now, not at the next periodic check.
  const auto* f = p->leader_state->follower(replica_id);
  const auto& isr = p->leader_state->isr();
  if (f && std::find(isr.begin(), isr.end(), replica_id) == isr.end() && f->log_end_offset >= p->high_watermark) {
    maybe_propose_isr(*p);
  }
}

std::pair<ErrorCode, EpochEndOffset> ReplicaManager::end_offset_for(const TopicPartition& tp,
                                                                    std::int32_t current_leader_epoch,
                                                                    std::int32_t requested_epoch) {
  Partition* p = find(tp);
  if (p == nullptr || p->log == nullptr) return {ErrorCode::unknown_topic_or_partition, {}};
  if (p->role != Role::leader) return {ErrorCode::not_leader_or_follower, {}};
  if (current_leader_epoch >= 0 && current_leader_epoch < p->leader_epoch) return {ErrorCode::fenced_leader_epoch, {}};
  if (current_leader_epoch > p->leader_epoch) return {ErrorCode::unknown_leader_epoch, {}};
  return {ErrorCode::none, p->cache.end_offset_for(requested_epoch, p->log->log_end_offset())};
}

// ---- ISR changes ----

void ReplicaManager::isr_loop() {
  // Kafka checks every replica.lag.time.max.ms / 2; shorter configured intervals win.
  const Duration interval = std::min<Duration>(options_.isr_check_interval,
                                               std::chrono::milliseconds(options_.replica_lag_time_max_ms / 2));
  while (!stopping_) {
    rt_.sleep_for(interval);
    std::vector<TopicPartition> led;
    for (const auto& [tp, p] : partitions_) {
      if (p->role == Role::leader) led.push_back(tp);
    }
    for (const auto& tp : led) {
      if (Partition* p = find(tp)) maybe_propose_isr(*p);
    }
  }
}

void ReplicaManager::maybe_propose_isr(Partition& p) {
  if (p.role != Role::leader || !p.leader_state || p.isr_request_in_flight || !hooks_.alter_partition) return;
  if (rt_.now() < p.isr_retry_at) return;  // refused a moment ago: do not ask again on every fetch
  const auto proposal = p.leader_state->isr_change_to_propose(p.log->log_end_offset(), to_ms(rt_.now()),
                                                              hooks_.isr_eligible);
  if (!proposal) return;
  p.leader_state->isr_change_sent(*proposal);
  p.isr_request_in_flight = true;
  IsrProposal request{p.tp, p.leader_epoch, p.leader_state->partition_epoch(), *proposal};
  const std::uint64_t generation = p.generation;
  rt_.trace("IsrChangeProposed").detail("Partition", p.tp.to_string()).detail("Isr", fmt::format("{}", fmt::join(*proposal, ",")))
      .detail("LeaderEpoch", p.leader_epoch).detail("PartitionEpoch", request.partition_epoch);
  // The controller's answer takes a round trip: wait for it in a task of its own.
  auto task = rt_.spawn(fmt::format("alter-partition-{}", p.tp.to_string()), [this, request, generation] {
    const IsrReply reply = hooks_.alter_partition(request);
    Partition* q = find(request.tp);
    if (q == nullptr || q->generation != generation || !q->leader_state) return;
    q->isr_request_in_flight = false;
    if (reply.error == ErrorCode::none) {
      if (reply.leader_epoch == q->leader_epoch) {
        q->leader_state->isr_committed(reply.isr, reply.partition_epoch, q->log->log_end_offset(), to_ms(rt_.now()));
        note_high_watermark(*q, q->leader_state->high_watermark());
      }
      return;
    }
    if (reply.error == ErrorCode::new_leader_elected) {
      // The change was committed, and it completed a reassignment that moved leadership away: the
      // metadata making this replica a follower is on its way.
      q->leader_state->isr_change_failed();
      return;
    }
    // Kafka keeps the change pending on errors that newer metadata will settle, and forgets it on
    // the others; either way the next check proposes again from what the metadata then says.
    q->leader_state->isr_change_failed();
    q->isr_retry_at = rt_.now() + isr_retry_backoff;
    rt_.trace("IsrChangeRefused").detail("Partition", request.tp.to_string())
        .detail("Error", protocol::error_name(reply.error));
  });
  auto& executor = rt_.executor();
  std::erase_if(tasks_, [&](TaskRef t) { return !executor.alive(t); });
  tasks_.push_back(task);
}

// ---- the follower's side ----

bool ReplicaManager::follower_current(const Partition& p, std::uint64_t generation) const {
  return !stopping_ && p.role == Role::follower && p.generation == generation;
}

void ReplicaManager::fetch_loop(TopicPartition tp, std::uint64_t generation) {
  LeaderLink link(rt_, options_.request_timeout);
  bool truncated = false;  // this epoch's truncation is done: fetch
  for (;;) {
    Partition* p = find(tp);
    if (p == nullptr || !follower_current(*p, generation)) return;
    Error failure;
    if (!truncated) {
      auto st = truncate_for_leader_epoch(*p, generation, link);
      truncated = st.ok();
      if (truncated) continue;
      failure = st.error();
    } else {
      auto fetched = fetch_once(*p, generation, link);
      if (fetched) {
        truncated = *fetched;  // false: a diverging epoch wants another truncation round
        continue;
      }
      failure = fetched.error();
    }
    rt_.trace("ReplicaFetchFailed").detail("Partition", tp.to_string()).detail("Error", failure.message);
    link.reset();
    truncated = false;
    rt_.sleep_for(options_.replica_fetch_backoff);
  }
}

Status ReplicaManager::truncate_to(Partition& p, std::int64_t offset, std::string_view why) {
  if (offset >= p.log->log_end_offset()) return {};
  rt_.trace("ReplicaTruncate").detail("Partition", p.tp.to_string()).detail("From", p.log->log_end_offset())
      .detail("To", offset).detail("Why", why);
  if (auto st = p.log->truncate_to(offset); !st) return st;
  if (p.cache.truncate_from_end(offset)) save_epoch_cache(p);
  if (p.high_watermark > offset) {
    p.high_watermark = offset;
    p.log->set_high_watermark(offset);
  }
  return {};
}

// Asks the leader where this replica's latest epoch ends and truncates to it, round after round
// until the logs agree on a prefix (KIP-101, KIP-279).
Status ReplicaManager::truncate_for_leader_epoch(Partition& p, std::uint64_t generation, LeaderLink& link) {
  const auto address = hooks_.broker_address(p.leader);
  if (!address) return make_error(Errc::refused, fmt::format("leader {} has no known address", p.leader));
  for (int round = 0; round < options_.truncation_rounds_max; ++round) {
    const auto latest = p.cache.latest_epoch();
    if (!latest) {
      // No epochs known (an empty log, or one written before epochs were tracked): the high
      // watermark is all that is known to be safe.
      Mutex::Guard guard(p.mutex);
      if (!follower_current(p, generation)) return {};
      return truncate_to(p, p.high_watermark, "no leader epochs");
    }
    auto conn = link.get(*address);
    if (!conn) return conn.error();
    protocol::OffsetForLeaderEpochRequest request;
    request.replica_id = options_.broker_id;
    request.topics.push_back({p.tp.topic, {{p.tp.partition, p.leader_epoch, *latest}}});
    auto response = (*conn)->call<protocol::OffsetForLeaderEpochResponse>(request, 4);
    if (!response) return response.error();
    if (response->topics.size() != 1 || response->topics[0].partitions.size() != 1) {
      return make_error(Errc::invalid_argument, "OffsetForLeaderEpoch answered for other partitions");
    }
    const auto& answer = response->topics[0].partitions[0];
    if (answer.error_code != 0) return protocol_error(static_cast<ErrorCode>(answer.error_code), "OffsetForLeaderEpoch");
    Mutex::Guard guard(p.mutex);
    if (!follower_current(p, generation)) return {};
    const TruncationStep step = follower_truncation(p.cache, p.log->log_end_offset(), p.high_watermark,
                                                    EpochEndOffset{answer.leader_epoch, answer.end_offset});
    if (auto st = truncate_to(p, step.offset, fmt::format("leader epoch {} ends at {}", answer.leader_epoch, answer.end_offset)); !st) {
      return st;
    }
    if (step.complete) return {};
  }
  return make_error(Errc::refused, fmt::format("no common log prefix after {} rounds", options_.truncation_rounds_max));
}

Result<bool> ReplicaManager::fetch_once(Partition& p, std::uint64_t generation, LeaderLink& link) {
  const auto address = hooks_.broker_address(p.leader);
  if (!address) return make_error(Errc::refused, fmt::format("leader {} has no known address", p.leader));
  auto conn = link.get(*address);
  if (!conn) return conn.error();
  // Connecting may have waited: the replica may have been stopped or deleted meanwhile.
  if (!follower_current(p, generation) || p.log == nullptr) return true;
  protocol::FetchRequest request;
  request.replica_id = options_.broker_id;
  request.max_wait_ms = static_cast<std::int32_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(options_.replica_fetch_wait_max).count());
  request.min_bytes = 1;
  request.max_bytes = options_.replica_fetch_max_bytes;
  protocol::FetchRequest::FetchPartition part;
  part.partition = p.tp.partition;
  part.current_leader_epoch = p.leader_epoch;
  part.fetch_offset = p.log->log_end_offset();
  part.last_fetched_epoch = p.cache.latest_epoch().value_or(-1);
  part.log_start_offset = p.log->log_start_offset();
  part.partition_max_bytes = options_.replica_fetch_max_bytes;
  request.topics.push_back({p.tp.topic, {part}});
  const std::int64_t fetch_offset = part.fetch_offset;
  auto response = (*conn)->call<protocol::FetchResponse>(request, 12);
  if (!response) return response.error();
  if (response->error_code != 0) return protocol_error(static_cast<ErrorCode>(response->error_code), "Fetch");
  if (response->responses.size() != 1 || response->responses[0].partitions.size() != 1) {
    return make_error(Errc::invalid_argument, "Fetch answered for other partitions");
  }
  const auto& data = response->responses[0].partitions[0];
  if (data.error_code == static_cast<std::int16_t>(ErrorCode::offset_out_of_range) && fetch_offset < data.log_start_offset) {
    // The leader no longer has what this replica lacks (retention took it; a replica that has just
    // joined starts empty): start over at the leader's log start (Kafka's truncateFullyAndStartAt).
    Mutex::Guard guard(p.mutex);
    if (!follower_current(p, generation) || p.log->log_end_offset() != fetch_offset) return true;
    rt_.trace("ReplicaStartOver").detail("Partition", p.tp.to_string()).detail("From", fetch_offset)
        .detail("LeaderLogStart", data.log_start_offset);
    if (auto st = p.log->restart_at(data.log_start_offset); !st) return st.error();
    p.cache = LeaderEpochCache{};
    save_epoch_cache(p);
    note_high_watermark(p, std::max(p.high_watermark, data.log_start_offset));
    return true;
  }
  if (data.error_code != 0) return protocol_error(static_cast<ErrorCode>(data.error_code), "Fetch");
  Mutex::Guard guard(p.mutex);
  if (!follower_current(p, generation) || p.log->log_end_offset() != fetch_offset) return true;
  if (data.diverging_epoch.end_offset >= 0) {
    const TruncationStep step = follower_truncation(p.cache, p.log->log_end_offset(), p.high_watermark,
                                                    EpochEndOffset{data.diverging_epoch.epoch, data.diverging_epoch.end_offset});
    if (auto st = truncate_to(p, step.offset, "diverging epoch"); !st) return st.error();
    return step.complete;  // not complete: ask OffsetForLeaderEpoch again before fetching
  }
  if (data.records && !data.records->empty()) {
    const auto scan = protocol::scan_batches(*data.records, false);
    if (scan.corruption) return make_error(Errc::corrupt, scan.corruption->message);
    if (scan.valid_bytes > 0) {
      const std::span<const std::uint8_t> whole(data.records->data(), scan.valid_bytes);
      auto appended = p.log->append_as_follower(whole);
      if (!appended) return appended.error();
      record_epochs(p, whole);
    }
  }
  const std::int64_t hw = std::min(data.high_watermark, p.log->log_end_offset());
  if (hw > p.high_watermark) note_high_watermark(p, hw);
  return true;
}

// ---- checkpoints and status ----

void ReplicaManager::checkpoint_loop() {
  while (!stopping_) {
    rt_.sleep_for(options_.high_watermark_checkpoint_interval);
    if (auto st = write_high_watermarks(); !st) {
      rt_.trace("HighWatermarkCheckpointFailed", Severity::warn).detail("Error", st.error().message);
    }
  }
}

Status ReplicaManager::write_high_watermarks() {
  std::map<std::string, storage::OffsetCheckpoint> by_dir;
  for (const auto& dir : log_dirs_) by_dir[dir];
  for (const auto& [tp, p] : partitions_) {
    if (p->log == nullptr) continue;
    for (const auto& dir : log_dirs_) {
      if (p->log->dir().rfind(dir, 0) == 0) by_dir[dir][tp] = p->high_watermark;
    }
  }
  for (const auto& [dir, entries] : by_dir) {
    if (auto st = storage::write_offset_checkpoint(rt_.disk(), dir + "/" + std::string(replication_offset_checkpoint_file), entries); !st) {
      return st;
    }
  }
  return {};
}

std::optional<ReplicaStatus> ReplicaManager::status(const TopicPartition& tp) const {
  const Partition* p = find(tp);
  if (p == nullptr || p->log == nullptr || p->role == Role::none) return std::nullopt;
  ReplicaStatus s;
  s.tp = tp;
  s.leader = p->role == Role::leader;
  s.leader_id = p->leader;
  s.leader_epoch = p->leader_epoch;
  s.high_watermark = p->high_watermark;
  s.log_start = p->log->log_start_offset();
  s.log_end = p->log->log_end_offset();
  if (p->leader_state) s.isr = p->leader_state->isr();
  return s;
}

std::vector<ReplicaStatus> ReplicaManager::status() const {
  std::vector<ReplicaStatus> out;
  for (const auto& [tp, p] : partitions_) {
    if (auto s = status(tp)) out.push_back(*s);
  }
  return out;
}

bool ReplicaManager::is_leader(const TopicPartition& tp) const {
  const Partition* p = find(tp);
  return p != nullptr && p->role == Role::leader;
}

}  // namespace keel::partition
