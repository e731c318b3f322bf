#include "sim/cluster/randomize_config.h"

#include <algorithm>
#include <bit>

namespace keel::sim::cluster {

namespace {

constexpr std::int64_t kib = 1024;
constexpr std::int64_t mib = 1024 * kib;

// A uniform bit length in [bits(min), bits(max)], then a uniform value of that length within
// [min, max]: log-uniform in integers, with no floating point to differ between machines.
std::int64_t draw_log_uniform(Random& rng, std::int64_t min, std::int64_t max) {
  KEEL_ASSERT(0 <= min && min <= max);
  const auto bits = [](std::int64_t v) { return static_cast<int>(std::bit_width(static_cast<std::uint64_t>(v))); };
  const int b = static_cast<int>(rng.between(bits(min), bits(max)));
  if (b == 0) return 0;
  const std::int64_t lo = std::max(min, std::int64_t{1} << (b - 1));
  const std::int64_t hi = b >= 63 ? max : std::min(max, (std::int64_t{1} << b) - 1);
  return rng.between(lo, hi);
}

std::int64_t draw(Random& rng, const ConfigKnob& knob) {
  const std::uint64_t shape = rng.below(4);
  if (shape == 0) return knob.kafka_default;
  if (shape == 1) return rng.chance(0.5) ? knob.min : knob.max;
  return draw_log_uniform(rng, knob.min, knob.max);
}

}  // namespace

const std::vector<ConfigKnob>& randomized_knobs() {
  static const std::vector<ConfigKnob> knobs = {
      // Segments from the size of the largest batch the broker accepts (message.max.bytes's
      // default, 1 MiB + 12: Kafka refuses a batch larger than a segment, so no smaller) to 1 GiB.
      {"log.segment.bytes", 1048588, 1024 * mib, 1024 * mib},
      // Time-based rolls from every second to every week (Kafka's default).
      {"log.roll.ms", 1000, 604800000, 604800000},
      // An offset index entry after every batch (0) up to one per MiB of log.
      {"log.index.interval.bytes", 0, mib, 4 * kib},
      // Index files from 512 bytes (a segment rolls after ~40 index entries: index_full rolls) to
      // Kafka's 10 MiB.
      {"log.index.size.max.bytes", 512, 10 * mib, 10 * mib},
      // Request frames from 2 MiB (a producer's max.request.size of batches, 1 MiB, plus its request
      // headers, fits with room to spare) to Kafka's 100 MiB.
      {"socket.request.max.bytes", 2 * mib, 100 * mib, 100 * mib},
      // Parsed but not yet enforced by Keel; drawn so that runs cover it once it is.
      {"queued.max.requests", 1, 500, 500},
      // Background passes: retention checks, recovery-point checkpoints, and how long the files of
      // deleted segments linger (0: at once, while a reader may still hold the segment open).
      {"log.retention.check.interval.ms", 1000, 300000, 300000},
      {"log.flush.offset.checkpoint.interval.ms", 100, 60000, 60000},
      {"log.segment.delete.delay.ms", 0, 60000, 60000},
  };
  return knobs;
}

std::map<std::string, std::string> randomize_broker_config(Random& rng) {
  std::map<std::string, std::string> out;
  for (const auto& knob : randomized_knobs()) out[std::string(knob.key)] = std::to_string(draw(rng, knob));
  return out;
}

}  // namespace keel::sim::cluster
