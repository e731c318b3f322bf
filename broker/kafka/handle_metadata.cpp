// Metadata: the live brokers, the cluster id, a controller id clients can use (this broker: it
// forwards what needs the controller, as KRaft brokers do), and the topics asked for from the
// committed metadata image, created on the fly when auto.create.topics.enable and the request
// allow it. v10+ answers topic ids; v12 takes topics by id (null names).
#include <fmt/format.h>

#include <algorithm>

#include "broker/kafka/admin.h"
#include "broker/kafka/errors.h"
#include "broker/kafka/handlers.h"
#include "broker/kafka/services.h"
#include "broker/metadata/quorum.h"

namespace keel::kafka {
namespace {

using protocol::ErrorCode;
using protocol::MetadataRequest;
using protocol::MetadataResponse;

// A partition from the metadata image: leader, epoch, replicas, ISR, and the replicas on brokers
// that are not up (offline).
MetadataResponse::MetadataResponsePartition describe_partition(const metadata::MetadataImage& image,
                                                              std::int32_t index,
                                                              const metadata::PartitionRegistration& p) {
  MetadataResponse::MetadataResponsePartition out;
  out.partition_index = index;
  out.error_code = wire(p.leader >= 0 ? ErrorCode::none : ErrorCode::leader_not_available);
  out.leader_id = p.leader.value;
  out.leader_epoch = p.leader_epoch;
  out.replica_nodes = raw_ids(p.replicas);
  out.isr_nodes = raw_ids(p.isr);
  for (BrokerId r : p.replicas) {
    const auto* reg = image.broker(r);
    if (reg == nullptr || reg->fenced) out.offline_replicas.push_back(r.value);
  }
  return out;
}

MetadataResponse::MetadataResponseTopic describe_topic(const metadata::MetadataImage& image,
                                                      const metadata::TopicImage& topic) {
  MetadataResponse::MetadataResponseTopic out;
  out.name = topic.name;
  out.topic_id = topic.id;
  out.error_code = wire(ErrorCode::none);
  for (const auto& [index, p] : topic.partitions) out.partitions.push_back(describe_partition(image, index, p));
  return out;
}

MetadataResponse::MetadataResponseTopic topic_error(const std::string& name, ErrorCode code) {
  MetadataResponse::MetadataResponseTopic out;
  out.error_code = wire(code);
  out.name = name;
  return out;
}

// Which topics the request names: null means all (v1+), and in v0 an empty list means all too.
std::optional<std::vector<std::string>> requested_topics(const MetadataRequest& request, std::int16_t version) {
  if (!request.topics.has_value()) return std::nullopt;
  if (version == 0 && request.topics->empty()) return std::nullopt;
  std::vector<std::string> names;
  for (const auto& topic : *request.topics) names.push_back(topic.name.value_or(""));
  return names;
}

MetadataResponse::MetadataResponseTopic lookup_or_create(BrokerServices& broker, const std::string& name, bool allow_create) {
  const metadata::MetadataImage& image = broker.quorum.image();
  if (const auto* topic = image.topic(name)) return describe_topic(image, *topic);
  if (!allow_create || !broker.config.auto_create_topics_enable) return topic_error(name, ErrorCode::unknown_topic_or_partition);
  if (auto problem = topic_name_problem(name); !problem.empty()) return topic_error(name, ErrorCode::invalid_topic_exception);
  if (auto error = create_topic(broker, name, -1, -1, {}, false)) {
    // A concurrent request may have created it meanwhile.
    if (error->code != ErrorCode::topic_already_exists) return topic_error(name, error->code);
  }
  const auto* topic = broker.quorum.image().topic(name);
  return topic != nullptr ? describe_topic(broker.quorum.image(), *topic) : topic_error(name, ErrorCode::leader_not_available);
}

bool names_topics_by_id(const MetadataRequest& request) {
  if (!request.topics) return false;
  return std::any_of(request.topics->begin(), request.topics->end(),
                     [](const auto& t) { return !t.name || t.topic_id != protocol::Uuid{}; });
}

// Topics named by id (v12; Kafka refuses ids and null names below it with INVALID_REQUEST). An id the
// image does not know is UNKNOWN_TOPIC_ID with a null name; ids never create topics.
std::vector<MetadataResponse::MetadataResponseTopic> topics_by_id(const metadata::MetadataImage& image,
                                                                   const MetadataRequest& request, std::int16_t version) {
  std::vector<MetadataResponse::MetadataResponseTopic> out;
  for (const auto& t : *request.topics) {
    const metadata::TopicImage* topic = t.name ? image.topic(*t.name) : image.topic(t.topic_id);
    MetadataResponse::MetadataResponseTopic answer = topic != nullptr ? describe_topic(image, *topic)
                                                                      : topic_error("", ErrorCode::unknown_topic_id);
    if (topic == nullptr) {
      answer.name = t.name;
      answer.topic_id = t.topic_id;
    }
    if (version < 12) answer = topic_error(t.name.value_or(""), ErrorCode::invalid_request);
    out.push_back(std::move(answer));
  }
  return out;
}

// The unfenced brokers, each at its endpoint for the listener clients use here (Kafka answers with
// the endpoints of the listener the request came in on).
std::vector<MetadataResponse::MetadataResponseBroker> live_brokers(BrokerServices& broker) {
  std::vector<MetadataResponse::MetadataResponseBroker> out;
  const std::string& listener = broker.advertised().listener_name;
  for (const auto& [id, reg] : broker.quorum.image().brokers()) {
    if (reg.fenced) continue;
    for (const auto& e : reg.endpoints) {
      if (e.listener != listener) continue;
      MetadataResponse::MetadataResponseBroker b;
      b.node_id = id.value;
      b.host = e.host;
      b.port = e.port;
      b.rack = reg.rack;
      out.push_back(std::move(b));
    }
  }
  return out;
}

}  // namespace

HandlerResult handle_metadata(RequestContext& ctx, protocol::Reader& body) {
  auto request = decode_request<MetadataRequest>(ctx, body);
  if (!request) return request.error();
  BrokerServices& broker = ctx.broker;
  MetadataResponse response;
  response.brokers = live_brokers(broker);
  response.cluster_id = broker.cluster_id;
  response.controller_id = broker.config.node_id;
  const auto names = requested_topics(*request, ctx.header.api_version);
  if (names_topics_by_id(*request)) {
    response.topics = topics_by_id(broker.quorum.image(), *request, ctx.header.api_version);
  } else if (!names) {
    // By name, as Kafka lists them (the image keys topics by id).
    std::map<std::string, const metadata::TopicImage*> by_name;
    for (const auto& [id, topic] : broker.quorum.image().topics()) by_name[topic.name] = &topic;
    for (const auto& [name, topic] : by_name) response.topics.push_back(describe_topic(broker.quorum.image(), *topic));
  } else {
    const bool allow_create = ctx.header.api_version < 4 || request->allow_auto_topic_creation;
    for (const auto& name : *names) response.topics.push_back(lookup_or_create(broker, name, allow_create));
  }
  // Without an authorizer Kafka grants everything; it fills these only when asked (v8+).
  if (request->include_topic_authorized_operations) {
    for (auto& t : response.topics)
      if (t.error_code == wire(ErrorCode::none)) t.topic_authorized_operations = topic_authorized_operations;
  }
  if (request->include_cluster_authorized_operations) response.cluster_authorized_operations = cluster_authorized_operations;
  for (const auto& t : response.topics) trace_client_error(ctx, t.name.value_or(""), static_cast<ErrorCode>(t.error_code), {});
  return std::optional(encode_response(ctx, response));
}

}  // namespace keel::kafka
