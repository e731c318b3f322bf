// ISR changes at the leader (Kafka's Partition.maybeShrinkIsr / maybeExpandIsr): followers out of
// sync for longer than replica.lag.time.max.ms leave, followers caught up to the high watermark and
// this epoch's start join, one AlterPartition in flight per partition, answered by the controller.
#include <fmt/format.h>
#include "broker/base/coverage.h"
#include <fmt/ranges.h>

#include "broker/metadata/image.h"
#include "broker/metadata/quorum.h"
#include "broker/partition/replica_manager.h"

namespace keel::partition {

namespace {

// After the controller refuses an ISR change (a stale broker epoch while this broker registers
// again, a newer partition epoch on its way), the next proposal waits this long.
constexpr Duration isr_retry_backoff = std::chrono::milliseconds(500);

}  // namespace

void ReplicaManager::isr_loop() {
  // Kafka checks every replica.lag.time.max.ms / 2; shorter configured intervals win.
  const Duration interval = std::min<Duration>(options_.isr_check_interval,
                                               std::chrono::milliseconds(options_.replica_lag_time_max_ms / 2));
  while (!stopping_) {
    rt_.sleep_for(interval);
    std::vector<std::shared_ptr<Partition>> led;
    for (const auto& [tp, p] : partitions_) {
      if (p->role() == Role::leader) led.push_back(p);
    }
    for (const auto& p : led) maybe_propose_isr(p);
  }
}

void ReplicaManager::maybe_propose_isr(const std::shared_ptr<Partition>& p) {
  if (p->role() != Role::leader || isr_in_flight_.contains(p->tp())) return;
  if (auto retry = isr_retry_at_.find(p->tp()); retry != isr_retry_at_.end() && rt_.now() < retry->second) {
    return;  // refused a moment ago: do not ask again on every fetch
  }
  // Only who may join matters here. This runs on every follower fetch: the partition's whole log
  // settings (leader_settings parses the broker's and topic's configs) were most of its cost.
  const auto proposal =
      p->leader_state()->isr_change_to_propose(p->high_watermark(), p->log_end_offset(), now_ms(), isr_eligible());
  if (!proposal) return;
  p->mutable_leader_state().isr_change_sent(*proposal);
  KEEL_ASSERT(p->leader_state()->isr_change_pending());
  isr_in_flight_[p->tp()] = p->generation();
  IsrProposal sent{*proposal, p->generation(), p->leader_epoch(), p->leader_state()->partition_epoch()};
  rt_.trace("IsrChangeProposed").detail("Partition", p->tp().to_string()).detail("Isr", fmt::format("{}", fmt::join(sent.isr, ",")))
      .detail("LeaderEpoch", sent.leader_epoch).detail("PartitionEpoch", sent.partition_epoch);
  // The controller's answer takes a round trip: wait for it in a task of its own.
  track(rt_.spawn(fmt::format("alter-partition-{}", p->tp().to_string()),
                  [this, p, sent = std::move(sent)] { send_isr_proposal(p, sent); }));
}

// Whether `p` is still this broker's partition and its leader, in the generation `generation`.
bool ReplicaManager::leads_in(const std::shared_ptr<Partition>& p, std::uint64_t generation) const {
  return find(p->tp()) == p && p->generation() == generation && p->role() == Role::leader;
}

void ReplicaManager::send_isr_proposal(const std::shared_ptr<Partition>& p, const IsrProposal& proposal) {
  // The task starts some time after it was spawned: the partition may have stopped leading meanwhile
  // (a reassignment moved its leadership away; its leader state is gone). Then nothing is asked, and
  // the role change already forgot the proposal in flight.
  if (!leads_in(p, proposal.generation)) {
    KEEL_SOMETIMES("partition.isr.proposal_outlived_leadership");
    return;
  }
  const metadata::MetadataImage& image = quorum_.image();
  const auto* topic = image.topic(p->tp().topic);
  metadata::AlterPartitionReply reply;
  reply.error = protocol::ErrorCode::unknown_topic_or_partition;
  if (topic != nullptr) {
    metadata::AlterPartitionRequest request;
    request.broker_id = options_.broker_id;
    request.broker_epoch = broker_epoch_;
    request.topic_id = topic->id;
    request.partition = p->tp().partition;
    request.leader_epoch = proposal.leader_epoch;
    request.partition_epoch = proposal.partition_epoch;
    for (BrokerId id : proposal.isr) {
      const auto* reg = image.broker(id);
      request.new_isr.push_back({id, reg != nullptr ? reg->epoch : -1});
    }
    auto answered = quorum_.call(request, rt_.now() + options_.controller_timeout);
    if (answered) reply = *answered;
    else reply.error = protocol::ErrorCode::request_timed_out;
  }
  if (!leads_in(p, proposal.generation)) return;
  isr_in_flight_.erase(p->tp());
  if (reply.error == protocol::ErrorCode::none && reply.leader_epoch == p->leader_epoch()) {
    const std::int64_t hw_before = p->high_watermark();
    p->isr_committed(reply.isr, reply.partition_epoch, now_ms());
    if (p->high_watermark() != hw_before) wake_fetches(p->tp());
    return;
  }
  p->mutable_leader_state().isr_change_failed();
  if (reply.error == protocol::ErrorCode::new_leader_elected) KEEL_SOMETIMES("partition.isr.change_answered_new_leader");
  // NEW_LEADER_ELECTED: the change was committed and completed a reassignment that moved the
  // leadership away; the metadata making this replica a follower is on its way. Anything else:
  // Kafka keeps the change pending on errors newer metadata settles and forgets it on the others;
  // either way the next check proposes again from what the metadata then says.
  if (reply.error == protocol::ErrorCode::new_leader_elected || reply.error == protocol::ErrorCode::none) return;
  KEEL_SOMETIMES("partition.isr.change_refused");
  isr_retry_at_[p->tp()] = rt_.now() + isr_retry_backoff;
  rt_.trace("IsrChangeRefused").detail("Partition", p->tp().to_string()).detail("Error", protocol::error_name(reply.error));
}

}  // namespace keel::partition
