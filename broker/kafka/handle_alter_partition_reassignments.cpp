// AlterPartitionReassignments: moves partitions to new replica sets, or cancels the move in
// progress (a null replica list). The controller decides (admin.h alter_reassignments); this file
// translates the request for it and answers each partition under its topic, in request order.
#include "broker/metadata/control.h"
#include "broker/kafka/admin.h"
#include "broker/kafka/services.h"
#include "broker/kafka/handlers.h"

namespace keel::kafka {
namespace {

using protocol::AlterPartitionReassignmentsRequest;
using protocol::AlterPartitionReassignmentsResponse;
using protocol::ErrorCode;
using PartitionResponse = AlterPartitionReassignmentsResponse::ReassignablePartitionResponse;

metadata::AlterReassignmentsRequest to_controller(const AlterPartitionReassignmentsRequest& request) {
  metadata::AlterReassignmentsRequest out;
  out.allow_replication_factor_change = request.allow_replication_factor_change;
  for (const auto& topic : request.topics) {
    for (const auto& partition : topic.partitions) {
      std::optional<std::vector<BrokerId>> replicas;  // none: cancel the move
      if (partition.replicas) replicas = ids_of<BrokerId>(*partition.replicas);
      out.partitions.push_back({topic.name, partition.partition_index, std::move(replicas)});
    }
  }
  return out;
}

PartitionResponse partition_response(std::int32_t partition, ErrorCode error, const std::string& message) {
  PartitionResponse out;
  out.partition_index = partition;
  out.error_code = static_cast<std::int16_t>(error);
  if (error != ErrorCode::none) out.error_message = message;
  return out;
}

// The request's topics with no partitions yet, and the flag echoed as Kafka echoes it (v1+).
AlterPartitionReassignmentsResponse response_shell(const AlterPartitionReassignmentsRequest& request) {
  AlterPartitionReassignmentsResponse response;
  response.allow_replication_factor_change = request.allow_replication_factor_change;
  for (const auto& topic : request.topics) response.responses.emplace_back().name = topic.name;
  return response;
}

// The controller answers one result per requested partition, in request order: the i-th partition
// of the request, counted across its topics, gets the i-th result.
AlterPartitionReassignmentsResponse answered(const AlterPartitionReassignmentsRequest& request,
                                             const metadata::AlterReassignmentsReply& reply) {
  AlterPartitionReassignmentsResponse response = response_shell(request);
  std::size_t next = 0;
  for (std::size_t t = 0; t < request.topics.size(); ++t) {
    for (const auto& partition : request.topics[t].partitions) {
      KEEL_ASSERT_LT(next, reply.results.size());
      const metadata::ReassignmentResult& result = reply.results[next++];
      KEEL_ASSERT_EQ(result.topic, request.topics[t].name);
      KEEL_ASSERT_EQ(result.partition, partition.partition_index);
      response.responses[t].partitions.push_back(partition_response(result.partition, result.error, result.message));
    }
  }
  KEEL_ASSERT_EQ(next, reply.results.size());
  return response;
}

// No controller answered. Kafka answers a request that failed as a whole
// (AbstractRequest::getErrorResponse) with the error both at the top level and on every partition,
// so a client reading either level sees it; Keel does the same.
AlterPartitionReassignmentsResponse failed(const AlterPartitionReassignmentsRequest& request, const Error& error) {
  AlterPartitionReassignmentsResponse response = response_shell(request);
  response.error_code = static_cast<std::int16_t>(ErrorCode::request_timed_out);
  response.error_message = error.message;
  for (std::size_t t = 0; t < request.topics.size(); ++t) {
    for (const auto& partition : request.topics[t].partitions) {
      response.responses[t].partitions.push_back(
          partition_response(partition.partition_index, ErrorCode::request_timed_out, error.message));
    }
  }
  return response;
}

}  // namespace

HandlerResult handle_alter_partition_reassignments(RequestContext& ctx, protocol::Reader& body) {
  auto request = decode_request<AlterPartitionReassignmentsRequest>(ctx, body);
  if (!request) return request.error();
  auto reply = alter_reassignments(ctx.broker, to_controller(*request), controller_timeout(request->timeout_ms));
  if (!reply) return std::optional(encode_response(ctx, failed(*request, reply.error())));
  return std::optional(encode_response(ctx, answered(*request, *reply)));
}

}  // namespace keel::kafka
