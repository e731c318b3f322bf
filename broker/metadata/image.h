#pragma once
// MetadataImage: the cluster metadata as the committed records leave it (brokers, topics, their
// partitions and configs). It changes only by applying records, in offset order.
//
// Two ways in, by where the record came from:
//   apply(record, offset)  - the record was made by this process's controller logic, which checked
//                            it against this very image; an impossible record (a change for an
//                            unknown partition, an ISR outside the replicas) is a programmer error
//                            and stops the process with the record printed.
//   replay(record, offset) - the record was decoded from a log or snapshot written by someone else;
//                            an impossible record is an error value (Errc::corrupt) and the image is
//                            left as it was.
// Both run the same check(), so the two can never disagree about what is possible.
#include "broker/metadata/records.h"

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace keel::metadata {

// Replica lists (broker ids): whether `ids` holds `id`, and `ids` without those in `gone`, in order.
bool contains(const std::vector<BrokerId>& ids, BrokerId id);
std::vector<BrokerId> without(const std::vector<BrokerId>& ids, const std::vector<BrokerId>& gone);

struct BrokerRegistration {
  BrokerId id = 0;
  Uuid incarnation;
  std::int64_t epoch = 0;
  std::vector<Endpoint> endpoints;
  std::optional<std::string> rack;
  bool fenced = true;
  bool in_controlled_shutdown = false;

  // May lead and join ISRs (Kafka's "active": unfenced and not shutting down).
  bool active() const { return !fenced && !in_controlled_shutdown; }
  bool operator==(const BrokerRegistration&) const = default;
};

struct PartitionRegistration {
  std::vector<BrokerId> replicas;
  std::vector<BrokerId> isr;
  BrokerId leader = no_leader;
  std::int32_t leader_epoch = 0;
  std::int32_t partition_epoch = 0;
  LeaderRecoveryState leader_recovery_state = LeaderRecoveryState::recovered;
  // A reassignment in progress: replicas leaving and replicas joining, both also in `replicas`.
  std::vector<BrokerId> removing_replicas;
  std::vector<BrokerId> adding_replicas;

  static PartitionRegistration from(const PartitionRecord& record);
  PartitionRecord to_record(const Uuid& topic_id, std::int32_t partition_id) const;
  bool reassigning() const { return !removing_replicas.empty() || !adding_replicas.empty(); }
  // Kafka's PartitionRegistration.merge: partition_epoch += 1 on every change; leader_epoch += 1
  // iff the record names a leader (even the same one).
  PartitionRegistration merge(const PartitionChangeRecord& change) const;
  bool in_isr(BrokerId broker) const;
  bool is_replica(BrokerId broker) const;
  bool operator==(const PartitionRegistration&) const = default;
};

struct TopicImage {
  Uuid id;
  std::string name;
  std::map<std::int32_t, PartitionRegistration> partitions;
  std::map<std::string, std::string> configs;
  bool operator==(const TopicImage&) const = default;
};

class MetadataImage {
 public:
  // Whether `record` can follow this image: Errc::corrupt naming the record and the fault if not.
  Status check(const MetadataRecord& record) const;
  // Applies a record this process's controller made (asserts check() and offsets that never go
  // back; the records of one metadata log entry share its offset).
  void apply(const MetadataRecord& record, std::int64_t offset);
  // Applies a decoded record, or returns why it cannot follow this image (and changes nothing).
  Status replay(const MetadataRecord& record, std::int64_t offset);

  // The image as records (brokers, then each topic's TopicRecord, ConfigRecords and PartitionRecords
  // in id order); replaying them into an empty image gives an equal image.
  std::vector<MetadataRecord> to_records() const;
  // Equal content; the last applied offset is not compared (a snapshot carries it separately).
  bool operator==(const MetadataImage& other) const {
    return brokers_ == other.brokers_ && topics_ == other.topics_ && broker_configs_ == other.broker_configs_;
  }

  const std::map<BrokerId, BrokerRegistration>& brokers() const { return brokers_; }
  const BrokerRegistration* broker(BrokerId id) const;
  // Ids of active brokers (unfenced, not in controlled shutdown), ascending.
  std::vector<BrokerId> live_brokers() const;
  bool is_active(BrokerId broker) const;

  const std::map<Uuid, TopicImage>& topics() const { return topics_; }
  const TopicImage* topic(const Uuid& id) const;
  const TopicImage* topic(std::string_view name) const;
  const PartitionRegistration* partition(const Uuid& topic_id, std::int32_t index) const;
  const PartitionRegistration* partition(std::string_view topic_name, std::int32_t index) const;
  // The partition's leader, or no_leader when it has none or does not exist.
  BrokerId leader_of(const Uuid& topic_id, std::int32_t index) const;
  BrokerId leader_of(std::string_view topic_name, std::int32_t index) const;
  // Whether `broker` leads any partition.
  bool leads_any(BrokerId broker) const;
  // The topic's config value for `name`, if set.
  std::optional<std::string> topic_config(const Uuid& topic_id, std::string_view name) const;
  // Dynamic broker configs (AlterConfigs on a broker resource): `broker` is a broker id as text, or
  // "" for the cluster-wide default. Empty when none are set.
  const std::map<std::string, std::string>& broker_configs(std::string_view broker) const;

  std::int64_t last_applied_offset() const { return last_offset_; }

 private:
  void apply_unchecked(const MetadataRecord& record);
  void check_applied(const MetadataRecord& record) const;

  std::map<BrokerId, BrokerRegistration> brokers_;
  std::map<Uuid, TopicImage> topics_;
  std::map<std::string, Uuid, std::less<>> topic_ids_by_name_;
  std::map<std::string, std::map<std::string, std::string>, std::less<>> broker_configs_;  // by broker ("" default)
  std::int64_t last_offset_ = -1;
};

}  // namespace keel::metadata
