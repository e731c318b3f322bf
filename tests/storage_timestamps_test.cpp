// Time in the log as Kafka's log validator and retention see it (issue 14): a batch's max timestamp
// is recomputed from its records on a leader's append (librdkafka's header says 0 over records that
// say -1: no timestamp), LogAppendTime stamps the leader's clock, message.timestamp.before/after.max.ms
// refuse records out of bounds, and a segment without timestamps is as old as its file's mtime, so
// records without timestamps live for retention.ms, never seconds.
#include "broker/storage/log_validator.h"
#include "tests/support/storage.h"

using namespace storage_test;

namespace {

constexpr std::int64_t hour_ms = 3'600'000;

// A batch of `records` records that have no timestamp (-1), whose header says `header_max` as its
// max timestamp (librdkafka writes 0 there).
Bytes untimed_batch(int batch, int records, std::int64_t header_max) {
  Bytes b = make_batch(batch, records, -1);
  // make_batch stamps -1, 0, 1, ...: rebuild with every record at -1.
  std::vector<protocol::Record> rs;
  for (int i = 0; i < records; ++i) {
    protocol::Record r;
    r.offset = i;
    r.timestamp = -1;
    const std::string v = record_value(batch, i);
    r.value = Bytes(v.begin(), v.end());
    rs.push_back(std::move(r));
  }
  b = protocol::build_batch(protocol::BatchOptions{}, rs);
  protocol::set_create_time_max_timestamp(b, header_max);
  return b;
}

// The stored header of the batch at `offset`.
Result<protocol::BatchHeader> stored_header(Log& log, std::int64_t offset) {
  auto r = log.read(offset, 1 << 20, no_limit, true);
  if (!r) return r.error();
  if (auto st = protocol::verify_batch_crc(std::span(r->records).first(protocol::parse_batch_header(r->records)->size_bytes()));
      !st) {
    return st.error();
  }
  return protocol::parse_batch_header(r->records);
}

LogConfig short_retention() {
  LogConfig c = small_segments(1024);
  c.retention_ms = 60'000;
  c.file_delete_delay_ms = 0;
  return c;
}

}  // namespace

TEST_CASE("storage timestamps: a header saying max timestamp 0 over records without one is stored as -1", "[storage]") {
  Rig rig;
  std::string error;
  protocol::BatchHeader stored;
  rig.run([&](Runtime& rt) {
    auto log = Log::open(rt, log_dir, tp(), LogConfig{}, 0, 0, true);
    if (!log) return void(error = log.error().message);
    if (auto r = (*log)->append(untimed_batch(0, 5, 0), 0); !r) return void(error = r.error().message);
    auto h = stored_header(**log, 0);
    if (!h) return void(error = h.error().message);
    stored = *h;
  });
  REQUIRE(error == "");
  CHECK(stored.max_timestamp == -1);
  CHECK_FALSE(stored.log_append_time());
}

TEST_CASE("storage retention: records without timestamps (header 0) live retention.ms by the segment's mtime",
          "[storage]") {
  Rig rig;
  std::string error;
  int deleted_early = -1, deleted_after_reopen = -1, deleted_late = -1;
  std::int64_t leo = 0, log_start = -1;
  rig.run([&](Runtime& rt) {
    auto log = Log::open(rt, log_dir, tp(), short_retention(), 0, 0, true);
    if (!log) return void(error = log.error().message);
    for (int b = 0; b < 40; ++b) {
      if (auto r = (*log)->append(untimed_batch(b, 3, 0), 0); !r) return void(error = r.error().message);
    }
    rt.sleep_for(std::chrono::seconds(30));
    auto n = (*log)->delete_old_segments();
    if (!n) return void(error = n.error().message);
    deleted_early = *n;
  });
  REQUIRE(error == "");
  // A restart (a new process, the log opened again as after a crash): the age is the file's, not the load's.
  rig.run([&](Runtime& rt) {
    auto log = Log::open(rt, log_dir, tp(), short_retention(), 0, 0, false);
    if (!log) return void(error = log.error().message);
    auto n = (*log)->delete_old_segments();
    if (!n) return void(error = n.error().message);
    deleted_after_reopen = *n;
    rt.sleep_for(std::chrono::seconds(31));
    n = (*log)->delete_old_segments();
    if (!n) return void(error = n.error().message);
    deleted_late = *n;
    leo = (*log)->log_end_offset();
    log_start = (*log)->log_start_offset();
  });
  REQUIRE(error == "");
  CHECK(deleted_early == 0);
  CHECK(deleted_after_reopen == 0);
  CHECK(deleted_late > 1);
  CHECK(log_start == leo);  // all of it, the active segment rolled first
}

TEST_CASE("storage retention: retention.ms -1 and retention.bytes -1 keep records from 1970", "[storage]") {
  Rig rig;
  std::string error;
  int deleted = -1;
  rig.run([&](Runtime& rt) {
    LogConfig c = short_retention();
    c.retention_ms = -1;
    c.retention_bytes = -1;
    auto log = Log::open(rt, log_dir, tp(), c, 0, 0, true);
    if (!log) return void(error = log.error().message);
    for (int b = 0; b < 30; ++b) {
      if (auto r = (*log)->append(make_batch(b, 2, 1000), 0); !r) return void(error = r.error().message);
    }
    auto n = (*log)->delete_old_segments();
    if (!n) return void(error = n.error().message);
    deleted = *n;
  });
  REQUIRE(error == "");
  CHECK(deleted == 0);
}

