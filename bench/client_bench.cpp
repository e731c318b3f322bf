#include "bench/client_bench.h"

#include <fmt/format.h>

#include <algorithm>
#include <memory>

#include "broker/client/admin.h"
#include "broker/client/consumer.h"
#include "broker/client/producer.h"

namespace keel::bench {
namespace {

double seconds_between(Instant a, Instant b) { return std::chrono::duration<double>(b - a).count(); }

protocol::Bytes payload(std::int32_t bytes) {
  // Varied bytes, so that nothing on the way gets an unrealistically easy time.
  protocol::Bytes out(static_cast<std::size_t>(bytes));
  std::uint32_t x = 2463534242u;
  for (auto& b : out) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    b = static_cast<std::uint8_t>(x);
  }
  return out;
}

struct Pending {
  Instant sent_at;
  std::shared_ptr<client::Delivery> delivery;
};

// Waits for each delivery in send order and records its latency; runs beside the sending task.
void collect_deliveries(Runtime& rt, Channel<Pending>& pending, ThroughputResult& out, Instant& last_ack) {
  while (auto p = pending.recv()) {
    const auto& outcome = p->delivery->wait();
    const Instant now = rt.now();
    if (!outcome) {
      ++out.errors;
      continue;
    }
    out.latencies.push_back(now - p->sent_at);
    last_ack = now;
  }
}

}  // namespace

Status create_topic(Runtime& rt, const std::vector<Address>& bootstrap, const std::string& topic,
                    std::int32_t partitions) {
  client::Admin admin(rt, bootstrap);
  return admin.create_topic(topic, partitions, 1);
}

Result<ThroughputResult> produce_throughput(Runtime& rt, const std::vector<Address>& bootstrap,
                                            const ProduceCase& c, const PhaseLimits& limits) {
  client::ProducerConfig config;
  config.bootstrap_servers = bootstrap;
  config.client_id = "keel-bench";
  config.acks = c.acks;
  config.batch_bytes = c.batch_bytes;
  client::Producer producer(rt, config);
  const protocol::Bytes value = payload(c.record_bytes);

  ThroughputResult out;
  Channel<Pending> pending(static_cast<std::size_t>(limits.records) + 1);
  Instant last_ack{};
  WaitGroup collector_done;
  collector_done.add();
  rt.spawn("bench-deliveries", [&] {
    collect_deliveries(rt, pending, out, last_ack);
    collector_done.done();
  });

  const Instant start = rt.now();
  const Instant deadline = start + limits.time;
  for (std::int64_t i = 0; i < limits.records && rt.now() < deadline; ++i) {
    client::ProducerRecord record;
    record.topic = c.topic;
    record.value = value;
    const Instant sent_at = rt.now();
    (void)pending.send(Pending{sent_at, producer.send(std::move(record))});
  }
  pending.close();
  const Status flushed = producer.flush();
  collector_done.wait();
  producer.close();
  if (!flushed) return flushed.error();
  out.records = out.latencies.size();
  out.bytes = out.records * static_cast<std::uint64_t>(c.record_bytes);
  out.seconds = seconds_between(start, last_ack);
  return out;
}

Result<ThroughputResult> consume_throughput(Runtime& rt, const std::vector<Address>& bootstrap,
                                            const std::string& topic, std::int32_t partitions,
                                            std::uint64_t expected_records, Duration time_limit) {
  client::ConsumerConfig config;
  config.bootstrap_servers = bootstrap;
  config.client_id = "keel-bench";
  config.fetch_max_wait = 100ms;
  client::Consumer consumer(rt, config);
  std::vector<TopicPartition> tps;
  for (std::int32_t p = 0; p < partitions; ++p) tps.push_back(TopicPartition{topic, p});
  consumer.assign(tps);
  ThroughputResult out;
  const Instant start = rt.now();
  if (auto st = consumer.seek_to_beginning(tps); !st) return st.error();
  const Instant deadline = start + time_limit;
  while (out.records < expected_records && rt.now() < deadline) {
    auto records = consumer.poll(200ms);
    if (!records) {
      ++out.errors;
      continue;
    }
    for (const auto& r : *records) {
      ++out.records;
      out.bytes += r.value ? r.value->size() : 0;
    }
  }
  out.seconds = seconds_between(start, rt.now());
  consumer.close();
  return out;
}

Result<ThroughputResult> produce_latency(Runtime& rt, const std::vector<Address>& bootstrap, const ProduceCase& c,
                                         const PhaseLimits& limits) {
  client::ProducerConfig config;
  config.bootstrap_servers = bootstrap;
  config.client_id = "keel-bench-latency";
  config.acks = c.acks;
  config.batch_bytes = c.batch_bytes;
  config.linger = 0ms;
  client::Producer producer(rt, config);
  const protocol::Bytes value = payload(c.record_bytes);
  ThroughputResult out;
  const Instant start = rt.now();
  const Instant deadline = start + limits.time;
  for (std::int64_t i = 0; i < limits.records && rt.now() < deadline; ++i) {
    client::ProducerRecord record;
    record.topic = c.topic;
    record.value = value;
    const Instant sent_at = rt.now();
    auto md = producer.send_and_wait(std::move(record));
    if (!md) {
      ++out.errors;
      if (out.errors > 10) return md.error();
      continue;
    }
    out.latencies.push_back(rt.now() - sent_at);
  }
  out.seconds = seconds_between(start, rt.now());
  out.records = out.latencies.size();
  out.bytes = out.records * static_cast<std::uint64_t>(c.record_bytes);
  producer.close();
  return out;
}

double quantile_ms(std::vector<Duration>& values, double q) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const auto index = static_cast<std::size_t>(q * static_cast<double>(values.size() - 1) + 0.5);
  return std::chrono::duration<double, std::milli>(values[std::min(index, values.size() - 1)]).count();
}

}  // namespace keel::bench
