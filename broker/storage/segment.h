#pragma once
// One log segment: <base>.log (record batches back to back), <base>.index and <base>.timeindex.
// A segment caches its size; readers only ever look at [0, size) as it was when they started,
// and the size grows only after a whole append has been written, so a reader never sees part of
// a batch. Segments are shared (std::shared_ptr) so that a read in flight keeps the files of a
// segment that retention or truncation drops meanwhile.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "broker/platform/runtime.h"
#include "broker/protocol/record_batch.h"
#include "broker/storage/index.h"

namespace keel::storage {

// One batch of an append, as the segment needs it (offsets already assigned).
struct BatchInfo {
  std::uint32_t position = 0;  // in the appended buffer
  std::uint32_t size_bytes = 0;
  std::int64_t last_offset = 0;
  std::int64_t max_timestamp = -1;
};

// What a walk over a segment's .log found.
struct SegmentScan {
  std::uint64_t valid_bytes = 0;        // whole, valid batches from position 0
  std::uint64_t file_bytes = 0;         // the file's length when the scan began
  bool torn_tail = false;               // the file ends inside a batch
  std::optional<std::string> corruption;  // a bad length, magic, CRC or offset at valid_bytes
};

// A batch found by offset: where it starts and its header.
struct FoundBatch {
  std::uint64_t position = 0;
  protocol::BatchHeader header;
};

class Segment {
 public:
  // Creates the three files empty, replacing stale files of the same names.
  static keel::Result<std::shared_ptr<Segment>> create(Runtime& rt, const std::string& dir, std::int64_t base_offset);
  // Opens the files of an existing segment; missing index files are created empty and reported by
  // indexes_missing().
  static keel::Result<std::shared_ptr<Segment>> open(Runtime& rt, const std::string& dir, std::int64_t base_offset);

  // ---- loading ----
  // The clean-shutdown path: reads the index files and checks them (Errc::corrupt if they are not
  // sane, so the caller rebuilds them with recover()).
  keel::Status load_indexes();
  // For the last segment after load_indexes(): walks the batches after the last index entry to
  // learn the next offset and the newest timestamps. Errc::corrupt when the tail is not whole.
  keel::Status load_tail();
  // Rebuilds the indexes and every cached fact from the .log, batch by batch, stopping at the
  // first batch that is torn, malformed, fails its CRC (when verify_crc) or whose offsets go
  // backwards. Does not cut the file: the caller decides (cut_log()).
  keel::Result<SegmentScan> recover(bool verify_crc, std::int32_t index_interval_bytes);
  // Cuts the .log to `bytes` (after recover() found less valid data than the file holds).
  keel::Status cut_log(std::uint64_t bytes);

  // ---- writing ----
  // Writes `data` (whole batches, offsets assigned) at the end and adds index entries every
  // index_interval_bytes. On a failed write nothing in memory changes and the file is cut back;
  // `*cut_failed` says that cutting back failed too (the file may hold a partial write).
  keel::Status append(std::span<const std::uint8_t> data, std::span<const BatchInfo> batches,
                      std::int32_t index_interval_bytes, bool* cut_failed);
  // Drops every batch whose last offset is >= offset (the batch holding `offset` goes whole) and
  // rebuilds the cached facts. Returns the bytes removed.
  keel::Result<std::uint64_t> truncate_to(std::int64_t offset, std::int32_t index_interval_bytes);
  // Roll: the final time-index entry (the newest timestamp), then index files written out.
  keel::Status on_become_inactive();
  // fsyncs the .log if it changed since its last sync; with `indexes`, writes the indexes out and
  // fsyncs them too. (The segment holding the recovery point is rebuilt by any recovery, so its
  // indexes need not be durable; every segment below it does.)
  keel::Status flush(bool indexes = true);
  // Renames the three files to <name>.deleted; returns the new paths.
  keel::Result<std::vector<std::string>> rename_to_deleted();
  // Removes the three files (recovery drops segments past a corruption this way).
  keel::Status remove_files();

  // ---- reading ----
  // The first batch whose last offset is >= offset, among the batches before byte `end`.
  keel::Result<std::optional<FoundBatch>> find_batch(std::int64_t offset, std::uint64_t end);
  // Whole batches from `position` (a batch start) while they end before `end`, fit in max_bytes
  // (the first one regardless when min_one_batch) and their last offset is < max_offset. CRCs are
  // checked after the read; Errc::corrupt if the first batch fails twice.
  keel::Result<protocol::Bytes> read(std::uint64_t position, std::uint64_t end, std::int32_t max_bytes,
                                     std::int64_t max_offset, bool min_one_batch);
  // The first offset at or after start_offset of a record with timestamp >= timestamp_ms, through
  // the time index; nullopt when this segment has none.
  keel::Result<std::optional<std::int64_t>> find_offset_for_timestamp(std::int64_t timestamp_ms,
                                                                      std::int64_t start_offset);

