// Messages: every request and response round-trips at every supported version with every field
// set to a non-default value (nullables both null and not), hand-built golden bytes match what
// Kafka's schemas say, truncated and corrupted bodies fail cleanly, and unknown tagged fields are
// skipped.
#include "broker/protocol/messages.h"
#include "tests/support/bytes.h"

#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace {

using keel::test::bytes_of;
using keel::test::append;

using namespace keel::protocol;
using keel::protocol::detail::default_instance;
using keel::protocol::detail::is_array_v;
using keel::protocol::detail::is_optional_v;

// ---- a filler that gives every field (in any version) a value that differs from its default ----

struct Fill {
  int counter = 1;
  bool nulls = false;  // nullable fields null instead of set
};

template <Described S>
void fill_struct(S& s, Fill& f);

template <class T>
void fill_value(T& v, const T& def, Fill& f) {
  if constexpr (std::is_same_v<T, bool>) {
    v = !def;
  } else if constexpr (std::is_integral_v<T>) {
    v = static_cast<T>(f.counter++ % 100 + 7);
    if (v == def) v = static_cast<T>(v + 1);
  } else if constexpr (std::is_same_v<T, double>) {
    v = f.counter++ + 0.5;
  } else if constexpr (std::is_same_v<T, Uuid>) {
    for (std::size_t i = 0; i < v.bytes.size(); ++i) v.bytes[i] = static_cast<std::uint8_t>(f.counter + i);
    ++f.counter;
  } else if constexpr (std::is_same_v<T, std::string>) {
    v = "s" + std::to_string(f.counter++);
  } else if constexpr (std::is_same_v<T, Bytes>) {
    v = Bytes{1, 2, 3, static_cast<std::uint8_t>(f.counter++)};
  } else if constexpr (is_optional_v<T>) {
    if (f.nulls) {
      v.reset();
    } else {
      fill_value(v.emplace(), typename T::value_type{}, f);
    }
  } else if constexpr (is_array_v<T>) {
    v.clear();
    for (int i = 0; i < 2; ++i) fill_value(v.emplace_back(), typename T::value_type{}, f);
  } else {
    fill_struct(v, f);
  }
}

template <class S>
struct FillVisitor {
  S& s;
  Fill& f;
  template <class T>
  void field(std::string_view, T S::*member, FieldSpec) {
    fill_value(s.*member, default_instance<S>().*member, f);
  }
};

template <Described S>
void fill_struct(S& s, Fill& f) {
  FillVisitor<S> v{s, f};
  S::fields(v);
}

// ---- what a message should look like after a trip through one version ----
// Fields absent in the version come back as defaults; a null where the version cannot carry one
// was written (and so comes back) as the empty value.

template <Described S>
void project_struct(S& s, std::int16_t version);

template <class T>
void project_value(T& v, bool nullable, std::int16_t version) {
  if constexpr (is_optional_v<T>) {
    if (!v && !nullable) v.emplace();
    if (v) project_value(*v, false, version);
  } else if constexpr (is_array_v<T>) {
    for (auto& e : v) project_value(e, false, version);
  } else if constexpr (Described<T>) {
    project_struct(v, version);
  }
}

template <class S>
struct ProjectVisitor {
  S& s;
  std::int16_t version;
  template <class T>
  void field(std::string_view, T S::*member, FieldSpec spec) {
    if (!spec.present(version)) {
      s.*member = default_instance<S>().*member;
      return;
    }
    project_value(s.*member, spec.nullable_at(version), version);
  }
};

template <Described S>
void project_struct(S& s, std::int16_t version) {
  ProjectVisitor<S> v{s, version};
  S::fields(v);
}

template <Message M>
M filled(bool nulls) {
  M m{};
  Fill f;
  f.nulls = nulls;
  fill_struct(m, f);
  return m;
}

template <Message M>
M projected(M m, std::int16_t version) {
  project_struct(m, version);
  return m;
}

}  // namespace

#define KEEL_ALL_MESSAGES                                                                                         \
  ApiVersionsRequest, ApiVersionsResponse, MetadataRequest, MetadataResponse, ProduceRequest, ProduceResponse,     \
      FetchRequest, FetchResponse, ListOffsetsRequest, ListOffsetsResponse, FindCoordinatorRequest,                \
      FindCoordinatorResponse, CreateTopicsRequest, CreateTopicsResponse, DeleteTopicsRequest, DeleteTopicsResponse, \
      DescribeConfigsRequest, DescribeConfigsResponse, AlterPartitionReassignmentsRequest,                         \
      AlterPartitionReassignmentsResponse, ListPartitionReassignmentsRequest, ListPartitionReassignmentsResponse,         \
      CreatePartitionsRequest, CreatePartitionsResponse, DeleteRecordsRequest, DeleteRecordsResponse,             \
      ElectLeadersRequest, ElectLeadersResponse, DescribeLogDirsRequest, DescribeLogDirsResponse,                 \
      DescribeClusterRequest, DescribeClusterResponse, OffsetCommitRequest, OffsetCommitResponse,                 \
      OffsetFetchRequest, OffsetFetchResponse, ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse,      \
      ConsumerGroupDescribeRequest, ConsumerGroupDescribeResponse

