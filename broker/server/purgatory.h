#pragma once
// Kafka's purgatory of delayed operations: a request that cannot be answered yet (a fetch waiting for
// fetch.min.bytes, later a produce waiting for the ISR) watches some keys (partitions) and sits in the
// timer. Whoever changes a key (an append) calls check_and_complete(key); the operation completes
// then, or when its delay runs out. Either way on_complete() runs exactly once, and the task that
// created the operation, waiting in wait(), carries on to answer the request.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "broker/platform/sync.h"
#include "broker/server/timing_wheel.h"

namespace keel::server {

class DelayedOperation : public TimerTask {
 public:
  explicit DelayedOperation(Duration delay) : TimerTask(delay) {}

  // Whether it can complete now; if so it must return force_complete().
  virtual bool try_complete() = 0;
  // Runs exactly once, on completion or on expiry.
  virtual void on_complete() = 0;
  // Runs after on_complete when the delay ran out first.
  virtual void on_expiration() {}

  // Completes it unless it completed already; true for the caller that completed it.
  bool force_complete();
  bool is_completed() const { return completed_; }
  bool expired() const { return expired_; }
  // Waits for completion (by an event or by expiry); false if the deadline passed first.
  bool wait(Instant deadline = instant_max) { return done_.wait(deadline); }

  void run() final;  // the timer: expiry

 private:
  bool completed_ = false;
  bool expired_ = false;
  Event done_;
};

class DelayedOperationPurgatory {
 public:
  DelayedOperationPurgatory(std::string name, SystemTimer& timer, int purge_interval = 1000);

  // Completes the operation now if it can; otherwise watches `keys` and starts its timer. True if
  // it completed here.
  bool try_complete_else_watch(const std::shared_ptr<DelayedOperation>& op, const std::vector<std::string>& keys);
  // Tries every waiting operation of `key`; returns how many completed.
  int check_and_complete(const std::string& key);
  std::size_t watched() const;                 // watch entries, completed ones not yet purged included
  std::size_t delayed() const { return timer_.size(); }
  const std::string& name() const { return name_; }

 private:
  void purge_completed();

  std::string name_;
  SystemTimer& timer_;
  int purge_interval_;
  int added_since_purge_ = 0;
  std::map<std::string, std::vector<std::shared_ptr<DelayedOperation>>> watchers_;
};

}  // namespace keel::server
