// Reports: report.json round trips and names a bad field; report.html is one self-contained page
// whose timeline shows what happened to each node; JUnit XML escapes and counts.
#include <catch2/catch.hpp>

#include <filesystem>

#include "sim/report/junit.h"
#include "sim/report/report.h"

namespace {

using namespace keel::sim;
using namespace keel::sim::report;

Report sample() {
  Report r;
  r.scenario = "smoke";
  r.scenario_path = "scenarios/smoke.json";
  r.seed = 42;
  r.version = "0.1.0";
  r.verdict = "FAIL";
  r.trace_hash = "00112233aabbccdd";
  r.reproduce = "keel-sim run scenarios/smoke.json --seed 42";
  check::Violation v;
  v.check = "lost-write";
  v.at_ns = 12'000'000'000;
  v.key = "events-0";
  v.message = "events-0 value 7 at offset 3 was never read";
  v.details = {{"value", 7}, {"offset", 3}};
  r.violations.push_back(v);
  r.check_counts = {{"lost-write", 1}, {"unseen", 0}};
  r.checks = {"lost-write", "unseen"};
  r.randomized_config = {{"log.segment.bytes", "65536"}};
  r.buggify_sites = {"storage_roll_early"};
  r.stats.records_sent = 100;
  r.stats.records_acknowledged = 99;
  r.stats.faults = {{"scripted_kill", 1}};
  r.stats.produce_latency = {99, 1.5, 2.5, 3.5, 4.5, 5.5};
  r.series.acknowledged = {10, 20, 30};
  r.series.consumed = {5, 25, 30};
  r.nodes = {{0, "broker-0", "n0"}, {1, "client", "n1"}};
  r.timeline = {{0, 0, "ProcessStart", {{"incarnation", 1}}},
                {0, 1, "ProcessStart", {{"incarnation", 1}}},
                {10'000'000'000, 0, "ScriptedKill", nlohmann::json::object()},
                {10'000'000'000, 0, "ProcessStop", {{"how", "kill"}}},
                {13'000'000'000, 0, "ProcessStart", {{"incarnation", 2}}},
                {20'000'000'000, 0, "NetBlock", {{"from", 0}, {"to", 1}}},
                {25'000'000'000, -1, "NetHeal", nlohmann::json::object()}};
  r.duration_ns = 30'000'000'000;
  r.quiesce_ns = 30'000'000'000;
  r.end_ns = 35'000'000'000;
  return r;
}

std::size_t count(const std::string& haystack, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = haystack.find(needle); at != std::string::npos; at = haystack.find(needle, at + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("report: report.json round trips every field", "[report][sim]") {
  const Report r = sample();
  const auto back = from_json(to_json(r));
  REQUIRE(back);
  CHECK(to_json(*back) == to_json(r));
  CHECK(back->violations.at(0).details["value"] == 7);
  CHECK(back->timeline.at(5).fields["to"] == 1);
}

TEST_CASE("report: reading a report with a missing or mistyped field names the field", "[report][sim]") {
  auto j = to_json(sample());
  j.erase("seed");
  auto r = from_json(j);
  REQUIRE_FALSE(r);
  CHECK(r.error().message == "seed: missing");
  j["seed"] = "forty-two";
  r = from_json(j);
  REQUIRE_FALSE(r);
  CHECK(r.error().message == "seed: expected an unsigned integer");
}

TEST_CASE("report: write_report writes report.json and report.html that read back", "[report][sim]") {
  const auto dir = std::filesystem::temp_directory_path() / "keel-report-test" / "smoke" / "42";
  std::filesystem::remove_all(dir.parent_path().parent_path());
  REQUIRE(write_report(sample(), dir.string()));
  CHECK(std::filesystem::exists(dir / "report.html"));
  const auto back = read_report((dir / "report.json").string());
  REQUIRE(back);
  CHECK(back->trace_hash == "00112233aabbccdd");
  const auto missing = read_report((dir / "nope.json").string());
  REQUIRE_FALSE(missing);
  CHECK(missing.error().message.find("nope.json") != std::string::npos);
  std::filesystem::remove_all(dir.parent_path().parent_path());
}

TEST_CASE("report: the HTML page shows the verdict, a lane per node, the kill as a down interval, the block and "
          "the violation",
          "[report][sim]") {
  const std::string h = render_html(sample());
  CHECK(h.find("class=\"verdict fail\">FAIL") != std::string::npos);
  CHECK(h.find(">broker-0</text>") != std::string::npos);
  CHECK(h.find(">client</text>") != std::string::npos);
  CHECK(h.find("broker-0: down from 10.000s to 13.000s") != std::string::npos);
  CHECK(h.find("broker-0: up from 13.000s to 35.000s") != std::string::npos);
  CHECK(h.find("broker-0: network blocked from 20.000s to 25.000s") != std::string::npos);
  CHECK(h.find("client: network blocked from 20.000s to 25.000s") != std::string::npos);
  CHECK(count(h, "<g class=\"violation\">") == 1);
  CHECK(h.find("lost-write at 12.000s") != std::string::npos);
  CHECK(h.find("ScriptedKill at 10.000s") != std::string::npos);
  CHECK(h.find("storage_roll_early") != std::string::npos);
  CHECK(h.find("log.segment.bytes") != std::string::npos);
}

TEST_CASE("report: the HTML page is self-contained and escapes what it shows", "[report][sim]") {
  Report r = sample();
  r.scenario = "<script>alert(1)</script>";
  r.violations[0].message = "a & b < c";
  const std::string h = render_html(r);
  CHECK(h.find("<script") == std::string::npos);
  CHECK(h.find("&lt;script&gt;") != std::string::npos);
  CHECK(h.find("a &amp; b &lt; c") != std::string::npos);
  CHECK(h.find("http://") == std::string::npos);
  CHECK(h.find("https://") == std::string::npos);
  CHECK(h.find("src=") == std::string::npos);
}

TEST_CASE("report: an empty report renders without dividing by zero", "[report][sim]") {
  const std::string h = render_html(Report{});
  CHECK(h.find("</html>") != std::string::npos);
  CHECK(h.find("nan") == std::string::npos);
  CHECK(h.find("inf") == std::string::npos);
}

TEST_CASE("report: JUnit XML counts failures and escapes text", "[report][sim]") {
  std::vector<JUnitCase> cases(3);
  cases[0].name = "seed 1";
  cases[1].name = "seed 2";
  cases[1].failed = true;
  cases[1].failure_message = "lost-write: value <7> & more";
  cases[1].failure_text = std::string("reproduce: x\x01");
  cases[2].name = "seed \"3\"";
  const std::string x = junit_xml("keel-sim sweep smoke", cases);
  CHECK(x.find("tests=\"3\" failures=\"1\"") != std::string::npos);
  CHECK(x.find("lost-write: value &lt;7&gt; &amp; more") != std::string::npos);
  CHECK(x.find('\x01') == std::string::npos);
  CHECK(x.find("seed &quot;3&quot;") != std::string::npos);
  CHECK(count(x, "<testcase ") == 3);
  CHECK(count(x, "<failure ") == 1);
}
