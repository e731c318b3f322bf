// The broker served over the simulated network, driven by a raw protocol client: each API, request
// order on a pipelined connection, acks=0, long-poll fetches, bad frames closing only their own
// connection, and a restart that keeps synced records. Node 0 runs the broker ("n0:9092"), node 1 the
// client. Tasks record what they saw; the checks run outside them (a task must not throw).
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "broker/protocol/frame.h"
#include "broker/protocol/messages.h"
#include "broker/protocol/record_batch.h"
#include "broker/kafka/handlers.h"
#include "tests/support/bytes.h"
#include "tests/support/kafka_client.h"
#include "tests/support/keel_world.h"

namespace {

using namespace keel;
using namespace keel::protocol;
using keel::sim::WorldOptions;

using test::bytes_of;
using test::create_request;
using test::fetch_request;
using test::fetched_values;
using test::produce_request;
using test::RawClient;
using test::request_frame;
using test::single_node_config;
using test::truncated;

// Node 0 runs a Keel node ("n0:9092"), node 1 the raw client.
struct Rig : test::NodeAndClient {
  explicit Rig(std::uint64_t seed, config::BrokerConfig config = single_node_config(),
               test::TraceObserver observer = {})
      : NodeAndClient(options(seed, std::move(observer)), std::move(config)) {}
  static WorldOptions options(std::uint64_t seed, test::TraceObserver observer) {
    WorldOptions o = test::world_options(seed);
    o.trace.observer = std::move(observer);
    // These tests pin what each API answers and when (a long poll's wake-up time): no fault points
    // (the fault scenarios and the BUGGIFY tests cover those).
    o.buggify = false;
    return o;
  }
  // Runs `script` as node 1's process until it returns (or the time limit passes).
  bool run_client(std::function<void(Runtime&)> script, Duration limit = std::chrono::minutes(5)) {
    return NodeAndClient::run_client(std::move(script), limit);
  }
};

Bytes make_batch(int first, int count, std::int64_t timestamp) {
  std::vector<Record> records;
  for (int i = 0; i < count; ++i) {
    Record r;
    r.offset = i;
    r.timestamp = timestamp + i;
    r.key = bytes_of(fmt::format("k{}", (first + i) % 3));
    r.value = bytes_of(fmt::format("value-{}", first + i));
    records.push_back(std::move(r));
  }
  return build_batch(BatchOptions{}, records);
}

using Reassign = AlterPartitionReassignmentsRequest;

Reassign::ReassignableTopic reassign(const std::string& topic, std::vector<Reassign::ReassignablePartition> partitions) {
  return Reassign::ReassignableTopic{topic, std::move(partitions)};
}

std::optional<std::vector<std::int32_t>> onto(std::vector<std::int32_t> replicas) { return replicas; }

std::int16_t code(ErrorCode error) { return static_cast<std::int16_t>(error); }

std::vector<std::int32_t> indexes_of(const AlterPartitionReassignmentsResponse::ReassignableTopicResponse& topic) {
  std::vector<std::int32_t> out;
  for (const auto& p : topic.partitions) out.push_back(p.partition_index);
  return out;
}

std::vector<std::int16_t> errors_of(const AlterPartitionReassignmentsResponse::ReassignableTopicResponse& topic) {
  std::vector<std::int16_t> out;
  for (const auto& p : topic.partitions) out.push_back(p.error_code);
  return out;
}

}  // namespace

