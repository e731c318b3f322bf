#include "broker/client/admin.h"

#include "broker/base/assert.h"

#include <fmt/format.h>

#include "broker/client/assignors/consumer_protocol.h"
#include "broker/client/consumer.h"
#include "broker/protocol/errors.h"

#include <algorithm>

namespace keel::client {
namespace {

// The newest versions this client writes (DeleteTopics v6 names topics differently).
constexpr std::int16_t create_topics_version_max = 7;
constexpr std::int16_t delete_topics_version_max = 5;
constexpr std::int16_t create_partitions_version_max = 3;
constexpr std::int16_t delete_records_version_max = 2;
constexpr std::int16_t list_offsets_version_max = 9;
constexpr std::int16_t describe_cluster_version_max = 1;
constexpr std::int16_t elect_leaders_version_max = 2;
constexpr std::int16_t describe_log_dirs_version_max = 4;

// The ListOffsets version a lookup needs (the spec's, or 1 for a plain lookup).
std::int16_t list_offsets_version_min(std::int64_t timestamp) {
  if (timestamp == static_cast<std::int64_t>(OffsetSpec::latest_tiered)) return 9;
  if (timestamp == static_cast<std::int64_t>(OffsetSpec::earliest_local)) return 8;
  if (timestamp == static_cast<std::int64_t>(OffsetSpec::max_timestamp)) return 7;
  return 1;
}

Status partition_error(std::int16_t code, std::string_view what, const TopicPartition& tp) {
  if (code == 0) return {};
  return kafka_error(static_cast<protocol::ErrorCode>(code), fmt::format("{} {}", what, tp.to_string()));
}


constexpr std::int16_t describe_configs_version_max = 4;
constexpr std::int16_t alter_configs_version_max = 2;
constexpr std::int16_t incremental_alter_configs_version_max = 1;

// The one resource's answer of an alter, as a Status.
template <class Response>
Status resource_status(const Result<Response>& response, std::string_view api) {
  if (!response) return response.error();
  if (response->responses.empty()) return make_error(Errc::corrupt, fmt::format("{} answered without the resource", api));
  const auto& r = response->responses[0];
  if (r.error_code != 0) return kafka_error(static_cast<protocol::ErrorCode>(r.error_code), r.error_message.value_or(""));
  return {};
}
constexpr Duration connect_retry_backoff = std::chrono::milliseconds(100);
constexpr std::int16_t list_groups_version_max = 4;
constexpr std::int16_t describe_groups_version_max = 5;
constexpr std::int16_t consumer_group_describe_version_max = 1;
constexpr std::int16_t delete_groups_version_max = 2;
constexpr std::int16_t offset_delete_version_max = 0;
constexpr std::int16_t offset_commit_version_max = 8;

using protocol::ApiKey;
using protocol::ErrorCode;

// Whether a group call is worth asking again: the coordinator moved or is loading, or the
// connection broke.
bool ask_again(const Error& e) {
  if (auto code = kafka_error_code(e)) return coordinator_moved(*code) || *code == ErrorCode::coordinator_load_in_progress;
  return e.code != Errc::invalid_argument && e.code != Errc::corrupt;
}

Status group_error(std::int16_t code, const std::string& what) {
  if (code == 0) return {};
  return kafka_error(static_cast<ErrorCode>(code), what);
}

}  // namespace

Admin::Admin(Runtime& rt, std::vector<Address> bootstrap_servers, Duration request_timeout)
    : bootstrap_(bootstrap_servers),
      cluster_(rt, std::move(bootstrap_servers), "keel-admin", request_timeout),
      request_timeout_(request_timeout) {}

Result<std::shared_ptr<BrokerConnection>> Admin::connect_any() {
  Runtime& rt = cluster_.runtime();
  const Instant deadline = rt.now() + request_timeout_;
  while (true) {
    auto connection = cluster_.connection(-1);
    if (connection || rt.now() >= deadline) return connection;
    rt.sleep_for(connect_retry_backoff);
  }
}

Status Admin::create_topic(const std::string& name, std::int32_t partitions, std::int16_t replication_factor,
                           const std::map<std::string, std::string>& configs) {
  auto connection = connect_any();
  if (!connection) return connection.error();
  const auto version = (*connection)->version_for(protocol::ApiKey::create_topics, create_topics_version_max);
  if (!version) return make_error(Errc::refused, "the broker serves no CreateTopics version this client speaks");
  protocol::CreateTopicsRequest request;
  protocol::CreateTopicsRequest::CreatableTopic topic;
  topic.name = name;
  topic.num_partitions = partitions;
  topic.replication_factor = replication_factor;
  for (const auto& [key, value] : configs) {
    protocol::CreateTopicsRequest::CreatableTopicConfig c;
    c.name = key;
    c.value = value;
    topic.configs.push_back(std::move(c));
  }
  request.topics.push_back(std::move(topic));
  request.timeout_ms = static_cast<std::int32_t>(to_ms(request_timeout_));
  auto response = (*connection)->call<protocol::CreateTopicsResponse>(request, *version);
  if (!response) return response.error();
  if (response->topics.empty()) return make_error(Errc::corrupt, "CreateTopics answered without the topic");
  const auto& result = response->topics[0];
  if (result.error_code != 0) {
    return kafka_error(static_cast<protocol::ErrorCode>(result.error_code), result.error_message.value_or(""));
  }
  return {};
}

Status Admin::delete_topic(const std::string& name) {
  auto connection = connect_any();
  if (!connection) return connection.error();
  const auto version = (*connection)->version_for(protocol::ApiKey::delete_topics, delete_topics_version_max);
  if (!version) return make_error(Errc::refused, "the broker serves no DeleteTopics version this client speaks");
  protocol::DeleteTopicsRequest request;
  request.topic_names = {name};
  request.timeout_ms = static_cast<std::int32_t>(to_ms(request_timeout_));
  auto response = (*connection)->call<protocol::DeleteTopicsResponse>(request, *version);
  if (!response) return response.error();
  if (response->responses.empty()) return make_error(Errc::corrupt, "DeleteTopics answered without the topic");
  const auto& result = response->responses[0];
  if (result.error_code != 0) {
    return kafka_error(static_cast<protocol::ErrorCode>(result.error_code), result.error_message.value_or(""));
  }
  return {};
}

Result<protocol::MetadataResponse> Admin::metadata(const std::vector<std::string>& topics) {
  auto connection = connect_any();
  if (!connection) return connection.error();
  return request_metadata(**connection, topics, false);
}

Result<std::int16_t> Admin::version(const BrokerConnection& connection, protocol::ApiKey key, std::int16_t client_max) {
  const auto v = connection.version_for(key, client_max);
  if (!v) return make_error(Errc::refused, fmt::format("the broker serves no {} version this client speaks", protocol::api_name(key)));
  KEEL_ASSERT(0 <= *v && *v <= client_max);  // every request goes out at a version this client speaks
  return *v;
}

Result<std::shared_ptr<BrokerConnection>> Admin::connect_leader(const TopicPartition& tp) {
  if (auto st = cluster_.refresh({tp.topic}, false); !st) return st.error();
  const auto leader = cluster_.leader(tp);
  if (!leader) return kafka_error(protocol::ErrorCode::leader_not_available, tp.to_string());
  return cluster_.connection(*leader);
}

Status Admin::create_partitions(const std::string& topic, std::int32_t count,
                                const std::vector<std::vector<std::int32_t>>& assignments, bool validate_only) {
  auto connection = connect_any();
  if (!connection) return connection.error();
  auto v = version(**connection, protocol::ApiKey::create_partitions, create_partitions_version_max);
  if (!v) return v.error();
  protocol::CreatePartitionsRequest request;
  auto& t = request.topics.emplace_back();
  t.name = topic;
  t.count = count;
  if (!assignments.empty()) {
    t.assignments.emplace();
    for (const auto& replicas : assignments) t.assignments->push_back({replicas});
  }
  request.timeout_ms = static_cast<std::int32_t>(to_ms(request_timeout_));
  request.validate_only = validate_only;
  auto response = (*connection)->call<protocol::CreatePartitionsResponse>(request, *v);
  if (!response) return response.error();
  if (response->results.size() != 1) return make_error(Errc::corrupt, "CreatePartitions answered for other topics");
  const auto& result = response->results[0];
  if (result.error_code != 0)
    return kafka_error(static_cast<protocol::ErrorCode>(result.error_code), result.error_message.value_or(""));
  return {};
}

Result<std::int64_t> Admin::delete_records(const TopicPartition& tp, std::int64_t offset) {
  auto connection = connect_leader(tp);
  if (!connection) return connection.error();
  auto v = version(**connection, protocol::ApiKey::delete_records, delete_records_version_max);
  if (!v) return v.error();
  protocol::DeleteRecordsRequest request;
  auto& t = request.topics.emplace_back();
  t.name = tp.topic;
  t.partitions.push_back({tp.partition, offset});
  request.timeout_ms = static_cast<std::int32_t>(to_ms(request_timeout_));
  auto response = (*connection)->call<protocol::DeleteRecordsResponse>(request, *v);
  if (!response) return response.error();
  if (response->topics.size() != 1 || response->topics[0].partitions.size() != 1)
    return make_error(Errc::corrupt, "DeleteRecords answered for other partitions");
  const auto& result = response->topics[0].partitions[0];
  if (auto st = partition_error(result.error_code, "DeleteRecords", tp); !st) return st.error();
  return result.low_watermark;
}

Result<ListedOffset> Admin::list_offset(const TopicPartition& tp, OffsetSpec spec) {
  return list_offset(tp, static_cast<std::int64_t>(spec));
}

Result<ListedOffset> Admin::list_offset(const TopicPartition& tp, std::int64_t timestamp) {
  auto connection = connect_leader(tp);
  if (!connection) return connection.error();
  auto v = version(**connection, protocol::ApiKey::list_offsets, list_offsets_version_max);
  if (!v) return v.error();
  if (*v < list_offsets_version_min(timestamp))
    return kafka_error(protocol::ErrorCode::unsupported_version, fmt::format("ListOffsets v{} cannot look up {}", *v, timestamp));
  protocol::ListOffsetsRequest request;
  request.replica_id = -1;
  auto& t = request.topics.emplace_back();
  t.name = tp.topic;
  auto& p = t.partitions.emplace_back();
  p.partition_index = tp.partition;
  p.timestamp = timestamp;
  auto response = (*connection)->call<protocol::ListOffsetsResponse>(request, *v);
  if (!response) return response.error();
  if (response->topics.size() != 1 || response->topics[0].partitions.size() != 1)
    return make_error(Errc::corrupt, "ListOffsets answered for other partitions");
  const auto& result = response->topics[0].partitions[0];
  if (auto st = partition_error(result.error_code, "ListOffsets", tp); !st) return st.error();
  return ListedOffset{result.offset, result.timestamp, result.leader_epoch};
}

Result<protocol::DescribeClusterResponse> Admin::describe_cluster(bool include_authorized_operations) {
  auto connection = connect_any();
  if (!connection) return connection.error();
  auto v = version(**connection, protocol::ApiKey::describe_cluster, describe_cluster_version_max);
  if (!v) return v.error();
  protocol::DescribeClusterRequest request;
  request.include_cluster_authorized_operations = include_authorized_operations;
  auto response = (*connection)->call<protocol::DescribeClusterResponse>(request, *v);
  if (!response) return response.error();
  if (response->error_code != 0)
    return kafka_error(static_cast<protocol::ErrorCode>(response->error_code), response->error_message.value_or(""));
  return response;
}

Result<std::vector<ElectionResult>> Admin::elect_leaders(ElectionKind kind,
                                                         const std::optional<std::vector<TopicPartition>>& partitions) {
  auto connection = connect_any();
  if (!connection) return connection.error();
  auto v = version(**connection, protocol::ApiKey::elect_leaders, elect_leaders_version_max);
  if (!v) return v.error();
  if (kind == ElectionKind::unclean && *v < 1) return make_error(Errc::refused, "the broker serves only preferred elections");
  protocol::ElectLeadersRequest request;
  request.election_type = static_cast<std::int8_t>(kind);
  request.timeout_ms = static_cast<std::int32_t>(to_ms(request_timeout_));
  if (partitions) {
    request.topic_partitions.emplace();
    for (const auto& tp : *partitions) {
      auto& list = *request.topic_partitions;
      if (list.empty() || list.back().topic != tp.topic) list.push_back({tp.topic, {}});
      list.back().partitions.push_back(tp.partition);
    }
  }
  auto response = (*connection)->call<protocol::ElectLeadersResponse>(request, *v);
  if (!response) return response.error();
  if (response->error_code != 0) return kafka_error(static_cast<protocol::ErrorCode>(response->error_code), "ElectLeaders");
  std::vector<ElectionResult> out;
  for (const auto& topic : response->replica_election_results)
    for (const auto& p : topic.partition_result)
      out.push_back({TopicPartition{topic.topic, p.partition_id}, static_cast<protocol::ErrorCode>(p.error_code),
                     p.error_message.value_or("")});
  return out;
}

Result<protocol::DescribeLogDirsResponse> Admin::describe_log_dirs(std::int32_t broker_id) {
  if (auto st = cluster_.refresh({}, false); !st) return st.error();
  auto connection = cluster_.connection(broker_id);
  if (!connection) return connection.error();
  auto v = version(**connection, protocol::ApiKey::describe_log_dirs, describe_log_dirs_version_max);
  if (!v) return v.error();
  protocol::DescribeLogDirsRequest request;
  request.topics = std::nullopt;  // every partition
  auto response = (*connection)->call<protocol::DescribeLogDirsResponse>(request, *v);
  if (!response) return response.error();
  if (response->error_code != 0) return kafka_error(static_cast<protocol::ErrorCode>(response->error_code), "DescribeLogDirs");
  return response;
}

// ---- groups ----

template <class Call>
auto Admin::with_coordinator(const std::string& group, Call call) -> decltype(call(std::declval<CoordinatorLink&>())) {
  Runtime& rt = cluster_.runtime();
  const Instant deadline = rt.now() + request_timeout_;
  CoordinatorLink link(cluster_, group);
  while (true) {
    auto result = call(link);
    if (result || !ask_again(result.error()) || rt.now() >= deadline) return result;
    if (auto code = kafka_error_code(result.error()); code && coordinator_moved(*code)) link.forget();
    rt.sleep_for(connect_retry_backoff);
  }
}

Result<std::vector<GroupListing>> Admin::list_groups() {
  Runtime& rt = cluster_.runtime();
  const Instant deadline = rt.now() + request_timeout_;
  while (true) {
    auto listed = list_groups_once();
    if (listed || !ask_again(listed.error()) || rt.now() >= deadline) return listed;
    rt.sleep_for(connect_retry_backoff);
  }
}

Result<std::vector<GroupListing>> Admin::list_groups_once() {
  if (auto st = cluster_.refresh({}, false); !st) return st.error();
  auto brokers = metadata({});
  if (!brokers) return brokers.error();
  std::vector<GroupListing> out;
  for (const auto& b : brokers->brokers) {
    auto connection = cluster_.connection(b.node_id);
    if (!connection) return connection.error();
    const auto version = (*connection)->version_for(ApiKey::list_groups, list_groups_version_max);
    if (!version) return make_error(Errc::refused, "the broker serves no ListGroups version this client speaks");
    auto response = (*connection)->call<protocol::ListGroupsResponse>(protocol::ListGroupsRequest{}, *version);
    if (!response) return response.error();
    if (auto st = group_error(response->error_code, fmt::format("ListGroups on broker {}", b.node_id)); !st) return st.error();
    for (const auto& g : response->groups) out.push_back({g.group_id, g.protocol_type, g.group_state, b.node_id});
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.group_id < b.group_id; });
  return out;
}

