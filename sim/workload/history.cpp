#include "sim/workload/history.h"

namespace keel::sim::workload {

std::string_view op_type_name(OpType t) {
  switch (t) {
    case OpType::send: return "send";
    case OpType::poll: return "poll";
    case OpType::assign: return "assign";
  }
  return "?";
}

std::string_view op_status_name(OpStatus s) {
  switch (s) {
    case OpStatus::ok: return "ok";
    case OpStatus::fail: return "fail";
    case OpStatus::info: return "info";
  }
  return "?";
}

std::string_view phase_name(Phase p) {
  switch (p) {
    case Phase::main: return "main";
    case Phase::final: return "final";
    case Phase::liveness: return "liveness";
  }
  return "?";
}

}  // namespace keel::sim::workload
