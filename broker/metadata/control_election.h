#pragma once
// Leader election, ISR and replica changes for one partition (Kafka's PartitionChangeBuilder,
// without Eligible Leader Replicas), and the partition changes that follow a broker being fenced,
// shut down or unfenced. Pure functions of the image they are given.
//
// Every change completes a reassignment in progress once it can (Kafka's
// maybeCompleteReassignment): when the ISR, without the replicas leaving, still holds someone and
// holds every remaining replica, the leaving replicas go from the replica list and the ISR. A
// leader that is leaving then loses its place to the first remaining replica in the ISR (the
// "reassignment" election), and any change that drops a replica bumps the leader epoch, so the
// dropped replica's fetches are fenced.
//
// "Acceptable" leader: an active broker (unfenced, not in controlled shutdown), never the broker
// being fenced in the same batch. "Valid" new leader: acceptable and in the target ISR.
#include "broker/metadata/image.h"

#include <optional>
#include <vector>

namespace keel::metadata {

enum class Election {
  online,     // keep the current leader if valid, else the first valid replica in replica order
  preferred,  // replicas[0] if valid, else as online
  unclean,    // as online, then the first acceptable replica even outside the ISR (ISR := [it])
};

class PartitionChangeBuilder {
 public:
  PartitionChangeBuilder(const MetadataImage& image, const Uuid& topic_id, std::int32_t partition_id);

  PartitionChangeBuilder& set_election(Election election);
  PartitionChangeBuilder& set_target_isr(std::vector<BrokerId> isr);
  PartitionChangeBuilder& set_target_recovery_state(LeaderRecoveryState state);
  // A new replica list with the replicas it is removing and adding (both within it), as a
  // reassignment starts, changes or is cancelled.
  PartitionChangeBuilder& set_target_assignment(std::vector<BrokerId> replicas, std::vector<BrokerId> removing,
                                                std::vector<BrokerId> adding);
  // `broker` is not acceptable: it is being fenced or shut down by the same batch of records.
  PartitionChangeBuilder& exclude_broker(BrokerId broker);
  // `broker` is acceptable although the image says fenced: it is being unfenced by the same batch.
  PartitionChangeBuilder& include_broker(BrokerId broker);

  // The record that takes the partition to the target, or nothing when nothing would change.
  // An empty target ISR is not written: the last member stays, with no leader.
  std::optional<PartitionChangeRecord> build() const;

 private:
  struct ElectionResult {
    BrokerId leader;
    bool unclean;
  };
  // What the partition is to become: replicas, ISR and the reassignment's moving replicas.
  struct Target {
    std::vector<BrokerId> replicas;
    std::vector<BrokerId> isr;
    std::vector<BrokerId> removing;
    std::vector<BrokerId> adding;
  };
  bool acceptable(BrokerId broker) const;
  bool valid_new_leader(const Target& target, BrokerId broker) const;
  ElectionResult elect(const Target& target) const;
  ElectionResult elect_among(const Target& target) const;

  const MetadataImage& image_;
  Uuid topic_id_;
  std::int32_t partition_id_;
  const PartitionRegistration& current_;
  Election election_ = Election::online;
  std::vector<BrokerId> target_replicas_;
  std::vector<BrokerId> target_isr_;
  std::vector<BrokerId> target_removing_;
  std::vector<BrokerId> target_adding_;
  LeaderRecoveryState target_recovery_state_;
  std::optional<BrokerId> excluded_;
  std::optional<BrokerId> included_;
};

// Unclean election when the topic's unclean.leader.election.enable says so, else the broker default.
Election election_for_topic(const MetadataImage& image, const Uuid& topic_id, bool unclean_default);

// Drops `broker` from every ISR it is in (never emptying one) and elects new leaders where it led:
// the partition side of fencing, controlled shutdown and unregistration.
std::vector<MetadataRecord> remove_from_isrs(const MetadataImage& image, BrokerId broker, bool unclean_default);

// Completes a reassignment once the ISR allows (see above): the replicas and ISR without the
// leaving replicas, or nothing while the ISR lacks a joining replica or would be left empty.
struct CompletedReassignment {
  std::vector<BrokerId> replicas;
  std::vector<BrokerId> isr;
};
std::optional<CompletedReassignment> complete_reassignment(const std::vector<BrokerId>& replicas,
                                                           const std::vector<BrokerId>& isr,
                                                           const std::vector<BrokerId>& removing,
                                                           const std::vector<BrokerId>& adding);

// Elects leaders for leaderless partitions now that `broker` is being unfenced.
std::vector<MetadataRecord> elect_leaderless(const MetadataImage& image, BrokerId broker, bool unclean_default);

}  // namespace keel::metadata