TEMPLATE_TEST_CASE("protocol: every message round-trips at every supported version with every field set",
                   "[protocol]", KEEL_ALL_MESSAGES) {
  using M = TestType;
  const ApiInfo& info = api_info(M::api_key);
  for (bool nulls : {false, true}) {
    const M original = filled<M>(nulls);
    REQUIRE_FALSE(original == M{});
    for (std::int16_t v = info.min_version; v <= info.max_version; ++v) {
      INFO(M::message_name << " v" << v << (nulls ? " with nulls" : ""));
      const Bytes bytes = encode(original, v);
      auto decoded = decode<M>(bytes, v);
      REQUIRE(decoded.ok());
      const M expected = projected(original, v);
      CHECK(*decoded == expected);
      if (!nulls && !bytes.empty()) REQUIRE_FALSE(expected == M{});  // something really travelled
      // Encoding is canonical: the decoded message encodes to the same bytes.
      CHECK(encode(*decoded, v) == bytes);
    }
  }
}

TEMPLATE_TEST_CASE("protocol: every truncated prefix of an encoded message fails to decode without crashing",
                   "[protocol]", KEEL_ALL_MESSAGES) {
  using M = TestType;
  const ApiInfo& info = api_info(M::api_key);
  for (std::int16_t v = info.min_version; v <= info.max_version; ++v) {
    const Bytes bytes = encode(filled<M>(v % 2 == 0), v);
    for (std::size_t n = 0; n < bytes.size(); ++n) {
      // A copy of exactly n bytes, so that ASan catches any read past the prefix.
      const Bytes prefix(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n));
      auto decoded = decode<M>(prefix, v);
      INFO(M::message_name << " v" << v << " prefix " << n << " of " << bytes.size());
      REQUIRE_FALSE(decoded.ok());
      CHECK(decoded.code() == keel::Errc::corrupt);
    }
  }
}

TEMPLATE_TEST_CASE("protocol: corrupted bodies decode or fail but never crash", "[protocol]", KEEL_ALL_MESSAGES) {
  using M = TestType;
  const ApiInfo& info = api_info(M::api_key);
  std::uint64_t state = 0x9e3779b97f4a7c15ULL;
  auto next = [&state] {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<std::uint32_t>(state >> 33);
  };
  int failures = 0;
  for (std::int16_t v = info.min_version; v <= info.max_version; ++v) {
    const Bytes bytes = encode(filled<M>(false), v);
    if (bytes.empty()) continue;  // ApiVersions v0-2 requests have no body
    for (int round = 0; round < 200; ++round) {
      Bytes mutated = bytes;
      const int flips = 1 + static_cast<int>(next() % 4);
      for (int i = 0; i < flips; ++i) {
        const auto at = next() % mutated.size();
        // Mostly small values and 0xff, which make lengths -1, huge or off by a little.
        const std::uint32_t pick = next() % 4;
        mutated[at] = pick == 0 ? 0xff : pick == 1 ? 0x00 : static_cast<std::uint8_t>(next());
      }
      auto decoded = decode<M>(mutated, v);
      if (!decoded.ok()) ++failures;
    }
  }
  CHECK(failures > 0);
}

TEST_CASE("protocol: decode errors name the message, the version and the field path", "[protocol]") {
  ProduceRequest request;
  request.acks = -1;
  request.timeout_ms = 1000;
  auto& topic = request.topic_data.emplace_back();
  topic.name = "orders";
  auto& partition = topic.partition_data.emplace_back();
  partition.index = 0;
  partition.records = Bytes(40, 7);
  Bytes bytes = encode(request, 7);
  bytes.resize(bytes.size() - 10);
  auto decoded = decode<ProduceRequest>(bytes, 7);
  REQUIRE_FALSE(decoded.ok());
  CHECK_THAT(decoded.error().message, Catch::Contains("ProduceRequest v7"));
  CHECK_THAT(decoded.error().message, Catch::Contains("topic_data[0].partition_data[0].records"));
}

