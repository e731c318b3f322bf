// Recovery of a partition log after crashes on the simulated disk: torn tails, crashes at every
// moment of an append-and-roll workload, crashes during recovery itself, bit flips in the middle
// of the log, bad index files, and the flush policy's promise.
#include "tests/support/storage.h"

using namespace storage_test;

namespace {

// What a writing process got to before the power went.
struct Progress {
  Expected expected;           // everything appended (acknowledged or not yet)
  std::int64_t acked_records = 0;   // offsets below this were acknowledged by append()
  std::int64_t recovery_point = 0;  // the log's recovery point last seen
  std::string error;
};

// Appends `batches` batches of 1..4 records (values sized so a few fit a segment), noting progress.
void append_workload(Runtime& rt, const LogConfig& config, int batches, Progress& p) {
  auto log = Log::open(rt, log_dir, tp(), config, 0, 0, true);
  if (!log) return void(p.error = log.error().message);
  for (int b = 0; b < batches; ++b) {
    const int n = 1 + b % 4;
    p.expected.add_batch(b, n, 40);
    auto r = (*log)->append(make_batch(b, n, 1000 + b, 40), 1);
    if (!r) return void(p.error = r.error().message);
    p.acked_records = r->last_offset + 1;
    p.recovery_point = (*log)->recovery_point();
  }
}

struct Recovered {
  std::int64_t log_end_offset = -1;
  std::vector<ReadRecord> records;
  LogRecoveryInfo info;
  std::size_t segments = 0;
  std::string error;
};

Recovered recover(Rig& rig, const LogConfig& config, std::int64_t recovery_point = 0) {
  Recovered out;
  rig.run([&](Runtime& rt) {
    auto log = Log::open(rt, log_dir, tp(), config, recovery_point, 0, false);
    if (!log) return void(out.error = log.error().message);
    out.log_end_offset = (*log)->log_end_offset();
    out.info = (*log)->recovery_info();
    out.segments = (*log)->segment_count();
    auto all = read_all(**log);
    if (!all) return void(out.error = all.error().message);
    out.records = std::move(*all);
  });
  return out;
}

LogConfig workload_config() {
  LogConfig c = small_segments(1500);
  c.index_interval_bytes = 256;
  return c;
}

}  // namespace

TEST_CASE("storage recovery: after a power loss the synced prefix survives and a torn tail is cut", "[storage]") {
  int seeds_that_cut = 0;
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    INFO("seed " << seed);
    Rig rig(tearing_disk(), seed);
    Progress p;
    std::int64_t synced = 0;
    rig.run([&](Runtime& rt) {
      auto log = Log::open(rt, log_dir, tp(), workload_config(), 0, 0, true);
      if (!log) return void(p.error = log.error().message);
      for (int b = 0; b < 60; ++b) {
        if (b == 30) {
          if (auto st = (*log)->flush(); !st) return void(p.error = st.error().message);
          synced = (*log)->log_end_offset();
        }
        const int n = 1 + b % 4;
        p.expected.add_batch(b, n, 40);
        if (auto r = (*log)->append(make_batch(b, n, 1000 + b, 40), 1); !r) return void(p.error = r.error().message);
      }
    });
    REQUIRE(p.error == "");
    rig.node().power_off();
    const Recovered r = recover(rig, workload_config(), synced);
    REQUIRE(r.error == "");
    CHECK(r.log_end_offset >= synced);
    CHECK(r.records.size() == static_cast<std::size_t>(r.log_end_offset));
    CHECK(check_prefix(r.records, p.expected) == "");
    CHECK(r.info.segments_recovered >= 1);
    if (r.info.bytes_truncated > 0) ++seeds_that_cut;
  }
  CHECK(seeds_that_cut > 0);  // the tearing disk did leave torn tails to cut
}

