#include "broker/client/cluster.h"

#include <fmt/format.h>

namespace keel::client {

Cluster::Cluster(Runtime& rt, std::vector<Address> bootstrap, std::string client_id, Duration request_timeout)
    : rt_(rt), bootstrap_(std::move(bootstrap)), client_id_(std::move(client_id)), request_timeout_(request_timeout) {
  KEEL_ASSERT(!bootstrap_.empty());
}

Result<std::shared_ptr<BrokerConnection>> Cluster::open(const Address& address, std::int32_t key) {
  // Connections are shared: a task may still be inside a call on one this replaces.
  if (auto it = connections_.find(key); it != connections_.end() && it->second && it->second->usable() && it->second->address() == address) {
    return it->second;
  }
  auto fresh = std::make_shared<BrokerConnection>(rt_, address, client_id_, request_timeout_);
  connections_[key] = fresh;
  if (auto st = fresh->open(); !st) {
    if (auto it = connections_.find(key); it != connections_.end() && it->second == fresh) connections_.erase(it);
    return st.error();
  }
  return fresh;
}

Result<std::shared_ptr<BrokerConnection>> Cluster::connection(std::int32_t node_id) {
  if (node_id >= 0) {
    auto it = brokers_.find(node_id);
    if (it == brokers_.end()) return make_error(Errc::not_found, fmt::format("broker {} is not known", node_id));
    return open(it->second, node_id);
  }
  // Any broker: a known one first (in id order), then the bootstrap list in turn.
  for (const auto& [id, address] : brokers_) {
    auto c = open(address, id);
    if (c) return c;
  }
  Error last{Errc::refused, "no bootstrap server"};
  for (std::size_t i = 0; i < bootstrap_.size(); ++i) {
    const std::size_t index = (next_bootstrap_ + i) % bootstrap_.size();
    auto c = open(bootstrap_[index], -1 - static_cast<std::int32_t>(index));
    if (c) return c;
    last = c.error();
  }
  next_bootstrap_ = (next_bootstrap_ + 1) % bootstrap_.size();
  return last;
}

Status Cluster::refresh(const std::vector<std::string>& topics, bool allow_create) {
  auto c = connection(-1);
  if (!c) return c.error();
  const auto version = (*c)->version_for(protocol::ApiKey::metadata, 9);
  if (!version) return make_error(Errc::refused, "the broker serves no Metadata version this client speaks");
  protocol::MetadataRequest request;
  request.topics = std::vector<protocol::MetadataRequest::MetadataRequestTopic>();
  for (const auto& name : topics) {
    protocol::MetadataRequest::MetadataRequestTopic t;
    t.name = name;
    request.topics->push_back(std::move(t));
  }
  request.allow_auto_topic_creation = allow_create;
  auto response = (*c)->call<protocol::MetadataResponse>(request, *version);
  if (!response) return response.error();
  for (const auto& b : response->brokers) brokers_[b.node_id] = Address{b.host, static_cast<std::uint16_t>(b.port)};
  for (const auto& t : response->topics) {
    if (t.error_code != 0) continue;
    partition_counts_[t.name] = static_cast<std::int32_t>(t.partitions.size());
    for (const auto& p : t.partitions) {
      if (p.error_code == 0 && p.leader_id >= 0) {
        leaders_[TopicPartition{t.name, p.partition_index}] = p.leader_id;
      } else {
        leaders_.erase(TopicPartition{t.name, p.partition_index});
      }
    }
  }
  return {};
}

std::optional<std::int32_t> Cluster::leader(const TopicPartition& tp) const {
  auto it = leaders_.find(tp);
  if (it == leaders_.end()) return std::nullopt;
  return it->second;
}

std::optional<std::int32_t> Cluster::partitions(const std::string& topic) const {
  auto it = partition_counts_.find(topic);
  if (it == partition_counts_.end() || it->second == 0) return std::nullopt;
  return it->second;
}

std::int32_t murmur2(std::span<const std::uint8_t> data) {
  const auto length = static_cast<std::uint32_t>(data.size());
  constexpr std::uint32_t seed = 0x9747b28c;
  constexpr std::uint32_t m = 0x5bd1e995;
  constexpr int r = 24;
  std::uint32_t h = seed ^ length;
  const std::uint32_t length4 = length / 4;
  for (std::uint32_t i = 0; i < length4; ++i) {
    const std::uint32_t i4 = i * 4;
    std::uint32_t k = std::uint32_t{data[i4]} | std::uint32_t{data[i4 + 1]} << 8 | std::uint32_t{data[i4 + 2]} << 16 |
                      std::uint32_t{data[i4 + 3]} << 24;
    k *= m;
    k ^= k >> r;
    k *= m;
    h *= m;
    h ^= k;
  }
  const std::uint32_t tail = length & ~3u;
  switch (length % 4) {
    case 3: h ^= std::uint32_t{data[tail + 2]} << 16; [[fallthrough]];
    case 2: h ^= std::uint32_t{data[tail + 1]} << 8; [[fallthrough]];
    case 1:
      h ^= std::uint32_t{data[tail]};
      h *= m;
  }
  h ^= h >> 13;
  h *= m;
  h ^= h >> 15;
  return static_cast<std::int32_t>(h);
}

std::int32_t partition_for_key(std::span<const std::uint8_t> key, std::int32_t partitions) {
  KEEL_ASSERT(partitions > 0);
  return (murmur2(key) & 0x7fffffff) % partitions;
}

}  // namespace keel::client
