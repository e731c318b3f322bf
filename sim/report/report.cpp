#include "sim/report/report.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace keel::sim::check {
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Violation, check, allowed, at_ns, key, message, details)
}

namespace keel::sim::report {

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(TimelineEvent, at_ns, node, name, fields)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(LatencyPercentiles, count, p50_ms, p90_ms, p99_ms, p999_ms, max_ms)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Statistics, records_sent, records_acknowledged, records_failed,
                                                records_unknown, records_consumed, records_final_read, faults, groups,
                                                produce_latency, end_to_end_latency, simulated_seconds, wall_seconds,
                                                world_events, trace_events)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Series, bucket_ns, acknowledged, consumed)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(NodeInfo, id, name, host)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Report, scenario, scenario_path, seed, version, verdict, trace_hash,
                                                reproduce, violations, check_counts, checks, randomized_config,
                                                buggify_sites, marks, stats, series, nodes, timeline, duration_ns, quiesce_ns,
                                                end_ns)

nlohmann::json to_json(const Report& r) {
  nlohmann::json j;
  nlohmann::to_json(j, r);
  return j;
}

namespace {

// The fields replay cannot do without, checked one by one so the error names the field.
Status require_fields(const nlohmann::json& j) {
  if (!j.is_object()) return make_error(Errc::invalid_argument, "expected a JSON object");
  const auto need = [&](const char* key, bool ok, const char* what) -> Status {
    if (!j.contains(key)) return make_error(Errc::invalid_argument, fmt::format("{}: missing", key));
    if (!ok) return make_error(Errc::invalid_argument, fmt::format("{}: expected {}", key, what));
    return {};
  };
  if (auto s = need("scenario_path", j.contains("scenario_path") && j["scenario_path"].is_string(), "a string"); !s) return s;
  if (auto s = need("seed", j.contains("seed") && j["seed"].is_number_unsigned(), "an unsigned integer"); !s) return s;
  if (auto s = need("trace_hash", j.contains("trace_hash") && j["trace_hash"].is_string(), "a string"); !s) return s;
  if (auto s = need("version", j.contains("version") && j["version"].is_string(), "a string"); !s) return s;
  return {};
}

}  // namespace

Result<Report> from_json(const nlohmann::json& j) {
  if (auto s = require_fields(j); !s) return s.error();
  try {
    return j.get<Report>();
  } catch (const nlohmann::json::exception& e) {
    return make_error(Errc::invalid_argument, e.what());
  }
}

Status write_report(const Report& r, const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return make_error(Errc::io_error, fmt::format("cannot create '{}': {}", dir, ec.message()));
  const std::pair<std::string, std::string> files[] = {{"report.json", to_json(r).dump(2) + "\n"},
                                                       {"report.html", render_html(r)}};
  for (const auto& [name, text] : files) {
    const std::string path = dir + "/" + name;
    const std::string tmp = path + ".tmp";
    {
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      out << text;
      if (!out.flush()) return make_error(Errc::io_error, fmt::format("cannot write '{}'", tmp));
    }
    fs::rename(tmp, path, ec);
    if (ec) return make_error(Errc::io_error, fmt::format("cannot rename '{}' to '{}': {}", tmp, path, ec.message()));
  }
  return {};
}

Result<Report> read_report(const std::string& report_json_path) {
  std::ifstream in(report_json_path, std::ios::binary);
  if (!in) {
    return make_error(Errc::not_found, fmt::format("cannot read '{}': {}", report_json_path, std::strerror(errno)));
  }
  std::ostringstream text;
  text << in.rdbuf();
  const auto j = nlohmann::json::parse(text.str(), nullptr, false);
  if (j.is_discarded()) return make_error(Errc::invalid_argument, fmt::format("{}: not valid JSON", report_json_path));
  auto r = from_json(j);
  if (!r) return make_error(Errc::invalid_argument, fmt::format("{}: {}", report_json_path, r.error().message));
  return r;
}

}  // namespace keel::sim::report
