#include "sim/workload/group_workload.h"

#include "broker/base/assert.h"
#include "broker/client/admin.h"
#include "broker/client/group_consumer.h"
#include "broker/platform/sync.h"
#include "sim/node.h"
#include "sim/world.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <deque>
#include <memory>
#include <set>

namespace keel::sim::workload {

namespace {

using scenario::CommitMode;
using scenario::GroupProtocolKind;
using scenario::GroupSpec;
using scenario::MemberAction;
using scenario::MemberBehaviour;

// After recovery the members have this long to process every acknowledged record, and the group
// then at least this long to be described Stable with exactly the running members (see settle_bound).
constexpr Duration catch_up_max = 60s;
constexpr Duration settle_max = 30s;
// How long a KIP-848 member whose static instance id is still held (UNRELEASED_INSTANCE_ID, after a
// crash: until the coordinator's session timeout removes the old instance) waits before it tries
// again with a fresh consumer, as a restarting process would.
constexpr Duration unreleased_backoff = 1s;

bool consumer_protocol(const GroupSpec& spec) { return spec.protocol == GroupProtocolKind::consumer; }

// How long the group may take to settle once everything runs again. KIP-848: a member that died is
// removed after the coordinator's session timeout, one that does not release what it must is fenced
// after its rebalance timeout, and the epochs travel with heartbeats, a few intervals more.
Duration settle_bound(const GroupSpec& spec) {
  if (!consumer_protocol(spec)) return settle_max;
  return std::max(settle_max, spec.session_timeout + spec.rebalance_timeout + 3 * spec.heartbeat_interval);
}
// How many recent polls an automatic commit's outcome is matched against.
constexpr std::size_t sent_from_max = 64;

std::int64_t now_ns(const Context& ctx) { return to_ns(ctx.world.now()); }

std::string instance_id(const GroupSpec& spec, int slot) { return fmt::format("{}-{}", spec.group_id, slot); }

// The state of one group shared by its tasks (and kept alive by them when the client node dies).
struct Slot {
  std::deque<MemberBehaviour> mailbox;  // actions for the member's task, in order
  bool up = false;                      // a consumer exists
  bool paused = false;                  // its process is stopped (a pause): not a live member
  std::string member_id;                // the running consumer's member id
};

struct GroupRun {
  const GroupSpec& spec;
  GroupHistory& history;
  std::vector<Slot> slots;
  bool finished = false;  // the snapshot is taken: the members stop
};

// A poll or close call: when it started, with which identity, and the positions an automatic commit
// sent from it would carry.
struct SentFrom {
  std::int64_t at_ns = 0;
  std::string member_id;
  std::int32_t generation = -1;
  std::map<TopicPartition, std::int64_t> positions;
};

// Records one incarnation of a member (a process) into the group's history.
class Recorder {
 public:
  Recorder(Context& ctx, GroupRun& g, int slot, int process)
      : ctx_(ctx), g_(g), slot_(slot), process_(process) {}

  void attach(client::GroupConsumer& c) { consumer_ = &c; }

  client::GroupListener listener() {
    client::GroupListener l;
    l.on_assigned = [this](const std::vector<TopicPartition>& tps, std::int32_t gen) { assigned(tps, gen); };
    l.on_revoked = [this](const std::vector<TopicPartition>& tps, std::int32_t gen) {
      event(MemberEvent::Kind::revoked, gen, tps);
    };
    l.on_lost = [this](const std::vector<TopicPartition>& tps) { event(MemberEvent::Kind::lost, -1, tps); };
    if (g_.spec.commit == CommitMode::auto_commit) {
      l.on_commit = [this](const client::OffsetMap& offsets, const Status& st) { auto_committed(offsets, st); };
    }
    return l;
  }

  // What the member's positions are now (the offsets a commit of everything would carry).
  std::map<TopicPartition, std::int64_t> positions() const {
    std::map<TopicPartition, std::int64_t> out;
    for (const auto& tp : consumer_->assignment()) {
      if (auto p = consumer_->position(tp)) out[tp] = *p;
    }
    return out;
  }

  // Before each poll or close: the identity and positions an automatic commit sent from it carries.
  void note_call() {
    sent_from_.push_back({now_ns(ctx_), consumer_->member_id(), consumer_->generation(), positions()});
    if (sent_from_.size() > sent_from_max) {
      sent_from_.pop_front();
      if (reported_through_ > 0) --reported_through_;
    }
  }

  void processed(const std::vector<client::ConsumerRecord>& records) {
    std::map<TopicPartition, std::int64_t> first;
    for (const auto& r : records) {
      current().processed.push_back({r.topic_partition, r.offset, now_ns(ctx_)});
      if (!first.contains(r.topic_partition)) first[r.topic_partition] = r.offset;
    }
    note_start_positions(first);
  }

