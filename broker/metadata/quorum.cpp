#include "broker/metadata/quorum.h"
#include "broker/base/coverage.h"

#include "broker/rpc/connection.h"
#include "broker/metadata/raft_codec.h"
#include "broker/metadata/raft_store.h"
#include "broker/base/assert.h"

#include <fmt/format.h>

namespace keel::metadata {

using protocol::ErrorCode;
using protocol::KeelQuorumRequest;
using protocol::KeelQuorumResponse;

namespace {

constexpr std::size_t lane_capacity = 64;
// The most rounds one process_ready() carries out before letting other tasks run.
constexpr int ready_rounds_max = 16;

bool is_response(const raft::Message& m) {
  return std::holds_alternative<raft::VoteResponse>(m) || std::holds_alternative<raft::BeginQuorumEpochResponse>(m) ||
         std::holds_alternative<raft::EndQuorumEpochResponse>(m) || std::holds_alternative<raft::FetchResponse>(m) ||
         std::holds_alternative<raft::FetchSnapshotResponse>(m);
}

bool is_fetch(const raft::Message& m) {
  return std::holds_alternative<raft::FetchRequest>(m) || std::holds_alternative<raft::FetchSnapshotRequest>(m);
}

std::uint64_t fnv1a(std::span<const std::uint8_t> bytes) {
  std::uint64_t h = 0xCBF29CE484222325ull;
  for (auto b : bytes) {
    h ^= b;
    h *= 0x100000001B3ull;
  }
  return h;
}

}  // namespace

// A voter this node sends Raft requests to: one lane for fetches (which the leader parks), one for
// everything else, each with its own connection so a parked fetch never delays a vote.
struct Quorum::Peer {
  RaftNodeId id = -1;
  Address address;
  Channel<raft::Envelope> fetches{lane_capacity};
  Channel<raft::Envelope> others{lane_capacity};
};

// An inbound Raft request waiting for the core's answer.
struct Quorum::Waiting {
  Event done;
  std::optional<raft::Envelope> answer;
};

Quorum::Quorum(Runtime& rt, QuorumOptions options)
    : rt_(rt), options_(std::move(options)), random_(Random::derive(options_.seed, static_cast<std::uint64_t>(options_.node_id.value), "controller")) {}

Quorum::~Quorum() { stop(); }

std::int64_t Quorum::now_ms() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(rt_.now().time_since_epoch()).count();
}

Status Quorum::start() {
  raft::RaftConfig config;
  config.node_id = options_.node_id;
  for (const auto& [id, address] : options_.voters) config.voters.push_back(id);
  config.election_timeout_ms = options_.election_timeout_ms;
  config.fetch_timeout_ms = options_.fetch_timeout_ms;
  config.election_backoff_max_ms = options_.election_backoff_max_ms;
  config.seed = options_.seed;
  raft::Persisted persisted;
  if (!options_.dir.empty()) {
    auto store = raft::RaftStore::open(rt_, options_.dir);
    if (!store) return store.error();
    store_ = std::move(*store);
    persisted = store_->loaded();
  }
  core_ = std::make_unique<raft::RaftCore>(config, std::move(persisted), now_ms());
  for (const auto& [id, address] : options_.voters) {
    if (id == options_.node_id) continue;
    auto peer = std::make_unique<Peer>();
    peer->id = id;
    peer->address = address;
    Peer* raw = peer.get();
    peers_.emplace(id, std::move(peer));
    tasks_.push_back(rt_.spawn(fmt::format("quorum-send-{}-fetch", id), [this, raw] { send_loop(*raw, true); }));
    tasks_.push_back(rt_.spawn(fmt::format("quorum-send-{}", id), [this, raw] { send_loop(*raw, false); }));
  }
  tasks_.push_back(rt_.spawn("quorum-driver", [this] { drive(); }));
  if (options_.voter) tasks_.push_back(rt_.spawn("controller-duties", [this] { duties(); }));
  rt_.trace("QuorumStarted").detail("NodeId", options_.node_id).detail("Voter", options_.voter)
      .detail("Epoch", core_->epoch()).detail("LogEnd", core_->log_end_offset());
  return {};
}

void Quorum::stop() {
  if (stopping_) return;
  stopping_ = true;
  for (auto& [id, peer] : peers_) {
    peer->fetches.close();
    peer->others.close();
  }
  for (auto& [key, w] : waiting_) w->done.set();
  for (auto& [id, link] : links_) {
    if (link) link->close();
  }
  image_changed_.notify_all();
  wakeup_.set();
  auto& executor = rt_.executor();
  const TaskRef self = Executor::current_task();
  for (auto it = tasks_.rbegin(); it != tasks_.rend(); ++it) {
    if (it->id != self.id && executor.alive(*it)) executor.cancel(*it);
  }
  tasks_.clear();
}

