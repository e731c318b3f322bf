#pragma once
// The topics one broker knows: name, id, partition count, replication factor and topic-level config
// overrides. A single broker keeps them in `keel-topics.json` in its first log dir, written the
// durable way (temporary file, sync, rename, directory sync), so a topic acknowledged by
// CreateTopics survives a crash. (The replicated cluster replaces this with the metadata log.)
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "broker/base/result.h"
#include "broker/platform/runtime.h"
#include "broker/protocol/wire.h"

namespace keel::server {

struct TopicInfo {
  std::string name;
  protocol::Uuid id;
  std::int32_t partitions = 1;
  std::int16_t replication_factor = 1;
  std::map<std::string, std::string> configs;  // topic-level overrides only
};

// Kafka's rule for topic names: 1 to 249 characters of [a-zA-Z0-9._-], not "." or "..".
// Returns an empty string when valid, else what is wrong.
std::string topic_name_problem(std::string_view name);

class TopicRegistry {
 public:
  // An empty `dir` keeps the registry in memory only: a replicated cluster's broker mirrors the
  // metadata image into it.
  TopicRegistry(Runtime& rt, std::string dir);

  // Reads the registry file; a missing file is an empty registry, a damaged one an error naming it.
  Status load();
  const TopicInfo* find(std::string_view name) const;
  const std::map<std::string, TopicInfo, std::less<>>& all() const { return topics_; }
  // Both persist the whole registry before returning.
  Status add(TopicInfo topic);
  Status remove(std::string_view name);
  protocol::Uuid new_topic_id();

 private:
  Status save();
  std::string file_path() const;

  Runtime& rt_;
  std::string dir_;
  std::map<std::string, TopicInfo, std::less<>> topics_;
};

}  // namespace keel::server
