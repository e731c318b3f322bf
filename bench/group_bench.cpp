#include "bench/group_bench.h"

#include <fmt/format.h>

#include <map>
#include <memory>
#include <set>

#include "broker/client/admin.h"
#include "broker/client/group_consumer.h"
#include "broker/client/producer.h"

namespace keel::bench {
namespace {


double seconds_between(Instant a, Instant b) { return std::chrono::duration<double>(b - a).count(); }

// What the members saw, shared by their tasks.
struct Shared {
  std::map<TopicPartition, int> owner;
  std::set<std::pair<TopicPartition, std::int64_t>> read;
  GroupResult result;
  Instant started{};
  bool stable_seen = false;
  bool done = false;
};

Status produce(Runtime& rt, const std::vector<Address>& bootstrap, const GroupCase& c) {
  client::ProducerConfig config;
  config.bootstrap_servers = bootstrap;
  config.linger = std::chrono::milliseconds(5);
  client::Producer producer(rt, config);
  std::vector<std::shared_ptr<client::Delivery>> deliveries;
  for (std::int64_t i = 0; i < c.records; ++i) {
    client::ProducerRecord r;
    r.topic = c.topic;
    r.partition = static_cast<std::int32_t>(i % c.partitions);
    const std::string value = fmt::format("record-{}", i);
    r.value = protocol::Bytes(value.begin(), value.end());
    deliveries.push_back(producer.send(std::move(r)));
  }
  if (auto st = producer.flush(); !st) return st;
  for (auto& d : deliveries) {
    if (auto outcome = d->wait(); !outcome) return outcome.error();
  }
  return {};
}

client::GroupListener listener(Shared& s, int m, std::int32_t partitions, Runtime& rt) {
  client::GroupListener l;
  l.on_assigned = [&s, m, partitions, &rt](const std::vector<TopicPartition>& tps, std::int32_t generation) {
    for (const auto& tp : tps) {
      auto it = s.owner.find(tp);
      if (it != s.owner.end() && it->second != m) {
        s.result.violations.push_back(fmt::format("{}-{} given to member {} while member {} holds it (generation {})",
                                                  tp.topic, tp.partition, m, it->second, generation));
      }
      s.owner[tp] = m;
    }
    if (!s.stable_seen && static_cast<std::int32_t>(s.owner.size()) == partitions) {
      s.stable_seen = true;
      s.result.stable_seconds = seconds_between(s.started, rt.now());
    }
  };
  const auto release = [&s, m](const std::vector<TopicPartition>& tps) {
    for (const auto& tp : tps) {
      if (auto it = s.owner.find(tp); it != s.owner.end() && it->second == m) s.owner.erase(it);
    }
  };
  l.on_revoked = [release](const std::vector<TopicPartition>& tps, std::int32_t) { release(tps); };
  l.on_lost = release;
  return l;
}

void member_loop(Runtime& rt, const std::vector<Address>& bootstrap, const GroupCase& c, Shared& s, int m) {
  client::GroupConsumerConfig config;
  config.consumer.bootstrap_servers = bootstrap;
  config.consumer.client_id = fmt::format("bench-member-{}", m);
  config.group_id = c.group;
  config.assignors = {c.assignor};
  config.enable_auto_commit = false;
  client::GroupConsumer consumer(rt, config);
  consumer.subscribe({c.topic}, listener(s, m, c.partitions, rt));
  while (!s.done) {
    auto records = consumer.poll(std::chrono::milliseconds(100));
    if (!records) {
      s.result.violations.push_back(fmt::format("member {}: poll: {}", m, records.error().message));
      break;
    }
    for (const auto& r : *records) {
      if (!s.read.insert({r.topic_partition, r.offset}).second) ++s.result.rereads;
    }
    if (!records->empty()) (void)consumer.commit_sync();
    if (static_cast<std::int64_t>(s.read.size()) >= c.records && !s.done) {
      s.done = true;
      s.result.consumed_seconds = seconds_between(s.started, rt.now());
    }
  }
  s.result.rebalances += consumer.rebalances();
  if (auto st = consumer.close(); !st) s.result.violations.push_back(fmt::format("member {}: close: {}", m, st.error().message));
}

// After the members left: the admin sees an Empty group whose committed offsets reach the log end.
void check_admin_view(Runtime& rt, const std::vector<Address>& bootstrap, const GroupCase& c, GroupResult& out) {
  client::Admin admin(rt, bootstrap);
  auto described = admin.describe_group(c.group);
  if (!described) {
    out.violations.push_back("describe_group: " + described.error().message);
  } else if (described->state != "Empty") {
    out.violations.push_back(fmt::format("the group is {} after every member left, not Empty", described->state));
  }
  auto lag = admin.lag(c.group);
  if (!lag) {
    out.violations.push_back("lag: " + lag.error().message);
    return;
  }
  if (static_cast<std::int32_t>(lag->size()) != c.partitions) {
    out.violations.push_back(fmt::format("{} partitions have committed offsets, not {}", lag->size(), c.partitions));
  }
  for (const auto& [tp, l] : *lag) out.lag_total += l.lag.value_or(l.log_end);
}

}  // namespace

Result<GroupResult> group_consume(Runtime& rt, const std::vector<Address>& bootstrap, const GroupCase& c) {
  client::Admin admin(rt, bootstrap);
  if (auto st = admin.create_topic(c.topic, c.partitions, 1); !st) return st.error();
  if (auto st = produce(rt, bootstrap, c); !st) return st.error();
  Shared s;
  s.started = rt.now();
  WaitGroup wg;
  for (int m = 0; m < c.members; ++m) {
    wg.add();
    rt.spawn(fmt::format("bench-member-{}", m), [&, m] {
      member_loop(rt, bootstrap, c, s, m);
      wg.done();
    });
  }
  if (!wg.wait(rt.now() + c.time_limit)) {
    s.done = true;
    s.result.violations.push_back(fmt::format("the group read {} of {} records in {} s", s.read.size(), c.records,
                                              seconds_between(s.started, rt.now())));
    wg.wait();
  }
  s.result.records_read = s.read.size();
  check_admin_view(rt, bootstrap, c, s.result);
  if (s.result.lag_total != 0) s.result.violations.push_back(fmt::format("lag {} after every record was read and committed", s.result.lag_total));
  return s.result;
}

}  // namespace keel::bench
