// ListOffsets: the earliest offset (-2), the latest (-1), or the first offset whose record
// timestamp is at or after a given time, found through the time index and then the batch itself.
#include <fmt/format.h>

#include "broker/protocol/record_batch.h"
#include "broker/partition/replica_manager.h"
#include "broker/server/broker.h"
#include "broker/server/handlers.h"

namespace keel::server {
namespace {

using protocol::ErrorCode;
using protocol::ListOffsetsRequest;
using protocol::ListOffsetsResponse;
using PartitionResponse = ListOffsetsResponse::ListOffsetsPartitionResponse;

constexpr std::int64_t latest_timestamp = -1;
constexpr std::int64_t earliest_timestamp = -2;

// The first record at or after `timestamp`: (offset, its timestamp), or (-1, -1) when none.
Result<std::pair<std::int64_t, std::int64_t>> offset_for_time(storage::Log& log, std::int64_t timestamp) {
  auto found = log.offset_for_timestamp(timestamp);
  if (!found) return found.error();
  if (!found->has_value()) return std::pair<std::int64_t, std::int64_t>{-1, -1};
  const std::int64_t end = log.high_watermark();
  auto read = log.read(**found, 1, end, true);
  if (!read) return read.error();
  const auto scan = protocol::scan_batches(read->records, false);
  for (const auto& [position, header] : scan.batches) {
    const std::span<const std::uint8_t> batch(read->records.data() + position, header.size_bytes());
    auto records = protocol::decode_records(batch);
    if (!records) return records.error();
    for (const auto& record : *records) {
      if (record.offset >= **found && record.timestamp >= timestamp) {
        return std::pair<std::int64_t, std::int64_t>{record.offset, record.timestamp};
      }
    }
  }
  return std::pair<std::int64_t, std::int64_t>{-1, -1};
}

PartitionResponse list_partition(Broker& broker, const std::string& topic,
                                 const ListOffsetsRequest::ListOffsetsPartition& request) {
  PartitionResponse out;
  out.partition_index = request.partition_index;
  out.error_code = static_cast<std::int16_t>(ErrorCode::none);
  storage::Log* log = broker.topics().find(topic) != nullptr
                          ? broker.logs().get(TopicPartition{topic, request.partition_index})
                          : nullptr;
  if (log == nullptr) {
    out.error_code = static_cast<std::int16_t>(ErrorCode::unknown_topic_or_partition);
    return out;
  }
  out.leader_epoch = 0;
  if (broker.replicas() != nullptr) {
    // Only the leader answers, at the epoch the client knows (a follower's high watermark lags).
    const auto permit = broker.replicas()->read_permit(TopicPartition{topic, request.partition_index}, -1,
                                                       request.current_leader_epoch, 0, -1);
    if (permit.error != ErrorCode::none) {
      out.error_code = static_cast<std::int16_t>(permit.error);
      return out;
    }
    out.leader_epoch = permit.leader_epoch;
  }
  if (request.timestamp == latest_timestamp) {
    out.offset = log->high_watermark();
  } else if (request.timestamp == earliest_timestamp) {
    out.offset = log->log_start_offset();
  } else if (request.timestamp < 0) {
    out.error_code = static_cast<std::int16_t>(ErrorCode::unsupported_version);
  } else if (auto found = offset_for_time(*log, request.timestamp); !found) {
    out.error_code = static_cast<std::int16_t>(error_code_for(found.error()));
  } else {
    out.offset = found->first;
    out.timestamp = found->second;
  }
  return out;
}

}  // namespace

HandlerResult handle_list_offsets(RequestContext& ctx, protocol::Reader& body) {
  auto request = decode_request<ListOffsetsRequest>(ctx, body);
  if (!request) return request.error();
  ListOffsetsResponse response;
  for (const auto& topic : request->topics) {
    ListOffsetsResponse::ListOffsetsTopicResponse out;
    out.name = topic.name;
    for (const auto& partition : topic.partitions) out.partitions.push_back(list_partition(ctx.broker, topic.name, partition));
    response.topics.push_back(std::move(out));
  }
  return std::optional(encode_response(ctx, response));
}

}  // namespace keel::server
