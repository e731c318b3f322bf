// The KIP-848 consumer's membership (broker/client/consumer_membership.h) against a scripted
// coordinator: first answers written out by hand (join, reconciliation, fencing, fatal errors,
// coordinator moves, leaving), then a coordinator made of the server-side assignor and
// reconciliation (broker/client/assignors/) that answers several members joining, leaving and being
// fenced in a seeded order, with a ledger that catches a partition owned by two members at once.
#include <catch2/catch.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "broker/client/assignors/reconcile.h"
#include "broker/client/assignors/server_assignors.h"
#include "broker/client/consumer_membership.h"

namespace {

using namespace keel;
using namespace keel::client;
using namespace std::chrono_literals;
using protocol::ErrorCode;
using protocol::Uuid;
using State = ConsumerMembership::State;

Uuid topic_id(std::uint8_t tag) {
  Uuid id;
  id.bytes[0] = tag;
  id.bytes[15] = 0x77;
  return id;
}

const Uuid id_a = topic_id(1);
const Uuid id_b = topic_id(2);

std::optional<std::string> names(const Uuid& id) {
  if (id == id_a) return std::string("a");
  if (id == id_b) return std::string("b");
  return std::nullopt;
}
std::optional<std::string> no_names(const Uuid&) { return std::nullopt; }

ConsumerMembershipConfig config(std::optional<std::string> instance = std::nullopt) {
  ConsumerMembershipConfig c;
  c.member_id = "member-0";
  c.instance_id = std::move(instance);
  c.rebalance_timeout = 30s;
  c.server_assignor = "uniform";
  c.retry_backoff = 100ms;
  c.retry_backoff_max = 400ms;
  return c;
}

ConsumerHeartbeatAnswer ok(std::int32_t epoch, std::optional<TopicIdPartitions> assignment = std::nullopt) {
  return {ErrorCode::none, epoch, 5000, std::move(assignment)};
}

ConsumerHeartbeatAnswer failed(ErrorCode code) { return {code, 0, 0, std::nullopt}; }

const Instant t0 = Instant{} + std::chrono::hours(1);

// A member that joined at epoch 1 and owns a-0 and a-1.
ConsumerMembership joined_member(std::optional<std::string> instance = std::nullopt) {
  ConsumerMembership m(config(std::move(instance)));
  m.subscribe({"a"});
  (void)m.heartbeat(t0);
  (void)m.on_answer(t0, ok(1, TopicIdPartitions{{id_a, {0, 1}}}));
  m.reconciled(*m.reconcile(names));
  (void)m.heartbeat(t0);
  (void)m.on_answer(t0, ok(1));
  return m;
}

TEST_CASE("consumer membership: the join is a full request at epoch 0, later heartbeats carry what changed",
          "[client][consumer-group]") {
  ConsumerMembership m(config("static-0"));
  CHECK_FALSE(m.heartbeat_due());  // not subscribed
  m.subscribe({"b", "a", "a"});
  REQUIRE(m.heartbeat_due() == Instant{});  // at once
  const auto join = m.heartbeat(t0);
  CHECK(join.member_id == "member-0");
  CHECK(join.member_epoch == 0);
  CHECK(join.instance_id == "static-0");
  CHECK(join.rebalance_timeout_ms == 30000);
  CHECK(join.subscribed_topic_names == std::vector<std::string>{"a", "b"});
  CHECK_FALSE(join.subscribed_topic_regex);
  CHECK(join.server_assignor == "uniform");
  CHECK(join.owned == TopicIdPartitions{});
  CHECK_FALSE(m.heartbeat_due());  // one in flight

  CHECK(m.on_answer(t0, ok(3, TopicIdPartitions{{id_a, {1, 0}}, {id_b, {}}})) == ErrorCode::none);
  CHECK(m.state() == State::reconciling);
  CHECK(m.member_epoch() == 3);
  CHECK(m.heartbeat_interval() == 5s);

  // Topic a's name is not known yet: nothing to do but learn it.
  CHECK_FALSE(m.reconcile(no_names));
  CHECK(m.unresolved() == std::vector<Uuid>{id_a});
  const auto step = m.reconcile(names);
  REQUIRE(step);
  CHECK(step->revoke.empty());
  CHECK(step->add == std::vector<TopicPartition>{{"a", 0}, {"a", 1}});
  m.reconciled(*step);
  CHECK(m.owned() == std::vector<TopicPartition>{{"a", 0}, {"a", 1}});
  CHECK(m.state() == State::acknowledging);
  REQUIRE(m.heartbeat_due() == Instant{});  // the acknowledgement goes at once

  const auto ack = m.heartbeat(t0 + 10ms);
  CHECK(ack.member_epoch == 3);
  CHECK_FALSE(ack.instance_id);
  CHECK(ack.rebalance_timeout_ms == -1);
  CHECK_FALSE(ack.subscribed_topic_names);
  CHECK_FALSE(ack.server_assignor);
  CHECK(ack.owned == TopicIdPartitions{{id_a, {0, 1}}});
  m.on_answer(t0 + 10ms, ok(3));
  CHECK(m.state() == State::stable);
  CHECK(m.heartbeat_due() == t0 + 10ms + 5s);

  // Nothing changed: the next heartbeat carries only the member id and epoch.
  const auto plain = m.heartbeat(t0 + 6s);
  CHECK(plain == ConsumerHeartbeat{"member-0", 3, std::nullopt, -1, std::nullopt, std::nullopt, std::nullopt, std::nullopt});
  m.on_answer(t0 + 6s, ok(3));

  // A new subscription goes at once, alone.
  m.subscribe({"a"});
  REQUIRE(m.heartbeat_due() == Instant{});
  const auto changed = m.heartbeat(t0 + 7s);
  CHECK(changed.subscribed_topic_names == std::vector<std::string>{"a"});
  CHECK_FALSE(changed.owned);
}

TEST_CASE("consumer membership: revoked partitions are reported gone only after the owner revoked them",
          "[client][consumer-group]") {
  auto m = joined_member();
  REQUIRE(m.state() == State::stable);
  (void)m.heartbeat(t0 + 5s);
  m.on_answer(t0 + 5s, ok(2, TopicIdPartitions{{id_a, {1}}, {id_b, {0}}}));
  REQUIRE(m.state() == State::reconciling);
  const auto step = m.reconcile(names);
  REQUIRE(step);
  CHECK(step->revoke == std::vector<TopicPartition>{{"a", 0}});
  CHECK(step->add == std::vector<TopicPartition>{{"b", 0}});
  CHECK(step->epoch == 2);

  // While the owner revokes (its commit may take a while), a regular heartbeat still reports a-0,
  // and already b-0, which the step is taking.
  CHECK_FALSE(m.reconcile(names));  // one step at a time
  const auto during = m.heartbeat(t0 + 10s);
  CHECK(during.owned == TopicIdPartitions{{id_a, {0, 1}}, {id_b, {0}}});
  m.on_answer(t0 + 10s, ok(2));
  CHECK(m.state() == State::reconciling);

  m.reconciled(*step);
  CHECK(m.owned() == std::vector<TopicPartition>{{"a", 1}, {"b", 0}});
  const auto ack = m.heartbeat(t0 + 11s);
  CHECK(ack.owned == TopicIdPartitions{{id_a, {1}}, {id_b, {0}}});
  m.on_answer(t0 + 11s, ok(2));
  CHECK(m.state() == State::stable);
  CHECK_FALSE(m.reconcile(names));
}

TEST_CASE("consumer membership: fenced, the member loses everything and joins again at epoch 0 with its id",
          "[client][consumer-group]") {
  for (auto code : {ErrorCode::fenced_member_epoch, ErrorCode::unknown_member_id}) {
    auto m = joined_member();
    (void)m.heartbeat(t0 + 5s);
    CHECK(m.on_answer(t0 + 5s, failed(code)) == code);
    CHECK(m.state() == State::fenced);
    CHECK(m.error() == code);
    CHECK_FALSE(m.heartbeat_due());  // until the owner has reported the partitions lost
    CHECK(m.owned().size() == 2);    // the owner's list of what was lost
    m.rejoin();
    CHECK(m.owned().empty());
    const auto join = m.heartbeat(t0 + 5s);
    CHECK(join.member_id == "member-0");
    CHECK(join.member_epoch == 0);
    CHECK(join.subscribed_topic_names == std::vector<std::string>{"a"});
    CHECK(join.rebalance_timeout_ms == 30000);
    CHECK(join.owned == TopicIdPartitions{});
  }
}

TEST_CASE("consumer membership: a step planned before a fence changes nothing after it", "[client][consumer-group]") {
  auto m = joined_member();
  (void)m.heartbeat(t0 + 5s);
  m.on_answer(t0 + 5s, ok(2, TopicIdPartitions{{id_b, {0}}}));
  const auto step = m.reconcile(names);
  REQUIRE(step);
  (void)m.heartbeat(t0 + 10s);
  m.on_answer(t0 + 10s, failed(ErrorCode::fenced_member_epoch));
  m.rejoin();
  m.reconciled(*step);  // the owner finished its revoke after the fence
  CHECK(m.owned().empty());
  CHECK(m.state() == State::joining);
}

TEST_CASE("consumer membership: UNRELEASED_INSTANCE_ID and other refusals are fatal", "[client][consumer-group]") {
  for (auto code : {ErrorCode::unreleased_instance_id, ErrorCode::unsupported_assignor, ErrorCode::group_max_size_reached,
                    ErrorCode::invalid_regular_expression}) {
    ConsumerMembership m(config("static-0"));
    m.subscribe({"a"});
    (void)m.heartbeat(t0);
    CHECK(m.on_answer(t0, failed(code)) == code);
    CHECK(m.state() == State::fatal);
    CHECK(m.error() == code);
    CHECK_FALSE(m.heartbeat_due());
    m.leave();
    CHECK(m.state() == State::fatal);
  }
}

TEST_CASE("consumer membership: a moved or loading coordinator gets the whole request again after a backoff",
          "[client][consumer-group]") {
  auto m = joined_member();
  (void)m.heartbeat(t0 + 5s);
  CHECK(m.on_answer(t0 + 5s, failed(ErrorCode::not_coordinator)) == ErrorCode::not_coordinator);
  CHECK(m.state() == State::stable);
  CHECK(m.owned().size() == 2);  // nothing lost
  CHECK(m.heartbeat_due() >= t0 + 5s + 100ms);
  (void)m.heartbeat(t0 + 6s);
  m.on_answer(t0 + 6s, failed(ErrorCode::coordinator_load_in_progress));
  CHECK(m.heartbeat_due() == t0 + 6s + 200ms);  // backoff doubles
  (void)m.heartbeat(t0 + 7s);
  m.on_failure(t0 + 7s);
  CHECK(m.heartbeat_due() == t0 + 7s + 400ms);  // up to its bound
  const auto full = m.heartbeat(t0 + 8s);
  CHECK(full.member_epoch == 1);
  CHECK(full.rebalance_timeout_ms == 30000);
  CHECK(full.subscribed_topic_names == std::vector<std::string>{"a"});
  CHECK(full.server_assignor == "uniform");
  CHECK(full.owned == TopicIdPartitions{{id_a, {0, 1}}});
  m.on_answer(t0 + 8s, ok(1));
  CHECK(m.heartbeat_due() == t0 + 8s + 5s);
}

TEST_CASE("consumer membership: leaving sends epoch -1, a static member -2", "[client][consumer-group]") {
  for (bool is_static : {false, true}) {
    auto m = is_static ? joined_member("static-0") : joined_member();
    m.leave();
    REQUIRE(m.heartbeat_due());
    const auto leave = m.heartbeat(t0 + 1s);
    CHECK(leave.member_epoch == (is_static ? -2 : -1));
    CHECK(leave.instance_id == (is_static ? std::optional<std::string>("static-0") : std::nullopt));
    m.on_answer(t0 + 1s, failed(ErrorCode::unknown_member_id));  // out either way
    CHECK(m.state() == State::left);
    CHECK_FALSE(m.heartbeat_due());
  }
  // A member that never joined has nothing to leave; one whose join is in flight leaves after it.
  ConsumerMembership never(config());
  never.leave();
  CHECK(never.state() == State::left);
  ConsumerMembership joining(config());
  joining.subscribe({"a"});
  (void)joining.heartbeat(t0);
  joining.leave();
  joining.on_answer(t0, ok(4, TopicIdPartitions{{id_a, {0}}}));
  CHECK(joining.state() == State::leaving);
  CHECK(joining.heartbeat(t0).member_epoch == -1);
}

TEST_CASE("consumer membership: member ids are version 4 UUIDs in base64url, drawn from the seeded generator",
          "[client][consumer-group]") {
  Uuid ones;
  ones.bytes.fill(0xff);
  CHECK(uuid_base64url(Uuid{}) == "AAAAAAAAAAAAAAAAAAAAAA");
  CHECK(uuid_base64url(ones) == "_____________________w");
  Random r1(7), r2(7), r3(8);
  const auto a = random_member_id(r1);
  CHECK(a.size() == 22);
  CHECK(a == random_member_id(r2));
  CHECK(a != random_member_id(r3));
  CHECK(a != random_member_id(r1));  // the next draw
}

// ---- a coordinator made of the server-side assignor and reconciliation ----

// Answers heartbeats as KIP-848's coordinator does (../shared/reference/consumer-groups.md §7.3,
// §7.4), without persistence or timers: group epoch, target assignment (uniform), per-member
// reconciliation that hands a partition on only after its owner stopped reporting it.
struct ScriptedCoordinator {
  struct Member {
    std::set<std::string> topics;
    assignors::ReconciledMember current;
    std::set<TopicPartition> last_sent;
  };
  std::map<std::string, std::int32_t> partitions{{"a", 4}, {"b", 3}};
  std::int32_t group_epoch = 0;
  std::int32_t target_epoch = 0;
  std::map<std::string, Member> members;
  std::map<std::string, std::set<TopicPartition>> target;
  std::int32_t interval_ms = 300;  // short, so that another member asks while a revoke is under way

