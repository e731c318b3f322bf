#include "broker/client/consumer.h"

#include <fmt/format.h>

#include "broker/protocol/errors.h"

namespace keel::client {
namespace {

using protocol::ErrorCode;
constexpr std::int64_t latest = protocol::ListOffsetsRequest::latest_timestamp;
constexpr std::int64_t earliest = protocol::ListOffsetsRequest::earliest_timestamp;
// The newest versions this client writes.
constexpr std::int16_t fetch_version_max = 12;
constexpr std::int16_t list_offsets_version_max = 5;
// Between attempts when no broker answers, or several leaders are asked without a long poll.
constexpr Duration poll_retry_backoff = std::chrono::milliseconds(50);

bool stale_leader(ErrorCode code) {
  return code == ErrorCode::not_leader_or_follower || code == ErrorCode::unknown_topic_or_partition ||
         code == ErrorCode::leader_not_available || code == ErrorCode::kafka_storage_error ||
         code == ErrorCode::fenced_leader_epoch || code == ErrorCode::unknown_leader_epoch;
}

std::string tp_name(const TopicPartition& tp) { return fmt::format("{}-{}", tp.topic, tp.partition); }

// Whether a failed ListOffsets is worth asking again: the connection broke (a broker restart, or a
// broker closing connections), no leader is known yet, or the leader moved.
bool retriable(const Error& e) {
  if (auto code = kafka_error_code(e)) return stale_leader(*code);
  return e.code != Errc::invalid_argument;
}

}  // namespace

Consumer::Consumer(Runtime& rt, ConsumerConfig config)
    : rt_(rt), config_(std::move(config)), cluster_(rt, config_.bootstrap_servers, config_.client_id, config_.request_timeout) {
  KEEL_ASSERT(config_.fetch_max_bytes > 0 && config_.max_partition_fetch_bytes > 0 && config_.fetch_min_bytes >= 0);
}

void Consumer::assign(std::vector<TopicPartition> partitions) {
  std::map<TopicPartition, std::optional<std::int64_t>> next;
  for (auto& tp : partitions) {
    auto it = positions_.find(tp);
    next[tp] = it != positions_.end() ? it->second : std::nullopt;
  }
  positions_ = std::move(next);
}

std::vector<TopicPartition> Consumer::assignment() const {
  std::vector<TopicPartition> out;
  for (const auto& [tp, position] : positions_) out.push_back(tp);
  return out;
}

void Consumer::seek(const TopicPartition& tp, std::int64_t offset) {
  KEEL_ASSERT_MSG(positions_.contains(tp), "seek on {}, which is not assigned", tp_name(tp));
  positions_[tp] = offset;
}

std::optional<std::int64_t> Consumer::position(const TopicPartition& tp) const {
  auto it = positions_.find(tp);
  return it == positions_.end() ? std::nullopt : it->second;
}

void Consumer::refresh_metadata() {
  std::vector<std::string> topics;
  for (const auto& [tp, position] : positions_) {
    if (topics.empty() || topics.back() != tp.topic) topics.push_back(tp.topic);
  }
  (void)cluster_.refresh(topics, false);
}

Result<std::int64_t> Consumer::list_offset(const TopicPartition& tp, std::int64_t timestamp) {
  auto leader = cluster_.leader(tp);
  if (!leader) {
    if (auto st = cluster_.refresh({tp.topic}, false); !st) return st.error();
    leader = cluster_.leader(tp);
    if (!leader) return make_error(Errc::not_found, fmt::format("{}: no leader known", tp_name(tp)));
  }
  auto connection = cluster_.connection(*leader);
  if (!connection) return connection.error();
  const auto version = (*connection)->version_for(protocol::ApiKey::list_offsets, list_offsets_version_max);
  if (!version) return make_error(Errc::refused, "the broker serves no ListOffsets version this client speaks");
  protocol::ListOffsetsRequest request;
  request.replica_id = -1;
  protocol::ListOffsetsRequest::ListOffsetsTopic topic;
  topic.name = tp.topic;
  protocol::ListOffsetsRequest::ListOffsetsPartition partition;
  partition.partition_index = tp.partition;
  partition.timestamp = timestamp;
  topic.partitions.push_back(partition);
  request.topics.push_back(std::move(topic));
  auto response = (*connection)->call<protocol::ListOffsetsResponse>(request, *version);
  if (!response) return response.error();
  if (response->topics.empty() || response->topics[0].partitions.empty()) {
    return make_error(Errc::corrupt, fmt::format("{}: ListOffsets answered without the partition", tp_name(tp)));
  }
  const auto& p = response->topics[0].partitions[0];
  if (p.error_code != 0) {
    const auto code = static_cast<ErrorCode>(p.error_code);
    if (stale_leader(code)) cluster_.invalidate(tp);
    return kafka_error(code, fmt::format("{}: ListOffsets", tp_name(tp)));
  }
  return p.offset;
}

Result<std::int64_t> Consumer::list_offset_retrying(const TopicPartition& tp, std::int64_t timestamp) {
  const Instant deadline = rt_.now() + config_.default_api_timeout;
  while (true) {
    auto offset = list_offset(tp, timestamp);
    if (offset || !retriable(offset.error()) || rt_.now() >= deadline) return offset;
    rt_.sleep_for(std::min<Duration>(poll_retry_backoff, deadline - rt_.now()));
  }
}

Status Consumer::seek_to_beginning(const std::vector<TopicPartition>& tps) {
  for (const auto& tp : tps) {
    if (!positions_.contains(tp)) {
      return make_error(Errc::invalid_argument, fmt::format("seek_to_beginning: {} is not assigned", tp_name(tp)));
    }
    auto offset = list_offset_retrying(tp, earliest);
    if (!offset) return offset.error();
    positions_[tp] = *offset;
  }
  return {};
}

Status Consumer::seek_to_end(const std::vector<TopicPartition>& tps) {
  for (const auto& tp : tps) {
    if (!positions_.contains(tp)) {
      return make_error(Errc::invalid_argument, fmt::format("seek_to_end: {} is not assigned", tp_name(tp)));
    }
    auto offset = list_offset_retrying(tp, latest);
    if (!offset) return offset.error();
    positions_[tp] = *offset;
  }
  return {};
}

Result<std::int64_t> Consumer::beginning_offset(const TopicPartition& tp) { return list_offset_retrying(tp, earliest); }
Result<std::int64_t> Consumer::end_offset(const TopicPartition& tp) { return list_offset_retrying(tp, latest); }

Status Consumer::reset_positions() {
  for (auto& [tp, position] : positions_) {
    if (position) continue;
    if (config_.auto_offset_reset == ConsumerConfig::Reset::none) {
      return make_error(Errc::invalid_argument,
                        fmt::format("{}: no valid position and auto_offset_reset is none", tp_name(tp)));
    }
    auto offset = list_offset(tp, config_.auto_offset_reset == ConsumerConfig::Reset::earliest ? earliest : latest);
    if (!offset) return offset.error();
    position = *offset;
    ++offset_resets_;
  }
  return {};
}

Result<std::vector<ConsumerRecord>> Consumer::poll(Duration timeout) {
  if (deferred_error_) {
    Error e = std::move(*deferred_error_);
    deferred_error_.reset();
    return e;
  }
  const Instant deadline = rt_.now() + timeout;
  const auto remaining = [&] { return std::max<Duration>(Duration{0}, deadline - rt_.now()); };
  std::optional<Error> last;
  bool answered = false;
  do {
    if (auto st = reset_positions(); !st) {
      if (config_.auto_offset_reset == ConsumerConfig::Reset::none) return st.error();
      last = st.error();
      rt_.sleep_for(std::min(poll_retry_backoff, remaining()));
      continue;
    }
    std::map<std::int32_t, std::vector<TopicPartition>> by_leader;
    bool unknown = false;
    for (const auto& [tp, position] : positions_) {
      if (auto leader = cluster_.leader(tp)) by_leader[*leader].push_back(tp);
      else unknown = true;
    }
    if (unknown) refresh_metadata();
    // One leader long-polls; with several, each is asked without waiting, so none holds up another.
    const Duration max_wait = by_leader.size() == 1 ? std::min(remaining(), config_.fetch_max_wait) : Duration{0};
    std::vector<ConsumerRecord> out;
    for (const auto& [node, tps] : by_leader) {
      auto records = fetch_from(node, tps, max_wait);
      if (!records) {
        last = records.error();
        continue;
      }
      answered = true;
      for (auto& r : *records) out.push_back(std::move(r));
    }
    if (!out.empty()) return out;
    if (deferred_error_) break;
    if (!answered || by_leader.size() != 1) rt_.sleep_for(std::min(poll_retry_backoff, remaining()));
  } while (rt_.now() < deadline);
  if (deferred_error_) {
    Error e = std::move(*deferred_error_);
    deferred_error_.reset();
    return e;
  }
  if (!answered && last) return *last;
  return std::vector<ConsumerRecord>();
}

protocol::FetchRequest Consumer::fetch_request(const std::vector<TopicPartition>& tps, Duration max_wait) {
  protocol::FetchRequest request;
  request.replica_id = -1;
  request.max_wait_ms = static_cast<std::int32_t>(to_ms(max_wait));
  request.min_bytes = config_.fetch_min_bytes;
  request.max_bytes = config_.fetch_max_bytes;
  for (const auto& tp : tps) {
    if (request.topics.empty() || request.topics.back().topic != tp.topic) {
      protocol::FetchRequest::FetchTopic t;
      t.topic = tp.topic;
      request.topics.push_back(std::move(t));
    }
    protocol::FetchRequest::FetchPartition p;
    p.partition = tp.partition;
    p.fetch_offset = positions_.at(tp).value_or(0);
    p.partition_max_bytes = config_.max_partition_fetch_bytes;
    request.topics.back().partitions.push_back(p);
  }
  return request;
}

Result<std::vector<ConsumerRecord>> Consumer::fetch_from(std::int32_t node, const std::vector<TopicPartition>& tps,
                                                         Duration max_wait) {
  auto connection = cluster_.connection(node);
  if (!connection) return connection.error();
  const auto version = (*connection)->version_for(protocol::ApiKey::fetch, fetch_version_max);
  if (!version) return make_error(Errc::refused, "the broker serves no Fetch version this client speaks");
  auto request = fetch_request(tps, max_wait);
  ++fetches_sent_;
  auto response = (*connection)->call<protocol::FetchResponse>(request, *version);
  if (!response) return response.error();
  if (response->error_code != 0) {
    return kafka_error(static_cast<ErrorCode>(response->error_code), fmt::format("Fetch from broker {}", node));
  }
  std::vector<ConsumerRecord> out;
  for (const auto& t : response->responses) {
    for (const auto& p : t.partitions) {
      const TopicPartition tp{t.topic, p.partition_index};
      auto it = positions_.find(tp);
      // Unassigned, reset or moved meanwhile: this answer is for a position no longer current.
      if (it == positions_.end() || !it->second) continue;
      if (auto st = take_partition(tp, p, out); !st) {
        deferred_error_ = st.error();
        return out;
      }
    }
  }
  return out;
}

std::optional<std::int64_t> Consumer::high_watermark(const TopicPartition& tp) const {
  auto it = high_watermarks_.find(tp);
  if (it == high_watermarks_.end()) return std::nullopt;
  return it->second;
}

Status Consumer::take_partition(const TopicPartition& tp, const protocol::FetchResponse::PartitionData& data,
                                std::vector<ConsumerRecord>& out) {
  const auto code = static_cast<ErrorCode>(data.error_code);
  if (code == ErrorCode::offset_out_of_range) {
    positions_[tp].reset();  // auto_offset_reset decides at the next pass
    return {};
  }
  if (code != ErrorCode::none) {
    if (stale_leader(code)) cluster_.invalidate(tp);
    return {};
  }
  high_watermarks_[tp] = data.high_watermark;
  if (!data.records || data.records->empty()) return {};
  return take_records(tp, *data.records, out);
}

Status Consumer::take_records(const TopicPartition& tp, const protocol::Bytes& records, std::vector<ConsumerRecord>& out) {
  auto& position = positions_[tp];
  const auto scan = protocol::scan_batches(records, true);
  for (const auto& [pos, header] : scan.batches) {
    if (header.last_offset() < *position) continue;  // a batch the position is already past
    if (header.is_control()) {
      position = header.last_offset() + 1;
      continue;
    }
    auto decoded = protocol::decode_records(std::span(records).subspan(pos, header.size_bytes()));
    if (!decoded) {
      return Error{Errc::corrupt, fmt::format("{}: the batch at offset {} does not decode: {}", tp_name(tp),
                                              header.base_offset, decoded.error().message)};
    }
    for (auto& r : *decoded) {
      if (r.offset < *position) continue;
      ConsumerRecord c;
      c.topic_partition = tp;
      c.offset = r.offset;
      c.timestamp_ms = r.timestamp;
      c.key = std::move(r.key);
      c.value = std::move(r.value);
      c.headers = std::move(r.headers);
      out.push_back(std::move(c));
      position = r.offset + 1;
    }
    position = std::max(*position, header.last_offset() + 1);
  }
  if (scan.corruption && scan.batches.empty()) {
    return Error{Errc::corrupt, fmt::format("{}: fetched data at offset {} is corrupt: {}", tp_name(tp), *position,
                                            scan.corruption->message)};
  }
  // A partial batch at the end (the fetch size limit cut it) is fetched whole next time.
  return {};
}

}  // namespace keel::client
