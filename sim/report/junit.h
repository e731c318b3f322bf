#pragma once
// JUnit XML for `keel-sim sweep`: one test case per seed, so CI systems show which seeds failed
// and the command that reproduces each.
#include <string>
#include <vector>

namespace keel::sim::report {

struct JUnitCase {
  std::string name;       // "seed 17"
  std::string classname;  // "keel-sim.smoke"
  double time_seconds = 0;
  bool failed = false;
  std::string failure_message;  // one line
  std::string failure_text;     // the reproduce command and the violations
  std::string system_out;
};

std::string junit_xml(const std::string& suite_name, const std::vector<JUnitCase>& cases);

}  // namespace keel::sim::report
