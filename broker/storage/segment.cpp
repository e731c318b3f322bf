#include "broker/storage/segment.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>

#include "broker/storage/topic_partition.h"

namespace keel::storage {

namespace {

// Reads walk a segment in chunks this big; recovery reads every byte, so it takes bigger ones.
constexpr std::size_t find_chunk_bytes = 16 * 1024;
constexpr std::size_t recover_chunk_bytes = 1024 * 1024;
// A batch longer than this is treated as a corrupt length: no sane log holds one, and a flipped
// length must not make recovery allocate gigabytes.
constexpr std::uint64_t scan_batch_bytes_max = 128ull * 1024 * 1024;

std::span<std::byte> as_writable(protocol::Bytes& b) { return std::as_writable_bytes(std::span(b.data(), b.size())); }

std::string path_of(const std::string& dir, std::int64_t base, std::string_view suffix) {
  return join_path(dir, segment_file_name(base, suffix));
}

keel::Result<File> open_file(Runtime& rt, const std::string& file_path, bool create_empty) {
  OpenOptions o;
  o.create = create_empty;
  o.truncate = create_empty;
  return rt.disk().open(file_path, o);
}

constexpr std::int64_t relative_offset_max = std::numeric_limits<std::int32_t>::max();

// What is wrong with the offsets of a batch read from a segment's .log, or nothing: a batch must
// start at or after `next` (the end of the batch before it), end at or after its start, and stay
// within the segment's relative offsets. The disk can hold anything, so this is an error the walk
// reports; the asserts further on rely on it.
std::optional<std::string> offsets_problem(const protocol::BatchHeader& h, std::int64_t next, std::int64_t base) {
  if (h.base_offset < next) return fmt::format("base offset {} is below the previous batch's end {}", h.base_offset, next);
  if (h.last_offset() < h.base_offset) {
    return fmt::format("last offset {} is below its base offset {}", h.last_offset(), h.base_offset);
  }
  if (h.last_offset() - base > relative_offset_max) {
    return fmt::format("last offset {} is too far past the segment base", h.last_offset());
  }
  return std::nullopt;
}

}  // namespace

Segment::Segment(Runtime& rt, std::string dir, std::int64_t base_offset, File log, File index, File time_index,
                 bool fresh)
    : rt_(rt),
      dir_(std::move(dir)),
      base_offset_(base_offset),
      log_(std::move(log)),
      offset_index_(std::move(index), base_offset, fresh),
      time_index_(std::move(time_index), base_offset, fresh),
      next_offset_(base_offset),
      created_at_(rt.now()) {}

std::string Segment::log_path() const { return path_of(dir_, base_offset_, log_suffix); }

keel::Result<std::int64_t> Segment::largest_timestamp() {
  if (max_timestamp_ >= 0) return max_timestamp_;
  auto modified = log_.modified_time();
  if (!modified) return modified.error();
  return to_unix_ms(*modified);
}

keel::Result<std::shared_ptr<Segment>> Segment::create(Runtime& rt, const std::string& dir, std::int64_t base_offset) {
  KEEL_ASSERT_GE(base_offset, 0);
  auto log = open_file(rt, path_of(dir, base_offset, log_suffix), true);
  if (!log) return log.error();
  auto index = open_file(rt, path_of(dir, base_offset, index_suffix), true);
  if (!index) return index.error();
  auto time_index = open_file(rt, path_of(dir, base_offset, time_index_suffix), true);
  if (!time_index) return time_index.error();
  return std::make_shared<Segment>(rt, dir, base_offset, std::move(*log), std::move(*index), std::move(*time_index),
                                   true);
}

keel::Result<std::shared_ptr<Segment>> Segment::open(Runtime& rt, const std::string& dir, std::int64_t base_offset) {
  auto log = open_file(rt, path_of(dir, base_offset, log_suffix), false);
  if (!log) return log.error();
  auto size = log->size();
  if (!size) return size.error();
  bool missing = false;
  auto open_index = [&](std::string_view suffix) -> keel::Result<File> {
    auto f = open_file(rt, path_of(dir, base_offset, suffix), false);
    if (f || f.code() != Errc::not_found) return f;
    missing = true;
    return open_file(rt, path_of(dir, base_offset, suffix), true);
  };
  auto index = open_index(index_suffix);
  if (!index) return index.error();
  auto time_index = open_index(time_index_suffix);
  if (!time_index) return time_index.error();
  auto seg = std::make_shared<Segment>(rt, dir, base_offset, std::move(*log), std::move(*index), std::move(*time_index),
                                       false);
  seg->size_ = *size;
  seg->indexes_missing_ = missing;
  // Nothing is known of the contents until load_indexes() or recover(): the facts start empty.
  KEEL_ASSERT_EQ(seg->next_offset_, base_offset);
  KEEL_ASSERT(seg->offset_index_.empty() && seg->time_index_.empty());
  return seg;
}

// ---------------------------------------------------------------------------------------------
// walking the .log

keel::Result<protocol::Bytes> Segment::read_bytes(std::uint64_t position, std::uint64_t n) {
  protocol::Bytes buf(n);
  if (auto st = log_.read_exact_at(position, as_writable(buf)); !st) return st.error();
  return buf;
}

keel::Result<protocol::BatchHeader> Segment::read_header(std::uint64_t position) {
  auto buf = read_bytes(position, protocol::batch_header_bytes);
  if (!buf) return buf.error();
  return protocol::parse_batch_header(*buf);
}

// Walks the batches in [from, to) chunk by chunk. A batch bigger than a chunk is read whole when
// CRCs are checked, and skipped by its header otherwise.
keel::Result<Segment::RangeScan> Segment::scan_range(std::uint64_t from, std::uint64_t to, bool verify_crc,
                                                     std::size_t chunk_bytes, const Visitor& visit) {
  RangeScan out;
  std::uint64_t pos = from;
  std::uint64_t next_chunk = chunk_bytes;
  while (pos < to) {
    const std::uint64_t want = std::min<std::uint64_t>(next_chunk, to - pos);
    next_chunk = chunk_bytes;
    auto buf = read_bytes(pos, want);
    if (!buf) return buf.error();
    const auto scan = protocol::scan_batches(*buf, verify_crc);
    for (const auto& [at, header] : scan.batches) {
      std::string why;
      const Visit v = visit(pos + at, header, &why);
      if (v == Visit::next) continue;
      out.end = pos + at;
      if (v == Visit::stop) {
        out.stopped = true;
      } else {
        out.corruption = fmt::format("batch at position {}: {}", pos + at, why);
      }
      return out;
    }
    pos += scan.valid_bytes;
    out.end = pos;
    if (scan.corruption) {
      out.corruption = fmt::format("batch at position {}: {}", pos, scan.corruption->message);
      return out;
    }
    if (scan.valid_bytes == want) continue;
    if (pos - scan.valid_bytes + want >= to) {  // the walk reached `to` inside a batch
      out.torn_tail = true;
      return out;
    }
    if (scan.valid_bytes > 0) continue;  // the next chunk starts at the partial batch
    // One batch longer than a chunk.
    auto header = protocol::parse_batch_header(*buf);
    if (!header) {
      out.corruption = fmt::format("batch at position {}: {}", pos, header.error().message);
      return out;
    }
    const std::uint64_t size = header->size_bytes();
    if (size > scan_batch_bytes_max) {
      out.corruption = fmt::format("batch at position {}: length {} is past any sane batch", pos, size);
      return out;
    }
    if (pos + size > to) {
      out.torn_tail = true;
      return out;
    }
    if (verify_crc) {
      next_chunk = size;
      continue;
    }
    std::string why;
    const Visit v = visit(pos, *header, &why);
    if (v != Visit::next) {
      out.stopped = v == Visit::stop;
      if (v == Visit::invalid) out.corruption = fmt::format("batch at position {}: {}", pos, why);
      return out;
    }
    pos += size;
    out.end = pos;
  }
  return out;
}

void Segment::check_invariants() const {
  KEEL_ASSERT_GE(next_offset_, base_offset_);
  KEEL_ASSERT_LE(bytes_since_index_entry_, size_);
  if (!offset_index_.empty()) {
    KEEL_ASSERT_LT(offset_index_.last().offset, next_offset_);
    KEEL_ASSERT_LT(offset_index_.last().position, size_);
  }
  // The time index records maxima as they were reached, so its last entry is at most the newest.
  if (!time_index_.empty()) KEEL_ASSERT_LE(time_index_.last().timestamp, max_timestamp_);
  if (max_timestamp_ >= 0) KEEL_ASSERT_GE(offset_of_max_timestamp_, base_offset_);
}

void Segment::check_recovered() const {
  check_invariants();
  KEEL_ASSERT_EQ(size_ == 0, next_offset_ == base_offset_);
  KEEL_ASSERT_EQ(size_ > 0, rolling_base_timestamp_.has_value());
  if (max_timestamp_ < 0) return;
  // The walk ends the time index with the newest timestamp it saw, as a roll would.
  KEEL_ASSERT(!time_index_.empty());
  KEEL_ASSERT_EQ(time_index_.last().timestamp, max_timestamp_);
  KEEL_ASSERT_EQ(time_index_.last().offset, offset_of_max_timestamp_);
  KEEL_ASSERT_LT(offset_of_max_timestamp_, next_offset_);
}

void Segment::check_append(std::span<const std::uint8_t> data, std::span<const BatchInfo> batches) const {
  KEEL_ASSERT(!batches.empty());
  std::uint64_t position = 0;
  std::int64_t next = next_offset_;
  for (const auto& b : batches) {
    KEEL_ASSERT_EQ(b.position, position);
    auto h = protocol::parse_batch_header(data.subspan(position));
    KEEL_ASSERT_MSG(h.ok(), "{}: appended batch at {}: {}", log_path(), position, h.error().message);
    KEEL_ASSERT_EQ(h->size_bytes(), b.size_bytes);
    KEEL_ASSERT_EQ(h->last_offset(), b.last_offset);
    KEEL_ASSERT_EQ(h->max_timestamp, b.max_timestamp);
    KEEL_ASSERT_GE(h->base_offset, next);
    KEEL_ASSERT_GE(b.last_offset, h->base_offset);
    position += b.size_bytes;
    next = b.last_offset + 1;
  }
  KEEL_ASSERT_EQ(position, data.size());
  KEEL_ASSERT_LE(batches.back().last_offset - base_offset_, relative_offset_max);
}

void Segment::reset_facts() {
  offset_index_.clear();
  time_index_.clear();
  next_offset_ = base_offset_;
  max_timestamp_ = -1;
  offset_of_max_timestamp_ = -1;
  rolling_base_timestamp_.reset();
  bytes_since_index_entry_ = 0;
}

void Segment::note_batch(std::uint64_t position, std::uint32_t size_bytes, std::int64_t last_offset,
                         std::int64_t max_timestamp, std::int32_t index_interval_bytes) {
  KEEL_ASSERT_LE(position, std::numeric_limits<std::uint32_t>::max());
  KEEL_ASSERT_GE(last_offset, next_offset_);
  if (max_timestamp > max_timestamp_) {
    max_timestamp_ = max_timestamp;
    offset_of_max_timestamp_ = last_offset;
  }
  if (bytes_since_index_entry_ > static_cast<std::uint64_t>(std::max(index_interval_bytes, 0))) {
    OffsetEntry e;
    e.offset = last_offset;
    e.position = static_cast<std::uint32_t>(position);
    offset_index_.push(e);
    time_index_.maybe_append(max_timestamp_, offset_of_max_timestamp_);
    bytes_since_index_entry_ = 0;
  }
  bytes_since_index_entry_ += size_bytes;
  next_offset_ = last_offset + 1;
}

// ---------------------------------------------------------------------------------------------
// loading and recovery

keel::Status Segment::load_indexes() {
  if (auto st = offset_index_.load(); !st) return st;
  if (auto st = time_index_.load(); !st) return st;
  if (!offset_index_.sane(size_)) {
    return make_error(Errc::corrupt, fmt::format("{}: offset index entries out of order or past the log",
                                                 segment_file_name(base_offset_, index_suffix)));
  }
  if (!time_index_.sane()) {
    return make_error(Errc::corrupt, fmt::format("{}: time index entries out of order",
                                                 segment_file_name(base_offset_, time_index_suffix)));
  }
  if (!time_index_.empty()) {
    max_timestamp_ = time_index_.last().timestamp;
    offset_of_max_timestamp_ = time_index_.last().offset;
  }
  next_offset_ = offset_index_.empty() ? base_offset_ : offset_index_.last().offset + 1;
  check_invariants();
  return {};
}

keel::Status Segment::load_tail() {
  const std::uint64_t from = offset_index_.empty() ? 0 : offset_index_.last().position;
  const std::int64_t expected_first = offset_index_.empty() ? -1 : offset_index_.last().offset;
  bool first = true;
  std::int64_t next = base_offset_;
  auto scan = scan_range(from, size_, false, recover_chunk_bytes,
                         [&](std::uint64_t, const protocol::BatchHeader& h, std::string* why) {
                           if (first && expected_first >= 0 && h.last_offset() != expected_first) {
                             *why = fmt::format("the last index entry says offset {}, the batch ends at {}",
                                                expected_first, h.last_offset());
                             return Visit::invalid;
                           }
                           if (auto problem = offsets_problem(h, next, base_offset_)) {
                             *why = *problem;
                             return Visit::invalid;
                           }
                           first = false;
                           next = h.last_offset() + 1;
                           if (h.max_timestamp > max_timestamp_) {
                             max_timestamp_ = h.max_timestamp;
                             offset_of_max_timestamp_ = h.last_offset();
                           }
                           next_offset_ = h.last_offset() + 1;
                           return Visit::next;
                         });
  if (!scan) return scan.error();
  if (scan->corruption || scan->torn_tail || scan->end != size_) {
    return make_error(Errc::corrupt, fmt::format("{}: {}", segment_file_name(base_offset_, log_suffix),
                                                 scan->corruption.value_or("the last batch is not whole")));
  }
  if (!time_index_.empty() && time_index_.last().offset >= next_offset_) {
    return make_error(Errc::corrupt, fmt::format("{}: the last entry names offset {}, past the log end {}",
                                                 segment_file_name(base_offset_, time_index_suffix),
                                                 time_index_.last().offset, next_offset_));
  }
  bytes_since_index_entry_ = size_ - from;
  if (size_ > 0) {
    auto h = read_header(0);
    if (!h) return h.error();
    rolling_base_timestamp_ = h->max_timestamp;
  }
  check_invariants();
  return {};
}

keel::Result<SegmentScan> Segment::recover(bool verify_crc, std::int32_t index_interval_bytes) {
  auto file_size = log_.size();
  if (!file_size) return file_size.error();
  reset_facts();
  auto scan = scan_range(0, *file_size, verify_crc, recover_chunk_bytes,
                         [&](std::uint64_t pos, const protocol::BatchHeader& h, std::string* why) {
                           if (auto problem = offsets_problem(h, next_offset_, base_offset_)) {
                             *why = *problem;
                             return Visit::invalid;
                           }
                           if (pos > std::numeric_limits<std::uint32_t>::max() - h.size_bytes()) {
                             *why = "the segment is past the 4 GiB an index position can address";
                             return Visit::invalid;
                           }
                           if (!rolling_base_timestamp_) rolling_base_timestamp_ = h.max_timestamp;
                           note_batch(pos, static_cast<std::uint32_t>(h.size_bytes()), h.last_offset(),
                                      h.max_timestamp, index_interval_bytes);
                           return Visit::next;
                         });
  if (!scan) return scan.error();
  // A normally closed segment ends its time index with the newest timestamp; so does a recovered one.
  if (max_timestamp_ >= 0) time_index_.maybe_append(max_timestamp_, offset_of_max_timestamp_);
  size_ = scan->end;
  indexes_missing_ = false;
  log_unsynced_ = true;  // what the walk read may exist only in the page cache (after a kill -9)
  check_recovered();
  SegmentScan out;
  out.valid_bytes = scan->end;
  out.file_bytes = *file_size;
  out.torn_tail = scan->torn_tail;
  out.corruption = scan->corruption;
  return out;
}

keel::Status Segment::cut_log(std::uint64_t bytes) {
  KEEL_ASSERT_LE(bytes, size_);  // a cut never grows the log
  if (auto st = log_.truncate(bytes); !st) return st;
  size_ = bytes;
  log_unsynced_ = true;
  return {};
}

// ---------------------------------------------------------------------------------------------
// writing

keel::Status Segment::append(std::span<const std::uint8_t> data, std::span<const BatchInfo> batches,
                             std::int32_t index_interval_bytes, bool* cut_failed) {
  check_append(data, batches);
  *cut_failed = false;
  const std::uint64_t at = size_;
  KEEL_ASSERT_LE(at + data.size(), std::numeric_limits<std::uint32_t>::max());
  log_unsynced_ = true;
  if (auto st = log_.write_at(at, std::as_bytes(data)); !st) {
    // A failed write may have landed in part; the next append writes at the same place, but a
    // crash before then must not find a stray tail that looks like batches.
    *cut_failed = !log_.truncate(at).ok();
    return st;
  }
  // Again once the write is done: a flush of another task that ran while this write was in
  // flight cleared the flag, but its fsync need not cover this write. Without this, the append's
  // own flush found nothing to sync and the records were acknowledged unsynced (found by the
  // single-broker-crash-loop scenario: two producers appending to one partition at once).
  log_unsynced_ = true;
  // The caller's append lock keeps this the segment's only writer while the write waited.
  KEEL_ASSERT_EQ(size_, at);
  if (size_ == 0) {
    std::int64_t max_ts = -1;
    for (const auto& b : batches) max_ts = std::max(max_ts, b.max_timestamp);
    rolling_base_timestamp_ = max_ts;
  }
  for (const auto& b : batches) note_batch(at + b.position, b.size_bytes, b.last_offset, b.max_timestamp, index_interval_bytes);
  size_ = at + data.size();
  KEEL_ASSERT_EQ(next_offset_, batches.back().last_offset + 1);
  check_invariants();
  return {};
}

keel::Result<std::uint64_t> Segment::truncate_to(std::int64_t offset, std::int32_t index_interval_bytes) {
  KEEL_ASSERT_GE(offset, base_offset_);
  auto found = find_batch(offset, size_);
  if (!found) return found.error();
  if (!*found) {
    // No batch reaches `offset`, yet the segment's end says one does: the bytes changed under us.
    if (next_offset_ > offset) return ends_past(offset);
    return std::uint64_t{0};
  }
  const std::uint64_t before = size_;
  const std::uint64_t cut = (*found)->position;
  if (auto st = cut_log(cut); !st) return st.error();
  auto rebuilt = recover(false, index_interval_bytes);
  if (!rebuilt) return rebuilt.error();
  if (rebuilt->valid_bytes != cut) {
    return make_error(Errc::corrupt, fmt::format("{}: after truncation to {} bytes only {} are whole batches",
                                                 log_path(), cut, rebuilt->valid_bytes));
  }
  if (next_offset_ > offset) return ends_past(offset);  // the walk read other bytes than find_batch
  KEEL_ASSERT_EQ(size_, cut);
  return before - cut;
}

Error Segment::ends_past(std::int64_t offset) const {
  return make_error(Errc::corrupt, fmt::format("{}: truncated to offset {}, it still ends at {}: its batches read "
                                               "differently from one walk to the next", log_path(), offset, next_offset_));
}

keel::Status Segment::on_become_inactive() {
  if (max_timestamp_ >= 0) time_index_.maybe_append(max_timestamp_, offset_of_max_timestamp_);
  check_invariants();
  if (auto st = offset_index_.persist(); !st) return st;
  return time_index_.persist();
}

keel::Status Segment::flush(bool indexes) {
  if (indexes) {
    if (auto st = offset_index_.sync(); !st) return st;
    if (auto st = time_index_.sync(); !st) return st;
  }
  if (!log_unsynced_) return {};
  log_unsynced_ = false;
  auto st = log_.sync();
  if (!st) log_unsynced_ = true;
  return st;
}

keel::Result<std::vector<std::string>> Segment::rename_to_deleted() {
  std::vector<std::string> renamed;
  for (auto suffix : {log_suffix, index_suffix, time_index_suffix}) {
    const std::string from = path_of(dir_, base_offset_, suffix);
    const std::string to = from + std::string(deleted_suffix);
    if (auto st = rt_.disk().rename(from, to); !st) return st.error();
    renamed.push_back(to);
  }
  KEEL_ASSERT_EQ(renamed.size(), 3u);
  return renamed;
}

keel::Status Segment::remove_files() {
  for (auto suffix : {time_index_suffix, index_suffix, log_suffix}) {
    auto st = rt_.disk().remove(path_of(dir_, base_offset_, suffix));
    if (!st && st.code() != Errc::not_found) return st;
  }
  return {};
}

// ---------------------------------------------------------------------------------------------
// reading

keel::Result<std::optional<FoundBatch>> Segment::walk_from(std::uint64_t from, std::uint64_t end,
                                                         std::int64_t expected_first_last_offset,
                                                         const std::function<bool(const protocol::BatchHeader&)>& match,
                                                         bool* index_mismatch) {
  std::optional<FoundBatch> found;
  bool first = true;
  auto scan = scan_range(from, end, false, find_chunk_bytes,
                         [&](std::uint64_t pos, const protocol::BatchHeader& h, std::string* why) {
                           if (first && expected_first_last_offset >= 0 && h.last_offset() != expected_first_last_offset) {
                             *index_mismatch = true;
                             *why = "index entry mismatch";
                             return Visit::invalid;
                           }
                           first = false;
                           if (!match(h)) return Visit::next;
                           FoundBatch f;
                           f.position = pos;
                           f.header = h;
                           found = f;
                           return Visit::stop;
                         });
  if (!scan) return scan.error();
  if (!found && scan->corruption && !*index_mismatch) {
    return make_error(Errc::corrupt, fmt::format("{}: {}", log_path(), *scan->corruption));
  }
  return found;
}

// Starts at the index entry at or below `hint`, but trusts it only when the batch at its
// position really ends at the entry's offset (index files carry no checksum); otherwise walks
// the segment from its start and says so.
keel::Result<std::optional<FoundBatch>> Segment::find_first(std::int64_t hint, std::uint64_t end,
                                                          const std::function<bool(const protocol::BatchHeader&)>& match) {
  const auto entry = offset_index_.floor(hint);
  if (entry && entry->position < end) {
    bool mismatch = false;
    auto found = walk_from(entry->position, end, entry->offset, match, &mismatch);
    if (!mismatch) return found;
    rt_.trace("LogIndexMismatch", Severity::warn)
        .detail("file", segment_file_name(base_offset_, index_suffix))
        .detail("offset", entry->offset)
        .detail("position", entry->position);
  }
  bool unused = false;
  return walk_from(0, end, -1, match, &unused);
}

keel::Result<std::optional<FoundBatch>> Segment::find_batch(std::int64_t offset, std::uint64_t end) {
  return find_first(offset, end, [offset](const protocol::BatchHeader& h) { return h.last_offset() >= offset; });
}

keel::Result<protocol::Bytes> Segment::read(std::uint64_t position, std::uint64_t end, std::int32_t max_bytes,
                                            std::int64_t max_offset, bool min_one_batch) {
  if (position >= end) return protocol::Bytes{};
  const std::uint64_t want = std::min<std::uint64_t>(static_cast<std::uint64_t>(std::max(max_bytes, 0)), end - position);
  std::optional<Error> last_error;
  // Twice: a bit flipped on the way from the disk is gone on the second read; one on the disk is not.
  for (int attempt = 0; attempt < 2; ++attempt) {
    protocol::Bytes buf;
    if (want >= protocol::log_overhead_bytes) {
      auto got = read_bytes(position, want);
      if (!got) return got.error();
      buf = std::move(*got);
    }
    const auto scan = protocol::scan_batches(buf, true);
    if (!scan.batches.empty()) {
      std::size_t take = 0;
      for (const auto& [at, h] : scan.batches) {
        if (h.last_offset() >= max_offset) break;
        take = at + h.size_bytes();
      }
      buf.resize(take);  // empty when the first batch reaches max_offset
      return buf;
    }
    if (scan.corruption) {
      last_error = *scan.corruption;
      continue;
    }
    if (!min_one_batch) return protocol::Bytes{};
    // The first batch is bigger than max_bytes: return it whole, as Kafka does, so a consumer
    // with a small fetch size still makes progress.
    auto h = read_header(position);
    if (!h) {
      if (h.code() != Errc::corrupt) return h.error();
      last_error = h.error();
      continue;
    }
    if (h->last_offset() >= max_offset || position + h->size_bytes() > end) return protocol::Bytes{};
    auto whole = read_bytes(position, h->size_bytes());
    if (!whole) return whole.error();
    if (auto st = protocol::verify_batch_crc(*whole); !st) {
      last_error = st.error();
      continue;
    }
    return whole;
  }
  rt_.trace("LogReadCorruption", Severity::warn).detail("file", log_path()).detail("position", position)
      .detail("error", last_error->message);
  return make_error(Errc::corrupt, fmt::format("{}: batch at position {}: {}", log_path(), position, last_error->message));
}

keel::Result<std::optional<std::int64_t>> Segment::offset_in_batch(const FoundBatch& found, std::int64_t timestamp_ms,
                                                                   std::int64_t start_offset) {
  const auto& h = found.header;
  const std::int64_t fallback = std::max(h.base_offset, start_offset);
  if (h.log_append_time()) return std::optional<std::int64_t>(fallback);  // every record has the batch's time
  auto bytes = read_bytes(found.position, h.size_bytes());
  if (!bytes) return bytes.error();
  auto records = protocol::decode_records(*bytes);
  if (!records) return std::optional<std::int64_t>(fallback);
  for (const auto& r : *records) {
    if (r.timestamp >= timestamp_ms && r.offset >= start_offset) return std::optional<std::int64_t>(r.offset);
  }
  return std::optional<std::int64_t>();
}

keel::Result<std::optional<std::int64_t>> Segment::find_offset_for_timestamp(std::int64_t timestamp_ms,
                                                                            std::int64_t start_offset) {
  const auto time_entry = time_index_.floor(timestamp_ms);
  const std::int64_t from_offset = std::max(time_entry ? time_entry->offset : base_offset_, start_offset);
  auto found = find_first(from_offset, size_, [&](const protocol::BatchHeader& h) {
    return h.max_timestamp >= timestamp_ms && h.last_offset() >= start_offset;
  });
  if (!found) return found.error();
  if (!*found) return std::optional<std::int64_t>();
  auto in_batch = offset_in_batch(**found, timestamp_ms, start_offset);
  if (!in_batch) return in_batch.error();
  if (*in_batch) return in_batch;
  // The header promised a timestamp the records do not hold: answer with the next batch's start.
  return std::optional<std::int64_t>((*found)->header.last_offset() + 1);
}

}  // namespace keel::storage
