#include "sim/scenario/scenario.h"

#include "broker/client/assignors/assignor.h"
#include "broker/config/config.h"
#include "sim/world.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace keel::sim::scenario {

namespace {

using json = nlohmann::json;

// Thrown inside the parser, turned into the Result's error at the top.
struct Problem {
  std::string path;
  std::string message;
};

[[noreturn]] void fail(const std::string& path, std::string message) { throw Problem{path, std::move(message)}; }

std::string type_name(const json& j) {
  switch (j.type()) {
    case json::value_t::null: return "null";
    case json::value_t::object: return "an object";
    case json::value_t::array: return "an array";
    case json::value_t::string: return fmt::format("the string \"{}\"", j.get<std::string>());
    case json::value_t::boolean: return j.get<bool>() ? "true" : "false";
    case json::value_t::number_float: return fmt::format("the number {}", j.get<double>());
    case json::value_t::number_integer:
    case json::value_t::number_unsigned: return fmt::format("the number {}", j.dump());
    default: return "something else";
  }
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

// A JSON object being read: every key must be one it knows.
class Obj {
 public:
  Obj(const json& j, std::string path, std::vector<std::string> known) : j_(j), path_(std::move(path)) {
    if (!j.is_object()) fail(path_.empty() ? "(top level)" : path_, "expected an object, got " + type_name(j));
    for (const auto& [key, value] : j.items()) {
      if (std::find(known.begin(), known.end(), key) != known.end()) continue;
      std::string hint;
      for (const auto& k : known) {
        if (config::edit_distance(key, k) <= 2) hint = fmt::format(" (did you mean \"{}\"?)", k);
      }
      fail(at(key), fmt::format("unknown key{}; known keys: {}", hint, join(known)));
    }
  }

  std::string at(std::string_view key) const { return path_.empty() ? std::string(key) : fmt::format("{}.{}", path_, key); }
  const std::string& path() const { return path_; }
  bool has(const std::string& key) const { return j_.contains(key); }
  const json& operator[](const std::string& key) const { return j_.at(key); }

  std::string str(const std::string& key, std::string fallback) const {
    if (!has(key)) return fallback;
    if (!j_[key].is_string()) fail(at(key), "expected a string, got " + type_name(j_[key]));
    return j_[key].get<std::string>();
  }
  bool boolean(const std::string& key, bool fallback) const {
    if (!has(key)) return fallback;
    if (!j_[key].is_boolean()) fail(at(key), "expected true or false, got " + type_name(j_[key]));
    return j_[key].get<bool>();
  }
  std::int64_t integer(const std::string& key, std::int64_t fallback, std::int64_t lo, std::int64_t hi) const {
    if (!has(key)) return fallback;
    const json& v = j_[key];
    if (!v.is_number_integer() && !v.is_number_unsigned()) fail(at(key), "expected an integer, got " + type_name(v));
    if (v.is_number_unsigned() && v.get<std::uint64_t>() > static_cast<std::uint64_t>(hi)) {
      fail(at(key), fmt::format("must be at most {}, got {}", hi, v.dump()));
    }
    const auto n = v.get<std::int64_t>();
    if (n < lo) fail(at(key), fmt::format("must be at least {}, got {}", lo, n));
    if (n > hi) fail(at(key), fmt::format("must be at most {}, got {}", hi, n));
    return n;
  }
  double number(const std::string& key, double fallback, double lo, double hi) const {
    if (!has(key)) return fallback;
    const json& v = j_[key];
    if (!v.is_number()) fail(at(key), "expected a number, got " + type_name(v));
    const double d = v.get<double>();
    if (!(d >= lo && d <= hi)) fail(at(key), fmt::format("must be in [{}, {}], got {}", lo, hi, d));
    return d;
  }
  Duration duration(const std::string& key, Duration fallback, Duration lo, Duration hi) const;
  std::map<std::string, std::string> settings(const std::string& key) const;

 private:
  const json& j_;
  std::string path_;
};

// "500ms", "60s", "2m", "-5s": a number and a unit, always a string so the unit is explicit.
Duration parse_signed_duration(const std::string& path, const json& v) {
  if (!v.is_string()) fail(path, "expected a duration string such as \"500ms\", \"60s\" or \"2m\", got " + type_name(v));
  std::string text = v.get<std::string>();
  const bool negative = !text.empty() && text[0] == '-';
  if (negative) text.erase(0, 1);
  Duration d{};
  const bool has_unit = !text.empty() && std::isalpha(static_cast<unsigned char>(text.back()));
  if (!has_unit || !parse_duration(text, &d)) {
    fail(path, fmt::format("\"{}\" is not a duration (a number and a unit: ns, us, ms, s, m, h; e.g. \"500ms\")",
                           v.get<std::string>()));
  }
  return negative ? -d : d;
}

Duration Obj::duration(const std::string& key, Duration fallback, Duration lo, Duration hi) const {
  if (!has(key)) return fallback;
  const Duration d = parse_signed_duration(at(key), j_[key]);
  if (d < lo) fail(at(key), fmt::format("must be at least {}, got {}", format_duration(lo), j_[key].get<std::string>()));
  if (d > hi) fail(at(key), fmt::format("must be at most {}, got {}", format_duration(hi), j_[key].get<std::string>()));
  return d;
}

// server.properties-style settings: strings, numbers and booleans, kept as their text.
std::map<std::string, std::string> Obj::settings(const std::string& key) const {
  std::map<std::string, std::string> out;
  if (!has(key)) return out;
  const json& v = j_[key];
  if (!v.is_object()) fail(at(key), "expected an object of settings, got " + type_name(v));
  for (const auto& [k, value] : v.items()) {
    if (value.is_string()) out[k] = value.get<std::string>();
    else if (value.is_boolean()) out[k] = value.get<bool>() ? "true" : "false";
    else if (value.is_number_integer() || value.is_number_unsigned()) out[k] = value.dump();
    else if (value.is_number_float()) out[k] = fmt::format("{}", value.get<double>());
    else fail(fmt::format("{}.{}", at(key), k), "expected a string, number or boolean, got " + type_name(value));
  }
  return out;
}

const json& array_at(const Obj& o, const std::string& key) {
  const json& v = o[key];
  if (!v.is_array()) fail(o.at(key), "expected an array, got " + type_name(v));
  return v;
}

std::string item_path(const std::string& path, std::size_t i) { return fmt::format("{}[{}]", path, i); }

// ---- cluster and topics ----

// "buggify": true or false (each site on or off per seed), or {"sites": [...], "probability": p}:
// exactly those sites on in every seed, each firing with probability p (default 0.5).
void parse_buggify(const Obj& cluster, ClusterSpec& c) {
  if (!cluster.has("buggify") || cluster["buggify"].is_boolean()) {
    c.buggify = cluster.boolean("buggify", true);
    return;
  }
  const Obj o(cluster["buggify"], cluster.at("buggify"), {"sites", "probability"});
  if (!o.has("sites")) fail(o.at("sites"), "missing: the BUGGIFY sites to force on");
  const json& sites = array_at(o, "sites");
  if (sites.empty()) fail(o.at("sites"), "empty: name at least one site, or set \"buggify\" to true or false");
  const auto& known = World::known_buggify_sites();
  for (std::size_t i = 0; i < sites.size(); ++i) {
    const std::string path = item_path(o.at("sites"), i);
    if (!sites[i].is_string()) fail(path, "expected a site name, got " + type_name(sites[i]));
    const auto name = sites[i].get<std::string>();
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      std::string hint;
      for (const auto& k : known) {
        if (config::edit_distance(name, k) <= 2) hint = fmt::format(" (did you mean \"{}\"?)", k);
      }
      fail(path, fmt::format("unknown BUGGIFY site \"{}\"{}; known sites: {}", name, hint, join(known)));
    }
    c.buggify_sites.push_back(name);
  }
  c.buggify_probability = o.number("probability", 0.5, 0.0, 1.0);
  if (c.buggify_probability <= 0) fail(o.at("probability"), "must be more than 0 (a forced site that never fires)");
  c.buggify = true;
}

ClusterSpec parse_cluster(const Obj& top) {
  ClusterSpec c;
  if (!top.has("cluster")) return c;
  const Obj o(top["cluster"], "cluster", {"brokers", "controllers", "config", "broker_config", "randomize_config", "buggify"});
  c.brokers = static_cast<int>(o.integer("brokers", 1, 1, 64));
  c.controllers = static_cast<int>(o.integer("controllers", 0, 0, 64));
  if (c.controllers > c.brokers) {
    fail("cluster.controllers", fmt::format("{} is more than the cluster's {} broker(s)", c.controllers, c.brokers));
  }
  c.config = o.settings("config");
  c.randomize_config = o.boolean("randomize_config", false);
  parse_buggify(o, c);
  return c;
}

// broker_config: {"0": {...}, "2": {...}}: keys are broker indices.
void parse_broker_config(const Obj& top, ClusterSpec& c) {
  if (!top.has("cluster") || !top["cluster"].contains("broker_config")) return;
  const json& v = top["cluster"]["broker_config"];
  const std::string path = "cluster.broker_config";
  if (!v.is_object()) fail(path, "expected an object keyed by broker index, got " + type_name(v));
  for (const auto& [key, settings] : v.items()) {
    int index = -1;
    try {
      std::size_t used = 0;
      index = std::stoi(key, &used);
      if (used != key.size()) index = -1;
    } catch (const std::exception&) {
    }
    if (index < 0 || index >= c.brokers) {
      fail(fmt::format("{}.{}", path, key), fmt::format("not a broker index 0..{}", c.brokers - 1));
    }
    json wrapper = {{key, settings}};
    const Obj holder(wrapper, path, {key});
    c.broker_config[index] = holder.settings(key);
  }
}

std::string topic_name_problem(const std::string& name) {
  if (name.empty()) return "must not be empty";
  if (name.size() > 249) return fmt::format("is {} characters long; the limit is 249", name.size());
  if (name == "." || name == "..") return "cannot be \".\" or \"..\"";
  for (char ch : name) {
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '.' && ch != '_' && ch != '-') {
      return fmt::format("has the character '{}'; topic names use only ASCII letters, digits, '.', '_' and '-'", ch);
    }
  }
  return {};
}

