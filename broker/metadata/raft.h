#pragma once
// A pure, IO-free Raft core in the manner of KRaft (KIP-595, with KIP-996 pre-vote and KIP-630
// snapshots). Like etcd-raft it has no clock, thread, file or socket: the driver feeds it messages
// (step), time (tick) and durability reports (persisted), and carries out what each Ready asks:
// persist the quorum state, truncate and append the log, send messages, apply committed entries.
// Everything is deterministic: ordered containers only, and randomness from a seeded keel::Random.
#include "broker/metadata/raft_log.h"
#include "broker/platform/random.h"

#include <map>
#include <set>
#include <string_view>
#include <variant>

namespace keel::metadata::raft {

constexpr NodeId no_node = -1;

// Kafka's numeric error codes, so the driver can put them on the wire unchanged.
namespace error {
constexpr std::int16_t none = 0;
constexpr std::int16_t not_leader_or_follower = 6;
constexpr std::int16_t invalid_request = 42;
constexpr std::int16_t fenced_leader_epoch = 74;
constexpr std::int16_t unknown_leader_epoch = 75;
constexpr std::int16_t snapshot_not_found = 98;
constexpr std::int16_t position_out_of_range = 99;
}  // namespace error

// What the driver writes to the quorum-state file before acting on a Ready.
struct QuorumStateData {
  std::int32_t epoch = 0;
  NodeId voted_id = no_node;
  NodeId leader_id = no_node;
  bool operator==(const QuorumStateData&) const = default;
};

struct VoteRequest {
  std::int32_t epoch = 0;  // The candidate's epoch; for a pre-vote, its current (unbumped) epoch.
  NodeId candidate_id = no_node;
  std::int32_t last_epoch = 0;
  std::int64_t last_offset = 0;  // The candidate's log end offset.
  bool pre_vote = false;
};
struct VoteResponse {
  std::int16_t error = error::none;
  std::int32_t epoch = 0;
  NodeId leader_id = no_node;
  bool granted = false;
  bool pre_vote = false;
};
struct BeginQuorumEpochRequest {
  std::int32_t epoch = 0;
  NodeId leader_id = no_node;
};
struct BeginQuorumEpochResponse {
  std::int16_t error = error::none;
  std::int32_t epoch = 0;
  NodeId leader_id = no_node;
};
struct EndQuorumEpochRequest {
  std::int32_t epoch = 0;
  NodeId leader_id = no_node;
  std::vector<NodeId> preferred_successors;  // Voters by fetch offset, most caught up first.
};
struct EndQuorumEpochResponse {
  std::int16_t error = error::none;
  std::int32_t epoch = 0;
  NodeId leader_id = no_node;
};
struct FetchRequest {
  std::int32_t epoch = 0;  // The epoch the sender knows.
  NodeId replica_id = no_node;
  std::int64_t fetch_offset = 0;
  std::int32_t last_fetched_epoch = 0;
  std::int32_t max_entries = 0;
  std::int64_t max_wait_ms = 0;
};
struct FetchResponse {
  std::int16_t error = error::none;
  std::int32_t epoch = 0;
  NodeId leader_id = no_node;
  std::int64_t high_watermark = 0;
  std::int64_t log_start_offset = 0;
  std::optional<EpochEnd> diverging;
  std::optional<SnapshotId> snapshot_id;
  std::vector<Entry> entries;
};
struct FetchSnapshotRequest {
  std::int32_t epoch = 0;
  NodeId replica_id = no_node;
  SnapshotId snapshot_id;
  std::int64_t position = 0;
};
struct FetchSnapshotResponse {
  std::int16_t error = error::none;
  std::int32_t epoch = 0;
  NodeId leader_id = no_node;
  SnapshotId snapshot_id;
  std::int64_t size = 0;
  std::int64_t position = 0;
  Bytes chunk;
};

using Message = std::variant<VoteRequest, VoteResponse, BeginQuorumEpochRequest, BeginQuorumEpochResponse,
                             EndQuorumEpochRequest, EndQuorumEpochResponse, FetchRequest, FetchResponse,
                             FetchSnapshotRequest, FetchSnapshotResponse>;
std::string_view message_name(const Message& m);

// A request carries a fresh correlation id and its response echoes it (as Kafka's request header
// does), so a node can tell the answer to its outstanding fetch from a late answer to an old one.
struct Envelope {
  NodeId from = no_node;
  NodeId to = no_node;
  std::int64_t correlation_id = 0;
  Message message;
};

struct RaftConfig {
  NodeId node_id = 0;
  std::vector<NodeId> voters;  // A node not listed is an observer: it fetches, never campaigns.
  std::int64_t election_timeout_ms = 1000;  // The timer is T + rand[0, T).
  std::int64_t fetch_timeout_ms = 2000;     // Follower without a good fetch -> election; leader check-quorum 1.5x.
  std::int64_t election_backoff_max_ms = 1000;
  std::int64_t fetch_max_wait_ms = 500;      // How long the leader parks a fetch with nothing new.
  std::int64_t request_timeout_ms = 500;     // Beyond a fetch's max wait: no answer by then, send again.
  std::int64_t retry_backoff_ms = 50;        // Pause after an error answer before fetching again.
  std::int32_t max_entries_per_fetch = 64;
  std::int64_t snapshot_chunk_bytes = 4096;
  std::size_t parked_fetches_max = 64;
  std::size_t observers_tracked_max = 64;  // Leader-side progress kept for observers.
  std::int64_t uncommitted_entries_max = 4096;  // propose() refuses beyond this (back-pressure).
  std::uint64_t seed = 0;  // Give each incarnation of a node its own seed (timers, correlation ids).

