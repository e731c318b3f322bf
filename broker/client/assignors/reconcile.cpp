#include "broker/client/assignors/reconcile.h"

#include "broker/base/assert.h"

#include <algorithm>

namespace keel::client::assignors {

namespace {

bool still_owns_any(const std::set<TopicPartition>& partitions, const std::optional<std::set<TopicPartition>>& owned) {
  if (!owned) return !partitions.empty();
  return std::any_of(partitions.begin(), partitions.end(),
                     [&](const TopicPartition& tp) { return owned->contains(tp); });
}

ReconciledMember at_epoch(const ReconciledMember& m, MemberState state, std::int32_t epoch,
                          std::set<TopicPartition> assigned, std::set<TopicPartition> pending) {
  ReconciledMember out;
  out.state = state;
  out.previous_member_epoch = epoch == m.member_epoch ? m.previous_member_epoch : m.member_epoch;
  out.member_epoch = epoch;
  out.assigned = std::move(assigned);
  out.pending_revocation = std::move(pending);
  KEEL_ASSERT_GE(out.member_epoch, m.member_epoch);
  for (const auto& tp : out.pending_revocation)
    KEEL_ASSERT_MSG(!out.assigned.contains(tp), "{} assigned and pending revocation", tp);
  KEEL_ASSERT(out.state != MemberState::unrevoked_partitions || !out.pending_revocation.empty());
  return out;
}

// Kafka's computeNextAssignment: from `assigned` towards the target.
ReconciledMember next_assignment(const ReconciledMember& m, std::int32_t epoch, const TargetAssignment& target,
                                 const std::optional<std::set<TopicPartition>>& owned,
                                 const HeldByOther& held_by_other) {
  std::set<TopicPartition> kept, revoke, add;
  bool withheld = false;
  for (const auto& tp : m.assigned) (target.partitions.contains(tp) ? kept : revoke).insert(tp);
  for (const auto& tp : target.partitions) {
    if (kept.contains(tp)) continue;
    if (held_by_other(tp)) {
      withheld = true;
    } else {
      add.insert(tp);
    }
  }
  if (!revoke.empty() && still_owns_any(revoke, owned)) {
    return at_epoch(m, MemberState::unrevoked_partitions, epoch, std::move(kept), std::move(revoke));
  }
  kept.insert(add.begin(), add.end());
  return at_epoch(m, withheld ? MemberState::unreleased_partitions : MemberState::stable, target.epoch, std::move(kept),
                  {});
}

}  // namespace

std::string_view member_state_name(MemberState s) {
  switch (s) {
    case MemberState::stable: return "STABLE";
    case MemberState::unrevoked_partitions: return "UNREVOKED_PARTITIONS";
    case MemberState::unreleased_partitions: return "UNRELEASED_PARTITIONS";
  }
  KEEL_UNREACHABLE();
}

ReconciledMember reconcile(const ReconciledMember& member, const TargetAssignment& target,
                           const std::optional<std::set<TopicPartition>>& owned, const HeldByOther& held_by_other) {
  KEEL_ASSERT_LE(member.member_epoch, target.epoch);
  switch (member.state) {
    case MemberState::stable:
      if (member.member_epoch == target.epoch) return member;
      return next_assignment(member, member.member_epoch, target, owned, held_by_other);
    case MemberState::unrevoked_partitions:
      // Revoked once the member's heartbeat stops reporting them; then it moves on.
      if (still_owns_any(member.pending_revocation, owned)) return member;
      return next_assignment(member, member.member_epoch, target, owned, held_by_other);
    case MemberState::unreleased_partitions:
      return next_assignment(member, member.member_epoch, target, owned, held_by_other);
  }
  KEEL_UNREACHABLE();
}

}  // namespace keel::client::assignors