std::vector<TopicSpec> parse_topics(const Obj& top, const ClusterSpec& cluster) {
  if (!top.has("topics")) fail("topics", "missing: a scenario needs at least one topic");
  const json& a = array_at(top, "topics");
  if (a.empty()) fail("topics", "must name at least one topic");
  std::vector<TopicSpec> topics;
  std::set<std::string> names;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const Obj o(a[i], item_path("topics", i), {"name", "partitions", "replication_factor", "configs"});
    TopicSpec t;
    if (!o.has("name")) fail(o.at("name"), "missing");
    t.name = o.str("name", "");
    if (auto p = topic_name_problem(t.name); !p.empty()) fail(o.at("name"), fmt::format("\"{}\" {}", t.name, p));
    if (!names.insert(t.name).second) fail(o.at("name"), fmt::format("topic \"{}\" is declared twice", t.name));
    t.partitions = static_cast<int>(o.integer("partitions", 1, 1, 10000));
    t.replication_factor = static_cast<int>(o.integer("replication_factor", 1, 1, 64));
    if (t.replication_factor > cluster.brokers) {
      fail(o.at("replication_factor"),
           fmt::format("{} is more than the cluster's {} broker(s)", t.replication_factor, cluster.brokers));
    }
    t.configs = o.settings("configs");
    topics.push_back(std::move(t));
  }
  return topics;
}

// ---- workload ----

void require_topic(const std::vector<TopicSpec>& topics, const std::string& path, const std::string& name) {
  for (const auto& t : topics) {
    if (t.name == name) return;
  }
  std::vector<std::string> declared;
  for (const auto& t : topics) declared.push_back("\"" + t.name + "\"");
  fail(path, fmt::format("topic \"{}\" is not declared in topics (declared: {})", name, join(declared)));
}

std::int16_t parse_acks(const Obj& o) {
  if (!o.has("acks")) return -1;
  const json& v = o["acks"];
  if (v.is_string() && v.get<std::string>() == "all") return -1;
  if (v.is_number_integer()) {
    const auto n = v.get<std::int64_t>();
    if (n == 0 || n == 1 || n == -1) return static_cast<std::int16_t>(n);
  }
  fail(o.at("acks"), "expected 0, 1 or \"all\", got " + type_name(v));
}

