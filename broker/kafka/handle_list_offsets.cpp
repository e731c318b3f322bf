// ListOffsets: the earliest offset (-2), the latest (-1: the high watermark), the record with the
// largest timestamp (-3, v7+), the earliest local offset (-4, v8+: the log start, as nothing is
// tiered), the latest tiered offset (-5, v9+: -1, as nothing is tiered), or the first offset whose
// record timestamp is at or after a given time, answered by the partition's leader at the epoch
// the client knows.
#include "broker/kafka/errors.h"
#include "broker/kafka/handlers.h"
#include "broker/kafka/services.h"
#include "broker/partition/replica_manager.h"

namespace keel::kafka {
namespace {

using protocol::ErrorCode;
using protocol::ListOffsetsRequest;
using protocol::ListOffsetsResponse;
using PartitionResponse = ListOffsetsResponse::ListOffsetsPartitionResponse;

// The version that introduced a special timestamp (the client picks at least that one); a lookup
// the version does not know, or no version knows, is UNSUPPORTED_VERSION.
bool known_at(std::int64_t timestamp, std::int16_t version) {
  if (timestamp >= ListOffsetsRequest::earliest_timestamp) return true;
  if (timestamp == ListOffsetsRequest::max_timestamp) return version >= 7;
  if (timestamp == ListOffsetsRequest::earliest_local_timestamp) return version >= 8;
  if (timestamp == ListOffsetsRequest::latest_tiered_timestamp) return version >= 9;
  return false;
}

PartitionResponse list_partition(BrokerServices& broker, const std::string& topic,
                                 const ListOffsetsRequest::ListOffsetsPartition& request, std::int16_t version) {
  PartitionResponse out;
  out.partition_index = request.partition_index;
  if (!known_at(request.timestamp, version)) {
    out.error_code = wire(ErrorCode::unsupported_version);
    return out;
  }
  const auto found = broker.replicas.list_offset(TopicPartition{topic, request.partition_index},
                                                 request.current_leader_epoch, request.timestamp);
  out.error_code = wire(found.error);
  if (found.error != partition::ReplicaError::none) return out;
  out.leader_epoch = found.leader_epoch;
  out.offset = found.offset;
  out.timestamp = found.timestamp;
  return out;
}

}  // namespace

HandlerResult handle_list_offsets(RequestContext& ctx, protocol::Reader& body) {
  auto request = decode_request<ListOffsetsRequest>(ctx, body);
  if (!request) return request.error();
  ListOffsetsResponse response;
  for (const auto& topic : request->topics) {
    ListOffsetsResponse::ListOffsetsTopicResponse out;
    out.name = topic.name;
    for (const auto& partition : topic.partitions) {
      out.partitions.push_back(list_partition(ctx.broker, topic.name, partition, ctx.header.api_version));
      trace_client_error(ctx, fmt::format("{}-{}", topic.name, partition.partition_index),
                         static_cast<ErrorCode>(out.partitions.back().error_code), {});
    }
    response.topics.push_back(std::move(out));
  }
  return std::optional(encode_response(ctx, response));
}

}  // namespace keel::kafka
