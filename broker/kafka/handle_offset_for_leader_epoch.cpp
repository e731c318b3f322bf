// OffsetForLeaderEpoch: where one of the leader epochs of a partition ends on this broker, its
// leader (KIP-101). Followers ask it to truncate exactly what diverged; consumers may ask it too
// (KIP-320).
#include "broker/kafka/errors.h"
#include "broker/kafka/handlers.h"
#include "broker/kafka/services.h"
#include "broker/partition/replica_manager.h"

namespace keel::kafka {

using protocol::OffsetForLeaderEpochRequest;
using protocol::OffsetForLeaderEpochResponse;

namespace {

OffsetForLeaderEpochResponse::EpochEndOffset answer(BrokerServices& broker, const std::string& topic,
                                                    const OffsetForLeaderEpochRequest::Partition& p) {
  OffsetForLeaderEpochResponse::EpochEndOffset out;
  out.partition = p.partition;
  auto [error, end] = broker.replicas.end_offset_for(TopicPartition{topic, p.partition}, p.current_leader_epoch,
                                                     p.leader_epoch);
  out.error_code = wire(error);
  out.leader_epoch = end.epoch;
  out.end_offset = end.end_offset;
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

}  // namespace keel::kafka
