#pragma once
// A classic consumer group as its coordinator holds it (Kafka's ClassicGroup): members, generation,
// the chosen protocol, the leader, and the state machine below, whose every transition is asserted.
//
//   Empty ---------------> PreparingRebalance <----------- Stable
//     ^                     |        ^                       ^
//     |  (join completes,   |        | (member joins,        | (the leader's sync commits)
//     |   nobody left)      v        |  leaves, times out)   |
//     +------------ (join completes) +-- CompletingRebalance +
//   Dead: from any state (the group was deleted, or unloaded with its shard).
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "broker/platform/sync.h"
#include "broker/protocol/messages.h"

namespace keel::group {

enum class GroupState : std::uint8_t {
  empty,                 // no members (offsets may still be kept)
  preparing_rebalance,   // waiting for members to (re)join
  completing_rebalance,  // joined; waiting for the leader's assignment
  stable,                // the assignment is committed and handed out
  dead,                  // deleted: no new members, no commits
};

std::string_view state_name(GroupState state);  // Kafka's names: "Empty", "PreparingRebalance", ...
bool legal_transition(GroupState from, GroupState to);

// The answer to a request that waits in the shard (a JoinGroup until the join completes, a
// SyncGroup until the leader's assignment commits). Set once; the handler waits for it.
template <class T>
struct Reply {
  std::optional<T> value;
  Event ready;
  void set(const T& v) {
    if (value) return;
    value.emplace(v);
    ready.set();
  }
};

using JoinReply = std::shared_ptr<Reply<protocol::JoinGroupResponse>>;
using SyncReply = std::shared_ptr<Reply<protocol::SyncGroupResponse>>;

struct ClassicMember {
  std::string member_id;
  std::optional<std::string> instance_id;
  std::string client_id;
  std::string client_host;
  std::int32_t session_timeout_ms = 0;
  std::int32_t rebalance_timeout_ms = 0;
  std::string protocol_type;
  std::vector<std::pair<std::string, protocol::Bytes>> protocols;  // in the member's order of preference
  protocol::Bytes assignment;
  JoinReply awaiting_join;
  std::int16_t join_version = 0;  // the version of the parked JoinGroup
  SyncReply awaiting_sync;
  bool is_new = false;  // joined, and no join completed for it yet

  const protocol::Bytes* metadata_for(const std::string& protocol) const;
};

class ClassicGroup {
 public:
  ClassicGroup(std::string id, std::int64_t now_ms) : id_(std::move(id)), state_timestamp_ms_(now_ms) {}

  const std::string& id() const { return id_; }
  GroupState state() const { return state_; }
  std::int64_t state_timestamp_ms() const { return state_timestamp_ms_; }
  void transition(GroupState to, std::int64_t now_ms);
  bool in(GroupState s) const { return state_ == s; }

  std::int32_t generation() const { return generation_; }
  const std::optional<std::string>& protocol_type() const { return protocol_type_; }
  const std::optional<std::string>& protocol_name() const { return protocol_name_; }
  const std::optional<std::string>& leader() const { return leader_; }
  bool is_leader(const std::string& member_id) const { return leader_ && *leader_ == member_id; }

  std::map<std::string, ClassicMember>& members() { return members_; }
  const std::map<std::string, ClassicMember>& members() const { return members_; }
  ClassicMember* member(const std::string& id);
  bool has_member(const std::string& id) const { return members_.contains(id); }
  // The member id a static instance id maps to.
  std::optional<std::string> static_member(const std::string& instance_id) const;

  void add_member(ClassicMember member);
  void remove_member(const std::string& member_id);
  // A static member rejoined under a new member id: it takes the old one's place (assignment,
  // leadership).
  void replace_static_member(const std::string& instance_id, const std::string& old_id, ClassicMember replacement);

  std::set<std::string>& pending_members() { return pending_; }
  std::set<std::string>& pending_sync() { return pending_sync_; }

  // Whether a member offering `protocols` of `type` may join: an empty group takes any non-empty
  // type with a protocol; otherwise the type must match and one protocol must be supported by all.
  bool supports(const std::string& type, const std::vector<std::string>& protocols) const;
  // The protocol chosen by vote: each member votes for its most preferred protocol among those all
  // support; ties go to the leader's preference (deterministic, unlike Kafka's HashMap order).
  std::string select_protocol() const;
  // Generation + 1; CompletingRebalance with a chosen protocol, or Empty when no member is left.
  void init_next_generation(std::int64_t now_ms);
  // A leader among the members awaiting join (the current one if it rejoined); false if none.
  bool elect_joined_leader();
  void set_leader(std::optional<std::string> leader) { leader_ = std::move(leader); }

  bool all_members_joined() const;
  std::size_t awaiting_join_count() const;
  std::int32_t max_rebalance_timeout_ms() const;

  // Restores a group from its GroupMetadata record (loading): Stable with members, else Empty.
  void restore(const std::string& protocol_type, std::int32_t generation, std::optional<std::string> protocol,
               std::optional<std::string> leader, std::int64_t now_ms);

  // The initial rebalance (from Empty) waits group.initial.rebalance.delay.ms, longer while members
  // keep arriving, within the rebalance timeout.
  struct InitialJoin {
    std::int32_t delay_ms = 0;
    std::int32_t remaining_ms = 0;
  };
  std::optional<InitialJoin>& initial_join() { return initial_join_; }
  bool new_member_added = false;

 private:
  std::string id_;
  GroupState state_ = GroupState::empty;
  std::int64_t state_timestamp_ms_ = 0;
  std::int32_t generation_ = 0;
  std::optional<std::string> protocol_type_;
  std::optional<std::string> protocol_name_;
  std::optional<std::string> leader_;
  std::map<std::string, ClassicMember> members_;          // by member id: deterministic order
  std::map<std::string, std::string> static_members_;     // instance id -> member id
  std::set<std::string> pending_;                         // KIP-394: ids handed out, join not yet seen
  std::set<std::string> pending_sync_;                    // joined this generation, not yet synced
  std::optional<InitialJoin> initial_join_;
};

}  // namespace keel::group
