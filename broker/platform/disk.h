#pragma once
// Files and directories as broker code sees them. Paths are relative to the node's data root and
// use '/' separators. Every call may suspend the calling task (a simulated latency, or a posix
// fdatasync on a helper thread) and every failure is an Error value: EIO and ENOSPC are normal
// outcomes to handle, not crashes.
//
// Durability rules (what the simulated disk enforces and what real filesystems give): data
// written is durable only after File::sync(); a create, rename or remove is durable only after
// Disk::sync_dir() of the directory that holds the entry.
#include "broker/base/result.h"
#include "broker/base/time.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace keel {

struct OpenOptions {
  bool create = false;     // create the file if it is missing
  bool exclusive = false;  // with create: fail with already_exists if it is there
  bool truncate = false;   // cut an existing file to zero length
  bool read_only = false;
};

class FileImpl {
 public:
  virtual ~FileImpl() = default;
  virtual Result<std::size_t> read_at(std::uint64_t offset, std::span<std::byte> out) = 0;
  virtual Status write_at(std::uint64_t offset, std::span<const std::byte> data) = 0;
  virtual Status sync() = 0;
  virtual Status truncate(std::uint64_t size) = 0;
  virtual Result<std::uint64_t> size() = 0;
  // The file's modification time (stat's mtime): the wall clock of its last write or truncate.
  virtual Result<WallTime> modified_time() = 0;
  virtual const std::string& path() const = 0;
};

// A small value handle over an open file; closing is destruction.
class File {
 public:
  File() = default;
  explicit File(std::unique_ptr<FileImpl> impl) : impl_(std::move(impl)) {}

  bool is_open() const { return impl_ != nullptr; }
  const std::string& path() const { return impl_->path(); }
  // Reads up to out.size() bytes; 0 means offset >= size. As with POSIX pread, fewer bytes than asked
  // may come back before the end of file (the simulated disk does so under BUGGIFY
  // disk_short_read): loop, or use read_exact_at.
  Result<std::size_t> read_at(std::uint64_t offset, std::span<std::byte> out) { return impl_->read_at(offset, out); }
  // Reads exactly out.size() bytes or fails (Errc::closed on a short file).
  Status read_exact_at(std::uint64_t offset, std::span<std::byte> out);
  Status write_at(std::uint64_t offset, std::span<const std::byte> data) { return impl_->write_at(offset, data); }
  // Writes at the current end of file; returns the offset the data landed at.
  Result<std::uint64_t> append(std::span<const std::byte> data);
  Status sync() { return impl_->sync(); }
  Status truncate(std::uint64_t size) { return impl_->truncate(size); }
  Result<std::uint64_t> size() { return impl_->size(); }
  // The wall clock of the last write or truncate, as the file system keeps it (it may lag the data
  // after a power loss, and follows the node's clock when it jumps). Kafka measures the age of a
  // segment without timestamps by it.
  Result<WallTime> modified_time() { return impl_->modified_time(); }
  void close() { impl_.reset(); }

 private:
  std::unique_ptr<FileImpl> impl_;
};

// The file system that holds a path: its size and the bytes a write may still use (statvfs(2):
// f_blocks and f_bavail in f_frsize units, what Java's FileStore calls total and usable space).
struct DiskSpace {
  std::uint64_t total_bytes = 0;
  std::uint64_t usable_bytes = 0;
};

class Disk {
 public:
  virtual ~Disk() = default;
  virtual Result<File> open(const std::string& path, OpenOptions options) = 0;
  virtual Status rename(const std::string& from, const std::string& to) = 0;  // replaces `to`
  virtual Status remove(const std::string& path) = 0;                          // a file or an empty directory
  virtual Status make_dir(const std::string& path) = 0;                        // parents too; ok if present
  virtual Result<std::vector<std::string>> list(const std::string& dir) = 0;   // names, sorted
  virtual Status sync_dir(const std::string& dir) = 0;
  virtual Result<bool> exists(const std::string& path) = 0;
  virtual Result<DiskSpace> space(const std::string& path) = 0;  // `path` must exist
};

// "a/b/c.log" -> "a/b"; "c.log" -> "" (the root).
std::string parent_dir(const std::string& path);
std::string join_path(const std::string& dir, const std::string& name);

}  // namespace keel
