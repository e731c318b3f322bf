#pragma once
// Topic administration over the seam: create, delete, and read metadata.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "broker/client/cluster.h"

namespace keel::client {

class Admin {
 public:
  Admin(Runtime& rt, std::vector<Address> bootstrap_servers, Duration request_timeout = std::chrono::seconds(30));

  // An error whose message starts with the Kafka error name (TOPIC_ALREADY_EXISTS, ...).
  Status create_topic(const std::string& name, std::int32_t partitions, std::int16_t replication_factor,
                      const std::map<std::string, std::string>& configs = {});
  Status delete_topic(const std::string& name);
  Result<protocol::MetadataResponse> metadata(const std::vector<std::string>& topics);

 private:
  // Any broker, retrying for up to the request timeout (a broker may still be starting).
  Result<std::shared_ptr<BrokerConnection>> connect_any();

  Cluster cluster_;
  Duration request_timeout_;
};

}  // namespace keel::client
