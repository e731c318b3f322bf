// The simulated disk. The model, in short:
//
// - Every file and directory is an inode with a number. The inode table is a std::map keyed by
//   number, so every walk over it (a crash, a free) runs in an order the program alone decides.
// - A file inode holds `current` (what reads see), `durable` (what is on the platter), and the
//   writes and truncates issued since its last sync, in order (`pending`). Invariant: applying
//   `pending` to `durable` in order gives `current`.
// - A directory inode holds two views of its entries (name -> inode number): `entries` (what
//   lookups see) and `durable_entries` (what survives a power loss). create, rename, remove and
//   make_dir change `entries`; sync_dir copies `entries` to `durable_entries`.
// - An inode lives while some directory view names it or an open handle holds it (`refs`,
//   `open`). So a renamed or removed file stays readable through an open handle, as on POSIX,
//   and a removed file whose removal is not yet durable comes back after a crash.
// - A directory keeps the parent it was made in for its whole life (a rename of a directory
//   across directories is refused), so the graph of all views is a tree and reference counts
//   free everything unreachable.
//
// Crash (power loss), per file inode in number order, per pending operation in issue order, one
// draw u in [0, 1):
// - a write is kept whole (u < keep), torn (u < keep + tear: each sector it touches, with
//   sector boundaries at multiples of sector_bytes in the file, independently reaches the
//   platter or not; a lost sector keeps the old durable bytes, zeros where the file was shorter)
//   or dropped;
// - a truncate is one metadata change and cannot tear: applied (u < keep + tear) or dropped.
// Later operations may survive where earlier ones did not: without a sync the device promises
// no order. Then every directory's `entries` revert to its `durable_entries`, and inodes no view
// names any more are freed.
//
// A rename across directories is two entry changes, each durable with its own directory's sync:
// a crash between the two syncs may leave the file under both names or under neither.
#include "sim/disk.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <string_view>
#include <utility>

#include "broker/base/assert.h"
#include "sim/node.h"
#include "sim/world.h"

namespace keel::sim {

namespace {

constexpr std::uint64_t root_inode = 1;
// Offsets past this are refused: a simulated file lives in memory, and offset + size must not wrap.
constexpr std::uint64_t file_offset_max = 1ull << 48;

using Entries = std::map<std::string, std::uint64_t>;
enum class View : std::uint8_t { current, durable };

struct Pending {
  enum class Kind : std::uint8_t { write, truncate };
  Kind kind = Kind::write;
  std::uint64_t seq = 0;     // issue order across the whole disk; a sync commits those before it
  std::uint64_t offset = 0;  // write: where the data goes; truncate: the new size
  std::string data;
  WallTime at{};             // the node's wall clock when issued: the file's mtime once it lands
};

struct Inode {
  std::uint64_t number = 0;
  bool is_dir = false;
  std::uint32_t refs = 0;  // directory view slots naming this inode (the root holds one of its own)
  std::uint32_t open = 0;  // open handles
  // Files.
  std::string current;
  std::string durable;
  std::vector<Pending> pending;
  // The modification time a stat sees (the node's wall clock at the last write, truncate or create),
  // and the one a power loss leaves: that of the last change that reached the platter.
  WallTime mtime{};
  WallTime durable_mtime{};
  // Directories.
  Entries entries;
  Entries durable_entries;

  const Entries& view(View v) const { return v == View::current ? entries : durable_entries; }
};

// Writes `data` at `offset`, zero-filling any gap past the end (a hole reads as zeros).
void write_into(std::string& s, std::uint64_t offset, std::string_view data) {
  const std::uint64_t end = offset + data.size();
  if (s.size() < end) s.resize(end, '\0');
  s.replace(offset, data.size(), data);
}

void apply_op(std::string& s, const Pending& p) {
  if (p.kind == Pending::Kind::write) {
    write_into(s, p.offset, p.data);
  } else {
    s.resize(p.offset, '\0');
  }
}

// "a/b/c" -> {"a", "b", "c"}; "" -> {} (the root). Absolute paths, empty components, "." and ".."
// are refused: broker code names files relative to its data root and never climbs out of it.
Result<std::vector<std::string>> split_path(const std::string& path) {
  std::vector<std::string> parts;
  if (path.empty()) return parts;
  std::size_t start = 0;
  while (true) {
    const std::size_t slash = path.find('/', start);
    const std::size_t end = slash == std::string::npos ? path.size() : slash;
    std::string part = path.substr(start, end - start);
    if (part.empty() || part == "." || part == "..") {
      return make_error(Errc::invalid_argument,
                        fmt::format("{}: invalid path (absolute, empty component, '.' or '..')", path));
    }
    parts.push_back(std::move(part));
    if (slash == std::string::npos) return parts;
    start = slash + 1;
  }
}

// The inode table and the namespace, without time, faults or traces.
class Tree {
 public:
  Tree() {
    Inode& root = create(true);
    KEEL_ASSERT_EQ(root.number, root_inode);
    root.refs = 1;  // the file system itself holds the root: it always exists and is durable
  }

