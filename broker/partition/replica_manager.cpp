#include "broker/partition/replica_manager.h"
#include "broker/base/coverage.h"

#include <fmt/format.h>

#include <algorithm>

#include "broker/base/assert.h"
#include "broker/metadata/image.h"
#include "broker/metadata/quorum.h"
#include "broker/protocol/record_batch.h"
#include "broker/storage/checkpoint.h"

namespace keel::partition {

namespace {

// BUGGIFY produce_high_watermark_late holds the high watermark back by at most this.
constexpr std::int64_t high_watermark_late_ms_max = 50;

}  // namespace

std::optional<Address> broker_address(const metadata::MetadataImage& image, BrokerId broker, std::string_view listener) {
  const auto* reg = image.broker(broker);
  if (reg == nullptr || reg->endpoints.empty()) return std::nullopt;
  for (const auto& e : reg->endpoints) {
    if (e.listener == listener) return Address{e.host, e.port};
  }
  return Address{reg->endpoints.front().host, reg->endpoints.front().port};
}

ReplicaManager::ReplicaManager(Runtime& rt, ReplicaManagerOptions options, storage::LogManager& logs,
                               metadata::Quorum& quorum)
    : rt_(rt), options_(std::move(options)), logs_(logs), quorum_(quorum) {
  KEEL_ASSERT_GE(options_.broker_id, 0);
  timer_ = std::make_unique<purgatory::SystemTimer>(rt_);
  fetch_purgatory_ = std::make_unique<purgatory::DelayedOperationPurgatory>("Fetch", *timer_);
}

ReplicaManager::~ReplicaManager() {
  stopping_ = true;
  for (auto& [leader, fetcher] : fetchers_) fetcher->cancel();
  auto& executor = rt_.executor();
  const TaskRef self = Executor::current_task();
  for (auto it = tasks_.rbegin(); it != tasks_.rend(); ++it) {
    if (it->id != self.id && executor.alive(*it)) executor.cancel(*it);
  }
  timer_->shutdown();
}

std::int64_t ReplicaManager::now_ms() const { return to_ms(rt_.now().time_since_epoch()); }

void ReplicaManager::track(TaskRef task) {
  auto& executor = rt_.executor();
  std::erase_if(tasks_, [&](TaskRef t) { return !executor.alive(t); });
  tasks_.push_back(task);
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
  track(rt_.spawn("replica-isr", [this] { isr_loop(); }));
  track(rt_.spawn("replica-hw-checkpoint", [this] { checkpoint_loop(); }));
}

Status ReplicaManager::shutdown() {
  stopping_ = true;
  for (auto& [leader, fetcher] : fetchers_) fetcher->cancel();
  fetchers_.clear();
  for (auto& [tp, p] : partitions_) p->stop();
  auto st = write_high_watermarks();
  // The loops would only notice at their next wake-up; a clean stop ends them now.
  auto& executor = rt_.executor();
  const TaskRef self = Executor::current_task();
  for (auto it = tasks_.rbegin(); it != tasks_.rend(); ++it) {
    if (it->id != self.id && executor.alive(*it)) executor.cancel(*it);
  }
  tasks_.clear();
  timer_->shutdown();
  return st;
}

// ---- partitions and the metadata ----

std::shared_ptr<Partition> ReplicaManager::find(const TopicPartition& tp) const {
  auto it = partitions_.find(tp);
  return it == partitions_.end() ? nullptr : it->second;
}

// The broker's log settings (server.properties), then the dynamic broker configs (the cluster-wide
// default, then this broker's own), then the topic's configs.
storage::LogConfig ReplicaManager::log_config(const std::map<std::string, std::string>& topic_configs) const {
  storage::LogConfig defaults = options_.log_defaults;
  const auto& image = quorum_.image();
  for (const std::string& broker : {std::string(), std::to_string(options_.broker_id.value)}) {
    // The controller took only values the alter path validated; a key this broker does not know
    // (a newer node's) leaves the settings as they were.
    if (auto with = config::apply_broker_configs(defaults, image.broker_configs(broker))) defaults = *with;
  }
  auto config = config::apply_topic_configs(defaults, topic_configs);
  // The controller validated the configs before committing them; a key this broker does not know
  // (a newer node's) falls back to the broker's settings rather than stopping the partition.
  return config ? *config : defaults;
}

LeaderSettings ReplicaManager::leader_settings(const std::string& topic) const {
  LeaderSettings s;
  const auto* t = quorum_.image().topic(topic);
  s.min_insync_replicas = log_config(t != nullptr ? t->configs : std::map<std::string, std::string>{}).min_insync_replicas;
  s.replica_lag_time_max_ms = options_.replica_lag_time_max_ms;
  s.isr_eligible = isr_eligible();
  return s;
}

std::function<bool(BrokerId, std::int64_t)> ReplicaManager::isr_eligible() const {
  return [&image = quorum_.image()](BrokerId id, std::int64_t epoch) {
    const auto* reg = image.broker(id);
    return reg != nullptr && reg->active() && (epoch < 0 || epoch == reg->epoch);
  };
}

std::shared_ptr<Partition> ReplicaManager::open(const TopicPartition& tp, const storage::LogConfig& config) {
  if (auto p = find(tp)) return p;
  auto log = logs_.create(tp, config);
  if (!log) {
    rt_.trace("ReplicaOpenFailed", Severity::warn).detail("Partition", tp.to_string()).detail("Error", log.error().message);
    return nullptr;
  }
  // Opening may have waited (disk): another task may have opened it meanwhile.
  if (auto p = find(tp)) return p;
  std::optional<std::int64_t> hw;
  for (const auto& [dir, values] : hw_checkpoints_) {
    if ((*log)->dir().rfind(dir, 0) != 0) continue;
    if (auto it = values.find(tp); it != values.end()) hw = it->second;
  }
  std::shared_ptr<Partition> p = Partition::open(rt_, tp, options_.broker_id, **log, hw);
  if (auto existing = find(tp)) return existing;
  partitions_.emplace(tp, p);
  return p;
}

std::vector<RoleChange> ReplicaManager::apply_image(const metadata::MetadataImage& image) {
  std::vector<RoleChange> changes;
  if (stopping_) return changes;
  std::set<TopicPartition> held;
  for (const auto& [id, topic] : image.topics()) {
    const storage::LogConfig config = log_config(topic.configs);
    for (const auto& [index, partition] : topic.partitions) {
      if (!metadata::contains(partition.replicas, options_.broker_id)) continue;
      const TopicPartition tp{topic.name, index};
      held.insert(tp);
      auto change = apply_assignment(PartitionAssignment{tp, partition.replicas, partition.isr, partition.leader,
                                                         partition.leader_epoch, partition.partition_epoch},
                                     config);
      if (change) changes.push_back(*change);
      if (stopping_) return changes;
    }
  }
  // Partitions held here that the image no longer gives this broker: deleted topics, replicas
  // reassigned away. (Collected first: removing waits on the disk.)
  std::vector<TopicPartition> gone;
  for (const auto& [tp, p] : partitions_) {
    if (!held.contains(tp)) gone.push_back(tp);
  }
  for (const auto& tp : gone) {
    changes.push_back(RoleChange{tp, false, -1});
    remove(tp, "no longer a replica here");
  }
  if (!strays_removed_) {
    remove_strays(held);
    strays_removed_ = true;
  }
  KEEL_ASSERT_GE(image.last_applied_offset(), published_offset_);
  published_offset_ = image.last_applied_offset();
  published_.notify_all();
  return changes;
}

std::optional<RoleChange> ReplicaManager::apply_assignment(const PartitionAssignment& a,
                                                           const storage::LogConfig& config) {
  auto p = find(a.tp);
  if (p && a.partition_epoch == p->partition_epoch()) {
    p->log().set_config(config);  // topic configs change without a partition change
    if (p->role() == Role::leader) p->mutable_leader_state().set_min_insync_replicas(config.min_insync_replicas);
    return std::nullopt;
  }
  if (!p) p = open(a.tp, config);
  if (!p) return std::nullopt;
  p->log().set_config(config);
  Partition::Applied applied;
  {
    Mutex::Guard guard(p->mutex());
    if (find(a.tp) != p) return std::nullopt;  // removed while waiting for the lock
    applied = a.leader == options_.broker_id ? p->become_leader(a, leader_settings(a.tp.topic), now_ms())
                                             : p->become_follower(a);
  }
  after_role_change(p, applied);
  if (applied == Partition::Applied::became_leader) return RoleChange{a.tp, true, p->leader_epoch()};
  if (applied == Partition::Applied::became_follower) return RoleChange{a.tp, false, p->leader_epoch()};
  return std::nullopt;
}

void ReplicaManager::after_role_change(const std::shared_ptr<Partition>& p, Partition::Applied applied) {
  switch (applied) {
    case Partition::Applied::stale:
    case Partition::Applied::unchanged: return;
    case Partition::Applied::replicas_changed: break;
    case Partition::Applied::became_leader: unfollow(p->tp()); break;
    case Partition::Applied::became_follower:
      unfollow(p->tp());
      follow(p);
      break;
  }
  isr_in_flight_.erase(p->tp());
  wake_fetches(p->tp());
}

// Logs found at start-up that the image gives to no replica here (their topic was deleted, or they
// were reassigned away, while this broker was down), as Kafka deletes stray partitions.
void ReplicaManager::remove_strays(const std::set<TopicPartition>& held) {
  for (const auto& tp : logs_.partitions()) {
    if (held.contains(tp)) continue;
    KEEL_SOMETIMES("partition.replica.stray_removed_at_start");
    rt_.trace("StrayPartitionRemoved", Severity::warn).detail("Partition", tp.to_string());
    if (auto st = logs_.remove(tp); !st) {
      rt_.trace("ReplicaDeleteFailed", Severity::warn).detail("Partition", tp.to_string()).detail("Error", st.error().message);
    }
  }
}

void ReplicaManager::remove(const TopicPartition& tp, std::string_view why) {
  auto p = find(tp);
  if (!p) return;
  {
    Mutex::Guard guard(p->mutex());
    p->stop();
  }
  unfollow(tp);
  partitions_.erase(tp);
  isr_in_flight_.erase(tp);
  isr_retry_at_.erase(tp);
  wake_fetches(tp);
  // Whatever comes back here (a topic of the same name, a reassignment back to this broker)
  // starts from its own log and epochs.
  if (auto st = logs_.remove(tp); !st) {
    rt_.trace("ReplicaDeleteFailed", Severity::warn).detail("Partition", tp.to_string()).detail("Error", st.error().message);
    return;
  }
  KEEL_SOMETIMES("partition.replica.deleted");
  rt_.trace("ReplicaDeleted").detail("Partition", tp.to_string()).detail("LeaderEpoch", p->leader_epoch()).detail("Why", why);
}

void ReplicaManager::follow(const std::shared_ptr<Partition>& p) {
  if (p->leader() < 0 || stopping_) return;  // no leader to fetch from yet
  auto& fetcher = fetchers_[p->leader()];
  if (!fetcher) {
    FetcherOptions o;
    o.self = options_.broker_id;
    o.leader = p->leader();
    o.listener = options_.inter_broker_listener;
    o.wait_max = options_.replica_fetch_wait_max;
    o.fetch_max_bytes = options_.replica_fetch_max_bytes;
    o.backoff = options_.replica_fetch_backoff;
    o.request_timeout = options_.request_timeout;
    o.truncation_rounds_max = options_.truncation_rounds_max;
    fetcher = std::make_shared<ReplicaFetcher>(rt_, o, quorum_.image());
    fetcher->start();
  }
  fetcher->add(p);
}

void ReplicaManager::unfollow(const TopicPartition& tp) {
  for (auto it = fetchers_.begin(); it != fetchers_.end();) {
    it->second->remove(tp);
    if (it->second->empty()) {
      it->second->stop();  // its task ends on its own; it holds the fetcher until then
      it = fetchers_.erase(it);
    } else {
      ++it;
    }
  }
}

void ReplicaManager::wake_fetches(const TopicPartition& tp) { fetch_purgatory_->check_and_complete(tp.to_string()); }

// ---- produce ----

LeaderAppend ReplicaManager::append(const TopicPartition& tp, protocol::Bytes batch, const protocol::BatchScan& scan,
                                    std::int16_t acks, std::int32_t required_leader_epoch) {
  auto p = find(tp);
  if (!p || p->role() != Role::leader) {
    return LeaderAppend{!p ? ReplicaError::unknown_partition : ReplicaError::not_leader,
                        fmt::format("broker {} does not lead {}", options_.broker_id, tp.to_string()), {}, -1};
  }
  // BUGGIFY produce_high_watermark_late: the high watermark moves a while after the append, as it
  // does when followers are slow to fetch. Meanwhile the log end is past the high watermark:
  // fetches must serve up to the high watermark only, and a fetch woken by another append must not
  // count the bytes above it.
  const bool late = KEEL_BUGGIFY(rt_, "produce_high_watermark_late");
  LeaderAppend out = append_locked(*p, std::move(batch), scan, acks, !late, required_leader_epoch);
  if (out.error == ReplicaError::none && late) {
    rt_.sleep_for(std::chrono::milliseconds(rt_.random().between(1, high_watermark_late_ms_max)));
    Mutex::Guard guard(p->mutex());
    if (p->role() == Role::leader && p->leader_epoch() == out.leader_epoch) p->maybe_advance_high_watermark(now_ms());
  }
  if (out.error == ReplicaError::none) wake_fetches(tp);  // once per append: the log end moved, and the high watermark
  return out;
}

LeaderAppend ReplicaManager::append_locked(Partition& p, protocol::Bytes batch, const protocol::BatchScan& scan,
                                           std::int16_t acks, bool advance_high_watermark,
                                           std::int32_t required_leader_epoch) {
  LeaderAppend out;
  Mutex::Guard guard(p.mutex());
  if (p.role() != Role::leader || (required_leader_epoch >= 0 && p.leader_epoch() != required_leader_epoch)) {
    out.error = ReplicaError::not_leader;
    out.message = fmt::format("broker {} lost the leadership of {}", options_.broker_id, p.tp().to_string());
    return out;
  }
  if (acks == -1 && p.leader_state()->acks_all_before_append() == AcksAll::not_enough_replicas) {
    out.error = ReplicaError::not_enough_replicas;
    out.message = fmt::format("the ISR of {} ({} members) is below min.insync.replicas {}", p.tp().to_string(),
                              p.leader_state()->isr().size(), p.leader_state()->effective_min_isr());
    return out;
  }
  const std::int32_t max_message_bytes = p.log().config().max_message_bytes;
  if (batch.size() > static_cast<std::size_t>(max_message_bytes)) {
    out.error = ReplicaError::record_too_large;
    out.message = fmt::format("batch of {} bytes is above max.message.bytes {}", batch.size(), max_message_bytes);
    return out;
  }
  const std::int32_t epoch = p.leader_epoch();
  auto appended = p.append_as_leader(std::move(batch), scan, now_ms(), advance_high_watermark);
  if (!appended) {
    // The log refuses what no append could take (an append above segment.bytes) as invalid, and a
    // timestamp out of the topic's bounds; any other failure is the disk's.
    out.error = appended.error().code == Errc::invalid_argument    ? ReplicaError::invalid_record
                : appended.error().code == Errc::invalid_timestamp ? ReplicaError::invalid_timestamp
                                                                   : ReplicaError::storage;
    out.message = appended.error().message;
    return out;
  }
  out.result = *appended;
  out.leader_epoch = epoch;
  return out;
}

ReplicaError ReplicaManager::wait_for_acks(const TopicPartition& tp, std::int64_t required_offset,
                                           std::int32_t leader_epoch, Instant deadline) {
  auto p = find(tp);
  if (!p) return ReplicaError::not_leader;
  for (;;) {
    if (p->role() != Role::leader || p->leader_epoch() != leader_epoch) return ReplicaError::not_leader;
    switch (p->acks_after_append(required_offset)) {
      case AcksAll::ok: return ReplicaError::none;
      case AcksAll::not_enough_after_append: return ReplicaError::not_enough_replicas_after_append;
      case AcksAll::not_enough_replicas: return ReplicaError::not_enough_replicas;
      case AcksAll::wait: break;
    }
    if (!p->changed().wait(deadline)) return ReplicaError::timed_out;
  }
}

// ---- list offsets and epochs ----

namespace {

// The first record at or after `timestamp` below `max_offset`: (offset, its timestamp), or
// (-1, -1) when none. The time index finds the batch; the batch's records find the record.
Result<std::pair<std::int64_t, std::int64_t>> find_offset_for_timestamp(storage::Log& log, std::int64_t timestamp,
                                                                        std::int64_t max_offset) {
  const std::pair<std::int64_t, std::int64_t> none{-1, -1};
  auto found = log.offset_for_timestamp(timestamp);
  if (!found) return found.error();
  if (!found->has_value()) return none;
  auto read = log.read(**found, 1, max_offset, true);
  if (!read) return read.error();
  const auto scan = protocol::scan_batches(read->records, false);
  for (const auto& [position, header] : scan.batches) {
    const std::span<const std::uint8_t> batch(read->records.data() + position, header.size_bytes());
    auto records = protocol::decode_records(batch);
    if (!records) return records.error();
    for (const auto& record : *records) {
      if (record.offset >= **found && record.timestamp >= timestamp) return std::pair{record.offset, record.timestamp};
    }
  }
  return none;
}

// The record with the largest timestamp in the whole log, the first such when several share it
// (Kafka's MAX_TIMESTAMP since KIP-734's fix): (offset, timestamp), or (-1, -1) when no record has
// a timestamp. Kafka answers from the segments' max timestamps over the whole log, then hides an
// answer at or above the high watermark; a scan of the log gives the same record.
Result<std::pair<std::int64_t, std::int64_t>> find_max_timestamp(storage::Log& log, std::int64_t high_watermark) {
  std::pair<std::int64_t, std::int64_t> best{-1, -1};
  constexpr std::int32_t chunk_bytes = 1 << 20;
  for (std::int64_t offset = log.log_start_offset(); offset < log.log_end_offset();) {
    auto read = log.read(offset, chunk_bytes, log.log_end_offset(), true);
    if (!read) return read.error();
    const auto scan = protocol::scan_batches(read->records, false);
    if (scan.batches.empty()) break;
    for (const auto& [position, header] : scan.batches) {
      const std::span<const std::uint8_t> batch(read->records.data() + position, header.size_bytes());
      auto records = protocol::decode_records(batch);
      if (!records) return records.error();
      for (const auto& record : *records)
        if (record.offset >= offset && record.timestamp > best.second) best = {record.offset, record.timestamp};
      offset = header.last_offset() + 1;
    }
  }
  if (best.first >= high_watermark) return std::pair<std::int64_t, std::int64_t>{-1, -1};
  return best;
}

}  // namespace

OffsetLookup ReplicaManager::list_offset(const TopicPartition& tp, std::int32_t current_leader_epoch,
                                         std::int64_t timestamp) {
  OffsetLookup out;
  auto p = find(tp);
  if (!p) {
    out.error = ReplicaError::unknown_partition;
    return out;
  }
  out.error = p->check_leader(current_leader_epoch);
  // Only the leader answers; a new one only once its high watermark reached its epoch's start
  // (before, it could answer a latest offset below what the old leader answered).
  if (out.error == ReplicaError::none && !p->leader_ready_for_consumers()) out.error = ReplicaError::not_leader;
  if (out.error != ReplicaError::none) return out;
  out.leader_epoch = p->leader_epoch();
  storage::Log& log = p->log();
  if (timestamp == latest_timestamp) {
    out.offset = p->high_watermark();
  } else if (timestamp == earliest_timestamp || timestamp == earliest_local_timestamp) {
    out.offset = log.log_start_offset();  // no tiered storage: the local log is the whole log
  } else if (timestamp == latest_tiered_timestamp) {
    out.leader_epoch = -1;  // nothing is tiered: Kafka answers offset -1 at epoch -1
  } else if (auto found = timestamp == max_timestamp ? find_max_timestamp(log, p->high_watermark())
                                                     : find_offset_for_timestamp(log, timestamp, p->high_watermark());
             !found) {
    out.error = found.error().code == Errc::corrupt ? ReplicaError::corrupt_record : ReplicaError::storage;
  } else {
    out.offset = found->first;
    out.timestamp = found->second;
  }
  return out;
}

// ---- delete records ----

namespace {

// The least log start among the leader and its followers on live brokers (as the image says).
std::int64_t low_watermark(const Partition& p, const metadata::MetadataImage& image) {
  return p.leader_state()->low_watermark(p.log().log_start_offset(), [&](BrokerId id) {
    const auto* b = image.broker(id);
    return b != nullptr && !b->fenced;
  });
}

}  // namespace

RecordsDeletion ReplicaManager::delete_records(const TopicPartition& tp, std::int64_t offset) {
  RecordsDeletion out;
  auto p = find(tp);
  if (!p) {
    out.error = ReplicaError::unknown_partition;
    return out;
  }
  Mutex::Guard guard(p->mutex());
  out.error = p->check_leader(-1);
  if (out.error != ReplicaError::none) return out;
  const std::int64_t target = offset == delete_to_high_watermark ? p->high_watermark() : offset;
  if (target < 0 || target > p->high_watermark()) {
    out.error = ReplicaError::offset_out_of_range;
    return out;
  }
  if (auto st = p->delete_records_to(target); !st) {
    out.error = ReplicaError::storage;
    return out;
  }
  rt_.trace("RecordsDeleted").detail("tp", tp).detail("LogStartOffset", p->log().log_start_offset());
  KEEL_SOMETIMES("partition.leader.records_deleted");
  out.offset = target;
  out.low_watermark = low_watermark(*p, quorum_.image());
  wake_fetches(tp);  // long-polling followers answer sooner with the new log start
  return out;
}

RecordsDeletion ReplicaManager::wait_for_low_watermark(const TopicPartition& tp, std::int64_t offset, Instant deadline) {
  RecordsDeletion out;
  out.offset = offset;
  auto p = find(tp);
  if (!p) {
    out.error = ReplicaError::not_leader;
    return out;
  }
  const std::int32_t epoch = p->leader_epoch();
  for (;;) {
    if (p->role() != Role::leader || p->leader_epoch() != epoch) {
      out.error = ReplicaError::not_leader;
      return out;
    }
    out.low_watermark = low_watermark(*p, quorum_.image());
    if (out.low_watermark >= offset) return out;
    if (!p->changed().wait(deadline)) {
      out.error = ReplicaError::timed_out;
      return out;
    }
  }
}

std::pair<ReplicaError, EpochEndOffset> ReplicaManager::end_offset_for(const TopicPartition& tp,
                                                                       std::int32_t current_leader_epoch,
                                                                       std::int32_t requested_epoch) {
  auto p = find(tp);
  if (!p) return {ReplicaError::unknown_partition, {}};
  if (auto error = p->check_leader(current_leader_epoch); error != ReplicaError::none) return {error, {}};
  return {ReplicaError::none, p->end_offset_for(requested_epoch)};
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
    for (const auto& dir : log_dirs_) {
      if (p->log().dir().rfind(dir, 0) == 0) by_dir[dir][tp] = p->high_watermark();
    }
  }
  for (const auto& [dir, entries] : by_dir) {
    const std::string path = dir + "/" + std::string(replication_offset_checkpoint_file);
    if (auto st = storage::write_offset_checkpoint(rt_.disk(), path, entries); !st) return st;
  }
  return {};
}