  bool is_voter() const { return is_voter(node_id); }
  bool is_voter(NodeId id) const;
  std::size_t majority() const { return voters.size() / 2 + 1; }
};

// What the driver found on disk at start: the quorum state, the latest snapshot, and the log
// entries after it (anything not fsynced may be missing).
struct Persisted {
  QuorumStateData state;
  std::optional<Snapshot> snapshot;
  std::vector<Entry> entries;
};

// Work for the driver, in this order:
//   1. persist_state, durably (quorum-state file), and install_snapshot, durably;
//   2. truncate_to, then append: written to the log, fsynced whenever the driver likes; it reports
//      the durable end with persisted(), and the core counts only that towards commitment;
//   3. send the messages (only after step 1, so a vote or an epoch is never lost after it was told);
//   4. load_snapshot into the state machine, then apply `committed` in order.
struct Ready {
  std::optional<QuorumStateData> persist_state;
  std::optional<Snapshot> install_snapshot;  // Replace the whole log with this snapshot.
  std::optional<std::int64_t> truncate_to;   // Drop entries at or above this offset.
  std::vector<Entry> append;
  std::vector<Envelope> send;
  std::optional<Snapshot> load_snapshot;  // Reset the state machine to this before `committed`.
  std::vector<Entry> committed;           // Newly below the high watermark, in offset order.

  bool empty() const {
    return !persist_state && !truncate_to && append.empty() && !install_snapshot && send.empty() && !load_snapshot &&
           committed.empty();
  }
};

enum class Role {
  unattached,   // Knows an epoch but no leader for it; may have voted in it.
  prospective,  // A voter asking for non-binding pre-votes before bumping the epoch.
  candidate,    // A voter that bumped the epoch, voted for itself and asks for votes.
  leader,       // Elected for the epoch: appends, serves fetches, advances the high watermark.
  follower,     // Knows the epoch's leader and fetches from it.
  resigned,     // Was leader of this epoch and stepped down (or restarted); waits for a successor.
};
std::string_view role_name(Role r);

class RaftCore {
 public:
  RaftCore(RaftConfig config, Persisted persisted, std::int64_t now_ms);

  void tick(std::int64_t now_ms);
  void step(const Envelope& in, std::int64_t now_ms);
  // Leader only: appends `data` and returns its offset; nullopt when this node is not the leader
  // or too many entries wait for commit.
  std::optional<std::int64_t> propose(Bytes data);
  Ready take_ready();
  // The driver carried out every Ready taken so far and the log is durable up to `end_offset`.
  void persisted(std::int64_t end_offset);
  // The state machine produced a snapshot at a committed offset (which the driver stored durably);
  // entries below it are dropped and followers below the new log start are sent the snapshot.
  void snapshot_taken(SnapshotId id, Bytes state);
  // Graceful step-down of a leader: EndQuorumEpoch to the other voters, then Resigned.
  void resign();

  Role role() const { return role_; }
  std::int32_t epoch() const { return epoch_; }
  NodeId leader_id() const { return leader_id_; }
  NodeId voted_id() const { return voted_id_; }
  bool is_leader() const { return role_ == Role::leader; }
  std::int64_t high_watermark() const { return hw_; }
  std::int64_t log_end_offset() const { return log_.end_offset(); }
  std::int64_t log_start_offset() const { return log_.start_offset(); }
  std::int32_t last_epoch() const { return log_.last_epoch(); }
  std::int64_t persisted_end_offset() const { return persisted_end_; }
  const RaftLog& log() const { return log_; }
  QuorumStateData quorum_state() const { return {epoch_, voted_id_, leader_id_}; }
  const RaftConfig& config() const { return config_; }

