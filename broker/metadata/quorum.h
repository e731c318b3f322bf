#pragma once
// One node's member of the metadata quorum: the driver of its Raft core (raft.h) over the seam,
// the metadata image it applies committed records to, and, while it leads the quorum as a
// controller, the active controller (control.h) deciding on what brokers ask.
//
// Controllers are voters and keep the metadata log on disk (raft_store.h, in
// `<metadata.log.dir>/__cluster_metadata-0`); broker-only nodes are observers that keep it in
// memory and fetch it again (from a snapshot) after a restart. Nodes talk through the KeelQuorum
// API on their listeners: a Raft request travels as a KeelQuorum request and its answer comes back
// as the response (Kafka's Vote, BeginQuorumEpoch, EndQuorumEpoch, Fetch, FetchSnapshot), and so
// do the broker's calls to the active controller.
//
// Tasks: a driver (ticks the core, persists, sends, applies), two sender lanes per voter peer (one
// for fetches, which wait at the leader, one for everything else), and the active controller's
// periodic duties (fencing brokers whose session expired, preferred leader election).
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "broker/metadata/control.h"
#include "broker/metadata/image.h"
#include "broker/metadata/raft.h"
#include "broker/metadata/rpc.h"
#include "broker/platform/network.h"
#include "broker/platform/runtime.h"
#include "broker/platform/sync.h"
#include "broker/protocol/messages.h"

namespace keel::rpc {
class BrokerConnection;
}

namespace keel::metadata {

namespace raft {
class RaftStore;
}

struct QuorumOptions {
  RaftNodeId node_id = -1;
  std::map<RaftNodeId, Address> voters;  // controller.quorum.voters: id -> controller listener
  bool voter = false;                      // this node has the controller role
  std::string dir;                         // the metadata log's directory; "" keeps it in memory
  std::int64_t election_timeout_ms = 1000;
  std::int64_t fetch_timeout_ms = 2000;
  std::int64_t election_backoff_max_ms = 1000;
  std::int64_t request_timeout_ms = 2000;
  ControllerConfig controller;
  std::int64_t leader_imbalance_check_interval_ms = 300000;
  bool auto_leader_rebalance = true;
  // A snapshot of the image once this many bytes of records were applied since the last one
  // (metadata.log.max.record.bytes.between.snapshots).
  std::int64_t snapshot_every_bytes = 20 << 20;
  Duration tick_interval = std::chrono::milliseconds(10);
  Duration retry_backoff = std::chrono::milliseconds(100);
  std::uint64_t seed = 0;
};

// Seen by a checker: one committed metadata entry applied here.
struct CommittedEntry {
  std::int64_t offset = 0;
  std::int32_t epoch = 0;
  std::uint64_t hash = 0;
};

class Quorum {
 public:
  Quorum(Runtime& rt, QuorumOptions options);
  ~Quorum();
  Quorum(const Quorum&) = delete;
  Quorum& operator=(const Quorum&) = delete;

  // Loads the durable state (voters) and starts the tasks.
  Status start();
  void stop();

  // The KeelQuorum API served on this node's listener; may wait (a parked Raft fetch) until
  // `deadline`.
  protocol::KeelQuorumResponse handle(const protocol::KeelQuorumRequest& request, Instant deadline);
  // Asks the active controller, here or on another node, and reads its reply: `request` is a
  // controller call's request (rpc.h's table names its reply type). Errc::corrupt when the reply
  // cannot be read; otherwise call_controller's errors.
  template <class Request>
  Result<typename CallTraits<Request>::Reply> call(const Request& request, Instant deadline) {
    auto payload = call_controller(CallTraits<Request>::id, encode(request), deadline);
    if (!payload) return payload.error();
    return decode<typename CallTraits<Request>::Reply>(*payload);
  }
  // Sends `payload` to the active controller, here or on another node, asking again elsewhere on
  // NOT_CONTROLLER or a broken connection until `deadline`. Returns the reply's payload.
  Result<protocol::Bytes> call_controller(QuorumCall call, const protocol::Bytes& payload, Instant deadline);

  const MetadataImage& image() const { return image_; }
  // The offset of the last committed entry applied to image(), -1 before any.
  std::int64_t applied_offset() const { return applied_offset_; }
  // Notified whenever committed entries change the image.
  WaitQueue& image_changed() { return image_changed_; }

  bool is_active_controller() const;
  raft::Role role() const;
  std::int32_t epoch() const;
  RaftNodeId leader_id() const;
  std::int64_t high_watermark() const;

  // Observers for the simulator's checks (never needed for correctness).
  std::function<void(const CommittedEntry&)> on_commit;
  std::function<void(std::int32_t epoch)> on_became_leader;

 private:
  struct Peer;
  struct Waiting;

  void drive();
  Status process_ready();
  void route(raft::Envelope envelope);
  void send_loop(Peer& peer, bool fetch_lane);
  void apply_entry(const raft::Entry& entry);
  void load_snapshot(const raft::Snapshot& snapshot);
  Status maybe_snapshot();
  void note_role();
  bool controller_ready() const;
  std::int64_t now_ms() const;

  protocol::KeelQuorumResponse handle_raft(const protocol::KeelQuorumRequest& request, Instant deadline);
  protocol::KeelQuorumResponse handle_controller_call(QuorumCall call, const protocol::Bytes& payload, Instant deadline);
  Result<protocol::Bytes> decide(QuorumCall call, const protocol::Bytes& payload, Instant deadline);
  template <class Row>
  Result<protocol::Bytes> decide(const Row& row, const protocol::Bytes& payload, Instant deadline);
  // Appends a decision's records and waits until they are committed and applied.
  protocol::ErrorCode commit(const std::vector<MetadataRecord>& records, Instant deadline);
  void duties();
  protocol::KeelQuorumResponse not_controller() const;

  Runtime& rt_;
  QuorumOptions options_;
  std::unique_ptr<raft::RaftStore> store_;
  std::unique_ptr<raft::RaftCore> core_;
  MetadataImage image_;
  std::int64_t applied_offset_ = -1;
  std::int32_t applied_epoch_ = 0;
  std::int64_t bytes_since_snapshot_ = 0;
  WaitQueue image_changed_;
  Event wakeup_;
  std::map<RaftNodeId, std::unique_ptr<Peer>> peers_;
  std::map<std::pair<RaftNodeId, std::int64_t>, std::shared_ptr<Waiting>> waiting_;  // (from, correlation)

  // The active controller.
  std::unique_ptr<Controller> controller_;
  Mutex controller_mutex_;
  std::int32_t led_epoch_ = -1;            // the epoch this node last became leader in
  // The entry a decision waits for (one at a time: decisions are serialised), and the epoch of
  // what was applied at its offset.
  struct Awaited {
    std::int64_t offset = -1;
    std::int32_t applied_epoch = -1;
  };
  std::optional<Awaited> awaited_;
  std::int64_t leader_ready_offset_ = 0;   // committed and applied up to here: ready to decide
  Random random_;

  // Calls to the active controller elsewhere.
  std::map<RaftNodeId, std::shared_ptr<rpc::BrokerConnection>> links_;
  std::size_t next_voter_ = 0;

  std::vector<TaskRef> tasks_;
  bool stopping_ = false;
  bool failed_ = false;  // a write of the metadata log failed: this member stops taking part
};

}  // namespace keel::metadata
