#pragma once
// Who sent a group request, as the group coordinator records it: the client id from the request
// header, the client's host as Kafka shows it ("/127.0.0.1"), and the request's version.
#include <string>

#include "broker/group/group_shard.h"
#include "broker/kafka/handlers.h"
#include "broker/metadata/image.h"

namespace keel::kafka {

inline group::Client group_client(const RequestContext& ctx) {
  std::string host = ctx.peer;
  if (auto colon = host.rfind(':'); colon != std::string::npos) host.resize(colon);
  return group::Client{ctx.header.client_id.value_or(""), "/" + host, ctx.header.api_version};
}

// The image's topics as consumer groups resolve subscriptions against them.
inline group::TopicsView topics_view(const metadata::MetadataImage& image) {
  group::TopicsView view;
  for (const auto& [id, topic] : image.topics()) {
    view.by_name[topic.name] = {id, static_cast<std::int32_t>(topic.partitions.size())};
  }
  return view;
}

}  // namespace keel::kafka