template <class E>
E parse_enum(const Obj& o, const std::string& key, E fallback, const std::vector<std::pair<std::string, E>>& names) {
  if (!o.has(key)) return fallback;
  std::vector<std::string> quoted;
  for (const auto& [name, value] : names) {
    if (o[key].is_string() && o[key].get<std::string>() == name) return value;
    quoted.push_back("\"" + name + "\"");
  }
  fail(o.at(key), fmt::format("expected one of {}, got {}", join(quoted), type_name(o[key])));
}

std::vector<RecordTimestamps> parse_timestamps(const Obj& o) {
  std::vector<RecordTimestamps> out;
  if (!o.has("timestamps")) return out;
  const json& a = array_at(o, "timestamps");
  const std::vector<std::pair<std::string, RecordTimestamps>> names = {
      {"now", RecordTimestamps::now}, {"none", RecordTimestamps::none},
      {"past", RecordTimestamps::past}, {"future", RecordTimestamps::future}};
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto it = std::find_if(names.begin(), names.end(), [&](const auto& n) { return a[i] == n.first; });
    if (it == names.end()) {
      fail(item_path(o.at("timestamps"), i),
           fmt::format("expected \"now\", \"none\", \"past\" or \"future\", got {}", type_name(a[i])));
    }
    out.push_back(it->second);
  }
  return out;
}

ProducerSpec parse_producer(const json& j, const std::string& path, const std::vector<TopicSpec>& topics) {
  const Obj o(j, path,
              {"count", "topic", "rate", "record_bytes", "key_distribution", "keys", "acks", "linger", "batch_bytes",
               "max_in_flight", "request_timeout", "delivery_timeout", "retry_backoff", "timestamps"});
  ProducerSpec p;
  p.count = static_cast<int>(o.integer("count", 1, 1, 1000));
  if (!o.has("topic")) fail(o.at("topic"), "missing: the topic this producer writes to");
  p.topic = o.str("topic", "");
  require_topic(topics, o.at("topic"), p.topic);
  p.rate = o.number("rate", p.rate, 1e-3, 1e6);
  p.record_bytes = static_cast<int>(o.integer("record_bytes", p.record_bytes, 24, 1 << 20));
  p.key_distribution = parse_enum<KeyDistribution>(o, "key_distribution", p.key_distribution,
                                                   {{"none", KeyDistribution::none},
                                                    {"uniform", KeyDistribution::uniform},
                                                    {"zipf", KeyDistribution::zipf},
                                                    {"sequential", KeyDistribution::sequential}});
  p.keys = static_cast<int>(o.integer("keys", p.keys, 1, 1'000'000));
  p.acks = parse_acks(o);
  p.linger = o.duration("linger", p.linger, Duration(0), 1min);
  p.batch_bytes = static_cast<int>(o.integer("batch_bytes", p.batch_bytes, 1, 16 << 20));
  p.max_in_flight = static_cast<int>(o.integer("max_in_flight", p.max_in_flight, 1, 100));
  p.request_timeout = o.duration("request_timeout", p.request_timeout, 1ms, 1h);
  p.delivery_timeout = o.duration("delivery_timeout", p.delivery_timeout, 1ms, 1h);
  p.retry_backoff = o.duration("retry_backoff", p.retry_backoff, Duration(0), 1min);
  p.timestamps = parse_timestamps(o);
  return p;
}

ConsumerSpec parse_consumer(const json& j, const std::string& path, const std::vector<TopicSpec>& topics) {
  const Obj o(j, path, {"count", "topics", "assignment", "fetch_max_wait", "poll_timeout", "request_timeout"});
  ConsumerSpec c;
  c.count = static_cast<int>(o.integer("count", 1, 1, 1000));
  if (!o.has("topics")) fail(o.at("topics"), "missing: the topics this consumer reads");
  const json& a = array_at(o, "topics");
  if (a.empty()) fail(o.at("topics"), "must name at least one topic");
  for (std::size_t i = 0; i < a.size(); ++i) {
    const std::string p = item_path(o.at("topics"), i);
    if (!a[i].is_string()) fail(p, "expected a topic name, got " + type_name(a[i]));
    require_topic(topics, p, a[i].get<std::string>());
    c.topics.push_back(a[i].get<std::string>());
  }
  c.assignment = parse_enum<Assignment>(o, "assignment", c.assignment, {{"all", Assignment::all}, {"split", Assignment::split}});
  c.fetch_max_wait = o.duration("fetch_max_wait", c.fetch_max_wait, Duration(0), 1min);
  c.poll_timeout = o.duration("poll_timeout", c.poll_timeout, 1ms, 1min);
  c.request_timeout = o.duration("request_timeout", c.request_timeout, 1ms, 1h);
  return c;
}

const std::vector<std::pair<std::string, MemberAction>>& member_actions() {
  static const std::vector<std::pair<std::string, MemberAction>> names = {
      {"join", MemberAction::join},       {"leave", MemberAction::leave}, {"crash", MemberAction::crash},
      {"restart", MemberAction::restart}, {"slow", MemberAction::slow},   {"pause", MemberAction::pause}};
  return names;
}

std::vector<std::string> string_list(const Obj& o, const std::string& key) {
  const json& a = array_at(o, key);
  if (a.empty()) fail(o.at(key), "must list at least one");
  std::vector<std::string> out;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (!a[i].is_string()) fail(item_path(o.at(key), i), "expected a string, got " + type_name(a[i]));
    out.push_back(a[i].get<std::string>());
  }
  return out;
}

bool timed_action(MemberAction a) {
  return a == MemberAction::restart || a == MemberAction::slow || a == MemberAction::pause;
}

MemberBehaviour parse_behaviour(const json& j, const std::string& path, int members) {
  const Obj o(j, path, {"at", "member", "action", "duration"});
  MemberBehaviour b;
  if (!o.has("at")) fail(o.at("at"), "missing: when it happens, e.g. \"20s\"");
  b.at = o.duration("at", Duration(0), Duration(0), 24h);
  if (!o.has("member")) fail(o.at("member"), "missing: which member (0-based)");
  b.member = static_cast<int>(o.integer("member", 0, 0, members - 1));
  if (!o.has("action")) fail(o.at("action"), "missing: join, leave, crash, restart, slow or pause");
  b.action = parse_enum<MemberAction>(o, "action", b.action, member_actions());
  const bool timed = timed_action(b.action);
  if (timed && !o.has("duration")) fail(o.at("duration"), fmt::format("missing: how long the {} lasts", o.str("action", "")));
  if (!timed && o.has("duration")) fail(o.at("duration"), fmt::format("a {} takes no duration", o.str("action", "")));
  b.duration = o.duration("duration", Duration(0), timed ? 1ms : Duration(0), 1h);
  return b;
}