namespace {

MemberDescription describe_member(const protocol::DescribeGroupsResponse::Member& m) {
  MemberDescription d{m.member_id, m.group_instance_id, m.client_id, m.client_host, {}};
  if (auto a = assignors::decode_assignment(m.member_assignment)) d.assignment = assignors::flatten(a->partitions);
  return d;
}

}  // namespace

Result<GroupDescription> Admin::describe_group(const std::string& group) {
  return with_coordinator(group, [&](CoordinatorLink& link) -> Result<GroupDescription> {
    auto response = link.call<protocol::DescribeGroupsResponse>(ApiKey::describe_groups, describe_groups_version_max,
                                                                [&](std::int16_t) {
                                                                  protocol::DescribeGroupsRequest request;
                                                                  request.groups = {group};
                                                                  return request;
                                                                });
    if (!response) return response.error();
    if (response->groups.size() != 1) return make_error(Errc::corrupt, fmt::format("DescribeGroups of {}: no answer", group));
    const auto& g = response->groups[0];
    if (auto st = group_error(g.error_code, fmt::format("DescribeGroups of {}", group)); !st) return st.error();
    GroupDescription d{g.group_id, g.group_state, g.protocol_type, g.protocol_data, {}, link.coordinator_node().value_or(-1)};
    for (const auto& m : g.members) d.members.push_back(describe_member(m));
    std::sort(d.members.begin(), d.members.end(), [](const auto& a, const auto& b) { return a.member_id < b.member_id; });
    return d;
  });
}