  std::int64_t base_offset() const { return base_offset_; }
  std::uint64_t size_bytes() const { return size_; }
  bool empty() const { return size_ == 0; }
  // One past the last offset in this segment; exact for the last segment (load_tail/recover/append
  // saw its tail), a lower bound for the others.
  std::int64_t next_offset() const { return next_offset_; }
  std::int64_t max_timestamp() const { return max_timestamp_; }
  std::int64_t offset_of_max_timestamp() const { return offset_of_max_timestamp_; }
  // The max timestamp of the segment's first append: what roll-by-time measures from.
  std::optional<std::int64_t> rolling_base_timestamp() const { return rolling_base_timestamp_; }
  Instant created_at() const { return created_at_; }
  // What retention measures the segment's age by (Kafka's LogSegment.largestTimestamp): its largest
  // record timestamp, or, when no batch in it has one, the .log file's modification time (unix ms).
  keel::Result<std::int64_t> largest_timestamp();
  bool indexes_missing() const { return indexes_missing_; }
  const OffsetIndex& offset_index() const { return offset_index_; }
  const TimeIndex& time_index() const { return time_index_; }
  std::string log_path() const;

  // `fresh`: the index files were just created empty.
  Segment(Runtime& rt, std::string dir, std::int64_t base_offset, File log, File index, File time_index, bool fresh);

 private:
  enum class Visit : std::uint8_t { next, stop, invalid };
  struct RangeScan {
    std::uint64_t end = 0;  // where the walk stopped: after the last batch visited, or at the stop
    bool stopped = false;
    bool torn_tail = false;
    std::optional<std::string> corruption;
  };
  using Visitor = std::function<Visit(std::uint64_t position, const protocol::BatchHeader& header, std::string* why)>;
  keel::Result<RangeScan> scan_range(std::uint64_t from, std::uint64_t to, bool verify_crc, std::size_t chunk_bytes,
                                     const Visitor& visit);
  keel::Result<std::optional<FoundBatch>> find_first(std::int64_t hint, std::uint64_t end,
                                                     const std::function<bool(const protocol::BatchHeader&)>& match);
  keel::Result<std::optional<FoundBatch>> walk_from(std::uint64_t from, std::uint64_t end,
                                                    std::int64_t expected_first_last_offset,
                                                    const std::function<bool(const protocol::BatchHeader&)>& match,
                                                    bool* index_mismatch);
  keel::Result<protocol::BatchHeader> read_header(std::uint64_t position);
  keel::Result<protocol::Bytes> read_bytes(std::uint64_t position, std::uint64_t n);
  void reset_facts();
  // Index entries, newest timestamp and rolling base for one batch at `position`.
  void note_batch(std::uint64_t position, std::uint32_t size_bytes, std::int64_t last_offset,
                  std::int64_t max_timestamp, std::int32_t index_interval_bytes);
  keel::Result<std::optional<std::int64_t>> offset_in_batch(const FoundBatch& found, std::int64_t timestamp_ms,
                                                            std::int64_t start_offset);
  // The facts a segment keeps about itself agree (cheap: the last index entries only). Called at
  // the end of every function that changes them.
  void check_invariants() const;
  // Errc::corrupt: a truncation to `offset` left batches at or past it.
  Error ends_past(std::int64_t offset) const;
  // After recover(): the rebuilt indexes agree with the batches the walk indexed.
  void check_recovered() const;
  // An append's batches cover `data` back to back, their offsets rise from this segment's end and
  // fit its relative offsets, and each header in the bytes says what the index will record.
  void check_append(std::span<const std::uint8_t> data, std::span<const BatchInfo> batches) const;

  Runtime& rt_;
  std::string dir_;
  std::int64_t base_offset_;
  File log_;
  OffsetIndex offset_index_;
  TimeIndex time_index_;
  std::uint64_t size_ = 0;
  std::int64_t next_offset_;
  std::int64_t max_timestamp_ = -1;
  std::int64_t offset_of_max_timestamp_ = -1;
  std::optional<std::int64_t> rolling_base_timestamp_;
  std::uint64_t bytes_since_index_entry_ = 0;
  Instant created_at_;
  bool log_unsynced_ = false;
  bool indexes_missing_ = false;
};

}  // namespace keel::storage
