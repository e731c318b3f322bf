// ListPartitionReassignments: the partitions being moved, with their whole replica set and the
// replicas being added and removed. The controller knows (admin.h list_reassignments); this file
// translates the request for it and groups its answer by topic.
#include "broker/metadata/control.h"
#include "broker/kafka/admin.h"
#include "broker/kafka/services.h"
#include "broker/kafka/handlers.h"

namespace keel::kafka {
namespace {

using protocol::ErrorCode;
using protocol::ListPartitionReassignmentsRequest;
using protocol::ListPartitionReassignmentsResponse;

metadata::ListReassignmentsRequest to_controller(const ListPartitionReassignmentsRequest& request) {
  metadata::ListReassignmentsRequest out;
  if (!request.topics) return out;  // null: every partition being reassigned
  out.topics.emplace();
  for (const auto& topic : *request.topics) out.topics->push_back({topic.name, topic.partition_indexes});
  return out;
}

// The reply comes sorted by topic, then partition, so each topic's partitions are adjacent.
ListPartitionReassignmentsResponse answered(const metadata::ListReassignmentsReply& reply) {
  ListPartitionReassignmentsResponse response;
  for (const metadata::OngoingReassignment& ongoing : reply.ongoing) {
    if (response.topics.empty() || response.topics.back().name != ongoing.topic) {
      response.topics.emplace_back().name = ongoing.topic;
    }
    auto& partition = response.topics.back().partitions.emplace_back();
    partition.partition_index = ongoing.partition;
    partition.replicas = raw_ids(ongoing.replicas);
    partition.adding_replicas = raw_ids(ongoing.adding);
    partition.removing_replicas = raw_ids(ongoing.removing);
  }
  return response;
}

}  // namespace

HandlerResult handle_list_partition_reassignments(RequestContext& ctx, protocol::Reader& body) {
  auto request = decode_request<ListPartitionReassignmentsRequest>(ctx, body);
  if (!request) return request.error();
  auto reply = list_reassignments(ctx.broker, to_controller(*request), controller_timeout(request->timeout_ms));
  if (!reply) {
    // No controller answered: the top-level error says so. Kafka's whole-request failure also echoes
    // the named partitions with empty replica sets; Keel lists none, so that a client reading only
    // the topics cannot take them for moves in progress.
    ListPartitionReassignmentsResponse response;
    response.error_code = static_cast<std::int16_t>(ErrorCode::request_timed_out);
    response.error_message = reply.error().message;
    return std::optional(encode_response(ctx, response));
  }
  return std::optional(encode_response(ctx, answered(*reply)));
}

}  // namespace keel::kafka