// ---- the driver ----

void Quorum::drive() {
  while (!stopping_) {
    core_->tick(now_ms());
    if (auto st = process_ready(); !st) {
      // Kafka stops a node whose metadata log cannot be written; here the member stops taking
      // part and says why, and the node's operator (or the simulation's restart) deals with it.
      failed_ = true;
      rt_.trace("QuorumStorageFailed", Severity::warn).detail("Error", st.error().message);
      return;
    }
    note_role();
    wakeup_.reset();
    wakeup_.wait(rt_.now() + options_.tick_interval);
  }
}

Status Quorum::process_ready() {
  for (int round = 0; round < ready_rounds_max; ++round) {
    raft::Ready ready = core_->take_ready();
    if (ready.empty()) return {};
    if (store_) {
      if (ready.persist_state) {
        if (auto st = store_->write_quorum_state(*ready.persist_state); !st) return st;
      }
      if (ready.install_snapshot) {
        if (auto st = store_->install_snapshot(*ready.install_snapshot); !st) return st;
      }
      if (ready.truncate_to) {
        if (auto st = store_->truncate_to(*ready.truncate_to); !st) return st;
      }
      if (!ready.append.empty()) {
        if (auto st = store_->append(ready.append); !st) return st;
        if (auto st = store_->sync(); !st) return st;
      }
    }
    if (!ready.append.empty()) core_->persisted(ready.append.back().offset + 1);
    for (auto& envelope : ready.send) route(std::move(envelope));
    if (ready.load_snapshot) load_snapshot(*ready.load_snapshot);
    for (const auto& entry : ready.committed) apply_entry(entry);
    if (!ready.committed.empty() || ready.load_snapshot) {
      image_changed_.notify_all();
      if (auto st = maybe_snapshot(); !st) return st;
    }
  }
  wakeup_.set();  // more to do: come back at once
  return {};
}

void Quorum::route(raft::Envelope envelope) {
  if (is_response(envelope.message)) {
    auto it = waiting_.find({envelope.to, envelope.correlation_id});
    if (it == waiting_.end()) return;  // its request gave up waiting
    it->second->answer = std::move(envelope);
    it->second->done.set();
    return;
  }
  auto peer = peers_.find(envelope.to);
  if (peer == peers_.end()) return;  // only voters get requests
  auto& lane = is_fetch(envelope.message) ? peer->second->fetches : peer->second->others;
  lane.try_send(std::move(envelope));  // a full lane drops it: Raft asks again on its timers
}

void Quorum::send_loop(Peer& peer, bool fetch_lane) {
  auto& lane = fetch_lane ? peer.fetches : peer.others;
  std::shared_ptr<rpc::BrokerConnection> conn;
  // A parked fetch answers within the leader's fetch wait; give it that much beyond the timeout.
  const auto timeout = std::chrono::milliseconds(options_.request_timeout_ms + (fetch_lane ? 500 : 0));
  while (auto envelope = lane.recv()) {
    if (!conn || !conn->usable()) {
      conn = std::make_shared<rpc::BrokerConnection>(rt_, peer.address, fmt::format("keel-quorum-{}", options_.node_id),
                                                        timeout);
      if (auto st = conn->open(timeout); !st) {
        conn.reset();
        rt_.sleep_for(options_.retry_backoff);
        continue;  // dropped: the core's timers send again
      }
    }
    KeelQuorumRequest request;
    request.call = static_cast<std::int8_t>(QuorumCall::raft);
    request.payload = raft::encode(*envelope);
    auto response = conn->call<KeelQuorumResponse>(request, 0);
    if (!response) {
      conn->close();
      conn.reset();
      continue;
    }
    if (response->payload.empty() || stopping_) continue;
    auto answer = raft::decode_envelope(response->payload);
    if (!answer) {
      rt_.trace("QuorumBadAnswer", Severity::warn).detail("Peer", peer.id).detail("Error", answer.error().message);
      continue;
    }
    core_->step(*answer, now_ms());
    wakeup_.set();
  }
  if (conn) conn->close();
}

