// report.html: one self-contained page (inline CSS and SVG, no scripts, nothing fetched).
#include "sim/report/report.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

namespace keel::sim::report {

namespace {

constexpr double chart_width = 1000;  // px for the whole run
constexpr double left_margin = 90;    // lane labels
constexpr double lane_height = 26;
constexpr std::size_t markers_max = 5000;  // fault markers drawn; the rest are counted

std::string esc(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string secs(std::int64_t ns) { return fmt::format("{:.3f}s", static_cast<double>(ns) / 1e9); }

struct Scale {
  std::int64_t end_ns = 1;
  double x(std::int64_t ns) const {
    return left_margin + chart_width * static_cast<double>(std::clamp<std::int64_t>(ns, 0, end_ns)) / static_cast<double>(end_ns);
  }
};

// ---- node states from the timeline events ----

enum class NodeState { down, up, paused, powered_off };

struct Interval {
  std::int64_t from = 0, to = 0;
  std::string what;  // "up", "down", "paused", "powered off", "cut off"
};

struct NodeLanes {
  std::map<int, std::vector<Interval>> state;    // node -> intervals of process state
  std::map<int, std::vector<Interval>> cut_off;  // node -> intervals with a network block involving it
};

std::string_view state_name(NodeState s) {
  switch (s) {
    case NodeState::up: return "up";
    case NodeState::paused: return "paused";
    case NodeState::powered_off: return "powered off";
    case NodeState::down: return "down";
  }
  return "down";
}

class LaneBuilder {
 public:
  explicit LaneBuilder(const Report& r) {
    for (const auto& n : r.nodes) state_[n.id] = {NodeState::down, 0};
  }

  void apply(const TimelineEvent& e) {
    const std::string& n = e.name;
    if (n == "ProcessStart") set(e.node, NodeState::up, e.at_ns);
    else if (n == "ProcessStop") set(e.node, NodeState::down, e.at_ns);
    else if (n == "PowerOff") set(e.node, NodeState::powered_off, e.at_ns);
    else if (n == "PowerOn") set(e.node, NodeState::down, e.at_ns);
    else if (n == "ProcessPause") set(e.node, NodeState::paused, e.at_ns);
    else if (n == "ProcessResume") set(e.node, NodeState::up, e.at_ns);
    else if (n == "NetBlock") block(e, true);
    else if (n == "NetUnblock") block(e, false);
    else if (n == "NetHeal") heal(e.at_ns);
  }

  NodeLanes finish(std::int64_t end_ns) {
    for (auto& [node, s] : state_) close_state(node, end_ns);
    heal(end_ns);
    return std::move(lanes_);
  }

 private:
  void close_state(int node, std::int64_t at) {
    auto& [s, since] = state_[node];
    if (at > since) lanes_.state[node].push_back(Interval{since, at, std::string(state_name(s))});
    since = at;
  }
  void set(int node, NodeState s, std::int64_t at) {
    if (!state_.contains(node)) return;
    close_state(node, at);
    state_[node].first = s;
  }
  int blocks_of(int node) const {
    int n = 0;
    for (const auto& [a, b] : blocks_) n += (a == node || b == node) ? 1 : 0;
    return n;
  }
  void block(const TimelineEvent& e, bool on) {
    const int from = e.fields.value("from", e.node), to = e.fields.value("to", -1);
    const std::set<int> before = cut_nodes();
    on ? (void)blocks_.insert({from, to}) : (void)blocks_.erase({from, to});
    changed(before, e.at_ns);
  }
  void heal(std::int64_t at) {
    const std::set<int> before = cut_nodes();
    blocks_.clear();
    changed(before, at);
  }
  std::set<int> cut_nodes() const {
    std::set<int> out;
    for (const auto& [node, _] : state_) {
      if (blocks_of(node) > 0) out.insert(node);
    }
    return out;
  }
  void changed(const std::set<int>& before, std::int64_t at) {
    const std::set<int> after = cut_nodes();
    for (int n : after) {
      if (!before.contains(n)) cut_since_[n] = at;
    }
    for (int n : before) {
      if (!after.contains(n) && at > cut_since_[n]) lanes_.cut_off[n].push_back(Interval{cut_since_[n], at, "cut off"});
    }
  }

  std::map<int, std::pair<NodeState, std::int64_t>> state_;
  std::set<std::pair<int, int>> blocks_;
  std::map<int, std::int64_t> cut_since_;
  NodeLanes lanes_;
};

std::string_view state_colour(const std::string& what) {
  if (what == "up") return "#5cb85c";
  if (what == "paused") return "#f0ad4e";
  if (what == "powered off") return "#333";
  return "#bbb";  // down
}

// ---- sections ----

void header(std::string& h, const Report& r) {
  const bool pass = r.verdict == "PASS";
  fmt::format_to(std::back_inserter(h),
                 "<h1>{} <span class=\"seed\">seed {}</span> <span class=\"verdict {}\">{}</span></h1>\n"
                 "<table class=\"kv\"><tr><th>trace hash</th><td><code>{}</code></td></tr>"
                 "<tr><th>reproduce</th><td><code>{}</code></td></tr>"
                 "<tr><th>scenario file</th><td>{}</td></tr><tr><th>keel version</th><td>{}</td></tr>"
                 "<tr><th>time</th><td>{:.1f} s simulated in {:.2f} s wall</td></tr>"
                 "<tr><th>checks</th><td>{}</td></tr></table>\n",
                 esc(r.scenario), r.seed, pass ? "pass" : "fail", esc(r.verdict), esc(r.trace_hash), esc(r.reproduce),
                 esc(r.scenario_path), esc(r.version), r.stats.simulated_seconds, r.stats.wall_seconds,
                 esc([&] {
                   std::string s;
                   for (const auto& c : r.checks) s += (s.empty() ? "" : ", ") + c;
                   return s;
                 }()));
}

void axis(std::string& h, const Scale& sc, double y) {
  const double total_s = static_cast<double>(sc.end_ns) / 1e9;
  const double steps[] = {0.1, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600};
  double step = steps[0];
  for (double s : steps) {
    if (total_s / s <= 12) {
      step = s;
      break;
    }
    step = s;
  }
  for (double t = 0; t <= total_s + 1e-9; t += step) {
    const double x = sc.x(static_cast<std::int64_t>(t * 1e9));
    fmt::format_to(std::back_inserter(h),
                   "<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\" class=\"tick\"/>"
                   "<text x=\"{0:.1f}\" y=\"{3:.1f}\" class=\"ticklabel\">{4:g}s</text>\n",
                   x, y - 4, y, y + 12, t);
  }
}

void vertical_line(std::string& h, double x, double top, double bottom, std::string_view cls, const std::string& label,
                   const std::string& title) {
  fmt::format_to(std::back_inserter(h),
                 "<g class=\"{}\"><title>{}</title><line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\"/>"
                 "<text x=\"{:.1f}\" y=\"{:.1f}\">{}</text></g>\n",
                 cls, esc(title), x, top, x, bottom, x + 3, top + 10, esc(label));
}

int lane_of(const Report& r, int node) {
  for (std::size_t i = 0; i < r.nodes.size(); ++i) {
    if (r.nodes[i].id == node) return static_cast<int>(i) + 1;
  }
  return 0;  // the world lane
}

void lanes(std::string& h, const Report& r, const Scale& sc, const NodeLanes& nl, double top) {
  const auto lane_y = [&](int lane) { return top + lane * lane_height; };
  fmt::format_to(std::back_inserter(h), "<text x=\"4\" y=\"{:.1f}\" class=\"lane\">world</text>\n", lane_y(0) + 16);
  for (std::size_t i = 0; i < r.nodes.size(); ++i) {
    const int id = r.nodes[i].id;
    const double y = lane_y(static_cast<int>(i) + 1);
    fmt::format_to(std::back_inserter(h), "<text x=\"4\" y=\"{:.1f}\" class=\"lane\">{}</text>\n", y + 16,
                   esc(r.nodes[i].name));
    if (auto it = nl.state.find(id); it != nl.state.end()) {
      for (const auto& iv : it->second) {
        fmt::format_to(std::back_inserter(h),
                       "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"{}\" class=\"state\">"
                       "<title>{}: {} from {} to {}</title></rect>\n",
                       sc.x(iv.from), y + 4, std::max(0.5, sc.x(iv.to) - sc.x(iv.from)), lane_height - 8,
                       state_colour(iv.what), esc(r.nodes[i].name), iv.what, secs(iv.from), secs(iv.to));
      }
    }
    if (auto it = nl.cut_off.find(id); it != nl.cut_off.end()) {
      for (const auto& iv : it->second) {
        fmt::format_to(std::back_inserter(h),
                       "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"6\" fill=\"#8e44ad\" class=\"cut\">"
                       "<title>{}: network blocked from {} to {}</title></rect>\n",
                       sc.x(iv.from), y + lane_height - 8, std::max(0.5, sc.x(iv.to) - sc.x(iv.from)),
                       esc(r.nodes[i].name), secs(iv.from), secs(iv.to));
      }
    }
  }
}

bool is_marker(const TimelineEvent& e) {
  return e.name.starts_with("Fault") || e.name.starts_with("Scripted") || e.name == "LeaderChange";
}

void markers(std::string& h, const Report& r, const Scale& sc, double top) {
  std::size_t drawn = 0, skipped = 0;
  for (const auto& e : r.timeline) {
    if (!is_marker(e)) continue;
    if (drawn >= markers_max) {
      ++skipped;
      continue;
    }
    ++drawn;
    const double x = sc.x(e.at_ns), y = top + lane_of(r, e.node) * lane_height + 2;
    const bool leader = e.name == "LeaderChange";
    fmt::format_to(std::back_inserter(h),
                   "<path d=\"M{0:.1f},{1:.1f} l-5,-9 h10 z\" class=\"{2}\" transform=\"translate(0,9)\">"
                   "<title>{3} at {4} {5}</title></path>\n",
                   x, y, leader ? "leader" : "fault", esc(e.name), secs(e.at_ns), esc(e.fields.dump()));
  }
  if (skipped > 0) {
    fmt::format_to(std::back_inserter(h), "<text x=\"{:.1f}\" y=\"{:.1f}\" class=\"note\">{} more markers not drawn</text>\n",
                   left_margin, top - 4, skipped);
  }
}

void timeline(std::string& h, const Report& r, const Scale& sc) {
  LaneBuilder builder(r);
  for (const auto& e : r.timeline) builder.apply(e);
  const NodeLanes nl = builder.finish(sc.end_ns);
  const double top = 20;
  const double height = top + (static_cast<double>(r.nodes.size()) + 1) * lane_height + 24;
  fmt::format_to(std::back_inserter(h), "<h2>Timeline</h2>\n<svg class=\"timeline\" width=\"{:.0f}\" height=\"{:.0f}\">\n",
                 left_margin + chart_width + 20, height);
  lanes(h, r, sc, nl, top);
  markers(h, r, sc, top);
  const double bottom = height - 22;
  if (r.duration_ns > 0) vertical_line(h, sc.x(r.duration_ns), 2, bottom, "phase", "end of faults", "the workload stops; faults are healed");
  if (r.quiesce_ns >= 0 && r.quiesce_ns != r.duration_ns) vertical_line(h, sc.x(r.quiesce_ns), 2, bottom, "phase", "quiesce", "every fault healed");
  for (const auto& v : r.violations) {
    vertical_line(h, sc.x(v.at_ns), 2, bottom, v.allowed ? "allowed" : "violation", "",
                  fmt::format("{}{} at {}: {}", v.allowed ? "allowed " : "", v.check, secs(v.at_ns), v.message));
  }
  axis(h, sc, bottom + 4);
  h += "</svg>\n<p class=\"legend\">";
  for (const char* s : {"up", "paused", "down", "powered off"}) {
    fmt::format_to(std::back_inserter(h), "<span style=\"background:{}\"></span>{} ", state_colour(s), s);
  }
  h += "<span style=\"background:#8e44ad\"></span>network blocked <span class=\"tri\">&#9660;</span>fault "
       "<span class=\"tri leader\">&#9660;</span>leader change <span style=\"background:#d9534f\"></span>violation</p>\n";
}

void throughput(std::string& h, const Report& r, const Scale& sc) {
  const auto& s = r.series;
  h += "<h2>Throughput</h2>\n";
  const std::size_t n = std::max(s.acknowledged.size(), s.consumed.size());
  if (n == 0 || s.bucket_ns <= 0) {
    h += "<p>No records.</p>\n";
    return;
  }
  std::uint64_t peak = 1;
  for (auto v : s.acknowledged) peak = std::max(peak, v);
  for (auto v : s.consumed) peak = std::max(peak, v);
  const double height = 160, top = 10;
  const double per_second = 1e9 / static_cast<double>(s.bucket_ns);
  fmt::format_to(std::back_inserter(h), "<svg class=\"chart\" width=\"{:.0f}\" height=\"{:.0f}\">\n",
                 left_margin + chart_width + 20, height + 40);
  const auto line = [&](const std::vector<std::uint64_t>& values, std::string_view cls) {
    std::string points;
    for (std::size_t i = 0; i < values.size(); ++i) {
      const double x = sc.x(static_cast<std::int64_t>(i) * s.bucket_ns + s.bucket_ns / 2);
      const double y = top + height - height * static_cast<double>(values[i]) / static_cast<double>(peak);
      points += fmt::format("{:.1f},{:.1f} ", x, y);
    }
    fmt::format_to(std::back_inserter(h), "<polyline class=\"{}\" points=\"{}\"/>\n", cls, points);
  };
  line(s.acknowledged, "acked");
  line(s.consumed, "consumed");
  fmt::format_to(std::back_inserter(h),
                 "<text x=\"4\" y=\"{:.1f}\" class=\"ticklabel\">{:.0f}/s</text><text x=\"4\" y=\"{:.1f}\" "
                 "class=\"ticklabel\">0</text>\n",
                 top + 10, static_cast<double>(peak) * per_second, top + height);
  axis(h, sc, top + height + 4);
  h += "</svg>\n<p class=\"legend\"><span style=\"background:#2e86de\"></span>records acknowledged per second "
       "<span style=\"background:#27ae60\"></span>records consumed per second</p>\n";
}

void latency(std::string& h, const Report& r) {
  h += "<h2>Latency</h2>\n<table><tr><th></th><th>count</th><th>p50</th><th>p90</th><th>p99</th><th>p99.9</th>"
       "<th>max</th></tr>\n";
  const auto row = [&](std::string_view name, const LatencyPercentiles& p) {
    fmt::format_to(std::back_inserter(h),
                   "<tr><th>{}</th><td>{}</td><td>{:.2f} ms</td><td>{:.2f} ms</td><td>{:.2f} ms</td><td>{:.2f} ms</td>"
                   "<td>{:.2f} ms</td></tr>\n",
                   name, p.count, p.p50_ms, p.p90_ms, p.p99_ms, p.p999_ms, p.max_ms);
  };
  row("produce (send to acknowledgement)", r.stats.produce_latency);
  row("end to end (send to first poll)", r.stats.end_to_end_latency);
  h += "</table>\n";
}

void violations(std::string& h, const Report& r) {
  fmt::format_to(std::back_inserter(h), "<h2>Violations ({})</h2>\n", r.violations.size());
  if (r.violations.empty()) {
    h += "<p>None.</p>\n";
    return;
  }
  h += "<table class=\"violations\"><tr><th>check</th><th>time</th><th>partition</th><th>what</th></tr>\n";
  for (const auto& v : r.violations) {
    fmt::format_to(std::back_inserter(h),
                   "<tr class=\"{}\"><td>{}{}</td><td>{}</td><td>{}</td><td>{}<details><summary>details</summary>"
                   "<pre>{}</pre></details></td></tr>\n",
                   v.allowed ? "allowed" : "violation", esc(v.check), v.allowed ? " (allowed)" : "", secs(v.at_ns),
                   esc(v.key), esc(v.message), esc(v.details.dump(2)));
  }
  h += "</table>\n";
}

template <class Map>
void key_values(std::string& h, std::string_view title, const Map& m) {
  fmt::format_to(std::back_inserter(h), "<h2>{}</h2>\n", title);
  if (m.empty()) {
    h += "<p>None.</p>\n";
    return;
  }
  h += "<table class=\"kv\">";
  for (const auto& [k, v] : m) fmt::format_to(std::back_inserter(h), "<tr><th>{}</th><td>{}</td></tr>", esc(k), esc(fmt::format("{}", v)));
  h += "</table>\n";
}

void statistics(std::string& h, const Report& r) {
  const auto& s = r.stats;
  // The leading digit only orders the rows.
  const std::map<std::string, std::uint64_t> records = {
      {"1 sent", s.records_sent},        {"2 acknowledged", s.records_acknowledged}, {"3 failed", s.records_failed},
      {"4 unknown outcome", s.records_unknown}, {"5 consumed during the run", s.records_consumed},
      {"6 read back at the end", s.records_final_read}, {"7 world events", s.world_events},
      {"8 trace events", s.trace_events}};
  h += "<h2>Statistics</h2>\n<table class=\"kv\">";
  for (const auto& [k, v] : records) fmt::format_to(std::back_inserter(h), "<tr><th>{}</th><td>{}</td></tr>", esc(k.substr(2)), v);
  h += "</table>\n";
  key_values(h, "Faults injected", s.faults);
  key_values(h, "Violations per check", r.check_counts);
  key_values(h, "Broker config drawn from the seed", r.randomized_config);
  std::map<std::string, std::string> sites;
  for (const auto& site : r.buggify_sites) sites[site] = "fired";
  key_values(h, "BUGGIFY sites that fired", sites);
}

constexpr std::string_view style = R"(<style>
body{font-family:system-ui,sans-serif;margin:20px;color:#222}
h1 .seed{color:#666;font-size:70%}
.verdict{padding:2px 12px;border-radius:4px;color:#fff}
.verdict.pass{background:#27ae60}.verdict.fail{background:#d9534f}
table{border-collapse:collapse;margin-bottom:12px}td,th{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}
.kv th{background:#f5f5f5}
svg text{font-size:11px;fill:#333}
.tick{stroke:#999}.ticklabel{font-size:10px}
.lane{font-weight:bold}
.fault{fill:#c0392b}.leader{fill:#2980b9}
.phase line{stroke:#555;stroke-dasharray:4 3}.phase text{fill:#555}
.violation line{stroke:#d9534f;stroke-width:2}.allowed line{stroke:#e0a030;stroke-width:1.5}
polyline{fill:none;stroke-width:1.5}.acked{stroke:#2e86de}.consumed{stroke:#27ae60}
.legend span{display:inline-block;width:12px;height:12px;margin:0 4px 0 12px;vertical-align:middle}
.legend .tri{width:auto;height:auto;color:#c0392b}.legend .tri.leader{color:#2980b9}
tr.violation td:first-child{color:#d9534f;font-weight:bold}tr.allowed td:first-child{color:#b07d10}
pre{font-size:11px;max-height:300px;overflow:auto;background:#fafafa}
code{background:#f3f3f3;padding:1px 4px}
</style>
)";

}  // namespace

std::string render_html(const Report& r) {
  std::string h;
  h.reserve(64 * 1024);
  fmt::format_to(std::back_inserter(h), "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                 "<title>{} seed {}: {}</title>\n{}</head><body>\n",
                 esc(r.scenario), r.seed, esc(r.verdict), style);
  header(h, r);
  Scale sc;
  sc.end_ns = std::max<std::int64_t>({1, r.end_ns, r.duration_ns});
  timeline(h, r, sc);
  throughput(h, r, sc);
  latency(h, r);
  violations(h, r);
  statistics(h, r);
  h += "</body></html>\n";
  return h;
}

}  // namespace keel::sim::report