TEST_CASE("protocol: an unsupported version is refused before any byte is read", "[protocol]") {
  const Bytes empty;
  auto produce = decode<ProduceRequest>(empty, 9);
  REQUIRE_FALSE(produce.ok());
  CHECK(produce.code() == keel::Errc::invalid_argument);
  CHECK_THAT(produce.error().message, Catch::Contains("ProduceRequest v9"));
  CHECK_FALSE(decode<MetadataRequest>(empty, -1).ok());
  CHECK_FALSE(decode<ApiVersionsRequest>(empty, 4).ok());
}

TEST_CASE("protocol: bytes after a complete body are an error", "[protocol]") {
  Bytes bytes = encode(ApiVersionsRequest{}, 0);
  bytes.push_back(0);
  auto decoded = decode<ApiVersionsRequest>(bytes, 0);
  REQUIRE_FALSE(decoded.ok());
  CHECK_THAT(decoded.error().message, Catch::Contains("1 unexpected bytes"));
}

// ---- golden bytes, built by hand from Kafka's schemas ----

TEST_CASE("protocol: ApiVersions v0 request is an empty body", "[protocol]") {
  CHECK(encode(ApiVersionsRequest{}, 0).empty());
  CHECK(encode(ApiVersionsRequest{}, 2).empty());
}

TEST_CASE("protocol: ApiVersions v3 request carries the client software as compact strings", "[protocol]") {
  ApiVersionsRequest request;
  request.client_software_name = "librdkafka";
  request.client_software_version = "2.0.2";
  Bytes expected{11};
  append(expected, "librdkafka");
  expected.push_back(6);
  append(expected, "2.0.2");
  expected.push_back(0);  // empty tag buffer
  CHECK(encode(request, 3) == expected);
  auto decoded = decode<ApiVersionsRequest>(expected, 3);
  REQUIRE(decoded.ok());
  CHECK(*decoded == request);
}

TEST_CASE("protocol: ApiVersions v3 response writes tagged fields only when they differ from defaults",
          "[protocol]") {
  ApiVersionsResponse response;
  auto& api = response.api_keys.emplace_back();
  api.api_key = 18;
  api.min_version = 0;
  api.max_version = 3;
  const Bytes plain = encode(response, 3);
  CHECK(plain == bytes_of({0, 0, /*api_keys*/ 2, 0, 18, 0, 0, 0, 3, 0, /*throttle*/ 0, 0, 0, 0, /*tags*/ 0}));

  response.zk_migration_ready = true;
  response.finalized_features_epoch = 5;
  const Bytes tagged = encode(response, 3);
  CHECK(tagged == bytes_of({0, 0, 2, 0, 18, 0, 0, 0, 3, 0, 0, 0, 0, 0,
                            /*2 tags*/ 2, /*tag 1*/ 1, 8, 0, 0, 0, 0, 0, 0, 0, 5, /*tag 3*/ 3, 1, 1}));
  auto decoded = decode<ApiVersionsResponse>(tagged, 3);
  REQUIRE(decoded.ok());
  CHECK(*decoded == response);
}

TEST_CASE("protocol: Metadata v0 and v1 requests encode topics as a classic array, null in v1 only", "[protocol]") {
  MetadataRequest request;
  request.topics.emplace().push_back(MetadataRequest::MetadataRequestTopic{{}, "t"});
  const Bytes one_topic = bytes_of({0, 0, 0, 1, 0, 1, 't'});
  CHECK(encode(request, 0) == one_topic);
  CHECK(encode(request, 1) == one_topic);

  request.topics.reset();  // all topics
  CHECK(encode(request, 0) == bytes_of({0, 0, 0, 0}));
  CHECK(encode(request, 1) == bytes_of({0xff, 0xff, 0xff, 0xff}));

  auto v1 = decode<MetadataRequest>(bytes_of({0xff, 0xff, 0xff, 0xff}), 1);
  REQUIRE(v1.ok());
  CHECK_FALSE(v1->topics.has_value());
  auto v0 = decode<MetadataRequest>(bytes_of({0xff, 0xff, 0xff, 0xff}), 0);
  REQUIRE_FALSE(v0.ok());
  CHECK_THAT(v0.error().message, Catch::Contains("topics"));
}

TEST_CASE("protocol: Metadata v9 request is flexible: compact arrays and strings, tag buffers", "[protocol]") {
  MetadataRequest request;
  request.topics.emplace().push_back(MetadataRequest::MetadataRequestTopic{{}, "ab"});
  request.allow_auto_topic_creation = false;
  request.include_topic_authorized_operations = true;
  CHECK(encode(request, 9) == bytes_of({/*topics*/ 2, 3, 'a', 'b', 0, /*auto*/ 0, /*cluster ops*/ 0,
                                        /*topic ops*/ 1, /*tags*/ 0}));
}