void Quorum::apply_entry(const raft::Entry& entry) {
  // Committed entries come in offset order, each once, and never from an epoch before the last.
  KEEL_ASSERT_MSG(entry.offset == applied_offset_ + 1, "metadata entry {} applied after {}", entry.offset, applied_offset_);
  KEEL_ASSERT_GE(entry.epoch, applied_epoch_);
  KEEL_ASSERT_LT(entry.offset, core_->high_watermark());
  auto records = decode_records(entry.data);
  if (!records) {
    rt_.trace("MetadataEntryUnreadable", Severity::warn).detail("Offset", entry.offset).detail("Error", records.error().message);
  } else {
    for (const auto& record : *records) {
      if (auto st = image_.replay(record, entry.offset); !st) {
        rt_.trace("MetadataRecordRefused", Severity::warn).detail("Offset", entry.offset).detail("Error", st.error().message);
      } else {
        rt_.trace("MetadataRecordApplied", Severity::debug).detail("Offset", entry.offset).detail("Record", describe(record));
      }
    }
  }
  applied_offset_ = entry.offset;
  applied_epoch_ = entry.epoch;
  KEEL_ASSERT_LE(image_.last_applied_offset(), applied_offset_);
  if (awaited_ && awaited_->offset == entry.offset) awaited_->applied_epoch = entry.epoch;
  bytes_since_snapshot_ += static_cast<std::int64_t>(entry.data.size());
  const CommittedEntry committed{entry.offset, entry.epoch, fnv1a(entry.data)};
  rt_.trace("MetadataCommitted").detail("Offset", committed.offset).detail("Epoch", committed.epoch)
      .detail("Hash", committed.hash);
  if (on_commit) on_commit(committed);
}

void Quorum::load_snapshot(const raft::Snapshot& snapshot) {
  // A snapshot replaces what was applied only by something newer (Raft installs a snapshot past
  // the local log, or loads one at start-up before anything else).
  KEEL_ASSERT_GE(snapshot.id.end_offset - 1, applied_offset_);
  KEEL_ASSERT_GE(snapshot.id.epoch, 0);
  KEEL_SOMETIMES("metadata.snapshot.loaded");
  image_ = MetadataImage{};
  auto records = decode_records(snapshot.data);
  if (!records) {
    rt_.trace("MetadataSnapshotUnreadable", Severity::warn).detail("Error", records.error().message);
  } else {
    for (const auto& record : *records) {
      if (auto st = image_.replay(record, snapshot.id.end_offset - 1); !st) {
        rt_.trace("MetadataRecordRefused", Severity::warn).detail("Error", st.error().message);
      }
    }
  }
  applied_offset_ = snapshot.id.end_offset - 1;
  applied_epoch_ = snapshot.id.epoch;
  bytes_since_snapshot_ = 0;
  KEEL_ASSERT_LE(image_.last_applied_offset(), applied_offset_);
  rt_.trace("MetadataSnapshotLoaded").detail("EndOffset", snapshot.id.end_offset).detail("Epoch", snapshot.id.epoch);
}

Status Quorum::maybe_snapshot() {
  if (bytes_since_snapshot_ < options_.snapshot_every_bytes || applied_offset_ < 0) return {};
  raft::Snapshot snapshot;
  snapshot.id = raft::SnapshotId{applied_offset_ + 1, applied_epoch_};
  snapshot.data = encode_records(image_.to_records());
  bytes_since_snapshot_ = 0;
  if (store_) {
    if (auto st = store_->save_snapshot(snapshot); !st) return st;
    if (auto st = store_->compact_to(snapshot.id); !st) return st;
  }
  KEEL_SOMETIMES("metadata.snapshot.taken");
  core_->snapshot_taken(snapshot.id, snapshot.data);
  rt_.trace("MetadataSnapshotTaken").detail("EndOffset", snapshot.id.end_offset).detail("Epoch", snapshot.id.epoch);
  return {};
}

void Quorum::note_role() {
  if (!core_->is_leader() || core_->epoch() == led_epoch_) return;
  led_epoch_ = core_->epoch();
  // Everything in the log now is either committed already or becomes committed with this epoch's
  // first entry; the controller decides only on an image that holds all of it.
  leader_ready_offset_ = core_->log_end_offset();
  controller_ = std::make_unique<Controller>(options_.controller);  // heartbeat sessions start afresh
  rt_.trace("ControllerElected").detail("Epoch", led_epoch_).detail("LogEnd", leader_ready_offset_);
  if (on_became_leader) on_became_leader(led_epoch_);
}

bool Quorum::controller_ready() const {
  return options_.voter && !failed_ && core_->is_leader() && core_->epoch() == led_epoch_ && controller_ &&
         applied_offset_ + 1 >= leader_ready_offset_;
}