TEST_CASE("storage recovery: with flush_interval_messages=1 every acknowledged append survives a power loss at any moment",
          "[storage]") {
  LogConfig c = workload_config();
  c.flush_interval_messages = 1;
  for (std::uint64_t crash_at = 20; crash_at <= 3000; crash_at += 61) {
    INFO("crash after " << crash_at << " events");
    Rig rig(tearing_disk(), crash_at);
    Progress p;
    rig.start([&](Runtime& rt) { append_workload(rt, c, 200, p); });
    rig.steps(crash_at);
    REQUIRE(p.error == "");
    rig.node().power_off();
    const Recovered r = recover(rig, c);
    REQUIRE(r.error == "");
    CHECK(r.log_end_offset >= p.acked_records);
    CHECK(check_prefix(r.records, p.expected) == "");
  }
}

TEST_CASE("storage recovery: with the default flush policy a power loss loses at most what was above the recovery point",
          "[storage]") {
  const LogConfig c = workload_config();  // no fsync per append: only rolls flush
  int lost_some = 0;
  for (std::uint64_t crash_at = 50; crash_at <= 3000; crash_at += 97) {
    INFO("crash after " << crash_at << " events");
    Rig rig(tearing_disk(), crash_at);
    Progress p;
    rig.start([&](Runtime& rt) { append_workload(rt, c, 200, p); });
    rig.steps(crash_at);
    REQUIRE(p.error == "");
    rig.node().power_off();
    const Recovered r = recover(rig, c, p.recovery_point);
    REQUIRE(r.error == "");
    CHECK(r.log_end_offset >= p.recovery_point);
    CHECK(check_prefix(r.records, p.expected) == "");
    if (r.log_end_offset < p.acked_records) ++lost_some;
  }
  CHECK(lost_some > 0);  // acknowledged but unsynced data can go: that is the trade-off
}

TEST_CASE("storage recovery: a crash in the middle of a roll recovers to a prefix with the rolled data intact",
          "[storage]") {
  const LogConfig c = workload_config();
  for (std::uint64_t extra = 0; extra < 24; ++extra) {
    INFO("crash " << extra << " events after the second segment's file appeared");
    Rig rig(tearing_disk(), 100 + extra);
    Progress p;
    rig.start([&](Runtime& rt) { append_workload(rt, c, 200, p); });
    std::string second;
    rig.step_until([&] {
      for (std::int64_t base = 1; base < 60 && second.empty(); ++base) {
        if (rig.exists(log_dir + "/" + segment_file_name(base, log_suffix))) second = segment_file_name(base, "");
      }
      return !second.empty();
    });
    REQUIRE_FALSE(second.empty());
    rig.steps(extra);
    const std::int64_t synced = p.recovery_point;
    rig.node().power_off();
    const Recovered r = recover(rig, c);
    REQUIRE(r.error == "");
    CHECK(r.log_end_offset >= synced);
    CHECK(check_prefix(r.records, p.expected) == "");
  }
}

TEST_CASE("storage recovery: a crash during recovery itself leaves a log that the next recovery finishes",
          "[storage]") {
  const LogConfig c = workload_config();
  // One crashed log to recover, the same every time (same seed, same crash point).
  auto crashed = [&](Rig& rig, Progress& p) {
    rig.start([&](Runtime& rt) { append_workload(rt, c, 120, p); });
    rig.steps(1500);
    rig.node().power_off();
  };
  Rig reference_rig(tearing_disk(), 7);
  Progress reference_progress;
  crashed(reference_rig, reference_progress);
  const Recovered reference = recover(reference_rig, c);
  REQUIRE(reference.error == "");
  REQUIRE(reference.log_end_offset > 0);
  for (std::uint64_t crash_at = 1; crash_at < 400; crash_at += 13) {
    INFO("recovery crashed after " << crash_at << " events");
    Rig rig(tearing_disk(), 7);
    Progress p;
    crashed(rig, p);
    rig.start([&](Runtime& rt) { (void)Log::open(rt, log_dir, tp(), c, 0, 0, false); });
    rig.steps(crash_at);
    rig.node().power_off();
    const Recovered r = recover(rig, c);
    REQUIRE(r.error == "");
    CHECK(check_prefix(r.records, p.expected) == "");
    // Recovery writes no data, it only cuts, and it removes later segments durably before it
    // cuts: so an interrupted recovery ends, on the next attempt, exactly where an uninterrupted
    // one does.
    CHECK(r.log_end_offset == reference.log_end_offset);
  }
}

