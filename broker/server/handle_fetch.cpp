// Fetch: read each partition from its fetch offset up to the high watermark (the log end, on a
// single broker). When less than fetch.min.bytes is there, the request waits in the fetch purgatory
// until appends bring enough or max.wait passes (Kafka's long poll), then reads again and answers.
// Fetch sessions (KIP-227) are declined: every response has session id 0, so clients send full
// fetch requests, which Kafka allows.
#include <fmt/format.h>

#include <limits>

#include "broker/protocol/record_batch.h"
#include "broker/partition/replica_manager.h"
#include "broker/server/broker.h"
#include "broker/server/handlers.h"

namespace keel::server {
namespace {

using protocol::ErrorCode;
using protocol::FetchRequest;
using protocol::FetchResponse;

struct PartitionRead {
  std::string topic;
  const FetchRequest::FetchPartition* request = nullptr;
  storage::Log* log = nullptr;
  // In a replicated cluster: why this broker may not serve it (not the leader, a stale epoch).
  ErrorCode refused = ErrorCode::none;
  std::int64_t high_watermark = 0;  // what the response reports
  std::int64_t max_offset = 0;      // how far the read may go: the high watermark, or the log end for a follower
  std::optional<partition::EpochEndOffset> diverging;  // a follower must truncate before it reads
  bool follower = false;  // a replica fetching: it reads to the log end and waits for appends
  // The log's visible_bytes_appended() (log end, for a follower) when last read, to tell how much
  // became readable since.
  std::int64_t visible_at_read = 0;
};

FetchResponse::PartitionData partition_error(std::int32_t partition, ErrorCode code) {
  FetchResponse::PartitionData out;
  out.partition_index = partition;
  out.error_code = static_cast<std::int16_t>(code);
  out.high_watermark = -1;
  out.records = protocol::Bytes();
  return out;
}

// The byte limits of one fetch, and the fault points that bend them (decided once per request, so
// the read after a long poll follows the same rules as the first).
struct FetchLimits {
  std::int32_t max_bytes = 0;            // the whole response (the request's max_bytes)
  std::int32_t partition_max_bytes_cap = std::numeric_limits<std::int32_t>::max();
  bool partial_tail = false;             // end a partition's data with part of its next batch
};

// BUGGIFY fetch_small_bytes serves at most this much, however much the client asked for.
constexpr std::int32_t small_fetch_bytes_max = 4096;
// BUGGIFY fetch_wait_jitter makes a long poll late by at most this (and at most half its wait).
constexpr std::int64_t long_poll_late_ms_max = 1000;

FetchLimits fetch_limits(Runtime& rt, const FetchRequest& request) {
  FetchLimits limits;
  limits.max_bytes = request.max_bytes;
  // BUGGIFY fetch_small_bytes: far fewer bytes than the client's limits allow, as a broker short
  // of memory, or one whose read stops at a segment end, serves. read_all still returns one whole
  // batch whatever the limits (Kafka's rule), so a consumer keeps making progress.
  if (KEEL_BUGGIFY(rt, "fetch_small_bytes")) {
    const auto small = static_cast<std::int32_t>(rt.random().between(1, small_fetch_bytes_max));
    limits.max_bytes = std::min(limits.max_bytes, small);
    limits.partition_max_bytes_cap = small;
  }
  // BUGGIFY fetch_partial_batch: see append_partial_batch.
  limits.partial_tail = KEEL_BUGGIFY(rt, "fetch_partial_batch");
  return limits;
}

// BUGGIFY fetch_partial_batch: the data ends with the first bytes of the next batch, as Kafka's
// does when its byte limit cuts through a batch (it sends the file's bytes up to the limit).
// Clients drop a partial batch at the end and fetch it whole next time. Only after a whole batch,
// only within `bytes_max`, and only bytes of a batch wholly below the high watermark.
void append_partial_batch(Runtime& rt, storage::Log& log, protocol::Bytes& records, std::int32_t bytes_max,
                          std::int64_t high_watermark) {
  const auto scan = protocol::scan_batches(records, false);
  const auto room = static_cast<std::int64_t>(bytes_max) - static_cast<std::int64_t>(records.size());
  if (scan.batches.empty() || room < 1) return;
  const std::int64_t next = scan.batches.back().second.last_offset() + 1;
  if (next >= high_watermark) return;
  auto read = log.read(next, 1, high_watermark, true);  // the next batch, whole
  if (!read || read->records.size() < 2) return;
  const auto cut = std::min<std::int64_t>(room, static_cast<std::int64_t>(read->records.size()) - 1);
  const auto bytes = static_cast<std::size_t>(rt.random().between(1, cut));
  records.insert(records.end(), read->records.begin(), read->records.begin() + static_cast<std::ptrdiff_t>(bytes));
}

// Reads one partition, at most `bytes_max` bytes (or one whole batch when `min_one_batch`).
FetchResponse::PartitionData read_partition(Runtime& rt, PartitionRead& p, std::int32_t bytes_max, bool min_one_batch,
                                            bool read_committed, bool partial_tail, bool& any_error) {
  const std::int32_t partition = p.request->partition;
  if (p.refused != ErrorCode::none || p.log == nullptr) {
    any_error = true;
    return partition_error(partition, p.log == nullptr && p.refused == ErrorCode::none ? ErrorCode::unknown_topic_or_partition
                                                                                        : p.refused);
  }
  const std::int64_t high_watermark = p.high_watermark;
  const std::int64_t max_offset = p.max_offset;
  FetchResponse::PartitionData out;
  out.partition_index = partition;
  out.high_watermark = high_watermark;
  out.last_stable_offset = high_watermark;
  out.log_start_offset = p.log->log_start_offset();
  if (read_committed) out.aborted_transactions = std::vector<FetchResponse::AbortedTransaction>();
  out.records = protocol::Bytes();
  if (p.diverging) {
    // KIP-320: the follower's last fetched epoch ends earlier here; it truncates, then fetches again.
    any_error = true;
    out.error_code = static_cast<std::int16_t>(ErrorCode::none);
    out.diverging_epoch.epoch = p.diverging->epoch;
    out.diverging_epoch.end_offset = p.diverging->end_offset;
    return out;
  }
  const std::int64_t offset = p.request->fetch_offset;
  // As Kafka: out of range only outside the log; a consumer ahead of the high watermark (a new
  // leader's lags the old one's for a moment) gets nothing yet.
  if (offset < p.log->log_start_offset() || offset > p.log->log_end_offset()) {
    any_error = true;
    out.error_code = static_cast<std::int16_t>(ErrorCode::offset_out_of_range);
    return out;
  }
  p.visible_at_read = p.follower ? p.log->log_end_offset() : p.log->visible_bytes_appended();
  out.error_code = static_cast<std::int16_t>(ErrorCode::none);
  if (offset >= max_offset) return out;
  auto read = p.log->read(offset, bytes_max, max_offset, min_one_batch);
  if (!read) {
    any_error = true;
    out.error_code = static_cast<std::int16_t>(error_code_for(read.error()));
    return out;
  }
  if (partial_tail) append_partial_batch(rt, *p.log, read->records, bytes_max, max_offset);
  out.records = std::move(read->records);
  return out;
}

struct FetchPlan {
  std::vector<PartitionRead> partitions;
  bool read_committed = false;
};

// Reads every partition of the plan within the request's max_bytes; returns the response and the
// bytes it holds. As in Kafka, until some partition has returned data, a partition may return one
// whole batch above the limits, so a consumer never stalls on a batch larger than its limits.
std::pair<FetchResponse, std::int64_t> read_all(Runtime& rt, FetchPlan& plan, const FetchLimits& limits,
                                                bool& any_error) {
  FetchResponse response;
  response.error_code = static_cast<std::int16_t>(ErrorCode::none);
  response.session_id = 0;
  std::int64_t total = 0;
  for (auto& p : plan.partitions) {
    if (response.responses.empty() || response.responses.back().topic != p.topic) {
      FetchResponse::FetchableTopicResponse topic;
      topic.topic = p.topic;
      response.responses.push_back(std::move(topic));
    }
    const std::int64_t budget = std::max<std::int64_t>(0, std::int64_t{limits.max_bytes} - total);
    const std::int32_t partition_max = std::min(p.request->partition_max_bytes, limits.partition_max_bytes_cap);
    const auto bytes_max = static_cast<std::int32_t>(std::min<std::int64_t>(partition_max, budget));
    auto data = read_partition(rt, p, bytes_max, total == 0, plan.read_committed, limits.partial_tail, any_error);
    total += data.records ? static_cast<std::int64_t>(data.records->size()) : 0;
    response.responses.back().partitions.push_back(std::move(data));
  }
  return {std::move(response), total};
}

// Waits in the purgatory until min_bytes have become readable in the watched partitions since they
// were read (the high watermark passed them, not just an append), or the delay passes.
class DelayedFetch final : public DelayedOperation {
 public:
  struct Watched {
    TopicPartition partition;
    std::int64_t visible_at_read = 0;
    bool follower = false;  // visible_at_read is the log end: any append completes it
  };
  DelayedFetch(Broker& broker, Duration delay, std::vector<Watched> watched, std::int64_t bytes_read,
               std::int64_t min_bytes)
      : DelayedOperation(delay), broker_(broker), watched_(std::move(watched)), bytes_read_(bytes_read),
        min_bytes_(min_bytes) {}

