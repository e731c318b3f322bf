// Fetch at the replica manager: read each partition from its fetch offset up to the high watermark
// (the log end, for a follower). When less than min_bytes is there, the request waits in the fetch
// purgatory until appends bring enough or max.wait passes (Kafka's long poll), then reads again.
#include <fmt/format.h>
#include "broker/base/coverage.h"

#include <algorithm>
#include <limits>

#include "broker/partition/replica_manager.h"
#include "broker/protocol/record_batch.h"

namespace keel::partition {

namespace {

// BUGGIFY fetch_small_bytes serves at most this much, however much the client asked for.
constexpr std::int32_t small_fetch_bytes_max = 4096;
// BUGGIFY fetch_wait_jitter makes a long poll late by at most this (and at most half its wait).
constexpr std::int64_t long_poll_late_ms_max = 1000;

FetchLimits fetch_limits(Runtime& rt, const FetchParams& params) {
  FetchLimits limits;
  limits.max_bytes = params.max_bytes;
  // BUGGIFY fetch_small_bytes: far fewer bytes than the client's limits allow, as a broker short
  // of memory, or one whose read stops at a segment end, serves. A read still returns one whole
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

// How long the fetch waits in the purgatory: its max wait, or (BUGGIFY fetch_wait_jitter) anywhere
// from nothing to half as long again (at most a second more), as a loaded broker's long poll ends
// early or late. A client must take an early empty answer and poll again, and its request timeout
// must allow for a late one.
Duration long_poll_delay(Runtime& rt, std::int32_t max_wait_ms) {
  if (!KEEL_BUGGIFY(rt, "fetch_wait_jitter")) return std::chrono::milliseconds(max_wait_ms);
  const std::int64_t late_max = std::min<std::int64_t>(max_wait_ms / 2, long_poll_late_ms_max);
  return std::chrono::milliseconds(rt.random().between(0, std::int64_t{max_wait_ms} + late_max));
}

// BUGGIFY fetch_partial_batch: the data ends with the first bytes of the next batch, as Kafka's
// does when its byte limit cuts through a batch (it sends the file's bytes up to the limit).
// Clients drop a partial batch at the end and fetch it whole next time. Only after a whole batch,
// only within `bytes_max`, and only bytes of a batch wholly below `max_offset`.
void append_partial_batch(Runtime& rt, storage::Log& log, protocol::Bytes& records, std::int32_t bytes_max,
                          std::int64_t max_offset) {
  const auto scan = protocol::scan_batches(records, false);
  const auto room = static_cast<std::int64_t>(bytes_max) - static_cast<std::int64_t>(records.size());
  if (scan.batches.empty() || room < 1) return;
  const std::int64_t next = scan.batches.back().second.last_offset() + 1;
  if (next >= max_offset) return;
  auto read = log.read(next, 1, max_offset, true);  // the next batch, whole
  if (!read || read->records.size() < 2) return;
  const auto cut = std::min<std::int64_t>(room, static_cast<std::int64_t>(read->records.size()) - 1);
  const auto bytes = static_cast<std::size_t>(rt.random().between(1, cut));
  records.insert(records.end(), read->records.begin(), read->records.begin() + static_cast<std::ptrdiff_t>(bytes));
}

ReplicaError error_for_read(const Error& error) {
  switch (error.code) {
    case Errc::invalid_argument: return ReplicaError::offset_out_of_range;
    case Errc::corrupt: return ReplicaError::corrupt_record;
    default: return ReplicaError::storage;
  }
}

}  // namespace

// Waits in the purgatory until min_bytes have become readable in the watched partitions since they
// were read (the high watermark passed them, not just an append), a follower's log grew, a
// partition changed role, or the delay passes.
class DelayedFetch final : public purgatory::DelayedOperation {
 public:
  struct Watched {
    std::shared_ptr<Partition> partition;
    std::uint64_t generation = 0;
    std::int64_t visible_at_read = 0;
  };
  DelayedFetch(Duration delay, std::vector<Watched> watched, bool follower, std::int64_t bytes_read,
               std::int64_t min_bytes)
      : DelayedOperation(delay), watched_(std::move(watched)), follower_(follower), bytes_read_(bytes_read),
        min_bytes_(min_bytes) {}

  // Counts bytes that became readable since the first read. Not the log's size: bytes appended but
  // not yet below the high watermark (an fsync or the replicas still to come) would count before
  // they can be served, and then never again once they can.
  bool try_complete() override {
    std::int64_t available = bytes_read_;
    for (const auto& w : watched_) {
      const Partition& p = *w.partition;
      if (p.generation() != w.generation) return force_complete();  // a new role or epoch: answer now
      if (follower_) {
        if (p.log_end_offset() > w.visible_at_read) return force_complete();
        continue;
      }
      available += std::max<std::int64_t>(0, p.log().visible_bytes_appended() - w.visible_at_read);
    }
    return available >= min_bytes_ && force_complete();
  }
  void on_complete() override {}

