#include "broker/config/config.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <functional>
#include <optional>
#include <set>

#include "broker/base/assert.h"
#include "broker/config/properties.h"

namespace keel::config {

namespace {

constexpr std::int64_t i32_min = std::numeric_limits<std::int32_t>::min();
constexpr std::int64_t i32_max = std::numeric_limits<std::int32_t>::max();
constexpr std::int64_t i16_max = std::numeric_limits<std::int16_t>::max();
constexpr std::int64_t i64_min = std::numeric_limits<std::int64_t>::min();
constexpr std::int64_t i64_max = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t ms_per_minute = 60'000;
constexpr std::int64_t ms_per_hour = 3'600'000;

// ---------------------------------------------------------------------------------------------
// Values and the key table
// ---------------------------------------------------------------------------------------------

enum class Type : std::uint8_t { int32, int64, boolean, string, list, real };

// What a key does in Keel.
enum class Use : std::uint8_t {
  applied,  // sets a field that Keel acts on
  stored,   // validated and stored for the replicated cluster (KRaft settings)
  ignored,  // a Kafka key with no meaning in Keel: type-checked, then ignored
};

struct Value {
  std::int64_t number = 0;         // int32, int64
  double real = 0;                 // real (Kafka's DOUBLE)
  bool flag = false;               // boolean
  std::string text;                // string (and the trimmed text of every type)
  std::vector<std::string> items;  // list
};

using ApplyBroker = void (*)(BrokerConfig&, const Value&);
using ApplyLog = std::function<void(storage::LogConfig&, const Value&)>;
using ReadLog = std::function<std::string(const storage::LogConfig&)>;
using Check = std::string (*)(const Value&);  // "" when the value is fine, else the problem

// One known key. Rows are built with the chained setters below and applied in table order, so a
// key that takes precedence over another (log.roll.ms over log.roll.hours) comes after it.
struct KeyDef {
  std::string_view name;
  Type type = Type::string;
  std::optional<std::string_view> default_text;  // nullopt: no default (Kafka's null)
  std::int64_t min = i64_min;                    // int32 / int64 range
  std::int64_t max = i64_max;
  std::vector<std::string_view> choices;  // string: one of these; list: every item one of these
  Check check = nullptr;                  // a further check of the parsed value
  bool check_broker_only = false;         // `check` holds for the broker key only, not the topic key
  Use use = Use::applied;
  ApplyBroker apply = nullptr;
  // A log setting: also a topic-level key when topic_name is set. At broker level it applies to
  // BrokerConfig::log.
  std::string_view topic_name;
  ApplyLog apply_log = nullptr;
  ReadLog read_log = nullptr;
  std::vector<std::string_view> also_set_by;  // lower-precedence keys for the same setting
  bool topic_only = false;  // a topic config with no broker key (remote.storage.enable, ...)
  std::string_view documentation;  // what DescribeConfigs v3+ answers when asked


