#include "broker/server/topics.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

namespace keel::server {
namespace {

constexpr std::string_view registry_file = "keel-topics.json";
constexpr std::size_t registry_bytes_max = 64 << 20;

std::string uuid_hex(const protocol::Uuid& id) {
  std::string out;
  for (auto b : id.bytes) out += fmt::format("{:02x}", b);
  return out;
}

Result<protocol::Uuid> parse_uuid_hex(const std::string& text) {
  protocol::Uuid id;
  if (text.size() != 32) return make_error(Errc::corrupt, fmt::format("topic id '{}' is not 32 hex digits", text));
  for (std::size_t i = 0; i < 16; ++i) {
    unsigned value = 0;
    for (std::size_t j = 0; j < 2; ++j) {
      const char c = text[2 * i + j];
      const int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
      if (digit < 0) return make_error(Errc::corrupt, fmt::format("topic id '{}' is not hex", text));
      value = value * 16 + static_cast<unsigned>(digit);
    }
    id.bytes[i] = static_cast<std::uint8_t>(value);
  }
  return id;
}

Result<TopicInfo> topic_from_json(const nlohmann::json& j) {
  TopicInfo topic;
  topic.name = j.at("name").get<std::string>();
  auto id = parse_uuid_hex(j.at("id").get<std::string>());
  if (!id) return id.error();
  topic.id = *id;
  topic.partitions = j.at("partitions").get<std::int32_t>();
  topic.replication_factor = j.at("replication_factor").get<std::int16_t>();
  topic.configs = j.at("configs").get<std::map<std::string, std::string>>();
  if (!topic_name_problem(topic.name).empty() || topic.partitions < 1) {
    return make_error(Errc::corrupt, fmt::format("topic entry '{}' is not valid", topic.name));
  }
  return topic;
}

}  // namespace

std::string topic_name_problem(std::string_view name) {
  if (name.empty()) return "topic name is empty";
  if (name.size() > 249) return fmt::format("topic name is {} characters long; at most 249 are allowed", name.size());
  if (name == "." || name == "..") return fmt::format("topic name '{}' is not allowed", name);
  for (char c : name) {
    const bool legal = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                       c == '_' || c == '-';
    if (!legal) return fmt::format("topic name '{}' has an illegal character; use [a-zA-Z0-9._-]", name);
  }
  return {};
}

TopicRegistry::TopicRegistry(Runtime& rt, std::string dir) : rt_(rt), dir_(std::move(dir)) {}

std::string TopicRegistry::file_path() const { return join_path(dir_, std::string(registry_file)); }

Status TopicRegistry::load() {
  if (dir_.empty()) return {};
  topics_.clear();
  auto exists = rt_.disk().exists(file_path());
  if (!exists) return exists.error();
  if (!*exists) return {};
  auto file = rt_.disk().open(file_path(), OpenOptions{.create = false, .exclusive = false, .truncate = false, .read_only = true});
  if (!file) return file.error();
  auto size = file->size();
  if (!size) return size.error();
  if (*size > registry_bytes_max) return make_error(Errc::corrupt, fmt::format("{}: {} bytes is too large", file_path(), *size));
  std::string text(*size, '\0');
  if (auto st = file->read_exact_at(0, std::as_writable_bytes(std::span(text))); !st) return st;
  try {
    const auto j = nlohmann::json::parse(text);
    for (const auto& entry : j.at("topics")) {
      auto topic = topic_from_json(entry);
      if (!topic) return make_error(Errc::corrupt, fmt::format("{}: {}", file_path(), topic.error().message));
      topics_.emplace(topic->name, std::move(*topic));
    }
  } catch (const nlohmann::json::exception& e) {
    return make_error(Errc::corrupt, fmt::format("{}: not a valid topic registry: {}", file_path(), e.what()));
  }
  return {};
}

const TopicInfo* TopicRegistry::find(std::string_view name) const {
  auto it = topics_.find(name);
  return it == topics_.end() ? nullptr : &it->second;
}

Status TopicRegistry::add(TopicInfo topic) {
  const std::string name = topic.name;
  auto [it, inserted] = topics_.emplace(name, std::move(topic));
  KEEL_ASSERT(inserted);
  if (auto st = save(); !st) {
    topics_.erase(it);
    return st;
  }
  return {};
}

Status TopicRegistry::remove(std::string_view name) {
  auto it = topics_.find(name);
  if (it == topics_.end()) return make_error(Errc::not_found, fmt::format("topic '{}' does not exist", name));
  TopicInfo removed = std::move(it->second);
  topics_.erase(it);
  if (auto st = save(); !st) {
    topics_.emplace(removed.name, std::move(removed));
    return st;
  }
  return {};
}

protocol::Uuid TopicRegistry::new_topic_id() {
  protocol::Uuid id;
  do {
    for (auto& b : id.bytes) b = static_cast<std::uint8_t>(rt_.random().below(256));
  } while (id == protocol::Uuid{});
  return id;
}

Status TopicRegistry::save() {
  if (dir_.empty()) return {};  // a replicated cluster's broker: the metadata log is the record
  nlohmann::json topics = nlohmann::json::array();
  for (const auto& [name, topic] : topics_) {
    topics.push_back({{"name", name},
                      {"id", uuid_hex(topic.id)},
                      {"partitions", topic.partitions},
                      {"replication_factor", topic.replication_factor},
                      {"configs", topic.configs}});
  }
  const std::string text = nlohmann::json{{"version", 1}, {"topics", topics}}.dump(1) + "\n";
  const std::string tmp = file_path() + ".tmp";
  auto file = rt_.disk().open(tmp, OpenOptions{.create = true, .exclusive = false, .truncate = true, .read_only = false});
  if (!file) return file.error();
  if (auto st = file->write_at(0, std::as_bytes(std::span(text))); !st) return st;
  if (auto st = file->sync(); !st) return st;
  file->close();
  if (auto st = rt_.disk().rename(tmp, file_path()); !st) return st;
  return rt_.disk().sync_dir(dir_);
}

}  // namespace keel::server
