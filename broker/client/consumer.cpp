#include "broker/client/consumer.h"

#include <fmt/format.h>

#include "broker/protocol/errors.h"

namespace keel::client {
namespace {

using protocol::ErrorCode;
constexpr std::int64_t latest = -1;
constexpr std::int64_t earliest = -2;

}  // namespace

Consumer::Consumer(Runtime& rt, ConsumerConfig config)
    : rt_(rt), config_(std::move(config)), cluster_(rt, config_.bootstrap_servers, config_.client_id, config_.request_timeout) {}

void Consumer::assign(std::vector<TopicPartition> partitions) {
  std::map<TopicPartition, std::optional<std::int64_t>> next;
  for (auto& tp : partitions) {
    auto it = positions_.find(tp);
    next[tp] = it != positions_.end() ? it->second : std::nullopt;
  }
  positions_ = std::move(next);
}

void Consumer::seek(const TopicPartition& tp, std::int64_t offset) { positions_[tp] = offset; }

std::optional<std::int64_t> Consumer::position(const TopicPartition& tp) const {
  auto it = positions_.find(tp);
  return it == positions_.end() ? std::nullopt : it->second;
}

Result<std::int64_t> Consumer::list_offset(const TopicPartition& tp, std::int64_t timestamp) {
  auto leader = cluster_.leader(tp);
  if (!leader) {
    if (auto st = cluster_.refresh({tp.topic}, false); !st) return st.error();
    leader = cluster_.leader(tp);
    if (!leader) return make_error(Errc::not_found, fmt::format("{}-{}: no leader known", tp.topic, tp.partition));
  }
  auto connection = cluster_.connection(*leader);
  if (!connection) return connection.error();
  const auto version = (*connection)->version_for(protocol::ApiKey::list_offsets, 5);
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
    return make_error(Errc::corrupt, "ListOffsets answered without the partition");
  }
  const auto& p = response->topics[0].partitions[0];
  if (p.error_code != 0) {
    return make_error(Errc::refused, fmt::format("{}-{}: ListOffsets: {}", tp.topic, tp.partition,
                                                 protocol::error_name(static_cast<ErrorCode>(p.error_code))));
  }
  return p.offset;
}

Status Consumer::seek_to_beginning(const std::vector<TopicPartition>& tps) {
  for (const auto& tp : tps) {
    auto offset = list_offset(tp, earliest);
    if (!offset) return offset.error();
    positions_[tp] = *offset;
  }
  return {};
}

Status Consumer::seek_to_end(const std::vector<TopicPartition>& tps) {
  for (const auto& tp : tps) {
    auto offset = list_offset(tp, latest);
    if (!offset) return offset.error();
    positions_[tp] = *offset;
  }
  return {};
}

Result<std::int64_t> Consumer::end_offset(const TopicPartition& tp) { return list_offset(tp, latest); }

Status Consumer::reset_positions() {
  for (auto& [tp, position] : positions_) {
    if (position) continue;
    if (config_.auto_offset_reset == ConsumerConfig::Reset::none) {
      return make_error(Errc::invalid_argument, fmt::format("{}-{}: no position and auto_offset_reset is none",
                                                            tp.topic, tp.partition));
    }
    auto offset = list_offset(tp, config_.auto_offset_reset == ConsumerConfig::Reset::earliest ? earliest : latest);
    if (!offset) return offset.error();
    position = *offset;
  }
  return {};
}

Result<std::vector<ConsumerRecord>> Consumer::poll(Duration timeout) {
  const Instant deadline = rt_.now() + timeout;
  Error last{Errc::timed_out, "poll timed out"};
  bool answered = false;
  do {
    if (auto st = reset_positions(); !st) {
      last = st.error();
      rt_.sleep_for(std::min<Duration>(std::chrono::milliseconds(100), std::max<Duration>(Duration{0}, deadline - rt_.now())));
      continue;
    }
    std::map<std::int32_t, std::vector<TopicPartition>> by_leader;
    bool unknown = false;
    for (const auto& [tp, position] : positions_) {
      if (auto leader = cluster_.leader(tp)) by_leader[*leader].push_back(tp);
      else unknown = true;
    }
    if (unknown) {
      std::vector<std::string> topics;
      for (const auto& [tp, position] : positions_) {
        if (topics.empty() || topics.back() != tp.topic) topics.push_back(tp.topic);
      }
      if (auto st = cluster_.refresh(topics, false); !st) last = st.error();
    }
    const Duration remaining = std::max<Duration>(Duration{0}, deadline - rt_.now());
    // One leader long-polls; with several, each is asked without waiting, so none holds up another.
    const Duration max_wait = by_leader.size() == 1 ? std::min(remaining, config_.fetch_max_wait) : Duration{0};
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
    if (!answered || by_leader.size() != 1) {
      rt_.sleep_for(std::min<Duration>(std::chrono::milliseconds(50), std::max<Duration>(Duration{0}, deadline - rt_.now())));
    }
  } while (rt_.now() < deadline);
  if (!answered && last.code != Errc::timed_out) return last;
  return std::vector<ConsumerRecord>();
}

Result<std::vector<ConsumerRecord>> Consumer::fetch_from(std::int32_t node, const std::vector<TopicPartition>& tps,
                                                         Duration max_wait) {
  auto connection = cluster_.connection(node);
  if (!connection) return connection.error();
  const auto version = (*connection)->version_for(protocol::ApiKey::fetch, 11);
  if (!version) return make_error(Errc::refused, "the broker serves no Fetch version this client speaks");
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
    p.fetch_offset = positions_[tp].value_or(0);
    p.partition_max_bytes = config_.max_partition_fetch_bytes;
    request.topics.back().partitions.push_back(p);
  }
  auto response = (*connection)->call<protocol::FetchResponse>(request, *version);
  if (!response) return response.error();
  std::vector<ConsumerRecord> out;
  bool refresh = false;
  for (const auto& t : response->responses) {
    for (const auto& p : t.partitions) {
      const TopicPartition tp{t.topic, p.partition_index};
      if (!positions_.contains(tp)) continue;  // unassigned meanwhile
      const auto code = static_cast<ErrorCode>(p.error_code);
      if (code == ErrorCode::offset_out_of_range) {
        positions_[tp].reset();  // auto_offset_reset decides at the next poll
      } else if (code != ErrorCode::none) {
        refresh = true;
      } else if (p.records) {
        take_records(tp, *p.records, out);
      }
    }
  }
  if (refresh) (void)cluster_.refresh({tps.front().topic}, false);
  return out;
}

void Consumer::take_records(const TopicPartition& tp, const protocol::Bytes& records, std::vector<ConsumerRecord>& out) {
  auto& position = positions_[tp];
  const auto scan = protocol::scan_batches(records, true);
  for (const auto& [pos, header] : scan.batches) {
    if (header.last_offset() < *position) continue;
    if (header.is_control()) {
      position = header.last_offset() + 1;
      continue;
    }
    auto decoded = protocol::decode_records(std::span(records).subspan(pos, header.size_bytes()));
    if (!decoded) return;  // a damaged batch: fetch it again next time
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
  // A partial batch at the end (the fetch limit cut it) is fetched whole next time.
}

}  // namespace keel::client
