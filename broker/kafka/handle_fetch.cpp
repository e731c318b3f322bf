// Fetch: consumers and followers read through the replica manager, which serves each partition up to
// its high watermark (a follower: its log end) and parks the request in its purgatory until min_bytes
// are readable or max.wait passes (Kafka's long poll). Fetch sessions (KIP-227) are declined: every
// response has session id 0, so clients send full fetch requests, which Kafka allows.
#include "broker/kafka/errors.h"
#include "broker/kafka/handlers.h"
#include "broker/kafka/services.h"
#include "broker/partition/replica_manager.h"

namespace keel::kafka {
namespace {

using protocol::ErrorCode;
using protocol::FetchRequest;
using protocol::FetchResponse;

partition::FetchParams fetch_params(const FetchRequest& request) {
  partition::FetchParams params;
  params.replica_id = request.replica_id;
  params.max_wait_ms = request.max_wait_ms;
  params.min_bytes = request.min_bytes;
  params.max_bytes = request.max_bytes;
  params.read_committed = request.isolation_level == 1;
  for (const auto& topic : request.topics) {
    for (const auto& p : topic.partitions) {
      params.partitions.push_back(partition::FetchPartitionParams{TopicPartition{topic.topic, p.partition},
                                                                  p.current_leader_epoch, p.fetch_offset,
                                                                  p.last_fetched_epoch, p.partition_max_bytes,
                                                                  p.log_start_offset});
    }
  }
  return params;
}

FetchResponse::PartitionData partition_data(std::int32_t index, partition::FetchPartitionResult& result,
                                            bool read_committed) {
  FetchResponse::PartitionData out;
  out.partition_index = index;
  out.error_code = wire(result.error);
  out.high_watermark = result.high_watermark;
  out.records = std::move(result.records);
  // A refused partition reports no offsets; one out of range reports the log's (a follower that
  // fell below the log start starts over there).
  out.log_start_offset = result.log_start_offset;
  if (result.high_watermark >= 0) out.last_stable_offset = result.high_watermark;
  if (result.error != partition::ReplicaError::none) return out;
  if (read_committed) out.aborted_transactions = std::vector<FetchResponse::AbortedTransaction>();
  if (result.diverging) {
    // KIP-320: the follower's last fetched epoch ends earlier here; it truncates, then fetches again.
    out.diverging_epoch.epoch = result.diverging->epoch;
    out.diverging_epoch.end_offset = result.diverging->end_offset;
  }
  return out;
}

}  // namespace

HandlerResult handle_fetch(RequestContext& ctx, protocol::Reader& body) {
  auto request = decode_request<FetchRequest>(ctx, body);
  if (!request) return request.error();
  FetchResponse response;
  response.session_id = 0;
  if (ctx.header.api_version >= 7 && request->session_id != 0) {
    response.error_code = wire(ErrorCode::fetch_session_id_not_found);
    trace_client_error(ctx, fmt::format("fetch session {}", request->session_id), ErrorCode::fetch_session_id_not_found,
                       "Keel keeps no fetch sessions");
    return std::optional(encode_response(ctx, response));
  }
  const partition::FetchParams params = fetch_params(*request);
  partition::FetchResult result = ctx.broker.replicas.fetch(params);
  response.error_code = wire(ErrorCode::none);
  std::size_t i = 0;
  for (const auto& topic : request->topics) {
    FetchResponse::FetchableTopicResponse out;
    out.topic = topic.topic;
    for (const auto& p : topic.partitions) {
      out.partitions.push_back(partition_data(p.partition, result.partitions[i++], params.read_committed));
      trace_client_error(ctx, fmt::format("{}-{}", topic.topic, p.partition),
                         static_cast<ErrorCode>(out.partitions.back().error_code), {});
    }
    response.responses.push_back(std::move(out));
  }
  return std::optional(encode_response(ctx, response));
}

}  // namespace keel::kafka
