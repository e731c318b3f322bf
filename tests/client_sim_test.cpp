// The client against a scripted fake broker in the simulated world, for the paths a healthy Keel
// broker never takes: NOT_LEADER_OR_FOLLOWER (metadata refresh, then retry), an older broker's
// ApiVersions refusal, slow responses (the in-flight bound and request order), a stalled broker
// (request timeout, reconnect), no broker at all (delivery timeout, reconnect backoff), acks=0 and a
// full buffer. Node 0 runs the fake on "n0:9092", node 1 the client.
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "broker/client/admin.h"
#include "broker/client/cluster.h"
#include "broker/client/producer.h"
#include "broker/protocol/frame.h"
#include "broker/protocol/messages.h"
#include "broker/protocol/record_batch.h"
#include "broker/rpc/connection.h"
#include "sim/node.h"
#include "sim/world.h"
#include "tests/support/bytes.h"
#include "tests/support/node_config.h"
#include "tests/support/sim_world.h"

namespace {

using namespace keel;
using namespace keel::client;
using namespace keel::protocol;
using namespace std::chrono_literals;

using test::bootstrap;

// What the fake broker does and what it saw. It lives outside the world, so its record survives
// the node's process.
struct Fake {
  // ---- behaviour ----
  std::int16_t api_versions_max = 3;  // above this, Kafka's UNSUPPORTED_VERSION answer
  std::int16_t produce_min = 3;
  std::int16_t produce_max = 8;
  std::int32_t partitions = 1;
  int not_leader_answers = 0;          // the first n partitions produced get NOT_LEADER_OR_FOLLOWER
  Duration response_delay{};           // every response waits this long (written in order)
  bool stall_metadata = false;         // Metadata requests get no answer
  // ---- what it saw ----
  int connections = 0;
  std::vector<std::int16_t> api_versions_asked;
  std::vector<std::int16_t> produce_versions;
  int metadata_requests = 0;
  int produce_requests = 0;
  int outstanding = 0;
  int outstanding_max = 0;
  std::map<std::int32_t, std::vector<std::string>> log;  // partition -> values in append order
};

struct Pending {
  Bytes frame;  // empty: no response (acks=0)
  Instant ready_at{};
};

Bytes api_versions(Fake& fake, const RequestHeader& h) {
  fake.api_versions_asked.push_back(h.api_version);
  ApiVersionsResponse response;
  const auto add = [&](ApiKey key, std::int16_t min, std::int16_t max) {
    ApiVersionsResponse::ApiVersion v;
    v.api_key = static_cast<std::int16_t>(key);
    v.min_version = min;
    v.max_version = max;
    response.api_keys.push_back(v);
  };
  add(ApiKey::api_versions, 0, fake.api_versions_max);
  if (h.api_version > fake.api_versions_max) {
    response.error_code = static_cast<std::int16_t>(ErrorCode::unsupported_version);
    return encode_response_frame(h.correlation_id, ApiKey::api_versions, 0, response);
  }
  add(ApiKey::produce, fake.produce_min, fake.produce_max);
  add(ApiKey::metadata, 0, 9);
  return encode_response_frame(h.correlation_id, ApiKey::api_versions, h.api_version, response);
}

Bytes metadata(Fake& fake, const RequestHeader& h, Reader& r) {
  ++fake.metadata_requests;
  auto request = decode<MetadataRequest>(r, h.api_version);
  MetadataResponse response;
  MetadataResponse::MetadataResponseBroker b;
  b.node_id = 0;
  b.host = "n0";
  b.port = test::client_port;
  response.brokers.push_back(b);
  response.controller_id = 0;
  for (const auto& t : request && request->topics ? *request->topics : std::vector<MetadataRequest::MetadataRequestTopic>{}) {
    MetadataResponse::MetadataResponseTopic topic;
    topic.name = t.name;
    for (std::int32_t p = 0; p < fake.partitions; ++p) {
      MetadataResponse::MetadataResponsePartition partition;
      partition.partition_index = p;
      partition.leader_id = 0;
      partition.replica_nodes = {0};
      partition.isr_nodes = {0};
      topic.partitions.push_back(partition);
    }
    response.topics.push_back(std::move(topic));
  }
  return encode_response_frame(h.correlation_id, ApiKey::metadata, h.api_version, response);
}

Bytes produce(Fake& fake, const RequestHeader& h, Reader& r) {
  ++fake.produce_requests;
  fake.produce_versions.push_back(h.api_version);
  auto request = decode<ProduceRequest>(r, h.api_version);
  KEEL_ASSERT(static_cast<bool>(request));
  ProduceResponse response;
  for (const auto& t : request->topic_data) {
    ProduceResponse::TopicProduceResponse topic;
    topic.name = t.name;
    for (const auto& p : t.partition_data) {
      ProduceResponse::PartitionProduceResponse out;
      out.index = p.index;
      if (fake.not_leader_answers > 0) {
        --fake.not_leader_answers;
        out.error_code = static_cast<std::int16_t>(ErrorCode::not_leader_or_follower);
        out.base_offset = -1;
      } else {
        auto& log = fake.log[p.index];
        out.base_offset = static_cast<std::int64_t>(log.size());
        auto records = decode_records(*p.records);
        KEEL_ASSERT(static_cast<bool>(records));
        for (const auto& rec : *records) log.emplace_back(rec.value->begin(), rec.value->end());
      }
      topic.partition_responses.push_back(out);
    }
    response.responses.push_back(std::move(topic));
  }
  if (request->acks == 0) return {};
  return encode_response_frame(h.correlation_id, ApiKey::produce, h.api_version, response);
}

// One connection: a reader that answers each request (into `out`, in order) and a writer that
// sends the answers when due.
void serve_connection(Runtime& rt, Fake& fake, std::shared_ptr<Connection> c) {
  auto out = std::make_shared<Channel<Pending>>(64);
  rt.spawn("fake-writer", [&rt, &fake, c, out] {
    while (auto p = out->recv()) {
      if (rt.now() < p->ready_at) rt.sleep_until(p->ready_at);
      --fake.outstanding;
      if (!p->frame.empty() && !write_frame(*c, p->frame, instant_max)) return;
    }
  });
  while (true) {
    auto frame = read_frame(*c, 1 << 24, instant_max);
    if (!frame) return out->close();
    Reader r(*frame);
    auto header = decode_request_header(r);
    if (!header) return out->close();
    Bytes answer;
    switch (static_cast<ApiKey>(header->api_key)) {
      case ApiKey::api_versions: answer = api_versions(fake, *header); break;
      case ApiKey::metadata:
        answer = metadata(fake, *header, r);
        if (fake.stall_metadata) continue;  // never answered: later answers must not overtake it
        break;
      case ApiKey::produce: answer = produce(fake, *header, r); break;
      default: return out->close();
    }
    fake.outstanding_max = std::max(fake.outstanding_max, ++fake.outstanding);
    (void)out->try_send(Pending{std::move(answer), rt.now() + fake.response_delay});
  }
}

void run_fake(Runtime& rt, Fake& fake) {
  auto listener = rt.net().listen(test::node0_address);
  KEEL_ASSERT(static_cast<bool>(listener));
  while (auto c = listener->accept()) {
    ++fake.connections;
    auto shared = std::make_shared<Connection>(std::move(*c));
    rt.spawn("fake-connection", [&rt, &fake, shared] { serve_connection(rt, fake, shared); });
  }
}

// Two machines: node 0 runs the fake (when there is one), node 1 is the client's.
void add_fake_and_client(sim::World& world, Fake* fake) {
  test::add_nodes(world, 2);
  if (fake != nullptr) {
    world.node(0).set_main([fake](Runtime& rt) { run_fake(rt, *fake); });
    world.node(0).start();
  }
}

// Runs `script` on node 1 against the fake on node 0 (or against nobody, when `fake` is null).
bool run_script(std::uint64_t seed, Fake* fake, const std::function<void(Runtime&)>& script) {
  sim::World world(test::world_options(seed));
  add_fake_and_client(world, fake);
  const bool finished = test::run_script(world, 1, script, 10min);
  test::kill_all(world);
  return finished;
}

ProducerRecord record(const std::string& value, std::optional<std::int32_t> partition = 0) {
  ProducerRecord r;
  r.topic = "t";
  r.partition = partition;
  r.value = test::bytes_of(value);
  return r;
}

ProducerConfig producer_config() {
  ProducerConfig pc;
  pc.bootstrap_servers = bootstrap;
  pc.linger = 0ms;
  pc.retry_backoff = 100ms;
  pc.request_timeout = 5s;
  pc.delivery_timeout = 30s;
  return pc;
}

}  // namespace