TEST_CASE("protocol: Metadata v10 request names topics by id with a null name; v12 answers a null name",
          "[protocol]") {
  MetadataRequest request;
  Uuid id;
  id.bytes[15] = 7;
  request.topics.emplace().push_back(MetadataRequest::MetadataRequestTopic{id, std::nullopt});
  request.allow_auto_topic_creation = false;
  Bytes expected = bytes_of({/*topics*/ 2});
  append(expected, std::string(15, '\0'));
  const Bytes rest = bytes_of({7, /*null name*/ 0, /*tags*/ 0, /*auto*/ 0, /*cluster ops (v8-10)*/ 0,
                               /*topic ops*/ 0, /*tags*/ 0});
  expected.insert(expected.end(), rest.begin(), rest.end());
  CHECK(encode(request, 10) == expected);
  auto v9 = decode<MetadataRequest>(encode(request, 9), 9);
  REQUIRE(v9.ok());
  CHECK((*v9->topics)[0].name == std::optional<std::string>(""));  // v9 cannot carry a null name

  MetadataResponse response;
  auto& topic = response.topics.emplace_back();
  topic.topic_id = id;
  topic.error_code = 100;  // UNKNOWN_TOPIC_ID
  auto v12 = decode<MetadataResponse>(encode(response, 12), 12);
  REQUIRE(v12.ok());
  CHECK_FALSE(v12->topics[0].name.has_value());
  CHECK(v12->topics[0].topic_id == id);
  auto v11 = decode<MetadataResponse>(encode(response, 11), 11);
  REQUIRE(v11.ok());
  CHECK(v11->topics[0].name == std::optional<std::string>(""));
}

TEST_CASE("protocol: OffsetFetch v9 names the member in each group; OffsetCommit v9 is v8 on the wire", "[protocol]") {
  OffsetFetchRequest fetch;
  auto& group = fetch.groups.emplace_back();
  group.group_id = "g";
  group.member_id = "m";
  group.member_epoch = 3;
  CHECK(encode(fetch, 9) == bytes_of({/*groups*/ 2, 2, 'g', /*member*/ 2, 'm', /*epoch*/ 0, 0, 0, 3,
                                      /*topics null*/ 0, /*tags*/ 0, /*require_stable*/ 0, /*tags*/ 0}));
  CHECK(encode(fetch, 8) == bytes_of({2, 2, 'g', 0, 0, 0, 0}));
  auto v8 = decode<OffsetFetchRequest>(encode(fetch, 8), 8);
  REQUIRE(v8.ok());
  CHECK_FALSE(v8->groups[0].member_id.has_value());
  CHECK(v8->groups[0].member_epoch == -1);

  OffsetCommitRequest commit;
  commit.group_id = "g";
  commit.generation_id_or_member_epoch = 4;
  commit.member_id = "m";
  commit.topics.emplace_back().name = "t";
  commit.topics[0].partitions.emplace_back().committed_offset = 10;
  CHECK(encode(commit, 9) == encode(commit, 8));
}

TEST_CASE("protocol: ConsumerGroupHeartbeat request v0 and v1 (the regex) match Kafka's layout", "[protocol]") {
  ConsumerGroupHeartbeatRequest request;
  request.group_id = "g";
  request.member_id = "m";
  request.subscribed_topic_names = std::vector<std::string>{"t"};
  request.topic_partitions.emplace();
  const Bytes v0 = bytes_of({/*group*/ 2, 'g', /*member*/ 2, 'm', /*epoch*/ 0, 0, 0, 0, /*instance*/ 0, /*rack*/ 0,
                             /*rebalance timeout*/ 0xff, 0xff, 0xff, 0xff, /*topics*/ 2, 2, 't', /*assignor*/ 0,
                             /*owned*/ 1, /*tags*/ 0});
  CHECK(encode(request, 0) == v0);
  request.subscribed_topic_regex = "t.*";
  const Bytes v1 = bytes_of({2, 'g', 2, 'm', 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 2, 2, 't',
                             /*regex*/ 4, 't', '.', '*', 0, 1, 0});
  CHECK(encode(request, 1) == v1);
  auto decoded = decode<ConsumerGroupHeartbeatRequest>(v1, 1);
  REQUIRE(decoded.ok());
  CHECK(*decoded == request);
}

