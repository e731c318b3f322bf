// Scenario files: every file in scenarios/ parses, the fields land where they belong, and every
// kind of mistake is refused with the exact path of what is wrong.
#include <catch2/catch.hpp>

#include <filesystem>

#include "sim/scenario/scenario.h"
#include "sim/scenario/scenario_json.h"
#include "tests/support/scenario_run.h"

#include <nlohmann/json.hpp>

#include <fstream>
#include <functional>
#include <sstream>

namespace {

using namespace keel;
using namespace keel::sim::scenario;
using keel::test::repo_path;

const char* minimal = R"({
  "topics": [ { "name": "t", "partitions": 3 } ],
  "workload": { "producers": [ { "topic": "t" } ] },
  "duration": "10s"
})";

// The error for `text` with one change applied to the minimal scenario's JSON.
std::string error_of(const std::string& text) {
  auto s = parse_scenario(text, "x.json");
  REQUIRE_FALSE(s);
  return s.error().message;
}

std::string with(const std::function<void(nlohmann::json&)>& change) {
  auto j = nlohmann::json::parse(minimal);
  change(j);
  return error_of(j.dump());
}

}  // namespace

TEST_CASE("scenario: every scenario file in scenarios/ parses", "[scenario]") {
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(repo_path("scenarios"))) {
    if (e.path().extension() != ".json") continue;
    ++files;
    auto s = load_scenario(e.path().string());
    INFO(e.path().string() << ": " << (s ? "" : s.error().message));
    CHECK(s);
  }
  CHECK(files >= 2);
}

TEST_CASE("scenario: a full scenario's fields land in the structs, with defaults for what is left out", "[scenario]") {
  auto s = parse_scenario(R"({
    "name": "full", "description": "all of it",
    "cluster": { "brokers": 3, "config": { "log.segment.bytes": 1000, "a.flag": true }, "broker_config": { "2": { "x": "y" } },
                 "randomize_config": true, "buggify": false },
    "topics": [ { "name": "a", "partitions": 4, "replication_factor": 3, "configs": { "retention.ms": "1000" } }, { "name": "b" } ],
    "workload": {
      "producers": [ { "count": 2, "topic": "a", "rate": 10.5, "record_bytes": 64, "key_distribution": "zipf", "keys": 7,
                       "acks": 1, "linger": "7ms", "batch_bytes": 999, "max_in_flight": 1, "request_timeout": "2s",
                       "delivery_timeout": "9s", "retry_backoff": "50ms" } ],
      "consumers": [ { "count": 2, "topics": ["a", "b"], "assignment": "split", "fetch_max_wait": "100ms" } ]
    },
    "faults": {
      "scripted": [ { "at": "9s", "clock_jump": "broker-1", "by": "-5s" },
                    { "at": "2s", "partition": [["broker-0"], ["broker-1", "client"]], "duration": "3s" },
                    { "at": "4s", "block": "broker-2", "to": "client" },
                    { "at": "5s", "disk_faults": "broker-0", "duration": "1s", "error_rate": 0.5, "bit_flip_rate": 0.25 } ],
      "random": { "kill": 3, "isolate": 1, "restart_delay_max": "2s", "faulty_nodes_max": 2 }
    },
    "duration": "1m",
    "quiescence": { "recover": "7s", "final_read_timeout": "30s", "liveness_within": "11s" },
    "checks": [ "unseen", "lost-write" ]
  })",
                          "full.json");
  INFO((s ? std::string() : s.error().message));
  REQUIRE(s);
  CHECK(s->name == "full");
  CHECK(s->cluster.brokers == 3);
  CHECK(s->cluster.config.at("log.segment.bytes") == "1000");
  CHECK(s->cluster.config.at("a.flag") == "true");
  CHECK(s->cluster.broker_config.at(2).at("x") == "y");
  CHECK(s->cluster.randomize_config);
  CHECK_FALSE(s->cluster.buggify);
  CHECK(s->topics[0].replication_factor == 3);
  CHECK(s->topics[1].partitions == 1);
  const auto& p = s->workload.producers[0];
  CHECK(p.count == 2);
  CHECK(p.rate == 10.5);
  CHECK(p.key_distribution == KeyDistribution::zipf);
  CHECK(p.acks == 1);
  CHECK(p.linger == 7ms);
  CHECK(p.delivery_timeout == 9s);
  CHECK(s->workload.consumers[0].assignment == Assignment::split);
  REQUIRE(s->faults.size() == 4);
  CHECK(s->faults[0].kind == FaultKind::partition);  // sorted by time
  CHECK(s->faults[0].sets.at(1).at(1).client);
  CHECK(s->faults[1].to.client);
  CHECK(s->faults[2].error_rate == 0.5);
  CHECK(s->faults[3].by == -5s);
  CHECK(s->faults[3].node.broker == 1);
  CHECK(s->random_faults.enabled);
  CHECK(s->random_faults.options.kill_per_min == 3);
  CHECK(s->random_faults.options.pause_per_min == 0);  // left out: off
  CHECK(s->random_faults.options.restart_delay_max == 2s);
  CHECK(s->duration == 60s);
  CHECK(s->quiescence.liveness_within == 11s);
  CHECK(s->checks == std::vector<std::string>{"unseen", "lost-write"});
}

