// GroupConsumer with group_protocol consumer (KIP-848, ../shared/reference/consumer-groups.md §7):
// a heartbeat task that sends what ConsumerMembership asks for, and the reconciliation it plans,
// carried out inside poll so that the callbacks run on the application's task.
#include "broker/client/group_consumer.h"

#include <fmt/format.h>

#include <algorithm>

#include "broker/protocol/errors.h"

namespace keel::client {
namespace {

using protocol::ApiKey;
using protocol::ErrorCode;
using MemberState = ConsumerMembership::State;

// v1: the member id is the client's own (KIP-1082) and a regex may be sent, as librdkafka 2.15 does.
constexpr std::int16_t consumer_group_heartbeat_version_max = 1;
// How often close() looks whether the leave heartbeat was answered.
constexpr Duration leave_check_interval = std::chrono::milliseconds(10);

protocol::ConsumerGroupHeartbeatRequest heartbeat_request(const std::string& group, const ConsumerHeartbeat& h) {
  protocol::ConsumerGroupHeartbeatRequest request;
  request.group_id = group;
  request.member_id = h.member_id;
  request.member_epoch = h.member_epoch;
  request.instance_id = h.instance_id;
  request.rebalance_timeout_ms = h.rebalance_timeout_ms;
  request.subscribed_topic_names = h.subscribed_topic_names;
  request.subscribed_topic_regex = h.subscribed_topic_regex;
  request.server_assignor = h.server_assignor;
  if (h.owned) {
    request.topic_partitions.emplace();
    for (const auto& [id, partitions] : *h.owned) request.topic_partitions->push_back({id, partitions});
  }
  return request;
}

ConsumerHeartbeatAnswer heartbeat_answer(const protocol::ConsumerGroupHeartbeatResponse& response) {
  ConsumerHeartbeatAnswer answer{static_cast<ErrorCode>(response.error_code), response.member_epoch,
                                 response.heartbeat_interval_ms, std::nullopt};
  if (response.assignment) {
    answer.assignment.emplace();
    for (const auto& t : response.assignment->topic_partitions) {
      auto& partitions = (*answer.assignment)[t.topic_id];
      partitions.insert(partitions.end(), t.partitions.begin(), t.partitions.end());
    }
  }
  return answer;
}

std::vector<TopicPartition> merged(const std::vector<TopicPartition>& a, const std::vector<TopicPartition>& b) {
  std::vector<TopicPartition> out;
  std::set_union(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

std::vector<TopicPartition> without(const std::vector<TopicPartition>& a, const std::vector<TopicPartition>& b) {
  std::vector<TopicPartition> out;
  std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

}  // namespace

// ---- heartbeats ----

// Sends each heartbeat when it is due; whatever may make one due sooner (a subscription, a finished
// reconciliation step, a rejoin, a leave, a stale commit) sets member_wake_.
void GroupConsumer::member_heartbeat_loop() {
  while (true) {
    member_wake_.reset();
    if (member_poll_expired()) member_leave_for_poll_timeout();
    if (poll_stale_ && config_.group_instance_id) {  // silent until the application polls again
      member_wake_.wait();
      continue;
    }
    const auto due = membership_->heartbeat_due();
    if (!due) {
      member_wake_.wait();
      continue;
    }
    if (*due > rt_.now()) {
      // Wake for the heartbeat, or at the application's poll deadline if that comes first.
      const bool watched = !closed_ && !poll_stale_ && membership_->in_group();
      const Instant poll_deadline = last_poll_ + config_.rebalance_timeout + std::chrono::milliseconds(1);
      member_wake_.wait(watched ? std::min(*due, poll_deadline) : *due);
      continue;
    }
    if (rt_.now() < frozen_until_) {  // a stopped process sends nothing (freeze_until)
      member_wake_.wait(frozen_until_);
      continue;
    }
    member_heartbeat_once();
  }
}

bool GroupConsumer::member_poll_expired() const {
  return !closed_ && !poll_stale_ && membership_->in_group() && rt_.now() - last_poll_ > config_.rebalance_timeout;
}

// The application did not poll within max.poll.interval.ms: as the Java consumer does, a dynamic
// member leaves (epoch -1) so the others take its partitions now. A static member only goes silent:
// its instance id keeps its place until the session timeout fences it (Keel's classic consumer does
// the same). The next poll reports the partitions lost and joins again.
void GroupConsumer::member_leave_for_poll_timeout() {
  KEEL_ASSERT(!poll_stale_ && membership_->in_group());
  ++poll_timeouts_;
  poll_stale_ = true;
  if (!config_.group_instance_id) membership_->leave();
}

void GroupConsumer::member_heartbeat_once() {
  const auto heartbeat = membership_->heartbeat(rt_.now());
  auto response = link_.call<protocol::ConsumerGroupHeartbeatResponse>(
      ApiKey::consumer_group_heartbeat, consumer_group_heartbeat_version_max,
      [&](std::int16_t) { return heartbeat_request(config_.group_id, heartbeat); });
  if (!response) {
    membership_->on_failure(rt_.now());  // the link forgot a broken coordinator; find it again after a backoff
    return;
  }
  const auto code = membership_->on_answer(rt_.now(), heartbeat_answer(*response));
  if (coordinator_moved(code)) link_.forget();
}

// Waits (at most until `deadline`) for the answer to a heartbeat sent at once: after
// STALE_MEMBER_EPOCH, the member's epoch moved on and a commit or fetch is asked again with the new one.
void GroupConsumer::wait_member_answer(Instant deadline) {
  const auto seen = membership_->answers();
  membership_->heartbeat_now();
  member_wake_.set();
  while (membership_->answers() == seen && membership_->in_group() && rt_.now() < deadline) {
    rt_.sleep_for(std::min(config_.retry_backoff, deadline - rt_.now()));
  }
}

Error GroupConsumer::member_commit_error(ErrorCode code, std::int32_t epoch) {
  // Stale at the epoch the member has now: it missed a bump, which a heartbeat brings at once. (An
  // async commit of an older epoch is stale because the member moved on: nothing to learn.)
  if (code == ErrorCode::stale_member_epoch && epoch == membership_->member_epoch()) {
    membership_->heartbeat_now();
    member_wake_.set();
  }
  if (coordinator_moved(code)) link_.forget();
  // UNKNOWN_MEMBER_ID and FENCED_MEMBER_EPOCH are the heartbeat's to act on: it hears them too.
  return kafka_error(code, fmt::format("OffsetCommit in group {} (member {}, epoch {})", config_.group_id,
                                       membership_->member_id(), epoch));
}

// ---- poll ----

// What the heartbeat task heard, acted on here: a fenced member reports its partitions lost and
// joins again at epoch 0; a fatal error ends the member (every later poll fails).
void GroupConsumer::settle_member() {
  if (poll_stale_ && !settle_stale_member()) return;
  switch (membership_->state()) {
    case MemberState::fenced:
      lose_all();
      membership_->rejoin();
      member_wake_.set();
      break;
    case MemberState::fatal:
      if (state_ != State::fenced) lose_all();
      state_ = State::fenced;
      break;
    default: break;
  }
}

// The application polls again after a poll timeout. False while the leave is still in flight.
bool GroupConsumer::settle_stale_member() {
  KEEL_ASSERT(poll_stale_ && membership_);
  if (config_.group_instance_id) {
    poll_stale_ = false;  // heartbeat again: a fence meanwhile is handled as any fence
    member_wake_.set();
    return true;
  }
  if (membership_->state() == MemberState::leaving) return false;
  poll_stale_ = false;
  if (membership_->state() == MemberState::left) {
    lose_all();
    membership_->rejoin();
    KEEL_ASSERT(owned_.empty() && membership_->state() != MemberState::left);
    member_wake_.set();
  }
  return true;
}

Status GroupConsumer::ensure_member(Instant deadline) {
  settle_member();
  if (state_ == State::fenced) return fenced_error();
  reconcile_member();
  settle_member();  // a fence heard while the step's commit ran
  if (state_ == State::fenced) return fenced_error();
  state_ = membership_->in_group() ? State::stable : State::rebalancing;
  if (!unpositioned_.empty()) return fetch_committed_positions(deadline);
  return {};
}

void GroupConsumer::reconcile_member() {
  const auto name_of = [&](const protocol::Uuid& id) { return cluster_.topic_name(id); };
  auto step = membership_->reconcile(name_of);
  if (!step && !membership_->unresolved().empty() && rt_.now() >= next_id_refresh_) {
    resolve_topic_ids();
    step = membership_->reconcile(name_of);
  }
  if (step) take_step(*step);
}

// Metadata v10+ names topic ids: the subscribed topics, or (a regex) every topic.
void GroupConsumer::resolve_topic_ids() {
  next_id_refresh_ = rt_.now() + config_.retry_backoff;
  if (regex_) (void)cluster_.refresh_all();
  else (void)cluster_.refresh(topics_, false);
}

// One reconciliation step: what left the target is committed (auto commit) and revoked first, then
// the new partitions are assigned (their positions fetched before they are read); the heartbeat
// that follows reports the result.
void GroupConsumer::take_step(const Reconciliation& step) {
  if (!step.revoke.empty()) revoke(step.revoke);
  // Fenced while the revoke's commit ran: what is left is lost (settle_member), the step is void.
  if (membership_->incarnation() != step.incarnation || membership_->state() == MemberState::fenced) return;
  owned_ = merged(owned_, step.add);
  unpositioned_ = merged(unpositioned_, step.add);
  consumer_.assign(without(owned_, unpositioned_));
  ++rebalances_;
  membership_->reconciled(step);
  member_wake_.set();
  if (listener_.on_assigned) listener_.on_assigned(step.add, membership_->member_epoch());
}

// ---- close ----

// Commits (auto commit) and revokes what the member owns, then leaves: epoch -1, or -2 for a static
// member (its instance id keeps its partitions until the session timeout).
Status GroupConsumer::close_member() {
  deliver_commit_outcomes();
  settle_member();
  if (membership_->in_group() && !owned_.empty()) revoke(owned_);
  closed_ = true;
  membership_->leave();
  member_wake_.set();
  const Instant deadline = rt_.now() + config_.consumer.request_timeout;
  while (membership_->state() == MemberState::leaving && rt_.now() < deadline) rt_.sleep_for(leave_check_interval);
  Status result;
  if (membership_->state() == MemberState::leaving) {
    result = make_error(Errc::timed_out, fmt::format("group {}: member {} got no answer to its leave heartbeat",
                                                     config_.group_id, membership_->member_id()));
  }
  state_ = State::unjoined;
  deliver_commit_outcomes();
  return result;
}

}  // namespace keel::client
