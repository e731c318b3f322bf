#include "broker/server/config.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <limits>
#include <optional>

namespace keel::server {
namespace {

constexpr std::int64_t i32_max = std::numeric_limits<std::int32_t>::max();
constexpr std::int64_t i64_max = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t ms_per_minute = 60'000;
constexpr std::int64_t ms_per_hour = 3'600'000;

enum class Kind { int32, int64, boolean, text, list, ignored };

struct Value {
  std::int64_t number = 0;
  bool flag = false;
  std::string text;
  std::vector<std::string> items;
};

using Setter = Status (*)(BrokerConfig&, const Value&);

// One known broker key. Keys are applied in table order, so of two keys setting one field the
// later one wins: log.retention.ms after .minutes after .hours, as Kafka gives them precedence.
struct KeyDef {
  std::string_view name;
  Kind kind;
  std::string_view fallback;  // Kafka's default, as DescribeConfigs shows it ("" for none)
  std::int64_t min = 0;
  std::int64_t max = i64_max;
  Setter set = nullptr;
};

std::string trim(std::string_view s) {
  const auto begin = s.find_first_not_of(" \t\f\r\n");
  if (begin == std::string_view::npos) return {};
  const auto end = s.find_last_not_of(" \t\f\r\n");
  return std::string(s.substr(begin, end - begin + 1));
}

std::vector<std::string> split_list(std::string_view s) {
  std::vector<std::string> out;
  std::size_t begin = 0;
  while (begin <= s.size()) {
    const std::size_t end = std::min(s.find(',', begin), s.size());
    if (auto item = trim(s.substr(begin, end - begin)); !item.empty()) out.push_back(std::move(item));
    begin = end + 1;
  }
  return out;
}

Result<std::vector<Endpoint>> parse_listeners(const std::string& text) {
  std::vector<Endpoint> out;
  for (const auto& item : split_list(text)) {
    const auto scheme = item.find("://");
    const auto colon = item.rfind(':');
    if (scheme == std::string::npos || colon == std::string::npos || colon < scheme + 3) {
      return make_error(Errc::invalid_argument, fmt::format("'{}' is not NAME://host:port", item));
    }
    Endpoint e;
    e.listener_name = item.substr(0, scheme);
    e.host = item.substr(scheme + 3, colon - scheme - 3);
    const std::string port = item.substr(colon + 1);
    unsigned value = 0;
    const auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || ptr != port.data() + port.size() || value > 65535) {
      return make_error(Errc::invalid_argument, fmt::format("'{}' has a bad port '{}'", item, port));
    }
    if (e.listener_name.empty()) return make_error(Errc::invalid_argument, fmt::format("'{}' has no listener name", item));
    e.port = static_cast<std::uint16_t>(value);
    out.push_back(std::move(e));
  }
  if (out.empty()) return make_error(Errc::invalid_argument, "no listener given");
  return out;
}

Status set_listeners(std::vector<Endpoint>& field, const Value& v) {
  auto parsed = parse_listeners(v.text);
  if (!parsed) return parsed.error();
  for (const auto& e : *parsed) {
    if (e.listener_name == "SSL" || e.listener_name.starts_with("SASL")) {
      return make_error(Errc::invalid_argument,
                        fmt::format("listener {}: only PLAINTEXT listeners are supported", e.listener_name));
    }
  }
  field = std::move(*parsed);
  return {};
}

Status ok() { return {}; }

const std::array broker_keys{
    KeyDef{"node.id", Kind::int32, "", 0, i32_max, [](BrokerConfig& c, const Value& v) { c.node_id = static_cast<std::int32_t>(v.number); return ok(); }},
    KeyDef{"broker.id", Kind::int32, "", 0, i32_max, [](BrokerConfig& c, const Value& v) { c.node_id = static_cast<std::int32_t>(v.number); return ok(); }},
    KeyDef{"listeners", Kind::text, "PLAINTEXT://:9092", 0, 0, [](BrokerConfig& c, const Value& v) { return set_listeners(c.listeners, v); }},
    KeyDef{"advertised.listeners", Kind::text, "", 0, 0, [](BrokerConfig& c, const Value& v) { return set_listeners(c.advertised_listeners, v); }},
    KeyDef{"log.dir", Kind::list, "/tmp/kafka-logs", 0, 0, [](BrokerConfig& c, const Value& v) { c.log_dirs = v.items; return ok(); }},
    KeyDef{"log.dirs", Kind::list, "", 0, 0, [](BrokerConfig& c, const Value& v) { c.log_dirs = v.items; return ok(); }},
    KeyDef{"num.partitions", Kind::int32, "1", 1, i32_max, [](BrokerConfig& c, const Value& v) { c.num_partitions = static_cast<std::int32_t>(v.number); return ok(); }},
    KeyDef{"default.replication.factor", Kind::int32, "1", 1, 32767, [](BrokerConfig& c, const Value& v) { c.default_replication_factor = static_cast<std::int16_t>(v.number); return ok(); }},
    KeyDef{"auto.create.topics.enable", Kind::boolean, "true", 0, 0, [](BrokerConfig& c, const Value& v) { c.auto_create_topics_enable = v.flag; return ok(); }},
    KeyDef{"socket.request.max.bytes", Kind::int32, "104857600", 1, i32_max, [](BrokerConfig& c, const Value& v) { c.socket_request_max_bytes = static_cast<std::int32_t>(v.number); return ok(); }},
    KeyDef{"message.max.bytes", Kind::int32, "1048588", 0, i32_max, [](BrokerConfig& c, const Value& v) { c.log.max_message_bytes = static_cast<std::int32_t>(v.number); return ok(); }},
    KeyDef{"log.segment.bytes", Kind::int32, "1073741824", 14, i32_max, [](BrokerConfig& c, const Value& v) { c.log.segment_bytes = v.number; return ok(); }},
    KeyDef{"log.roll.hours", Kind::int32, "168", 1, i32_max, [](BrokerConfig& c, const Value& v) { c.log.segment_ms = v.number * ms_per_hour; return ok(); }},
    KeyDef{"log.roll.ms", Kind::int64, "", 1, i64_max, [](BrokerConfig& c, const Value& v) { c.log.segment_ms = v.number; return ok(); }},
    KeyDef{"log.index.interval.bytes", Kind::int32, "4096", 0, i32_max, [](BrokerConfig& c, const Value& v) { c.log.index_interval_bytes = static_cast<std::int32_t>(v.number); return ok(); }},
    KeyDef{"log.index.size.max.bytes", Kind::int32, "10485760", 4, i32_max, [](BrokerConfig& c, const Value& v) { c.log.segment_index_bytes = static_cast<std::int32_t>(v.number); return ok(); }},
    KeyDef{"log.retention.hours", Kind::int32, "168", -1, i32_max, [](BrokerConfig& c, const Value& v) { c.log.retention_ms = v.number < 0 ? -1 : v.number * ms_per_hour; return ok(); }},
    KeyDef{"log.retention.minutes", Kind::int32, "", -1, i32_max, [](BrokerConfig& c, const Value& v) { c.log.retention_ms = v.number < 0 ? -1 : v.number * ms_per_minute; return ok(); }},
    KeyDef{"log.retention.ms", Kind::int64, "", -1, i64_max, [](BrokerConfig& c, const Value& v) { c.log.retention_ms = v.number; return ok(); }},
    KeyDef{"log.retention.bytes", Kind::int64, "-1", -1, i64_max, [](BrokerConfig& c, const Value& v) { c.log.retention_bytes = v.number; return ok(); }},
    KeyDef{"log.retention.check.interval.ms", Kind::int64, "300000", 1, i64_max, [](BrokerConfig& c, const Value& v) { c.log_retention_check_interval_ms = v.number; return ok(); }},
    KeyDef{"log.flush.interval.messages", Kind::int64, "9223372036854775807", 1, i64_max, [](BrokerConfig& c, const Value& v) { c.log.flush_interval_messages = v.number; return ok(); }},
    KeyDef{"log.flush.interval.ms", Kind::int64, "", 0, i64_max, [](BrokerConfig& c, const Value& v) { c.log.flush_interval_ms = v.number; return ok(); }},
    KeyDef{"log.flush.scheduler.interval.ms", Kind::int64, "9223372036854775807", 1, i64_max, [](BrokerConfig& c, const Value& v) { c.log_flush_scheduler_interval_ms = v.number; return ok(); }},
    KeyDef{"log.flush.offset.checkpoint.interval.ms", Kind::int32, "60000", 0, i32_max, [](BrokerConfig& c, const Value& v) { c.log_flush_offset_checkpoint_interval_ms = v.number; return ok(); }},
    KeyDef{"log.segment.delete.delay.ms", Kind::int64, "60000", 0, i64_max, [](BrokerConfig& c, const Value& v) { c.log.file_delete_delay_ms = v.number; return ok(); }},
    KeyDef{"log.message.timestamp.type", Kind::text, "CreateTime", 0, 0, [](BrokerConfig& c, const Value& v) {
             if (v.text != "CreateTime" && v.text != "LogAppendTime") {
               return Status(make_error(Errc::invalid_argument, fmt::format("'{}' is not CreateTime or LogAppendTime", v.text)));
             }
             c.log.log_append_time = v.text == "LogAppendTime";
             return ok();
           }},
    KeyDef{"cluster.id", Kind::text, "", 0, 0, [](BrokerConfig& c, const Value& v) { c.cluster_id = v.text; return ok(); }},
    // Stored for the replicated cluster (KRaft roles and quorum); not used by a single broker.
    KeyDef{"process.roles", Kind::list, "", 0, 0, nullptr},
    KeyDef{"controller.quorum.voters", Kind::list, "", 0, 0, nullptr},
    KeyDef{"controller.listener.names", Kind::list, "", 0, 0, nullptr},
    KeyDef{"inter.broker.listener.name", Kind::text, "", 0, 0, nullptr},
    KeyDef{"listener.security.protocol.map", Kind::list, "", 0, 0, [](BrokerConfig&, const Value& v) {
             for (const auto& item : v.items) {
               if (!item.ends_with(":PLAINTEXT")) {
                 return Status(make_error(Errc::invalid_argument, fmt::format("'{}': only PLAINTEXT is supported", item)));
               }
             }
             return ok();
           }},
    // Kafka settings with no effect in Keel (threads, socket buffers, internal topics of later issues).
    KeyDef{"num.network.threads", Kind::ignored, "3"},
    KeyDef{"num.io.threads", Kind::ignored, "8"},
    KeyDef{"socket.send.buffer.bytes", Kind::ignored, "102400"},
    KeyDef{"socket.receive.buffer.bytes", Kind::ignored, "102400"},
    KeyDef{"num.recovery.threads.per.data.dir", Kind::ignored, "1"},
    KeyDef{"offsets.topic.replication.factor", Kind::ignored, "3"},
    KeyDef{"transaction.state.log.replication.factor", Kind::ignored, "3"},
    KeyDef{"transaction.state.log.min.isr", Kind::ignored, "2"},
    KeyDef{"group.initial.rebalance.delay.ms", Kind::ignored, "3000"},
    KeyDef{"log.cleaner.enable", Kind::ignored, "true"},
};

const KeyDef* find_key(std::string_view name) {
  for (const auto& k : broker_keys) {
    if (k.name == name) return &k;
  }
  return nullptr;
}

Result<Value> parse_value(Kind kind, const std::string& text, std::int64_t min, std::int64_t max) {
  Value v;
  v.text = text;
  switch (kind) {
    case Kind::int32:
    case Kind::int64: {
      const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v.number);
      if (ec != std::errc() || ptr != text.data() + text.size() || text.empty()) {
        return make_error(Errc::invalid_argument, fmt::format("'{}' is not a whole number", text));
      }
      if (v.number < min || v.number > max) {
        return make_error(Errc::invalid_argument, fmt::format("{} is outside the valid range [{}, {}]", v.number, min, max));
      }
      return v;
    }
    case Kind::boolean: {
      std::string lower = text;
      std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      if (lower != "true" && lower != "false") return make_error(Errc::invalid_argument, fmt::format("'{}' is not true or false", text));
      v.flag = lower == "true";
      return v;
    }
    case Kind::list:
      v.items = split_list(text);
      if (v.items.empty()) return make_error(Errc::invalid_argument, "the list is empty");
      return v;
    case Kind::text:
    case Kind::ignored:
      return v;
  }
  return v;
}