RandomBehaviourSpec parse_random_behaviours(const Obj& group) {
  const Obj o(group["random"], group.at("random"), {"per_minute", "actions", "down", "duration"});
  RandomBehaviourSpec r;
  r.per_minute = o.number("per_minute", r.per_minute, 0, 1000);
  if (!o.has("actions")) fail(o.at("actions"), "missing: which actions to draw (leave, crash, restart, slow, pause)");
  const auto names = string_list(o, "actions");
  for (std::size_t i = 0; i < names.size(); ++i) {
    const auto it = std::find_if(member_actions().begin(), member_actions().end(), [&](const auto& a) { return a.first == names[i]; });
    if (it == member_actions().end() || it->second == MemberAction::join) {
      fail(item_path(o.at("actions"), i), fmt::format("expected \"leave\", \"crash\", \"restart\", \"slow\" or \"pause\", got \"{}\"", names[i]));
    }
    r.actions.push_back(it->second);
  }
  r.down = o.duration("down", r.down, 1ms, 1h);
  r.duration = o.duration("duration", r.duration, 1ms, 1h);
  return r;
}

void parse_group_assignors(const Obj& o, GroupSpec& g) {
  if (!o.has("assignors")) return;
  g.assignors = string_list(o, "assignors");
  for (std::size_t i = 0; i < g.assignors.size(); ++i) {
    if (!client::assignors::assignor_by_name(g.assignors[i])) {
      fail(item_path(o.at("assignors"), i),
           fmt::format("unknown assignor \"{}\" (known: range, roundrobin, sticky, cooperative-sticky)", g.assignors[i]));
    }
  }
}

// "protocol" and the assignors that go with it: client assignors for classic, a server assignor for
// consumer (KIP-848), whose member timeouts are the coordinator's (the cluster config's).
void parse_group_protocol(const Obj& o, GroupSpec& g) {
  g.protocol = parse_enum<GroupProtocolKind>(o, "protocol", g.protocol,
                                             {{"classic", GroupProtocolKind::classic}, {"consumer", GroupProtocolKind::consumer}});
  if (g.protocol == GroupProtocolKind::classic) {
    if (o.has("assignor"))
      fail(o.at("assignor"), "a server assignor is for \"protocol\": \"consumer\"; the classic protocol takes \"assignors\"");
    parse_group_assignors(o, g);
    return;
  }
  if (o.has("assignors"))
    fail(o.at("assignors"), "client assignors are for the classic protocol; with \"protocol\": \"consumer\" the "
                            "coordinator assigns: use \"assignor\": \"uniform\" or \"range\"");
  for (const char* key : {"session_timeout", "heartbeat_interval"}) {
    if (o.has(key))
      fail(o.at(key), fmt::format("the coordinator sets it with \"protocol\": \"consumer\": use the cluster config's "
                                  "group.consumer.{}", std::string_view(key) == "session_timeout" ? "session.timeout.ms"
                                                                                                  : "heartbeat.interval.ms"));
  }
  g.assignor = o.str("assignor", g.assignor);
  if (g.assignor != "uniform" && g.assignor != "range")
    fail(o.at("assignor"), fmt::format("unknown server assignor \"{}\" (known: uniform, range)", g.assignor));
}

// A pause is one past the session timeout (shorter, the member is not missed: nothing happens).
void check_pause(const std::string& path, Duration pause, Duration session_timeout, std::string_view what) {
  if (pause > session_timeout) return;
  fail(path, fmt::format("{} lasts {}, not longer than the session timeout ({}): a pause must outlast it", what,
                         format_duration(pause), format_duration(session_timeout)));
}

GroupSpec parse_group(const json& j, const std::string& path, const std::vector<TopicSpec>& topics) {
  const Obj o(j, path,
              {"group", "topics", "members", "protocol", "assignors", "assignor", "commit", "static", "session_timeout",
               "heartbeat_interval", "rebalance_timeout", "auto_commit_interval", "poll_timeout", "request_timeout",
               "behaviours", "random"});
  GroupSpec g;
  if (!o.has("group")) fail(o.at("group"), "missing: the group id");
  g.group_id = o.str("group", "");
  if (g.group_id.empty()) fail(o.at("group"), "must not be empty");
  if (!o.has("topics")) fail(o.at("topics"), "missing: the topics the members subscribe to");
  g.topics = string_list(o, "topics");
  for (std::size_t i = 0; i < g.topics.size(); ++i) require_topic(topics, item_path(o.at("topics"), i), g.topics[i]);
  g.members = static_cast<int>(o.integer("members", g.members, 1, 100));
  parse_group_protocol(o, g);
  g.commit = parse_enum<CommitMode>(o, "commit", g.commit,
                                    {{"sync", CommitMode::sync}, {"async", CommitMode::async}, {"auto", CommitMode::auto_commit}});
  g.static_members = o.boolean("static", g.static_members);
  if (g.protocol == GroupProtocolKind::classic) {
    g.session_timeout = o.duration("session_timeout", g.session_timeout, 1ms, 1h);
    g.heartbeat_interval = o.duration("heartbeat_interval", g.heartbeat_interval, 1ms, 1h);
    if (g.heartbeat_interval >= g.session_timeout) fail(o.at("heartbeat_interval"), "must be below session_timeout");
  }
  g.rebalance_timeout = o.duration("rebalance_timeout", g.rebalance_timeout, 1ms, 1h);
  g.auto_commit_interval = o.duration("auto_commit_interval", g.auto_commit_interval, 1ms, 1h);
  g.poll_timeout = o.duration("poll_timeout", g.poll_timeout, 1ms, 1min);
  g.request_timeout = o.duration("request_timeout", g.request_timeout, 1ms, 1h);
  if (o.has("behaviours")) {
    const json& a = array_at(o, "behaviours");
    for (std::size_t i = 0; i < a.size(); ++i) {
      g.behaviours.push_back(parse_behaviour(a[i], item_path(o.at("behaviours"), i), g.members));
      if (g.behaviours.back().action == MemberAction::pause && g.protocol == GroupProtocolKind::classic)
        check_pause(item_path(o.at("behaviours"), i) + ".duration", g.behaviours.back().duration, g.session_timeout, "the pause");
    }
    std::stable_sort(g.behaviours.begin(), g.behaviours.end(), [](const auto& a, const auto& b) { return a.at < b.at; });
  }
  if (o.has("random")) g.random = parse_random_behaviours(o);
  if (std::find(g.random.actions.begin(), g.random.actions.end(), MemberAction::pause) != g.random.actions.end() &&
      g.protocol == GroupProtocolKind::classic)
    check_pause(o.at("random") + ".duration", g.random.duration, g.session_timeout, "a random pause");
  return g;
}

