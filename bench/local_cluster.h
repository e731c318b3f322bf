#pragma once
// A local three-node `keel` cluster for the benchmark: every node a broker and a controller of the
// metadata quorum (process.roles=broker,controller), each a LocalKeel process with its own temp dir,
// a client port and a controller port on 127.0.0.1. Like LocalKeel, a tool, not broker code.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bench/local_keel.h"
#include "broker/platform/network.h"
#include "broker/base/result.h"
#include "broker/platform/runtime.h"

namespace keel::bench {

struct LocalClusterOptions {
  std::string binary;                  // path of the keel executable
  std::int32_t nodes = 3;
  std::int32_t min_insync_replicas = 2;
  std::vector<std::string> overrides;  // key=value for every node, after the cluster's own keys
};

class LocalCluster {
 public:
  // Starts every node and returns once each accepts on its client port; the quorum and the
  // registrations may still be under way (wait_until_formed).
  static Result<std::unique_ptr<LocalCluster>> start(const LocalClusterOptions& options);

  // Stops every node (SIGTERM); the first error, if any.
  Status stop();

  const std::vector<Address>& bootstrap() const { return bootstrap_; }
  const std::vector<std::unique_ptr<LocalKeel>>& nodes() const { return nodes_; }

 private:
  LocalCluster() = default;
  std::vector<std::unique_ptr<LocalKeel>> nodes_;
  std::vector<Address> bootstrap_;
};

// Call from a task of the runtime. Waits until Metadata lists `brokers` brokers.
Status wait_until_formed(Runtime& rt, const std::vector<Address>& bootstrap, std::int32_t brokers, Duration timeout);

// Creates `topic` (retrying while the controller is not ready), then waits until every partition
// has a leader and an ISR of `replication_factor` replicas, so the produce phase measures a
// steady cluster.
Status create_replicated_topic(Runtime& rt, const std::vector<Address>& bootstrap, const std::string& topic,
                               std::int32_t partitions, std::int16_t replication_factor, Duration timeout);

}  // namespace keel::bench