bool Quorum::is_active_controller() const { return core_ && controller_ready(); }
raft::Role Quorum::role() const { return core_->role(); }
std::int32_t Quorum::epoch() const { return core_->epoch(); }
RaftNodeId Quorum::leader_id() const { return core_->leader_id(); }
std::int64_t Quorum::high_watermark() const { return core_->high_watermark(); }

// ---- inbound ----

KeelQuorumResponse Quorum::handle(const KeelQuorumRequest& request, Instant deadline) {
  if (!valid_quorum_call(request.call)) {
    KeelQuorumResponse out;
    out.error_code = static_cast<std::int16_t>(ErrorCode::invalid_request);
    return out;
  }
  const auto call = static_cast<QuorumCall>(request.call);
  if (call == QuorumCall::raft) return handle_raft(request, deadline);
  return handle_controller_call(call, request.payload, deadline);
}

KeelQuorumResponse Quorum::handle_raft(const KeelQuorumRequest& request, Instant deadline) {
  KeelQuorumResponse out;
  out.leader_hint = core_ ? core_->leader_id().value : -1;
  auto envelope = raft::decode_envelope(request.payload);
  if (!envelope) {
    rt_.trace("QuorumBadRequest", Severity::warn).detail("Error", envelope.error().message);
    out.error_code = static_cast<std::int16_t>(ErrorCode::invalid_request);
    return out;
  }
  if (!core_ || stopping_ || failed_ || envelope->to != options_.node_id || is_response(envelope->message)) return out;
  const auto key = std::make_pair(envelope->from, envelope->correlation_id);
  auto waiting = std::make_shared<Waiting>();
  waiting_[key] = waiting;
  core_->step(*envelope, now_ms());
  wakeup_.set();
  waiting->done.wait(deadline);
  if (auto it = waiting_.find(key); it != waiting_.end() && it->second == waiting) waiting_.erase(it);
  if (waiting->answer) out.payload = raft::encode(*waiting->answer);
  return out;
}

KeelQuorumResponse Quorum::not_controller() const {
  KeelQuorumResponse out;
  out.error_code = static_cast<std::int16_t>(ErrorCode::not_controller);
  out.leader_hint = core_ ? core_->leader_id().value : -1;
  return out;
}

KeelQuorumResponse Quorum::handle_controller_call(QuorumCall call, const protocol::Bytes& payload, Instant deadline) {
  if (!controller_ready()) return not_controller();
  Mutex::Guard guard(controller_mutex_);
  if (!controller_ready()) return not_controller();
  auto reply = decide(call, payload, deadline);
  KeelQuorumResponse out;
  out.leader_hint = core_->leader_id().value;
  if (!reply) {
    out.error_code = reply.error().code == Errc::corrupt ? static_cast<std::int16_t>(ErrorCode::invalid_request)
                                                         : static_cast<std::int16_t>(ErrorCode::not_controller);
    return out;
  }
  out.payload = std::move(*reply);
  return out;
}

namespace {

Error lost(ErrorCode code) { return make_error(Errc::cancelled, std::string(protocol::error_name(code))); }

}  // namespace

// One decision: computed on the committed image, appended as one entry, answered once applied.
// Which decision comes from the controller call table (rpc.h).
Result<protocol::Bytes> Quorum::decide(QuorumCall call, const protocol::Bytes& payload, Instant deadline) {
  std::optional<Result<protocol::Bytes>> reply;
  for_each_controller_call([&](const auto& row) {
    if (row.id == call) reply = decide(row, payload, deadline);
  });
  if (!reply) return make_error(Errc::corrupt, "not a controller call");
  return std::move(*reply);
}

template <class Row>
Result<protocol::Bytes> Quorum::decide(const Row& row, const protocol::Bytes& payload, Instant deadline) {
  auto request = decode<typename Row::Request>(payload);
  if (!request) return request.error();
  DecisionInput input{*controller_, image_, core_->log_end_offset(), now_ms(), random_};
  auto decision = row.decide(input, *request);
  if (auto code = commit(decision.records, deadline); code != ErrorCode::none) return lost(code);
  return encode(decision.reply);
}

