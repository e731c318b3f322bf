#include "broker/client/accumulator.h"

#include <algorithm>

namespace keel::client {
namespace {
// The most records a new batch reserves room for (small records in a large batch grow past it).
constexpr std::size_t records_reserved_max = 1024;
}  // namespace

const Result<RecordMetadata>& Delivery::wait() {
  while (!result_.has_value()) event_.wait();
  return *result_;
}

void Delivery::complete(Result<RecordMetadata> result, Instant at) {
  if (result_.has_value()) return;
  result_ = std::move(result);
  completed_at_ = at;
  event_.set();
}

std::size_t estimate_record_bytes(const std::optional<protocol::Bytes>& key, const std::optional<protocol::Bytes>& value,
                                  const std::vector<protocol::RecordHeader>& headers) {
  // length (varint, 5) + attributes (1) + timestamp delta (varlong, 10) + offset delta (varint, 5)
  // + key length (5) + value length (5) + header count (5), then the bytes themselves.
  constexpr std::size_t record_overhead_bytes = 36;
  constexpr std::size_t header_overhead_bytes = 10;  // two varint lengths
  std::size_t n = record_overhead_bytes + (key ? key->size() : 0) + (value ? value->size() : 0);
  for (const auto& h : headers) n += header_overhead_bytes + h.key.size() + (h.value ? h.value->size() : 0);
  return n;
}

RecordAccumulator::RecordAccumulator(AccumulatorConfig config) : config_(config) {
  KEEL_ASSERT(config_.batch_bytes > 0);
  KEEL_ASSERT(config_.buffer_bytes > 0);
  KEEL_ASSERT(config_.linger >= Duration{0});
}

RecordAccumulator::Appended RecordAccumulator::append(const TopicPartition& tp, protocol::Record record,
                                                      std::shared_ptr<Delivery> delivery, std::size_t record_bytes,
                                                      Instant now) {
  Appended out;
  auto& queue = queues_[tp];
  if (would_open_batch(tp, record_bytes)) {
    if (!queue.empty() && !queue.back()->closed) {
      queue.back()->closed = true;
      out.closed = queue.back();
    }
    auto batch = std::make_shared<ProducerBatch>();
    batch->tp = tp;
    batch->sequence = next_sequence_++;
    batch->created = now;
    batch->bytes = protocol::batch_header_bytes;
    // Room for as many records of this size as the batch takes, so that it is not regrown per record.
    const std::size_t expected = std::min<std::size_t>(records_reserved_max,
                                                       static_cast<std::size_t>(config_.batch_bytes) / std::max<std::size_t>(record_bytes, 1) + 1);
    batch->records.reserve(expected);
    batch->deliveries.reserve(expected);
    queue.push_back(batch);
    ++unfinished_;
    out.new_batch = true;
  }
  ProducerBatch& batch = *queue.back();
  record.offset = static_cast<std::int64_t>(batch.records.size());
  batch.records.push_back(std::move(record));
  batch.deliveries.push_back(std::move(delivery));
  batch.bytes += record_bytes;
  buffered_ += static_cast<std::int64_t>(record_bytes);
  out.batch = queue.back();
  return out;
}

bool RecordAccumulator::has_room(std::size_t record_bytes) const {
  return buffered_ == 0 || buffered_ + static_cast<std::int64_t>(record_bytes) <= config_.buffer_bytes;
}

bool RecordAccumulator::sendable(const ProducerBatch& batch, std::size_t queue_size, Instant now) const {
  if (now < batch.retry_at) return false;
  const bool full = batch.closed || batch.bytes >= static_cast<std::size_t>(config_.batch_bytes);
  return full || queue_size > 1 || flushes_ > 0 || closing_ || now >= batch.created + config_.linger;
}

RecordAccumulator::Ready RecordAccumulator::ready(Instant now) const {
  Ready out;
  for (const auto& [tp, queue] : queues_) {
    if (queue.empty()) continue;
    const ProducerBatch& front = *queue.front();
    if (sendable(front, queue.size(), now)) {
      out.partitions.push_back(tp);
      continue;
    }
    out.next_ready = std::min(out.next_ready, std::max(front.retry_at, front.created + config_.linger));
  }
  return out;
}

BatchPtr RecordAccumulator::drain(const TopicPartition& tp) {
  auto it = queues_.find(tp);
  if (it == queues_.end() || it->second.empty()) return nullptr;
  BatchPtr batch = std::move(it->second.front());
  it->second.pop_front();
  if (it->second.empty()) queues_.erase(it);
  batch->closed = true;
  return batch;
}

bool RecordAccumulator::would_open_batch(const TopicPartition& tp, std::size_t record_bytes) const {
  auto it = queues_.find(tp);
  if (it == queues_.end() || it->second.empty()) return true;
  const ProducerBatch& last = *it->second.back();
  return last.closed || last.bytes + record_bytes > static_cast<std::size_t>(config_.batch_bytes);
}

bool RecordAccumulator::has_queued(const TopicPartition& tp) const {
  auto it = queues_.find(tp);
  return it != queues_.end() && !it->second.empty();
}

std::optional<std::size_t> RecordAccumulator::front_bytes(const TopicPartition& tp) const {
  auto it = queues_.find(tp);
  if (it == queues_.end() || it->second.empty()) return std::nullopt;
  return it->second.front()->bytes;
}

void RecordAccumulator::reenqueue(BatchPtr batch, Instant now, Duration backoff) {
  batch->retry_at = now + backoff;
  auto& queue = queues_[batch->tp];
  auto at = std::find_if(queue.begin(), queue.end(), [&](const BatchPtr& b) { return b->sequence > batch->sequence; });
  queue.insert(at, std::move(batch));
}

// Each queue is in creation order (append pushes back; reenqueue keeps the sequence order), so its
// front is its oldest batch: expiry looks at the fronts only, not at every queued batch.
Instant RecordAccumulator::next_expiry() const {
  Instant out = instant_max;
  for (const auto& [tp, queue] : queues_) {
    if (!queue.empty()) out = std::min(out, queue.front()->created + config_.delivery_timeout);
  }
  return out;
}

std::vector<BatchPtr> RecordAccumulator::expire(Instant now) {
  std::vector<BatchPtr> out;
  for (auto it = queues_.begin(); it != queues_.end();) {
    auto& queue = it->second;
    while (!queue.empty() && now >= queue.front()->created + config_.delivery_timeout) {
      KEEL_ASSERT(queue.size() == 1 || queue[0]->sequence < queue[1]->sequence);
      out.push_back(std::move(queue.front()));
      queue.pop_front();
    }
    it = queue.empty() ? queues_.erase(it) : std::next(it);
  }
  return out;
}

std::vector<BatchPtr> RecordAccumulator::drain_all() {
  std::vector<BatchPtr> out;
  for (auto& [tp, queue] : queues_) {
    for (auto& b : queue) out.push_back(std::move(b));
  }
  queues_.clear();
  return out;
}

void RecordAccumulator::release(const ProducerBatch& batch) {
  KEEL_ASSERT(unfinished_ > 0);
  --unfinished_;
  buffered_ -= static_cast<std::int64_t>(batch.bytes - protocol::batch_header_bytes);
  KEEL_ASSERT_GE(buffered_, 0);
}

std::size_t RecordAccumulator::queued_batches() const {
  std::size_t n = 0;
  for (const auto& [tp, queue] : queues_) n += queue.size();
  return n;
}

std::vector<std::string> RecordAccumulator::queued_topics() const {
  std::vector<std::string> out;
  for (const auto& [tp, queue] : queues_) {
    if (!queue.empty() && (out.empty() || out.back() != tp.topic)) out.push_back(tp.topic);
  }
  return out;
}

}  // namespace keel::client
