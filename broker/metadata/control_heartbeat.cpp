#include "broker/metadata/control_heartbeat.h"

#include "broker/base/assert.h"

#include <algorithm>
#include <limits>

namespace keel::metadata {

std::string_view state_name(BrokerControlState state) {
  switch (state) {
    case BrokerControlState::fenced: return "FENCED";
    case BrokerControlState::unfenced: return "UNFENCED";
    case BrokerControlState::controlled_shutdown: return "CONTROLLED_SHUTDOWN";
    case BrokerControlState::shutdown_now: return "SHUTDOWN_NOW";
  }
  KEEL_UNREACHABLE();
}

bool is_legal_transition(BrokerControlState from, BrokerControlState to) {
  using S = BrokerControlState;
  switch (from) {
    case S::fenced: return to == S::fenced || to == S::unfenced || to == S::shutdown_now;
    case S::unfenced: return true;
    // Controlled shutdown cannot be undone; it ends in SHUTDOWN_NOW once the broker leads nothing.
    case S::controlled_shutdown: return to == S::controlled_shutdown || to == S::shutdown_now;
    case S::shutdown_now: return to == S::shutdown_now;
  }
  KEEL_UNREACHABLE();
}

BrokerControlState next_broker_state(BrokerControlState current, const HeartbeatInputs& in) {
  using S = BrokerControlState;
  S next = current;
  switch (current) {
    case S::fenced:
      if (in.want_shutdown) {
        next = S::shutdown_now;
      } else if (!in.want_fence && in.caught_up && !in.in_controlled_shutdown) {
        next = S::unfenced;
      }
      break;
    case S::unfenced:
      if (in.want_fence) {
        next = in.want_shutdown ? S::shutdown_now : S::fenced;
      } else if (in.want_shutdown) {
        next = in.leads_any ? S::controlled_shutdown : S::shutdown_now;
      }
      break;
    case S::controlled_shutdown:
      if (!in.leads_any && in.shutdown_seen_by_active) next = S::shutdown_now;
      break;
    case S::shutdown_now: break;
  }
  KEEL_ASSERT_MSG(is_legal_transition(current, next), "broker state {} -> {}", state_name(current), state_name(next));
  return next;
}

void BrokerHeartbeatManager::start_session(BrokerId broker, std::int64_t broker_epoch, std::int64_t now_ms) {
  sessions_[broker] = Session{broker_epoch, now_ms, -1, -1};
}

void BrokerHeartbeatManager::set_controlled_shutdown_offset(BrokerId broker, std::int64_t offset) {
  auto it = sessions_.find(broker);
  KEEL_ASSERT_MSG(it != sessions_.end(), "controlled shutdown of broker {} without a session", broker);
  it->second.controlled_shutdown_offset = offset;
}

std::int64_t BrokerHeartbeatManager::lowest_offset(const std::vector<BrokerId>& active) const {
  std::int64_t lowest = std::numeric_limits<std::int64_t>::max();
  for (auto broker : active) {
    const auto* s = session(broker);
    lowest = std::min(lowest, s ? s->metadata_offset : -1);
  }
  return lowest;
}

void BrokerHeartbeatManager::touch(BrokerId broker, std::int64_t broker_epoch, std::int64_t metadata_offset,
                                   std::int64_t now_ms) {
  auto& s = sessions_[broker];
  KEEL_ASSERT_GE(now_ms, s.last_contact_ms);
  const std::int64_t shutdown_offset = s.broker_epoch == broker_epoch ? s.controlled_shutdown_offset : -1;
  s = Session{broker_epoch, now_ms, metadata_offset, shutdown_offset};
}

const BrokerHeartbeatManager::Session* BrokerHeartbeatManager::session(BrokerId broker) const {
  auto it = sessions_.find(broker);
  return it == sessions_.end() ? nullptr : &it->second;
}

bool BrokerHeartbeatManager::has_valid_session(BrokerId broker, std::int64_t now_ms) const {
  const auto* s = session(broker);
  return s && now_ms < s->last_contact_ms + session_timeout_ms_;
}

std::optional<BrokerId> BrokerHeartbeatManager::first_expired(const std::vector<BrokerId>& candidates,
                                                                  std::int64_t now_ms) {
  std::optional<BrokerId> oldest;
  std::int64_t oldest_contact_ms = 0;
  for (auto broker : candidates) {
    if (!session(broker)) start_session(broker, -1, now_ms);
    if (has_valid_session(broker, now_ms)) continue;
    const std::int64_t contact_ms = session(broker)->last_contact_ms;
    if (!oldest || contact_ms < oldest_contact_ms) {
      oldest = broker;
      oldest_contact_ms = contact_ms;
    }
  }
  return oldest;
}

}  // namespace keel::metadata
