#include "sim/world.h"

#include "net-sim/network.h"
#include "sim/node.h"

#include <algorithm>

namespace keel::sim {

// World-level events (faults, deliveries) go straight to the recorder, stamped with world time.
class World::Sink final : public TraceSink {
 public:
  Sink(World& world, int node) : world_(world), node_(node) {}
  bool wants(Severity s) const override { return world_.trace_.wants(s); }
  void emit(Severity s, std::string_view name, std::string_view fields) override {
    world_.trace_.event(to_ns(world_.now_), node_, s, name, fields);
  }

 private:
  World& world_;
  int node_;
};

World::World(WorldOptions options)
    : options_(options),
      tie_rng_(Random::derive(options.seed, ~0ull, "tie-break")),
      trace_(options.trace) {
  net_ = std::make_unique<net_sim::SimNetwork>(*this);
}

World::~World() {
  // Processes first (their tasks unwind while the network and disks still exist), then machines.
  for (auto& n : nodes_) {
    if (n->state() != ProcessState::down) n->kill();
  }
  nodes_.clear();
  net_.reset();
}

Random World::stream(std::int64_t node, std::string_view purpose) const {
  return Random::derive(options_.seed, static_cast<std::uint64_t>(node), purpose);
}

void World::push(std::int64_t time, const Event& event) {
  const std::uint64_t seq = seq_++;
  // Simultaneous events run in the order of a random draw, and in push order where two draws are
  // equal (one pair in 2^32); without random ties, in push order. Either way no two ties are equal
  // (while fewer than 2^32 events are pushed between two events of one instant).
  const std::uint64_t tie =
      options_.random_tie_break ? (tie_rng_.next() & 0xFFFF'FFFF'0000'0000ull) | (seq & 0xFFFF'FFFFull) : seq;
  queue_.push(time, tie, event, to_ns(now_));
  if (queue_.size() >= compact_at_ && options_.drop_stale_wakes) drop_stale_wakes();
}

bool World::stale(const Event& event) {
  if (event.kind != Kind::wake) return false;
  SimNode& n = *nodes_[static_cast<std::size_t>(event.node)];
  SimRuntime* rt = n.runtime();
  return rt == nullptr || n.incarnation() != event.incarnation || !rt->executor().wake_pending(event.slot, event.id);
}

// Deadlines that were not needed (the wait ended first) stay queued as wake-ups that will do
// nothing; with many timeouts in flight they would make up most of the queue. Dropping them does
// not change what runs or in which order: (time, tie, seq) is a total order fixed at push time.
void World::drop_stale_wakes() {
  queue_.drop_later_if([this](const Event& e) { return stale(e); });
  compact_at_ = std::max<std::size_t>(4096, queue_.size() * 2);
}

std::uint32_t World::store_callback(Callback cb) {
  if (!free_callbacks_.empty()) {
    const std::uint32_t i = free_callbacks_.back();
    free_callbacks_.pop_back();
    callbacks_[i] = std::move(cb);
    return i;
  }
  callbacks_.push_back(std::move(cb));
  return static_cast<std::uint32_t>(callbacks_.size() - 1);
}

void World::at(Instant t, std::function<void()> fn) {
  KEEL_ASSERT_MSG(t >= now_, "event scheduled in the past: {} < {}", to_ns(t), to_ns(now_));
  Callback cb;
  cb.fn = std::move(fn);
  push(to_ns(t), Event{Kind::callback, -1, 0, 0, store_callback(std::move(cb))});
}

void World::at(Instant t, Hook hook, void* context, std::uint64_t a, std::uint64_t b) {
  KEEL_ASSERT_MSG(t >= now_, "event scheduled in the past: {} < {}", to_ns(t), to_ns(now_));
  push(to_ns(t), Event{Kind::hook, -1, 0, 0, store_callback(Callback{nullptr, hook, context, a, b})});
}

void World::push_node_event(Kind kind, int node, std::uint32_t incarnation, std::uint32_t slot, std::uint64_t id,
                            Instant t) {
  push(std::max(to_ns(t), to_ns(now_)), Event{kind, node, incarnation, slot, id});
}

void World::schedule_task(int node, std::uint32_t incarnation, TaskRef ref, Instant t) {
  push_node_event(Kind::task, node, incarnation, ref.slot, ref.id, t);
}

void World::schedule_wake(int node, std::uint32_t incarnation, WaitToken token, Instant t) {
  push_node_event(Kind::wake, node, incarnation, token.slot, token.wait_id, t);
}

void World::run_callback(std::uint64_t index) {
  Callback cb = std::move(callbacks_[index]);
  callbacks_[index].fn = nullptr;
  free_callbacks_.push_back(static_cast<std::uint32_t>(index));
  if (cb.hook != nullptr) {
    cb.hook(cb.context, cb.a, cb.b);
  } else {
    cb.fn();
  }
}

void World::dispatch(std::int64_t time, const Event& event) {
  if (event.kind == Kind::callback || event.kind == Kind::hook) return run_callback(event.id);
  SimNode& n = *nodes_[static_cast<std::size_t>(event.node)];
  SimRuntime* rt = n.runtime();
  if (rt == nullptr || n.incarnation() != event.incarnation) return;  // that process is gone
  // A wake-up that would do nothing is dropped before a pause can requeue it, so whether
  // drop_stale_wakes() removed it earlier makes no difference to what follows.
  if (stale(event)) return;
  if (n.is_paused_at(now_)) {
    // The process is stopped: its work waits until the pause ends.
    push(to_ns(n.paused_until()), event);
    return;
  }
  Executor& ex = rt->executor();
  if (event.kind == Kind::task) {
    const TaskRef ref{event.slot, event.id};
    if (!ex.alive(ref)) return;
    trace_.task_run(time, event.node, event.id, [&ex, ref] { return std::string_view(ex.task_name(ref)); });
    ++tasks_run_;
    ex.run(ref);
  } else {
    ex.wake(WaitToken{&ex, event.slot, event.id});
  }
}

bool World::step() {
  if (queue_.empty()) return false;
  const auto [time, event] = queue_.pop();
  KEEL_ASSERT_GE(time, to_ns(now_));
  now_ = Instant(Duration(time));
  ++events_run_;
  dispatch(time, event);
  return true;
}

void World::run_until(Instant t) {
  while (!queue_.empty() && queue_.front_time() <= to_ns(t)) step();
  if (now_ < t) now_ = t;
}

bool World::run_while(const std::function<bool()>& keep_going, Instant limit) {
  while (keep_going()) {
    if (queue_.empty() || queue_.front_time() > to_ns(limit)) {
      if (now_ < limit) now_ = limit;
      return !keep_going();
    }
    step();
  }
  return true;
}

SimNode& World::add_node(const NodeOptions& options) {
  KEEL_ASSERT_MSG(options.id == static_cast<int>(nodes_.size()), "nodes are added in id order: got {}, expected {}",
                  options.id, nodes_.size());
  nodes_.push_back(std::make_unique<SimNode>(*this, options));
  SimNode& n = *nodes_.back();
  net_->add_node(n.id(), n.name());
  return n;
}

SimNode& World::node(int id) {
  KEEL_ASSERT_MSG(id >= 0 && id < static_cast<int>(nodes_.size()), "no node {}", id);
  return *nodes_[static_cast<std::size_t>(id)];
}

TraceEvent World::event(std::string_view name, int node, Severity s) {
  // One sink per node id, so that two builders alive at once keep their own node.
  const std::size_t i = static_cast<std::size_t>(node + 1);
  while (sinks_.size() <= i) sinks_.push_back(std::make_unique<Sink>(*this, static_cast<int>(sinks_.size()) - 1));
  return TraceEvent(sinks_[i].get(), s, name);
}

const std::vector<std::string>& World::known_buggify_sites() {
  static const std::vector<std::string> sites = {
      "client_metadata_late",     // broker/client
      "connection_close_after_response",  // broker/kafka
      "disk_short_read",          // sim/disk.cpp
      "fetch_partial_batch",      // broker/partition
      "fetch_small_bytes",        // broker/partition
      "fetch_wait_jitter",        // broker/partition
      "net_short_read",           // net-sim/handles.cpp
      "net_short_write",          // net-sim/handles.cpp
      "produce_high_watermark_late",  // broker/partition
      "register_compact_early",   // sim/selftest
      "storage_roll_early",       // broker/storage
      "task_start_late",          // sim/node.cpp
      "timer_late",               // sim/node.cpp
      "timer_reaper_late",        // broker/purgatory
  };
  return sites;
}

World::BuggifySite World::buggify_site(std::string_view site) const {
  const auto where = reinterpret_cast<std::uintptr_t>(site.data());
  SiteMemo& memo = site_memo_[((where >> 3) ^ site.size()) % site_memo_.size()];
  if (!memo.valid || memo.name != site) {
    memo.name.assign(site);
    memo.site = decide_buggify_site(site);
    memo.valid = true;
  }
  return memo.site;
}

World::BuggifySite World::decide_buggify_site(std::string_view site) const {
  if (!options_.buggify) return {};
  const auto& forced = options_.buggify_force_sites;
  if (!forced.empty()) {
    if (std::find(forced.begin(), forced.end(), site) == forced.end()) return {};
    return {true, options_.buggify_force_probability};
  }
  // A pure function of (seed, site): the same sites are on, at the same rates, for a seed whatever
  // runs first. Bits 0-1 decide whether the site is on, bits 2-3 its rate.
  std::uint64_t x = options_.seed ^ hash_name(site);
  const std::uint64_t h = splitmix64(x);
  if ((h & 3) != 0) return {};
  return {true, kBuggifyProbabilities[(h >> 2) & 3]};
}

void World::note_buggify_fired(std::string_view site, int node) {
  auto it = buggify_fired_.find(std::string(site));
  if (it == buggify_fired_.end()) it = buggify_fired_.emplace(std::string(site), 0).first;
  ++it->second;
  event("Buggify", node).detail("site", site);
}

}  // namespace keel::sim
