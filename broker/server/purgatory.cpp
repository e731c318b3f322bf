#include "broker/server/purgatory.h"

#include <algorithm>

namespace keel::server {

bool DelayedOperation::force_complete() {
  if (completed_) return false;
  completed_ = true;
  cancel();  // leaves the timer
  on_complete();
  done_.set();
  return true;
}

void DelayedOperation::run() {
  if (completed_) return;
  expired_ = true;
  if (force_complete()) on_expiration();
}

DelayedOperationPurgatory::DelayedOperationPurgatory(std::string name, SystemTimer& timer, int purge_interval)
    : name_(std::move(name)), timer_(timer), purge_interval_(purge_interval) {}

bool DelayedOperationPurgatory::try_complete_else_watch(const std::shared_ptr<DelayedOperation>& op,
                                                        const std::vector<std::string>& keys) {
  if (op->try_complete()) return true;
  for (const auto& key : keys) {
    if (op->is_completed()) return false;
    watchers_[key].push_back(op);
  }
  // Something may have changed between the first try and the watching (nothing suspends here, but
  // try_complete of a later operation kind might): try once more, as Kafka does.
  if (op->try_complete()) return true;
  if (!op->is_completed()) timer_.add(op);
  if (++added_since_purge_ >= purge_interval_) purge_completed();
  return false;
}

int DelayedOperationPurgatory::check_and_complete(const std::string& key) {
  auto it = watchers_.find(key);
  if (it == watchers_.end()) return 0;
  // try_complete may complete operations of this list: work on a copy, then drop the completed.
  const auto ops = it->second;
  int completed = 0;
  for (const auto& op : ops) {
    if (!op->is_completed() && op->try_complete()) ++completed;
  }
  it = watchers_.find(key);
  if (it != watchers_.end()) {
    std::erase_if(it->second, [](const auto& op) { return op->is_completed(); });
    if (it->second.empty()) watchers_.erase(it);
  }
  return completed;
}

std::size_t DelayedOperationPurgatory::watched() const {
  std::size_t n = 0;
  for (const auto& [key, ops] : watchers_) n += ops.size();
  return n;
}

void DelayedOperationPurgatory::purge_completed() {
  added_since_purge_ = 0;
  for (auto it = watchers_.begin(); it != watchers_.end();) {
    std::erase_if(it->second, [](const auto& op) { return op->is_completed(); });
    it = it->second.empty() ? watchers_.erase(it) : std::next(it);
  }
}

}  // namespace keel::server
