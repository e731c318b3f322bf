// Retention: whole segments go by time, by size and below the log start, through the .deleted
// rename and the file.delete.delay.ms wait; at least one segment always stays; what a crash
// leaves behind is cleaned up at the next load.
#include "tests/support/storage.h"

using namespace storage_test;

namespace {

// Whether the file exists; `otherwise` when the question itself failed.
bool exists(Runtime& rt, const std::string& file_path, bool otherwise) {
  auto r = rt.disk().exists(file_path);
  return r ? *r : otherwise;
}

LogConfig retention_config() {
  LogConfig c = small_segments(1024);
  c.retention_ms = 60'000;
  c.file_delete_delay_ms = 5'000;
  return c;
}

// `old_batches` stamped an hour ago, then `new_batches` stamped now. Returns the first new offset.
Result<std::int64_t> fill(Runtime& rt, Log& log, int old_batches, int new_batches) {
  const std::int64_t now = to_unix_ms(rt.wall_now());
  std::int64_t first_new = 0;
  for (int b = 0; b < old_batches + new_batches; ++b) {
    const bool old = b < old_batches;
    auto r = log.append(make_batch(b, 2, old ? now - 3'600'000 : now), 0);
    if (!r) return r.error();
    if (b == old_batches) first_new = r->base_offset;
  }
  return first_new;
}

}  // namespace

TEST_CASE("storage retention: segments whose newest record is past retention.ms go through .deleted, then after the delay",
          "[storage]") {
  Rig rig;
  std::string error;
  std::vector<std::int64_t> before, after;
  int deleted = 0, removed_early = -1, removed_late = -1;
  std::int64_t first_new = 0, log_start = 0;
  bool renamed = true, originals_gone = true, deleted_gone = true;
  std::string below_start;
  rig.run([&](Runtime& rt) {
    auto log = Log::open(rt, log_dir, tp(), retention_config(), 0, 0, true);
    if (!log) return void(error = log.error().message);
    auto fn = fill(rt, **log, 30, 10);
    if (!fn) return void(error = fn.error().message);
    first_new = *fn;
    before = (*log)->segment_bases();
    auto n = (*log)->delete_old_segments();
    if (!n) return void(error = n.error().message);
    deleted = *n;
    after = (*log)->segment_bases();
    log_start = (*log)->log_start_offset();
    for (std::size_t i = 0; i < static_cast<std::size_t>(deleted); ++i) {
      for (auto suffix : {log_suffix, index_suffix, time_index_suffix}) {
        renamed = renamed && exists(rt, segment_path(before[i], suffix) + ".deleted", false);
        originals_gone = originals_gone && !exists(rt, segment_path(before[i], suffix), true);
      }
    }
    removed_early = (*log)->delete_expired_files();
    rt.sleep_for(std::chrono::seconds(5));
    removed_late = (*log)->delete_expired_files();
    for (std::size_t i = 0; i < static_cast<std::size_t>(deleted); ++i) {
      deleted_gone = deleted_gone && !exists(rt, segment_path(before[i], log_suffix) + ".deleted", true);
    }
    auto r = (*log)->read(0, 1 << 20, no_limit, true);
    below_start = r ? "ok" : fmt::format("{}", r.error().code);
  });
  REQUIRE(error == "");
  REQUIRE(deleted > 0);
  CHECK(after.size() == before.size() - static_cast<std::size_t>(deleted));
  CHECK(after.front() == before[static_cast<std::size_t>(deleted)]);
  CHECK(log_start == after.front());
  CHECK(log_start <= first_new);  // the segment holding the first new batch stays
  CHECK(log_start > 0);
  CHECK(renamed);
  CHECK(originals_gone);
  CHECK(removed_early == 0);
  CHECK(removed_late == 3 * deleted);
  CHECK(deleted_gone);
  CHECK(below_start == "invalid_argument");
}

TEST_CASE("storage retention: the oldest segments go while the log is larger than retention.bytes", "[storage]") {
  Rig rig;
  std::string error;
  std::int64_t size_before = 0, size_after = 0, first_size = 0;
  int deleted = 0;
  rig.run([&](Runtime& rt) {
    LogConfig c = retention_config();
    c.retention_ms = -1;
    c.retention_bytes = 3000;
    auto log = Log::open(rt, log_dir, tp(), c, 0, 0, true);
    if (!log) return void(error = log.error().message);
    if (auto fn = fill(rt, **log, 0, 60); !fn) return void(error = fn.error().message);
    size_before = (*log)->size_bytes();
    auto n = (*log)->delete_old_segments();
    if (!n) return void(error = n.error().message);
    deleted = *n;
    size_after = (*log)->size_bytes();
    first_size = static_cast<std::int64_t>(rt.disk().open(segment_path((*log)->segment_bases().front(), log_suffix), OpenOptions{})
                                               .value()
                                               .size()
                                               .value());
  });
  REQUIRE(error == "");
  REQUIRE(size_before > 6000);
  CHECK(deleted > 0);
  CHECK(size_after >= 3000);               // never below the limit
  CHECK(size_after - first_size < 3000);   // one more would have been
}