TEST_CASE("scenario: mistakes are refused with the path and the problem", "[scenario]") {
  CHECK(with([](auto& j) { j["workload"]["producers"][0]["acks"] = "two"; }) ==
        "x.json: workload.producers[0].acks: expected 0, 1 or \"all\", got the string \"two\"");
  CHECK(with([](auto& j) { j["topics"][0]["partitions"] = 0; }) == "x.json: topics[0].partitions: must be at least 1, got 0");
  CHECK(with([](auto& j) { j["topics"][0]["partitions"] = "3"; }) ==
        "x.json: topics[0].partitions: expected an integer, got the string \"3\"");
  CHECK(with([](auto& j) { j["workload"]["producers"][0]["lingr"] = "5ms"; })
            .starts_with("x.json: workload.producers[0].lingr: unknown key (did you mean \"linger\"?)"));
  CHECK(with([](auto& j) { j["workload"]["producers"][0]["key_distribution"] = "gauss"; }) ==
        "x.json: workload.producers[0].key_distribution: expected one of \"none\", \"uniform\", \"zipf\", "
        "\"sequential\", got the string \"gauss\"");
  CHECK(with([](auto& j) { j["workload"]["producers"][0]["topic"] = "u"; }) ==
        "x.json: workload.producers[0].topic: topic \"u\" is not declared in topics (declared: \"t\")");
  CHECK(with([](auto& j) { j["duration"] = "10"; }).starts_with("x.json: duration: \"10\" is not a duration"));
  CHECK(with([](auto& j) { j["faults"]["scripted"] = {{{"at", "1s"}, {"kill", "broker-5"}}}; }) ==
        "x.json: faults.scripted[0].kill: no such node \"broker-5\" (the cluster has broker-0..broker-0 and "
        "\"client\")");
  CHECK(with([](auto& j) { j["faults"]["scripted"] = {{{"at", "10s"}, {"kill", "broker-0"}}}; })
            .starts_with("x.json: faults.scripted[0].at: 10s is not before the end of the run's duration"));
  CHECK(with([](auto& j) { j["faults"]["scripted"] = {{{"at", "1s"}, {"kill", "broker-0"}, {"pause", "broker-0"}}}; }) ==
        "x.json: faults.scripted[0]: names 2 faults (kill, pause): give exactly one");
  CHECK(with([](auto& j) { j["faults"]["scripted"] = {{{"at", "1s"}, {"pause", "broker-0"}}}; }) ==
        "x.json: faults.scripted[0].duration: missing: a pause needs a duration");
  CHECK(with([](auto& j) {
          j["faults"]["scripted"] = {{{"at", "1s"}, {"partition", {{"broker-0"}, {"client", "broker-0"}}}}};
        }) == "x.json: faults.scripted[0].partition[1][1]: \"broker-0\" is in more than one set: the sets must be "
              "disjoint");
  CHECK(with([](auto& j) { j["topics"].push_back({{"name", "t"}}); }) ==
        "x.json: topics[1].name: topic \"t\" is declared twice");
  CHECK(with([](auto& j) { j["topics"][0]["name"] = "a b"; }).starts_with("x.json: topics[0].name: \"a b\" has the character ' '"));
  CHECK(with([](auto& j) { j["topics"][0]["replication_factor"] = 2; }) ==
        "x.json: topics[0].replication_factor: 2 is more than the cluster's 1 broker(s)");
  CHECK(with([](auto& j) { j["checks"] = {"lost-writes"}; }).starts_with("x.json: checks[0]: unknown check \"lost-writes\" (known: lost-write, unseen"));
  CHECK(with([](auto& j) { j.erase("workload"); }) == "x.json: workload: missing: a scenario needs at least one producer");
  CHECK(with([](auto& j) { j["cluster"] = {{"broker_config", {{"3", {{"a", "b"}}}}}}; }) ==
        "x.json: cluster.broker_config.3: not a broker index 0..0");
}

