#include "sim/node.h"

#include "net-sim/network.h"
#include "sim/world.h"

#include <bit>
#include <cmath>

namespace keel::sim {

// ---- NodeClock ----

NodeClock::NodeClock(std::int64_t mono_offset_ns, double drift, std::int64_t wall_offset_ns)
    : base_world_ns_(0), base_local_ns_(mono_offset_ns), rate_(1.0 + drift), wall_offset_ns_(wall_offset_ns) {
  KEEL_ASSERT(rate_ > 0.5 && rate_ < 2.0);
}

namespace {
// std::floor and std::ceil for values well inside the int64 range, inline (without SSE4.1 the
// compiler calls libm for them, on every clock read): the same results.
std::int64_t floor_to_int(double x) {
  const auto i = static_cast<std::int64_t>(x);  // truncates toward zero
  return static_cast<double>(i) > x ? i - 1 : i;
}
std::int64_t ceil_to_int(double x) {
  const auto i = static_cast<std::int64_t>(x);
  return static_cast<double>(i) < x ? i + 1 : i;
}
}  // namespace

Instant NodeClock::local(Instant world) const {
  const double elapsed = static_cast<double>(to_ns(world) - base_world_ns_);
  return Instant(Duration(base_local_ns_ + floor_to_int(elapsed * rate_)));
}

Instant NodeClock::world_at(Instant local_t) const {
  if (local_t == instant_max) return instant_max;
  const std::int64_t ahead = to_ns(local_t) - base_local_ns_;
  if (ahead <= 0) return Instant(Duration(base_world_ns_));
  std::int64_t w = base_world_ns_ + ceil_to_int(static_cast<double>(ahead) / rate_);
  // Floating point may land one nanosecond short or long; settle on the first instant that works.
  while (local(Instant(Duration(w))) < local_t) ++w;
  while (w > base_world_ns_ && local(Instant(Duration(w - 1))) >= local_t) --w;
  return Instant(Duration(w));
}

WallTime NodeClock::wall(Instant world) const {
  return WallTime(Duration(to_ns(local(world)) + wall_offset_ns_));
}

void NodeClock::set_drift(Instant world_now, double drift) {
  base_local_ns_ = to_ns(local(world_now));
  base_world_ns_ = to_ns(world_now);
  rate_ = 1.0 + drift;
  KEEL_ASSERT(rate_ > 0.5 && rate_ < 2.0);
}

// ---- SimNode ----

namespace {
// Wall clocks start on 2026-01-01T00:00:00Z, give or take each node's offset.
constexpr std::int64_t kWallEpochNs = 1767225600ll * 1'000'000'000ll;

NodeClock make_clock(World& world, const NodeOptions& o) {
  Random r = world.stream(o.id, "clock");
  const double drift = (r.unit() * 2 - 1) * o.clock_drift_max;
  const std::int64_t mono_offset = static_cast<std::int64_t>(r.below(1'000'000'000'000ull));  // up to ~16 min of uptime
  const std::int64_t spread = o.clock_offset_max.count();
  const std::int64_t wall_offset = kWallEpochNs + (spread > 0 ? r.between(-spread, spread) : 0) - mono_offset;
  return NodeClock(mono_offset, drift, wall_offset);
}
}  // namespace

SimNode::SimNode(World& world, const NodeOptions& options)
    : world_(world),
      id_(options.id),
      name_(options.name.empty() ? "n" + std::to_string(options.id) : options.name),
      clock_(make_clock(world, options)) {
  disk_ = std::make_unique<SimDisk>(*this, options.disk, world.stream(options.id, "disk"));
}

SimNode::~SimNode() { runtime_.reset(); }

void SimNode::start() {
  KEEL_ASSERT_MSG(state_ == ProcessState::down, "node {} started while its process is up", id_);
  KEEL_ASSERT_MSG(powered_, "node {} started while powered off", id_);
  KEEL_ASSERT_MSG(main_ != nullptr, "node {} has no main", id_);
  ++incarnation_;
  state_ = ProcessState::running;
  world_.event("ProcessStart", id_).detail("incarnation", incarnation_);
  runtime_ = std::make_unique<SimRuntime>(*this, incarnation_);
  SimRuntime* rt = runtime_.get();
  rt->spawn("main", [this, rt] { main_(*rt); });
}

void SimNode::stop_process(const char* how) {
  world_.event("ProcessStop", id_).detail("how", how).detail("incarnation", incarnation_);
  // Cancel the tasks first: their stacks unwind and their destructors close files and
  // connections while the runtime, the disk and the network are all still there.
  runtime_->executor().cancel_all();
  runtime_.reset();
  state_ = ProcessState::down;
}

void SimNode::kill() {
  if (state_ == ProcessState::down) return;
  // The kernel outlives the process: it resets the connections and keeps the page cache.
  world_.net().process_killed(id_);
  stop_process("kill");
}

void SimNode::power_off() {
  if (!powered_) return;
  if (state_ != ProcessState::down) {
    world_.net().machine_down(id_);
    stop_process("power_off");
  } else {
    world_.net().machine_down(id_);
  }
  powered_ = false;
  disk_->crash();
  world_.event("PowerOff", id_);
}

void SimNode::power_on_and_start() {
  if (!powered_) {
    powered_ = true;
    world_.net().machine_up(id_);
    world_.event("PowerOn", id_);
  }
  start();
}

void SimNode::pause(Duration d) {
  if (state_ == ProcessState::down) return;
  const Instant until = world_.now() + d;
  if (state_ == ProcessState::paused && until <= paused_until_) return;
  state_ = ProcessState::paused;
  paused_until_ = until;
  world_.event("ProcessPause", id_).detail("until_ns", to_ns(until));
  const std::uint32_t inc = incarnation_;
  world_.at(until, [this, inc] {
    if (incarnation_ == inc && state_ == ProcessState::paused && world_.now() >= paused_until_) {
      state_ = ProcessState::running;
      world_.event("ProcessResume", id_);
    }
  });
}

// ---- SimRuntime ----

namespace {
constexpr std::string_view kTimerLate = "timer_late";
constexpr std::string_view kTaskStartLate = "task_start_late";
}  // namespace

SimRuntime::SimRuntime(SimNode& node, std::uint32_t incarnation)
    : node_(node),
      incarnation_(incarnation),
      random_(node.world().stream(node.id(), "app#" + std::to_string(incarnation))),
      buggify_random_(node.world().stream(node.id(), "buggify#" + std::to_string(incarnation))),
      timer_late_probability_(node.world().buggify_probability(kTimerLate)),
      timer_late_random_(node.world().stream(node.id(), "buggify:timer_late#" + std::to_string(incarnation))),
      task_late_probability_(node.world().buggify_probability(kTaskStartLate)),
      task_late_random_(node.world().stream(node.id(), "buggify:task_start_late#" + std::to_string(incarnation))),
      sink_(node),
      executor_(*this) {}

SimRuntime::~SimRuntime() { executor_.cancel_all(); }

Instant SimRuntime::now() const { return node_.clock().local(node_.world().now()); }
WallTime SimRuntime::wall_now() const { return node_.clock().wall(node_.world().now()); }
Disk& SimRuntime::disk() { return node_.disk(); }
Network& SimRuntime::net() { return node_.world().net().endpoint(node_.id()); }

bool SimRuntime::buggify(std::string_view site) {
  World& w = node_.world();
  const World::BuggifySite s = w.buggify_site(site);
  if (!s.enabled) return false;
  if (!buggify_random_.chance(s.probability)) return false;
  w.note_buggify_fired(site, node_.id());
  return true;
}

std::size_t SimRuntime::buggify_shorten(std::string_view site, std::size_t n) {
  if (n < 2 || !buggify(site)) return n;
  return 1 + static_cast<std::size_t>(buggify_random_.below(n - 1));
}

void SimRuntime::task_ready(TaskRef ref) {
  node_.world().schedule_task(node_.id(), incarnation_, ref, node_.world().now());
}

void SimRuntime::task_spawned(TaskRef ref) {
  World& w = node_.world();
  Instant when = w.now();
  if (task_late_probability_ > 0 && task_late_random_.chance(task_late_probability_)) {
    when += draw_late(task_late_random_, w.buggify_task_start_late_max());
    w.note_buggify_fired(kTaskStartLate, node_.id());
  }
  w.schedule_task(node_.id(), incarnation_, ref, when);
}

void SimRuntime::wake_at(Instant at, WaitToken token) {
  World& w = node_.world();
  Instant when = node_.clock().world_at(at);
  if (timer_late_probability_ > 0 && timer_late_random_.chance(timer_late_probability_)) {
    when = std::max(when, w.now()) + draw_late(timer_late_random_, w.buggify_timer_late_max());
    w.note_buggify_fired(kTimerLate, node_.id());
  }
  w.schedule_wake(node_.id(), incarnation_, token, when);
}

Duration SimRuntime::draw_late(Random& random, Duration max) {
  // Integers only. An octave of 1 us .. max, the smallest of three even draws (so small extras are
  // common and long ones rare, as FoundationDB skews its buggified delays), then a point inside it.
  const std::int64_t max_ns = std::max<std::int64_t>(max.count(), 1000);
  const auto octaves = static_cast<std::uint64_t>(std::bit_width(static_cast<std::uint64_t>(max_ns / 1000)));
  std::uint64_t octave = octaves;
  for (int i = 0; i < 3; ++i) octave = std::min(octave, random.below(octaves));
  const std::int64_t low = std::int64_t{1000} << octave;
  return Duration(std::min(max_ns, low + random.between(0, low - 1)));
}

bool SimRuntime::Sink::wants(Severity s) const { return node_.world().trace().wants(s); }

void SimRuntime::Sink::emit(Severity s, std::string_view name, std::string_view fields) {
  node_.world().trace().event(to_ns(node_.world().now()), node_.id(), s, name, fields);
}

}  // namespace keel::sim
