#pragma once
// A segment's sparse indexes, Kafka's on-disk formats (big-endian, no header, no checksum):
//   .index      8-byte entries: int32 offset relative to the segment base, int32 file position
//   .timeindex 12-byte entries: int64 timestamp, int32 relative offset
// Entries live in memory (lookups never touch the disk) and are appended to the file lazily by
// persist(): on flush, roll and close. So a file may lag its memory; after a crash the indexes
// of every segment at or above the recovery point are rebuilt from the log anyway, and those
// below it were persisted and synced by the flush that moved the recovery point past them.
// Files are never preallocated, so they need no trimming.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "broker/base/assert.h"
#include "broker/platform/disk.h"
#include "broker/platform/sync.h"

namespace keel::storage {

struct OffsetEntry {
  std::int64_t offset = 0;      // the last offset of the batch that starts at `position`
  std::uint32_t position = 0;   // byte position of that batch in the .log
};

struct TimeEntry {
  std::int64_t timestamp = -1;  // the largest timestamp up to and including the batch ending at `offset`
  std::int64_t offset = 0;
};

// Encoding of one entry type, relative to a segment base offset.
struct OffsetEntryCodec {
  using Entry = OffsetEntry;
  static constexpr std::size_t entry_bytes = 8;
  static void encode(const Entry& e, std::int64_t base, std::byte* out);
  static Entry decode(const std::byte* in, std::int64_t base);
  // Offsets and positions strictly increase: one entry per batch, batches back to back.
  static bool in_order(const Entry& prev, const Entry& next) {
    return next.offset > prev.offset && next.position > prev.position;
  }
};
struct TimeEntryCodec {
  using Entry = TimeEntry;
  static constexpr std::size_t entry_bytes = 12;
  static void encode(const Entry& e, std::int64_t base, std::byte* out);
  static Entry decode(const std::byte* in, std::int64_t base);
  // Timestamps strictly increase (an entry only for a new maximum); offsets never go back.
  static bool in_order(const Entry& prev, const Entry& next) {
    return next.timestamp > prev.timestamp && next.offset >= prev.offset;
  }
};

template <class Codec>
class IndexFile {
 public:
  using Entry = typename Codec::Entry;
  static constexpr std::size_t entry_bytes = Codec::entry_bytes;

  // `fresh`: the file was just created empty. Otherwise it may hold entries this object has not
  // loaded, and the first persist() cuts it before writing.
  IndexFile(File file, std::int64_t base_offset, bool fresh = true)
      : file_(std::move(file)), base_offset_(base_offset), file_known_(fresh) {}

  // Reads every entry from the file (the clean-shutdown path). Errc::corrupt when the length is
  // not a whole number of entries.
  keel::Status load();
  const std::vector<Entry>& entries() const { return entries_; }
  std::size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  const Entry& last() const { return entries_.back(); }

  // Entries are built by this code from batches it appended or walked, never read from the file
  // (load() does that, and the caller checks the loaded index is sane): an entry out of order or
  // outside the segment's relative offsets is a programmer error.
  void push(const Entry& e);
  // Drops the entries from index `keep` on (memory now, the file at the next persist()).
  void truncate_entries(std::size_t keep);
  void clear() { truncate_entries(0); }

  // Makes the file equal memory: cuts stale entries and writes the missing ones (not synced).
  keel::Status persist();
  // persist() and fsync, if anything changed since the last sync.
  keel::Status sync();
  File& file() { return file_; }
  std::int64_t base_offset() const { return base_offset_; }

 private:
  File file_;
  std::int64_t base_offset_;
  std::vector<Entry> entries_;
  std::size_t file_valid_ = 0;    // entries at the front of the file that match memory
  std::size_t file_entries_ = 0;  // entries the file holds (it may hold stale ones past file_valid_)
  bool file_known_;                 // file_entries_ is what the file holds
  std::uint64_t truncations_ = 0;  // lets persist() see a truncate_entries() made while it wrote
  bool unsynced_ = false;
  Mutex mutex_;  // persist() suspends; two tasks (a flush and a roll) must not interleave it
};

class OffsetIndex : public IndexFile<OffsetEntryCodec> {
 public:
  using IndexFile::IndexFile;
  // The largest entry with offset <= target; nullopt when every entry is above it.
  std::optional<OffsetEntry> floor(std::int64_t target) const;
  // Drops entries for offsets >= offset.
  void truncate_to(std::int64_t offset);
  // Kafka's sanity check: offsets and positions strictly increase, offsets are at or above the
  // base and fit an int32 relative offset, positions are inside the log.
  bool sane(std::uint64_t log_bytes) const;
};

class TimeIndex : public IndexFile<TimeEntryCodec> {
 public:
  using IndexFile::IndexFile;
  // The largest entry with timestamp <= target.
  std::optional<TimeEntry> floor(std::int64_t target) const;
  // Appends only when `timestamp` is above the last entry's (and -1): the index is monotonic.
  void maybe_append(std::int64_t timestamp, std::int64_t offset);
  void truncate_to(std::int64_t offset);
  bool sane() const;
};

}  // namespace keel::storage