TEST_CASE("scenario: a reassign fault names a declared partition and brokers, random ones, or a cancel", "[scenario]") {
  auto j = nlohmann::json::parse(minimal);
  j["cluster"] = {{"brokers", 3}};
  const auto fault = [&](nlohmann::json f) {
    auto k = j;
    f["at"] = "1s";
    k["faults"]["scripted"] = {f};
    return k.dump();
  };
  auto ok = parse_scenario(fault({{"reassign", "t-2"}, {"replicas", {"broker-2", "broker-0"}}}), "x.json");
  REQUIRE(ok);
  REQUIRE(ok->faults.size() == 1);
  CHECK(ok->faults[0].kind == FaultKind::reassign);
  CHECK(ok->faults[0].topic == "t");
  CHECK(ok->faults[0].partition == 2);
  CHECK(ok->faults[0].target == ReassignTarget::listed);
  CHECK(ok->faults[0].replicas == std::vector<NodeRef>{{false, 2}, {false, 0}});
  CHECK(parse_scenario(fault({{"reassign", "t-0"}}), "x.json")->faults[0].target == ReassignTarget::random);
  CHECK(parse_scenario(fault({{"reassign", "t-0"}, {"replicas", "random"}}), "x.json")->faults[0].target == ReassignTarget::random);
  CHECK(parse_scenario(fault({{"reassign", "t-0"}, {"replicas", nullptr}}), "x.json")->faults[0].target == ReassignTarget::cancel);

  CHECK(error_of(fault({{"reassign", "t"}})) ==
        "x.json: faults.scripted[0].reassign: \"t\" is not a partition: a topic, a dash and an index, such as \"orders-0\"");
  CHECK(error_of(fault({{"reassign", "u-0"}})) == "x.json: faults.scripted[0].reassign: no topic \"u\" among the scenario's topics");
  CHECK(error_of(fault({{"reassign", "t-3"}})) ==
        "x.json: faults.scripted[0].reassign: topic \"t\" has 3 partitions, so no partition 3");
  CHECK(error_of(fault({{"reassign", "t-0"}, {"replicas", {"broker-1", "client"}}})) ==
        "x.json: faults.scripted[0].replicas[1]: the client holds no replicas: name brokers");
  CHECK(error_of(fault({{"reassign", "t-0"}, {"replicas", {"broker-1", "broker-1"}}})) ==
        "x.json: faults.scripted[0].replicas[1]: broker-1 is listed twice");
  CHECK(error_of(fault({{"reassign", "t-0"}, {"replicas", nlohmann::json::array()}})) ==
        "x.json: faults.scripted[0].replicas: expected a non-empty list of brokers, \"random\", or null (cancel the "
        "reassignment), got an empty array");
  CHECK(error_of(fault({{"kill", "broker-0"}, {"replicas", {"broker-1"}}})) ==
        "x.json: faults.scripted[0].replicas: does not apply to a kill");
  auto single = nlohmann::json::parse(minimal);
  single["faults"]["scripted"] = {{{"at", "1s"}, {"reassign", "t-0"}}};
  CHECK(error_of(single.dump()) ==
        "x.json: faults.scripted[0].reassign: a reassignment needs a replicated cluster (brokers of 2 or more)");
  single.erase("faults");
  single["faults"]["random"] = {{"reassign", 3}};
  CHECK(error_of(single.dump()) ==
        "x.json: faults.random.reassign: a reassignment needs a replicated cluster (brokers of 2 or more)");
  j["faults"]["random"] = {{"reassign", 3}};
  auto rated = parse_scenario(j.dump(), "x.json");
  REQUIRE(rated);
  CHECK(rated->random_faults.options.reassign_per_min == 3);
}

