#pragma once
// The history a run records, in the spirit of Jepsen's: every operation a client invoked, with its
// outcome and the values involved. Checkers (sim/check) read it; reports show it.
//
// Keys are topic-partitions, numbered 0..keys.size()-1. Values are integers unique across the run
// (a producer never sends one value twice; the record's value bytes start with the decimal value),
// so a value read names the send that wrote it.
//
// Times are world time (ns since the start of the run), the one clock every node agrees on.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace keel::sim::workload {

enum class OpType : std::uint8_t {
  send,    // one record to one key: invoke [send k v], completes [send k [offset v]]
  poll,    // one consumer poll: completes with the records it returned
  assign,  // the consumer's assignment is replaced by `keys` (seeking to the beginning when `seek_to_beginning`)
};

enum class OpStatus : std::uint8_t {
  ok,    // it happened
  fail,  // it definitely did not happen
  info,  // indeterminate: may have happened, may happen later
};

enum class Phase : std::uint8_t {
  main,      // the workload under faults
  final,     // the final reads, after every fault is healed and every node restarted
  liveness,  // the liveness probe after quiescence
};

struct Read {
  int key = 0;
  std::int64_t offset = 0;
  std::int64_t value = 0;  // -1 when the record's value did not parse as one of ours
};

struct Op {
  std::size_t index = 0;  // position in History::ops
  int process = 0;        // one client incarnation; a fresh client gets a fresh id
  int node = 0;           // the world node the client runs on
  OpType type = OpType::send;
  OpStatus status = OpStatus::ok;
  Phase phase = Phase::main;
  std::int64_t invoke_ns = 0;
  std::int64_t complete_ns = 0;
  // send
  int key = -1;
  std::int64_t value = -1;
  std::optional<std::int64_t> offset;  // set when acknowledged with an offset (acks=0 has none)
  // poll
  std::vector<Read> reads;
  // (key, high watermark) as the fetch responses of this poll reported them, in the order they
  // arrived (high-watermark-monotonic).
  std::vector<std::pair<int, std::int64_t>> high_watermarks;
  // assign
  std::vector<int> keys;
  bool seek_to_beginning = false;
  std::string error;  // why it failed or is indeterminate
};

struct History {
  std::vector<std::string> keys;  // key -> "topic-partition"
  std::vector<Op> ops;            // in invocation order
  // Producers are idempotent (duplicates forbidden rather than counted).
  bool idempotent = false;
  // Every producer has at most one request in flight per connection, so a retry cannot reorder
  // its sends (nonmonotonic-send forbidden rather than counted).
  bool ordered_sends = false;
  // The scenario's topics allow unclean leader election, which may elect a replica that lacks
  // acknowledged records (kraft-and-replication.md §3.9): lost-write and unseen are counted and
  // reported but allowed.
  bool unclean_election = false;
  std::int64_t quiesce_ns = -1;   // when the quiescence phase began (faults healed), -1 if never
  std::int64_t recovered_ns = -1; // when the recovery wait ended and the final reads/liveness probe began
  std::int64_t liveness_within_ns = 30'000'000'000;
  // key -> its log start offset when the final reads began. What lies below it was deleted on
  // purpose (retention): lost-write, unseen and poll-skip leave it to the retention check.
  std::map<int, std::int64_t> final_log_start;

  // Whether `offset` of `key` was below the log start when the final reads began.
  bool deleted_on_purpose(int key, std::int64_t offset) const {
    auto it = final_log_start.find(key);
    return it != final_log_start.end() && offset < it->second;
  }

  // Appends an op (its index is set) and returns its index.
  std::size_t add(Op op) {
    op.index = ops.size();
    ops.push_back(std::move(op));
    return ops.size() - 1;
  }
};

std::string_view op_type_name(OpType t);
std::string_view op_status_name(OpStatus s);
std::string_view phase_name(Phase p);

}  // namespace keel::sim::workload