namespace {

std::vector<TopicPartition> named_partitions(const protocol::ConsumerGroupDescribeResponse::Assignment& assignment) {
  std::vector<TopicPartition> out;
  for (const auto& t : assignment.topic_partitions) {
    for (auto p : t.partitions) out.push_back({t.topic_name, p});
  }
  std::sort(out.begin(), out.end());
  return out;
}

ConsumerMemberDescription describe_consumer_member(const protocol::ConsumerGroupDescribeResponse::Member& m) {
  return {m.member_id,      m.instance_id,           m.member_epoch,
          m.client_id,      m.client_host,           m.subscribed_topic_names,
          m.subscribed_topic_regex, named_partitions(m.assignment), named_partitions(m.target_assignment)};
}

}  // namespace

Result<ConsumerGroupDescription> Admin::describe_consumer_group(const std::string& group) {
  return with_coordinator(group, [&](CoordinatorLink& link) -> Result<ConsumerGroupDescription> {
    auto response = link.call<protocol::ConsumerGroupDescribeResponse>(
        ApiKey::consumer_group_describe, consumer_group_describe_version_max, [&](std::int16_t) {
          protocol::ConsumerGroupDescribeRequest request;
          request.group_ids = {group};
          return request;
        });
    if (!response) return response.error();
    if (response->groups.size() != 1) {
      return make_error(Errc::corrupt, fmt::format("ConsumerGroupDescribe of {}: no answer", group));
    }
    const auto& g = response->groups[0];
    if (auto st = group_error(g.error_code, fmt::format("ConsumerGroupDescribe of {}", group)); !st) return st.error();
    ConsumerGroupDescription d{g.group_id, g.group_state, g.group_epoch, g.assignment_epoch, g.assignor_name, {},
                               link.coordinator_node().value_or(-1)};
    for (const auto& m : g.members) d.members.push_back(describe_consumer_member(m));
    std::sort(d.members.begin(), d.members.end(), [](const auto& a, const auto& b) { return a.member_id < b.member_id; });
    return d;
  });
}

