#pragma once
// The world's event queue: events ordered by (time, tie), the smallest first. The world makes
// every tie unique (a random draw in the high half and the push count in the low half, or the
// push count alone for FIFO ties), so the order is total and fixed when an event is pushed:
// removing some events (stale wake-ups) never changes the order of the others.
//
// Two heaps, one order. Most events are pushed for the current instant (a task made ready runs
// "now", after whatever else is due now); they go to a small heap of their own instead of rising
// to the root of the big one and sinking back. Every other event waits in a 4-ary heap, which is
// half as deep as a binary one. Both heaps hold 24-byte keys; the payloads sit in a slab that does
// not move while the heaps reorder.
#include "broker/base/assert.h"

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace keel::sim {

template <class Payload>
class EventQueue {
 public:
  struct Key {
    std::uint64_t tie;
    std::int64_t time;   // never negative: world time starts at zero
    std::uint32_t slot;  // where the payload is
  };

  bool empty() const { return now_.empty() && later_.empty(); }
  std::size_t size() const { return now_.size() + later_.size(); }
  std::size_t later_size() const { return later_.size(); }

  // The time of the first event; the queue must not be empty.
  std::int64_t front_time() const { return first_is_now() ? now_.front().time : later_.front().time; }

  // `now` is the world's current time: an event at `now` goes to the heap of the current instant.
  // Every event of that heap must be gone before the world's clock moves past `now`.
  // `tie` must differ from the tie of every other event of the same time.
  void push(std::int64_t time, std::uint64_t tie, const Payload& payload, std::int64_t now) {
    KEEL_ASSERT_GE(time, now);
    KEEL_ASSERT_GE(now, 0);
    const Key key{tie, time, store(payload)};
    if (time == now) {
      now_.push_back(key);
      sift_up_now(now_.size() - 1);
    } else {
      later_.push_back(key);
      sift_up_later(later_.size() - 1);
    }
  }

  // Removes the first event; returns its time and payload.
  std::pair<std::int64_t, Payload> pop() {
    KEEL_ASSERT(!empty());
    const Key key = first_is_now() ? pop_now() : pop_later();
    std::pair<std::int64_t, Payload> out{key.time, std::move(payloads_[key.slot])};
    free_.push_back(key.slot);
    return out;
  }

  // Drops every waiting event (not of the current instant) whose payload `drop` says is useless,
  // then restores the heap. The order of what stays is unchanged (it is a total order).
  template <class Pred>
  void drop_later_if(Pred drop) {
    std::size_t kept = 0;
    for (const Key& k : later_) {
      if (drop(payloads_[k.slot])) {
        free_.push_back(k.slot);
      } else {
        later_[kept++] = k;
      }
    }
    later_.resize(kept);
    for (std::size_t i = later_.size(); i-- > 0;) sift_down_later(i);
  }

 private:
  static constexpr std::size_t kArity = 4;  // min_child compares four children unrolled

  // (time, tie) as one unsigned 128-bit number: compared without a branch on random data.
  static unsigned __int128 order(const Key& k) {
    return (static_cast<unsigned __int128>(static_cast<std::uint64_t>(k.time)) << 64) | k.tie;
  }
  static bool before(const Key& a, const Key& b) { return order(a) < order(b); }

  bool first_is_now() const {
    if (now_.empty()) return false;
    return later_.empty() || before(now_.front(), later_.front());
  }

  std::uint32_t store(const Payload& p) {
    if (!free_.empty()) {
      const std::uint32_t slot = free_.back();
      free_.pop_back();
      payloads_[slot] = p;
      return slot;
    }
    payloads_.push_back(p);
    return static_cast<std::uint32_t>(payloads_.size() - 1);
  }

  // ---- the current instant: a binary heap (it rarely holds more than a few events) ----
  void sift_up_now(std::size_t i) {
    const Key k = now_[i];
    while (i > 0) {
      const std::size_t parent = (i - 1) / 2;
      if (!before(k, now_[parent])) break;
      now_[i] = now_[parent];
      i = parent;
    }
    now_[i] = k;
  }

  Key pop_now() {
    const Key top = now_.front();
    const Key last = now_.back();
    now_.pop_back();
    const std::size_t n = now_.size();
    if (n == 0) return top;
    std::size_t i = 0;
    while (true) {
      std::size_t child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && before(now_[child + 1], now_[child])) ++child;
      if (!before(now_[child], last)) break;
      now_[i] = now_[child];
      i = child;
    }
    now_[i] = last;
    return top;
  }

  // ---- later events: a 4-ary heap ----
  void sift_up_later(std::size_t i) {
    const Key k = later_[i];
    while (i > 0) {
      const std::size_t parent = (i - 1) / kArity;
      if (!before(k, later_[parent])) break;
      later_[i] = later_[parent];
      i = parent;
    }
    later_[i] = k;
  }

  std::size_t smaller(std::size_t a, std::size_t b) const { return before(later_[b], later_[a]) ? b : a; }

  // The smallest of i's children, or n when i has none.
  std::size_t min_child(std::size_t i, std::size_t n) const {
    const std::size_t first = kArity * i + 1;
    if (first + kArity <= n) [[likely]] {
      return smaller(smaller(first, first + 1), smaller(first + 2, first + 3));
    }
    if (first >= n) return n;
    std::size_t best = first;
    for (std::size_t c = first + 1; c < n; ++c) best = smaller(best, c);
    return best;
  }

  void sift_down_later(std::size_t i) {
    const std::size_t n = later_.size();
    const Key k = later_[i];
    while (true) {
      const std::size_t c = min_child(i, n);
      if (c == n || !before(later_[c], k)) break;
      later_[i] = later_[c];
      i = c;
    }
    later_[i] = k;
  }

  // Floyd's pop: the hole left by the first event sinks along the smaller children to a leaf
  // (no comparison with the element that will fill it, which belongs near the bottom anyway),
  // and the last element rises from there.
  Key pop_later() {
    const Key top = later_.front();
    const Key last = later_.back();
    later_.pop_back();
    const std::size_t n = later_.size();
    if (n == 0) return top;
    std::size_t hole = 0;
    for (std::size_t c = min_child(hole, n); c != n; c = min_child(hole, n)) {
      later_[hole] = later_[c];
      hole = c;
    }
    later_[hole] = last;
    sift_up_later(hole);
    return top;
  }

  std::vector<Key> now_;
  std::vector<Key> later_;
  std::vector<Payload> payloads_;
  std::vector<std::uint32_t> free_;
};

}  // namespace keel::sim
