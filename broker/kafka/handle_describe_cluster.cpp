// DescribeCluster: the cluster id, a controller id clients can use (this broker, as Metadata
// answers), the unfenced brokers at their endpoints for the listener clients use, and the cluster's
// authorized operations when asked (all of them: there is no authorizer). Brokers serve the broker
// endpoint type only, as Kafka's do.
#include <fmt/format.h>

#include "broker/kafka/admin.h"
#include "broker/kafka/errors.h"
#include "broker/kafka/handlers.h"
#include "broker/kafka/services.h"
#include "broker/metadata/quorum.h"

namespace keel::kafka {
namespace {

using protocol::DescribeClusterRequest;
using protocol::DescribeClusterResponse;
using protocol::ErrorCode;

std::vector<DescribeClusterResponse::DescribeClusterBroker> alive_brokers(BrokerServices& broker) {
  std::vector<DescribeClusterResponse::DescribeClusterBroker> out;
  const std::string& listener = broker.advertised().listener_name;
  for (const auto& [id, reg] : broker.quorum.image().brokers()) {
    if (reg.fenced) continue;
    for (const auto& e : reg.endpoints) {
      if (e.listener != listener) continue;
      out.push_back({id.value, e.host, e.port, reg.rack});
    }
  }
  return out;
}

// Kafka's check of the endpoint type: unknown types and the controller type are refused (v0 knows
// no endpoint types, so it says INVALID_REQUEST).
std::optional<std::pair<ErrorCode, std::string>> endpoint_problem(std::int8_t type, std::int16_t version) {
  if (type == DescribeClusterRequest::endpoint_brokers) return std::nullopt;
  if (type != DescribeClusterRequest::endpoint_controllers) {
    return std::pair{version == 0 ? ErrorCode::invalid_request : ErrorCode::unsupported_endpoint_type,
                     fmt::format("Unsupported endpoint type {}", type)};
  }
  return std::pair{version == 0 ? ErrorCode::invalid_request : ErrorCode::mismatched_endpoint_type,
                   std::string("The request was sent to an endpoint of type BROKER, but we wanted an endpoint of type CONTROLLER")};
}

}  // namespace

HandlerResult handle_describe_cluster(RequestContext& ctx, protocol::Reader& body) {
  auto request = decode_request<DescribeClusterRequest>(ctx, body);
  if (!request) return request.error();
  DescribeClusterResponse response;
  if (auto problem = endpoint_problem(request->endpoint_type, ctx.header.api_version)) {
    response.error_code = wire(problem->first);
    response.error_message = problem->second;
    trace_client_error(ctx, "cluster", problem->first, problem->second);
    return std::optional(encode_response(ctx, response));
  }
  response.cluster_id = ctx.broker.cluster_id;
  response.controller_id = ctx.broker.config.node_id;
  response.brokers = alive_brokers(ctx.broker);
  if (request->include_cluster_authorized_operations) response.cluster_authorized_operations = cluster_authorized_operations;
  return std::optional(encode_response(ctx, response));
}

}  // namespace keel::kafka