Status Admin::delete_group(const std::string& group) {
  return with_coordinator(group, [&](CoordinatorLink& link) -> Status {
    auto response = link.call<protocol::DeleteGroupsResponse>(ApiKey::delete_groups, delete_groups_version_max,
                                                              [&](std::int16_t) {
                                                                protocol::DeleteGroupsRequest request;
                                                                request.groups_names = {group};
                                                                return request;
                                                              });
    if (!response) return response.error();
    if (response->results.size() != 1) return make_error(Errc::corrupt, fmt::format("DeleteGroups of {}: no answer", group));
    return group_error(response->results[0].error_code, fmt::format("DeleteGroups of {}", group));
  });
}

Status Admin::delete_offsets(const std::string& group, const std::vector<TopicPartition>& partitions) {
  return with_coordinator(group, [&](CoordinatorLink& link) -> Status {
    auto response = link.call<protocol::OffsetDeleteResponse>(ApiKey::offset_delete, offset_delete_version_max,
                                                              [&](std::int16_t) {
      protocol::OffsetDeleteRequest request;
      request.group_id = group;
      for (const auto& tp : partitions) {
        if (request.topics.empty() || request.topics.back().name != tp.topic) request.topics.push_back({tp.topic, {}});
        request.topics.back().partitions.push_back(tp.partition);
      }
      return request;
    });
    if (!response) return response.error();
    if (auto st = group_error(response->error_code, fmt::format("OffsetDelete in {}", group)); !st) return st;
    for (const auto& t : response->topics) {
      for (const auto& p : t.partitions) {
        auto st = group_error(p.error_code, fmt::format("OffsetDelete in {} of {}-{}", group, t.name, p.partition_index));
        if (!st) return st;
      }
    }
    return {};
  });
}

