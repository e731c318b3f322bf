#pragma once
// A Kafka producer over the seam: records are partitioned (the key's murmur2, as the Java client,
// or a sticky partition for records without a key), gathered per partition into batches that close
// at batch_bytes or after linger, and sent by a sender task with at most max_in_flight requests per
// broker. Failed sends are retried with backoff until delivery_timeout; without idempotence a retry
// may duplicate or reorder records, as in Kafka. acks=0 sends expect no response.
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "broker/client/cluster.h"
#include "broker/protocol/compression.h"
#include "broker/protocol/record_batch.h"

namespace keel::client {

struct ProducerConfig {
  std::vector<Address> bootstrap_servers;
  std::string client_id = "keel-producer";
  std::int16_t acks = -1;                           // 0, 1 or -1 (all)
  Duration linger = std::chrono::milliseconds(5);   // linger.ms
  std::int32_t batch_bytes = 16384;                 // batch.size
  std::int32_t retries = 2147483647;                // bounded by delivery_timeout
  Duration retry_backoff = std::chrono::milliseconds(100);
  Duration request_timeout = std::chrono::seconds(30);
  Duration delivery_timeout = std::chrono::seconds(120);
  protocol::Compression compression = protocol::Compression::none;
  std::int32_t max_in_flight_per_connection = 5;
  std::int64_t buffer_bytes = 32 << 20;             // buffer.memory: send() waits while full
};

struct ProducerRecord {
  std::string topic;
  std::optional<std::int32_t> partition;
  std::optional<protocol::Bytes> key;
  std::optional<protocol::Bytes> value;
  std::vector<protocol::RecordHeader> headers;
  std::int64_t timestamp_ms = -1;  // -1: the producer's wall clock
};

struct RecordMetadata {
  TopicPartition topic_partition;
  std::int64_t offset = -1;  // -1 with acks=0
  std::int64_t timestamp_ms = -1;
};

// The outcome of one send.
class Delivery {
 public:
  bool done() const { return result_.has_value(); }
  Result<RecordMetadata> wait();
  // When the outcome arrived (the producer's clock); meaningful once done().
  Instant completed_at() const { return completed_at_; }
  void complete(Result<RecordMetadata> result, Instant at);

 private:
  std::optional<Result<RecordMetadata>> result_;
  Instant completed_at_{};
  Event event_;
};

class Producer {
 public:
  Producer(Runtime& rt, ProducerConfig config);
  ~Producer();
  Producer(const Producer&) = delete;
  Producer& operator=(const Producer&) = delete;

  std::shared_ptr<Delivery> send(ProducerRecord record);
  Result<RecordMetadata> send_and_wait(ProducerRecord record);
  // Sends everything queued now and waits until each record has an outcome.
  Status flush();
  // Flushes, then stops the sender.
  void close();

  std::uint64_t requests_sent() const { return requests_sent_; }
  std::uint64_t retries() const { return retries_; }

 private:
  struct Batch {
    TopicPartition tp;
    std::vector<protocol::Record> records;
    std::vector<std::shared_ptr<Delivery>> deliveries;
    std::size_t bytes = 0;
    Instant created{};
    Instant retry_at{};
    int attempts = 0;
  };
  using BatchPtr = std::shared_ptr<Batch>;

  Result<std::int32_t> choose_partition(const ProducerRecord& record);
  bool batch_ready(const Batch& batch, Instant now) const;
  void sender_loop();
  bool send_ready(Instant now, Instant& next_wake);
  void send_request(std::int32_t node, std::vector<BatchPtr> batches);
  void finish(const BatchPtr& batch, Result<RecordMetadata> outcome, std::int64_t base_offset);
  void retry_or_fail(const BatchPtr& batch, const Error& error);
  void batch_done(const BatchPtr& batch);

  Runtime& rt_;
  ProducerConfig config_;
  Cluster cluster_;
  std::map<TopicPartition, std::deque<BatchPtr>> queues_;
  std::map<std::string, std::int32_t> sticky_;  // topic -> partition for records without a key
  std::map<std::int32_t, int> in_flight_;       // node -> requests outstanding
  std::int64_t buffered_bytes_ = 0;
  std::size_t unfinished_batches_ = 0;
  bool flushing_ = false;
  bool closed_ = false;
  Event wake_;
  WaitQueue space_;  // senders waiting for buffer space
  WaitQueue idle_;   // flush() waiting for every batch to finish
  TaskRef sender_;
  std::vector<TaskRef> request_tasks_;
  std::uint64_t requests_sent_ = 0;
  std::uint64_t retries_ = 0;
};

}  // namespace keel::client