  KeyDef range(std::int64_t lo, std::int64_t hi) const {
    KeyDef k = *this;
    k.min = lo;
    k.max = hi;
    return k;
  }
  KeyDef one_of(std::vector<std::string_view> values) const {
    KeyDef k = *this;
    k.choices = std::move(values);
    return k;
  }
  KeyDef checked(Check fn) const {
    KeyDef k = *this;
    k.check = fn;
    return k;
  }
  // A check Kafka makes of the broker key only (KafkaConfig's), not of the topic key (LogConfig's).
  KeyDef checked_at_broker(Check fn) const {
    KeyDef k = checked(fn);
    k.check_broker_only = true;
    return k;
  }
  KeyDef sets(ApplyBroker fn) const {
    KeyDef k = *this;
    k.apply = fn;
    return k;
  }
  KeyDef stores(ApplyBroker fn) const {
    KeyDef k = sets(fn);
    k.use = Use::stored;
    return k;
  }
  KeyDef ignored() const {
    KeyDef k = *this;
    k.use = Use::ignored;
    return k;
  }
  KeyDef log(std::string_view topic, ApplyLog fn, ReadLog read) const {
    KeyDef k = *this;
    k.topic_name = topic;
    k.apply_log = fn;
    k.read_log = read;
    return k;
  }
  KeyDef after(std::vector<std::string_view> keys) const {
    KeyDef k = *this;
    k.also_set_by = std::move(keys);
    return k;
  }
  // A setting Keel accepts, stores and describes without acting on it: its value is kept as text in
  // LogConfig::inert under the topic key.
  KeyDef inert(std::string_view topic) const {
    const std::string fallback(default_text.value_or(""));
    return log(
        topic, [topic](storage::LogConfig& l, const Value& v) { l.inert[std::string(topic)] = v.text; },
        [topic, fallback](const storage::LogConfig& l) {
          auto it = l.inert.find(std::string(topic));
          return it != l.inert.end() ? it->second : fallback;
        });
  }
  // A topic config without a broker key: the row's name is the topic key.
  KeyDef topic_level_only() const {
    KeyDef k = inert(name);
    k.topic_only = true;
    return k;
  }
  KeyDef doc(std::string_view text) const {
    KeyDef k = *this;
    k.documentation = text;
    return k;
  }
};

KeyDef key(std::string_view name, Type type, std::optional<std::string_view> default_text) {
  KeyDef k;
  k.name = name;
  k.type = type;
  k.default_text = default_text;
  if (type == Type::int32) k = k.range(i32_min, i32_max);
  return k;
}

std::string show(std::int64_t v) { return std::to_string(v); }
std::int32_t narrow(std::int64_t v) { return static_cast<std::int32_t>(v); }
std::int64_t retention(std::int64_t v, std::int64_t unit_ms) { return v < 0 ? -1 : v * unit_ms; }

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Endpoints, host:port, security protocols
// ---------------------------------------------------------------------------------------------

bool is_listener_name(std::string_view s) {
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

bool is_host_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
         c == '_';
}

std::optional<std::uint16_t> parse_port(std::string_view s) {
  if (s.empty() || s.size() > 5) return std::nullopt;
  unsigned v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(v);
}

// "host:port", "[v6]:port" or ":port" (an empty host). Sets *problem on failure.
bool parse_host_port(std::string_view s, std::string* host, std::uint16_t* port, std::string* problem) {
  std::string_view h;
  std::string_view rest;
  if (!s.empty() && s.front() == '[') {
    const auto close = s.find(']');
    if (close == std::string_view::npos) {
      *problem = "an IPv6 host needs a closing ']'";
      return false;
    }
    h = s.substr(1, close - 1);
    rest = s.substr(close + 1);
    const bool v6 = !h.empty() && std::all_of(h.begin(), h.end(), [](char c) {
      return std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.' || c == '%';
    });
    if (!v6) {
      *problem = fmt::format("'{}' is not an IPv6 address", h);
      return false;
    }
    if (rest.empty() || rest.front() != ':') {
      *problem = "a port is required after the host";
      return false;
    }
    rest = rest.substr(1);
  } else {
    const auto colon = s.rfind(':');
    if (colon == std::string_view::npos) {
      *problem = "a port is required (host:port)";
      return false;
    }
    h = s.substr(0, colon);
    rest = s.substr(colon + 1);
    if (!std::all_of(h.begin(), h.end(), is_host_char)) {
      *problem = fmt::format("'{}' is not a host name or address (an IPv6 address goes in brackets)", h);
      return false;
    }
  }
  auto p = parse_port(rest);
  if (!p) {
    *problem = fmt::format("port '{}' is not a number from 0 to 65535", rest);
    return false;
  }
  *host = std::string(h);
  *port = *p;
  return true;
}

std::optional<Endpoint> parse_endpoint(std::string_view s, std::string* problem) {
  const auto sep = s.find("://");
  if (sep == std::string_view::npos || !is_listener_name(s.substr(0, sep))) {
    *problem = fmt::format("'{}' is not a listener (NAME://host:port, e.g. PLAINTEXT://127.0.0.1:9092)", s);
    return std::nullopt;
  }
  Endpoint e;
  e.listener_name = upper(s.substr(0, sep));
  std::string why;
  if (!parse_host_port(s.substr(sep + 3), &e.host, &e.port, &why)) {
    *problem = fmt::format("listener '{}': {}", s, why);
    return std::nullopt;
  }
  return e;
}

std::vector<Endpoint> endpoints_of(const Value& v) {
  std::vector<Endpoint> out;
  std::string problem;
  for (const auto& item : v.items) {
    auto e = parse_endpoint(item, &problem);
    KEEL_ASSERT_MSG(e.has_value(), "checked listener no longer parses: {}", problem);
    out.push_back(*e);
  }
  return out;
}

std::string check_endpoints(const Value& v) {
  std::string problem;
  std::set<std::string> names;
  for (const auto& item : v.items) {
    auto e = parse_endpoint(item, &problem);
    if (!e) return problem;
    if (!names.insert(e->listener_name).second) return fmt::format("listener name {} appears twice", e->listener_name);
  }
  return {};
}

constexpr std::string_view protocols_text = "PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL";

bool is_security_protocol(std::string_view p) {
  return p == "PLAINTEXT" || p == "SSL" || p == "SASL_PLAINTEXT" || p == "SASL_SSL";
}

std::string check_protocol_map(const Value& v) {
  for (const auto& item : v.items) {
    const auto colon = item.find(':');
    if (colon == std::string::npos || !is_listener_name(item.substr(0, colon))) {
      return fmt::format("'{}' is not a LISTENER_NAME:PROTOCOL entry", item);
    }
    const std::string protocol = upper(item.substr(colon + 1));
    if (!is_security_protocol(protocol)) {
      return fmt::format("'{}' in '{}' is not a security protocol ({})", item.substr(colon + 1), item, protocols_text);
    }
    if (protocol != "PLAINTEXT") {
      return fmt::format("'{}' maps to {}; Keel supports only PLAINTEXT listeners", item, protocol);
    }
  }
  return {};
}

void set_protocol_map(BrokerConfig& c, const Value& v) {
  for (const auto& item : v.items) {
    const auto colon = item.find(':');
    c.listener_security_protocol_map[upper(item.substr(0, colon))] = upper(item.substr(colon + 1));
  }
}

std::optional<QuorumVoter> parse_voter(std::string_view s, std::string* problem) {
  const auto at = s.find('@');
  QuorumVoter v;
  std::int32_t id = -1;
  if (at != std::string_view::npos) {
    auto [p, ec] = std::from_chars(s.data(), s.data() + at, id);
    if (ec != std::errc() || p != s.data() + at || id < 0) id = -1;
  }
  if (id < 0) {
    *problem = fmt::format("'{}' is not a voter (id@host:port, e.g. 1@127.0.0.1:9093)", s);
    return std::nullopt;
  }
  v.id = id;
  std::string why;
  if (!parse_host_port(s.substr(at + 1), &v.host, &v.port, &why) || v.host.empty()) {
    *problem = fmt::format("voter '{}': {}", s, why.empty() ? "a host is required" : why);
    return std::nullopt;
  }
  return v;
}

std::string check_voters(const Value& v) {
  std::string problem;
  std::set<std::int32_t> ids;
  for (const auto& item : v.items) {
    auto voter = parse_voter(item, &problem);
    if (!voter) return problem;
    if (!ids.insert(voter->id).second) return fmt::format("voter id {} appears twice", voter->id);
  }
  return {};
}

void set_voters(BrokerConfig& c, const Value& v) {
  std::string problem;
  c.controller_quorum_voters.clear();
  for (const auto& item : v.items) c.controller_quorum_voters.push_back(*parse_voter(item, &problem));
}

std::string check_servers(const Value& v) {
  for (const auto& item : v.items) {
    std::string host;
    std::uint16_t port = 0;
    std::string problem;
    if (!parse_host_port(item, &host, &port, &problem)) return fmt::format("'{}': {}", item, problem);
  }
  return {};
}

std::string check_listener_names(const Value& v) {
  for (const auto& item : v.items) {
    if (!is_listener_name(item)) return fmt::format("'{}' is not a listener name (letters, digits, '_', '-')", item);
  }
  return {};
}

std::string check_listener_name(const Value& v) {
  return v.text.empty() || is_listener_name(v.text) ? std::string()
                                                    : fmt::format("'{}' is not a listener name", v.text);
}

std::string check_dirs(const Value& v) {
  std::set<std::string> seen;
  if (v.items.empty()) return "at least one directory is required";
  for (const auto& dir : v.items) {
    if (!seen.insert(dir).second) return fmt::format("directory '{}' appears twice", dir);
  }
  return {};
}

std::string check_retention(const Value& v) {
  // KafkaConfig refuses 0 for log.retention.*; a topic may say retention.ms=0 (LogConfig: at least -1).
  return v.number == 0 ? "0 would delete every segment as soon as it rolls; use -1 (unlimited) or at least 1"
                       : std::string();
}

std::string check_cleanup_policy(const Value& v) {
  return v.items.empty() ? "a cleanup policy is required (delete, compact or both)" : std::string();
}

bool has_item(const Value& v, std::string_view item) {
  return std::find(v.items.begin(), v.items.end(), item) != v.items.end();
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ",") + item;
  return out;
}

// Kafka's gzip levels: -1 (zlib's default) or 1 to 9.
std::string check_gzip_level(const Value& v) {
  return v.number == -1 || (v.number >= 1 && v.number <= 9) ? std::string()
                                                             : fmt::format("{} is not -1 or a level from 1 to 9", v.number);
}

std::string check_ratio(const Value& v) {
  return v.real >= 0 && v.real <= 1 ? std::string() : fmt::format("{} is outside 0 to 1", v.text);
}

// Kafka's ThrottledReplicaListValidator: "*" alone, or partition:broker pairs of integers.
std::string check_throttled_replicas(const Value& v) {
  for (const auto& item : v.items) {
    if (item == "*") {
      if (v.items.size() == 1) continue;
      return "'*' must stand alone";
    }
    const auto colon = item.find(':');
    const auto all_digits = [](std::string_view s) {
      return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
    };
    if (colon == std::string::npos || !all_digits(item.substr(0, colon)) || !all_digits(item.substr(colon + 1))) {
      return fmt::format("'{}' is not [partitionId]:[brokerId] (or '*' for every replica)", item);
    }
  }
  return {};
}

std::optional<protocol::Compression> codec_named(std::string_view name) {
  if (name == "uncompressed") return protocol::Compression::none;
  if (name == "gzip") return protocol::Compression::gzip;
  if (name == "snappy") return protocol::Compression::snappy;
  if (name == "lz4") return protocol::Compression::lz4;
  if (name == "zstd") return protocol::Compression::zstd;
  return std::nullopt;  // "producer": the producer's codec stays
}

std::string codec_text(const std::optional<protocol::Compression>& codec) {
  if (!codec) return "producer";
  return *codec == protocol::Compression::none ? "uncompressed" : std::string(protocol::compression_name(*codec));
}

std::string check_roles(const Value& v) {
  std::set<std::string> seen;
  for (const auto& item : v.items) {
    if (!seen.insert(item).second) return fmt::format("role '{}' appears twice", item);
  }
  return {};
}

// ---------------------------------------------------------------------------------------------
// The table: every key Keel knows
// ---------------------------------------------------------------------------------------------

std::vector<KeyDef> identity_keys() {
  return {
      key("broker.id", Type::int32, std::nullopt).range(0, i32_max).sets([](BrokerConfig& c, const Value& v) {
        c.node_id = narrow(v.number);
      }),
      key("node.id", Type::int32, std::nullopt).range(0, i32_max).sets([](BrokerConfig& c, const Value& v) {
        c.node_id = narrow(v.number);
      }),
      key("cluster.id", Type::string, "").sets([](BrokerConfig& c, const Value& v) { c.cluster_id = v.text; }),
  };
}

std::vector<KeyDef> listener_keys() {
  return {
      key("listener.security.protocol.map", Type::list, "").checked(check_protocol_map).stores(set_protocol_map),
      key("listeners", Type::list, "PLAINTEXT://:9092").checked(check_endpoints).sets([](BrokerConfig& c, const Value& v) {
        c.listeners = endpoints_of(v);
      }),
      key("advertised.listeners", Type::list, std::nullopt)
          .checked(check_endpoints)
          .sets([](BrokerConfig& c, const Value& v) { c.advertised_listeners = endpoints_of(v); }),
      key("inter.broker.listener.name", Type::string, std::nullopt)
          .checked(check_listener_name)
          .stores([](BrokerConfig& c, const Value& v) { c.inter_broker_listener_name = upper(v.text); }),
      key("controller.listener.names", Type::list, "")
          .checked(check_listener_names)
          .stores([](BrokerConfig& c, const Value& v) {
            c.controller_listener_names.clear();
            for (const auto& name : v.items) c.controller_listener_names.push_back(upper(name));
          }),
      key("process.roles", Type::list, "")
          .one_of({"broker", "controller"})
          .checked(check_roles)
          .stores([](BrokerConfig& c, const Value& v) { c.process_roles = v.items; }),
      key("controller.quorum.voters", Type::list, "").checked(check_voters).stores(set_voters),
      key("controller.quorum.bootstrap.servers", Type::list, "")
          .checked(check_servers)
          .stores([](BrokerConfig& c, const Value& v) { c.controller_quorum_bootstrap_servers = v.items; }),
  };
}

std::vector<KeyDef> broker_keys() {
  return {
      key("log.dir", Type::list, std::nullopt).checked(check_dirs).sets([](BrokerConfig& c, const Value& v) {
        c.log_dirs = v.items;
      }),
      key("log.dirs", Type::list, std::nullopt).checked(check_dirs).sets([](BrokerConfig& c, const Value& v) {
        c.log_dirs = v.items;
      }),
      key("num.partitions", Type::int32, "1").range(1, i32_max).sets([](BrokerConfig& c, const Value& v) {
        c.num_partitions = narrow(v.number);
      }),
      key("default.replication.factor", Type::int32, "1").range(1, i16_max).sets([](BrokerConfig& c, const Value& v) {
        c.default_replication_factor = static_cast<std::int16_t>(v.number);
      }),
      key("auto.create.topics.enable", Type::boolean, "true").sets([](BrokerConfig& c, const Value& v) {
        c.auto_create_topics_enable = v.flag;
      }),
      key("socket.request.max.bytes", Type::int32, "104857600").range(1, i32_max).sets([](BrokerConfig& c, const Value& v) {
        c.socket_request_max_bytes = narrow(v.number);
      }),
      key("queued.max.requests", Type::int32, "500").range(1, i32_max).sets([](BrokerConfig& c, const Value& v) {
        c.queued_max_requests = narrow(v.number);
      }),
      key("log.retention.check.interval.ms", Type::int64, "300000").range(1, i64_max).sets([](BrokerConfig& c, const Value& v) {
        c.log_retention_check_interval_ms = v.number;
      }),
      key("log.initial.task.delay.ms", Type::int64, "30000").range(0, i64_max).sets([](BrokerConfig& c, const Value& v) {
        c.log_initial_task_delay_ms = v.number;
      }),
      key("log.flush.offset.checkpoint.interval.ms", Type::int32, "60000")
          .range(0, i32_max)
          .sets([](BrokerConfig& c, const Value& v) { c.log_flush_offset_checkpoint_interval_ms = v.number; }),
  };
}

// The log.* keys. Each with a topic name is also a topic-level config of the same type and range.
// data table: longer than 70 lines by design
std::vector<KeyDef> log_keys() {
  return {
      key("message.max.bytes", Type::int32, "1048588")
          .range(0, i32_max)
          .log("max.message.bytes", [](storage::LogConfig& l, const Value& v) { l.max_message_bytes = narrow(v.number); },
               [](const storage::LogConfig& l) { return show(l.max_message_bytes); }),
      key("log.segment.bytes", Type::int32, "1073741824")
          .range(14, i32_max)
          .log("segment.bytes", [](storage::LogConfig& l, const Value& v) { l.segment_bytes = v.number; },
               [](const storage::LogConfig& l) { return show(l.segment_bytes); }),
      key("log.roll.hours", Type::int32, "168").range(1, i32_max).sets([](BrokerConfig& c, const Value& v) {
        c.log.segment_ms = v.number * ms_per_hour;
      }),
      key("log.roll.ms", Type::int64, std::nullopt)
          .range(1, i64_max)
          .after({"log.roll.hours"})
          .log("segment.ms", [](storage::LogConfig& l, const Value& v) { l.segment_ms = v.number; },
               [](const storage::LogConfig& l) { return show(l.segment_ms); }),
      key("log.index.size.max.bytes", Type::int32, "10485760")
          .range(4, i32_max)
          .log("segment.index.bytes",
               [](storage::LogConfig& l, const Value& v) { l.segment_index_bytes = narrow(v.number); },
               [](const storage::LogConfig& l) { return show(l.segment_index_bytes); }),
      key("log.index.interval.bytes", Type::int32, "4096")
          .range(0, i32_max)
          .log("index.interval.bytes",
               [](storage::LogConfig& l, const Value& v) { l.index_interval_bytes = narrow(v.number); },
               [](const storage::LogConfig& l) { return show(l.index_interval_bytes); }),
      key("log.retention.hours", Type::int32, "168")
          .range(-1, i32_max)
          .checked(check_retention)
          .sets([](BrokerConfig& c, const Value& v) { c.log.retention_ms = retention(v.number, ms_per_hour); }),
      key("log.retention.minutes", Type::int32, std::nullopt)
          .range(-1, i32_max)
          .checked(check_retention)
          .sets([](BrokerConfig& c, const Value& v) { c.log.retention_ms = retention(v.number, ms_per_minute); }),
      key("log.retention.ms", Type::int64, std::nullopt)
          .range(-1, i64_max)
          .checked_at_broker(check_retention)
          .after({"log.retention.minutes", "log.retention.hours"})
          .log("retention.ms", [](storage::LogConfig& l, const Value& v) { l.retention_ms = v.number; },
               [](const storage::LogConfig& l) { return show(l.retention_ms); }),
      key("log.retention.bytes", Type::int64, "-1")
          .range(-1, i64_max)
          .log("retention.bytes", [](storage::LogConfig& l, const Value& v) { l.retention_bytes = v.number; },
               [](const storage::LogConfig& l) { return show(l.retention_bytes); }),
      key("log.cleanup.policy", Type::list, "delete")
          .one_of({"delete", "compact"})
          .checked(check_cleanup_policy)
          .log("cleanup.policy",
               [](storage::LogConfig& l, const Value& v) {
                 l.cleanup_delete = has_item(v, "delete");
                 l.cleanup_compact = has_item(v, "compact");
               },
               [](const storage::LogConfig& l) {
                 std::vector<std::string> items;
                 if (l.cleanup_delete) items.emplace_back("delete");
                 if (l.cleanup_compact) items.emplace_back("compact");
                 return join(items);
               }),
      key("compression.type", Type::string, "producer")
          .one_of({"uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"})
          .log("compression.type", [](storage::LogConfig& l, const Value& v) { l.compression = codec_named(v.text); },
               [](const storage::LogConfig& l) { return codec_text(l.compression); }),
      key("log.roll.jitter.hours", Type::int32, "0").range(0, i32_max).sets([](BrokerConfig& c, const Value& v) {
        c.log.segment_jitter_ms = v.number * ms_per_hour;
      }),
      key("log.roll.jitter.ms", Type::int64, std::nullopt)
          .range(0, i64_max)
          .after({"log.roll.jitter.hours"})
          .log("segment.jitter.ms", [](storage::LogConfig& l, const Value& v) { l.segment_jitter_ms = v.number; },
               [](const storage::LogConfig& l) { return show(l.segment_jitter_ms); }),
      key("log.flush.interval.messages", Type::int64, "9223372036854775807")
          .range(1, i64_max)
          .log("flush.messages", [](storage::LogConfig& l, const Value& v) { l.flush_interval_messages = v.number; },
               [](const storage::LogConfig& l) { return show(l.flush_interval_messages); }),
      // Kafka: a log whose flush.ms is unset is flushed on the scheduler's interval.
      key("log.flush.scheduler.interval.ms", Type::int64, "9223372036854775807")
          .range(1, i64_max)
          .sets([](BrokerConfig& c, const Value& v) {
            c.log_flush_scheduler_interval_ms = v.number;
            c.log.flush_interval_ms = v.number;
          }),
      key("log.flush.interval.ms", Type::int64, std::nullopt)
          .range(0, i64_max)
          .after({"log.flush.scheduler.interval.ms"})
          .log("flush.ms", [](storage::LogConfig& l, const Value& v) { l.flush_interval_ms = v.number; },
               [](const storage::LogConfig& l) { return show(l.flush_interval_ms); }),
      key("log.segment.delete.delay.ms", Type::int64, "60000")
          .range(0, i64_max)
          .log("file.delete.delay.ms", [](storage::LogConfig& l, const Value& v) { l.file_delete_delay_ms = v.number; },
               [](const storage::LogConfig& l) { return show(l.file_delete_delay_ms); }),
      key("log.message.timestamp.type", Type::string, "CreateTime")
          .one_of({"CreateTime", "LogAppendTime"})
          .log("message.timestamp.type",
               [](storage::LogConfig& l, const Value& v) { l.log_append_time = v.text == "LogAppendTime"; },
               [](const storage::LogConfig& l) { return std::string(l.log_append_time ? "LogAppendTime" : "CreateTime"); }),
      key("log.message.timestamp.before.max.ms", Type::int64, "9223372036854775807")
          .range(0, i64_max)
          .log("message.timestamp.before.max.ms",
               [](storage::LogConfig& l, const Value& v) { l.timestamp_before_max_ms = v.number; },
               [](const storage::LogConfig& l) { return show(l.timestamp_before_max_ms); }),
      key("log.message.timestamp.after.max.ms", Type::int64, "3600000")
          .range(0, i64_max)
          .log("message.timestamp.after.max.ms",
               [](storage::LogConfig& l, const Value& v) { l.timestamp_after_max_ms = v.number; },
               [](const storage::LogConfig& l) { return show(l.timestamp_after_max_ms); }),
  };
}

// Log keys Keel accepts, validates, stores and describes without acting on them (see the README):
// compaction tuning (until the log cleaner), codec levels, preallocation and tiered storage.
std::vector<KeyDef> inert_log_keys() {
  return {
      key("compression.gzip.level", Type::int32, "-1").checked(check_gzip_level).inert("compression.gzip.level"),
      key("compression.lz4.level", Type::int32, "9").range(1, 17).inert("compression.lz4.level"),
      key("compression.zstd.level", Type::int32, "3").range(-131072, 22).inert("compression.zstd.level"),
      key("log.cleaner.delete.retention.ms", Type::int64, "86400000").range(0, i64_max).inert("delete.retention.ms"),
      key("log.cleaner.min.compaction.lag.ms", Type::int64, "0").range(0, i64_max).inert("min.compaction.lag.ms"),
      key("log.cleaner.max.compaction.lag.ms", Type::int64, "9223372036854775807")
          .range(1, i64_max)
          .inert("max.compaction.lag.ms"),
      key("log.cleaner.min.cleanable.ratio", Type::real, "0.5").checked(check_ratio).inert("min.cleanable.dirty.ratio"),
      key("log.preallocate", Type::boolean, "false").inert("preallocate"),
      key("log.local.retention.ms", Type::int64, "-2").range(-2, i64_max).inert("local.retention.ms"),
      key("log.local.retention.bytes", Type::int64, "-2").range(-2, i64_max).inert("local.retention.bytes"),
      key("remote.storage.enable", Type::boolean, "false").topic_level_only(),
      key("remote.log.copy.disable", Type::boolean, "false").topic_level_only(),
      key("remote.log.delete.on.disable", Type::boolean, "false").topic_level_only(),
      key("leader.replication.throttled.replicas", Type::list, "").checked(check_throttled_replicas).topic_level_only(),
      key("follower.replication.throttled.replicas", Type::list, "").checked(check_throttled_replicas).topic_level_only(),
  };
}

#define KEEL_INT64_KEY(name_, default_, lo_, field_) \
  key(name_, Type::int64, default_).range(lo_, i64_max).sets([](BrokerConfig& c, const Value& v) { c.field_ = v.number; })

std::vector<KeyDef> replication_keys() {
  return {
      KEEL_INT64_KEY("replica.lag.time.max.ms", "30000", 1, replica_lag_time_max_ms),
      KEEL_INT64_KEY("replica.fetch.wait.max.ms", "500", 0, replica_fetch_wait_max_ms),
      KEEL_INT64_KEY("replica.fetch.backoff.ms", "1000", 0, replica_fetch_backoff_ms),
      key("replica.fetch.max.bytes", Type::int32, "1048576").range(1, i32_max).sets([](BrokerConfig& c, const Value& v) {
        c.replica_fetch_max_bytes = narrow(v.number);
      }),
      KEEL_INT64_KEY("replica.high.watermark.checkpoint.interval.ms", "5000", 1, replica_high_watermark_checkpoint_interval_ms),
      KEEL_INT64_KEY("broker.heartbeat.interval.ms", "2000", 1, broker_heartbeat_interval_ms),
      KEEL_INT64_KEY("broker.session.timeout.ms", "9000", 1, broker_session_timeout_ms),
      KEEL_INT64_KEY("controller.quorum.election.timeout.ms", "1000", 1, quorum_election_timeout_ms),
      KEEL_INT64_KEY("controller.quorum.fetch.timeout.ms", "2000", 1, quorum_fetch_timeout_ms),
      KEEL_INT64_KEY("controller.quorum.election.backoff.max.ms", "1000", 1, quorum_election_backoff_max_ms),
      KEEL_INT64_KEY("controller.quorum.request.timeout.ms", "2000", 1, quorum_request_timeout_ms),
      key("auto.leader.rebalance.enable", Type::boolean, "true").sets([](BrokerConfig& c, const Value& v) {
        c.auto_leader_rebalance_enable = v.flag;
      }),
      KEEL_INT64_KEY("leader.imbalance.check.interval.seconds", "300", 1, leader_imbalance_check_interval_seconds),
      KEEL_INT64_KEY("metadata.log.max.record.bytes.between.snapshots", "20971520", 1, metadata_snapshot_bytes),
      key("metadata.log.dir", Type::string, "").sets([](BrokerConfig& c, const Value& v) { c.metadata_log_dir = v.text; }),
      key("min.insync.replicas", Type::int32, "1")
          .range(1, i32_max)
          .log("min.insync.replicas", [](storage::LogConfig& l, const Value& v) { l.min_insync_replicas = narrow(v.number); },
               [](const storage::LogConfig& l) { return show(l.min_insync_replicas); }),
      key("unclean.leader.election.enable", Type::boolean, "false")
          .log("unclean.leader.election.enable",
               [](storage::LogConfig& l, const Value& v) { l.unclean_leader_election = v.flag; },
               [](const storage::LogConfig& l) { return std::string(l.unclean_leader_election ? "true" : "false"); }),
  };
}

#undef KEEL_INT64_KEY

// Consumer groups and their internal topic, __consumer_offsets.
std::vector<KeyDef> group_keys() {
  return {
      key("offsets.topic.num.partitions", Type::int32, "50").range(1, i32_max).sets([](BrokerConfig& c, const Value& v) {
        c.offsets_topic_num_partitions = narrow(v.number);
      }),
      key("offsets.topic.replication.factor", Type::int32, "3").range(1, i16_max).sets([](BrokerConfig& c, const Value& v) {
        c.offsets_topic_replication_factor = static_cast<std::int16_t>(v.number);
      }),
      key("offsets.topic.segment.bytes", Type::int32, "104857600").range(1, i32_max).sets([](BrokerConfig& c, const Value& v) {
        c.offsets_topic_segment_bytes = narrow(v.number);
      }),
      key("offsets.commit.timeout.ms", Type::int32, "5000").range(1, i32_max).sets([](BrokerConfig& c, const Value& v) {
        c.offsets_commit_timeout_ms = narrow(v.number);
      }),
      key("group.initial.rebalance.delay.ms", Type::int32, "3000").range(0, i32_max).sets([](BrokerConfig& c, const Value& v) {
        c.group_initial_rebalance_delay_ms = narrow(v.number);
      }),
      key("group.min.session.timeout.ms", Type::int32, "6000").range(0, i32_max).sets([](BrokerConfig& c, const Value& v) {
        c.group_min_session_timeout_ms = narrow(v.number);
      }),
      key("group.max.session.timeout.ms", Type::int32, "1800000").range(0, i32_max).sets([](BrokerConfig& c, const Value& v) {
        c.group_max_session_timeout_ms = narrow(v.number);
      }),
      key("group.max.size", Type::int32, "2147483647").range(1, i32_max).sets([](BrokerConfig& c, const Value& v) {
        c.group_max_size = narrow(v.number);
      }),
      // KIP-848: the coordinator, not the member, sets a consumer-protocol member's timeouts.
      key("group.consumer.session.timeout.ms", Type::int32, "45000").range(1, i32_max).sets([](BrokerConfig& c, const Value& v) {
        c.group_consumer_session_timeout_ms = narrow(v.number);
      }),
      key("group.consumer.heartbeat.interval.ms", Type::int32, "5000").range(1, i32_max).sets([](BrokerConfig& c, const Value& v) {
        c.group_consumer_heartbeat_interval_ms = narrow(v.number);
      }),
      // Keel's own: false holds a coordinator shard for each write's whole commit round trip (for
      // the benchmark's before-and-after; Kafka always keeps writes in flight).
      key("keel.coordinator.writes.in.flight", Type::boolean, "true").sets([](BrokerConfig& c, const Value& v) {
        c.coordinator_writes_in_flight = v.flag;
      }),
  };
}

// Kafka keys that have no meaning in Keel: one process, one event loop, no internal topics yet.
std::vector<KeyDef> ignored_key_defs() {
  return {
      key("num.network.threads", Type::int32, "3").range(1, i32_max).ignored(),
      key("num.io.threads", Type::int32, "8").range(1, i32_max).ignored(),
      key("socket.send.buffer.bytes", Type::int32, "102400").ignored(),
      key("socket.receive.buffer.bytes", Type::int32, "102400").ignored(),
      key("num.recovery.threads.per.data.dir", Type::int32, "2").range(1, i32_max).ignored(),
      key("transaction.state.log.replication.factor", Type::int32, "3").range(1, i16_max).ignored(),
      key("transaction.state.log.min.isr", Type::int32, "2").range(1, i32_max).ignored(),
      key("share.coordinator.state.topic.replication.factor", Type::int32, "3").range(1, i16_max).ignored(),
      key("share.coordinator.state.topic.min.isr", Type::int32, "2").range(1, i16_max).ignored(),
      key("log.cleaner.enable", Type::boolean, "true").ignored(),
  };
}

const std::vector<KeyDef>& key_table() {
  static const std::vector<KeyDef> table = [] {
    std::vector<KeyDef> all;
    for (auto part : {identity_keys(), listener_keys(), broker_keys(), log_keys(), inert_log_keys(), replication_keys(),
                      group_keys(), ignored_key_defs()}) {
      all.insert(all.end(), part.begin(), part.end());
    }
    std::set<std::string_view> names;
    for (const auto& k : all) {
      KEEL_ASSERT_MSG(names.insert(k.name).second, "config key {} defined twice", k.name);
      KEEL_ASSERT_MSG(k.use == Use::ignored || k.apply != nullptr || k.apply_log != nullptr, "key {} sets nothing", k.name);
    }
    return all;
  }();
  return table;
}

const KeyDef* find_key(std::string_view name) {
  for (const auto& k : key_table()) {
    if (k.name == name && !k.topic_only) return &k;
  }
  return nullptr;
}

const KeyDef* find_topic_key(std::string_view name) {
  for (const auto& k : key_table()) {
    if (!k.topic_name.empty() && k.topic_name == name) return &k;
  }
  return nullptr;
}

// ---------------------------------------------------------------------------------------------
// Parsing one value
// ---------------------------------------------------------------------------------------------

std::string_view trim(std::string_view s) {
  const auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\f' || c == '\r' || c == '\n'; };
  while (!s.empty() && blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && blank(s.back())) s.remove_suffix(1);
  return s;
}

std::optional<std::int64_t> parse_integer(std::string_view s) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

std::string type_name(Type t) {
  switch (t) {
    case Type::int32: return "a 32-bit integer";
    case Type::int64: return "a 64-bit integer";
    case Type::boolean: return "true or false";
    case Type::string: return "a string";
    case Type::list: return "a comma-separated list";
    case Type::real: return "a number";
  }
  return "?";
}

std::string choices_text(const std::vector<std::string_view>& choices) {
  std::string out;
  for (auto c : choices) out += (out.empty() ? "" : ", ") + std::string(c);
  return out;
}

bool in_choices(const KeyDef& k, std::string_view s) {
  return k.choices.empty() || std::find(k.choices.begin(), k.choices.end(), s) != k.choices.end();
}

std::optional<Value> parse_number(const KeyDef& k, std::string_view text, std::string* problem) {
  Value v;
  auto n = parse_integer(text);
  if (!n) {
    *problem = fmt::format("'{}' is not {}", text, type_name(k.type));
    return std::nullopt;
  }
  if (k.type == Type::int32 && (*n < i32_min || *n > i32_max)) {
    *problem = fmt::format("{} does not fit {}", *n, type_name(k.type));
    return std::nullopt;
  }
  if (*n < k.min || *n > k.max) {
    *problem = *n < k.min ? fmt::format("{} is below the minimum {}", *n, k.min)
                          : fmt::format("{} is above the maximum {}", *n, k.max);
    return std::nullopt;
  }
  v.number = *n;
  return v;
}

std::optional<Value> parse_list(const KeyDef& k, std::string_view text, std::string* problem) {
  Value v;
  if (text.empty()) return v;
  std::size_t start = 0;
  while (true) {
    const auto comma = text.find(',', start);
    const auto item = trim(text.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
    if (item.empty()) {
      *problem = fmt::format("'{}' has an empty item", text);
      return std::nullopt;
    }
    if (!in_choices(k, item)) {
      *problem = fmt::format("'{}' is not one of {}", item, choices_text(k.choices));
      return std::nullopt;
    }
    v.items.emplace_back(item);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return v;
}

std::optional<Value> parse_real(std::string_view text, std::string* problem) {
  Value v;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v.real);
  if (text.empty() || ec != std::errc() || p != text.data() + text.size() || !std::isfinite(v.real)) {
    *problem = fmt::format("'{}' is not a number", text);
    return std::nullopt;
  }
  return v;
}

// Parses and validates `text` (already trimmed) for key `k`; on failure *problem says what is wrong.
std::optional<Value> parse_value(const KeyDef& k, std::string_view text, std::string* problem,
                                 bool topic_level = false) {
  std::optional<Value> v;
  switch (k.type) {
    case Type::int32:
    case Type::int64:
      v = parse_number(k, text, problem);
      break;
    case Type::boolean: {
      std::string lower(text);
      for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (lower != "true" && lower != "false") {
        *problem = fmt::format("'{}' is not a boolean (true or false)", text);
        return std::nullopt;
      }
      v = Value();
      v->flag = lower == "true";
      break;
    }
    case Type::string:
      if (!in_choices(k, text)) {
        *problem = fmt::format("'{}' is not one of {}", text, choices_text(k.choices));
        return std::nullopt;
      }
      v = Value();
      break;
    case Type::list:
      v = parse_list(k, text, problem);
      break;
    case Type::real:
      v = parse_real(text, problem);
      break;
  }
  if (!v) return std::nullopt;
  v->text = std::string(text);
  if (k.check != nullptr && !(topic_level && k.check_broker_only)) {
    *problem = k.check(*v);
    if (!problem->empty()) return std::nullopt;
  }
  return v;
}

Value default_value(const KeyDef& k) {
  KEEL_ASSERT(k.default_text.has_value());
  std::string problem;
  auto v = parse_value(k, *k.default_text, &problem);
  KEEL_ASSERT_MSG(v.has_value(), "default of {} does not parse: {}", k.name, problem);
  return *v;
}

void apply(const KeyDef& k, BrokerConfig& c, const Value& v) {
  if (k.apply != nullptr) k.apply(c, v);
  else if (k.apply_log != nullptr) k.apply_log(c.log, v);
}

// ---------------------------------------------------------------------------------------------
// Collecting the keys given
// ---------------------------------------------------------------------------------------------

Error key_error(std::string_view where, std::string_view key, std::string_view problem) {
  return make_error(Errc::invalid_argument, fmt::format("{}: {}: {}", where, key, problem));
}

struct Given {
  std::string value;
  std::string where;  // "server.properties:12" or "--override 'key=value'"
  std::size_t order = 0;
};
using Givens = std::map<std::string, Given>;

Status collect(std::string_view text, std::string_view source, std::span<const std::string> overrides, Givens& out) {
  auto props = parse_properties(text, source);
  if (!props) return props.error();
  std::size_t order = 0;
  for (auto& p : *props) {
    Given g;
    g.value = std::move(p.value);
    g.where = fmt::format("{}:{}", source, p.line);
    g.order = order++;
    out[p.key] = std::move(g);
  }
  for (const auto& o : overrides) {
    const auto eq = o.find('=');
    const std::string where = fmt::format("--override '{}'", o);
    const auto name = trim(std::string_view(o).substr(0, eq == std::string::npos ? o.size() : eq));
    if (eq == std::string::npos || name.empty()) {
      return make_error(Errc::invalid_argument, fmt::format("{}: expected key=value", where));
    }
    Given g;
    g.value = std::string(trim(std::string_view(o).substr(eq + 1)));
    g.where = where;
    g.order = order++;
    out[std::string(name)] = std::move(g);
  }
  return {};
}

std::string suggestion(std::string_view name, bool topic_level) {
  std::string_view best;
  std::size_t best_distance = 3;  // suggest only near misses
  for (const auto& k : key_table()) {
    const std::string_view candidate = topic_level ? k.topic_name : k.topic_only ? std::string_view() : k.name;
    if (candidate.empty()) continue;
    const std::size_t d = edit_distance(name, candidate);
    if (d < best_distance) {
      best = candidate;
      best_distance = d;
    }
  }
  return best.empty() ? std::string() : fmt::format(" (did you mean {}?)", best);
}

std::vector<std::pair<std::string, const Given*>> in_given_order(const Givens& givens) {
  std::vector<std::pair<std::string, const Given*>> out;
  for (const auto& [name, g] : givens) out.emplace_back(name, &g);
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.second->order < b.second->order; });
  return out;
}