// ---- .properties text ----

struct Entry {
  std::string value;
  std::string where;  // "file:line" or "--override"
};

std::string unescape(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\' || i + 1 == s.size()) {
      out += s[i];
      continue;
    }
    const char c = s[++i];
    if (c == 't') out += '\t';
    else if (c == 'n') out += '\n';
    else if (c == 'r') out += '\r';
    else if (c == 'f') out += '\f';
    else if (c == 'u' && i + 4 < s.size()) {
      unsigned code = 0;
      const auto [ptr, ec] = std::from_chars(s.data() + i + 1, s.data() + std::min(s.size(), i + 5), code, 16);
      if (ec == std::errc() && ptr == s.data() + i + 5 && code < 0x80) {
        out += static_cast<char>(code);
        i += 4;
      } else {
        out += 'u';
      }
    } else {
      out += c;
    }
  }
  return out;
}

// Splits a logical line at the first unescaped '=', ':' or whitespace.
std::pair<std::string, std::string> split_entry(std::string_view line) {
  std::size_t i = 0;
  while (i < line.size()) {
    if (line[i] == '\\') {
      i += 2;
      continue;
    }
    if (line[i] == '=' || line[i] == ':' || line[i] == ' ' || line[i] == '\t' || line[i] == '\f') break;
    ++i;
  }
  std::string key = unescape(line.substr(0, std::min(i, line.size())));
  std::size_t j = i;
  while (j < line.size() && (line[j] == ' ' || line[j] == '\t' || line[j] == '\f')) ++j;
  if (j < line.size() && (line[j] == '=' || line[j] == ':')) ++j;
  while (j < line.size() && (line[j] == ' ' || line[j] == '\t' || line[j] == '\f')) ++j;
  return {key, unescape(line.substr(std::min(j, line.size())))};
}

