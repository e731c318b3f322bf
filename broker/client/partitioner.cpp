#include "broker/client/partitioner.h"

#include "broker/base/assert.h"

namespace keel::client {

std::int32_t murmur2(std::span<const std::uint8_t> data) {
  const auto length = static_cast<std::uint32_t>(data.size());
  constexpr std::uint32_t seed = 0x9747b28c;
  constexpr std::uint32_t m = 0x5bd1e995;
  constexpr int r = 24;
  std::uint32_t h = seed ^ length;
  const std::uint32_t length4 = length / 4;
  for (std::uint32_t i = 0; i < length4; ++i) {
    const std::uint32_t i4 = i * 4;
    std::uint32_t k = std::uint32_t{data[i4]} | std::uint32_t{data[i4 + 1]} << 8 | std::uint32_t{data[i4 + 2]} << 16 |
                      std::uint32_t{data[i4 + 3]} << 24;
    k *= m;
    k ^= k >> r;
    k *= m;
    h *= m;
    h ^= k;
  }
  const std::uint32_t tail = length & ~3u;
  switch (length % 4) {
    case 3: h ^= std::uint32_t{data[tail + 2]} << 16; [[fallthrough]];
    case 2: h ^= std::uint32_t{data[tail + 1]} << 8; [[fallthrough]];
    case 1:
      h ^= std::uint32_t{data[tail]};
      h *= m;
  }
  h ^= h >> 13;
  h *= m;
  h ^= h >> 15;
  return static_cast<std::int32_t>(h);
}

std::int32_t partition_for_key(std::span<const std::uint8_t> key, std::int32_t partitions) {
  KEEL_ASSERT(partitions > 0);
  return (murmur2(key) & 0x7fffffff) % partitions;
}

std::int32_t StickyPartitioner::partition(const std::string& topic, std::int32_t partitions, Random& random) {
  KEEL_ASSERT(partitions > 0);
  auto it = sticky_.find(topic);
  if (it == sticky_.end() || it->second.partitions != partitions) {
    Sticky s;
    s.partition = static_cast<std::int32_t>(random.below(static_cast<std::uint64_t>(partitions)));
    s.partitions = partitions;
    it = sticky_.insert_or_assign(topic, s).first;
  }
  return it->second.partition;
}

std::int32_t StickyPartitioner::on_new_batch(const std::string& topic, std::int32_t partitions, Random& random) {
  const std::int32_t current = partition(topic, partitions, random);
  Sticky& s = sticky_.at(topic);
  if (!s.batch_opened || partitions == 1) {
    s.batch_opened = true;
    return current;
  }
  const auto step = 1 + static_cast<std::int32_t>(random.below(static_cast<std::uint64_t>(partitions - 1)));
  s.partition = (current + step) % partitions;
  return s.partition;
}

}  // namespace keel::client
