#include "sim/report/junit.h"

#include <fmt/format.h>

namespace keel::sim::report {

namespace {

// XML-escaped; control characters XML 1.0 cannot hold are dropped.
std::string xml(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 && c != '\n' && c != '\t' && c != '\r') continue;
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace

std::string junit_xml(const std::string& suite_name, const std::vector<JUnitCase>& cases) {
  std::size_t failures = 0;
  double total = 0;
  for (const auto& c : cases) {
    failures += c.failed ? 1 : 0;
    total += c.time_seconds;
  }
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  fmt::format_to(std::back_inserter(out), "<testsuites><testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"0\" time=\"{:.3f}\">\n",
                 xml(suite_name), cases.size(), failures, total);
  for (const auto& c : cases) {
    fmt::format_to(std::back_inserter(out), "  <testcase name=\"{}\" classname=\"{}\" time=\"{:.3f}\">", xml(c.name),
                   xml(c.classname), c.time_seconds);
    if (c.failed) {
      fmt::format_to(std::back_inserter(out), "\n    <failure message=\"{}\">{}</failure>\n  ", xml(c.failure_message),
                     xml(c.failure_text));
    }
    if (!c.system_out.empty()) fmt::format_to(std::back_inserter(out), "<system-out>{}</system-out>", xml(c.system_out));
    out += "</testcase>\n";
  }
  out += "</testsuite></testsuites>\n";
  return out;
}

}  // namespace keel::sim::report
