#pragma once
// A scenario: the cluster, topics, workload, faults, duration, quiescence and checks of a
// simulated run, read from a JSON file (scenarios/*.json, documented field by field in
// scenarios/README.md). Parsing validates everything before a run starts and names the exact
// path of what is wrong: `workload.producers[1].acks: expected 0, 1 or "all"`.
#include "broker/base/result.h"
#include "broker/base/time.h"
#include "sim/faults/random_faults.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace keel::sim::scenario {

// Nodes are named in scenario files as "broker-<i>" (0-based, the brokers of the cluster) or
// "client" (the machine that runs every producer and consumer). Node ids in the world: brokers
// are 0..brokers-1, the client node is `brokers`.
struct NodeRef {
  bool client = false;
  int broker = 0;  // when !client
  bool operator==(const NodeRef&) const = default;
};

struct ClusterSpec {
  int brokers = 1;
  // With more than one broker the cluster runs in KRaft mode: the first `controllers` brokers are
  // combined nodes (process.roles=broker,controller) forming the metadata quorum, the rest brokers
  // only. 0 (the default) means min(brokers, 3). A single broker runs alone, as before.
  int controllers = 0;
  // server.properties overrides for every broker (keys and values as in server.properties).
  std::map<std::string, std::string> config;
  // Extra overrides per broker index (applied after `config`).
  std::map<int, std::map<std::string, std::string>> broker_config;
  // Draw some broker config knobs from the seed within their valid range (recorded in the report).
  bool randomize_config = false;
  // BUGGIFY fault points in broker code (each site on or off per seed).
  bool buggify = true;
  // When not empty, exactly these sites are on in every seed, firing with buggify_probability (a
  // scenario that aims at one fault point; "buggify": {"sites": [...], "probability": p}).
  std::vector<std::string> buggify_sites;
  double buggify_probability = 0.5;
};

struct TopicSpec {
  std::string name;
  int partitions = 1;
  int replication_factor = 1;
  std::map<std::string, std::string> configs;  // topic-level configs
};

enum class KeyDistribution : std::uint8_t {
  none,        // null keys (the sticky partitioner spreads batches)
  uniform,     // keys drawn uniformly from `keys` distinct values
  zipf,        // keys drawn by Zipf (s = 1) over `keys` distinct values: a few hot keys
  sequential,  // key i mod `keys`: round robin over the keys
};

enum class RecordTimestamps : std::uint8_t {
  now,     // the producer's wall clock (the default)
  none,    // no timestamp (-1), in a batch whose header says max timestamp 0, as librdkafka writes it
  past,    // 30 days before the producer's clock
  future,  // 2 hours after it (refused with INVALID_TIMESTAMP unless message.timestamp.after.max.ms allows)
};

struct ProducerSpec {
  int count = 1;
  std::string topic;
  double rate = 50;         // records per second, per producer (exponential gaps)
  int record_bytes = 100;   // value size; at least big enough to hold the value's id
  KeyDistribution key_distribution = KeyDistribution::uniform;
  int keys = 16;
  std::int16_t acks = -1;   // 0, 1 or -1 ("all" in the file)
  Duration linger = 5ms;
  int batch_bytes = 16384;
  int max_in_flight = 5;
  Duration request_timeout = 5s;
  Duration delivery_timeout = 30s;
  Duration retry_backoff = 100ms;
  // Record timestamps, one mode per partition (partition i takes timestamps[i % size]), so that a
  // partition never mixes records with and without timestamps (a segment is as old as its newest
  // timestamp). Empty: every record has the producer's clock.
  std::vector<RecordTimestamps> timestamps;
};

enum class Assignment : std::uint8_t {
  all,    // every consumer is assigned every partition of its topics
  split,  // the partitions are dealt round robin between the consumers
};

struct ConsumerSpec {
  int count = 1;
  std::vector<std::string> topics;
  Assignment assignment = Assignment::all;
  Duration fetch_max_wait = 200ms;
  Duration poll_timeout = 300ms;
  Duration request_timeout = 5s;
};

// How a group's members commit what they processed.
enum class CommitMode : std::uint8_t {
  sync,          // commit_sync after processing each poll's records
  async,         // commit_async after processing each poll's records
  auto_commit,   // enable.auto.commit: the consumer commits its positions on an interval and before a revoke
};

