// The checkers over crafted histories: each one catches the violation it names, and a clean
// history passes them all.
#include <catch2/catch.hpp>

#include "sim/check/checks.h"
#include "sim/scenario/scenario.h"

namespace {

using namespace keel::sim;
using namespace keel::sim::workload;
using check::run_checks;

// Builds histories: key 0 is "t-0", key 1 is "t-1".
struct Builder {
  History h;
  std::int64_t now = 1'000'000;

  Builder() {
    h.keys = {"t-0", "t-1"};
    h.quiesce_ns = 50'000'000'000;
    h.recovered_ns = 55'000'000'000;
  }

  std::size_t send(int process, int key, std::int64_t value, std::optional<std::int64_t> offset,
                   OpStatus status = OpStatus::ok, Phase phase = Phase::main) {
    Op op;
    op.process = process;
    op.type = OpType::send;
    op.status = status;
    op.phase = phase;
    op.key = key;
    op.value = value;
    op.offset = offset;
    op.invoke_ns = now;
    op.complete_ns = now += 1000;
    return h.add(op);
  }
  std::size_t poll(int process, std::vector<Read> reads, OpStatus status = OpStatus::ok, Phase phase = Phase::main) {
    Op op;
    op.process = process;
    op.type = OpType::poll;
    op.status = status;
    op.phase = phase;
    op.reads = std::move(reads);
    op.invoke_ns = now;
    op.complete_ns = now += 1000;
    return h.add(op);
  }
  std::size_t assign(int process, std::vector<int> keys, bool from_beginning = true) {
    Op op;
    op.process = process;
    op.type = OpType::assign;
    op.keys = std::move(keys);
    op.seek_to_beginning = from_beginning;
    op.invoke_ns = op.complete_ns = now;
    return h.add(op);
  }
  // The liveness probe of a healthy cluster.
  void live() {
    send(90, 1, 9000, 100, OpStatus::ok, Phase::liveness);
    poll(91, {{1, 100, 9000}}, OpStatus::ok, Phase::liveness);
  }
};

check::CheckResult only(const History& h, const std::string& name) { return run_checks(h, {name}); }

std::vector<check::Violation> of(const check::CheckResult& r, const std::string& name) {
  std::vector<check::Violation> out;
  for (const auto& v : r.violations) {
    if (v.check == name) out.push_back(v);
  }
  return out;
}

}  // namespace

TEST_CASE("checks: a clean history (sends acknowledged in order, read in order, read back at the end) passes every "
          "check",
          "[check][sim]") {
  Builder b;
  b.assign(2, {0, 1});
  for (int i = 0; i < 5; ++i) b.send(1, 0, i, i);
  b.poll(2, {{0, 0, 0}, {0, 1, 1}, {0, 2, 2}});
  b.poll(2, {{0, 3, 3}, {0, 4, 4}});
  b.assign(3, {0, 1});
  b.poll(3, {{0, 0, 0}, {0, 1, 1}, {0, 2, 2}, {0, 3, 3}, {0, 4, 4}}, OpStatus::ok, Phase::final);
  b.live();
  const auto r = run_checks(b.h, scenario::all_check_names());
  INFO((r.violations.empty() ? std::string() : r.violations.front().message));
  CHECK(r.passed());
  CHECK(r.violations.empty());
  CHECK(r.counts.size() == scenario::all_check_names().size());
}

TEST_CASE("checks: lost-write: an acknowledged value below the read frontier that nobody read is lost", "[check][sim]") {
  Builder b;
  b.send(1, 0, 10, 0);
  b.send(1, 0, 11, 1);  // acknowledged at offset 1, never read
  b.send(1, 0, 12, 2);
  b.poll(2, {{0, 0, 10}, {0, 2, 12}});
  const auto r = only(b.h, "lost-write");
  const auto lost = of(r, "lost-write");
  REQUIRE(lost.size() == 1);
  CHECK_FALSE(r.passed());
  CHECK(lost[0].key == "t-0");
  CHECK(lost[0].details["value"] == 11);
  CHECK(lost[0].details["offsets"] == nlohmann::json::array({1}));
  CHECK(lost[0].details["bound_value"] == 12);
  CHECK(lost[0].message.find("value 11") != std::string::npos);
}

TEST_CASE("checks: lost-write: an indeterminate send is lost only once someone read it", "[check][sim]") {
  SECTION("info, never read: not a lost write") {
    Builder b;
    b.send(1, 0, 10, 0);
    b.send(1, 0, 11, std::nullopt, OpStatus::info);
    b.send(1, 0, 12, 2);
    b.poll(2, {{0, 0, 10}, {0, 2, 12}});
    CHECK(only(b.h, "lost-write").passed());
  }
  SECTION("info, read at its offset by one consumer and skipped by nobody else: the frontier covers it") {
    Builder b;
    b.send(1, 0, 10, 0);
    b.send(1, 0, 11, 1, OpStatus::info);
    b.send(1, 0, 12, 2);
    b.poll(3, {{0, 1, 11}}, OpStatus::fail);  // a failed poll feeds the log but reads nothing
    b.poll(2, {{0, 0, 10}, {0, 2, 12}});
    // 11 was never read by an ok op, so its writer need not have committed: no lost write.
    CHECK(only(b.h, "lost-write").passed());
  }
}

