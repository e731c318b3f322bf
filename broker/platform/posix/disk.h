#pragma once
// Files and directories under a node's data root: open/pread/pwrite on the loop thread (they hit
// the page cache), fdatasync/fsync on the SyncWorker's helper thread. Paths are relative to the
// data root; an absolute path or a ".." component is refused, so broker code cannot reach outside.
#include "broker/platform/disk.h"
#include "broker/platform/posix/sync_worker.h"

#include <memory>
#include <string>

namespace keel::posix {

class PosixFile final : public FileImpl {
 public:
  PosixFile(SyncWorker& worker, std::shared_ptr<UniqueFd> fd, std::string path);
  ~PosixFile() override;
  PosixFile(const PosixFile&) = delete;
  PosixFile& operator=(const PosixFile&) = delete;

  Result<std::size_t> read_at(std::uint64_t offset, std::span<std::byte> out) override;
  Status write_at(std::uint64_t offset, std::span<const std::byte> data) override;
  Status sync() override;
  Status truncate(std::uint64_t size) override;
  Result<std::uint64_t> size() override;
  Result<WallTime> modified_time() override;
  const std::string& path() const override { return path_; }

 private:
  SyncWorker& worker_;
  std::shared_ptr<UniqueFd> fd_;  // shared with a sync in flight, which may outlive this file
  std::string path_;              // relative to the data root, as broker code named it
};

class PosixDisk final : public Disk {
 public:
  // `root` is the data root; it need not exist yet (make_dir creates it with its first child).
  PosixDisk(std::string root, SyncWorker& worker);

  Result<File> open(const std::string& path, OpenOptions options) override;
  Status rename(const std::string& from, const std::string& to) override;
  Status remove(const std::string& path) override;
  Status make_dir(const std::string& path) override;
  Result<std::vector<std::string>> list(const std::string& dir) override;
  Status sync_dir(const std::string& dir) override;
  Result<bool> exists(const std::string& path) override;
  Result<DiskSpace> space(const std::string& path) override;

  const std::string& root() const { return root_; }

 private:
  // The OS path for a path relative to the root ("" is the root itself), or invalid_argument.
  Result<std::string> resolve(const std::string& path) const;
  Status make_dir_parents(const std::string& os_path, const std::string& path, int depth_left);

  std::string root_;
  SyncWorker& worker_;
};

}  // namespace keel::posix