TEST_CASE("broker: ApiVersions advertises exactly the served APIs; an unsupported version gets Kafka's v0 answer",
          "[kafka][sim]") {
  Rig rig(1);
  std::optional<ApiVersionsResponse> v0, v3;
  std::optional<std::pair<std::int32_t, ApiVersionsResponse>> v9;
  bool produce_v2_closed = false;
  REQUIRE(rig.run_client([&](Runtime& rt) {
    RawClient client(rt);
    if (!client.connect()) return;
    v0 = client.call<ApiVersionsResponse>(ApiVersionsRequest{}, 0);
    ApiVersionsRequest v3_request;
    v3_request.client_software_name = "raw-client";
    v3_request.client_software_version = "1.0";
    v3 = client.call<ApiVersionsResponse>(v3_request, 3);
    // ApiVersions v9 (no such version yet): header v2, then a body the broker must not parse.
    (void)client.send_raw(Bytes{0, 0, 0, 16, 0, 18, 0, 9, 0, 0, 0, 77, 0, 3, 'r', 'a', 'w', 0, 1, 1, 0, 0});
    v9 = client.receive<ApiVersionsResponse>(0);  // a v0 body, whatever version was asked
    // Produce v2, advertised but not served: header v1 (api key 0, version 2, correlation 5, no
    // client id); the broker drops the connection before reading a body.
    (void)client.send_raw(Bytes{0, 0, 0, 10, 0, 0, 0, 2, 0, 0, 0, 5, 0xff, 0xff});
    produce_v2_closed = client.closed_by_broker();
  }));
  REQUIRE(v0);
  REQUIRE(v3);
  REQUIRE(v9);
  CHECK(v0->error_code == 0);
  CHECK(v3->api_keys == v0->api_keys);
  const auto advertised = std::count_if(kafka::handlers().begin(), kafka::handlers().end(),
                                       [](const auto& entry) { return kafka::advertised(entry); });
  CHECK(v3->api_keys.size() == static_cast<std::size_t>(advertised));
  CHECK(advertised == static_cast<long>(kafka::handlers().size()) - 1);  // KeelQuorum stays among Keel nodes
  for (const auto& entry : kafka::handlers()) {
    if (!kafka::advertised(entry)) continue;
    const auto it = std::find_if(v3->api_keys.begin(), v3->api_keys.end(),
                                 [&](const auto& k) { return k.api_key == static_cast<std::int16_t>(entry.key); });
    REQUIRE(it != v3->api_keys.end());
    CHECK(it->min_version == kafka::advertised_min_version(entry));
    CHECK(it->max_version == entry.max_version);
  }
  // Produce is listed from v0 (librdkafka 2.0.2 compresses only then), and served from v3.
  const auto produce = std::find_if(v3->api_keys.begin(), v3->api_keys.end(), [](const auto& k) { return k.api_key == 0; });
  REQUIRE(produce != v3->api_keys.end());
  CHECK(produce->min_version == 0);
  CHECK(kafka::find_handler(0)->min_version == 3);
  CHECK(produce_v2_closed);
  CHECK(v9->first == 77);
  CHECK(v9->second.error_code == static_cast<std::int16_t>(ErrorCode::unsupported_version));
  REQUIRE(v9->second.api_keys.size() == 1);
  CHECK(v9->second.api_keys[0].api_key == 18);
}

TEST_CASE("broker: topics are created, listed with this broker as leader and controller, and deleted", "[kafka][sim]") {
  Rig rig(2);
  std::optional<CreateTopicsResponse> created, again, bad;
  std::optional<MetadataResponse> listed, auto_created, after_delete;
  std::optional<DeleteTopicsResponse> deleted;
  REQUIRE(rig.run_client([&](Runtime& rt) {
    RawClient client(rt);
    if (!client.connect()) return;
    created = client.call<CreateTopicsResponse>(create_request("orders", 3), 4);
    again = client.call<CreateTopicsResponse>(create_request("orders", 3), 4);
    bad = client.call<CreateTopicsResponse>(create_request("bad/name", 1), 4);
    MetadataRequest all;  // null topics: every topic (v1+)
    listed = client.call<MetadataResponse>(all, 1);
    MetadataRequest named;
    named.topics = std::vector<MetadataRequest::MetadataRequestTopic>(1);
    (*named.topics)[0].name = "auto-made";
    named.allow_auto_topic_creation = true;
    auto_created = client.call<MetadataResponse>(named, 4);
    DeleteTopicsRequest del;
    del.topic_names = {"orders"};
    del.timeout_ms = 1000;
    deleted = client.call<DeleteTopicsResponse>(del, 3);
    after_delete = client.call<MetadataResponse>(all, 1);
  }));
  REQUIRE(created);
  REQUIRE(created->topics.size() == 1);
  CHECK(created->topics[0].error_code == 0);
  REQUIRE(again);
  CHECK(again->topics[0].error_code == static_cast<std::int16_t>(ErrorCode::topic_already_exists));
  REQUIRE(bad);
  CHECK(bad->topics[0].error_code == static_cast<std::int16_t>(ErrorCode::invalid_topic_exception));
  REQUIRE(listed);
  CHECK(listed->controller_id == 0);
  REQUIRE(listed->brokers.size() == 1);
  CHECK(listed->brokers[0].host == "n0");
  CHECK(listed->brokers[0].port == 9092);
  REQUIRE(listed->topics.size() == 1);
  CHECK(listed->topics[0].name == "orders");
  REQUIRE(listed->topics[0].partitions.size() == 3);
  for (const auto& p : listed->topics[0].partitions) {
    CHECK(p.leader_id == 0);
    CHECK(p.isr_nodes == std::vector<std::int32_t>{0});
  }
  REQUIRE(auto_created);
  REQUIRE(auto_created->topics.size() == 1);
  CHECK(auto_created->topics[0].error_code == 0);
  CHECK(auto_created->topics[0].partitions.size() == 1);  // num.partitions
  REQUIRE(deleted);
  CHECK(deleted->responses[0].error_code == 0);
  REQUIRE(after_delete);
  REQUIRE(after_delete->topics.size() == 1);
  CHECK(after_delete->topics[0].name == "auto-made");
}

