#include "broker/kafka/handlers.h"

#include <algorithm>
#include <array>

namespace keel::kafka {
namespace {

using protocol::ApiKey;

// Versions served. Produce starts at 3 and Fetch at 4 (record batch v2 only); see
// ../shared/reference/kafka-clients-and-protocol.md §3 for what each client sends within these.
constexpr std::array handler_table{
    HandlerEntry{ApiKey::produce, 3, 8, handle_produce},
    HandlerEntry{ApiKey::fetch, 4, 12, handle_fetch},
    HandlerEntry{ApiKey::list_offsets, 1, 9, handle_list_offsets},
    HandlerEntry{ApiKey::offset_for_leader_epoch, 2, 4, handle_offset_for_leader_epoch},
    HandlerEntry{ApiKey::metadata, 0, 12, handle_metadata},
    HandlerEntry{ApiKey::api_versions, 0, 3, handle_api_versions},
    HandlerEntry{ApiKey::create_topics, 0, 7, handle_create_topics},
    HandlerEntry{ApiKey::delete_topics, 0, 6, handle_delete_topics},
    HandlerEntry{ApiKey::describe_configs, 0, 4, handle_describe_configs},
    HandlerEntry{ApiKey::alter_configs, 0, 2, handle_alter_configs},
    HandlerEntry{ApiKey::incremental_alter_configs, 0, 1, handle_incremental_alter_configs},
    HandlerEntry{ApiKey::alter_partition_reassignments, 0, 1, handle_alter_partition_reassignments},
    HandlerEntry{ApiKey::list_partition_reassignments, 0, 0, handle_list_partition_reassignments},
    HandlerEntry{ApiKey::keel_quorum, 0, 0, handle_keel_quorum},
    // The admin APIs beside topic creation, at the versions Kafka 4.0 serves (messages_admin.h).
    HandlerEntry{ApiKey::create_partitions, 0, 3, handle_create_partitions},
    HandlerEntry{ApiKey::delete_records, 0, 2, handle_delete_records},
    HandlerEntry{ApiKey::elect_leaders, 0, 2, handle_elect_leaders},
    HandlerEntry{ApiKey::describe_log_dirs, 1, 4, handle_describe_log_dirs},
    HandlerEntry{ApiKey::describe_cluster, 0, 1, handle_describe_cluster},
    // Consumer groups (classic protocol) and offsets: see handle_join_group.cpp and its siblings.
    HandlerEntry{ApiKey::find_coordinator, 0, 4, handle_find_coordinator},
    HandlerEntry{ApiKey::join_group, 0, 9, handle_join_group},
    HandlerEntry{ApiKey::sync_group, 0, 5, handle_sync_group},
    HandlerEntry{ApiKey::heartbeat, 0, 4, handle_heartbeat},
    HandlerEntry{ApiKey::leave_group, 0, 5, handle_leave_group},
    HandlerEntry{ApiKey::offset_commit, 2, 9, handle_offset_commit},
    HandlerEntry{ApiKey::offset_fetch, 1, 9, handle_offset_fetch},
    HandlerEntry{ApiKey::offset_delete, 0, 0, handle_offset_delete},
    HandlerEntry{ApiKey::describe_groups, 0, 5, handle_describe_groups},
    HandlerEntry{ApiKey::list_groups, 0, 4, handle_list_groups},
    HandlerEntry{ApiKey::delete_groups, 0, 2, handle_delete_groups},
    // KIP-848 consumer groups (handle_consumer_group_heartbeat.cpp).
    HandlerEntry{ApiKey::consumer_group_heartbeat, 0, 1, handle_consumer_group_heartbeat},
    HandlerEntry{ApiKey::consumer_group_describe, 0, 1, handle_consumer_group_describe},
};

}  // namespace

std::span<const HandlerEntry> handlers() { return handler_table; }

bool advertised(const HandlerEntry& entry) { return entry.key != ApiKey::keel_quorum; }

std::int16_t advertised_min_version(const HandlerEntry& entry) {
  return entry.key == ApiKey::produce ? std::int16_t{0} : entry.min_version;
}

const HandlerEntry* find_handler(std::int16_t api_key) {
  for (const auto& entry : handler_table) {
    if (static_cast<std::int16_t>(entry.key) == api_key) return &entry;
  }
  return nullptr;
}

// Kafka's controller sets its deadline at arrival plus TimeoutMs, so zero or less has passed before
// the work starts. One millisecond keeps that meaning (whatever the controller cannot settle at
// once times out) while handing the Broker the positive duration its calls expect.
Duration controller_timeout(std::int32_t timeout_ms) { return std::chrono::milliseconds(std::max(timeout_ms, 1)); }

}  // namespace keel::kafka
