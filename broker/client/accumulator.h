#pragma once
// The producer's record accumulator (Kafka's RecordAccumulator), as pure logic over instants the
// caller passes in, so it can be tested on a simulated clock without a broker: records gather per
// partition into batches; a batch closes when the next record would take it past batch_bytes,
// and its partition becomes sendable when the batch is full, older than linger, followed by
// another batch, being flushed, or the producer is closing. A batch whose send failed goes back to
// the front of its queue (in creation order) and waits out its backoff. Queued batches older than
// the delivery timeout expire. Everything held is bounded by buffer_bytes.
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "broker/base/assert.h"
#include "broker/client/types.h"
#include "broker/platform/sync.h"
#include "broker/base/time.h"
#include "broker/protocol/record_batch.h"

namespace keel::client {

struct RecordMetadata {
  // Shared by the records of one batch, as Kafka's RecordMetadata shares its TopicPartition: a copy
  // per record allocated the topic name again for every record (a tenth of a producing client's CPU).
  std::shared_ptr<const TopicPartition> partition;
  std::int64_t offset = -1;  // -1 with acks=0
  std::int64_t timestamp_ms = -1;

  const TopicPartition& topic_partition() const {
    KEEL_ASSERT(partition != nullptr);
    return *partition;
  }
};

// The outcome of one send: completed once, waited for by any number of tasks.
class Delivery {
 public:
  bool done() const { return result_.has_value(); }
  // The outcome, by reference: a copy per record would allocate its topic name again.
  const Result<RecordMetadata>& wait();
  // Only the first outcome counts; `at` is when it arrived (the producer's clock).
  void complete(Result<RecordMetadata> result, Instant at);
  // The outcome; only when done().
  const Result<RecordMetadata>& result() const { return *result_; }
  // When the outcome arrived; meaningful once done().
  Instant completed_at() const { return completed_at_; }

 private:
  std::optional<Result<RecordMetadata>> result_;
  Instant completed_at_{};
  Event event_;
};

// Bytes of one record inside a v2 batch, estimated from above (varints at their widest).
std::size_t estimate_record_bytes(const std::optional<protocol::Bytes>& key, const std::optional<protocol::Bytes>& value,
                                  const std::vector<protocol::RecordHeader>& headers);

struct ProducerBatch {
  TopicPartition tp;
  std::uint64_t sequence = 0;  // creation order within the accumulator
  std::vector<protocol::Record> records;  // offsets 0..n-1 (deltas), absolute timestamps
  std::vector<std::shared_ptr<Delivery>> deliveries;
  std::size_t bytes = 0;  // estimated bytes of the encoded batch
  Instant created{};
  Instant retry_at{};
  int attempts = 0;       // sends that failed so far
  bool closed = false;    // takes no more records (full, or drained once)
  std::optional<protocol::Bytes> encoded;  // built at the first send; retries resend the same bytes
};
using BatchPtr = std::shared_ptr<ProducerBatch>;

struct AccumulatorConfig {
  std::int32_t batch_bytes = 16384;
  Duration linger = std::chrono::milliseconds(5);
  Duration delivery_timeout = std::chrono::seconds(120);
  std::int64_t buffer_bytes = 32 << 20;
};

class RecordAccumulator {
 public:
  explicit RecordAccumulator(AccumulatorConfig config);

  struct Appended {
    BatchPtr batch;               // the batch that took the record
    bool new_batch = false;       // it was opened for this record
    BatchPtr closed;              // the partition's previous open batch, closed because the record did not fit
  };
  // Appends a record (its offset field is set to its index in the batch).
  Appended append(const TopicPartition& tp, protocol::Record record, std::shared_ptr<Delivery> delivery,
                  std::size_t record_bytes, Instant now);
  // Whether `record_bytes` more fit in the buffer (one record always fits an empty buffer).
  bool has_room(std::size_t record_bytes) const;

  struct Ready {
    std::vector<TopicPartition> partitions;  // first batch sendable now, in partition order
    Instant next_ready = instant_max;        // when the first not-yet-ready batch becomes sendable
  };
  Ready ready(Instant now) const;
  // Removes and returns the first batch of `tp` (closing it); null when there is none.
  BatchPtr drain(const TopicPartition& tp);
  // Whether appending `record_bytes` to `tp` would open a new batch.
  bool would_open_batch(const TopicPartition& tp, std::size_t record_bytes) const;
  // Whether `tp` has a batch queued.
  bool has_queued(const TopicPartition& tp) const;
  std::optional<std::size_t> front_bytes(const TopicPartition& tp) const;
  // A batch whose send failed: back into its queue before every later-created batch, sendable
  // again at now + backoff.
  void reenqueue(BatchPtr batch, Instant now, Duration backoff);
  // When the oldest queued batch expires (instant_max when none is queued).
  Instant next_expiry() const;
  // Removes and returns the queued batches created at or before now - delivery_timeout.
  std::vector<BatchPtr> expire(Instant now);
  // Removes and returns every queued batch (the producer is being destroyed).
  std::vector<BatchPtr> drain_all();
  // A batch has its outcome: its bytes leave the buffer.
  void release(const ProducerBatch& batch);

  // While a flush is in progress every batch is sendable at once.
  void begin_flush() { ++flushes_; }
  void end_flush() {
    KEEL_ASSERT(flushes_ > 0);
    --flushes_;
  }
  void close() { closing_ = true; }

  std::size_t unfinished_batches() const { return unfinished_; }  // queued or in flight
  std::size_t queued_batches() const;
  std::int64_t buffered_bytes() const { return buffered_; }
  std::vector<std::string> queued_topics() const;

 private:
  bool sendable(const ProducerBatch& batch, std::size_t queue_size, Instant now) const;

  AccumulatorConfig config_;
  std::map<TopicPartition, std::deque<BatchPtr>> queues_;
  std::uint64_t next_sequence_ = 0;
  std::size_t unfinished_ = 0;
  std::int64_t buffered_ = 0;
  int flushes_ = 0;
  bool closing_ = false;
};

}  // namespace keel::client
