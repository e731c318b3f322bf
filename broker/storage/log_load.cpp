// Opening a log: leftover files, segments, indexes, and recovery after an unclean shutdown
// (reference: kafka-storage.md §1 "Load-time handling of files" and §4 "Recovery").
#include <fmt/format.h>
#include "broker/base/coverage.h"

#include <algorithm>

#include "broker/storage/checkpoint.h"
#include "broker/storage/log.h"

namespace keel::storage {

keel::Result<std::unique_ptr<Log>> Log::open(keel::Runtime& rt, std::string dir, TopicPartition tp, LogConfig config,
                                            std::int64_t recovery_point, std::int64_t log_start_offset,
                                            bool clean_shutdown) {
  std::unique_ptr<Log> log(new Log(rt, std::move(dir), std::move(tp), config));
  if (auto st = log->load(recovery_point, log_start_offset, clean_shutdown); !st) return st.error();
  return log;
}

keel::Status Log::load(std::int64_t recovery_point, std::int64_t log_start_offset, bool clean_shutdown) {
  recovery_.clean_shutdown = clean_shutdown;
  if (auto st = make_dir_durable(rt_.disk(), dir_); !st) return st;
  auto names = rt_.disk().list(dir_);
  if (!names) return names.error();
  if (auto st = remove_leftovers(*names); !st) return st;
  if (auto st = open_segments(*names); !st) return st;
  recovery_.segments_loaded = static_cast<int>(segments_.size());
  if (auto st = load_or_recover(recovery_point, clean_shutdown); !st) return st;

  leo_ = segments_.empty() ? std::max<std::int64_t>(log_start_offset, 0) : active()->next_offset();
  if (!segments_.empty() && log_start_offset > leo_) {
    KEEL_SOMETIMES("storage.load.log_below_log_start");
    if (auto st = drop_segments_below(log_start_offset); !st) return st;
  }
  if (segments_.empty()) {
    auto seg = Segment::create(rt_, dir_, leo_);
    if (!seg) return seg.error();
    segments_[leo_] = std::move(*seg);
    dir_unsynced_ = true;
  }
  log_start_ = std::max(log_start_offset, segments_.begin()->first);
  KEEL_ASSERT_EQ(leo_, active()->next_offset());
  // Recovery flushed every segment it rebuilt or cut; segments below the recovery point were
  // durable already. What remains is the directory: after an unclean shutdown its entries (a
  // roll's new files, say) may exist only in the page cache of a killed process.
  if (dir_unsynced_ || !clean_shutdown) {
    dir_unsynced_ = false;
    if (auto st = rt_.disk().sync_dir(dir_); !st) return st;
  }
  rp_ = leo_;
  roll_flush_target_ = rp_;
  last_flush_ = rt_.now();
  check_segments();
  rt_.trace("LogLoaded")
      .detail("tp", tp_)
      .detail("segments", segments_.size())
      .detail("log_start_offset", log_start_)
      .detail("log_end_offset", leo_)
      .detail("clean", clean_shutdown)
      .detail("recovered", recovery_.segments_recovered)
      .detail("bytes_truncated", recovery_.bytes_truncated);
  return {};
}

// The log start checkpoint is past everything on disk (the data was deleted or lost): Kafka drops
// every segment and starts over at the log start.
keel::Status Log::drop_segments_below(std::int64_t log_start_offset) {
  KEEL_ASSERT_GT(log_start_offset, leo_);
  report_problem("LogBelowLogStart", fmt::format("log end {} is below the checkpointed log start {}; "
                                                 "deleting all {} segments", leo_, log_start_offset, segments_.size()));
  recovery_.segments_deleted += static_cast<int>(segments_.size());
  for (auto& [base, seg] : segments_) {
    if (auto st = seg->remove_files(); !st) return st;
  }
  segments_.clear();
  leo_ = log_start_offset;
  return {};
}

// Kafka deletes these at load: segments renamed for deletion, unfinished compaction output.
// Keel never compacts, so a .swap can only be a stranger's; it goes too.
keel::Status Log::remove_leftovers(const std::vector<std::string>& names) {
  for (const auto& name : names) {
    if (!ends_with(name, deleted_suffix) && !ends_with(name, cleaned_suffix) && !ends_with(name, swap_suffix)) continue;
    if (auto st = rt_.disk().remove(join_path(dir_, name)); !st && st.code() != Errc::not_found) return st;
    ++recovery_.leftover_files_deleted;
  }
  return {};
}

keel::Status Log::open_segments(const std::vector<std::string>& names) {
  std::map<std::int64_t, bool> bases;  // base -> has a .log
  for (const auto& name : names) {
    const auto parsed = parse_segment_file_name(name);
    if (!parsed) continue;
    if (parsed->suffix == log_suffix) {
      bases[parsed->base_offset] = true;
    } else if (parsed->suffix == index_suffix || parsed->suffix == time_index_suffix) {
      bases.emplace(parsed->base_offset, false);
    }
  }
  for (const auto& [base, has_log] : bases) {
    if (!has_log) {  // an index whose segment is gone
      for (auto suffix : {index_suffix, time_index_suffix}) {
        auto st = rt_.disk().remove(join_path(dir_, segment_file_name(base, suffix)));
        if (st) ++recovery_.leftover_files_deleted;
        if (!st && st.code() != Errc::not_found) return st;
      }
      continue;
    }
    auto seg = Segment::open(rt_, dir_, base);
    if (!seg) return seg.error();
    KEEL_ASSERT_EQ((*seg)->base_offset(), base);
    segments_[base] = std::move(*seg);
  }
  return {};
}

// Clean segments load their indexes (the last one also walks its tail); segments from the one
// holding the recovery point on are recovered after an unclean shutdown, and so is any segment
// whose index files are missing or fail the sanity check. The first cut ends the log there.
keel::Status Log::load_or_recover(std::int64_t recovery_point, bool clean_shutdown) {
  std::int64_t recover_from = std::numeric_limits<std::int64_t>::max();
  if (!clean_shutdown && !segments_.empty()) {
    auto floor = segments_.upper_bound(recovery_point);
    recover_from = floor == segments_.begin() ? segments_.begin()->first : std::prev(floor)->first;
  }
  for (auto it = segments_.begin(); it != segments_.end(); ++it) {
    bool must_recover = it->first >= recover_from;
    if (!must_recover) {
      keel::Status st = load_clean(it);
      if (!st) {
        if (st.code() != Errc::corrupt) return st;
        KEEL_SOMETIMES("storage.load.index_rebuilt");
        report_problem("LogIndexRebuild", st.error().message);
        ++recovery_.indexes_rebuilt;
        must_recover = true;
      }
    }
    if (!must_recover) continue;
    auto cut = recover_segment(it);
    if (!cut) return cut.error();
    if (*cut) break;  // every later segment is gone
  }
  return {};
}

// A segment below the recovery point (or any, after a clean shutdown): its index files as they are,
// the last segment's tail walked. Errc::corrupt when they cannot be trusted (the caller rebuilds).
keel::Status Log::load_clean(std::map<std::int64_t, std::shared_ptr<Segment>>::iterator it) {
  Segment& seg = *it->second;
  if (seg.indexes_missing()) return make_error(Errc::corrupt, fmt::format("{}: index files missing", seg.log_path()));
  if (auto st = seg.load_indexes(); !st) return st;
  const auto next = std::next(it);
  if (next == segments_.end()) return seg.load_tail();
  // An index naming an offset the next segment starts at or past is damaged; segments never overlap.
  if (seg.next_offset() > next->first) {
    return make_error(Errc::corrupt, fmt::format("{}: an entry names offset {}, past the next segment's base {}",
                                                 segment_file_name(it->first, index_suffix), seg.next_offset() - 1,
                                                 next->first));
  }
  return {};
}

// Walks one segment with CRC checks. When it holds less valid data than its file, the later
// segments are removed first (and the directory synced), then the file is cut: a crash in
// between leaves a prefix of the log, never a gap followed by old data. So when it ends before the
// next segment begins: unsynced writes reach the platter in any order, so a power loss can keep a
// later segment's data (and its directory entry, synced by a flush of an earlier roll) while this
// segment's last writes are gone. True when later segments went.
keel::Result<bool> Log::recover_segment(std::map<std::int64_t, std::shared_ptr<Segment>>::iterator it) {
  Segment& seg = *it->second;
  auto scan = seg.recover(true, config_.index_interval_bytes);
  if (!scan) return scan.error();
  ++recovery_.segments_recovered;
  KEEL_SOMETIMES("storage.recovery.segment_recovered");
  const bool cut = scan->valid_bytes < scan->file_bytes;
  const auto next = std::next(it);
  const bool later_go = cut || (next != segments_.end() && next->first != seg.next_offset());
  if (later_go) {
    report_recovery_cut(it, *scan);
    if (auto st = delete_segments_after(it->first); !st) return st.error();
  }
  if (cut) {
    if (auto st = seg.cut_log(scan->valid_bytes); !st) return st.error();
    recovery_.bytes_truncated += static_cast<std::int64_t>(scan->file_bytes - scan->valid_bytes);
  }
  if (auto st = seg.flush(); !st) return st.error();
  KEEL_ALWAYS(seg.size_bytes() == scan->valid_bytes, "storage.recovery.segment_ends_at_last_valid_batch");
  KEEL_ASSERT(!later_go || std::next(it) == segments_.end());
  return later_go;
}

// Why recovery ends the log in this segment: its torn or corrupt tail, or its end not meeting the
// next segment's start (a hole: its last writes were lost; an overlap: damaged data).
void Log::report_recovery_cut(std::map<std::int64_t, std::shared_ptr<Segment>>::iterator it, const SegmentScan& scan) {
  const Segment& seg = *it->second;
  const auto later = std::distance(std::next(it), segments_.end());
  if (scan.valid_bytes < scan.file_bytes) {
    if (scan.corruption) KEEL_SOMETIMES("storage.recovery.corrupt_batch_cut");
    if (!scan.corruption) KEEL_SOMETIMES("storage.recovery.torn_tail_cut");
    if (later > 0) KEEL_SOMETIMES("storage.recovery.later_segments_deleted");
    const std::string what = scan.corruption ? *scan.corruption : std::string("torn tail (the last batch is not whole)");
    report_problem(scan.corruption ? "LogCorruption" : "LogTornTail",
                   fmt::format("{}: {}; truncated from {} to {} bytes, {} later segment(s) deleted", seg.log_path(), what,
                               scan.file_bytes, scan.valid_bytes, later));
  } else if (std::next(it)->first > seg.next_offset()) {
    KEEL_SOMETIMES("storage.recovery.hole_before_next_segment");
    report_problem("LogHole", fmt::format("{} ends at offset {} but the next segment starts at {}: its last writes "
                                          "were lost; {} later segment(s) deleted", seg.log_path(), seg.next_offset(),
                                          std::next(it)->first, later));
  } else {
    KEEL_SOMETIMES("storage.recovery.overlap_with_next_segment");
    report_problem("LogOverlap", fmt::format("{} ends at offset {}, past the start {} of the next segment; {} later "
                                             "segment(s) deleted", seg.log_path(), seg.next_offset(),
                                             std::next(it)->first, later));
  }
}

keel::Status Log::delete_segments_after(std::int64_t base) {
  KEEL_ASSERT(segments_.count(base) == 1);
  bool any = false;
  while (segments_.rbegin()->first > base) {
    auto last = std::prev(segments_.end());
    if (auto st = last->second->remove_files(); !st) return st;
    segments_.erase(last);
    ++recovery_.segments_deleted;
    any = true;
  }
  KEEL_ASSERT_EQ(segments_.rbegin()->first, base);
  return any ? rt_.disk().sync_dir(dir_) : keel::Status{};
}

void Log::report_problem(std::string_view kind, const std::string& message) {
  recovery_.problems.push_back(message);
  rt_.trace(kind, Severity::warn).detail("tp", tp_).detail("problem", message);
}

}  // namespace keel::storage
