#pragma once
// Consumer-group members speaking the classic protocol in raw requests, and the configs of a
// three-node Keel cluster, for the group benchmark (sim/bench) and the coordinator failover test:
// a member finds its coordinator, joins (JoinGroup v5, MEMBER_ID_REQUIRED), syncs, heartbeats,
// commits and fetches offsets, and moves to the new coordinator when answered NOT_COORDINATOR,
// COORDINATOR_NOT_AVAILABLE, COORDINATOR_LOAD_IN_PROGRESS, or when its connection breaks.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "broker/protocol/errors.h"
#include "tests/support/kafka_client.h"
#include "tests/support/node_config.h"

namespace keel::test {

// server.properties of node `id` of a cluster of `nodes` combined nodes n0..n{nodes-1}.
inline config::BrokerConfig cluster_node_config(int id, int nodes, std::string_view extra = "") {
  std::string voters;
  for (int n = 0; n < nodes; ++n) voters += fmt::format("{}{}@n{}:{}", n == 0 ? "" : ",", n, n, controller_port);
  const std::string text = single_node_properties(fmt::format("controller.quorum.voters={}\n{}", voters, extra), id,
                                                  fmt::format("n{}", id));
  auto config = config::parse_broker_config(text, fmt::format("cluster node {} config", id), {});
  KEEL_ASSERT_MSG(config.ok(), "cluster node config: {}", config ? "" : config.error().message);
  return *config;
}

inline std::vector<Address> cluster_bootstrap(int nodes) {
  std::vector<Address> out;
  for (int n = 0; n < nodes; ++n) out.push_back(Address{fmt::format("n{}", n), client_port});
  return out;
}

// Whether an error says "ask another broker, or this one later".
inline bool coordinator_moved(std::int16_t error) {
  using protocol::ErrorCode;
  return error == static_cast<std::int16_t>(ErrorCode::not_coordinator) ||
         error == static_cast<std::int16_t>(ErrorCode::coordinator_not_available) ||
         error == static_cast<std::int16_t>(ErrorCode::coordinator_load_in_progress);
}

class GroupMember {
 public:
  GroupMember(Runtime& rt, std::vector<Address> bootstrap, std::string group)
      : rt_(rt), bootstrap_(std::move(bootstrap)), group_(std::move(group)) {}

  const std::string& member_id() const { return member_id_; }
  std::int32_t generation() const { return generation_; }
  int coordinator() const { return coordinator_node_; }