// What happens to one member (scripted at a time, or drawn at random).
enum class MemberAction : std::uint8_t {
  join,     // the member starts (a member named by a scripted join does not start with the run)
  leave,    // close(): commits, revokes and leaves the group; it stays down until a later join
  crash,    // its consumer destroyed without leaving (the coordinator removes it after the session
            // timeout); it stays down until a later join
  restart,  // a crash, then the member starts again after `duration` (a static member keeps its
            // instance id: within the session timeout no rebalance, else it is replaced)
  slow,     // one record's processing takes `duration` (past the rebalance timeout: the member leaves
            // from its heartbeat task and loses its partitions)
  pause,    // the member's process stops for `duration`, longer than its session timeout (a long GC
            // pause, SIGSTOP): no polls and no heartbeats, so the coordinator removes it; resumed, it
            // commits what it had processed with its old identity (refused), learns it was fenced,
            // loses its partitions and joins again
};

struct MemberBehaviour {
  Duration at{};
  int member = 0;
  MemberAction action = MemberAction::crash;
  Duration duration{};  // restart, slow, pause
};

// Random behaviours: on average `per_minute` per group, each an action of `actions` on a member
// drawn from the seed; a member that leaves or crashes starts again after `down` (so the group does
// not dwindle), and restart, slow and pause last `duration`.
struct RandomBehaviourSpec {
  double per_minute = 0;
  std::vector<MemberAction> actions;
  Duration down = 5s;
  Duration duration = 5s;
};

// Which rebalance protocol a group's members speak (group.protocol).
enum class GroupProtocolKind : std::uint8_t {
  classic,   // JoinGroup / SyncGroup / Heartbeat: a leader member runs the client assignors
  consumer,  // KIP-848's ConsumerGroupHeartbeat: the coordinator runs the server assignor
};

// A consumer group of `members` Keel group consumers on the client node (sim/workload/group_workload.h).
struct GroupSpec {
  std::string group_id;
  std::vector<std::string> topics;
  int members = 3;
  GroupProtocolKind protocol = GroupProtocolKind::classic;
  std::vector<std::string> assignors = {"range"};  // classic: in order of preference (broker/client/assignors)
  std::string assignor = "uniform";                // consumer: the server assignor (uniform, range)
  CommitMode commit = CommitMode::sync;
  bool static_members = false;  // group.instance.id "<group>-<member>"
  // Classic: the member's settings. Consumer: the coordinator's (the cluster config's
  // group.consumer.session.timeout.ms and group.consumer.heartbeat.interval.ms, copied here).
  Duration session_timeout = 10s;
  Duration heartbeat_interval = 1s;
  Duration rebalance_timeout = 15s;
  Duration auto_commit_interval = 1s;
  Duration poll_timeout = 300ms;
  Duration request_timeout = 5s;
  std::vector<MemberBehaviour> behaviours;  // scripted, by time
  RandomBehaviourSpec random;
};

// An admin client that, every `every`, deletes the records of each partition of `topic` below the
// midpoint between its log start and its high watermark (DeleteRecords). The checks count what
// lies below the final log start as deleted on purpose, as for retention.
struct DeleteRecordsSpec {
  std::string topic;
  Duration every = 2s;
};

// An admin client that, at `at`, raises `topic` to `count` partitions (CreatePartitions), retrying
// until the cluster has them (a retry after an answer lost to a fault finds them there). The
// history's key table holds every partition a topic will have from the start; producers and
// consumers use the new ones once the metadata shows them.
struct CreatePartitionsSpec {
  std::string topic;
  Duration at = Duration(0);
  std::int32_t count = 0;  // the topic's partitions afterwards
};

struct WorkloadSpec {
  std::vector<ProducerSpec> producers;
  std::vector<ConsumerSpec> consumers;
  std::vector<GroupSpec> groups;
  std::vector<DeleteRecordsSpec> delete_records;
  std::vector<CreatePartitionsSpec> create_partitions;  // in order of `at`
};

// The partitions `topic` has once every workload.create_partitions entry for it has run.
std::int32_t final_partitions(const TopicSpec& topic, const WorkloadSpec& workload);

