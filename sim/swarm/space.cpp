#include "sim/swarm/space.h"

#include "broker/platform/random.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace keel::sim::swarm {

namespace {

using json = nlohmann::json;

struct Problem {
  std::string path;
  std::string message;
};

[[noreturn]] void fail(const std::string& path, std::string message) { throw Problem{path, std::move(message)}; }

std::string at(const std::string& key) { return "swarm." + key; }

void known_keys(const json& j, const std::string& path, const std::vector<std::string>& known) {
  if (!j.is_object()) fail(path, "expected an object, got " + j.dump());
  for (const auto& [key, value] : j.items()) {
    if (std::find(known.begin(), known.end(), key) == known.end())
      fail(path.empty() ? key : path + "." + key, fmt::format("unknown key; known keys: {}", fmt::join(known, ", ")));
  }
}

// [lo, hi] or one number (lo = hi), within [min, max].
IntRange int_range(const json& o, const std::string& key, IntRange fallback, std::int64_t min, std::int64_t max) {
  if (!o.contains(key)) return fallback;
  const json& v = o[key];
  IntRange r;
  if (v.is_number_integer()) {
    r.lo = r.hi = v.get<std::int64_t>();
  } else if (v.is_array() && v.size() == 2 && v[0].is_number_integer() && v[1].is_number_integer()) {
    r = {v[0].get<std::int64_t>(), v[1].get<std::int64_t>()};
  } else {
    fail(at(key), "expected an integer or a range [lo, hi] of integers, got " + v.dump());
  }
  if (r.lo > r.hi) fail(at(key), fmt::format("the range [{}, {}] is empty", r.lo, r.hi));
  if (r.lo < min || r.hi > max) fail(at(key), fmt::format("must lie within [{}, {}], got {}", min, max, v.dump()));
  return r;
}

NumberRange number_range(const json& o, const std::string& key, NumberRange fallback, double min, double max) {
  if (!o.contains(key)) return fallback;
  const json& v = o[key];
  NumberRange r;
  if (v.is_number()) {
    r.lo = r.hi = v.get<double>();
  } else if (v.is_array() && v.size() == 2 && v[0].is_number() && v[1].is_number()) {
    r = {v[0].get<double>(), v[1].get<double>()};
  } else {
    fail(at(key), "expected a number or a range [lo, hi] of numbers, got " + v.dump());
  }
  if (r.lo > r.hi) fail(at(key), fmt::format("the range [{}, {}] is empty", r.lo, r.hi));
  if (r.lo < min || r.hi > max) fail(at(key), fmt::format("must lie within [{}, {}], got {}", min, max, v.dump()));
  return r;
}

double chance(const json& o, const std::string& key, double fallback) {
  if (!o.contains(key)) return fallback;
  const json& v = o[key];
  if (!v.is_number() || v.get<double>() < 0 || v.get<double>() > 1)
    fail(at(key), "expected a probability in [0, 1], got " + v.dump());
  return v.get<double>();
}

std::vector<std::int16_t> acks_list(const json& o, std::vector<std::int16_t> fallback) {
  if (!o.contains("acks")) return fallback;
  const json& v = o["acks"];
  if (!v.is_array() || v.empty()) fail(at("acks"), "expected a non-empty list of 0, 1 and \"all\", got " + v.dump());
  std::vector<std::int16_t> out;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (v[i] == "all" || v[i] == -1)
      out.push_back(-1);
    else if (v[i] == 0 || v[i] == 1)
      out.push_back(v[i].get<std::int16_t>());
    else
      fail(fmt::format("{}[{}]", at("acks"), i), "expected 0, 1 or \"all\", got " + v[i].dump());
  }
  return out;
}

std::vector<std::string> names_list(const json& o, const std::string& key, std::vector<std::string> fallback,
                                    const std::vector<std::string>& known) {
  if (!o.contains(key)) return fallback;
  const json& v = o[key];
  if (!v.is_array()) fail(at(key), "expected a list of names, got " + v.dump());
  std::vector<std::string> out;
  for (std::size_t i = 0; i < v.size(); ++i) {
    const std::string path = fmt::format("{}[{}]", at(key), i);
    if (!v[i].is_string()) fail(path, "expected a name, got " + v[i].dump());
    const std::string name = v[i].get<std::string>();
    if (std::find(known.begin(), known.end(), name) == known.end())
      fail(path, fmt::format("unknown \"{}\" (known: {})", name, fmt::join(known, ", ")));
    if (std::find(out.begin(), out.end(), name) != out.end()) fail(path, fmt::format("\"{}\" is listed twice", name));
    out.push_back(name);
  }
  return out;
}

std::map<std::string, std::string> settings(const json& o, const std::string& key) {
  std::map<std::string, std::string> out;
  if (!o.contains(key)) return out;
  if (!o[key].is_object()) fail(at(key), "expected an object of server.properties settings, got " + o[key].dump());
  for (const auto& [k, v] : o[key].items()) {
    if (v.is_string())
      out[k] = v.get<std::string>();
    else if (v.is_boolean())
      out[k] = v.get<bool>() ? "true" : "false";
    else if (v.is_number_integer())
      out[k] = v.dump();
    else
      fail(at(key) + "." + k, "expected a string, an integer or a boolean, got " + v.dump());
  }
  return out;
}