TEST_CASE("broker: produced batches are fetched back and listed by offset and timestamp", "[kafka][sim]") {
  Rig rig(3);
  std::vector<ProduceResponse> produced;
  std::optional<FetchResponse> fetched, from_middle, out_of_range;
  std::optional<ListOffsetsResponse> offsets;
  REQUIRE(rig.run_client([&](Runtime& rt) {
    RawClient client(rt);
    if (!client.connect()) return;
    (void)client.call<CreateTopicsResponse>(create_request("events", 2), 4);
    for (int b = 0; b < 4; ++b) {
      auto r = client.call<ProduceResponse>(produce_request("events", 1, make_batch(b * 5, 5, 1000 + b * 100), -1), 7);
      if (r) produced.push_back(*r);
    }
    fetched = client.call<FetchResponse>(fetch_request("events", 1, 0), 11);
    from_middle = client.call<FetchResponse>(fetch_request("events", 1, 12), 4);
    out_of_range = client.call<FetchResponse>(fetch_request("events", 1, 21), 11);
    ListOffsetsRequest list;
    list.replica_id = -1;
    ListOffsetsRequest::ListOffsetsTopic t;
    t.name = "events";
    for (std::int64_t ts : {-2, -1, 1201, 5000}) {
      ListOffsetsRequest::ListOffsetsPartition p;
      p.partition_index = 1;
      p.timestamp = ts;
      t.partitions.push_back(p);
    }
    list.topics.push_back(t);
    offsets = client.call<ListOffsetsResponse>(list, 1);
  }));
  REQUIRE(produced.size() == 4);
  for (int b = 0; b < 4; ++b) {
    const auto& p = produced[static_cast<std::size_t>(b)].responses.at(0).partition_responses.at(0);
    CHECK(p.error_code == 0);
    CHECK(p.base_offset == b * 5);
  }
  REQUIRE(fetched);
  const auto values = fetched_values(*fetched);
  REQUIRE(values.size() == 20);
  for (int i = 0; i < 20; ++i) CHECK(values[static_cast<std::size_t>(i)] == fmt::format("value-{}", i));
  CHECK(fetched->responses[0].partitions[0].high_watermark == 20);
  REQUIRE(from_middle);
  CHECK(fetched_values(*from_middle).front() == "value-10");  // whole batches: the one holding offset 12
  REQUIRE(out_of_range);
  CHECK(out_of_range->responses[0].partitions[0].error_code == static_cast<std::int16_t>(ErrorCode::offset_out_of_range));
  REQUIRE(offsets);
  const auto& parts = offsets->topics.at(0).partitions;
  REQUIRE(parts.size() == 4);
  CHECK(parts[0].offset == 0);
  CHECK(parts[1].offset == 20);
  CHECK(parts[2].offset == 11);  // batch 2 holds records 10..14 stamped 1200..1204
  CHECK(parts[2].timestamp == 1201);
  CHECK(parts[3].offset == -1);
}

TEST_CASE("broker: pipelined requests are answered in order, and acks=0 gets no answer", "[kafka][sim]") {
  Rig rig(4);
  std::vector<std::int32_t> sent, answered;
  std::optional<FetchResponse> fetched;
  REQUIRE(rig.run_client([&](Runtime& rt) {
    RawClient client(rt);
    if (!client.connect()) return;
    (void)client.call<CreateTopicsResponse>(create_request("p", 1), 4);
    sent.push_back(client.send(MetadataRequest{}, 1));
    client.send(produce_request("p", 0, make_batch(0, 3, 10), 0), 7);  // acks=0: no response
    sent.push_back(client.send(ApiVersionsRequest{}, 2));
    sent.push_back(client.send(produce_request("p", 0, make_batch(3, 3, 20), 1), 7));
    if (auto r = client.receive<MetadataResponse>(1)) answered.push_back(r->first);
    if (auto r = client.receive<ApiVersionsResponse>(2)) answered.push_back(r->first);
    if (auto r = client.receive<ProduceResponse>(7)) answered.push_back(r->first);
    fetched = client.call<FetchResponse>(fetch_request("p", 0, 0), 11);
  }));
  CHECK(answered == sent);
  REQUIRE(fetched);
  CHECK(fetched_values(*fetched).size() == 6);  // the acks=0 batch was appended too
}

