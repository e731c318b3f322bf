#pragma once
// One partition's log: an ordered set of segments in the partition directory, the log start
// offset, the log end offset and the recovery point (everything below it is on the platter).
//
// Concurrency (one runtime, cooperative tasks; any disk call suspends): appends, rolls,
// retention and truncation hold append_mutex_; flushes hold flush_mutex_ (truncation and close
// hold both, always append first). Readers hold neither: they take a shared_ptr to a segment and
// the sizes as they are, and sizes only grow after a whole append is written, so a reader sees
// whole batches only.
#include <cstdint>
#include <deque>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "broker/platform/runtime.h"
#include "broker/protocol/record_batch.h"
#include "broker/storage/log_config.h"
#include "broker/storage/segment.h"
#include "broker/storage/topic_partition.h"

namespace keel::storage {

struct AppendResult {
  std::int64_t base_offset = 0;
  std::int64_t last_offset = 0;
  std::int64_t log_append_time_ms = -1;  // the time stamped when the log uses LogAppendTime, else -1
  std::int64_t log_start_offset = 0;
};

struct ReadResult {
  protocol::Bytes records;
  std::int64_t log_start_offset = 0;
  std::int64_t log_end_offset = 0;
};

// What opening a log found and did about it.
struct LogRecoveryInfo {
  bool clean_shutdown = false;
  int segments_loaded = 0;
  int segments_recovered = 0;        // walked batch by batch with CRC checks
  int indexes_rebuilt = 0;           // below the recovery point, but their index files were missing or bad
  std::int64_t bytes_truncated = 0;  // torn tails and corruption cut off
  int segments_deleted = 0;          // past a truncation point, or all of them when below the log start
  int leftover_files_deleted = 0;    // *.deleted, *.cleaned, *.swap, indexes without a .log
  std::vector<std::string> problems;  // one line per corruption, torn tail or bad index
};

class Log {
 public:
  // Opens (or creates) the log in `dir`, the partition directory. Recovery (clean_shutdown false):
  // every segment from the one holding `recovery_point` on is walked with CRC checks, its
  // indexes rebuilt, a torn or corrupt tail cut at the last valid batch and every later segment
  // deleted; problems are reported (recovery_info(), trace events), never fatal.
  static keel::Result<std::unique_ptr<Log>> open(keel::Runtime& rt, std::string dir, TopicPartition tp,
                                                 LogConfig config, std::int64_t recovery_point,
                                                 std::int64_t log_start_offset, bool clean_shutdown);
  ~Log();
  Log(const Log&) = delete;
  Log& operator=(const Log&) = delete;

  // Appends batches the caller validated (protocol::validate_batch_for_append): assigns offsets
  // from the log end offset, stamps partition_leader_epoch, sets LogAppendTime when configured,
  // rolls segments, writes index entries, and flushes per the flush policy before returning.
  // Errc::invalid_argument for bytes that are not whole v2 batches, a batch over
  // max_message_bytes or an append over segment_bytes ("record batch too large: ...").
  keel::Result<AppendResult> append(std::span<const std::uint8_t> batches, std::int32_t leader_epoch);
  // The same, for batches already scanned (with their CRCs checked) and validated once by the
  // caller (the produce path): `scan` describes `batches`, whose bytes the log takes over.
  keel::Result<AppendResult> append(protocol::Bytes batches, const protocol::BatchScan& scan, std::int32_t leader_epoch);
  // A follower's append: the batches keep the offsets and epochs the leader gave them, which must
  // start at or after the log end offset.
  keel::Result<AppendResult> append_as_follower(std::span<const std::uint8_t> batches);
  keel::Result<AppendResult> append_as_follower(protocol::Bytes batches, const protocol::BatchScan& scan);

  // Whole batches starting with the one that holds `offset`, up to max_bytes (at least one batch
  // when min_one_batch even if larger), never a batch reaching max_offset (exclusive; the high
  // watermark). Errc::invalid_argument when offset < log start or > log end (the server's
  // OFFSET_OUT_OF_RANGE); Errc::corrupt when the data fails its CRC on two reads.
  keel::Result<ReadResult> read(std::int64_t offset, std::int32_t max_bytes, std::int64_t max_offset,
                                bool min_one_batch);

  std::int64_t log_start_offset() const { return log_start_; }
  std::int64_t log_end_offset() const { return leo_; }
  std::int64_t recovery_point() const { return rp_; }
  std::int64_t size_bytes() const;
  std::size_t segment_count() const { return segments_.size(); }
  std::int64_t first_segment_base() const { return segments_.begin()->first; }
  // Base offsets of the segments, oldest first (tests, tools).
  std::vector<std::int64_t> segment_bases() const;