DeleteRecordsSpec parse_delete_records(const json& j, const std::string& path, const std::vector<TopicSpec>& topics) {
  const Obj o(j, path, {"topic", "every"});
  DeleteRecordsSpec d;
  if (!o.has("topic") || !j["topic"].is_string()) fail(o.at("topic"), "missing: the topic whose records are deleted");
  d.topic = j["topic"].get<std::string>();
  require_topic(topics, o.at("topic"), d.topic);
  d.every = o.duration("every", d.every, 10ms, 1h);
  return d;
}

CreatePartitionsSpec parse_create_partitions(const json& j, const std::string& path, const std::vector<TopicSpec>& topics) {
  const Obj o(j, path, {"topic", "at", "count"});
  CreatePartitionsSpec c;
  if (!o.has("topic") || !j["topic"].is_string()) fail(o.at("topic"), "missing: the topic that gets partitions");
  c.topic = j["topic"].get<std::string>();
  require_topic(topics, o.at("topic"), c.topic);
  if (!o.has("at")) fail(o.at("at"), "missing: when the partitions are created, e.g. \"5s\"");
  c.at = o.duration("at", c.at, Duration(0), 24h);
  if (!o.has("count")) fail(o.at("count"), "missing: how many partitions the topic has afterwards");
  c.count = static_cast<std::int32_t>(o.integer("count", 0, 1, 10000));
  return c;
}

// Each entry must raise its topic's count above what it already has (Kafka answers
// INVALID_PARTITIONS to anything else), taken in order of `at`.
void require_growing(const std::vector<CreatePartitionsSpec>& specs, const std::vector<TopicSpec>& topics) {
  std::map<std::string, std::int32_t> count;
  for (const auto& t : topics) count[t.name] = t.partitions;
  std::vector<std::size_t> order(specs.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return specs[a].at < specs[b].at; });
  for (std::size_t i : order) {
    const auto& c = specs[i];
    if (c.count <= count[c.topic]) {
      fail(item_path("workload.create_partitions", i) + ".count",
           fmt::format("{} partitions would not add to topic \"{}\", which has {} by then", c.count, c.topic, count[c.topic]));
    }
    count[c.topic] = c.count;
  }
}

WorkloadSpec parse_workload(const Obj& top, const std::vector<TopicSpec>& topics) {
  if (!top.has("workload")) fail("workload", "missing: a scenario needs at least one producer");
  const Obj o(top["workload"], "workload", {"producers", "consumers", "groups", "delete_records", "create_partitions"});
  WorkloadSpec w;
  if (!o.has("producers")) fail(o.at("producers"), "missing: a scenario needs at least one producer");
  const json& producers = array_at(o, "producers");
  if (producers.empty()) fail(o.at("producers"), "must list at least one producer");
  for (std::size_t i = 0; i < producers.size(); ++i) {
    w.producers.push_back(parse_producer(producers[i], item_path(o.at("producers"), i), topics));
  }
  if (o.has("consumers")) {
    const json& consumers = array_at(o, "consumers");
    for (std::size_t i = 0; i < consumers.size(); ++i) {
      w.consumers.push_back(parse_consumer(consumers[i], item_path(o.at("consumers"), i), topics));
    }
  }
  if (o.has("groups")) {
    const json& groups = array_at(o, "groups");
    for (std::size_t i = 0; i < groups.size(); ++i) {
      w.groups.push_back(parse_group(groups[i], item_path(o.at("groups"), i), topics));
      for (std::size_t k = 0; k < i; ++k) {
        if (w.groups[k].group_id == w.groups[i].group_id) {
          fail(item_path(o.at("groups"), i) + ".group", fmt::format("\"{}\" is also workload.groups[{}]", w.groups[i].group_id, k));
        }
      }
    }
  }
  if (o.has("delete_records")) {
    const json& deleters = array_at(o, "delete_records");
    for (std::size_t i = 0; i < deleters.size(); ++i) {
      w.delete_records.push_back(parse_delete_records(deleters[i], item_path(o.at("delete_records"), i), topics));
    }
  }
  if (o.has("create_partitions")) {
    const json& creators = array_at(o, "create_partitions");
    for (std::size_t i = 0; i < creators.size(); ++i) {
      w.create_partitions.push_back(parse_create_partitions(creators[i], item_path(o.at("create_partitions"), i), topics));
    }
    require_growing(w.create_partitions, topics);
    std::stable_sort(w.create_partitions.begin(), w.create_partitions.end(), [](const auto& a, const auto& b) { return a.at < b.at; });
  }
  return w;
}

// ---- faults ----

NodeRef parse_node(const std::string& path, const json& v, int brokers) {
  const std::string known = fmt::format("the cluster has broker-0..broker-{} and \"client\"", brokers - 1);
  if (!v.is_string()) fail(path, fmt::format("expected a node name ({}), got {}", known, type_name(v)));
  const std::string name = v.get<std::string>();
  if (name == "client") return NodeRef{true, 0};
  if (name.starts_with("broker-")) {
    const std::string digits = name.substr(7);
    if (!digits.empty() && digits.size() <= 3 && std::all_of(digits.begin(), digits.end(), ::isdigit)) {
      const int index = std::stoi(digits);
      if (index < brokers) return NodeRef{false, index};
    }
  }
  fail(path, fmt::format("no such node \"{}\" ({})", name, known));
}

