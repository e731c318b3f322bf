#include "broker/storage/log_manager.h"

#include <fmt/format.h>

#include <algorithm>

#include "broker/storage/checkpoint.h"

namespace keel::storage {

namespace {

constexpr std::string_view future_dir_suffix = "-future";
constexpr std::string_view stray_dir_suffix = "-stray";

}  // namespace

LogManager::LogManager(keel::Runtime& rt, Options options) : rt_(rt), options_(std::move(options)) {}

LogManager::~LogManager() {
  // Tasks still alive (no shutdown()) would outlive what they point at. Inside a dying process
  // they are gone already (the executor cancels newest first), and cancel() ignores them.
  for (const auto& ref : task_refs_) rt_.executor().cancel(ref);
}

keel::Result<std::unique_ptr<LogManager>> LogManager::open(keel::Runtime& rt, Options options) {
  if (options.log_dirs.empty()) return make_error(Errc::invalid_argument, "log manager: no log dirs");
  std::unique_ptr<LogManager> m(new LogManager(rt, std::move(options)));
  for (const auto& log_dir : m->options_.log_dirs) {
    if (auto st = m->load_dir(log_dir); !st) return st.error();
  }
  std::sort(m->report_.partitions.begin(), m->report_.partitions.end(),
            [](const PartitionRecovery& a, const PartitionRecovery& b) { return a.tp < b.tp; });
  KEEL_ASSERT_EQ(m->report_.partitions.size(), m->logs_.size());  // one report per log loaded
  for (const auto& p : m->report_.partitions) {
    m->report_.bytes_truncated += p.info.bytes_truncated;
    m->report_.segments_deleted += p.info.segments_deleted;
    m->report_.problems += static_cast<int>(p.info.problems.size());
  }
  rt.trace("LogManagerLoaded")
      .detail("partitions", m->logs_.size())
      .detail("unclean_dirs", m->report_.unclean_dirs.size())
      .detail("problems", m->report_.problems)
      .detail("bytes_truncated", m->report_.bytes_truncated);
  return m;
}

keel::Result<OffsetCheckpoint> LogManager::read_checkpoint(const std::string& log_dir, std::string_view name) {
  auto cp = read_offset_checkpoint(rt_.disk(), join_path(log_dir, std::string(name)));
  if (cp || cp.code() != Errc::corrupt) return cp;
  // Kafka treats an unreadable checkpoint as empty: recovery from offset 0, log start from the
  // first segment. Slower, never wrong.
  report_.messages.push_back(cp.error().message);
  rt_.trace("LogCheckpointUnreadable", Severity::warn).detail("error", cp.error().message);
  return OffsetCheckpoint{};
}

keel::Status LogManager::load_dir(const std::string& log_dir) {
  if (auto st = make_dir_durable(rt_.disk(), log_dir); !st) return st;
  const std::string marker = join_path(log_dir, std::string(clean_shutdown_file));
  auto clean = rt_.disk().exists(marker);
  if (!clean) return clean.error();
  if (*clean) {
    // Gone before anything is loaded: a crash from here on is an unclean shutdown (KAFKA-10471).
    if (auto st = rt_.disk().remove(marker); !st) return st;
    if (auto st = rt_.disk().sync_dir(log_dir); !st) return st;
  }
  auto names = rt_.disk().list(log_dir);
  if (!names) return names.error();
  // A dir without a partition log (a brand-new one) has nothing to recover: it reports as clean.
  const bool holds_logs = std::any_of(names->begin(), names->end(), [](const std::string& name) {
    return parse_partition_dir_name(name).ok();
  });
  (*clean || !holds_logs ? report_.clean_dirs : report_.unclean_dirs).push_back(log_dir);
  auto recovery_points = read_checkpoint(log_dir, recovery_point_checkpoint_file);
  if (!recovery_points) return recovery_points.error();
  auto log_starts = read_checkpoint(log_dir, log_start_offset_checkpoint_file);
  if (!log_starts) return log_starts.error();
  for (const auto& name : *names) {
    if (ends_with(name, delete_dir_suffix)) {
      DirDelete d;
      d.due = rt_.now() + std::chrono::milliseconds(options_.defaults.file_delete_delay_ms);
      d.path = join_path(log_dir, name);
      dir_deletes_.push_back(std::move(d));
      continue;
    }
    if (ends_with(name, future_dir_suffix) || ends_with(name, stray_dir_suffix)) {
      report_.messages.push_back(fmt::format("{}: left alone (Keel does not move or adopt logs)", join_path(log_dir, name)));
      continue;
    }
    // The metadata quorum's log (a controller's) lives here too, kept by the quorum, not by us.
    if (name == metadata_log_dir_name) continue;
    auto tp = parse_partition_dir_name(name);
    if (!tp) continue;  // checkpoint files, meta.properties and the like
    if (auto st = load_partition(log_dir, name, *tp, *recovery_points, *log_starts, *clean); !st) return st;
  }
  return {};
}

keel::Status LogManager::load_partition(const std::string& log_dir, const std::string& name, const TopicPartition& tp,
                                        const OffsetCheckpoint& recovery_points, const OffsetCheckpoint& log_starts,
                                        bool clean) {
  if (auto it = logs_.find(tp); it != logs_.end()) {
    return make_error(Errc::invalid_argument, fmt::format("partition {} has a directory in both {} and {}", tp,
                                                          it->second.log_dir, log_dir));
  }
  const auto rp = recovery_points.find(tp);
  const auto ls = log_starts.find(tp);
  const LogConfig config = options_.config_for ? options_.config_for(tp) : options_.defaults;
  auto log = Log::open(rt_, join_path(log_dir, name), tp, config, rp == recovery_points.end() ? 0 : rp->second,
                       ls == log_starts.end() ? 0 : ls->second, clean);
  if (!log) {
    if (log.code() != Errc::invalid_argument) return log.error();
    report_.messages.push_back(fmt::format("{}: not loaded: {}", join_path(log_dir, name), log.error().message));
    return {};
  }
  PartitionRecovery pr;
  pr.tp = tp;
  pr.log_dir = log_dir;
  pr.info = (*log)->recovery_info();
  report_.partitions.push_back(std::move(pr));
  Entry e;
  e.log = std::move(*log);
  e.log_dir = log_dir;
  const bool added = logs_.emplace(tp, std::move(e)).second;
  KEEL_ASSERT(added);  // checked above, and nothing else runs during the load
  return {};
}

// ---------------------------------------------------------------------------------------------
// logs

Log* LogManager::get(const TopicPartition& tp) {
  auto it = logs_.find(tp);
  return it == logs_.end() ? nullptr : it->second.log.get();
}

std::vector<TopicPartition> LogManager::partitions() const {
  std::vector<TopicPartition> out;
  for (const auto& [tp, e] : logs_) out.push_back(tp);
  return out;
}

keel::Result<Log*> LogManager::create(const TopicPartition& tp, const LogConfig& config) {
  Mutex::Guard guard(admin_mutex_);
  if (Log* existing = get(tp)) return existing;
  if (stopping_) return make_error(Errc::closed, fmt::format("create {}: the log manager is shutting down", tp));
  if (!is_legal_topic_name(tp.topic) || tp.partition < 0) {
    return make_error(Errc::invalid_argument, fmt::format("create: '{}' is not a legal topic partition", tp));
  }
  std::map<std::string, std::size_t> counts;
  for (const auto& log_dir : options_.log_dirs) counts[log_dir] = 0;
  for (const auto& [other, e] : logs_) ++counts[e.log_dir];
  std::string log_dir = options_.log_dirs.front();
  for (const auto& d : options_.log_dirs) {
    if (counts[d] < counts[log_dir]) log_dir = d;
  }
  const std::string dir = join_path(log_dir, partition_dir_name(tp));
  if (auto st = make_dir_durable(rt_.disk(), dir); !st) return st.error();
  auto log = Log::open(rt_, dir, tp, config, 0, 0, true);
  if (!log) return log.error();
  // A new log's first segment is in its directory's page cache only; sync it now so the
  // partition survives a crash even before its first flush.
  if (auto st = (*log)->flush(); !st) return st.error();
  Log* raw = log->get();
  KEEL_ASSERT_EQ(raw->recovery_point(), raw->log_end_offset());  // durable from the start
  if (started_) watch_rolls(tp, *raw);
  Entry e;
  e.log = std::move(*log);
  e.log_dir = log_dir;
  // The admin lock kept another create of the same partition out while the disk calls waited.
  const bool added = logs_.emplace(tp, std::move(e)).second;
  KEEL_ASSERT(added);
  rt_.trace("LogCreated").detail("tp", tp).detail("dir", dir);
  return raw;
}

std::string LogManager::delete_dir_name(const TopicPartition& tp) {
  // Kafka: <topic>-<partition>.<uuid without dashes>-delete, the topic cut so the name fits 255.
  const std::string id = fmt::format("{:016x}{:016x}", rt_.random().next(), rt_.random().next());
  const std::string tail = fmt::format("-{}.{}{}", tp.partition, id, delete_dir_suffix);
  constexpr std::size_t file_name_chars_max = 255;
  return tp.topic.substr(0, file_name_chars_max - tail.size()) + tail;
}

keel::Status LogManager::remove(const TopicPartition& tp) {
  Mutex::Guard guard(admin_mutex_);
  auto it = logs_.find(tp);
  if (it == logs_.end()) return make_error(Errc::not_found, fmt::format("remove {}: no such log", tp));
  const std::size_t logs_before = logs_.size();
  Log& log = *it->second.log;
  log.mark_deleted();
  const std::string log_dir = it->second.log_dir;
  const std::string to = join_path(log_dir, delete_dir_name(tp));
  if (auto st = rt_.disk().rename(log.dir(), to); !st) return st;
  if (auto st = rt_.disk().sync_dir(log_dir); !st) return st;
  DirDelete d;
  d.due = rt_.now() + std::chrono::milliseconds(std::max<std::int64_t>(log.config().file_delete_delay_ms, 0));
  d.path = to;
  dir_deletes_.push_back(std::move(d));
  // Only create and remove change the map after the load, and the admin lock keeps them apart.
  it = logs_.find(tp);
  KEEL_ASSERT(it != logs_.end());
  KEEL_ASSERT_EQ(logs_.size(), logs_before);
  retired_.push_back(std::move(it->second.log));
  logs_.erase(it);
  rt_.trace("LogRemoved").detail("tp", tp).detail("renamed_to", to);
  return {};
}

keel::Status LogManager::remove_dir_tree(const std::string& dir) {
  auto names = rt_.disk().list(dir);
  if (!names) return names.code() == Errc::not_found ? keel::Status{} : keel::Status(names.error());
  for (const auto& name : *names) {
    auto st = rt_.disk().remove(join_path(dir, name));
    if (!st && st.code() != Errc::not_found) return st;
  }
  auto st = rt_.disk().remove(dir);
  return st || st.code() == Errc::not_found ? keel::Status{} : st;
}

int LogManager::delete_expired() {
  int removed = 0;
  std::vector<Log*> logs;
  for (auto& [tp, e] : logs_) logs.push_back(e.log.get());
  for (auto& r : retired_) logs.push_back(r.get());
  for (Log* log : logs) removed += log->delete_expired_files();
  const Instant now = rt_.now();
  std::vector<std::string> due;
  for (auto it = dir_deletes_.begin(); it != dir_deletes_.end();) {
    if (it->due > now) {
      ++it;
      continue;
    }
    due.push_back(it->path);
    it = dir_deletes_.erase(it);
  }
  KEEL_ASSERT(std::all_of(dir_deletes_.begin(), dir_deletes_.end(), [&](const DirDelete& d) { return d.due > now; }));
  for (const auto& dir : due) {
    if (auto st = remove_dir_tree(dir); !st) {
      rt_.trace("LogDirDeleteFailed", Severity::warn).detail("dir", dir).detail("error", st.error().message);
      continue;
    }
    ++removed;
  }
  return removed;
}

// ---------------------------------------------------------------------------------------------
// checkpoints and shutdown

keel::Status LogManager::write_dir_checkpoints(const std::string& log_dir) {
  KEEL_ASSERT(checkpoint_mutex_.locked());
  OffsetCheckpoint recovery_points;
  OffsetCheckpoint log_starts;
  for (const auto& [tp, e] : logs_) {
    if (e.log_dir != log_dir) continue;
    // A checkpoint never names a recovery point past the data, nor a log start past the log end.
    KEEL_ASSERT_LE(e.log->recovery_point(), e.log->log_end_offset());
    KEEL_ASSERT_LE(e.log->log_start_offset(), e.log->log_end_offset());
    recovery_points[tp] = e.log->recovery_point();
    // Kafka lists only the logs whose start is past their first segment's base.
    if (e.log->log_start_offset() > e.log->first_segment_base()) log_starts[tp] = e.log->log_start_offset();
  }
  auto& disk = rt_.disk();
  if (auto st = write_offset_checkpoint(disk, join_path(log_dir, std::string(recovery_point_checkpoint_file)),
                                        recovery_points);
      !st) {
    return st;
  }
  return write_offset_checkpoint(disk, join_path(log_dir, std::string(log_start_offset_checkpoint_file)), log_starts);
}

keel::Status LogManager::write_checkpoints() {
  Mutex::Guard guard(checkpoint_mutex_);
  keel::Status result;
  for (const auto& log_dir : options_.log_dirs) {
    auto st = write_dir_checkpoints(log_dir);
    if (!st && result) result = st;
  }
  return result;
}

keel::Status LogManager::shutdown() {
  stopping_ = true;
  stop_.set();
  rolled_event_.set();
  tasks_.wait();
  KEEL_ASSERT_EQ(tasks_.count(), 0u);
  task_refs_.clear();
  std::map<std::string, bool> dir_ok;
  for (const auto& log_dir : options_.log_dirs) dir_ok[log_dir] = true;
  keel::Status result;
  for (auto& [tp, e] : logs_) {
    auto st = e.log->close();
    if (st) continue;
    dir_ok[e.log_dir] = false;
    if (result) result = st;
    rt_.trace("LogCloseFailed", Severity::warn).detail("tp", tp).detail("error", st.error().message);
  }
  Mutex::Guard guard(checkpoint_mutex_);
  for (const auto& log_dir : options_.log_dirs) {
    if (!dir_ok[log_dir]) continue;
    auto st = write_dir_checkpoints(log_dir);
    if (st) {
      const std::string marker = fmt::format("{{\"version\":0,\"brokerEpoch\":{}}}", options_.broker_epoch);
      st = write_file_atomically(rt_.disk(), join_path(log_dir, std::string(clean_shutdown_file)), marker);
    }
    if (!st && result) result = st;
  }
  rt_.trace("LogManagerShutdown").detail("partitions", logs_.size()).detail("ok", result.ok());
  return result;
}

// ---------------------------------------------------------------------------------------------
// background tasks

void LogManager::watch_rolls(const TopicPartition& tp, Log& log) {
  KEEL_ASSERT(get(tp) == nullptr || get(tp) == &log);
  log.set_roll_listener([this, tp] {
    rolled_.insert(tp);
    rolled_event_.set();
  });
}

void LogManager::spawn_task(std::string name, void (LogManager::*loop)()) {
  tasks_.add();
  TaskRef ref = rt_.spawn(std::move(name), [this, loop] {
    (this->*loop)();
    tasks_.done();
  });
  if (!ref.valid()) {
    tasks_.done();
    return;
  }
  task_refs_.push_back(ref);
}

void LogManager::start() {
  if (started_ || stopping_) return;
  KEEL_ASSERT(task_refs_.empty());
  started_ = true;
  for (auto& [tp, e] : logs_) watch_rolls(tp, *e.log);
  spawn_task("log-retention", &LogManager::retention_loop);
  spawn_task("log-flusher", &LogManager::flusher_loop);
  spawn_task("log-roll-flush", &LogManager::roll_flush_loop);
  spawn_task("log-checkpoint", &LogManager::checkpoint_loop);
  spawn_task("log-delete", &LogManager::delete_loop);
}

void LogManager::retention_loop() {
  if (stop_.wait(rt_.now() + options_.initial_task_delay)) return;
  while (!stopping_) {
    for (const auto& tp : partitions()) {
      Log* log = get(tp);
      if (log == nullptr || stopping_) continue;
      auto n = log->delete_old_segments();
      if (!n && n.code() != Errc::closed) {
        rt_.trace("LogRetentionFailed", Severity::warn).detail("tp", tp).detail("error", n.error().message);
      }
    }
    if (stop_.wait(rt_.now() + options_.retention_check_interval)) return;
  }
}

void LogManager::flusher_loop() {
  if (stop_.wait(rt_.now() + options_.initial_task_delay)) return;
  while (!stopping_) {
    for (const auto& tp : partitions()) {
      Log* log = get(tp);
      if (log == nullptr || stopping_) continue;
      const std::int64_t idle_ms = to_ms(rt_.now() - log->last_flush_time());
      if (log->recovery_point() >= log->log_end_offset() || idle_ms < log->config().flush_interval_ms) continue;
      if (auto st = log->flush(); !st && st.code() != Errc::closed) {
        rt_.trace("LogFlushFailed", Severity::warn).detail("tp", tp).detail("error", st.error().message);
      }
    }
    if (stop_.wait(rt_.now() + options_.flush_scheduler_interval)) return;
  }
}

void LogManager::roll_flush_loop() {
  while (!stopping_) {
    rolled_event_.wait();
    rolled_event_.reset();
    if (stopping_) return;
    const std::set<TopicPartition> rolled = std::move(rolled_);
    rolled_.clear();
    for (const auto& tp : rolled) {
      Log* log = get(tp);
      if (log == nullptr) continue;
      if (auto st = log->flush_rolled_segments(); !st && st.code() != Errc::closed) {
        rt_.trace("LogFlushFailed", Severity::warn).detail("tp", tp).detail("error", st.error().message);
      }
    }
  }
}

void LogManager::checkpoint_loop() {
  while (!stop_.wait(rt_.now() + options_.checkpoint_interval)) {
    if (auto st = write_checkpoints(); !st) {
      rt_.trace("LogCheckpointFailed", Severity::warn).detail("error", st.error().message);
    }
  }
}

void LogManager::delete_loop() {
  while (!stopping_) {
    Instant wake = rt_.now() + options_.delete_check_interval;
    for (const auto& d : dir_deletes_) wake = std::min(wake, d.due);
    for (const auto& [tp, e] : logs_) {
      if (auto due = e.log->next_file_delete_due()) wake = std::min(wake, *due);
    }
    if (stop_.wait(std::max(wake, rt_.now()))) return;
    delete_expired();
  }
}

}  // namespace keel::storage