  // ListOffsets by timestamp: the first offset at or after the log start of a record with
  // timestamp >= timestamp_ms, found through the time index; nullopt when there is none.
  keel::Result<std::optional<std::int64_t>> offset_for_timestamp(std::int64_t timestamp_ms);

  // fsyncs everything up to the log end (data, indexes, new directory entries) and moves the
  // recovery point there.
  keel::Status flush();
  // Flushes the segments a roll left behind (what Kafka does asynchronously after a roll).
  keel::Status flush_rolled_segments();
  Instant last_flush_time() const { return last_flush_; }

  // Drops everything at and above `offset` (followers). Durable before it returns: later segments
  // are renamed away and the directory synced before the cut segment is cut and synced, so a crash
  // leaves the old log or a prefix of it, never old data after a gap.
  keel::Status truncate_to(std::int64_t offset);
  // Empties the log and starts it again at `offset` (a follower whose log ends below the leader's
  // log start: Kafka's truncateFullyAndStartAt). Durable before it returns, as truncate_to.
  keel::Status restart_at(std::int64_t offset);
  // DeleteRecords: moves the log start offset up (never past the log end). Segments wholly below
  // it go at the next delete_old_segments().
  keel::Status advance_log_start_offset(std::int64_t offset);

  // Retention now, Kafka's three passes: segments wholly below the log start, then the oldest
  // while the log is over retention_bytes, then those whose newest record is older than
  // retention_ms. Never a segment reaching the high watermark; at least one segment stays (an
  // expiring active segment is rolled first). Files are renamed *.deleted and removed by
  // delete_expired_files() file_delete_delay_ms later. Returns the segments deleted.
  keel::Result<int> delete_old_segments();
  // Removes the *.deleted files whose delay has passed; returns how many files went.
  int delete_expired_files();
  std::optional<Instant> next_file_delete_due() const;
  // The high watermark lives here, in one place (as in Kafka's UnifiedLog): what consumers may
  // read, and what retention never deletes a segment reaching. Until the partition layer sets it,
  // it is unbounded (the log end), which tools and storage tests rely on.
  //
  // reset_high_watermark: at open, from the replication-offset-checkpoint (clamped into
  // [log start, log end]). advance_high_watermark: never back, never past the log end (asserted).
  // Only truncate_to and restart_at lower it, to their offset.
  void reset_high_watermark(std::int64_t offset);
  void advance_high_watermark(std::int64_t offset);
  std::int64_t high_watermark() const { return std::min(high_watermark_, leo_); }
  // Bytes appended to this log (since it was opened) that the high watermark has passed: it grows
  // when the high watermark moves past new batches, never with an append the high watermark has
  // not reached, and never goes down. A delayed fetch compares it with its value when it read to
  // tell how much became readable since (Kafka compares positions of the high watermark).
  std::int64_t visible_bytes_appended() const { return visible_bytes_; }

  void set_config(const LogConfig& config) { config_ = config; }
  const LogConfig& config() const { return config_; }
  // Called (without locks held) after a roll; the LogManager queues flush_rolled_segments() on
  // it. Without a listener the appending task flushes the rolled segments itself.
  void set_roll_listener(std::function<void()> listener) { roll_listener_ = std::move(listener); }

  // Flushes, writes the final time-index entry of the active segment and the indexes out. Later
  // writes fail with Errc::closed; reads still work.
  keel::Status close();
  // Marks the log gone (its directory is being deleted): later writes fail with Errc::closed.
  void mark_deleted() { closed_ = true; }
  bool offline() const { return offline_; }

  const TopicPartition& topic_partition() const { return tp_; }
  const std::string& dir() const { return dir_; }
  const LogRecoveryInfo& recovery_info() const { return recovery_; }

 private:
  struct PendingDelete {
    Instant due;
    std::vector<std::string> paths;
  };
  struct Prepared;  // a validated append, offsets assigned

  Log(keel::Runtime& rt, std::string dir, TopicPartition tp, LogConfig config);

  // ---- opening (log_load.cpp) ----
  keel::Status load(std::int64_t recovery_point, std::int64_t log_start_offset, bool clean_shutdown);
  keel::Status remove_leftovers(const std::vector<std::string>& names);
  keel::Status open_segments(const std::vector<std::string>& names);
  keel::Status load_or_recover(std::int64_t recovery_point, bool clean_shutdown);
  keel::Result<bool> recover_segment(std::map<std::int64_t, std::shared_ptr<Segment>>::iterator it);
  keel::Status load_clean(std::map<std::int64_t, std::shared_ptr<Segment>>::iterator it);
  void report_recovery_cut(std::map<std::int64_t, std::shared_ptr<Segment>>::iterator it, const SegmentScan& scan);
  keel::Status drop_segments_below(std::int64_t log_start_offset);
  keel::Status delete_segments_after(std::int64_t base);
  void report_problem(std::string_view kind, const std::string& message);