 private:
  std::vector<Watched> watched_;
  bool follower_;
  std::int64_t bytes_read_;
  std::int64_t min_bytes_;
};

// May this fetcher read the partition here, and how far? Only the leader serves, at the epoch the
// fetcher knows; a follower reads to the log end, a consumer to the high watermark.
PartitionRead ReplicaManager::plan_read(const FetchParams& params, const FetchPartitionParams& request) const {
  PartitionRead out;
  out.partition = find(request.tp);
  if (!out.partition) {
    out.refused = ReplicaError::unknown_partition;
    return out;
  }
  const Partition& p = *out.partition;
  out.refused = p.check_leader(request.current_leader_epoch);
  if (out.refused == ReplicaError::fenced_leader_epoch) KEEL_SOMETIMES("partition.fetch.refused_fenced_leader_epoch");
  if (out.refused != ReplicaError::none) return out;
  if (!params.follower() && !p.leader_ready_for_consumers()) {
    KEEL_SOMETIMES("partition.fetch.consumer_waits_for_new_leader_high_watermark");
    out.refused = ReplicaError::not_leader;
    return out;
  }
  out.max_offset = params.follower() ? p.log_end_offset() : p.high_watermark();
  if (params.follower() && request.last_fetched_epoch >= 0) {
    const EpochEndOffset mine = p.end_offset_for(request.last_fetched_epoch);
    if (mine.epoch < request.last_fetched_epoch || mine.end_offset < request.fetch_offset) {
      KEEL_SOMETIMES("partition.fetch.follower_diverged");
      out.diverging = mine;
    }
  }
  return out;
}

// Reads every planned partition within the request's max_bytes. As in Kafka, until some partition
// has returned data, a partition may return one whole batch above the limits, so a consumer never
// stalls on a batch larger than its limits.
void ReplicaManager::read(const FetchParams& params, const FetchLimits& limits, std::vector<PartitionRead>& plan,
                          FetchResult& out, std::int64_t& bytes) const {
  out.partitions.clear();
  bytes = 0;
  for (std::size_t i = 0; i < plan.size(); ++i) {
    PartitionRead& r = plan[i];
    FetchPartitionResult& result = out.partitions.emplace_back();
    if (r.refused != ReplicaError::none) {
      result.error = r.refused;
      continue;
    }
    storage::Log& log = r.partition->log();
    result.high_watermark = r.partition->high_watermark();
    result.log_start_offset = log.log_start_offset();
    if (r.diverging) {
      result.diverging = r.diverging;
      continue;
    }
    const std::int64_t offset = params.partitions[i].fetch_offset;
    // As Kafka: out of range only outside the log; a consumer ahead of the high watermark (a new
    // leader's lags the old one's for a moment) gets nothing yet.
    if (offset < log.log_start_offset() || offset > log.log_end_offset()) {
      KEEL_SOMETIMES("partition.fetch.offset_out_of_range");
      result.error = ReplicaError::offset_out_of_range;
      continue;
    }
    r.visible_at_read = params.follower() ? log.log_end_offset() : log.visible_bytes_appended();
    if (offset >= r.max_offset) continue;
    const std::int64_t budget = std::max<std::int64_t>(0, std::int64_t{limits.max_bytes} - bytes);
    const std::int32_t partition_max = std::min(params.partitions[i].max_bytes, limits.partition_max_bytes_cap);
    const auto bytes_max = static_cast<std::int32_t>(std::min<std::int64_t>(partition_max, budget));
    auto data = log.read(offset, bytes_max, r.max_offset, bytes == 0);
    if (!data) {
      result.error = error_for_read(data.error());
      continue;
    }
    if (limits.partial_tail) append_partial_batch(rt_, log, data->records, bytes_max, r.max_offset);
    bytes += static_cast<std::int64_t>(data->records.size());
    result.records = std::move(data->records);
  }
}

// A follower's fetch tells the leader how far its log reaches (Kafka updates the follower's state
// when it reads for it); a diverging or failed partition does not (KAFKA-13141).
void ReplicaManager::note_follower_fetches(const FetchParams& params, const FetchResult& result) {
  if (!params.follower()) return;
  for (std::size_t i = 0; i < params.partitions.size(); ++i) {
    const auto& r = result.partitions[i];
    if (r.error != ReplicaError::none || r.diverging) continue;
    auto p = find(params.partitions[i].tp);
    if (!p || p->role() != Role::leader) continue;
    if (p->leader_state()->follower(params.replica_id) == nullptr) continue;  // not a replica of it
    const std::int64_t hw_before = p->high_watermark();
    p->follower_fetched(params.replica_id, params.partitions[i].fetch_offset, -1, now_ms());
    if (params.partitions[i].log_start_offset >= 0) p->follower_log_start(params.replica_id, params.partitions[i].log_start_offset);
    if (p->high_watermark() != hw_before) wake_fetches(p->tp());
    maybe_propose_isr(p);  // a follower that caught up may rejoin the ISR now
  }
}

FetchResult ReplicaManager::fetch(const FetchParams& params) {
  const FetchLimits limits = fetch_limits(rt_, params);
  std::vector<PartitionRead> plan;
  for (const auto& request : params.partitions) plan.push_back(plan_read(params, request));
  FetchResult result;
  std::int64_t bytes = 0;
  read(params, limits, plan, result, bytes);
  note_follower_fetches(params, result);
  const bool any_error = std::any_of(result.partitions.begin(), result.partitions.end(), [](const auto& r) {
    return r.error != ReplicaError::none || r.diverging;
  });
  if (any_error || params.max_wait_ms <= 0 || bytes >= params.min_bytes || plan.empty()) return result;
  std::vector<DelayedFetch::Watched> watched;
  std::vector<std::string> keys;
  for (const auto& r : plan) {
    watched.push_back(DelayedFetch::Watched{r.partition, r.partition->generation(), r.visible_at_read});
    keys.push_back(r.partition->tp().to_string());
  }
  auto op = std::make_shared<DelayedFetch>(long_poll_delay(rt_, params.max_wait_ms), std::move(watched),
                                           params.follower(), bytes, params.min_bytes);
  if (!fetch_purgatory_->try_complete_else_watch(op, keys)) (void)op->wait();
  // Partitions may have changed role or gone while waiting: plan again.
  plan.clear();
  for (const auto& request : params.partitions) plan.push_back(plan_read(params, request));
  read(params, limits, plan, result, bytes);
  note_follower_fetches(params, result);
  return result;
}

}  // namespace keel::partition
