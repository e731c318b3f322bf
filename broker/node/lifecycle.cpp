// The broker lifecycle of a node (Kafka's BrokerLifecycleManager): it registers with the active
// controller with a fresh incarnation id at every start (the controller answers with a broker epoch:
// the offset of its registration record), heartbeats every broker.heartbeat.interval.ms, registers
// again when the controller forgot it, and on a clean stop asks the controller through the heartbeats
// to move its leaderships away before it goes (controlled shutdown).
#include <fmt/format.h>

#include "broker/metadata/quorum.h"
#include "broker/node/node.h"
#include "broker/partition/replica_manager.h"

namespace keel::node {

using protocol::ErrorCode;

bool Node::register_with_controller() {
  metadata::RegisterBrokerRequest request;
  request.broker_id = config_.node_id;
  request.incarnation = incarnation_;
  for (const auto& e : config_.advertised_listeners) request.endpoints.push_back({e.listener_name, e.host, e.port});
  const auto deadline = rt_.now() + std::chrono::milliseconds(config_.quorum_request_timeout_ms);
  auto reply = quorum_->call(request, deadline);
  if (!reply && reply.code() != Errc::corrupt) return false;  // no controller answered: ask again
  if (!reply || reply->error != ErrorCode::none) {
    rt_.trace("BrokerRegistrationRefused", Severity::warn)
        .detail("Error", reply ? std::string(protocol::error_name(reply->error)) : reply.error().message);
    return false;
  }
  KEEL_ASSERT_GE(reply->broker_epoch, 0);
  broker_epoch_ = reply->broker_epoch;
  replicas_->set_broker_epoch(broker_epoch_);
  rt_.trace("BrokerRegistered").detail("NodeId", config_.node_id).detail("BrokerEpoch", broker_epoch_);
  return true;
}

void Node::heartbeat() {
  metadata::HeartbeatRequest request;
  request.broker_id = config_.node_id;
  request.broker_epoch = broker_epoch_;
  request.current_metadata_offset = quorum_->applied_offset();
  request.want_shutdown = want_shutdown_;
  const auto deadline = rt_.now() + std::chrono::milliseconds(config_.quorum_request_timeout_ms);
  auto reply = quorum_->call(request, deadline);
  if (!reply && reply.code() != Errc::corrupt) {
    // No controller answers (the rest of the cluster may be stopping too): nobody can take the
    // leaderships over, so waiting longer helps no one.
    if (want_shutdown_) shutdown_approved_.set();
    return;
  }
  if (reply && reply->error == ErrorCode::stale_broker_epoch) {
    broker_epoch_ = -1;  // the controller forgot us (or we it): register again
    return;
  }
  if (reply && reply->error == ErrorCode::none && want_shutdown_ && reply->should_shut_down) shutdown_approved_.set();
}

void Node::lifecycle_loop() {
  const Duration interval = std::chrono::milliseconds(config_.broker_heartbeat_interval_ms);
  for (;;) {
    while (broker_epoch_ < 0) {
      if (register_with_controller()) break;
      rt_.sleep_for(interval / 4);
    }
    heartbeat();
    if (broker_epoch_ < 0) continue;
    // While shutting down, ask often: the controller moves leadership as soon as it hears.
    rt_.sleep_for(want_shutdown_ ? interval / 4 : interval);
  }
}

void Node::controlled_shutdown(Duration timeout) {
  if (broker_epoch_ < 0) return;  // never registered: nothing to hand over
  want_shutdown_ = true;
  const bool approved = shutdown_approved_.wait(rt_.now() + timeout);
  rt_.trace("ControlledShutdown").detail("NodeId", config_.node_id).detail("Approved", approved);
}

}  // namespace keel::node
