// The log manager on the production runtime: real files under a temporary directory, real
// fdatasync. A clean shutdown and reopen, then a torn tail written behind the log's back and cut by
// recovery at the next start.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <sys/statvfs.h>

#include "broker/platform/posix/runtime.h"
#include "broker/storage/log_manager.h"
#include "tests/support/storage.h"
#include "tests/support/temp_dir.h"

using namespace storage_test;

namespace {

constexpr Duration posix_test_limit = std::chrono::seconds(20);

using keel::test::TempDir;

// Runs `body` in a task of a fresh posix runtime over `root` until it returns.
void run_posix(const std::string& root, const std::function<void(Runtime&)>& body) {
  posix::PosixRuntime::Options o;
  o.node_id = NodeId{1};
  o.seed = 1;
  o.log_level = Severity::error;
  o.data_root = root;
  posix::PosixRuntime rt(o);
  bool done = false;
  rt.spawn("test", [&] {
    body(rt);
    done = true;
  });
  rt.run_until_idle(posix_test_limit);
  REQUIRE(done);
}

LogManager::Options posix_options() {
  LogManager::Options o;
  o.log_dirs = {"logs"};
  o.defaults = small_segments(2000);
  o.defaults.flush_interval_messages = 1;
  return o;
}

}  // namespace

TEST_CASE("storage posix: logs on real files reopen after a clean shutdown and recover a torn tail", "[storage]") {
  TempDir dir("keel-storage-test");
  std::string error;
  Expected expected;
  run_posix(dir.path(), [&](Runtime& rt) {
    auto m = LogManager::open(rt, posix_options());
    if (!m) return void(error = m.error().message);
    auto log = (*m)->create(tp("events", 0), posix_options().defaults);
    if (!log) return void(error = log.error().message);
    for (int b = 0; b < 50; ++b) {
      if (auto r = (*log)->append(make_batch(b, 2, 1000 + b), 0); !r) return void(error = r.error().message);
      expected.add_batch(b, 2);
    }
    if (auto st = (*m)->shutdown(); !st) error = st.error().message;
  });
  REQUIRE(error == "");
  const std::string partition = dir.path() + "/logs/events-0";
  CHECK(std::filesystem::exists(dir.path() + "/logs/.kafka_cleanshutdown"));
  CHECK(std::filesystem::exists(partition + "/" + segment_file_name(0, index_suffix)));

  LogManager::RecoveryReport report;
  std::size_t records = 0;
  std::vector<std::int64_t> bases;
  run_posix(dir.path(), [&](Runtime& rt) {
    auto m = LogManager::open(rt, posix_options());
    if (!m) return void(error = m.error().message);
    report = (*m)->recovery_report();
    Log* log = (*m)->get(tp("events", 0));
    if (log == nullptr) return void(error = "events-0 not loaded");
    auto all = read_all(*log);
    if (!all) return void(error = all.error().message);
    records = all->size();
    if (auto diff = check_prefix(*all, expected); !diff.empty()) error = diff;
    bases = log->segment_bases();
    // No shutdown: the next start is unclean.
  });
  REQUIRE(error == "");
  CHECK(report.clean_dirs.size() == 1);
  CHECK(records == 100);
  REQUIRE(bases.size() > 2);

  // Half a batch at the end of the last segment, as a crash in the middle of a write leaves it.
  const Bytes half = make_batch(999, 3, 0);
  {
    std::ofstream out(partition + "/" + segment_file_name(bases.back(), log_suffix), std::ios::binary | std::ios::app);
    out.write(reinterpret_cast<const char*>(half.data()), static_cast<std::streamsize>(half.size() / 2));
  }
  std::int64_t leo = 0;
  run_posix(dir.path(), [&](Runtime& rt) {
    auto m = LogManager::open(rt, posix_options());
    if (!m) return void(error = m.error().message);
    report = (*m)->recovery_report();
    leo = (*m)->get(tp("events", 0))->log_end_offset();
    if (auto st = (*m)->shutdown(); !st) error = st.error().message;
  });
  REQUIRE(error == "");
  CHECK(report.unclean_dirs.size() == 1);
  CHECK(report.bytes_truncated == static_cast<std::int64_t>(half.size() / 2));
  CHECK(leo == 100);
}

TEST_CASE("posix disk: space answers the file system's size and usable bytes, as statvfs(2) counts them", "[storage]") {
  TempDir dir("keel-space");
  std::filesystem::create_directories(dir.path() + "/logs");
  Result<DiskSpace> space = make_error(Errc::cancelled, "not run");
  Result<DiskSpace> missing = make_error(Errc::cancelled, "not run");
  run_posix(dir.path(), [&](Runtime& rt) {
    space = rt.disk().space("logs");
    missing = rt.disk().space("no-such-dir");
  });
  struct statvfs st {};
  REQUIRE(::statvfs(dir.path().c_str(), &st) == 0);
  INFO((space ? std::string() : space.error().message));
  REQUIRE(space);
  CHECK(space->total_bytes == static_cast<std::uint64_t>(st.f_blocks) * st.f_frsize);
  CHECK(space->total_bytes > 0);
  CHECK(space->usable_bytes <= space->total_bytes);
  // Usable bytes move as other processes write: within 64 MiB of what statvfs said just after.
  const auto usable_now = static_cast<std::uint64_t>(st.f_bavail) * st.f_frsize;
  CHECK(std::max(space->usable_bytes, usable_now) - std::min(space->usable_bytes, usable_now) < (64ull << 20));
  REQUIRE_FALSE(missing);
  CHECK(missing.error().code == Errc::not_found);
  CHECK_THAT(missing.error().message, Catch::Contains("no-such-dir"));
}
