// DescribeLogDirs: this broker's log dirs, each with the partitions it holds (all, or those the
// request names), their sizes and offset lags (Kafka's: how far the high watermark is past the
// log end, so 0 for a current log), and (v4) the total and usable bytes of the file system that
// holds each dir, as Kafka answers them from the dir's FileStore.
#include "broker/kafka/errors.h"
#include "broker/kafka/handlers.h"
#include "broker/kafka/services.h"
#include "broker/partition/replica_manager.h"
#include "broker/platform/runtime.h"

#include "broker/base/assert.h"

#include <algorithm>
#include <limits>
#include <set>

namespace keel::kafka {
namespace {

using protocol::DescribeLogDirsRequest;
using protocol::DescribeLogDirsResponse;

// Whether the request asks for this partition (a null topic list asks for all).
bool wanted(const DescribeLogDirsRequest& request, const TopicPartition& tp) {
  if (!request.topics) return true;
  for (const auto& t : *request.topics) {
    if (t.topic != tp.topic) continue;
    for (std::int32_t p : t.partitions)
      if (p == tp.partition) return true;
  }
  return false;
}

DescribeLogDirsResponse::DescribeLogDirsResult describe_dir(const DescribeLogDirsRequest& request,
                                                            const partition::LogDirReplicas& dir) {
  DescribeLogDirsResponse::DescribeLogDirsResult out;
  out.log_dir = dir.dir;
  for (const auto& r : dir.replicas) {
    if (!wanted(request, r.tp)) continue;
    if (out.topics.empty() || out.topics.back().name != r.tp.topic) out.topics.emplace_back().name = r.tp.topic;
    DescribeLogDirsResponse::DescribeLogDirsPartition p;
    p.partition_index = r.tp.partition;
    p.partition_size = r.size_bytes;
    p.offset_lag = r.offset_lag;
    out.topics.back().partitions.push_back(p);
  }
  return out;
}

// Kafka's adjustForLargeFileSystems: a size Java's long cannot hold is answered as Long.MAX_VALUE.
std::int64_t as_kafka_bytes(std::uint64_t bytes) {
  constexpr auto max = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  return static_cast<std::int64_t>(std::min(bytes, max));
}

// The file system's size and free bytes, or KAFKA_STORAGE_ERROR for a dir it cannot answer for.
void add_space(RequestContext& ctx, DescribeLogDirsResponse::DescribeLogDirsResult& out) {
  auto space = ctx.broker.rt.disk().space(out.log_dir);
  if (!space) {
    out.error_code = static_cast<std::int16_t>(protocol::ErrorCode::kafka_storage_error);
    out.topics.clear();
    trace_client_error(ctx, out.log_dir, protocol::ErrorCode::kafka_storage_error, space.error().message);
    return;
  }
  KEEL_ASSERT_LE(space->usable_bytes, space->total_bytes);
  out.total_bytes = as_kafka_bytes(space->total_bytes);
  out.usable_bytes = as_kafka_bytes(space->usable_bytes);
}

}  // namespace

HandlerResult handle_describe_log_dirs(RequestContext& ctx, protocol::Reader& body) {
  auto request = decode_request<DescribeLogDirsRequest>(ctx, body);
  if (!request) return request.error();
  DescribeLogDirsResponse response;
  for (const auto& dir : ctx.broker.replicas.log_dirs()) {
    response.results.push_back(describe_dir(*request, dir));
    add_space(ctx, response.results.back());
  }
  return std::optional(encode_response(ctx, response));
}

}  // namespace keel::kafka