// Every key given is known and its value valid; fills `values` with the parsed values.
Status parse_given(const Givens& givens, std::map<std::string, Value>& values) {
  for (const auto& [name, g] : in_given_order(givens)) {
    if (name.starts_with("zookeeper.")) {
      return key_error(g->where, name, "Keel runs in KRaft mode only; remove the ZooKeeper settings");
    }
    const KeyDef* k = find_key(name);
    if (k == nullptr) return key_error(g->where, name, "unknown key" + suggestion(name, false));
    std::string problem;
    auto v = parse_value(*k, g->value, &problem);
    if (!v) return key_error(g->where, name, problem);
    values[name] = std::move(*v);
  }
  return {};
}

// ---------------------------------------------------------------------------------------------
// Checks across keys
// ---------------------------------------------------------------------------------------------

class Relations {
 public:
  Relations(const Givens& givens, std::string_view source) : givens_(givens), source_(source) {}

  Status check(BrokerConfig& c) const {
    for (auto step : {&Relations::check_identity, &Relations::check_log_dirs, &Relations::check_listeners,
                      &Relations::resolve_advertised, &Relations::check_kraft}) {
      if (auto st = (this->*step)(c); !st) return st;
    }
    return {};
  }

 private:
  bool given(const std::string& key) const { return givens_.count(key) != 0; }
  std::string where(const std::string& key) const {
    auto it = givens_.find(key);
    return it != givens_.end() ? it->second.where : std::string(source_);
  }
  Error error(const std::string& key, std::string_view problem) const { return key_error(where(key), key, problem); }