std::optional<ReplicaStatus> ReplicaManager::status(const TopicPartition& tp) const {
  auto p = find(tp);
  if (!p || p->role() == Role::none) return std::nullopt;
  ReplicaStatus s;
  s.tp = tp;
  s.leader = p->role() == Role::leader;
  s.leader_id = p->leader();
  s.leader_epoch = p->leader_epoch();
  s.high_watermark = p->high_watermark();
  s.log_start = p->log().log_start_offset();
  s.log_end = p->log_end_offset();
  if (p->leader_state()) s.isr = p->leader_state()->isr();
  return s;
}

std::vector<LogDirReplicas> ReplicaManager::log_dirs() const {
  std::vector<LogDirReplicas> out;
  for (const auto& dir : log_dirs_) {
    auto& mine = out.emplace_back();
    mine.dir = dir;
    for (const auto& [tp, p] : partitions_) {
      if (p->role() == Role::none || p->log().dir().rfind(dir, 0) != 0) continue;
      const std::int64_t lag = std::max<std::int64_t>(p->high_watermark() - p->log_end_offset(), 0);
      mine.replicas.push_back({tp, p->log().size_bytes(), lag});
    }
  }
  return out;
}

std::vector<ReplicaStatus> ReplicaManager::status() const {
  std::vector<ReplicaStatus> out;
  for (const auto& [tp, p] : partitions_) {
    if (auto s = status(tp)) out.push_back(*s);
  }
  return out;
}

bool ReplicaManager::is_leader(const TopicPartition& tp) const {
  auto p = find(tp);
  return p && p->role() == Role::leader;
}

}  // namespace keel::partition