TEST_CASE("client: NOT_LEADER_OR_FOLLOWER makes the producer refresh metadata and retry until it lands",
          "[client][sim]") {
  Fake fake;
  fake.not_leader_answers = 3;
  std::vector<std::int64_t> offsets;
  std::uint64_t retries = 0;
  int metadata_before_errors = 0;
  REQUIRE(run_script(1, &fake, [&](Runtime& rt) {
    Producer producer(rt, producer_config());
    rt.spawn("watch", [&] {
      while (fake.produce_requests == 0) rt.sleep_for(1ms);
      metadata_before_errors = fake.metadata_requests;
    });
    for (int i = 0; i < 5; ++i) {
      if (auto md = producer.send_and_wait(record(fmt::format("v{}", i)))) offsets.push_back(md->offset);
    }
    retries = producer.retries();
  }));
  CHECK(offsets == std::vector<std::int64_t>{0, 1, 2, 3, 4});
  CHECK(retries == 3);
  CHECK(fake.metadata_requests >= metadata_before_errors + 1);  // refreshed after the errors
  CHECK(fake.log[0] == std::vector<std::string>{"v0", "v1", "v2", "v3", "v4"});
}

TEST_CASE("client: a broker that refuses ApiVersions v3 is asked at its own highest version", "[client][sim]") {
  Fake fake;
  fake.api_versions_max = 2;
  fake.produce_max = 7;
  bool delivered = false;
  REQUIRE(run_script(2, &fake, [&](Runtime& rt) {
    Producer producer(rt, producer_config());
    delivered = static_cast<bool>(producer.send_and_wait(record("x")));
  }));
  CHECK(delivered);
  REQUIRE(fake.api_versions_asked.size() >= 2);
  CHECK(fake.api_versions_asked[0] == 3);
  CHECK(fake.api_versions_asked[1] == 2);
  REQUIRE(!fake.produce_versions.empty());
  CHECK(fake.produce_versions[0] == 7);  // the highest Produce version both speak
}

