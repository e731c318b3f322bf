#include "sim/selftest/selftest.h"

#include "net-sim/network.h"
#include "sim/node.h"
#include "sim/world.h"

#include <algorithm>
#include <chrono>
#include <map>

namespace keel::sim::selftest {

namespace {

class Recorder final : public OpRecorder {
 public:
  explicit Recorder(World& w) : world_(w) {}
  std::size_t invoke(int node, bool is_write, std::uint32_t key) override {
    OpRecord op;
    op.node = node;
    op.is_write = is_write;
    op.key = key;
    op.invoke_ns = to_ns(world_.now());
    history.push_back(op);
    return history.size() - 1;
  }
  void set_value(std::size_t i, const Versioned& v) override { history.at(i).v = v; }
  void complete(std::size_t i, bool ok) override {
    OpRecord& op = history.at(i);
    op.ok = ok;
    op.complete_ns = to_ns(world_.now());
    world_.event("RegisterOp", op.node)
        .detail("write", op.is_write)
        .detail("key", op.key)
        .detail("ok", op.ok)
        .detail("ts", op.v.ts)
        .detail("value", op.v.value);
  }
  std::uint64_t next_value() override { return ++last_value_; }
  void acknowledged(int node, std::uint32_t key, const Versioned& v) override { durability.acknowledged(node, key, v); }
  void recovered(int node, std::uint32_t key, const Versioned& v) override {
    durability.recovered(node, key, v, to_ns(world_.now()));
  }
  std::vector<OpRecord> history;
  DurabilityCheck durability;

