#include "broker/storage/index.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>

namespace keel::storage {

namespace {

void put_be(std::byte* out, std::uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) {
    out[i] = static_cast<std::byte>(v & 0xff);
    v >>= 8;
  }
}

std::uint64_t get_be(const std::byte* in, int bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<std::uint8_t>(in[i]);
  return v;
}

std::int32_t relative(std::int64_t offset, std::int64_t base) {
  const std::int64_t rel = offset - base;
  KEEL_ASSERT_MSG(rel >= 0 && rel <= std::numeric_limits<std::int32_t>::max(),
                  "index offset {} is not relative to base {}", offset, base);
  return static_cast<std::int32_t>(rel);
}

}  // namespace

void OffsetEntryCodec::encode(const Entry& e, std::int64_t base, std::byte* out) {
  put_be(out, static_cast<std::uint32_t>(relative(e.offset, base)), 4);
  put_be(out + 4, e.position, 4);
}

OffsetEntry OffsetEntryCodec::decode(const std::byte* in, std::int64_t base) {
  OffsetEntry e;
  e.offset = base + static_cast<std::int32_t>(get_be(in, 4));
  e.position = static_cast<std::uint32_t>(get_be(in + 4, 4));
  return e;
}

void TimeEntryCodec::encode(const Entry& e, std::int64_t base, std::byte* out) {
  put_be(out, static_cast<std::uint64_t>(e.timestamp), 8);
  put_be(out + 8, static_cast<std::uint32_t>(relative(e.offset, base)), 4);
}

TimeEntry TimeEntryCodec::decode(const std::byte* in, std::int64_t base) {
  TimeEntry e;
  e.timestamp = static_cast<std::int64_t>(get_be(in, 8));
  e.offset = base + static_cast<std::int32_t>(get_be(in + 8, 4));
  return e;
}

template <class Codec>
keel::Status IndexFile<Codec>::load() {
  auto size = file_.size();
  if (!size) return size.error();
  if (*size % entry_bytes != 0) {
    return make_error(Errc::corrupt, fmt::format("{}: {} bytes is not a whole number of {}-byte entries",
                                                 file_.path(), *size, entry_bytes));
  }
  std::vector<std::byte> raw(*size);
  if (auto st = file_.read_exact_at(0, raw); !st) return st;
  entries_.clear();
  entries_.reserve(raw.size() / entry_bytes);
  for (std::size_t at = 0; at < raw.size(); at += entry_bytes) entries_.push_back(Codec::decode(&raw[at], base_offset_));
  file_valid_ = file_entries_ = entries_.size();
  file_known_ = true;
  unsynced_ = false;
  return {};
}

template <class Codec>
void IndexFile<Codec>::push(const Entry& e) {
  KEEL_ASSERT_GE(e.offset, base_offset_);
  KEEL_ASSERT_LE(e.offset - base_offset_, std::numeric_limits<std::int32_t>::max());
  KEEL_ASSERT_MSG(entries_.empty() || Codec::in_order(entries_.back(), e), "{}: index entry {} after {} is out of order",
                  file_.path(), entries_.size(), entries_.size() - 1);
  entries_.push_back(e);
  KEEL_ASSERT_LE(file_valid_, entries_.size());
}

template <class Codec>
void IndexFile<Codec>::truncate_entries(std::size_t keep) {
  if (keep >= entries_.size()) return;
  entries_.resize(keep);
  file_valid_ = std::min(file_valid_, keep);
  ++truncations_;
  KEEL_ASSERT_EQ(entries_.size(), keep);
  KEEL_ASSERT_LE(file_valid_, file_entries_);
}

