// FindCoordinator: the broker that coordinates a group is the leader of its __consumer_offsets
// partition (abs(hashCode(group)) % offsets.topic.num.partitions). The topic is created through the
// controller on first use; until it has a leader for the partition the answer is
// COORDINATOR_NOT_AVAILABLE, the one error every client retries. v4 batches keys; v0-3 carry one.
#include "broker/group/group_coordinator.h"
#include "broker/kafka/admin.h"
#include "broker/kafka/errors.h"
#include "broker/kafka/handlers.h"
#include "broker/kafka/services.h"
#include "broker/metadata/image.h"
#include "broker/metadata/quorum.h"

namespace keel::kafka {
namespace {

using protocol::ErrorCode;
using protocol::FindCoordinatorRequest;
using protocol::FindCoordinatorResponse;
using Coordinator = FindCoordinatorResponse::Coordinator;

// Creates __consumer_offsets as Kafka auto-creates it. No cleaner exists yet, so the topic keeps
// its records forever (retention.ms=-1) instead of being compacted: loading replays tombstones.
void create_offsets_topic(BrokerServices& broker) {
  const auto& options = broker.groups.options();
  const std::map<std::string, std::string> configs{
      {"retention.ms", "-1"}, {"segment.bytes", std::to_string(options.offsets_segment_bytes)}};
  auto error = create_topic(broker, std::string(group::offsets_topic), options.offsets_partitions,
                            options.offsets_replication_factor, configs, false);
  if (error && error->code != ErrorCode::topic_already_exists) {
    broker.rt.trace("OffsetsTopicNotCreated", Severity::warn).detail("Error", error->message);
  }
}

Coordinator find_one(BrokerServices& broker, const std::string& key, std::int8_t key_type) {
  Coordinator out;
  out.key = key;
  out.node_id = -1;
  out.port = -1;
  auto unavailable = [&](std::string message) {
    out.error_code = wire(ErrorCode::coordinator_not_available);
    out.error_message = std::move(message);
    return out;
  };
  if (key_type != FindCoordinatorRequest::key_type_group) return unavailable("only group coordinators are served");
  if (broker.quorum.image().topic(group::offsets_topic) == nullptr) create_offsets_topic(broker);
  const auto& image = broker.quorum.image();
  const std::int32_t partition = broker.groups.partition_for(key);
  const BrokerId leader = image.leader_of(group::offsets_topic, partition);
  if (leader < 0) return unavailable("the group's __consumer_offsets partition has no leader");
  const auto address = partition::broker_address(image, leader, broker.advertised().listener_name);
  if (!address) return unavailable("the coordinator's address is unknown");
  out.node_id = leader.value;
  out.host = address->host;
  out.port = address->port;
  out.error_message = std::nullopt;
  return out;
}

}  // namespace

HandlerResult handle_find_coordinator(RequestContext& ctx, protocol::Reader& body) {
  auto request = decode_request<FindCoordinatorRequest>(ctx, body);
  if (!request) return request.error();
  FindCoordinatorResponse response;
  if (ctx.header.api_version >= 4) {
    for (const auto& key : request->coordinator_keys) response.coordinators.push_back(find_one(ctx.broker, key, request->key_type));
    return std::optional(encode_response(ctx, response));
  }
  Coordinator one = find_one(ctx.broker, request->key, request->key_type);
  response.error_code = one.error_code;
  response.error_message = one.error_message;
  response.node_id = one.node_id;
  response.host = one.error_code == 0 ? one.host : std::string();
  response.port = one.port;
  return std::optional(encode_response(ctx, response));
}

}  // namespace keel::kafka
