// Produce: each partition's record batch is scanned and validated once here, handed to the replica
// manager (which checks leadership and min.insync.replicas, appends at the leader epoch and wakes
// the parked fetches once), and answered with its base offset; acks=all first waits until the ISR
// has the records. acks=0 gets no response.
#include <fmt/format.h>
#include "broker/base/coverage.h"

#include "broker/kafka/errors.h"
#include "broker/kafka/handlers.h"
#include "broker/kafka/services.h"
#include "broker/partition/replica_manager.h"
#include "broker/protocol/record_batch.h"

namespace keel::kafka {
namespace {

using protocol::ErrorCode;
using protocol::ProduceRequest;
using protocol::ProduceResponse;
using PartitionResponse = ProduceResponse::PartitionProduceResponse;

PartitionResponse partition_error(std::int32_t index, ErrorCode code, std::string message) {
  PartitionResponse out;
  out.index = index;
  out.error_code = wire(code);
  out.base_offset = -1;
  out.error_message = std::move(message);
  return out;
}

// Kafka accepts exactly one v2 batch per partition in a Produce request: the one scan of its bytes
// (header, length, CRC) and the one walk of its records.
Result<protocol::BatchScan> scan_and_validate(const std::optional<protocol::Bytes>& records, std::int32_t index,
                                              std::optional<PartitionResponse>& refused) {
  if (!records.has_value() || records->empty()) {
    refused = partition_error(index, ErrorCode::invalid_record, "a produce request must carry one record batch");
    return make_error(Errc::invalid_argument, "no batch");
  }
  // The structure first (lengths, magic), then the CRC and the records, each once; the log trusts
  // this scan and does not check again.
  auto scan = protocol::scan_batches(*records, false);
  if (scan.corruption.has_value() || scan.torn_tail || scan.batches.size() != 1 || scan.valid_bytes != records->size()) {
    refused = partition_error(index, ErrorCode::invalid_record,
                              scan.corruption ? scan.corruption->message
                                              : fmt::format("a produce request must carry exactly one record batch, got {}",
                                                            scan.batches.size() + (scan.torn_tail ? 1 : 0)));
    return make_error(Errc::invalid_argument, "bad batch");
  }
  auto timestamps = protocol::validate_batch_for_append(*records);
  if (!timestamps) {
    refused = partition_error(index, timestamps.error().code == Errc::corrupt ? ErrorCode::corrupt_message
                                                                              : ErrorCode::invalid_record,
                              timestamps.error().message);
    return timestamps.error();
  }
  scan.record_timestamps.push_back(*timestamps);  // the log recomputes the max timestamp from these
  return scan;
}

// The partition's answer and, for acks=all, what to wait for: the epoch it was appended in and the
// offset the high watermark must reach.
struct Appended {
  PartitionResponse response;
  std::int32_t leader_epoch = -1;
  std::int64_t required_offset = -1;
};

Appended append_partition(BrokerServices& broker, const std::string& topic, ProduceRequest::PartitionProduceData& data,
                          std::int16_t acks) {
  Appended out;
  std::optional<PartitionResponse> refused;
  auto scan = scan_and_validate(data.records, data.index, refused);
  if (!scan) {
    out.response = *refused;
    return out;
  }
  const TopicPartition tp{topic, data.index};
  auto appended = broker.replicas.append(tp, std::move(*data.records), *scan, acks);
  if (appended.error != partition::ReplicaError::none) {
    out.response = partition_error(data.index, error_code_for(appended.error), appended.message);
    return out;
  }
  out.response.index = data.index;
  out.response.error_code = wire(ErrorCode::none);
  out.response.base_offset = appended.result.base_offset;
  out.response.log_append_time_ms = appended.result.log_append_time_ms;
  out.response.log_start_offset = appended.result.log_start_offset;
  out.leader_epoch = appended.leader_epoch;
  out.required_offset = appended.result.last_offset + 1;
  return out;
}

// acks=all: each appended partition waits until its ISR has the records (Kafka's DelayedProduce),
// all against one deadline, the request's timeout.
void wait_for_acks(BrokerServices& broker, std::int32_t timeout_ms, ProduceResponse& response,
                   const std::vector<std::vector<Appended>>& appended) {
  const Instant deadline = broker.rt.now() + std::chrono::milliseconds(std::max(0, timeout_ms));
  for (std::size_t t = 0; t < response.responses.size(); ++t) {
    auto& topic = response.responses[t];
    for (std::size_t i = 0; i < topic.partition_responses.size(); ++i) {
      auto& out = topic.partition_responses[i];
      if (out.error_code != 0) continue;
      const Appended& a = appended[t][i];
      const auto error = broker.replicas.wait_for_acks(TopicPartition{topic.name, out.index}, a.required_offset,
                                                       a.leader_epoch, deadline);
      if (error == partition::ReplicaError::timed_out) KEEL_SOMETIMES("kafka.produce.acks_all_timed_out");
      if (error == partition::ReplicaError::not_leader) KEEL_SOMETIMES("kafka.produce.leadership_lost_while_waiting");
      if (error != partition::ReplicaError::none) {
        out = partition_error(out.index, error_code_for(error), std::string(partition::replica_error_name(error)));
      }
    }
  }
}

}  // namespace

HandlerResult handle_produce(RequestContext& ctx, protocol::Reader& body) {
  auto request = decode_request<ProduceRequest>(ctx, body);
  if (!request) return request.error();
  const bool acks_valid = request->acks == 0 || request->acks == 1 || request->acks == -1;
  ProduceResponse response;
  std::vector<std::vector<Appended>> appended;
  for (auto& topic : request->topic_data) {
    ProduceResponse::TopicProduceResponse out;
    out.name = topic.name;
    appended.emplace_back();
    for (auto& partition : topic.partition_data) {
      Appended a;
      if (!acks_valid) {
        a.response = partition_error(partition.index, ErrorCode::invalid_required_acks,
                                     fmt::format("acks must be -1, 0 or 1, got {}", request->acks));
      } else {
        a = append_partition(ctx.broker, topic.name, partition, request->acks);
      }
      out.partition_responses.push_back(a.response);
      appended.back().push_back(a);
    }
    response.responses.push_back(std::move(out));
  }
  if (request->acks == -1) wait_for_acks(ctx.broker, request->timeout_ms, response, appended);
  for (const auto& topic : response.responses) {
    for (const auto& p : topic.partition_responses) {
      trace_client_error(ctx, fmt::format("{}-{}", topic.name, p.index), static_cast<ErrorCode>(p.error_code),
                         p.error_message.value_or(""));
    }
  }
  if (request->acks == 0) return std::optional<protocol::Bytes>();
  return std::optional(encode_response(ctx, response));
}

}  // namespace keel::kafka
