#include "sim/workload/group_history.h"

#include "broker/base/assert.h"

namespace keel::sim::workload {

std::string_view group_protocol_name(GroupProtocol p) {
  switch (p) {
    case GroupProtocol::classic_eager: return "classic-eager";
    case GroupProtocol::classic_cooperative: return "classic-cooperative";
    case GroupProtocol::consumer: return "consumer";
  }
  KEEL_UNREACHABLE();
}

}  // namespace keel::sim::workload