ErrorCode Quorum::commit(const std::vector<MetadataRecord>& records, Instant deadline) {
  // Decisions are serialised: one entry awaited at a time, and only by the active controller.
  KEEL_ASSERT_MSG(!awaited_.has_value(), "a decision commits while entry {} is still awaited", awaited_ ? awaited_->offset : -1);
  if (records.empty()) return ErrorCode::none;
  const std::int32_t epoch = core_->epoch();
  const auto offset = core_->propose(encode_records(records));
  if (!offset) return ErrorCode::not_controller;
  awaited_ = Awaited{*offset, -1};
  wakeup_.set();
  while (applied_offset_ < *offset) {
    if (stopping_ || failed_ || !core_->is_leader() || core_->epoch() != epoch) break;
    if (!image_changed_.wait(std::min(deadline, rt_.now() + std::chrono::milliseconds(100))) && rt_.now() >= deadline) {
      awaited_.reset();
      return ErrorCode::request_timed_out;
    }
  }
  // What was applied at that offset must be this entry: after a lost leadership the offset may
  // have been filled by the next leader's entry, and answering then would tell the caller of a
  // change that never happened.
  const bool ours = awaited_ && awaited_->applied_epoch == epoch;
  if (!ours) KEEL_SOMETIMES("metadata.commit.lost_to_new_leader");
  awaited_.reset();
  return ours ? ErrorCode::none : ErrorCode::not_controller;
}

// Fencing brokers whose session expired, and moving leadership back to preferred replicas.
void Quorum::duties() {
  std::int64_t last_rebalance = now_ms();
  while (!stopping_) {
    rt_.sleep_for(std::chrono::seconds(1));
    if (!controller_ready()) {
      last_rebalance = now_ms();
      continue;
    }
    Mutex::Guard guard(controller_mutex_);
    if (!controller_ready()) continue;
    const Instant deadline = rt_.now() + std::chrono::milliseconds(options_.request_timeout_ms);
    for (int i = 0; i < 16; ++i) {  // one broker per decision, as Kafka
      auto records = controller_->fence_stale_brokers(image_, now_ms());
      if (records.empty() || commit(records, deadline) != ErrorCode::none) break;
    }
    if (options_.auto_leader_rebalance && now_ms() - last_rebalance >= options_.leader_imbalance_check_interval_ms) {
      last_rebalance = now_ms();
      auto records = controller_->elect_preferred_leaders(image_);
      commit(records, deadline);
    }
  }
}

// ---- calls to the active controller ----

Result<protocol::Bytes> Quorum::call_controller(QuorumCall call, const protocol::Bytes& payload, Instant deadline) {
  std::vector<RaftNodeId> voters;
  for (const auto& [id, address] : options_.voters) voters.push_back(id);
  KEEL_ASSERT(!voters.empty());
  RaftNodeId target = -1;
  Error last = make_error(Errc::timed_out, "no active controller answered");
  while (!stopping_ && rt_.now() < deadline) {
    if (target < 0) target = core_ && core_->leader_id() >= 0 ? core_->leader_id() : voters[next_voter_++ % voters.size()];
    KeelQuorumResponse response;
    if (target == options_.node_id && options_.voter) {
      response = handle_controller_call(call, payload, deadline);
    } else {
      // A local handle: other tasks may replace the map's connection while this one waits on it.
      std::shared_ptr<rpc::BrokerConnection> link = links_[target];
      const auto timeout = std::chrono::milliseconds(options_.request_timeout_ms);
      if (!link || !link->usable()) {
        link = std::make_shared<rpc::BrokerConnection>(rt_, options_.voters.at(target),
                                                          fmt::format("keel-broker-{}", options_.node_id), timeout);
        links_[target] = link;
        if (auto st = link->open(timeout); !st) {
          last = st.error();
          if (links_[target] == link) links_[target].reset();
          target = -1;
          rt_.sleep_for(options_.retry_backoff);
          continue;
        }
      }
      KeelQuorumRequest request;
      request.call = static_cast<std::int8_t>(call);
      request.payload = payload;
      auto answer = link->call<KeelQuorumResponse>(request, 0);
      if (!answer) {
        last = answer.error();
        link->close();
        if (links_[target] == link) links_[target].reset();
        target = -1;
        rt_.sleep_for(options_.retry_backoff);
        continue;
      }
      response = std::move(*answer);
    }
    if (response.error_code == 0) return std::move(response.payload);
    last = make_error(Errc::refused, fmt::format("controller {}: {}", target, protocol::error_name(response.error_code)));
    const bool hinted = response.leader_hint >= 0 && response.leader_hint != target &&
                        options_.voters.count(response.leader_hint) > 0;
    target = hinted ? response.leader_hint : -1;
    rt_.sleep_for(options_.retry_backoff);
  }
  return last;
}

}  // namespace keel::metadata
