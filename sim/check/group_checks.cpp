#include "sim/check/group_checks.h"

#include "broker/base/assert.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <functional>
#include <limits>
#include <tuple>

namespace keel::sim::check {

using namespace workload;

namespace {

// What the history's `generation` fields hold: classic generations, or KIP-848 member epochs.
std::string_view unit_of(const GroupHistory& h) {
  return h.protocol == GroupProtocol::consumer ? "epoch" : "generation";
}

using json = nlohmann::json;

constexpr std::int64_t forever = std::numeric_limits<std::int64_t>::max();
// Offsets named one by one in a message (all of them, up to this many, are in the details).
constexpr std::size_t named_max = 20;

std::string seconds(std::int64_t ns) {
  return ns == forever ? std::string("the end") : fmt::format("{:.3f}s", static_cast<double>(ns) / 1e9);
}

std::string who(const GroupMember& m) { return fmt::format("member {} (process {})", m.member_id, m.process); }

Violation make(std::string check, std::string key, std::int64_t at_ns, std::string message, json details) {
  Violation v;
  v.check = std::move(check);
  v.key = std::move(key);
  v.at_ns = at_ns;
  v.message = std::move(message);
  v.details = std::move(details);
  return v;
}

json offsets_json(const std::map<TopicPartition, std::int64_t>& offsets) {
  json j = json::object();
  for (const auto& [tp, o] : offsets) j[tp.to_string()] = o;
  return j;
}

// ---- ownership intervals ----

struct Interval {
  const GroupMember* member = nullptr;
  TopicPartition partition;
  std::int64_t start = 0;
  std::int64_t end = forever;
  std::int32_t generation = -1;  // the generation or epoch it was first assigned at
};

// Each member's ownership of each partition, from the assignment that gave it to the revocation,
// loss or removal that ended it (or the end of the history).
std::vector<Interval> ownership(const GroupHistory& h) {
  std::vector<Interval> out;
  for (const auto& m : h.members) {
    std::map<TopicPartition, Interval> open;
    auto close = [&](const TopicPartition& tp, std::int64_t at) {
      if (auto it = open.find(tp); it != open.end()) {
        it->second.end = at;
        out.push_back(it->second);
        open.erase(it);
      }
    };
    // After a removal at a known epoch, an assignment of that epoch or an older one that reaches the
    // member is a zombie's (granted before the removal, applied after it): it owns nothing live.
    std::int32_t zombie_up_to = -1;
    for (const auto& e : m.events) {
      if (e.kind == MemberEvent::Kind::assigned) {
        if (e.generation <= zombie_up_to) continue;
        for (const auto& tp : e.partitions) open.try_emplace(tp, Interval{&m, tp, e.at_ns, forever, e.generation});
      } else if (e.kind == MemberEvent::Kind::revoked) {
        for (const auto& tp : e.partitions) close(tp, e.at_ns);
      } else if (e.kind == MemberEvent::Kind::restored) {
        zombie_up_to = -1;
      } else {
        while (!open.empty()) close(open.begin()->first, e.at_ns);
        if (e.kind == MemberEvent::Kind::removed) zombie_up_to = std::max(zombie_up_to, e.generation);
      }
    }
    for (auto& [tp, interval] : open) out.push_back(interval);
  }
  std::stable_sort(out.begin(), out.end(), [](const Interval& a, const Interval& b) {
    return std::tie(a.partition, a.start) < std::tie(b.partition, b.start);
  });
  return out;
}

// Offsets of `tp` that `m` processed within [from, to).
std::vector<std::int64_t> processed_between(const GroupMember& m, const TopicPartition& tp, std::int64_t from,
                                            std::int64_t to) {
  std::vector<std::int64_t> out;
  for (const auto& p : m.processed) {
    if (p.partition == tp && p.at_ns >= from && p.at_ns < to) out.push_back(p.offset);
  }
  return out;
}

json interval_json(const Interval& i) {
  return {{"member", i.member->member_id},
          {"process", i.member->process},
          {"generation", i.generation},
          {"from_ns", i.start},
          {"until_ns", i.end == forever ? json(nullptr) : json(i.end)}};
}

// ---- group-single-owner ----

// Eager: one generation's assignment gave a partition to two members.
using Receipt = std::pair<const GroupMember*, std::int64_t>;  // who received an assignment, when

// True when `m` stopped being a live member (lost everything, or was removed) within [from, to]: a
// static member's new instance then inherits its assignment in the same generation (KIP-345).
bool ended_between(const GroupMember& m, std::int64_t from, std::int64_t to) {
  return std::any_of(m.events.begin(), m.events.end(), [&](const MemberEvent& e) {
    return (e.kind == MemberEvent::Kind::lost || e.kind == MemberEvent::Kind::removed) && e.at_ns >= from &&
           e.at_ns <= to;
  });
}

// The first two receipts of one generation's partition by different processes, the earlier still
// live when the later arrived.
std::optional<std::pair<Receipt, Receipt>> two_live_receivers(std::vector<Receipt> receipts) {
  std::stable_sort(receipts.begin(), receipts.end(),
                   [](const Receipt& a, const Receipt& b) { return a.second < b.second; });
  for (std::size_t j = 1; j < receipts.size(); ++j) {
    for (std::size_t i = 0; i < j; ++i) {
      const auto& [a, at] = receipts[i];
      const auto& [b, bt] = receipts[j];
      if (a->process != b->process && !ended_between(*a, at, bt)) return std::pair{receipts[i], receipts[j]};
    }
  }
  return std::nullopt;
}

// Eager: one generation's assignment gave a partition to two live members.
void single_owner_eager(const GroupHistory& h, std::vector<Violation>& out) {
  std::map<std::pair<TopicPartition, std::int32_t>, std::vector<Receipt>> given;
  for (const auto& m : h.members) {
    for (const auto& e : m.events) {
      if (e.kind != MemberEvent::Kind::assigned) continue;
      for (const auto& tp : e.partitions) given[{tp, e.generation}].emplace_back(&m, e.at_ns);
    }
  }
  for (const auto& [slot, receivers] : given) {
    const auto& [tp, generation] = slot;
    const auto pair = two_live_receivers(receivers);
    if (!pair) continue;
    const auto& [first, other] = *pair;
    out.push_back(
        make("group-single-owner", tp.to_string(), other.second,
             fmt::format("{} was given to two members in generation {}: {} at {} and {} at {}", tp, generation,
                         who(*first.first), seconds(first.second), who(*other.first), seconds(other.second)),
             {{"partition", tp.to_string()},
              {"generation", generation},
              {"members", {first.first->member_id, other.first->member_id}},
              {"at_ns", {first.second, other.second}}}));
  }
}

// Cooperative and KIP-848: two members owned a partition at one moment, whatever their generations.
void single_owner_overlap(const GroupHistory& h, std::vector<Violation>& out) {
  const auto intervals = ownership(h);
  for (std::size_t i = 0; i < intervals.size(); ++i) {
    for (std::size_t j = i + 1; j < intervals.size() && intervals[j].partition == intervals[i].partition; ++j) {
      const Interval& a = intervals[i];
      const Interval& b = intervals[j];  // b.start >= a.start
      if (a.member->process == b.member->process || b.start >= a.end) continue;
      const std::int64_t until = std::min(a.end, b.end);
      auto pa = processed_between(*a.member, a.partition, b.start, until);
      auto pb = processed_between(*b.member, b.partition, b.start, until);
      out.push_back(
          make("group-single-owner", a.partition.to_string(), b.start,
               fmt::format(
                   "{} owned by two members at once from {} until {}: {} ({} {}, since {}) and {} ({} {}); they "
                   "processed {} and {} records of it meanwhile",
                   a.partition, seconds(b.start), seconds(until), who(*a.member), unit_of(h), a.generation,
                   seconds(a.start), who(*b.member), unit_of(h), b.generation, pa.size(), pb.size()),
               {{"partition", a.partition.to_string()},
                {"owners", {interval_json(a), interval_json(b)}},
                {"processed", {pa, pb}}}));
    }
  }
}

void single_owner(const GroupHistory& h, std::vector<Violation>& out) {
  if (h.protocol == GroupProtocol::classic_eager) {
    single_owner_eager(h, out);
  } else {
    single_owner_overlap(h, out);
  }
}

// ---- group-fenced-commit ----

// An acknowledged commit: by a client (ref = when it was sent) or by a coordinator (ref = when it
// took the commit, else when it acknowledged it, which is later). `done_ns`: when the acknowledgement
// was given (a client's: when its answer arrived), so the coordinator took the commit before then.
struct Ack {
  const GroupMember* member = nullptr;  // null for a coordinator's acknowledgement
  std::string member_id;
  std::int32_t generation = -1;
  std::map<TopicPartition, std::int64_t> offsets;
  std::int64_t ref_ns = 0;
  std::int64_t done_ns = 0;
  std::string source;
};

std::vector<Ack> acknowledged(const GroupHistory& h) {
  std::vector<Ack> out;
  for (const auto& m : h.members) {
    for (const auto& c : m.commits) {
      if (c.outcome == CommitOutcome::ok)
        out.push_back({&m, c.member_id, c.generation, c.offsets, c.invoke_ns, c.complete_ns, who(m)});
    }
  }
  for (const auto& c : h.coordinator_commits) {
    const std::int64_t ref = c.taken_ns > 0 ? c.taken_ns : c.at_ns;
    out.push_back(
        {nullptr, c.member_id, c.generation, c.offsets, ref, c.at_ns, fmt::format("the coordinator on node {}", c.node)});
  }
  return out;
}

// A removal `removal` of `member_id` that still stood for a commit sent at `ref_ns` and acknowledged
// at `done_ns`: the member did not come back before `ref_ns` (a KIP-848 member fenced rejoins under
// the same id at epoch 0; an assignment of the removal's generation or older is a zombie's, not a
// return), and no failover restored it (the removal never written) before the acknowledgement: the
// reloaded coordinator may take the commit.
bool removed_for_good(const GroupHistory& h, const std::string& member_id, const MemberEvent& removal,
                      std::int64_t ref_ns, std::int64_t done_ns) {
  KEEL_ASSERT(removal.kind == MemberEvent::Kind::removed);
  for (const auto& m : h.members) {
    if (m.member_id != member_id) continue;
    for (const auto& e : m.events) {
      if (e.at_ns <= removal.at_ns) continue;
      const bool returned = e.kind == MemberEvent::Kind::assigned && e.generation > removal.generation;
      if (returned && e.at_ns < ref_ns) return false;
      if (e.kind == MemberEvent::Kind::restored && e.at_ns <= done_ns) return false;
    }
  }
  return true;
}

// The first time anything showed that `ack`'s identity was fenced, and what: a later generation given
// to any member (classic), a later epoch given to the committer (KIP-848), or the committer's removal.
std::optional<std::pair<std::int64_t, std::string>> fenced_by(const GroupHistory& h, const Ack& ack) {
  std::optional<std::pair<std::int64_t, std::string>> first;
  auto consider = [&](std::int64_t at, std::string what) {
    if (at < ack.ref_ns && (!first || at < first->first)) first = {at, std::move(what)};
  };
  for (const auto& m : h.members) {
    const bool own = m.member_id == ack.member_id;
    for (const auto& e : m.events) {
      // A KIP-848 fence at a known epoch does not fence a commit at a newer one: the member rejoined.
      const bool newer = h.protocol == GroupProtocol::consumer && e.generation >= 0 && ack.generation > e.generation;
      if (e.kind == MemberEvent::Kind::removed && own && !newer &&
          removed_for_good(h, m.member_id, e, ack.ref_ns, ack.done_ns)) {
        consider(e.at_ns, fmt::format("{} was removed", who(m)));
      }
      if (e.kind != MemberEvent::Kind::assigned || e.generation <= ack.generation) continue;
      if (h.protocol != GroupProtocol::consumer || own) {
        consider(e.at_ns, fmt::format("{} received {} {}", who(m),
                                      unit_of(h), e.generation));
      }
    }
  }
  return first;
}

void fenced_commit(const GroupHistory& h, std::vector<Violation>& out) {
  for (const auto& ack : acknowledged(h)) {
    if (ack.generation < 0) continue;  // a simple group's commit, not a member's
    const auto fence = fenced_by(h, ack);
    if (!fence) continue;
    const std::string key = ack.offsets.empty() ? std::string() : ack.offsets.begin()->first.to_string();
    out.push_back(
        make("group-fenced-commit", key, ack.ref_ns,
             fmt::format("a commit by member {} at {} {} was acknowledged ({}, {}), but {} at {} before that",
                         ack.member_id, unit_of(h), ack.generation,
                         ack.source, seconds(ack.ref_ns), fence->second, seconds(fence->first)),
             {{"member", ack.member_id},
              {"generation", ack.generation},
              {"offsets", offsets_json(ack.offsets)},
              {"acknowledged_by", ack.source},
              {"ref_ns", ack.ref_ns},
              {"fenced_ns", fence->first},
              {"fenced_by", fence->second}}));
  }
}

// ---- group-commit-monotonic ----

struct ClientCommit {
  const GroupMember* member = nullptr;
  const Commit* commit = nullptr;
  std::int64_t offset = 0;
};

// Every client commit per partition, in the order the members sent them.
std::map<TopicPartition, std::vector<ClientCommit>> commits_by_partition(const GroupHistory& h) {
  std::map<TopicPartition, std::vector<ClientCommit>> out;
  for (const auto& m : h.members) {
    for (const auto& c : m.commits) {
      for (const auto& [tp, o] : c.offsets) out[tp].push_back({&m, &c, o});
    }
  }
  for (auto& [tp, v] : out) {
    std::stable_sort(v.begin(), v.end(), [](const ClientCommit& a, const ClientCommit& b) {
      return a.commit->invoke_ns < b.commit->invoke_ns;
    });
  }
  return out;
}

bool reset_between(const GroupHistory& h, const TopicPartition& tp, std::int64_t from, std::int64_t to) {
  for (const auto& m : h.members) {
    for (const auto& r : m.resets) {
      if (r.partition == tp && r.at_ns > from && r.at_ns <= to) return true;
    }
  }
  return false;
}

void commit_monotonic(const GroupHistory& h, std::vector<Violation>& out) {
  for (const auto& [tp, commits] : commits_by_partition(h)) {
    for (const auto& later : commits) {
      if (later.commit->outcome != CommitOutcome::ok) continue;
      const ClientCommit* worst = nullptr;  // the highest earlier acknowledged commit above `later`
      for (const auto& earlier : commits) {
        if (earlier.commit->outcome != CommitOutcome::ok || earlier.commit->complete_ns >= later.commit->invoke_ns)
          continue;
        if (earlier.offset <= later.offset ||
            reset_between(h, tp, earlier.commit->complete_ns, later.commit->invoke_ns))
          continue;
        if (!worst || earlier.offset > worst->offset) worst = &earlier;
      }
      if (!worst) continue;
      out.push_back(
          make("group-commit-monotonic", tp.to_string(), later.commit->complete_ns,
               fmt::format("{} committed offset went back from {} ({} at {} {}, acknowledged at {}) to {} "
                           "({} at {} {}, sent at {}) with no seek or reset in between",
                           tp, worst->offset, who(*worst->member), unit_of(h), worst->commit->generation,
                           seconds(worst->commit->complete_ns), later.offset, who(*later.member), unit_of(h),
                           later.commit->generation, seconds(later.commit->invoke_ns)),
               {{"partition", tp.to_string()},
                {"from", worst->offset},
                {"to", later.offset},
                {"earlier_member", worst->member->member_id},
                {"later_member", later.member->member_id},
                {"earlier_complete_ns", worst->commit->complete_ns},
                {"later_invoke_ns", later.commit->invoke_ns}}));
    }
  }
}

// ---- group-at-least-once ----

void unprocessed(const GroupHistory& h, std::vector<Violation>& out) {
  std::map<TopicPartition, std::set<std::int64_t>> processed;
  for (const auto& m : h.members) {
    for (const auto& p : m.processed) processed[p.partition].insert(p.offset);
  }
  const std::int64_t at = h.quiescent ? h.quiescent->at_ns : 0;
  for (const auto& [tp, offsets] : h.produced) {
    std::vector<std::int64_t> missing;
    for (std::int64_t o : offsets) {
      if (!processed[tp].contains(o)) missing.push_back(o);
    }
    if (missing.empty()) continue;
    std::vector<std::int64_t> named(missing.begin(),
                                    missing.begin() + static_cast<std::ptrdiff_t>(std::min(missing.size(), named_max)));
    out.push_back(
        make("group-at-least-once", tp.to_string(), at,
             fmt::format("{}: {} acknowledged record(s) never processed by any member of group {}: offsets {}{}", tp,
                         missing.size(), h.group_id, named, missing.size() > named_max ? " ..." : ""),
             {{"partition", tp.to_string()}, {"count", missing.size()}, {"offsets", named}}));
  }
}

// The highest offset `m` could honestly commit for `tp` before `at`: one past the last record it
// processed, or a committed offset it read (resuming where the previous owner stopped).
std::int64_t commit_bound(const GroupMember& m, const TopicPartition& tp, std::int64_t at) {
  std::int64_t bound = -1;
  for (const auto& p : m.processed) {
    if (p.partition == tp && p.at_ns <= at) bound = std::max(bound, p.offset + 1);
  }
  for (const auto& r : m.offset_reads) {
    auto it = r.offsets.find(tp);
    if (it != r.offsets.end() && r.complete_ns <= at) bound = std::max(bound, it->second);
  }
  return bound;
}

void commit_ahead(const GroupHistory& h, std::vector<Violation>& out) {
  for (const auto& m : h.members) {
    for (const auto& c : m.commits) {
      if (c.outcome != CommitOutcome::ok) continue;
      for (const auto& [tp, offset] : c.offsets) {
        const bool sought = std::any_of(m.resets.begin(), m.resets.end(), [&](const OffsetReset& r) {
          return r.partition == tp && r.at_ns <= c.invoke_ns;
        });
        const std::int64_t bound = commit_bound(m, tp, c.invoke_ns);
        if (sought || offset <= std::max<std::int64_t>(bound, 0)) continue;
        out.push_back(make("group-at-least-once", tp.to_string(), c.complete_ns,
                           fmt::format("{} committed offset {} of {} at {}, past what it had processed or read as "
                                       "committed ({}): records below it could be skipped",
                                       who(m), offset, tp, seconds(c.invoke_ns), bound),
                           {{"partition", tp.to_string()},
                            {"member", m.member_id},
                            {"offset", offset},
                            {"bound", bound},
                            {"invoke_ns", c.invoke_ns}}));
      }
    }
  }
}

void at_least_once(const GroupHistory& h, std::vector<Violation>& out) {
  unprocessed(h, out);
  commit_ahead(h, out);
}

// ---- group-quiescent-assignment ----

Violation quiescent_violation(const GroupHistory& h, std::string key, std::string message, json details) {
  return make("group-quiescent-assignment", std::move(key), h.quiescent->at_ns,
              fmt::format("group {} after quiescence (at {}): {}", h.group_id, seconds(h.quiescent->at_ns), message),
              std::move(details));
}

// Every live member present, nobody else, and each holding only topics it subscribes to.
void quiescent_members(const GroupHistory& h, std::vector<Violation>& out) {
  const GroupSnapshot& s = *h.quiescent;
  for (const auto& id : s.live_members) {
    if (!s.assignment.contains(id))
      out.push_back(
          quiescent_violation(h, "", fmt::format("live member {} is not in the group", id), {{"member", id}}));
  }
  for (const auto& [id, partitions] : s.assignment) {
    if (!s.live_members.contains(id)) {
      out.push_back(quiescent_violation(
          h, "", fmt::format("member {} holds {} partition(s) but is not live", id, partitions.size()),
          {{"member", id}}));
    }
    const auto subs = s.subscriptions.find(id);
    for (const auto& tp : partitions) {
      if (subs == s.subscriptions.end() || !subs->second.contains(tp.topic)) {
        out.push_back(quiescent_violation(h, tp.to_string(),
                                          fmt::format("member {} holds {}, a topic it does not subscribe to", id, tp),
                                          {{"member", id}, {"partition", tp.to_string()}}));
      }
    }
  }
}

// Every partition of every subscribed topic held exactly once, and sizes within one of each other
// when everyone subscribes to the same topics.
void quiescent_coverage(const GroupHistory& h, std::vector<Violation>& out) {
  const GroupSnapshot& s = *h.quiescent;
  std::map<TopicPartition, std::vector<std::string>> holders;
  for (const auto& [id, partitions] : s.assignment) {
    for (const auto& tp : partitions) holders[tp].push_back(id);
  }
  std::set<std::string> subscribed;
  for (const auto& [id, topics] : s.subscriptions) {
    if (s.live_members.contains(id)) subscribed.insert(topics.begin(), topics.end());
  }
  for (const auto& [topic, count] : h.partition_counts) {
    for (std::int32_t p = 0; p < count && subscribed.contains(topic); ++p) {
      const TopicPartition tp{topic, p};
      const auto& who_holds = holders[tp];
      if (who_holds.size() == 1) continue;
      out.push_back(quiescent_violation(
          h, tp.to_string(),
          who_holds.empty() ? fmt::format("{} is assigned to no member", tp)
                            : fmt::format("{} is assigned to {} members: {}", tp, who_holds.size(), who_holds),
          {{"partition", tp.to_string()}, {"members", who_holds}}));
    }
  }
}

void quiescent_balance(const GroupHistory& h, std::vector<Violation>& out) {
  const GroupSnapshot& s = *h.quiescent;
  std::set<std::set<std::string>> distinct;
  std::size_t lo = SIZE_MAX, hi = 0;
  for (const auto& [id, partitions] : s.assignment) {
    if (auto it = s.subscriptions.find(id); it != s.subscriptions.end()) distinct.insert(it->second);
    lo = std::min(lo, partitions.size());
    hi = std::max(hi, partitions.size());
  }
  if (distinct.size() == 1 && hi > lo + 1) {
    out.push_back(quiescent_violation(
        h, "", fmt::format("members subscribe to the same topics but hold between {} and {} partitions", lo, hi),
        {{"min", lo}, {"max", hi}}));
  }
}

void quiescent_assignment(const GroupHistory& h, std::vector<Violation>& out) {
  if (!h.quiescent) return;
  if (h.quiescent->state != "Stable" && !(h.quiescent->state == "Empty" && h.quiescent->live_members.empty())) {
    out.push_back(quiescent_violation(h, "", fmt::format("the group is {}, not Stable", h.quiescent->state),
                                      {{"state", h.quiescent->state}}));
  }
  quiescent_members(h, out);
  quiescent_coverage(h, out);
  quiescent_balance(h, out);
}

// ---- group-commit-durable ----

// A commit that may be what a later read returns.
struct Candidate {
  std::int64_t offset = 0;
  std::int64_t invoke_ns = 0;    // a coordinator's: when it acknowledged (see candidates)
  std::int64_t complete_ns = 0;  // forever for an indeterminate commit: it may land any time
  bool acknowledged = false;
  std::string source;
};

std::map<TopicPartition, std::vector<Candidate>> candidates(const GroupHistory& h) {
  std::map<TopicPartition, std::vector<Candidate>> out;
  for (const auto& m : h.members) {
    for (const auto& c : m.commits) {
      if (c.outcome == CommitOutcome::fail) continue;
      const bool ok = c.outcome == CommitOutcome::ok;
      for (const auto& [tp, o] : c.offsets)
        out[tp].push_back({o, c.invoke_ns, ok ? c.complete_ns : forever, ok, who(m)});
    }
  }
  for (const auto& c : h.coordinator_commits) {
    for (const auto& [tp, o] : c.offsets) {
      // Sent at an unknown time before at_ns; at_ns stands in for it: the coordinator writes commits
      // in one order and acknowledges them in that order, so the one it acknowledged last is the one
      // a read must find (or a later one).
      out[tp].push_back({o, c.at_ns, c.at_ns, true, fmt::format("the coordinator on node {}", c.node)});
    }
  }
  return out;
}

struct CommittedRead {
  std::int64_t invoke_ns = 0;
  std::int64_t complete_ns = 0;
  std::string reader;
  const std::map<TopicPartition, std::int64_t>* offsets = nullptr;
};

std::vector<CommittedRead> reads(const GroupHistory& h) {
  std::vector<CommittedRead> out;
  for (const auto& m : h.members) {
    for (const auto& r : m.offset_reads) out.push_back({r.invoke_ns, r.complete_ns, who(m), &r.offsets});
  }
  if (h.quiescent)
    out.push_back({h.quiescent->at_ns, h.quiescent->at_ns, "the final OffsetFetch", &h.quiescent->committed});
  return out;
}

// What a read of `tp` returning `value` contradicts, or nothing when some commit could be the latest:
// invoked before the read ended, and completed no earlier than every acknowledged commit that
// finished before the read began was sent.
std::optional<std::string> contradiction(const std::vector<Candidate>& all, const CommittedRead& r,
                                         std::int64_t value) {
  const Candidate* latest = nullptr;  // the acknowledged commit finished before the read, sent last
  for (const auto& c : all) {
    if (c.acknowledged && c.complete_ns < r.invoke_ns && (!latest || c.invoke_ns > latest->invoke_ns)) latest = &c;
  }
  if (!latest) {
    const bool committed = value == -1 || std::any_of(all.begin(), all.end(), [&](const Candidate& c) {
                             return c.offset == value && c.invoke_ns <= r.complete_ns;
                           });
    return committed ? std::nullopt : std::optional<std::string>(fmt::format("offset {} was never committed", value));
  }
  for (const auto& c : all) {
    if (c.offset == value && c.invoke_ns <= r.complete_ns && c.complete_ns >= latest->invoke_ns) return std::nullopt;
  }
  return fmt::format("{} was acknowledged to {} at {} (offset {})",
                     value == -1 ? "nothing, though a commit" : "an older value: a commit", latest->source,
                     seconds(latest->complete_ns), latest->offset);
}

void commit_durable(const GroupHistory& h, std::vector<Violation>& out) {
  const auto all = candidates(h);
  static const std::vector<Candidate> none;
  for (const auto& r : reads(h)) {
    for (const auto& [tp, value] : *r.offsets) {
      const auto it = all.find(tp);
      const auto problem = contradiction(it == all.end() ? none : it->second, r, value);
      if (!problem) continue;
      out.push_back(make("group-commit-durable", tp.to_string(), r.complete_ns,
                         fmt::format("{}: {} read committed offset {} at {}, but {}", tp, r.reader, value,
                                     seconds(r.complete_ns), *problem),
                         {{"partition", tp.to_string()},
                          {"reader", r.reader},
                          {"value", value},
                          {"invoke_ns", r.invoke_ns},
                          {"complete_ns", r.complete_ns}}));
    }
  }
}

// ---- group-generation-monotonic ----

// A member's generations (epochs) only go up: an assignment reaches a member only after the
// coordinator persisted its generation, so even a failover cannot hand the member an older one.
void generation_monotonic(const GroupHistory& h, std::vector<Violation>& out) {
  const std::string_view unit = unit_of(h);
  for (const auto& m : h.members) {
    const MemberEvent* highest = nullptr;
    for (const auto& e : m.events) {
      if (e.kind != MemberEvent::Kind::assigned) continue;
      if (highest && e.generation < highest->generation) {
        out.push_back(make("group-generation-monotonic", "", e.at_ns,
                           fmt::format("{} received {} {} at {} after {} {} at {}", who(m), unit, e.generation,
                                       seconds(e.at_ns), unit, highest->generation, seconds(highest->at_ns)),
                           {{"member", m.member_id},
                            {"generation", e.generation},
                            {"before", highest->generation},
                            {"at_ns", e.at_ns},
                            {"before_ns", highest->at_ns}}));
      }
      if (!highest || e.generation > highest->generation) highest = &e;
    }
  }
}

using Checker = std::function<void(const GroupHistory&, std::vector<Violation>&)>;

const std::vector<std::pair<std::string, Checker>>& checkers() {
  static const std::vector<std::pair<std::string, Checker>> table{
      {"group-single-owner", single_owner},
      {"group-fenced-commit", fenced_commit},
      {"group-commit-monotonic", commit_monotonic},
      {"group-at-least-once", at_least_once},
      {"group-quiescent-assignment", quiescent_assignment},
      {"group-commit-durable", commit_durable},
      {"group-generation-monotonic", generation_monotonic},
  };
  return table;
}

}  // namespace

const std::vector<std::string>& group_check_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n;
    for (const auto& [name, check] : checkers()) n.push_back(name);
    return n;
  }();
  return names;
}

bool run_group_check(const std::string& name, const GroupHistory& history, std::vector<Violation>& out) {
  for (const auto& [n, check] : checkers()) {
    if (n != name) continue;
    std::vector<Violation> found;
    check(history, found);
    std::stable_sort(found.begin(), found.end(), [](const Violation& a, const Violation& b) {
      return std::tie(a.key, a.at_ns) < std::tie(b.key, b.at_ns);
    });
    for (auto& v : found) out.push_back(std::move(v));
    return true;
  }
  return false;
}

CheckResult run_group_checks(const GroupHistory& history, const std::vector<std::string>& checks) {
  CheckResult result;
  for (const auto& name : checks.empty() ? group_check_names() : checks) {
    std::vector<Violation> found;
    const bool known = run_group_check(name, history, found);
    KEEL_ASSERT_MSG(known, "unknown group check {}", name);
    result.counts[name] = found.size();
    for (auto& v : found) result.violations.push_back(std::move(v));
  }
  return result;
}

}  // namespace keel::sim::check
