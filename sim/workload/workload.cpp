#include "sim/workload/workload.h"

#include "broker/client/admin.h"
#include "broker/client/consumer.h"
#include "broker/client/partitioner.h"
#include "broker/client/producer.h"
#include "broker/platform/sync.h"
#include "sim/workload/group_workload.h"
#include "sim/node.h"
#include "sim/world.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <memory>

namespace keel::sim::workload {


KeyTable::KeyTable(const std::vector<scenario::TopicSpec>& topics, const scenario::WorkloadSpec& workload) {
  for (const auto& t : topics) {
    const std::int32_t partitions = scenario::final_partitions(t, workload);
    KEEL_ASSERT(partitions >= t.partitions);
    for (std::int32_t p = 0; p < partitions; ++p) {
      index_[{t.name, p}] = static_cast<int>(keys_.size());
      keys_.emplace_back(t.name, p);
    }
  }
}

int KeyTable::key(const std::string& topic, std::int32_t partition) const {
  auto it = index_.find({topic, partition});
  return it == index_.end() ? -1 : it->second;
}

std::vector<std::string> KeyTable::names() const {
  std::vector<std::string> out;
  out.reserve(keys_.size());
  for (const auto& [topic, partition] : keys_) out.push_back(fmt::format("{}-{}", topic, partition));
  return out;
}

std::string encode_value(std::int64_t value, int record_bytes) {
  std::string s = std::to_string(value);
  if (static_cast<int>(s.size()) < record_bytes) s.append(static_cast<std::size_t>(record_bytes) - s.size(), '.');
  return s;
}

std::int64_t decode_value(const std::string& bytes) {
  std::int64_t v = 0;
  std::size_t i = 0;
  for (; i < bytes.size() && bytes[i] >= '0' && bytes[i] <= '9'; ++i) {
    if (i >= 18) return -1;
    v = v * 10 + (bytes[i] - '0');
  }
  if (i == 0) return -1;
  for (; i < bytes.size(); ++i) {
    if (bytes[i] != '.') return -1;
  }
  return v;
}

namespace {

std::int64_t world_ns(const Context& ctx) { return to_ns(ctx.world.now()); }

// When a delivery that the client saw at `local` (its own clock) happened, in world time.
std::int64_t world_ns_of(const Context& ctx, Instant local) {
  return to_ns(ctx.world.node(ctx.client_node).clock().world_at(local));
}

// Sleeps until world time `t` (the client's clock drifts a little from world time).
void sleep_until_world(Runtime& rt, const Context& ctx, std::int64_t t) {
  while (world_ns(ctx) < t) rt.sleep_for(Duration(t - world_ns(ctx)) + 1ms);
}

std::string text(const std::optional<protocol::Bytes>& b) { return b ? std::string(b->begin(), b->end()) : std::string(); }

std::vector<TopicPartition> partitions_of(const Context& ctx, const std::vector<int>& keys) {
  std::vector<TopicPartition> tps;
  for (int k : keys) tps.push_back(TopicPartition{ctx.keys.all()[k].first, ctx.keys.all()[k].second});
  return tps;
}

// The partitions of `topic` the client has seen in its metadata (at least the scenario's).
std::int32_t visible_partitions(const Context& ctx, const std::string& topic) {
  std::int32_t count = 0;
  for (const auto& t : ctx.scenario.topics) {
    if (t.name == topic) count = t.partitions;
  }
  if (auto it = ctx.visible_partitions.find(topic); it != ctx.visible_partitions.end()) count = std::max(count, it->second);
  return count;
}

bool visible(const Context& ctx, int key) {
  const auto& [topic, partition] = ctx.keys.all()[static_cast<std::size_t>(key)];
  return partition < visible_partitions(ctx, topic);
}

// Every key whose partition the client has seen: a partition still to be created is not read.
std::vector<int> all_keys(const Context& ctx) {
  std::vector<int> keys;
  for (std::size_t i = 0; i < ctx.keys.all().size(); ++i) {
    if (visible(ctx, static_cast<int>(i))) keys.push_back(static_cast<int>(i));
  }
  return keys;
}

// Takes the partition counts a metadata answer shows (a count never shrinks: a broker that has not
// applied a CreatePartitions record yet may answer fewer).
void note_partitions(Runtime& rt, Context& ctx, const protocol::MetadataResponse& metadata) {
  for (const auto& t : metadata.topics) {
    if (t.error_code != 0 || !t.name) continue;
    const auto count = static_cast<std::int32_t>(t.partitions.size());
    auto& seen = ctx.visible_partitions[*t.name];
    if (count > seen) {
      seen = count;
      rt.trace("WorkloadPartitionsVisible").detail("Topic", *t.name).detail("Partitions", count);
    }
  }
}

// Asks for the metadata of the topics that workload.create_partitions grows.
void refresh_partitions(Runtime& rt, Context& ctx, client::Admin& admin) {
  std::vector<std::string> topics;
  for (const auto& c : ctx.scenario.workload.create_partitions) {
    if (std::find(topics.begin(), topics.end(), c.topic) == topics.end()) topics.push_back(c.topic);
  }
  if (topics.empty()) return;
  if (auto metadata = admin.metadata(topics)) note_partitions(rt, ctx, *metadata);
}

// ---- setup ----

void create_topics(Runtime& rt, Context& ctx) {
  client::Admin admin(rt, ctx.bootstrap, 5s);
  for (const auto& t : ctx.scenario.topics) {
    while (world_ns(ctx) < ctx.main_end_ns) {
      const Status s = admin.create_topic(t.name, t.partitions, static_cast<std::int16_t>(t.replication_factor), t.configs);
      if (s || client::is_kafka_error(s, protocol::ErrorCode::topic_already_exists)) break;
      rt.sleep_for(500ms);
    }
  }
}

// ---- producers ----

// Picks the partition of each record the way the scenario's key distribution says, so the
// history knows a send's key before it is acknowledged.
class KeyChooser {
 public:
  KeyChooser(const scenario::ProducerSpec& spec, std::int32_t partitions) : spec_(spec), partitions_(partitions) {
    if (spec.key_distribution == scenario::KeyDistribution::zipf) {
      double total = 0;
      for (int i = 0; i < spec.keys; ++i) cdf_.push_back(total += 1.0 / (i + 1));
      for (double& c : cdf_) c /= total;
    }
  }

