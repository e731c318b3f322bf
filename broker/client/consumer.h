#pragma once
// A Kafka consumer with manual assignment over the seam: assign partitions, seek (to an offset, or
// to the beginning or end through ListOffsets), and poll, which fetches from each partition leader
// (a long poll with fetch_min_bytes / fetch_max_wait when one leader serves every partition) and
// returns the records at or past each position in offset order, skipping control batches. A
// position the log no longer holds (OFFSET_OUT_OF_RANGE) is reset by auto_offset_reset. Leaders
// come from Metadata, refreshed when unknown or after NOT_LEADER_OR_FOLLOWER and the like.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "broker/client/cluster.h"
#include "broker/protocol/record_batch.h"

namespace keel::client {

struct ConsumerConfig {
  std::vector<Address> bootstrap_servers;
  std::string client_id = "keel-consumer";
  std::int32_t fetch_min_bytes = 1;
  Duration fetch_max_wait = std::chrono::milliseconds(500);
  std::int32_t fetch_max_bytes = 52428800;
  std::int32_t max_partition_fetch_bytes = 1048576;
  Duration request_timeout = std::chrono::seconds(30);
  // default.api.timeout.ms: how long seek_to_beginning / seek_to_end / beginning_offset /
  // end_offset keep asking again after a lost connection or a moved leader.
  Duration default_api_timeout = std::chrono::seconds(60);
  enum class Reset { earliest, latest, none } auto_offset_reset = Reset::earliest;
};

struct ConsumerRecord {
  TopicPartition topic_partition;
  std::int64_t offset = 0;
  std::int64_t timestamp_ms = -1;
  std::optional<protocol::Bytes> key;
  std::optional<protocol::Bytes> value;
  std::vector<protocol::RecordHeader> headers;
};

class Consumer {
 public:
  Consumer(Runtime& rt, ConsumerConfig config);

  // Replaces the assignment; partitions kept keep their positions.
  void assign(std::vector<TopicPartition> partitions);
  std::vector<TopicPartition> assignment() const;
  void seek(const TopicPartition& tp, std::int64_t offset);
  // ListOffsets earliest / latest. Like the calls below, asks again (within default_api_timeout)
  // when the connection breaks or the leader moved, as Kafka's consumer does.
  Status seek_to_beginning(const std::vector<TopicPartition>& tps);
  Status seek_to_end(const std::vector<TopicPartition>& tps);
  std::optional<std::int64_t> position(const TopicPartition& tp) const;
  // The records that arrived by `timeout` (possibly none). An error when no broker could be asked
  // the whole time, when a position needs a reset and auto_offset_reset is none, or when a batch
  // fails to decode (records before it are returned first; the error comes at the next poll).
  Result<std::vector<ConsumerRecord>> poll(Duration timeout);
  // The log start (ListOffsets earliest) and end (latest: the high watermark) of a partition.
  Result<std::int64_t> beginning_offset(const TopicPartition& tp);
  Result<std::int64_t> end_offset(const TopicPartition& tp);
  void close() {}

  // The high watermark the partition's leader last reported in a fetch, if any.
  std::optional<std::int64_t> high_watermark(const TopicPartition& tp) const;

  std::uint64_t fetches_sent() const { return fetches_sent_; }
  std::uint64_t offset_resets() const { return offset_resets_; }

 private:
  Result<std::int64_t> list_offset(const TopicPartition& tp, std::int64_t timestamp);
  Result<std::int64_t> list_offset_retrying(const TopicPartition& tp, std::int64_t timestamp);
  Status reset_positions();
  void refresh_metadata();
  Result<std::vector<ConsumerRecord>> fetch_from(std::int32_t node, const std::vector<TopicPartition>& tps,
                                                 Duration max_wait);
  protocol::FetchRequest fetch_request(const std::vector<TopicPartition>& tps, Duration max_wait);
  Status take_partition(const TopicPartition& tp, const protocol::FetchResponse::PartitionData& data,
                        std::vector<ConsumerRecord>& out);
  Status take_records(const TopicPartition& tp, const protocol::Bytes& records, std::vector<ConsumerRecord>& out);

  Runtime& rt_;
  ConsumerConfig config_;
  Cluster cluster_;
  std::map<TopicPartition, std::optional<std::int64_t>> positions_;
  std::optional<Error> deferred_error_;  // a decode failure found after records were returned
  std::map<TopicPartition, std::int64_t> high_watermarks_;
  std::uint64_t fetches_sent_ = 0;
  std::uint64_t offset_resets_ = 0;
};

}  // namespace keel::client
