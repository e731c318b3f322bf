#pragma once
// What a client knows of the cluster: its brokers (from Metadata), the leader and partition count of
// each topic it uses, and one connection per broker, opened on first use and reopened after it
// breaks, with exponential backoff between failed attempts (Kafka's reconnect.backoff.ms and
// reconnect.backoff.max.ms). Producer, Consumer and Admin each own one.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "broker/rpc/connection.h"
#include "broker/client/partitioner.h"
#include "broker/client/types.h"
#include "broker/platform/network.h"
#include "broker/platform/runtime.h"

namespace keel::client {

struct ClusterLimits {
  Duration reconnect_backoff = std::chrono::milliseconds(50);       // reconnect.backoff.ms
  Duration reconnect_backoff_max = std::chrono::milliseconds(1000);  // reconnect.backoff.max.ms
  Duration connect_timeout_max = std::chrono::seconds(10);           // socket.connection.setup.timeout.ms
};

class Cluster {
 public:
  Cluster(Runtime& rt, std::vector<Address> bootstrap, std::string client_id, Duration request_timeout,
          ClusterLimits limits = ClusterLimits());
  ~Cluster();
  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;

  // Asks a broker for the metadata of `topics` (creating them when the broker auto-creates topics
  // and `allow_create`) and learns the brokers, partition counts and leaders; fails when no
  // broker answers. A topic the broker does not know is forgotten.
  Status refresh(const std::vector<std::string>& topics, bool allow_create = true);
  // The same for every topic the cluster has (a null topic list).
  Status refresh_all();
  // A topic's name by its id, learned from Metadata v10+ (the KIP-848 consumer's assignments name
  // topics by id).
  std::optional<std::string> topic_name(const protocol::Uuid& id) const;
  std::optional<std::int32_t> leader(const TopicPartition& tp) const;
  std::optional<std::int32_t> partitions(const std::string& topic) const;
  // Forgets a partition's leader (after NOT_LEADER_OR_FOLLOWER and the like), so that its next
  // user refreshes the metadata first.
  void invalidate(const TopicPartition& tp) { leaders_.erase(tp); }
  // Forgets every leader on `node` (its connection failed).
  void invalidate_node(std::int32_t node);

  // A usable connection to a broker by node id, or to any broker (-1): an open one if there is
  // one, else the known brokers in id order, then the bootstrap servers. Waits out the backoff
  // after a failed attempt; concurrent callers share one attempt.
  Result<std::shared_ptr<BrokerConnection>> connection(std::int32_t node_id);
  Runtime& runtime() { return rt_; }
  const std::string& client_id() const { return client_id_; }
  Duration request_timeout() const { return request_timeout_; }
  std::uint64_t connects_attempted() const { return connects_attempted_; }

 private:
  struct Slot {
    Address address;
    std::shared_ptr<BrokerConnection> connection;
    std::shared_ptr<Event> connecting;  // set while one caller connects; others wait on it
    Instant next_attempt{};
    Duration backoff{};
    Error last_error;
  };
  Result<std::shared_ptr<BrokerConnection>> open(const Address& address, std::int32_t key);
  Result<std::shared_ptr<BrokerConnection>> any_connection();
  Status learn(const protocol::MetadataResponse& response);

  Runtime& rt_;
  std::vector<Address> bootstrap_;
  std::string client_id_;
  Duration request_timeout_;
  ClusterLimits limits_;
  std::map<std::int32_t, Address> brokers_;  // node id -> address
  std::map<TopicPartition, std::int32_t> leaders_;
  std::map<std::string, std::int32_t> partition_counts_;
  std::map<protocol::Uuid, std::string> topic_names_;  // topic id -> name
  // Connections by node id; bootstrap connections use keys -1, -2, ... (they are not yet known nodes).
  std::map<std::int32_t, Slot> slots_;
  std::size_t next_bootstrap_ = 0;
  std::uint64_t connects_attempted_ = 0;
};

// One Metadata request on `connection` for `topics` (null: every topic) at the highest version both
// sides speak, up to v12, creating them when the broker auto-creates topics and `allow_create`.
Result<protocol::MetadataResponse> request_metadata(BrokerConnection& connection,
                                                    const std::optional<std::vector<std::string>>& topics,
                                                    bool allow_create);

}  // namespace keel::client