TEST_CASE("protocol: ConsumerGroupHeartbeat response writes its assignment as a nullable struct", "[protocol]") {
  ConsumerGroupHeartbeatResponse response;
  response.member_id = "m";
  response.member_epoch = 3;
  response.heartbeat_interval_ms = 5000;
  const Bytes head = bytes_of({/*throttle*/ 0, 0, 0, 0, /*error*/ 0, 0, /*message*/ 0, /*member*/ 2, 'm',
                               /*epoch*/ 0, 0, 0, 3, /*interval*/ 0, 0, 0x13, 0x88});
  Bytes null_assignment = head;
  append(null_assignment, std::string("\xff\x00", 2));
  CHECK(encode(response, 0) == null_assignment);

  auto& tp = response.assignment.emplace().topic_partitions.emplace_back();
  tp.topic_id.bytes[0] = 9;
  tp.partitions = {0, 1};
  Bytes with_assignment = head;
  const Bytes tail = bytes_of({/*present*/ 1, /*topics*/ 2, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                               /*partitions*/ 3, 0, 0, 0, 0, 0, 0, 0, 1, /*tags*/ 0, /*assignment tags*/ 0,
                               /*tags*/ 0});
  with_assignment.insert(with_assignment.end(), tail.begin(), tail.end());
  CHECK(encode(response, 1) == with_assignment);
  auto decoded = decode<ConsumerGroupHeartbeatResponse>(with_assignment, 1);
  REQUIRE(decoded.ok());
  CHECK(*decoded == response);

  Bytes bad_marker = with_assignment;
  bad_marker[head.size()] = 2;
  auto refused = decode<ConsumerGroupHeartbeatResponse>(bad_marker, 1);
  REQUIRE_FALSE(refused.ok());
  CHECK_THAT(refused.error().message, Catch::Contains("assignment"));
}

TEST_CASE("protocol: ConsumerGroupDescribe v1 adds each member's type", "[protocol]") {
  ConsumerGroupDescribeResponse response;
  auto& group = response.groups.emplace_back();
  group.group_id = "g";
  group.group_state = "Stable";
  group.members.emplace_back().member_type = 1;
  auto v0 = decode<ConsumerGroupDescribeResponse>(encode(response, 0), 0);
  REQUIRE(v0.ok());
  CHECK(v0->groups[0].members[0].member_type == -1);
  auto v1 = decode<ConsumerGroupDescribeResponse>(encode(response, 1), 1);
  REQUIRE(v1.ok());
  CHECK(*v1 == response);
  CHECK(encode(response, 1).size() == encode(response, 0).size() + 1);
}

TEST_CASE("protocol: Produce v3 request body matches the classic layout", "[protocol]") {
  ProduceRequest request;
  request.acks = -1;
  request.timeout_ms = 30000;
  auto& topic = request.topic_data.emplace_back();
  topic.name = "t";
  auto& partition = topic.partition_data.emplace_back();
  partition.index = 2;
  partition.records = Bytes{0xaa, 0xbb, 0xcc};
  const Bytes expected = bytes_of({/*transactional_id null*/ 0xff, 0xff, /*acks*/ 0xff, 0xff,
                                   /*timeout*/ 0, 0, 0x75, 0x30, /*topics*/ 0, 0, 0, 1, 0, 1, 't',
                                   /*partitions*/ 0, 0, 0, 1, /*index*/ 0, 0, 0, 2,
                                   /*records*/ 0, 0, 0, 3, 0xaa, 0xbb, 0xcc});
  CHECK(encode(request, 3) == expected);
  auto decoded = decode<ProduceRequest>(expected, 3);
  REQUIRE(decoded.ok());
  CHECK(*decoded == request);
}

TEST_CASE("protocol: Fetch v12 request puts cluster_id in the top-level tag buffer when set", "[protocol]") {
  FetchRequest request;
  request.max_wait_ms = 500;
  request.min_bytes = 1;
  const Bytes without = encode(request, 12);
  CHECK(without.back() == 0);  // no tagged fields
  request.cluster_id = "c1";
  const Bytes with = encode(request, 12);
  REQUIRE(with.size() == without.size() + 5);
  CHECK(Bytes(with.end() - 6, with.end()) == bytes_of({/*count*/ 1, /*tag*/ 0, /*size*/ 3, 3, 'c', '1'}));
  auto decoded = decode<FetchRequest>(with, 12);
  REQUIRE(decoded.ok());
  CHECK(decoded->cluster_id == std::optional<std::string>("c1"));
}

