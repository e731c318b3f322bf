// The broker side of the controller: registration, heartbeats, fencing and controlled shutdown.
// Topic operations live in control_topics.cpp.
#include "broker/metadata/control.h"
#include "broker/base/coverage.h"

namespace keel::metadata {

Controller::Controller(ControllerConfig config) : config_(config), heartbeats_(config.broker_session_timeout_ms) {
  KEEL_ASSERT(config_.broker_session_timeout_ms > 0);
  KEEL_ASSERT(config_.default_partitions > 0 && config_.default_partitions <= config_.partitions_per_topic_max);
  KEEL_ASSERT(config_.default_replication_factor > 0);
}

BrokerControlState control_state(const BrokerRegistration& broker) {
  if (broker.fenced) return BrokerControlState::fenced;
  if (broker.in_controlled_shutdown) return BrokerControlState::controlled_shutdown;
  return BrokerControlState::unfenced;
}

Decision<RegisterBrokerReply> Controller::register_broker(const MetadataImage& image, const RegisterBrokerRequest& request,
                                                          std::int64_t next_offset, std::int64_t now_ms) {
  if (request.broker_id < 0 || request.incarnation.is_zero()) return {{}, {ErrorCode::invalid_registration, -1}};
  const auto* existing = image.broker(request.broker_id);
  if (existing && existing->incarnation == request.incarnation) {
    // A retry by the same process: same epoch and fence state; rewritten only if its listeners moved.
    std::vector<MetadataRecord> records;
    if (existing->endpoints != request.endpoints || existing->rack != request.rack)
      records.push_back(RegisterBrokerRecord{request.broker_id, request.incarnation, existing->epoch, request.endpoints,
                                             request.rack, existing->fenced, existing->in_controlled_shutdown});
    if (!heartbeats_.session(request.broker_id)) heartbeats_.start_session(request.broker_id, existing->epoch, now_ms);
    return {std::move(records), {ErrorCode::none, existing->epoch}};
  }
  if (existing && heartbeats_.has_valid_session(request.broker_id, now_ms))
    return {{}, {ErrorCode::duplicate_broker_registration, -1}};
  const std::int64_t epoch = next_offset;
  if (existing) KEEL_ASSERT_LT(existing->epoch, epoch);
  std::vector<MetadataRecord> records;
  records.push_back(RegisterBrokerRecord{request.broker_id, request.incarnation, epoch, request.endpoints, request.rack, true, false});
  // A new process replaces one that may still lead or sit in ISRs (it died without its session
  // expiring yet being noticed): take it out as fencing would.
  if (existing) {
    auto moved = remove_from_isrs(image, request.broker_id, config_.unclean_leader_election_enable);
    records.insert(records.end(), moved.begin(), moved.end());
  }
  heartbeats_.start_session(request.broker_id, epoch, now_ms);
  return {std::move(records), {ErrorCode::none, epoch}};
}

Decision<HeartbeatReply> Controller::heartbeat(const MetadataImage& image, const HeartbeatRequest& request, std::int64_t now_ms,
                                              std::int64_t next_offset) {
  const auto* broker = image.broker(request.broker_id);
  if (!broker || broker->epoch != request.broker_epoch) return {{}, {ErrorCode::stale_broker_epoch, false, true, false}};
  heartbeats_.touch(request.broker_id, request.broker_epoch, request.current_metadata_offset, now_ms);
  // Caught up once the broker has seen its own registration.
  const bool caught_up = request.current_metadata_offset >= broker->epoch;
  const BrokerControlState current = control_state(*broker);
  // A controller that took over from another has no shutdown offset for a broker the image already
  // has in controlled shutdown: everything the image holds is what others must have seen.
  if (current == BrokerControlState::controlled_shutdown && heartbeats_.session(request.broker_id)->controlled_shutdown_offset < 0)
    heartbeats_.set_controlled_shutdown_offset(request.broker_id, image.last_applied_offset());
  const auto* session = heartbeats_.session(request.broker_id);
  const bool shutdown_seen = session->controlled_shutdown_offset >= 0 &&
                             session->controlled_shutdown_offset <= heartbeats_.lowest_offset(image.live_brokers());
  const BrokerControlState next = next_broker_state(
      current, HeartbeatInputs{caught_up, request.want_fence, request.want_shutdown, image.leads_any(request.broker_id),
                               broker->in_controlled_shutdown, shutdown_seen});
  std::vector<MetadataRecord> records;
  if (next != current) {
    switch (next) {
      case BrokerControlState::fenced: records = fence_broker(image, request.broker_id); break;
      case BrokerControlState::unfenced: records = unfence_broker(image, request.broker_id); break;
      case BrokerControlState::controlled_shutdown:
        records = enter_controlled_shutdown(image, request.broker_id);
        // The records land right after what the image holds (the caller applies each decision's
        // records before asking for the next); the last of them is the one others must have seen.
        heartbeats_.set_controlled_shutdown_offset(
            request.broker_id, next_offset >= 0 ? next_offset
                                                : image.last_applied_offset() + static_cast<std::int64_t>(records.size()));
        break;
      case BrokerControlState::shutdown_now:
        if (!broker->fenced) records = fence_broker(image, request.broker_id);
        break;
    }
  }
  const bool fenced = next == BrokerControlState::fenced || next == BrokerControlState::shutdown_now;
  return {std::move(records), {ErrorCode::none, caught_up, fenced, next == BrokerControlState::shutdown_now}};
}

std::vector<MetadataRecord> Controller::fence_stale_brokers(const MetadataImage& image, std::int64_t now_ms) {
  std::vector<BrokerId> unfenced;
  for (const auto& [id, b] : image.brokers())
    if (!b.fenced) unfenced.push_back(id);
  const auto stale = heartbeats_.first_expired(unfenced, now_ms);
  if (!stale) return {};
  KEEL_SOMETIMES("controller.broker.fenced_session_expired");
  return fence_broker(image, *stale);
}

Decision<ErrorCode> Controller::unregister_broker(const MetadataImage& image, BrokerId broker) {
  const auto* b = image.broker(broker);
  if (!b) return {{}, ErrorCode::broker_id_not_registered};
  auto records = remove_from_isrs(image, broker, config_.unclean_leader_election_enable);
  records.push_back(UnregisterBrokerRecord{broker, b->epoch});
  heartbeats_.remove(broker);
  return {std::move(records), ErrorCode::none};
}

std::vector<MetadataRecord> Controller::fence_broker(const MetadataImage& image, BrokerId broker) const {
  const auto* b = image.broker(broker);
  KEEL_ASSERT_MSG(b != nullptr, "fencing unknown broker {}", broker);
  auto records = remove_from_isrs(image, broker, config_.unclean_leader_election_enable);
  records.push_back(BrokerRegistrationChangeRecord{broker, b->epoch, FenceChange::fence, 0});
  return records;
}

std::vector<MetadataRecord> Controller::unfence_broker(const MetadataImage& image, BrokerId broker) const {
  const auto* b = image.broker(broker);
  KEEL_ASSERT_MSG(b != nullptr, "unfencing unknown broker {}", broker);
  std::vector<MetadataRecord> records;
  records.push_back(BrokerRegistrationChangeRecord{broker, b->epoch, FenceChange::unfence, 0});
  auto elected = elect_leaderless(image, broker, config_.unclean_leader_election_enable);
  records.insert(records.end(), elected.begin(), elected.end());
  return records;
}

std::vector<MetadataRecord> Controller::enter_controlled_shutdown(const MetadataImage& image, BrokerId broker) const {
  const auto* b = image.broker(broker);
  KEEL_ASSERT_MSG(b != nullptr, "shutting down unknown broker {}", broker);
  std::vector<MetadataRecord> records;
  KEEL_SOMETIMES("controller.broker.controlled_shutdown");
  records.push_back(BrokerRegistrationChangeRecord{broker, b->epoch, FenceChange::none, 1});
  auto moved = remove_from_isrs(image, broker, config_.unclean_leader_election_enable);
  records.insert(records.end(), moved.begin(), moved.end());
  return records;
}

}  // namespace keel::metadata
