#include "broker/partition/leader_epoch_cache.h"

#include "broker/base/assert.h"
#include "broker/storage/checkpoint.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

namespace keel::partition {

LeaderEpochCache::LeaderEpochCache(std::vector<EpochEntry> entries) : entries_(std::move(entries)) {
  check_invariants();
}

void LeaderEpochCache::check_invariants() const {
  for (std::size_t i = 1; i < entries_.size(); ++i) {
    KEEL_ASSERT_LT(entries_[i - 1].epoch, entries_[i].epoch);
    KEEL_ASSERT_LT(entries_[i - 1].start_offset, entries_[i].start_offset);
  }
}

bool LeaderEpochCache::assign(std::int32_t epoch, std::int64_t start_offset) {
  KEEL_ASSERT_GE(epoch, 0);
  KEEL_ASSERT_GE(start_offset, 0);
  if (!entries_.empty() && entries_.back().epoch == epoch && entries_.back().start_offset <= start_offset) {
    return false;
  }
  std::erase_if(entries_, [&](const EpochEntry& e) { return e.epoch >= epoch || e.start_offset >= start_offset; });
  entries_.push_back({epoch, start_offset});
  check_invariants();
  return true;
}

bool LeaderEpochCache::truncate_from_end(std::int64_t end_offset) {
  return std::erase_if(entries_, [&](const EpochEntry& e) { return e.start_offset >= end_offset; }) > 0;
}

bool LeaderEpochCache::truncate_from_start(std::int64_t start_offset) {
  // The last entry starting at or below the new start covers it; everything before that goes.
  auto covering = std::upper_bound(entries_.begin(), entries_.end(), start_offset,
                                   [](std::int64_t off, const EpochEntry& e) { return off < e.start_offset; });
  if (covering == entries_.begin()) return false;
  --covering;
  const bool changed = covering != entries_.begin() || covering->start_offset != start_offset;
  covering->start_offset = start_offset;
  entries_.erase(entries_.begin(), covering);
  check_invariants();
  return changed;
}

EpochEndOffset LeaderEpochCache::end_offset_for(std::int32_t requested_epoch, std::int64_t log_end_offset) const {
  if (requested_epoch == undefined_epoch || entries_.empty()) return {};
  if (requested_epoch == entries_.back().epoch) return {requested_epoch, log_end_offset};
  auto higher = std::upper_bound(entries_.begin(), entries_.end(), requested_epoch,
                                 [](std::int32_t ep, const EpochEntry& e) { return ep < e.epoch; });
  if (higher == entries_.end()) return {};
  if (higher == entries_.begin()) return {requested_epoch, higher->start_offset};
  return {std::prev(higher)->epoch, higher->start_offset};
}

std::optional<std::int32_t> LeaderEpochCache::latest_epoch() const {
  if (entries_.empty()) return std::nullopt;
  return entries_.back().epoch;
}

std::string format_leader_epoch_checkpoint(const LeaderEpochCache& cache) {
  std::string out = fmt::format("0\n{}\n", cache.entries().size());
  for (const auto& e : cache.entries()) out += fmt::format("{} {}\n", e.epoch, e.start_offset);
  return out;
}

namespace {

template <class Int>
bool parse_int(std::string_view s, Int* out) {
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && ptr == s.data() + s.size() && !s.empty();
}

Error malformed(std::size_t line_no, std::string_view line, std::string_view what) {
  return make_error(Errc::corrupt, fmt::format("leader epoch checkpoint line {} ('{}'): {}", line_no, line, what));
}

}  // namespace

Result<LeaderEpochCache> parse_leader_epoch_checkpoint(std::string_view text) {
  auto checked = storage::checkpoint_lines(text, "leader epoch checkpoint");
  if (!checked) return checked.error();
  const auto& lines = *checked;
  std::vector<EpochEntry> entries;
  for (std::size_t i = 2; i < lines.size(); ++i) {
    const auto space = lines[i].find(' ');
    EpochEntry e;
    if (space == std::string_view::npos || !parse_int(lines[i].substr(0, space), &e.epoch) ||
        !parse_int(lines[i].substr(space + 1), &e.start_offset) || e.epoch < 0 || e.start_offset < 0) {
      return malformed(i + 1, lines[i], "expected '<epoch> <start offset>'");
    }
    if (!entries.empty() && (e.epoch <= entries.back().epoch || e.start_offset <= entries.back().start_offset)) {
      return malformed(i + 1, lines[i], "epochs and start offsets must increase");
    }
    entries.push_back(e);
  }
  return LeaderEpochCache(std::move(entries));
}

Result<LeaderEpochCache> read_leader_epoch_checkpoint(Disk& disk, const std::string& file_path) {
  auto text = storage::read_whole_file(disk, file_path);
  if (!text) {
    if (text.error().code == Errc::not_found) return LeaderEpochCache{};
    return text.error();
  }
  auto parsed = parse_leader_epoch_checkpoint(*text);
  if (!parsed) return make_error(Errc::corrupt, fmt::format("{}: {}", file_path, parsed.error().message));
  return parsed;
}

Status write_leader_epoch_checkpoint(Disk& disk, const std::string& file_path, const LeaderEpochCache& cache) {
  return storage::write_file_atomically(disk, file_path, format_leader_epoch_checkpoint(cache));
}

TruncationStep follower_truncation(const LeaderEpochCache& follower, std::int64_t follower_log_end,
                                   std::int64_t follower_high_watermark, EpochEndOffset leader_answer) {
  // The leader knows nothing about that epoch: the high watermark is all that is known safe.
  if (leader_answer.undefined()) return {std::min(follower_high_watermark, follower_log_end), true};
  if (leader_answer.epoch == undefined_epoch) return {std::min(leader_answer.end_offset, follower_log_end), true};
  const EpochEndOffset mine = follower.end_offset_for(leader_answer.epoch, follower_log_end);
  if (mine.undefined()) return {std::min(leader_answer.end_offset, follower_log_end), true};
  if (mine.epoch == leader_answer.epoch) {
    return {std::min({leader_answer.end_offset, mine.end_offset, follower_log_end}), true};
  }
  // The follower never had the leader's epoch: cut back to where its own older epoch ends and
  // ask again about the epoch it then holds last (KIP-279).
  return {std::min(mine.end_offset, follower_log_end), false};
}

}  // namespace keel::partition
