// Produce: validate each partition's record batch, append it to the partition log (which assigns
// offsets and syncs when the flush policy says so), wake fetches waiting on the partition, and
// answer with the base offsets. acks=0 gets no response. A single broker is its own ISR, so acks=1
// and acks=all are answered once the local append is done; in a replicated cluster only the leader
// appends, and acks=all waits until the high watermark passes the records.
#include <fmt/format.h>

#include "broker/protocol/record_batch.h"
#include "broker/partition/replica_manager.h"
#include "broker/server/broker.h"
#include "broker/server/handlers.h"

namespace keel::server {
namespace {

using protocol::ErrorCode;
using protocol::ProduceRequest;
using protocol::ProduceResponse;
using PartitionResponse = ProduceResponse::PartitionProduceResponse;

// BUGGIFY produce_high_watermark_late holds the high watermark back by at most this.
constexpr std::int64_t high_watermark_late_ms_max = 50;

PartitionResponse partition_error(std::int32_t index, ErrorCode code, std::string message) {
  PartitionResponse out;
  out.index = index;
  out.error_code = static_cast<std::int16_t>(code);
  out.base_offset = -1;
  out.error_message = std::move(message);
  return out;
}

// Kafka accepts exactly one v2 batch per partition in a Produce request.
std::optional<PartitionResponse> validate(std::int32_t index, const std::optional<protocol::Bytes>& records,
                                          std::int32_t max_message_bytes) {
  if (!records.has_value() || records->empty()) {
    return partition_error(index, ErrorCode::invalid_record, "a produce request must carry one record batch");
  }
  const auto scan = protocol::scan_batches(*records, false);
  if (scan.corruption.has_value() || scan.torn_tail || scan.batches.size() != 1) {
    return partition_error(index, ErrorCode::invalid_record,
                           scan.corruption ? scan.corruption->message
                                           : fmt::format("a produce request must carry exactly one record batch, got {}",
                                                         scan.batches.size() + (scan.torn_tail ? 1 : 0)));
  }
  if (records->size() > static_cast<std::size_t>(max_message_bytes)) {
    return partition_error(index, ErrorCode::message_too_large,
                           fmt::format("batch of {} bytes is above max.message.bytes {}", records->size(), max_message_bytes));
  }
  if (auto st = protocol::validate_batch_for_append(*records); !st) {
    const auto code = st.error().code == Errc::corrupt ? ErrorCode::corrupt_message : ErrorCode::invalid_record;
    return partition_error(index, code, st.error().message);
  }
  return std::nullopt;
}

PartitionResponse append_partition(Broker& broker, const std::string& topic,
                                   const ProduceRequest::PartitionProduceData& data) {
  const TopicInfo* info = broker.topics().find(topic);
  storage::Log* log = info != nullptr ? broker.logs().get(TopicPartition{topic, data.index}) : nullptr;
  if (log == nullptr) {
    return partition_error(data.index, ErrorCode::unknown_topic_or_partition,
                           fmt::format("This server does not host this topic-partition: {}-{}", topic, data.index));
  }
  if (auto invalid = validate(data.index, data.records, log->config().max_message_bytes)) return *invalid;
  auto appended = log->append(*data.records, 0);
  if (!appended) {
    broker.runtime().trace("ProduceAppendFailed", Severity::warn)
        .detail("Partition", partition_key(topic, data.index))
        .detail("Error", appended.error().message);
    return partition_error(data.index, ErrorCode::kafka_storage_error, appended.error().message);
  }
  // BUGGIFY produce_high_watermark_late: the high watermark moves a while after the append, as it
  // does in a replicated cluster when followers are slow to fetch. Meanwhile the log end is past
  // the high watermark: fetches must serve up to the high watermark only, and a fetch woken by
  // another append must not take the bytes above it for data it can return.
  if (KEEL_BUGGIFY(broker.runtime(), "produce_high_watermark_late")) {
    Runtime& rt = broker.runtime();
    rt.sleep_for(std::chrono::milliseconds(rt.random().between(1, high_watermark_late_ms_max)));
  }
  // The high watermark moves only now that the append (and the sync the flush policy asks for) has
  // returned, so a consumer never reads a record a power loss could still take from a synced log.
  // A single broker is its own ISR: nothing else to wait for.
  log->set_high_watermark(std::max(log->high_watermark(), appended->last_offset + 1));
  broker.partition_appended(topic, data.index);
  PartitionResponse out;
  out.index = data.index;
  out.error_code = static_cast<std::int16_t>(ErrorCode::none);
  out.base_offset = appended->base_offset;
  out.log_append_time_ms = appended->log_append_time_ms;
  out.log_start_offset = appended->log_start_offset;
  return out;
}

// A replicated cluster's leader: the replica manager checks leadership and min.insync.replicas and
// appends with the leader epoch; acks=all then waits (wait_for_acks below) for the ISR.
PartitionResponse append_replicated(Broker& broker, const std::string& topic,
                                    const ProduceRequest::PartitionProduceData& data, std::int16_t acks,
                                    std::int32_t& leader_epoch) {
  const TopicInfo* info = broker.topics().find(topic);
  storage::Log* log = info != nullptr ? broker.logs().get(TopicPartition{topic, data.index}) : nullptr;
  if (info == nullptr) {
    return partition_error(data.index, ErrorCode::unknown_topic_or_partition,
                           fmt::format("This server does not host this topic-partition: {}-{}", topic, data.index));
  }
  const std::int32_t max_bytes = log != nullptr ? log->config().max_message_bytes : broker.config().log.max_message_bytes;
  if (auto invalid = validate(data.index, data.records, max_bytes)) return *invalid;
  auto appended = broker.replicas()->append_as_leader(TopicPartition{topic, data.index}, *data.records, acks);
  if (appended.error != ErrorCode::none) return partition_error(data.index, appended.error, appended.message);
  broker.partition_appended(topic, data.index);
  leader_epoch = appended.leader_epoch;
  PartitionResponse out;
  out.index = data.index;
  out.error_code = static_cast<std::int16_t>(ErrorCode::none);
  out.base_offset = appended.result.base_offset;
  out.log_append_time_ms = appended.result.log_append_time_ms;
  out.log_start_offset = appended.result.log_start_offset;
  return out;
}

// acks=all: each appended partition waits until its ISR has the records (Kafka's DelayedProduce),
// all against one deadline, the request's timeout.
void wait_for_acks(Broker& broker, const ProduceRequest& request, ProduceResponse& response,
                   const std::vector<std::vector<std::int32_t>>& epochs) {
  const Instant deadline = broker.runtime().now() + std::chrono::milliseconds(std::max(0, request.timeout_ms));
  for (std::size_t t = 0; t < response.responses.size(); ++t) {
    auto& topic = response.responses[t];
    for (std::size_t i = 0; i < topic.partition_responses.size(); ++i) {
      auto& out = topic.partition_responses[i];
      if (out.error_code != 0) continue;
      const auto scan = protocol::scan_batches(*request.topic_data[t].partition_data[i].records, false);
      const std::int64_t required = out.base_offset + (scan.batches.back().second.last_offset() -
                                                       scan.batches.back().second.base_offset) + 1;
      const ErrorCode code = broker.replicas()->wait_for_acks(TopicPartition{topic.name, out.index}, required,
                                                              epochs[t][i], deadline);
      if (code != ErrorCode::none) out = partition_error(out.index, code, std::string(protocol::error_name(code)));
    }
  }
}

}  // namespace

HandlerResult handle_produce(RequestContext& ctx, protocol::Reader& body) {
  auto request = decode_request<ProduceRequest>(ctx, body);
  if (!request) return request.error();
  const bool acks_valid = request->acks == 0 || request->acks == 1 || request->acks == -1;
  ProduceResponse response;
  const bool replicated = ctx.broker.replicas() != nullptr;
  std::vector<std::vector<std::int32_t>> epochs;  // the leader epoch each partition was appended in
  for (const auto& topic : request->topic_data) {
    ProduceResponse::TopicProduceResponse out;
    out.name = topic.name;
    epochs.emplace_back();
    for (const auto& partition : topic.partition_data) {
      std::int32_t epoch = -1;
      if (!acks_valid) {
        out.partition_responses.push_back(partition_error(partition.index, ErrorCode::invalid_required_acks,
                                                          fmt::format("acks must be -1, 0 or 1, got {}", request->acks)));
      } else if (replicated) {
        out.partition_responses.push_back(append_replicated(ctx.broker, topic.name, partition, request->acks, epoch));
      } else {
        out.partition_responses.push_back(append_partition(ctx.broker, topic.name, partition));
      }
      epochs.back().push_back(epoch);
    }
    response.responses.push_back(std::move(out));
  }
  if (replicated && request->acks == -1) wait_for_acks(ctx.broker, *request, response, epochs);
  if (request->acks == 0) return std::optional<protocol::Bytes>();
  return std::optional(encode_response(ctx, response));
}

}  // namespace keel::server
