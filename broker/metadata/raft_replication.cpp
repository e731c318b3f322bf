// RaftCore replication: the leader's side of Fetch and FetchSnapshot (validation with
// DivergingEpoch / SnapshotId, parked fetches, the high watermark, check-quorum) and the
// follower's side (truncation, appends, snapshot download). Elections live in raft.cpp.
#include "broker/metadata/raft.h"
#include "broker/base/coverage.h"

#include <algorithm>

namespace keel::metadata::raft {

void RaftCore::leader_tick() {
  // Check-quorum: a leader that has not heard from a majority within 1.5 fetch timeouts may be
  // cut off, and steps down rather than keep followers of a minority believing in it.
  if (config_.voters.size() > 1 && now_ms_ >= check_quorum_deadline_ms_) {
    resign();
    return;
  }
  if (now_ms_ >= begin_quorum_resend_ms_) {
    send_begin_quorum_epoch(false);
    begin_quorum_resend_ms_ = now_ms_ + config_.fetch_timeout_ms / 2;
  }
  complete_parked_fetches(true);
}

// Voters that have not fetched lately may not know this epoch's leader (e.g. they restarted
// unattached), so they hear of it again.
void RaftCore::send_begin_quorum_epoch(bool all) {
  for (NodeId v : config_.voters) {
    if (v == config_.node_id) continue;
    auto it = progress_.find(v);
    const bool quiet = it == progress_.end() || it->second.last_fetch_ms < now_ms_ - config_.fetch_timeout_ms / 2;
    if (all || quiet) request(v, BeginQuorumEpochRequest{epoch_, config_.node_id});
  }
}

std::int16_t RaftCore::validate_leader_request(std::int32_t epoch) const {
  if (epoch < epoch_) return error::fenced_leader_epoch;
  if (epoch > epoch_) return error::unknown_leader_epoch;
  if (role_ != Role::leader) return error::not_leader_or_follower;
  return error::none;
}

void RaftCore::on_fetch_request(const Envelope& in, const FetchRequest& r) {
  const bool invalid = r.max_wait_ms < 0 || r.fetch_offset < 0 || r.last_fetched_epoch < 0 ||
                       r.last_fetched_epoch > r.epoch || r.max_entries < 0;
  auto err = invalid ? error::invalid_request : validate_leader_request(r.epoch);
  if (err != error::none) {
    reply(in, FetchResponse{err, epoch_, leader_hint(), hw_, log_.start_offset(), {}, {}, {}});
    return;
  }
  auto resp = make_fetch_response(r);
  const bool valid = !resp.diverging && !resp.snapshot_id;
  if (valid) record_fetch(in.from, r.fetch_offset);
  if (valid && resp.entries.empty() && r.max_wait_ms > 0 && !replica_lacks_hw(in.from) &&
      (parked_.size() < config_.parked_fetches_max || parked_.count(in.from) > 0)) {
    const auto wait = std::min(r.max_wait_ms, config_.fetch_max_wait_ms);
    parked_[in.from] = ParkedFetch{r, in.correlation_id, now_ms_ + wait};
    return;
  }
  send_fetch_response(in.from, in.correlation_id, make_fetch_response(r));  // With the latest HW.
}

// A fetch is answered at once, rather than parked, when its sender has not yet been told the
// current high watermark.
bool RaftCore::replica_lacks_hw(NodeId id) const {
  auto it = progress_.find(id);
  return it != progress_.end() && it->second.hw_sent < hw_;
}

void RaftCore::send_fetch_response(NodeId to, std::int64_t correlation_id, FetchResponse resp) {
  auto it = progress_.find(to);
  if (it != progress_.end()) it->second.hw_sent = std::max(it->second.hw_sent, resp.high_watermark);
  reply_to(to, correlation_id, std::move(resp));
}

// KRaft's validateOffsetAndEpoch: a follower below the log start (or whose last epoch predates
// the snapshot) gets the snapshot id; one whose last epoch ends earlier here gets DivergingEpoch.
FetchResponse RaftCore::make_fetch_response(const FetchRequest& r) const {
  FetchResponse resp{error::none, epoch_, config_.node_id, hw_, log_.start_offset(), {}, {}, {}};
  const auto& snap = log_.snapshot();
  if (snap && (r.fetch_offset < log_.start_offset() ||
               (r.fetch_offset == log_.start_offset() && r.last_fetched_epoch != snap->id.epoch) ||
               r.last_fetched_epoch < snap->id.epoch)) {
    resp.snapshot_id = snap->id;
    return resp;
  }
  const auto end = log_.end_for_epoch(r.last_fetched_epoch);
  if (end.epoch != r.last_fetched_epoch || end.end_offset < r.fetch_offset) {
    resp.diverging = end;
    return resp;
  }
  const auto max = std::min(r.max_entries, config_.max_entries_per_fetch);
  resp.entries = log_.read(r.fetch_offset, static_cast<std::size_t>(max));
  return resp;
}

void RaftCore::record_fetch(NodeId from, std::int64_t fetch_offset) {
  const bool voter = config_.is_voter(from);
  if (voter || progress_.count(from) > 0 || progress_.size() < config_.voters.size() + config_.observers_tracked_max) {
    auto& p = progress_[from];
    p.end_offset = fetch_offset;
    p.last_fetch_ms = now_ms_;
  }
  if (!voter) return;
  note_voter_fetch(from);
  maybe_advance_leader_hw();
}

void RaftCore::note_voter_fetch(NodeId from) {
  fetched_voters_.insert(from);
  if (fetched_voters_.size() + 1 >= config_.majority()) {  // The leader counts itself.
    fetched_voters_.clear();
    check_quorum_deadline_ms_ = now_ms_ + config_.fetch_timeout_ms * 3 / 2;
  }
}

// The largest offset a majority of voters holds durably (the leader counts only what it has
// flushed; observers do not count). It must pass the epoch's start offset, so that an earlier
// epoch's entries are only exposed once this epoch's first entry is replicated, and never goes back.
void RaftCore::maybe_advance_leader_hw() {
  std::vector<std::int64_t> ends;
  for (NodeId v : config_.voters) {
    if (v == config_.node_id) {
      ends.push_back(persisted_end_);
      continue;
    }
    auto it = progress_.find(v);
    ends.push_back(it == progress_.end() ? -1 : it->second.end_offset);
  }
  std::sort(ends.begin(), ends.end(), std::greater<>());
  const auto candidate = ends[config_.voters.size() / 2];
  if (candidate <= epoch_start_offset_ || candidate <= hw_) return;
  // A majority's durable end: never past what this leader holds.
  KEEL_ALWAYS(candidate <= log_.end_offset(), "raft.leader_hw_within_log");
  hw_ = candidate;
  complete_parked_fetches(false);  // Followers learn the new high watermark at once.
}

void RaftCore::complete_parked_fetches(bool expired_only) {
  std::vector<NodeId> done;
  for (const auto& [id, p] : parked_) {
    if (!expired_only || now_ms_ >= p.deadline_ms) done.push_back(id);
  }
  for (NodeId id : done) {
    const auto p = parked_.at(id);
    parked_.erase(id);
    send_fetch_response(id, p.correlation_id, make_fetch_response(p.request));
  }
}

void RaftCore::fail_parked_fetches() {
  for (const auto& [id, p] : parked_) {
    reply_to(id, p.correlation_id,
             FetchResponse{error::not_leader_or_follower, epoch_, no_node, hw_, log_.start_offset(), {}, {}, {}});
  }
  parked_.clear();
}

// Only the answer to the one outstanding fetch (or snapshot fetch) is used; late answers to
// requests given up on would describe a log that has changed since.
bool RaftCore::accept_fetch_answer(const Envelope& in) {
  if (!fetch_in_flight_ || in.correlation_id != fetch_correlation_id_) return false;
  fetch_in_flight_ = false;
  return true;
}

void RaftCore::on_fetch_response(const Envelope& in, const FetchResponse& r) {
  if (!accept_fetch_answer(in)) return;
  // Anything but a good answer waits a little before the next fetch (an observer asking a voter
  // that knows no more than itself would otherwise go round the voters without pause); a change
  // of leader resets this so the new leader is asked at once.
  next_fetch_ms_ = now_ms_ + config_.retry_backoff_ms;
  if (!handle_common_response(r.epoch, r.leader_id) || r.error != error::none) return;
  if (role_ != Role::follower || in.from != leader_id_) return;
  fetch_deadline_ms_ = now_ms_ + config_.fetch_timeout_ms;
  has_fetched_from_leader_ = true;
  next_fetch_ms_ = now_ms_;
  if (r.diverging) {
    follower_truncate(*r.diverging);
  } else if (r.snapshot_id) {
    download_ = SnapshotDownload{*r.snapshot_id, {}};  // Regular fetching pauses until installed.
  } else {
    follower_append(r);
  }
}

// Truncate to where the leader's epoch ends, or where ours does if it ends earlier; the next
// fetch validates again, so a divergent tail shrinks round by round until the logs agree.
void RaftCore::follower_truncate(const EpochEnd& diverging) {
  const auto local = log_.end_for_epoch(diverging.epoch);
  const auto to = std::min(local.end_offset, diverging.end_offset);
  KEEL_ASSERT_MSG(to >= hw_, "node {} truncating to {} below its high watermark {}", config_.node_id, to, hw_);
  if (to >= log_.end_offset()) return;
  KEEL_SOMETIMES("raft.follower.truncated");
  log_.truncate(to);
  std::erase_if(ready_.append, [&](const Entry& e) { return e.offset >= to; });
  ready_.truncate_to = ready_.truncate_to ? std::min(*ready_.truncate_to, to) : to;
  persisted_end_ = std::min(persisted_end_, to);
}

void RaftCore::follower_append(const FetchResponse& r) {
  for (const auto& e : r.entries) {
    KEEL_ASSERT_EQ(e.offset, log_.end_offset());
    append_local(e);
  }
  // The leader validated our log up to the fetch offset, so everything we hold up to the leader's
  // high watermark is its log.
  hw_ = std::max(hw_, std::min(r.high_watermark, log_.end_offset()));
}

// Followers fetch from their leader; observers that know no leader ask voters in turn and follow
// the hints in the answers. A follower fetches only once its log is durable, so the offset it
// reports (which counts towards the leader's high watermark) is one it cannot lose.
void RaftCore::maybe_send_fetch() {
  const bool observer_searching = role_ == Role::unattached && !config_.is_voter();
  if (role_ != Role::follower && !observer_searching) return;
  if (fetch_in_flight_ || now_ms_ < next_fetch_ms_) return;
  const NodeId to = fetch_target();
  if (download_) {
    const auto position = static_cast<std::int64_t>(download_->bytes.size());
    fetch_correlation_id_ = request(to, FetchSnapshotRequest{epoch_, config_.node_id, download_->id, position});
  } else {
    if (persisted_end_ < log_.end_offset()) return;
    fetch_correlation_id_ =
        request(to, FetchRequest{epoch_, config_.node_id, log_.end_offset(), log_.last_epoch(),
                                 config_.max_entries_per_fetch, config_.fetch_max_wait_ms});
  }
  fetch_in_flight_ = true;
  fetch_retry_ms_ = now_ms_ + config_.fetch_max_wait_ms + config_.request_timeout_ms;
}

NodeId RaftCore::fetch_target() {
  if (role_ == Role::follower) return leader_id_;
  return config_.voters[discovery_cursor_++ % config_.voters.size()];
}

void RaftCore::on_fetch_snapshot_request(const Envelope& in, const FetchSnapshotRequest& r) {
  const auto err = validate_leader_request(r.epoch);
  const auto& snap = log_.snapshot();
  FetchSnapshotResponse resp{err, epoch_, leader_hint(), r.snapshot_id, 0, r.position, {}};
  if (err == error::none && (!snap || snap->id != r.snapshot_id)) resp.error = error::snapshot_not_found;
  if (resp.error == error::none) {
    const auto size = static_cast<std::int64_t>(snap->data.size());
    resp.size = size;
    if (r.position < 0 || r.position > size) {
      resp.error = error::position_out_of_range;
    } else {
      const auto end = std::min(size, r.position + config_.snapshot_chunk_bytes);
      resp.chunk.assign(snap->data.begin() + r.position, snap->data.begin() + end);
      if (config_.is_voter(in.from)) note_voter_fetch(in.from);  // Counts for check-quorum.
    }
  }
  reply(in, std::move(resp));
}

void RaftCore::on_fetch_snapshot_response(const Envelope& in, const FetchSnapshotResponse& r) {
  if (!accept_fetch_answer(in)) return;
  next_fetch_ms_ = now_ms_ + config_.retry_backoff_ms;  // As for fetches.
  if (!handle_common_response(r.epoch, r.leader_id)) return;
  if (role_ != Role::follower || in.from != leader_id_ || !download_) return;
  if (r.error == error::snapshot_not_found || r.error == error::position_out_of_range) {
    KEEL_SOMETIMES("raft.snapshot.download_restarted");
    download_.reset();  // The leader moved on to a newer snapshot; a fetch will name it.
    return;
  }
  if (r.error != error::none) return;
  if (r.snapshot_id != download_->id || r.position != static_cast<std::int64_t>(download_->bytes.size())) return;
  KEEL_ASSERT_LE(r.position + static_cast<std::int64_t>(r.chunk.size()), r.size);
  download_->bytes.insert(download_->bytes.end(), r.chunk.begin(), r.chunk.end());
  fetch_deadline_ms_ = now_ms_ + config_.fetch_timeout_ms;
  has_fetched_from_leader_ = true;
  next_fetch_ms_ = now_ms_;
  if (static_cast<std::int64_t>(download_->bytes.size()) == r.size) install_downloaded_snapshot();
}

// The snapshot replaces the whole log; everything it covers is committed, so the high watermark
// and the state machine jump to its end.
void RaftCore::install_downloaded_snapshot() {
  Snapshot snap{download_->id, std::move(download_->bytes)};
  download_.reset();
  KEEL_ASSERT_LE(hw_, snap.id.end_offset);
  KEEL_SOMETIMES("raft.snapshot.installed");
  log_.install(snap);
  ready_.truncate_to.reset();
  ready_.append.clear();
  ready_.install_snapshot = snap;
  ready_.load_snapshot = snap;
  hw_ = applied_end_ = persisted_end_ = snap.id.end_offset;
}

}  // namespace keel::metadata::raft