Status Admin::alter_offsets(const std::string& group, const OffsetMap& offsets) {
  return with_coordinator(group, [&](CoordinatorLink& link) -> Status {
    auto response = link.call<protocol::OffsetCommitResponse>(ApiKey::offset_commit, offset_commit_version_max,
                                                              [&](std::int16_t) {
      return offset_commit_request(group, -1, std::string(), std::nullopt, offsets);  // an admin commit
    });
    if (!response) return response.error();
    for (const auto& t : response->topics) {
      for (const auto& p : t.partitions) {
        auto st = group_error(p.error_code, fmt::format("OffsetCommit in {} of {}-{}", group, t.name, p.partition_index));
        if (!st) return st;
      }
    }
    return {};
  });
}

Result<OffsetMap> Admin::committed_offsets(const std::string& group, const std::vector<TopicPartition>& partitions) {
  return with_coordinator(group, [&](CoordinatorLink& link) { return fetch_offsets(link, partitions, false); });
}

Result<std::map<TopicPartition, PartitionLag>> Admin::lag(const std::string& group) {
  auto committed = committed_offsets(group);
  if (!committed) return committed.error();
  ConsumerConfig config;
  config.bootstrap_servers = bootstrap_;
  config.client_id = "keel-admin-lag";
  config.request_timeout = request_timeout_;
  config.default_api_timeout = request_timeout_;
  Consumer offsets(cluster_.runtime(), config);
  std::map<TopicPartition, PartitionLag> out;
  for (const auto& [tp, offset] : *committed) {
    auto end = offsets.end_offset(tp);
    if (!end) return end.error();
    PartitionLag lag;
    lag.log_end = *end;
    if (offset >= 0) {
      lag.committed = offset;
      lag.lag = *end - offset;
    }
    out[tp] = lag;
  }
  return out;
}

