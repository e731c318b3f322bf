// ApiVersions: the APIs and versions this broker serves, straight from the handler table, so it
// advertises exactly what it implements (but for Produce's lower bound: see advertised_min_version).
#include "broker/kafka/handlers.h"

namespace keel::kafka {

HandlerResult handle_api_versions(RequestContext& ctx, protocol::Reader& body) {
  auto request = decode_request<protocol::ApiVersionsRequest>(ctx, body);
  if (!request) return request.error();
  protocol::ApiVersionsResponse response;
  if (ctx.header.api_version >= 3 && (!protocol::is_valid_client_software_field(request->client_software_name) ||
                                      !protocol::is_valid_client_software_field(request->client_software_version))) {
    // As Kafka does; librdkafka then retries with v0.
    response.error_code = static_cast<std::int16_t>(protocol::ErrorCode::invalid_request);
    return std::optional(encode_response(ctx, response));
  }
  response.error_code = static_cast<std::int16_t>(protocol::ErrorCode::none);
  for (const auto& entry : handlers()) {
    if (!advertised(entry)) continue;
    protocol::ApiVersionsResponse::ApiVersion api;
    api.api_key = static_cast<std::int16_t>(entry.key);
    api.min_version = advertised_min_version(entry);
    api.max_version = entry.max_version;
    response.api_keys.push_back(api);
  }
  return std::optional(encode_response(ctx, response));
}

}  // namespace keel::kafka
