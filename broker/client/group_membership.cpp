#include "broker/client/group_membership.h"

#include <fmt/format.h>

#include "broker/protocol/errors.h"

namespace keel::client {
namespace {

using protocol::ErrorCode;
constexpr std::int16_t find_coordinator_version_max = 4;
constexpr std::int16_t offset_fetch_version_max = 7;
// v9 names the fetching KIP-848 member; the layout of v8+ (a list of groups) is used only then.
constexpr std::int16_t member_offset_fetch_version_max = 9;

}  // namespace

Result<CoordinatorInfo> find_coordinator(BrokerConnection& connection, const std::string& group) {
  const auto version = connection.version_for(protocol::ApiKey::find_coordinator, find_coordinator_version_max);
  if (!version) return make_error(Errc::refused, "the broker serves no FindCoordinator version this client speaks");
  protocol::FindCoordinatorRequest request;
  request.key_type = protocol::FindCoordinatorRequest::key_type_group;
  if (*version >= 4) request.coordinator_keys = {group};
  else request.key = group;
  auto response = connection.call<protocol::FindCoordinatorResponse>(request, *version);
  if (!response) return response.error();
  protocol::FindCoordinatorResponse::Coordinator answer;
  if (*version >= 4) {
    if (response->coordinators.size() != 1) {
      return make_error(Errc::corrupt, fmt::format("FindCoordinator for group {} answered {} coordinators, not 1", group,
                                                   response->coordinators.size()));
    }
    answer = response->coordinators[0];
  } else {
    answer = {group, response->node_id, response->host, response->port, response->error_code, response->error_message};
  }
  if (answer.error_code != 0) {
    return kafka_error(static_cast<ErrorCode>(answer.error_code), fmt::format("FindCoordinator for group {}", group));
  }
  return CoordinatorInfo{answer.node_id, Address{answer.host, static_cast<std::uint16_t>(answer.port)}};
}

bool coordinator_moved(ErrorCode code) {
  return code == ErrorCode::not_coordinator || code == ErrorCode::coordinator_not_available;
}

CoordinatorLink::~CoordinatorLink() {
  if (connection_) connection_->close();
}

void CoordinatorLink::forget() {
  if (connection_) connection_->close();
  connection_.reset();
  coordinator_.reset();
}

std::optional<std::int32_t> CoordinatorLink::coordinator_node() const {
  if (!coordinator_) return std::nullopt;
  return coordinator_->node_id;
}

Result<std::shared_ptr<BrokerConnection>> CoordinatorLink::connection() {
  while (connecting_) {
    auto connecting = connecting_;  // another task looks the coordinator up: share its answer
    connecting->wait();
  }
  if (connection_ && connection_->usable()) return connection_;
  // Whatever happens to this task (even its cancellation), the waiters hear the attempt is over.
  struct Attempt {
    CoordinatorLink& link;
    std::shared_ptr<Event> event = std::make_shared<Event>();
    ~Attempt() {
      link.connecting_.reset();
      event->set();
    }
  } attempt{*this};
  connecting_ = attempt.event;
  forget();
  auto any = cluster_.connection(-1);
  if (!any) return any.error();
  auto found = find_coordinator(**any, group_);
  if (!found) return found.error();
  Runtime& rt = cluster_.runtime();
  auto c = std::make_shared<BrokerConnection>(rt, found->address, cluster_.client_id(), cluster_.request_timeout());
  if (auto st = c->open(std::min(cluster_.request_timeout(), ClusterLimits().connect_timeout_max)); !st) {
    return Error{st.error().code, fmt::format("the coordinator of group {} at {}: {}", group_,
                                              found->address.to_string(), st.error().message)};
  }
  coordinator_ = *found;
  connection_ = std::move(c);
  return connection_;
}

protocol::OffsetCommitRequest offset_commit_request(const std::string& group, std::int32_t generation,
                                                    const std::string& member_id,
                                                    const std::optional<std::string>& instance_id,
                                                    const OffsetMap& offsets) {
  protocol::OffsetCommitRequest request;
  request.group_id = group;
  request.generation_id_or_member_epoch = generation;
  request.member_id = member_id;
  request.group_instance_id = instance_id;
  for (const auto& [tp, offset] : offsets) {
    if (request.topics.empty() || request.topics.back().name != tp.topic) request.topics.push_back({tp.topic, {}});
    request.topics.back().partitions.push_back({tp.partition, offset, -1, std::string()});
  }
  return request;
}

namespace {

protocol::OffsetFetchRequest offset_fetch_request(const std::string& group, const std::vector<TopicPartition>& partitions,
                                                  bool require_stable, const std::optional<MemberIdentity>& member,
                                                  std::int16_t version) {
  protocol::OffsetFetchRequest request;
  request.require_stable = require_stable;
  std::vector<protocol::OffsetFetchRequest::Topic> topics;
  for (const auto& tp : partitions) {
    if (topics.empty() || topics.back().name != tp.topic) topics.push_back({tp.topic, {}});
    topics.back().partition_indexes.push_back(tp.partition);
  }
  // No partitions: every partition the group committed (a null list, OffsetFetch v2+).
  std::optional<std::vector<protocol::OffsetFetchRequest::Topic>> list;
  if (!topics.empty()) list = std::move(topics);
  if (version < 8) {
    request.group_id = group;
    request.topics = std::move(list);
    return request;
  }
  protocol::OffsetFetchRequest::Group g;
  g.group_id = group;
  if (member) {
    g.member_id = member->member_id;
    g.member_epoch = member->member_epoch;
  }
  g.topics = std::move(list);
  request.groups.push_back(std::move(g));
  return request;
}

// The offsets of one group's answer, or its first error.
Result<OffsetMap> offsets_of(const std::string& group, std::int16_t error_code,
                             const std::vector<protocol::OffsetFetchResponse::Topic>& topics) {
  if (error_code != 0) {
    return kafka_error(static_cast<ErrorCode>(error_code), fmt::format("OffsetFetch for group {}", group));
  }
  OffsetMap out;
  for (const auto& t : topics) {
    for (const auto& p : t.partitions) {
      if (p.error_code != 0) {
        return kafka_error(static_cast<ErrorCode>(p.error_code),
                           fmt::format("OffsetFetch for group {}, {}-{}", group, t.name, p.partition_index));
      }
      out[TopicPartition{t.name, p.partition_index}] = p.committed_offset;
    }
  }
  return out;
}

}  // namespace

Result<OffsetMap> fetch_offsets(CoordinatorLink& link, const std::vector<TopicPartition>& partitions, bool require_stable,
                                const std::optional<MemberIdentity>& member) {
  std::int16_t used = 0;
  auto response = link.call<protocol::OffsetFetchResponse>(
      protocol::ApiKey::offset_fetch, member ? member_offset_fetch_version_max : offset_fetch_version_max,
      [&](std::int16_t version) {
        used = version;
        return offset_fetch_request(link.group(), partitions, require_stable, member, version);
      });
  if (!response) return response.error();
  if (used < 8) return offsets_of(link.group(), response->error_code, response->topics);
  if (response->groups.size() != 1 || response->groups[0].group_id != link.group()) {
    return make_error(Errc::corrupt, fmt::format("OffsetFetch for group {} answered {} groups", link.group(),
                                                 response->groups.size()));
  }
  return offsets_of(link.group(), response->groups[0].error_code, response->groups[0].topics);
}

}  // namespace keel::client