TEST_CASE("protocol: DescribeConfigs v0 response carries is_default, v1 config_source and synonyms", "[protocol]") {
  DescribeConfigsResponse response;
  auto& result = response.results.emplace_back();
  result.resource_type = 2;
  result.resource_name = "t";
  auto& config = result.configs.emplace_back();
  config.name = "k";
  config.value = "v";
  config.is_default = true;
  config.config_source = 5;
  const Bytes v0 = encode(response, 0);
  CHECK(v0 == bytes_of({0, 0, 0, 0, /*results*/ 0, 0, 0, 1, /*error*/ 0, 0, /*message null*/ 0xff, 0xff,
                        /*type*/ 2, 0, 1, 't', /*configs*/ 0, 0, 0, 1, 0, 1, 'k', 0, 1, 'v',
                        /*read_only*/ 0, /*is_default*/ 1, /*is_sensitive*/ 0}));
  const Bytes v1 = encode(response, 1);
  CHECK(v1 == bytes_of({0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0xff, 0xff, 2, 0, 1, 't', 0, 0, 0, 1, 0, 1, 'k', 0, 1, 'v',
                        /*read_only*/ 0, /*config_source*/ 5, /*is_sensitive*/ 0, /*synonyms*/ 0, 0, 0, 0}));
}

TEST_CASE("protocol: AlterPartitionReassignments v0 request leaves out allow_replication_factor_change, v1 carries it",
          "[protocol]") {
  AlterPartitionReassignmentsRequest request;
  request.timeout_ms = 30000;
  request.allow_replication_factor_change = false;
  auto& topic = request.topics.emplace_back();
  topic.name = "t";
  topic.partitions.push_back({1, std::vector<std::int32_t>{2, 3}});
  topic.partitions.push_back({2, std::nullopt});                 // cancel
  topic.partitions.push_back({3, std::vector<std::int32_t>{}});  // empty, not null
  const Bytes topics = bytes_of({/*topics*/ 2, /*name*/ 2, 't', /*partitions*/ 4,
                                 /*index*/ 0, 0, 0, 1, /*replicas*/ 3, 0, 0, 0, 2, 0, 0, 0, 3, /*tags*/ 0,
                                 /*index*/ 0, 0, 0, 2, /*replicas null*/ 0, /*tags*/ 0,
                                 /*index*/ 0, 0, 0, 3, /*replicas empty*/ 1, /*tags*/ 0,
                                 /*topic tags*/ 0, /*tags*/ 0});
  Bytes v0 = bytes_of({/*timeout*/ 0, 0, 0x75, 0x30});
  v0.insert(v0.end(), topics.begin(), topics.end());
  Bytes v1 = bytes_of({0, 0, 0x75, 0x30, /*allow_replication_factor_change*/ 0});
  v1.insert(v1.end(), topics.begin(), topics.end());
  CHECK(encode(request, 0) == v0);
  CHECK(encode(request, 1) == v1);

  auto decoded_v0 = decode<AlterPartitionReassignmentsRequest>(v0, 0);
  REQUIRE(decoded_v0.ok());
  CHECK(decoded_v0->allow_replication_factor_change);  // absent in v0: Kafka's default, true
  const auto& partitions = decoded_v0->topics.at(0).partitions;
  REQUIRE(partitions.size() == 3);
  CHECK(partitions[0].replicas == std::optional(std::vector<std::int32_t>{2, 3}));
  CHECK_FALSE(partitions[1].replicas.has_value());
  CHECK(partitions[2].replicas == std::optional(std::vector<std::int32_t>{}));
  auto decoded_v1 = decode<AlterPartitionReassignmentsRequest>(v1, 1);
  REQUIRE(decoded_v1.ok());
  CHECK(*decoded_v1 == request);
}

TEST_CASE("protocol: AlterPartitionReassignments response: per-partition null message, the flag only in v1",
          "[protocol]") {
  AlterPartitionReassignmentsResponse response;
  response.allow_replication_factor_change = false;
  auto& topic = response.responses.emplace_back();
  topic.name = "t";
  topic.partitions.push_back({0, 0, std::nullopt});
  topic.partitions.push_back({1, 39, std::string("x")});
  const Bytes rest = bytes_of({/*error*/ 0, 0, /*message null*/ 0, /*responses*/ 2, 2, 't', /*partitions*/ 3,
                               0, 0, 0, 0, /*error*/ 0, 0, /*null*/ 0, /*tags*/ 0,
                               0, 0, 0, 1, /*error*/ 0, 39, /*message*/ 2, 'x', /*tags*/ 0,
                               /*topic tags*/ 0, /*tags*/ 0});
  Bytes v0 = bytes_of({/*throttle*/ 0, 0, 0, 0});
  v0.insert(v0.end(), rest.begin(), rest.end());
  Bytes v1 = bytes_of({0, 0, 0, 0, /*allow_replication_factor_change*/ 0});
  v1.insert(v1.end(), rest.begin(), rest.end());
  CHECK(encode(response, 0) == v0);
  CHECK(encode(response, 1) == v1);
}

