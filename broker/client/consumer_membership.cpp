#include "broker/client/consumer_membership.h"

#include <algorithm>

#include "broker/base/assert.h"

namespace keel::client {
namespace {

using protocol::ErrorCode;
using protocol::Uuid;

// Errors after which the member can do nothing more, as Kafka's ConsumerMembershipManager and
// librdkafka treat them.
bool fatal_heartbeat_error(ErrorCode code) {
  switch (code) {
    case ErrorCode::unreleased_instance_id:
    case ErrorCode::group_max_size_reached:
    case ErrorCode::unsupported_assignor:
    case ErrorCode::invalid_request:
    case ErrorCode::invalid_regular_expression:
    case ErrorCode::unsupported_version:
    case ErrorCode::group_authorization_failed:
    case ErrorCode::topic_authorization_failed: return true;
    default: return false;
  }
}

// Errors that mean the coordinator no longer knows this member at its epoch: everything is lost.
// GROUP_ID_NOT_FOUND answers a heartbeat above epoch 0 for a group that was deleted meanwhile.
bool fencing_error(ErrorCode code) {
  return code == ErrorCode::fenced_member_epoch || code == ErrorCode::unknown_member_id ||
         code == ErrorCode::group_id_not_found;
}

// Lists without partitions say nothing: {t: []} and {} are the same assignment.
TopicIdPartitions normalized(const TopicIdPartitions& in) {
  TopicIdPartitions out;
  for (const auto& [id, partitions] : in) {
    if (partitions.empty()) continue;
    auto& sorted = out[id] = partitions;
    std::sort(sorted.begin(), sorted.end());
    sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  }
  return out;
}

}  // namespace

std::string uuid_base64url(const Uuid& id) {
  static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  std::uint32_t bits = 0;
  int held = 0;
  for (auto byte : id.bytes) {
    bits = (bits << 8) | byte;
    held += 8;
    while (held >= 6) {
      held -= 6;
      out.push_back(alphabet[(bits >> held) & 0x3f]);
    }
  }
  if (held > 0) out.push_back(alphabet[(bits << (6 - held)) & 0x3f]);
  return out;  // 16 bytes: 22 characters, no padding
}

std::string random_member_id(Random& random) {
  Uuid id;
  for (std::size_t i = 0; i < id.bytes.size(); i += 8) {
    const std::uint64_t word = random.next();
    for (std::size_t j = 0; j < 8; ++j) id.bytes[i + j] = static_cast<std::uint8_t>(word >> (8 * j));
  }
  id.bytes[6] = static_cast<std::uint8_t>((id.bytes[6] & 0x0f) | 0x40);  // version 4
  id.bytes[8] = static_cast<std::uint8_t>((id.bytes[8] & 0x3f) | 0x80);  // the IETF variant
  return uuid_base64url(id);
}

ConsumerMembership::ConsumerMembership(ConsumerMembershipConfig config) : config_(std::move(config)) {
  KEEL_ASSERT_MSG(!config_.member_id.empty(), "a consumer-protocol member generates its own member id");
  KEEL_ASSERT(config_.retry_backoff > Duration{0} && config_.retry_backoff <= config_.retry_backoff_max);
}

void ConsumerMembership::subscribe(std::vector<std::string> topics) {
  KEEL_ASSERT_MSG(!topics.empty(), "member {}: subscribe to at least one topic", config_.member_id);
  std::sort(topics.begin(), topics.end());
  topics.erase(std::unique(topics.begin(), topics.end()), topics.end());
  topics_ = std::move(topics);
  regex_.reset();
  if (state_ == State::unsubscribed) state_ = State::joining;
  urgent_ = true;
}

void ConsumerMembership::subscribe_regex(std::string regex) {
  KEEL_ASSERT_MSG(!regex.empty(), "member {}: an empty subscription regex", config_.member_id);
  regex_ = std::move(regex);
  topics_.clear();
  if (state_ == State::unsubscribed) state_ = State::joining;
  urgent_ = true;
}

bool ConsumerMembership::in_group() const {
  switch (state_) {
    case State::reconciling:
    case State::acknowledging:
    case State::stable: return member_epoch_ > 0;
    case State::leaving: return member_epoch_ > 0;
    default: return false;
  }
}

// ---- heartbeats ----

std::optional<Instant> ConsumerMembership::heartbeat_due() const {
  if (in_flight_) return std::nullopt;
  switch (state_) {
    case State::joining:
    case State::acknowledging:
    case State::leaving: return retry_at_;
    case State::reconciling:
    case State::stable: return urgent_ ? retry_at_ : std::max(next_heartbeat_, retry_at_);
    default: return std::nullopt;
  }
}

ConsumerHeartbeat ConsumerMembership::heartbeat(Instant now) {
  KEEL_ASSERT_MSG(heartbeat_due().has_value(), "member {}: a heartbeat in state {} (in flight: {})", config_.member_id,
                  static_cast<int>(state_), in_flight_);
  ConsumerHeartbeat h;
  h.member_id = config_.member_id;
  if (state_ == State::leaving) {
    h.member_epoch = config_.instance_id ? static_leave_epoch : leave_epoch;
    h.instance_id = config_.instance_id;
  } else {
    h.member_epoch = state_ == State::joining ? 0 : member_epoch_;
    const bool full = !sent_rebalance_timeout_ || h.member_epoch == 0;
    if (full) {
      h.instance_id = config_.instance_id;
      h.rebalance_timeout_ms = static_cast<std::int32_t>(to_ms(config_.rebalance_timeout));
    }
    if (regex_ && (full || sent_regex_ != regex_)) h.subscribed_topic_regex = regex_;
    if (!regex_ && (full || sent_topics_ != topics_)) h.subscribed_topic_names = topics_;
    if (config_.server_assignor && (full || sent_assignor_ != config_.server_assignor)) {
      h.server_assignor = config_.server_assignor;
    }
    // A join reports nothing owned (the coordinator refuses epoch 0 with partitions).
    const auto owned = h.member_epoch == 0 ? TopicIdPartitions() : reported();
    if (full || sent_owned_ != owned) h.owned = owned;
  }
  (void)now;
  pending_ = h;
  in_flight_ = true;
  in_flight_incarnation_ = incarnation_;
  urgent_ = false;
  return h;
}

ErrorCode ConsumerMembership::on_answer(Instant now, const ConsumerHeartbeatAnswer& answer) {
  KEEL_ASSERT_MSG(in_flight_, "member {}: an answer without a heartbeat in flight", config_.member_id);
  in_flight_ = false;
  ++answers_;
  if (in_flight_incarnation_ != incarnation_) return ErrorCode::none;  // fenced and joined again since
  if (pending_.member_epoch < 0) {
    state_ = State::left;  // whatever the answer, the member is out (an unknown member has nothing to leave)
    return ErrorCode::none;
  }
  if (state_ == State::fenced || state_ == State::left || state_ == State::fatal) return ErrorCode::none;
  if (answer.error != ErrorCode::none) {
    after_error(now, answer.error);
    return answer.error;
  }
  take_answer(now, answer);
  return ErrorCode::none;
}

void ConsumerMembership::take_answer(Instant now, const ConsumerHeartbeatAnswer& answer) {
  if (pending_.rebalance_timeout_ms >= 0) sent_rebalance_timeout_ = true;
  if (pending_.subscribed_topic_names) sent_topics_ = pending_.subscribed_topic_names;
  if (pending_.subscribed_topic_regex) sent_regex_ = pending_.subscribed_topic_regex;
  if (pending_.server_assignor) sent_assignor_ = pending_.server_assignor;
  if (pending_.owned) sent_owned_ = pending_.owned;
  backoff_ = Duration{0};
  retry_at_ = Instant{};
  member_epoch_ = answer.member_epoch;
  if (answer.heartbeat_interval_ms > 0) heartbeat_interval_ = std::chrono::milliseconds(answer.heartbeat_interval_ms);
  next_heartbeat_ = now + heartbeat_interval_;
  if (answer.assignment) target_ = normalized(*answer.assignment);
  if (state_ == State::leaving) return;  // the leave goes next; the new target no longer matters
  settle_state();
}

// After an answer: stable when the member owns its target, else reconciling (the owner's next
// reconcile() plans the step).
void ConsumerMembership::settle_state() {
  if (!target_) target_ = TopicIdPartitions();  // a first answer without an assignment gives nothing yet
  state_ = target_reached() ? State::stable : State::reconciling;
}

void ConsumerMembership::after_error(Instant now, ErrorCode code) {
  if (fencing_error(code)) {
    fence(code);
    return;
  }
  if (fatal_heartbeat_error(code)) {
    state_ = State::fatal;
    error_ = code;
    return;
  }
  // The coordinator moved, is loading, or failed this once: ask again, in full, after a backoff.
  on_failure(now);
}

void ConsumerMembership::on_failure(Instant now) {
  in_flight_ = false;
  forget_sent();
  backoff_ = backoff_ == Duration{0} ? config_.retry_backoff : std::min(2 * backoff_, config_.retry_backoff_max);
  retry_at_ = now + backoff_;
}

void ConsumerMembership::forget_sent() {
  sent_topics_.reset();
  sent_regex_.reset();
  sent_assignor_.reset();
  sent_owned_.reset();
  sent_rebalance_timeout_ = false;
}

void ConsumerMembership::fence(ErrorCode why) {
  state_ = State::fenced;
  error_ = why;
  member_epoch_ = 0;
  target_.reset();
  unresolved_.clear();
  step_in_progress_ = false;
  adding_.clear();
  forget_sent();
}

// ---- reconciliation ----

TopicIdPartitions ConsumerMembership::owned_by_id() const {
  TopicIdPartitions out;
  for (const auto& o : owned_ids_) out[o.id].push_back(o.partition);
  return out;
}

// What heartbeats report: the owned partitions and those a step is taking. Reporting a partition
// before its on_assigned ran is safe (the coordinator only waits longer to move it); leaving it out
// is not: if the target moved it away meanwhile and that answer was lost, the coordinator would take
// the report as a release and hand it to another member while this one takes it.
TopicIdPartitions ConsumerMembership::reported() const {
  std::set<Owned> all = owned_ids_;
  all.insert(adding_.begin(), adding_.end());
  TopicIdPartitions out;
  for (const auto& o : all) out[o.id].push_back(o.partition);
  return out;
}

bool ConsumerMembership::target_reached() const { return !target_ || owned_by_id() == *target_; }

std::optional<Reconciliation> ConsumerMembership::reconcile(
    const std::function<std::optional<std::string>(const Uuid&)>& topic_name) {
  if (state_ != State::reconciling && state_ != State::acknowledging && state_ != State::stable) return std::nullopt;
  if (step_in_progress_ || !target_ || target_reached()) return std::nullopt;
  std::set<Owned> target;
  for (const auto& [id, partitions] : *target_) {
    for (auto p : partitions) target.insert({id, p});
  }
  Reconciliation step{{}, {}, member_epoch_, incarnation_};
  for (const auto& o : owned_ids_) {
    if (!target.contains(o)) step.revoke.push_back({names_.at(o.id), o.partition});
  }
  unresolved_.clear();
  for (const auto& o : target) {
    if (owned_ids_.contains(o)) continue;
    if (!names_.contains(o.id)) {
      if (auto name = topic_name(o.id)) names_[o.id] = *name;
    }
    if (auto it = names_.find(o.id); it != names_.end()) {
      step.add.push_back({it->second, o.partition});
      adding_.insert(o);
    } else if (unresolved_.empty() || unresolved_.back() != o.id) unresolved_.push_back(o.id);
  }
  if (step.revoke.empty() && step.add.empty()) return std::nullopt;
  std::sort(step.revoke.begin(), step.revoke.end());
  std::sort(step.add.begin(), step.add.end());
  step_in_progress_ = true;
  return step;
}

void ConsumerMembership::reconciled(const Reconciliation& step) {
  if (step.incarnation != incarnation_) return;
  step_in_progress_ = false;
  adding_.clear();
  if (state_ != State::reconciling && state_ != State::acknowledging && state_ != State::stable) return;
  std::map<std::string, Uuid> ids;
  for (const auto& [id, name] : names_) ids[name] = id;
  for (const auto& tp : step.revoke) owned_ids_.erase({ids.at(tp.topic), tp.partition});
  for (const auto& tp : step.add) owned_ids_.insert({ids.at(tp.topic), tp.partition});
  owned_.clear();
  for (const auto& o : owned_ids_) owned_.push_back({names_.at(o.id), o.partition});
  std::sort(owned_.begin(), owned_.end());
  state_ = State::acknowledging;  // the next heartbeat, at once, reports what the member owns now
}

// ---- fencing and leaving ----

void ConsumerMembership::rejoin() {
  KEEL_ASSERT_MSG(state_ == State::fenced || state_ == State::left, "member {}: rejoin in state {}", config_.member_id,
                  static_cast<int>(state_));
  owned_ids_.clear();
  owned_.clear();
  ++incarnation_;
  member_epoch_ = 0;
  error_ = ErrorCode::none;
  state_ = topics_.empty() && !regex_ ? State::unsubscribed : State::joining;
}

void ConsumerMembership::leave() {
  if (in_flight_ && state_ == State::joining) {
    state_ = State::leaving;  // the join's answer may admit the member: leave after it
    return;
  }
  if (member_epoch_ > 0 && (state_ == State::reconciling || state_ == State::acknowledging || state_ == State::stable)) {
    state_ = State::leaving;
    retry_at_ = Instant{};
    return;
  }
  if (state_ != State::fatal) state_ = State::left;  // never joined, or fenced: nothing to leave
}

}  // namespace keel::client
