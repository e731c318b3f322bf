// The client against the real broker in the simulated world: the partitioner matches the Java
// client's, the producer batches by linger and by size, acks=0 and acks=all both deliver, and the
// consumer reads everything back in order per key, seeks, and long-polls.
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "broker/client/admin.h"
#include "broker/client/consumer.h"
#include "broker/client/producer.h"
#include "tests/support/bytes.h"
#include "tests/support/keel_world.h"

namespace {

using namespace keel;
using namespace keel::client;

using test::bootstrap;
using test::bytes_of;

// Node 0 runs a broker; node 1 runs the test's client script to completion.
bool run_with_broker(std::uint64_t seed, const std::function<void(Runtime&)>& script,
                     const std::string& extra_config = "") {
  test::NodeAndClient world(test::world_options(seed), test::single_node_config(extra_config));
  return world.run_client(
      [script](Runtime& rt) {
        if (test::await_serving(rt, bootstrap)) script(rt);
      },
      std::chrono::minutes(10));
}

}  // namespace

TEST_CASE("client: murmur2 and the default partition match the Java client", "[client]") {
  // Values of Kafka's Utils.murmur2 for these UTF-8 strings.
  const std::vector<std::pair<std::string, std::int32_t>> vectors{
      {"1", -1993445489}, {"12", 126087238}, {"123", -267702483}, {"1234", -1614185708}, {"12345", -1188365604}};
  for (const auto& [key, hash] : vectors) {
    INFO(key);
    CHECK(murmur2(bytes_of(key)) == hash);
    CHECK(partition_for_key(bytes_of(key), 7) == (hash & 0x7fffffff) % 7);
  }
}

TEST_CASE("client: produced keyed records come back in per-key order from every partition", "[client][sim]") {
  std::map<std::string, std::vector<std::string>> sent, received;
  std::size_t acknowledged = 0;
  Status created = make_error(Errc::cancelled, "not run");
  REQUIRE(run_with_broker(11, [&](Runtime& rt) {
    Admin admin(rt, bootstrap);
    created = admin.create_topic("orders", 4, 1);
    ProducerConfig pc;
    pc.bootstrap_servers = bootstrap;
    pc.linger = std::chrono::milliseconds(20);
    Producer producer(rt, pc);
    std::vector<std::shared_ptr<Delivery>> deliveries;
    for (int i = 0; i < 2000; ++i) {
      ProducerRecord r;
      r.topic = "orders";
      const std::string key = fmt::format("customer-{}", i % 13);
      r.key = bytes_of(key);
      r.value = bytes_of(fmt::format("order-{}", i));
      sent[key].push_back(fmt::format("order-{}", i));
      deliveries.push_back(producer.send(std::move(r)));
    }
    (void)producer.flush();
    for (auto& d : deliveries) acknowledged += d->wait() ? 1 : 0;
    ConsumerConfig cc;
    cc.bootstrap_servers = bootstrap;
    Consumer consumer(rt, cc);
    std::vector<TopicPartition> tps;
    for (int p = 0; p < 4; ++p) tps.push_back(TopicPartition{"orders", p});
    consumer.assign(tps);
    (void)consumer.seek_to_beginning(tps);
    std::size_t total = 0;
    for (int round = 0; round < 100 && total < 2000; ++round) {
      auto records = consumer.poll(std::chrono::milliseconds(200));
      if (!records) break;
      for (const auto& r : *records) {
        received[test::text_of(r.key, "<null>")].push_back(test::text_of(r.value, "<null>"));
        ++total;
      }
    }
  }));
  INFO((created ? std::string() : created.error().message));
  REQUIRE(created);
  CHECK(acknowledged == 2000);
  CHECK(received == sent);
}

