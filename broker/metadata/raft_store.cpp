// RaftStore: quorum state, log frames and snapshot files of one Raft node on the seam's Disk.
#include "broker/metadata/raft_store.h"

#include "broker/protocol/crc32c.h"
#include "broker/storage/checkpoint.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <limits>

namespace keel::metadata::raft {

namespace {

constexpr std::string_view snapshot_magic = "KRSN";
constexpr std::int8_t snapshot_version = 1;
constexpr std::size_t snapshot_header_bytes = 4 + 4 + 1 + 8 + 4 + 8;
constexpr std::uint32_t frame_fixed_bytes = 4 + 8 + 4;  // crc, offset, epoch: what `length` counts besides data
static_assert(log_frame_header_bytes == 4 + frame_fixed_bytes);

std::span<const std::uint8_t> as_u8(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}
std::span<const std::byte> as_bytes_of(const Bytes& b) { return std::as_bytes(std::span(b)); }

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// "00000000000000000042-0000000003.checkpoint" -> {42, 3}; nullopt for any other name.
std::optional<SnapshotId> parse_snapshot_name(std::string_view name) {
  if (name.size() != 20 + 1 + 10 + snapshot_suffix.size() || !ends_with(name, snapshot_suffix) || name[20] != '-') {
    return std::nullopt;
  }
  SnapshotId id;
  auto digits = [](std::string_view s, auto* out) {
    if (!std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) return false;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
    return ec == std::errc() && ptr == s.data() + s.size();
  };
  if (!digits(name.substr(0, 20), &id.end_offset) || !digits(name.substr(21, 10), &id.epoch)) return std::nullopt;
  return id;
}

Bytes encode_frame(const Entry& e) {
  KEEL_ASSERT_LE(static_cast<std::int64_t>(e.data.size()), log_entry_bytes_max);
  protocol::Writer w;
  w.reserve(log_frame_header_bytes + e.data.size());
  w.write_int32(static_cast<std::int32_t>(frame_fixed_bytes + e.data.size()));
  w.write_uint32(0);  // the CRC, patched below
  w.write_int64(e.offset);
  w.write_int32(e.epoch);
  w.write_raw(e.data);
  Bytes b = w.take();
  const std::uint32_t crc = protocol::crc32c(std::span(b).subspan(8));
  for (int i = 0; i < 4; ++i) b[static_cast<std::size_t>(4 + i)] = static_cast<std::uint8_t>(crc >> (8 * (3 - i)));
  return b;
}

std::string encode_snapshot(const Snapshot& s) {
  protocol::Writer body;
  body.write_int8(snapshot_version);
  body.write_int64(s.id.end_offset);
  body.write_int32(s.id.epoch);
  body.write_int64(static_cast<std::int64_t>(s.data.size()));
  body.write_raw(s.data);
  protocol::Writer w;
  w.write_raw(as_u8(snapshot_magic));
  w.write_uint32(protocol::crc32c(body.data()));
  w.write_raw(body.data());
  const Bytes& b = w.data();
  return std::string(b.begin(), b.end());
}

Result<Snapshot> decode_snapshot(std::string_view text, SnapshotId named) {
  auto bad = [](std::string what) { return make_error(Errc::corrupt, std::move(what)); };
  if (text.size() < snapshot_header_bytes) return bad(fmt::format("{} bytes, shorter than a header", text.size()));
  if (text.substr(0, 4) != snapshot_magic) return bad("bad magic");
  protocol::Reader r(as_u8(text).subspan(4));
  const std::uint32_t crc = r.read_uint32();
  if (protocol::crc32c(as_u8(text).subspan(8)) != crc) return bad("CRC mismatch");
  if (const auto v = r.read_int8(); v != snapshot_version) return bad(fmt::format("version {}", v));
  Snapshot s;
  s.id.end_offset = r.read_int64();
  s.id.epoch = r.read_int32();
  const std::int64_t size = r.read_int64();
  if (size != static_cast<std::int64_t>(r.remaining())) {
    return bad(fmt::format("header says {} data bytes, {} follow", size, r.remaining()));
  }
  if (s.id != named) return bad(fmt::format("holds snapshot {}-{}", s.id.end_offset, s.id.epoch));
  auto data = r.read_raw(r.remaining());
  s.data.assign(data.begin(), data.end());
  return s;
}

Result<QuorumStateData> parse_quorum_state(std::string_view text) {
  const auto json = nlohmann::json::parse(text, nullptr, false);
  if (json.is_discarded() || !json.is_object()) return make_error(Errc::corrupt, "not a JSON object");
  auto int32_field = [&](const char* key, std::int32_t* out) -> Status {
    if (!json.contains(key) || !json[key].is_number_integer()) {
      return make_error(Errc::corrupt, fmt::format("'{}' is missing or not an integer", key));
    }
    const auto v = json[key].get<std::int64_t>();
    if (v < std::numeric_limits<std::int32_t>::min() || v > std::numeric_limits<std::int32_t>::max()) {
      return make_error(Errc::corrupt, fmt::format("'{}' is {}, out of range", key, v));
    }
    *out = static_cast<std::int32_t>(v);
    return {};
  };
  QuorumStateData s;
  std::int32_t data_version = -1;
  for (auto [key, out] : {std::pair{"epoch", &s.epoch}, std::pair{"voted_id", &s.voted_id.value},
                          std::pair{"leader_id", &s.leader_id.value}, std::pair{"data_version", &data_version}}) {
    if (auto st = int32_field(key, out); !st) return st.error();
  }
  if (data_version != 0) return make_error(Errc::corrupt, fmt::format("data_version {} is not 0", data_version));
  if (s.epoch < 0) return make_error(Errc::corrupt, fmt::format("epoch {} is negative", s.epoch));
  return s;
}

}  // namespace

// The frames a load read from the log file, and where and why it stopped.
struct RaftStore::ScannedLog {
  std::vector<Entry> entries;
  std::deque<Frame> frames;
  std::uint64_t valid_bytes = 0;
  std::string problem;
};

// Reads frames from the start of `text` until the end, or until one is torn, fails its CRC, or
// does not follow the one before (offset + 1, epoch not lower).
void RaftStore::scan_log(std::string_view text, ScannedLog& out) {
  std::uint64_t pos = 0;
  while (pos < text.size()) {
    const auto rest = as_u8(text).subspan(pos);
    if (rest.size() < log_frame_header_bytes) {
      out.problem = fmt::format("a torn frame header at byte {}", pos);
      break;
    }
    protocol::Reader r(rest);
    const std::int32_t length = r.read_int32();
    const std::uint32_t crc = r.read_uint32();
    if (length < static_cast<std::int32_t>(frame_fixed_bytes) || length > frame_fixed_bytes + log_entry_bytes_max) {
      out.problem = fmt::format("a frame length of {} at byte {}", length, pos);
      break;
    }
    if (rest.size() < 4 + static_cast<std::size_t>(length)) {
      out.problem = fmt::format("a torn frame at byte {} ({} of {} bytes)", pos, rest.size(), 4 + length);
      break;
    }
    if (protocol::crc32c(rest.subspan(8, static_cast<std::size_t>(length) - 4)) != crc) {
      out.problem = fmt::format("a CRC mismatch in the frame at byte {}", pos);
      break;
    }
    Entry e;
    e.offset = r.read_int64();
    e.epoch = r.read_int32();
    if (!out.entries.empty() && (e.offset != out.entries.back().offset + 1 || e.epoch < out.entries.back().epoch)) {
      out.problem = fmt::format("entry {} (epoch {}) at byte {} does not follow entry {} (epoch {})", e.offset, e.epoch,
                                pos, out.entries.back().offset, out.entries.back().epoch);
      break;
    }
    auto data = r.read_raw(static_cast<std::size_t>(length) - frame_fixed_bytes);
    e.data.assign(data.begin(), data.end());
    out.frames.push_back(Frame{pos, e.epoch});
    out.entries.push_back(std::move(e));
    pos += 4 + static_cast<std::uint64_t>(length);
  }
  out.valid_bytes = pos;
}

std::string snapshot_file_name(SnapshotId id) {
  KEEL_ASSERT_GE(id.end_offset, 0);
  KEEL_ASSERT_GE(id.epoch, 0);
  return fmt::format("{:020d}-{:010d}{}", id.end_offset, id.epoch, snapshot_suffix);
}

std::string RaftStore::file(std::string_view name) const { return join_path(dir_, std::string(name)); }

std::int32_t RaftStore::last_epoch() const {
  if (!frames_.empty()) return frames_.back().epoch;
  return snapshot_ ? snapshot_->epoch : 0;
}

Result<std::unique_ptr<RaftStore>> RaftStore::open(Runtime& rt, std::string dir) {
  std::unique_ptr<RaftStore> store(new RaftStore(rt, std::move(dir)));
  if (auto st = store->load(); !st) return st.error();
  return store;
}

Status RaftStore::load() {
  if (auto st = storage::make_dir_durable(rt_.disk(), dir_); !st) return st;
  if (auto st = remove_leftovers(); !st) return st;
  if (auto st = load_quorum_state(); !st) return st;
  if (auto st = load_snapshot(); !st) return st;
  if (auto st = load_log(); !st) return st;
  rt_.trace("RaftStoreLoaded")
      .detail("dir", dir_)
      .detail("epoch", loaded_.state.epoch)
      .detail("voted_id", loaded_.state.voted_id)
      .detail("snapshot_end_offset", snapshot_ ? snapshot_->end_offset : -1)
      .detail("log_start_offset", log_start_offset())
      .detail("log_end_offset", log_end_offset());
  return {};
}

Status RaftStore::remove_leftovers() {
  auto names = rt_.disk().list(dir_);
  if (!names) return names.error();
  for (const auto& name : *names) {
    if (!ends_with(name, ".tmp") && !ends_with(name, ".part")) continue;
    if (auto st = rt_.disk().remove(file(name)); !st) return st;
    rt_.trace("RaftStoreLeftoverRemoved").detail("dir", dir_).detail("file", name);
    info_.leftovers_removed.push_back(name);
  }
  if (info_.leftovers_removed.empty()) return {};
  return rt_.disk().sync_dir(dir_);
}

Status RaftStore::load_quorum_state() {
  const std::string name = file(quorum_state_file);
  auto text = storage::read_whole_file(rt_.disk(), name);
  if (!text) {
    if (text.code() == Errc::not_found) return {};  // a new node: epoch 0, no vote, no leader
    return make_error(text.code(), fmt::format("{}: {}", name, text.error().message));
  }
  auto state = parse_quorum_state(*text);
  if (!state) return make_error(Errc::corrupt, fmt::format("{}: {}", name, state.error().message));
  loaded_.state = *state;
  return {};
}

Status RaftStore::load_snapshot() {
  auto names = rt_.disk().list(dir_);
  if (!names) return names.error();
  std::vector<std::pair<SnapshotId, std::string>> candidates;
  for (const auto& name : *names) {
    if (auto id = parse_snapshot_name(name)) candidates.emplace_back(*id, name);
  }
  std::sort(candidates.begin(), candidates.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  for (const auto& [id, name] : candidates) {
    auto text = storage::read_whole_file(rt_.disk(), file(name));
    if (!text) return text.error();  // an IO error, not a bad file: do not fall back past it
    auto snap = decode_snapshot(*text, id);
    if (snap) {
      snapshot_ = id;
      loaded_.snapshot = std::move(*snap);
      return {};
    }
    rt_.trace("RaftSnapshotSkipped", Severity::warn).detail("file", file(name)).detail("problem", snap.error().message);
    info_.snapshots_skipped.push_back(name);
  }
  return {};
}

Status RaftStore::load_log() {
  const std::string name = file(raft_log_file);
  auto present = rt_.disk().exists(name);
  if (!present) return present.error();
  auto opened = rt_.disk().open(name, OpenOptions{.create = true});
  if (!opened) return opened.error();
  log_ = std::move(*opened);
  if (!*present) {
    if (auto st = rt_.disk().sync_dir(dir_); !st) return st;
  }
  auto text = storage::read_whole_file(rt_.disk(), name);
  if (!text) return text.error();
  ScannedLog scan;
  scan_log(*text, scan);
  if (scan.valid_bytes < text->size()) {
    if (auto st = cut_log(scan, text->size()); !st) return st;
  }
  log_bytes_ = scan.valid_bytes;
  frames_ = std::move(scan.frames);
  start_ = scan.entries.empty() ? 0 : scan.entries.front().offset;
  if (auto st = reconcile_log_with_snapshot(scan.entries); !st) return st;
  loaded_.entries = std::move(scan.entries);
  return {};
}

// A frame that does not read back whole ends the log: what follows it was never synced (or the
// disk damaged it), so it is cut, durably, before anything is appended after it.
Status RaftStore::cut_log(const ScannedLog& scan, std::uint64_t file_bytes) {
  info_.log_bytes_dropped = static_cast<std::int64_t>(file_bytes - scan.valid_bytes);
  info_.log_problem = scan.problem;
  rt_.trace("RaftLogCut", Severity::warn)
      .detail("file", file(raft_log_file))
      .detail("problem", scan.problem)
      .detail("kept_bytes", scan.valid_bytes)
      .detail("dropped_bytes", info_.log_bytes_dropped)
      .detail("entries_kept", scan.entries.size());
  if (auto st = log_.truncate(scan.valid_bytes); !st) return st;
  return log_.sync();
}

// The log must continue the snapshot. After compact_to it starts at the snapshot's end; after
// save_snapshot alone it still holds the snapshot's last entry (same epoch) and those below; after
// a crash inside install_snapshot it may hold an old log the snapshot replaced: that is dropped.
Status RaftStore::reconcile_log_with_snapshot(std::vector<Entry>& entries) {
  if (!snapshot_) {
    if (entries.empty() || start_ == 0) return {};
    return make_error(Errc::corrupt, fmt::format("{}: the log starts at offset {} but no snapshot covers the offsets below",
                                                 file(raft_log_file), start_));
  }
  const std::int64_t end = snapshot_->end_offset;
  const std::int64_t log_end = log_end_offset();
  if (entries.empty()) {
    start_ = end;
    return {};
  }
  if (start_ > end) {
    return make_error(Errc::corrupt, fmt::format("{}: the log starts at offset {}, above the end of snapshot {}",
                                                 file(raft_log_file), start_, snapshot_file_name(*snapshot_)));
  }
  const bool continues = start_ == end ? entries.front().epoch >= snapshot_->epoch
                                       : log_end >= end && entries[static_cast<std::size_t>(end - 1 - start_)].epoch ==
                                                               snapshot_->epoch;
  if (!continues) {
    entries.clear();
    return discard_log(fmt::format("the log [{}, {}) does not continue snapshot {}", start_, log_end,
                                   snapshot_file_name(*snapshot_)));
  }
  const auto below = static_cast<std::size_t>(end - start_);
  info_.entries_below_snapshot = static_cast<std::int64_t>(below);
  entries.erase(entries.begin(), entries.begin() + static_cast<std::ptrdiff_t>(below));
  frames_.erase(frames_.begin(), frames_.begin() + static_cast<std::ptrdiff_t>(below));
  start_ = end;
  return {};
}

Status RaftStore::discard_log(std::string_view why) {
  info_.log_discarded = true;
  rt_.trace("RaftLogDiscarded", Severity::warn).detail("file", file(raft_log_file)).detail("reason", why);
  if (auto st = log_.truncate(0); !st) return st;
  if (auto st = log_.sync(); !st) return st;
  log_bytes_ = 0;
  frames_.clear();
  start_ = snapshot_ ? snapshot_->end_offset : 0;
  return {};
}

Status RaftStore::fail(Error e) {
  if (!failed_) {
    rt_.trace("RaftStoreFailed", Severity::warn).detail("dir", dir_).detail("error", e.message);
    failed_ = e;
  }
  return e;
}

Status RaftStore::check_usable() const {
  if (!failed_) return {};
  return make_error(failed_->code, fmt::format("{}: unusable after an earlier error: {}", dir_, failed_->message));
}

Status RaftStore::write_quorum_state(const QuorumStateData& state) {
  if (auto st = check_usable(); !st) return st;
  nlohmann::ordered_json json;
  json["epoch"] = state.epoch;
  json["voted_id"] = state.voted_id.value;
  json["leader_id"] = state.leader_id.value;
  json["data_version"] = 0;
  if (auto st = storage::write_file_atomically(rt_.disk(), file(quorum_state_file), json.dump() + "\n"); !st) {
    return fail(st.error());
  }
  return {};
}

Status RaftStore::append(const std::vector<Entry>& entries) {
  if (auto st = check_usable(); !st) return st;
  if (entries.empty()) return {};
  Bytes buf;
  std::deque<Frame> added;
  std::int32_t epoch = last_epoch();
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const Entry& e = entries[i];
    KEEL_ASSERT_EQ(e.offset, log_end_offset() + static_cast<std::int64_t>(i));
    KEEL_ASSERT_GE(e.epoch, epoch);
    epoch = e.epoch;
    added.push_back(Frame{log_bytes_ + buf.size(), e.epoch});
    const Bytes frame = encode_frame(e);
    buf.insert(buf.end(), frame.begin(), frame.end());
  }
  if (auto st = log_.write_at(log_bytes_, as_bytes_of(buf)); !st) return fail(st.error());
  log_bytes_ += buf.size();
  frames_.insert(frames_.end(), added.begin(), added.end());
  return {};
}

Status RaftStore::sync() {
  if (auto st = check_usable(); !st) return st;
  if (auto st = log_.sync(); !st) return fail(st.error());
  return {};
}

Status RaftStore::truncate_to(std::int64_t offset) {
  if (auto st = check_usable(); !st) return st;
  KEEL_ASSERT_GE(offset, start_);
  if (offset >= log_end_offset()) return {};
  const std::uint64_t cut = frames_[static_cast<std::size_t>(offset - start_)].position;
  if (auto st = log_.truncate(cut); !st) return fail(st.error());
  if (auto st = log_.sync(); !st) return fail(st.error());
  rt_.trace("RaftLogTruncated").detail("dir", dir_).detail("offset", offset).detail("from_end_offset", log_end_offset());
  frames_.resize(static_cast<std::size_t>(offset - start_));
  log_bytes_ = cut;
  return {};
}

Status RaftStore::save_snapshot(const Snapshot& snapshot) {
  if (auto st = check_usable(); !st) return st;
  KEEL_ASSERT_LE(static_cast<std::int64_t>(snapshot.data.size()), snapshot_bytes_max);
  const std::string name = snapshot_file_name(snapshot.id);
  if (auto st = storage::write_file_atomically(rt_.disk(), file(name), encode_snapshot(snapshot)); !st) {
    return fail(st.error());
  }
  rt_.trace("RaftSnapshotSaved").detail("file", file(name)).detail("bytes", snapshot.data.size());
  if (!snapshot_ || *snapshot_ < snapshot.id) snapshot_ = snapshot.id;
  return {};
}

Status RaftStore::compact_to(SnapshotId id) {
  if (auto st = check_usable(); !st) return st;
  KEEL_ASSERT_MSG(snapshot_ && *snapshot_ == id, "compact_to({}-{}) without that snapshot saved", id.end_offset, id.epoch);
  KEEL_ASSERT_LE(id.end_offset, log_end_offset());
  if (id.end_offset > start_) {
    KEEL_ASSERT_EQ(frames_[static_cast<std::size_t>(id.end_offset - 1 - start_)].epoch, id.epoch);
  }
  const auto first = static_cast<std::size_t>(std::max<std::int64_t>(0, id.end_offset - start_));
  const std::uint64_t from = first < frames_.size() ? frames_[first].position : log_bytes_;
  if (from > 0) {
    if (auto st = rewrite_log_from(first); !st) return fail(st.error());
  }
  frames_.erase(frames_.begin(), frames_.begin() + static_cast<std::ptrdiff_t>(first));
  for (auto& f : frames_) f.position -= from;
  log_bytes_ -= from;
  start_ = std::max(start_, id.end_offset);
  if (auto st = remove_snapshots_before(id); !st) return fail(st.error());
  return {};
}

// Copies the frames from frames_[first] on into a new file, makes it durable, and renames it over
// the log: a crash leaves either the old log or the new one, both valid beside the snapshot.
Status RaftStore::rewrite_log_from(std::size_t first) {
  const std::uint64_t from = first < frames_.size() ? frames_[first].position : log_bytes_;
  Bytes kept(log_bytes_ - from);
  if (auto st = log_.read_exact_at(from, std::as_writable_bytes(std::span(kept))); !st) return st;
  const std::string tmp = file(std::string(raft_log_file) + ".tmp");
  {
    auto out = rt_.disk().open(tmp, OpenOptions{.create = true, .truncate = true});
    if (!out) return out.error();
    if (auto st = out->write_at(0, as_bytes_of(kept)); !st) return st;
    if (auto st = out->sync(); !st) return st;
  }
  log_.close();
  if (auto st = rt_.disk().rename(tmp, file(raft_log_file)); !st) return st;
  if (auto st = rt_.disk().sync_dir(dir_); !st) return st;
  auto reopened = rt_.disk().open(file(raft_log_file), OpenOptions{});
  if (!reopened) return reopened.error();
  log_ = std::move(*reopened);
  rt_.trace("RaftLogCompacted").detail("dir", dir_).detail("bytes_dropped", from).detail("bytes_kept", kept.size());
  return {};
}

Status RaftStore::remove_snapshots_before(SnapshotId id) {
  auto names = rt_.disk().list(dir_);
  if (!names) return names.error();
  bool removed = false;
  for (const auto& name : *names) {
    auto other = parse_snapshot_name(name);
    if (!other || !(*other < id)) continue;
    if (auto st = rt_.disk().remove(file(name)); !st) return st;
    removed = true;
  }
  return removed ? rt_.disk().sync_dir(dir_) : Status{};
}

Status RaftStore::install_snapshot(const Snapshot& snapshot) {
  if (auto st = save_snapshot(snapshot); !st) return st;
  // The snapshot is durable first: a crash before the log is dropped leaves an old log that the
  // next load discards because it does not continue the snapshot.
  snapshot_ = snapshot.id;
  if (auto st = log_.truncate(0); !st) return fail(st.error());
  if (auto st = log_.sync(); !st) return fail(st.error());
  frames_.clear();
  log_bytes_ = 0;
  start_ = snapshot.id.end_offset;
  rt_.trace("RaftSnapshotInstalled").detail("dir", dir_).detail("end_offset", start_).detail("epoch", snapshot.id.epoch);
  if (auto st = remove_snapshots_before(snapshot.id); !st) return fail(st.error());
  return {};
}

}  // namespace keel::metadata::raft
