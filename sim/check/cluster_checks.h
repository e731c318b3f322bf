#pragma once
// Checkers over what a run observed inside the cluster, beside the client history: who led each
// partition and the metadata quorum at which epoch, what each node committed to the metadata log,
// and the replicas' logs at checkpoints. They are Kafka's own invariants
// (../shared/reference/kraft-and-replication.md §4: SingleLeader, ConsistentCommittedData,
// MonotonicHighWatermark; §3.3 for the partition high watermark):
//
//   single-leader             at most one broker claims leadership of a partition per leader epoch
//   single-controller         at most one controller becomes Raft leader per epoch (term)
//   metadata-committed        no two nodes commit different entries at one offset, and no node ends
//                             the run behind the largest committed end any node reached
//   replica-divergence        replicas snapshotted at one moment hold identical records below both
//                             high watermarks (and above both log starts); at a checkpoint under
//                             unclean leader election, counted but allowed
//   high-watermark-monotonic  a consumer never sees a partition's high watermark go back (history)
//   reassignment-completed    after quiescence every partition an operator reassigned sits on the
//                             last target the controller accepted (or a later one whose answer was
//                             lost, or a later cancel), with no reassignment left in progress, and
//                             no broker outside the final replicas still holds the partition's log
//   retention                 no broker deletes a segment before retention.ms or retention.bytes allow
//                             (retention_check.h)
//
// The runner fills ClusterObservations; run_checks(history, observations, checks) (checks.h) runs
// these beside the history checks. With no observations (a run that records none) the cluster
// checks have nothing to judge and pass.
#include "sim/check/checks.h"
#include "sim/check/retention_check.h"
#include "sim/workload/history.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace keel::sim::check {

struct ClusterObservations {
  // A broker became leader of a partition at a leader epoch.
  struct LeaderClaim {
    std::int64_t at_ns = 0;
    int node = 0;
    std::string partition;  // "topic-p"
    std::int32_t leader_epoch = 0;
  };
  // A controller became Raft leader of the metadata quorum at an epoch (term).
  struct RaftLeader {
    std::int64_t at_ns = 0;
    int node = 0;
    std::int32_t epoch = 0;
  };
  // A node applied a committed metadata log entry.
  struct MetadataCommit {
    std::int64_t at_ns = 0;
    int node = 0;
    std::int64_t offset = 0;
    std::int32_t epoch = 0;       // the Raft epoch the entry was written in
    std::uint64_t data_hash = 0;  // of the entry's bytes
  };
  struct ReplicaRecord {
    std::int64_t offset = 0;
    std::int32_t leader_epoch = 0;
    std::uint64_t hash = 0;  // of the record's key, value and headers
  };
  // One replica's log at a moment. Every replica of a partition is snapshotted at the same at_ns
  // (and label), so replicas are compared within one (partition, at_ns, label).
  struct ReplicaSnapshot {
    std::int64_t at_ns = 0;
    std::string label;  // "checkpoint" or "final"
    int node = 0;
    std::string partition;  // "topic-p"
    std::int64_t high_watermark = 0;
    std::int64_t log_start = 0;
    std::int64_t log_end = 0;
    std::vector<ReplicaRecord> records;  // in offset order, one per offset
  };

  // An operator asked a broker to reassign a partition (AlterPartitionReassignments).
  struct Reassignment {
    std::int64_t at_ns = 0;  // when it was answered (or gave up)
    int node = 0;            // the broker asked
    std::string partition;   // "topic-p"
    std::optional<std::vector<std::int32_t>> target;  // null: cancel
    bool answered = false;   // false: no controller answered; it may or may not have taken effect
    std::int16_t error = 0;  // the controller's answer for the partition
    std::string message;
  };
  // A partition's assignment in the committed metadata at the end of the run.
  struct Assignment {
    std::vector<std::int32_t> replicas;
    std::vector<std::int32_t> adding;
    std::vector<std::int32_t> removing;
  };

  std::vector<LeaderClaim> leader_claims;
  std::vector<RaftLeader> raft_leaders;
  std::vector<MetadataCommit> metadata_commits;
  // node -> committed end offset (one past the last committed entry) at the end of the run, after
  // quiescence. A node absent here (e.g. removed from the cluster) is not judged.
  std::map<int, std::int64_t> final_metadata_end;
  std::vector<ReplicaSnapshot> replica_snapshots;
  std::vector<Reassignment> reassignments;
  std::map<std::string, Assignment> final_assignments;  // "topic-p" -> assignment
  // Every partition log each running broker has at the end, whether it acts on it or not.
  struct HeldLog {
    int node = 0;
    std::string partition;  // "topic-p"
    std::int64_t log_end = 0;
  };
  std::vector<HeldLog> final_logs;
  // Appends, segment deletions and clock jumps, for the retention check (retention_check.h).
  RetentionObservations retention;
};

// The cluster checks' names, in the order all_check_names() lists them.
const std::vector<std::string>& cluster_check_names();

// Runs one cluster check by name, appending its violations (unsorted, unlimited) to `out`.
// Returns false when `name` is not a cluster check.
bool run_cluster_check(const std::string& name, const workload::History& history, const ClusterObservations& obs,
                       std::vector<Violation>& out);

}  // namespace keel::sim::check
