// OffsetForLeaderEpoch: where one of the leader epochs of a partition ends on this broker, its
// leader (KIP-101). Followers ask it to truncate exactly what diverged; consumers may ask it too
// (KIP-320). Only a replicated cluster's leader answers; a single broker has one epoch, 0.
#include "broker/partition/replica_manager.h"
#include "broker/server/broker.h"
#include "broker/server/handlers.h"

namespace keel::server {

using protocol::ErrorCode;
using protocol::OffsetForLeaderEpochRequest;
using protocol::OffsetForLeaderEpochResponse;

namespace {

OffsetForLeaderEpochResponse::EpochEndOffset answer(Broker& broker, const std::string& topic,
                                                    const OffsetForLeaderEpochRequest::Partition& p) {
  OffsetForLeaderEpochResponse::EpochEndOffset out;
  out.partition = p.partition;
  if (broker.replicas() != nullptr) {
    auto [code, end] = broker.replicas()->end_offset_for(TopicPartition{topic, p.partition},
                                                         p.current_leader_epoch, p.leader_epoch);
    out.error_code = static_cast<std::int16_t>(code);
    out.leader_epoch = end.epoch;
    out.end_offset = end.end_offset;
    return out;
  }
  const storage::Log* log = broker.topics().find(topic) != nullptr
                                ? broker.logs().get(TopicPartition{topic, p.partition})
                                : nullptr;
  if (log == nullptr) {
    out.error_code = static_cast<std::int16_t>(ErrorCode::unknown_topic_or_partition);
    return out;
  }
  // One broker, one epoch (0) that ends at the log end; anything above it is unknown.
  if (p.leader_epoch == 0) {
    out.leader_epoch = 0;
    out.end_offset = log->log_end_offset();
  }
  return out;
}

}  // namespace

HandlerResult handle_offset_for_leader_epoch(RequestContext& ctx, protocol::Reader& body) {
  auto request = decode_request<OffsetForLeaderEpochRequest>(ctx, body);
  if (!request) return request.error();
  OffsetForLeaderEpochResponse response;
  for (const auto& topic : request->topics) {
    OffsetForLeaderEpochResponse::TopicResult result;
    result.topic = topic.topic;
    for (const auto& p : topic.partitions) result.partitions.push_back(answer(ctx.broker, topic.topic, p));
    response.topics.push_back(std::move(result));
  }
  return std::optional(encode_response(ctx, response));
}

}  // namespace keel::server
