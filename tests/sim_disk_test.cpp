// The simulated disk's fault model, one promise per test: what survives a power loss, what a
// kill keeps, how writes tear, when directory entries become durable, and what reads, writes and
// syncs do under injected faults. Disk calls run inside a task of the node's process; checks that
// can fail run outside it (Catch2's REQUIRE throws, and a task must not throw).
#include <bit>
#include <catch2/catch.hpp>
#include <functional>
#include <string>
#include <vector>

#include "sim/disk.h"
#include "sim/node.h"
#include "sim/world.h"
#include "tests/support/bytes.h"
#include "tests/support/sim_world.h"

namespace {

using namespace keel;
using namespace keel::sim;

using keel::test::byte_span;
using keel::test::describe;
using keel::test::quiet_disk;
// One world with one machine (node 0) whose process runs a test body as its main task.
using Rig = keel::test::MachineRig;

// Evaluates first, then checks: a Catch2 assertion must not span a suspension of the task, since
// another task's assertion could run in between.
#define EXPECT_OK(expr)                    \
  do {                                     \
    const auto& keel_result_ = (expr);     \
    CHECK(describe(keel_result_) == "ok"); \
  } while (0)

// ---- helpers for task bodies: they return values and never throw ----

Status write_file(Disk& disk, const std::string& path, const std::string& data, bool sync) {
  auto file = disk.open(path, OpenOptions{.create = true, .truncate = true});
  if (!file) return file.error();
  if (auto st = file->write_at(0, byte_span(data)); !st) return st;
  return sync ? file->sync() : Status{};
}

Status append_file(Disk& disk, const std::string& path, const std::string& data) {
  auto file = disk.open(path, OpenOptions{});
  if (!file) return file.error();
  auto at = file->append(byte_span(data));
  return at ? Status{} : Status(at.error());
}

std::string read_all(File& file) {
  auto size = file.size();
  if (!size) return "<error>";
  std::string out(*size, '\0');
  auto st = file.read_exact_at(0, std::as_writable_bytes(std::span(out.data(), out.size())));
  return st ? out : "<error>";
}

std::string read_file(Disk& disk, const std::string& path) {
  auto file = disk.open(path, OpenOptions{.read_only = true});
  return file ? read_all(*file) : "<none>";
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// power loss and kill

TEST_CASE("sim disk: a power loss before sync loses exactly the unsynced writes", "[sim][disk]") {
  Rig rig(quiet_disk());
  rig.run([](Runtime& rt) {
    EXPECT_OK(write_file(rt.disk(), "f", "durable", true));
    EXPECT_OK(rt.disk().sync_dir(""));
    EXPECT_OK(append_file(rt.disk(), "f", "+pending"));
    EXPECT_OK(append_file(rt.disk(), "f", "+more"));
  });
  CHECK(rig.contents("f") == "durable+pending+more");
  CHECK(rig.durable("f") == "durable");

  rig.node().power_off();
  CHECK(rig.contents("f") == "durable");
  CHECK(rig.disk().stats().crashes == 1);
  CHECK(rig.disk().stats().writes_dropped == 2);
  CHECK(rig.disk().stats().writes_kept == 0);

  std::string seen;
  rig.run([&](Runtime& rt) { seen = read_file(rt.disk(), "f"); });
  CHECK(seen == "durable");
}

TEST_CASE("sim disk: a kill keeps unsynced writes because the page cache survives", "[sim][disk]") {
  Rig rig(quiet_disk());
  rig.run([](Runtime& rt) { EXPECT_OK(write_file(rt.disk(), "f", "never synced", false)); });
  rig.node().kill();
  std::string seen;
  rig.run([&](Runtime& rt) { seen = read_file(rt.disk(), "f"); });
  CHECK(seen == "never synced");
  CHECK(rig.disk().stats().crashes == 0);
}

TEST_CASE("sim disk: with keep probability 1 every pending write survives a power loss", "[sim][disk]") {
  DiskOptions o = quiet_disk();
  o.crash_keep_probability = 1;
  Rig rig(o);
  rig.run([](Runtime& rt) {
    EXPECT_OK(write_file(rt.disk(), "a", "first", false));
    EXPECT_OK(write_file(rt.disk(), "b", "second", false));
    EXPECT_OK(append_file(rt.disk(), "a", "-appended"));
    EXPECT_OK(rt.disk().sync_dir(""));
  });
  rig.node().power_off();
  CHECK(rig.contents("a") == "first-appended");
  CHECK(rig.contents("b") == "second");
  CHECK(rig.disk().stats().writes_kept == 3);
  CHECK(rig.disk().stats().writes_dropped == 0);
}

TEST_CASE("sim disk: with tear probability 1 a multi-sector pending write comes back torn at sector boundaries",
          "[sim][disk]") {
  const std::uint64_t lo = 300, hi = 3300;  // sectors 0..6, partial at both ends
  int mixed = 0, kept_sectors = 0, lost_sectors = 0;
  for (std::uint64_t seed = 1; seed <= 40; ++seed) {
    DiskOptions o = quiet_disk();
    o.crash_tear_probability = 1;
    Rig rig(o, seed);
    rig.run([&](Runtime& rt) {
      EXPECT_OK(write_file(rt.disk(), "f", std::string(4096, 'a'), true));
      EXPECT_OK(rt.disk().sync_dir(""));
      auto f = rt.disk().open("f", OpenOptions{});
      EXPECT_OK(f);
      if (f) EXPECT_OK(f->write_at(lo, byte_span(std::string(hi - lo, 'b'))));
    });
    rig.node().power_off();
    CHECK(rig.disk().stats().writes_torn == 1);
    const std::string after = rig.contents("f");
    REQUIRE(after.size() == 4096);
    CHECK(after.substr(0, lo) == std::string(lo, 'a'));
    CHECK(after.substr(hi) == std::string(4096 - hi, 'a'));
    int kept = 0, lost = 0;
    for (std::uint64_t s = lo / 512; s * 512 < hi; ++s) {
      const std::uint64_t b = std::max(lo, s * 512), e = std::min(hi, s * 512 + 512);
      const std::string part = after.substr(b, e - b);
      const bool all_new = part == std::string(e - b, 'b'), all_old = part == std::string(e - b, 'a');
      CHECK((all_new || all_old));  // a sector is never split
      ++(all_new ? kept : lost);
    }
    mixed += kept > 0 && lost > 0;
    kept_sectors += kept;
    lost_sectors += lost;
  }
  CHECK(mixed > 20);
  CHECK(kept_sectors > 60);
  CHECK(lost_sectors > 60);
}

TEST_CASE("sim disk: a torn write that extended the file leaves zeros in its lost sectors", "[sim][disk]") {
  int zero_gaps = 0;
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    DiskOptions o = quiet_disk();
    o.crash_tear_probability = 1;
    Rig rig(o, seed);
    rig.run([](Runtime& rt) {
      EXPECT_OK(write_file(rt.disk(), "f", "", true));
      EXPECT_OK(rt.disk().sync_dir(""));
      EXPECT_OK(append_file(rt.disk(), "f", std::string(2048, 'x')));
    });
    rig.node().power_off();
    const std::string after = rig.contents("f");
    CHECK(after.size() % 512 == 0);  // ends at the last kept sector
    for (std::size_t s = 0; s * 512 < after.size(); ++s) {
      const std::string part = after.substr(s * 512, 512);
      const bool zeros = part == std::string(512, '\0');
      CHECK((zeros || part == std::string(512, 'x')));
      zero_gaps += zeros;
    }
  }
  CHECK(zero_gaps > 0);
}

TEST_CASE("sim disk: a pending truncate is applied or dropped whole by a power loss", "[sim][disk]") {
  for (const double keep : {0.0, 1.0}) {
    DiskOptions o = quiet_disk();
    o.crash_keep_probability = keep;
    Rig rig(o);
    rig.run([](Runtime& rt) {
      EXPECT_OK(write_file(rt.disk(), "f", "abcdef", true));
      EXPECT_OK(rt.disk().sync_dir(""));
      auto f = rt.disk().open("f", OpenOptions{});
      EXPECT_OK(f);
      if (f) EXPECT_OK(f->truncate(2));
    });
    CHECK(rig.contents("f") == "ab");
    rig.node().power_off();
    CHECK(rig.contents("f") == (keep == 1.0 ? "ab" : "abcdef"));
    CHECK(rig.disk().stats().truncates_kept == (keep == 1.0 ? 1u : 0u));
  }
}

TEST_CASE("sim disk: a sync makes durable only the writes issued before it began", "[sim][disk]") {
  DiskOptions o = quiet_disk();
  o.sync_latency_min = o.sync_latency_max = 1ms;
  o.write_latency_min = o.write_latency_max = 1us;
  Rig rig(o);
  std::string durable_after_sync;
  rig.run([&](Runtime& rt) {
    EXPECT_OK(write_file(rt.disk(), "f", "early", false));
    EXPECT_OK(rt.disk().sync_dir(""));
    WaitGroup late_written;
    late_written.add();
    rt.spawn("late writer", [&] {
      rt.sleep_for(100us);  // lands while the sync below is in flight
      EXPECT_OK(append_file(rt.disk(), "f", "+late"));
      late_written.done();
    });
    auto f = rt.disk().open("f", OpenOptions{});
    EXPECT_OK(f);
    if (f) EXPECT_OK(f->sync());
    late_written.wait();
    durable_after_sync = rig.durable("f");
  });
  CHECK(durable_after_sync == "early");
  CHECK(rig.contents("f") == "early+late");
}

// ---------------------------------------------------------------------------------------------
// directory entries

TEST_CASE("sim disk: a created file vanishes in a power loss without a directory sync, even when synced",
          "[sim][disk]") {
  Rig rig(quiet_disk());
  rig.run([](Runtime& rt) {
    EXPECT_OK(write_file(rt.disk(), "unlisted", "data", true));
    EXPECT_OK(write_file(rt.disk(), "listed", "data", true));
    EXPECT_OK(rt.disk().sync_dir(""));
    EXPECT_OK(write_file(rt.disk(), "late", "data", true));  // after the directory sync
  });
  rig.node().power_off();
  CHECK(rig.contents("listed") == "data");
  CHECK(rig.contents("late") == "<none>");
  CHECK(rig.disk().stats().entries_lost == 1);
  bool late_exists = true;
  rig.run([&](Runtime& rt) { late_exists = *rt.disk().exists("late"); });
  CHECK_FALSE(late_exists);
}

TEST_CASE("sim disk: a rename is undone by a power loss unless its directory was synced", "[sim][disk]") {
  for (const bool sync_dir : {false, true}) {
    Rig rig(quiet_disk());
    rig.run([&](Runtime& rt) {
      EXPECT_OK(write_file(rt.disk(), "x", "old", true));
      EXPECT_OK(write_file(rt.disk(), "x.tmp", "new", true));
      EXPECT_OK(rt.disk().sync_dir(""));
      EXPECT_OK(rt.disk().rename("x.tmp", "x"));
      if (sync_dir) EXPECT_OK(rt.disk().sync_dir(""));
    });
    CHECK(rig.contents("x") == "new");
    CHECK(rig.contents("x.tmp") == "<none>");
    rig.node().power_off();
    CHECK(rig.contents("x") == (sync_dir ? "new" : "old"));
    CHECK(rig.contents("x.tmp") == (sync_dir ? "<none>" : "new"));
  }
}

TEST_CASE("sim disk: a remove is undone by a power loss unless its directory was synced", "[sim][disk]") {
  for (const bool sync_dir : {false, true}) {
    Rig rig(quiet_disk());
    rig.run([&](Runtime& rt) {
      EXPECT_OK(write_file(rt.disk(), "f", "data", true));
      EXPECT_OK(rt.disk().sync_dir(""));
      EXPECT_OK(rt.disk().remove("f"));
      if (sync_dir) EXPECT_OK(rt.disk().sync_dir(""));
    });
    CHECK(rig.contents("f") == "<none>");
    rig.node().power_off();
    CHECK(rig.contents("f") == (sync_dir ? "<none>" : "data"));
  }
}

TEST_CASE("sim disk: make_dir creates parents, each entry durable only once its parent is synced", "[sim][disk]") {
  for (const bool sync_root : {false, true}) {
    Rig rig(quiet_disk());
    std::vector<std::string> in_a;
    rig.run([&](Runtime& rt) {
      Disk& d = rt.disk();
      EXPECT_OK(d.make_dir("a/b/c"));
      EXPECT_OK(d.make_dir("a/b"));  // present already: fine
      in_a = *d.list("a");
      EXPECT_OK(write_file(d, "a/b/c/f", "deep", true));
      EXPECT_OK(d.sync_dir("a/b/c"));
      EXPECT_OK(d.sync_dir("a/b"));
      EXPECT_OK(d.sync_dir("a"));
      if (sync_root) EXPECT_OK(d.sync_dir(""));
    });
    CHECK(in_a == std::vector<std::string>{"b"});
    rig.node().power_off();
    CHECK(rig.contents("a/b/c/f") == (sync_root ? "deep" : "<none>"));
  }
}

TEST_CASE("sim disk: make_dir through a file and remove of a non-empty directory fail", "[sim][disk]") {
  Rig rig(quiet_disk());
  Errc through_file{}, non_empty{}, remove_missing{};
  bool still_there = false;
  rig.run([&](Runtime& rt) {
    Disk& d = rt.disk();
    EXPECT_OK(write_file(d, "file", "x", false));
    through_file = d.make_dir("file/sub").code();
    EXPECT_OK(d.make_dir("dir"));
    EXPECT_OK(write_file(d, "dir/f", "x", false));
    non_empty = d.remove("dir").code();
    still_there = *d.exists("dir/f");
    remove_missing = d.remove("nope").code();
    EXPECT_OK(d.remove("dir/f"));
    EXPECT_OK(d.remove("dir"));
  });
  CHECK(through_file == Errc::invalid_argument);
  CHECK(non_empty == Errc::invalid_argument);
  CHECK(still_there);
  CHECK(remove_missing == Errc::not_found);
}

TEST_CASE("sim disk: list returns the names sorted, and fails on a missing directory or a file", "[sim][disk]") {
  Rig rig(quiet_disk());
  std::vector<std::string> names;
  Errc missing{}, on_file{};
  rig.run([&](Runtime& rt) {
    Disk& d = rt.disk();
    for (const char* name : {"b", "c2", "a", "c10"}) EXPECT_OK(write_file(d, name, "", false));
    EXPECT_OK(d.make_dir("d"));
    EXPECT_OK(write_file(d, "d/inner", "", false));
    names = *d.list("");
    missing = d.list("nope").code();
    on_file = d.list("a").code();
  });
  CHECK(names == std::vector<std::string>{"a", "b", "c10", "c2", "d"});
  CHECK(missing == Errc::not_found);
  CHECK(on_file == Errc::invalid_argument);
}

TEST_CASE("sim disk: absolute paths, empty components and '..' are invalid; a missing directory is not_found",
          "[sim][disk]") {
  Rig rig(quiet_disk());
  std::vector<Errc> bad;
  Errc missing_dir{}, missing_file{}, root{};
  rig.run([&](Runtime& rt) {
    for (const char* path : {"/abs", "a//b", "a/", "../x", "a/../b", "."}) {
      bad.push_back(rt.disk().open(path, OpenOptions{.create = true}).code());
    }
    missing_dir = rt.disk().open("nodir/f", OpenOptions{.create = true}).code();
    missing_file = rt.disk().open("f", OpenOptions{}).code();
    root = rt.disk().remove("").code();
  });
  for (Errc e : bad) CHECK(e == Errc::invalid_argument);
  CHECK(missing_dir == Errc::not_found);
  CHECK(missing_file == Errc::not_found);
  CHECK(root == Errc::invalid_argument);
}

TEST_CASE("sim disk: open honours exclusive create and read-only handles refuse writes", "[sim][disk]") {
  Rig rig(quiet_disk());
  Errc exclusive{}, read_only_write{};
  std::string truncated;
  rig.run([&](Runtime& rt) {
    Disk& d = rt.disk();
    EXPECT_OK(write_file(d, "f", "content", false));
    exclusive = d.open("f", OpenOptions{.create = true, .exclusive = true}).code();
    auto ro = d.open("f", OpenOptions{.read_only = true});
    EXPECT_OK(ro);
    if (ro) read_only_write = ro->write_at(0, byte_span("x")).code();
    auto t = d.open("f", OpenOptions{.truncate = true});
    EXPECT_OK(t);
    truncated = read_file(d, "f");
  });
  CHECK(exclusive == Errc::already_exists);
  CHECK(read_only_write == Errc::invalid_argument);
  CHECK(truncated.empty());
}

TEST_CASE("sim disk: an open handle keeps reading and writing a file renamed or removed under it", "[sim][disk]") {
  Rig rig(quiet_disk());
  std::string after_rename, after_remove;
  rig.run([&](Runtime& rt) {
    Disk& d = rt.disk();
    EXPECT_OK(write_file(d, "f", "payload", false));
    auto file = d.open("f", OpenOptions{});
    EXPECT_OK(file);
    if (!file) return;
    EXPECT_OK(d.rename("f", "g"));
    after_rename = read_all(*file);
    EXPECT_OK(file->append(byte_span("+more")));
    EXPECT_OK(d.remove("g"));
    after_remove = read_all(*file);
  });
  CHECK(after_rename == "payload");
  CHECK(after_remove == "payload+more");
  CHECK(rig.contents("g") == "<none>");
}

TEST_CASE("sim disk: a rename replaces its target, and a directory cannot leave its parent", "[sim][disk]") {
  Rig rig(quiet_disk());
  Errc dir_move{}, file_over_dir{};
  rig.run([&](Runtime& rt) {
    Disk& d = rt.disk();
    EXPECT_OK(write_file(d, "a", "A", false));
    EXPECT_OK(write_file(d, "b", "B", false));
    EXPECT_OK(d.rename("a", "b"));
    EXPECT_OK(d.make_dir("x/y"));
    EXPECT_OK(d.make_dir("z"));
    dir_move = d.rename("x/y", "z/y").code();
    file_over_dir = d.rename("b", "z").code();
    EXPECT_OK(d.rename("x", "w"));  // a directory renamed within its parent is fine
  });
  CHECK(rig.contents("b") == "A");
  CHECK(rig.contents("a") == "<none>");
  CHECK(dir_move == Errc::invalid_argument);
  CHECK(file_over_dir == Errc::invalid_argument);
}

// ---------------------------------------------------------------------------------------------
// injected faults

TEST_CASE("sim disk: with bit flip probability 1 a read differs in exactly one bit and the data stays intact",
          "[sim][disk]") {
  Rig rig(quiet_disk());
  std::string written(1000, '\0');
  for (std::size_t i = 0; i < written.size(); ++i) written[i] = static_cast<char>(i * 7 + 3);
  rig.run([&](Runtime& rt) { EXPECT_OK(write_file(rt.disk(), "f", written, true)); });

  DiskOptions flips = quiet_disk();
  flips.read_bit_flip_probability = 1;
  rig.disk().set_options(flips);
  std::vector<std::string> reads;
  rig.run([&](Runtime& rt) {
    for (int i = 0; i < 5; ++i) reads.push_back(read_file(rt.disk(), "f"));
  });
  for (const std::string& r : reads) {
    REQUIRE(r.size() == written.size());
    int bits = 0;
    for (std::size_t i = 0; i < r.size(); ++i) bits += std::popcount(static_cast<unsigned char>(r[i] ^ written[i]));
    CHECK(bits == 1);
  }
  CHECK(rig.contents("f") == written);
  CHECK(rig.disk().stats().bit_flips == 5);
}

TEST_CASE("sim disk: with error probability 1 reads, writes and syncs fail with EIO", "[sim][disk]") {
  Rig rig(quiet_disk());
  rig.run([](Runtime& rt) {
    EXPECT_OK(write_file(rt.disk(), "f", "stored", true));
    EXPECT_OK(rt.disk().sync_dir(""));
  });
  Errc read{}, write{}, sync{};

  DiskOptions o = quiet_disk();
  o.read_error_probability = 1;
  rig.disk().set_options(o);
  rig.run([&](Runtime& rt) {
    std::string buf(6, '\0');
    auto f = rt.disk().open("f", OpenOptions{});
    if (f) read = f->read_at(0, std::as_writable_bytes(std::span(buf.data(), buf.size()))).code();
  });

  o = quiet_disk();
  o.write_error_probability = 1;
  rig.disk().set_options(o);
  rig.run([&](Runtime& rt) {
    auto f = rt.disk().open("f", OpenOptions{});
    if (f) write = f->write_at(0, byte_span("XXXXXXXX")).code();
  });
  CHECK(rig.contents("f") == "stored");  // a failed write changes nothing

  o = quiet_disk();
  o.sync_error_probability = 1;
  rig.disk().set_options(o);
  rig.run([&](Runtime& rt) {
    auto f = rt.disk().open("f", OpenOptions{});
    if (f && f->write_at(0, byte_span("STORED")).ok()) sync = f->sync().code();
  });
  CHECK(rig.durable("f") == "stored");  // the write stays pending after the failed sync
  CHECK(read == Errc::io_error);
  CHECK(write == Errc::io_error);
  CHECK(sync == Errc::io_error);
  CHECK(rig.disk().stats().io_errors == 3);
  rig.node().power_off();
  CHECK(rig.contents("f") == "stored");
}

TEST_CASE("sim disk: a write past capacity fails with ENOSPC and removing files frees space", "[sim][disk]") {
  DiskOptions o = quiet_disk();
  o.capacity_bytes = 1000;
  Rig rig(o);
  Errc full{}, grow{};
  bool after_remove = false;
  rig.run([&](Runtime& rt) {
    Disk& d = rt.disk();
    EXPECT_OK(write_file(d, "f", std::string(600, 'f'), false));
    full = write_file(d, "g", std::string(600, 'g'), false).code();
    auto f = d.open("f", OpenOptions{});
    EXPECT_OK(f);
    if (!f) return;
    EXPECT_OK(f->write_at(0, byte_span(std::string(600, 'F'))));  // overwriting takes no room
    grow = f->truncate(2000).code();
    f->close();
    EXPECT_OK(d.remove("f"));
    after_remove = write_file(d, "g", std::string(600, 'g'), false).ok();
  });
  CHECK(full == Errc::no_space);
  CHECK(grow == Errc::no_space);
  CHECK(after_remove);
  CHECK(rig.disk().stats().no_space_errors == 2);
}

TEST_CASE("sim disk: space answers the capacity and what the files leave of it", "[sim][disk]") {
  DiskOptions o = quiet_disk();
  o.capacity_bytes = 1000;
  Rig rig(o);
  std::vector<DiskSpace> seen;
  Errc missing{};
  rig.run([&](Runtime& rt) {
    Disk& d = rt.disk();
    EXPECT_OK(d.make_dir("logs"));
    const auto look = [&] {
      auto s = d.space("logs");
      EXPECT_OK(s);
      if (s) seen.push_back(*s);
    };
    look();
    EXPECT_OK(write_file(d, "logs/f", std::string(600, 'f'), false));
    look();
    EXPECT_OK(d.remove("logs/f"));
    look();
    missing = d.space("nope").code();
  });
  REQUIRE(seen.size() == 3);
  CHECK(seen[0].total_bytes == 1000);
  CHECK(seen[0].usable_bytes == 1000);
  CHECK(seen[1].total_bytes == 1000);
  CHECK(seen[1].usable_bytes == 400);
  CHECK(seen[2].usable_bytes == 1000);
  CHECK(missing == Errc::not_found);
}

TEST_CASE("sim disk: a power loss frees the space of files whose entries were never durable", "[sim][disk]") {
  DiskOptions o = quiet_disk();
  o.capacity_bytes = 1000;
  Rig rig(o);
  rig.run([](Runtime& rt) { EXPECT_OK(write_file(rt.disk(), "f", std::string(800, 'f'), true)); });
  rig.node().power_off();
  bool fits = false;
  rig.run([&](Runtime& rt) { fits = write_file(rt.disk(), "g", std::string(800, 'g'), true).ok(); });
  CHECK(fits);
  CHECK(rig.contents("f") == "<none>");
}

// ---------------------------------------------------------------------------------------------
// time and determinism

TEST_CASE("sim disk: every operation advances the node's clock by at least its minimum latency", "[sim][disk]") {
  DiskOptions o = quiet_disk();
  o.metadata_latency_min = 1ms, o.metadata_latency_max = 2ms;
  o.write_latency_min = 3ms, o.write_latency_max = 4ms;
  o.read_latency_min = 5ms, o.read_latency_max = 6ms;
  o.sync_latency_min = 7ms, o.sync_latency_max = 8ms;
  o.sync_dir_latency_min = 9ms, o.sync_dir_latency_max = 10ms;
  Rig rig(o);
  std::vector<Duration> took;
  rig.run([&](Runtime& rt) {
    auto time = [&](auto&& op) {
      const Instant t0 = rt.now();
      op();
      took.push_back(rt.now() - t0);
    };
    std::optional<File> f;
    std::string buf(3, '\0');
    time([&] { f = rt.disk().open("f", OpenOptions{.create = true}).value(); });
    time([&] { (void)f->write_at(0, byte_span("abc")); });
    time([&] { (void)f->read_at(0, std::as_writable_bytes(std::span(buf.data(), buf.size()))); });
    time([&] { (void)f->sync(); });
    time([&] { (void)rt.disk().sync_dir(""); });
  });
  REQUIRE(took.size() == 5);
  const Duration mins[] = {1ms, 3ms, 5ms, 7ms, 9ms};
  for (std::size_t i = 0; i < took.size(); ++i) {
    CHECK(took[i] >= mins[i]);
    CHECK(took[i] <= mins[i] + 1ms + 1us);
  }
}

namespace {

struct RunOutcome {
  DiskStats stats;
  std::vector<std::string> files;
  std::uint64_t trace_hash = 0;
};

// A small workload under every fault at once, then a power loss.
RunOutcome faulty_run(std::uint64_t seed) {
  DiskOptions o;
  o.read_bit_flip_probability = 0.2;
  o.read_error_probability = 0.1;
  o.write_error_probability = 0.1;
  o.sync_error_probability = 0.1;
  o.crash_keep_probability = 0.3;
  o.crash_tear_probability = 0.3;
  Rig rig(o, seed);
  rig.run([](Runtime& rt) {
    Disk& d = rt.disk();
    (void)d.make_dir("log");
    for (int i = 0; i < 6; ++i) {
      const std::string path = "log/seg" + std::to_string(i % 3);
      (void)append_file(d, path, std::string(700 + 100 * i, static_cast<char>('a' + i)));
      (void)write_file(d, path + ".idx", std::to_string(i), i % 2 == 0);
      (void)read_file(d, path);
      if (i % 2 == 1) (void)d.sync_dir("log");
    }
    (void)d.sync_dir("");
  });
  rig.node().power_off();
  RunOutcome out{rig.disk().stats(), {}, rig.world().trace().hash()};
  for (const char* name : {"seg0", "seg1", "seg2", "seg0.idx", "seg1.idx", "seg2.idx"}) {
    out.files.push_back(rig.contents(std::string("log/") + name));
  }
  return out;
}

bool same_stats(const DiskStats& a, const DiskStats& b) {
  return a.reads == b.reads && a.writes == b.writes && a.syncs == b.syncs && a.dir_syncs == b.dir_syncs &&
         a.bytes_written == b.bytes_written && a.crashes == b.crashes && a.writes_dropped == b.writes_dropped &&
         a.writes_torn == b.writes_torn && a.writes_kept == b.writes_kept && a.entries_lost == b.entries_lost &&
         a.bit_flips == b.bit_flips && a.io_errors == b.io_errors && a.no_space_errors == b.no_space_errors &&
         a.truncates == b.truncates && a.truncates_kept == b.truncates_kept &&
         a.truncates_dropped == b.truncates_dropped;
}

}  // namespace

TEST_CASE("sim disk: the same seed gives the same stats, contents and trace twice; another seed differs",
          "[sim][disk]") {
  const RunOutcome a = faulty_run(7), b = faulty_run(7), c = faulty_run(8);
  CHECK(same_stats(a.stats, b.stats));
  CHECK(a.files == b.files);
  CHECK(a.trace_hash == b.trace_hash);
  CHECK(a.stats.crashes == 1);
  CHECK(a.trace_hash != c.trace_hash);
}

// ---------------------------------------------------------------------------------------------
// modification time

namespace {

// The file's mtime in unix ms, or -1 when it cannot be read.
std::int64_t mtime_ms(Disk& disk, const std::string& path) {
  auto file = disk.open(path, OpenOptions{.read_only = true});
  if (!file) return -1;
  auto t = file->modified_time();
  return t ? to_unix_ms(*t) : -1;
}

}  // namespace

TEST_CASE("sim disk: a file's mtime is the node's wall clock at its last write or truncate, jumps included",
          "[sim][disk]") {
  Rig rig(quiet_disk());
  std::int64_t created = 0, at_create = 0, written = 0, at_write = 0, after_read = 0, jumped = 0, at_jump = 0;
  rig.run([&](Runtime& rt) {
    at_create = to_unix_ms(rt.wall_now());
    EXPECT_OK(write_file(rt.disk(), "f", "", false));
    created = mtime_ms(rt.disk(), "f");
    rt.sleep_for(std::chrono::seconds(10));
    at_write = to_unix_ms(rt.wall_now());
    EXPECT_OK(append_file(rt.disk(), "f", "data"));
    written = mtime_ms(rt.disk(), "f");
    rt.sleep_for(std::chrono::seconds(10));
    (void)read_file(rt.disk(), "f");  // reads do not change it
    after_read = mtime_ms(rt.disk(), "f");
  });
  rig.node().clock().jump_wall(-std::chrono::hours(1));
  rig.run([&](Runtime& rt) {
    at_jump = to_unix_ms(rt.wall_now());
    auto file = rt.disk().open("f", OpenOptions{});
    if (file) EXPECT_OK(file->truncate(2));
    jumped = mtime_ms(rt.disk(), "f");
  });
  // The write lands after its latency (microseconds): the mtime is within a millisecond of the call.
  CHECK(created - at_create <= 1);
  CHECK(created >= at_create);
  CHECK(written - at_write <= 1);
  CHECK(written >= at_write + 0);
  CHECK(written - created >= 10'000);
  CHECK(after_read == written);
  CHECK(jumped >= at_jump);
  CHECK(jumped < written);  // the clock went back an hour: so does the mtime, as on a real machine
}

TEST_CASE("sim disk: after a power loss the mtime is that of the last change that reached the platter",
          "[sim][disk]") {
  Rig rig(quiet_disk());
  std::int64_t synced = 0, pending = 0, after = 0;
  rig.run([&](Runtime& rt) {
    EXPECT_OK(write_file(rt.disk(), "f", "durable", true));
    EXPECT_OK(rt.disk().sync_dir(""));
    synced = mtime_ms(rt.disk(), "f");
    rt.sleep_for(std::chrono::seconds(5));
    EXPECT_OK(append_file(rt.disk(), "f", "+lost"));
    pending = mtime_ms(rt.disk(), "f");
  });
  rig.node().power_off();
  rig.run([&](Runtime& rt) { after = mtime_ms(rt.disk(), "f"); });
  CHECK(pending - synced >= 5'000);
  CHECK(rig.contents("f") == "durable");
  CHECK(after == synced);  // the dropped write took its mtime with it
}