  Status check_identity(BrokerConfig& c) const {
    if (!given("node.id") && !given("broker.id")) {
      return error("node.id", "required key missing: this broker's id (node.id, or its alias broker.id)");
    }
    if (given("node.id") && given("broker.id") &&
        parse_integer(trim(givens_.at("node.id").value)) != parse_integer(trim(givens_.at("broker.id").value))) {
      return error("broker.id", fmt::format("broker.id {} differs from node.id {} (broker.id is an alias of node.id)",
                                            givens_.at("broker.id").value, c.node_id));
    }
    return {};
  }

  Status check_log_dirs(BrokerConfig& c) const {
    if (c.log_dirs.empty()) return error("log.dirs", "required key missing: where the logs live (log.dirs, or log.dir)");
    return {};
  }

  // Keel serves PLAINTEXT only: each listener's protocol, from the map or from its name, must be it.
  Status check_listeners(BrokerConfig& c) const {
    if (c.listeners.empty()) return error("listeners", "at least one listener is required");
    std::set<std::uint16_t> ports;
    for (const auto& l : c.listeners) {
      if (l.port != 0 && !ports.insert(l.port).second) {
        return error("listeners", fmt::format("port {} is used by two listeners", l.port));
      }
      const auto& map = c.listener_security_protocol_map;
      if (!map.empty() && map.count(l.listener_name) == 0) {
        return error("listeners", fmt::format("listener {} has no entry in listener.security.protocol.map", l.listener_name));
      }
      if (map.empty() && l.listener_name != "PLAINTEXT") {
        return error("listeners",
                     is_security_protocol(l.listener_name)
                         ? fmt::format("listener {} uses {}; Keel supports only PLAINTEXT listeners", l.listener_name, l.listener_name)
                         : fmt::format("listener name {} is not a security protocol; map it to PLAINTEXT in "
                                       "listener.security.protocol.map", l.listener_name));
      }
    }
    return {};
  }