  // A crash ends the incarnation's membership even when it owned nothing at that moment (an eager
  // member between its revoke and its next assignment): recorded as a loss either way.
  void crashed() {
    if (index_ == SIZE_MAX) return;  // never in the group
    event(MemberEvent::Kind::lost, -1, std::vector<TopicPartition>(owned_.begin(), owned_.end()));
  }

  // A commit the workload sends: returns the entry's (member, commit) index for its outcome.
  std::pair<std::size_t, std::size_t> invoke_commit(const std::map<TopicPartition, std::int64_t>& offsets) {
    Commit c;
    c.invoke_ns = now_ns(ctx_);
    c.member_id = consumer_->member_id();
    c.generation = consumer_->generation();
    c.offsets = offsets;
    c.outcome = CommitOutcome::info;
    GroupMember& m = current();
    m.commits.push_back(std::move(c));
    return {index_, m.commits.size() - 1};
  }

  // The outcome of the commit at `at`. The member's rebalance task may change its identity while a
  // commit waits (JoinGroup's answer), and a retry then carries the new one: acknowledged with an
  // identity other than the one recorded, it is indeterminate.
  static void complete_commit(GroupHistory& h, std::pair<std::size_t, std::size_t> at, const Status& st, std::int64_t t,
                              const client::GroupConsumer& now) {
    Commit& c = h.members[at.first].commits[at.second];
    c.complete_ns = t;
    if (st && c.member_id == now.member_id() && c.generation == now.generation()) {
      c.outcome = CommitOutcome::ok;
      return;
    }
    if (st) {
      c.outcome = CommitOutcome::info;
      c.error = fmt::format("acknowledged, but the member is now {} at generation {}", now.member_id(), now.generation());
      return;
    }
    c.error = st.error().message;
    // Indeterminate even with a Kafka error: the consumer asks again after a broken connection or a
    // moved coordinator and reports the last answer, so an earlier attempt may have landed.
    c.outcome = CommitOutcome::info;
  }

  // Automatic commits still in flight when the consumer goes (their outcome never reported): each
  // call since the last reported one that moved the positions may have sent one.
  void flush_unreported() {
    if (g_.spec.commit != CommitMode::auto_commit) return;
    const std::map<TopicPartition, std::int64_t>* previous = nullptr;
    for (std::size_t i = reported_through_; i < sent_from_.size(); ++i) {
      const SentFrom& s = sent_from_[i];
      if (!s.positions.empty() && (!previous || *previous != s.positions)) {
        Commit c;
        c.invoke_ns = s.at_ns;
        c.member_id = s.member_id;
        c.generation = s.generation;
        c.offsets = s.positions;
        c.outcome = CommitOutcome::info;
        member_for(s.member_id).commits.push_back(std::move(c));
      }
      previous = &s.positions;
    }
  }

 private:
  GroupMember& current() {
    const std::string& id = consumer_->member_id();
    if (index_ != SIZE_MAX && g_.history.members[index_].member_id == id) return g_.history.members[index_];
    GroupMember m;
    m.process = process_;
    m.member_id = id;
    if (g_.spec.static_members) m.instance_id = instance_id(g_.spec, slot_);
    g_.history.members.push_back(std::move(m));
    index_ = g_.history.members.size() - 1;
    g_.slots[static_cast<std::size_t>(slot_)].member_id = id;
    return g_.history.members[index_];
  }

  void event(MemberEvent::Kind kind, std::int32_t gen, const std::vector<TopicPartition>& tps) {
    current().events.push_back({kind, now_ns(ctx_), gen, tps});
    if (kind == MemberEvent::Kind::assigned) {
      owned_.insert(tps.begin(), tps.end());
      return;
    }
    if (kind == MemberEvent::Kind::lost) owned_.clear();
    for (const auto& tp : tps) {
      owned_.erase(tp);
      unstarted_.erase(tp);
    }
  }

  void assigned(const std::vector<TopicPartition>& tps, std::int32_t gen) {
    event(MemberEvent::Kind::assigned, gen, tps);
    for (const auto& tp : tps) unstarted_[tp] = now_ns(ctx_);
  }

  // Where each newly assigned partition started: the first record polled from it, else its position
  // once it has one. Above 0 it came from the group's committed offset (an offset read).
  void note_start_positions(const std::map<TopicPartition, std::int64_t>& first) {
    for (auto it = unstarted_.begin(); it != unstarted_.end();) {
      std::optional<std::int64_t> start;
      if (auto f = first.find(it->first); f != first.end()) start = f->second;
      else start = consumer_->position(it->first);
      if (!start) {
        ++it;
        continue;
      }
      if (*start > 0) current().offset_reads.push_back({it->second, now_ns(ctx_), {{it->first, *start}}});
      it = unstarted_.erase(it);
    }
  }

