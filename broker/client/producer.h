#pragma once
// A Kafka producer over the seam. send() picks the partition (murmur2 of the key as the Java
// client, or a sticky partition for records without a key) and adds the record to the record
// accumulator, which closes batches at batch_bytes or after linger. A sender task hands the ready
// batches of each leader to that broker's writer task as one Produce request (at most
// max_in_flight_per_connection outstanding per broker, written in order on one connection); a
// completer task per broker matches the responses. Failed batches are retried with backoff until
// delivery_timeout (or `retries`); without idempotence a retry may duplicate or, with more than one
// request in flight, reorder records, as in Kafka. With acks=0 a request is done once written.
// Metadata is refreshed by a task of its own when a leader is unknown or a broker said it is not
// the leader, so no sender waits behind a dead broker's connect.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "broker/client/accumulator.h"
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
  std::int32_t request_bytes_max = 1048576;         // max.request.size: a larger record fails at once
  // A batch whose records have no timestamp says max timestamp 0 in its header, as librdkafka 2.x
  // writes it (a broker must recompute the max from the records: issue 14).
  bool zero_max_timestamp_without_timestamps = false;
};

struct ProducerRecord {
  std::string topic;
  std::optional<std::int32_t> partition;
  std::optional<protocol::Bytes> key;
  std::optional<protocol::Bytes> value;
  std::vector<protocol::RecordHeader> headers;
  std::int64_t timestamp_ms = -1;  // -1: the producer's wall clock
  bool no_timestamp = false;       // send the record without a timestamp (-1), as librdkafka does when given none
};

class Producer {
 public:
  Producer(Runtime& rt, ProducerConfig config);
  ~Producer();  // cancels the producer's tasks; records without an outcome get Errc::cancelled
  Producer(const Producer&) = delete;
  Producer& operator=(const Producer&) = delete;

  // Queues a record. Waits only for metadata of a new topic and while buffer_bytes is full (both
  // at most delivery_timeout, Kafka's max.block.ms); the outcome comes through the Delivery.
  std::shared_ptr<Delivery> send(ProducerRecord record);
  Result<RecordMetadata> send_and_wait(ProducerRecord record);
  // Makes every queued batch sendable now and waits until each record has an outcome.
  Status flush();
  // Flushes, then stops the producer's tasks; later sends fail with Errc::closed.
  void close();

  std::uint64_t requests_sent() const { return requests_sent_; }
  std::uint64_t retries() const { return retries_; }
  std::uint64_t batches_expired() const { return batches_expired_; }
  std::uint64_t metadata_refreshes() const { return metadata_refreshes_; }

 private:
  struct InFlight {
    std::vector<BatchPtr> batches;
    std::shared_ptr<BrokerConnection> connection;
    std::shared_ptr<PendingResponse> pending;
    std::int16_t version = 0;
  };
  // The per-broker side of sending: a writer task takes requests from `outbox` and writes them on
  // the broker's connection in order; a completer task takes them from `awaiting` in the same
  // order and handles their responses. Both channels hold at most max_in_flight requests.
  struct NodeSender {
    std::int32_t node = -1;
    int in_flight = 0;
    std::unique_ptr<Channel<std::vector<BatchPtr>>> outbox;
    std::unique_ptr<Channel<InFlight>> awaiting;
  };

  Result<std::int32_t> choose_partition(const ProducerRecord& record, std::size_t record_bytes, Instant deadline);
  Result<std::int32_t> partition_count(const std::string& topic, Instant deadline);
  void sender_loop();
  bool send_ready(Instant now, Instant& next_wake);
  NodeSender& node_sender(std::int32_t node);
  void writer_loop(NodeSender& sender);
  void completer_loop(NodeSender& sender);
  void metadata_loop();
  void request_metadata();
  Result<protocol::ProduceRequest> build_request(const std::vector<BatchPtr>& batches);
  static void return_batches(protocol::ProduceRequest& request, const std::vector<BatchPtr>& batches);
  static std::size_t request_bytes(const protocol::ProduceRequest& request);
  void handle_response(const InFlight& request, Result<protocol::ProduceResponse> response);
  void request_done(NodeSender& sender);
  void finish(const BatchPtr& batch, std::int64_t base_offset, std::int64_t log_append_time_ms);
  void fail(const BatchPtr& batch, const Error& error);
  void retry_or_fail(const BatchPtr& batch, const Error& error);
  void batch_released();
  void spawn(std::string name, std::function<void()> fn);
  bool guarantees_order() const { return config_.max_in_flight_per_connection == 1; }
  // A batch's outcome or retry is decided: it is no longer in flight, and its partition may send.
  void settled(const BatchPtr& batch);

  Runtime& rt_;
  ProducerConfig config_;
  Cluster cluster_;
  RecordAccumulator accumulator_;
  StickyPartitioner sticky_;
  std::set<std::string> topics_;  // every topic sent to: the metadata refreshes ask for them
  std::map<std::int32_t, std::unique_ptr<NodeSender>> senders_;
  std::map<std::uint64_t, BatchPtr> in_flight_batches_;  // drained, no outcome yet; by sequence
  // With max_in_flight 1, as Kafka's producer (guaranteeMessageOrder): a partition with a batch in
  // flight sends no other until that one's outcome or retry is decided. Otherwise a leader change
  // lets the next batch go to the new leader while the first awaits its timeout on the old one, and
  // the retried first batch lands after it.
  std::set<TopicPartition> muted_;
  bool closed_ = false;
  Event wake_;               // the sender loop has something to look at
  Event metadata_wanted_;    // the metadata task should refresh
  WaitQueue metadata_updated_;  // send() waiting for a new topic's partition count
  int metadata_waiters_ = 0;
  WaitQueue space_;          // send() waiting for buffer space
  WaitQueue idle_;           // flush() waiting for every batch to finish
  std::vector<TaskRef> tasks_;
  std::uint64_t requests_sent_ = 0;
  std::uint64_t retries_ = 0;
  std::uint64_t batches_expired_ = 0;
  std::uint64_t metadata_refreshes_ = 0;
};

}  // namespace keel::client
