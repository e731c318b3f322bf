// The config side of the controller: a topic's configs changed by IncrementalAlterConfigs and
// AlterConfigs, written as ConfigRecords that every broker applies to its partitions.
#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <variant>

#include "broker/metadata/control.h"

namespace keel::metadata {
namespace {

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size() && !text.empty()) {
    const auto comma = text.find(',', start);
    std::string item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    item.erase(0, item.find_first_not_of(' '));
    item.erase(item.find_last_not_of(' ') + 1);
    if (!item.empty()) out.push_back(std::move(item));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

std::string join_list(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ",") + item;
  return out;
}

// APPEND adds the items not yet in the list, SUBTRACT removes every copy of the given ones (Kafka's
// IncrementalAlterConfigs on LIST configs).
std::string change_list(const std::string& before, const std::string& items, bool append) {
  std::vector<std::string> list = split_list(before);
  for (const auto& item : split_list(items)) {
    const bool present = std::find(list.begin(), list.end(), item) != list.end();
    if (append && !present) list.push_back(item);
    if (!append) list.erase(std::remove(list.begin(), list.end(), item), list.end());
  }
  return join_list(list);
}

// What alter_topic_configs establishes: each ConfigRecord is for `resource`, once per key, only for
// a key whose value changes, and the records applied to `current` give `after`.
void assert_records_change(const std::map<std::string, std::string>& current,
                           const std::map<std::string, std::string>& after, const std::string& resource,
                           const std::vector<MetadataRecord>& records) {
  std::map<std::string, std::string> applied = current;
  std::set<std::string> keys;
  for (const auto& record : records) {
    const auto* c = std::get_if<ConfigRecord>(&record);
    KEEL_ASSERT(c != nullptr);
    KEEL_ASSERT_EQ(c->resource, resource);
    KEEL_ASSERT_MSG(keys.insert(c->name).second, "two ConfigRecords for {} of {}", c->name, resource);
    auto it = current.find(c->name);
    KEEL_ASSERT_MSG(c->value ? it == current.end() || it->second != *c->value : it != current.end(),
                    "a ConfigRecord for {} of {} that changes nothing", c->name, resource);
    if (c->value) applied[c->name] = *c->value;
    else applied.erase(c->name);
  }
  KEEL_ASSERT(applied == after);
}

}  // namespace

std::map<std::string, std::string> apply_config_changes(const std::map<std::string, std::string>& current,
                                                        const std::vector<ConfigChange>& changes, bool replace_all,
                                                        const std::function<std::string(const std::string&)>& list_default) {
  std::map<std::string, std::string> out = replace_all ? std::map<std::string, std::string>{} : current;
  for (const auto& c : changes) {
    auto it = out.find(c.name);
    switch (c.op) {
      case ConfigChange::set:
        if (c.value) out[c.name] = *c.value;
        else out.erase(c.name);  // AlterConfigs: a null value is no value
        break;
      case ConfigChange::remove:
        out.erase(c.name);
        break;
      case ConfigChange::append:
      case ConfigChange::subtract: {
        const std::string before = it != out.end() ? it->second : list_default(c.name);
        out[c.name] = change_list(before, c.value.value_or(""), c.op == ConfigChange::append);
        break;
      }
      default:
        KEEL_ASSERT_MSG(false, "config change {} has operation {}", c.name, c.op);
    }
  }
  return out;
}

Decision<AlterTopicConfigsReply> Controller::alter_topic_configs(const MetadataImage& image,
                                                                 const AlterTopicConfigsRequest& request) const {
  const bool broker = request.topic.starts_with(broker_config_prefix);
  const std::string_view id = std::string_view(request.topic).substr(broker ? broker_config_prefix.size() : 0);
  if (broker && (id.size() >= 10 || !std::all_of(id.begin(), id.end(), [](char c) { return c >= '0' && c <= '9'; }))) {
    return {{}, {ErrorCode::invalid_request, fmt::format("'{}' is not a broker id", id)}};
  }
  const TopicImage* topic = broker ? nullptr : image.topic(request.topic);
  if (!broker && topic == nullptr) {
    return {{}, {ErrorCode::unknown_topic_or_partition, fmt::format("Topic '{}' does not exist.", request.topic)}};
  }
  const auto& current = broker ? image.broker_configs(id) : topic->configs;
  // The broker resolved APPEND and SUBTRACT against the defaults it knows; here a list without a
  // value starts empty unless the broker sent its default along (it always SETs the result).
  const auto after = apply_config_changes(current, request.changes, request.replace_all,
                                          [](const std::string&) { return std::string(); });
  std::vector<MetadataRecord> records;
  for (const auto& [name, value] : current) {
    if (after.count(name) == 0) records.push_back(ConfigRecord{request.topic, name, std::nullopt});
  }
  for (const auto& [name, value] : after) {
    auto it = current.find(name);
    if (it == current.end() || it->second != value) records.push_back(ConfigRecord{request.topic, name, value});
  }
  assert_records_change(current, after, request.topic, records);
  return {std::move(records), {ErrorCode::none, {}}};
}

}  // namespace keel::metadata
