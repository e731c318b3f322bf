#pragma once
// Choosing a partition for a record, as the Java client does: a keyed record goes to
// toPositive(murmur2(key)) % partitions (Utils.murmur2, the DefaultPartitioner's rule, kept by the
// BuiltInPartitioner), so keys land where every other Kafka client puts them. Records without a
// key stick to one partition per topic until a batch for it closes, then move to another (KIP-480),
// which keeps batches full when records are small and keys absent.
#include <cstdint>
#include <map>
#include <span>
#include <string>

#include "broker/platform/random.h"

namespace keel::client {

// Kafka's murmur2 (the Java client's Utils.murmur2, seed 0x9747b28c) as a Java int.
std::int32_t murmur2(std::span<const std::uint8_t> data);
// Utils.toPositive(murmur2(key)) % partitions.
std::int32_t partition_for_key(std::span<const std::uint8_t> key, std::int32_t partitions);

class StickyPartitioner {
 public:
  // The sticky partition of `topic`, chosen at random on first use (or when the count changed).
  std::int32_t partition(const std::string& topic, std::int32_t partitions, Random& random);
  // The record about to be added would open a new batch on the sticky partition. The first batch
  // of a sticky choice stays; after that the topic moves to another partition (chosen uniformly
  // among the others), whose partition is returned.
  std::int32_t on_new_batch(const std::string& topic, std::int32_t partitions, Random& random);

 private:
  struct Sticky {
    std::int32_t partition = 0;
    std::int32_t partitions = 0;
    bool batch_opened = false;  // a batch was opened on this choice already
  };
  std::map<std::string, Sticky> sticky_;
};

}  // namespace keel::client