TEST_CASE("client: at most max_in_flight requests wait per broker, written in the order batches were made",
          "[client][sim]") {
  for (std::int32_t max_in_flight : {1, 2, 5}) {
    Fake fake;
    fake.response_delay = 50ms;
    std::size_t acknowledged = 0;
    REQUIRE(run_script(3, &fake, [&](Runtime& rt) {
      ProducerConfig pc = producer_config();
      pc.max_in_flight_per_connection = max_in_flight;
      Producer producer(rt, pc);
      std::vector<std::shared_ptr<Delivery>> deliveries;
      for (int i = 0; i < 40; ++i) {
        deliveries.push_back(producer.send(record(fmt::format("v{:02}", i))));
        rt.sleep_for(2ms);  // linger 0: about one batch per record
      }
      (void)producer.flush();
      for (auto& d : deliveries) acknowledged += d->wait() ? 1 : 0;
    }));
    INFO("max_in_flight " << max_in_flight);
    CHECK(acknowledged == 40);
    CHECK(fake.outstanding_max == max_in_flight);
    std::vector<std::string> expected;
    for (int i = 0; i < 40; ++i) expected.push_back(fmt::format("v{:02}", i));
    CHECK(fake.log[0] == expected);  // no failures: order holds even with several in flight
  }
}

TEST_CASE("client: a request that times out breaks its connection; the next call reconnects", "[client][sim]") {
  Fake fake;
  fake.stall_metadata = true;
  Status first = {};
  Duration first_took{};
  bool second_ok = false;
  REQUIRE(run_script(4, &fake, [&](Runtime& rt) {
    Admin admin(rt, bootstrap, 1s);
    const Instant start = rt.now();
    auto a = admin.metadata({"t"});
    first_took = rt.now() - start;
    if (!a) first = a.error();
    fake.stall_metadata = false;
    second_ok = static_cast<bool>(admin.metadata({"t"}));
  }));
  REQUIRE_FALSE(first);
  CHECK(first.code() == Errc::timed_out);
  CHECK(first_took >= 1s);
  CHECK(first_took < 1200ms);
  CHECK(second_ok);
  CHECK(fake.connections == 2);
}

TEST_CASE("client: an ApiVersions answer with a range upside down is refused, naming the api", "[client][sim]") {
  Fake fake;
  fake.produce_min = 9;
  fake.produce_max = 8;
  Status opened;
  bool usable_after = true;
  REQUIRE(run_script(3, &fake, [&](Runtime& rt) {
    rpc::BrokerConnection connection(rt, test::node0_address, "probe", 5s);
    opened = connection.open(1s);
    usable_after = static_cast<bool>(connection.version_for(ApiKey::produce, 8));
  }));
  REQUIRE_FALSE(opened);
  CHECK(opened.code() == Errc::corrupt);
  CHECK(opened.error().message.find("lists api 0 from v9 to v8") != std::string::npos);
  CHECK_FALSE(usable_after);  // nothing negotiated is kept
}