  Inode& create(bool is_dir) {
    auto inode = std::make_unique<Inode>();
    inode->number = next_inode_++;
    inode->is_dir = is_dir;
    Inode& ref = *inode;
    inodes_.emplace(ref.number, std::move(inode));
    return ref;
  }

  Inode& get(std::uint64_t number) const {
    auto it = inodes_.find(number);
    KEEL_ASSERT_MSG(it != inodes_.end(), "inode {} is not in the table", number);
    return *it->second;
  }
  Inode& root() const { return get(root_inode); }
  const std::map<std::uint64_t, std::unique_ptr<Inode>>& inodes() const { return inodes_; }
  std::size_t inode_count() const { return inodes_.size(); }

  // The directory named by parts[0, count) in the given view.
  Result<Inode*> walk(const std::vector<std::string>& parts, std::size_t count, const std::string& path,
                      View view) const {
    Inode* dir = &root();
    for (std::size_t i = 0; i < count; ++i) {
      const Entries& entries = dir->view(view);
      auto it = entries.find(parts[i]);
      if (it == entries.end()) {
        return make_error(Errc::not_found, fmt::format("{}: no directory '{}'", path, parts[i]));
      }
      dir = &get(it->second);
      if (!dir->is_dir)
        return make_error(Errc::invalid_argument, fmt::format("{}: '{}' is not a directory", path, parts[i]));
    }
    return dir;
  }

  // Points `view[name]` at `number`, releasing what it named before.
  void set_entry(Entries& view, const std::string& name, std::uint64_t number) {
    ++get(number).refs;
    auto [it, inserted] = view.try_emplace(name, number);
    if (inserted) return;
    const std::uint64_t old = it->second;
    it->second = number;
    release(old);
  }
  void erase_entry(Entries& view, const std::string& name) {
    auto it = view.find(name);
    KEEL_ASSERT(it != view.end());
    const std::uint64_t old = it->second;
    view.erase(it);
    release(old);
  }
  // Replaces `to` by a copy of `from` (a sync_dir, or a crash's revert), keeping counts right.
  void copy_view(const Entries& from, Entries& to) {
    Entries old = std::exchange(to, from);
    for (const auto& [name, number] : to) ++get(number).refs;
    for (const auto& [name, number] : old) release(number);
  }

  void release(std::uint64_t number) {
    Inode& inode = get(number);
    KEEL_ASSERT_MSG(inode.refs > 0, "inode {} released more often than named", number);
    --inode.refs;
    maybe_free(number);
  }
  void maybe_free(std::uint64_t number) {
    Inode& inode = get(number);
    if (inode.refs > 0 || inode.open > 0) return;
    KEEL_ASSERT_NE(number, root_inode);
    auto node = inodes_.extract(number);
    used_bytes_ -= node.mapped()->current.size();
    ++freed_;
    // The directory is out of the table before its children go, so nothing can reach it again.
    for (const auto& [name, child] : node.mapped()->entries) release(child);
    for (const auto& [name, child] : node.mapped()->durable_entries) release(child);
  }

  // Runs `fn` on a file's current contents, keeping the disk's used-bytes total in step.
  template <class Fn>
  void change_current(Inode& inode, Fn&& fn) {
    used_bytes_ -= inode.current.size();
    fn(inode.current);
    used_bytes_ += inode.current.size();
  }
  std::uint64_t used_bytes() const { return used_bytes_; }
  std::uint64_t next_seq() { return next_seq_++; }
  std::uint64_t peek_seq() const { return next_seq_; }
  std::uint64_t freed() const { return freed_; }

