// DescribeLogDirs: this broker's log dirs, each with the partitions it holds (all, or those the
// request names), their sizes and offset lags (Kafka's: how far the high watermark is past the
// log end, so 0 for a current log). The dirs' total and usable bytes (v4) are unknown (-1): the
// platform's disk seam has no file-system capacity call.
#include "broker/kafka/errors.h"
#include "broker/kafka/handlers.h"
#include "broker/kafka/services.h"
#include "broker/partition/replica_manager.h"

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

}  // namespace

HandlerResult handle_describe_log_dirs(RequestContext& ctx, protocol::Reader& body) {
  auto request = decode_request<DescribeLogDirsRequest>(ctx, body);
  if (!request) return request.error();
  DescribeLogDirsResponse response;
  for (const auto& dir : ctx.broker.replicas.log_dirs()) response.results.push_back(describe_dir(*request, dir));
  return std::optional(encode_response(ctx, response));
}

}  // namespace keel::kafka