TEST_CASE("storage recovery: a bit flipped in a middle segment cuts the log at the last valid batch and is reported",
          "[storage]") {
  Rig rig;
  Progress p;
  std::vector<std::int64_t> bases;
  rig.run([&](Runtime& rt) {
    append_workload(rt, workload_config(), 80, p);
    auto log = Log::open(rt, log_dir, tp(), workload_config(), 0, 0, true);
    if (!log) return void(p.error = log.error().message);
    bases = (*log)->segment_bases();
    if (auto st = (*log)->close(); !st) p.error = st.error().message;
  });
  REQUIRE(p.error == "");
  REQUIRE(bases.size() >= 6);
  // Flip one bit inside the records of the third batch of segment 3, on the platter.
  const std::string victim = log_dir + "/" + segment_file_name(bases[3], log_suffix);
  const std::string data = *rig.disk().contents(victim);
  std::size_t position = 0;
  std::int64_t corrupt_base = 0;
  for (int i = 0; i < 3; ++i) {
    auto h = protocol::parse_batch_header(
        std::span(reinterpret_cast<const std::uint8_t*>(data.data()) + position, protocol::batch_header_bytes));
    REQUIRE(h.ok());
    corrupt_base = h->base_offset;
    if (i < 2) position += h->size_bytes();
  }
  rig.run([&](Runtime& rt) {
    auto f = rt.disk().open(victim, OpenOptions{});
    if (!f) return void(p.error = f.error().message);
    std::byte b = static_cast<std::byte>(data[position + 70] ^ 0x10);
    if (auto st = f->write_at(position + 70, std::span(&b, 1)); !st) return void(p.error = st.error().message);
    if (auto st = f->sync(); !st) p.error = st.error().message;
  });
  REQUIRE(p.error == "");
  rig.node().power_off();
  const Recovered r = recover(rig, workload_config(), 0);
  REQUIRE(r.error == "");
  CHECK(r.log_end_offset == corrupt_base);
  CHECK(r.segments == 4);
  CHECK(r.info.segments_deleted == static_cast<int>(bases.size()) - 4);
  CHECK(r.info.bytes_truncated == static_cast<std::int64_t>(data.size() - position));
  REQUIRE(r.info.problems.size() == 1);
  CHECK_THAT(r.info.problems[0], Catch::Contains(segment_file_name(bases[3], log_suffix)));
  CHECK(check_prefix(r.records, p.expected) == "");
  for (std::size_t i = 4; i < bases.size(); ++i) CHECK_FALSE(rig.exists(log_dir + "/" + segment_file_name(bases[i], log_suffix)));
}

