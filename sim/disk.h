#pragma once
// The simulated disk of one machine, with the fault model of ARCHITECTURE.md:
// - writes land in a page cache and are pending until File::sync(); reads see them at once;
// - a power loss (crash()) drops each pending write, keeps it, or tears it at sector granularity
//   (some of its 512-byte sectors reach the platter, the others do not);
// - creates, renames and removes are durable only after Disk::sync_dir() of the parent directory;
//   a power loss reverts the namespace of each directory to its last synced state;
// - reads may return a flipped bit; reads, writes and syncs may fail with EIO; writes past the
//   capacity fail with ENOSPC;
// - every operation takes simulated time (the calling task sleeps);
// - under BUGGIFY (site disk_short_read, on for some seeds), a read returns fewer bytes than asked
//   before the end of file, as pread(2) may.
// A process kill (kill -9) is not a crash: the page cache survives it.
#include "broker/platform/disk.h"
#include "broker/platform/random.h"
#include "broker/base/time.h"

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace keel::sim {

class SimNode;

// The fault model as data. Probabilities are per operation; latencies are uniform in [min, max].
struct DiskOptions {
  Duration read_latency_min = 5us;       // a page-cache hit
  Duration read_latency_max = 100us;     // a device read
  Duration write_latency_min = 2us;      // copying into the page cache
  Duration write_latency_max = 20us;
  Duration sync_latency_min = 200us;     // fdatasync on an SSD
  Duration sync_latency_max = 3ms;
  Duration metadata_latency_min = 5us;   // open, rename, remove, list, mkdir
  Duration metadata_latency_max = 50us;
  Duration sync_dir_latency_min = 100us; // fsync of a directory
  Duration sync_dir_latency_max = 1ms;

  double read_bit_flip_probability = 0;  // one random bit of the returned bytes is flipped
  double read_error_probability = 0;     // the read fails with EIO
  double write_error_probability = 0;    // the write fails with EIO and changes nothing
  double sync_error_probability = 0;     // the sync fails with EIO; its pending writes stay pending
  std::uint64_t capacity_bytes = 1ull << 30;  // writes that would grow the disk past this: ENOSPC

  // On power loss, for each write not yet synced (the rest are dropped):
  double crash_keep_probability = 0.25;  // the whole write survives
  double crash_tear_probability = 0.25;  // a random subset of its sectors survives
  std::uint32_t sector_bytes = 512;
};

struct DiskStats {
  std::uint64_t reads = 0, writes = 0, syncs = 0, dir_syncs = 0, bytes_written = 0;
  std::uint64_t crashes = 0, writes_dropped = 0, writes_torn = 0, writes_kept = 0, entries_lost = 0;
  std::uint64_t bit_flips = 0, io_errors = 0, no_space_errors = 0;
  // Truncates are metadata: a crash applies or drops each one whole, never tears it.
  std::uint64_t truncates = 0, truncates_kept = 0, truncates_dropped = 0;
};

class SimDisk final : public Disk {
 public:
  SimDisk(SimNode& node, DiskOptions options, Random rng);
  ~SimDisk() override;

  Result<File> open(const std::string& path, OpenOptions options) override;
  Status rename(const std::string& from, const std::string& to) override;
  Status remove(const std::string& path) override;
  Status make_dir(const std::string& path) override;
  Result<std::vector<std::string>> list(const std::string& dir) override;
  Status sync_dir(const std::string& dir) override;
  Result<bool> exists(const std::string& path) override;
  // The capacity (DiskOptions::capacity_bytes) and what the files' current contents leave of it.
  Result<DiskSpace> space(const std::string& path) override;

  // Power loss: applies the crash model to everything not yet durable. Call with the process down.
  void crash();

  void set_options(const DiskOptions& options) { options_ = options; }
  const DiskOptions& options() const { return options_; }
  const DiskStats& stats() const { return stats_; }

  // For tests and checkers, without latency or faults: a file's current contents (what a read
  // sees), and what would survive if no pending write survived a crash right now.
  std::optional<std::string> contents(const std::string& path) const;
  std::optional<std::string> durable_contents(const std::string& path) const;

  struct State;  // the model, defined in disk.cpp

 private:
  SimNode& node_;
  DiskOptions options_;
  Random rng_;
  DiskStats stats_;
  std::unique_ptr<State> state_;
};

}  // namespace keel::sim
