// The partition log on the simulated disk: appends and reads, the indexes, ListOffsets by
// timestamp, rolls, truncation, and many tasks appending and reading at once.
#include "tests/support/storage.h"

#include "broker/platform/sync.h"
#include "broker/protocol/crc32c.h"
#include "broker/storage/index.h"

using namespace storage_test;

namespace {

std::uint64_t be(const std::string& s, std::size_t at, int bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<std::uint8_t>(s[at + static_cast<std::size_t>(i)]);
  return v;
}

// Rewrites a batch's last offset delta (inside the CRC) and recomputes its CRC: a batch that passes
// the CRC check and still lies about its offsets.
void set_last_offset_delta(Bytes& batch, std::int32_t delta) {
  constexpr std::size_t crc_at = 17, attributes_at = 21, last_offset_delta_at = 23;
  for (int i = 0; i < 4; ++i) batch[last_offset_delta_at + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(static_cast<std::uint32_t>(delta) >> (24 - 8 * i));
  const std::uint32_t crc = protocol::crc32c(std::span(batch).subspan(attributes_at));
  for (int i = 0; i < 4; ++i) batch[crc_at + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(crc >> (24 - 8 * i));
}

// The header of the batch starting at `position` of a .log's contents.
protocol::BatchHeader header_at(const std::string& log, std::size_t position) {
  auto h = protocol::parse_batch_header(
      std::span(reinterpret_cast<const std::uint8_t*>(log.data()) + position, protocol::batch_header_bytes));
  REQUIRE(h.ok());
  return *h;
}

}  // namespace

TEST_CASE("storage: appends read back whole and in order across many small segments", "[storage]") {
  Rig rig;
  Expected expected;
  std::vector<AppendResult> results;
  std::string error;
  std::vector<ReadRecord> got;
  std::size_t segments = 0;
  std::int64_t leo = 0;
  rig.run([&](Runtime& rt) {
    auto log = Log::open(rt, log_dir, tp(), small_segments(1024), 0, 0, true);
    if (!log) return void(error = log.error().message);
    for (int b = 0; b < 120; ++b) {
      const int n = 1 + b % 5;
      auto r = (*log)->append(make_batch(b, n, 1000 + b * 10), 3);
      if (!r) return void(error = r.error().message);
      expected.add_batch(b, n);
      results.push_back(*r);
    }
    segments = (*log)->segment_count();
    leo = (*log)->log_end_offset();
    auto all = read_all(**log, 300);
    if (!all) return void(error = all.error().message);
    got = std::move(*all);
  });
  REQUIRE(error == "");
  CHECK(segments > 10);
  CHECK(leo == static_cast<std::int64_t>(expected.values.size()));
  std::int64_t next = 0;
  for (const auto& r : results) {
    CHECK(r.base_offset == next);
    CHECK(r.log_append_time_ms == -1);
    next = r.last_offset + 1;
  }
  CHECK(got.size() == expected.values.size());
  CHECK(check_prefix(got, expected) == "");
}

TEST_CASE("storage: a read from any offset starts with the batch holding it, through the sparse index",
          "[storage]") {
  Rig rig;
  std::string error;
  std::vector<std::string> wrong;
  std::vector<std::int64_t> bases;
  rig.run([&](Runtime& rt) {
    LogConfig c = small_segments(4096);
    c.index_interval_bytes = 200;
    auto log = Log::open(rt, log_dir, tp(), c, 0, 0, true);
    if (!log) return void(error = log.error().message);
    for (int b = 0; b < 150; ++b) {
      if (auto r = (*log)->append(make_batch(b, 1 + b % 4, 5000 + b), 0); !r) return void(error = r.error().message);
    }
    for (std::int64_t o = 0; o < (*log)->log_end_offset(); ++o) {
      auto one = (*log)->read(o, 1, no_limit, true);
      auto none = (*log)->read(o, 1, no_limit, false);
      if (!one || !none) return void(error = describe(one) + describe(none));
      const auto scan = protocol::scan_batches(one->records, true);
      if (scan.batches.size() != 1 || scan.valid_bytes != one->records.size() || !none->records.empty()) {
        wrong.push_back(fmt::format("offset {}: {} batches", o, scan.batches.size()));
        continue;
      }
      const auto& h = scan.batches[0].second;
      if (h.base_offset > o || h.last_offset() < o) {
        wrong.push_back(fmt::format("offset {}: got batch {}..{}", o, h.base_offset, h.last_offset()));
      }
    }
    bases = (*log)->segment_bases();
    if (auto st = (*log)->close(); !st) error = st.error().message;
  });
  REQUIRE(error == "");
  CHECK(wrong.empty());
  REQUIRE(bases.size() > 3);
  // On disk, as kafka-dump-log --verify-index-only expects: each .index entry is the last offset of
  // the batch that starts at its position, entries strictly increase, and .timeindex entries name
  // offsets of batches whose max timestamp is the entry's.
  std::size_t entries = 0;
  for (std::int64_t base : bases) {
    const std::string log = *rig.disk().contents(segment_path(base, log_suffix));
    const std::string index = *rig.disk().contents(segment_path(base, index_suffix));
    const std::string time_index = *rig.disk().contents(segment_path(base, time_index_suffix));
    REQUIRE(index.size() % 8 == 0);
    REQUIRE(time_index.size() % 12 == 0);
    std::int64_t previous = -1;
    for (std::size_t at = 0; at < index.size(); at += 8, ++entries) {
      const std::int64_t offset = base + static_cast<std::int32_t>(be(index, at, 4));
      const auto position = static_cast<std::size_t>(be(index, at + 4, 4));
      REQUIRE(position < log.size());
      CHECK(header_at(log, position).last_offset() == offset);
      CHECK(offset > previous);
      previous = offset;
    }
    CHECK(time_index.size() >= 12);  // at least the final entry written when the segment closed
  }
  CHECK(entries > bases.size());  // sparse, but present
}

TEST_CASE("storage: offset_for_timestamp finds the first record at or after a timestamp, before and after a reopen",
          "[storage]") {
  Rig rig;
  std::string error;
  std::vector<std::optional<std::int64_t>> answers[2];
  const std::vector<std::int64_t> queries = {0, 10'000, 10'001, 12'001, 12'003, 12'050, 14'902, 14'903, 99'999};
  for (int round = 0; round < 2; ++round) {
    rig.run([&](Runtime& rt) {
      auto log = Log::open(rt, log_dir, tp(), small_segments(2048), 0, 0, true);
      if (!log) return void(error = log.error().message);
      if (round == 0) {
        // Batch b holds offsets 3b..3b+2 with timestamps 10000 + 100b + (0, 1, 2).
        for (int b = 0; b < 50; ++b) {
          if (auto r = (*log)->append(make_batch(b, 3, 10'000 + 100 * b), 0); !r) return void(error = r.error().message);
        }
      }
      for (std::int64_t q : queries) {
        auto r = (*log)->offset_for_timestamp(q);
        if (!r) return void(error = r.error().message);
        answers[round].push_back(*r);
      }
      if (auto st = (*log)->close(); !st) error = st.error().message;
    });
    REQUIRE(error == "");
  }
  for (const auto& a : answers) {
    REQUIRE(a.size() == queries.size());
    CHECK(a[0] == std::optional<std::int64_t>(0));
    CHECK(a[1] == std::optional<std::int64_t>(0));
    CHECK(a[2] == std::optional<std::int64_t>(1));
    CHECK(a[3] == std::optional<std::int64_t>(61));  // batch 20, record 1
    CHECK(a[4] == std::optional<std::int64_t>(63));  // past batch 20's last record: batch 21's first
    CHECK(a[5] == std::optional<std::int64_t>(63));
    CHECK(a[6] == std::optional<std::int64_t>(149));  // the very last record
    CHECK(a[7] == std::nullopt);
    CHECK(a[8] == std::nullopt);
  }
}

TEST_CASE("storage: the active segment rolls before an append that would pass segment_bytes", "[storage]") {
  Rig rig;
  REQUIRE_FALSE(rig.world().buggify_enabled("storage_roll_early"));  // exact boundaries wanted
  std::string error;
  std::vector<std::int64_t> bases;
  const std::size_t batch_bytes = make_batch(0, 2, 0).size();
  rig.run([&](Runtime& rt) {
    auto log = Log::open(rt, log_dir, tp(), small_segments(1000), 0, 0, true);
    if (!log) return void(error = log.error().message);
    for (int b = 0; b < 40; ++b) {
      if (auto r = (*log)->append(make_batch(b, 2, 0), 0); !r) return void(error = r.error().message);
    }
    bases = (*log)->segment_bases();
  });
  REQUIRE(error == "");
  const std::size_t per_segment = 1000 / batch_bytes;
  REQUIRE(per_segment >= 2);
  REQUIRE(bases.size() == (40 + per_segment - 1) / per_segment);
  for (std::size_t i = 0; i < bases.size(); ++i) {
    CHECK(bases[i] == static_cast<std::int64_t>(i * per_segment * 2));
    const std::size_t size = rig.disk().contents(segment_path(bases[i], log_suffix))->size();
    CHECK(size <= 1000);
    if (i + 1 < bases.size()) CHECK(size + batch_bytes > 1000);
  }
}

TEST_CASE("storage: the active segment rolls once its first batch is segment_ms older than the incoming one",
          "[storage]") {
  Rig rig;
  REQUIRE_FALSE(rig.world().buggify_enabled("storage_roll_early"));  // exact boundaries wanted
  std::string error;
  std::vector<std::size_t> counts;
  rig.run([&](Runtime& rt) {
    LogConfig c;
    c.segment_ms = 1000;
    auto log = Log::open(rt, log_dir, tp(), c, 0, 0, true);
    if (!log) return void(error = log.error().message);
    for (int b = 0; b < 5; ++b) {
      // Timestamps from the node's wall clock, 600 ms apart in simulated time.
      if (auto r = (*log)->append(make_batch(b, 1, to_unix_ms(rt.wall_now())), 0); !r) return void(error = r.error().message);
      counts.push_back((*log)->segment_count());
      rt.sleep_for(std::chrono::milliseconds(600));
    }
    // Record timestamps rule, not the clock: a batch stamped far ahead rolls at once.
    if (auto r = (*log)->append(make_batch(9, 1, to_unix_ms(rt.wall_now()) + 5000), 0); !r) return void(error = r.error().message);
    counts.push_back((*log)->segment_count());
  });
  REQUIRE(error == "");
  // 0 ms, 600 ms: one segment; 1200 ms after the first: a roll; 1800 ms: 600 after the new first ...
  CHECK(counts == std::vector<std::size_t>{1, 1, 2, 2, 3, 4});
}

TEST_CASE("storage: reads stop below the high watermark, return one oversized batch only when asked, and check the range",
          "[storage]") {
  Rig rig;
  std::string error;
  std::vector<std::string> outcomes;
  rig.run([&](Runtime& rt) {
    auto log = Log::open(rt, log_dir, tp(), LogConfig{}, 0, 0, true);
    if (!log) return void(error = log.error().message);
    for (int b = 0; b < 10; ++b) {
      if (auto r = (*log)->append(make_batch(b, 2, 0), 0); !r) return void(error = r.error().message);
    }
    auto show = [&](std::int64_t offset, std::int32_t max_bytes, std::int64_t max_offset, bool min_one) {
      auto r = (*log)->read(offset, max_bytes, max_offset, min_one);
      if (!r) return fmt::format("error {}", r.error().code);
      auto records = decode_all(r->records);
      if (!records) return std::string("undecodable");
      if (records->empty()) return fmt::format("empty (log {}..{})", r->log_start_offset, r->log_end_offset);
      return fmt::format("{}..{}", records->front().offset, records->back().offset);
    };
    outcomes.push_back(show(0, 1 << 20, 6, true));
    outcomes.push_back(show(5, 1 << 20, 6, true));
    outcomes.push_back(show(6, 1 << 20, 6, true));
    outcomes.push_back(show(7, 1 << 20, no_limit, true));
    outcomes.push_back(show(0, 10, no_limit, false));
    outcomes.push_back(show(0, 10, no_limit, true));
    outcomes.push_back(show(20, 1 << 20, no_limit, true));
    outcomes.push_back(show(21, 1 << 20, no_limit, true));
    outcomes.push_back(show(-1, 1 << 20, no_limit, true));
  });
  REQUIRE(error == "");
  CHECK(outcomes == std::vector<std::string>{"0..5", "4..5", "empty (log 0..20)", "6..19", "empty (log 0..20)", "0..1",
                                             "empty (log 0..20)", "error invalid_argument", "error invalid_argument"});
}

TEST_CASE("storage: append stamps offsets, the leader epoch and, when configured, the log append time",
          "[storage]") {
  Rig rig;
  std::string error;
  AppendResult first, second;
  std::int64_t wall_before = 0;
  Bytes stored;
  rig.run([&](Runtime& rt) {
    LogConfig c;
    c.log_append_time = true;
    auto log = Log::open(rt, log_dir, tp(), c, 0, 0, true);
    if (!log) return void(error = log.error().message);
    auto a = (*log)->append(make_batch(0, 3, 77), 7);
    wall_before = to_unix_ms(rt.wall_now());
    auto b = (*log)->append(make_batch(1, 2, 77), 8);
    if (!a || !b) return void(error = describe(a) + describe(b));
    first = *a;
    second = *b;
    auto r = (*log)->read(3, 1 << 20, no_limit, true);
    if (!r) return void(error = r.error().message);
    stored = r->records;
  });
  REQUIRE(error == "");
  CHECK(first.base_offset == 0);
  CHECK(first.last_offset == 2);
  CHECK(second.base_offset == 3);
  CHECK(second.last_offset == 4);
  CHECK(second.log_append_time_ms >= wall_before);
  const auto scan = protocol::scan_batches(stored, true);
  REQUIRE(scan.batches.size() == 1);
  const auto& h = scan.batches[0].second;
  CHECK(h.base_offset == 3);
  CHECK(h.partition_leader_epoch == 8);
  CHECK(h.log_append_time());
  CHECK(h.max_timestamp == second.log_append_time_ms);
  CHECK(decode_all(stored).ok());
}

TEST_CASE("storage: append refuses what is not whole valid batches, or too large, and the log stays as it was",
          "[storage]") {
  Rig rig;
  std::vector<std::string> codes;
  std::int64_t leo = -1;
  rig.run([&](Runtime& rt) {
    LogConfig c;
    c.max_message_bytes = 400;
    auto log = Log::open(rt, log_dir, tp(), c, 0, 0, true);
    if (!log) return void(codes.push_back(log.error().message));
    Bytes good = make_batch(0, 2, 0);
    Bytes torn(good.begin(), good.end() - 1);
    Bytes flipped = good;
    flipped.back() ^= 1;
    const Bytes garbage(100, 0x5a);
    const Bytes big = make_batch(1, 10, 0, 100);
    for (const Bytes* b : std::vector<const Bytes*>{&torn, &flipped, &garbage, &big}) {
      auto r = (*log)->append(*b, 0);
      codes.push_back(r ? "ok" : fmt::format("{}", r.error().code));
    }
    codes.push_back(describe((*log)->append(std::span<const std::uint8_t>(), 0)));
    leo = (*log)->log_end_offset();
  });
  REQUIRE(codes.size() == 5);
  for (std::size_t i = 0; i < 4; ++i) CHECK(codes[i] == "invalid_argument");
  CHECK(codes[4] != "ok");
  CHECK(leo == 0);
}

TEST_CASE("storage: tasks appending and reading at once get contiguous offsets and only whole batches",
          "[storage]") {
  Rig rig;
  std::string error;
  std::vector<std::pair<std::int64_t, std::int64_t>> ranges;
  std::int64_t leo = 0, rp = 0;
  int partial_reads = 0, reads = 0;
  rig.run([&](Runtime& rt) {
    LogConfig c = small_segments(2000);
    c.flush_interval_messages = 1;
    auto opened = Log::open(rt, log_dir, tp(), c, 0, 0, true);
    if (!opened) return void(error = opened.error().message);
    Log& log = **opened;
    WaitGroup wg;
    bool writing = true;
    for (int w = 0; w < 4; ++w) {
      wg.add();
      rt.spawn(fmt::format("writer{}", w), [&, w] {
        for (int b = 0; b < 25; ++b) {
          auto r = log.append(make_batch(w * 100 + b, 1 + (b + w) % 3, 0), 1);
          if (!r) error = r.error().message;
          if (r) ranges.emplace_back(r->base_offset, r->last_offset);
        }
        wg.done();
      });
    }
    wg.add();
    rt.spawn("reader", [&] {
      while (writing) {
        const std::int64_t end = log.log_end_offset();
        auto r = log.read(end / 2, 700, no_limit, true);
        ++reads;
        if (r && protocol::scan_batches(r->records, true).valid_bytes != r->records.size()) ++partial_reads;
        rt.sleep_for(std::chrono::microseconds(50));
      }
      wg.done();
    });
    while (wg.count() > 1) rt.sleep_for(std::chrono::milliseconds(1));
    writing = false;
    wg.wait();
    leo = log.log_end_offset();
    rp = log.recovery_point();
  });
  const std::uint64_t syncs = rig.disk().stats().syncs;
  REQUIRE(error == "");
  REQUIRE(ranges.size() == 100);
  // Every append returned durable, yet appends that queued behind a running flush shared the next
  // one (the rolls' index syncs included).
  CHECK(syncs < 80);
  std::sort(ranges.begin(), ranges.end());
  std::int64_t next = 0;
  for (const auto& [base, last] : ranges) {
    CHECK(base == next);
    next = last + 1;
  }
  CHECK(leo == next);
  CHECK(rp == leo);
  CHECK(reads > 10);
  CHECK(partial_reads == 0);
}

TEST_CASE("storage: truncate_to drops everything from an offset, durably, and appends continue there",
          "[storage]") {
  Rig rig;
  Expected expected;
  std::string error;
  std::int64_t leo_after = 0;
  std::size_t segments_before = 0, segments_after = 0;
  AppendResult next;
  rig.run([&](Runtime& rt) {
    auto log = Log::open(rt, log_dir, tp(), small_segments(800), 0, 0, true);
    if (!log) return void(error = log.error().message);
    for (int b = 0; b < 60; ++b) {
      if (auto r = (*log)->append(make_batch(b, 2, 0), 0); !r) return void(error = r.error().message);
      expected.add_batch(b, 2);
    }
    if (auto st = (*log)->flush(); !st) return void(error = st.error().message);
    segments_before = (*log)->segment_count();
    if (auto st = (*log)->truncate_to(58); !st) return void(error = st.error().message);
    leo_after = (*log)->log_end_offset();
    segments_after = (*log)->segment_count();
    // Appended after the truncation and never synced: a power loss takes these.
    auto r = (*log)->append(make_batch(1000, 2, 0), 1);
    if (!r) return void(error = r.error().message);
    next = *r;
  });
  REQUIRE(error == "");
  CHECK(leo_after == 58);
  CHECK(segments_after < segments_before);
  CHECK(next.base_offset == 58);
  rig.node().power_off();
  std::vector<ReadRecord> got;
  std::int64_t leo = 0;
  rig.run([&](Runtime& rt) {
    auto log = Log::open(rt, log_dir, tp(), small_segments(800), 0, 0, false);
    if (!log) return void(error = log.error().message);
    leo = (*log)->log_end_offset();
    auto all = read_all(**log);
    if (!all) return void(error = all.error().message);
    got = std::move(*all);
  });
  REQUIRE(error == "");
  CHECK(leo == 58);  // neither the truncated batches nor the unsynced new one came back
  CHECK(got.size() == 58);
  CHECK(check_prefix(got, expected) == "");
}

TEST_CASE("storage: truncate_to below the first segment empties the log and starts it at that offset", "[storage]") {
  Rig rig;
  std::string error;
  std::int64_t start = -1, end = -1;
  std::size_t segments = 0;
  AppendResult next;
  rig.run([&](Runtime& rt) {
    auto log = Log::open(rt, log_dir, tp(), small_segments(800), 0, 0, true);
    if (!log) return void(error = log.error().message);
    for (int b = 0; b < 30; ++b) {
      if (auto r = (*log)->append(make_batch(b, 2, 0), 0); !r) return void(error = r.error().message);
    }
    if (auto st = (*log)->truncate_to(0); !st) return void(error = st.error().message);
    start = (*log)->log_start_offset();
    end = (*log)->log_end_offset();
    segments = (*log)->segment_count();
    auto r = (*log)->append(make_batch(1, 2, 0), 0);
    if (!r) return void(error = r.error().message);
    next = *r;
  });
  REQUIRE(error == "");
  CHECK(start == 0);
  CHECK(end == 0);
  CHECK(segments == 1);
  CHECK(next.base_offset == 0);
}

TEST_CASE("storage: a follower append keeps the leader's offsets and refuses to go backwards", "[storage]") {
  Rig rig;
  std::string error;
  std::vector<std::string> outcomes;
  rig.run([&](Runtime& rt) {
    auto log = Log::open(rt, log_dir, tp(), LogConfig{}, 0, 0, true);
    if (!log) return void(error = log.error().message);
    Bytes leader = make_batch(0, 3, 0);
    protocol::set_base_offset(leader, 10);
    protocol::set_partition_leader_epoch(leader, 4);
    auto a = (*log)->append_as_follower(leader);
    outcomes.push_back(a ? fmt::format("{}..{} leo {}", a->base_offset, a->last_offset, (*log)->log_end_offset())
                         : a.error().message);
    auto b = (*log)->append_as_follower(leader);
    outcomes.push_back(b ? "ok" : fmt::format("{}", b.error().code));
  });
  REQUIRE(error == "");
  CHECK(outcomes == std::vector<std::string>{"10..12 leo 13", "invalid_argument"});
}

TEST_CASE("storage: offset index floor lookups", "[storage]") {
  OffsetIndex index(File(), 100);
  for (auto [offset, position] : {std::pair{105, 300u}, {110, 700u}, {130, 1500u}}) {
    OffsetEntry e;
    e.offset = offset;
    e.position = position;
    index.push(e);
  }
  CHECK_FALSE(index.floor(104).has_value());
  CHECK(index.floor(105)->position == 300);
  CHECK(index.floor(129)->position == 700);
  CHECK(index.floor(1000)->position == 1500);
  CHECK(index.sane(1501));
  CHECK_FALSE(index.sane(1500));
  index.truncate_to(110);
  CHECK(index.size() == 1);
}

TEST_CASE("storage: batches without timestamps append, index, reopen and expire by file age", "[storage]") {
  Rig rig;
  std::string error;
  std::size_t records = 0;
  std::optional<std::int64_t> by_time = 0;
  int deleted_at_once = -1, deleted_later = -1;
  auto untimed = [](int b) {
    protocol::Record r;
    r.offset = 0;
    r.timestamp = -1;
    const std::string v = record_value(b, 0, 60);
    r.value = Bytes(v.begin(), v.end());
    return protocol::build_batch(protocol::BatchOptions{}, std::span(&r, 1));
  };
  LogConfig c = small_segments(600);
  c.retention_ms = 60'000;
  rig.run([&](Runtime& rt) {
    auto log = Log::open(rt, log_dir, tp(), c, 0, 0, true);
    if (!log) return void(error = log.error().message);
    for (int b = 0; b < 40; ++b) {
      if (auto r = (*log)->append(untimed(b), 0); !r) return void(error = r.error().message);
    }
    if (auto st = (*log)->close(); !st) error = st.error().message;
  });
  REQUIRE(error == "");
  rig.run([&](Runtime& rt) {
    auto log = Log::open(rt, log_dir, tp(), c, 0, 0, true);
    if (!log) return void(error = log.error().message);
    auto all = read_all(**log);
    if (!all) return void(error = all.error().message);
    records = all->size();
    auto t = (*log)->offset_for_timestamp(0);
    if (!t) return void(error = t.error().message);
    by_time = *t;
    deleted_at_once = (*log)->delete_old_segments().value();
    rt.sleep_for(std::chrono::seconds(61));
    deleted_later = (*log)->delete_old_segments().value();
  });
  REQUIRE(error == "");
  CHECK(records == 40);
  CHECK(by_time == std::nullopt);
  CHECK(deleted_at_once == 0);
  CHECK(deleted_later > 0);
}

TEST_CASE("storage: compressed batches are stored as they came and found by timestamp inside", "[storage]") {
  Rig rig;
  std::string error;
  std::optional<std::int64_t> found;
  std::vector<ReadRecord> got;
  rig.run([&](Runtime& rt) {
    auto log = Log::open(rt, log_dir, tp(), LogConfig{}, 0, 0, true);
    if (!log) return void(error = log.error().message);
    int k = 0;
    for (auto codec : {protocol::Compression::gzip, protocol::Compression::zstd, protocol::Compression::lz4,
                       protocol::Compression::snappy}) {
      std::vector<protocol::Record> rs;
      for (int i = 0; i < 5; ++i) {
        protocol::Record r;
        r.offset = i;
        r.timestamp = 50'000 + k * 100 + i * 10;
        const std::string v = record_value(static_cast<int>(codec), i, 200);
        r.value = Bytes(v.begin(), v.end());
        rs.push_back(std::move(r));
      }
      protocol::BatchOptions o;
      o.compression = codec;
      if (auto r = (*log)->append(protocol::build_batch(o, rs), 0); !r) return void(error = r.error().message);
      ++k;
    }
    auto t = (*log)->offset_for_timestamp(50'000 + 2 * 100 + 15);  // lz4's batch (offsets 10..14), past record 1
    if (!t) return void(error = t.error().message);
    found = *t;
    auto all = read_all(**log);
    if (!all) return void(error = all.error().message);
    got = std::move(*all);
  });
  REQUIRE(error == "");
  CHECK(got.size() == 20);
  CHECK(found == std::optional<std::int64_t>(12));
}

TEST_CASE("storage: bytes count as visible once the high watermark passes them, truncated ones never",
          "[storage]") {
  Rig rig;
  std::string error;
  std::vector<std::int64_t> visible;  // after each step
  std::vector<std::int64_t> sizes;    // the batches' sizes
  rig.run([&](Runtime& rt) {
    auto log = Log::open(rt, log_dir, tp(), small_segments(1 << 20), 0, 0, true);
    if (!log) return void(error = log.error().message);
    Log& l = **log;
    l.reset_high_watermark(0);
    for (int b = 0; b < 3; ++b) {
      const Bytes batch = make_batch(b, 2, 1000 + b);
      sizes.push_back(static_cast<std::int64_t>(batch.size()));
      if (!l.append(batch, 0)) return void(error = "append failed");
      visible.push_back(l.visible_bytes_appended());  // 0, 0, 0: the high watermark stays at 0
    }
    l.advance_high_watermark(2);  // passes the first batch (offsets 0-1)
    visible.push_back(l.visible_bytes_appended());
    l.advance_high_watermark(5);  // inside the third: only whole appends count
    visible.push_back(l.visible_bytes_appended());
    if (!l.truncate_to(4)) return void(error = "truncate failed");  // the third batch goes
    const Bytes again = make_batch(9, 2, 2000);
    sizes.push_back(static_cast<std::int64_t>(again.size()));
    if (!l.append(again, 0)) return void(error = "append failed");
    l.advance_high_watermark(6);
    visible.push_back(l.visible_bytes_appended());
  });
  REQUIRE(error == "");
  REQUIRE(visible.size() == 6);
  CHECK(visible[0] == 0);
  CHECK(visible[2] == 0);
  CHECK(visible[3] == sizes[0]);
  CHECK(visible[4] == sizes[0] + sizes[1]);
  CHECK(visible[5] == sizes[0] + sizes[1] + sizes[3]);  // the truncated batch never counted
}

TEST_CASE("storage: a restart above the log end forgets the appends the high watermark never passed", "[storage]") {
  Rig rig;
  std::string error;
  std::int64_t visible = -1, refill_bytes = 0;
  rig.run([&](Runtime& rt) {
    auto log = Log::open(rt, log_dir, tp(), small_segments(1 << 20), 0, 0, true);
    if (!log) return void(error = log.error().message);
    Log& l = **log;
    l.reset_high_watermark(0);
    if (!l.append(make_batch(0, 3, 1000), 0)) return void(error = "append failed");  // never visible
    if (auto st = l.restart_at(10); !st) return void(error = st.error().message);
    Bytes refill = make_batch(1, 2, 2000);
    protocol::set_base_offset(refill, 10);
    refill_bytes = static_cast<std::int64_t>(refill.size());
    if (auto a = l.append_as_follower(refill); !a) return void(error = a.error().message);
    l.advance_high_watermark(l.log_end_offset());
    visible = l.visible_bytes_appended();
  });
  REQUIRE(error == "");
  CHECK(visible == refill_bytes);  // the first append's bytes are gone with its records
}

TEST_CASE("storage: follower batches that lie about their offsets are refused, not asserted on", "[storage]") {
  Rig rig;
  std::string error;
  std::vector<std::string> outcomes;
  std::int64_t leo = -1;
  rig.run([&](Runtime& rt) {
    auto log = Log::open(rt, log_dir, tp(), LogConfig{}, 0, 0, true);
    if (!log) return void(error = log.error().message);
    Bytes backwards = make_batch(0, 3, 0);
    protocol::set_base_offset(backwards, 5);
    set_last_offset_delta(backwards, -2);  // ends at offset 3, before it starts
    auto a = (*log)->append_as_follower(backwards);
    outcomes.push_back(a ? "ok" : a.error().message);
    // Offsets an empty segment at 0 cannot hold as relative int32 offsets.
    Bytes far = make_batch(1, 3, 0);
    protocol::set_base_offset(far, std::int64_t{3} << 31);
    auto b = (*log)->append_as_follower(far);
    outcomes.push_back(b ? "ok" : b.error().message);
    Bytes fine = make_batch(2, 3, 0);
    protocol::set_base_offset(fine, 7);
    auto c = (*log)->append_as_follower(fine);
    outcomes.push_back(c ? "ok" : c.error().message);
    if (auto st = (*log)->close(); !st) return void(error = st.error().message);
    leo = (*log)->log_end_offset();
  });
  REQUIRE(error == "");
  REQUIRE(outcomes.size() == 3);
  CHECK_THAT(outcomes[0], Catch::Contains("last offset delta -2"));
  CHECK_THAT(outcomes[1], Catch::Contains("do not fit the segment at 0"));
  CHECK(outcomes[2] == "ok");
  CHECK(leo == 10);
}
