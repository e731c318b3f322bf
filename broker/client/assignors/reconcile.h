#pragma once
// KIP-848 reconciliation (Kafka's CurrentAssignmentBuilder, ../shared/reference/consumer-groups.md
// §7.4) as a pure function: how one member moves from its current assignment towards its target, one
// heartbeat at a time, so that a partition reaches its new owner only after the previous owner
// stopped reporting it.
//
//   kept    = current ∩ target (per topic; a topic the member no longer subscribes to has an empty target)
//   revoke  = current − kept
//   add     = target − kept − partitions another member still holds (assigned or pending revocation)
//
//   - revoke non-empty and the member still reports owning some of it (or reports nothing):
//     UNREVOKED_PARTITIONS at the same epoch, holding kept and waiting for revoke to be released;
//   - otherwise the member moves to the target epoch holding kept + add: UNRELEASED_PARTITIONS if
//     some of `add` was withheld, else STABLE.
//
// A member in UNREVOKED_PARTITIONS stays there until its heartbeat no longer reports the partitions
// pending revocation; a member in UNRELEASED_PARTITIONS picks up withheld partitions as their owners
// release them. The coordinator keeps the partition -> holder map this function consults.
#include "broker/base/topic_partition.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string_view>

namespace keel::client::assignors {

enum class MemberState : std::uint8_t {
  stable = 0,                 // holds its target at the target epoch
  unrevoked_partitions = 1,   // must give up partitions before it can move on
  unreleased_partitions = 2,  // at the target epoch, waiting for partitions others still hold
};

std::string_view member_state_name(MemberState s);

struct ReconciledMember {
  MemberState state = MemberState::stable;
  std::int32_t member_epoch = 0;
  std::int32_t previous_member_epoch = -1;
  std::set<TopicPartition> assigned;            // what the member may consume now
  std::set<TopicPartition> pending_revocation;  // what it must give up (it may still consume them)
  bool operator==(const ReconciledMember&) const = default;
};

struct TargetAssignment {
  std::int32_t epoch = 0;
  std::set<TopicPartition> partitions;  // this member's share
};

// True when some other member holds `tp` (assigned, or pending revocation).
using HeldByOther = std::function<bool(const TopicPartition&)>;

// One step of reconciliation for `member` after a heartbeat that reported `owned` (nullopt: the
// heartbeat did not say, so the member is assumed to still own everything it had).
ReconciledMember reconcile(const ReconciledMember& member, const TargetAssignment& target,
                           const std::optional<std::set<TopicPartition>>& owned, const HeldByOther& held_by_other);

}  // namespace keel::client::assignors
