#pragma once
// A raw Kafka client for tests (frames out, frames in, nothing hidden) and the requests tests send
// with it, built the way a real client fills them.
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "broker/protocol/frame.h"
#include "broker/protocol/messages.h"
#include "broker/protocol/record_batch.h"
#include "tests/support/node_config.h"

namespace keel::test {

// A request frame of `request` as a client named "raw-client" sends it.
template <class M>
protocol::Bytes request_frame(const M& request, std::int16_t version, std::int32_t correlation_id) {
  protocol::RequestHeader header;
  header.api_key = static_cast<std::int16_t>(M::api_key);
  header.api_version = version;
  header.correlation_id = correlation_id;
  header.client_id = "raw-client";
  return protocol::encode_request_frame(header, request);
}

// The frame with the last `cut` bytes of its body gone and its size prefix saying so: a whole frame
// whose body ends early.
inline protocol::Bytes truncated(protocol::Bytes frame, std::size_t cut) {
  frame.resize(frame.size() - cut);
  const auto size = static_cast<std::uint32_t>(frame.size() - 4);
  for (int i = 0; i < 4; ++i) frame[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(size >> (24 - 8 * i));
  return frame;
}

// A raw Kafka client over one connection.
class RawClient {
 public:
  explicit RawClient(Runtime& rt, Address server = node0_address) : rt_(rt), server_(std::move(server)) {}

  // Connects, then waits until the node serves: its quorum elected it controller and it registered
  // as a broker (Metadata lists it), as a real client's retries would.
  bool connect() {
    for (int attempt = 0; attempt < 50; ++attempt) {
      auto c = rt_.net().connect(server_, std::chrono::seconds(1));
      if (c) {
        connection_ = std::move(*c);
        return serving();
      }
      rt_.sleep_for(std::chrono::milliseconds(100));  // the broker may still be starting
    }
    return false;
  }

  // One attempt to connect, and nothing asked: false when the connection fails.
  bool connect_only(Duration timeout = std::chrono::seconds(1)) {
    auto c = rt_.net().connect(server_, timeout);
    if (!c) return false;
    connection_ = std::move(*c);
    return true;
  }

  // One attempt: false at once when the connection fails (a node that is down).
  bool try_connect(Duration timeout = std::chrono::seconds(1)) {
    auto c = rt_.net().connect(server_, timeout);
    if (!c) return false;
    connection_ = std::move(*c);
    return serving();
  }

  bool serving() {
    for (int attempt = 0; attempt < 100; ++attempt) {
      auto metadata = call<protocol::MetadataResponse>(protocol::MetadataRequest{}, 1);
      if (!metadata) return false;
      if (!metadata->brokers.empty()) return true;
      rt_.sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }

  // Sends `request`; its correlation id, or -1 when the write failed.
  template <class M>
  std::int32_t send(const M& request, std::int16_t version) {
    const std::int32_t correlation_id = next_correlation_++;
    if (!protocol::write_frame(connection_, request_frame(request, version, correlation_id), instant_max)) return -1;
    return correlation_id;
  }

  Status send_raw(const protocol::Bytes& bytes) { return connection_.write(std::as_bytes(std::span(bytes))); }

  // Reads the next response; nullopt when the connection ended or the bytes do not decode.
  template <class M>
  std::optional<std::pair<std::int32_t, M>> receive(std::int16_t version) {
    auto frame = protocol::read_frame(connection_, 1 << 26, rt_.now() + std::chrono::seconds(30));
    if (!frame) return std::nullopt;
    protocol::Reader reader(*frame);
    auto correlation = protocol::decode_response_header(reader, M::api_key, version);
    if (!correlation) return std::nullopt;
    auto body = protocol::decode<M>(reader, version);
    if (!body) return std::nullopt;
    return std::pair{*correlation, std::move(*body)};
  }

  template <class Resp, class Req>
  std::optional<Resp> call(const Req& request, std::int16_t version) {
    if (send(request, version) < 0) return std::nullopt;
    auto response = receive<Resp>(version);
    if (!response) return std::nullopt;
    return std::move(response->second);
  }

  // True when the server closed the connection (end of stream or reset) within 5 seconds.
  bool closed_by_broker() {
    std::array<std::byte, 64> buf{};
    auto n = connection_.read(buf, rt_.now() + std::chrono::seconds(5));
    return !n || *n == 0;
  }

 private:
  Runtime& rt_;
  Address server_;
  Connection connection_;
  std::int32_t next_correlation_ = 1;
};

inline protocol::CreateTopicsRequest create_request(const std::string& name, std::int32_t partitions) {
  protocol::CreateTopicsRequest request;
  protocol::CreateTopicsRequest::CreatableTopic topic;
  topic.name = name;
  topic.num_partitions = partitions;
  topic.replication_factor = 1;
  request.topics.push_back(topic);
  request.timeout_ms = 1000;
  return request;
}

inline protocol::ProduceRequest produce_request(const std::string& topic, std::int32_t partition, protocol::Bytes batch,
                                                std::int16_t acks) {
  protocol::ProduceRequest request;
  request.acks = acks;
  request.timeout_ms = 1000;
  protocol::ProduceRequest::TopicProduceData t;
  t.name = topic;
  protocol::ProduceRequest::PartitionProduceData p;
  p.index = partition;
  p.records = std::move(batch);
  t.partition_data.push_back(std::move(p));
  request.topic_data.push_back(std::move(t));
  return request;
}

inline protocol::FetchRequest fetch_request(const std::string& topic, std::int32_t partition, std::int64_t offset,
                                            std::int32_t max_wait_ms = 0, std::int32_t min_bytes = 1) {
  protocol::FetchRequest request;
  request.max_wait_ms = max_wait_ms;
  request.min_bytes = min_bytes;
  request.max_bytes = 1 << 20;
  protocol::FetchRequest::FetchTopic t;
  t.topic = topic;
  protocol::FetchRequest::FetchPartition p;
  p.partition = partition;
  p.fetch_offset = offset;
  p.partition_max_bytes = 1 << 20;
  t.partitions.push_back(p);
  request.topics.push_back(std::move(t));
  return request;
}

// Every record value in a fetch response's first partition, in order.
inline std::vector<std::string> fetched_values(const protocol::FetchResponse& response) {
  std::vector<std::string> values;
  if (response.responses.empty() || response.responses[0].partitions.empty()) return values;
  const auto& records = response.responses[0].partitions[0].records;
  if (!records) return values;
  const auto scan = protocol::scan_batches(*records, true);
  for (const auto& [pos, header] : scan.batches) {
    auto decoded = protocol::decode_records(std::span(*records).subspan(pos, header.size_bytes()));
    if (!decoded) continue;
    for (const auto& r : *decoded) values.emplace_back(r.value->begin(), r.value->end());
  }
  return values;
}

}  // namespace keel::test
