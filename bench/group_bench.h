#pragma once
// keel-bench's group phase: the Keel client's consumer group against a real keel. A producer writes
// a topic; `members` GroupConsumers of one group (one assignor) read it all, committing after each
// poll; the phase measures how long the group took to share every partition (wall time) and to read
// every record, and checks what a group must give: no partition held by two members at once, every
// record read, and after the members leave, a lag of zero and an Empty group in the admin's view.
// Call from a task of the runtime.
#include <cstdint>
#include <string>
#include <vector>

#include "broker/base/result.h"
#include "broker/client/assignors/assignor.h"
#include "broker/platform/network.h"
#include "broker/platform/runtime.h"

namespace keel::bench {

struct GroupCase {
  std::string topic;
  std::string group;
  std::int32_t partitions = 6;
  int members = 3;
  client::assignors::AssignorKind assignor = client::assignors::AssignorKind::range;
  std::int64_t records = 5'000;
  Duration time_limit = std::chrono::seconds(60);
};

struct GroupResult {
  double stable_seconds = 0;    // start of the members until every partition was held by one of them
  double consumed_seconds = 0;  // start of the members until every record was read
  std::uint64_t records_read = 0;  // distinct (partition, offset) pairs read
  std::uint64_t rereads = 0;       // records read again (allowed: at least once)
  std::uint64_t rebalances = 0;    // completed rebalances, summed over the members
  std::int64_t lag_total = 0;      // after the members closed, from Admin::lag
  std::vector<std::string> violations;  // what broke a group's promises; empty when all held
};

Result<GroupResult> group_consume(Runtime& rt, const std::vector<Address>& bootstrap, const GroupCase& c);

}  // namespace keel::bench