TEST_CASE("broker: a long-poll fetch returns when data arrives, or at max wait", "[kafka][sim]") {
  Rig rig(5);
  Duration woke_after{}, expired_after{};
  std::size_t woke_values = 0, expired_values = 99;
  REQUIRE(rig.run_client([&](Runtime& rt) {
    RawClient waiter(rt), producer(rt);
    if (!waiter.connect() || !producer.connect()) return;
    (void)producer.call<CreateTopicsResponse>(create_request("lp", 1), 4);
    rt.spawn("producer", [&] {
      rt.sleep_for(std::chrono::milliseconds(700));
      (void)producer.call<ProduceResponse>(produce_request("lp", 0, make_batch(0, 2, 5), 1), 7);
    });
    Instant start = rt.now();
    auto r = waiter.call<FetchResponse>(fetch_request("lp", 0, 0, 5000, 1), 11);
    woke_after = rt.now() - start;
    if (r) woke_values = fetched_values(*r).size();
    start = rt.now();
    r = waiter.call<FetchResponse>(fetch_request("lp", 0, 2, 1500, 1), 11);
    expired_after = rt.now() - start;
    if (r) expired_values = fetched_values(*r).size();
  }));
  CHECK(woke_values == 2);
  CHECK(woke_after >= std::chrono::milliseconds(700));
  CHECK(woke_after < std::chrono::milliseconds(1500));
  CHECK(expired_values == 0);
  CHECK(expired_after >= std::chrono::milliseconds(1500));
  CHECK(expired_after < std::chrono::milliseconds(2500));
}

TEST_CASE("broker: a malformed or oversized frame closes that connection only", "[kafka][sim]") {
  Rig rig(6, single_node_config("socket.request.max.bytes=4096\n"));
  bool garbage_closed = false, oversized_closed = false, unknown_key_closed = false, other_served = false;
  REQUIRE(rig.run_client([&](Runtime& rt) {
    RawClient good(rt), garbage(rt), oversized(rt), unknown(rt);
    if (!good.connect() || !garbage.connect() || !oversized.connect() || !unknown.connect()) return;
    (void)garbage.send_raw(Bytes{0, 0, 0, 6, 0x7f, 0x01, 0xff, 0xff, 0x00, 0x00});
    garbage_closed = garbage.closed_by_broker();
    (void)oversized.send_raw(Bytes{0, 1, 0, 0, 0, 0});  // 65536 bytes announced
    oversized_closed = oversized.closed_by_broker();
    (void)unknown.send_raw(Bytes{0, 0, 0, 10, 0x03, 0xe7, 0, 0, 0, 0, 0, 1, 0xff, 0xff});  // api key 999
    unknown_key_closed = unknown.closed_by_broker();
    other_served = good.call<ApiVersionsResponse>(ApiVersionsRequest{}, 1).has_value();
  }));
  CHECK(garbage_closed);
  CHECK(oversized_closed);
  CHECK(unknown_key_closed);
  CHECK(other_served);
}

TEST_CASE("broker: with sync before ack, acknowledged records survive a power loss", "[kafka][sim]") {
  Rig rig(7, single_node_config("log.flush.interval.messages=1\n"));
  int acknowledged = 0;
  REQUIRE(rig.run_client([&](Runtime& rt) {
    RawClient client(rt);
    if (!client.connect()) return;
    (void)client.call<CreateTopicsResponse>(create_request("durable", 1), 4);
    for (int b = 0; b < 10; ++b) {
      auto r = client.call<ProduceResponse>(produce_request("durable", 0, make_batch(b * 4, 4, 100), -1), 7);
      if (r && r->responses[0].partition_responses[0].error_code == 0) ++acknowledged;
    }
  }));
  REQUIRE(acknowledged == 10);
  rig.world.node(0).power_off();
  rig.world.run_for(std::chrono::seconds(1));
  rig.world.node(0).power_on_and_start();
  std::optional<FetchResponse> fetched;
  REQUIRE(rig.run_client([&](Runtime& rt) {
    RawClient client(rt);
    if (!client.connect()) return;
    // The restarted node leads the partition again once the controller (itself) re-elected it.
    for (int attempt = 0; attempt < 100; ++attempt) {
      fetched = client.call<FetchResponse>(fetch_request("durable", 0, 0), 11);
      if (!fetched || fetched->responses[0].partitions[0].error_code == 0) break;
      rt.sleep_for(std::chrono::milliseconds(100));
    }
  }));
  REQUIRE(fetched);
  const auto values = fetched_values(*fetched);
  REQUIRE(values.size() == 40);
  for (int i = 0; i < 40; ++i) CHECK(values[static_cast<std::size_t>(i)] == fmt::format("value-{}", i));
}