TEST_CASE("client: with no broker, sends fail at the delivery timeout and connects back off to 1 s", "[client][sim]") {
  Result<RecordMetadata> outcome = make_error(Errc::cancelled, "not run");
  Duration took{};
  std::uint64_t connects = 0;
  REQUIRE(run_script(5, nullptr, [&](Runtime& rt) {
    ProducerConfig pc = producer_config();
    pc.delivery_timeout = 3s;
    Producer producer(rt, pc);
    const Instant start = rt.now();
    outcome = producer.send_and_wait(record("x"));
    took = rt.now() - start;
    Cluster cluster(rt, bootstrap, "probe", 1s);
    const Instant end = rt.now() + 10s;
    while (rt.now() < end) (void)cluster.connection(-1);
    connects = cluster.connects_attempted();
  }));
  REQUIRE_FALSE(outcome);
  CHECK(outcome.code() == Errc::timed_out);
  CHECK(took >= 3s);
  CHECK(took < 3500ms);
  // Backoffs of 50, 100, 200, 400, 800 ms, then 1 s: about 15 attempts in 10 s, not thousands.
  CHECK(connects >= 12);
  CHECK(connects <= 17);
}

TEST_CASE("client: batches already sent when the broker vanishes fail at the delivery timeout", "[client][sim]") {
  // The fake answers metadata, then the machine dies before any Produce is answered.
  Fake fake;
  fake.response_delay = 100ms;
  sim::World world(test::world_options(6));
  add_fake_and_client(world, &fake);
  std::optional<Result<RecordMetadata>> outcome;
  Duration took{};
  world.node(1).set_main([&](Runtime& rt) {
    ProducerConfig pc = producer_config();
    pc.delivery_timeout = 4s;
    pc.request_timeout = 1s;
    Producer producer(rt, pc);
    auto warm = producer.send_and_wait(record("warm"));  // metadata and a connection
    const Instant start = rt.now();
    auto d = producer.send(record("lost"));
    outcome = d->wait();
    took = d->completed_at() - start;
  });
  world.node(1).start();
  world.run_while([&] { return fake.produce_requests < 2; }, world.now() + 1min);
  world.node(0).power_off();
  world.run_while([&] { return !outcome.has_value(); }, world.now() + 1min);
  test::kill_all(world);
  REQUIRE(outcome.has_value());
  REQUIRE_FALSE(*outcome);
  CHECK(outcome->code() == Errc::timed_out);
  CHECK(took >= 4s);
  CHECK(took < 5500ms);
}

TEST_CASE("client: acks=0 completes once written, without offsets, and the broker gets every record",
          "[client][sim]") {
  Fake fake;
  std::vector<std::int64_t> offsets;
  REQUIRE(run_script(7, &fake, [&](Runtime& rt) {
    ProducerConfig pc = producer_config();
    pc.acks = 0;
    Producer producer(rt, pc);
    for (int i = 0; i < 10; ++i) {
      if (auto md = producer.send_and_wait(record(fmt::format("v{}", i)))) offsets.push_back(md->offset);
    }
    rt.sleep_for(100ms);  // the last frame reaches the broker
  }));
  CHECK(offsets == std::vector<std::int64_t>(10, -1));
  CHECK(fake.log[0].size() == 10);
}

TEST_CASE("client: send waits while buffer_bytes is full, until a batch is acknowledged", "[client][sim]") {
  Fake fake;
  fake.response_delay = 1s;
  std::vector<Duration> send_returned;
  REQUIRE(run_script(8, &fake, [&](Runtime& rt) {
    ProducerConfig pc = producer_config();
    pc.buffer_bytes = 2000;
    pc.batch_bytes = 600;
    Producer producer(rt, pc);
    (void)producer.send_and_wait(record("warm"));  // metadata first
    const Instant start = rt.now();
    for (int i = 0; i < 6; ++i) {
      producer.send(record(std::string(400, 'x')));  // ~436 bytes each: four fit in 2000
      send_returned.push_back(rt.now() - start);
    }
    (void)producer.flush();
  }));
  REQUIRE(send_returned.size() == 6);
  for (int i = 0; i < 4; ++i) CHECK(send_returned[static_cast<std::size_t>(i)] < 10ms);
  CHECK(send_returned[4] >= 1s);  // waited for the first batch's answer
}