 private:
  World& world_;
  std::uint64_t last_value_ = 0;
};

std::string describe(const OpRecord& op) {
  return fmt::format("{} key={} node={} [{}..{}] ts={} writer={} value={}", op.is_write ? "write" : "read", op.key,
                     op.node, op.invoke_ns, op.complete_ns, op.v.ts, op.v.writer, op.v.value);
}

void check_values(const std::vector<const OpRecord*>& ops, std::vector<std::string>& out) {
  std::map<std::uint64_t, const OpRecord*> writes_by_value;
  std::map<std::pair<std::uint64_t, std::uint32_t>, const OpRecord*> ok_writes_by_version;
  for (const OpRecord* op : ops) {
    if (!op->is_write || op->v.ts == 0) continue;
    writes_by_value[op->v.value] = op;
    if (!op->ok) continue;
    auto [it, fresh] = ok_writes_by_version.emplace(std::make_pair(op->v.ts, op->v.writer), op);
    if (!fresh) out.push_back(fmt::format("two writes share a version: {} and {}", describe(*it->second), describe(*op)));
  }
  for (const OpRecord* op : ops) {
    if (op->is_write || !op->ok || op->v == Versioned{}) continue;
    auto it = writes_by_value.find(op->v.value);
    if (it == writes_by_value.end() || it->second->v.ts != op->v.ts || it->second->v.writer != op->v.writer) {
      out.push_back(fmt::format("read a value never written: {}", describe(*op)));
    }
  }
}

// Real-time order: sort completed operations by completion; an operation must see at least the
// newest version among those that completed before it started.
void check_real_time(std::vector<const OpRecord*> ok_ops, std::vector<std::string>& out) {
  std::sort(ok_ops.begin(), ok_ops.end(), [](const OpRecord* a, const OpRecord* b) {
    return a->complete_ns != b->complete_ns ? a->complete_ns < b->complete_ns : a->invoke_ns < b->invoke_ns;
  });
  std::vector<const OpRecord*> newest_so_far(ok_ops.size());
  for (std::size_t i = 0; i < ok_ops.size(); ++i) {
    const OpRecord* best = i ? newest_so_far[i - 1] : nullptr;
    newest_so_far[i] = (best == nullptr || ok_ops[i]->v.newer_than(best->v)) ? ok_ops[i] : best;
  }
  for (const OpRecord* op : ok_ops) {
    auto end = std::lower_bound(ok_ops.begin(), ok_ops.end(), op->invoke_ns,
                                [](const OpRecord* a, std::int64_t t) { return a->complete_ns < t; });
    if (end == ok_ops.begin()) continue;
    const OpRecord* before = newest_so_far[static_cast<std::size_t>(end - ok_ops.begin()) - 1];
    const bool stale = op->is_write ? !op->v.newer_than(before->v) : before->v.newer_than(op->v);
    if (stale) out.push_back(fmt::format("stale {}: after {}", describe(*op), describe(*before)));
  }
}

}  // namespace

void DurabilityCheck::acknowledged(int node, std::uint32_t key, const Versioned& v) {
  Versioned& best = acked_[{node, key}];
  if (v.newer_than(best)) best = v;
}

void DurabilityCheck::recovered(int node, std::uint32_t key, const Versioned& v, std::int64_t now_ns) {
  auto it = acked_.find({node, key});
  if (it == acked_.end() || !it->second.newer_than(v)) return;
  violations_.push_back(fmt::format("lost acknowledged write: node {} acknowledged key {} at ts={} writer={} value={} "
                                    "but recovered ts={} writer={} value={} at {}ns",
                                    node, key, it->second.ts, it->second.writer, it->second.value, v.ts, v.writer,
                                    v.value, now_ns));
  it->second = v;  // report each loss once
}

std::vector<std::string> check_register_history(const std::vector<OpRecord>& history) {
  std::map<std::uint32_t, std::vector<const OpRecord*>> by_key;
  for (const auto& op : history) by_key[op.key].push_back(&op);
  std::vector<std::string> out;
  for (const auto& [key, ops] : by_key) {
    check_values(ops, out);
    std::vector<const OpRecord*> ok_ops;
    for (const OpRecord* op : ops) {
      if (op->ok) ok_ops.push_back(op);
    }
    check_real_time(std::move(ok_ops), out);
  }
  return out;
}

SelftestResult run_selftest(const SelftestOptions& options) {
  const auto wall_start = std::chrono::steady_clock::now();
  WorldOptions world_options;
  world_options.seed = options.seed;
  world_options.trace = options.trace;
  world_options.drop_stale_wakes = options.drop_stale_wakes;
  World world(world_options);
  Recorder recorder(world);
  RegisterOptions reg = options.register_options;
  reg.nodes = options.nodes;
  std::vector<int> ids;
  for (int i = 0; i < options.nodes; ++i) {
    NodeOptions node_options;
    node_options.id = i;
    SimNode& n = world.add_node(node_options);
    n.set_main([&reg, &recorder](Runtime& rt) { run_register_node(rt, reg, recorder); });
    n.start();
    ids.push_back(i);
  }
  RandomFaultOptions fo = options.fault_options;
  fo.faulty_nodes_max = std::min(fo.faulty_nodes_max, (options.nodes - 1) / 2);
  RandomFaults faults(world, ids, fo);
  if (options.faults && fo.faulty_nodes_max > 0) faults.start(world.now() + options.duration);
  world.run_for(options.duration);
  faults.heal_all();
  const std::int64_t quiesce_ns = to_ns(world.now());
  world.run_for(options.quiesce);

  SelftestResult r;
  for (const auto& op : recorder.history) {
    if (!op.ok) {
      ++r.ops_failed;
      continue;
    }
    ++r.ops_ok;
    ++(op.is_write ? r.writes_ok : r.reads_ok);
    if (op.invoke_ns >= quiesce_ns) ++r.ops_ok_after_quiesce;
  }
  r.violations = check_register_history(recorder.history);
  r.violations.insert(r.violations.end(), recorder.durability.violations().begin(),
                      recorder.durability.violations().end());
  if (r.ops_ok_after_quiesce == 0) {
    r.violations.push_back(fmt::format("liveness: no operation succeeded in the {} after every fault healed",
                                       format_duration(options.quiesce)));
  }
  if (world.trace().errors() > 0) {
    r.violations.push_back("error trace event: " + world.trace().first_error());
  }
  r.task_switches = world.tasks_run();
  r.faults = faults.counts();
  r.trace_hash = world.trace().hash();
  for (std::size_t i = 0; i < world.trace().captured_count(); ++i) r.captured.emplace_back(world.trace().captured(i));
  r.trace_events = world.trace().events();
  r.world_events = world.events_run();
  r.simulated = options.duration + options.quiesce;
  // Stop every process while the recorder and the options they point at still exist.
  for (int i = 0; i < world.node_count(); ++i) world.node(i).kill();
  r.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  return r;
}

}  // namespace keel::sim::selftest