TEST_CASE("broker: a restarted node answers clients only once it has caught up on the metadata, as Kafka enables "
          "its listeners then; ApiVersions answers at once",
          "[kafka][sim]") {
  // What the client had been answered when the node caught up: 0 nothing, 1 ApiVersions, 2 Metadata too.
  int answered = 0;
  std::vector<int> answered_at_catch_up;
  Rig rig(11, single_node_config(), [&](std::int64_t, int node, std::string_view name, std::string_view) {
    if (node == 0 && name == "BrokerCaughtUp") answered_at_catch_up.push_back(answered);
  });
  REQUIRE(rig.run_client([&](Runtime& rt) {
    RawClient client(rt);
    if (client.connect()) (void)client.call<CreateTopicsResponse>(create_request("kept", 2), 4);
  }));
  REQUIRE(answered_at_catch_up.size() == 1);
  rig.world.node(0).restart();
  std::optional<MetadataResponse> metadata;
  REQUIRE(rig.run_client([&](Runtime& rt) {
    RawClient client(rt);
    // The first connection that succeeds: the node binds its listener before it has caught up.
    while (!client.connect_only()) rt.sleep_for(std::chrono::milliseconds(10));
    if (!client.call<ApiVersionsResponse>(ApiVersionsRequest{}, 3)) return;
    answered = 1;
    MetadataRequest request;
    request.topics = std::vector<MetadataRequest::MetadataRequestTopic>{{{}, std::string("kept")}};
    metadata = client.call<MetadataResponse>(request, 9);
    answered = 2;
  }));
  REQUIRE(answered_at_catch_up.size() == 2);
  CHECK(answered_at_catch_up[1] == 1);
  REQUIRE(metadata);
  REQUIRE(metadata->topics.size() == 1);
  // Answered from the caught-up image: the topic with both partitions.
  CHECK(metadata->topics[0].error_code == 0);
  CHECK(metadata->topics[0].partitions.size() == 2);
}

TEST_CASE("broker: AlterPartitionReassignments on a single node keeps a partition here and refuses other placements",
          "[kafka][sim]") {
  Rig rig(8);
  std::optional<AlterPartitionReassignmentsResponse> v0, v1;
  REQUIRE(rig.run_client([&](Runtime& rt) {
    RawClient client(rt);
    if (!client.connect()) return;
    (void)client.call<CreateTopicsResponse>(create_request("moves", 2), 4);
    Reassign request;
    request.timeout_ms = 5000;
    request.topics.push_back(reassign("moves", {{0, onto({0})},
                                                {1, onto({0, 5})},
                                                {7, onto({0})},
                                                {1, std::nullopt},  // cancel
                                                {1, onto({})},
                                                {1, onto({0, 0})}}));
    request.topics.push_back(reassign("ghost", {{0, onto({0})}}));
    v0 = client.call<AlterPartitionReassignmentsResponse>(request, 0);
    Reassign strict;
    strict.timeout_ms = 0;  // a deadline already passed still gets the single broker's answer
    strict.allow_replication_factor_change = false;
    strict.topics.push_back(reassign("moves", {{0, onto({0})}, {1, onto({0, 5})}}));
    v1 = client.call<AlterPartitionReassignmentsResponse>(strict, 1);
  }));
  REQUIRE(v0);
  CHECK(v0->error_code == 0);
  CHECK_FALSE(v0->error_message.has_value());
  REQUIRE(v0->responses.size() == 2);
  const auto& moves = v0->responses[0];
  CHECK(moves.name == "moves");
  CHECK(indexes_of(moves) == std::vector<std::int32_t>{0, 1, 7, 1, 1, 1});
  CHECK(errors_of(moves) == std::vector<std::int16_t>{code(ErrorCode::none), code(ErrorCode::invalid_replica_assignment),
                                                      code(ErrorCode::unknown_topic_or_partition),
                                                      code(ErrorCode::no_reassignment_in_progress),
                                                      code(ErrorCode::invalid_replica_assignment),
                                                      code(ErrorCode::invalid_replica_assignment)});
  REQUIRE(moves.partitions.size() == 6);
  CHECK_FALSE(moves.partitions[0].error_message.has_value());
  CHECK_THAT(moves.partitions[1].error_message.value_or(""), Catch::Equals("moves-1: broker 5 is not registered"));
  CHECK_THAT(moves.partitions[2].error_message.value_or(""), Catch::Equals("moves-7: no such partition"));
  CHECK_THAT(moves.partitions[3].error_message.value_or(""), Catch::Equals("moves-1: no reassignment is in progress"));
  CHECK_THAT(moves.partitions[4].error_message.value_or(""), Catch::Contains("empty"));
  CHECK_THAT(moves.partitions[5].error_message.value_or(""), Catch::Equals("moves-1: broker 0 is named more than once"));
  const auto& ghost = v0->responses[1];
  CHECK(ghost.name == "ghost");
  CHECK(errors_of(ghost) == std::vector<std::int16_t>{code(ErrorCode::unknown_topic_or_partition)});
  CHECK_THAT(ghost.partitions.at(0).error_message.value_or(""), Catch::Equals("ghost-0: no such topic"));

  REQUIRE(v1);
  CHECK(v1->error_code == 0);
  CHECK_FALSE(v1->allow_replication_factor_change);  // echoed, as Kafka does from v1
  REQUIRE(v1->responses.size() == 1);
  // Kafka checks the replica list before the replication factor: broker 5 is the complaint.
  CHECK(errors_of(v1->responses[0]) ==
        std::vector<std::int16_t>{code(ErrorCode::none), code(ErrorCode::invalid_replica_assignment)});
}