constexpr std::pair<FaultKind, std::string_view> fault_kinds[] = {
    {FaultKind::kill, "kill"},         {FaultKind::power_off, "power_off"},   {FaultKind::restart, "restart"},
    {FaultKind::pause, "pause"},       {FaultKind::partition, "partition"},   {FaultKind::isolate, "isolate"},
    {FaultKind::block, "block"},       {FaultKind::clog, "clog"},             {FaultKind::heal, "heal"},
    {FaultKind::clock_jump, "clock_jump"}, {FaultKind::disk_faults, "disk_faults"}, {FaultKind::shutdown, "shutdown"},
    {FaultKind::reassign, "reassign"}};

std::vector<std::string> fault_keys() {
  std::vector<std::string> keys = {"at", "duration", "by", "to", "error_rate", "bit_flip_rate", "replicas"};
  for (const auto& [kind, name] : fault_kinds) keys.emplace_back(name);
  return keys;
}

std::vector<std::vector<NodeRef>> parse_sets(const std::string& path, const json& v, int brokers) {
  if (!v.is_array() || v.size() < 2) fail(path, "expected two or more sets of nodes, e.g. [[\"broker-0\"], [\"client\"]]");
  std::vector<std::vector<NodeRef>> sets;
  std::set<std::string> seen;
  for (std::size_t i = 0; i < v.size(); ++i) {
    const std::string p = item_path(path, i);
    if (!v[i].is_array() || v[i].empty()) fail(p, "expected a non-empty array of node names, got " + type_name(v[i]));
    sets.emplace_back();
    for (std::size_t k = 0; k < v[i].size(); ++k) {
      const NodeRef ref = parse_node(item_path(p, k), v[i][k], brokers);
      if (!seen.insert(node_name(ref)).second) {
        fail(item_path(p, k), fmt::format("\"{}\" is in more than one set: the sets must be disjoint", node_name(ref)));
      }
      sets.back().push_back(ref);
    }
  }
  return sets;
}

// "reassign": "orders-2" names a partition of one of the scenario's topics; "replicas" is a list of
// brokers, "random" (the default) or null (cancel).
void reassign_fields(const Obj& o, ScriptedFault& f, int brokers, const std::vector<TopicSpec>& topics) {
  const std::string key = o.at("reassign");
  if (!o["reassign"].is_string()) fail(key, "expected a partition such as \"orders-0\", got " + type_name(o["reassign"]));
  const std::string name = o["reassign"].get<std::string>();
  const auto dash = name.rfind('-');
  const std::string digits = dash == std::string::npos ? "" : name.substr(dash + 1);
  if (digits.empty() || digits.size() > 6 || !std::all_of(digits.begin(), digits.end(), ::isdigit))
    fail(key, fmt::format("\"{}\" is not a partition: a topic, a dash and an index, such as \"orders-0\"", name));
  f.topic = name.substr(0, dash);
  f.partition = std::stoi(digits);
  const auto topic = std::find_if(topics.begin(), topics.end(), [&](const TopicSpec& t) { return t.name == f.topic; });
  if (topic == topics.end()) fail(key, fmt::format("no topic \"{}\" among the scenario's topics", f.topic));
  if (f.partition >= topic->partitions)
    fail(key, fmt::format("topic \"{}\" has {} partitions, so no partition {}", f.topic, topic->partitions, f.partition));
  if (!o.has("replicas")) return;
  const std::string path = o.at("replicas");
  const json& v = o["replicas"];
  if (v.is_null()) {
    f.target = ReassignTarget::cancel;
  } else if (v.is_string() && v.get<std::string>() == "random") {
    f.target = ReassignTarget::random;
  } else if (v.is_array() && !v.empty()) {
    f.target = ReassignTarget::listed;
    std::set<int> seen;
    for (std::size_t i = 0; i < v.size(); ++i) {
      const NodeRef ref = parse_node(item_path(path, i), v[i], brokers);
      if (ref.client) fail(item_path(path, i), "the client holds no replicas: name brokers");
      if (!seen.insert(ref.broker).second) fail(item_path(path, i), fmt::format("broker-{} is listed twice", ref.broker));
      f.replicas.push_back(ref);
    }
  } else {
    fail(path, "expected a non-empty list of brokers, \"random\", or null (cancel the reassignment), got " +
                   (v.is_array() ? std::string("an empty array") : type_name(v)));
  }
}

void fault_fields(const Obj& o, ScriptedFault& f, int brokers) {
  const std::string kind_key(fault_kind_name(f.kind));
  const bool needs_duration = f.kind == FaultKind::pause || f.kind == FaultKind::clog || f.kind == FaultKind::disk_faults;
  if (needs_duration && !o.has("duration")) fail(o.at("duration"), fmt::format("missing: a {} needs a duration", kind_key));
  f.duration = o.duration("duration", Duration(0), needs_duration ? 1ms : Duration(0), 24h);
  switch (f.kind) {
    case FaultKind::heal:
    case FaultKind::reassign: break;
    case FaultKind::partition: f.sets = parse_sets(o.at(kind_key), o[kind_key], brokers); break;
    case FaultKind::block:
      f.node = parse_node(o.at(kind_key), o[kind_key], brokers);
      if (!o.has("to")) fail(o.at("to"), "missing: the node whose incoming traffic from the blocked node is held");
      f.to = parse_node(o.at("to"), o["to"], brokers);
      if (f.to == f.node) fail(o.at("to"), "a node cannot block traffic to itself");
      break;
    default: f.node = parse_node(o.at(kind_key), o[kind_key], brokers); break;
  }
  if (f.kind == FaultKind::clock_jump) {
    if (!o.has("by")) fail(o.at("by"), "missing: how far the wall clock jumps, e.g. \"-5s\"");
    f.by = o.duration("by", Duration(0), -24h, 24h);
  }
  if (f.kind == FaultKind::disk_faults) {
    f.error_rate = o.number("error_rate", 0.01, 0, 1);
    f.bit_flip_rate = o.number("bit_flip_rate", 0, 0, 1);
  }
  for (const char* only : {"by", "to", "error_rate", "bit_flip_rate", "replicas"}) {
    const bool allowed = (std::string_view(only) == "by" && f.kind == FaultKind::clock_jump) ||
                         (std::string_view(only) == "to" && f.kind == FaultKind::block) ||
                         (std::string_view(only) == "replicas" && f.kind == FaultKind::reassign) ||
                         (std::string_view(only).ends_with("rate") && f.kind == FaultKind::disk_faults);
    if (o.has(only) && !allowed) fail(o.at(only), fmt::format("does not apply to a {}", kind_key));
  }
}