TEST_CASE("checks: lost-write: an acknowledged value past the last read value is not a lost write (unseen catches it)",
          "[check][sim]") {
  Builder b;
  b.send(1, 0, 10, 0);
  b.send(1, 0, 11, 1);
  b.poll(2, {{0, 0, 10}});
  CHECK(only(b.h, "lost-write").passed());
  const auto r = only(b.h, "unseen");
  const auto unseen = of(r, "unseen");
  REQUIRE(unseen.size() == 1);
  CHECK(unseen[0].details["count"] == 1);
  CHECK(unseen[0].details["values"][0]["value"] == 11);
  CHECK(unseen[0].details["values"][0]["offset"] == 1);
  CHECK_FALSE(r.passed());
}

TEST_CASE("checks: duplicate: one value at two offsets, allowed unless the producers are idempotent", "[check][sim]") {
  Builder b;
  b.send(1, 0, 10, 0);
  b.poll(2, {{0, 0, 10}, {0, 1, 10}});
  auto r = only(b.h, "duplicate");
  auto d = of(r, "duplicate");
  REQUIRE(d.size() == 1);
  CHECK(d[0].details["value"] == 10);
  CHECK(d[0].details["offsets"] == nlohmann::json::array({0, 1}));
  CHECK(d[0].allowed);
  CHECK(r.passed());
  b.h.idempotent = true;
  r = only(b.h, "duplicate");
  REQUIRE(of(r, "duplicate").size() == 1);
  CHECK_FALSE(of(r, "duplicate")[0].allowed);
  CHECK_FALSE(r.passed());
}

TEST_CASE("checks: inconsistent-offsets: one offset read with two values", "[check][sim]") {
  Builder b;
  b.send(1, 0, 10, 0);
  b.send(1, 0, 11, 1);
  b.send(1, 0, 12, 1);  // acknowledged at the same offset as 11
  b.poll(2, {{0, 0, 10}, {0, 1, 11}});
  const auto r = only(b.h, "inconsistent-offsets");
  const auto v = of(r, "inconsistent-offsets");
  REQUIRE(v.size() == 1);
  CHECK(v[0].details["offset"] == 1);
  CHECK(v[0].details["values"] == nlohmann::json::array({11, 12}));
  CHECK_FALSE(r.passed());
}

TEST_CASE("checks: under unclean leader election, reused offsets and a reader going back are counted but allowed",
          "[check][sim]") {
  Builder b;
  b.send(1, 0, 10, 0);
  b.send(1, 0, 11, 1);
  b.send(1, 0, 12, 1);  // the unclean leader reused offset 1
  b.poll(2, {{0, 0, 10}, {0, 1, 11}});
  b.poll(2, {{0, 1, 12}});  // and the reader read offset 1 again
  b.h.unclean_election = true;
  const auto r = check::run_checks(b.h, {"inconsistent-offsets", "nonmonotonic-poll"});
  REQUIRE(of(r, "inconsistent-offsets").size() == 1);
  REQUIRE(of(r, "nonmonotonic-poll").size() == 1);
  for (const auto& v : r.violations) {
    CHECK(v.allowed);
    CHECK_THAT(v.message, Catch::Contains("unclean leader election"));
  }
  CHECK(r.passed());
  b.h.unclean_election = false;
  CHECK_FALSE(check::run_checks(b.h, {"inconsistent-offsets", "nonmonotonic-poll"}).passed());
}

TEST_CASE("checks: unexpected: a value nobody sent, or a record that is not ours", "[check][sim]") {
  Builder b;
  b.send(1, 0, 10, 0);
  b.poll(2, {{0, 0, 10}, {0, 1, 77}, {0, 2, -1}});
  const auto r = only(b.h, "unexpected");
  const auto v = of(r, "unexpected");
  REQUIRE(v.size() == 2);
  CHECK(v[0].details["value"] == 77);
  CHECK(v[1].details["offset"] == 2);
  CHECK_FALSE(r.passed());
  Builder other_key;
  other_key.send(1, 0, 10, 0);
  other_key.poll(2, {{1, 0, 10}});  // sent to t-0, read from t-1
  CHECK(of(only(other_key.h, "unexpected"), "unexpected").size() == 1);
}

TEST_CASE("checks: nonmonotonic-send: a later send of one process landing at an earlier offset", "[check][sim]") {
  Builder b;
  b.send(1, 0, 10, 5);
  b.send(1, 0, 11, 3);  // reordered by a retry
  b.send(2, 0, 12, 4);  // another process: not compared with process 1
  b.send(1, 1, 13, 0);  // another key
  auto r = only(b.h, "nonmonotonic-send");
  auto v = of(r, "nonmonotonic-send");
  REQUIRE(v.size() == 1);
  CHECK(v[0].details["value"] == 11);
  CHECK(v[0].details["previous_offset"] == 5);
  CHECK(v[0].allowed);  // several requests in flight may reorder on retry
  b.h.ordered_sends = true;
  r = only(b.h, "nonmonotonic-send");
  CHECK_FALSE(r.passed());
}