TEST_CASE("storage retention: an empty active segment is never deleted, however old the log", "[storage]") {
  Rig rig;
  std::string error;
  int first = -1, second = -1;
  std::size_t segments = 0;
  rig.run([&](Runtime& rt) {
    auto log = Log::open(rt, log_dir, tp(), short_retention(), 0, 0, true);
    if (!log) return void(error = log.error().message);
    if (auto r = (*log)->append(make_batch(0, 2, 1000), 0); !r) return void(error = r.error().message);
    auto n = (*log)->delete_old_segments();  // the non-empty active segment: rolled, then deleted
    if (!n) return void(error = n.error().message);
    first = *n;
    rt.sleep_for(std::chrono::hours(2));
    n = (*log)->delete_old_segments();  // only the new empty active segment is left: it stays
    if (!n) return void(error = n.error().message);
    second = *n;
    segments = (*log)->segment_count();
  });
  REQUIRE(error == "");
  CHECK(first == 1);
  CHECK(second == 0);
  CHECK(segments == 1);
}

TEST_CASE("storage timestamps: message.timestamp.before.max.ms and after.max.ms refuse records out of bounds",
          "[storage]") {
  Rig rig;
  std::string error;
  std::vector<std::string> outcomes;
  rig.run([&](Runtime& rt) {
    LogConfig c;
    c.timestamp_before_max_ms = hour_ms;
    auto log = Log::open(rt, log_dir, tp(), c, 0, 0, true);
    if (!log) return void(error = log.error().message);
    const std::int64_t now = to_unix_ms(rt.wall_now());
    for (std::int64_t ts : {now, now - hour_ms + 1000, now - 2 * hour_ms, now + hour_ms - 1000, now + 2 * hour_ms}) {
      auto r = (*log)->append(make_batch(0, 1, ts), 0);
      outcomes.push_back(r ? "ok" : fmt::format("{}", r.error().code));
    }
    auto r = (*log)->append(untimed_batch(1, 2, 0), 0);  // no timestamp: nothing to bound
    outcomes.push_back(r ? "ok" : fmt::format("{}", r.error().code));
  });
  REQUIRE(error == "");
  CHECK(outcomes == std::vector<std::string>{"ok", "ok", "invalid_timestamp", "ok", "invalid_timestamp", "ok"});
}

TEST_CASE("storage timestamps: LogAppendTime stamps the leader's clock and the attribute, with a valid CRC",
          "[storage]") {
  Rig rig;
  std::string error, producer_claims;
  protocol::BatchHeader stored;
  std::int64_t before = 0, after = 0, answered = -1;
  rig.run([&](Runtime& rt) {
    LogConfig c;
    c.log_append_time = true;
    auto log = Log::open(rt, log_dir, tp(), c, 0, 0, true);
    if (!log) return void(error = log.error().message);
    before = to_unix_ms(rt.wall_now());
    auto r = (*log)->append(make_batch(0, 3, 5), 0);  // record timestamps from 1970: ignored
    if (!r) return void(error = r.error().message);
    answered = r->log_append_time_ms;
    after = to_unix_ms(rt.wall_now());
    auto h = stored_header(**log, 0);
    if (!h) return void(error = h.error().message);
    stored = *h;
    Bytes claimed = make_batch(1, 1, 5);
    protocol::set_log_append_time(claimed, 5);  // a producer may not claim LogAppendTime
    auto refused = (*log)->append(claimed, 0);
    producer_claims = refused ? "ok" : fmt::format("{}", refused.error().code);
  });
  REQUIRE(error == "");
  CHECK(stored.log_append_time());
  CHECK(stored.max_timestamp == answered);
  CHECK(answered >= before);
  CHECK(answered <= after);
  CHECK(producer_claims == "invalid_timestamp");
}

TEST_CASE("storage timestamps: the validator's bounds and its recomputed max, on their own", "[storage]") {
  LogConfig c;
  c.timestamp_before_max_ms = 1000;
  c.timestamp_after_max_ms = 1000;
  protocol::BatchHeader h;
  const std::int64_t now = 1'000'000;
  using T = protocol::RecordTimestamps;
  CHECK(validate_timestamps(c, h, T{now, now}, now).ok());
  CHECK(validate_timestamps(c, h, T{-1, -1}, now).ok());
  CHECK(validate_timestamps(c, h, T{now + 1000, now - 1000}, now).ok());
  CHECK(validate_timestamps(c, h, T{now + 1001, now}, now).code() == Errc::invalid_timestamp);
  CHECK(validate_timestamps(c, h, T{now, now - 1001}, now).code() == Errc::invalid_timestamp);
  // Timestamps at the ends of int64 must not overflow the arithmetic: the distance is exact.
  c.timestamp_before_max_ms = std::numeric_limits<std::int64_t>::max();
  c.timestamp_after_max_ms = std::numeric_limits<std::int64_t>::max();
  CHECK(validate_timestamps(c, h, T{std::numeric_limits<std::int64_t>::max(), now}, now).ok());
  CHECK(validate_timestamps(c, h, T{now, std::numeric_limits<std::int64_t>::min()}, now).code() == Errc::invalid_timestamp);
  CHECK(validate_timestamps(c, h, T{now, -now}, now).ok());
  Bytes b = untimed_batch(0, 2, 0);
  CHECK(stamp_max_timestamp(c, b, T{-1, -1}, now) == -1);
  CHECK(protocol::parse_batch_header(b)->max_timestamp == -1);
  CHECK(protocol::verify_batch_crc(b).ok());
}