enum class FaultKind : std::uint8_t {
  kill,         // kill -9 the process of `node`
  power_off,    // power loss of `node` (unsynced writes lost or torn)
  restart,      // start `node` again (powers it on first if it is off); no-op if it runs
  pause,        // `node`'s process stops running for `duration`
  partition,    // traffic between every node of `sets[i]` and every node of `sets[j]` (i != j) is held
  isolate,      // `node` cut off from every other node, both ways
  block,        // one way: traffic from `node` to `to` is held
  clog,         // `node`'s traffic is delayed for `duration`
  heal,         // every network fault lifted (partitions, blocks)
  clock_jump,   // `node`'s wall clock jumps by `by` (may be negative)
  disk_faults,  // `node`'s disk fails I/O and flips read bits at the given rates for `duration`
  shutdown,     // a clean stop of `node` (SIGTERM): a broker hands its leaderships over first
  reassign,     // an operator moves `topic`-`partition` to `replicas` (AlterPartitionReassignments)
};

// What a reassign fault asks for: the target replicas, brokers drawn from the run's seed (as many
// as the topic's replication factor), or cancelling the reassignment in progress.
enum class ReassignTarget : std::uint8_t { listed, random, cancel };

struct ScriptedFault {
  Duration at{};  // simulated time from the start of the run
  FaultKind kind = FaultKind::kill;
  NodeRef node;                           // every kind but partition and heal
  NodeRef to;                             // block
  std::vector<std::vector<NodeRef>> sets; // partition: two or more disjoint sets
  Duration duration{};                    // pause, clog, disk_faults; 0 for a partition/isolate/block means until heal
  Duration by{};                          // clock_jump
  double error_rate = 0;                  // disk_faults: EIO probability per operation
  double bit_flip_rate = 0;               // disk_faults: flipped bit probability per read
  std::string topic;                      // reassign
  int partition = 0;                      // reassign
  ReassignTarget target = ReassignTarget::random;  // reassign
  std::vector<NodeRef> replicas;          // reassign, when target is listed
};

struct RandomFaultSpec {
  bool enabled = false;
  RandomFaultOptions options;  // rates per minute; nodes are the brokers
};

struct QuiescenceSpec {
  // After `duration`: every fault healed, every node restarted, then this long for recovery
  // before the final reads and the liveness probe.
  Duration recover = 10s;
  // The final reads (fresh consumers reading every partition from the start) must end within this.
  Duration final_read_timeout = 60s;
  // Liveness: after `recover`, a fresh producer's record must be acknowledged and read back
  // within this.
  Duration liveness_within = 30s;
};

// Checker names as Jepsen's Kafka workload names them, plus liveness, then the cluster checks
// over what the run observed inside the cluster (sim/check/cluster_checks.h).
inline const std::vector<std::string>& all_check_names() {
  static const std::vector<std::string> names = {
      "lost-write",        "unseen",          "duplicate",       "inconsistent-offsets", "unexpected",
      "nonmonotonic-send", "nonmonotonic-poll", "poll-skip",     "liveness",
      // cluster checks
      "single-leader", "single-controller", "metadata-committed", "replica-divergence", "high-watermark-monotonic",
      "reassignment-completed", "retention",
      // group checks (sim/check/group_checks.h), run over every group of the workload
      "group-single-owner", "group-fenced-commit", "group-commit-monotonic", "group-at-least-once",
      "group-quiescent-assignment", "group-commit-durable", "group-generation-monotonic"};
  return names;
}

struct Scenario {
  std::string name;         // from the file; defaults to the file's stem
  std::string description;
  std::string source_path;  // the file it was read from (empty for text)
  ClusterSpec cluster;
  std::vector<TopicSpec> topics;
  WorkloadSpec workload;
  std::vector<ScriptedFault> faults;
  RandomFaultSpec random_faults;
  Duration duration = 60s;  // the workload under faults
  QuiescenceSpec quiescence;
  std::vector<std::string> checks;  // empty in the file means all_check_names()
};

// Parses and validates. The error message names the path (`topics[0].partitions`) and the
// problem; with a file, it starts with the file name. Never partially accepts a bad file.
Result<Scenario> parse_scenario(std::string_view json_text, std::string_view source_name);
Result<Scenario> load_scenario(const std::string& path);

// "broker-2" / "client".
std::string node_name(const NodeRef& n);
std::string_view fault_kind_name(FaultKind k);
std::string_view member_action_name(MemberAction a);

}  // namespace keel::sim::scenario