 private:
  std::map<std::uint64_t, std::unique_ptr<Inode>> inodes_;
  std::uint64_t next_inode_ = root_inode;
  std::uint64_t next_seq_ = 1;
  std::uint64_t used_bytes_ = 0;
  std::uint64_t freed_ = 0;
};

// Where a path's last component lives: its directory (in the current view) and its name.
struct Where {
  Inode* dir = nullptr;
  std::string name;
};

struct CrashCounts {
  std::uint64_t kept = 0, torn = 0, dropped = 0, truncates_kept = 0, truncates_dropped = 0;
};

}  // namespace

// The model plus the operations as broker code sees them: latency, faults, traces, stats. A
// nested class, so it reaches the disk's options, generator and stats directly.
struct SimDisk::State {
  explicit State(SimDisk& d) : disk(d) {}

  SimDisk& disk;
  Tree tree;

  // ---- the Disk interface ----
  Result<File> open(const std::string& path, OpenOptions options);
  Status rename(const std::string& from, const std::string& to);
  Status remove(const std::string& path);
  Status make_dir(const std::string& path);
  Result<std::vector<std::string>> list(const std::string& dir);
  Status sync_dir(const std::string& dir);
  Result<bool> exists(const std::string& path);
  Result<DiskSpace> space(const std::string& path);

  // ---- the File interface (a handle's inode stays in the table while it is open) ----
  Result<std::size_t> read(Inode& inode, const std::string& path, std::uint64_t offset, std::span<std::byte> out);
  Status write(Inode& inode, const std::string& path, std::uint64_t offset, std::span<const std::byte> data);
  Status sync(Inode& inode, const std::string& path);
  Status truncate(Inode& inode, const std::string& path, std::uint64_t size);
  void close(Inode& inode);

  // ---- crash ----
  void crash();
  void crash_file(Inode& inode, CrashCounts& counts);
  void tear(Inode& inode, const Pending& p);
  std::uint64_t revert_namespace();

  // ---- helpers ----
  void pause(Duration lo, Duration hi);
  WallTime wall_now() const;
  void note_change(Inode& inode, Pending p);
  TraceEvent event(std::string_view name) { return disk.node_.world().event(name, disk.node_.id()); }
  Error fault(std::string_view op, const std::string& path, Errc code, std::string what);
  Error failed(std::string_view op, const std::string& path, Error error);
  Result<Where> locate(const std::string& path);
  Status check_room(std::string_view op, const Inode& inode, std::uint64_t new_size, const std::string& path);
  Result<const Inode*> find_file(const std::string& path, View view) const;
  Status replace_entry(Where& from, Where& to, const std::string& from_path, const std::string& to_path);
};

namespace {

// An open file: a handle on an inode. Closing (destruction) costs no simulated time, since it
// runs from destructors, also while a killed task's stack unwinds.
class SimFile final : public FileImpl {
 public:
  SimFile(SimDisk::State& state, Inode& inode, std::string path, bool read_only)
      : state_(state), inode_(inode), path_(std::move(path)), read_only_(read_only) {
    ++inode_.open;
  }
  ~SimFile() override { state_.close(inode_); }
  SimFile(const SimFile&) = delete;
  SimFile& operator=(const SimFile&) = delete;

  Result<std::size_t> read_at(std::uint64_t offset, std::span<std::byte> out) override {
    return state_.read(inode_, path_, offset, out);
  }
  Status write_at(std::uint64_t offset, std::span<const std::byte> data) override {
    if (read_only_) return make_error(Errc::invalid_argument, fmt::format("{}: write to a read-only handle", path_));
    return state_.write(inode_, path_, offset, data);
  }
  Status sync() override { return state_.sync(inode_, path_); }
  Status truncate(std::uint64_t size) override {
    if (read_only_) return make_error(Errc::invalid_argument, fmt::format("{}: truncate of a read-only handle", path_));
    return state_.truncate(inode_, path_, size);
  }
  // fstat touches only the in-memory inode: free, so that append() costs one write's latency.
  Result<std::uint64_t> size() override { return static_cast<std::uint64_t>(inode_.current.size()); }
  // fstat: free, like size().
  Result<WallTime> modified_time() override { return inode_.mtime; }
  const std::string& path() const override { return path_; }