  bool is_controller_listener(const BrokerConfig& c, const std::string& name) const {
    const auto& names = c.controller_listener_names;
    return std::find(names.begin(), names.end(), name) != names.end();
  }

  // The default advertises the broker listeners with a wildcard host replaced by 127.0.0.1: a
  // client cannot connect to 0.0.0.0, and Keel does not guess the machine's name.
  Status resolve_advertised(BrokerConfig& c) const {
    const bool explicit_list = given("advertised.listeners");
    if (!explicit_list) {
      c.advertised_listeners.clear();
      for (const auto& l : c.listeners) {
        if (!is_controller_listener(c, l.listener_name)) c.advertised_listeners.push_back(l);
      }
    }
    for (auto& a : c.advertised_listeners) {
      const bool wildcard = a.host == "0.0.0.0" || a.host == "::";
      if (explicit_list && wildcard) {
        return error("advertised.listeners", fmt::format("listener {} advertises the wildcard address {}; clients "
                                                         "cannot connect to it", a.listener_name, a.host));
      }
      if (a.host.empty() || wildcard) a.host = "127.0.0.1";
      const bool known = std::any_of(c.listeners.begin(), c.listeners.end(),
                                     [&](const Endpoint& l) { return l.listener_name == a.listener_name; });
      if (!known) {
        return error("advertised.listeners", fmt::format("listener {} is not among the listeners", a.listener_name));
      }
    }
    return {};
  }