  // ---- appending ----
  keel::Result<AppendResult> append_impl(protocol::Bytes batches, const protocol::BatchScan& scan,
                                         std::optional<std::int32_t> leader_epoch);
  keel::Status prepare(const protocol::BatchScan& scan, std::optional<std::int32_t> leader_epoch, Prepared& p);
  keel::Status check_batch(const protocol::BatchHeader& h, std::int64_t next, bool leader) const;
  keel::Result<std::int64_t> stamp_leader_batch(std::span<std::uint8_t> bytes, const protocol::BatchHeader& h,
                                                const protocol::RecordTimestamps* validated, std::int64_t now);
  std::string_view roll_reason(std::uint64_t append_bytes, std::int64_t max_timestamp, std::int64_t last_offset);
  std::int64_t roll_jitter_ms();
  keel::Result<std::optional<std::int64_t>> maybe_roll(std::uint64_t append_bytes, std::int64_t max_timestamp,
                                                       std::int64_t first_offset, std::int64_t last_offset);
  keel::Status roll(std::int64_t new_base, std::string_view reason);
  keel::Status write_prepared(const Prepared& p);
  keel::Status after_append(const AppendResult& result, std::optional<std::int64_t> rolled_to);
  void note_appended(std::int64_t bytes);
  void trace_appended(const Prepared& p);
  void note_high_watermark();
  void forget_unseen_appends_above(std::int64_t offset);

  // ---- flushing ----
  keel::Status flush_to(std::int64_t needed, bool to_log_end);
  keel::Status flush_locked(std::int64_t offset);
  keel::Status go_offline(const Error& cause);
  keel::Status check_writable() const;

  // ---- deleting ----
  keel::Result<int> delete_segments(std::vector<std::shared_ptr<Segment>> victims, std::string_view reason,
                                    std::int64_t decided_ms);
  void trace_deleted(const std::vector<std::shared_ptr<Segment>>& victims, std::string_view reason,
                     std::int64_t decided_ms);
  using DeletionCondition = std::function<bool(Segment& segment, const Segment* next)>;
  std::vector<std::shared_ptr<Segment>> deletable_segments(const DeletionCondition& predicate) const;
  keel::Result<int> delete_where(std::string_view reason, const DeletionCondition& predicate);
  keel::Result<int> delete_log_start_offset_breached();
  keel::Result<int> delete_retention_size_breached();
  keel::Result<int> delete_retention_ms_breached();
  void schedule_delete(std::vector<std::string> paths);
  keel::Status truncate_fully_and_start_at(std::int64_t offset);
  void move_offsets_down_to(std::int64_t offset);
  keel::Result<std::uint64_t> cut_active_to(std::int64_t offset);
  keel::Status rename_away(const std::vector<std::shared_ptr<Segment>>& victims, std::int64_t recreated_base);

  void check_victims(const std::vector<std::shared_ptr<Segment>>& victims) const;
  // The log's own facts agree (O(1)); check_segments() adds every segment (O(segments)).
  void check_invariants() const;
  void check_segments() const;

  std::shared_ptr<Segment> active() const { return segments_.rbegin()->second; }
  std::shared_ptr<Segment> segment_floor(std::int64_t offset) const;

  keel::Runtime& rt_;
  std::string dir_;
  TopicPartition tp_;
  LogConfig config_;
  std::int64_t roll_jitter_ms_ = -1;  // the active segment's roll jitter; -1 until drawn
  std::map<std::int64_t, std::shared_ptr<Segment>> segments_;  // by base offset; never empty once open
  std::int64_t leo_ = 0;
  std::int64_t log_start_ = 0;
  std::int64_t rp_ = 0;
  static constexpr std::int64_t high_watermark_unbounded = std::numeric_limits<std::int64_t>::max();
  std::int64_t high_watermark_ = high_watermark_unbounded;
  // Bytes appended since the log was opened, and the part of them below the high watermark; the
  // appends above it wait in `unseen_appends_` as (end offset, bytes appended up to their end).
  std::int64_t appended_bytes_ = 0;
  std::int64_t visible_bytes_ = 0;
  std::deque<std::pair<std::int64_t, std::int64_t>> unseen_appends_;
  std::int64_t roll_flush_target_ = 0;  // rolled segments below this want a flush
  Instant last_flush_{};
  bool dir_unsynced_ = false;  // segment files created since the last directory sync
  bool offline_ = false;       // a sync or cut failed: writes refused until the log is reopened
  bool closed_ = false;
  std::string offline_reason_;
  Mutex append_mutex_;
  Mutex flush_mutex_;
  std::deque<PendingDelete> pending_deletes_;
  std::function<void()> roll_listener_;
  LogRecoveryInfo recovery_;
};

}  // namespace keel::storage