 private:
  SimDisk::State& state_;
  Inode& inode_;
  std::string path_;
  bool read_only_;
};

}  // namespace

// ---------------------------------------------------------------------------------------------
// helpers

void SimDisk::State::pause(Duration lo, Duration hi) {
  SimRuntime* rt = disk.node_.runtime();
  KEEL_ASSERT_MSG(rt != nullptr, "disk operation on node {} while its process is down", disk.node_.id());
  KEEL_ASSERT_MSG(Executor::current() == &rt->executor(), "disk operation on node {} outside one of its tasks",
                  disk.node_.id());
  const Duration d{disk.rng_.between(lo.count(), hi.count())};
  rt->sleep_for(d);
}

// The node's wall clock (it may jump or drift): what a real file system stamps as mtime.
WallTime SimDisk::State::wall_now() const { return disk.node_.clock().wall(disk.node_.world().now()); }

// A write or truncate lands in the page cache: pending until synced, and the file's mtime now.
void SimDisk::State::note_change(Inode& inode, Pending p) {
  p.at = wall_now();
  inode.mtime = p.at;
  inode.pending.push_back(std::move(p));
}

Error SimDisk::State::fault(std::string_view op, const std::string& path, Errc code, std::string what) {
  if (code == Errc::io_error) ++disk.stats_.io_errors;
  if (code == Errc::no_space) ++disk.stats_.no_space_errors;
  event("DiskFault").detail("op", op).detail("path", path).detail("kind", errc_name(code));
  return make_error(code, fmt::format("{}: {}", path, what));
}

Error SimDisk::State::failed(std::string_view op, const std::string& path, Error error) {
  event(op).detail("path", path).detail("error", errc_name(error.code));
  return error;
}

Result<Where> SimDisk::State::locate(const std::string& path) {
  auto parts = split_path(path);
  if (!parts) return parts.error();
  if (parts->empty()) return make_error(Errc::invalid_argument, "(root): the root directory cannot be used here");
  auto dir = tree.walk(*parts, parts->size() - 1, path, View::current);
  if (!dir) return dir.error();
  return Where{*dir, parts->back()};
}

Status SimDisk::State::check_room(std::string_view op, const Inode& inode, std::uint64_t new_size,
                                  const std::string& path) {
  if (new_size <= inode.current.size()) return {};
  const std::uint64_t used = tree.used_bytes() - inode.current.size() + new_size;
  if (new_size > file_offset_max || used > disk.options_.capacity_bytes) {
    return fault(op, path, Errc::no_space,
                 fmt::format("no space: {} bytes needed, capacity {}", used, disk.options_.capacity_bytes));
  }
  return {};
}

Result<const Inode*> SimDisk::State::find_file(const std::string& path, View view) const {
  auto parts = split_path(path);
  if (!parts || parts->empty()) return make_error(Errc::invalid_argument, path);
  auto dir = tree.walk(*parts, parts->size() - 1, path, view);
  if (!dir) return dir.error();
  const Entries& entries = (*dir)->view(view);
  auto it = entries.find(parts->back());
  if (it == entries.end()) return make_error(Errc::not_found, path);
  const Inode& inode = tree.get(it->second);
  if (inode.is_dir) return make_error(Errc::invalid_argument, path);
  return &inode;
}

// ---------------------------------------------------------------------------------------------
// namespace operations

Result<File> SimDisk::State::open(const std::string& path, OpenOptions options) {
  pause(disk.options_.metadata_latency_min, disk.options_.metadata_latency_max);
  auto where = locate(path);
  if (!where) return failed("DiskOpen", path, where.error());
  if (options.truncate && options.read_only) {
    return failed("DiskOpen", path,
                  make_error(Errc::invalid_argument, fmt::format("{}: truncate on a read-only open", path)));
  }
  auto it = where->dir->entries.find(where->name);
  const bool created = it == where->dir->entries.end();
  if (created && !options.create)
    return failed("DiskOpen", path, make_error(Errc::not_found, fmt::format("{}: no such file", path)));
  if (!created && options.create && options.exclusive) {
    return failed("DiskOpen", path, make_error(Errc::already_exists, fmt::format("{}: already exists", path)));
  }
  Inode* inode = nullptr;
  if (created) {
    inode = &tree.create(false);
    inode->mtime = inode->durable_mtime = wall_now();
    tree.set_entry(where->dir->entries, where->name, inode->number);
  } else {
    inode = &tree.get(it->second);
    if (inode->is_dir)
      return failed("DiskOpen", path, make_error(Errc::invalid_argument, fmt::format("{}: is a directory", path)));
    if (options.truncate) {
      tree.change_current(*inode, [](std::string& s) { s.clear(); });
      note_change(*inode, Pending{Pending::Kind::truncate, tree.next_seq(), 0, {}, {}});
    }
  }
  event("DiskOpen")
      .detail("path", path)
      .detail("inode", inode->number)
      .detail("created", created)
      .detail("truncate", options.truncate);
  return File(std::make_unique<SimFile>(*this, *inode, path, options.read_only));
}

// Checks that `from` may replace `to`'s entry, then moves the entry.
Status SimDisk::State::replace_entry(Where& from, Where& to, const std::string& from_path, const std::string& to_path) {
  const std::uint64_t number = from.dir->entries.at(from.name);
  const Inode& src = tree.get(number);
  if (src.is_dir && from.dir != to.dir) {
    return make_error(Errc::invalid_argument,
                      fmt::format("{} -> {}: a directory can only be renamed within its parent", from_path, to_path));
  }
  auto target = to.dir->entries.find(to.name);
  if (target != to.dir->entries.end()) {
    if (target->second == number) return {};  // both names are one inode already: POSIX does nothing
    const Inode& dst = tree.get(target->second);
    if (src.is_dir != dst.is_dir) {
      return make_error(Errc::invalid_argument,
                        fmt::format("{} -> {}: cannot replace a {} with a {}", from_path, to_path,
                                    dst.is_dir ? "directory" : "file", src.is_dir ? "directory" : "file"));
    }
    if (dst.is_dir && !dst.entries.empty()) {
      return make_error(Errc::invalid_argument, fmt::format("{}: directory not empty", to_path));
    }
  }
  // Name the inode under its new name first, so it is never without a reference in between.
  tree.set_entry(to.dir->entries, to.name, number);
  tree.erase_entry(from.dir->entries, from.name);
  return {};
}

Status SimDisk::State::rename(const std::string& from, const std::string& to) {
  pause(disk.options_.metadata_latency_min, disk.options_.metadata_latency_max);
  auto src = locate(from);
  if (!src) return failed("DiskRename", from, src.error());
  auto dst = locate(to);
  if (!dst) return failed("DiskRename", from, dst.error());
  if (!src->dir->entries.contains(src->name)) {
    return failed("DiskRename", from, make_error(Errc::not_found, fmt::format("{}: no such file or directory", from)));
  }
  if (src->dir == dst->dir && src->name == dst->name) return {};
  auto st = replace_entry(*src, *dst, from, to);
  if (!st) return failed("DiskRename", from, st.error());
  event("DiskRename").detail("from", from).detail("to", to);
  return {};
}

Status SimDisk::State::remove(const std::string& path) {
  pause(disk.options_.metadata_latency_min, disk.options_.metadata_latency_max);
  auto where = locate(path);
  if (!where) return failed("DiskRemove", path, where.error());
  auto it = where->dir->entries.find(where->name);
  if (it == where->dir->entries.end()) {
    return failed("DiskRemove", path, make_error(Errc::not_found, fmt::format("{}: no such file or directory", path)));
  }
  const Inode& inode = tree.get(it->second);
  if (inode.is_dir && !inode.entries.empty()) {
    return failed("DiskRemove", path, make_error(Errc::invalid_argument, fmt::format("{}: directory not empty", path)));
  }
  const std::uint64_t number = inode.number;
  tree.erase_entry(where->dir->entries, where->name);
  event("DiskRemove").detail("path", path).detail("inode", number);
  return {};
}

Status SimDisk::State::make_dir(const std::string& path) {
  pause(disk.options_.metadata_latency_min, disk.options_.metadata_latency_max);
  auto parts = split_path(path);
  if (!parts) return failed("DiskMakeDir", path, parts.error());
  Inode* dir = &tree.root();
  int created = 0;
  for (const std::string& part : *parts) {
    auto it = dir->entries.find(part);
    if (it == dir->entries.end()) {
      Inode& child = tree.create(true);
      tree.set_entry(dir->entries, part, child.number);
      dir = &child;
      ++created;
      continue;
    }
    dir = &tree.get(it->second);
    if (!dir->is_dir) {
      return failed("DiskMakeDir", path,
                    make_error(Errc::invalid_argument, fmt::format("{}: '{}' is a file", path, part)));
    }
  }
  event("DiskMakeDir").detail("path", path).detail("created", created);
  return {};
}

Result<std::vector<std::string>> SimDisk::State::list(const std::string& path) {
  pause(disk.options_.metadata_latency_min, disk.options_.metadata_latency_max);
  auto parts = split_path(path);
  if (!parts) return failed("DiskList", path, parts.error());
  auto dir = tree.walk(*parts, parts->size(), path, View::current);
  if (!dir) return failed("DiskList", path, dir.error());
  std::vector<std::string> names;
  names.reserve((*dir)->entries.size());
  for (const auto& [name, number] : (*dir)->entries) names.push_back(name);  // a std::map: sorted
  event("DiskList").detail("path", path).detail("entries", names.size());
  return names;
}

Status SimDisk::State::sync_dir(const std::string& path) {
  pause(disk.options_.sync_dir_latency_min, disk.options_.sync_dir_latency_max);
  ++disk.stats_.dir_syncs;
  auto parts = split_path(path);
  if (!parts) return failed("DiskSyncDir", path, parts.error());
  auto dir = tree.walk(*parts, parts->size(), path, View::current);
  if (!dir) return failed("DiskSyncDir", path, dir.error());
  if (disk.rng_.chance(disk.options_.sync_error_probability)) {
    return fault("sync_dir", path, Errc::io_error, "directory sync failed (EIO)");
  }
  Inode& d = **dir;
  tree.copy_view(d.entries, d.durable_entries);
  event("DiskSyncDir").detail("path", path).detail("entries", d.entries.size());
  return {};
}

Result<bool> SimDisk::State::exists(const std::string& path) {
  pause(disk.options_.metadata_latency_min, disk.options_.metadata_latency_max);
  auto parts = split_path(path);
  if (!parts) return failed("DiskExists", path, parts.error());
  bool found = true;
  if (!parts->empty()) {
    auto dir = tree.walk(*parts, parts->size() - 1, path, View::current);
    found = dir.ok() && (*dir)->entries.contains(parts->back());
  }
  event("DiskExists").detail("path", path).detail("found", found);
  return found;
}

Result<DiskSpace> SimDisk::State::space(const std::string& path) {
  auto found = exists(path);  // a metadata operation's latency, as statvfs(2)
  if (!found) return found.error();
  if (!*found) return failed("DiskSpace", path, make_error(Errc::not_found, fmt::format("{}: no such file or directory", path)));
  const std::uint64_t capacity = disk.options_.capacity_bytes;
  const std::uint64_t used = std::min(tree.used_bytes(), capacity);
  return DiskSpace{capacity, capacity - used};
}

// ---------------------------------------------------------------------------------------------
// file operations

Result<std::size_t> SimDisk::State::read(Inode& inode, const std::string& path, std::uint64_t offset,
                                         std::span<std::byte> out) {
  pause(disk.options_.read_latency_min, disk.options_.read_latency_max);
  ++disk.stats_.reads;
  if (disk.rng_.chance(disk.options_.read_error_probability)) {
    return fault("read", path, Errc::io_error, fmt::format("read at offset {} failed (EIO)", offset));
  }
  const std::uint64_t size = inode.current.size();
  std::size_t n = offset >= size ? 0 : static_cast<std::size_t>(std::min<std::uint64_t>(out.size(), size - offset));
  // BUGGIFY disk_short_read: fewer bytes than asked before the end of file, as pread(2) may return
  // (a signal, a network or FUSE filesystem). Callers must loop (File::read_exact_at does).
  if (SimRuntime* rt = disk.node_.runtime()) n = rt->buggify_shorten("disk_short_read", n);
  if (n > 0) std::memcpy(out.data(), inode.current.data() + offset, n);
  if (n > 0 && disk.rng_.chance(disk.options_.read_bit_flip_probability)) {
    // The stored bytes stay as they are: the flip happened on the way (a bus, a cable, DRAM).
    const std::uint64_t bit = disk.rng_.below(n * 8);
    out[bit / 8] ^= std::byte{static_cast<unsigned char>(1u << (bit % 8))};
    ++disk.stats_.bit_flips;
    event("DiskFault")
        .detail("op", "read")
        .detail("path", path)
        .detail("kind", "bit_flip")
        .detail("offset", offset + bit / 8);
  }
  event("DiskRead").detail("path", path).detail("offset", offset).detail("bytes", n);
  return n;
}

Status SimDisk::State::write(Inode& inode, const std::string& path, std::uint64_t offset,
                             std::span<const std::byte> data) {
  pause(disk.options_.write_latency_min, disk.options_.write_latency_max);
  ++disk.stats_.writes;
  if (disk.rng_.chance(disk.options_.write_error_probability)) {
    return fault("write", path, Errc::io_error, fmt::format("write at offset {} failed (EIO)", offset));
  }
  if (data.empty()) return {};
  if (offset > file_offset_max)
    return make_error(Errc::invalid_argument, fmt::format("{}: offset {} too large", path, offset));
  auto room = check_room("write", inode, std::max<std::uint64_t>(inode.current.size(), offset + data.size()), path);
  if (!room) return room;
  const std::string_view bytes(reinterpret_cast<const char*>(data.data()), data.size());
  tree.change_current(inode, [&](std::string& s) { write_into(s, offset, bytes); });
  note_change(inode, Pending{Pending::Kind::write, tree.next_seq(), offset, std::string(bytes), {}});
  disk.stats_.bytes_written += data.size();
  event("DiskWrite").detail("path", path).detail("offset", offset).detail("bytes", data.size());
  return {};
}

Status SimDisk::State::sync(Inode& inode, const std::string& path) {
  // fdatasync promises what was written before it began; writes issued while it runs may or may
  // not make it, and the model takes the less kind answer.
  const std::uint64_t before = tree.peek_seq();
  pause(disk.options_.sync_latency_min, disk.options_.sync_latency_max);
  ++disk.stats_.syncs;
  if (disk.rng_.chance(disk.options_.sync_error_probability)) {
    return fault("sync", path, Errc::io_error, "sync failed (EIO); its writes stay pending");
  }
  std::size_t n = 0;
  for (; n < inode.pending.size() && inode.pending[n].seq < before; ++n) {
    apply_op(inode.durable, inode.pending[n]);
    inode.durable_mtime = inode.pending[n].at;
  }
  inode.pending.erase(inode.pending.begin(), inode.pending.begin() + static_cast<std::ptrdiff_t>(n));
  if (inode.pending.empty()) KEEL_ASSERT_EQ(inode.durable.size(), inode.current.size());
  event("DiskSync").detail("path", path).detail("committed", n).detail("pending", inode.pending.size());
  return {};
}

Status SimDisk::State::truncate(Inode& inode, const std::string& path, std::uint64_t size) {
  pause(disk.options_.write_latency_min, disk.options_.write_latency_max);
  ++disk.stats_.truncates;
  if (disk.rng_.chance(disk.options_.write_error_probability)) {
    return fault("truncate", path, Errc::io_error, fmt::format("truncate to {} failed (EIO)", size));
  }
  auto room = check_room("truncate", inode, size, path);
  if (!room) return room;
  tree.change_current(inode, [&](std::string& s) { s.resize(size, '\0'); });
  note_change(inode, Pending{Pending::Kind::truncate, tree.next_seq(), size, {}, {}});
  event("DiskTruncate").detail("path", path).detail("size", size);
  return {};
}

void SimDisk::State::close(Inode& inode) {
  KEEL_ASSERT(inode.open > 0);
  --inode.open;
  tree.maybe_free(inode.number);  // an unlinked file goes with its last handle
}

// ---------------------------------------------------------------------------------------------
// crash

void SimDisk::State::tear(Inode& inode, const Pending& p) {
  const std::uint64_t sector = disk.options_.sector_bytes;
  const std::uint64_t end = p.offset + p.data.size();
  for (std::uint64_t lo = p.offset; lo < end;) {
    const std::uint64_t hi = std::min(end, (lo / sector + 1) * sector);
    if (disk.rng_.chance(0.5)) {
      write_into(inode.durable, lo, std::string_view(p.data).substr(lo - p.offset, hi - lo));
    }
    lo = hi;
  }
}

void SimDisk::State::crash_file(Inode& inode, CrashCounts& counts) {
  const double keep = disk.options_.crash_keep_probability;
  const double survive = keep + disk.options_.crash_tear_probability;
  for (const Pending& p : inode.pending) {
    const double u = disk.rng_.unit();
    if (u < survive) inode.durable_mtime = p.at;  // a change that reached the platter stamped the inode
    if (p.kind == Pending::Kind::truncate) {
      if (u < survive) apply_op(inode.durable, p);
      ++(u < survive ? counts.truncates_kept : counts.truncates_dropped);
    } else if (u < keep) {
      apply_op(inode.durable, p);
      ++counts.kept;
    } else if (u < survive) {
      tear(inode, p);
      ++counts.torn;
    } else {
      ++counts.dropped;
    }
  }
  inode.pending.clear();
  inode.mtime = inode.durable_mtime;
  tree.change_current(inode, [&](std::string& s) { s = inode.durable; });
}

// Every directory's entries go back to their durable state. Returns how many entries that lost
// (names whose current entry differed from the durable one; names that come back are not counted).
std::uint64_t SimDisk::State::revert_namespace() {
  std::uint64_t lost = 0;
  std::vector<std::uint64_t> dirs;
  for (const auto& [number, inode] : tree.inodes()) {
    if (!inode->is_dir) continue;
    dirs.push_back(number);
    for (const auto& [name, child] : inode->entries) {
      auto it = inode->durable_entries.find(name);
      if (it == inode->durable_entries.end() || it->second != child) ++lost;
    }
  }
  for (std::uint64_t number : dirs) {
    if (!tree.inodes().contains(number)) continue;  // freed along with a parent reverted earlier
    Inode& dir = tree.get(number);
    tree.copy_view(dir.durable_entries, dir.entries);
  }
  return lost;
}

void SimDisk::State::crash() {
  // A task still running could hold an Inode& across its latency and find the file rewritten.
  KEEL_ASSERT_MSG(disk.node_.runtime() == nullptr, "disk crash on node {} while its process is up", disk.node_.id());
  ++disk.stats_.crashes;
  CrashCounts counts;
  for (const auto& [number, inode] : tree.inodes()) {
    if (!inode->is_dir) crash_file(*inode, counts);
  }
  const std::uint64_t freed_before = tree.freed();
  const std::uint64_t lost = revert_namespace();
  disk.stats_.writes_kept += counts.kept;
  disk.stats_.writes_torn += counts.torn;
  disk.stats_.writes_dropped += counts.dropped;
  disk.stats_.truncates_kept += counts.truncates_kept;
  disk.stats_.truncates_dropped += counts.truncates_dropped;
  disk.stats_.entries_lost += lost;
  event("DiskCrash")
      .detail("kept", counts.kept)
      .detail("torn", counts.torn)
      .detail("dropped", counts.dropped)
      .detail("truncates_kept", counts.truncates_kept)
      .detail("truncates_dropped", counts.truncates_dropped)
      .detail("entries_lost", lost)
      .detail("inodes_freed", tree.freed() - freed_before);
}

// ---------------------------------------------------------------------------------------------
// SimDisk

SimDisk::SimDisk(SimNode& node, DiskOptions options, Random rng)
    : node_(node), options_(options), rng_(rng), state_(std::make_unique<State>(*this)) {
  KEEL_ASSERT(options_.sector_bytes > 0);
}

SimDisk::~SimDisk() = default;

Result<File> SimDisk::open(const std::string& path, OpenOptions options) { return state_->open(path, options); }
Status SimDisk::rename(const std::string& from, const std::string& to) { return state_->rename(from, to); }
Status SimDisk::remove(const std::string& path) { return state_->remove(path); }
Status SimDisk::make_dir(const std::string& path) { return state_->make_dir(path); }
Result<std::vector<std::string>> SimDisk::list(const std::string& dir) { return state_->list(dir); }
Status SimDisk::sync_dir(const std::string& dir) { return state_->sync_dir(dir); }
Result<bool> SimDisk::exists(const std::string& path) { return state_->exists(path); }
Result<DiskSpace> SimDisk::space(const std::string& path) { return state_->space(path); }
void SimDisk::crash() { state_->crash(); }

std::optional<std::string> SimDisk::contents(const std::string& path) const {
  auto inode = state_->find_file(path, View::current);
  if (!inode) return std::nullopt;
  return (*inode)->current;
}

std::optional<std::string> SimDisk::durable_contents(const std::string& path) const {
  auto inode = state_->find_file(path, View::durable);
  if (!inode) return std::nullopt;
  return (*inode)->durable;
}

}  // namespace keel::sim
