#pragma once
// The coordinator runtime (Kafka's CoordinatorRuntime): state machines ("shards") partitioned over
// the partitions of an internal topic (__consumer_offsets for groups; the share and transaction
// coordinators' topics next). A broker holds the shard of every partition it leads:
//
//   - loaded when this broker becomes the partition's leader: the committed log is replayed from its
//     start into a fresh shard; operations meanwhile answer load_in_progress;
//   - unloaded when it stops leading (operations answer not_coordinator);
//   - operations on one shard run one at a time (a mutex per shard), against its latest in-memory
//     state. A write operation returns records; the runtime applies them to the shard
//     (Shard::replay) and appends them through the partition's leader at the shard's leader epoch
//     (acks=all), then releases the shard to the next operation while this one's answer is
//     deferred: writes are in flight together, as in Kafka's CoordinatorRuntime. A deferred answer
//     (its after_commit callbacks, then the caller) is released once the high watermark passed the
//     last record appended when it ran, in the order the operations ran.
//   - reads run in that same order and are deferred the same way ("read committed" by waiting):
//     a read sees the state every earlier write left, but answers only once those writes have
//     committed, and fails if any of them fails. So no answer ever carries an uncommitted change.
//     (Kafka reads a snapshot at the committed offset from its timeline structures; Keel's shards
//     keep no history, and a second committed-only copy could not hold the transient member state
//     that DescribeGroups shows, so a read waits instead.)
//   - if an append or a commit fails, the shard may hold changes the log does not: every deferred
//     answer fails with that error, and the shard is thrown away and loaded again from the log.
//   - timers (session, rebalance, join delay...) belong to the shard, fire as write operations, and
//     die with it.
//
// The node tells the runtime about leadership (on_role_change); nothing below calls up into it.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "broker/coordinator/errors.h"
#include "broker/coordinator/partition_log.h"
#include "broker/coordinator/record.h"
#include "broker/platform/runtime.h"
#include "broker/platform/sync.h"

namespace keel::coordinator {

class ShardContext;

// What a write operation produces: the records to append (applied to the shard first through
// replay), and what to do once they are committed or failed: answer requests parked in the shard
// (their error is the write's).
struct WriteResult {
  std::vector<CoordinatorRecord> records;
  std::vector<std::function<void(CoordinatorError)>> after_commit;
};

// One partition's state machine.
class Shard {
 public:
  virtual ~Shard() = default;
  // Applies one record: from the log while loading, and each record a write produced.
  virtual void replay(const CoordinatorRecord& record) = 0;
  // The log is replayed and committed: the shard is active (re-arm timers here).
  virtual void loaded() {}
  // The shard is being dropped (leadership lost, or a failed write): answer every parked request
  // with `error`. Runs once, possibly while an operation waits for its commit (it then fails).
  virtual void unloaded(CoordinatorError error) = 0;
};

using WriteOp = std::function<WriteResult(Shard&)>;
using ReadOp = std::function<void(Shard&)>;
using ShardFactory = std::function<std::unique_ptr<Shard>(ShardContext&)>;

struct RuntimeOptions {
  std::string topic;                                       // the internal topic, e.g. __consumer_offsets
  Duration write_timeout = std::chrono::milliseconds(5000);  // offsets.commit.timeout.ms
  Duration load_retry_backoff = std::chrono::milliseconds(20);  // while the log is not yet readable
  // False: an operation holds its shard until its records commit (one write per commit round trip;
  // the behaviour before writes were pipelined, kept for the benchmark's comparison).
  bool writes_in_flight = true;
};

// What a shard reaches of the runtime: its partition, the clock, and timers. Timers are keyed by
// name: scheduling a name again replaces it. A timer runs its operation as a write, on this shard
// only while it is still loaded.
class ShardContext {
 public:
  virtual ~ShardContext() = default;
  virtual const TopicPartition& tp() const = 0;
  virtual Runtime& runtime() = 0;
  virtual void schedule(const std::string& name, Duration after, WriteOp op) = 0;
  virtual void cancel(const std::string& name) = 0;
  virtual bool scheduled(const std::string& name) const = 0;
};

class CoordinatorRuntime {
 public:
  CoordinatorRuntime(Runtime& rt, RuntimeOptions options, PartitionLog& log, ShardFactory factory);
  ~CoordinatorRuntime();
  CoordinatorRuntime(const CoordinatorRuntime&) = delete;
  CoordinatorRuntime& operator=(const CoordinatorRuntime&) = delete;

  const std::string& topic() const { return options_.topic; }
  // Leadership of one of the topic's partitions changed here: load it (leader at a new epoch) or
  // unload it.
  void on_role_change(std::int32_t partition, bool leader, std::int32_t leader_epoch);
  // Unloads every shard (the node stops).
  void stop();

  // Runs `op` on the partition's shard as a write: returns once its records are committed (none),
  // or why not.
  CoordinatorError write(std::int32_t partition, std::string_view name, const WriteOp& op);
  // Runs `op` on the partition's shard, on committed state only.
  CoordinatorError read(std::int32_t partition, const ReadOp& op);
  // The partitions whose shards are active here, ascending.
  std::vector<std::int32_t> active_partitions() const;
  // Whether the partition's shard is loaded and serving (for tests and tools).
  CoordinatorError status(std::int32_t partition) const;

 private:
  struct ShardState;
  struct Completion;
  class Context;
  std::shared_ptr<ShardState> find(std::int32_t partition) const;
  void load(std::shared_ptr<ShardState> s);
  bool replay_committed(ShardState& s);
  void timer_loop(std::shared_ptr<ShardState> s);
  void run_due_timer(const std::shared_ptr<ShardState>& s);
  std::shared_ptr<Completion> submit_write(const std::shared_ptr<ShardState>& s, std::int32_t partition,
                                          std::string_view name, const WriteOp& op);
  std::shared_ptr<Completion> defer(ShardState& s, std::vector<std::function<void(CoordinatorError)>> after_commit,
                                    bool appended);
  void commit_loop(std::shared_ptr<ShardState> s);
  void complete_committed(ShardState& s, std::int64_t committed);
  void fail(const std::shared_ptr<ShardState>& s, CoordinatorError error);
  void unload(const std::shared_ptr<ShardState>& s, CoordinatorError error);
  CoordinatorError check(const std::shared_ptr<ShardState>& s, std::int32_t partition) const;
  void track(TaskRef task);

  Runtime& rt_;
  RuntimeOptions options_;
  PartitionLog& log_;
  ShardFactory factory_;
  std::map<std::int32_t, std::shared_ptr<ShardState>> shards_;
  std::vector<TaskRef> tasks_;
  std::uint64_t next_incarnation_ = 1;
  bool stopped_ = false;
};

}  // namespace keel::coordinator
