#include "sim/check/checks.h"

#include "sim/check/cluster_checks.h"
#include "sim/check/group_checks.h"
#include "sim/check/derived.h"

#include "broker/base/assert.h"

#include <fmt/format.h>

#include <algorithm>
#include <functional>

namespace keel::sim::check {

using workload::History;
using workload::Op;
using workload::OpStatus;
using workload::OpType;
using workload::Phase;

namespace {

// Violations of one check beyond this are counted but not listed one by one.
constexpr std::size_t listed_per_check_max = 100;

using json = nlohmann::json;

std::string seconds(std::int64_t ns) { return fmt::format("{:.3f}s", static_cast<double>(ns) / 1e9); }

json op_json(const Op& op) {
  return {{"op", op.index},
          {"process", op.process},
          {"type", std::string(workload::op_type_name(op.type))},
          {"status", std::string(workload::op_status_name(op.status))},
          {"phase", std::string(workload::phase_name(op.phase))},
          {"invoke_ns", op.invoke_ns},
          {"complete_ns", op.complete_ns}};
}

json offsets_json(const std::set<std::int64_t>& s) { return json(std::vector<std::int64_t>(s.begin(), s.end())); }

Violation make(std::string check, int key, const Derived& d, std::int64_t at_ns, std::string message, json details) {
  Violation v;
  v.check = std::move(check);
  v.key = key >= 0 ? d.key_name(key) : std::string();
  v.at_ns = at_ns;
  v.message = std::move(message);
  v.details = std::move(details);
  return v;
}

// Under unclean leader election a loss is what the configuration allows (§3.9): still listed and
// counted, but not a failure. So are its consequences for readers: the new leader's log becomes
// the truth, so offsets a consumer read get other records and a consumer past its end starts over.
Violation allow_if_unclean(const Derived& d, Violation v,
                           std::string_view why = "which may lose acknowledged writes") {
  if (!d.history.unclean_election) return v;
  v.allowed = true;
  v.message += fmt::format(" (allowed: the topics allow unclean leader election, {})", why);
  return v;
}

constexpr std::string_view reuses_offsets = "which reuses the offsets of records it loses";

// ---- lost-write ----

void lost_write(const Derived& d, std::vector<Violation>& out) {
  for (std::size_t k = 0; k < d.keys.size(); ++k) {
    const KeyLog& log = d.keys[k];
    // bound: the largest first-appearance index among the values read by ok ops.
    std::int64_t bound = -1;
    std::int64_t bound_value = -1;
    for (const auto& [value, reader] : log.first_reader) {
      if (auto s = log.span(value); s && s->first > bound) {
        bound = s->first;
        bound_value = value;
      }
    }
    if (bound < 0) continue;
    for (const auto& [value, offsets] : log.offsets_of) {
      const auto s = log.span(value);
      if (!s || s->second > bound || log.first_reader.contains(value)) continue;
      if (d.history.deleted_on_purpose(static_cast<int>(k), *offsets.begin())) continue;
      auto w = log.writer.find(value);
      if (w == log.writer.end() || !d.must_have_committed[w->second]) continue;
      const Op& writer = d.history.ops[w->second];
      const Op& reader = d.history.ops[log.first_reader.at(bound_value)];
      out.push_back(allow_if_unclean(d, make("lost-write", static_cast<int>(k), d, writer.complete_ns,
                         fmt::format("{} value {} at offset {} (written by process {}, {} at {}) was never read, though "
                                     "value {} at a later index ({}) was read at {}",
                                     d.key_name(static_cast<int>(k)), value, *offsets.begin(), writer.process,
                                     workload::op_status_name(writer.status), seconds(writer.complete_ns), bound_value,
                                     bound, seconds(reader.complete_ns)),
                         {{"value", value},
                          {"offsets", offsets_json(offsets)},
                          {"index", s->first},
                          {"bound", bound},
                          {"bound_value", bound_value},
                          {"writer", op_json(writer)},
                          {"reader_of_bound", op_json(reader)}})));
    }
  }
}

// ---- unseen ----

void unseen(const Derived& d, std::vector<Violation>& out) {
  std::vector<std::vector<const Op*>> missing(d.keys.size());
  for (const Op& op : d.history.ops) {
    if (op.type != OpType::send || op.status != OpStatus::ok || op.key < 0) continue;
    if (op.offset && d.history.deleted_on_purpose(op.key, *op.offset)) continue;
    if (!d.keys[op.key].first_reader.contains(op.value)) missing[op.key].push_back(&op);
  }
  for (std::size_t k = 0; k < missing.size(); ++k) {
    if (missing[k].empty()) continue;
    json values = json::array();
    std::int64_t latest = 0;
    for (const Op* op : missing[k]) {
      latest = std::max(latest, op->complete_ns);
      if (values.size() < 20) {
        values.push_back({{"value", op->value}, {"offset", op->offset ? json(*op->offset) : json(nullptr)},
                          {"acknowledged_ns", op->complete_ns}, {"process", op->process}});
      }
    }
    const Op& first = *missing[k].front();
    out.push_back(allow_if_unclean(d, make("unseen", static_cast<int>(k), d, latest,
                       fmt::format("{}: {} acknowledged value(s) never read, even by the final reads; the first: value {} "
                                   "at offset {} acknowledged at {}",
                                   d.key_name(static_cast<int>(k)), missing[k].size(), first.value,
                                   first.offset ? fmt::format("{}", *first.offset) : "?", seconds(first.complete_ns)),
                       {{"count", missing[k].size()}, {"values", values}})));
  }
}

// ---- duplicate, inconsistent-offsets, unexpected ----

// When a value or offset was first observed: the first ok op that read it, else its writer.
std::int64_t observed_at(const Derived& d, const KeyLog& log, std::int64_t value) {
  if (auto r = log.first_reader.find(value); r != log.first_reader.end()) return d.history.ops[r->second].complete_ns;
  if (auto w = log.writer.find(value); w != log.writer.end()) return d.history.ops[w->second].complete_ns;
  return 0;
}

void duplicate(const Derived& d, std::vector<Violation>& out) {
  for (std::size_t k = 0; k < d.keys.size(); ++k) {
    const KeyLog& log = d.keys[k];
    for (const auto& [value, offsets] : log.offsets_of) {
      if (offsets.size() < 2) continue;
      Violation v = make("duplicate", static_cast<int>(k), d, observed_at(d, log, value),
                         fmt::format("{} value {} is at {} offsets: {}", d.key_name(static_cast<int>(k)), value,
                                     offsets.size(), offsets_json(offsets).dump()),
                         {{"value", value}, {"offsets", offsets_json(offsets)}});
      v.allowed = !d.history.idempotent;
      out.push_back(std::move(v));
    }
  }
}

void inconsistent_offsets(const Derived& d, std::vector<Violation>& out) {
  for (std::size_t k = 0; k < d.keys.size(); ++k) {
    const KeyLog& log = d.keys[k];
    for (const auto& [offset, values] : log.values_at) {
      if (values.size() < 2) continue;
      std::int64_t at = 0;
      for (std::int64_t v : values) at = std::max(at, observed_at(d, log, v));
      out.push_back(allow_if_unclean(
          d,
          make("inconsistent-offsets", static_cast<int>(k), d, at,
               fmt::format("{} offset {} holds {} different values: {}", d.key_name(static_cast<int>(k)), offset,
                           values.size(), offsets_json(values).dump()),
               {{"offset", offset}, {"index", log.index_of_offset.at(offset)}, {"values", offsets_json(values)}}),
          reuses_offsets));
    }
  }
}

void unexpected(const Derived& d, std::vector<Violation>& out) {
  for (const Op& op : d.history.ops) {
    if (op.type != OpType::poll) continue;
    for (const auto& r : op.reads) {
      if (r.key < 0) continue;
      const bool sent = r.value >= 0 && d.keys[r.key].writer.contains(r.value);
      if (sent) continue;
      out.push_back(make("unexpected", r.key, d, op.complete_ns,
                         r.value < 0 ? fmt::format("{} offset {}: a record no producer of this run wrote (its value does "
                                                   "not parse), read by process {} at {}",
                                                   d.key_name(r.key), r.offset, op.process, seconds(op.complete_ns))
                                     : fmt::format("{} offset {}: value {} was never sent to this partition, read by "
                                                   "process {} at {}",
                                                   d.key_name(r.key), r.offset, r.value, op.process, seconds(op.complete_ns)),
                         {{"offset", r.offset}, {"value", r.value}, {"reader", op_json(op)}}));
    }
  }
}

// ---- nonmonotonic-send ----

void nonmonotonic_send(const Derived& d, std::vector<Violation>& out) {
  std::map<std::pair<int, int>, const Op*> last;  // (process, key) -> the previous send with an offset
  for (const Op& op : d.history.ops) {
    if (op.type != OpType::send || op.status == OpStatus::fail || !op.offset || op.key < 0) continue;
    const Op*& prev = last[{op.process, op.key}];
    if (prev != nullptr && *op.offset <= *prev->offset) {
      Violation v = make("nonmonotonic-send", op.key, d, op.complete_ns,
                         fmt::format("{}: process {} sent value {} after value {}, but it landed at offset {}, not after "
                                     "offset {}",
                                     d.key_name(op.key), op.process, op.value, prev->value, *op.offset, *prev->offset),
                         {{"value", op.value}, {"offset", *op.offset}, {"previous_value", prev->value},
                          {"previous_offset", *prev->offset}, {"op", op_json(op)}, {"previous_op", op_json(*prev)}});
      v.allowed = !d.history.ordered_sends;
      out.push_back(std::move(v));
    }
    prev = &op;
  }
}

// ---- nonmonotonic-poll and poll-skip ----

struct LastRead {
  std::int64_t offset = 0;
  std::int64_t value = 0;
  std::size_t op = 0;
};

// Compares a read with the one before it (on the same key, same process) by dense index.
void compare_reads(const Derived& d, const Op& op, int key, const LastRead& before, const workload::Read& now,
                   bool internal, std::vector<Violation>& out) {
  const KeyLog& log = d.keys[key];
  const auto a = log.index(before.offset), b = log.index(now.offset);
  const std::int64_t delta = a && b ? *b - *a : 1;  // unknown index: no error
  if (delta == 1) return;
  json details = {{"previous", {{"offset", before.offset}, {"value", before.value}, {"op", before.op}}},
                  {"read", {{"offset", now.offset}, {"value", now.value}}},
                  {"delta", delta},
                  {"internal", internal},
                  {"op", op_json(op)}};
  // Records retention deleted before the consumer got to them are skipped on purpose.
  if (delta > 1 && d.history.deleted_on_purpose(key, log.offset_at_index[static_cast<std::size_t>(*b - 1)])) return;
  if (delta > 1) {
    json skipped = json::array();
    for (std::int64_t i = *a + 1; i < *b && skipped.size() < 50; ++i) {
      skipped.push_back({{"offset", log.offset_at_index[static_cast<std::size_t>(i)]}, {"value", log.value_at_index(i)}});
    }
    details["skipped"] = skipped;
    out.push_back(make("poll-skip", key, d, op.complete_ns,
                       fmt::format("{}: process {} read offset {} {}after offset {}, skipping {} record(s) in between",
                                   d.key_name(key), op.process, now.offset, internal ? "in the same poll " : "",
                                   before.offset, delta - 1),
                       std::move(details)));
  } else {
    out.push_back(allow_if_unclean(
        d,
        make("nonmonotonic-poll", key, d, op.complete_ns,
             fmt::format("{}: process {} read offset {} {}after offset {}: {}", d.key_name(key), op.process, now.offset,
                         internal ? "in the same poll " : "", before.offset,
                         delta == 0 ? "the same record again" : "backwards"),
             std::move(details)),
        reuses_offsets));
  }
}

void apply_assign(const Op& op, std::map<int, LastRead>& last) {
  std::erase_if(last, [&](const auto& entry) {
    const bool kept = std::find(op.keys.begin(), op.keys.end(), entry.first) != op.keys.end();
    return !kept || op.seek_to_beginning;  // a seek to the beginning rewinds on purpose
  });
}

void polls(const Derived& d, std::vector<Violation>& out) {
  std::map<int, std::map<int, LastRead>> last;  // process -> key -> the last read of an ok poll
  for (const Op& op : d.history.ops) {
    if (op.type == OpType::assign && op.status != OpStatus::fail) apply_assign(op, last[op.process]);
    if (op.type != OpType::poll) continue;
    auto& mine = last[op.process];
    std::map<int, LastRead> in_this_poll;
    for (const auto& r : op.reads) {
      if (r.key < 0) continue;
      if (auto it = in_this_poll.find(r.key); it != in_this_poll.end()) {
        compare_reads(d, op, r.key, it->second, r, true, out);
      } else if (auto prev = mine.find(r.key); prev != mine.end()) {
        compare_reads(d, op, r.key, prev->second, r, false, out);
      }
      in_this_poll[r.key] = LastRead{r.offset, r.value, op.index};
    }
    if (op.status != OpStatus::ok) continue;
    for (const auto& [key, read] : in_this_poll) mine[key] = read;
  }
}

// ---- liveness ----

void liveness(const Derived& d, std::vector<Violation>& out) {
  const History& h = d.history;
  if (h.recovered_ns < 0) {
    out.push_back(make("liveness", -1, d, 0, "the run never reached the end of its quiescence phase", json::object()));
    return;
  }
  const std::int64_t deadline = h.recovered_ns + h.liveness_within_ns;
  std::set<std::pair<int, std::int64_t>> acked;  // (key, value) of liveness sends ok by the deadline
  std::int64_t first_ack = -1, first_read = -1;
  for (const Op& op : h.ops) {
    if (op.phase != Phase::liveness || op.status != OpStatus::ok || op.complete_ns > deadline) continue;
    if (op.type == OpType::send) {
      acked.insert({op.key, op.value});
      if (first_ack < 0) first_ack = op.complete_ns;
    }
    if (op.type != OpType::poll) continue;
    for (const auto& r : op.reads) {
      if (acked.contains({r.key, r.value}) && first_read < 0) first_read = op.complete_ns;
    }
  }
  if (first_read >= 0) return;
  const std::string what = first_ack < 0 ? "no record was acknowledged" : "an acknowledged record was not read back";
  out.push_back(make("liveness", -1, d, deadline,
                     fmt::format("after quiescence (recovered at {}), {} within {} (by {})", seconds(h.recovered_ns), what,
                                 seconds(h.liveness_within_ns), seconds(deadline)),
                     {{"recovered_ns", h.recovered_ns}, {"deadline_ns", deadline}, {"first_ack_ns", first_ack}}));
}

using CheckFn = std::function<void(const Derived&, std::vector<Violation>&)>;

const std::map<std::string, CheckFn>& checkers() {
  static const std::map<std::string, CheckFn> table = {
      {"lost-write", lost_write},
      {"unseen", unseen},
      {"duplicate", duplicate},
      {"inconsistent-offsets", inconsistent_offsets},
      {"unexpected", unexpected},
      {"nonmonotonic-send", nonmonotonic_send},
      {"nonmonotonic-poll", [](const Derived& d, std::vector<Violation>& out) {
         std::vector<Violation> both;
         polls(d, both);
         for (auto& v : both) {
           if (v.check == "nonmonotonic-poll") out.push_back(std::move(v));
         }
       }},
      {"poll-skip", [](const Derived& d, std::vector<Violation>& out) {
         std::vector<Violation> both;
         polls(d, both);
         for (auto& v : both) {
           if (v.check == "poll-skip") out.push_back(std::move(v));
         }
       }},
      {"liveness", liveness},
  };
  return table;
}

}  // namespace

bool CheckResult::passed() const {
  return std::none_of(violations.begin(), violations.end(), [](const Violation& v) { return !v.allowed; });
}

CheckResult run_checks(const History& history, const ClusterObservations& observations,
                       const std::vector<std::string>& checks) {
  return run_checks(history, observations, {}, checks);
}

CheckResult run_checks(const History& history, const ClusterObservations& observations,
                       const std::vector<workload::GroupHistory>& groups, const std::vector<std::string>& checks) {
  const Derived d(history);
  CheckResult result;
  for (const auto& name : checks) {
    std::vector<Violation> found;
    if (auto it = checkers().find(name); it != checkers().end()) {
      it->second(d, found);
    } else if (std::find(group_check_names().begin(), group_check_names().end(), name) != group_check_names().end()) {
      for (const auto& g : groups) run_group_check(name, g, found);
    } else {
      const bool known = run_cluster_check(name, history, observations, found);
      KEEL_ASSERT_MSG(known, "unknown check {}", name);
    }
    std::stable_sort(found.begin(), found.end(), [](const Violation& a, const Violation& b) {
      return std::tie(a.key, a.at_ns) < std::tie(b.key, b.at_ns);
    });
    result.counts[name] = found.size();
    if (found.size() > listed_per_check_max) found.resize(listed_per_check_max);
    for (auto& v : found) result.violations.push_back(std::move(v));
  }
  return result;
}

CheckResult run_checks(const History& history, const std::vector<std::string>& checks) {
  static const ClusterObservations none;
  return run_checks(history, none, checks);
}

}  // namespace keel::sim::check