// Unsynced writes reach the platter in any order: a power loss can keep a later segment's data
// (its directory entry made durable by the flush of an earlier roll) while a segment before it lost
// its last writes. Found by the simulated broker sweeps with BUGGIFY storage_roll_early forced on:
// the log came back with a hole, offset 1533 missing and 1534 present.
TEST_CASE("storage recovery: a segment that lost its last writes ends the log there, later segments go",
          "[storage]") {
  for (const bool to_empty : {true, false}) {
    INFO((to_empty ? "the segment lost everything" : "the segment lost all but its first batch"));
    Rig rig;
    Progress p;
    std::vector<std::int64_t> bases;
    rig.run([&](Runtime& rt) {
      append_workload(rt, workload_config(), 80, p);
      auto log = Log::open(rt, log_dir, tp(), workload_config(), 0, 0, true);
      if (!log) return void(p.error = log.error().message);
      bases = (*log)->segment_bases();
      if (auto st = (*log)->close(); !st) p.error = st.error().message;
    });
    REQUIRE(p.error == "");
    REQUIRE(bases.size() >= 6);
    const std::string victim = log_dir + "/" + segment_file_name(bases[3], log_suffix);
    const std::string data = *rig.disk().contents(victim);
    auto first = protocol::parse_batch_header(
        std::span(reinterpret_cast<const std::uint8_t*>(data.data()), protocol::batch_header_bytes));
    REQUIRE(first.ok());
    REQUIRE(first->size_bytes() < data.size());  // more than one batch, so cutting after the first loses some
    const std::uint64_t keep = to_empty ? 0 : first->size_bytes();
    rig.run([&](Runtime& rt) {
      auto f = rt.disk().open(victim, OpenOptions{});
      if (!f) return void(p.error = f.error().message);
      if (auto st = f->truncate(keep); !st) return void(p.error = st.error().message);
      if (auto st = f->sync(); !st) p.error = st.error().message;
    });
    REQUIRE(p.error == "");
    rig.node().power_off();
    const Recovered r = recover(rig, workload_config(), 0);
    REQUIRE(r.error == "");
    CHECK(r.log_end_offset == (to_empty ? bases[3] : first->last_offset() + 1));
    CHECK(r.segments == 4);
    CHECK(r.info.segments_deleted == static_cast<int>(bases.size()) - 4);
    REQUIRE(r.info.problems.size() == 1);
    CHECK_THAT(r.info.problems[0], Catch::Contains(segment_file_name(bases[3], log_suffix)));
    CHECK(check_prefix(r.records, p.expected) == "");
    for (std::size_t i = 4; i < bases.size(); ++i) CHECK_FALSE(rig.exists(log_dir + "/" + segment_file_name(bases[i], log_suffix)));
  }
}

TEST_CASE("storage recovery: a clean load rebuilds an index file that is missing or malformed", "[storage]") {
  Rig rig;
  Progress p;
  std::vector<std::int64_t> bases;
  rig.run([&](Runtime& rt) {
    append_workload(rt, workload_config(), 60, p);
    auto log = Log::open(rt, log_dir, tp(), workload_config(), 0, 0, true);
    if (!log) return void(p.error = log.error().message);
    bases = (*log)->segment_bases();
    if (auto st = (*log)->close(); !st) return void(p.error = st.error().message);
  });
  REQUIRE(p.error == "");
  REQUIRE(bases.size() >= 4);
  rig.run([&](Runtime& rt) {
    auto f = rt.disk().open(log_dir + "/" + segment_file_name(bases[1], index_suffix), OpenOptions{});
    if (!f) return void(p.error = f.error().message);
    if (auto st = f->truncate(5); !st) return void(p.error = st.error().message);  // not whole entries
    if (auto st = f->sync(); !st) return void(p.error = st.error().message);
    if (auto st = rt.disk().remove(log_dir + "/" + segment_file_name(bases[2], time_index_suffix)); !st) p.error = st.error().message;
  });
  REQUIRE(p.error == "");
  Recovered r;
  std::vector<std::string> wrong;
  rig.run([&](Runtime& rt) {
    auto log = Log::open(rt, log_dir, tp(), workload_config(), 0, 0, true);
    if (!log) return void(r.error = log.error().message);
    r.info = (*log)->recovery_info();
    auto all = read_all(**log, 100);
    if (!all) return void(r.error = all.error().message);
    r.records = std::move(*all);
  });
  REQUIRE(r.error == "");
  CHECK(r.info.indexes_rebuilt == 2);
  CHECK(r.info.segments_recovered == 2);
  CHECK(r.info.bytes_truncated == 0);
  CHECK(r.records.size() == p.expected.values.size());
  CHECK(check_prefix(r.records, p.expected) == "");
}

