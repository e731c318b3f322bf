#pragma once
// The in-memory view of the Raft log that RaftCore keeps: the latest snapshot (if any) and the
// dense run of entries after it. Offsets start at log_start (the snapshot's exclusive end offset,
// or 0) and epochs never decrease along the log, which makes "where does epoch e end" a binary
// search. The driver holds the durable copy; this class only mirrors what RaftCore asked it to do.
#include "broker/base/assert.h"
#include "broker/base/ids.h"
#include "broker/protocol/wire.h"

#include <algorithm>
#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

namespace keel::metadata::raft {

using NodeId = RaftNodeId;  // a quorum member (broker/base/ids.h)
using Bytes = protocol::Bytes;

struct Entry {
  std::int64_t offset = 0;
  std::int32_t epoch = 0;
  Bytes data;  // Empty for the entry a new leader appends at the start of its epoch.
  bool operator==(const Entry&) const = default;
};

// end_offset is exclusive; epoch is the epoch of the last entry the snapshot contains.
struct SnapshotId {
  std::int64_t end_offset = 0;
  std::int32_t epoch = 0;
  auto operator<=>(const SnapshotId&) const = default;
};

struct Snapshot {
  SnapshotId id;
  Bytes data;
};

// An epoch and the exclusive offset where it ends in some log (KRaft's OffsetAndEpoch).
struct EpochEnd {
  std::int32_t epoch = 0;
  std::int64_t end_offset = 0;
  bool operator==(const EpochEnd&) const = default;
};

class RaftLog {
 public:
  RaftLog(std::optional<Snapshot> snapshot, std::vector<Entry> entries) : snapshot_(std::move(snapshot)) {
    start_ = snapshot_ ? snapshot_->id.end_offset : 0;
    for (auto& e : entries) append(std::move(e));
  }

  std::int64_t start_offset() const { return start_; }
  std::int64_t end_offset() const { return start_ + static_cast<std::int64_t>(entries_.size()); }
  const std::optional<Snapshot>& snapshot() const { return snapshot_; }

  // The epoch of the last entry, or of the snapshot when the log after it is empty; 0 when empty.
  std::int32_t last_epoch() const {
    if (!entries_.empty()) return entries_.back().epoch;
    return snapshot_ ? snapshot_->id.epoch : 0;
  }

  const Entry& at(std::int64_t offset) const {
    KEEL_ASSERT_MSG(offset >= start_ && offset < end_offset(), "offset={} start={} end={}", offset, start_, end_offset());
    return entries_[static_cast<std::size_t>(offset - start_)];
  }

  // The epoch of the entry just before `offset` (which may be the snapshot's last entry).
  std::int32_t epoch_before(std::int64_t offset) const {
    if (offset > start_) return at(offset - 1).epoch;
    KEEL_ASSERT_EQ(offset, start_);
    return snapshot_ ? snapshot_->id.epoch : 0;
  }

  void append(Entry e) {
    KEEL_ASSERT_EQ(e.offset, end_offset());
    KEEL_ASSERT_GE(e.epoch, last_epoch());
    entries_.push_back(std::move(e));
  }

  // Drops every entry at or above `offset`.
  void truncate(std::int64_t offset) {
    KEEL_ASSERT_GE(offset, start_);
    while (end_offset() > offset) entries_.pop_back();
  }

  // The largest local epoch <= `epoch` and where it ends (KRaft's endOffsetForEpoch). When no
  // local entry has such an epoch the answer is the snapshot (or epoch 0 at the log's start).
  EpochEnd end_for_epoch(std::int32_t epoch) const {
    auto it = std::partition_point(entries_.begin(), entries_.end(), [&](const Entry& e) { return e.epoch <= epoch; });
    if (it != entries_.begin()) return {std::prev(it)->epoch, std::prev(it)->offset + 1};
    if (snapshot_ && snapshot_->id.epoch <= epoch) return {snapshot_->id.epoch, start_};
    return {0, start_};
  }

  // Entries [from, from + max) that exist locally.
  std::vector<Entry> read(std::int64_t from, std::size_t max) const {
    std::vector<Entry> out;
    for (std::int64_t o = std::max(from, start_); o < end_offset() && out.size() < max; ++o) out.push_back(at(o));
    return out;
  }

  // The state machine produced `snap` at a committed offset: forget the entries it covers.
  void compact(Snapshot snap) {
    KEEL_ASSERT_GE(snap.id.end_offset, start_);
    KEEL_ASSERT_LE(snap.id.end_offset, end_offset());
    KEEL_ASSERT_EQ(epoch_before(snap.id.end_offset), snap.id.epoch);
    while (start_ < snap.id.end_offset) {
      entries_.pop_front();
      ++start_;
    }
    snapshot_ = std::move(snap);
  }

  // A follower installs a snapshot fetched from the leader: the whole log is replaced by it.
  void install(Snapshot snap) {
    entries_.clear();
    start_ = snap.id.end_offset;
    snapshot_ = std::move(snap);
  }

 private:
  std::optional<Snapshot> snapshot_;
  std::int64_t start_ = 0;
  std::deque<Entry> entries_;
};

}  // namespace keel::metadata::raft