bool ends_in_continuation(std::string_view line) {
  std::size_t backslashes = 0;
  for (auto it = line.rbegin(); it != line.rend() && *it == '\\'; ++it) ++backslashes;
  return backslashes % 2 == 1;
}

std::vector<std::pair<std::string, Entry>> parse_properties(std::string_view text, std::string_view source) {
  std::vector<std::pair<std::string, Entry>> out;
  std::size_t pos = 0;
  int line_number = 0;
  while (pos < text.size()) {
    std::string logical;
    const int first_line = line_number + 1;
    bool more = true;
    while (more && pos < text.size()) {
      const std::size_t end = std::min(text.find('\n', pos), text.size());
      std::string_view raw = text.substr(pos, end - pos);
      if (!raw.empty() && raw.back() == '\r') raw.remove_suffix(1);
      pos = end + 1;
      ++line_number;
      std::string part = logical.empty() ? trim(raw) : std::string(raw.substr(std::min(raw.find_first_not_of(" \t\f"), raw.size())));
      if (logical.empty() && (part.empty() || part[0] == '#' || part[0] == '!')) break;
      more = ends_in_continuation(part);
      if (more) part.pop_back();
      logical += part;
    }
    if (logical.empty()) continue;
    auto [key, value] = split_entry(logical);
    out.emplace_back(std::move(key), Entry{std::move(value), fmt::format("{}:{}", source, first_line)});
  }
  return out;
}

