#include "broker/client/producer.h"

#include <fmt/format.h>

#include "broker/base/assert.h"
#include "broker/protocol/errors.h"

namespace keel::client {
namespace {

using protocol::ErrorCode;

// The newest Produce version this client writes (v8: per-record errors; v9 is flexible).
constexpr std::int16_t produce_version_max = 8;

// Errors after which the same batch may succeed later: leadership moved, the topic is still being
// created, the broker was busy, its disk failed over, or the data was damaged on the way.
bool retriable(ErrorCode code) {
  switch (code) {
    case ErrorCode::corrupt_message:
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

// Errors that say the metadata is stale: the leader is elsewhere or the partition moved.
bool needs_metadata(ErrorCode code) {
  return code == ErrorCode::unknown_topic_or_partition || code == ErrorCode::leader_not_available ||
         code == ErrorCode::not_leader_or_follower || code == ErrorCode::kafka_storage_error;
}

AccumulatorConfig accumulator_config(const ProducerConfig& c) {
  AccumulatorConfig a;
  a.batch_bytes = c.batch_bytes;
  a.linger = c.linger;
  a.delivery_timeout = c.delivery_timeout;
  a.buffer_bytes = c.buffer_bytes;
  return a;
}

}  // namespace

Producer::Producer(Runtime& rt, ProducerConfig config)
    : rt_(rt),
      config_(std::move(config)),
      cluster_(rt, config_.bootstrap_servers, config_.client_id, config_.request_timeout),
      accumulator_(accumulator_config(config_)) {
  KEEL_ASSERT(config_.acks == 0 || config_.acks == 1 || config_.acks == -1);
  KEEL_ASSERT(config_.max_in_flight_per_connection > 0 && config_.batch_bytes > 0 && config_.retries >= 0);
  KEEL_ASSERT(config_.request_bytes_max > static_cast<std::int32_t>(protocol::batch_header_bytes));
  spawn("sender", [this] { sender_loop(); });
  spawn("metadata", [this] { metadata_loop(); });
}

Producer::~Producer() {
  auto& executor = rt_.executor();
  const auto self = Executor::current_task();
  for (auto task : tasks_) {
    if (task.id != self.id && executor.alive(task)) executor.cancel(task);
  }
  // Whatever has no outcome yet never will: queued batches and those the cancelled tasks held.
  for (auto& batch : accumulator_.drain_all()) {
    for (auto& d : batch->deliveries) d->complete(make_error(Errc::cancelled, "producer destroyed"), rt_.now());
  }
  for (auto& [sequence, batch] : in_flight_batches_) {
    for (auto& d : batch->deliveries) d->complete(make_error(Errc::cancelled, "producer destroyed"), rt_.now());
  }
}

void Producer::spawn(std::string name, std::function<void()> fn) {
  std::erase_if(tasks_, [&](TaskRef t) { return !rt_.executor().alive(t); });
  tasks_.push_back(rt_.spawn(fmt::format("{}-{}", config_.client_id, name), std::move(fn)));
}

// ---- send ----

Result<std::int32_t> Producer::partition_count(const std::string& topic, Instant deadline) {
  topics_.insert(topic);
  while (true) {
    if (auto count = cluster_.partitions(topic)) return *count;
    if (rt_.now() >= deadline) {
      return make_error(Errc::timed_out, fmt::format("topic {}: no metadata within {}", topic,
                                                     format_duration(config_.delivery_timeout)));
    }
    request_metadata();
    ++metadata_waiters_;
    (void)metadata_updated_.wait(deadline);
    --metadata_waiters_;
    if (closed_) return make_error(Errc::closed, "the producer is closed");
  }
}

Result<std::int32_t> Producer::choose_partition(const ProducerRecord& record, std::size_t record_bytes,
                                                Instant deadline) {
  auto count = partition_count(record.topic, deadline);
  if (!count) return count.error();
  // A partition the metadata does not show yet (just created): ask again until it does, within the
  // delivery timeout, as Kafka's producer waits for it within max.block.ms.
  while (record.partition && *record.partition >= *count && rt_.now() < deadline && !closed_) {
    request_metadata();
    ++metadata_waiters_;
    (void)metadata_updated_.wait(deadline);
    --metadata_waiters_;
    count = partition_count(record.topic, deadline);
    if (!count) return count.error();
  }
  if (record.partition) {
    if (*record.partition < 0 || *record.partition >= *count) {
      return make_error(Errc::invalid_argument, fmt::format("topic {} has {} partitions; {} is not one", record.topic,
                                                            *count, *record.partition));
    }
    return *record.partition;
  }
  if (record.key) return partition_for_key(*record.key, *count);
  const std::int32_t sticky = sticky_.partition(record.topic, *count, rt_.random());
  if (!accumulator_.would_open_batch(TopicPartition{record.topic, sticky}, record_bytes)) return sticky;
  return sticky_.on_new_batch(record.topic, *count, rt_.random());
}

std::shared_ptr<Delivery> Producer::send(ProducerRecord record) {
  auto delivery = std::make_shared<Delivery>();
  if (closed_) {
    delivery->complete(make_error(Errc::closed, "the producer is closed"), rt_.now());
    return delivery;
  }
  const std::size_t bytes = estimate_record_bytes(record.key, record.value, record.headers);
  if (bytes + protocol::batch_header_bytes > static_cast<std::size_t>(config_.request_bytes_max) ||
      static_cast<std::int64_t>(bytes) > config_.buffer_bytes) {
    delivery->complete(kafka_error(ErrorCode::message_too_large,
                                   fmt::format("a record of about {} bytes is above max.request.size {} or buffer.memory {}",
                                               bytes, config_.request_bytes_max, config_.buffer_bytes)),
                       rt_.now());
    return delivery;
  }
  Instant now = rt_.now();  // read once: a clock read costs as much as the rest of a send
  const Instant deadline = now + config_.delivery_timeout;
  while (!accumulator_.has_room(bytes)) {
    const bool woken = space_.wait(deadline);
    now = rt_.now();
    if (!woken && now >= deadline) {
      delivery->complete(make_error(Errc::timed_out, "buffer.memory stayed full for the delivery timeout"), now);
      return delivery;
    }
  }
  // Choosing the partition waits only for metadata the client does not have yet.
  const bool may_wait = record.partition.has_value() || !cluster_.partitions(record.topic).has_value();
  auto partition = choose_partition(record, bytes, deadline);
  if (!partition) {
    delivery->complete(partition.error(), rt_.now());
    return delivery;
  }
  if (may_wait) now = rt_.now();
  protocol::Record r;
  r.timestamp = record.no_timestamp ? -1 : record.timestamp_ms >= 0 ? record.timestamp_ms : to_unix_ms(rt_.wall_now());
  r.key = std::move(record.key);
  r.value = std::move(record.value);
  r.headers = std::move(record.headers);
  const auto appended =
      accumulator_.append(TopicPartition{std::move(record.topic), *partition}, std::move(r), delivery, bytes, now);
  // The sender cares about a first record (linger starts) and a batch that filled up.
  if (appended.new_batch || appended.batch->bytes >= static_cast<std::size_t>(config_.batch_bytes)) wake_.set();
  // A batch just closed: let the sender put it on the wire now, while the caller goes on sending,
  // rather than after the caller has filled the whole buffer (as Kafka's sender thread would).
  if (appended.closed && Executor::current() == &rt_.executor()) rt_.executor().yield();
  return delivery;
}

Result<RecordMetadata> Producer::send_and_wait(ProducerRecord record) { return send(std::move(record))->wait(); }

Status Producer::flush() {
  accumulator_.begin_flush();
  wake_.set();
  while (accumulator_.unfinished_batches() > 0) idle_.wait();
  accumulator_.end_flush();
  return {};
}

void Producer::close() {
  if (closed_) return;
  (void)flush();
  closed_ = true;
  accumulator_.close();
  metadata_updated_.notify_all();
  for (auto& [node, sender] : senders_) {
    sender->outbox->close();
    sender->awaiting->close();
  }
  wake_.set();
  metadata_wanted_.set();
}

// ---- the sender ----

void Producer::sender_loop() {
  while (!closed_) {
    wake_.reset();
    Instant next_wake = instant_max;
    for (const auto& batch : accumulator_.expire(rt_.now())) {
      ++batches_expired_;
      fail(batch, make_error(Errc::timed_out,
                             fmt::format("{}-{}: {} records expired after {} in the producer (delivery timeout)",
                                         batch->tp.topic, batch->tp.partition, batch->records.size(),
                                         format_duration(rt_.now() - batch->created))));
    }
    if (send_ready(rt_.now(), next_wake)) continue;  // sent something: look again before waiting
    (void)wake_.wait(next_wake);
  }
}

// Hands every ready batch whose leader has room for another request to that leader's writer, one
// request per leader per pass. Returns whether anything was handed over.
bool Producer::send_ready(Instant now, Instant& next_wake) {
  const auto ready = accumulator_.ready(now);
  next_wake = std::min(ready.next_ready, accumulator_.next_expiry());
  bool leader_unknown = false;
  std::map<std::int32_t, std::vector<BatchPtr>> requests;
  std::map<std::int32_t, std::size_t> request_bytes;
  for (const auto& tp : ready.partitions) {
    const auto leader = cluster_.leader(tp);
    if (!leader) {
      leader_unknown = true;
      continue;
    }
    NodeSender& sender = node_sender(*leader);
    if (sender.in_flight >= config_.max_in_flight_per_connection) continue;
    if (guarantees_order() && muted_.contains(tp)) continue;
    const std::size_t bytes = *accumulator_.front_bytes(tp);
    std::size_t& total = request_bytes[*leader];
    if (total > 0 && total + bytes > static_cast<std::size_t>(config_.request_bytes_max)) {
      next_wake = now;  // the next request takes it
      continue;
    }
    total += bytes;
    BatchPtr batch = accumulator_.drain(tp);
    in_flight_batches_.emplace(batch->sequence, batch);
    if (guarantees_order()) muted_.insert(tp);
    requests[*leader].push_back(std::move(batch));
  }
  if (leader_unknown) {
    request_metadata();
    next_wake = std::min(next_wake, now + config_.retry_backoff);
  }
  for (auto& [node, batches] : requests) {
    NodeSender& sender = node_sender(node);
    ++sender.in_flight;
    const bool queued = sender.outbox->try_send(std::move(batches));
    KEEL_ASSERT_MSG(queued, "the outbox of broker {} holds at most max_in_flight requests", node);
  }
  return !requests.empty();
}

Producer::NodeSender& Producer::node_sender(std::int32_t node) {
  auto& slot = senders_[node];
  if (!slot) {
    slot = std::make_unique<NodeSender>();
    slot->node = node;
    const auto capacity = static_cast<std::size_t>(config_.max_in_flight_per_connection);
    slot->outbox = std::make_unique<Channel<std::vector<BatchPtr>>>(capacity);
    slot->awaiting = std::make_unique<Channel<InFlight>>(capacity);
    NodeSender* sender = slot.get();
    spawn(fmt::format("writer-{}", node), [this, sender] { writer_loop(*sender); });
    spawn(fmt::format("completer-{}", node), [this, sender] { completer_loop(*sender); });
  }
  return *slot;
}

Result<protocol::ProduceRequest> Producer::build_request(const std::vector<BatchPtr>& batches) {
  protocol::ProduceRequest request;
  request.acks = config_.acks;
  request.timeout_ms = static_cast<std::int32_t>(to_ms(config_.request_timeout));
  for (const auto& b : batches) {
    if (!b->encoded) {
      protocol::BatchOptions options;
      options.compression = config_.compression;
      b->encoded = protocol::build_batch(options, b->records);
      auto header = protocol::parse_batch_header(*b->encoded);
      KEEL_ASSERT(header.ok());
      if (config_.zero_max_timestamp_without_timestamps && header->max_timestamp == -1) {
        protocol::set_create_time_max_timestamp(*b->encoded, 0);
      }
    }
    auto topic = std::find_if(request.topic_data.begin(), request.topic_data.end(),
                              [&](const auto& t) { return t.name == b->tp.topic; });
    if (topic == request.topic_data.end()) {
      protocol::ProduceRequest::TopicProduceData t;
      t.name = b->tp.topic;
      request.topic_data.push_back(std::move(t));
      topic = std::prev(request.topic_data.end());
    }
    protocol::ProduceRequest::PartitionProduceData p;
    p.index = b->tp.partition;
    p.records = std::move(b->encoded);  // lent to the request, given back by return_batches
    topic->partition_data.push_back(std::move(p));
  }
  return request;
}

// The encoded batches a request borrowed while it was written go back to their batches, which a
// retry sends again. A request holds one batch per partition.
void Producer::return_batches(protocol::ProduceRequest& request, const std::vector<BatchPtr>& batches) {
  for (const auto& b : batches) {
    auto topic = std::find_if(request.topic_data.begin(), request.topic_data.end(),
                              [&](const auto& t) { return t.name == b->tp.topic; });
    KEEL_ASSERT(topic != request.topic_data.end());
    auto p = std::find_if(topic->partition_data.begin(), topic->partition_data.end(),
                          [&](const auto& d) { return d.index == b->tp.partition; });
    KEEL_ASSERT(p != topic->partition_data.end() && p->records.has_value());
    b->encoded = std::move(p->records);
    p->records.reset();
  }
}

// An upper bound of the request's encoded body, so that it is encoded into one allocation.
std::size_t Producer::request_bytes(const protocol::ProduceRequest& request) {
  constexpr std::size_t fixed_bytes = 64;          // acks, timeout, transactional id, array lengths
  constexpr std::size_t per_partition_bytes = 16;  // index and records length
  std::size_t n = fixed_bytes;
  for (const auto& topic : request.topic_data) {
    n += topic.name.size() + per_partition_bytes;
    for (const auto& p : topic.partition_data) n += per_partition_bytes + (p.records ? p.records->size() : 0);
  }
  return n;
}

void Producer::writer_loop(NodeSender& sender) {
  while (auto batches = sender.outbox->recv()) {
    auto connection = cluster_.connection(sender.node);
    const auto version = connection ? (*connection)->version_for(protocol::ApiKey::produce, produce_version_max)
                                    : std::nullopt;
    if (!connection || !version) {
      const Error error = connection ? make_error(Errc::refused, "the broker serves no Produce version this client speaks")
                                     : connection.error();
      for (const auto& b : *batches) retry_or_fail(b, error);
      request_metadata();
      request_done(sender);
      continue;
    }
    auto request = build_request(*batches);
    ++requests_sent_;
    const std::size_t body_bytes = request_bytes(*request);
    if (config_.acks == 0) {
      auto sent = (*connection)->start_encoded(*request, *version, body_bytes, false);
      return_batches(*request, *batches);
      const Status st = sent ? Status{} : Status{sent.error()};
      for (const auto& b : *batches) {
        if (st) finish(b, -1, -1);
        else retry_or_fail(b, st.error());
      }
      request_done(sender);
      continue;
    }
    auto pending = (*connection)->start_encoded(*request, *version, body_bytes, true);
    return_batches(*request, *batches);
    if (!pending) {
      for (const auto& b : *batches) retry_or_fail(b, pending.error());
      request_metadata();
      request_done(sender);
      continue;
    }
    InFlight in_flight;
    in_flight.batches = std::move(*batches);
    in_flight.connection = *connection;
    in_flight.pending = *pending;
    in_flight.version = *version;
    const bool queued = sender.awaiting->try_send(std::move(in_flight));
    KEEL_ASSERT_MSG(queued, "broker {}: more than max_in_flight requests await responses", sender.node);
  }
}

void Producer::completer_loop(NodeSender& sender) {
  while (auto in_flight = sender.awaiting->recv()) {
    auto response = in_flight->connection->await_response<protocol::ProduceResponse>(in_flight->pending, in_flight->version);
    handle_response(*in_flight, std::move(response));
    request_done(sender);
  }
}

void Producer::handle_response(const InFlight& request, Result<protocol::ProduceResponse> response) {
  if (!response) {
    for (const auto& b : request.batches) retry_or_fail(b, response.error());
    request_metadata();  // the connection broke: the broker may be gone, or no longer the leader
    return;
  }
  std::map<TopicPartition, const protocol::ProduceResponse::PartitionProduceResponse*> results;
  for (const auto& t : response->responses) {
    for (const auto& p : t.partition_responses) results[TopicPartition{t.name, p.index}] = &p;
  }
  for (const auto& b : request.batches) {
    auto it = results.find(b->tp);
    if (it == results.end()) {
      retry_or_fail(b, make_error(Errc::corrupt, "the produce response left out a partition"));
      continue;
    }
    const auto& p = *it->second;
    const auto code = static_cast<ErrorCode>(p.error_code);
    if (code == ErrorCode::none) {
      finish(b, p.base_offset, p.log_append_time_ms);
      continue;
    }
    const Error error = kafka_error(code, p.error_message.value_or(""));
    if (needs_metadata(code)) {
      cluster_.invalidate(b->tp);
      request_metadata();
    }
    if (retriable(code)) retry_or_fail(b, error);
    else fail(b, error);
  }
}

void Producer::request_done(NodeSender& sender) {
  KEEL_ASSERT(sender.in_flight > 0);
  --sender.in_flight;
  wake_.set();
}

// ---- outcomes ----

void Producer::finish(const BatchPtr& batch, std::int64_t base_offset, std::int64_t log_append_time_ms) {
  // One clock read and one copy of the partition per batch; each record's metadata is built once,
  // straight into its outcome.
  const Instant now = rt_.now();
  const auto partition = std::make_shared<const TopicPartition>(batch->tp);
  for (std::size_t i = 0; i < batch->deliveries.size(); ++i) {
    const std::int64_t offset = base_offset < 0 ? -1 : base_offset + static_cast<std::int64_t>(i);
    const std::int64_t timestamp = log_append_time_ms >= 0 ? log_append_time_ms : batch->records[i].timestamp;
    batch->deliveries[i]->complete(RecordMetadata{partition, offset, timestamp}, now);
  }
  settled(batch);
  accumulator_.release(*batch);
  batch_released();
}

void Producer::fail(const BatchPtr& batch, const Error& error) {
  for (const auto& d : batch->deliveries) d->complete(error, rt_.now());
  settled(batch);
  accumulator_.release(*batch);
  batch_released();
}

void Producer::retry_or_fail(const BatchPtr& batch, const Error& error) {
  const Instant now = rt_.now();
  const bool expired = now >= batch->created + config_.delivery_timeout;
  if (closed_ || expired || batch->attempts >= config_.retries) {
    fail(batch, Error{expired ? Errc::timed_out : error.code,
                      fmt::format("{}-{}: gave up after {} attempts{}: {}", batch->tp.topic, batch->tp.partition,
                                  batch->attempts + 1, expired ? " (delivery timeout)" : "", error.message)});
    return;
  }
  ++batch->attempts;
  ++retries_;
  settled(batch);
  accumulator_.reenqueue(batch, now, config_.retry_backoff);
  wake_.set();
}

void Producer::settled(const BatchPtr& batch) {
  if (in_flight_batches_.erase(batch->sequence) == 0) return;  // expired before it was sent
  muted_.erase(batch->tp);
  KEEL_ASSERT(!muted_.contains(batch->tp));
}

void Producer::batch_released() {
  space_.notify_all();
  if (accumulator_.unfinished_batches() == 0) idle_.notify_all();
}

// ---- metadata ----

void Producer::request_metadata() { metadata_wanted_.set(); }

void Producer::metadata_loop() {
  Instant last_refresh{};
  bool refreshed_once = false;
  while (!closed_) {
    (void)metadata_wanted_.wait();
    if (closed_) return;
    // At most one refresh per retry_backoff (Kafka's retry.backoff.ms for metadata).
    if (refreshed_once && rt_.now() < last_refresh + config_.retry_backoff) rt_.sleep_until(last_refresh + config_.retry_backoff);
    metadata_wanted_.reset();
    const std::vector<std::string> topics(topics_.begin(), topics_.end());
    const Status st = cluster_.refresh(topics);
    last_refresh = rt_.now();
    refreshed_once = true;
    ++metadata_refreshes_;
    metadata_updated_.notify_all();
    wake_.set();
    // A failed refresh is tried again while something still needs it.
    if (!st && (accumulator_.queued_batches() > 0 || metadata_waiters_ > 0)) metadata_wanted_.set();
  }
}

}  // namespace keel::client
