#pragma once
// The register node's durable store: an append-only log of 32-byte checksummed records, synced
// before a write is acknowledged, compacted into a snapshot now and then. Recovery keeps every
// record that checks out and truncates the log at the first one that does not (a torn tail).
#include "broker/platform/runtime.h"
#include "sim/selftest/register.h"

#include <map>

namespace keel::sim::selftest {

class RegisterStore {
 public:
  RegisterStore(Runtime& rt, std::uint32_t compact_after_records);

  Status recover();
  Versioned get(std::uint32_t key) const;
  // Stores `v` if it is newer than what the key holds; durable when this returns ok.
  Status put(std::uint32_t key, const Versioned& v);
  std::uint64_t recovered_records() const { return recovered_records_; }
  std::uint64_t truncated_bytes() const { return truncated_bytes_; }

  static constexpr std::size_t record_bytes = 32;

 private:
  Status load_snapshot();
  Status load_log();
  Status read_record_checked(std::uint64_t offset, std::span<std::byte> out, bool* valid);
  Status compact();
  Status write_snapshot();

  Runtime& rt_;
  std::uint32_t compact_after_records_;
  Mutex mutex_;  // one writer at a time: append + sync, or a compaction
  File log_;
  std::uint64_t log_bytes_ = 0;
  std::uint64_t log_records_ = 0;
  std::uint64_t recovered_records_ = 0;
  std::uint64_t truncated_bytes_ = 0;
  std::map<std::uint32_t, Versioned> values_;
};

// Fixed little-endian encoding helpers shared by the store and the wire format.
void put_u32(std::byte* p, std::uint32_t v);
void put_u64(std::byte* p, std::uint64_t v);
std::uint32_t get_u32(const std::byte* p);
std::uint64_t get_u64(const std::byte* p);
std::uint64_t checksum(std::span<const std::byte> data);

}  // namespace keel::sim::selftest