TEST_CASE("storage recovery: a load after a kill keeps the page cache's data and makes it durable", "[storage]") {
  Rig rig;
  Progress p;
  rig.run([&](Runtime& rt) { append_workload(rt, workload_config(), 40, p); });
  REQUIRE(p.error == "");
  rig.node().kill();  // the page cache survives a kill
  Recovered first = recover(rig, workload_config(), p.recovery_point);
  REQUIRE(first.error == "");
  CHECK(first.log_end_offset == p.acked_records);
  rig.node().power_off();  // recovery synced what it kept
  Recovered second = recover(rig, workload_config(), 0);
  REQUIRE(second.error == "");
  CHECK(second.log_end_offset == p.acked_records);
  CHECK(check_prefix(second.records, p.expected) == "");
}

TEST_CASE("storage recovery: an index entry that points at the wrong batch is caught and the segment walked from its start",
          "[storage]") {
  Rig rig;
  Progress p;
  std::vector<std::int64_t> bases;
  rig.run([&](Runtime& rt) {
    append_workload(rt, workload_config(), 60, p);
    auto log = Log::open(rt, log_dir, tp(), workload_config(), 0, 0, true);
    if (!log) return void(p.error = log.error().message);
    bases = (*log)->segment_bases();
    if (auto st = (*log)->close(); !st) p.error = st.error().message;
  });
  REQUIRE(p.error == "");
  // Move the first entry of segment 1 to the batch after the one it names: still sorted and inside
  // the log, so it passes the sanity check, but wrong.
  const std::string index_path = log_dir + "/" + segment_file_name(bases[1], index_suffix);
  const std::string index = *rig.disk().contents(index_path);
  const std::string data = *rig.disk().contents(log_dir + "/" + segment_file_name(bases[1], log_suffix));
  REQUIRE(index.size() >= 16);
  auto be32 = [&](std::size_t at) {
    return (static_cast<std::uint32_t>(static_cast<std::uint8_t>(index[at])) << 24) |
           (static_cast<std::uint32_t>(static_cast<std::uint8_t>(index[at + 1])) << 16) |
           (static_cast<std::uint32_t>(static_cast<std::uint8_t>(index[at + 2])) << 8) |
           static_cast<std::uint32_t>(static_cast<std::uint8_t>(index[at + 3]));
  };
  const std::uint32_t position = be32(4);
  auto h = protocol::parse_batch_header(
      std::span(reinterpret_cast<const std::uint8_t*>(data.data()) + position, protocol::batch_header_bytes));
  REQUIRE(h.ok());
  const std::uint32_t wrong = position + static_cast<std::uint32_t>(h->size_bytes());
  REQUIRE(wrong < be32(12));
  rig.run([&](Runtime& rt) {
    auto f = rt.disk().open(index_path, OpenOptions{});
    if (!f) return void(p.error = f.error().message);
    const std::byte bytes[4] = {std::byte(wrong >> 24), std::byte(wrong >> 16), std::byte(wrong >> 8), std::byte(wrong)};
    if (auto st = f->write_at(4, bytes); !st) p.error = st.error().message;
  });
  REQUIRE(p.error == "");
  Recovered r;
  rig.run([&](Runtime& rt) {
    auto log = Log::open(rt, log_dir, tp(), workload_config(), 0, 0, true);
    if (!log) return void(r.error = log.error().message);
    r.info = (*log)->recovery_info();
    // One record at a time, so that every offset of segment 1 is looked up.
    auto all = read_all(**log, 1);
    if (!all) return void(r.error = all.error().message);
    r.records = std::move(*all);
  });
  REQUIRE(r.error == "");
  CHECK(r.info.indexes_rebuilt == 0);  // the load could not tell
  CHECK(r.records.size() == p.expected.values.size());
  CHECK(check_prefix(r.records, p.expected) == "");
}