TEST_CASE("checks: poll-skip and nonmonotonic-poll: a consumer's reads must move one record at a time", "[check][sim]") {
  Builder b;
  for (int i = 0; i < 6; ++i) b.send(1, 0, 100 + i, i);
  b.assign(2, {0});
  b.poll(2, {{0, 0, 100}, {0, 1, 101}});
  b.poll(2, {{0, 3, 103}});              // skips offset 2
  b.poll(2, {{0, 3, 103}});              // the same record again
  b.poll(2, {{0, 4, 104}, {0, 4, 104}}); // inside one poll: a repeat
  b.poll(3, {{0, 0, 100}, {0, 1, 101}, {0, 2, 102}, {0, 3, 103}, {0, 4, 104}, {0, 5, 105}}, OpStatus::ok, Phase::final);
  const auto r = run_checks(b.h, {"poll-skip", "nonmonotonic-poll"});
  const auto skips = of(r, "poll-skip");
  const auto back = of(r, "nonmonotonic-poll");
  REQUIRE(skips.size() == 1);
  CHECK(skips[0].details["skipped"] == nlohmann::json::array({{{"offset", 2}, {"value", 102}}}));
  REQUIRE(back.size() == 2);
  CHECK(back[0].details["internal"] == false);
  CHECK(back[1].details["internal"] == true);
  CHECK_FALSE(r.passed());
}

TEST_CASE("checks: poll tracking: an assign that seeks to the beginning, a dropped key, and failed polls", "[check][sim]") {
  Builder b;
  for (int i = 0; i < 4; ++i) b.send(1, 0, 100 + i, i);
  b.assign(2, {0});
  b.poll(2, {{0, 0, 100}, {0, 1, 101}, {0, 2, 102}});
  b.assign(2, {0});                         // rewinds on purpose
  b.poll(2, {{0, 0, 100}});                 // not nonmonotonic
  b.assign(2, {1}, false);                  // key 0 dropped
  b.assign(2, {0, 1}, false);               // key 0 back, position unknown
  b.poll(2, {{0, 3, 103}});                 // not a skip: tracking was reset
  b.poll(2, {{0, 1, 101}}, OpStatus::fail); // a failed poll is checked ...
  b.poll(2, {{0, 3, 103}}, OpStatus::info); // ... but does not move the position
  const auto r = run_checks(b.h, {"poll-skip", "nonmonotonic-poll"});
  REQUIRE(r.violations.size() == 2);
  CHECK(r.violations[0].check == "nonmonotonic-poll");  // 101 after 103 (the failed poll)
  CHECK(r.violations[1].check == "nonmonotonic-poll");  // 103 again after 103
}

TEST_CASE("checks: an unknown index never counts as a skip", "[check][sim]") {
  Builder b;
  b.assign(2, {0});
  b.poll(2, {{0, 0, 100}});
  b.poll(2, {{0, 7, 107}});  // offsets 1..6 were never observed: dense indices 0 and 1, delta 1
  CHECK(run_checks(b.h, {"poll-skip", "nonmonotonic-poll"}).violations.empty());
}

TEST_CASE("checks: liveness: the probe after quiescence must be acknowledged and read back in time", "[check][sim]") {
  SECTION("a probe read back in time passes") {
    Builder b;
    b.live();
    CHECK(only(b.h, "liveness").passed());
  }
  SECTION("no probe at all fails") {
    Builder b;
    CHECK_FALSE(only(b.h, "liveness").passed());
  }
  SECTION("acknowledged but never read back fails, naming what did not happen") {
    Builder b;
    b.send(90, 1, 9000, 100, OpStatus::ok, Phase::liveness);
    const auto r = only(b.h, "liveness");
    REQUIRE(r.violations.size() == 1);
    CHECK(r.violations[0].message.find("not read back") != std::string::npos);
  }
  SECTION("read back after the deadline fails") {
    Builder b;
    b.send(90, 1, 9000, 100, OpStatus::ok, Phase::liveness);
    b.now = b.h.recovered_ns + b.h.liveness_within_ns + 1;
    b.poll(91, {{1, 100, 9000}}, OpStatus::ok, Phase::liveness);
    CHECK_FALSE(only(b.h, "liveness").passed());
  }
  SECTION("a run that never recovered fails") {
    Builder b;
    b.h.recovered_ns = -1;
    CHECK(only(b.h, "liveness").violations.at(0).message.find("never reached") != std::string::npos);
  }
}

TEST_CASE("checks: violations of one check are listed up to a limit and all counted", "[check][sim]") {
  Builder b;
  for (int i = 0; i < 300; ++i) b.send(1, 0, i, i);
  b.poll(2, {{0, 299, 299}});
  const auto r = only(b.h, "lost-write");
  CHECK(r.counts.at("lost-write") == 299);
  CHECK(r.violations.size() == 100);
}
