#include "sim/selftest/register_store.h"

#include <array>

namespace keel::sim::selftest {

namespace {
constexpr const char* kDir = "register";
constexpr const char* kLog = "register/log";
constexpr const char* kSnap = "register/snap";
constexpr const char* kSnapTmp = "register/snap.tmp";
constexpr std::uint32_t kSnapMagic = 0x4B534E50;  // "KSNP"
constexpr int kReadAttempts = 4;                  // a flipped bit on read is transient; a torn record is not

// Record: checksum u32 | key u32 | writer u32 | reserved u32 | ts u64 | value u64.
void encode_record(std::byte* p, std::uint32_t key, const Versioned& v) {
  put_u32(p + 4, key);
  put_u32(p + 8, v.writer);
  put_u32(p + 12, 0);
  put_u64(p + 16, v.ts);
  put_u64(p + 24, v.value);
  put_u32(p, static_cast<std::uint32_t>(checksum({p + 4, 28})));
}

bool record_valid(const std::byte* p) {
  return get_u32(p) == static_cast<std::uint32_t>(checksum({p + 4, 28})) && get_u64(p + 16) != 0;
}
}  // namespace

void put_u32(std::byte* p, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<std::byte>(v >> (8 * i));
}
void put_u64(std::byte* p, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<std::byte>(v >> (8 * i));
}
std::uint32_t get_u32(const std::byte* p) {
  std::uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<std::uint8_t>(p[i]);
  return v;
}
std::uint64_t get_u64(const std::byte* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<std::uint8_t>(p[i]);
  return v;
}
std::uint64_t checksum(std::span<const std::byte> data) {
  std::uint64_t h = 0xCBF29CE484222325ull;
  for (std::byte b : data) {
    h ^= static_cast<std::uint8_t>(b);
    h *= 0x100000001B3ull;
  }
  return h ^ (h >> 29);
}

RegisterStore::RegisterStore(Runtime& rt, std::uint32_t compact_after_records)
    : rt_(rt), compact_after_records_(compact_after_records) {}

Versioned RegisterStore::get(std::uint32_t key) const {
  auto it = values_.find(key);
  return it == values_.end() ? Versioned{} : it->second;
}

Status RegisterStore::recover() {
  if (auto st = rt_.disk().make_dir(kDir); !st) return st;
  if (auto st = rt_.disk().sync_dir(""); !st) return st;
  if (auto st = load_snapshot(); !st) return st;
  if (auto e = rt_.disk().exists(kSnapTmp); e && *e) {
    if (auto st = rt_.disk().remove(kSnapTmp); !st) return st;
  }
  return load_log();
}

Status RegisterStore::load_snapshot() {
  auto exists = rt_.disk().exists(kSnap);
  if (!exists) return exists.error();
  if (!*exists) return {};
  auto file = rt_.disk().open(kSnap, OpenOptions{.read_only = true});
  if (!file) return file.error();
  auto size = file->size();
  if (!size) return size.error();
  std::vector<std::byte> bytes(*size);
  // The snapshot was synced and renamed into place, so a bad checksum is a flipped bit on this
  // read: read again.
  for (int attempt = 0; attempt < kReadAttempts; ++attempt) {
    if (auto st = file->read_exact_at(0, bytes); !st) return st;
    if (bytes.size() < 16 || get_u32(bytes.data()) != kSnapMagic) continue;
    const std::uint32_t count = get_u32(bytes.data() + 4);
    if (bytes.size() != 16 + std::size_t{count} * 24) continue;
    if (get_u64(bytes.data() + 8) != checksum({bytes.data() + 16, bytes.size() - 16})) continue;
    for (std::uint32_t i = 0; i < count; ++i) {
      const std::byte* p = bytes.data() + 16 + std::size_t{i} * 24;
      values_[get_u32(p)] = Versioned{get_u64(p + 8), get_u32(p + 4), get_u64(p + 16)};
    }
    return {};
  }
  return make_error(Errc::corrupt, fmt::format("{}: checksum fails on {} reads", kSnap, kReadAttempts));
}

Status RegisterStore::read_record_checked(std::uint64_t offset, std::span<std::byte> out, bool* valid) {
  *valid = false;
  for (int attempt = 0; attempt < kReadAttempts && !*valid; ++attempt) {
    if (auto st = log_.read_exact_at(offset, out); !st) return st;
    *valid = record_valid(out.data());
  }
  return {};
}

Status RegisterStore::load_log() {
  auto file = rt_.disk().open(kLog, OpenOptions{.create = true});
  if (!file) return file.error();
  log_ = std::move(*file);
  if (auto st = rt_.disk().sync_dir(kDir); !st) return st;
  auto size = log_.size();
  if (!size) return size.error();
  std::array<std::byte, record_bytes> rec{};
  std::uint64_t offset = 0;
  for (; offset + record_bytes <= *size; offset += record_bytes) {
    bool valid = false;
    if (auto st = read_record_checked(offset, rec, &valid); !st) return st;
    if (!valid) break;
    const Versioned v{get_u64(rec.data() + 16), get_u32(rec.data() + 8), get_u64(rec.data() + 24)};
    const std::uint32_t key = get_u32(rec.data() + 4);
    if (v.newer_than(get(key))) values_[key] = v;
    ++recovered_records_;
  }
  log_bytes_ = offset;
  log_records_ = offset / record_bytes;
  if (offset < *size) {
    truncated_bytes_ = *size - offset;
    rt_.trace("RegisterLogTruncated").detail("offset", offset).detail("bytes", truncated_bytes_);
    if (auto st = log_.truncate(offset); !st) return st;
    if (auto st = log_.sync(); !st) return st;
  }
  rt_.trace("RegisterRecovered").detail("records", recovered_records_).detail("keys", values_.size());
  return {};
}

Status RegisterStore::put(std::uint32_t key, const Versioned& v) {
  Mutex::Guard guard(mutex_);
  if (!v.newer_than(get(key))) return {};
  std::array<std::byte, record_bytes> rec{};
  encode_record(rec.data(), key, v);
  if (auto st = log_.write_at(log_bytes_, rec); !st) return st;
  log_bytes_ += record_bytes;
  ++log_records_;
  if (auto st = log_.sync(); !st) return st;
  values_[key] = v;
  if (log_records_ >= compact_after_records_ || KEEL_BUGGIFY(rt_, "register_compact_early")) return compact();
  return {};
}

Status RegisterStore::write_snapshot() {
  std::vector<std::byte> bytes(16 + values_.size() * 24);
  std::size_t i = 0;
  for (const auto& [key, v] : values_) {
    std::byte* p = bytes.data() + 16 + i++ * 24;
    put_u32(p, key);
    put_u32(p + 4, v.writer);
    put_u64(p + 8, v.ts);
    put_u64(p + 16, v.value);
  }
  put_u32(bytes.data(), kSnapMagic);
  put_u32(bytes.data() + 4, static_cast<std::uint32_t>(values_.size()));
  put_u64(bytes.data() + 8, checksum({bytes.data() + 16, bytes.size() - 16}));
  auto tmp = rt_.disk().open(kSnapTmp, OpenOptions{.create = true, .truncate = true});
  if (!tmp) return tmp.error();
  if (auto st = tmp->write_at(0, bytes); !st) return st;
  return tmp->sync();
}

// Snapshot, then drop the log: write the snapshot aside, sync it, rename it into place, sync the
// directory (without that, a crash could undo the rename after the log is gone), then truncate.
Status RegisterStore::compact() {
  if (auto st = write_snapshot(); !st) return st;
  if (auto st = rt_.disk().rename(kSnapTmp, kSnap); !st) return st;
  if (auto st = rt_.disk().sync_dir(kDir); !st) return st;
  if (auto st = log_.truncate(0); !st) return st;
  rt_.trace("RegisterCompacted").detail("records", log_records_).detail("keys", values_.size());
  // The log is empty now whether or not the sync below succeeds: append from the start, or a
  // later record would land past a hole that recovery reads as a torn tail.
  log_bytes_ = 0;
  log_records_ = 0;
  return log_.sync();
}

}  // namespace keel::sim::selftest