TEST_CASE("storage recovery: disk faults never crash the log, and never lose an acknowledged flushed append",
          "[storage]") {
  LogConfig c = workload_config();
  c.flush_interval_messages = 1;
  int offline_runs = 0, failed_appends = 0, failed_reads = 0;
  for (std::uint64_t seed = 1; seed <= 30; ++seed) {
    INFO("seed " << seed);
    sim::DiskOptions faulty = tearing_disk();
    faulty.write_error_probability = 0.01;
    faulty.sync_error_probability = 0.005;
    faulty.read_error_probability = 0.01;
    faulty.read_bit_flip_probability = 0.01;
    Rig rig(faulty, seed);
    Progress p;
    bool offline = false;
    rig.run([&](Runtime& rt) {
      auto log = Log::open(rt, log_dir, tp(), c, 0, 0, true);
      if (!log) return;  // the disk failed the open: nothing was acknowledged
      for (int b = 0; b < 150; ++b) {
        const int n = 1 + b % 4;
        const std::int64_t end_before = (*log)->log_end_offset();
        auto r = (*log)->append(make_batch(b, n, 1000 + b, 40), 1);
        if (!r) {
          ++failed_appends;
          // A failed fsync fails the append after the write: the batch is in the log, unacknowledged,
          // and may or may not survive. Its offsets start at the old log end.
          if ((*log)->log_end_offset() > end_before) p.expected.add_batch(b, n, 40);
          continue;
        }
        p.expected.add_batch(b, n, 40);
        p.acked_records = r->last_offset + 1;
        if (auto read = (*log)->read(r->base_offset, 1 << 16, r->last_offset + 1, true); !read) ++failed_reads;
      }
      offline = (*log)->offline();
    });
    if (offline) ++offline_runs;
    rig.node().power_off();
    rig.disk().set_options(tearing_disk());
    const Recovered r = recover(rig, c);
    REQUIRE(r.error == "");
    CHECK(r.log_end_offset >= p.acked_records);
    CHECK(check_prefix(r.records, p.expected) == "");
  }
  CHECK(failed_appends > 0);
  CHECK(failed_reads > 0);
  CHECK(offline_runs > 0);
}

namespace {

// A closed log of several segments, written by the append workload; its segment bases.
std::vector<std::int64_t> closed_log(Rig& rig, Progress& p, int batches) {
  std::vector<std::int64_t> bases;
  rig.run([&](Runtime& rt) {
    append_workload(rt, workload_config(), batches, p);
    auto log = Log::open(rt, log_dir, tp(), workload_config(), 0, 0, true);
    if (!log) return void(p.error = log.error().message);
    bases = (*log)->segment_bases();
    if (auto st = (*log)->close(); !st) p.error = st.error().message;
  });
  return bases;
}

// Writes `bytes` at the end of the file, synced: damage that survives anything.
std::string append_to_file(Rig& rig, const std::string& file_path, const std::string& bytes) {
  std::string error;
  rig.run([&](Runtime& rt) {
    auto f = rt.disk().open(file_path, OpenOptions{});
    if (!f) return void(error = f.error().message);
    auto size = f->size();
    if (!size) return void(error = size.error().message);
    if (auto st = f->write_at(*size, std::as_bytes(std::span(bytes.data(), bytes.size()))); !st) {
      return void(error = st.error().message);
    }
    if (auto st = f->sync(); !st) error = st.error().message;
  });
  return error;
}

protocol::BatchHeader first_header(const std::string& log_contents) {
  auto h = protocol::parse_batch_header(
      std::span(reinterpret_cast<const std::uint8_t*>(log_contents.data()), protocol::batch_header_bytes));
  REQUIRE(h.ok());
  return *h;
}

Recovered load_clean_log(Rig& rig) {
  Recovered out;
  rig.run([&](Runtime& rt) {
    auto log = Log::open(rt, log_dir, tp(), workload_config(), 0, 0, true);
    if (!log) return void(out.error = log.error().message);
    out.log_end_offset = (*log)->log_end_offset();
    out.info = (*log)->recovery_info();
    out.segments = (*log)->segment_count();
    auto all = read_all(**log, 100);
    if (!all) return void(out.error = all.error().message);
    out.records = std::move(*all);
  });
  return out;
}

}  // namespace