TEST_CASE("scenario: malformed JSON is reported with its line and column", "[scenario]") {
  const std::string e = error_of("{\n  \"topics\": [\n    {\"name\": \"a\",,}\n  ]\n}");
  CHECK(e.starts_with("x.json:3:18: not valid JSON"));
}

TEST_CASE("scenario: a file that cannot be read is named", "[scenario]") {
  auto s = load_scenario("/nonexistent/dir/s.json");
  REQUIRE_FALSE(s);
  CHECK(s.error().message == "cannot read scenario '/nonexistent/dir/s.json': No such file or directory");
}

TEST_CASE("scenario: the complete example in scenarios/README.md parses", "[scenario]") {
  std::ifstream in(repo_path("scenarios/README.md"));
  std::stringstream text;
  text << in.rdbuf();
  const std::string readme = text.str();
  const auto at = readme.find("```json\n");
  REQUIRE(at != std::string::npos);
  const auto end = readme.find("```", at + 8);
  auto s = parse_scenario(readme.substr(at + 8, end - at - 8), "README example");
  INFO((s ? std::string() : s.error().message));
  REQUIRE(s);
  CHECK(s->faults.size() == 3);
}

TEST_CASE("scenario: workload.delete_records names a declared topic and a period, and round-trips", "[scenario]") {
  auto s = parse_scenario(R"({
    "topics": [ { "name": "t", "partitions": 3 } ],
    "workload": { "producers": [ { "topic": "t" } ], "delete_records": [ { "topic": "t", "every": "750ms" }, { "topic": "t" } ] },
    "duration": "10s"
  })",
                          "d.json");
  INFO((s ? std::string() : s.error().message));
  REQUIRE(s);
  REQUIRE(s->workload.delete_records.size() == 2);
  CHECK(s->workload.delete_records[0].topic == "t");
  CHECK(s->workload.delete_records[0].every == std::chrono::milliseconds(750));
  CHECK(s->workload.delete_records[1].every == std::chrono::seconds(2));
  auto again = parse_scenario(to_json(*s).dump(), "again.json");
  REQUIRE(again);
  CHECK(again->workload.delete_records.size() == 2);
  CHECK(again->workload.delete_records[0].every == std::chrono::milliseconds(750));

  CHECK_THAT(with([](auto& j) { j["workload"]["delete_records"] = {{{"topic", "nope"}}}; }),
             Catch::Contains("workload.delete_records[0].topic"));
  CHECK_THAT(with([](auto& j) { j["workload"]["delete_records"] = {{{"topic", "t"}, {"every", "1ms"}}}; }),
             Catch::Contains("workload.delete_records[0].every: must be at least 10ms"));
  CHECK_THAT(with([](auto& j) { j["workload"]["delete_records"] = {{{"every", "1s"}}}; }),
             Catch::Contains("workload.delete_records[0].topic: missing"));
}

