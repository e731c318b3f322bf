#pragma once
// The broker figures of keel-bench, measured with the Keel client (broker/client): produce
// throughput and latency (send() to acknowledgement, under load), consume throughput, and the
// latency of one record at a time (send_and_wait). Call from a task of the runtime.
#include <cstdint>
#include <string>
#include <vector>

#include "broker/platform/network.h"
#include "broker/base/result.h"
#include "broker/platform/runtime.h"

namespace keel::bench {

struct PhaseLimits {
  std::int64_t records = 200'000;  // records per phase at most
  Duration time = 4s;             // and no longer than this (what completed by then is measured)
};

struct ThroughputResult {
  std::uint64_t records = 0;
  std::uint64_t bytes = 0;  // record values only
  double seconds = 0;
  std::uint64_t errors = 0;
  std::vector<Duration> latencies;  // produce only: send() to acknowledgement, one per record
  double mb_per_s() const { return seconds > 0 ? static_cast<double>(bytes) / seconds / 1e6 : 0; }
  double records_per_s() const { return seconds > 0 ? static_cast<double>(records) / seconds : 0; }
};

struct ProduceCase {
  std::string topic;
  std::int32_t batch_bytes = 16384;
  std::int16_t acks = 1;
  std::int32_t record_bytes = 1024;
};

Status create_topic(Runtime& rt, const std::vector<Address>& bootstrap, const std::string& topic,
                    std::int32_t partitions);

Result<ThroughputResult> produce_throughput(Runtime& rt, const std::vector<Address>& bootstrap,
                                            const ProduceCase& c, const PhaseLimits& limits);

// Reads every partition of `topic` from the beginning until `expected_records` arrived.
Result<ThroughputResult> consume_throughput(Runtime& rt, const std::vector<Address>& bootstrap,
                                            const std::string& topic, std::int32_t partitions,
                                            std::uint64_t expected_records, Duration time_limit);

// One record at a time, linger 0: the round trip of a single small produce.
Result<ThroughputResult> produce_latency(Runtime& rt, const std::vector<Address>& bootstrap, const ProduceCase& c,
                                         const PhaseLimits& limits);

// The q-quantile (0..1) of `values` (sorted in place), in milliseconds.
double quantile_ms(std::vector<Duration>& values, double q);

}  // namespace keel::bench
