// The client's pure logic, without a broker: the partitioner against the Java client's values, the
// sticky partitioner, Kafka error values, and the record accumulator on a clock the test moves
// (batches close by size and by linger; flush, retry order and backoff, expiry, the buffer bound).
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <set>
#include <string>
#include <vector>

#include "broker/client/accumulator.h"
#include "broker/client/partitioner.h"
#include "broker/client/types.h"
#include "tests/support/bytes.h"

namespace {

using namespace keel;
using namespace keel::client;
using namespace std::chrono_literals;

using test::bytes_of;

const Instant t0 = Instant{} + 1h;

protocol::Record record_of(std::size_t value_bytes) {
  protocol::Record r;
  r.timestamp = 1000;
  r.value = protocol::Bytes(value_bytes, 'v');
  return r;
}

struct Appender {
  RecordAccumulator& acc;
  TopicPartition tp;
  std::vector<std::shared_ptr<Delivery>> deliveries;
  RecordAccumulator::Appended append(std::size_t value_bytes, Instant now) {
    auto r = record_of(value_bytes);
    const std::size_t n = estimate_record_bytes(r.key, r.value, r.headers);
    deliveries.push_back(std::make_shared<Delivery>());
    return acc.append(tp, std::move(r), deliveries.back(), n, now);
  }
};

AccumulatorConfig config(std::int32_t batch_bytes, Duration linger) {
  AccumulatorConfig c;
  c.batch_bytes = batch_bytes;
  c.linger = linger;
  c.delivery_timeout = 10s;
  c.buffer_bytes = 1 << 20;
  return c;
}

}  // namespace

