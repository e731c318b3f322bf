// keel-bench: how fast a Keel broker moves 1 KiB records over loopback, as figures and as ratios
// against the loopback TCP bandwidth measured in the same run. A benchmark, not a test.
//
//   keel-bench                     starts build/keel on a free port with a temp log dir
//   keel-bench --quick             a few seconds: smaller phases
//   keel-bench --bootstrap H:P     measures a broker that is already running
//   keel-bench --cluster           also (the default with a local keel) a local three-node cluster:
//                                  acks=all with replication factor 3, against single-broker acks=1
//   keel-bench --group-members 3   also a consumer group of the Keel client (--group-only: just that):
//                                  time to share the partitions and to read a topic, with its checks
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>

#include "bench/client_bench.h"
#include "bench/group_bench.h"
#include "bench/local_cluster.h"
#include "bench/local_keel.h"
#include "bench/file_append.h"
#include "bench/loopback.h"
#include "broker/platform/posix/paths.h"
#include "broker/platform/posix/runtime.h"

namespace {

using namespace keel;
using namespace keel::bench;

struct Options {
  std::string bootstrap;
  std::string keel_binary;
  std::vector<std::string> overrides;
  bool quick = false;
  std::int64_t records = 0;  // 0: 200,000 (quick: 5,000) per phase
  std::int32_t record_bytes = 1024;
  std::vector<std::int32_t> batch_sizes{16384, 65536, 262144};
  std::vector<std::int16_t> acks{1, -1};
  std::int32_t partitions = 1;
  double phase_seconds = 0;  // 0: 3.5 s (quick: 1 s)
  int cluster = 0;  // the cluster phase: > 0 on, < 0 off, 0 on with a local keel and off with --bootstrap
  int group_members = 0;  // the group phase: members of the group, 0 for none
  std::string group_assignor = "range";
  bool group_only = false;
};

// What every figure is compared with, both measured in this run: loopback TCP (the transport) and
// appending to a new file (the log's write path without the broker).
struct Baselines {
  double loopback_mb_s = 0;
  double append_mb_s = 0;
};

struct Row {
  ProduceCase produce_case;
  ThroughputResult produced;
  ThroughputResult consumed;
};

std::string acks_name(std::int16_t acks) { return acks == -1 ? "all" : std::to_string(acks); }

std::string size_name(std::int64_t bytes) {
  return bytes % 1024 == 0 ? fmt::format("{} KiB", bytes / 1024) : fmt::format("{} B", bytes);
}

void print_table(const std::vector<Row>& rows, const Baselines& baselines) {
  fmt::print("\n{:<10} {:>4} | {:>9} {:>9} {:>7} {:>7} {:>8} {:>8} {:>6} | {:>9} {:>9} {:>7} {:>6}\n", "batch.size",
             "acks", "prod MB/s", "rec/s", "ratio", "/append", "p50 ms", "p99 ms", "errors", "cons MB/s", "rec/s",
             "ratio", "errors");
  fmt::print("{:-<132}\n", "");
  for (auto row : rows) {
    auto& p = row.produced;
    auto& c = row.consumed;
    fmt::print(
        "{:<10} {:>4} | {:>9.1f} {:>9.0f} {:>7.3f} {:>7.3f} {:>8.2f} {:>8.2f} {:>6} | {:>9.1f} {:>9.0f} {:>7.3f} {:>6}\n",
        size_name(row.produce_case.batch_bytes), acks_name(row.produce_case.acks), p.mb_per_s(), p.records_per_s(),
        p.mb_per_s() / baselines.loopback_mb_s, p.mb_per_s() / baselines.append_mb_s, quantile_ms(p.latencies, 0.50),
        quantile_ms(p.latencies, 0.99), p.errors, c.mb_per_s(), c.records_per_s(),
        c.mb_per_s() / baselines.loopback_mb_s, c.errors);
  }
}

// One batch size of the cluster phase: one record at a time first, then throughput, then a
// consumer reading it all back; a row of the cluster table. Non-zero when a step failed.
int run_cluster_batch(Runtime& rt, const Options& o, const std::vector<Address>& bootstrap, std::int32_t nodes,
                      std::int32_t batch_bytes, const PhaseLimits& limits, const std::string& run_id,
                      const std::vector<Row>& single) {
  ProduceCase c;
  c.topic = fmt::format("bench-{}-cluster-b{}", run_id, batch_bytes);
  c.batch_bytes = batch_bytes;
  c.acks = -1;
  c.record_bytes = o.record_bytes;
  if (auto st = create_replicated_topic(rt, bootstrap, c.topic, o.partitions, nodes, 30s); !st) {
    fmt::print(stderr, "keel-bench: {}\n", st.error().message);
    return 1;
  }
  // One record at a time first: the followers' first fetch of a new topic may find its leader
  // not knowing it yet and back off replica.fetch.backoff.ms (1 s); this waits that out, so the
  // throughput phase measures replication, and tells the round trip of one replicated record.
  auto one_by_one = produce_latency(rt, bootstrap, c, PhaseLimits{o.quick ? 50 : 200, 10s});
  if (!one_by_one) {
    fmt::print(stderr, "keel-bench: one-by-one produce to {}: {}\n", c.topic, one_by_one.error().message);
    return 1;
  }
  auto produced = produce_throughput(rt, bootstrap, c, limits);
  if (!produced) {
    fmt::print(stderr, "keel-bench: produce to {}: {}\n", c.topic, produced.error().message);
    return 1;
  }
  const std::uint64_t stored = produced->records + one_by_one->records;
  auto consumed = consume_throughput(rt, bootstrap, c.topic, o.partitions, stored, limits.time + 2s);
  if (!consumed) {
    fmt::print(stderr, "keel-bench: consume {}: {}\n", c.topic, consumed.error().message);
    return 1;
  }
  if (consumed->records != stored) {
    fmt::print(stderr, "keel-bench: {}: consumed {} records of {} produced\n", c.topic, consumed->records, stored);
  }
  const auto base = std::find_if(single.begin(), single.end(), [&](const Row& r) {
    return r.produce_case.batch_bytes == batch_bytes && r.produce_case.acks == 1;
  });
  const std::string ratio = base != single.end() && base->produced.mb_per_s() > 0
                                ? fmt::format("{:.3f}", produced->mb_per_s() / base->produced.mb_per_s())
                                : "-";
  fmt::print("{:<10} | {:>9.1f} {:>9.0f} {:>8.2f} {:>8.2f} {:>6} | {:>9.1f} {:>6} | {:>17} | {:>15.3f}\n",
             size_name(batch_bytes), produced->mb_per_s(), produced->records_per_s(),
             quantile_ms(produced->latencies, 0.50), quantile_ms(produced->latencies, 0.99), produced->errors,
             consumed->mb_per_s(), consumed->errors, ratio, quantile_ms(one_by_one->latencies, 0.50));
  std::fflush(stdout);
  return 0;
}

// Three local combined nodes, a topic with replication factor 3 and min.insync.replicas 2 per
// batch size, acks=all; each figure against the single broker's acks=1 figure of this run.
int run_cluster_phase(Runtime& rt, const Options& o, const PhaseLimits& limits, const std::string& run_id,
                      const std::vector<Row>& single) {
  constexpr std::int32_t nodes = 3;
  LocalClusterOptions co;
  co.binary = o.keel_binary.empty() ? default_keel_binary() : o.keel_binary;
  co.nodes = nodes;
  co.min_insync_replicas = 2;
  co.overrides = o.overrides;
  const Instant started = rt.now();
  auto cluster = LocalCluster::start(co);
  if (!cluster) {
    fmt::print(stderr, "keel-bench: cannot start the cluster: {}\n", cluster.error().message);
    return 1;
  }
  if (auto st = wait_until_formed(rt, (*cluster)->bootstrap(), nodes, 30s); !st) {
    fmt::print(stderr, "keel-bench: {}\n", st.error().message);
    return 1;
  }
  fmt::print("\ncluster: {} local combined nodes (broker + controller), replication factor {}, min.insync.replicas {}, "
             "acks=all; formed in {:.2f} s\n", nodes, nodes, co.min_insync_replicas,
             std::chrono::duration<double>(rt.now() - started).count());
  fmt::print("{:<10} | {:>9} {:>9} {:>8} {:>8} {:>6} | {:>9} {:>6} | {:>17} | {:>15}\n", "batch.size", "prod MB/s",
             "rec/s", "p50 ms", "p99 ms", "errors", "cons MB/s", "errors", "vs 1 broker acks=1", "1-by-1 p50 ms");
  fmt::print("{:-<118}\n", "");
  for (const auto batch_bytes : o.batch_sizes) {
    if (int code = run_cluster_batch(rt, o, (*cluster)->bootstrap(), nodes, batch_bytes, limits, run_id, single);
        code != 0) {
      return code;
    }
  }
  if (auto st = (*cluster)->stop(); !st) {
    fmt::print(stderr, "keel-bench: stopping the cluster: {}\n", st.error().message);
    return 1;
  }
  return 0;
}

// The baselines every ratio is against, printed with what the phases will do; nullopt (after saying
// why) when one cannot be measured.
std::optional<Baselines> measure_baselines(Runtime& rt, const Options& o, const PhaseLimits& limits) {
  const std::uint64_t loopback_bytes = o.quick ? (256ull << 20) : (2ull << 30);
  auto loopback = measure_loopback(rt, loopback_bytes, 1 << 20);
  if (!loopback) {
    fmt::print(stderr, "keel-bench: loopback baseline failed: {}\n", loopback.error().message);
    return std::nullopt;
  }
  const char* tmp = std::getenv("TMPDIR");
  const std::string dir = tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
  // The runtime's data root is "/" (as the keel binary's): its Disk takes the path without the leading "/".
  auto append = measure_file_append(rt, posix::root_relative(posix::absolute_path(dir)), o.quick ? (128ull << 20) : (1ull << 30), 64 << 10);
  if (!append) {
    fmt::print(stderr, "keel-bench: file append baseline in {} failed: {}\n", dir, append.error().message);
    return std::nullopt;
  }
  fmt::print("baseline: loopback TCP through the posix runtime, 1 MiB writes: {:.1f} MB/s ({} MiB in {:.2f} s)\n",
             loopback->mb_per_s(), loopback->bytes >> 20, loopback->seconds);
  fmt::print("baseline: appending to a new file in {} through the posix runtime, 64 KiB writes, no sync: {:.1f} MB/s "
             "({} MiB in {:.2f} s)\n",
             dir, append->mb_per_s(), append->bytes >> 20, append->seconds);
  fmt::print("records: {} value bytes, no key, no compression; at most {} records or {:.1f} s per phase; "
             "{} partition(s) per topic\n",
             o.record_bytes, limits.records, std::chrono::duration<double>(limits.time).count(), o.partitions);
  fmt::print("MB/s counts record values (10^6 bytes); ratio = MB/s / loopback MB/s; /append = MB/s / file append "
             "MB/s; latency = send() to acknowledgement under full load (the producer's 32 MiB buffer kept full, so "
             "it includes queueing)\n");
  return Baselines{loopback->mb_per_s(), append->mb_per_s()};
}

// One row of the single-broker table: a topic of its own, produced to at full speed, read back.
std::optional<Row> run_single_row(Runtime& rt, const Options& o, const std::vector<Address>& bootstrap,
                                  const PhaseLimits& limits, const ProduceCase& produce_case) {
  Row row;
  row.produce_case = produce_case;
  if (auto st = create_topic(rt, bootstrap, row.produce_case.topic, o.partitions); !st) {
    fmt::print(stderr, "keel-bench: create topic {}: {}\n", row.produce_case.topic, st.error().message);
    return std::nullopt;
  }
  auto produced = produce_throughput(rt, bootstrap, row.produce_case, limits);
  if (!produced) {
    fmt::print(stderr, "keel-bench: produce to {}: {}\n", row.produce_case.topic, produced.error().message);
    return std::nullopt;
  }
  row.produced = std::move(*produced);
  auto consumed = consume_throughput(rt, bootstrap, row.produce_case.topic, o.partitions, row.produced.records,
                                     limits.time + 2s);
  if (!consumed) {
    fmt::print(stderr, "keel-bench: consume {}: {}\n", row.produce_case.topic, consumed.error().message);
    return std::nullopt;
  }
  row.consumed = std::move(*consumed);
  if (row.consumed.records != row.produced.records) {
    fmt::print(stderr, "keel-bench: {}: consumed {} records of {} produced\n", row.produce_case.topic,
               row.consumed.records, row.produced.records);
  }
  std::fflush(stdout);
  return row;
}

// One record at a time (send_and_wait, linger 0) per acks value: the latency of a lone record.
int run_latency_phase(Runtime& rt, const Options& o, const std::vector<Address>& bootstrap, const PhaseLimits& limits,
                      const std::string& run_id) {
  fmt::print("\none record at a time (send_and_wait, linger 0):\n");
  for (const auto acks : o.acks) {
    ProduceCase c;
    c.topic = fmt::format("bench-{}-latency-a{}", run_id, acks_name(acks));
    c.acks = acks;
    c.record_bytes = o.record_bytes;
    if (auto st = create_topic(rt, bootstrap, c.topic, 1); !st) {
      fmt::print(stderr, "keel-bench: create topic {}: {}\n", c.topic, st.error().message);
      return 1;
    }
    PhaseLimits one_by_one{std::min<std::int64_t>(limits.records, o.quick ? 500 : 5'000), limits.time};
    auto latency = produce_latency(rt, bootstrap, c, one_by_one);
    if (!latency) {
      fmt::print(stderr, "keel-bench: latency phase: {}\n", latency.error().message);
      return 1;
    }
    fmt::print("  acks={:<3}: {} records, p50 {:.3f} ms, p99 {:.3f} ms, {:.0f} records/s, errors {}\n", acks_name(acks),
               latency->records, quantile_ms(latency->latencies, 0.50), quantile_ms(latency->latencies, 0.99),
               latency->records_per_s(), latency->errors);
  }
  return 0;
}

// The Keel client's consumer group reading a topic; non-zero when it failed or broke a promise.
int run_group_phase(Runtime& rt, const Options& o, const std::vector<Address>& bootstrap) {
  GroupCase c;
  const std::string run_id = fmt::format("{}-{}", ::getpid(), to_ns(rt.now()) % 1'000'000);
  c.topic = fmt::format("bench-{}-group", run_id);
  c.group = fmt::format("bench-{}", run_id);
  c.members = o.group_members;
  c.partitions = std::max(o.partitions, 2 * o.group_members);
  c.assignor = *client::assignors::assignor_by_name(o.group_assignor);
  c.records = o.records > 0 ? o.records : (o.quick ? 2'000 : 20'000);
  auto result = group_consume(rt, bootstrap, c);
  if (!result) {
    fmt::print(stderr, "keel-bench: group phase: {}\n", result.error().message);
    return 1;
  }
  fmt::print("\ngroup: {} members ({}), {} partitions: every partition held after {:.3f} s, {} records read in "
             "{:.3f} s ({} read again), {} rebalances, lag after close {}\n",
             c.members, o.group_assignor, c.partitions, result->stable_seconds, result->records_read,
             result->consumed_seconds, result->rereads, result->rebalances, result->lag_total);
  for (const auto& v : result->violations) fmt::print(stderr, "keel-bench: group phase: {}\n", v);
  return result->violations.empty() ? 0 : 1;
}

int run_phases(Runtime& rt, const Options& o, const std::vector<Address>& bootstrap) {
  if (o.group_only) return run_group_phase(rt, o, bootstrap);
  const PhaseLimits limits{o.records > 0 ? o.records : (o.quick ? 5'000 : 200'000),
                           std::chrono::duration_cast<Duration>(std::chrono::duration<double>(
                               o.phase_seconds > 0 ? o.phase_seconds : (o.quick ? 1.0 : 3.5)))};
  const auto baselines = measure_baselines(rt, o, limits);
  if (!baselines) return 1;

  const std::string run_id = fmt::format("{}-{}", ::getpid(), to_ns(rt.now()) % 1'000'000);
  std::vector<Row> rows;
  for (const auto batch_bytes : o.batch_sizes) {
    for (const auto acks : o.acks) {
      ProduceCase c;
      c.topic = fmt::format("bench-{}-b{}-a{}", run_id, batch_bytes, acks_name(acks));
      c.batch_bytes = batch_bytes;
      c.acks = acks;
      c.record_bytes = o.record_bytes;
      auto row = run_single_row(rt, o, bootstrap, limits, c);
      if (!row) return 1;
      rows.push_back(std::move(*row));
    }
  }
  print_table(rows, *baselines);
  if (o.cluster > 0 || (o.cluster == 0 && o.bootstrap.empty())) {
    if (int code = run_cluster_phase(rt, o, limits, run_id, rows); code != 0) return code;
  }
  if (int code = run_latency_phase(rt, o, bootstrap, limits, run_id); code != 0) return code;
  return o.group_members > 0 ? run_group_phase(rt, o, bootstrap) : 0;
}

void settle_group_options(Options& o) {
  if (o.group_only && o.group_members == 0) o.group_members = 3;
  // One local node cannot hold __consumer_offsets at Kafka's default replication factor of 3.
  if (o.group_members > 0) o.overrides.insert(o.overrides.begin(), "offsets.topic.replication.factor=1");
}

void add_group_options(CLI::App& app, Options& o) {
  app.add_option("--group-members", o.group_members, "also run a consumer group of this many members (0: none)")
      ->check(CLI::Range(0, 100));
  app.add_option("--group-assignor", o.group_assignor, "range, roundrobin, sticky or cooperative-sticky")
      ->check([](const std::string& name) {
        return client::assignors::assignor_by_name(name) ? std::string() : "unknown assignor " + name;
      });
  app.add_flag("--group-only", o.group_only, "run only the group phase (with --group-members, default 3)");
  app.final_callback([&o] { settle_group_options(o); });
}


}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"keel-bench: produce and consume throughput and latency of a Keel broker, against loopback TCP"};
  Options o;
  app.add_option("--bootstrap", o.bootstrap, "host:port of a running broker (default: start a local keel)");
  app.add_option("--keel", o.keel_binary, "the keel binary to start (default: next to keel-bench)");
  app.add_option("--override", o.overrides, "key=value for the local keel (repeatable)");
  app.add_flag("--quick", o.quick, "a few seconds: smaller phases");
  app.add_option("--records", o.records, "records per phase at most (default 200000, quick 5000)");
  app.add_option("--record-bytes", o.record_bytes, "value size of each record")->check(CLI::Range(1, 1 << 20));
  app.add_option("--batch-sizes", o.batch_sizes, "producer batch.size values")->delimiter(',');
  app.add_option("--acks", o.acks, "acks values: 1, -1 (all)")->delimiter(',');
  app.add_option("--partitions", o.partitions, "partitions per topic")->check(CLI::Range(1, 64));
  app.add_option("--phase-seconds", o.phase_seconds, "time limit of each phase (default 3.5, quick 1)");
  app.add_flag("--cluster,!--no-cluster", o.cluster,
               "also measure a local three-node cluster, acks=all with RF 3 (default: on unless --bootstrap)");
  add_group_options(app, o);
  CLI11_PARSE(app, argc, argv);

