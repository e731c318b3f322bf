#pragma once
// A KIP-848 consumer group as its coordinator holds it (Kafka's ConsumerGroup): the group epoch, the
// target assignment and its epoch, and each member's subscription, target and current assignment
// (../shared/reference/consumer-groups.md §7). The group changes only through the setters below,
// which the shard calls when it replays a record (consumer_records.h), during loading and for
// each record a write produces, so the in-memory group is always what the log says.
//
// Inside the group a topic is keyed by its topic id (as 32 hex digits in TopicPartition::topic),
// as Kafka keys assignments by topic id: a topic deleted and created again under the same name is
// another topic. Names appear only where the subscription is resolved and in answers.
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "broker/base/topic_partition.h"
#include "broker/client/assignors/reconcile.h"
#include "broker/group/consumer_records.h"
#include "broker/protocol/wire.h"

namespace keel::group {

namespace assignors = client::assignors;

std::string topic_key(const protocol::Uuid& id);
protocol::Uuid topic_uuid(std::string_view key);
// Partitions by topic id, in the records' and the wire's form, and back.
std::vector<TopicIdPartitions> to_topic_ids(const std::set<TopicPartition>& partitions);
std::set<TopicPartition> from_topic_ids(const std::vector<TopicIdPartitions>& partitions);

enum class ConsumerGroupState : std::uint8_t { empty, assigning, reconciling, stable };
std::string_view consumer_state_name(ConsumerGroupState s);  // "Empty", "Assigning", "Reconciling", "Stable"

struct ConsumerMember {
  std::string member_id;
  ConsumerMemberMetadataValue metadata;  // record 5
  std::set<TopicPartition> target;       // record 7
  assignors::ReconciledMember current;   // record 8 (member_epoch 0 until the first one)
  bool has_metadata = false;
};

class ConsumerGroup {
 public:
  explicit ConsumerGroup(std::string id) : id_(std::move(id)) {}

  const std::string& id() const { return id_; }
  std::int32_t group_epoch() const { return group_epoch_; }
  std::int32_t assignment_epoch() const { return assignment_epoch_; }
  std::int64_t metadata_hash() const { return metadata_hash_; }
  const std::map<std::string, ConsumerMember>& members() const { return members_; }
  const ConsumerMember* member(const std::string& member_id) const;
  // The member holding a static instance id, if any.
  const ConsumerMember* static_member(const std::string& instance_id) const;
  // Who holds a partition (assigned, or pending revocation), if anyone.
  const std::string* owner(const TopicPartition& tp) const;
  ConsumerGroupState state() const;
  bool empty() const { return members_.empty(); }

  // ---- replay (one per record type; tombstones remove) ----
  void set_group_epoch(std::int32_t epoch, std::int64_t metadata_hash);
  void set_assignment_epoch(std::int32_t epoch);
  void set_member_metadata(const std::string& member_id, const ConsumerMemberMetadataValue& metadata);
  void set_target(const std::string& member_id, std::set<TopicPartition> target);
  void set_current(const std::string& member_id, const assignors::ReconciledMember& current);
  void remove_member_metadata(const std::string& member_id);
  void remove_target(const std::string& member_id);
  void remove_current(const std::string& member_id);

 private:
  ConsumerMember& slot(const std::string& member_id);
  void release_holdings(const std::string& member_id);

  std::string id_;
  std::int32_t group_epoch_ = 0;
  std::int32_t assignment_epoch_ = 0;
  std::int64_t metadata_hash_ = 0;
  std::map<std::string, ConsumerMember> members_;
  std::map<TopicPartition, std::string> owners_;  // partition -> the one member that holds it
};

}  // namespace keel::group
