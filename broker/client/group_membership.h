#pragma once
// The group coordinator as a client reaches it: FindCoordinator through any broker, then a
// connection of its own to the coordinator's host and port (as the Java client does, so that a
// JoinGroup the coordinator parks for seconds holds up nothing else), found again after the
// coordinator moved (NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE) or the connection broke.
// GroupConsumer and Admin stand on it.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <vector>
#include <string>

#include "broker/client/cluster.h"

namespace keel::client {

using OffsetMap = std::map<TopicPartition, std::int64_t>;

struct CoordinatorInfo {
  std::int32_t node_id = -1;
  Address address;
};

// One FindCoordinator for a group on `connection` (v0-3 with a single key, or v4's batch of one).
// The broker's error comes back as a kafka_error().
Result<CoordinatorInfo> find_coordinator(BrokerConnection& connection, const std::string& group);

// The group errors after which a client asks for the coordinator again.
bool coordinator_moved(protocol::ErrorCode code);

class CoordinatorLink {
 public:
  CoordinatorLink(Cluster& cluster, std::string group) : cluster_(cluster), group_(std::move(group)) {}
  ~CoordinatorLink();
  CoordinatorLink(const CoordinatorLink&) = delete;
  CoordinatorLink& operator=(const CoordinatorLink&) = delete;

  // The open connection to the coordinator, or a new one: FindCoordinator through any broker, then
  // a connect. An error when either fails; the caller backs off and asks again.
  Result<std::shared_ptr<BrokerConnection>> connection();
  // Forgets the coordinator (it moved, or its connection broke): the next call finds it again.
  void forget();
  std::optional<std::int32_t> coordinator_node() const;
  const std::string& group() const { return group_; }

  // Sends the request `make(version)` builds, at the highest version of `key` both sides speak up
  // to `version_max`. A broken connection forgets the coordinator.
  template <class Response, class Make>
  Result<Response> call(protocol::ApiKey key, std::int16_t version_max, Make make) {
    auto c = connection();
    if (!c) return c.error();
    const auto version = (*c)->version_for(key, version_max);
    if (!version) {
      return make_error(Errc::refused, std::string("the coordinator serves no version this client speaks of ") +
                                           std::string(protocol::api_name(key)));
    }
    auto response = (*c)->template call<Response>(make(*version), *version);
    if (!response) forget();
    return response;
  }

 private:
  Cluster& cluster_;
  std::string group_;
  std::shared_ptr<BrokerConnection> connection_;
  std::optional<CoordinatorInfo> coordinator_;
  std::shared_ptr<Event> connecting_;  // set while one task looks the coordinator up; others wait on it
};

// An OffsetCommit of `offsets` (one topic entry per run of a topic, in map order) under the given
// identity: a member's generation and id, or -1 and "" for an admin commit.
protocol::OffsetCommitRequest offset_commit_request(const std::string& group, std::int32_t generation,
                                                    const std::string& member_id,
                                                    const std::optional<std::string>& instance_id,
                                                    const OffsetMap& offsets);

// A KIP-848 member, as OffsetFetch v9 names it.
struct MemberIdentity {
  std::string member_id;
  std::int32_t member_epoch = -1;
};

// The group's committed offsets for `partitions` (OffsetFetch, -1 where none; no partitions: every
// partition the group committed); the first error of the group or of a partition as a
// kafka_error(). With `member` the request is v9 (a KIP-848 member fetching; the coordinator checks
// its epoch), else at most v7.
Result<OffsetMap> fetch_offsets(CoordinatorLink& link, const std::vector<TopicPartition>& partitions,
                                bool require_stable, const std::optional<MemberIdentity>& member = std::nullopt);

}  // namespace keel::client