TEST_CASE("storage recovery: a segment reaching into the next one ends the log there, later segments go",
          "[storage]") {
  Rig rig;
  Progress p;
  const auto bases = closed_log(rig, p, 80);
  REQUIRE(p.error == "");
  REQUIRE(bases.size() >= 5);
  // The next segment's first batch, written again at the end of the segment before it.
  const std::string next_log = *rig.disk().contents(log_dir + "/" + segment_file_name(bases[3], log_suffix));
  const auto copied = first_header(next_log);
  REQUIRE(append_to_file(rig, log_dir + "/" + segment_file_name(bases[2], log_suffix),
                         next_log.substr(0, copied.size_bytes())) == "");
  rig.node().power_off();
  const Recovered r = recover(rig, workload_config(), 0);
  REQUIRE(r.error == "");
  CHECK(r.log_end_offset == copied.last_offset() + 1);
  CHECK(r.segments == 3);
  CHECK(r.info.segments_deleted == static_cast<int>(bases.size()) - 3);
  REQUIRE(r.info.problems.size() == 1);
  CHECK_THAT(r.info.problems[0], Catch::Contains("past the start"));
  CHECK(check_prefix(r.records, p.expected) == "");  // the copy holds what the original held
}

TEST_CASE("storage recovery: a clean load rebuilds an index naming offsets of the next segment", "[storage]") {
  Rig rig;
  Progress p;
  const auto bases = closed_log(rig, p, 60);
  REQUIRE(p.error == "");
  REQUIRE(bases.size() >= 4);
  const std::string log_file = *rig.disk().contents(log_dir + "/" + segment_file_name(bases[1], log_suffix));
  // One more entry: offset bases[2] + 1 (relative to bases[1]), at the segment's last byte.
  const auto relative = static_cast<std::uint32_t>(bases[2] + 1 - bases[1]);
  const auto position = static_cast<std::uint32_t>(log_file.size() - 1);
  std::string entry;
  for (std::uint32_t v : {relative, position}) {
    for (int shift = 24; shift >= 0; shift -= 8) entry += static_cast<char>((v >> shift) & 0xff);
  }
  REQUIRE(append_to_file(rig, log_dir + "/" + segment_file_name(bases[1], index_suffix), entry) == "");
  const Recovered r = load_clean_log(rig);
  REQUIRE(r.error == "");
  CHECK(r.info.indexes_rebuilt == 1);
  CHECK(r.info.bytes_truncated == 0);
  REQUIRE(r.info.problems.size() == 1);
  CHECK_THAT(r.info.problems[0], Catch::Contains("past the next segment's base"));
  CHECK(r.log_end_offset == static_cast<std::int64_t>(p.expected.values.size()));
  CHECK(r.records.size() == p.expected.values.size());
  CHECK(check_prefix(r.records, p.expected) == "");
}

TEST_CASE("storage recovery: a clean load refuses a tail batch whose offsets go back and cuts it", "[storage]") {
  Rig rig;
  Progress p;
  const auto bases = closed_log(rig, p, 60);
  REQUIRE(p.error == "");
  const std::string last_log = log_dir + "/" + segment_file_name(bases.back(), log_suffix);
  const std::string contents = *rig.disk().contents(last_log);
  const auto first = first_header(contents);
  REQUIRE(append_to_file(rig, last_log, contents.substr(0, first.size_bytes())) == "");  // a stale copy
  const Recovered r = load_clean_log(rig);
  REQUIRE(r.error == "");
  // Trusted, the copy would have moved the log end back to its own end.
  CHECK(r.log_end_offset == static_cast<std::int64_t>(p.expected.values.size()));
  CHECK(r.info.bytes_truncated == static_cast<std::int64_t>(first.size_bytes()));
  REQUIRE(r.info.problems.size() == 2);
  CHECK_THAT(r.info.problems[0], Catch::Contains("below the previous batch's end"));
  CHECK(check_prefix(r.records, p.expected) == "");
  CHECK(r.records.size() == p.expected.values.size());
}