Error key_error(std::string_view key, std::string_view where, std::string_view problem) {
  return Error{Errc::invalid_argument, fmt::format("{} ({}): {}", key, where, problem)};
}

Status check_required(const BrokerConfig& c) {
  if (c.node_id < 0) return make_error(Errc::invalid_argument, "node.id: missing; every broker needs a node.id (>= 0)");
  if (c.log_dirs.empty()) return make_error(Errc::invalid_argument, "log.dirs: missing; give the directories that hold the logs");
  return {};
}

// ---- topic-level keys ----

using TopicSetter = void (*)(storage::LogConfig&, std::int64_t);
using TopicGetter = std::int64_t (*)(const storage::LogConfig&);

struct TopicKeyDef {
  std::string_view name;
  std::string_view broker_key;  // the broker default it falls back to
  std::int64_t min;
  std::int64_t max;
  TopicSetter set;
  TopicGetter get;
};

const std::array topic_keys{
    TopicKeyDef{"retention.ms", "log.retention.ms", -1, i64_max, [](storage::LogConfig& l, std::int64_t v) { l.retention_ms = v; }, [](const storage::LogConfig& l) { return l.retention_ms; }},
    TopicKeyDef{"retention.bytes", "log.retention.bytes", -1, i64_max, [](storage::LogConfig& l, std::int64_t v) { l.retention_bytes = v; }, [](const storage::LogConfig& l) { return l.retention_bytes; }},
    TopicKeyDef{"segment.bytes", "log.segment.bytes", 14, i32_max, [](storage::LogConfig& l, std::int64_t v) { l.segment_bytes = v; }, [](const storage::LogConfig& l) { return l.segment_bytes; }},
    TopicKeyDef{"segment.ms", "log.roll.ms", 1, i64_max, [](storage::LogConfig& l, std::int64_t v) { l.segment_ms = v; }, [](const storage::LogConfig& l) { return l.segment_ms; }},
    TopicKeyDef{"segment.index.bytes", "log.index.size.max.bytes", 4, i32_max, [](storage::LogConfig& l, std::int64_t v) { l.segment_index_bytes = static_cast<std::int32_t>(v); }, [](const storage::LogConfig& l) { return std::int64_t{l.segment_index_bytes}; }},
    TopicKeyDef{"index.interval.bytes", "log.index.interval.bytes", 0, i32_max, [](storage::LogConfig& l, std::int64_t v) { l.index_interval_bytes = static_cast<std::int32_t>(v); }, [](const storage::LogConfig& l) { return std::int64_t{l.index_interval_bytes}; }},
    TopicKeyDef{"flush.messages", "log.flush.interval.messages", 1, i64_max, [](storage::LogConfig& l, std::int64_t v) { l.flush_interval_messages = v; }, [](const storage::LogConfig& l) { return l.flush_interval_messages; }},
    TopicKeyDef{"flush.ms", "log.flush.interval.ms", 0, i64_max, [](storage::LogConfig& l, std::int64_t v) { l.flush_interval_ms = v; }, [](const storage::LogConfig& l) { return l.flush_interval_ms; }},
    TopicKeyDef{"file.delete.delay.ms", "log.segment.delete.delay.ms", 0, i64_max, [](storage::LogConfig& l, std::int64_t v) { l.file_delete_delay_ms = v; }, [](const storage::LogConfig& l) { return l.file_delete_delay_ms; }},
    TopicKeyDef{"max.message.bytes", "message.max.bytes", 0, i32_max, [](storage::LogConfig& l, std::int64_t v) { l.max_message_bytes = static_cast<std::int32_t>(v); }, [](const storage::LogConfig& l) { return std::int64_t{l.max_message_bytes}; }},
};

