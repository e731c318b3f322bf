// RaftCore: construction, role transitions, timers and elections (Vote with pre-vote,
// BeginQuorumEpoch, EndQuorumEpoch). Replication and snapshots live in raft_replication.cpp.
#include "broker/metadata/raft.h"
#include "broker/base/coverage.h"

#include <algorithm>
#include <limits>
#include <tuple>

namespace keel::metadata::raft {

namespace {

constexpr std::int64_t never = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t backoff_unit_ms = 100;
constexpr std::int32_t backoff_doublings_max = 20;

template <class... F>
struct Overloaded : F... {
  using F::operator()...;
};
template <class... F>
Overloaded(F...) -> Overloaded<F...>;

// Which role changes are legal. Any role may drop to unattached or follower on a higher epoch;
// leadership is only won by a candidate, and only a leader resigns.
bool legal_transition(Role from, Role to) {
  switch (to) {
    case Role::unattached:
    case Role::follower: return true;
    case Role::prospective:
      return from == Role::unattached || from == Role::follower || from == Role::resigned || from == Role::candidate;
    case Role::candidate: return from == Role::prospective || from == Role::candidate;
    case Role::leader: return from == Role::candidate;
    case Role::resigned: return from == Role::leader || from == Role::prospective;
  }
  return false;
}

}  // namespace

std::string_view role_name(Role r) {
  switch (r) {
    case Role::unattached: return "unattached";
    case Role::prospective: return "prospective";
    case Role::candidate: return "candidate";
    case Role::leader: return "leader";
    case Role::follower: return "follower";
    case Role::resigned: return "resigned";
  }
  return "?";
}

std::string_view message_name(const Message& m) {
  static constexpr std::string_view names[] = {
      "VoteRequest",           "VoteResponse",           "BeginQuorumEpochRequest", "BeginQuorumEpochResponse",
      "EndQuorumEpochRequest", "EndQuorumEpochResponse", "FetchRequest",            "FetchResponse",
      "FetchSnapshotRequest",  "FetchSnapshotResponse"};
  static_assert(std::size(names) == std::variant_size_v<Message>);
  return names[m.index()];
}

bool RaftConfig::is_voter(NodeId id) const { return std::find(voters.begin(), voters.end(), id) != voters.end(); }

RaftCore::RaftCore(RaftConfig config, Persisted persisted, std::int64_t now_ms)
    : config_(std::move(config)),
      random_(Random::derive(config_.seed, static_cast<std::uint64_t>(config_.node_id.value), "raft")),
      log_(persisted.snapshot, std::move(persisted.entries)),
      now_ms_(now_ms) {
  KEEL_ASSERT(!config_.voters.empty());
  KEEL_ASSERT_GE(config_.max_entries_per_fetch, 1);
  KEEL_ASSERT_GE(config_.snapshot_chunk_bytes, 1);
  // Correlation ids start at a random point so that answers addressed to an earlier incarnation of
  // this node (given a different seed) are not mistaken for answers to this one's requests.
  next_correlation_id_ = 1 + static_cast<std::int64_t>(random_.next() >> 2);
  hw_ = log_.start_offset();
  applied_end_ = log_.start_offset();
  persisted_end_ = log_.end_offset();
  if (persisted.snapshot) ready_.load_snapshot = std::move(persisted.snapshot);
  initialize(persisted.state);
}

// KRaft's QuorumState.initialize: a former leader comes back Resigned (it must not append in an
// epoch whose unflushed tail it may have lost), a self-voter comes back a candidate in its epoch.
void RaftCore::initialize(const QuorumStateData& s) {
  epoch_ = s.epoch;
  voted_id_ = s.voted_id;
  leader_id_ = s.leader_id;
  election_deadline_ms_ = backoff_deadline_ms_ = fetch_deadline_ms_ = never;
  const NodeId self = config_.node_id;
  if (s.epoch < log_.last_epoch()) {
    epoch_ = log_.last_epoch();
    voted_id_ = leader_id_ = no_node;
    ready_.persist_state = quorum_state();
    role_ = Role::unattached;
    reset_election_timer();
  } else if (leader_id_ == self) {
    KEEL_ASSERT(config_.is_voter());
    role_ = Role::resigned;
    reset_election_timer();
  } else if (voted_id_ == self) {
    KEEL_ASSERT(config_.is_voter());
    role_ = Role::candidate;
    reset_election_timer();
    send_vote_requests(false);
    count_vote(self, true);
  } else if (leader_id_ != no_node) {
    role_ = Role::follower;
    fetch_deadline_ms_ = now_ms_ + config_.fetch_timeout_ms;
  } else {
    role_ = Role::unattached;
    reset_election_timer();
  }
  // KRaft's initialize: the only voter needs nobody's vote, so it stands at once, and a one-node
  // cluster has its controller without waiting out an election timeout.
  const bool only_voter = config_.is_voter() && config_.voters.size() == 1;
  if (only_voter && (role_ == Role::unattached || role_ == Role::resigned)) become_prospective();
}

void RaftCore::set_role(Role to) {
  KEEL_ASSERT_MSG(legal_transition(role_, to), "node {} {} -> {}", config_.node_id, role_name(role_), role_name(to));
  if (role_ == Role::leader && to != Role::leader) {
    fail_parked_fetches();
    progress_.clear();
  }
  role_ = to;
  election_deadline_ms_ = backoff_deadline_ms_ = fetch_deadline_ms_ = never;
  granted_.clear();
  rejected_.clear();
  download_.reset();
  fetch_in_flight_ = false;
  next_fetch_ms_ = now_ms_;
}

// Every change of the durable election state goes into the Ready, which the driver persists
// before any message of that Ready leaves the node.
void RaftCore::set_quorum_state(std::int32_t epoch, NodeId voted, NodeId leader) {
  KEEL_ASSERT_GE(epoch, epoch_);
  const QuorumStateData next{epoch, voted, leader};
  if (next == quorum_state()) return;
  epoch_ = epoch;
  voted_id_ = voted;
  leader_id_ = leader;
  ready_.persist_state = next;
}

void RaftCore::become_unattached(std::int32_t epoch, NodeId voted) {
  set_quorum_state(epoch, voted, no_node);
  set_role(Role::unattached);
  reset_election_timer();
}

void RaftCore::become_follower(std::int32_t epoch, NodeId leader) {
  KEEL_ASSERT_NE(leader, config_.node_id);
  const bool same_epoch = epoch == epoch_;
  KEEL_ASSERT_MSG(!same_epoch || leader_id_ == no_node || leader_id_ == leader,
                  "two leaders in epoch {}: {} and {} (seen by node {})", epoch, leader_id_, leader, config_.node_id);
  set_quorum_state(epoch, same_epoch ? voted_id_ : no_node, leader);
  set_role(Role::follower);
  has_fetched_from_leader_ = false;
  election_retries_ = 0;
  fetch_deadline_ms_ = now_ms_ + config_.fetch_timeout_ms;
}

// Pre-vote (KIP-996): ask whether an election could be won before bumping the epoch, so a node
// that was merely cut off does not disturb a healthy quorum when it comes back.
void RaftCore::become_prospective() {
  KEEL_ASSERT(config_.is_voter());
  set_role(Role::prospective);
  reset_election_timer();
  send_vote_requests(true);
  count_vote(config_.node_id, true);
}

void RaftCore::become_candidate() {
  KEEL_ASSERT(config_.is_voter());
  set_quorum_state(epoch_ + 1, config_.node_id, no_node);
  set_role(Role::candidate);
  reset_election_timer();
  send_vote_requests(false);
  count_vote(config_.node_id, true);
}

// A new leader starts its epoch with an empty entry: the high watermark may only pass the
// epoch's start offset, so this gives the epoch something to commit at once.
void RaftCore::become_leader() {
  KEEL_ALWAYS(config_.is_voter() && granted_.size() >= config_.majority(), "raft.leader_has_majority");
  KEEL_SOMETIMES("raft.election.won");
  if (election_retries_ > 0) KEEL_SOMETIMES("raft.election.won_after_backoff");
  set_quorum_state(epoch_, voted_id_, config_.node_id);
  set_role(Role::leader);
  election_retries_ = 0;
  epoch_start_offset_ = log_.end_offset();
  progress_.clear();
  fetched_voters_.clear();
  check_quorum_deadline_ms_ = now_ms_ + config_.fetch_timeout_ms * 3 / 2;
  append_local(Entry{log_.end_offset(), epoch_, {}});
  send_begin_quorum_epoch(true);
  begin_quorum_resend_ms_ = now_ms_ + config_.fetch_timeout_ms / 2;
  maybe_advance_leader_hw();
}

void RaftCore::become_resigned() {
  set_role(Role::resigned);
  reset_election_timer();
}

void RaftCore::resign() {
  if (role_ != Role::leader) return;
  KEEL_SOMETIMES("raft.leader.resigned");
  std::vector<std::pair<std::int64_t, NodeId>> ranked;
  for (NodeId v : config_.voters) {
    if (v == config_.node_id) continue;
    auto it = progress_.find(v);
    ranked.emplace_back(it == progress_.end() ? -1 : it->second.end_offset, v);
  }
  // Most caught-up first; ties by id so the order is deterministic.
  std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  std::vector<NodeId> successors;
  for (const auto& r : ranked) successors.push_back(r.second);
  for (NodeId v : successors) request(v, EndQuorumEpochRequest{epoch_, config_.node_id, successors});
  become_resigned();
}

void RaftCore::back_off_candidate() {
  ++election_retries_;
  const auto doublings = std::min(election_retries_, backoff_doublings_max);
  const auto draw = static_cast<std::int64_t>(random_.below(std::uint64_t{1} << doublings));
  election_deadline_ms_ = never;
  backoff_deadline_ms_ = now_ms_ + std::min(backoff_unit_ms * draw, config_.election_backoff_max_ms);
}

// A lost pre-vote returns the node to where it came from, without any epoch change.
void RaftCore::end_prospective() {
  if (leader_id_ == config_.node_id) {
    become_resigned();
  } else if (leader_id_ != no_node) {
    become_follower(epoch_, leader_id_);
  } else {
    become_unattached(epoch_, voted_id_);
  }
}

void RaftCore::reset_election_timer() {
  election_deadline_ms_ = config_.is_voter() ? now_ms_ + election_jitter_ms() : never;
}

std::int64_t RaftCore::election_jitter_ms() {
  const auto t = config_.election_timeout_ms;
  return t + static_cast<std::int64_t>(random_.below(static_cast<std::uint64_t>(t)));
}

// KRaft's maybeHandleCommonResponse. Returns true when the response belongs to the current epoch
// and should be handled further.
// FENCED_LEADER_EPOCH and NOT_LEADER_OR_FOLLOWER need nothing beyond this: they carry the
// responder's epoch and leader, which are handled like any other response's.
bool RaftCore::handle_common_response(std::int32_t epoch, NodeId leader) {
  if (epoch < epoch_) return false;
  if (epoch > epoch_) {
    on_epoch_seen(epoch, leader);
    return false;
  }
  if (leader != no_node && leader != leader_id_) {
    KEEL_ASSERT_MSG(leader != config_.node_id && role_ != Role::leader && role_ != Role::resigned,
                    "two leaders in epoch {}: node {} ({}) hears of leader {}", epoch_, config_.node_id,
                    role_name(role_), leader);
    become_follower(epoch_, leader);
  }
  return true;
}

void RaftCore::on_epoch_seen(std::int32_t epoch, NodeId leader) {
  KEEL_ASSERT_LT(epoch_, epoch);
  KEEL_ASSERT_NE(leader, config_.node_id);
  if (leader != no_node) {
    become_follower(epoch, leader);
  } else {
    become_unattached(epoch, no_node);
  }
}

void RaftCore::tick(std::int64_t now_ms) {
  KEEL_ASSERT_GE(now_ms, now_ms_);
  now_ms_ = now_ms;
  tick_timers();
  if (role_ == Role::leader) leader_tick();
  if (fetch_in_flight_ && now_ms_ >= fetch_retry_ms_) fetch_in_flight_ = false;  // Lost: ask again.
  maybe_send_fetch();
}

void RaftCore::tick_timers() {
  switch (role_) {
    case Role::unattached:
    case Role::resigned:
      if (now_ms_ >= election_deadline_ms_) become_prospective();
      break;
    case Role::follower:
      if (now_ms_ < fetch_deadline_ms_) break;
      if (config_.is_voter()) {
        become_prospective();
      } else {
        become_unattached(epoch_, no_node);  // An observer goes back to finding the leader.
      }
      break;
    case Role::prospective:
      if (now_ms_ >= election_deadline_ms_) {
        KEEL_SOMETIMES("raft.prevote.timed_out");
        end_prospective();
      }
      break;
    case Role::candidate:
      if (now_ms_ >= backoff_deadline_ms_) {
        // Back through pre-vote: a candidate whose log is behind must not bump the epoch again and
        // again, resetting everyone's election timer and keeping the quorum leaderless.
        become_prospective();
      } else if (now_ms_ >= election_deadline_ms_) {
        // Neither a majority for nor against before the timeout: a split (or lost) vote.
        KEEL_SOMETIMES("raft.election.split_vote");
        back_off_candidate();
      }
      break;
    case Role::leader: break;
  }
}

// A candidate advertises only the log it holds durably: votes won on an unflushed tail that a
// crash then loses could elect a leader missing committed entries (the voters keep their vote).
void RaftCore::send_vote_requests(bool pre_vote) {
  const auto end = persisted_end_;
  for (NodeId v : config_.voters) {
    if (v == config_.node_id) continue;
    request(v, VoteRequest{epoch_, config_.node_id, log_.epoch_before(end), end, pre_vote});
  }
}

void RaftCore::on_vote_request(const Envelope& in, const VoteRequest& r) {
  const bool invalid = r.last_offset < 0 || r.last_epoch < 0 || (r.pre_vote ? r.last_epoch > r.epoch : r.last_epoch >= r.epoch);
  if (invalid || r.epoch < epoch_) {
    const auto err = invalid ? error::invalid_request : error::fenced_leader_epoch;
    reply(in, VoteResponse{err, epoch_, leader_hint(), false, r.pre_vote});
    return;
  }
  if (r.epoch > epoch_) become_unattached(r.epoch, no_node);
  const bool granted = can_grant(r);
  if (granted && !r.pre_vote) {
    // The vote is durable before the candidate hears of it (it is in this Ready's persist_state).
    set_quorum_state(epoch_, r.candidate_id, leader_id_);
    if (role_ == Role::prospective) set_role(Role::unattached);
    reset_election_timer();
  }
  reply(in, VoteResponse{error::none, epoch_, leader_hint(), granted, r.pre_vote});
}

bool RaftCore::can_grant(const VoteRequest& r) const {
  if (!config_.is_voter() || r.candidate_id == config_.node_id) return false;
  const bool up_to_date = std::tie(r.last_epoch, r.last_offset) >= std::make_tuple(log_.last_epoch(), log_.end_offset());
  const bool unattached_like = role_ == Role::unattached || role_ == Role::prospective;
  if (r.pre_vote) {
    // A follower that hears from its leader refuses, so a node that was cut off cannot pull a
    // healthy quorum into an election (and follower/prospective cannot ping-pong).
    if (role_ == Role::follower) return !has_fetched_from_leader_ && up_to_date;
    return unattached_like && up_to_date;
  }
  if (!unattached_like) return false;
  if (voted_id_ != no_node) return voted_id_ == r.candidate_id;
  if (leader_id_ != no_node) return false;
  return up_to_date;
}

void RaftCore::on_vote_response(NodeId from, const VoteResponse& r) {
  if (!handle_common_response(r.epoch, r.leader_id) || r.error != error::none) return;
  const bool counts = (role_ == Role::prospective && r.pre_vote) || (role_ == Role::candidate && !r.pre_vote);
  if (counts) count_vote(from, r.granted);
}

void RaftCore::count_vote(NodeId from, bool granted) {
  if (!config_.is_voter(from)) return;
  if (role_ == Role::candidate && backoff_deadline_ms_ != never) return;  // This round is already lost.
  (granted ? granted_ : rejected_).insert(from);
  (granted ? rejected_ : granted_).erase(from);
  const auto n = config_.voters.size();
  if (granted_.size() >= config_.majority()) {
    if (role_ == Role::prospective) {
      become_candidate();
    } else {
      become_leader();
    }
  } else if (rejected_.size() > n - config_.majority()) {
    if (role_ == Role::prospective) {
      KEEL_SOMETIMES("raft.prevote.rejected");
      end_prospective();
    } else {
      KEEL_SOMETIMES("raft.election.rejected");
      back_off_candidate();
    }
  }
}

void RaftCore::on_begin_quorum_epoch(const Envelope& in, const BeginQuorumEpochRequest& r) {
  if (r.epoch < epoch_) {
    reply(in, BeginQuorumEpochResponse{error::fenced_leader_epoch, epoch_, leader_hint()});
    return;
  }
  KEEL_ASSERT_NE(r.leader_id, config_.node_id);
  if (!(r.epoch == epoch_ && role_ == Role::follower && leader_id_ == r.leader_id)) {
    become_follower(r.epoch, r.leader_id);
  }
  reply(in, BeginQuorumEpochResponse{error::none, epoch_, leader_hint()});
}

void RaftCore::on_end_quorum_epoch(const Envelope& in, const EndQuorumEpochRequest& r) {
  if (r.epoch < epoch_) {
    reply(in, EndQuorumEpochResponse{error::fenced_leader_epoch, epoch_, leader_hint()});
    return;
  }
  if (r.epoch > epoch_) become_follower(r.epoch, r.leader_id);
  if (role_ == Role::follower && leader_id_ == r.leader_id) {
    KEEL_SOMETIMES("raft.end_quorum_epoch.followed");
    // The leader is gone: the most caught-up successors start their pre-vote first, and this node
    // grants pre-votes again since it will hear nothing more from that leader.
    fetch_deadline_ms_ = now_ms_ + end_quorum_fetch_delay_ms(r.preferred_successors);
    has_fetched_from_leader_ = false;
  }
  reply(in, EndQuorumEpochResponse{error::none, epoch_, leader_hint()});
}

// KRaft's ranking: position 0 starts at once, position p waits (max >> (n-1)) << (p-1).
std::int64_t RaftCore::end_quorum_fetch_delay_ms(const std::vector<NodeId>& successors) const {
  const auto max = config_.election_backoff_max_ms;
  const auto it = std::find(successors.begin(), successors.end(), config_.node_id);
  if (it == successors.end()) return max;
  const auto p = static_cast<int>(it - successors.begin());
  if (p == 0) return 0;
  const auto n = static_cast<int>(successors.size());
  return std::min(max, (max >> (n - 1)) << (p - 1));
}

void RaftCore::step(const Envelope& in, std::int64_t now_ms) {
  KEEL_ASSERT_GE(now_ms, now_ms_);
  KEEL_ASSERT_EQ(in.to, config_.node_id);
  now_ms_ = now_ms;
  std::visit(Overloaded{
                 [&](const VoteRequest& r) { on_vote_request(in, r); },
                 [&](const VoteResponse& r) { on_vote_response(in.from, r); },
                 [&](const BeginQuorumEpochRequest& r) { on_begin_quorum_epoch(in, r); },
                 [&](const BeginQuorumEpochResponse& r) { handle_common_response(r.epoch, r.leader_id); },
                 [&](const EndQuorumEpochRequest& r) { on_end_quorum_epoch(in, r); },
                 [&](const EndQuorumEpochResponse& r) { handle_common_response(r.epoch, r.leader_id); },
                 [&](const FetchRequest& r) { on_fetch_request(in, r); },
                 [&](const FetchResponse& r) { on_fetch_response(in, r); },
                 [&](const FetchSnapshotRequest& r) { on_fetch_snapshot_request(in, r); },
                 [&](const FetchSnapshotResponse& r) { on_fetch_snapshot_response(in, r); },
             },
             in.message);
  maybe_send_fetch();
}

std::optional<std::int64_t> RaftCore::propose(Bytes data) {
  if (role_ != Role::leader) return std::nullopt;
  if (log_.end_offset() - hw_ >= config_.uncommitted_entries_max) return std::nullopt;
  const auto offset = log_.end_offset();
  append_local(Entry{offset, epoch_, std::move(data)});
  complete_parked_fetches(false);
  return offset;
}

Ready RaftCore::take_ready() {
  KEEL_ASSERT_GE(applied_end_, log_.start_offset());
  for (; applied_end_ < hw_; ++applied_end_) ready_.committed.push_back(log_.at(applied_end_));
  Ready out = std::move(ready_);
  ready_ = Ready{};
  return out;
}

void RaftCore::persisted(std::int64_t end_offset) {
  KEEL_ASSERT_LE(end_offset, log_.end_offset());
  persisted_end_ = std::max(persisted_end_, end_offset);
  if (role_ == Role::leader) maybe_advance_leader_hw();
  maybe_send_fetch();
}

void RaftCore::snapshot_taken(SnapshotId id, Bytes state) {
  if (id.end_offset <= log_.start_offset()) return;  // Older than what the log already starts at.
  KEEL_ASSERT_LE(id.end_offset, applied_end_);
  log_.compact(Snapshot{id, std::move(state)});
  persisted_end_ = std::max(persisted_end_, id.end_offset);
}

void RaftCore::append_local(Entry e) {
  ready_.append.push_back(e);
  log_.append(std::move(e));
}

std::int64_t RaftCore::request(NodeId to, Message m) {
  const auto id = next_correlation_id_++;
  ready_.send.push_back(Envelope{config_.node_id, to, id, std::move(m)});
  return id;
}

void RaftCore::reply(const Envelope& in, Message m) { reply_to(in.from, in.correlation_id, std::move(m)); }

void RaftCore::reply_to(NodeId to, std::int64_t correlation_id, Message m) {
  ready_.send.push_back(Envelope{config_.node_id, to, correlation_id, std::move(m)});
}

// The leader a response names: only a node that knows it for certain (the leader, a follower).
NodeId RaftCore::leader_hint() const {
  if (role_ == Role::leader || role_ == Role::follower) return leader_id_;
  return no_node;
}

}  // namespace keel::metadata::raft