TEST_CASE("protocol: ListPartitionReassignments request: null topics list everything, named ones list those",
          "[protocol]") {
  ListPartitionReassignmentsRequest all;
  all.timeout_ms = 1000;
  const Bytes all_bytes = bytes_of({/*timeout*/ 0, 0, 0x03, 0xe8, /*topics null*/ 0, /*tags*/ 0});
  CHECK(encode(all, 0) == all_bytes);
  auto decoded_all = decode<ListPartitionReassignmentsRequest>(all_bytes, 0);
  REQUIRE(decoded_all.ok());
  CHECK_FALSE(decoded_all->topics.has_value());

  ListPartitionReassignmentsRequest named = all;
  named.topics.emplace().push_back({"t", {0, 2}});
  CHECK(encode(named, 0) == bytes_of({0, 0, 0x03, 0xe8, /*topics*/ 2, 2, 't', /*partitions*/ 3, 0, 0, 0, 0,
                                      0, 0, 0, 2, /*topic tags*/ 0, /*tags*/ 0}));
}

TEST_CASE("protocol: ListPartitionReassignments response carries the replica sets of each partition", "[protocol]") {
  ListPartitionReassignmentsResponse response;
  auto& topic = response.topics.emplace_back();
  topic.name = "t";
  topic.partitions.push_back({4, {1, 2, 3}, {3}, {1}});
  CHECK(encode(response, 0) == bytes_of({/*throttle*/ 0, 0, 0, 0, /*error*/ 0, 0, /*message null*/ 0,
                                         /*topics*/ 2, 2, 't', /*partitions*/ 2, 0, 0, 0, 4,
                                         /*replicas*/ 4, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3,
                                         /*adding*/ 2, 0, 0, 0, 3, /*removing*/ 2, 0, 0, 0, 1,
                                         /*tags*/ 0, /*topic tags*/ 0, /*tags*/ 0}));
}

// ---- tagged fields ----

TEST_CASE("protocol: unknown tagged fields are skipped at the top level and in nested structs", "[protocol]") {
  Bytes top{2, 'a', 2, 'b'};
  top.insert(top.end(), {/*count*/ 2, /*tag*/ 4, /*size*/ 2, 9, 9, /*tag*/ 70, /*size*/ 0});
  auto request = decode<ApiVersionsRequest>(top, 3);
  REQUIRE(request.ok());
  CHECK(request->client_software_name == "a");
  CHECK(request->client_software_version == "b");

  // An ApiVersionsResponse whose api_keys element has an unknown tag 9 of 3 bytes.
  const Bytes nested = bytes_of({0, 0, 2, 0, 18, 0, 0, 0, 3, /*element tags*/ 1, 9, 3, 1, 2, 3,
                                 /*throttle*/ 0, 0, 0, 0, /*tags*/ 0});
  auto response = decode<ApiVersionsResponse>(nested, 3);
  REQUIRE(response.ok());
  REQUIRE(response->api_keys.size() == 1);
  CHECK(response->api_keys[0].max_version == 3);
}

TEST_CASE("protocol: tagged fields out of order or with bytes left over are refused", "[protocol]") {
  Bytes out_of_order{1, 1};
  out_of_order.insert(out_of_order.end(), {2, 5, 0, 3, 0});
  auto a = decode<ApiVersionsRequest>(out_of_order, 3);
  REQUIRE_FALSE(a.ok());
  CHECK_THAT(a.error().message, Catch::Contains("out of order"));

  // zk_migration_ready (tag 3) is a bool, one byte; two bytes is malformed.
  const Bytes too_long = bytes_of({0, 0, 1, 0, 0, 0, 0, /*tags*/ 1, 3, 2, 1, 1});
  auto b = decode<ApiVersionsResponse>(too_long, 3);
  REQUIRE_FALSE(b.ok());
  CHECK_THAT(b.error().message, Catch::Contains("zk_migration_ready"));
}