TEST_CASE("scenario: workload.create_partitions grows a declared topic within the duration, and round-trips", "[scenario]") {
  auto s = parse_scenario(R"({
    "topics": [ { "name": "t", "partitions": 3 }, { "name": "u" } ],
    "workload": { "producers": [ { "topic": "t" } ],
                  "create_partitions": [ { "topic": "t", "at": "7s", "count": 8 }, { "topic": "t", "at": "2s", "count": 5 } ] },
    "duration": "10s"
  })",
                          "c.json");
  INFO((s ? std::string() : s.error().message));
  REQUIRE(s);
  REQUIRE(s->workload.create_partitions.size() == 2);
  CHECK(s->workload.create_partitions[0].at == std::chrono::seconds(2));  // in order of `at`
  CHECK(s->workload.create_partitions[0].count == 5);
  CHECK(s->workload.create_partitions[1].count == 8);
  CHECK(final_partitions(s->topics[0], s->workload) == 8);
  CHECK(final_partitions(s->topics[1], s->workload) == 1);
  auto again = parse_scenario(to_json(*s).dump(), "again.json");
  REQUIRE(again);
  REQUIRE(again->workload.create_partitions.size() == 2);
  CHECK(again->workload.create_partitions[1].at == std::chrono::seconds(7));

  const auto grow = [](nlohmann::json entries) { return with([&](auto& j) { j["workload"]["create_partitions"] = entries; }); };
  CHECK_THAT(grow({{{"topic", "nope"}, {"at", "1s"}, {"count", 4}}}), Catch::Contains("workload.create_partitions[0].topic"));
  CHECK_THAT(grow({{{"topic", "t"}, {"count", 4}}}), Catch::Contains("workload.create_partitions[0].at: missing"));
  CHECK_THAT(grow({{{"topic", "t"}, {"at", "1s"}}}), Catch::Contains("workload.create_partitions[0].count: missing"));
  CHECK_THAT(grow({{{"topic", "t"}, {"at", "1s"}, {"count", 3}}}),
             Catch::Contains("workload.create_partitions[0].count: 3 partitions would not add to topic \"t\", which has 3"));
  CHECK_THAT(grow({{{"topic", "t"}, {"at", "5s"}, {"count", 6}}, {{"topic", "t"}, {"at", "1s"}, {"count", 6}}}),
             Catch::Contains("workload.create_partitions[0].count: 6 partitions would not add to topic \"t\", which has 6"));
  CHECK_THAT(grow({{{"topic", "t"}, {"at", "10s"}, {"count", 4}}}),
             Catch::Contains("workload.create_partitions: topic t's partitions at 10s are not within the duration (10s)"));
}

TEST_CASE("scenario: cluster.buggify forces named sites on, refuses unknown ones, and round-trips", "[scenario]") {
  auto s = parse_scenario(R"({
    "cluster": { "buggify": { "sites": ["task_start_late", "fetch_small_bytes"], "probability": 1.0 } },
    "topics": [ { "name": "t", "partitions": 3 } ],
    "workload": { "producers": [ { "topic": "t" } ] },
    "duration": "10s"
  })",
                          "b.json");
  INFO((s ? std::string() : s.error().message));
  REQUIRE(s);
  CHECK(s->cluster.buggify);
  CHECK(s->cluster.buggify_sites == std::vector<std::string>{"task_start_late", "fetch_small_bytes"});
  CHECK(s->cluster.buggify_probability == 1.0);
  auto again = parse_scenario(to_json(*s).dump(), "again.json");
  REQUIRE(again);
  CHECK(again->cluster.buggify_sites == s->cluster.buggify_sites);
  CHECK(again->cluster.buggify_probability == 1.0);
  // Without a probability, forced sites fire half the time; true and false still work.
  auto half = parse_scenario(R"({"cluster": {"buggify": {"sites": ["timer_late"]}}, "topics": [{"name": "t"}],
                                 "workload": {"producers": [{"topic": "t"}]}, "duration": "10s"})",
                             "h.json");
  REQUIRE(half);
  CHECK(half->cluster.buggify_probability == 0.5);

  CHECK_THAT(with([](auto& j) { j["cluster"] = {{"buggify", {{"sites", {"task_start_lat"}}}}}; }),
             Catch::StartsWith("x.json: cluster.buggify.sites[0]: unknown BUGGIFY site \"task_start_lat\" (did you mean "
                               "\"task_start_late\"?); known sites: "));
  CHECK(with([](auto& j) { j["cluster"] = {{"buggify", {{"sites", nlohmann::json::array()}}}}; }) ==
        "x.json: cluster.buggify.sites: empty: name at least one site, or set \"buggify\" to true or false");
  CHECK(with([](auto& j) { j["cluster"] = {{"buggify", {{"probability", 0.5}}}}; }) ==
        "x.json: cluster.buggify.sites: missing: the BUGGIFY sites to force on");
  CHECK(with([](auto& j) { j["cluster"] = {{"buggify", {{"sites", {"timer_late"}}, {"probability", 0}}}}; }) ==
        "x.json: cluster.buggify.probability: must be more than 0 (a forced site that never fires)");
  CHECK(with([](auto& j) { j["cluster"] = {{"buggify", "yes"}}; }) ==
        "x.json: cluster.buggify: expected an object, got the string \"yes\"");
}