TEST_CASE("client: murmur2 matches Kafka's UtilsTest vectors and the Java client's hashes", "[client]") {
  // Kafka's own UtilsTest.testMurmur2 cases, and hashes of short strings the Java client gives.
  const std::vector<std::pair<std::string, std::int32_t>> vectors{
      {"21", -973932308},
      {"foobar", -790332482},
      {"a-little-bit-long-string", -985981536},
      {"a-little-bit-longer-string", -1486304829},
      {"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971},
      {"abc", 479470107},
      {"1", -1993445489},
      {"12", 126087238},
      {"123", -267702483},
      {"1234", -1614185708},
      {"12345", -1188365604},
  };
  for (const auto& [key, hash] : vectors) {
    INFO(key);
    CHECK(murmur2(bytes_of(key)) == hash);
  }
}

TEST_CASE("client: a keyed record's partition is the positive murmur2 modulo the partition count", "[client]") {
  // Utils.toPositive masks the sign bit (it is not Math.abs): -790332482 & 0x7fffffff = 1357151166.
  CHECK(partition_for_key(bytes_of("foobar"), 1) == 0);
  CHECK(partition_for_key(bytes_of("foobar"), 7) == 1357151166 % 7);
  CHECK(partition_for_key(bytes_of("21"), 12) == (-973932308 & 0x7fffffff) % 12);
  CHECK(partition_for_key(bytes_of("abc"), 100) == 479470107 % 100);
  for (std::int32_t n : {1, 2, 3, 16, 1000}) {
    for (int i = 0; i < 200; ++i) {
      const auto p = partition_for_key(bytes_of(fmt::format("key-{}", i)), n);
      CHECK(p >= 0);
      CHECK(p < n);
    }
  }
}

TEST_CASE("client: the sticky partitioner keeps a partition for one batch, then moves to another", "[client]") {
  Random random(42);
  StickyPartitioner sticky;
  const std::int32_t first = sticky.partition("t", 5, random);
  CHECK(sticky.partition("t", 5, random) == first);
  // The first batch on the choice stays on it.
  CHECK(sticky.on_new_batch("t", 5, random) == first);
  std::set<std::int32_t> seen;
  std::int32_t current = first;
  for (int i = 0; i < 200; ++i) {
    const std::int32_t next = sticky.on_new_batch("t", 5, random);
    CHECK(next != current);  // always a different partition
    CHECK(next >= 0);
    CHECK(next < 5);
    CHECK(sticky.partition("t", 5, random) == next);
    seen.insert(next);
    current = next;
  }
  CHECK(seen.size() == 5);  // every partition gets its turn
  // One partition: nowhere else to go.
  CHECK(sticky.partition("one", 1, random) == 0);
  CHECK(sticky.on_new_batch("one", 1, random) == 0);
  CHECK(sticky.on_new_batch("one", 1, random) == 0);
}

TEST_CASE("client: a Kafka error value names the error and can be tested for", "[client]") {
  const Status exists = kafka_error(protocol::ErrorCode::topic_already_exists, "Topic 'x' already exists.");
  CHECK(exists.error().message == "TOPIC_ALREADY_EXISTS: Topic 'x' already exists.");
  CHECK(is_kafka_error(exists, protocol::ErrorCode::topic_already_exists));
  CHECK_FALSE(is_kafka_error(exists, protocol::ErrorCode::invalid_partitions));
  CHECK(kafka_error_code(kafka_error(protocol::ErrorCode::not_leader_or_follower)) ==
        protocol::ErrorCode::not_leader_or_follower);
  CHECK_FALSE(kafka_error_code(make_error(Errc::timed_out, "TOPIC_ALREADY_EXISTS")).has_value());
  CHECK_FALSE(is_kafka_error(Status(), protocol::ErrorCode::topic_already_exists));
}

TEST_CASE("client: accumulator closes a batch when the next record would pass batch_bytes", "[client]") {
  // A 100-byte value is at most 136 bytes in a batch; with the 61-byte header, 6 fit in 1000.
  RecordAccumulator acc(config(1000, 1h));
  Appender a{acc, TopicPartition{"t", 0}, {}};
  int new_batches = 0;
  int closed = 0;
  for (int i = 0; i < 20; ++i) {
    const auto appended = a.append(100, t0);
    new_batches += appended.new_batch ? 1 : 0;
    closed += appended.closed ? 1 : 0;
    CHECK(appended.batch->bytes <= 1000u);
  }
  CHECK(new_batches == 4);  // 6 + 6 + 6 + 2
  CHECK(closed == 3);
  CHECK(acc.queued_batches() == 4);
  CHECK(acc.unfinished_batches() == 4);
  // Full batches are sendable at once, linger or not.
  auto ready = acc.ready(t0);
  REQUIRE(ready.partitions.size() == 1);
  for (int i = 0; i < 3; ++i) {
    auto batch = acc.drain(TopicPartition{"t", 0});
    REQUIRE(batch);
    CHECK(batch->records.size() == 6);
    for (std::size_t j = 0; j < batch->records.size(); ++j) CHECK(batch->records[j].offset == static_cast<std::int64_t>(j));
  }
  // The last batch is neither full nor followed by another: it waits for its linger.
  ready = acc.ready(t0 + 59min);
  CHECK(ready.partitions.empty());
  CHECK(ready.next_ready == t0 + 1h);
}

TEST_CASE("client: accumulator makes a batch sendable exactly when its linger ends", "[client]") {
  RecordAccumulator acc(config(16384, 100ms));
  Appender a{acc, TopicPartition{"t", 3}, {}};
  (void)a.append(10, t0);
  (void)a.append(10, t0 + 40ms);  // later records do not extend the linger
  CHECK(acc.queued_batches() == 1);
  auto ready = acc.ready(t0 + 99ms);
  CHECK(ready.partitions.empty());
  CHECK(ready.next_ready == t0 + 100ms);
  ready = acc.ready(t0 + 100ms);
  REQUIRE(ready.partitions.size() == 1);
  CHECK(ready.partitions[0] == TopicPartition{"t", 3});
  auto batch = acc.drain(ready.partitions[0]);
  REQUIRE(batch);
  CHECK(batch->records.size() == 2);
  CHECK(batch->created == t0);
  CHECK(acc.queued_batches() == 0);
  CHECK(acc.unfinished_batches() == 1);  // in flight until released
  acc.release(*batch);
  CHECK(acc.unfinished_batches() == 0);
  CHECK(acc.buffered_bytes() == 0);
}

TEST_CASE("client: accumulator with linger 0 sends at once, and a flush overrides linger", "[client]") {
  RecordAccumulator now_acc(config(16384, 0ms));
  Appender a{now_acc, TopicPartition{"t", 0}, {}};
  (void)a.append(10, t0);
  CHECK(now_acc.ready(t0).partitions.size() == 1);

  RecordAccumulator acc(config(16384, 1h));
  Appender b{acc, TopicPartition{"t", 0}, {}};
  Appender c{acc, TopicPartition{"u", 1}, {}};
  (void)b.append(10, t0);
  (void)c.append(10, t0);
  CHECK(acc.ready(t0).partitions.empty());
  acc.begin_flush();
  CHECK(acc.ready(t0).partitions.size() == 2);
  acc.end_flush();
  CHECK(acc.ready(t0).partitions.empty());
  acc.close();
  CHECK(acc.ready(t0).partitions.size() == 2);
}

TEST_CASE("client: a retried batch goes back before later batches and waits out its backoff", "[client]") {
  RecordAccumulator acc(config(200, 0ms));
  Appender a{acc, TopicPartition{"t", 0}, {}};
  for (int i = 0; i < 3; ++i) (void)a.append(100, t0);  // one record per batch: three batches
  REQUIRE(acc.queued_batches() == 3);
  auto first = acc.drain(a.tp);
  auto second = acc.drain(a.tp);
  REQUIRE(first);
  REQUIRE(second);
  // Both failed; the second's failure is handled first. Creation order is restored anyway.
  acc.reenqueue(second, t0 + 10ms, 100ms);
  acc.reenqueue(first, t0 + 10ms, 100ms);
  auto ready = acc.ready(t0 + 50ms);
  CHECK(ready.partitions.empty());
  CHECK(ready.next_ready == t0 + 110ms);
  ready = acc.ready(t0 + 110ms);
  REQUIRE(ready.partitions.size() == 1);
  CHECK(acc.drain(a.tp) == first);
  CHECK(acc.drain(a.tp) == second);
  CHECK(acc.drain(a.tp)->sequence > second->sequence);
  CHECK(acc.drain(a.tp) == nullptr);
}

TEST_CASE("client: queued batches expire at the delivery timeout, counted from their creation", "[client]") {
  RecordAccumulator acc(config(16384, 1h));
  Appender a{acc, TopicPartition{"t", 0}, {}};
  Appender b{acc, TopicPartition{"t", 1}, {}};
  (void)a.append(10, t0);
  (void)b.append(10, t0 + 3s);
  CHECK(acc.next_expiry() == t0 + 10s);
  CHECK(acc.expire(t0 + 9s).empty());
  auto expired = acc.expire(t0 + 10s);
  REQUIRE(expired.size() == 1);
  CHECK(expired[0]->tp == a.tp);
  CHECK(acc.next_expiry() == t0 + 13s);
  CHECK(acc.unfinished_batches() == 2);  // expired batches still need their outcome and release
  acc.release(*expired[0]);
  CHECK(acc.unfinished_batches() == 1);
}

TEST_CASE("client: the accumulator's buffer bounds the bytes held, but always takes one record", "[client]") {
  AccumulatorConfig c = config(16384, 1h);
  c.buffer_bytes = 1000;
  RecordAccumulator acc(c);
  Appender a{acc, TopicPartition{"t", 0}, {}};
  CHECK(acc.has_room(5000));  // empty: one record always fits
  (void)a.append(400, t0);    // 436 bytes
  CHECK(acc.has_room(436));
  (void)a.append(400, t0);
  CHECK(acc.buffered_bytes() == 872);
  CHECK_FALSE(acc.has_room(436));
  auto batch = acc.drain(a.tp);
  acc.release(*batch);
  CHECK(acc.buffered_bytes() == 0);
  CHECK(acc.has_room(436));
}