TEST_CASE("protocol: a tagged struct field round-trips and is omitted when default", "[protocol]") {
  FetchResponse response;
  auto& topic = response.responses.emplace_back();
  topic.topic = "t";
  auto& partition = topic.partitions.emplace_back();
  partition.records = Bytes{};
  const std::size_t plain = encode(response, 12).size();
  partition.diverging_epoch.epoch = 3;
  partition.diverging_epoch.end_offset = 99;
  const Bytes tagged = encode(response, 12);
  // count already present; tag, size and 4+8 bytes and the nested struct's own empty tag buffer.
  CHECK(tagged.size() == plain + 1 + 1 + 12 + 1);
  auto decoded = decode<FetchResponse>(tagged, 12);
  REQUIRE(decoded.ok());
  CHECK(*decoded == response);
}

// ---- encoding choices ----

TEST_CASE("protocol: a null in a version that cannot carry one is written as the empty value", "[protocol]") {
  DeleteTopicsResponse deleted;  // name is nullable from v6 only
  deleted.responses.emplace_back().error_code = 3;
  auto v5 = decode<DeleteTopicsResponse>(encode(deleted, 5), 5);
  REQUIRE(v5.ok());
  CHECK(v5->responses[0].name == std::optional<std::string>(""));
  auto v6 = decode<DeleteTopicsResponse>(encode(deleted, 6), 6);
  REQUIRE(v6.ok());
  CHECK_FALSE(v6->responses[0].name.has_value());

  CreateTopicsResponse created;  // error_message nullable in every version: null stays null
  created.topics.emplace_back().name = "t";
  auto c = decode<CreateTopicsResponse>(encode(created, 1), 1);
  REQUIRE(c.ok());
  CHECK_FALSE(c->topics[0].error_message.has_value());

  MetadataRequest all_topics;  // null topics in v0 means the empty list (which v0 reads as all)
  auto m = decode<MetadataRequest>(encode(all_topics, 0), 0);
  REQUIRE(m.ok());
  REQUIRE(m->topics.has_value());
  CHECK(m->topics->empty());
}

TEST_CASE("protocol: the API table lists the supported ranges and flexible thresholds", "[protocol]") {
  CHECK(supported_apis().size() == 32);
  CHECK(is_flexible(ApiKey::join_group, 6));
  CHECK_FALSE(is_flexible(ApiKey::join_group, 5));
  CHECK_FALSE(is_flexible(ApiKey::offset_delete, 0));
  const ApiInfo* produce = find_api(0);
  REQUIRE(produce != nullptr);
  CHECK(produce->name == "Produce");
  CHECK(produce->min_version == 3);
  CHECK(produce->max_version == 8);
  CHECK(find_api(99) == nullptr);
  CHECK(find_api(-1) == nullptr);
  CHECK(is_flexible(ApiKey::api_versions, 3));
  CHECK_FALSE(is_flexible(ApiKey::api_versions, 2));
  CHECK(is_flexible(ApiKey::fetch, 12));
  CHECK_FALSE(is_flexible(ApiKey::produce, 8));
  CHECK(is_flexible(ApiKey::metadata, 9));
  CHECK(is_flexible(ApiKey::alter_partition_reassignments, 0));
  CHECK(is_flexible(ApiKey::list_partition_reassignments, 0));
  CHECK(is_supported(45, 1));
  CHECK_FALSE(is_supported(45, 2));
  CHECK(is_supported(46, 0));
  CHECK_FALSE(is_supported(46, 1));
  CHECK(is_supported(18, 3));
  CHECK_FALSE(is_supported(18, 4));
  CHECK_FALSE(is_supported(0, 2));
  std::int16_t previous = -1;
  for (const ApiInfo& info : supported_apis()) {
    CHECK(static_cast<std::int16_t>(info.key) > previous);
    previous = static_cast<std::int16_t>(info.key);
    CHECK(info.min_version <= info.max_version);
  }
}

TEST_CASE("protocol: to_string prints every field of a message", "[protocol]") {
  ProduceRequest request;
  request.acks = 1;
  request.topic_data.emplace_back().name = "t";
  const std::string s = to_string(request);
  CHECK(s == "{transactional_id=null, acks=1, timeout_ms=0, topic_data=[{name=\"t\", partition_data=[]}]}");
}

TEST_CASE("protocol: client software names are checked the way Kafka checks them", "[protocol]") {
  CHECK(is_valid_client_software_field("librdkafka"));
  CHECK(is_valid_client_software_field("2.0.2"));
  CHECK(is_valid_client_software_field("a"));
  CHECK(is_valid_client_software_field("apache-kafka-java"));
  CHECK_FALSE(is_valid_client_software_field(""));
  CHECK_FALSE(is_valid_client_software_field("-x"));
  CHECK_FALSE(is_valid_client_software_field("x."));
  CHECK_FALSE(is_valid_client_software_field("a b"));
  CHECK_FALSE(is_valid_client_software_field("a_b"));
}
