#pragma once
// Every request and response body Keel speaks, and the functions that encode and decode them.
// The definitions live one API per header (messages_*.h); each lists its fields once (see
// schema.h), and encode/decode below drive the one generic codec over that list for any version.
#include "broker/protocol/api.h"
#include "broker/protocol/errors.h"
#include "broker/protocol/messages_admin.h"
#include "broker/protocol/messages_alter_configs.h"
#include "broker/protocol/messages_alter_partition_reassignments.h"
#include "broker/protocol/messages_api_versions.h"
#include "broker/protocol/messages_consumer_group.h"
#include "broker/protocol/messages_create_topics.h"
#include "broker/protocol/messages_delete_topics.h"
#include "broker/protocol/messages_describe_configs.h"
#include "broker/protocol/messages_fetch.h"
#include "broker/protocol/messages_find_coordinator.h"
#include "broker/protocol/messages_group_admin.h"
#include "broker/protocol/messages_heartbeat.h"
#include "broker/protocol/messages_join_group.h"
#include "broker/protocol/messages_leave_group.h"
#include "broker/protocol/messages_list_offsets.h"
#include "broker/protocol/messages_metadata.h"
#include "broker/protocol/messages_offset_commit.h"
#include "broker/protocol/messages_offset_fetch.h"
#include "broker/protocol/messages_keel_quorum.h"
#include "broker/protocol/messages_list_partition_reassignments.h"
#include "broker/protocol/messages_offsets_for_leader_epoch.h"
#include "broker/protocol/messages_produce.h"
#include "broker/protocol/messages_sync_group.h"
#include "broker/protocol/schema.h"
#include "broker/protocol/wire.h"

#include "broker/base/result.h"

#include <fmt/format.h>

#include <cstdint>
#include <span>

namespace keel::protocol {

// The layout of one version of M: its number and whether it is flexible.
template <Message M>
WireContext wire_context(std::int16_t version) {
  WireContext c;
  c.version = version;
  c.flexible = is_flexible(M::api_key, version);
  return c;
}

// Whether Keel can encode and decode this version of M.
template <Message M>
constexpr bool supports_version(std::int16_t version) {
  const ApiInfo& info = api_info(M::api_key);
  return version >= info.min_version && version <= info.max_version;
}

// Appends the body of `message` at `version`. Asking for a version Keel does not support is a
// programmer error (answering an unsupported request is decided before a body is built).
template <Message M>
void encode(Writer& w, const M& message, std::int16_t version) {
  KEEL_ASSERT_MSG(supports_version<M>(version), "encode {} v{}: version not supported", M::message_name, version);
  detail::encode_struct(w, message, wire_context<M>(version));
}

template <Message M>
Bytes encode(const M& message, std::int16_t version) {
  Writer w;
  encode(w, message, version);
  return w.take();
}

// Reads one body of M from `r` (which may hold more after it). The error names the message, the
// version, the field path and what was wrong; `r` keeps its sticky error.
template <Message M>
keel::Result<M> decode(Reader& r, std::int16_t version) {
  if (!supports_version<M>(version)) {
    const ApiInfo& info = api_info(M::api_key);
    return make_error(Errc::invalid_argument, fmt::format("{} v{} is not supported (versions {}-{})", M::message_name,
                                                          version, info.min_version, info.max_version));
  }
  M message{};
  detail::DecodePath where;
  detail::decode_struct(r, message, wire_context<M>(version), where);
  if (!r.ok()) {
    return make_error(Errc::corrupt, fmt::format("{} v{}: {}: {}", M::message_name, version,
                                                 where.path.empty() ? "tagged fields" : where.path,
                                                 r.error().message));
  }
  return message;
}

// Reads a body that must fill `body` exactly.
template <Message M>
keel::Result<M> decode(std::span<const std::uint8_t> body, std::int16_t version) {
  Reader r(body);
  auto message = decode<M>(r, version);
  if (message.ok() && r.remaining() != 0) {
    return make_error(Errc::corrupt, fmt::format("{} v{}: {} unexpected bytes after the body", M::message_name,
                                                 version, r.remaining()));
  }
  return message;
}

// The messages defined here, for explicit instantiation (messages.cpp) and for tests that walk all.
#define KEEL_PROTOCOL_FOR_EACH_MESSAGE(X) \
  X(ApiVersionsRequest)                   \
  X(ApiVersionsResponse)                  \
  X(MetadataRequest)                      \
  X(MetadataResponse)                     \
  X(ProduceRequest)                       \
  X(ProduceResponse)                      \
  X(FetchRequest)                         \
  X(FetchResponse)                        \
  X(ListOffsetsRequest)                   \
  X(ListOffsetsResponse)                  \
  X(FindCoordinatorRequest)               \
  X(FindCoordinatorResponse)              \
  X(CreateTopicsRequest)                  \
  X(CreateTopicsResponse)                 \
  X(DeleteTopicsRequest)                  \
  X(DeleteTopicsResponse)                 \
  X(DescribeConfigsRequest)               \
  X(DescribeConfigsResponse)              \
  X(AlterConfigsRequest)                  \
  X(AlterConfigsResponse)                 \
  X(IncrementalAlterConfigsRequest)       \
  X(IncrementalAlterConfigsResponse)      \
  X(AlterPartitionReassignmentsRequest)   \
  X(AlterPartitionReassignmentsResponse)  \
  X(ListPartitionReassignmentsRequest)    \
  X(ListPartitionReassignmentsResponse)   \
  X(JoinGroupRequest)                     \
  X(JoinGroupResponse)                    \
  X(SyncGroupRequest)                     \
  X(SyncGroupResponse)                    \
  X(HeartbeatRequest)                     \
  X(HeartbeatResponse)                    \
  X(LeaveGroupRequest)                    \
  X(LeaveGroupResponse)                   \
  X(OffsetCommitRequest)                  \
  X(OffsetCommitResponse)                 \
  X(OffsetFetchRequest)                   \
  X(OffsetFetchResponse)                  \
  X(DescribeGroupsRequest)                \
  X(DescribeGroupsResponse)               \
  X(ListGroupsRequest)                    \
  X(ListGroupsResponse)                   \
  X(DeleteGroupsRequest)                  \
  X(DeleteGroupsResponse)                 \
  X(OffsetDeleteRequest)                  \
  X(OffsetDeleteResponse)

// Compiled once in messages.cpp rather than in every file that sends or receives a message.
#define KEEL_PROTOCOL_EXTERN_CODEC(M)                                             \
  extern template void encode<M>(Writer&, const M&, std::int16_t);               \
  extern template Bytes encode<M>(const M&, std::int16_t);                       \
  extern template keel::Result<M> decode<M>(Reader&, std::int16_t);              \
  extern template keel::Result<M> decode<M>(std::span<const std::uint8_t>, std::int16_t);
KEEL_PROTOCOL_FOR_EACH_MESSAGE(KEEL_PROTOCOL_EXTERN_CODEC)
#undef KEEL_PROTOCOL_EXTERN_CODEC

}  // namespace keel::protocol
