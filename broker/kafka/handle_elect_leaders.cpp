// ElectLeaders: a preferred (v0+) or unclean (v1+) leader election on the named partitions, or on
// every partition when the list is null, decided by the active controller (admin.h elect_leaders).
// Each partition is answered under its topic; ELECTION_NOT_NEEDED where the leader already is the
// one asked for.
#include <map>

#include "broker/base/assert.h"
#include "broker/kafka/admin.h"
#include "broker/kafka/errors.h"
#include "broker/kafka/handlers.h"
#include "broker/kafka/services.h"

namespace keel::kafka {
namespace {

using protocol::ElectLeadersRequest;
using protocol::ElectLeadersResponse;
using protocol::ErrorCode;

metadata::ElectLeadersRequest to_controller(const ElectLeadersRequest& request) {
  metadata::ElectLeadersRequest out;
  out.type = request.election_type == ElectLeadersRequest::unclean ? metadata::ElectionType::unclean
                                                                    : metadata::ElectionType::preferred;
  if (request.topic_partitions) {
    out.partitions.emplace();
    for (const auto& topic : *request.topic_partitions)
      for (std::int32_t p : topic.partitions) out.partitions->push_back({topic.topic, p});
  }
  return out;
}

// The results grouped by topic, topics in the order they first appear.
ElectLeadersResponse answered(const std::vector<metadata::ReassignmentResult>& results) {
  ElectLeadersResponse response;
  std::map<std::string, std::size_t> topic_at;
  for (const auto& r : results) {
    auto [it, added] = topic_at.try_emplace(r.topic, response.replica_election_results.size());
    if (added) response.replica_election_results.emplace_back().topic = r.topic;
    ElectLeadersResponse::PartitionResult p;
    p.partition_id = r.partition;
    p.error_code = wire(r.error);
    if (r.error != ErrorCode::none) p.error_message = r.message.empty() ? std::string(protocol::error_name(r.error)) : r.message;
    response.replica_election_results[it->second].partition_result.push_back(std::move(p));
  }
  return response;
}

}  // namespace

HandlerResult handle_elect_leaders(RequestContext& ctx, protocol::Reader& body) {
  auto request = decode_request<ElectLeadersRequest>(ctx, body);
  if (!request) return request.error();
  if (ctx.header.api_version >= 1 && request->election_type != ElectLeadersRequest::preferred &&
      request->election_type != ElectLeadersRequest::unclean) {
    ElectLeadersResponse response;
    response.error_code = wire(ErrorCode::invalid_request);
    trace_client_error(ctx, "cluster", ErrorCode::invalid_request, "unknown election type");
    return std::optional(encode_response(ctx, response));
  }
  auto reply = elect_leaders(ctx.broker, to_controller(*request), controller_timeout(request->timeout_ms));
  ElectLeadersResponse response;
  if (!reply) {
    response.error_code = wire(ErrorCode::request_timed_out);
    trace_client_error(ctx, "cluster", ErrorCode::request_timed_out, reply.error().message);
    return std::optional(encode_response(ctx, response));
  }
  response = answered(reply->results);
  std::size_t partitions_answered = 0;
  for (const auto& topic : response.replica_election_results) partitions_answered += topic.partition_result.size();
  KEEL_ASSERT_EQ(partitions_answered, reply->results.size());  // every result once, under its topic
  for (const auto& r : reply->results)
    trace_client_error(ctx, fmt::format("{}-{}", r.topic, r.partition), r.error, r.message);
  return std::optional(encode_response(ctx, response));
}

}  // namespace keel::kafka
