#pragma once
// The Kafka APIs Keel speaks, with the version ranges it supports and where each API's flexible
// versions (compact encodings and tagged fields) begin. One table; everything else asks it.
#include "broker/base/assert.h"

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

namespace keel::protocol {

enum class ApiKey : std::int16_t {
  produce = 0,
  fetch = 1,
  list_offsets = 2,
  metadata = 3,
  offset_commit = 8,
  offset_fetch = 9,
  offset_for_leader_epoch = 23,
  find_coordinator = 10,
  join_group = 11,
  heartbeat = 12,
  leave_group = 13,
  sync_group = 14,
  describe_groups = 15,
  list_groups = 16,
  api_versions = 18,
  create_topics = 19,
  delete_topics = 20,
  delete_records = 21,
  describe_configs = 32,
  alter_configs = 33,
  describe_log_dirs = 35,
  create_partitions = 37,
  delete_groups = 42,
  elect_leaders = 43,
  incremental_alter_configs = 44,
  alter_partition_reassignments = 45,
  list_partition_reassignments = 46,
  offset_delete = 47,
  describe_cluster = 60,
  consumer_group_heartbeat = 68,
  consumer_group_describe = 69,
  keel_quorum = 1000,  // Keel's own, between Keel nodes (messages_keel_quorum.h)
};

struct ApiInfo {
  ApiKey key;
  std::string_view name;  // Kafka's name for the API ("Produce", "ApiVersions", ...)
  std::int16_t min_version;
  std::int16_t max_version;
  std::int16_t first_flexible_version;  // from Kafka's schema; may lie above max_version
};

// Sorted by key. The flexible thresholds are Kafka's ("flexibleVersions" in each schema). The ranges
// are those the codec reads and writes (and the client may ask for); what the server serves and
// advertises is broker/kafka's handler table, which may stop lower (an API the server does not
// serve has no handler at all).
inline constexpr std::array<ApiInfo, 32> api_table{{
    {ApiKey::produce, "Produce", 3, 8, 9},
    {ApiKey::fetch, "Fetch", 4, 12, 12},
    {ApiKey::list_offsets, "ListOffsets", 1, 9, 6},
    {ApiKey::metadata, "Metadata", 0, 12, 9},
    {ApiKey::offset_commit, "OffsetCommit", 2, 9, 8},
    {ApiKey::offset_fetch, "OffsetFetch", 1, 9, 6},
    {ApiKey::find_coordinator, "FindCoordinator", 0, 4, 3},
    {ApiKey::join_group, "JoinGroup", 0, 9, 6},
    {ApiKey::heartbeat, "Heartbeat", 0, 4, 4},
    {ApiKey::leave_group, "LeaveGroup", 0, 5, 4},
    {ApiKey::sync_group, "SyncGroup", 0, 5, 4},
    {ApiKey::describe_groups, "DescribeGroups", 0, 5, 5},
    {ApiKey::list_groups, "ListGroups", 0, 4, 3},
    {ApiKey::api_versions, "ApiVersions", 0, 3, 3},
    {ApiKey::create_topics, "CreateTopics", 0, 7, 5},
    {ApiKey::delete_topics, "DeleteTopics", 0, 6, 4},
    {ApiKey::delete_records, "DeleteRecords", 0, 2, 2},
    {ApiKey::offset_for_leader_epoch, "OffsetForLeaderEpoch", 2, 4, 4},
    {ApiKey::describe_configs, "DescribeConfigs", 0, 4, 4},
    {ApiKey::alter_configs, "AlterConfigs", 0, 2, 2},
    {ApiKey::describe_log_dirs, "DescribeLogDirs", 1, 4, 2},
    {ApiKey::create_partitions, "CreatePartitions", 0, 3, 2},
    {ApiKey::delete_groups, "DeleteGroups", 0, 2, 2},
    {ApiKey::elect_leaders, "ElectLeaders", 0, 2, 2},
    {ApiKey::incremental_alter_configs, "IncrementalAlterConfigs", 0, 1, 1},
    {ApiKey::alter_partition_reassignments, "AlterPartitionReassignments", 0, 1, 0},
    {ApiKey::list_partition_reassignments, "ListPartitionReassignments", 0, 0, 0},
    {ApiKey::offset_delete, "OffsetDelete", 0, 0, 32767},
    {ApiKey::describe_cluster, "DescribeCluster", 0, 1, 0},
    {ApiKey::consumer_group_heartbeat, "ConsumerGroupHeartbeat", 0, 1, 0},
    {ApiKey::consumer_group_describe, "ConsumerGroupDescribe", 0, 1, 0},
    {ApiKey::keel_quorum, "KeelQuorum", 0, 0, 1},
}};

std::span<const ApiInfo> supported_apis();

constexpr const ApiInfo* find_api(std::int16_t key) {
  for (const ApiInfo& info : api_table)
    if (static_cast<std::int16_t>(info.key) == key) return &info;
  return nullptr;
}

constexpr const ApiInfo& api_info(ApiKey key) {
  const ApiInfo* info = find_api(static_cast<std::int16_t>(key));
  KEEL_ASSERT_MSG(info != nullptr, "ApiKey {} has no row in api_table", static_cast<int>(key));
  return *info;
}

// Whether `version` of the API uses flexible encodings (by Kafka's threshold, even for versions
// Keel does not support, so that a request header can be read before the version is refused).
constexpr bool is_flexible(ApiKey key, std::int16_t version) {
  return version >= api_info(key).first_flexible_version;
}

// Whether Keel serves this key at this version.
constexpr bool is_supported(std::int16_t key, std::int16_t version) {
  const ApiInfo* info = find_api(key);
  return info != nullptr && version >= info->min_version && version <= info->max_version;
}

std::string_view api_name(ApiKey key);

}  // namespace keel::protocol
