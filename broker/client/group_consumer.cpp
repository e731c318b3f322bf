#include "broker/client/group_consumer.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <utility>

#include "broker/protocol/errors.h"

namespace keel::client {
namespace {

using protocol::ApiKey;
using protocol::ErrorCode;
namespace asg = assignors;

// The newest versions this client writes. JoinGroup v9's skip_assignment is honoured.
constexpr std::int16_t join_group_version_max = 9;
constexpr std::int16_t sync_group_version_max = 5;
constexpr std::int16_t heartbeat_version_max = 4;
constexpr std::int16_t leave_group_version_max = 5;
constexpr std::int16_t offset_commit_version_max = 8;
// A consumer-protocol member must commit with v9 (the coordinator refuses older versions).
constexpr std::int16_t member_offset_commit_version_max = 9;
constexpr std::string_view protocol_type = "consumer";
// How often poll looks whether the rebalance task finished.
constexpr Duration rebalance_check_interval = std::chrono::milliseconds(50);

std::int32_t ms32(Duration d) { return static_cast<std::int32_t>(to_ms(d)); }

std::vector<TopicPartition> minus(const std::vector<TopicPartition>& a, const std::vector<TopicPartition>& b) {
  std::vector<TopicPartition> out;
  std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

// Errors worth sending a commit or an offset fetch again for: the coordinator moved, is loading, or
// its connection broke.
bool retriable_coordinator_error(const Error& e) {
  if (auto code = kafka_error_code(e)) {
    return coordinator_moved(*code) || *code == ErrorCode::coordinator_load_in_progress ||
           *code == ErrorCode::request_timed_out || *code == ErrorCode::unstable_offset_commit;
  }
  return e.code != Errc::invalid_argument && e.code != Errc::corrupt;
}

}  // namespace

GroupConsumer::GroupConsumer(Runtime& rt, GroupConsumerConfig config)
    : rt_(rt),
      config_(std::move(config)),
      consumer_(rt, config_.consumer),
      cluster_(rt, config_.consumer.bootstrap_servers, config_.consumer.client_id, config_.consumer.request_timeout),
      link_(cluster_, config_.group_id) {
  KEEL_ASSERT_MSG(!config_.group_id.empty(), "a group consumer needs a group id");
  KEEL_ASSERT_MSG(!config_.assignors.empty(), "a group consumer needs at least one assignor");
  KEEL_ASSERT(config_.heartbeat_interval > Duration{0} && config_.heartbeat_interval < config_.session_timeout);
  if (config_.group_protocol == GroupProtocol::consumer) {
    ConsumerMembershipConfig m;
    m.member_id = random_member_id(rt_.random());  // KIP-1082: the client names itself
    m.instance_id = config_.group_instance_id;
    m.rebalance_timeout = config_.rebalance_timeout;
    m.server_assignor = config_.remote_assignor;
    m.retry_backoff = config_.retry_backoff;
    m.retry_backoff_max = std::max(config_.retry_backoff, Duration(std::chrono::seconds(1)));
    membership_ = std::make_unique<ConsumerMembership>(std::move(m));
    tasks_.push_back(rt_.spawn(fmt::format("{}-heartbeat", config_.consumer.client_id), [this] { member_heartbeat_loop(); }));
    return;
  }
  tasks_.push_back(rt_.spawn(fmt::format("{}-heartbeat", config_.consumer.client_id), [this] { heartbeat_loop(); }));
}

GroupConsumer::~GroupConsumer() {
  auto& executor = rt_.executor();
  const auto self = Executor::current_task();
  for (auto task : tasks_) {
    if (task.id != self.id && executor.alive(task)) executor.cancel(task);
  }
}

bool GroupConsumer::cooperative() const {
  return std::all_of(config_.assignors.begin(), config_.assignors.end(), asg::is_cooperative);
}

void GroupConsumer::subscribe(std::vector<std::string> topics, GroupListener listener) {
  std::sort(topics.begin(), topics.end());
  topics.erase(std::unique(topics.begin(), topics.end()), topics.end());
  if (topics != topics_ && state_ != State::unjoined) rejoin_needed_ = true;
  topics_ = std::move(topics);
  listener_ = std::move(listener);
  if (membership_) {
    membership_->subscribe(topics_);
    member_wake_.set();
  }
}

void GroupConsumer::subscribe_regex(std::string regex, GroupListener listener) {
  KEEL_ASSERT_MSG(membership_, "group {}: a regex subscription needs group_protocol consumer", config_.group_id);
  topics_.clear();
  regex_ = regex;
  listener_ = std::move(listener);
  membership_->subscribe_regex(std::move(regex));
  member_wake_.set();
}

Status GroupConsumer::fenced_error() const {
  if (membership_) {
    return kafka_error(membership_->error(), fmt::format("group {}: member {} can take no further part",
                                                         config_.group_id, membership_->member_id()));
  }
  return kafka_error(ErrorCode::fenced_instance_id,
                     fmt::format("group {}: instance {} was taken over by another member", config_.group_id,
                                 config_.group_instance_id.value_or("")));
}

// ---- poll ----

Result<std::vector<ConsumerRecord>> GroupConsumer::poll(Duration timeout) {
  KEEL_ASSERT_MSG(!topics_.empty() || regex_, "poll before subscribe (group {})", config_.group_id);
  KEEL_ASSERT_MSG(!closed_, "poll after close (group {})", config_.group_id);
  const Instant deadline = rt_.now() + timeout;
  do {
    last_poll_ = rt_.now();  // time inside poll counts as polling
    deliver_commit_outcomes();
    if (auto st = membership_ ? ensure_member(deadline) : ensure_active(deadline); !st) {
      if (state_ == State::fenced) return st.error();
      rt_.sleep_for(std::min(config_.retry_backoff, std::max<Duration>(Duration{0}, deadline - rt_.now())));
      continue;
    }
    maybe_auto_commit();
    // Fetch in slices no longer than a heartbeat interval (shorter while a rebalance runs), so that a
    // rebalance the heartbeat task heard of, or one that finished, is acted on soon.
    const bool settled = membership_ ? membership_->state() == ConsumerMembership::State::stable : state_ == State::stable;
    const Duration slice_max = settled ? config_.heartbeat_interval : rebalance_check_interval;
    const Duration slice = std::min(std::max<Duration>(Duration{0}, deadline - rt_.now()), slice_max);
    auto records = consumer_.poll(slice);
    if (!records) {
      // A broker out of reach is waited out, as the Java consumer does; what the application must
      // hear of (a batch that does not decode, a position to reset with auto_offset_reset none)
      // comes back.
      if (records.error().code == Errc::corrupt || records.error().code == Errc::invalid_argument) return records.error();
      continue;
    }
    // A partition revoked or lost while this poll ran is not the application's any more.
    std::erase_if(*records, [&](const ConsumerRecord& r) {
      return !std::binary_search(owned_.begin(), owned_.end(), r.topic_partition);
    });
    if (!records->empty()) return records;
  } while (rt_.now() < deadline);
  deliver_commit_outcomes();
  return std::vector<ConsumerRecord>();
}

// What the heartbeat task and the commits heard, acted on here on the application's task so that
// the callbacks run inside poll.
void GroupConsumer::settle() {
  if (fence_pending_) {
    fence_pending_ = false;
    lose_all();
    state_ = State::fenced;
    return;
  }
  if (reset_pending_) {
    reset_pending_ = false;
    lose_all();
    generation_ = -1;
    if (forget_member_id_) member_id_.clear();
    forget_member_id_ = false;
    state_ = State::unjoined;
    rejoin_needed_ = true;
  }
}

// Moves the membership on by one step without waiting for a rebalance: starts one when needed
// (its JoinGroup and SyncGroup run on a task of their own, so that poll keeps fetching what a
// cooperative member holds meanwhile), takes the assignment of one that finished, and fetches the
// committed offsets of newly assigned partitions.
Status GroupConsumer::ensure_active(Instant deadline) {
  settle();
  if (state_ == State::fenced) return fenced_error();
  if (rebalance_result_) return finish_rebalance(deadline);
  if (state_ == State::rebalancing) return {};
  if ((rejoin_needed_ || state_ == State::unjoined) && rt_.now() >= next_join_) start_rebalance();
  if (state_ == State::stable && !unpositioned_.empty()) return fetch_committed_positions(deadline);
  return {};
}

void GroupConsumer::start_rebalance() {
  // Eager: everything is revoked (its offsets committed first) before the member joins again.
  if (!cooperative() && !owned_.empty()) revoke(owned_);
  state_ = State::rebalancing;
  rejoin_needed_ = false;
  std::erase_if(tasks_, [&](TaskRef t) { return !rt_.executor().alive(t); });
  rebalance_task_ = rt_.spawn(fmt::format("{}-rebalance", config_.consumer.client_id), [this] {
    auto joined = join_group();
    rebalance_result_ = joined ? sync_group(*joined) : Result<std::vector<TopicPartition>>(joined.error());
  });
  tasks_.push_back(rebalance_task_);
}

Status GroupConsumer::finish_rebalance(Instant deadline) {
  auto result = std::move(*rebalance_result_);
  rebalance_result_.reset();
  if (!result) {
    settle();
    if (state_ == State::fenced) return fenced_error();
    state_ = State::unjoined;
    rejoin_needed_ = true;
    next_join_ = rt_.now() + config_.retry_backoff;
    return result.error();
  }
  apply(std::move(*result));
  return fetch_committed_positions(deadline);
}

protocol::JoinGroupRequest GroupConsumer::join_request() const {
  protocol::JoinGroupRequest request;
  request.group_id = config_.group_id;
  request.session_timeout_ms = ms32(config_.session_timeout);
  request.rebalance_timeout_ms = ms32(config_.rebalance_timeout);
  request.member_id = member_id_;
  request.group_instance_id = config_.group_instance_id;
  request.protocol_type = std::string(protocol_type);
  for (auto kind : config_.assignors) {
    const auto subscription = asg::member_subscription(kind, asg::subscription_version_max, topics_, owned_, generation_);
    request.protocols.push_back(
        {std::string(asg::assignor_name(kind)), asg::encode_subscription(subscription, asg::subscription_version_max)});
  }
  return request;
}

Result<protocol::JoinGroupResponse> GroupConsumer::join_group() {
  const auto call = [&] {
    return link_.call<protocol::JoinGroupResponse>(ApiKey::join_group, join_group_version_max,
                                                   [&](std::int16_t) { return join_request(); });
  };
  auto response = call();
  if (response && response->error_code == static_cast<std::int16_t>(ErrorCode::member_id_required)) {
    member_id_ = response->member_id;  // KIP-394: join again at once with the id handed out
    response = call();
  }
  if (!response) return response.error();
  if (response->error_code != 0) return note_error(static_cast<ErrorCode>(response->error_code), "JoinGroup");
  const auto kind = asg::assignor_by_name(response->protocol_name.value_or(""));
  if (!kind) {
    return make_error(Errc::corrupt, fmt::format("group {}: the coordinator chose protocol '{}', which this member did "
                                                 "not offer", config_.group_id, response->protocol_name.value_or("")));
  }
  member_id_ = response->member_id;
  generation_ = response->generation_id;
  leader_id_ = response->leader;
  protocol_ = kind;
  return response;
}

Result<std::vector<protocol::SyncGroupRequest::Assignment>> GroupConsumer::leader_assignments(
    const protocol::JoinGroupResponse& joined) {
  std::vector<asg::JoinedMember> members;
  std::set<std::string> topics;
  for (const auto& m : joined.members) {
    members.push_back({m.member_id, m.group_instance_id, m.metadata});
    if (auto s = asg::decode_subscription(m.metadata)) topics.insert(s->topics.begin(), s->topics.end());
  }
  const std::vector<std::string> topic_list(topics.begin(), topics.end());
  if (auto st = cluster_.refresh(topic_list, false); !st) return st.error();
  asg::PartitionCounts counts;
  for (const auto& t : topic_list) {
    if (auto n = cluster_.partitions(t)) counts[t] = *n;
  }
  const auto result = asg::leader_assign(*protocol_, counts, members, asg::assignment_version_max);
  std::vector<protocol::SyncGroupRequest::Assignment> out;
  for (const auto& [member, bytes] : result.assignments) out.push_back({member, bytes});
  return out;
}

Result<std::vector<TopicPartition>> GroupConsumer::sync_group(const protocol::JoinGroupResponse& joined) {
  std::vector<protocol::SyncGroupRequest::Assignment> assignments;
  if (joined.leader == member_id_ && !joined.skip_assignment) {
    auto made = leader_assignments(joined);
    if (!made) return made.error();
    assignments = std::move(*made);
  }
  auto response = link_.call<protocol::SyncGroupResponse>(ApiKey::sync_group, sync_group_version_max, [&](std::int16_t) {
    protocol::SyncGroupRequest request;
    request.group_id = config_.group_id;
    request.generation_id = generation_;
    request.member_id = member_id_;
    request.group_instance_id = config_.group_instance_id;
    request.protocol_type = std::string(protocol_type);
    request.protocol_name = std::string(asg::assignor_name(*protocol_));
    request.assignments = assignments;
    return request;
  });
  if (!response) return response.error();
  if (response->error_code != 0) return note_error(static_cast<ErrorCode>(response->error_code), "SyncGroup");
  auto assignment = asg::decode_assignment(response->assignment);
  if (!assignment) {
    return Error{Errc::corrupt, fmt::format("group {}: the assignment from SyncGroup does not decode: {}",
                                            config_.group_id, assignment.error().message)};
  }
  return asg::flatten(assignment->partitions);
}

// Takes the assignment SyncGroup brought: revokes what moved away (cooperative), adds what is new,
// and asks for a second rebalance when something was revoked (KIP-429).
void GroupConsumer::apply(std::vector<TopicPartition> assigned) {
  std::sort(assigned.begin(), assigned.end());
  const auto change = asg::apply_assignment(*protocol_, owned_, assigned);
  ++rebalances_;
  if (!change.revoked.empty()) revoke(change.revoked);
  owned_ = assigned;
  unpositioned_.insert(unpositioned_.end(), change.added.begin(), change.added.end());
  std::sort(unpositioned_.begin(), unpositioned_.end());
  consumer_.assign(minus(owned_, unpositioned_));
  state_ = State::stable;
  if (change.rejoin) rejoin_needed_ = true;
  if (listener_.on_assigned) listener_.on_assigned(change.added, generation_);
}

// Positions of newly assigned partitions: the group's committed offsets, else auto_offset_reset
// (the fetching consumer resets a partition assigned without a position). Until the offsets are
// known the partitions are not fetched, so a coordinator that cannot answer never makes the member
// read from the reset position instead.
Status GroupConsumer::fetch_committed_positions(Instant deadline) {
  if (unpositioned_.empty()) return {};
  auto offsets = committed_retrying(unpositioned_, std::max(deadline, rt_.now() + config_.retry_backoff));
  if (!offsets) return offsets.error();
  for (const auto& tp : unpositioned_) {
    if (!std::binary_search(owned_.begin(), owned_.end(), tp)) continue;
    consumer_.assign(merge_assignment(tp));
    auto it = offsets->find(tp);
    if (it != offsets->end() && it->second >= 0) consumer_.seek(tp, it->second);
  }
  unpositioned_.clear();
  return {};
}

std::vector<TopicPartition> GroupConsumer::merge_assignment(const TopicPartition& tp) const {
  auto current = consumer_.assignment();
  if (!std::binary_search(current.begin(), current.end(), tp)) current.push_back(tp);
  return current;
}

bool GroupConsumer::in_generation() const { return membership_ ? membership_->in_group() : generation_ >= 0; }

void GroupConsumer::revoke(const std::vector<TopicPartition>& partitions) {
  if (config_.enable_auto_commit && in_generation()) {
    OffsetMap offsets;
    for (const auto& tp : partitions) {
      if (auto p = consumer_.position(tp)) offsets[tp] = *p;
    }
    report_commit(offsets, commit_retrying(offsets, rt_.now() + std::min(config_.rebalance_timeout,
                                                                         config_.consumer.default_api_timeout)), {});
  }
  if (listener_.on_revoked) listener_.on_revoked(partitions, generation());
  owned_ = minus(owned_, partitions);
  unpositioned_ = minus(unpositioned_, partitions);
  consumer_.assign(minus(owned_, unpositioned_));
}

void GroupConsumer::lose_all() {
  const auto lost = owned_;
  owned_.clear();
  unpositioned_.clear();
  consumer_.assign({});
  if (!lost.empty() && listener_.on_lost) listener_.on_lost(lost);
}

// Records what a group error means; settle() acts on it from the application's task. Returns the
// error as a kafka_error() value.
Error GroupConsumer::note_error(ErrorCode code, const char* api) {
  switch (code) {
    case ErrorCode::rebalance_in_progress: rejoin_needed_ = true; break;
    case ErrorCode::unknown_member_id:
      reset_pending_ = true;
      forget_member_id_ = true;
      break;
    case ErrorCode::illegal_generation: reset_pending_ = true; break;
    case ErrorCode::fenced_instance_id: fence_pending_ = true; break;
    default:
      if (coordinator_moved(code)) link_.forget();
      break;
  }
  return kafka_error(code, fmt::format("{} in group {} (member {}, generation {})", api, config_.group_id, member_id_,
                                       generation_));
}

// ---- heartbeats ----

void GroupConsumer::heartbeat_loop() {
  while (true) {
    rt_.sleep_for(config_.heartbeat_interval);
    if (state_ != State::stable || closed_ || rt_.now() < frozen_until_) continue;
    if (rt_.now() - last_poll_ > config_.rebalance_timeout) leave_for_poll_timeout();
    else heartbeat_once();
  }
}

// The application did not poll within the rebalance timeout (max.poll.interval.ms): as the Java
// consumer does, the member leaves so the others can take its partitions now rather than after the
// session timeout (a static member only stops heartbeating: its instance id keeps its place until
// then). Its next poll hears the partitions were lost and joins again.
void GroupConsumer::leave_for_poll_timeout() {
  ++poll_timeouts_;
  if (!config_.group_instance_id) (void)leave_group();
  reset_pending_ = true;
  forget_member_id_ = true;
  state_ = State::unjoined;
}

void GroupConsumer::heartbeat_once() {
  const std::int32_t generation = generation_;
  auto response = link_.call<protocol::HeartbeatResponse>(ApiKey::heartbeat, heartbeat_version_max, [&](std::int16_t) {
    protocol::HeartbeatRequest request;
    request.group_id = config_.group_id;
    request.generation_id = generation;
    request.member_id = member_id_;
    request.group_instance_id = config_.group_instance_id;
    return request;
  });
  // An answer about a generation the member has left since says nothing about the current one.
  if (!response || response->error_code == 0 || generation != generation_ || state_ != State::stable) return;
  (void)note_error(static_cast<ErrorCode>(response->error_code), "Heartbeat");
}

// ---- commits ----

OffsetMap GroupConsumer::consumed_offsets() const {
  OffsetMap out;
  for (const auto& tp : owned_) {
    if (auto p = consumer_.position(tp)) out[tp] = *p;
  }
  return out;
}

Status GroupConsumer::commit_once(const OffsetMap& offsets, std::optional<std::int32_t> generation_of_offsets) {
  if (offsets.empty()) return {};
  const std::int32_t generation = generation_of_offsets.value_or(this->generation());
  const std::int16_t version_max = membership_ ? member_offset_commit_version_max : offset_commit_version_max;
  auto response = link_.call<protocol::OffsetCommitResponse>(ApiKey::offset_commit, version_max, [&](std::int16_t) {
    return offset_commit_request(config_.group_id, generation, member_id(), config_.group_instance_id, offsets);
  });
  if (!response) return response.error();
  for (const auto& t : response->topics) {
    for (const auto& p : t.partitions) {
      if (p.error_code == 0) continue;
      // A refusal of a generation the member has left since says nothing about the current one.
      const auto code = static_cast<ErrorCode>(p.error_code);
      if (membership_) return member_commit_error(code, generation);
      if (generation == generation_ && state_ == State::stable) return note_error(code, "OffsetCommit");
      return kafka_error(code, fmt::format("OffsetCommit in group {} (generation {})", config_.group_id, generation));
    }
  }
  return {};
}

Status GroupConsumer::commit_retrying(const OffsetMap& offsets, Instant deadline) {
  while (true) {
    auto st = commit_once(offsets);
    if (st || rt_.now() >= deadline) return st;
    // STALE_MEMBER_EPOCH: the epoch moved on; commit again with the one the early heartbeat brings.
    if (membership_ && is_kafka_error(st, ErrorCode::stale_member_epoch)) wait_member_answer(deadline);
    else if (!retriable_coordinator_error(st.error())) return st;
    else rt_.sleep_for(config_.retry_backoff);
  }
}

Status GroupConsumer::commit_sync() { return commit_sync(consumed_offsets()); }

Status GroupConsumer::commit_sync(const OffsetMap& offsets) {
  deliver_commit_outcomes();
  if (state_ == State::fenced || fence_pending_) return fenced_error();
  auto st = commit_retrying(offsets, rt_.now() + config_.consumer.default_api_timeout);
  report_commit(offsets, st, {});
  return st;
}

void GroupConsumer::commit_async(std::function<void(const OffsetMap&, const Status&)> done) {
  auto offsets = consumed_offsets();
  // The offsets are of the partitions owned in this generation (classic) or member epoch (KIP-848),
  // so they go with it. Sent after a rebalance (it waited for the commit before it), they are refused
  // (ILLEGAL_GENERATION, STALE_MEMBER_EPOCH) rather than taken as the new generation's: a member
  // would commit positions of partitions now another's. Java does not retry a refused async commit.
  const std::optional<std::int32_t> generation = this->generation();
  std::erase_if(tasks_, [&](TaskRef t) { return !rt_.executor().alive(t); });
  auto previous = std::exchange(last_async_commit_, std::make_shared<Event>());
  tasks_.push_back(rt_.spawn(fmt::format("{}-commit", config_.consumer.client_id),
                             [this, offsets = std::move(offsets), done = std::move(done), previous, generation,
                              answered = last_async_commit_]() mutable {
                               if (previous) previous->wait();
                               auto st = commit_once(offsets, generation);
                               commit_outcomes_.push_back({std::move(offsets), std::move(st), std::move(done)});
                               answered->set();
                             }));
}

void GroupConsumer::maybe_auto_commit() {
  if (!config_.enable_auto_commit || state_ != State::stable) return;
  if (rt_.now() < next_auto_commit_) return;
  next_auto_commit_ = rt_.now() + config_.auto_commit_interval;
  if (!consumed_offsets().empty()) commit_async();
}

void GroupConsumer::report_commit(const OffsetMap& offsets, const Status& status,
                                  const std::function<void(const OffsetMap&, const Status&)>& done) {
  if (offsets.empty()) return;
  if (done) done(offsets, status);
  if (listener_.on_commit) listener_.on_commit(offsets, status);
}

void GroupConsumer::deliver_commit_outcomes() {
  while (!commit_outcomes_.empty()) {
    auto outcome = std::move(commit_outcomes_.front());
    commit_outcomes_.pop_front();
    report_commit(outcome.offsets, outcome.status, outcome.done);
  }
}

// ---- offsets ----

Result<OffsetMap> GroupConsumer::committed(const std::vector<TopicPartition>& partitions) {
  return committed_retrying(partitions, rt_.now() + config_.consumer.default_api_timeout);
}

Result<OffsetMap> GroupConsumer::committed_retrying(const std::vector<TopicPartition>& partitions, Instant deadline) {
  while (true) {
    std::optional<MemberIdentity> member;
    if (membership_ && membership_->in_group()) member = MemberIdentity{membership_->member_id(), membership_->member_epoch()};
    auto offsets = fetch_offsets(link_, partitions, true, member);
    if (offsets || rt_.now() >= deadline) return offsets;
    if (membership_ && kafka_error_code(offsets.error()) == ErrorCode::stale_member_epoch) {
      wait_member_answer(deadline);
      continue;
    }
    if (!retriable_coordinator_error(offsets.error())) return offsets;
    if (auto code = kafka_error_code(offsets.error()); code && coordinator_moved(*code)) link_.forget();
    rt_.sleep_for(config_.retry_backoff);
  }
}

// ---- close ----

Status GroupConsumer::close() {
  if (closed_) return {};
  if (membership_) return close_member();
  deliver_commit_outcomes();
  settle();
  Status result;
  if (state_ == State::rebalancing && rt_.executor().alive(rebalance_task_)) rt_.executor().cancel(rebalance_task_);
  rebalance_result_.reset();
  if (generation_ >= 0 && !owned_.empty()) revoke(owned_);
  closed_ = true;
  if (state_ != State::fenced && !member_id_.empty() && !config_.group_instance_id) result = leave_group_retrying();
  state_ = State::unjoined;
  deliver_commit_outcomes();
  return result;
}

// LeaveGroup, asked again after a broken connection or a moved coordinator within the request
// timeout. UNKNOWN_MEMBER_ID after a retry means an earlier attempt landed.
Status GroupConsumer::leave_group_retrying() {
  const Instant deadline = rt_.now() + config_.consumer.request_timeout;
  for (int attempt = 0;; ++attempt) {
    auto st = leave_group();
    if (attempt > 0 && is_kafka_error(st, ErrorCode::unknown_member_id)) return {};
    if (st || !retriable_coordinator_error(st.error()) || rt_.now() >= deadline) return st;
    rt_.sleep_for(config_.retry_backoff);
  }
}

Status GroupConsumer::leave_group() {
  auto response = link_.call<protocol::LeaveGroupResponse>(ApiKey::leave_group, leave_group_version_max,
                                                           [&](std::int16_t version) {
    protocol::LeaveGroupRequest request;
    request.group_id = config_.group_id;
    if (version >= 3) request.members = {{member_id_, config_.group_instance_id, std::string("the consumer is closing")}};
    else request.member_id = member_id_;
    return request;
  });
  if (!response) return response.error();
  std::int16_t code = response->error_code;
  for (const auto& m : response->members) code = code != 0 ? code : m.error_code;
  if (code != 0) return kafka_error(static_cast<ErrorCode>(code), fmt::format("LeaveGroup of group {}", config_.group_id));
  return {};
}

}  // namespace keel::client
