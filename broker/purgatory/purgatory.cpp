#include "broker/purgatory/purgatory.h"

#include <algorithm>

#include "broker/base/assert.h"

namespace keel::purgatory {

// ---- DelayedOperation ----

bool DelayedOperation::force_complete() {
  if (completed_) return false;
  completed_ = true;
  // Cancelling may drop the timer's reference, and on_complete may drop the watchers': keep this
  // alive to the end.
  const std::shared_ptr<TimerTask> keep = weak_from_this().lock();
  cancel();
  if (pending_count_ != nullptr) {
    KEEL_ASSERT(*pending_count_ > 0);
    --*pending_count_;
    pending_count_.reset();
  }
  on_complete();
  done_.set();
  return true;
}

void DelayedOperation::run() {
  if (completed_) return;
  expired_ = true;
  on_expiration();
  (void)force_complete();
}

Status DelayedOperation::wait(Instant deadline) {
  if (done_.wait(deadline)) return {};
  return make_error(Errc::timed_out, "the delayed operation did not complete by the deadline");
}

// ---- DelayedOperationPurgatory ----

DelayedOperationPurgatory::DelayedOperationPurgatory(std::string name, SystemTimer& timer, int purge_interval)
    : name_(std::move(name)), timer_(timer), purge_interval_(static_cast<std::size_t>(std::max(0, purge_interval))) {}

bool DelayedOperationPurgatory::try_complete_else_watch(std::shared_ptr<DelayedOperation> op,
                                                        const std::vector<std::string>& keys) {
  KEEL_ASSERT(op != nullptr);
  KEEL_ASSERT_MSG(op->pending_count_ == nullptr && !op->scheduled(), "purgatory {}: an operation is added twice", name_);
  if (op->try_complete()) {
    KEEL_ASSERT_MSG(op->is_completed(), "purgatory {}: try_complete() returned true without force_complete()", name_);
    return true;
  }
  if (op->is_completed()) return true;
  for (const auto& key : keys) {
    watchers_[key].push_back(op);
    ++watched_;
  }
  if (!keys.empty()) ++watched_operations_;
  op->pending_count_ = pending_;
  ++*pending_;
  timer_.add(op);
  maybe_purge();
  return false;
}

int DelayedOperationPurgatory::check_and_complete(const std::string& key) {
  auto it = watchers_.find(key);
  if (it == watchers_.end()) return 0;
  // A copy: completing one may call back into this purgatory and change the lists.
  const Watchers ops = it->second;
  int completed = 0;
  for (const auto& op : ops) {
    if (op->is_completed() || !op->try_complete()) continue;
    KEEL_ASSERT_MSG(op->is_completed(), "purgatory {}: try_complete() returned true without force_complete()", name_);
    ++completed;
  }
  it = watchers_.find(key);
  if (it != watchers_.end()) {
    remove_completed(it->second);
    if (it->second.empty()) watchers_.erase(it);
  }
  maybe_purge();
  return completed;
}

std::size_t DelayedOperationPurgatory::remove_completed(Watchers& watchers) {
  const auto end = std::remove_if(watchers.begin(), watchers.end(), [](const auto& op) { return op->is_completed(); });
  const auto removed = static_cast<std::size_t>(watchers.end() - end);
  watchers.erase(end, watchers.end());
  KEEL_ASSERT(watched_ >= removed);
  watched_ -= removed;
  return removed;
}

std::size_t DelayedOperationPurgatory::purge_completed() {
  std::size_t removed = 0;
  for (auto it = watchers_.begin(); it != watchers_.end();) {
    removed += remove_completed(it->second);
    it = it->second.empty() ? watchers_.erase(it) : std::next(it);
  }
  watched_operations_ = *pending_;
  return removed;
}

void DelayedOperationPurgatory::maybe_purge() {
  if (watched_operations_ > *pending_ + purge_interval_) (void)purge_completed();
}

}  // namespace keel::purgatory
