#include "sim/check/cluster_checks.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <functional>
#include <optional>
#include <set>
#include <tuple>

namespace keel::sim::check {

using workload::History;
using workload::Op;
using workload::OpType;
using Obs = ClusterObservations;

namespace {

using json = nlohmann::json;

// Claimants named one by one in a message (all of them are in the details).
constexpr std::size_t named_in_message_max = 5;

std::string seconds(std::int64_t ns) { return fmt::format("{:.3f}s", static_cast<double>(ns) / 1e9); }
std::string hex(std::uint64_t h) { return fmt::format("{:016x}", h); }

Violation make(std::string check, std::string key, std::int64_t at_ns, std::string message, json details) {
  Violation v;
  v.check = std::move(check);
  v.key = std::move(key);
  v.at_ns = at_ns;
  v.message = std::move(message);
  v.details = std::move(details);
  return v;
}

// ---- single-leader, single-controller ----

// Claims of one slot (a partition's leader epoch, a Raft epoch) by more than one node, in time order.
template <typename Claim>
struct Contested {
  std::vector<const Claim*> claims;  // every claim of the slot, by time then node
  const Claim* second = nullptr;     // the first claim by a node other than the first claimant
};

template <typename Claim, typename Slot>
std::vector<Contested<Claim>> contested(const std::vector<Claim>& all, std::function<Slot(const Claim&)> slot_of) {
  std::map<Slot, std::vector<const Claim*>> by_slot;
  for (const Claim& c : all) by_slot[slot_of(c)].push_back(&c);
  std::vector<Contested<Claim>> out;
  for (auto& [slot, claims] : by_slot) {
    std::stable_sort(claims.begin(), claims.end(),
                     [](const Claim* a, const Claim* b) { return std::tie(a->at_ns, a->node) < std::tie(b->at_ns, b->node); });
    auto other = std::find_if(claims.begin(), claims.end(), [&](const Claim* c) { return c->node != claims.front()->node; });
    if (other != claims.end()) out.push_back(Contested<Claim>{claims, *other});
  }
  return out;
}

template <typename Claim>
json claims_json(const std::vector<const Claim*>& claims) {
  json a = json::array();
  for (const Claim* c : claims) a.push_back({{"node", c->node}, {"at_ns", c->at_ns}});
  return a;
}

template <typename Claim>
std::string claims_text(const std::vector<const Claim*>& claims) {
  std::string s;
  for (std::size_t i = 0; i < claims.size() && i < named_in_message_max; ++i) {
    s += fmt::format("{}node {} at {}", i == 0 ? "" : ", ", claims[i]->node, seconds(claims[i]->at_ns));
  }
  if (claims.size() > named_in_message_max) s += fmt::format(", and {} more", claims.size() - named_in_message_max);
  return s;
}

void single_leader(const History&, const Obs& obs, std::vector<Violation>& out) {
  using Claim = Obs::LeaderClaim;
  using Slot = std::pair<std::string, std::int32_t>;
  for (const auto& c : contested<Claim, Slot>(obs.leader_claims, [](const Claim& x) { return Slot{x.partition, x.leader_epoch}; })) {
    const Claim& first = *c.claims.front();
    out.push_back(make("single-leader", first.partition, c.second->at_ns,
                       fmt::format("{} leader epoch {}: two brokers claimed leadership: {}", first.partition,
                                   first.leader_epoch, claims_text(c.claims)),
                       {{"partition", first.partition}, {"leader_epoch", first.leader_epoch},
                        {"claims", claims_json(c.claims)}}));
  }
}

void single_controller(const History&, const Obs& obs, std::vector<Violation>& out) {
  using Claim = Obs::RaftLeader;
  for (const auto& c : contested<Claim, std::int32_t>(obs.raft_leaders, [](const Claim& x) { return x.epoch; })) {
    const Claim& first = *c.claims.front();
    out.push_back(make("single-controller", "", c.second->at_ns,
                       fmt::format("metadata quorum epoch {}: two controllers became Raft leader: {}", first.epoch,
                                   claims_text(c.claims)),
                       {{"epoch", first.epoch}, {"claims", claims_json(c.claims)}}));
  }
}

// ---- metadata-committed ----

using Version = std::pair<std::int32_t, std::uint64_t>;  // (epoch, data hash) of a committed entry

// Two versions of the entry at one offset: pinned to when the second version was first committed.
void conflicting_commits(const Obs& obs, std::vector<Violation>& out) {
  std::map<std::int64_t, std::map<Version, std::vector<const Obs::MetadataCommit*>>> by_offset;
  for (const auto& c : obs.metadata_commits) by_offset[c.offset][{c.epoch, c.data_hash}].push_back(&c);
  for (const auto& [offset, versions] : by_offset) {
    if (versions.size() < 2) continue;
    json details = json::array();
    std::string text;
    std::vector<std::int64_t> first_at;
    for (const auto& [version, commits] : versions) {
      const auto* first = *std::min_element(commits.begin(), commits.end(), [](const auto* a, const auto* b) {
        return std::tie(a->at_ns, a->node) < std::tie(b->at_ns, b->node);
      });
      first_at.push_back(first->at_ns);
      details.push_back({{"epoch", version.first}, {"data_hash", version.second}, {"commits", claims_json(commits)}});
      text += fmt::format("{}epoch {} hash {} (node {} at {})", text.empty() ? "" : "; ", version.first,
                          hex(version.second), first->node, seconds(first->at_ns));
    }
    std::sort(first_at.begin(), first_at.end());
    out.push_back(make("metadata-committed", "", first_at[1],
                       fmt::format("metadata offset {}: {} different entries committed: {}", offset, versions.size(),
                                   text),
                       {{"offset", offset}, {"versions", details}}));
  }
}

// A node whose committed end at the end of the run is behind the largest committed end reached
// during it has lost committed entries (or never caught up, which quiescence rules out).
void lost_commits(const Obs& obs, std::vector<Violation>& out) {
  const Obs::MetadataCommit* top = nullptr;  // the earliest commit of the highest offset
  for (const auto& c : obs.metadata_commits) {
    if (top == nullptr || c.offset > top->offset || (c.offset == top->offset && c.at_ns < top->at_ns)) top = &c;
  }
  if (top == nullptr) return;
  const std::int64_t max_end = top->offset + 1;
  for (const auto& [node, end] : obs.final_metadata_end) {
    if (end >= max_end) continue;
    out.push_back(make("metadata-committed", "", top->at_ns,
                       fmt::format("node {} ended the run with committed metadata end {}, behind end {} that node {} "
                                   "reached at {}: {} committed entr{} lost",
                                   node, end, max_end, top->node, seconds(top->at_ns), max_end - end,
                                   max_end - end == 1 ? "y" : "ies"),
                       {{"node", node}, {"final_end", end}, {"max_committed_end", max_end},
                        {"reached_by", top->node}, {"reached_at_ns", top->at_ns}}));
  }
}

void metadata_committed(const History&, const Obs& obs, std::vector<Violation>& out) {
  conflicting_commits(obs, out);
  lost_commits(obs, out);
}

// ---- replica-divergence ----

using Records = std::map<std::int64_t, const Obs::ReplicaRecord*>;

Records records_of(const Obs::ReplicaSnapshot& s) {
  Records r;
  for (const auto& rec : s.records) r.emplace(rec.offset, &rec);
  return r;
}

json record_json(const Obs::ReplicaRecord* r) {
  if (r == nullptr) return nullptr;
  return {{"offset", r->offset}, {"leader_epoch", r->leader_epoch}, {"hash", r->hash}};
}

std::string record_text(int node, const Obs::ReplicaRecord* r) {
  if (r == nullptr) return fmt::format("node {} has no record", node);
  return fmt::format("node {} has leader epoch {} hash {}", node, r->leader_epoch, hex(r->hash));
}

struct Divergence {
  std::int64_t offset = 0;
  const Obs::ReplicaRecord* a = nullptr;  // null when replica a lacks the record
  const Obs::ReplicaRecord* b = nullptr;
};

// The first offset in [from, to) where one replica lacks a record the other holds, or they differ.
// An offset neither holds is not a divergence.
std::optional<Divergence> first_divergence(const Records& a, const Records& b, std::int64_t from, std::int64_t to) {
  auto ia = a.lower_bound(from), ib = b.lower_bound(from);
  while (true) {
    const std::int64_t oa = ia != a.end() && ia->first < to ? ia->first : to;
    const std::int64_t ob = ib != b.end() && ib->first < to ? ib->first : to;
    if (oa == to && ob == to) return std::nullopt;
    if (oa < ob) return Divergence{oa, ia->second, nullptr};
    if (ob < oa) return Divergence{ob, nullptr, ib->second};
    if (ia->second->hash != ib->second->hash || ia->second->leader_epoch != ib->second->leader_epoch) {
      return Divergence{oa, ia->second, ib->second};
    }
    ++ia;
    ++ib;
  }
}

json replica_json(const Obs::ReplicaSnapshot& s) {
  return {{"node", s.node}, {"high_watermark", s.high_watermark}, {"log_start", s.log_start}, {"log_end", s.log_end}};
}

void compare_replicas(const Obs::ReplicaSnapshot& a, const Obs::ReplicaSnapshot& b, std::vector<Violation>& out) {
  const std::int64_t from = std::max(a.log_start, b.log_start);
  const std::int64_t to = std::min(a.high_watermark, b.high_watermark);
  if (from >= to) return;
  const auto d = first_divergence(records_of(a), records_of(b), from, to);
  if (!d) return;
  out.push_back(make("replica-divergence", a.partition, a.at_ns,
                     fmt::format("{} at {} {}: nodes {} and {} diverge at offset {}, below both high watermarks ({}, "
                                 "{}): {}; {}",
                                 a.partition, a.label, seconds(a.at_ns), a.node, b.node, d->offset, a.high_watermark,
                                 b.high_watermark, record_text(a.node, d->a), record_text(b.node, d->b)),
                     {{"partition", a.partition}, {"label", a.label}, {"snapshot_ns", a.at_ns}, {"offset", d->offset},
                      {"compared", {{"from", from}, {"to", to}}}, {"replicas", {replica_json(a), replica_json(b)}},
                      {"records", {record_json(d->a), record_json(d->b)}}}));
}

// Under unclean leader election, a replica that was in sync can hold a high watermark past the
// point where the uncleanly elected leader's log differs, until it truncates to that log (§3.9).
// Such a divergence at a checkpoint is counted but allowed; by the final snapshot, after
// quiescence, the replicas must have converged.
void allow_if_unclean(const History& h, std::size_t found_before, std::vector<Violation>& out) {
  if (!h.unclean_election) return;
  for (std::size_t i = found_before; i < out.size(); ++i) {
    if (out[i].details["label"] == "final") continue;
    out[i].allowed = true;
    out[i].message += " (allowed at a checkpoint: the topics allow unclean leader election, and replicas converge "
                      "only once they truncate to the new leader's log)";
  }
}

void replica_divergence(const History& h, const Obs& obs, std::vector<Violation>& out) {
  const std::size_t found_before = out.size();
  using Moment = std::tuple<std::string, std::int64_t, std::string>;  // partition, at_ns, label
  std::map<Moment, std::vector<const Obs::ReplicaSnapshot*>> moments;
  for (const auto& s : obs.replica_snapshots) moments[{s.partition, s.at_ns, s.label}].push_back(&s);
  for (auto& [moment, replicas] : moments) {
    std::stable_sort(replicas.begin(), replicas.end(), [](const auto* x, const auto* y) { return x->node < y->node; });
    for (std::size_t i = 0; i < replicas.size(); ++i) {
      for (std::size_t j = i + 1; j < replicas.size(); ++j) compare_replicas(*replicas[i], *replicas[j], out);
    }
  }
  allow_if_unclean(h, found_before, out);
}

// ---- high-watermark-monotonic ----

std::string key_name(const History& h, int key) {
  if (key >= 0 && static_cast<std::size_t>(key) < h.keys.size()) return h.keys[static_cast<std::size_t>(key)];
  return fmt::format("key {}", key);
}

// Every poll counts, whatever its outcome: a high watermark a fetch response reported was observed
// even when the poll as a whole failed.
void high_watermark_monotonic(const History& h, const Obs&, std::vector<Violation>& out) {
  struct Seen {
    std::int64_t hw = 0;
    const Op* op = nullptr;
  };
  std::map<std::pair<int, int>, Seen> last;  // (process, key) -> the last high watermark it saw
  for (const Op& op : h.ops) {
    if (op.type != OpType::poll) continue;
    for (const auto& [key, hw] : op.high_watermarks) {
      auto [it, fresh] = last.try_emplace({op.process, key}, Seen{hw, &op});
      if (!fresh && hw < it->second.hw) {
        const Op& before = *it->second.op;
        auto& v = out.emplace_back(make("high-watermark-monotonic", key_name(h, key), op.complete_ns,
                           fmt::format("{}: process {} saw the high watermark go back from {} (op {} at {}) to {} "
                                       "(op {} at {})",
                                       key_name(h, key), op.process, it->second.hw, before.index,
                                       seconds(before.complete_ns), hw, op.index, seconds(op.complete_ns)),
                           {{"process", op.process}, {"high_watermark", hw}, {"previous_high_watermark", it->second.hw},
                            {"op", op.index}, {"op_complete_ns", op.complete_ns}, {"previous_op", before.index},
                            {"previous_op_complete_ns", before.complete_ns}}));
        if (h.unclean_election) {
          // A leader elected uncleanly may hold less than its predecessor's high watermark.
          v.allowed = true;
          v.message += " (allowed: the topics allow unclean leader election)";
        }
      }
      it->second = Seen{hw, &op};
    }
  }
}

// ---- reassignment-completed ----

std::string ids_text(const std::vector<std::int32_t>& ids) { return fmt::format("[{}]", fmt::join(ids, ",")); }

void reassignment_completed(const History&, const Obs& obs, std::vector<Violation>& out) {
  std::map<std::string, std::vector<const Obs::Reassignment*>> by_partition;
  for (const auto& r : obs.reassignments) by_partition[r.partition].push_back(&r);
  for (auto& [partition, asked] : by_partition) {
    std::stable_sort(asked.begin(), asked.end(), [](const auto* a, const auto* b) { return a->at_ns < b->at_ns; });
    // What the partition may end on: the last accepted target, or any target asked after it whose
    // answer never came (it may have been committed all the same). A cancel answered "no
    // reassignment in progress" may have been carried out too: when the controller that decided it
    // loses leadership before answering, the broker asks the next one, which finds the cancel
    // already done.
    const Obs::Reassignment* last = nullptr;
    std::vector<const Obs::Reassignment*> after;
    constexpr std::int16_t no_reassignment_in_progress = 85;
    for (const auto* r : asked) {
      if (r->answered && r->error == 0) {
        last = r;
        after.clear();
      } else if (!r->answered || (!r->target && r->error == no_reassignment_in_progress)) {
        after.push_back(r);
      }
    }
    if (last == nullptr && after.empty()) continue;  // every request refused: nothing to complete
    auto it = obs.final_assignments.find(partition);
    if (it == obs.final_assignments.end()) continue;  // the topic is gone, or no broker could say
    const auto& a = it->second;
    const std::int64_t at = (last != nullptr ? last : after.front())->at_ns;
    json details = {{"replicas", a.replicas}, {"adding", a.adding}, {"removing", a.removing}};
    if (!a.adding.empty() || !a.removing.empty()) {
      out.push_back(make("reassignment-completed", partition, at,
                         fmt::format("{} ended the run still reassigning: replicas {}, adding {}, removing {}", partition,
                                     ids_text(a.replicas), ids_text(a.adding), ids_text(a.removing)),
                         details));
      continue;
    }
    std::vector<const Obs::Reassignment*> candidates = after;
    if (last != nullptr) candidates.insert(candidates.begin(), last);
    const bool matches = std::any_of(candidates.begin(), candidates.end(), [&](const Obs::Reassignment* r) {
      return !r->target || *r->target == a.replicas;  // a cancel ends wherever the move began
    });
    if (!matches && last != nullptr) {
      out.push_back(make("reassignment-completed", partition, at,
                         fmt::format("{} ended on replicas {}, not on {} that broker-{} accepted at {}", partition,
                                     ids_text(a.replicas), ids_text(*last->target), last->node, seconds(last->at_ns)),
                         details));
    }
  }
  // A broker outside a partition's final replicas must have deleted its log of it.
  for (const auto& held : obs.final_logs) {
    auto it = obs.final_assignments.find(held.partition);
    if (it == obs.final_assignments.end()) continue;
    const auto& replicas = it->second.replicas;
    if (std::find(replicas.begin(), replicas.end(), held.node) != replicas.end()) continue;
    out.push_back(make("reassignment-completed", held.partition, 0,
                       fmt::format("broker-{} still holds {} (log end {}) although the replicas are {}", held.node,
                                   held.partition, held.log_end, ids_text(replicas)),
                       {{"node", held.node}, {"replicas", replicas}, {"log_end", held.log_end}}));
  }
}

void retention(const History&, const Obs& obs, std::vector<Violation>& out) { retention_check(obs.retention, out); }

using ClusterCheckFn = void (*)(const History&, const Obs&, std::vector<Violation>&);

const std::map<std::string, ClusterCheckFn>& cluster_checkers() {
  static const std::map<std::string, ClusterCheckFn> table = {
      {"single-leader", single_leader},
      {"single-controller", single_controller},
      {"metadata-committed", metadata_committed},
      {"replica-divergence", replica_divergence},
      {"high-watermark-monotonic", high_watermark_monotonic},
      {"reassignment-completed", reassignment_completed},
      {"retention", retention},
  };
  return table;
}

}  // namespace

const std::vector<std::string>& cluster_check_names() {
  static const std::vector<std::string> names = {"single-leader",      "single-controller",
                                                  "metadata-committed", "replica-divergence",
                                                  "high-watermark-monotonic", "reassignment-completed",
                                                  "retention"};
  return names;
}

bool run_cluster_check(const std::string& name, const History& history, const ClusterObservations& obs,
                       std::vector<Violation>& out) {
  auto it = cluster_checkers().find(name);
  if (it == cluster_checkers().end()) return false;
  it->second(history, obs, out);
  return true;
}

}  // namespace keel::sim::check
