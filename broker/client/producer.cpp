#include "broker/client/producer.h"

#include <fmt/format.h>

#include "broker/protocol/errors.h"

namespace keel::client {
namespace {

using protocol::ErrorCode;

// Errors after which the same batch may succeed later: leadership moved, the topic is still being
// created, the broker was busy or unreachable.
bool retriable(ErrorCode code) {
  switch (code) {
    case ErrorCode::unknown_topic_or_partition:
    case ErrorCode::leader_not_available:
    case ErrorCode::not_leader_or_follower:
    case ErrorCode::request_timed_out:
    case ErrorCode::network_exception:
    case ErrorCode::not_enough_replicas:
    case ErrorCode::not_enough_replicas_after_append:
    case ErrorCode::kafka_storage_error:
      return true;
    default:
      return false;
  }
}

std::size_t record_bytes(const ProducerRecord& r) {
  std::size_t n = 24 + (r.key ? r.key->size() : 0) + (r.value ? r.value->size() : 0);
  for (const auto& h : r.headers) n += 8 + h.key.size() + (h.value ? h.value->size() : 0);
  return n;
}

}  // namespace

Result<RecordMetadata> Delivery::wait() {
  while (!result_.has_value()) event_.wait();
  return *result_;
}

void Delivery::complete(Result<RecordMetadata> result, Instant at) {
  if (result_.has_value()) return;
  result_ = std::move(result);
  completed_at_ = at;
  event_.set();
}

Producer::Producer(Runtime& rt, ProducerConfig config)
    : rt_(rt), config_(std::move(config)), cluster_(rt, config_.bootstrap_servers, config_.client_id, config_.request_timeout) {
  KEEL_ASSERT(config_.acks == 0 || config_.acks == 1 || config_.acks == -1);
  KEEL_ASSERT(config_.max_in_flight_per_connection > 0 && config_.batch_bytes > 0);
  sender_ = rt_.spawn(fmt::format("{}-sender", config_.client_id), [this] { sender_loop(); });
}

Producer::~Producer() {
  auto& executor = rt_.executor();
  const auto self = Executor::current_task();
  for (auto task : request_tasks_) {
    if (task.id != self.id && executor.alive(task)) executor.cancel(task);
  }
  if (sender_.id != self.id && executor.alive(sender_)) executor.cancel(sender_);
  for (auto& [tp, queue] : queues_) {
    for (auto& batch : queue) {
      for (auto& d : batch->deliveries) d->complete(make_error(Errc::cancelled, "producer destroyed"), rt_.now());
    }
  }
}

Result<std::int32_t> Producer::choose_partition(const ProducerRecord& record) {
  const Instant deadline = rt_.now() + config_.delivery_timeout;
  std::optional<std::int32_t> count = cluster_.partitions(record.topic);
  while (!count) {
    auto st = cluster_.refresh({record.topic});
    count = cluster_.partitions(record.topic);
    if (count) break;
    if (rt_.now() >= deadline) {
      return make_error(Errc::timed_out, fmt::format("topic {}: no metadata within the delivery timeout{}", record.topic,
                                                     st ? "" : ": " + st.error().message));
    }
    rt_.sleep_for(config_.retry_backoff);
  }
  if (record.partition) {
    if (*record.partition < 0 || *record.partition >= *count) {
      return make_error(Errc::invalid_argument, fmt::format("topic {} has {} partitions; {} is not one", record.topic,
                                                            *count, *record.partition));
    }
    return *record.partition;
  }
  if (record.key) return partition_for_key(*record.key, *count);
  auto it = sticky_.find(record.topic);
  if (it == sticky_.end()) {
    it = sticky_.emplace(record.topic, static_cast<std::int32_t>(rt_.random().below(static_cast<std::uint64_t>(*count)))).first;
  }
  return it->second;
}

std::shared_ptr<Delivery> Producer::send(ProducerRecord record) {
  auto delivery = std::make_shared<Delivery>();
  if (closed_) {
    delivery->complete(make_error(Errc::closed, "the producer is closed"), rt_.now());
    return delivery;
  }
  auto partition = choose_partition(record);
  if (!partition) {
    delivery->complete(partition.error(), rt_.now());
    return delivery;
  }
  const std::size_t bytes = record_bytes(record);
  while (buffered_bytes_ > 0 && buffered_bytes_ + static_cast<std::int64_t>(bytes) > config_.buffer_bytes) space_.wait();
  const TopicPartition tp{record.topic, *partition};
  auto& queue = queues_[tp];
  if (queue.empty() || queue.back()->bytes + bytes > static_cast<std::size_t>(config_.batch_bytes) ||
      queue.back()->attempts > 0) {
    auto batch = std::make_shared<Batch>();
    batch->tp = tp;
    batch->created = rt_.now();
    queue.push_back(batch);
    ++unfinished_batches_;
    if (!record.key && !record.partition && queue.size() > 1) sticky_.erase(record.topic);  // next batch elsewhere
  }
  Batch& batch = *queue.back();
  protocol::Record r;
  r.offset = static_cast<std::int64_t>(batch.records.size());
  r.timestamp = record.timestamp_ms >= 0 ? record.timestamp_ms : to_ms(rt_.wall_now().time_since_epoch());
  r.key = std::move(record.key);
  r.value = std::move(record.value);
  r.headers = std::move(record.headers);
  batch.records.push_back(std::move(r));
  batch.deliveries.push_back(delivery);
  batch.bytes += bytes;
  buffered_bytes_ += static_cast<std::int64_t>(bytes);
  if (batch.records.size() == 1 || batch.bytes >= static_cast<std::size_t>(config_.batch_bytes)) wake_.set();
  return delivery;
}

Result<RecordMetadata> Producer::send_and_wait(ProducerRecord record) { return send(std::move(record))->wait(); }

Status Producer::flush() {
  flushing_ = true;
  wake_.set();
  while (unfinished_batches_ > 0) idle_.wait();
  flushing_ = false;
  return {};
}

void Producer::close() {
  if (closed_) return;
  (void)flush();
  closed_ = true;
  wake_.set();
}

bool Producer::batch_ready(const Batch& batch, Instant now) const {
  if (now < batch.retry_at) return false;
  return batch.bytes >= static_cast<std::size_t>(config_.batch_bytes) || now >= batch.created + config_.linger ||
         flushing_ || closed_ || queues_.at(batch.tp).size() > 1;
}

void Producer::sender_loop() {
  while (!(closed_ && unfinished_batches_ == 0)) {
    wake_.reset();
    Instant next_wake = instant_max;
    const bool refresh_needed = send_ready(rt_.now(), next_wake);
    if (refresh_needed) {
      std::vector<std::string> topics;
      for (const auto& [tp, queue] : queues_) {
        if (!queue.empty() && (topics.empty() || topics.back() != tp.topic)) topics.push_back(tp.topic);
      }
      (void)cluster_.refresh(topics);
      next_wake = std::min(next_wake, rt_.now() + config_.retry_backoff);
    }
    (void)wake_.wait(next_wake);
  }
}

// Sends every ready batch whose leader has room for another request. Returns whether some leader
// is unknown (the caller refreshes metadata).
bool Producer::send_ready(Instant now, Instant& next_wake) {
  bool refresh_needed = false;
  std::map<std::int32_t, std::vector<BatchPtr>> by_node;
  for (auto& [tp, queue] : queues_) {
    if (queue.empty()) continue;
    const BatchPtr& front = queue.front();
    if (!batch_ready(*front, now)) {
      next_wake = std::min(next_wake, std::max(front->retry_at, front->created + config_.linger));
      continue;
    }
    const auto leader = cluster_.leader(tp);
    if (!leader) {
      refresh_needed = true;
      continue;
    }
    if (in_flight_[*leader] + (by_node.contains(*leader) ? 1 : 0) > config_.max_in_flight_per_connection - 1) continue;
    by_node[*leader].push_back(front);
    queue.pop_front();
  }
  for (auto& [node, batches] : by_node) {
    ++in_flight_[node];
    std::erase_if(request_tasks_, [&](TaskRef t) { return !rt_.executor().alive(t); });
    request_tasks_.push_back(rt_.spawn(fmt::format("{}-produce", config_.client_id),
                                       [this, node = node, batches = std::move(batches)]() mutable {
                                         send_request(node, std::move(batches));
                                       }));
  }
  return refresh_needed;
}

void Producer::send_request(std::int32_t node, std::vector<BatchPtr> batches) {
  const auto done = [&] {
    --in_flight_[node];
    wake_.set();
  };
  auto connection = cluster_.connection(node);
  const auto version = connection ? (*connection)->version_for(protocol::ApiKey::produce, 8) : std::nullopt;
  if (!connection || !version) {
    const Error error = connection ? Error{Errc::refused, "the broker serves no Produce version this client speaks"}
                                   : connection.error();
    for (const auto& b : batches) retry_or_fail(b, error);
    return done();
  }
  protocol::ProduceRequest request;
  request.acks = config_.acks;
  request.timeout_ms = static_cast<std::int32_t>(to_ms(config_.request_timeout));
  for (const auto& b : batches) {
    protocol::BatchOptions options;
    options.compression = config_.compression;
    if (request.topic_data.empty() || request.topic_data.back().name != b->tp.topic) {
      protocol::ProduceRequest::TopicProduceData t;
      t.name = b->tp.topic;
      request.topic_data.push_back(std::move(t));
    }
    protocol::ProduceRequest::PartitionProduceData p;
    p.index = b->tp.partition;
    p.records = protocol::build_batch(options, b->records);
    request.topic_data.back().partition_data.push_back(std::move(p));
  }
  ++requests_sent_;
  if (config_.acks == 0) {
    const auto st = (*connection)->send_only(request, *version);
    for (const auto& b : batches) {
      if (st) finish(b, RecordMetadata{}, -1);
      else retry_or_fail(b, st.error());
    }
    return done();
  }
  auto response = (*connection)->call<protocol::ProduceResponse>(request, *version);
  if (!response) {
    for (const auto& b : batches) retry_or_fail(b, response.error());
    return done();
  }
  std::map<TopicPartition, const protocol::ProduceResponse::PartitionProduceResponse*> results;
  for (const auto& t : response->responses) {
    for (const auto& p : t.partition_responses) results[TopicPartition{t.name, p.index}] = &p;
  }
  for (const auto& b : batches) {
    auto it = results.find(b->tp);
    if (it == results.end()) {
      retry_or_fail(b, Error{Errc::corrupt, "the produce response left out a partition"});
      continue;
    }
    const auto code = static_cast<ErrorCode>(it->second->error_code);
    if (code == ErrorCode::none) {
      finish(b, RecordMetadata{}, it->second->base_offset);
    } else if (retriable(code)) {
      retry_or_fail(b, Error{Errc::refused, std::string(protocol::error_name(code))});
    } else {
      const Error error{Errc::refused, fmt::format("{}: {}", protocol::error_name(code), it->second->error_message.value_or(""))};
      for (const auto& d : b->deliveries) d->complete(error, rt_.now());
      batch_done(b);
    }
  }
  done();
}

void Producer::finish(const BatchPtr& batch, Result<RecordMetadata>, std::int64_t base_offset) {
  for (std::size_t i = 0; i < batch->deliveries.size(); ++i) {
    RecordMetadata md;
    md.topic_partition = batch->tp;
    md.offset = base_offset < 0 ? -1 : base_offset + static_cast<std::int64_t>(i);
    md.timestamp_ms = batch->records[i].timestamp;
    batch->deliveries[i]->complete(md, rt_.now());
  }
  batch_done(batch);
}

void Producer::retry_or_fail(const BatchPtr& batch, const Error& error) {
  const Instant now = rt_.now();
  if (batch->attempts >= config_.retries || now >= batch->created + config_.delivery_timeout) {
    const Error final_error{now >= batch->created + config_.delivery_timeout ? Errc::timed_out : error.code,
                            fmt::format("{}-{}: gave up after {} attempts: {}", batch->tp.topic, batch->tp.partition,
                                        batch->attempts + 1, error.message)};
    for (const auto& d : batch->deliveries) d->complete(final_error, rt_.now());
    batch_done(batch);
    return;
  }
  ++batch->attempts;
  ++retries_;
  batch->retry_at = now + config_.retry_backoff;
  queues_[batch->tp].push_front(batch);
  wake_.set();
}

void Producer::batch_done(const BatchPtr& batch) {
  buffered_bytes_ -= static_cast<std::int64_t>(batch->bytes);
  --unfinished_batches_;
  space_.notify_all();
  if (unfinished_batches_ == 0) idle_.notify_all();
}

}  // namespace keel::client