// The quiescence object reuses the scenario parser (the same keys, the same checks).
scenario::QuiescenceSpec quiescence(const json& o) {
  if (!o.contains("quiescence")) return {};
  json probe = {{"topics", {{{"name", "t"}}}},
                {"workload", {{"producers", {{{"topic", "t"}}}}}},
                {"duration", "1s"},
                {"quiescence", o["quiescence"]}};
  auto s = scenario::parse_scenario(probe.dump(), "swarm");
  if (!s) {
    std::string message = s.error().message;
    if (message.starts_with("swarm: ")) message = message.substr(7);
    fail("swarm", message);
  }
  return s->quiescence;
}

const std::vector<std::string> swarm_keys = {
    "brokers",    "controllers",        "randomize_config",    "replica_lag_ms", "config",         "topics",
    "partitions", "replication_factor", "min_insync_replicas", "producers",      "producer_count", "rate",
    "acks",       "max_in_flight",      "consumers",           "consumer_count", "fault_kinds",    "fault_kind_chance",
    "fault_rate", "faulty_nodes_max",   "duration_s",          "quiescence",     "checks"};

SwarmSpace parse_swarm(const json& o) {
  known_keys(o, "swarm", swarm_keys);
  SwarmSpace s;
  s.brokers = int_range(o, "brokers", s.brokers, 1, 64);
  s.controllers = int_range(o, "controllers", s.controllers, 1, 64);
  s.randomize_config_chance = chance(o, "randomize_config", s.randomize_config_chance);
  s.replica_lag_ms = int_range(o, "replica_lag_ms", s.replica_lag_ms, 100, 600000);
  s.config = settings(o, "config");
  s.topics = int_range(o, "topics", s.topics, 1, 100);
  s.partitions = int_range(o, "partitions", s.partitions, 1, 1000);
  s.replication_factor = int_range(o, "replication_factor", s.replication_factor, 1, 64);
  s.min_insync_replicas = int_range(o, "min_insync_replicas", s.min_insync_replicas, 1, 64);
  s.producers = int_range(o, "producers", s.producers, 1, 100);
  s.producer_count = int_range(o, "producer_count", s.producer_count, 1, 1000);
  s.rate = number_range(o, "rate", s.rate, 1e-3, 1e6);
  s.acks = acks_list(o, s.acks);
  s.max_in_flight = int_range(o, "max_in_flight", s.max_in_flight, 1, 100);
  s.consumers = int_range(o, "consumers", s.consumers, 0, 100);
  s.consumer_count = int_range(o, "consumer_count", s.consumer_count, 1, 1000);
  s.fault_kinds = names_list(o, "fault_kinds", s.fault_kinds, random_fault_kinds());
  s.fault_kind_chance = chance(o, "fault_kind_chance", s.fault_kind_chance);
  s.fault_rate = number_range(o, "fault_rate", s.fault_rate, 0, 10000);
  s.faulty_nodes_max = int_range(o, "faulty_nodes_max", s.faulty_nodes_max, 0, 64);
  s.duration_s = int_range(o, "duration_s", s.duration_s, 1, 86400);
  s.quiescence = quiescence(o);
  s.checks = names_list(o, "checks", s.checks, scenario::all_check_names());
  return s;
}

SwarmSpace parse_top(const json& j, std::string_view source_name) {
  if (j.is_object() && !j.contains("swarm") && j.contains("workload"))
    fail("(top level)", "a scenario file, not a swarm space: a swarm space is {\"name\": ..., \"swarm\": {ranges}} "
                        "(scenarios/README.md, \"Swarm spaces\"); run a scenario with `keel-sim run` or `sweep`");
  known_keys(j, "", {"name", "description", "swarm"});
  if (!j.contains("swarm"))
    fail("swarm", "missing: a swarm space file has a \"swarm\" object (it may be empty: the whole space)");
  SwarmSpace s = parse_swarm(j["swarm"]);
  s.name = std::filesystem::path(std::string(source_name)).stem().string();
  if (j.contains("name")) {
    if (!j["name"].is_string()) fail("name", "expected a string, got " + j["name"].dump());
    s.name = j["name"].get<std::string>();
  }
  if (s.name.empty() || !std::all_of(s.name.begin(), s.name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
      }))
    fail("name", fmt::format("\"{}\" must be letters, digits, '.', '_' and '-' (it names the report folder)", s.name));
  if (j.contains("description")) {
    if (!j["description"].is_string()) fail("description", "expected a string, got " + j["description"].dump());
    s.description = j["description"].get<std::string>();
  }
  return s;
}

}  // namespace

const std::vector<std::string>& random_fault_kinds() {
  static const std::vector<std::string> kinds = {"kill", "power_off",  "pause",       "isolate", "one_way",
                                                 "clog", "clock_jump", "disk_faults", "reassign"};
  return kinds;
}

Result<SwarmSpace> parse_space(std::string_view json_text, std::string_view source_name) {
  json j;
  try {
    j = json::parse(json_text);
  } catch (const json::parse_error& e) {
    return make_error(Errc::invalid_argument, fmt::format("{}: not valid JSON: {}", source_name, e.what()));
  }
  try {
    return parse_top(j, source_name);
  } catch (const Problem& p) {
    return make_error(Errc::invalid_argument, fmt::format("{}: {}: {}", source_name, p.path, p.message));
  }
}

Result<SwarmSpace> load_space(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return make_error(Errc::not_found, fmt::format("cannot read swarm space '{}': {}", path, std::strerror(errno)));
  std::ostringstream text;
  text << in.rdbuf();
  auto s = parse_space(text.str(), path);
  if (s) s->source_path = path;
  return s;
}

}  // namespace keel::sim::swarm