TEST_CASE("broker: ListPartitionReassignments on a single node lists nothing in progress", "[kafka][sim]") {
  Rig rig(9);
  std::optional<ListPartitionReassignmentsResponse> all, named;
  REQUIRE(rig.run_client([&](Runtime& rt) {
    RawClient client(rt);
    if (!client.connect()) return;
    (void)client.call<CreateTopicsResponse>(create_request("moves", 2), 4);
    all = client.call<ListPartitionReassignmentsResponse>(ListPartitionReassignmentsRequest{}, 0);
    ListPartitionReassignmentsRequest some;
    some.topics.emplace();
    some.topics->push_back({"moves", {0, 1}});
    some.topics->push_back({"ghost", {0}});
    named = client.call<ListPartitionReassignmentsResponse>(some, 0);
  }));
  for (const auto& response : {all, named}) {
    REQUIRE(response);
    CHECK(response->error_code == 0);
    CHECK_FALSE(response->error_message.has_value());
    CHECK(response->topics.empty());
  }
}

TEST_CASE("broker: a truncated AlterPartitionReassignments body closes that connection only, naming the field",
          "[kafka][sim]") {
  std::vector<std::string> bad_requests;
  Rig rig(10, single_node_config(), [&bad_requests](std::int64_t, int, std::string_view name, std::string_view fields) {
    if (name == "ConnectionClosedBadRequest") bad_requests.emplace_back(fields);
  });
  bool truncated_closed = false;
  std::optional<AlterPartitionReassignmentsResponse> after;
  REQUIRE(rig.run_client([&](Runtime& rt) {
    RawClient good(rt), bad(rt);
    if (!good.connect() || !bad.connect()) return;
    (void)good.call<CreateTopicsResponse>(create_request("moves", 1), 4);
    Reassign request;
    request.topics.push_back(reassign("moves", {{0, onto({0})}}));
    // Three bytes short: the tag buffers closing the partition, the topic and the request.
    (void)bad.send_raw(truncated(request_frame(request, 0, 1), 3));
    truncated_closed = bad.closed_by_broker();
    after = good.call<AlterPartitionReassignmentsResponse>(request, 0);
  }));
  CHECK(truncated_closed);
  REQUIRE(bad_requests.size() == 1);
  CHECK_THAT(bad_requests[0], Catch::Contains("malformed request"));
  CHECK_THAT(bad_requests[0], Catch::Contains("AlterPartitionReassignmentsRequest v0: topics[0].partitions[0]"));
  REQUIRE(after);
  CHECK(errors_of(after->responses.at(0)) == std::vector<std::int16_t>{code(ErrorCode::none)});
}
