#pragma once
// What a client knows of the cluster: its brokers (from Metadata), the leader and partition count of
// each topic it uses, and one connection per broker, opened on first use and reopened after it
// breaks. Producer, Consumer and Admin each own one.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "broker/client/connection.h"
#include "broker/platform/network.h"
#include "broker/platform/runtime.h"

namespace keel::client {

struct TopicPartition {
  std::string topic;
  std::int32_t partition = 0;
  auto operator<=>(const TopicPartition&) const = default;
};

class Cluster {
 public:
  Cluster(Runtime& rt, std::vector<Address> bootstrap, std::string client_id, Duration request_timeout);

  // Asks any reachable broker for the metadata of `topics` (creating them when the broker
  // auto-creates topics and `allow_create`); fails when no broker answers.
  Status refresh(const std::vector<std::string>& topics, bool allow_create = true);
  std::optional<std::int32_t> leader(const TopicPartition& tp) const;
  std::optional<std::int32_t> partitions(const std::string& topic) const;
  // A usable connection to a broker by node id, or to any broker (-1).
  Result<std::shared_ptr<BrokerConnection>> connection(std::int32_t node_id);
  Runtime& runtime() { return rt_; }
  const std::string& client_id() const { return client_id_; }

 private:
  Result<std::shared_ptr<BrokerConnection>> open(const Address& address, std::int32_t key);

  Runtime& rt_;
  std::vector<Address> bootstrap_;
  std::string client_id_;
  Duration request_timeout_;
  std::map<std::int32_t, Address> brokers_;  // node id -> address
  std::map<TopicPartition, std::int32_t> leaders_;
  std::map<std::string, std::int32_t> partition_counts_;
  // Connections by node id, shared with the tasks calling on them; bootstrap connections use keys -1, -2, ... (they are not yet known nodes).
  std::map<std::int32_t, std::shared_ptr<BrokerConnection>> connections_;
  std::size_t next_bootstrap_ = 0;
};

// Kafka's murmur2 (the Java client's Utils.murmur2) and its default partition for a keyed record.
std::int32_t murmur2(std::span<const std::uint8_t> data);
std::int32_t partition_for_key(std::span<const std::uint8_t> key, std::int32_t partitions);

}  // namespace keel::client