 private:
  struct Progress {  // The leader's view of one replica.
    std::int64_t end_offset = -1;
    std::int64_t last_fetch_ms = -1;
    std::int64_t hw_sent = -1;  // The highest high watermark sent to it.
  };
  struct ParkedFetch {
    FetchRequest request;
    std::int64_t correlation_id = 0;
    std::int64_t deadline_ms = 0;
  };
  struct SnapshotDownload {
    SnapshotId id;
    Bytes bytes;
  };

  // Transitions (raft.cpp).
  void initialize(const QuorumStateData& s);
  void set_role(Role to);
  void set_quorum_state(std::int32_t epoch, NodeId voted, NodeId leader);
  void become_unattached(std::int32_t epoch, NodeId voted);
  void become_follower(std::int32_t epoch, NodeId leader);
  void become_prospective();
  void become_candidate();
  void become_leader();
  void become_resigned();
  void back_off_candidate();
  void end_prospective();
  void reset_election_timer();
  std::int64_t election_jitter_ms();
  bool handle_common_response(std::int32_t epoch, NodeId leader);
  void on_epoch_seen(std::int32_t epoch, NodeId leader);

  // Elections (raft.cpp).
  void send_vote_requests(bool pre_vote);
  void on_vote_request(const Envelope& in, const VoteRequest& r);
  bool can_grant(const VoteRequest& r) const;
  void on_vote_response(NodeId from, const VoteResponse& r);
  void count_vote(NodeId from, bool granted);
  void on_begin_quorum_epoch(const Envelope& in, const BeginQuorumEpochRequest& r);
  void on_end_quorum_epoch(const Envelope& in, const EndQuorumEpochRequest& r);
  std::int64_t end_quorum_fetch_delay_ms(const std::vector<NodeId>& successors) const;
  void tick_timers();

  // Replication (raft_replication.cpp).
  void leader_tick();
  void send_begin_quorum_epoch(bool all);
  void on_fetch_request(const Envelope& in, const FetchRequest& r);
  std::int16_t validate_leader_request(std::int32_t epoch) const;
  FetchResponse make_fetch_response(const FetchRequest& r) const;
  bool replica_lacks_hw(NodeId id) const;
  void send_fetch_response(NodeId to, std::int64_t correlation_id, FetchResponse resp);
  void record_fetch(NodeId from, std::int64_t fetch_offset);
  void note_voter_fetch(NodeId from);
  void complete_parked_fetches(bool expired_only);
  void fail_parked_fetches();
  void maybe_advance_leader_hw();
  bool accept_fetch_answer(const Envelope& in);
  void on_fetch_response(const Envelope& in, const FetchResponse& r);
  void follower_truncate(const EpochEnd& diverging);
  void follower_append(const FetchResponse& r);
  void maybe_send_fetch();
  NodeId fetch_target();
  void on_fetch_snapshot_request(const Envelope& in, const FetchSnapshotRequest& r);
  void on_fetch_snapshot_response(const Envelope& in, const FetchSnapshotResponse& r);
  void install_downloaded_snapshot();
  void append_local(Entry e);
  std::int64_t request(NodeId to, Message m);
  void reply(const Envelope& in, Message m);
  void reply_to(NodeId to, std::int64_t correlation_id, Message m);
  NodeId leader_hint() const;

  RaftConfig config_;
  Random random_;
  RaftLog log_;
  std::int64_t now_ms_ = 0;

  Role role_ = Role::unattached;
  std::int32_t epoch_ = 0;
  NodeId voted_id_ = no_node;
  NodeId leader_id_ = no_node;

  std::int64_t hw_ = 0;
  std::int64_t persisted_end_ = 0;
  std::int64_t applied_end_ = 0;  // Everything below was handed to the driver in `committed`.

  // Election and follower timers; a value of max means "not running".
  std::int64_t election_deadline_ms_ = 0;
  std::int64_t backoff_deadline_ms_ = 0;
  std::int64_t fetch_deadline_ms_ = 0;
  std::set<NodeId> granted_;
  std::set<NodeId> rejected_;
  std::int32_t election_retries_ = 0;

  // Follower / observer fetching.
  bool has_fetched_from_leader_ = false;
  bool fetch_in_flight_ = false;
  std::int64_t fetch_correlation_id_ = 0;
  std::int64_t next_correlation_id_ = 1;
  std::int64_t fetch_retry_ms_ = 0;  // When an unanswered request is given up and sent again.
  std::int64_t next_fetch_ms_ = 0;
  std::size_t discovery_cursor_ = 0;
  std::optional<SnapshotDownload> download_;

  // Leader.
  std::int64_t epoch_start_offset_ = 0;
  std::map<NodeId, Progress> progress_;
  std::set<NodeId> fetched_voters_;
  std::int64_t check_quorum_deadline_ms_ = 0;
  std::int64_t begin_quorum_resend_ms_ = 0;
  std::map<NodeId, ParkedFetch> parked_;

  Ready ready_;
};

}  // namespace keel::metadata::raft