ScriptedFault parse_scripted(const json& j, const std::string& path, int brokers, Duration run,
                             const std::vector<TopicSpec>& topics) {
  const Obj o(j, path, fault_keys());
  ScriptedFault f;
  std::vector<std::string> kinds;
  for (const auto& [kind, name] : fault_kinds) {
    if (o.has(std::string(name))) {
      kinds.emplace_back(name);
      f.kind = kind;
    }
  }
  if (kinds.size() != 1) {
    std::vector<std::string> names;
    for (const auto& [kind, name] : fault_kinds) names.emplace_back(name);
    fail(path, kinds.empty() ? fmt::format("names no fault: give exactly one of {}", join(names))
                             : fmt::format("names {} faults ({}): give exactly one", kinds.size(), join(kinds)));
  }
  if (!o.has("at")) fail(o.at("at"), "missing: when the fault strikes, e.g. \"10s\"");
  f.at = o.duration("at", Duration(0), Duration(0), 24h);
  if (f.at >= run) {
    fail(o.at("at"), fmt::format("{} is not before the end of the run's duration ({}); faults after it are healed by the "
                                 "quiescence phase",
                                 o["at"].get<std::string>(), format_duration(run)));
  }
  fault_fields(o, f, brokers);
  if (f.kind == FaultKind::reassign) {
    if (brokers < 2) fail(o.at("reassign"), "a reassignment needs a replicated cluster (brokers of 2 or more)");
    reassign_fields(o, f, brokers, topics);
  }
  return f;
}

RandomFaultSpec parse_random(const Obj& faults) {
  RandomFaultSpec r;
  if (!faults.has("random")) return r;
  const Obj o(faults["random"], faults.at("random"),
              {"kill", "power_off", "pause", "isolate", "one_way", "clog", "clock_jump", "disk_faults", "reassign", "restart_delay_min",
               "restart_delay_max", "pause_duration_min", "pause_duration_max", "partition_duration_min",
               "partition_duration_max", "clog_duration_min", "clog_duration_max", "clock_jump_max",
               "disk_fault_window_max", "disk_fault_error_probability", "disk_fault_bit_flip_probability",
               "faulty_nodes_max"});
  r.enabled = true;
  // Rates are per simulated minute; a rate left out is 0, so a file names exactly the faults it wants.
  auto& x = r.options;
  x.kill_per_min = o.number("kill", 0, 0, 10000);
  x.power_off_per_min = o.number("power_off", 0, 0, 10000);
  x.pause_per_min = o.number("pause", 0, 0, 10000);
  x.isolate_per_min = o.number("isolate", 0, 0, 10000);
  x.one_way_per_min = o.number("one_way", 0, 0, 10000);
  x.clog_per_min = o.number("clog", 0, 0, 10000);
  x.clock_jump_per_min = o.number("clock_jump", 0, 0, 10000);
  x.disk_faults_per_min = o.number("disk_faults", 0, 0, 10000);
  x.reassign_per_min = o.number("reassign", 0, 0, 10000);
  const auto range = [&](const char* lo_key, const char* hi_key, Duration& lo, Duration& hi) {
    lo = o.duration(lo_key, lo, Duration(0), 1h);
    hi = o.duration(hi_key, hi, Duration(0), 1h);
    if (hi < lo) fail(o.at(hi_key), fmt::format("must not be below {} ({})", lo_key, format_duration(lo)));
  };
  range("restart_delay_min", "restart_delay_max", x.restart_delay_min, x.restart_delay_max);
  range("pause_duration_min", "pause_duration_max", x.pause_duration_min, x.pause_duration_max);
  range("partition_duration_min", "partition_duration_max", x.partition_duration_min, x.partition_duration_max);
  range("clog_duration_min", "clog_duration_max", x.clog_duration_min, x.clog_duration_max);
  x.clock_jump_max = o.duration("clock_jump_max", x.clock_jump_max, Duration(0), 24h);
  x.disk_fault_window_max = o.duration("disk_fault_window_max", x.disk_fault_window_max, Duration(0), 1h);
  x.disk_fault_error_probability = o.number("disk_fault_error_probability", x.disk_fault_error_probability, 0, 1);
  x.disk_fault_bit_flip_probability = o.number("disk_fault_bit_flip_probability", x.disk_fault_bit_flip_probability, 0, 1);
  x.faulty_nodes_max = static_cast<int>(o.integer("faulty_nodes_max", x.faulty_nodes_max, 0, 64));
  return r;
}

void parse_faults(const Obj& top, Scenario& s) {
  if (!top.has("faults")) return;
  const Obj o(top["faults"], "faults", {"scripted", "random"});
  if (o.has("scripted")) {
    const json& a = array_at(o, "scripted");
    for (std::size_t i = 0; i < a.size(); ++i) {
      s.faults.push_back(parse_scripted(a[i], item_path(o.at("scripted"), i), s.cluster.brokers, s.duration, s.topics));
    }
    std::stable_sort(s.faults.begin(), s.faults.end(), [](const auto& a, const auto& b) { return a.at < b.at; });
  }
  s.random_faults = parse_random(o);
  if (s.random_faults.options.reassign_per_min > 0 && s.cluster.brokers < 2)
    fail("faults.random.reassign", "a reassignment needs a replicated cluster (brokers of 2 or more)");
}

QuiescenceSpec parse_quiescence(const Obj& top) {
  QuiescenceSpec q;
  if (!top.has("quiescence")) return q;
  const Obj o(top["quiescence"], "quiescence", {"recover", "final_read_timeout", "liveness_within"});
  q.recover = o.duration("recover", q.recover, Duration(0), 1h);
  q.final_read_timeout = o.duration("final_read_timeout", q.final_read_timeout, 1s, 1h);
  q.liveness_within = o.duration("liveness_within", q.liveness_within, 1s, 1h);
  return q;
}

