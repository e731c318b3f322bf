#pragma once
// Kafka's purgatory of delayed operations. A request that cannot be answered yet (a fetch waiting
// for fetch.min.bytes, later a produce waiting for the ISR) becomes a DelayedOperation that watches
// some keys (partitions) and sits in the timer. Whoever changes a key (an append) calls
// check_and_complete(key). The operation completes then, or when its delay runs out; either way
// on_complete() runs exactly once, and the task that created it, waiting in wait(), carries on to
// answer the request.
//
// Single-threaded: try_complete(), on_complete() and on_expiration() must not wait. They run in the
// task that calls try_complete_else_watch / check_and_complete, or in the timer's reaper on expiry.
#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "broker/platform/sync.h"
#include "broker/purgatory/timing_wheel.h"

namespace keel::purgatory {

class DelayedOperation : public TimerTask {
 public:
  explicit DelayedOperation(Duration delay) : TimerTask(delay) {}

  // Whether it can complete now; if so it returns force_complete(), else false.
  virtual bool try_complete() = 0;
  // Runs exactly once: on completion, or on expiry after on_expiration().
  virtual void on_complete() = 0;
  // Runs when the delay passed first, just before on_complete().
  virtual void on_expiration() {}

  // Completes it (cancelling its timer) unless it is complete already. True for the one call that
  // completed it.
  bool force_complete();
  bool is_completed() const { return completed_; }
  // Completed because its delay ran out.
  bool expired() const { return expired_; }
  // Waits until on_complete() has run. Errc::timed_out if `deadline` passes first.
  Status wait(Instant deadline = instant_max);

  void run() final;  // the timer: the delay ran out

 private:
  friend class DelayedOperationPurgatory;

  bool completed_ = false;
  bool expired_ = false;
  Event done_;
  std::shared_ptr<std::size_t> pending_count_;  // its purgatory's count of operations in the timer
};

class DelayedOperationPurgatory {
 public:
  // Completed operations linger in the watch lists of keys nobody checked since; once more than
  // `purge_interval` operations have completed since the last purge, the lists are swept.
  DelayedOperationPurgatory(std::string name, SystemTimer& timer, int purge_interval = 1000);
  DelayedOperationPurgatory(const DelayedOperationPurgatory&) = delete;
  DelayedOperationPurgatory& operator=(const DelayedOperationPurgatory&) = delete;

  // Completes `op` now if it can (true). Otherwise watches it under each key and adds it to the
  // timer (false): it then completes by check_and_complete() of one of its keys, or on expiry.
  // An operation goes into a purgatory once.
  bool try_complete_else_watch(std::shared_ptr<DelayedOperation> op, const std::vector<std::string>& keys);
  // Tries to complete every operation watching `key`; returns how many completed.
  int check_and_complete(const std::string& key);

  // Watch entries (an operation counts once per key), completed ones not yet purged included.
  std::size_t watched() const { return watched_; }
  // Operations of this purgatory in the timer: neither completed nor expired.
  std::size_t delayed() const { return *pending_; }
  // Drops completed operations from every watch list now; returns how many entries went.
  std::size_t purge_completed();
  const std::string& name() const { return name_; }

 private:
  using Watchers = std::vector<std::shared_ptr<DelayedOperation>>;
  std::size_t remove_completed(Watchers& watchers);
  void maybe_purge();

  std::string name_;
  SystemTimer& timer_;
  std::size_t purge_interval_;
  std::shared_ptr<std::size_t> pending_ = std::make_shared<std::size_t>(0);
  // Operations watched since the last purge (Kafka's estimatedTotalOperations): this minus the
  // pending ones is about how many completed ones the lists may still hold.
  std::size_t watched_operations_ = 0;
  std::size_t watched_ = 0;
  std::map<std::string, Watchers> watchers_;  // ordered: behaviour never depends on hashing
};

}  // namespace keel::purgatory