std::string topic_text_value(const storage::LogConfig& log, std::string_view key) {
  if (key == "message.timestamp.type") return log.log_append_time ? "LogAppendTime" : "CreateTime";
  if (key == "cleanup.policy") return "delete";
  for (const auto& k : topic_keys) {
    if (k.name == key) return std::to_string(k.get(log));
  }
  return {};
}

}  // namespace

Result<BrokerConfig> parse_broker_config(std::string_view properties_text, std::string_view source_name,
                                         std::span<const std::string> overrides) {
  auto entries = parse_properties(properties_text, source_name);
  for (const auto& o : overrides) {
    const auto eq = o.find('=');
    if (eq == std::string::npos) {
      return make_error(Errc::invalid_argument, fmt::format("--override '{}': expected key=value", o));
    }
    entries.emplace_back(trim(std::string_view(o).substr(0, eq)), Entry{trim(std::string_view(o).substr(eq + 1)), "--override"});
  }
  std::map<std::string, Entry> given;  // the last value of each key wins
  for (auto& [key, entry] : entries) {
    if (key.starts_with("zookeeper.")) return key_error(key, entry.where, "Keel runs in KRaft mode only; remove ZooKeeper settings");
    if (find_key(key) == nullptr) return key_error(key, entry.where, "unknown configuration key");
    given[key] = std::move(entry);
  }
  BrokerConfig config;
  for (const auto& def : broker_keys) {
    auto it = given.find(std::string(def.name));
    if (it == given.end()) continue;
    auto value = parse_value(def.kind, it->second.value, def.min, def.max);
    if (!value) return key_error(def.name, it->second.where, value.error().message);
    if (def.set != nullptr) {
      if (auto st = def.set(config, *value); !st) return key_error(def.name, it->second.where, st.error().message);
    }
    config.values[std::string(def.name)] = it->second.value;
  }
  if (config.listeners.empty()) config.listeners = *parse_listeners("PLAINTEXT://:9092");
  if (config.advertised_listeners.empty()) {
    config.advertised_listeners = config.listeners;
    for (auto& e : config.advertised_listeners) {
      if (e.host.empty() || e.host == "0.0.0.0") e.host = "127.0.0.1";
    }
  }
  if (auto st = check_required(config); !st) return st.error();
  return config;
}

