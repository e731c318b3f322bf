// The controller's side of IncrementalAlterConfigs and AlterConfigs: the configs a set of changes
// leads to (SET, DELETE, APPEND, SUBTRACT, replace-all), and the ConfigRecords a decision writes,
// one per key that changes, which the image then holds.
#include <catch2/catch.hpp>

#include <map>
#include <string>
#include <vector>

#include "broker/metadata/control.h"
#include "broker/metadata/image.h"
#include "broker/metadata/records.h"
#include "tests/support/controller_cluster.h"

using namespace keel;
using namespace keel::metadata;
using keel::test::uuid_of;

namespace {

using Configs = std::map<std::string, std::string>;

std::string delete_default(const std::string& name) { return name == "cleanup.policy" ? "delete" : ""; }

MetadataImage image_with_topic(const Configs& configs) {
  MetadataImage image;
  std::int64_t offset = 0;
  image.apply(TopicRecord{"t", uuid_of(1)}, offset++);
  for (const auto& [name, value] : configs) image.apply(ConfigRecord{"t", name, value}, offset++);
  return image;
}

}  // namespace

TEST_CASE("controller configs: SET, DELETE, APPEND and SUBTRACT change a topic's configs as Kafka does", "[controller][configs]") {
  const Configs current{{"retention.ms", "1000"}, {"flush.ms", "5"}};
  CHECK(apply_config_changes(current, {{"retention.ms", ConfigChange::set, "2000"}, {"flush.ms", ConfigChange::remove, std::nullopt}},
                             false, delete_default) == Configs{{"retention.ms", "2000"}});
  // APPEND starts from the key's default when the topic has no value; items already there stay once.
  CHECK(apply_config_changes(current, {{"cleanup.policy", ConfigChange::append, "compact,delete"}}, false, delete_default)
            .at("cleanup.policy") == "delete,compact");
  const Configs listed{{"leader.replication.throttled.replicas", "0:1,1:2,2:3"}};
  CHECK(apply_config_changes(listed, {{"leader.replication.throttled.replicas", ConfigChange::subtract, "1:2, 9:9"}}, false,
                             delete_default)
            .at("leader.replication.throttled.replicas") == "0:1,2:3");
  // AlterConfigs replaces the set: what it does not name goes back to the broker's.
  CHECK(apply_config_changes(current, {{"segment.ms", ConfigChange::set, "60000"}}, true, delete_default) ==
        Configs{{"segment.ms", "60000"}});
}

TEST_CASE("controller configs: a decision writes one ConfigRecord per changed key, and the image holds the result", "[controller][configs]") {
  Controller controller;
  MetadataImage image = image_with_topic({{"retention.ms", "1000"}, {"flush.ms", "5"}, {"segment.ms", "60000"}});
  AlterTopicConfigsRequest request{"t",
                                   {{"retention.ms", ConfigChange::set, "2000"},
                                    {"flush.ms", ConfigChange::remove, std::nullopt},
                                    {"segment.ms", ConfigChange::set, "60000"},  // unchanged: no record
                                    {"compression.type", ConfigChange::set, "gzip"}},
                                   false};
  const auto decision = controller.alter_topic_configs(image, request);
  CHECK(decision.reply.error == protocol::ErrorCode::none);
  CHECK(decision.records == std::vector<MetadataRecord>{ConfigRecord{"t", "flush.ms", std::nullopt},
                                                        ConfigRecord{"t", "compression.type", "gzip"},
                                                        ConfigRecord{"t", "retention.ms", "2000"}});
  std::int64_t offset = 100;
  for (const auto& r : decision.records) image.apply(r, offset++);
  CHECK(image.topic("t")->configs == Configs{{"compression.type", "gzip"}, {"retention.ms", "2000"}, {"segment.ms", "60000"}});
  // Nothing to change, nothing written; a topic that is not there is refused.
  CHECK(controller.alter_topic_configs(image, {"t", {{"retention.ms", ConfigChange::set, "2000"}}, false}).records.empty());
  const auto missing = controller.alter_topic_configs(image, {"gone", {}, false});
  CHECK(missing.reply.error == protocol::ErrorCode::unknown_topic_or_partition);
  CHECK(missing.records.empty());
}

TEST_CASE("controller configs: dynamic broker configs live in the image and its snapshot", "[controller][configs]") {
  Controller controller;
  MetadataImage image = image_with_topic({});
  const auto decision = controller.alter_topic_configs(image, {"broker:", {{"log.retention.ms", ConfigChange::set, "1000"}}, false});
  REQUIRE(decision.reply.error == protocol::ErrorCode::none);
  CHECK(decision.records == std::vector<MetadataRecord>{ConfigRecord{"broker:", "log.retention.ms", "1000"}});
  std::int64_t offset = 10;
  for (const auto& r : decision.records) image.apply(r, offset++);
  image.apply(ConfigRecord{"broker:2", "log.segment.bytes", "65536"}, offset++);
  CHECK(image.broker_configs("") == Configs{{"log.retention.ms", "1000"}});
  CHECK(image.broker_configs("2") == Configs{{"log.segment.bytes", "65536"}});
  CHECK(image.broker_configs("3").empty());
  // A snapshot replayed gives the same image, broker configs included.
  MetadataImage replayed;
  for (const auto& r : image.to_records()) REQUIRE(replayed.replay(r, 0));
  CHECK(replayed == image);
  // A resource that names no broker is refused by the controller and by the image.
  CHECK(controller.alter_topic_configs(image, {"broker:x", {}, false}).reply.error == protocol::ErrorCode::invalid_request);
  CHECK_FALSE(image.check(ConfigRecord{"broker:x", "log.retention.ms", "1"}));
}
