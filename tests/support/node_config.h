#pragma once
// Configs of Keel nodes for tests: every node runs the metadata quorum, so a test's single broker is a
// one-voter combined node (broker and controller) listening for clients on <host>:9092 and for the
// quorum on <host>:9093.
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "broker/base/assert.h"
#include "broker/client/admin.h"
#include "broker/config/config.h"

namespace keel::test {

inline constexpr std::uint16_t client_port = 9092;
inline constexpr std::uint16_t controller_port = 9093;

// Where clients reach the node of single_node_config() on its default host, n0.
inline const Address node0_address{"n0", client_port};
inline const std::vector<Address> bootstrap{node0_address};

// server.properties text of a single combined node; `extra` lines are appended (a later key wins).
inline std::string single_node_properties(std::string_view extra = "", int node_id = 0, std::string_view host = "n0",
                                          std::string_view log_dirs = "logs") {
  return fmt::format(
      "node.id={0}\n"
      "process.roles=broker,controller\n"
      "controller.quorum.voters={0}@{1}:{3}\n"
      "controller.listener.names=CONTROLLER\n"
      "listeners=PLAINTEXT://{1}:{2},CONTROLLER://{1}:{3}\n"
      "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT\n"
      "log.dirs={4}\n{5}",
      node_id, host, client_port, controller_port, log_dirs, extra);
}

inline config::BrokerConfig single_node_config(std::string_view extra = "", int node_id = 0,
                                               std::string_view host = "n0") {
  auto config = config::parse_broker_config(single_node_properties(extra, node_id, host), "test node config", {});
  KEEL_ASSERT_MSG(config.ok(), "test node config: {}", config ? "" : config.error().message);
  return *config;
}

// Waits until the cluster at `bootstrap` serves: its quorum elected a controller and at least
// `brokers` brokers registered (Metadata lists them), as a real client's retries would. False when
// `timeout` passed first.
inline bool await_serving(Runtime& rt, std::vector<Address> bootstrap, std::size_t brokers = 1,
                          Duration timeout = std::chrono::seconds(60)) {
  client::Admin admin(rt, std::move(bootstrap), std::chrono::seconds(5));
  const Instant deadline = rt.now() + timeout;
  while (rt.now() < deadline) {
    auto metadata = admin.metadata({});
    if (metadata && metadata->brokers.size() >= brokers) return true;
    rt.sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

// Creates `topic`, asking again while the cluster starts or drops the connection (Admin does not
// resend a CreateTopics whose connection broke; an answer of TOPIC_ALREADY_EXISTS then means an
// earlier attempt landed). False when 50 attempts, 100 ms apart, all failed.
inline bool create_topic_retrying(Runtime& rt, const std::string& topic, std::int32_t partitions,
                                  Duration request_timeout = std::chrono::seconds(30),
                                  const std::vector<Address>& servers = bootstrap) {
  client::Admin admin(rt, servers, request_timeout);
  for (int attempt = 0; attempt < 50; ++attempt) {
    const Status created = admin.create_topic(topic, partitions, 1);
    if (created || client::is_kafka_error(created, protocol::ErrorCode::topic_already_exists)) return true;
    rt.sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

}  // namespace keel::test