Result<storage::LogConfig> apply_topic_configs(const storage::LogConfig& base,
                                               const std::map<std::string, std::string>& topic_configs) {
  storage::LogConfig out = base;
  for (const auto& [key, text] : topic_configs) {
    if (key == "cleanup.policy") {
      if (text != "delete") return make_error(Errc::invalid_argument, fmt::format("{}={}: only 'delete' is supported; compaction is not implemented yet", key, text));
      continue;
    }
    if (key == "message.timestamp.type") {
      if (text != "CreateTime" && text != "LogAppendTime") {
        return make_error(Errc::invalid_argument, fmt::format("{}={}: expected CreateTime or LogAppendTime", key, text));
      }
      out.log_append_time = text == "LogAppendTime";
      continue;
    }
    const auto def = std::find_if(topic_keys.begin(), topic_keys.end(), [&](const TopicKeyDef& d) { return d.name == key; });
    if (def == topic_keys.end()) return make_error(Errc::invalid_argument, fmt::format("{}: unknown topic configuration key", key));
    auto value = parse_value(Kind::int64, text, def->min, def->max);
    if (!value) return make_error(Errc::invalid_argument, fmt::format("{}={}: {}", key, text, value.error().message));
    def->set(out, value->number);
  }
  return out;
}

std::vector<ConfigEntry> describe_broker_config(const BrokerConfig& config) {
  std::vector<ConfigEntry> out;
  for (const auto& def : broker_keys) {
    if (def.kind == Kind::ignored) continue;
    ConfigEntry e;
    e.name = std::string(def.name);
    e.read_only = true;
    if (auto it = config.values.find(e.name); it != config.values.end()) {
      e.value = it->second;
      e.is_default = false;
      e.source = 4;
    } else {
      e.value = std::string(def.fallback);
    }
    out.push_back(std::move(e));
  }
  std::sort(out.begin(), out.end(), [](const ConfigEntry& a, const ConfigEntry& b) { return a.name < b.name; });
  return out;
}

std::vector<ConfigEntry> describe_topic_config(const BrokerConfig& config,
                                               const std::map<std::string, std::string>& topic_overrides) {
  std::vector<std::pair<std::string, std::string>> keys{{"cleanup.policy", ""}, {"message.timestamp.type", "log.message.timestamp.type"}};
  for (const auto& k : topic_keys) keys.emplace_back(std::string(k.name), std::string(k.broker_key));
  std::vector<ConfigEntry> out;
  for (const auto& [name, broker_key] : keys) {
    ConfigEntry e;
    e.name = name;
    if (auto it = topic_overrides.find(name); it != topic_overrides.end()) {
      e.value = it->second;
      e.is_default = false;
      e.source = 1;
    } else {
      e.value = topic_text_value(config.log, name);
      e.source = config.values.contains(broker_key) ? 4 : 5;
    }
    out.push_back(std::move(e));
  }
  std::sort(out.begin(), out.end(), [](const ConfigEntry& a, const ConfigEntry& b) { return a.name < b.name; });
  return out;
}

std::vector<std::string> ignored_keys(const BrokerConfig& config) {
  std::vector<std::string> out;
  for (const auto& def : broker_keys) {
    if (def.kind == Kind::ignored && config.values.contains(std::string(def.name))) out.emplace_back(def.name);
  }
  return out;
}

}  // namespace keel::server