  // Asks the bootstrap brokers in turn for the group's coordinator and connects to it; false when
  // `deadline` passed first.
  bool find_coordinator(Instant deadline) {
    coordinator_.reset();
    for (std::size_t i = 0; rt_.now() < deadline; ++i) {
      const Address& server = bootstrap_[(next_bootstrap_ + i) % bootstrap_.size()];
      RawClient c(rt_, server);
      if (!connect_once(c)) continue;
      protocol::FindCoordinatorRequest request;
      request.key = group_;
      auto r = c.call<protocol::FindCoordinatorResponse>(request, 3);
      if (r && r->error_code == 0) {
        auto conn = std::make_unique<RawClient>(rt_, Address{r->host, static_cast<std::uint16_t>(r->port)});
        if (connect_once(*conn)) {
          coordinator_ = std::move(conn);
          coordinator_node_ = r->node_id;
          return true;
        }
      }
      next_bootstrap_ = (next_bootstrap_ + i + 1) % bootstrap_.size();
      rt_.sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }

  // JoinGroup v5 as a new member (asking again with the id MEMBER_ID_REQUIRED handed out) or as the
  // member it is; nullopt when the coordinator did not answer.
  std::optional<protocol::JoinGroupResponse> join(std::int32_t session_timeout_ms = 10000,
                                                  std::int32_t rebalance_timeout_ms = 30000) {
    protocol::JoinGroupRequest request;
    request.group_id = group_;
    request.member_id = member_id_;
    request.session_timeout_ms = session_timeout_ms;
    request.rebalance_timeout_ms = rebalance_timeout_ms;
    request.protocol_type = "consumer";
    request.protocols = {{"range", protocol::Bytes{0, 1}}};
    auto r = call<protocol::JoinGroupResponse>(request, 5);
    if (r && r->error_code == static_cast<std::int16_t>(protocol::ErrorCode::member_id_required)) {
      request.member_id = member_id_ = r->member_id;
      r = call<protocol::JoinGroupResponse>(request, 5);
    }
    if (r && r->error_code == 0) {
      member_id_ = r->member_id;
      generation_ = r->generation_id;
    }
    return r;
  }

  // SyncGroup v3; the leader passes every member's assignment.
  std::optional<protocol::SyncGroupResponse> sync(std::vector<protocol::SyncGroupRequest::Assignment> assignments = {}) {
    protocol::SyncGroupRequest request;
    request.group_id = group_;
    request.generation_id = generation_;
    request.member_id = member_id_;
    request.assignments = std::move(assignments);
    return call<protocol::SyncGroupResponse>(request, 3);
  }

  std::optional<protocol::HeartbeatResponse> heartbeat() {
    return call<protocol::HeartbeatResponse>(protocol::HeartbeatRequest{group_, generation_, member_id_, {}}, 3);
  }

  // OffsetCommit v7 of one partition of topic "t"; the error code, or nullopt without an answer.
  // `simple`: as a simple group (generation -1, no member id).
  std::optional<std::int16_t> commit(std::int32_t partition, std::int64_t offset, bool simple) {
    protocol::OffsetCommitRequest request;
    request.group_id = group_;
    request.generation_id_or_member_epoch = simple ? -1 : generation_;
    request.member_id = simple ? "" : member_id_;
    request.topics = {{"t", {{partition, offset, -1, std::string()}}}};
    auto r = call<protocol::OffsetCommitResponse>(request, 7);
    if (!r || r->topics.empty() || r->topics[0].partitions.empty()) return std::nullopt;
    return r->topics[0].partitions[0].error_code;
  }

  // OffsetFetch v7 of partitions 0..count-1 of "t": the group error or the committed offsets.
  struct Fetched {
    std::int16_t error = 0;
    std::vector<std::int64_t> offsets;
  };
  std::optional<Fetched> fetch(std::int32_t count) {
    protocol::OffsetFetchRequest request;
    request.group_id = group_;
    std::vector<std::int32_t> partitions;
    for (std::int32_t p = 0; p < count; ++p) partitions.push_back(p);
    request.topics = std::vector<protocol::OffsetFetchRequest::Topic>{{"t", partitions}};
    auto r = call<protocol::OffsetFetchResponse>(request, 7);
    if (!r) return std::nullopt;
    Fetched out{r->error_code, std::vector<std::int64_t>(static_cast<std::size_t>(count), -1)};
    for (const auto& t : r->topics) {
      for (const auto& p : t.partitions) {
        if (p.partition_index >= 0 && p.partition_index < count) out.offsets[static_cast<std::size_t>(p.partition_index)] = p.committed_offset;
      }
    }
    return out;
  }

 private:
  static bool connect_once(RawClient& c) { return c.try_connect(); }

  template <class Resp, class Req>
  std::optional<Resp> call(const Req& request, std::int16_t version) {
    if (!coordinator_) return std::nullopt;
    auto r = coordinator_->call<Resp>(request, version);
    if (!r) coordinator_.reset();  // the connection broke: find the coordinator again
    return r;
  }

  Runtime& rt_;
  std::vector<Address> bootstrap_;
  std::string group_;
  std::unique_ptr<RawClient> coordinator_;
  int coordinator_node_ = -1;
  std::size_t next_bootstrap_ = 0;
  std::string member_id_;
  std::int32_t generation_ = -1;
};

}  // namespace keel::test