TEST_CASE("client: batches close by linger and by size; acks=0 and acks=1 deliver", "[client][sim]") {
  std::uint64_t linger_requests = 0, size_requests = 0;
  std::int64_t end_after_acks0 = -1;
  std::vector<std::int64_t> offsets;
  REQUIRE(run_with_broker(12, [&](Runtime& rt) {
    Admin admin(rt, bootstrap);
    (void)admin.create_topic("t", 1, 1);
    {
      ProducerConfig pc;
      pc.bootstrap_servers = bootstrap;
      pc.linger = std::chrono::milliseconds(100);
      pc.acks = 1;
      Producer producer(rt, pc);
      // 50 small records sent at once all fit one batch, which closes when linger ends.
      std::vector<std::shared_ptr<Delivery>> ds;
      for (int i = 0; i < 50; ++i) {
        ProducerRecord r;
        r.topic = "t";
        r.value = bytes_of(fmt::format("v{}", i));
        ds.push_back(producer.send(std::move(r)));
      }
      for (auto& d : ds) {
        auto md = d->wait();
        if (md) offsets.push_back(md->offset);
      }
      linger_requests = producer.requests_sent();
    }
    {
      ProducerConfig pc;
      pc.bootstrap_servers = bootstrap;
      pc.linger = std::chrono::seconds(60);  // only size closes batches here (and the final flush)
      pc.batch_bytes = 4096;
      pc.acks = 0;
      Producer producer(rt, pc);
      for (int i = 0; i < 100; ++i) {
        ProducerRecord r;
        r.topic = "t";
        r.value = bytes_of(std::string(1000, 'x'));
        producer.send(std::move(r));
      }
      (void)producer.flush();
      size_requests = producer.requests_sent();
    }
    ConsumerConfig cc;
    cc.bootstrap_servers = bootstrap;
    Consumer consumer(rt, cc);
    auto end = consumer.end_offset(TopicPartition{"t", 0});
    if (end) end_after_acks0 = *end;
  }));
  CHECK(linger_requests == 1);
  REQUIRE(offsets.size() == 50);
  for (std::size_t i = 0; i < offsets.size(); ++i) CHECK(offsets[i] == static_cast<std::int64_t>(i));
  // ~1 KiB records in 4 KiB batches: about 4 records per request.
  CHECK(size_requests >= 20);
  CHECK(size_requests <= 40);
  CHECK(end_after_acks0 == 150);
}

TEST_CASE("client: the consumer seeks and long-polls until records arrive", "[client][sim]") {
  std::vector<std::int64_t> after_seek;
  Duration waited{};
  std::size_t arrived = 0;
  REQUIRE(run_with_broker(13, [&](Runtime& rt) {
    Admin admin(rt, bootstrap);
    (void)admin.create_topic("s", 1, 1);
    ProducerConfig pc;
    pc.bootstrap_servers = bootstrap;
    Producer producer(rt, pc);
    for (int i = 0; i < 10; ++i) {
      ProducerRecord r;
      r.topic = "s";
      r.value = bytes_of(fmt::format("{}", i));
      (void)producer.send_and_wait(std::move(r));
    }
    ConsumerConfig cc;
    cc.bootstrap_servers = bootstrap;
    cc.fetch_max_wait = std::chrono::seconds(5);
    Consumer consumer(rt, cc);
    const TopicPartition tp{"s", 0};
    consumer.assign({tp});
    consumer.seek(tp, 7);
    if (auto records = consumer.poll(std::chrono::seconds(1))) {
      for (const auto& r : *records) after_seek.push_back(r.offset);
    }
    rt.spawn("late-producer", [&] {
      rt.sleep_for(std::chrono::milliseconds(800));
      ProducerRecord r;
      r.topic = "s";
      r.value = bytes_of("late");
      (void)producer.send_and_wait(std::move(r));
    });
    const Instant start = rt.now();
    auto records = consumer.poll(std::chrono::seconds(10));
    waited = rt.now() - start;
    if (records) arrived = records->size();
    rt.sleep_for(std::chrono::milliseconds(100));
  }));
  CHECK(after_seek == std::vector<std::int64_t>{7, 8, 9});
  CHECK(arrived == 1);
  CHECK(waited >= std::chrono::milliseconds(800));
  CHECK(waited < std::chrono::seconds(2));
}
