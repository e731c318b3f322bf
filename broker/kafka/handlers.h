#pragma once
// The Kafka API handlers of one broker: one file per API (handle_<api>.cpp), all of one shape. A
// handler decodes its request body at the header's version, does the work, and returns the encoded
// response frame, or nothing when the API sends no response (Produce with acks=0). An error return
// means the request was malformed: the connection is closed, as Kafka does.
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "broker/base/result.h"
#include "broker/base/time.h"
#include "broker/protocol/errors.h"
#include "broker/protocol/frame.h"
#include "broker/protocol/messages.h"
#include "broker/protocol/wire.h"

namespace keel::kafka {

struct BrokerServices;

struct RequestContext {
  BrokerServices& broker;
  protocol::RequestHeader header;
  std::string peer;  // the client's address, for trace events
};

using HandlerResult = Result<std::optional<protocol::Bytes>>;
using Handler = HandlerResult (*)(RequestContext& ctx, protocol::Reader& body);

struct HandlerEntry {
  protocol::ApiKey key;
  std::int16_t min_version;
  std::int16_t max_version;
  Handler handle;
};

// Every API this broker implements, with the versions it serves: what ApiVersions advertises
// (except KeelQuorum, which is Keel's own, between Keel nodes: see advertised()).
std::span<const HandlerEntry> handlers();
const HandlerEntry* find_handler(std::int16_t api_key);
// Whether ApiVersions lists the entry (Kafka clients never see Keel's own API).
bool advertised(const HandlerEntry& entry);
// The lowest version ApiVersions lists for the entry: its min_version, except Produce, listed from
// v0 although v0-v2 are refused (as Kafka 4 does since KAFKA-18659: librdkafka before 2.10 asks for
// Produce v0 support before it compresses with gzip, snappy or lz4, and sends uncompressed otherwise).
std::int16_t advertised_min_version(const HandlerEntry& entry);

HandlerResult handle_api_versions(RequestContext& ctx, protocol::Reader& body);
HandlerResult handle_metadata(RequestContext& ctx, protocol::Reader& body);
HandlerResult handle_consumer_group_heartbeat(RequestContext& ctx, protocol::Reader& body);
HandlerResult handle_consumer_group_describe(RequestContext& ctx, protocol::Reader& body);
HandlerResult handle_produce(RequestContext& ctx, protocol::Reader& body);
HandlerResult handle_fetch(RequestContext& ctx, protocol::Reader& body);
HandlerResult handle_list_offsets(RequestContext& ctx, protocol::Reader& body);
HandlerResult handle_create_topics(RequestContext& ctx, protocol::Reader& body);
HandlerResult handle_delete_topics(RequestContext& ctx, protocol::Reader& body);
HandlerResult handle_describe_configs(RequestContext& ctx, protocol::Reader& body);
HandlerResult handle_alter_configs(RequestContext& ctx, protocol::Reader& body);
HandlerResult handle_incremental_alter_configs(RequestContext& ctx, protocol::Reader& body);
HandlerResult handle_alter_partition_reassignments(RequestContext& ctx, protocol::Reader& body);
HandlerResult handle_list_partition_reassignments(RequestContext& ctx, protocol::Reader& body);
HandlerResult handle_offset_for_leader_epoch(RequestContext& ctx, protocol::Reader& body);
HandlerResult handle_keel_quorum(RequestContext& ctx, protocol::Reader& body);
HandlerResult handle_create_partitions(RequestContext& ctx, protocol::Reader& body);
HandlerResult handle_delete_records(RequestContext& ctx, protocol::Reader& body);
HandlerResult handle_elect_leaders(RequestContext& ctx, protocol::Reader& body);
HandlerResult handle_describe_log_dirs(RequestContext& ctx, protocol::Reader& body);
HandlerResult handle_describe_cluster(RequestContext& ctx, protocol::Reader& body);
HandlerResult handle_find_coordinator(RequestContext& ctx, protocol::Reader& body);
HandlerResult handle_join_group(RequestContext& ctx, protocol::Reader& body);
HandlerResult handle_sync_group(RequestContext& ctx, protocol::Reader& body);
HandlerResult handle_heartbeat(RequestContext& ctx, protocol::Reader& body);
HandlerResult handle_leave_group(RequestContext& ctx, protocol::Reader& body);
HandlerResult handle_offset_commit(RequestContext& ctx, protocol::Reader& body);
HandlerResult handle_offset_fetch(RequestContext& ctx, protocol::Reader& body);
HandlerResult handle_offset_delete(RequestContext& ctx, protocol::Reader& body);
HandlerResult handle_describe_groups(RequestContext& ctx, protocol::Reader& body);
HandlerResult handle_list_groups(RequestContext& ctx, protocol::Reader& body);
HandlerResult handle_delete_groups(RequestContext& ctx, protocol::Reader& body);

// Decodes a request body of type M at the context's version; the error names the API and version.
template <class M>
Result<M> decode_request(RequestContext& ctx, protocol::Reader& body) {
  return protocol::decode<M>(body, ctx.header.api_version);
}

// Encodes a response frame for the request in `ctx`.
template <class M>
protocol::Bytes encode_response(const RequestContext& ctx, const M& response) {
  return protocol::encode_response_frame(ctx.header.correlation_id, M::api_key, ctx.header.api_version, response);
}


// How long a request may wait for the controller, from the TimeoutMs it carries.
Duration controller_timeout(std::int32_t timeout_ms);

}  // namespace keel::kafka