TEST_CASE("storage retention: when every segment has expired the active one is rolled first so one stays",
          "[storage]") {
  Rig rig;
  std::string error;
  std::int64_t leo = 0, log_start = -1;
  std::size_t segments = 0;
  AppendResult next;
  rig.run([&](Runtime& rt) {
    auto log = Log::open(rt, log_dir, tp(), retention_config(), 0, 0, true);
    if (!log) return void(error = log.error().message);
    if (auto fn = fill(rt, **log, 20, 0); !fn) return void(error = fn.error().message);
    leo = (*log)->log_end_offset();
    if (auto n = (*log)->delete_old_segments(); !n) return void(error = n.error().message);
    segments = (*log)->segment_count();
    log_start = (*log)->log_start_offset();
    auto r = (*log)->append(make_batch(99, 1, to_unix_ms(rt.wall_now())), 0);
    if (!r) return void(error = r.error().message);
    next = *r;
  });
  REQUIRE(error == "");
  CHECK(segments == 1);
  CHECK(log_start == leo);
  CHECK(next.base_offset == leo);
}

TEST_CASE("storage retention: nothing at or above the high watermark goes, and DeleteRecords' log start frees segments",
          "[storage]") {
  Rig rig;
  std::string error;
  std::vector<std::int64_t> bases, after_hw, after_start;
  rig.run([&](Runtime& rt) {
    LogConfig c = retention_config();
    c.retention_ms = -1;
    auto log = Log::open(rt, log_dir, tp(), c, 0, 0, true);
    if (!log) return void(error = log.error().message);
    if (auto fn = fill(rt, **log, 0, 60); !fn) return void(error = fn.error().message);
    bases = (*log)->segment_bases();
    (*log)->reset_high_watermark(bases[3]);
    if (auto st = (*log)->advance_log_start_offset(bases[5] + 1); !st) return void(error = st.error().message);
    if (auto n = (*log)->delete_old_segments(); !n) return void(error = n.error().message);
    after_hw = (*log)->segment_bases();
    (*log)->advance_high_watermark((*log)->log_end_offset());
    if (auto n = (*log)->delete_old_segments(); !n) return void(error = n.error().message);
    after_start = (*log)->segment_bases();
  });
  REQUIRE(error == "");
  REQUIRE(bases.size() > 7);
  CHECK(after_hw.front() == bases[3]);     // segments 0..2 end at or below the watermark
  CHECK(after_start.front() == bases[5]);  // segment 5 holds the log start
}

TEST_CASE("storage retention: leftover .deleted files are removed at the next load", "[storage]") {
  Rig rig;
  std::string error;
  int deleted = 0;
  rig.run([&](Runtime& rt) {
    auto log = Log::open(rt, log_dir, tp(), retention_config(), 0, 0, true);
    if (!log) return void(error = log.error().message);
    if (auto fn = fill(rt, **log, 30, 5); !fn) return void(error = fn.error().message);
    auto n = (*log)->delete_old_segments();
    if (!n) return void(error = n.error().message);
    deleted = *n;
    if (auto st = (*log)->flush(); !st) return void(error = st.error().message);
  });
  REQUIRE(error == "");
  REQUIRE(deleted > 0);
  rig.node().kill();  // before the delay: the .deleted files are still there
  LogRecoveryInfo info;
  std::vector<std::string> names;
  rig.run([&](Runtime& rt) {
    auto log = Log::open(rt, log_dir, tp(), retention_config(), 0, 0, false);
    if (!log) return void(error = log.error().message);
    info = (*log)->recovery_info();
    names = rt.disk().list(log_dir).value();
  });
  REQUIRE(error == "");
  CHECK(info.leftover_files_deleted == 3 * deleted);
  for (const auto& name : names) CHECK_FALSE(ends_with(name, ".deleted"));
}

TEST_CASE("storage retention: segments whose rename a power loss undid come back below the log start and go again",
          "[storage]") {
  Rig rig;
  std::string error;
  std::int64_t log_start = 0;
  std::size_t segments_after = 0;
  rig.run([&](Runtime& rt) {
    auto log = Log::open(rt, log_dir, tp(), retention_config(), 0, 0, true);
    if (!log) return void(error = log.error().message);
    if (auto fn = fill(rt, **log, 30, 5); !fn) return void(error = fn.error().message);
    if (auto st = (*log)->flush(); !st) return void(error = st.error().message);
    if (auto n = (*log)->delete_old_segments(); !n) return void(error = n.error().message);
    log_start = (*log)->log_start_offset();
    segments_after = (*log)->segment_count();
  });
  REQUIRE(error == "");
  rig.node().power_off();  // the renames were never synced
  std::int64_t start_at_load = -1;
  std::size_t segments_at_load = 0, segments_final = 0;
  rig.run([&](Runtime& rt) {
    // The log start comes from log-start-offset-checkpoint, as the log manager would pass it.
    auto log = Log::open(rt, log_dir, tp(), retention_config(), 0, log_start, false);
    if (!log) return void(error = log.error().message);
    start_at_load = (*log)->log_start_offset();
    segments_at_load = (*log)->segment_count();
    if (auto n = (*log)->delete_old_segments(); !n) return void(error = n.error().message);
    segments_final = (*log)->segment_count();
  });
  REQUIRE(error == "");
  CHECK(start_at_load == log_start);
  CHECK(segments_at_load > segments_after);
  CHECK(segments_final == segments_after);
}