  // The record key (null for KeyDistribution::none) and its partition.
  std::pair<std::optional<protocol::Bytes>, std::int32_t> next(Random& rng) {
    int k = 0;
    switch (spec_.key_distribution) {
      case scenario::KeyDistribution::none:
        return {std::nullopt, static_cast<std::int32_t>(rng.below(static_cast<std::uint64_t>(partitions_)))};
      case scenario::KeyDistribution::uniform: k = static_cast<int>(rng.below(static_cast<std::uint64_t>(spec_.keys))); break;
      case scenario::KeyDistribution::sequential: k = static_cast<int>(sequence_++ % static_cast<std::uint64_t>(spec_.keys)); break;
      case scenario::KeyDistribution::zipf: {
        const double u = rng.unit();
        k = static_cast<int>(std::lower_bound(cdf_.begin(), cdf_.end(), u) - cdf_.begin());
        k = std::min(k, spec_.keys - 1);
        break;
      }
    }
    const std::string key = fmt::format("key-{}", k);
    protocol::Bytes bytes(key.begin(), key.end());
    const std::int32_t partition = client::partition_for_key(bytes, partitions_);
    return {std::move(bytes), partition};
  }

 private:
  const scenario::ProducerSpec& spec_;
  std::int32_t partitions_;
  std::vector<double> cdf_;
  std::uint64_t sequence_ = 0;
};

client::ProducerConfig producer_config(const Context& ctx, const scenario::ProducerSpec& spec, int process) {
  client::ProducerConfig pc;
  pc.bootstrap_servers = ctx.bootstrap;
  pc.client_id = fmt::format("producer-{}", process);
  pc.acks = spec.acks;
  pc.linger = spec.linger;
  pc.batch_bytes = spec.batch_bytes;
  pc.max_in_flight_per_connection = spec.max_in_flight;
  pc.request_timeout = spec.request_timeout;
  pc.delivery_timeout = spec.delivery_timeout;
  pc.retry_backoff = spec.retry_backoff;
  pc.zero_max_timestamp_without_timestamps = true;  // as librdkafka: the broker must not trust the header
  return pc;
}

struct Pending {
  std::size_t op = 0;
  std::shared_ptr<client::Delivery> delivery;
};

// Moves finished deliveries into their ops (all of them when `all`).
void collect(Context& ctx, std::vector<Pending>& pending, bool all) {
  std::erase_if(pending, [&](Pending& p) {
    if (!p.delivery->done()) {
      if (!all) return false;
      (void)p.delivery->wait();  // bounded by the producer's delivery timeout
    }
    Op& op = ctx.history.ops[p.op];
    op.complete_ns = world_ns_of(ctx, p.delivery->completed_at());
    const auto& result = p.delivery->result();
    if (result) {
      op.status = OpStatus::ok;
      if (result->offset >= 0) op.offset = result->offset;
    } else {
      op.status = OpStatus::info;  // a timeout or a lost connection: it may still have been written
      op.error = result.error().message;
    }
    return true;
  });
}

std::size_t invoke_send(Context& ctx, int process, Phase phase, int key, std::int64_t value) {
  Op op;
  op.process = process;
  op.node = ctx.client_node;
  op.type = OpType::send;
  op.status = OpStatus::info;  // until an outcome arrives
  op.phase = phase;
  op.invoke_ns = world_ns(ctx);
  op.key = key;
  op.value = value;
  return ctx.history.add(std::move(op));
}

// The partition's timestamp mode (scenario.h: RecordTimestamps), on the client node's clock.
void set_timestamp(Runtime& rt, const scenario::ProducerSpec& spec, std::int32_t partition, client::ProducerRecord& r) {
  if (spec.timestamps.empty()) return;
  constexpr std::int64_t past_ms = 30LL * 24 * 3600 * 1000;
  constexpr std::int64_t future_ms = 2LL * 3600 * 1000;
  const std::int64_t now = to_unix_ms(rt.wall_now());
  switch (spec.timestamps[static_cast<std::size_t>(partition) % spec.timestamps.size()]) {
    case scenario::RecordTimestamps::now: break;
    case scenario::RecordTimestamps::none: r.no_timestamp = true; break;
    case scenario::RecordTimestamps::past: r.timestamp_ms = now - past_ms; break;
    case scenario::RecordTimestamps::future: r.timestamp_ms = now + future_ms; break;
  }
}

void run_producer(Runtime& rt, Context& ctx, const scenario::ProducerSpec& spec, int index) {
  const int process = ctx.next_process++;
  Random rng = ctx.world.stream(ctx.client_node, fmt::format("producer-{}#{}", index, process));
  const scenario::TopicSpec* topic = nullptr;
  for (const auto& t : ctx.scenario.topics) {
    if (t.name == spec.topic) topic = &t;
  }
  KEEL_ASSERT(topic != nullptr);
  std::int32_t partitions = visible_partitions(ctx, topic->name);
  auto chooser = std::make_unique<KeyChooser>(spec, partitions);
  client::Producer producer(rt, producer_config(ctx, spec, process));
  std::vector<Pending> pending;
  while (true) {
    const double gap_s = -std::log(1.0 - rng.unit()) / spec.rate;
    rt.sleep_for(Duration(static_cast<std::int64_t>(gap_s * 1e9)));
    if (world_ns(ctx) >= ctx.main_end_ns) break;
    collect(ctx, pending, false);
    if (visible_partitions(ctx, topic->name) != partitions) {  // partitions were added: keys spread over them all
      partitions = visible_partitions(ctx, topic->name);
      chooser = std::make_unique<KeyChooser>(spec, partitions);
    }
    auto [key, partition] = chooser->next(rng);
    KEEL_ASSERT(partition >= 0 && partition < partitions);
    const std::int64_t value = ctx.next_value++;
    const std::string bytes = encode_value(value, spec.record_bytes);
    client::ProducerRecord r;
    r.topic = spec.topic;
    r.partition = partition;
    r.key = std::move(key);
    r.value = protocol::Bytes(bytes.begin(), bytes.end());
    set_timestamp(rt, spec, partition, r);
    const std::size_t op = invoke_send(ctx, process, Phase::main, ctx.keys.key(spec.topic, partition), value);
    pending.push_back(Pending{op, producer.send(std::move(r))});
  }
  (void)producer.flush();  // bounded: every record has an outcome within delivery_timeout
  collect(ctx, pending, true);
}

// ---- consumers ----

std::size_t record_assign(Context& ctx, int process, Phase phase, std::vector<int> keys, bool from_beginning = true) {
  Op op;
  op.process = process;
  op.node = ctx.client_node;
  op.type = OpType::assign;
  op.status = OpStatus::ok;
  op.phase = phase;
  op.invoke_ns = op.complete_ns = world_ns(ctx);
  op.keys = std::move(keys);
  op.seek_to_beginning = from_beginning;
  return ctx.history.add(std::move(op));
}

// One poll as an op. Empty ok polls are not recorded: they change nothing any check looks at.
std::size_t poll_once(Context& ctx, client::Consumer& consumer, int process, Phase phase, Duration timeout) {
  const std::int64_t invoke = world_ns(ctx);
  auto records = consumer.poll(timeout);
  if (records && records->empty()) return SIZE_MAX;
  Op op;
  op.process = process;
  op.node = ctx.client_node;
  op.type = OpType::poll;
  op.phase = phase;
  op.invoke_ns = invoke;
  op.complete_ns = world_ns(ctx);
  if (!records) {
    op.status = OpStatus::fail;  // nothing was read
    op.error = records.error().message;
  } else {
    op.status = OpStatus::ok;
    for (const auto& r : *records) {
      const int key = ctx.keys.key(r.topic_partition.topic, r.topic_partition.partition);
      op.reads.push_back(Read{key, r.offset, decode_value(text(r.value))});
    }
  }
  for (const auto& tp : consumer.assignment()) {
    if (auto hw = consumer.high_watermark(tp)) op.high_watermarks.emplace_back(ctx.keys.key(tp.topic, tp.partition), *hw);
  }
  return ctx.history.add(std::move(op));
}

client::ConsumerConfig consumer_config(const Context& ctx, int process, Duration fetch_max_wait, Duration request_timeout) {
  client::ConsumerConfig cc;
  cc.bootstrap_servers = ctx.bootstrap;
  cc.client_id = fmt::format("consumer-{}", process);
  cc.fetch_max_wait = fetch_max_wait;
  cc.request_timeout = request_timeout;
  cc.auto_offset_reset = client::ConsumerConfig::Reset::earliest;
  return cc;
}

// The consumer's share of its topics' partitions (split over the final partitions, so a partition
// added later goes to the same consumer whenever it shows), of those the client has seen.
std::vector<int> consumer_keys(const Context& ctx, const scenario::ConsumerSpec& spec, int index) {
  std::vector<int> keys;
  for (const auto& topic : spec.topics) {
    for (std::size_t k = 0; k < ctx.keys.all().size(); ++k) {
      if (ctx.keys.all()[k].first == topic) keys.push_back(static_cast<int>(k));
    }
  }
  std::vector<int> mine;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const bool ours = spec.assignment == scenario::Assignment::all || static_cast<int>(i % static_cast<std::size_t>(spec.count)) == index;
    if (ours && visible(ctx, keys[i])) mine.push_back(keys[i]);
  }
  return mine;
}

void run_consumer(Runtime& rt, Context& ctx, const scenario::ConsumerSpec& spec, int index) {
  const int process = ctx.next_process++;
  client::Consumer consumer(rt, consumer_config(ctx, process, spec.fetch_max_wait, spec.request_timeout));
  std::vector<int> keys = consumer_keys(ctx, spec, index);
  consumer.assign(partitions_of(ctx, keys));
  record_assign(ctx, process, Phase::main, keys);
  while (world_ns(ctx) < ctx.main_end_ns) {
    if (std::vector<int> now = consumer_keys(ctx, spec, index); now != keys) {
      // Partitions were added: the assignment grows, the others keep their positions, the new
      // ones start from the beginning (auto.offset.reset=earliest).
      KEEL_ASSERT(now.size() > keys.size());
      keys = std::move(now);
      consumer.assign(partitions_of(ctx, keys));
      record_assign(ctx, process, Phase::main, keys, false);
    }
    if (keys.empty()) {
      rt.sleep_for(100ms);
      continue;
    }
    const std::size_t op = poll_once(ctx, consumer, process, Phase::main, spec.poll_timeout);
    // A poll that failed at once (no broker to ask) must not spin without time passing.
    if (op != SIZE_MAX && ctx.history.ops[op].status != OpStatus::ok) rt.sleep_for(100ms);
  }
}

// ---- after the faults ----

// A fresh producer sends one record to every partition, a fresh consumer reads each back; both
// retry until the liveness deadline.
// Whether the scenario's producers write a partition without timestamps: the probe does too, so
// that a partition never mixes records with and without them (scenario.h, RecordTimestamps).
bool without_timestamps(const Context& ctx, int key) {
  const auto& [topic, partition] = ctx.keys.all()[static_cast<std::size_t>(key)];
  for (const auto& spec : ctx.scenario.workload.producers) {
    if (spec.topic != topic || spec.timestamps.empty()) continue;
    return spec.timestamps[static_cast<std::size_t>(partition) % spec.timestamps.size()] == scenario::RecordTimestamps::none;
  }
  return false;
}

// Asks for the metadata until it shows every partition workload.create_partitions adds, or until
// `deadline` (a creation that never went through left nothing to read).
void see_created_partitions(Runtime& rt, Context& ctx, std::int64_t deadline) {
  client::Admin admin(rt, ctx.bootstrap, 2s);
  const auto all_seen = [&] {
    for (const auto& c : ctx.scenario.workload.create_partitions) {
      if (visible_partitions(ctx, c.topic) < c.count) return false;
    }
    return true;
  };
  while (!all_seen() && world_ns(ctx) < deadline) {
    refresh_partitions(rt, ctx, admin);
    if (!all_seen()) rt.sleep_for(200ms);
  }
}

void liveness_probe(Runtime& rt, Context& ctx) {
  const std::int64_t deadline = world_ns(ctx) + ctx.scenario.quiescence.liveness_within.count();
  see_created_partitions(rt, ctx, deadline);  // the probe and the final reads cover every partition added
  const int process = ctx.next_process++;
  client::ProducerConfig pc;
  pc.bootstrap_servers = ctx.bootstrap;
  pc.client_id = fmt::format("liveness-producer-{}", process);
  pc.request_timeout = 2s;
  pc.delivery_timeout = 4s;
  client::Producer producer(rt, pc);
  std::map<int, std::int64_t> acked;  // key -> offset
  std::map<int, std::int64_t> values;
  for (int key : all_keys(ctx)) {
    while (!acked.contains(key) && world_ns(ctx) < deadline) {
      const std::int64_t value = ctx.next_value++;
      const std::string bytes = encode_value(value, 16);
      client::ProducerRecord r;
      r.topic = ctx.keys.all()[key].first;
      r.partition = ctx.keys.all()[key].second;
      r.value = protocol::Bytes(bytes.begin(), bytes.end());
      r.no_timestamp = without_timestamps(ctx, key);
      std::vector<Pending> pending{Pending{invoke_send(ctx, process, Phase::liveness, key, value), producer.send(std::move(r))}};
      (void)pending.back().delivery->wait();
      const std::size_t op = pending.back().op;
      collect(ctx, pending, true);
      if (ctx.history.ops[op].status == OpStatus::ok && ctx.history.ops[op].offset) {
        acked[key] = *ctx.history.ops[op].offset;
        values[key] = value;
      } else {
        rt.sleep_for(200ms);
      }
    }
  }
  const int reader = ctx.next_process++;
  client::Consumer consumer(rt, consumer_config(ctx, reader, 100ms, 2s));
  std::vector<int> keys;
  for (const auto& [key, offset] : acked) keys.push_back(key);
  consumer.assign(partitions_of(ctx, keys));
  for (const auto& [key, offset] : acked) consumer.seek(partitions_of(ctx, {key})[0], offset);
  record_assign(ctx, reader, Phase::liveness, keys, false);
  std::map<int, bool> seen;
  while (seen.size() < values.size() && world_ns(ctx) < deadline) {
    const std::size_t op = poll_once(ctx, consumer, reader, Phase::liveness, 300ms);
    if (op == SIZE_MAX) continue;
    if (ctx.history.ops[op].status != OpStatus::ok) rt.sleep_for(100ms);
    for (const Read& r : ctx.history.ops[op].reads) {
      if (values.contains(r.key) && values[r.key] == r.value) seen[r.key] = true;
    }
  }
}

// Each partition's log start as the final reads' consumer sees it now: what retention deleted so far
// lies below it (History::final_log_start). Taken again once the reads end, since retention goes on.
void note_log_starts(Context& ctx, client::Consumer& consumer, const std::vector<int>& keys) {
  for (int key : keys) {
    auto start = consumer.beginning_offset(partitions_of(ctx, {key})[0]);
    if (!start) continue;
    auto& noted = ctx.history.final_log_start[key];
    noted = std::max(noted, *start);
  }
}

// A fresh consumer reads every partition from the start up to the end offset it finds first.
void final_reads(Runtime& rt, Context& ctx) {
  const std::int64_t deadline = world_ns(ctx) + ctx.scenario.quiescence.final_read_timeout.count();
  const int process = ctx.next_process++;
  client::Consumer consumer(rt, consumer_config(ctx, process, 100ms, 2s));
  const std::vector<int> keys = all_keys(ctx);
  const auto tps = partitions_of(ctx, keys);
  consumer.assign(tps);
  record_assign(ctx, process, Phase::final, keys);
  std::map<int, std::int64_t> ends;
  for (int key : keys) {
    while (!ends.contains(key) && world_ns(ctx) < deadline) {
      if (auto end = consumer.end_offset(partitions_of(ctx, {key})[0])) ends[key] = *end;
      else rt.sleep_for(200ms);
    }
  }
  while (world_ns(ctx) < deadline && !consumer.seek_to_beginning(tps)) rt.sleep_for(200ms);
  while (world_ns(ctx) < deadline) {
    bool done = ends.size() == keys.size();
    for (const auto& [key, end] : ends) done = done && consumer.position(partitions_of(ctx, {key})[0]).value_or(0) >= end;
    if (done) {
      ctx.final_read_complete = true;
      break;
    }
    const std::size_t op = poll_once(ctx, consumer, process, Phase::final, 500ms);
    if (op != SIZE_MAX && ctx.history.ops[op].status != OpStatus::ok) rt.sleep_for(100ms);
  }
  note_log_starts(ctx, consumer, keys);
}

// Every spec.every until the main phase ends: each partition of the topic loses the records below
// the midpoint of its log start and high watermark. Failures (a leader moving, a broker down) are
// left to the next round; what was deleted shows in the final log start (History::final_log_start).
void run_deleter(Runtime& rt, Context& ctx, const scenario::DeleteRecordsSpec& spec) {
  client::Admin admin(rt, ctx.bootstrap, 5s);
  while (world_ns(ctx) + to_ns(spec.every) < ctx.main_end_ns) {
    rt.sleep_for(spec.every);
    const std::int32_t partitions = visible_partitions(ctx, spec.topic);
    for (std::int32_t p = 0; p < partitions && world_ns(ctx) < ctx.main_end_ns; ++p) {
      const TopicPartition tp{spec.topic, p};
      auto start = admin.list_offset(tp, client::OffsetSpec::earliest);
      auto end = start ? admin.list_offset(tp, client::OffsetSpec::latest) : start;
      if (!end || end->offset <= start->offset + 1) continue;
      auto deleted = admin.delete_records(tp, start->offset + (end->offset - start->offset) / 2);
      rt.trace("WorkloadDeleteRecords")
          .detail("tp", tp)
          .detail("Offset", start->offset + (end->offset - start->offset) / 2)
          .detail("Result", deleted ? fmt::format("low watermark {}", *deleted) : deleted.error().message);
    }
  }
}

// At spec.at, raises the topic to spec.count partitions, asking again (after a fault) until the
// metadata shows them: a retry whose first try went through is refused with INVALID_PARTITIONS.
void run_partition_creator(Runtime& rt, Context& ctx, const scenario::CreatePartitionsSpec& spec) {
  client::Admin admin(rt, ctx.bootstrap, 5s);
  sleep_until_world(rt, ctx, ctx.main_end_ns - to_ns(ctx.scenario.duration) + to_ns(spec.at));
  while (world_ns(ctx) < ctx.recover_ns) {
    refresh_partitions(rt, ctx, admin);
    if (visible_partitions(ctx, spec.topic) >= spec.count) return;
    const Status s = admin.create_partitions(spec.topic, spec.count);
    rt.trace("WorkloadCreatePartitions")
        .detail("Topic", spec.topic)
        .detail("Count", spec.count)
        .detail("Result", s ? std::string("ok") : s.error().message);
    if (!s) rt.sleep_for(500ms);
  }
}

// While partitions are being added: the metadata every 500ms, so that producers and consumers see
// the new partitions.
void run_partition_watcher(Runtime& rt, Context& ctx) {
  client::Admin admin(rt, ctx.bootstrap, 2s);
  while (world_ns(ctx) < ctx.main_end_ns) {
    refresh_partitions(rt, ctx, admin);
    rt.sleep_for(500ms);
  }
}

void run_main_phase(Runtime& rt, Context& ctx) {
  // Shared: when the client node is killed, its tasks unwind in any order.
  auto group = std::make_shared<WaitGroup>();
  const auto start = [&](std::string name, std::function<void()> fn) {
    group->add();
    rt.spawn(std::move(name), [group, fn = std::move(fn)] {
      struct Done {
        WaitGroup& g;
        ~Done() { g.done(); }
      } done{*group};
      fn();
    });
  };
  int index = 0;
  for (const auto& spec : ctx.scenario.workload.producers) {
    for (int i = 0; i < spec.count; ++i, ++index) {
      start(fmt::format("producer-{}", index), [&rt, &ctx, &spec, index] { run_producer(rt, ctx, spec, index); });
    }
  }
  for (const auto& spec : ctx.scenario.workload.consumers) {
    for (int i = 0; i < spec.count; ++i) {
      start(fmt::format("consumer-{}", i), [&rt, &ctx, &spec, i] { run_consumer(rt, ctx, spec, i); });
    }
  }
  for (const auto& spec : ctx.scenario.workload.delete_records) {
    start(fmt::format("delete-records-{}", spec.topic), [&rt, &ctx, &spec] { run_deleter(rt, ctx, spec); });
  }
  for (const auto& spec : ctx.scenario.workload.create_partitions) {
    start(fmt::format("create-partitions-{}", spec.topic), [&rt, &ctx, &spec] { run_partition_creator(rt, ctx, spec); });
  }
  if (!ctx.scenario.workload.create_partitions.empty()) start("partition-watcher", [&rt, &ctx] { run_partition_watcher(rt, ctx); });
  (void)group->wait();
}

}  // namespace

void client_main(Runtime& rt, Context& ctx) {
  create_topics(rt, ctx);
  // The consumer groups run beside everything else until their quiescent snapshot (group_workload.h).
  auto groups = std::make_shared<WaitGroup>();
  groups->add();
  rt.spawn("groups", [&rt, &ctx, groups] {
    struct Done {
      WaitGroup& g;
      ~Done() { g.done(); }
    } done{*groups};
    run_groups(rt, ctx);
  });
  if (world_ns(ctx) < ctx.main_end_ns) run_main_phase(rt, ctx);
  sleep_until_world(rt, ctx, ctx.recover_ns);
  liveness_probe(rt, ctx);
  final_reads(rt, ctx);
  (void)groups->wait();
  ctx.done = true;
}

}  // namespace keel::sim::workload