  Status check_kraft(BrokerConfig& c) const {
    // One mode: every node takes part in the metadata quorum (KRaft), a single node as a one-voter
    // combined node, as Kafka 4's own example config is.
    if (c.process_roles.empty()) {
      return error("process.roles",
                   fmt::format("is not set: every Keel node runs the KRaft metadata quorum. For a single node, add:\n"
                               "  process.roles=broker,controller\n"
                               "  controller.quorum.voters={0}@127.0.0.1:9093\n"
                               "  controller.listener.names=CONTROLLER\n"
                               "  listeners=PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093\n"
                               "(see config/server.properties)", c.node_id < 0 ? 1 : c.node_id));
    }
    if (c.controller_quorum_voters.empty()) {
      return error("controller.quorum.voters", "is not set: list every controller as id@host:port (one for a single node)");
    }
    if (c.inter_broker_listener_name.empty()) {
      if (!c.advertised_listeners.empty()) c.inter_broker_listener_name = c.advertised_listeners.front().listener_name;
    } else if (std::none_of(c.advertised_listeners.begin(), c.advertised_listeners.end(),
                            [&](const Endpoint& a) { return a.listener_name == c.inter_broker_listener_name; })) {
      return error("inter.broker.listener.name",
                   fmt::format("{} is not among the advertised listeners", c.inter_broker_listener_name));
    }
    const auto& roles = c.process_roles;
    if (std::find(roles.begin(), roles.end(), "controller") == roles.end()) return {};
    const bool listens = std::any_of(c.listeners.begin(), c.listeners.end(),
                                     [&](const Endpoint& l) { return is_controller_listener(c, l.listener_name); });
    if (!listens) {
      return error("controller.listener.names", "a controller needs one of controller.listener.names among its listeners");
    }
    const auto& voters = c.controller_quorum_voters;
    if (!voters.empty() && std::none_of(voters.begin(), voters.end(), [&](const QuorumVoter& v) { return v.id == c.node_id; })) {
      return error("controller.quorum.voters", fmt::format("a controller's node.id {} must be one of the voters", c.node_id));
    }
    return {};
  }