  // An automatic commit (or the one before a revoke): sent from one of the latest calls whose
  // positions are its offsets (the earliest of them: positions move only by processing, so they all
  // had processed the same); unmatched, it is indeterminate from the incarnation's first call.
  void auto_committed(const client::OffsetMap& offsets, const Status& st) {
    std::map<TopicPartition, std::int64_t> map(offsets.begin(), offsets.end());
    const SentFrom* from = nullptr;
    std::size_t i = sent_from_.size();
    while (i > 0 && !agree(sent_from_[i - 1].positions, map)) --i;
    const std::size_t last_match = i;
    while (i > 0 && agree(sent_from_[i - 1].positions, map)) {
      from = &sent_from_[i - 1];
      --i;
    }
    if (from) reported_through_ = std::max(reported_through_, last_match);
    Commit c;
    c.invoke_ns = from ? from->at_ns : first_call_ns();
    c.member_id = from ? from->member_id : consumer_->member_id();
    c.generation = from ? from->generation : consumer_->generation();
    c.offsets = std::move(map);
    GroupMember& m = member_for(c.member_id);
    m.commits.push_back(std::move(c));
    complete_commit(g_.history, {static_cast<std::size_t>(&m - g_.history.members.data()), m.commits.size() - 1}, st,
                    now_ns(ctx_), *consumer_);
    // Sent from a call only roughly known (or none): acknowledged, but not pinned to what the member
    // had processed or which identity it carried, so indeterminate for the checks.
    if ((!from || from->positions != m.commits.back().offsets) && m.commits.back().outcome == CommitOutcome::ok) {
      m.commits.back().outcome = CommitOutcome::info;
    }
  }

  // Whether a commit of `offsets` may have been sent from a call that saw `positions`: the same
  // offsets where both name a partition (a partition positioned within the call is in the commit
  // only, one revoked within it in the call's positions only), and some partition in common.
  static bool agree(const std::map<TopicPartition, std::int64_t>& positions,
                    const std::map<TopicPartition, std::int64_t>& offsets) {
    bool common = false;
    for (const auto& [tp, o] : offsets) {
      auto it = positions.find(tp);
      if (it == positions.end()) continue;
      if (it->second != o) return false;
      common = true;
    }
    return common;
  }

  GroupMember& member_for(const std::string& id) {
    for (std::size_t i = g_.history.members.size(); i-- > 0;) {
      auto& m = g_.history.members[i];
      if (m.process == process_ && m.member_id == id) return m;
    }
    return current();
  }

  std::int64_t first_call_ns() const { return sent_from_.empty() ? 0 : sent_from_.front().at_ns; }

