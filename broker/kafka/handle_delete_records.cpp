// DeleteRecords: moves the log start offset of each partition on its leader (here), then answers
// with the low watermark once every live replica moved its log start there too, or
// REQUEST_TIMED_OUT when the timeout passes first (Kafka's DelayedDeleteRecords). Followers learn
// the new log start from their fetch answers; consumers below it get OFFSET_OUT_OF_RANGE.
#include <fmt/format.h>

#include "broker/base/assert.h"
#include "broker/kafka/errors.h"
#include "broker/kafka/handlers.h"
#include "broker/kafka/services.h"
#include "broker/partition/replica_manager.h"

namespace keel::kafka {
namespace {

using protocol::DeleteRecordsRequest;
using protocol::DeleteRecordsResponse;
using protocol::ErrorCode;
using PartitionResult = DeleteRecordsResponse::DeleteRecordsPartitionResult;

// Kafka refuses to delete records of its internal topics.
bool internal_topic(std::string_view topic) { return topic == "__consumer_offsets" || topic == "__transaction_state"; }

struct Started {
  TopicPartition tp;
  std::int64_t offset = -1;  // where the log start went; -1 when it failed
  PartitionResult result;
};

Started start(BrokerServices& broker, const std::string& topic, const DeleteRecordsRequest::DeleteRecordsPartition& p) {
  Started out{TopicPartition{topic, p.partition_index}, -1, {}};
  out.result.partition_index = p.partition_index;
  if (internal_topic(topic)) {
    out.result.error_code = wire(ErrorCode::invalid_topic_exception);
    return out;
  }
  const auto deletion = broker.replicas.delete_records(out.tp, p.offset);
  out.result.error_code = wire(deletion.error);
  if (deletion.error != partition::ReplicaError::none) return out;
  // What a deletion establishes (no task switch since): the offset asked (or the high watermark for
  // -1), never past the high watermark, and nothing below it left on this leader's log.
  if (p.offset != partition::delete_to_high_watermark) KEEL_ASSERT_EQ(deletion.offset, p.offset);
  const auto status = broker.replicas.status(out.tp);
  KEEL_ASSERT(status.has_value() && status->leader);
  KEEL_ASSERT(0 <= deletion.offset && deletion.offset <= status->high_watermark);
  KEEL_ASSERT_GE(status->log_start, deletion.offset);
  out.offset = deletion.offset;
  return out;
}

}  // namespace

HandlerResult handle_delete_records(RequestContext& ctx, protocol::Reader& body) {
  auto request = decode_request<DeleteRecordsRequest>(ctx, body);
  if (!request) return request.error();
  // Every partition's log start moves first; then one deadline covers the waits for all of them.
  std::vector<std::vector<Started>> started;
  for (const auto& topic : request->topics) {
    auto& mine = started.emplace_back();
    for (const auto& p : topic.partitions) mine.push_back(start(ctx.broker, topic.name, p));
  }
  const Instant deadline = ctx.broker.rt.now() + std::chrono::milliseconds(std::max(request->timeout_ms, 0));
  DeleteRecordsResponse response;
  for (std::size_t t = 0; t < request->topics.size(); ++t) {
    auto& out = response.topics.emplace_back();
    out.name = request->topics[t].name;
    for (auto& s : started[t]) {
      if (s.offset >= 0) {
        const auto done = ctx.broker.replicas.wait_for_low_watermark(s.tp, s.offset, deadline);
        s.result.error_code = wire(done.error);  // timed_out: REQUEST_TIMED_OUT
        s.result.low_watermark = done.low_watermark;
        // Answered without an error only once every live replica dropped what lies below.
        if (done.error == partition::ReplicaError::none) KEEL_ASSERT_GE(done.low_watermark, s.offset);
      }
      trace_client_error(ctx, s.tp.to_string(), static_cast<ErrorCode>(s.result.error_code), "");
      out.partitions.push_back(s.result);
    }
  }
  return std::optional(encode_response(ctx, response));
}

}  // namespace keel::kafka
