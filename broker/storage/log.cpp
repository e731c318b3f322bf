#include "broker/storage/log.h"
#include "broker/base/coverage.h"

#include "broker/storage/log_validator.h"

#include <fmt/format.h>

#include <algorithm>

namespace keel::storage {

namespace {

constexpr std::int64_t relative_offset_max = std::numeric_limits<std::int32_t>::max();

std::int64_t now_ms(Runtime& rt) { return to_unix_ms(rt.wall_now()); }

}  // namespace

// A validated append: a private copy of the bytes with offsets assigned, one BatchInfo per batch.
struct Log::Prepared {
  protocol::Bytes bytes;
  std::vector<BatchInfo> batches;
  std::int64_t first_offset = 0;
  std::int64_t last_offset = 0;
  std::int64_t max_timestamp = -1;
  std::int64_t append_time_ms = -1;
  std::int64_t wall_ms = -1;  // this node's wall clock at the append (what the .log's mtime will say)
};

Log::Log(keel::Runtime& rt, std::string dir, TopicPartition tp, LogConfig config)
    : rt_(rt), dir_(std::move(dir)), tp_(std::move(tp)), config_(config) {}

Log::~Log() = default;

std::int64_t Log::size_bytes() const {
  std::int64_t total = 0;
  for (const auto& [base, seg] : segments_) total += static_cast<std::int64_t>(seg->size_bytes());
  return total;
}

std::vector<std::int64_t> Log::segment_bases() const {
  std::vector<std::int64_t> out;
  for (const auto& [base, seg] : segments_) out.push_back(base);
  return out;
}

std::shared_ptr<Segment> Log::segment_floor(std::int64_t offset) const {
  auto it = segments_.upper_bound(offset);
  if (it == segments_.begin()) return nullptr;
  return std::prev(it)->second;
}

keel::Status Log::check_writable() const {
  if (closed_) return make_error(Errc::closed, fmt::format("log {} is closed", tp_));
  if (offline_) return make_error(Errc::io_error, fmt::format("log {} is offline: {}", tp_, offline_reason_));
  return {};
}

// After a failed fsync the kernel may have dropped the dirty pages it could not write and report
// the next fsync as a success; the only safe answer is to stop writing until a restart recovers
// from what is really on the disk.
keel::Status Log::go_offline(const Error& cause) {
  if (!offline_) {
    KEEL_SOMETIMES("storage.log.went_offline");
    offline_ = true;
    offline_reason_ = cause.message;
    rt_.trace("LogOffline", Severity::warn).detail("tp", tp_).detail("error", cause.message);
  }
  return cause;
}

// The facts a log keeps about itself agree. Cheap (no disk, the last segment only); called at the
// end of the functions that change them, when they succeed (a failure midway takes the log offline).
void Log::check_invariants() const {
  KEEL_ASSERT(!segments_.empty());
  const Segment& last = *active();
  KEEL_ASSERT_EQ(segments_.rbegin()->first, last.base_offset());
  // The active segment starts at or below the log end and ends there (or before it, after a
  // truncation into a gap between batches).
  KEEL_ASSERT_LE(last.base_offset(), leo_);
  KEEL_ASSERT_LE(last.next_offset(), leo_);
  KEEL_ASSERT_LE(segments_.begin()->first, log_start_);
  KEEL_ASSERT_LE(log_start_, leo_);
  KEEL_ASSERT_LE(rp_, leo_);
  KEEL_ASSERT_LE(roll_flush_target_, leo_);
  KEEL_ALWAYS(high_watermark_ == high_watermark_unbounded || high_watermark_ <= leo_, "storage.high_watermark_within_log");
  KEEL_ASSERT_LE(visible_bytes_, appended_bytes_);
  if (unseen_appends_.empty()) {
    KEEL_ASSERT_EQ(appended_bytes_, visible_bytes_);
  } else {
    // The appends waiting for the high watermark end above it and at or below the log end.
    KEEL_ASSERT_GT(unseen_appends_.front().first, high_watermark_);
    KEEL_ASSERT_LE(unseen_appends_.back().first, leo_);
    KEEL_ASSERT_GT(unseen_appends_.front().second, visible_bytes_);
    KEEL_ASSERT_EQ(unseen_appends_.back().second, appended_bytes_);
  }
}

// check_invariants() and every segment: keyed by its base, sorted, none reaching into the next.
void Log::check_segments() const {
  check_invariants();
  const Segment* prev = nullptr;
  for (const auto& [base, seg] : segments_) {
    KEEL_ASSERT_EQ(base, seg->base_offset());
    if (prev != nullptr) KEEL_ASSERT_LE(prev->next_offset(), base);
    prev = seg.get();
  }
}

// ---------------------------------------------------------------------------------------------
// appending

namespace {

// Whole, CRC-checked v2 batches, or the error an append of these bytes gets.
keel::Result<protocol::BatchScan> scan_for_append(const TopicPartition& tp, std::span<const std::uint8_t> batches) {
  auto scan = protocol::scan_batches(batches, true);
  if (scan.batches.empty() || scan.corruption || scan.valid_bytes != batches.size()) {
    return make_error(Errc::invalid_argument,
                      fmt::format("append to {}: not whole v2 record batches: {}", tp,
                                  scan.corruption ? scan.corruption->message : std::string("empty or torn")));
  }
  return scan;
}

}  // namespace

keel::Result<AppendResult> Log::append(std::span<const std::uint8_t> batches, std::int32_t leader_epoch) {
  auto scan = scan_for_append(tp_, batches);
  if (!scan) return scan.error();
  return append(protocol::Bytes(batches.begin(), batches.end()), *scan, leader_epoch);
}

// A leader's append stores batches in the topic's codec (compression.type): those in another are
// rebuilt first, and the rebuilt batches are what max.message.bytes measures, as in Kafka.
keel::Result<AppendResult> Log::append(protocol::Bytes batches, const protocol::BatchScan& scan, std::int32_t leader_epoch) {
  if (!needs_recompression(config_, scan)) return append_impl(std::move(batches), scan, leader_epoch);
  auto rebuilt = recompress_batches(config_, batches, scan);
  if (!rebuilt) {
    return make_error(Errc::invalid_argument, fmt::format("append to {}: recompressing to {}: {}", tp_,
                                                          protocol::compression_name(*config_.compression),
                                                          rebuilt.error().message));
  }
  auto rescan = scan_for_append(tp_, *rebuilt);
  if (!rescan) return rescan.error();
  return append_impl(std::move(*rebuilt), *rescan, leader_epoch);
}

keel::Result<AppendResult> Log::append_as_follower(std::span<const std::uint8_t> batches) {
  auto scan = scan_for_append(tp_, batches);
  if (!scan) return scan.error();
  return append_impl(protocol::Bytes(batches.begin(), batches.end()), *scan, std::nullopt);
}

keel::Result<AppendResult> Log::append_as_follower(protocol::Bytes batches, const protocol::BatchScan& scan) {
  return append_impl(std::move(batches), scan, std::nullopt);
}

keel::Result<AppendResult> Log::append_impl(protocol::Bytes batches, const protocol::BatchScan& scan,
                                           std::optional<std::int32_t> leader_epoch) {
  // The caller's scan describes exactly these bytes: whole batches, nothing after them.
  KEEL_ASSERT_MSG(!scan.batches.empty() && !scan.corruption && scan.valid_bytes == batches.size(),
                  "append to {}: {} batches covering {} of {} bytes", tp_, scan.batches.size(), scan.valid_bytes,
                  batches.size());
  if (static_cast<std::int64_t>(batches.size()) > std::min<std::int64_t>(config_.segment_bytes, relative_offset_max)) {
    return make_error(Errc::invalid_argument, fmt::format("record batch too large: an append of {} bytes exceeds "
                                                          "segment.bytes {}", batches.size(), config_.segment_bytes));
  }
  Prepared p;
  p.bytes = std::move(batches);
  AppendResult result;
  std::optional<std::int64_t> rolled_to;
  {
    Mutex::Guard guard(append_mutex_);
    if (auto st = check_writable(); !st) return st.error();
    if (auto st = prepare(scan, leader_epoch, p); !st) return st.error();
    auto roll = maybe_roll(p.bytes.size(), p.max_timestamp, p.first_offset, p.last_offset);
    if (!roll) return roll.error();
    rolled_to = *roll;
    if (auto st = write_prepared(p); !st) return st.error();
    result.base_offset = p.first_offset;
    result.last_offset = p.last_offset;
    result.log_append_time_ms = p.append_time_ms;
    result.log_start_offset = log_start_;
  }
  if (auto st = after_append(result, rolled_to); !st) return st.error();
  return result;
}

// Under the append lock, after any roll: the prepared batches go to the active segment and the
// log end moves past them.
keel::Status Log::write_prepared(const Prepared& p) {
  KEEL_ASSERT(append_mutex_.locked());
  const auto seg = active();
  // The roll made room: the batches start in the active segment and fit its relative offsets.
  KEEL_ASSERT_LE(seg->base_offset(), p.first_offset);
  KEEL_ASSERT_LE(p.last_offset - seg->base_offset(), relative_offset_max);
  KEEL_ASSERT_LE(leo_, p.first_offset);
  const std::uint64_t size_before = seg->size_bytes();
  bool cut_failed = false;
  if (auto st = seg->append(p.bytes, p.batches, config_.index_interval_bytes, &cut_failed); !st) {
    // A failed write changes nothing, unless cutting it back failed too, or a roll just moved the
    // active segment past the log end (a follower's batches starting after it): the next append
    // could then start below the active segment's base.
    if (cut_failed || seg->base_offset() > leo_) return go_offline(st.error());
    return st;
  }
  leo_ = p.last_offset + 1;
  note_appended(static_cast<std::int64_t>(p.bytes.size()));
  trace_appended(p);
  // The active segment grew by exactly the bytes and ends where the log now ends.
  KEEL_ASSERT(active() == seg);
  KEEL_ASSERT_EQ(seg->size_bytes(), size_before + p.bytes.size());
  KEEL_ASSERT_EQ(seg->next_offset(), leo_);
  check_invariants();
  return {};
}

// Debug only (built when asked for): what the simulator's retention check measures each deletion
// against, per batch: its offsets, its stored max timestamp and this node's clock at the append.
void Log::trace_appended(const Prepared& p) {
  TraceEvent event = rt_.trace("LogAppended", Severity::debug);
  if (!event.enabled()) return;
  event.detail("tp", tp_).detail("wall_ms", p.wall_ms).detail("bytes", p.bytes.size());
  std::string batches;
  for (const auto& b : p.batches) {
    fmt::format_to(std::back_inserter(batches), "{}{}:{}", batches.empty() ? "" : ",", b.last_offset, b.max_timestamp);
  }
  event.detail("first_offset", p.first_offset).detail("batches", batches);
}

void Log::note_appended(std::int64_t bytes) {
  KEEL_ASSERT_GT(bytes, 0);
  appended_bytes_ += bytes;
  if (leo_ <= high_watermark_) {
    visible_bytes_ = appended_bytes_;
  } else {
    KEEL_ASSERT(unseen_appends_.empty() || unseen_appends_.back().first < leo_);
    unseen_appends_.emplace_back(leo_, appended_bytes_);
  }
}

void Log::reset_high_watermark(std::int64_t offset) {
  high_watermark_ = std::clamp(offset, log_start_, leo_);
  note_high_watermark();
  check_invariants();
}

void Log::advance_high_watermark(std::int64_t offset) {
  KEEL_ASSERT_MSG(offset >= high_watermark() && offset <= leo_, "{}: high watermark {} -> {} (log end {})", tp_,
                  high_watermark(), offset, leo_);
  const std::int64_t visible_before = visible_bytes_;
  high_watermark_ = offset;
  note_high_watermark();
  KEEL_ASSERT_GE(visible_bytes_, visible_before);  // the count never goes down
  check_invariants();
}

void Log::note_high_watermark() {
  while (!unseen_appends_.empty() && unseen_appends_.front().first <= high_watermark_) {
    visible_bytes_ = unseen_appends_.front().second;
    unseen_appends_.pop_front();
  }
  KEEL_ASSERT_LE(visible_bytes_, appended_bytes_);
}

// Under the append lock: offsets from the log end (a leader's append) or checked against it (a
// follower's), and for a leader the log validator's part: timestamps checked against the topic's
// bounds, the max timestamp recomputed from the records (or LogAppendTime stamped) and the leader
// epoch, all into the private copy.
keel::Status Log::prepare(const protocol::BatchScan& scan, std::optional<std::int32_t> leader_epoch, Prepared& p) {
  KEEL_ASSERT(append_mutex_.locked());
  KEEL_ASSERT(p.batches.empty());
  KEEL_ASSERT(scan.record_timestamps.empty() || scan.record_timestamps.size() == scan.batches.size());
  std::int64_t next = leo_;
  const std::int64_t now = now_ms(rt_);
  p.wall_ms = now;
  if (config_.log_append_time && leader_epoch) p.append_time_ms = now;
  for (std::size_t i = 0; i < scan.batches.size(); ++i) {
    const auto& [at, h] = scan.batches[i];
    if (auto st = check_batch(h, next, leader_epoch.has_value()); !st) return st;
    std::span<std::uint8_t> bytes(p.bytes.data() + at, h.size_bytes());
    BatchInfo info;
    info.position = static_cast<std::uint32_t>(at);
    info.size_bytes = static_cast<std::uint32_t>(h.size_bytes());
    info.max_timestamp = h.max_timestamp;
    info.last_offset = h.last_offset();
    if (leader_epoch) {
      auto stamped = stamp_leader_batch(bytes, h, i < scan.record_timestamps.size() ? &scan.record_timestamps[i] : nullptr, now);
      if (!stamped) return stamped.error();
      info.max_timestamp = *stamped;
      protocol::set_base_offset(bytes, next);
      protocol::set_partition_leader_epoch(bytes, *leader_epoch);
      info.last_offset = next + h.last_offset_delta;
    }
    if (p.batches.empty()) p.first_offset = info.last_offset - h.last_offset_delta;
    p.max_timestamp = std::max(p.max_timestamp, info.max_timestamp);
    next = info.last_offset + 1;
    p.batches.push_back(info);
  }
  p.last_offset = next - 1;
  if (p.last_offset - p.first_offset > relative_offset_max) {
    return make_error(Errc::invalid_argument,
                      fmt::format("append to {}: offsets {}..{} do not fit one segment", tp_, p.first_offset, p.last_offset));
  }
  // A leader's offsets start at the log end, a follower's at or after it; either way they rise.
  KEEL_ASSERT_EQ(p.batches.size(), scan.batches.size());
  if (leader_epoch) KEEL_ASSERT_EQ(p.first_offset, leo_);
  KEEL_ASSERT_GE(p.first_offset, leo_);
  KEEL_ASSERT_LE(p.first_offset, p.last_offset);
  return {};
}

// What any append refuses of one batch: too large (a leader's), below the log end (a follower's),
// or offsets that go backwards.
keel::Status Log::check_batch(const protocol::BatchHeader& h, std::int64_t next, bool leader) const {
  if (leader && static_cast<std::int64_t>(h.size_bytes()) > config_.max_message_bytes) {
    return make_error(Errc::invalid_argument, fmt::format("record batch too large: {} bytes exceeds "
                                                          "max.message.bytes {}", h.size_bytes(), config_.max_message_bytes));
  }
  if (!leader && h.base_offset < next) {
    return make_error(Errc::invalid_argument, fmt::format("follower append to {}: batch base offset {} is below "
                                                          "the log end {}", tp_, h.base_offset, next));
  }
  if (h.last_offset_delta < 0 || h.last_offset() < h.base_offset) {
    return make_error(Errc::invalid_argument, fmt::format("append to {}: batch at offset {} has last offset delta {}",
                                                          tp_, h.base_offset, h.last_offset_delta));
  }
  return {};
}

// A leader's batch through the validator: its records' timestamps (from the produce path's walk, or
// walked here), checked against the topic's bounds, and the max timestamp the log stores.
keel::Result<std::int64_t> Log::stamp_leader_batch(std::span<std::uint8_t> bytes, const protocol::BatchHeader& h,
                                                   const protocol::RecordTimestamps* validated, std::int64_t now) {
  protocol::RecordTimestamps walked;
  if (validated == nullptr) {
    auto timestamps = protocol::record_timestamps(bytes);
    if (!timestamps) {
      return make_error(Errc::invalid_argument, fmt::format("append to {}: {}", tp_, timestamps.error().message));
    }
    walked = *timestamps;
    validated = &walked;
  }
  if (auto st = validate_timestamps(config_, h, *validated, now); !st) return st.error();
  const std::int64_t max_timestamp = stamp_max_timestamp(config_, bytes, *validated, now);
  KEEL_ASSERT(config_.log_append_time ? max_timestamp == now : max_timestamp == validated->max);
  return max_timestamp;
}

// The flush policy, outside the append lock so that appends of other tasks proceed meanwhile
// and one fsync can cover several of them.
keel::Status Log::after_append(const AppendResult& result, std::optional<std::int64_t> rolled_to) {
  KEEL_ASSERT_LE(result.base_offset, result.last_offset);
  if (rolled_to) {
    KEEL_ASSERT_EQ(*rolled_to, result.base_offset);  // the append starts the segment it rolled to
    if (roll_listener_) {
      roll_listener_();
    } else if (auto st = flush_rolled_segments(); !st) {
      return st;
    }
  }
  if (leo_ - rp_ >= config_.flush_interval_messages) return flush_to(result.last_offset + 1, true);
  return {};
}

// How much before segment.ms the active segment rolls: Kafka's per-segment jitter, drawn from the
// node's seeded generator once per segment (and never drawn while segment.jitter.ms is 0, so logs
// without jitter use no randomness).
std::int64_t Log::roll_jitter_ms() {
  if (config_.segment_jitter_ms <= 0) return 0;
  if (roll_jitter_ms_ < 0) {
    const auto bound = static_cast<std::uint64_t>(std::min(config_.segment_jitter_ms, config_.segment_ms));
    roll_jitter_ms_ = static_cast<std::int64_t>(rt_.random().below(bound));
  }
  return roll_jitter_ms_;
}

// Why the active segment must roll before an append, or empty when it need not.
std::string_view Log::roll_reason(std::uint64_t append_bytes, std::int64_t max_timestamp, std::int64_t last_offset) {
  const Segment& seg = *active();
  if (seg.empty()) return {};  // nothing to leave behind
  const std::int64_t size = static_cast<std::int64_t>(seg.size_bytes());
  const std::int64_t segment_bytes = std::min<std::int64_t>(config_.segment_bytes, relative_offset_max);
  const auto rolling_base = seg.rolling_base_timestamp();
  const std::int64_t time_waited = rolling_base && *rolling_base >= 0 ? max_timestamp - *rolling_base
                                                                      : to_ms(rt_.now() - seg.created_at());
  const std::size_t index_entries_max = static_cast<std::size_t>(std::max(config_.segment_index_bytes, 0));
  if (size > segment_bytes - static_cast<std::int64_t>(append_bytes)) return "size";
  if (time_waited > config_.segment_ms - roll_jitter_ms()) {
    KEEL_SOMETIMES("storage.roll.by_time");
    return "time";
  }
  if (seg.offset_index().size() >= index_entries_max / OffsetIndex::entry_bytes ||
      seg.time_index().size() + 1 >= index_entries_max / TimeIndex::entry_bytes) {
    KEEL_SOMETIMES("storage.roll.index_full");
    return "index_full";
  }
  if (last_offset - seg.base_offset() > relative_offset_max) return "offset_overflow";
  if (KEEL_BUGGIFY(rt_, "storage_roll_early")) return "buggify";  // segment boundaries anywhere, in simulation
  return {};
}

keel::Result<std::optional<std::int64_t>> Log::maybe_roll(std::uint64_t append_bytes, std::int64_t max_timestamp,
                                                          std::int64_t first_offset, std::int64_t last_offset) {
  KEEL_ASSERT_LE(first_offset, last_offset);
  const std::string_view reason = roll_reason(append_bytes, max_timestamp, last_offset);
  if (reason.empty()) {
    // An empty segment does not roll (it would stay behind as a hole), so a follower's batches
    // too far past it are refused; no leader without compaction writes such a gap.
    if (last_offset - active()->base_offset() > relative_offset_max) {
      return make_error(Errc::invalid_argument, fmt::format("append to {}: offsets {}..{} do not fit the segment at {}",
                                                            tp_, first_offset, last_offset, active()->base_offset()));
    }
    return std::optional<std::int64_t>();
  }
  const std::int64_t new_base = std::max(first_offset, leo_);
  if (auto st = roll(new_base, reason); !st) return st.error();
  return std::optional<std::int64_t>(new_base);
}

// A new empty active segment at new_base, at or past the log end.
keel::Status Log::roll(std::int64_t new_base, std::string_view reason) {
  KEEL_ASSERT(append_mutex_.locked());
  auto old = active();
  KEEL_ASSERT_LT(old->base_offset(), new_base);
  KEEL_ASSERT_GE(new_base, leo_);
  KEEL_ASSERT_LE(old->next_offset(), new_base);  // segments stay contiguous
  const std::size_t segments_before = segments_.size();
  if (auto st = old->on_become_inactive(); !st) return st;
  auto seg = Segment::create(rt_, dir_, new_base);
  if (!seg) return seg.error();
  KEEL_ASSERT(active() == old);  // the append lock kept other rolls and truncations out meanwhile
  segments_[new_base] = std::move(*seg);
  KEEL_ASSERT_EQ(segments_.size(), segments_before + 1);
  KEEL_ASSERT(active()->empty());
  dir_unsynced_ = true;
  roll_jitter_ms_ = -1;  // the new segment draws its own
  roll_flush_target_ = std::max(roll_flush_target_, new_base);
  rt_.trace("LogRoll")
      .detail("tp", tp_)
      .detail("base_offset", new_base)
      .detail("reason", reason)
      .detail("previous_bytes", old->size_bytes());
  return {};
}

// ---------------------------------------------------------------------------------------------
// flushing

keel::Status Log::flush() { return flush_to(leo_, true); }

keel::Status Log::flush_rolled_segments() { return flush_to(roll_flush_target_, false); }

// Group commit: the flush covers everything written when it starts (when to_log_end), so the
// appends that queued behind it find their offsets below the recovery point and sync nothing.
keel::Status Log::flush_to(std::int64_t needed, bool to_log_end) {
  Mutex::Guard guard(flush_mutex_);
  if (rp_ >= needed && !offline_) return {};
  const std::int64_t target = std::min(to_log_end ? leo_ : needed, leo_);
  auto st = flush_locked(target);
  if (st) KEEL_ASSERT_GE(rp_, target);  // what the caller waits for is on the platter
  return st;
}

// Syncs every segment from the one holding the recovery point to the one holding offset - 1,
// then the directory if segment files were created, then moves the recovery point to offset.
// With flush_interval_messages = 1 that is one fsync per flush in the common case.
keel::Status Log::flush_locked(std::int64_t offset) {
  KEEL_ASSERT(flush_mutex_.locked());
  if (offline_) return check_writable();
  offset = std::min(offset, leo_);
  if (rp_ >= offset) return {};
  const std::int64_t rp_before = rp_;
  std::vector<std::shared_ptr<Segment>> dirty;
  auto it = segments_.upper_bound(rp_);
  if (it != segments_.begin()) --it;
  for (; it != segments_.end() && it->first < offset; ++it) dirty.push_back(it->second);
  // The segment that will hold the recovery point is recovered (indexes rebuilt) after any crash;
  // the ones below it are not, so their indexes must be on the platter.
  const auto holder = segment_floor(offset);
  const std::int64_t recovered_from = holder ? holder->base_offset() : offset;
  for (const auto& seg : dirty) {
    if (auto st = seg->flush(seg->base_offset() < recovered_from); !st) return go_offline(st.error());
  }
  if (dir_unsynced_) {
    dir_unsynced_ = false;
    if (auto st = rt_.disk().sync_dir(dir_); !st) {
      dir_unsynced_ = true;
      return go_offline(st.error());
    }
  }
  // Only a truncation moves the recovery point back, and it holds the flush lock too.
  KEEL_ASSERT_EQ(rp_, rp_before);
  rp_ = offset;
  // Appends during the syncs only moved the log end further.
  KEEL_ASSERT_LE(rp_, leo_);
  last_flush_ = rt_.now();
  return {};
}

keel::Status Log::close() {
  Mutex::Guard append_guard(append_mutex_);
  Mutex::Guard flush_guard(flush_mutex_);
  if (closed_) return {};
  if (offline_) return check_writable();
  if (auto st = active()->on_become_inactive(); !st) return go_offline(st.error());
  // The final time-index entry and any index written since the last flush must reach the disk even
  // when the data is already below the recovery point.
  if (auto st = active()->flush(); !st) return go_offline(st.error());
  if (auto st = flush_locked(leo_); !st) return st;
  KEEL_ASSERT_EQ(rp_, leo_);  // both locks held: nothing appended since the flush
  closed_ = true;
  check_segments();
  return {};
}

// ---------------------------------------------------------------------------------------------
// reading

keel::Result<ReadResult> Log::read(std::int64_t offset, std::int32_t max_bytes, std::int64_t max_offset,
                                   bool min_one_batch) {
  ReadResult out;
  out.log_start_offset = log_start_;
  out.log_end_offset = leo_;
  if (offset < log_start_ || offset > leo_) {
    return make_error(Errc::invalid_argument, fmt::format("offset {} is out of range for {}: log start {}, log end {}",
                                                          offset, tp_, log_start_, leo_));
  }
  auto seg = segment_floor(offset);
  while (seg && offset < leo_ && offset < max_offset) {
    const std::uint64_t end = seg->size_bytes();
    auto found = seg->find_batch(offset, end);
    if (!found) return found.error();
    if (*found) {
      auto bytes = seg->read((*found)->position, end, max_bytes, max_offset, min_one_batch);
      if (!bytes) return bytes.error();
      out.records = std::move(*bytes);
      return out;
    }
    // Nothing at or after `offset` here (a gap): the next segment, looked up again since the map
    // may have changed while this task waited on the disk.
    auto next = segments_.upper_bound(seg->base_offset());
    seg = next == segments_.end() ? nullptr : next->second;
  }
  return out;
}

keel::Result<std::optional<std::int64_t>> Log::offset_for_timestamp(std::int64_t timestamp_ms) {
  if (timestamp_ms < 0) {
    return make_error(Errc::invalid_argument, fmt::format("offset_for_timestamp({}): the special timestamps "
                                                          "(latest, earliest) are the caller's", timestamp_ms));
  }
  std::vector<std::shared_ptr<Segment>> segments;
  for (const auto& [base, seg] : segments_) segments.push_back(seg);
  const std::int64_t start = log_start_;
  for (const auto& seg : segments) {
    if (seg->max_timestamp() < timestamp_ms) continue;
    auto found = seg->find_offset_for_timestamp(timestamp_ms, start);
    if (!found) return found.error();
    if (*found && **found < leo_) return found;
  }
  return std::optional<std::int64_t>();
}

// ---------------------------------------------------------------------------------------------
// truncation and the log start

keel::Status Log::truncate_to(std::int64_t offset) {
  Mutex::Guard append_guard(append_mutex_);
  Mutex::Guard flush_guard(flush_mutex_);
  if (auto st = check_writable(); !st) return st;
  if (offset < 0) return make_error(Errc::invalid_argument, fmt::format("truncate {} to {}", tp_, offset));
  if (offset >= leo_) return {};
  if (offset <= segments_.begin()->first) return truncate_fully_and_start_at(offset);
  KEEL_SOMETIMES("storage.truncate.within_log");
  const std::int64_t old_leo = leo_;
  std::vector<std::shared_ptr<Segment>> victims;
  for (auto it = segments_.upper_bound(offset); it != segments_.end(); ++it) victims.push_back(it->second);
  for (const auto& v : victims) segments_.erase(v->base_offset());
  move_offsets_down_to(offset);  // readers stop here at once; the files follow
  if (auto st = rename_away(victims, -1); !st) return st;
  if (!victims.empty()) {
    KEEL_SOMETIMES("storage.truncate.across_segments");
    if (auto st = rt_.disk().sync_dir(dir_); !st) return go_offline(st.error());
  }
  auto removed = cut_active_to(offset);
  if (!removed) return removed.error();
  check_segments();
  rt_.trace("LogTruncated")
      .detail("tp", tp_)
      .detail("offset", offset)
      .detail("previous_log_end_offset", old_leo)
      .detail("segments_deleted", victims.size())
      .detail("bytes_removed", *removed);
  return {};
}

// Under both locks, once the segments above `offset` left the map: every offset the log keeps
// moves to `offset` or below, so that no reader and no checkpoint sees one past the new end while
// the files are cut.
void Log::move_offsets_down_to(std::int64_t offset) {
  KEEL_ASSERT(append_mutex_.locked() && flush_mutex_.locked());
  KEEL_ASSERT_LE(offset, leo_);
  KEEL_ASSERT_LE(active()->base_offset(), offset);  // the active segment now holds the new end
  leo_ = offset;
  rp_ = std::min(rp_, offset);
  roll_flush_target_ = std::min(roll_flush_target_, offset);
  log_start_ = std::min(log_start_, offset);
  high_watermark_ = std::min(high_watermark_, offset);
  forget_unseen_appends_above(offset);
}

// Cuts the active segment at `offset` (the batch holding it goes whole) and syncs it. Returns the
// bytes removed.
keel::Result<std::uint64_t> Log::cut_active_to(std::int64_t offset) {
  auto seg = active();
  const std::uint64_t size_before = seg->size_bytes();
  auto removed = seg->truncate_to(offset, config_.index_interval_bytes);
  if (!removed) return go_offline(removed.error()).error();
  if (auto st = seg->flush(); !st) return go_offline(st.error()).error();
  KEEL_ASSERT(active() == seg);
  KEEL_ASSERT_EQ(seg->size_bytes() + *removed, size_before);
  KEEL_ASSERT_LE(seg->next_offset(), leo_);
  return removed;
}

// Renames the victims' files *.deleted, newest first, and schedules their removal, all but the
// segment at `recreated_base` (Segment::create replaced its files already). A failed rename takes
// the log offline: the directory no longer says what the log holds.
keel::Status Log::rename_away(const std::vector<std::shared_ptr<Segment>>& victims, std::int64_t recreated_base) {
  for (auto it = victims.rbegin(); it != victims.rend(); ++it) {
    if ((*it)->base_offset() == recreated_base) continue;
    auto renamed = (*it)->rename_to_deleted();
    if (!renamed) return go_offline(renamed.error());
    schedule_delete(std::move(*renamed));
  }
  return {};
}

keel::Status Log::restart_at(std::int64_t offset) {
  Mutex::Guard append_guard(append_mutex_);
  Mutex::Guard flush_guard(flush_mutex_);
  if (auto st = check_writable(); !st) return st;
  if (offset < 0) return make_error(Errc::invalid_argument, fmt::format("restart {} at {}", tp_, offset));
  return truncate_fully_and_start_at(offset);
}

// Truncated appends the high watermark never passed never become readable: their bytes are not
// counted (the appends that refill those offsets count for themselves). Bytes already visible stay
// counted: the count never goes down.
void Log::forget_unseen_appends_above(std::int64_t offset) {
  while (!unseen_appends_.empty() && unseen_appends_.back().first > offset) unseen_appends_.pop_back();
  appended_bytes_ = unseen_appends_.empty() ? visible_bytes_ : unseen_appends_.back().second;
  KEEL_ASSERT_LE(visible_bytes_, appended_bytes_);
}

keel::Status Log::truncate_fully_and_start_at(std::int64_t offset) {
  KEEL_ASSERT(append_mutex_.locked() && flush_mutex_.locked());
  KEEL_ASSERT_GE(offset, 0);
  std::vector<std::shared_ptr<Segment>> victims;
  for (const auto& [base, seg] : segments_) victims.push_back(seg);
  KEEL_SOMETIMES("storage.truncate.fully");
  auto fresh = Segment::create(rt_, dir_, offset);
  if (!fresh) return go_offline(fresh.error());
  // The map is never empty (a checkpoint or a read may run while the files are renamed), and the
  // log is the empty one starting at `offset` at once; the recovery point moves up only once the
  // directory says so.
  segments_.clear();
  segments_[offset] = std::move(*fresh);
  leo_ = log_start_ = roll_flush_target_ = offset;
  rp_ = std::min(rp_, offset);
  // A set high watermark is exactly at the start (never below it); an unset one stays unbounded.
  if (high_watermark_ != high_watermark_unbounded) high_watermark_ = offset;
  // Every append is gone: those the high watermark never passed never become readable.
  forget_unseen_appends_above(std::numeric_limits<std::int64_t>::min());
  check_invariants();
  if (auto st = rename_away(victims, offset); !st) return st;
  if (auto st = rt_.disk().sync_dir(dir_); !st) return go_offline(st.error());
  rp_ = offset;
  KEEL_ASSERT_EQ(segments_.size(), 1u);
  KEEL_ASSERT(active()->empty());
  check_segments();
  rt_.trace("LogTruncatedFully").detail("tp", tp_).detail("offset", offset).detail("segments_deleted", victims.size());
  return {};
}

keel::Status Log::advance_log_start_offset(std::int64_t offset) {
  if (offset > leo_) {
    return make_error(Errc::invalid_argument,
                      fmt::format("log start {} for {} would pass the log end {}", offset, tp_, leo_));
  }
  if (offset > log_start_) {
    log_start_ = offset;
    rt_.trace("LogStartOffsetAdvanced").detail("tp", tp_).detail("log_start_offset", offset);
  }
  KEEL_ASSERT_GE(log_start_, offset);
  check_invariants();
  return {};
}

// ---------------------------------------------------------------------------------------------
// retention

// Victims are the oldest segments, in order, each wholly below the high watermark.
void Log::check_victims(const std::vector<std::shared_ptr<Segment>>& victims) const {
  KEEL_ASSERT(!victims.empty());
  KEEL_ASSERT_LE(victims.size(), segments_.size());
  auto it = segments_.begin();
  for (const auto& v : victims) {
    KEEL_ASSERT(it->second == v);
    ++it;
  }
  const std::int64_t upper = it == segments_.end() ? leo_ : it->first;
  KEEL_ASSERT_LE(upper, high_watermark_);
}

// Kafka's deletableSegments: the oldest segments, in order, while each lies wholly below the high
// watermark, is not the empty active segment, and satisfies `predicate` (called once per segment
// looked at, in order: the size pass counts on it).
std::vector<std::shared_ptr<Segment>> Log::deletable_segments(const DeletionCondition& predicate) const {
  std::vector<std::shared_ptr<Segment>> out;
  for (auto it = segments_.begin(); it != segments_.end(); ++it) {
    auto next = std::next(it);
    const Segment* next_seg = next == segments_.end() ? nullptr : next->second.get();
    const std::int64_t upper = next_seg ? next_seg->base_offset() : leo_;
    if (upper > high_watermark_) break;
    if (!next_seg && it->second->empty()) break;  // an empty active segment never goes
    if (!predicate(*it->second, next_seg)) break;
    out.push_back(it->second);
  }
  return out;
}

keel::Result<int> Log::delete_old_segments() {
  Mutex::Guard guard(append_mutex_);
  if (auto st = check_writable(); !st) return st.error();
  check_segments();
  const std::int64_t log_start_before = log_start_;
  int deleted = 0;
  for (auto pass : {&Log::delete_log_start_offset_breached, &Log::delete_retention_size_breached,
                    &Log::delete_retention_ms_breached}) {
    auto n = (this->*pass)();
    if (!n) return n.error();
    deleted += *n;
  }
  KEEL_ASSERT_GE(log_start_, log_start_before);  // retention only ever moves the log start up
  check_segments();
  return deleted;
}

keel::Result<int> Log::delete_where(std::string_view reason, const DeletionCondition& predicate) {
  KEEL_ASSERT(append_mutex_.locked());
  const std::int64_t decided_ms = now_ms(rt_);
  auto victims = deletable_segments(predicate);
  if (victims.empty()) return 0;
  return delete_segments(std::move(victims), reason, decided_ms);
}

// Segments wholly below the log start (DeleteRecords, or a follower's log start from its leader).
keel::Result<int> Log::delete_log_start_offset_breached() {
  return delete_where("log_start_offset", [&](Segment&, const Segment* next) {
    return next != nullptr && next->base_offset() <= log_start_;
  });
}

// The oldest segments while what stays is still at least retention.bytes (-1: no limit).
keel::Result<int> Log::delete_retention_size_breached() {
  if (!config_.cleanup_delete) return 0;  // compact only: retention does not delete
  const std::int64_t size = size_bytes();
  if (config_.retention_bytes < 0 || size < config_.retention_bytes) return 0;
  std::int64_t excess = size - config_.retention_bytes;
  return delete_where("retention_bytes", [&](Segment& seg, const Segment*) {
    const auto seg_size = static_cast<std::int64_t>(seg.size_bytes());
    if (excess - seg_size < 0) return false;
    excess -= seg_size;
    return true;
  });
}

// The oldest segments whose age (the wall clock now minus their largest record timestamp, or their
// file's mtime when no record has a timestamp) is above retention.ms (-1: forever). A segment whose
// age cannot be read stays.
keel::Result<int> Log::delete_retention_ms_breached() {
  if (!config_.cleanup_delete) return 0;
  if (config_.retention_ms < 0) return 0;
  const std::int64_t now = now_ms(rt_);
  return delete_where("retention_ms", [&](Segment& seg, const Segment*) {
    auto newest = seg.largest_timestamp();
    if (!newest) {
      rt_.trace("LogSegmentAgeUnknown", Severity::warn)
          .detail("tp", tp_)
          .detail("base_offset", seg.base_offset())
          .detail("error", newest.error().message);
      return false;
    }
    return now - *newest > config_.retention_ms;
  });
}

// Kafka's deletion: the log start moves to the first survivor, the segments leave the map, their
// files are renamed *.deleted (no directory sync: after a crash they come back and go again) and
// removed later, so that reads in flight finish first.
keel::Result<int> Log::delete_segments(std::vector<std::shared_ptr<Segment>> victims, std::string_view reason,
                                       std::int64_t decided_ms) {
  KEEL_ASSERT(append_mutex_.locked());
  check_victims(victims);
  if (victims.size() == segments_.size()) {
    // Keep at least one segment: the active one is expiring, so a new empty one takes its place.
    if (auto st = roll(leo_, reason); !st) return st.error();
  }
  const std::int64_t log_start_before = log_start_;
  for (const auto& v : victims) segments_.erase(v->base_offset());
  KEEL_ASSERT(!segments_.empty());
  log_start_ = std::max(log_start_, segments_.begin()->first);
  KEEL_ASSERT_GE(log_start_, log_start_before);
  check_segments();
  trace_deleted(victims, reason, decided_ms);
  int deleted = 0;
  for (const auto& v : victims) {
    auto renamed = v->rename_to_deleted();
    if (!renamed) {
      // The segment is out of the map already; its files come back at the next load, below the
      // log start, and retention deletes them again.
      rt_.trace("LogSegmentDeleteFailed", Severity::warn).detail("tp", tp_).detail("error", renamed.error().message);
      continue;
    }
    schedule_delete(std::move(*renamed));
    ++deleted;
  }
  rt_.trace("LogSegmentsDeleted")
      .detail("tp", tp_)
      .detail("reason", reason)
      .detail("segments", victims.size())
      .detail("log_start_offset", log_start_);
  return deleted;
}

// One event per deleted segment, with what the decision was made on: the offsets it held (up to the
// next segment), its size, this node's wall clock when retention decided, and what the log keeps.
void Log::trace_deleted(const std::vector<std::shared_ptr<Segment>>& victims, std::string_view reason,
                        std::int64_t decided_ms) {
  const std::int64_t kept_bytes = size_bytes();
  for (std::size_t i = 0; i < victims.size(); ++i) {
    const std::int64_t end = i + 1 < victims.size() ? victims[i + 1]->base_offset() : segments_.begin()->first;
    rt_.trace("LogSegmentDeleted")
        .detail("tp", tp_)
        .detail("reason", reason)
        .detail("base_offset", victims[i]->base_offset())
        .detail("end_offset", end)
        .detail("size_bytes", victims[i]->size_bytes())
        .detail("decided_ms", decided_ms)
        .detail("log_bytes_kept", kept_bytes);
  }
}

void Log::schedule_delete(std::vector<std::string> paths) {
  KEEL_ASSERT(!paths.empty());
  PendingDelete d;
  d.due = rt_.now() + std::chrono::milliseconds(std::max<std::int64_t>(config_.file_delete_delay_ms, 0));
  d.paths = std::move(paths);
  pending_deletes_.push_back(std::move(d));
}

int Log::delete_expired_files() {
  const Instant now = rt_.now();
  std::vector<std::string> due;
  for (auto it = pending_deletes_.begin(); it != pending_deletes_.end();) {
    if (it->due > now) {
      ++it;
      continue;
    }
    due.insert(due.end(), it->paths.begin(), it->paths.end());
    it = pending_deletes_.erase(it);
  }
  KEEL_ASSERT(std::all_of(pending_deletes_.begin(), pending_deletes_.end(), [&](const PendingDelete& d) { return d.due > now; }));
  int removed = 0;
  for (const auto& file_path : due) {
    auto st = rt_.disk().remove(file_path);
    if (st) ++removed;
    if (!st && st.code() != Errc::not_found) {
      rt_.trace("LogFileDeleteFailed", Severity::warn).detail("file", file_path).detail("error", st.error().message);
    }
  }
  return removed;
}

std::optional<Instant> Log::next_file_delete_due() const {
  std::optional<Instant> out;
  for (const auto& d : pending_deletes_) {
    if (!out || d.due < *out) out = d.due;
  }
  return out;
}

}  // namespace keel::storage
