#pragma once
// The admin requests a broker forwards to the active controller (as a KRaft broker does): topic
// creation and deletion, partition reassignment. Each is answered once the controller committed it
// and this broker applied it, so the client's next Metadata request here sees the change.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "broker/base/result.h"
#include "broker/kafka/services.h"
#include "broker/metadata/control.h"
#include "broker/protocol/errors.h"

namespace keel::kafka {

// What Kafka answers as authorized operations without an authorizer: every operation its ACLs
// know for the resource type (AclEntry.supportedOperations), one bit per AclOperation code.
// Topic: READ, WRITE, CREATE, DELETE, ALTER, DESCRIBE, DESCRIBE_CONFIGS, ALTER_CONFIGS.
inline constexpr std::int32_t topic_authorized_operations =
    (1 << 3) | (1 << 4) | (1 << 5) | (1 << 6) | (1 << 7) | (1 << 8) | (1 << 10) | (1 << 11);
// Cluster: CREATE, ALTER, DESCRIBE, CLUSTER_ACTION, DESCRIBE_CONFIGS, ALTER_CONFIGS, IDEMPOTENT_WRITE.
inline constexpr std::int32_t cluster_authorized_operations =
    (1 << 5) | (1 << 7) | (1 << 8) | (1 << 9) | (1 << 10) | (1 << 11) | (1 << 12);

struct TopicError {
  protocol::ErrorCode code = protocol::ErrorCode::none;
  std::string message;
};

// Kafka's rule for topic names: 1 to 249 characters of [a-zA-Z0-9._-], not "." or "..".
// Returns an empty string when valid, else what is wrong.
std::string topic_name_problem(std::string_view name);

// -1 for partitions or replication_factor takes the broker's default. `validate_only` checks what
// this broker can (the name, the counts against the live brokers, the configs) and creates nothing.
// `assignments` (partition i on assignments[i]) places the replicas; empty: the controller does.
std::optional<TopicError> create_topic(BrokerServices& broker, const std::string& name, std::int32_t partitions,
                                       std::int16_t replication_factor,
                                       const std::map<std::string, std::string>& configs, bool validate_only,
                                       std::vector<metadata::NewPartitionAssignment> assignments = {});
std::optional<TopicError> delete_topic(BrokerServices& broker, const std::string& name);

// Grows one topic (see metadata::CreatePartitionsRequest); answered once this broker serves the
// new partitions, or at once for validate_only.
std::optional<TopicError> create_partitions(BrokerServices& broker, const metadata::CreatePartitionsRequest& request,
                                            Duration timeout);

// Changes a topic's configs (IncrementalAlterConfigs; AlterConfigs with replace_all): checks each
// change (a known key, APPEND/SUBTRACT only on lists, no key twice) and validates the configs that
// result with Kafka's types and ranges (INVALID_CONFIG naming the key and the value), then, unless
// validate_only, has the controller write them and waits until this broker applied them.
std::optional<TopicError> alter_topic_configs(BrokerServices& broker, const std::string& topic,
                                              const std::vector<metadata::ConfigChange>& changes, bool replace_all,
                                              bool validate_only);

// The same for dynamic broker configs: `id` is a broker id, or "" for the cluster-wide default. Only
// the log.* keys behind topic configs may change (else INVALID_REQUEST naming the key); they apply
// to every topic without its own value, on every broker (the default) or on that broker.
std::optional<TopicError> alter_broker_configs(BrokerServices& broker, const std::string& id,
                                               const std::vector<metadata::ConfigChange>& changes, bool replace_all,
                                               bool validate_only);

// An error value means no controller answered within `timeout`.
Result<metadata::AlterReassignmentsReply> alter_reassignments(BrokerServices& broker,
                                                              const metadata::AlterReassignmentsRequest& request,
                                                              Duration timeout);
Result<metadata::ElectLeadersReply> elect_leaders(BrokerServices& broker, const metadata::ElectLeadersRequest& request,
                                                  Duration timeout);
Result<metadata::ListReassignmentsReply> list_reassignments(BrokerServices& broker,
                                                            const metadata::ListReassignmentsRequest& request,
                                                            Duration timeout);

}  // namespace keel::kafka
