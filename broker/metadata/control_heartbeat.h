#pragma once
// The active controller's view of broker sessions (Kafka's BrokerHeartbeatManager). It is memory,
// not records: a new active controller starts every session afresh. Time is passed in.
#include "broker/base/ids.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string_view>
#include <vector>

namespace keel::metadata {

// Where a broker stands with the controller (Kafka's BrokerControlState).
enum class BrokerControlState {
  fenced,               // registered, may not lead or join ISRs (new, lagging, or lost its session)
  unfenced,             // active: may lead and join ISRs
  controlled_shutdown,  // asked to stop; leadership is being moved away, may not lead or join ISRs
  shutdown_now,         // told to stop now (ShouldShutDown); fenced in the image
};

std::string_view state_name(BrokerControlState state);
bool is_legal_transition(BrokerControlState from, BrokerControlState to);

struct HeartbeatInputs {
  bool caught_up = false;
  bool want_fence = false;
  bool want_shutdown = false;
  bool leads_any = false;
  // Whether the image still marks the broker in controlled shutdown (so it cannot simply unfence).
  bool in_controlled_shutdown = false;
  // Every active broker has seen the records that began this broker's controlled shutdown (so none
  // still sends to it as leader).
  bool shutdown_seen_by_active = false;
};

// Kafka's calculateNextBrokerState. Asserts the transition is legal.
BrokerControlState next_broker_state(BrokerControlState current, const HeartbeatInputs& in);

class BrokerHeartbeatManager {
 public:
  struct Session {
    std::int64_t broker_epoch = 0;
    std::int64_t last_contact_ms = 0;
    std::int64_t metadata_offset = -1;
    // The offset of the last record that began its controlled shutdown, -1 when not shutting down.
    std::int64_t controlled_shutdown_offset = -1;
  };

  explicit BrokerHeartbeatManager(std::int64_t session_timeout_ms) : session_timeout_ms_(session_timeout_ms) {}

  // A new registration: a fresh session that counts from now.
  void start_session(BrokerId broker, std::int64_t broker_epoch, std::int64_t now_ms);
  void touch(BrokerId broker, std::int64_t broker_epoch, std::int64_t metadata_offset, std::int64_t now_ms);
  void remove(BrokerId broker) { sessions_.erase(broker); }
  void set_controlled_shutdown_offset(BrokerId broker, std::int64_t offset);

  const Session* session(BrokerId broker) const;
  // Whether `broker` heard from within the session timeout (an unknown broker has no session).
  bool has_valid_session(BrokerId broker, std::int64_t now_ms) const;
  // Among `candidates`, the broker whose session expired first (ties: lowest id). A candidate with no
  // session yet (this controller just became active) is given one starting now, as Kafka does.
  std::optional<BrokerId> first_expired(const std::vector<BrokerId>& candidates, std::int64_t now_ms);

  // The lowest metadata offset any of `active` brokers reported (-1 for one that never did); the
  // largest offset when `active` is empty.
  std::int64_t lowest_offset(const std::vector<BrokerId>& active) const;

  std::int64_t session_timeout_ms() const { return session_timeout_ms_; }

 private:
  std::int64_t session_timeout_ms_;
  std::map<BrokerId, Session> sessions_;
};

}  // namespace keel::metadata