  const Givens& givens_;
  std::string_view source_;
};

bool any_given(const BrokerConfig& c, const KeyDef& k) {
  if (c.values.count(std::string(k.name)) != 0) return true;
  return std::any_of(k.also_set_by.begin(), k.also_set_by.end(),
                     [&](std::string_view other) { return c.values.count(std::string(other)) != 0; });
}

// What a parsed config establishes (Relations checked it): an id, somewhere to keep logs, a
// listener, advertised addresses a client can connect to, a KRaft quorum, and every key given kept.
void assert_complete(const BrokerConfig& c, const Givens& givens) {
  KEEL_ASSERT(!c.log_dirs.empty());
  KEEL_ASSERT(!c.listeners.empty());
  KEEL_ASSERT(!c.process_roles.empty() && !c.controller_quorum_voters.empty());
  for (const auto& a : c.advertised_listeners) {
    KEEL_ASSERT_MSG(!a.host.empty() && a.host != "0.0.0.0" && a.host != "::", "listener {} advertises {}", a.listener_name, a.host);
  }
  KEEL_ASSERT_EQ(c.values.size(), givens.size());
}

// Described configs are sorted by name, each named once (DescribeConfigs answers a list).
void assert_sorted_once(const std::vector<ConfigEntry>& entries) {
  KEEL_ASSERT(std::adjacent_find(entries.begin(), entries.end(),
                                 [](const ConfigEntry& a, const ConfigEntry& b) { return !(a.name < b.name); }) == entries.end());
}

}  // namespace

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

// ---------------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------------

Result<BrokerConfig> parse_broker_config(std::string_view properties_text, std::string_view source_name,
                                         std::span<const std::string> overrides) {
  Givens givens;
  if (auto st = collect(properties_text, source_name, overrides, givens); !st) return st.error();
  std::map<std::string, Value> values;
  if (auto st = parse_given(givens, values); !st) return st.error();
  BrokerConfig c;
  for (const auto& k : key_table()) {
    if (k.use == Use::ignored) continue;
    auto it = values.find(std::string(k.name));
    if (it != values.end()) apply(k, c, it->second);
    else if (k.default_text.has_value()) apply(k, c, default_value(k));
  }
  if (auto st = Relations(givens, source_name).check(c); !st) return st.error();
  for (const auto& [name, g] : givens) c.values[name] = g.value;
  assert_complete(c, givens);
  return c;
}

Result<storage::LogConfig> apply_topic_configs(const storage::LogConfig& base,
                                               const std::map<std::string, std::string>& topic_configs) {
  storage::LogConfig out = base;
  for (const auto& [name, text] : topic_configs) {
    const KeyDef* k = find_topic_key(name);
    if (k == nullptr) return key_error("topic config", name, "unknown topic config" + suggestion(name, true));
    std::string problem;
    auto v = parse_value(*k, trim(text), &problem, /*topic_level=*/true);
    if (!v) return key_error("topic config", name, problem);
    k->apply_log(out, *v);
  }
  return out;
}

namespace {

// Kafka's ConfigType numbers (DescribeConfigs v3+).
std::int8_t kafka_type(Type t) {
  switch (t) {
    case Type::boolean: return 1;
    case Type::string: return 2;
    case Type::int32: return 3;
    case Type::int64: return 5;
    case Type::real: return 6;
    case Type::list: return 7;
  }
  return 0;
}

// The broker-level synonyms of a key, most precedent first, as Kafka lists them: each broker key for
// the setting that was given (static), then the default of the first that has one.
void add_broker_synonyms(const BrokerConfig& config, const DynamicBrokerConfigs& dynamic, const KeyDef& k,
                         std::vector<ConfigSynonym>& out) {
  if (k.topic_only) {
    out.push_back({std::string(k.name), std::string(k.default_text.value_or("")), config_source_default});
    return;
  }
  const std::string name(k.name);
  if (auto it = dynamic.this_broker.find(name); it != dynamic.this_broker.end()) {
    out.push_back({name, it->second, config_source_dynamic_broker});
  }
  if (auto it = dynamic.cluster_default.find(name); it != dynamic.cluster_default.end()) {
    out.push_back({name, it->second, config_source_dynamic_default_broker});
  }
  std::vector<std::string_view> names{k.name};
  names.insert(names.end(), k.also_set_by.begin(), k.also_set_by.end());
  for (auto name : names) {
    if (auto it = config.values.find(std::string(name)); it != config.values.end()) {
      out.push_back({std::string(name), std::string(trim(it->second)), config_source_static_broker});
    }
  }
  for (auto name : names) {
    const KeyDef* def = find_key(name);
    if (def != nullptr && def->default_text.has_value()) {
      out.push_back({std::string(name), std::string(*def->default_text), config_source_default});
      break;
    }
  }
}

std::string_view topic_documentation(std::string_view topic_key);

bool by_name(const ConfigEntry& a, const ConfigEntry& b) { return a.name < b.name; }

bool is_dynamic(const KeyDef& k) { return !k.topic_only && !k.topic_name.empty() && k.apply_log; }

// The dynamic value of a broker key and its source: this broker's, else the cluster default's.
bool dynamic_value(const DynamicBrokerConfigs& dynamic, const KeyDef& k, ConfigEntry& e) {
  if (!is_dynamic(k)) return false;
  const std::string name(k.name);
  if (auto it = dynamic.this_broker.find(name); it != dynamic.this_broker.end()) {
    e.value = it->second;
    e.source = config_source_dynamic_broker;
  } else if (auto d = dynamic.cluster_default.find(name); d != dynamic.cluster_default.end()) {
    e.value = d->second;
    e.source = config_source_dynamic_default_broker;
  } else {
    return false;
  }
  e.is_default = false;
  return true;
}

}  // namespace

bool dynamic_broker_key(std::string_view name) {
  const KeyDef* k = find_key(name);
  return k != nullptr && is_dynamic(*k);
}