  // Counts bytes that became readable since the first read. Not the log's size: bytes appended but
  // not yet below the high watermark (an fsync or the replicas still to come) would count before
  // they can be served, and then never again once they can. The logs are looked up again each
  // time, since a topic may be deleted while the fetch waits.
  bool try_complete() override {
    std::int64_t available = bytes_read_;
    for (const auto& w : watched_) {
      const storage::Log* log = broker_.logs().get(w.partition);
      if (log == nullptr) return force_complete();
      if (w.follower) {
        if (log->log_end_offset() > w.visible_at_read) return force_complete();
        continue;
      }
      // Never below zero: a topic deleted and created again while the fetch waits starts anew.
      available += std::max<std::int64_t>(0, log->visible_bytes_appended() - w.visible_at_read);
    }
    return available >= min_bytes_ && force_complete();
  }
  void on_complete() override {}

 private:
  Broker& broker_;
  std::vector<Watched> watched_;
  std::int64_t bytes_read_;
  std::int64_t min_bytes_;
};

// In a replicated cluster the replica manager says whether this broker leads the partition at the
// epoch the fetcher knows, and how far the fetcher may read.
void permit(partition::ReplicaManager& replicas, const FetchRequest& request, PartitionRead& p) {
  const auto permit = replicas.read_permit(TopicPartition{p.topic, p.request->partition}, request.replica_id,
                                           p.request->current_leader_epoch, p.request->fetch_offset,
                                           p.request->last_fetched_epoch);
  p.refused = permit.error;
  p.log = permit.log;
  p.high_watermark = permit.high_watermark;
  p.max_offset = permit.max_offset;
  p.diverging = permit.diverging;
  p.follower = request.replica_id >= 0;
}

FetchPlan plan_fetch(Broker& broker, const FetchRequest& request) {
  FetchPlan plan;
  plan.read_committed = request.isolation_level == 1;
  for (const auto& topic : request.topics) {
    const bool known = broker.topics().find(topic.topic) != nullptr;
    for (const auto& partition : topic.partitions) {
      PartitionRead p;
      p.topic = topic.topic;
      p.request = &partition;
      if (broker.replicas() != nullptr) {
        permit(*broker.replicas(), request, p);
      } else {
        p.log = known ? broker.logs().get(TopicPartition{topic.topic, partition.partition}) : nullptr;
        if (p.log) p.high_watermark = p.max_offset = p.log->high_watermark();
      }
      plan.partitions.push_back(std::move(p));
    }
  }
  return plan;
}

// A follower's fetch tells the leader how far its log reaches (Kafka updates the follower's state
// when it reads for it); a diverging or failed partition does not (KAFKA-13141).
void note_follower_fetches(Broker& broker, const FetchRequest& request, const FetchPlan& plan,
                           const FetchResponse& response) {
  if (broker.replicas() == nullptr || request.replica_id < 0) return;
  std::size_t i = 0;
  for (const auto& topic : response.responses) {
    for (const auto& data : topic.partitions) {
      const PartitionRead& p = plan.partitions[i++];
      if (data.error_code != 0 || data.diverging_epoch.end_offset >= 0) continue;
      broker.replicas()->follower_fetched(TopicPartition{p.topic, p.request->partition}, request.replica_id,
                                          -1, p.request->fetch_offset);
    }
  }
}

// How long the fetch waits in the purgatory: its max wait, or (BUGGIFY fetch_wait_jitter) anywhere
// from nothing to half as long again (at most a second more), as a loaded broker's long poll ends
// early or late. A client must take an early empty answer and poll again, and its request timeout
// must allow for a late one.
Duration long_poll_delay(Runtime& rt, std::int32_t max_wait_ms) {
  if (!KEEL_BUGGIFY(rt, "fetch_wait_jitter")) return std::chrono::milliseconds(max_wait_ms);
  const std::int64_t late_max = std::min<std::int64_t>(max_wait_ms / 2, long_poll_late_ms_max);
  return std::chrono::milliseconds(rt.random().between(0, std::int64_t{max_wait_ms} + late_max));
}

}  // namespace

HandlerResult handle_fetch(RequestContext& ctx, protocol::Reader& body) {
  auto request = decode_request<FetchRequest>(ctx, body);
  if (!request) return request.error();
  Broker& broker = ctx.broker;
  if (ctx.header.api_version >= 7 && request->session_id != 0) {
    FetchResponse response;
    response.error_code = static_cast<std::int16_t>(ErrorCode::fetch_session_id_not_found);
    return std::optional(encode_response(ctx, response));
  }
  FetchPlan plan = plan_fetch(broker, *request);
  Runtime& rt = broker.runtime();
  const FetchLimits limits = fetch_limits(rt, *request);
  bool any_error = false;
  auto [response, total] = read_all(rt, plan, limits, any_error);
  note_follower_fetches(broker, *request, plan, response);
  const bool done = any_error || request->max_wait_ms <= 0 || total >= request->min_bytes || plan.partitions.empty();
  if (!done) {
    const Duration delay = long_poll_delay(rt, request->max_wait_ms);
    std::vector<DelayedFetch::Watched> watched;
    std::vector<std::string> keys;
    for (const auto& p : plan.partitions) {
      watched.push_back(DelayedFetch::Watched{TopicPartition{p.topic, p.request->partition}, p.visible_at_read,
                                              p.follower});
      keys.push_back(partition_key(p.topic, p.request->partition));
    }
    auto op = std::make_shared<DelayedFetch>(broker, delay, std::move(watched), total, request->min_bytes);
    if (!broker.fetch_purgatory().try_complete_else_watch(op, keys)) (void)op->wait();
    any_error = false;
    // Topics may have been deleted while waiting: look the logs up again.
    plan = plan_fetch(broker, *request);
    std::tie(response, total) = read_all(rt, plan, limits, any_error);
    note_follower_fetches(broker, *request, plan, response);
  }
  return std::optional(encode_response(ctx, response));
}

}  // namespace keel::server
