#include "sim/check/retention_check.h"

#include <fmt/format.h>

#include <charconv>
#include <map>
#include <string_view>

#include "broker/base/assert.h"

namespace keel::sim::check {

namespace {

using json = nlohmann::json;
using Kind = RetentionEvent::Kind;

// One batch a node holds, as its LogAppended event described it.
struct Held {
  std::int64_t last_offset = 0;
  std::int64_t max_timestamp = -1;
  std::int64_t wall_ms = 0;  // the node's clock at the append
  std::int64_t at_ns = 0;    // world time of the append
};

// The batches each node holds per partition (by first offset), and each node's backward clock jumps.
struct Replay {
  std::map<std::pair<int, std::string>, std::map<std::int64_t, Held>> held;
  std::map<int, std::vector<std::pair<std::int64_t, std::int64_t>>> back_jumps;  // node -> (at_ns, ms back)
};

std::string topic_of(const std::string& partition) {
  const auto dash = partition.rfind('-');
  return dash == std::string::npos ? partition : partition.substr(0, dash);
}

std::string seconds(std::int64_t ns) { return fmt::format("{:.3f}s", static_cast<double>(ns) / 1e9); }

// A new append at `first` replaces whatever the node held from there on (it truncated first).
void note_append(Replay& r, const RetentionEvent& e) {
  auto& batches = r.held[{e.node, e.partition}];
  auto it = batches.lower_bound(e.first_offset);
  if (it != batches.begin() && std::prev(it)->second.last_offset >= e.first_offset) --it;
  batches.erase(it, batches.end());
  std::int64_t first = e.first_offset;
  for (const auto& b : e.batches) {
    KEEL_ASSERT_GE(b.last_offset, first);
    batches[first] = Held{b.last_offset, b.max_timestamp, e.wall_ms, e.at_ns};
    first = b.last_offset + 1;
  }
}

// How far the node's clock went back between two world times (ms, rounded up).
std::int64_t back_jumped_ms(const Replay& r, int node, std::int64_t from_ns, std::int64_t to_ns) {
  auto it = r.back_jumps.find(node);
  if (it == r.back_jumps.end()) return 0;
  std::int64_t total = 0;
  for (const auto& [at_ns, ms] : it->second) {
    if (at_ns > from_ns && at_ns <= to_ns) total += ms;
  }
  return total;
}

Violation early(const RetentionEvent& e, std::string message, json details) {
  Violation v;
  v.check = "retention";
  v.at_ns = e.at_ns;
  v.key = e.partition;
  v.message = std::move(message);
  v.details = std::move(details);
  return v;
}

void judge_by_time(const Replay& r, const RetentionEvent& e, std::int64_t first, const Held& h,
                   const RetentionLimits& limits, std::vector<Violation>& out) {
  const bool stamped = h.max_timestamp >= 0;
  const std::int64_t time = stamped ? h.max_timestamp : h.wall_ms;
  const std::int64_t slack = stamped ? 0 : back_jumped_ms(r, e.node, h.at_ns, e.at_ns);
  const std::int64_t age = e.decided_ms - time + slack;
  if (age > limits.retention_ms) return;
  out.push_back(early(e,
                      fmt::format("broker-{} deleted {} offsets {}..{} at {} when they were {} ms old by its clock ({}), "
                                  "not older than retention.ms {}",
                                  e.node, e.partition, first, h.last_offset, seconds(e.at_ns), age,
                                  stamped ? fmt::format("max timestamp {}", h.max_timestamp)
                                          : fmt::format("no timestamp; appended at {} ms", h.wall_ms),
                                  limits.retention_ms),
                      {{"node", e.node}, {"first_offset", first}, {"last_offset", h.last_offset},
                       {"max_timestamp", h.max_timestamp}, {"appended_wall_ms", h.wall_ms},
                       {"appended_ns", h.at_ns}, {"decided_ms", e.decided_ms}, {"clock_back_ms", slack},
                       {"retention_ms", limits.retention_ms}}));
}

void note_delete(Replay& r, const RetentionEvent& e, const RetentionLimits& limits, std::vector<Violation>& out) {
  if (e.reason == "retention_bytes" && limits.retention_bytes >= 0 && e.log_bytes_kept < limits.retention_bytes) {
    out.push_back(early(e,
                        fmt::format("broker-{} deleted {} offsets {}..{} at {} by size, keeping {} bytes: less than "
                                    "retention.bytes {}",
                                    e.node, e.partition, e.first_offset, e.end_offset - 1, seconds(e.at_ns),
                                    e.log_bytes_kept, limits.retention_bytes),
                        {{"node", e.node}, {"log_bytes_kept", e.log_bytes_kept},
                         {"retention_bytes", limits.retention_bytes}}));
  }
  auto& batches = r.held[{e.node, e.partition}];
  auto it = batches.begin();
  while (it != batches.end() && it->second.last_offset < e.end_offset) {
    if (e.reason == "retention_ms" && it->second.last_offset >= e.first_offset) {
      judge_by_time(r, e, it->first, it->second, limits, out);
    }
    it = batches.erase(it);
  }
}

}  // namespace

void retention_check(const RetentionObservations& obs, std::vector<Violation>& out) {
  Replay r;
  for (const RetentionEvent& e : obs.events) {
    switch (e.kind) {
      case Kind::append: note_append(r, e); break;
      case Kind::clock_jump:
        if (e.jump_ns < 0) r.back_jumps[e.node].emplace_back(e.at_ns, (-e.jump_ns + 999'999) / 1'000'000);
        break;
      case Kind::delete_segment: {
        auto limits = obs.limits.find(topic_of(e.partition));
        note_delete(r, e, limits == obs.limits.end() ? RetentionLimits{} : limits->second, out);
        break;
      }
    }
  }
}

bool parse_appended_batches(const std::string& text, std::vector<RetentionEvent::Batch>& out) {
  std::string_view rest(text);
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    const std::string_view item = rest.substr(0, comma);
    const auto colon = item.find(':');
    if (colon == std::string_view::npos) return false;
    RetentionEvent::Batch b;
    const auto a = std::from_chars(item.data(), item.data() + colon, b.last_offset);
    const auto t = std::from_chars(item.data() + colon + 1, item.data() + item.size(), b.max_timestamp);
    if (a.ec != std::errc() || t.ec != std::errc() || t.ptr != item.data() + item.size()) return false;
    out.push_back(b);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
  }
  return !out.empty();
}

}  // namespace keel::sim::check
