#pragma once
// What the Kafka front end reaches of its node: the configuration, the metadata (the quorum
// member's committed image, and calls to the active controller), and the replica manager. The node
// (broker/node) owns all of these (and the group coordinator) and hands the front end references; nothing here calls back up.
#include <string>

#include "broker/config/config.h"
#include "broker/platform/runtime.h"
#include "broker/platform/sync.h"

namespace keel::metadata {
class Quorum;
}
namespace keel::partition {
class ReplicaManager;
}
namespace keel::group {
class GroupCoordinator;
}

namespace keel::kafka {

struct BrokerServices {
  Runtime& rt;
  const config::BrokerConfig& config;
  std::string cluster_id;
  metadata::Quorum& quorum;
  partition::ReplicaManager& replicas;
  group::GroupCoordinator& groups;
  // Set once this broker has registered and applied the metadata up to its registration. Kafka's
  // broker enables its listeners only then, so no client request is served from a stale image.
  Event& caught_up;

  // The address clients should use to reach this broker (the first advertised listener).
  const config::Endpoint& advertised() const;
};

}  // namespace keel::kafka