  Context& ctx_;
  GroupRun& g_;
  int slot_;
  int process_;
  client::GroupConsumer* consumer_ = nullptr;
  std::size_t index_ = SIZE_MAX;  // the current incarnation's entry in history.members
  std::set<TopicPartition> owned_;
  std::map<TopicPartition, std::int64_t> unstarted_;  // assigned, start not yet seen -> when assigned
  std::deque<SentFrom> sent_from_;
  std::size_t reported_through_ = 0;  // sent_from_ below this index sent nothing still unreported
};

client::GroupConsumerConfig consumer_config(const Context& ctx, const GroupSpec& spec, int slot, int process) {
  client::GroupConsumerConfig c;
  c.consumer.bootstrap_servers = ctx.bootstrap;
  c.consumer.client_id = fmt::format("{}-member-{}-{}", spec.group_id, slot, process);
  c.consumer.fetch_max_wait = 200ms;
  c.consumer.request_timeout = spec.request_timeout;
  c.consumer.default_api_timeout = spec.request_timeout * 2;
  c.consumer.auto_offset_reset = client::ConsumerConfig::Reset::earliest;
  c.group_id = spec.group_id;
  if (spec.static_members) c.group_instance_id = instance_id(spec, slot);
  if (consumer_protocol(spec)) {
    c.group_protocol = client::GroupProtocol::consumer;
    c.remote_assignor = spec.assignor;
  } else {
    c.assignors.clear();
    for (const auto& name : spec.assignors) c.assignors.push_back(*client::assignors::assignor_by_name(name));
  }
  c.session_timeout = spec.session_timeout;
  c.heartbeat_interval = spec.heartbeat_interval;
  c.rebalance_timeout = spec.rebalance_timeout;
  c.enable_auto_commit = spec.commit == CommitMode::auto_commit;
  c.auto_commit_interval = spec.auto_commit_interval;
  return c;
}

void commit_processed(GroupRun& g, Recorder& rec, client::GroupConsumer& c, Context& ctx) {
  auto offsets = rec.positions();
  if (offsets.empty()) return;
  const auto at = rec.invoke_commit(offsets);
  if (g.spec.commit == CommitMode::sync) {
    const Status st = c.commit_sync(client::OffsetMap(offsets.begin(), offsets.end()));
    Recorder::complete_commit(g.history, at, st, now_ns(ctx), c);
    return;
  }
  c.commit_async([&h = g.history, &ctx, at, &c](const client::OffsetMap&, const Status& st) {
    Recorder::complete_commit(h, at, st, now_ns(ctx), c);
  });
}

// Why an incarnation ended, and when the member starts again (never: until a join arrives).
struct Ended {
  std::optional<Duration> down_for;
  bool finished = false;
};

// The member's process stops for `d` (a pause): no polls, no heartbeats. Resumed, the application
// first commits what it had processed, with the identity it had (a zombie's commit, as a process
// resuming in the middle of its loop sends; the coordinator must refuse it), then goes back to
// polling, where it learns it was fenced, loses its partitions and joins again. With automatic
// commits the zombie's commit is the one its first poll sends.
void pause(Runtime& rt, Context& ctx, GroupRun& g, Slot& s, Recorder& rec, client::GroupConsumer& c, Duration d) {
  s.paused = true;
  c.freeze_until(rt.now() + d);
  rt.sleep_for(d);
  s.paused = false;
  if (g.spec.commit != CommitMode::auto_commit) commit_processed(g, rec, c, ctx);
}

// Acts on one action from the mailbox; returns how the incarnation ends, if it does.
std::optional<Ended> act(Runtime& rt, Context& ctx, GroupRun& g, Slot& s, Recorder& rec,
                         std::unique_ptr<client::GroupConsumer>& c, const MemberBehaviour& b) {
  switch (b.action) {
    case MemberAction::join: return std::nullopt;  // already running
    case MemberAction::slow: rt.sleep_for(b.duration); return std::nullopt;
    case MemberAction::pause: pause(rt, ctx, g, s, rec, *c, b.duration); return std::nullopt;
    case MemberAction::leave: {
      rec.note_call();
      (void)c->close();
      return Ended{};
    }
    case MemberAction::crash: rec.crashed(); return Ended{};
    case MemberAction::restart:
      // A KIP-848 static member restarts as Kafka's do: it closes (leaving with epoch -2, so its
      // instance id keeps its partitions) and the new process takes the instance id over. A crash
      // would leave the id held until the session timeout (UNRELEASED_INSTANCE_ID meanwhile).
      if (consumer_protocol(g.spec) && g.spec.static_members) {
        rec.note_call();
        (void)c->close();
      } else {
        rec.crashed();
      }
      return Ended{b.duration};
  }
  KEEL_UNREACHABLE();
}

// One consumer's life: poll, process, commit, until an action or the end stops it.
Ended live(Runtime& rt, Context& ctx, GroupRun& g, int slot, Recorder& rec, std::unique_ptr<client::GroupConsumer>& c) {
  Slot& s = g.slots[static_cast<std::size_t>(slot)];
  while (!g.finished) {
    if (!s.mailbox.empty()) {
      const MemberBehaviour b = s.mailbox.front();
      s.mailbox.pop_front();
      if (auto ended = act(rt, ctx, g, s, rec, c, b)) return *ended;
    }
    rec.note_call();
    auto records = c->poll(g.spec.poll_timeout);
    if (!records) {
      // Fenced (another process took the instance id) or a batch that does not decode: this
      // process is done; its member starts again only when told to.
      const auto code = client::kafka_error_code(records.error());
      if (code == protocol::ErrorCode::fenced_instance_id) return Ended{};
      if (code == protocol::ErrorCode::unreleased_instance_id) return Ended{unreleased_backoff};
      rt.sleep_for(100ms);
      continue;
    }
    rec.processed(*records);
    if (!records->empty() && g.spec.commit != CommitMode::auto_commit) commit_processed(g, rec, *c, ctx);
  }
  return Ended{std::nullopt, true};
}

Ended run_incarnation(Runtime& rt, Context& ctx, GroupRun& g, int slot) {
  const int process = ctx.next_process++;
  Recorder rec(ctx, g, slot, process);
  auto c = std::make_unique<client::GroupConsumer>(rt, consumer_config(ctx, g.spec, slot, process));
  rec.attach(*c);
  c->subscribe(g.spec.topics, rec.listener());
  const Ended ended = live(rt, ctx, g, slot, rec, c);
  rec.note_call();  // the positions an automatic commit sent in the last call carried
  rec.flush_unreported();
  return ended;
}

// The member's task: down until its first join (if scripted), then incarnations until the end.
void run_slot(Runtime& rt, Context& ctx, std::shared_ptr<GroupRun> g, int slot, bool starts_up) {
  Slot& s = g->slots[static_cast<std::size_t>(slot)];
  std::optional<std::int64_t> start_at = starts_up ? std::optional<std::int64_t>(now_ns(ctx)) : std::nullopt;
  while (!g->finished) {
    const bool join = !s.mailbox.empty() && s.mailbox.front().action == MemberAction::join;
    if (join) s.mailbox.pop_front();
    if (!join && (!start_at || now_ns(ctx) < *start_at)) {
      if (!s.mailbox.empty()) s.mailbox.pop_front();  // an action for a member that is down: nothing to do
      rt.sleep_for(100ms);
      continue;
    }
    s.up = true;
    const Ended ended = run_incarnation(rt, ctx, *g, slot);
    s.up = false;
    s.member_id.clear();
    if (ended.finished) return;
    start_at = ended.down_for ? std::optional<std::int64_t>(now_ns(ctx) + ended.down_for->count()) : std::nullopt;
  }
}

void deliver(GroupRun& g, const MemberBehaviour& b) { g.slots[static_cast<std::size_t>(b.member)].mailbox.push_back(b); }

// The scripted behaviours at their times, random ones drawn from the seed, and at the end of the main
// phase a join for every member that is down.
void run_schedule(Runtime& rt, Context& ctx, std::shared_ptr<GroupRun> g, std::int64_t start_ns) {
  const GroupSpec& spec = g->spec;
  Random rng = ctx.world.stream(ctx.client_node, fmt::format("group-{}", spec.group_id));
  std::deque<MemberBehaviour> due(spec.behaviours.begin(), spec.behaviours.end());
  std::int64_t next_random = INT64_MAX;
  const auto draw_next = [&] {
    if (spec.random.per_minute <= 0 || spec.random.actions.empty()) return;
    const double gap_s = -std::log(1.0 - rng.unit()) * 60.0 / spec.random.per_minute;
    next_random = now_ns(ctx) + static_cast<std::int64_t>(gap_s * 1e9);
  };
  draw_next();
  while (now_ns(ctx) < ctx.main_end_ns) {
    while (!due.empty() && start_ns + due.front().at.count() <= now_ns(ctx)) {
      deliver(*g, due.front());
      due.pop_front();
    }
    if (now_ns(ctx) >= next_random) {
      MemberBehaviour b;
      b.member = static_cast<int>(rng.below(static_cast<std::uint64_t>(spec.members)));
      b.action = spec.random.actions[rng.below(spec.random.actions.size())];
      b.duration = b.action == MemberAction::restart && (rng.below(2) == 0) ? spec.random.down : spec.random.duration;
      deliver(*g, b);
      if (b.action == MemberAction::leave || b.action == MemberAction::crash) {
        due.push_back({Duration(now_ns(ctx) - start_ns) + spec.random.down, b.member, MemberAction::join, {}});
        std::stable_sort(due.begin(), due.end(), [](const auto& x, const auto& y) { return x.at < y.at; });
      }
      draw_next();
    }
    rt.sleep_for(100ms);
  }
  for (int i = 0; i < spec.members; ++i) deliver(*g, {Duration(0), i, MemberAction::join, {}});
}

// Whether every record acknowledged so far (main phase) on the group's partitions was processed.
bool caught_up(const Context& ctx, const GroupHistory& h) {
  std::set<std::pair<TopicPartition, std::int64_t>> done;
  for (const auto& m : h.members) {
    for (const auto& p : m.processed) done.insert({p.partition, p.offset});
  }
  for (const Op& op : ctx.history.ops) {
    if (op.type != OpType::send || op.phase != Phase::main || op.status != OpStatus::ok || !op.offset) continue;
    const auto& [topic, partition] = ctx.keys.all()[static_cast<std::size_t>(op.key)];
    if (!h.partition_counts.contains(topic)) continue;
    if (!done.contains({TopicPartition{topic, partition}, *op.offset})) return false;
  }
  return true;
}

std::set<std::string> running_members(const GroupRun& g) {
  std::set<std::string> out;
  for (const auto& s : g.slots) {
    if (s.up && !s.paused && !s.member_id.empty()) out.insert(s.member_id);
  }
  return out;
}

std::vector<TopicPartition> subscribed_partitions(const GroupHistory& h) {
  std::vector<TopicPartition> out;
  for (const auto& [topic, n] : h.partition_counts) {
    for (std::int32_t p = 0; p < n; ++p) out.push_back(TopicPartition{topic, p});
  }
  return out;
}

// A KIP-848 group as ConsumerGroupDescribe shows it: what each member owns now and subscribes to.
bool describe_consumer_group(client::Admin& admin, const GroupRun& g, GroupSnapshot& s) {
  auto d = admin.describe_consumer_group(g.spec.group_id);
  if (!d) return false;
  s.state = d->state;
  for (const auto& m : d->members) {
    s.assignment[m.member_id] = m.assignment;
    s.subscriptions[m.member_id] = std::set<std::string>(m.subscribed_topic_names.begin(), m.subscribed_topic_names.end());
  }
  return true;
}

// One look at the group: described, and who runs, before and after.
std::optional<GroupSnapshot> describe_once(Context& ctx, client::Admin& admin, const GroupRun& g) {
  const auto before = running_members(g);
  GroupSnapshot s;
  s.at_ns = now_ns(ctx);
  if (consumer_protocol(g.spec)) {
    if (!describe_consumer_group(admin, g, s)) return std::nullopt;
  } else {
    auto d = admin.describe_group(g.spec.group_id);
    if (!d) return std::nullopt;
    s.state = d->state;
    for (const auto& m : d->members) {
      s.assignment[m.member_id] = m.assignment;
      s.subscriptions[m.member_id] = std::set<std::string>(g.spec.topics.begin(), g.spec.topics.end());
    }
  }
  s.live_members = before;
  if (running_members(g) != before) return std::nullopt;
  return s;
}

// The group's committed offsets once its members stopped and their last commits had time to land:
// nothing commits while they are read, so the read is at one instant for the checks.
void read_committed(Runtime& rt, Context& ctx, client::Admin& admin, GroupRun& g, GroupSnapshot& s, std::int64_t end) {
  g.finished = true;
  while (std::any_of(g.slots.begin(), g.slots.end(), [](const Slot& x) { return x.up; })) rt.sleep_for(100ms);
  rt.sleep_for(g.spec.request_timeout);
  do {
    const std::int64_t at = now_ns(ctx);
    auto committed = admin.committed_offsets(g.spec.group_id, subscribed_partitions(g.history));
    if (committed) {
      s.at_ns = at;
      for (const auto& tp : subscribed_partitions(g.history)) {
        auto it = committed->find(tp);
        s.committed[tp] = it == committed->end() ? -1 : it->second;
      }
      return;
    }
    rt.sleep_for(500ms);
  } while (now_ns(ctx) < end);
}

// Stable with exactly the running members, every subscribed partition held once: a cooperative
// group is Stable between the rebalance that revokes and the one that hands the partitions over.
bool settled(const GroupSnapshot& s, const GroupHistory& h) {
  std::set<std::string> described;
  std::multiset<TopicPartition> held;
  for (const auto& [id, tps] : s.assignment) {
    described.insert(id);
    held.insert(tps.begin(), tps.end());
  }
  const auto all = subscribed_partitions(h);
  return s.state == "Stable" && described == s.live_members && held == std::multiset<TopicPartition>(all.begin(), all.end());
}

// After recovery: the members catch up, then the group is described until it has settled.
void take_snapshot(Runtime& rt, Context& ctx, GroupRun& g) {
  while (now_ns(ctx) < ctx.recover_ns) rt.sleep_for(Duration(ctx.recover_ns - now_ns(ctx)) + 1ms);
  const std::int64_t catch_up_end = now_ns(ctx) + catch_up_max.count();
  while (now_ns(ctx) < catch_up_end && !caught_up(ctx, g.history)) rt.sleep_for(500ms);
  client::Admin admin(rt, ctx.bootstrap, 5s);
  const std::int64_t settle_end = now_ns(ctx) + settle_bound(g.spec).count();
  std::optional<GroupSnapshot> last;
  while (now_ns(ctx) < settle_end) {
    if (auto s = describe_once(ctx, admin, g)) {
      const bool done = settled(*s, g.history);
      last = std::move(s);
      if (done) break;
    }
    rt.sleep_for(500ms);
  }
  if (last) read_committed(rt, ctx, admin, g, *last, settle_end + settle_bound(g.spec).count());
  g.history.quiescent = std::move(last);
  g.finished = true;
}

void run_group(Runtime& rt, Context& ctx, std::shared_ptr<GroupRun> g, const std::shared_ptr<WaitGroup>& wg) {
  const std::int64_t start_ns = now_ns(ctx);
  const auto spawn = [&](std::string name, std::function<void()> fn) {
    wg->add();
    rt.spawn(std::move(name), [wg, fn = std::move(fn)] {
      struct Done {
        WaitGroup& w;
        ~Done() { w.done(); }
      } done{*wg};
      fn();
    });
  };
  for (int i = 0; i < g->spec.members; ++i) {
    const bool late = std::any_of(g->spec.behaviours.begin(), g->spec.behaviours.end(), [&](const MemberBehaviour& b) {
      return b.member == i && b.action == MemberAction::join &&
             std::none_of(g->spec.behaviours.begin(), g->spec.behaviours.end(),
                          [&](const MemberBehaviour& o) { return o.member == i && o.at < b.at; });
    });
    spawn(fmt::format("{}-member-{}", g->spec.group_id, i), [&rt, &ctx, g, i, late] { run_slot(rt, ctx, g, i, !late); });
  }
  spawn(fmt::format("{}-schedule", g->spec.group_id), [&rt, &ctx, g, start_ns] { run_schedule(rt, ctx, g, start_ns); });
  spawn(fmt::format("{}-snapshot", g->spec.group_id), [&rt, &ctx, g] { take_snapshot(rt, ctx, *g); });
}

using EventKind = CoordinatorEvent::Kind;

// Whether the removed member shows it is in the group again after `load_ns`: removed once more, or a
// commit with its id sent after `unload_ns` was acknowledged (by the member's client or the
// coordinator), so the reloaded group had it. A fenced KIP-848 member rejoins under the same id at a
// new epoch: only a commit at the epoch it was fenced at (or older) shows the fence undone.
bool back_after(const GroupHistory& g, const std::vector<CoordinatorEvent>& events, const CoordinatorEvent& removal,
                std::int64_t unload_ns, std::int64_t load_ns) {
  const bool by_epoch = g.protocol == GroupProtocol::consumer && removal.generation >= 0;
  auto old_identity = [&](std::int32_t generation) { return !by_epoch || generation <= removal.generation; };
  for (const auto& e : events) {
    if (e.at_ns <= load_ns || e.group != g.group_id || e.member_id != removal.member_id) continue;
    if (by_epoch ? e.kind == EventKind::commit && old_identity(e.generation)
                 : e.kind == EventKind::removed || e.kind == EventKind::fenced || e.kind == EventKind::commit)
      return true;
  }
  for (const auto& m : g.members) {
    if (m.member_id != removal.member_id) continue;
    for (const auto& c : m.commits) {
      if (c.outcome == CommitOutcome::ok && c.invoke_ns > unload_ns && old_identity(c.generation)) return true;
    }
  }
  return false;
}

// When a failover undid `removal`, if one did. A removal is written only with the group's next
// GroupMetadata record (Kafka's rule); until then the coordinator holds it in memory. So when the
// node unloaded the group before a GroupStable of the group (that record committed) and the member
// shows it is back after the next load, the reload restored it: at that load.
std::optional<std::int64_t> restore_time(const GroupHistory& g, const std::vector<CoordinatorEvent>& events,
                                         const CoordinatorEvent& removal) {
  std::optional<std::int64_t> unload, load;
  for (const auto& e : events) {
    if (e.at_ns <= removal.at_ns) continue;
    if (!unload) {
      if (e.kind == EventKind::stable && e.node == removal.node && e.group == removal.group) return std::nullopt;
      // KIP-848: the fence's tombstones committed on that node.
      if (e.kind == EventKind::removed && e.node == removal.node && e.group == removal.group &&
          e.member_id == removal.member_id)
        return std::nullopt;
      if (e.kind == EventKind::unloaded && e.node == removal.node) unload = e.at_ns;
    } else if (e.kind == EventKind::loaded) {
      load = e.at_ns;
      break;
    }
  }
  if (!load || !back_after(g, events, removal, *unload, *load)) return std::nullopt;
  return load;
}

void insert_event(GroupMember& m, MemberEvent e) {
  auto pos = std::upper_bound(m.events.begin(), m.events.end(), e.at_ns,
                              [](std::int64_t t, const MemberEvent& x) { return t < x.at_ns; });
  m.events.insert(pos, std::move(e));
}

// A KIP-848 coordinator traces a removal once its records are committed (GroupMemberRemoved: no
// failover undoes it), and a fence by its timers when it decides it (ConsumerMemberFenced): from then
// on that coordinator gives the member's partitions away, even when it unloads before the tombstones
// commit and reloads them from its own log. A fence never written may be undone by a failover
// (`restored`, as for the classic removals). A fenced member comes back under the same id.
void add_removals(GroupHistory& g, const std::vector<CoordinatorEvent>& events) {
  for (const auto& r : events) {
    const bool consumer = g.protocol == GroupProtocol::consumer;
    if (r.group != g.group_id || !(r.kind == EventKind::removed || (consumer && r.kind == EventKind::fenced))) continue;
    // The last incarnation with that member id that existed by then; else the first with that id (a
    // member removed before anything reached it: its first assignment came after the removal).
    GroupMember* target = nullptr;
    GroupMember* first = nullptr;
    for (auto& m : g.members) {
      if (m.member_id != r.member_id) continue;
      if (!first) first = &m;
      if (m.events.empty() || m.events.front().at_ns <= r.at_ns) target = &m;
    }
    if (!target) target = first;
    if (!target) continue;
    insert_event(*target, {MemberEvent::Kind::removed, r.at_ns, r.generation, {}});
    if (consumer && r.kind == EventKind::removed) continue;
    if (auto restored = restore_time(g, events, r)) insert_event(*target, {MemberEvent::Kind::restored, *restored, -1, {}});
  }
}

std::optional<TopicPartition> parse_partition(std::string_view text) {
  const auto dash = text.rfind('-');
  if (dash == std::string_view::npos || dash == 0 || dash + 1 == text.size()) return std::nullopt;
  std::int32_t p = 0;
  for (char c : text.substr(dash + 1)) {
    if (c < '0' || c > '9' || p > 100'000'000) return std::nullopt;
    p = p * 10 + (c - '0');
  }
  return TopicPartition{std::string(text.substr(0, dash)), p};
}

}  // namespace

std::vector<GroupHistory> make_group_histories(const scenario::Scenario& s) {
  std::vector<GroupHistory> out;
  for (const auto& spec : s.workload.groups) {
    GroupHistory h;
    h.group_id = spec.group_id;
    const bool cooperative = std::all_of(spec.assignors.begin(), spec.assignors.end(), [](const std::string& a) {
      return client::assignors::is_cooperative(*client::assignors::assignor_by_name(a));
    });
    h.protocol = consumer_protocol(spec)   ? GroupProtocol::consumer
                 : cooperative ? GroupProtocol::classic_cooperative
                               : GroupProtocol::classic_eager;
    for (const auto& topic : spec.topics) {
      for (const auto& t : s.topics) {
        if (t.name == topic) h.partition_counts[topic] = t.partitions;
      }
    }
    out.push_back(std::move(h));
  }
  return out;
}

void run_groups(Runtime& rt, Context& ctx) {
  if (ctx.scenario.workload.groups.empty()) return;
  KEEL_ASSERT(ctx.groups != nullptr && ctx.groups->size() == ctx.scenario.workload.groups.size());
  auto wg = std::make_shared<WaitGroup>();
  for (std::size_t i = 0; i < ctx.groups->size(); ++i) {
    auto g = std::make_shared<GroupRun>(GroupRun{ctx.scenario.workload.groups[i], (*ctx.groups)[i], {}, false});
    g->slots.resize(static_cast<std::size_t>(g->spec.members));
    run_group(rt, ctx, g, wg);
  }
  (void)wg->wait();
}

std::optional<std::map<TopicPartition, std::int64_t>> parse_commit_offsets(std::string_view text) {
  std::map<TopicPartition, std::int64_t> out;
  while (!text.empty()) {
    const auto comma = text.find(',');
    const std::string_view item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    const auto eq = item.rfind('=');
    if (eq == std::string_view::npos) return std::nullopt;
    const auto tp = parse_partition(item.substr(0, eq));
    const std::string value(item.substr(eq + 1));
    char* end = nullptr;
    const long long offset = std::strtoll(value.c_str(), &end, 10);
    if (!tp || value.empty() || *end != '\0') return std::nullopt;
    out[*tp] = offset;
  }
  return out;
}

void finish_group_histories(std::vector<GroupHistory>& groups, const std::vector<CoordinatorEvent>& events,
                            const History& history, const KeyTable& keys) {
  for (auto& g : groups) {
    add_removals(g, events);
    for (const auto& e : events) {
      if (e.kind == EventKind::commit && e.group == g.group_id)
        g.coordinator_commits.push_back({e.at_ns, e.node, e.member_id, e.generation, e.offsets, e.taken_ns});
    }
    for (const Op& op : history.ops) {
      if (op.type != OpType::send || op.phase != Phase::main || op.status != OpStatus::ok || !op.offset) continue;
      const auto& [topic, partition] = keys.all()[static_cast<std::size_t>(op.key)];
      if (g.partition_counts.contains(topic)) g.produced[TopicPartition{topic, partition}].insert(*op.offset);
    }
  }
}

}  // namespace keel::sim::workload