Result<storage::LogConfig> apply_broker_configs(const storage::LogConfig& base,
                                                const std::map<std::string, std::string>& broker_configs) {
  storage::LogConfig out = base;
  for (const auto& [name, text] : broker_configs) {
    const KeyDef* k = find_key(name);
    if (k == nullptr || !is_dynamic(*k)) {
      return key_error("broker config", name,
                       k == nullptr ? "unknown key" + suggestion(name, false)
                                    : std::string("cannot be changed at run time (only the log defaults of topic configs can)"));
    }
    std::string problem;
    auto v = parse_value(*k, trim(text), &problem);
    if (!v) return key_error("broker config", name, problem);
    k->apply_log(out, *v);
  }
  return out;
}

std::optional<TopicConfigKind> broker_config_kind(std::string_view name) {
  const KeyDef* k = find_key(name);
  if (k == nullptr || !is_dynamic(*k)) return std::nullopt;
  return TopicConfigKind{k->type == Type::list, std::string(k->default_text.value_or(""))};
}

std::vector<ConfigEntry> describe_broker_config(const BrokerConfig& config, const DynamicBrokerConfigs& dynamic) {
  std::vector<ConfigEntry> out;
  for (const auto& k : key_table()) {
    if (k.topic_only) continue;
    ConfigEntry e;
    e.name = std::string(k.name);
    e.read_only = !is_dynamic(k);
    e.type = kafka_type(k.type);
    if (dynamic_value(dynamic, k, e)) {
      // set at run time
    } else if (auto it = config.values.find(e.name); it != config.values.end()) {
      e.value = it->second;
      e.is_default = false;
      e.source = config_source_static_broker;
    } else if (k.default_text.has_value()) {
      e.value = std::string(*k.default_text);
    } else if (k.read_log) {
      e.value = k.read_log(config.log);  // set by a lower-precedence key, or by its default
      e.is_default = !any_given(config, k);
      e.source = e.is_default ? config_source_default : config_source_static_broker;
    } else {
      continue;  // no value of its own: log.dir, log.retention.minutes, broker.id, ...
    }
    add_broker_synonyms(config, dynamic, k, e.synonyms);
    out.push_back(std::move(e));
  }
  std::sort(out.begin(), out.end(), by_name);
  assert_sorted_once(out);
  return out;
}

std::vector<ConfigEntry> describe_topic_config(const BrokerConfig& config,
                                               const std::map<std::string, std::string>& topic_overrides,
                                               const DynamicBrokerConfigs& dynamic) {
  std::vector<ConfigEntry> out;
  for (const auto& k : key_table()) {
    if (k.topic_name.empty()) continue;
    ConfigEntry e;
    e.name = std::string(k.topic_name);
    e.type = kafka_type(k.type);
    e.documentation = std::string(topic_documentation(e.name));
    if (auto it = topic_overrides.find(e.name); it != topic_overrides.end()) {
      e.value = std::string(trim(it->second));
      e.is_default = false;
      e.source = config_source_dynamic_topic;
      e.synonyms.push_back({e.name, e.value, config_source_dynamic_topic});
    } else if (dynamic_value(dynamic, k, e)) {
      // a dynamic broker config: the value as set
    } else {
      e.value = k.read_log(config.log);
      e.is_default = !any_given(config, k);
      e.source = e.is_default ? config_source_default : config_source_static_broker;
    }
    add_broker_synonyms(config, dynamic, k, e.synonyms);
    out.push_back(std::move(e));
  }
  std::sort(out.begin(), out.end(), by_name);
  assert_sorted_once(out);
  return out;
}

std::optional<TopicConfigKind> topic_config_kind(std::string_view name) {
  const KeyDef* k = find_topic_key(name);
  if (k == nullptr) return std::nullopt;
  return TopicConfigKind{k->type == Type::list, std::string(k->default_text.value_or(""))};
}

std::vector<std::string> topic_config_names() {
  std::vector<std::string> out;
  for (const auto& k : key_table()) {
    if (!k.topic_name.empty()) out.emplace_back(k.topic_name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> ignored_keys(const BrokerConfig& config) {
  std::vector<std::string> out;
  for (const auto& [name, value] : config.values) {
    const KeyDef* k = find_key(name);
    if (k != nullptr && k->use == Use::ignored) out.push_back(name);
  }
  return out;
}

namespace {

// What DescribeConfigs answers as a topic config's documentation, saying what Keel does with it.
// data table: longer than 70 lines by design
std::string_view topic_documentation(std::string_view topic_key) {
  static const std::map<std::string_view, std::string_view> docs{
      {"cleanup.policy", "delete: old segments are deleted by retention.ms and retention.bytes; compact: accepted and stored, but Keel has no log cleaner yet, so a compact-only topic keeps every segment."},
      {"compression.type", "The codec the leader stores batches in: uncompressed, gzip, snappy, lz4, zstd, or producer (the producer's codec stays). A batch in another codec is recompressed."},
      {"compression.gzip.level", "gzip level when compression.type is gzip (accepted; Keel compresses at its codec's default level)."},
      {"compression.lz4.level", "lz4 level when compression.type is lz4 (accepted; Keel compresses at its codec's default level)."},
      {"compression.zstd.level", "zstd level when compression.type is zstd (accepted; Keel compresses at its codec's default level)."},
      {"delete.retention.ms", "How long delete tombstones are kept on compacted topics (accepted; no log cleaner yet)."},
      {"file.delete.delay.ms", "How long a deleted segment's files stay (renamed .deleted) before removal."},
      {"flush.messages", "fsync the log after this many unflushed messages."},
      {"flush.ms", "fsync a log whose last flush is older than this."},
      {"follower.replication.throttled.replicas", "Replicas throttled on the follower side (accepted; Keel has no replication quotas)."},
      {"index.interval.bytes", "Bytes of log between two entries of the offset and time indexes."},
      {"leader.replication.throttled.replicas", "Replicas throttled on the leader side (accepted; Keel has no replication quotas)."},
      {"local.retention.bytes", "Tiered storage: local bytes kept before deletion (accepted; Keel has no tiered storage)."},
      {"local.retention.ms", "Tiered storage: local time kept before deletion (accepted; Keel has no tiered storage)."},
      {"max.compaction.lag.ms", "Longest a record stays uncompacted (accepted; no log cleaner yet)."},
      {"max.message.bytes", "The largest record batch the topic accepts (after recompression); larger ones are refused with MESSAGE_TOO_LARGE."},
      {"message.timestamp.after.max.ms", "CreateTime: how far after the broker's clock a record timestamp may be."},
      {"message.timestamp.before.max.ms", "CreateTime: how far before the broker's clock a record timestamp may be."},
      {"message.timestamp.type", "CreateTime keeps the producer's timestamps; LogAppendTime stamps each batch with the leader's clock."},
      {"min.cleanable.dirty.ratio", "Dirty share of a log before compaction (accepted; no log cleaner yet)."},
      {"min.compaction.lag.ms", "Shortest time a record stays uncompacted (accepted; no log cleaner yet)."},
      {"min.insync.replicas", "The fewest in-sync replicas an acks=all produce needs (else NOT_ENOUGH_REPLICAS)."},
      {"preallocate", "Preallocate segment files (accepted; Keel does not preallocate)."},
      {"remote.log.copy.disable", "Tiered storage: stop copying to remote storage (accepted; Keel has no tiered storage)."},
      {"remote.log.delete.on.disable", "Tiered storage: delete remote data when disabled (accepted; Keel has no tiered storage)."},
      {"remote.storage.enable", "Tiered storage for the topic (accepted; Keel has no tiered storage)."},
      {"retention.bytes", "Delete the oldest segments while the partition is larger than this; -1: no limit."},
      {"retention.ms", "Delete segments whose newest record is older than this; -1: keep forever."},
      {"segment.bytes", "Roll the active segment before it would pass this size."},
      {"segment.index.bytes", "The largest offset or time index of a segment; a full index rolls the segment."},
      {"segment.jitter.ms", "Roll up to this much before segment.ms, a random amount per segment."},
      {"segment.ms", "Roll the active segment when its first record is older than this."},
      {"unclean.leader.election.enable", "Allow a replica outside the ISR to become leader (losing what it lacks) when no in-sync replica is left."},
  };
  auto it = docs.find(topic_key);
  return it == docs.end() ? std::string_view() : it->second;
}

}  // namespace

}  // namespace keel::config
