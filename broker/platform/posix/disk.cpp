#include "broker/platform/posix/disk.h"

#include "broker/base/assert.h"

#include <algorithm>
#include <cerrno>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

namespace keel::posix {

namespace {
constexpr mode_t file_mode = 0644;
constexpr mode_t dir_mode = 0755;
constexpr int dir_depth_max = 64;  // make_dir recursion: deeper paths are surely a bug

// Closes a DIR* on every path out of list().
struct DirCloser {
  void operator()(DIR* d) const { ::closedir(d); }
};

// "" means the working directory; trailing slashes go, so joined paths have exactly one.
std::string normal_root(std::string root) {
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  return root.empty() ? std::string(".") : root;
}

Error path_error(int err, std::string_view op, const std::string& path) {
  return sys_error(err, op, path.empty() ? std::string_view("<data root>") : std::string_view(path));
}
}  // namespace

// ---- PosixFile ----

PosixFile::PosixFile(SyncWorker& worker, std::shared_ptr<UniqueFd> fd, std::string path)
    : worker_(worker), fd_(std::move(fd)), path_(std::move(path)) {
  worker_.loop().handle_opened();
}

PosixFile::~PosixFile() { worker_.loop().handle_closed(); }

Result<std::size_t> PosixFile::read_at(std::uint64_t offset, std::span<std::byte> out) {
  std::size_t done = 0;
  // pread may return less than asked before end of file (a signal); only 0 means the end.
  while (done < out.size()) {
    const ssize_t n = ::pread(fd_->get(), out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return sys_error(errno, "read", path_);
    }
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  return done;
}

Status PosixFile::write_at(std::uint64_t offset, std::span<const std::byte> data) {
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::pwrite(fd_->get(), data.data() + done, data.size() - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return sys_error(errno, "write", path_);
    }
    done += static_cast<std::size_t>(n);
  }
  return {};
}

Status PosixFile::sync() {
  const int err = worker_.sync(fd_, SyncWorker::Kind::data);
  if (err != 0) return sys_error(err, "fdatasync", path_);
  return {};
}

Status PosixFile::truncate(std::uint64_t size) {
  while (::ftruncate(fd_->get(), static_cast<off_t>(size)) != 0) {
    if (errno != EINTR) return sys_error(errno, "truncate", path_);
  }
  return {};
}

Result<std::uint64_t> PosixFile::size() {
  struct stat st {};
  if (::fstat(fd_->get(), &st) != 0) return sys_error(errno, "stat", path_);
  return static_cast<std::uint64_t>(st.st_size);
}

Result<WallTime> PosixFile::modified_time() {
  struct stat st {};
  if (::fstat(fd_->get(), &st) != 0) return sys_error(errno, "stat", path_);
  const auto since_epoch = std::chrono::seconds(st.st_mtim.tv_sec) + std::chrono::nanoseconds(st.st_mtim.tv_nsec);
  return WallTime(std::chrono::duration_cast<Duration>(since_epoch));
}

// ---- PosixDisk ----

PosixDisk::PosixDisk(std::string root, SyncWorker& worker) : root_(normal_root(std::move(root))), worker_(worker) {}

Result<std::string> PosixDisk::resolve(const std::string& path) const {
  // Under data root "/" (the keel binary's) an absolute path names itself, so that what broker code
  // holds and traces is the path as the operator wrote it; under any other root it would climb out.
  const bool absolute = !path.empty() && path.front() == '/';
  if (absolute && root_ != "/") {
    return make_error(Errc::invalid_argument, fmt::format("path '{}': absolute paths are not allowed", path));
  }
  if (path.find('\0') != std::string::npos) {
    return make_error(Errc::invalid_argument, fmt::format("path '{}': contains a NUL byte", path));
  }
  std::size_t begin = 0;
  while (begin <= path.size()) {
    const std::size_t end = std::min(path.find('/', begin), path.size());
    if (path.compare(begin, end - begin, "..") == 0) {
      return make_error(Errc::invalid_argument, fmt::format("path '{}': '..' components are not allowed", path));
    }
    begin = end + 1;
  }
  if (absolute) return path;
  return path.empty() ? root_ : root_ + "/" + path;
}

Result<File> PosixDisk::open(const std::string& path, OpenOptions options) {
  auto os_path = resolve(path);
  if (!os_path) return os_path.error();
  if (options.read_only && options.truncate) {
    return make_error(Errc::invalid_argument, fmt::format("open {}: truncate of a read-only file", path));
  }
  int flags = O_CLOEXEC | (options.read_only ? O_RDONLY : O_RDWR);
  if (options.create) flags |= O_CREAT | (options.exclusive ? O_EXCL : 0);
  if (options.truncate) flags |= O_TRUNC;
  int fd = -1;
  do {
    fd = ::open(os_path->c_str(), flags, file_mode);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return path_error(errno, "open", path);
  auto owned = std::make_shared<UniqueFd>(fd);
  struct stat st {};
  if (::fstat(fd, &st) != 0) return path_error(errno, "stat", path);
  // A read-only open of a directory succeeds; refuse it here rather than fail on the first read.
  if (!S_ISREG(st.st_mode)) return make_error(Errc::invalid_argument, fmt::format("open {}: not a regular file", path));
  return File(std::make_unique<PosixFile>(worker_, std::move(owned), path));
}

Status PosixDisk::rename(const std::string& from, const std::string& to) {
  auto os_from = resolve(from);
  if (!os_from) return os_from.error();
  auto os_to = resolve(to);
  if (!os_to) return os_to.error();
  if (::rename(os_from->c_str(), os_to->c_str()) != 0) {
    return sys_error(errno, "rename", fmt::format("{} -> {}", from, to));
  }
  return {};
}

Status PosixDisk::remove(const std::string& path) {
  auto os_path = resolve(path);
  if (!os_path) return os_path.error();
  if (path.empty()) return make_error(Errc::invalid_argument, "remove: refusing to remove the data root");
  if (::unlink(os_path->c_str()) == 0) return {};
  // Linux reports EISDIR for a directory; remove it as an (empty) directory then.
  if (errno != EISDIR) return path_error(errno, "remove", path);
  if (::rmdir(os_path->c_str()) != 0) return path_error(errno, "remove", path);
  return {};
}

Status PosixDisk::make_dir(const std::string& path) {
  auto os_path = resolve(path);
  if (!os_path) return os_path.error();
  return make_dir_parents(*os_path, path, dir_depth_max);
}

// mkdir -p from the leaf up: only when a parent is missing is it created first, so existing
// ancestors (the data root's own, possibly unwritable, parents) are never touched.
Status PosixDisk::make_dir_parents(const std::string& os_path, const std::string& path, int depth_left) {
  if (::mkdir(os_path.c_str(), dir_mode) == 0) return {};
  const int err = errno;
  if (err == ENOENT && depth_left > 0) {
    const auto slash = os_path.rfind('/');
    if (slash != std::string::npos && slash > 0) {
      auto st = make_dir_parents(os_path.substr(0, slash), path, depth_left - 1);
      if (!st) return st;
      return make_dir_parents(os_path, path, 0);
    }
  }
  if (err != EEXIST) return path_error(err, "make_dir", path);
  struct stat st {};
  if (::stat(os_path.c_str(), &st) != 0) return path_error(errno, "make_dir", path);
  if (!S_ISDIR(st.st_mode)) return path_error(EEXIST, "make_dir (not a directory)", path);
  return {};
}

Result<std::vector<std::string>> PosixDisk::list(const std::string& dir) {
  auto os_path = resolve(dir);
  if (!os_path) return os_path.error();
  std::unique_ptr<DIR, DirCloser> d(::opendir(os_path->c_str()));
  if (!d) return path_error(errno, "list", dir);
  std::vector<std::string> names;
  while (true) {
    errno = 0;
    const dirent* entry = ::readdir(d.get());
    if (entry == nullptr) {
      if (errno != 0) return path_error(errno, "list", dir);
      break;
    }
    const std::string_view name(entry->d_name);
    if (name != "." && name != "..") names.emplace_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

Status PosixDisk::sync_dir(const std::string& dir) {
  auto os_path = resolve(dir);
  if (!os_path) return os_path.error();
  const int fd = ::open(os_path->c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return path_error(errno, "sync_dir", dir);
  const int err = worker_.sync(std::make_shared<UniqueFd>(fd), SyncWorker::Kind::full);
  if (err != 0) return path_error(err, "sync_dir", dir);
  return {};
}

Result<bool> PosixDisk::exists(const std::string& path) {
  auto os_path = resolve(path);
  if (!os_path) return os_path.error();
  struct stat st {};
  if (::stat(os_path->c_str(), &st) == 0) return true;
  if (errno == ENOENT || errno == ENOTDIR) return false;
  return path_error(errno, "exists", path);
}

Result<DiskSpace> PosixDisk::space(const std::string& path) {
  auto os_path = resolve(path);
  if (!os_path) return os_path.error();
  struct statvfs st {};
  if (::statvfs(os_path->c_str(), &st) != 0) return path_error(errno, "space", path);
  const std::uint64_t unit = st.f_frsize != 0 ? st.f_frsize : st.f_bsize;
  DiskSpace out{static_cast<std::uint64_t>(st.f_blocks) * unit, static_cast<std::uint64_t>(st.f_bavail) * unit};
  KEEL_ASSERT_LE(out.usable_bytes, out.total_bytes);
  return out;
}

}  // namespace keel::posix