template <class Codec>
keel::Status IndexFile<Codec>::persist() {
  Mutex::Guard guard(mutex_);
  if (!file_known_ || file_entries_ > file_valid_) {
    const std::size_t cut_to = file_valid_;
    if (auto st = file_.truncate(cut_to * entry_bytes); !st) return st;
    // A truncate_entries() while the cut was in flight can only have lowered file_valid_.
    KEEL_ASSERT_LE(file_valid_, cut_to);
    file_entries_ = cut_to;
    file_known_ = true;
    unsynced_ = true;
  }
  const std::size_t target = entries_.size();
  const std::size_t from = file_valid_;
  const std::uint64_t truncations = truncations_;
  if (from >= target) return {};
  std::vector<std::byte> raw((target - from) * entry_bytes);
  for (std::size_t i = from; i < target; ++i) Codec::encode(entries_[i], base_offset_, &raw[(i - from) * entry_bytes]);
  auto st = file_.write_at(from * entry_bytes, raw);
  file_entries_ = std::max(file_entries_, target);  // even a failed write may have landed in part
  if (!st) return st;
  unsynced_ = true;
  // A truncate_entries() while the write was in flight leaves file_valid_ where it put it.
  if (truncations == truncations_) file_valid_ = target;
  // The file's valid prefix is never longer than memory or the file.
  KEEL_ASSERT_LE(file_valid_, entries_.size());
  KEEL_ASSERT_LE(file_valid_, file_entries_);
  return {};
}

template <class Codec>
keel::Status IndexFile<Codec>::sync() {
  if (auto st = persist(); !st) return st;
  if (!unsynced_) return {};
  unsynced_ = false;
  auto st = file_.sync();
  if (!st) unsynced_ = true;
  return st;
}

template class IndexFile<OffsetEntryCodec>;
template class IndexFile<TimeEntryCodec>;

std::optional<OffsetEntry> OffsetIndex::floor(std::int64_t target) const {
  const auto& e = entries();
  auto it = std::upper_bound(e.begin(), e.end(), target, [](std::int64_t t, const OffsetEntry& x) { return t < x.offset; });
  if (it == e.begin()) return std::nullopt;
  return *std::prev(it);
}

void OffsetIndex::truncate_to(std::int64_t offset) {
  const auto& e = entries();
  auto it = std::lower_bound(e.begin(), e.end(), offset, [](const OffsetEntry& x, std::int64_t t) { return x.offset < t; });
  truncate_entries(static_cast<std::size_t>(it - e.begin()));
  KEEL_ASSERT(empty() || last().offset < offset);
}

bool OffsetIndex::sane(std::uint64_t log_bytes) const {
  const auto& e = entries();
  for (std::size_t i = 0; i < e.size(); ++i) {
    if (e[i].offset < base_offset() || e[i].position >= log_bytes) return false;
    if (i > 0 && (e[i].offset <= e[i - 1].offset || e[i].position <= e[i - 1].position)) return false;
  }
  return true;
}

std::optional<TimeEntry> TimeIndex::floor(std::int64_t target) const {
  const auto& e = entries();
  auto it = std::upper_bound(e.begin(), e.end(), target,
                             [](std::int64_t t, const TimeEntry& x) { return t < x.timestamp; });
  if (it == e.begin()) return std::nullopt;
  return *std::prev(it);
}

void TimeIndex::maybe_append(std::int64_t timestamp, std::int64_t offset) {
  // As Kafka: an empty index counts as holding (-1, base), so batches without timestamps add none.
  if (timestamp <= (empty() ? -1 : last().timestamp)) return;
  // Offsets never go back in an index built here; one loaded from a damaged file might. Keep the
  // index monotonic rather than trust it.
  if (!empty() && offset < last().offset) return;
  TimeEntry e;
  e.timestamp = timestamp;
  e.offset = offset;
  push(e);
  KEEL_ASSERT_EQ(last().timestamp, timestamp);
}

void TimeIndex::truncate_to(std::int64_t offset) {
  const auto& e = entries();
  auto it = std::lower_bound(e.begin(), e.end(), offset, [](const TimeEntry& x, std::int64_t t) { return x.offset < t; });
  truncate_entries(static_cast<std::size_t>(it - e.begin()));
  KEEL_ASSERT(empty() || last().offset < offset);
}

bool TimeIndex::sane() const {
  const auto& e = entries();
  if (!e.empty() && e.front().offset < base_offset()) return false;
  for (std::size_t i = 1; i < e.size(); ++i) {
    if (e[i].timestamp <= e[i - 1].timestamp || e[i].offset < e[i - 1].offset) return false;
  }
  return true;
}

}  // namespace keel::storage
