#pragma once
// A Kafka consumer with manual assignment over the seam: assign partitions, seek (to an offset, the
// beginning or the end through ListOffsets), and poll, which long-polls each partition leader with
// Fetch (fetch_min_bytes, fetch_max_wait) and returns the records past each position in offset order.
// A position that falls out of the log is reset by auto_offset_reset.
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

  void assign(std::vector<TopicPartition> partitions);
  void seek(const TopicPartition& tp, std::int64_t offset);
  Status seek_to_beginning(const std::vector<TopicPartition>& tps);
  Status seek_to_end(const std::vector<TopicPartition>& tps);
  std::optional<std::int64_t> position(const TopicPartition& tp) const;
  // The records that arrived by `timeout` (possibly none). An error means no broker could be asked.
  Result<std::vector<ConsumerRecord>> poll(Duration timeout);
  // The latest offset of a partition (its high watermark).
  Result<std::int64_t> end_offset(const TopicPartition& tp);
  void close() {}

 private:
  Result<std::int64_t> list_offset(const TopicPartition& tp, std::int64_t timestamp);
  Status reset_positions();
  Result<std::vector<ConsumerRecord>> fetch_from(std::int32_t node, const std::vector<TopicPartition>& tps,
                                                 Duration max_wait);
  void take_records(const TopicPartition& tp, const protocol::Bytes& records, std::vector<ConsumerRecord>& out);

  Runtime& rt_;
  ConsumerConfig config_;
  Cluster cluster_;
  std::map<TopicPartition, std::optional<std::int64_t>> positions_;
};

}  // namespace keel::client
