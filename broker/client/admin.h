#pragma once
// Topic administration over the seam: create, delete, read metadata, describe and alter configs. Each call finds a broker
// (retrying connects for up to the request timeout, as a broker may still be starting) and sends
// one request; a request whose connection breaks is not resent (CreateTopics is not idempotent:
// a resend could answer TOPIC_ALREADY_EXISTS for the caller's own topic), the caller decides.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "broker/client/cluster.h"

namespace keel::client {

class Admin {
 public:
  Admin(Runtime& rt, std::vector<Address> bootstrap_servers, Duration request_timeout = std::chrono::seconds(30));

  // Kafka errors come back as kafka_error() values: is_kafka_error(status,
  // protocol::ErrorCode::topic_already_exists) tells that the topic exists.
  Status create_topic(const std::string& name, std::int32_t partitions, std::int16_t replication_factor,
                      const std::map<std::string, std::string>& configs = {});
  Status delete_topic(const std::string& name);
  Result<protocol::MetadataResponse> metadata(const std::vector<std::string>& topics);

  // Configs of one resource (protocol::config_resource_topic with a topic name, or _broker with a
  // broker id): DescribeConfigs at the newest version both speak, with synonyms and documentation.
  using ConfigResult = protocol::DescribeConfigsResponse::DescribeConfigsResourceResult;
  Result<std::vector<ConfigResult>> describe_configs(std::int8_t resource_type, const std::string& name);
  // AlterConfigs: the resource's configs become exactly `configs`.
  Status alter_configs(std::int8_t resource_type, const std::string& name,
                       const std::map<std::string, std::string>& configs, bool validate_only = false);
  // IncrementalAlterConfigs: SET, DELETE, APPEND or SUBTRACT each key given.
  using ConfigOp = protocol::IncrementalAlterConfigsRequest::AlterableConfig;
  Status incremental_alter_configs(std::int8_t resource_type, const std::string& name, const std::vector<ConfigOp>& ops,
                                   bool validate_only = false);

 private:
  Result<std::shared_ptr<BrokerConnection>> connect_any();

  Cluster cluster_;
  Duration request_timeout_;
};

}  // namespace keel::client
