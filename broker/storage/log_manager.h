#pragma once
// Every partition log in the broker's log dirs (log.dirs): loading and recovery at start-up,
// creation and deletion of logs, the checkpoint files, the clean-shutdown marker, and the
// background tasks (retention, time-based flush, flush after a roll, checkpoints, delayed file
// deletion).
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "broker/platform/runtime.h"
#include "broker/storage/checkpoint.h"
#include "broker/storage/log.h"
#include "broker/storage/log_config.h"
#include "broker/storage/topic_partition.h"

namespace keel::storage {

// The directory of the KRaft metadata log in a log dir: the quorum's, which the LogManager skips.
inline constexpr std::string_view metadata_log_dir_name = "__cluster_metadata-0";

inline constexpr std::string_view clean_shutdown_file = ".kafka_cleanshutdown";

class LogManager {
 public:
  struct Options {
    std::vector<std::string> log_dirs;  // log.dirs
    LogConfig defaults;                 // the broker's log.* settings
    // Topic overrides for the logs found at start-up; `defaults` when unset.
    std::function<LogConfig(const TopicPartition&)> config_for;
    keel::Duration retention_check_interval = std::chrono::seconds(300);  // log.retention.check.interval.ms
    // log.flush.scheduler.interval.ms: how often logs are checked against flush.ms. Kafka's default
    // is Long.MAX (flush.ms then never fires); Keel checks every second so a topic's flush.ms works.
    keel::Duration flush_scheduler_interval = std::chrono::seconds(1);
    keel::Duration checkpoint_interval = std::chrono::seconds(60);  // log.flush.offset.checkpoint.interval.ms
    keel::Duration initial_task_delay = std::chrono::seconds(30);   // log.initial.task.delay.ms
    keel::Duration delete_check_interval = std::chrono::seconds(10);  // a bound on how late *.deleted files go
    std::int64_t broker_epoch = -1;  // written into .kafka_cleanshutdown
  };

  struct PartitionRecovery {
    TopicPartition tp;
    std::string log_dir;
    LogRecoveryInfo info;
  };
  struct RecoveryReport {
    std::vector<std::string> clean_dirs;    // had .kafka_cleanshutdown, or no partition log yet: nothing to recover
    std::vector<std::string> unclean_dirs;  // recovered from their recovery points
    std::vector<PartitionRecovery> partitions;  // every partition loaded, sorted
    std::vector<std::string> messages;      // problems outside any one partition (checkpoint files, odd dirs)
    std::int64_t bytes_truncated = 0;       // totals over the partitions
    int segments_deleted = 0;
    int problems = 0;                       // corruption, torn tails and bad indexes found
  };

  // Creates missing log dirs; in each, reads the checkpoints, notes and removes
  // .kafka_cleanshutdown (so a crash during the load counts as unclean), loads and recovers every
  // partition dir, schedules leftover *-delete dirs for deletion. Corruption is reported (trace
  // events, recovery_report()), never fatal; an I/O error or two dirs for one partition is.
  static keel::Result<std::unique_ptr<LogManager>> open(keel::Runtime& rt, Options options);
  ~LogManager();
  LogManager(const LogManager&) = delete;
  LogManager& operator=(const LogManager&) = delete;

  Log* get(const TopicPartition& tp);
  // Opens a new log in the log dir with the fewest partitions; the existing log if there is one.
  keel::Result<Log*> create(const TopicPartition& tp, const LogConfig& config);
  // Renames the partition dir to <topic>-<partition>.<32 hex>-delete (durably) and removes its
  // files file_delete_delay_ms later. The Log object stays valid (writes fail with Errc::closed).
  keel::Status remove(const TopicPartition& tp);
  std::vector<TopicPartition> partitions() const;  // sorted

  // Spawns the retention, flusher, roll-flush, checkpoint and delayed-delete tasks.
  void start();
  // Clean shutdown: stops the tasks, flushes and closes every log, writes the checkpoints, then
  // .kafka_cleanshutdown in each log dir where all of that succeeded.
  keel::Status shutdown();
  // Writes recovery-point-offset-checkpoint and log-start-offset-checkpoint in every log dir now.
  keel::Status write_checkpoints();
  // Removes the *.deleted files and *-delete dirs whose delay has passed (the delayed-delete task
  // does this; tests call it directly). Returns the files and dirs removed.
  int delete_expired();

  const RecoveryReport& recovery_report() const { return report_; }
  const Options& options() const { return options_; }

 private:
  struct Entry {
    std::unique_ptr<Log> log;
    std::string log_dir;
  };
  struct DirDelete {
    Instant due;
    std::string path;
  };

  LogManager(keel::Runtime& rt, Options options);
  keel::Status load_dir(const std::string& log_dir);
  keel::Status load_partition(const std::string& log_dir, const std::string& name, const TopicPartition& tp,
                              const OffsetCheckpoint& recovery_points, const OffsetCheckpoint& log_starts, bool clean);
  keel::Result<OffsetCheckpoint> read_checkpoint(const std::string& log_dir, std::string_view name);
  keel::Status write_dir_checkpoints(const std::string& log_dir);
  keel::Status remove_dir_tree(const std::string& path);
  void watch_rolls(const TopicPartition& tp, Log& log);
  std::string delete_dir_name(const TopicPartition& tp);

  // Background loops; each returns when stop_ is set.
  void retention_loop();
  void flusher_loop();
  void roll_flush_loop();
  void checkpoint_loop();
  void delete_loop();
  void spawn_task(std::string name, void (LogManager::*loop)());

  keel::Runtime& rt_;
  Options options_;
  std::map<TopicPartition, Entry> logs_;
  std::vector<std::unique_ptr<Log>> retired_;  // removed logs, kept alive for tasks still using them
  std::vector<DirDelete> dir_deletes_;
  std::set<TopicPartition> rolled_;  // logs that rolled and want their old segments flushed
  RecoveryReport report_;
  bool started_ = false;
  bool stopping_ = false;
  Event stop_;
  Event rolled_event_;
  Mutex admin_mutex_;       // create and remove
  Mutex checkpoint_mutex_;  // one writer of the checkpoint files at a time
  WaitGroup tasks_;
  std::vector<TaskRef> task_refs_;
};

}  // namespace keel::storage
