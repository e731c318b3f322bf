// The retention check (sim/check/retention_check.h) on crafted histories: it fails a deletion of a
// batch younger than retention.ms by the deleting broker's clock (by its timestamp, or its append
// time when it has none), allows for that broker's clock going back, ignores what it must not judge,
// and fails a deletion by size that keeps less than retention.bytes.
#include <catch2/catch.hpp>

#include "sim/check/retention_check.h"

namespace {

using namespace keel::sim::check;
using Kind = RetentionEvent::Kind;

constexpr std::int64_t s_ns = 1'000'000'000;

RetentionEvent append(std::int64_t at_s, int node, std::int64_t first, std::int64_t last, std::int64_t max_ts,
                      std::int64_t wall_ms) {
  RetentionEvent e;
  e.kind = Kind::append;
  e.at_ns = at_s * s_ns;
  e.node = node;
  e.partition = "orders-0";
  e.first_offset = first;
  e.batches = {{last, max_ts}};
  e.wall_ms = wall_ms;
  return e;
}

RetentionEvent deleted(std::int64_t at_s, int node, std::int64_t base, std::int64_t end, std::int64_t decided_ms,
                       std::string reason = "retention_ms", std::int64_t kept = 0) {
  RetentionEvent e;
  e.kind = Kind::delete_segment;
  e.at_ns = at_s * s_ns;
  e.node = node;
  e.partition = "orders-0";
  e.reason = std::move(reason);
  e.first_offset = base;
  e.end_offset = end;
  e.decided_ms = decided_ms;
  e.log_bytes_kept = kept;
  return e;
}

RetentionEvent jump(std::int64_t at_s, int node, std::int64_t by_ms) {
  RetentionEvent e;
  e.kind = Kind::clock_jump;
  e.at_ns = at_s * s_ns;
  e.node = node;
  e.jump_ns = by_ms * 1'000'000;
  return e;
}

std::vector<Violation> run(std::vector<RetentionEvent> events, RetentionLimits limits = {10'000, -1}) {
  RetentionObservations obs;
  obs.observed = true;
  obs.events = std::move(events);
  obs.limits["orders"] = limits;
  std::vector<Violation> out;
  retention_check(obs, out);
  return out;
}

}  // namespace

TEST_CASE("retention check: a batch without timestamps deleted 5 s after its append under retention.ms 10 s fails",
          "[sim][check]") {
  // The crafted violation: what the broken broker did (the header's 0 taken as the batch's time).
  auto v = run({append(1, 0, 0, 9, -1, 1'000'000), deleted(6, 0, 0, 10, 1'005'000)});
  REQUIRE(v.size() == 1);
  CHECK(v[0].check == "retention");
  CHECK(v[0].key == "orders-0");
  CHECK(v[0].details["first_offset"] == 0);
  CHECK(v[0].details["last_offset"] == 9);
  CHECK(v[0].message.find("5000 ms old") != std::string::npos);
  // The same deletion 11 s after the append is what Kafka does.
  CHECK(run({append(1, 0, 0, 9, -1, 1'000'000), deleted(12, 0, 0, 10, 1'011'000)}).empty());
}

TEST_CASE("retention check: a batch's own timestamp decides its age when it has one", "[sim][check]") {
  // Stamped 30 days ago: gone at once is right.
  constexpr std::int64_t now_ms = 1'767'225'600'000;  // 2026
  CHECK(run({append(1, 0, 0, 4, now_ms - 2'592'000'000, now_ms), deleted(2, 0, 0, 5, now_ms + 1000)}).empty());
  // Stamped now by the producer, deleted 3 s later: too early.
  CHECK(run({append(1, 0, 0, 4, now_ms, now_ms), deleted(4, 0, 0, 5, now_ms + 3000)}).size() == 1);
}

TEST_CASE("retention check: a clock that went back between append and deletion is allowed for", "[sim][check]") {
  // Appended at 1000 s by the broker's clock; its clock then went back 8 s; deleted when the clock
  // says 1003 s: the file's mtime may say 995 s, so by Kafka's rule the segment was 8+ s old... and
  // with 8 s of jump the record's real age is 11 s: allowed.
  CHECK(run({append(1, 0, 0, 4, -1, 1'000'000), jump(2, 0, -8'000), deleted(12, 0, 0, 5, 1'003'000)}).empty());
  // A jump forward gives no allowance, and another node's jump none either.
  CHECK(run({append(1, 0, 0, 4, -1, 1'000'000), jump(2, 0, 8'000), deleted(3, 0, 0, 5, 1'003'000)}).size() == 1);
  CHECK(run({append(1, 0, 0, 4, -1, 1'000'000), jump(2, 1, -8'000), deleted(3, 0, 0, 5, 1'003'000)}).size() == 1);
}

TEST_CASE("retention check: only the batches of the deleted segment, as that node last appended them, are judged",
          "[sim][check]") {
  // A follower truncated offsets 5.. and appended them again later: the later append decides.
  RetentionEvent two = append(1, 1, 0, 4, -1, 1'000'000);
  two.batches.push_back({9, -1});
  auto v = run({two, append(20, 1, 5, 9, -1, 1'019'000), deleted(22, 1, 0, 10, 1'021'000)});
  REQUIRE(v.size() == 1);
  CHECK(v[0].details["first_offset"] == 5);
  // Another node's deletion does not judge this node's appends; a log-start deletion is not judged.
  CHECK(run({append(1, 1, 0, 9, -1, 1'000'000), deleted(2, 0, 0, 10, 1'001'000)}).empty());
  CHECK(run({append(1, 0, 0, 9, -1, 1'000'000), deleted(2, 0, 0, 10, 1'001'000, "log_start_offset")}).empty());
  // Offsets beyond the deleted segment stay and are judged when their own segment goes.
  CHECK(run({append(1, 0, 0, 4, -1, 1'000'000), append(30, 0, 5, 9, -1, 1'029'000), deleted(31, 0, 0, 5, 1'030'000)})
            .empty());
}

TEST_CASE("retention check: a deletion by size that keeps less than retention.bytes fails", "[sim][check]") {
  const RetentionLimits limits{-1, 5000};
  CHECK(run({append(1, 0, 0, 9, -1, 1'000'000), deleted(2, 0, 0, 10, 1'001'000, "retention_bytes", 5000)}, limits)
            .empty());
  auto v = run({append(1, 0, 0, 9, -1, 1'000'000), deleted(2, 0, 0, 10, 1'001'000, "retention_bytes", 4999)}, limits);
  REQUIRE(v.size() == 1);
  CHECK(v[0].details["log_bytes_kept"] == 4999);
}

TEST_CASE("retention check: LogAppended's batches field parses, and malformed text is refused", "[sim][check]") {
  std::vector<RetentionEvent::Batch> out;
  REQUIRE(parse_appended_batches("4:1000,9:-1", out));
  REQUIRE(out.size() == 2);
  CHECK(out[0].last_offset == 4);
  CHECK(out[0].max_timestamp == 1000);
  CHECK(out[1].last_offset == 9);
  CHECK(out[1].max_timestamp == -1);
  std::vector<RetentionEvent::Batch> bad;
  CHECK_FALSE(parse_appended_batches("4", bad));
  CHECK_FALSE(parse_appended_batches("", bad));
  CHECK_FALSE(parse_appended_batches("4:x", bad));
}