Result<std::vector<Admin::ConfigResult>> Admin::describe_configs(std::int8_t resource_type, const std::string& name) {
  auto connection = connect_any();
  if (!connection) return connection.error();
  const auto version = (*connection)->version_for(protocol::ApiKey::describe_configs, describe_configs_version_max);
  if (!version) return make_error(Errc::refused, "the broker serves no DescribeConfigs version this client speaks");
  protocol::DescribeConfigsRequest request;
  request.resources.push_back({resource_type, name, std::nullopt});
  request.include_synonyms = true;
  request.include_documentation = true;
  auto response = (*connection)->call<protocol::DescribeConfigsResponse>(request, *version);
  if (!response) return response.error();
  if (response->results.empty()) return make_error(Errc::corrupt, "DescribeConfigs answered without the resource");
  auto& result = response->results[0];
  if (result.error_code != 0) {
    return kafka_error(static_cast<protocol::ErrorCode>(result.error_code), result.error_message.value_or(""));
  }
  return std::move(result.configs);
}

Status Admin::alter_configs(std::int8_t resource_type, const std::string& name,
                            const std::map<std::string, std::string>& configs, bool validate_only) {
  auto connection = connect_any();
  if (!connection) return connection.error();
  const auto version = (*connection)->version_for(protocol::ApiKey::alter_configs, alter_configs_version_max);
  if (!version) return make_error(Errc::refused, "the broker serves no AlterConfigs version this client speaks");
  protocol::AlterConfigsRequest request;
  protocol::AlterConfigsRequest::AlterConfigsResource resource{resource_type, name, {}};
  for (const auto& [key, value] : configs) resource.configs.push_back({key, value});
  request.resources.push_back(std::move(resource));
  request.validate_only = validate_only;
  return resource_status((*connection)->call<protocol::AlterConfigsResponse>(request, *version), "AlterConfigs");
}

Status Admin::incremental_alter_configs(std::int8_t resource_type, const std::string& name,
                                        const std::vector<ConfigOp>& ops, bool validate_only) {
  auto connection = connect_any();
  if (!connection) return connection.error();
  const auto version =
      (*connection)->version_for(protocol::ApiKey::incremental_alter_configs, incremental_alter_configs_version_max);
  if (!version) return make_error(Errc::refused, "the broker serves no IncrementalAlterConfigs version this client speaks");
  protocol::IncrementalAlterConfigsRequest request;
  request.resources.push_back({resource_type, name, ops});
  request.validate_only = validate_only;
  return resource_status((*connection)->call<protocol::IncrementalAlterConfigsResponse>(request, *version),
                         "IncrementalAlterConfigs");
}

}  // namespace keel::client