std::vector<std::string> parse_checks(const Obj& top) {
  if (!top.has("checks")) return {};
  const json& a = array_at(top, "checks");
  std::vector<std::string> checks;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const std::string p = item_path("checks", i);
    const auto& known = all_check_names();
    if (!a[i].is_string()) fail(p, "expected a check name, got " + type_name(a[i]));
    const std::string name = a[i].get<std::string>();
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      fail(p, fmt::format("unknown check \"{}\" (known: {})", name, join(known)));
    }
    if (std::find(checks.begin(), checks.end(), name) != checks.end()) fail(p, fmt::format("\"{}\" is listed twice", name));
    checks.push_back(name);
  }
  return checks;
}

// A scripted behaviour must happen while the workload runs.
void require_behaviours_within(const Scenario& s) {
  for (const auto& c : s.workload.create_partitions) {
    if (c.at < s.duration) continue;
    fail("workload.create_partitions", fmt::format("topic {}'s partitions at {} are not within the duration ({})", c.topic,
                                                   format_duration(c.at), format_duration(s.duration)));
  }
  for (std::size_t g = 0; g < s.workload.groups.size(); ++g) {
    const auto& spec = s.workload.groups[g];
    for (const auto& b : spec.behaviours) {
      if (b.at < s.duration) continue;
      fail(fmt::format("workload.groups[{}].behaviours", g),
           fmt::format("member {}'s {} at {} is not within the duration ({})", b.member, member_action_name(b.action),
                       format_duration(b.at), format_duration(s.duration)));
    }
  }
}

// A cluster config value in milliseconds (its default when not set).
Duration config_ms(const ClusterSpec& c, const std::string& key, std::int64_t fallback_ms) {
  const auto it = c.config.find(key);
  if (it == c.config.end()) return std::chrono::milliseconds(fallback_ms);
  char* end = nullptr;
  const long long ms = std::strtoll(it->second.c_str(), &end, 10);
  if (it->second.empty() || *end != '\0' || ms <= 0)
    fail("cluster.config." + key, fmt::format("expected a positive number of milliseconds, got \"{}\"", it->second));
  return std::chrono::milliseconds(ms);
}

// A consumer-protocol group's timeouts are the coordinator's: copied from the cluster config, and
// its pauses must outlast that session timeout.
void consumer_group_timeouts(Scenario& s) {
  const Duration session = config_ms(s.cluster, "group.consumer.session.timeout.ms", 45000);
  const Duration heartbeat = config_ms(s.cluster, "group.consumer.heartbeat.interval.ms", 5000);
  for (std::size_t i = 0; i < s.workload.groups.size(); ++i) {
    GroupSpec& g = s.workload.groups[i];
    if (g.protocol != GroupProtocolKind::consumer) continue;
    if (heartbeat >= session)
      fail("cluster.config.group.consumer.heartbeat.interval.ms", "must be below group.consumer.session.timeout.ms");
    g.session_timeout = session;
    g.heartbeat_interval = heartbeat;
    const std::string path = fmt::format("workload.groups[{}]", i);
    for (const auto& b : g.behaviours) {
      if (b.action == MemberAction::pause)
        check_pause(path + ".behaviours", b.duration, session, fmt::format("member {}'s pause at {}", b.member, format_duration(b.at)));
    }
    if (std::find(g.random.actions.begin(), g.random.actions.end(), MemberAction::pause) != g.random.actions.end())
      check_pause(path + ".random.duration", g.random.duration, session, "a random pause");
  }
}

Scenario parse_top(const json& j, std::string_view source_name) {
  const Obj top(j, "", {"name", "description", "cluster", "topics", "workload", "faults", "duration", "quiescence", "checks"});
  Scenario s;
  s.name = top.str("name", std::filesystem::path(std::string(source_name)).stem().string());
  if (auto p = topic_name_problem(s.name); !p.empty()) fail("name", fmt::format("\"{}\" {} (it names the report folder)", s.name, p));
  s.description = top.str("description", "");
  s.cluster = parse_cluster(top);
  parse_broker_config(top, s.cluster);
  s.topics = parse_topics(top, s.cluster);
  s.workload = parse_workload(top, s.topics);
  if (!top.has("duration")) fail("duration", "missing: how long the workload runs under faults, e.g. \"60s\"");
  s.duration = top.duration("duration", s.duration, 1s, 24h);
  require_behaviours_within(s);
  consumer_group_timeouts(s);
  parse_faults(top, s);
  s.quiescence = parse_quiescence(top);
  s.checks = parse_checks(top);
  return s;
}

// Line and column of a byte offset, for JSON syntax errors.
std::pair<std::size_t, std::size_t> line_column(std::string_view text, std::size_t offset) {
  std::size_t line = 1, column = 1;
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return {line, column};
}

}  // namespace

Result<Scenario> parse_scenario(std::string_view json_text, std::string_view source_name) {
  json j;
  try {
    j = json::parse(json_text);
  } catch (const json::parse_error& e) {
    const auto [line, column] = line_column(json_text, e.byte == 0 ? 0 : e.byte - 1);
    std::string what = e.what();
    if (auto at = what.find("; "); at != std::string::npos) what = what.substr(at + 2);
    return make_error(Errc::invalid_argument, fmt::format("{}:{}:{}: not valid JSON: {}", source_name, line, column, what));
  }
  try {
    return parse_top(j, source_name);
  } catch (const Problem& p) {
    return make_error(Errc::invalid_argument, fmt::format("{}: {}: {}", source_name, p.path, p.message));
  }
}

Result<Scenario> load_scenario(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(Errc::not_found, fmt::format("cannot read scenario '{}': {}", path, std::strerror(errno)));
  std::ostringstream text;
  text << in.rdbuf();
  auto s = parse_scenario(text.str(), path);
  if (s) s->source_path = path;
  return s;
}

std::string node_name(const NodeRef& n) { return n.client ? "client" : fmt::format("broker-{}", n.broker); }

std::int32_t final_partitions(const TopicSpec& topic, const WorkloadSpec& workload) {
  std::int32_t count = topic.partitions;
  for (const auto& c : workload.create_partitions) {
    if (c.topic == topic.name) count = std::max(count, c.count);
  }
  return count;
}

std::string_view member_action_name(MemberAction a) {
  for (const auto& [name, action] : member_actions()) {
    if (action == a) return name;
  }
  return "unknown";
}

std::string_view fault_kind_name(FaultKind k) {
  for (const auto& [kind, name] : fault_kinds) {
    if (kind == k) return name;
  }
  return "unknown";
}

}  // namespace keel::sim::scenario