  std::unique_ptr<LocalKeel> keel;
  std::vector<Address> bootstrap;
  if (o.bootstrap.empty()) {
    LocalKeelOptions lo;
    lo.binary = o.keel_binary.empty() ? default_keel_binary() : o.keel_binary;
    lo.overrides = o.overrides;
    auto started = LocalKeel::start(lo);
    if (!started) {
      fmt::print(stderr, "keel-bench: cannot start {}: {}\n", lo.binary, started.error().message);
      return 1;
    }
    keel = std::move(*started);
    bootstrap.push_back(keel->address());
    fmt::print("keel-bench: local keel (pid {}) on {}, log dir {}/logs{}\n", keel->pid(), keel->address().to_string(),
               keel->dir(), o.overrides.empty() ? "" : fmt::format(", overrides {}", fmt::join(o.overrides, " ")));
  } else {
    auto address = Address::parse(o.bootstrap);
    if (!address) {
      fmt::print(stderr, "keel-bench: --bootstrap {}: {}\n", o.bootstrap, address.error().message);
      return 2;
    }
    bootstrap.push_back(*address);
    fmt::print("keel-bench: broker at {}\n", o.bootstrap);
  }

  int code = 1;
  {
    posix::PosixOptions po;
    po.log_level = Severity::warn;
    po.data_root = "/";
    posix::PosixRuntime rt(po);
    rt.stop_on_signals();
    rt.spawn("bench", [&] {
      // A local node serves once its quorum (itself) elected it and it registered as a broker.
      const Status formed = keel ? wait_until_formed(rt, bootstrap, 1, std::chrono::seconds(30)) : Status{};
      if (!formed) {
        fmt::print(stderr, "keel-bench: {}\n", formed.error().message);
      } else {
        code = run_phases(rt, o, bootstrap);
      }
      rt.stop();
    });
    rt.run();
  }
  if (keel) {
    if (auto st = keel->stop(); !st) {
      fmt::print(stderr, "keel-bench: stopping keel: {}\n", st.error().message);
      code = code == 0 ? 1 : code;
    }
  }
  return code;
}