  static Uuid id_of(const std::string& topic) { return topic == "a" ? id_a : id_b; }
  static std::string name_of(const Uuid& id) { return id == id_a ? "a" : "b"; }

  void compute_target() {
    if (target_epoch == group_epoch) return;
    std::vector<assignors::TargetMember> in;
    for (const auto& [id, m] : members) {
      const auto& t = target[id];
      in.push_back({id, std::nullopt, m.topics, std::vector<TopicPartition>(t.begin(), t.end())});
    }
    const auto out = assignors::server_assign(assignors::ServerAssignorKind::uniform, partitions, in);
    target.clear();
    for (const auto& [id, tps] : out) target[id] = std::set<TopicPartition>(tps.begin(), tps.end());
    target_epoch = group_epoch;
  }

  bool held_by_other(const std::string& self, const TopicPartition& tp) const {
    for (const auto& [id, m] : members) {
      if (id != self && (m.current.assigned.contains(tp) || m.current.pending_revocation.contains(tp))) return true;
    }
    return false;
  }

  ConsumerHeartbeatAnswer answer(const ConsumerHeartbeat& h) {
    if (h.member_epoch < 0) {
      if (members.erase(h.member_id) == 0) return failed(ErrorCode::unknown_member_id);
      ++group_epoch;
      return ok(h.member_epoch);
    }
    auto it = members.find(h.member_id);
    if (h.member_epoch == 0) {
      if (it != members.end()) members.erase(it);  // a rejoin after a fence starts over
      it = members.emplace(h.member_id, Member{}).first;
      ++group_epoch;
    } else if (it == members.end()) {
      return failed(ErrorCode::unknown_member_id);
    } else if (h.member_epoch != it->second.current.member_epoch &&
               h.member_epoch != it->second.current.previous_member_epoch) {
      return failed(ErrorCode::fenced_member_epoch);
    }
    auto& m = it->second;
    if (h.subscribed_topic_names) {
      const std::set<std::string> topics(h.subscribed_topic_names->begin(), h.subscribed_topic_names->end());
      if (topics != m.topics) ++group_epoch;
      m.topics = topics;
    }
    compute_target();
    std::optional<std::set<TopicPartition>> owned;
    if (h.owned) {
      owned.emplace();
      for (const auto& [id, ps] : *h.owned) {
        for (auto p : ps) owned->insert({name_of(id), p});
      }
    }
    const auto& id = h.member_id;
    m.current = assignors::reconcile(m.current, {target_epoch, target[id]}, owned,
                                     [&](const TopicPartition& tp) { return held_by_other(id, tp); });
    std::optional<TopicIdPartitions> assignment;
    const bool full = h.rebalance_timeout_ms >= 0 && h.subscribed_topic_names && h.owned;
    if (h.member_epoch == 0 || full || m.current.assigned != m.last_sent) {
      assignment.emplace();
      for (const auto& tp : m.current.assigned) (*assignment)[id_of(tp.topic)].push_back(tp.partition);
      m.last_sent = m.current.assigned;
    }
    return {ErrorCode::none, m.current.member_epoch, interval_ms, assignment};
  }
};

// One member's process: its membership and the reconciliation step its callbacks are running.
struct Client {
  ConsumerMembership membership;
  std::optional<Reconciliation> step;  // planned, its callbacks still running
  bool closing = false;
  bool expired = false;  // the coordinator forgot it; it does not know yet (a zombie, outside the ledger)
};

// The ledger: who owns what, from the members' own view, after every step they finish.
void check_single_owners(const std::map<int, Client>& clients, std::uint64_t seed, std::vector<std::string>& violations) {
  std::map<TopicPartition, int> owner;
  for (const auto& [k, c] : clients) {
    // A closing member revoked everything before its leave (whose answer may be lost and asked again).
    if (c.membership.state() == State::left || c.expired || c.closing) continue;
    for (const auto& tp : c.membership.owned()) {
      if (auto [it, fresh] = owner.emplace(tp, k); !fresh) {
        violations.push_back(
            fmt::format("seed {}: {}-{} owned by members {} and {}", seed, tp.topic, tp.partition, it->second, k));
      }
    }
  }
}

// One round's disturbance: a member closes, or the coordinator forgets one (its session expired:
// the next heartbeat is fenced). True when a new member should join instead.
bool perturb(Random& random, std::map<int, Client>& clients, ScriptedCoordinator& coordinator) {
  const auto roll = random.below(100);
  if (roll < 3) return true;
  if (roll < 5 && clients.size() > 1) {
    auto it = std::next(clients.begin(), static_cast<long>(random.below(clients.size())));
    it->second.closing = true;  // close: revoke (step dropped), then leave
    it->second.step.reset();
    it->second.membership.leave();
  }
  if (roll == 5 && !coordinator.members.empty()) {
    auto it = std::next(coordinator.members.begin(), static_cast<long>(random.below(coordinator.members.size())));
    for (auto& [k, c] : clients) c.expired = c.expired || c.membership.member_id() == it->first;
    coordinator.members.erase(it);
    ++coordinator.group_epoch;
  }
  return false;
}

TEST_CASE("consumer membership: members joining, leaving and fenced under a scripted coordinator never share a "
          "partition, and settle on the whole assignment",
          "[client][consumer-group]") {
  const std::uint64_t seed = GENERATE(range(1, 31));
  Random random(seed);
  ScriptedCoordinator coordinator;
  std::map<int, Client> clients;
  std::vector<std::string> violations;
  Instant now = t0;
  const auto add_member = [&](int k) {
    auto c = config();
    c.member_id = fmt::format("m{}", k);
    auto [it, _] = clients.emplace(k, Client{ConsumerMembership(c), std::nullopt, false, false});
    it->second.membership.subscribe({"a", "b"});
  };
  const auto check_ledger = [&] { check_single_owners(clients, seed, violations); };
  for (int k = 0; k < 3; ++k) add_member(k);
  int next_member = 3;
  for (int round = 0; round < 700; ++round) {
    now += 100ms;
    if (round < 300 && perturb(random, clients, coordinator)) add_member(next_member++);
    for (auto& [k, c] : clients) {
      auto& m = c.membership;
      // The owner's task: a planned step's callbacks finish some rounds later.
      if (c.step && random.below(8) == 0) {
        m.reconciled(*c.step);
        c.step.reset();
        check_ledger();
      }
      if (!c.step && !c.closing) c.step = m.reconcile([](const Uuid& id) { return ScriptedCoordinator::name_of(id); });
      if (m.state() == State::fenced) {
        c.step.reset();
        c.expired = false;
        m.rejoin();  // the owner reported everything lost
      }
      if (auto due = m.heartbeat_due(); due && *due <= now) {
        const auto h = m.heartbeat(now);
        if (random.below(20) == 0) m.on_failure(now);  // the answer was lost (the coordinator acted on it)
        else (void)m.on_answer(now, coordinator.answer(h));
        if (random.below(20) == 0 && h.member_epoch > 0) (void)coordinator.answer(h);  // a duplicate heard
      }
    }
    std::erase_if(clients, [](const auto& e) { return e.second.membership.state() == State::left; });
    // The session of a member whose process is gone expires (its join's answer may have been lost).
    std::erase_if(coordinator.members, [&](const auto& e) {
      const bool gone = std::none_of(clients.begin(), clients.end(),
                                     [&](const auto& c) { return c.second.membership.member_id() == e.first; });
      if (gone) ++coordinator.group_epoch;
      return gone;
    });
  }
  INFO(fmt::format("seed {}: {}", seed, fmt::join(violations, "; ")));
  CHECK(violations.empty());
  // Quiet at the end: every member stable, every partition owned by exactly one of them.
  std::set<TopicPartition> all;
  for (const auto& [k, c] : clients) {
    CHECK(c.membership.state() == State::stable);
    all.insert(c.membership.owned().begin(), c.membership.owned().end());
  }
  if (!clients.empty()) CHECK(all.size() == 7);
}

}  // namespace
