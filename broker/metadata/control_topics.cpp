// The topic side of the controller: creation with striped placement, deletion, AlterPartition from
// partition leaders, and preferred leader election.
#include "broker/metadata/control.h"

#include "broker/base/result.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <set>

namespace keel::metadata {
namespace {

constexpr std::string_view unclean_config = "unclean.leader.election.enable";

// Kafka's booleans: true or false in any case.
bool is_boolean(const std::string& text) {
  std::string lower = text;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower == "true" || lower == "false";
}

template <class Reply>
Decision<Reply> refuse(Reply reply) {
  return {{}, std::move(reply)};
}

Decision<CreateTopicReply> refuse_topic(ErrorCode error, std::string message) {
  return {{}, CreateTopicReply{error, std::move(message), Uuid{}}};
}

// The brokers in a random rack-alternating order: racks in a random order, brokers within each rack
// in a random order, then one from each rack in turn (Kafka's rack-alternated list). Consecutive
// entries sit on different racks while every rack still has brokers left. Brokers without a rack
// share one unnamed rack.
std::vector<BrokerId> rack_alternating(const MetadataImage& image, const std::vector<BrokerId>& brokers, Random& random) {
  std::map<std::string, std::vector<BrokerId>> by_rack;
  for (auto b : brokers) by_rack[image.broker(b)->rack.value_or("")].push_back(b);
  std::vector<std::vector<BrokerId>> racks;
  for (auto& [name, members] : by_rack) racks.push_back(std::move(members));
  auto shuffle = [&](auto& v) {
    for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[random.below(i)]);
  };
  shuffle(racks);
  for (auto& members : racks) shuffle(members);
  std::vector<BrokerId> out;
  for (std::size_t round = 0; out.size() < brokers.size(); ++round)
    for (const auto& members : racks)
      if (round < members.size()) out.push_back(members[round]);
  return out;
}

// Striped placement: a random start in the rack-alternating order that advances by one per
// partition; each partition takes consecutive brokers, one replica per broker. Leaders (replica 0)
// and replicas spread evenly.
std::vector<std::vector<BrokerId>> place_replicas(const std::vector<BrokerId>& order, std::int32_t partitions,
                                                      std::int32_t replication_factor, Random& random) {
  const auto n = order.size();
  KEEL_ASSERT(n > 0 && static_cast<std::size_t>(replication_factor) <= n);
  const std::size_t start = random.below(n);
  std::vector<std::vector<BrokerId>> out;
  out.reserve(static_cast<std::size_t>(partitions));
  for (std::int32_t p = 0; p < partitions; ++p) {
    std::vector<BrokerId> replicas;
    for (std::int32_t r = 0; r < replication_factor; ++r)
      replicas.push_back(order[(start + static_cast<std::size_t>(p) + static_cast<std::size_t>(r)) % n]);
    out.push_back(std::move(replicas));
  }
  return out;
}

AlterPartitionReply alter_error(ErrorCode error) {
  AlterPartitionReply reply;
  reply.error = error;
  return reply;
}

AlterPartitionReply alter_reply(const PartitionRegistration& p) {
  return AlterPartitionReply{ErrorCode::none, p.leader, p.leader_epoch, p.isr, p.partition_epoch, p.leader_recovery_state};
}

// Steps 1-5 of Kafka's validateAlterPartitionData: which partition, whose epochs, who is asking.
ErrorCode check_alter_target(const PartitionRegistration& p, const AlterPartitionRequest& request) {
  // The leader knows a newer epoch than this controller: this controller is stale.
  if (request.leader_epoch > p.leader_epoch || request.partition_epoch > p.partition_epoch) return ErrorCode::not_controller;
  if (request.leader_epoch < p.leader_epoch) return ErrorCode::fenced_leader_epoch;
  if (request.broker_id != p.leader) return ErrorCode::invalid_request;
  if (request.partition_epoch < p.partition_epoch) return ErrorCode::invalid_update_version;
  return ErrorCode::none;
}

// Step 6: the proposed ISR's shape and the recovery state.
ErrorCode check_alter_shape(const PartitionRegistration& p, const AlterPartitionRequest& request,
                            const std::vector<BrokerId>& isr) {
  if (std::set<BrokerId>(isr.begin(), isr.end()).size() != isr.size()) return ErrorCode::invalid_request;
  for (auto b : isr)
    if (!p.is_replica(b)) return ErrorCode::invalid_request;
  if (!contains(isr, p.leader)) return ErrorCode::invalid_request;
  if (request.leader_recovery_state == LeaderRecoveryState::recovering && isr.size() > 1) return ErrorCode::invalid_request;
  if (p.leader_recovery_state == LeaderRecoveryState::recovered &&
      request.leader_recovery_state == LeaderRecoveryState::recovering)
    return ErrorCode::invalid_request;
  return ErrorCode::none;
}

// Step 7 (KIP-841/903): every member must be registered, unfenced, not shutting down, and (unless
// the leader sent -1) at the epoch the leader saw it fetch with.
ErrorCode check_alter_members(const MetadataImage& image, const AlterPartitionRequest& request) {
  for (const auto& m : request.new_isr) {
    const auto* b = image.broker(m.broker_id);
    if (!b || b->fenced || b->in_controlled_shutdown) return ErrorCode::ineligible_replica;
    if (m.broker_epoch != -1 && m.broker_epoch != b->epoch) return ErrorCode::ineligible_replica;
  }
  return ErrorCode::none;
}

// Kafka's validateManualPartitionAssignment: replicas non-empty, distinct, registered, as many as
// the topic's replication factor; the ISR is those that are active, and at least one must be. The
// problem, as Kafka words it, or nothing.
std::optional<std::string> manual_assignment_problem(const MetadataImage& image, const std::vector<BrokerId>& replicas,
                                                     std::size_t replication_factor) {
  if (replicas.empty()) return "The manual partition assignment includes an empty replica list.";
  if (std::set<BrokerId>(replicas.begin(), replicas.end()).size() != replicas.size())
    return fmt::format("The manual partition assignment includes the broker ids [{}] more than once.",
                       fmt::join(raw_ids(replicas), ", "));
  for (auto b : replicas)
    if (image.broker(b) == nullptr)
      return fmt::format("The manual partition assignment includes broker {}, but no such broker is registered.", b.value);
  if (replicas.size() != replication_factor)
    return fmt::format("The manual partition assignment includes a partition with {} replica(s), but this is not "
                       "consistent with previous partitions, which have {} replica(s).",
                       replicas.size(), replication_factor);
  if (std::none_of(replicas.begin(), replicas.end(), [&](BrokerId b) { return image.is_active(b); }))
    return "All brokers specified in the manual partition assignment are fenced or in controlled shutdown.";
  return std::nullopt;
}

// A new partition's record: its replicas as given, the active ones its ISR, the first of those its
// leader (the preferred replica when it is up), as Kafka's createTopic and createPartitions do.
PartitionRecord new_partition(const MetadataImage& image, const Uuid& topic_id, std::int32_t index,
                              const std::vector<BrokerId>& replicas) {
  std::vector<BrokerId> isr;
  for (auto b : replicas)
    if (image.is_active(b)) isr.push_back(b);
  KEEL_ASSERT(!isr.empty());
  KEEL_ASSERT_EQ(std::set<BrokerId>(replicas.begin(), replicas.end()).size(), replicas.size());
  return PartitionRecord{index, topic_id, replicas, isr, isr.front(), LeaderRecoveryState::recovered, 0, 0, {}, {}};
}

// Where a new topic's partitions go: the request's assignments, checked, or placed on rf distinct
// active brokers. On a refusal, `refusal` says why.
std::optional<std::vector<std::vector<BrokerId>>> new_topic_placement(const MetadataImage& image,
                                                                     const CreateTopicRequest& request,
                                                                     std::int32_t partitions, std::int32_t rf,
                                                                     Random& random, CreateTopicReply& refusal) {
  if (!request.assignments.empty()) {
    std::vector<std::vector<BrokerId>> out;
    const std::size_t manual_rf = request.assignments.front().replicas.size();
    for (const auto& a : request.assignments) {
      if (auto problem = manual_assignment_problem(image, a.replicas, manual_rf)) {
        refusal = {ErrorCode::invalid_replica_assignment, *problem, {}};
        return std::nullopt;
      }
      out.push_back(a.replicas);
    }
    return out;
  }
  // Keel places only on active brokers (Kafka may also place on fenced ones, after the unfenced):
  // a replica on a fenced broker would start outside the ISR.
  const auto live = image.live_brokers();
  if (live.size() < static_cast<std::size_t>(rf)) {
    refusal = {ErrorCode::invalid_replication_factor,
               fmt::format("replication factor {} needs {} active brokers, {} are", rf, rf, live.size()), {}};
    return std::nullopt;
  }
  auto placement = place_replicas(rack_alternating(image, live, random), partitions, rf, random);
  for (const auto& replicas : placement) {
    KEEL_ASSERT_EQ(replicas.size(), static_cast<std::size_t>(rf));
    for (auto b : replicas) KEEL_ASSERT(image.is_active(b));
  }
  return placement;
}

}  // namespace

bool valid_topic_name(std::string_view name, std::size_t length_max) {
  if (name.empty() || name.size() > length_max || name == "." || name == "..") return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
  });
}

Uuid random_topic_id(Random& random) {
  Uuid id;
  while (id.is_zero()) {
    const std::uint64_t words[2] = {random.next(), random.next()};
    for (std::size_t i = 0; i < 16; ++i) id.bytes[i] = static_cast<std::uint8_t>(words[i / 8] >> (8 * (i % 8)));
  }
  return id;
}

Decision<CreateTopicReply> Controller::create_topic(const MetadataImage& image, const CreateTopicRequest& request,
                                                    Random& random) const {
  if (!valid_topic_name(request.name, config_.topic_name_length_max))
    return refuse_topic(ErrorCode::invalid_topic_exception, fmt::format("topic name '{}' is not valid", request.name));
  if (image.topic(request.name)) return refuse_topic(ErrorCode::topic_already_exists, fmt::format("topic '{}' exists", request.name));
  const bool manual = !request.assignments.empty();
  KEEL_ASSERT(!manual || (request.partitions == -1 && request.replication_factor == -1));
  const std::int32_t partitions = manual ? static_cast<std::int32_t>(request.assignments.size())
                                  : request.partitions == -1 ? config_.default_partitions
                                                             : request.partitions;
  if (partitions <= 0 || partitions > config_.partitions_per_topic_max)
    return refuse_topic(ErrorCode::invalid_partitions,
                        fmt::format("{} partitions is outside 1..{}", partitions, config_.partitions_per_topic_max));
  const std::int32_t rf = request.replication_factor == -1 ? config_.default_replication_factor : request.replication_factor;
  if (!manual && rf <= 0) return refuse_topic(ErrorCode::invalid_replication_factor, fmt::format("replication factor {}", rf));
  if (auto it = request.configs.find(std::string(unclean_config)); it != request.configs.end() && !is_boolean(it->second))
    return refuse_topic(ErrorCode::invalid_config, fmt::format("{}={} is not true or false", unclean_config, it->second));
  CreateTopicReply refusal;
  const auto placement = new_topic_placement(image, request, partitions, rf, random, refusal);
  if (!placement) return {{}, std::move(refusal)};
  KEEL_ASSERT_EQ(placement->size(), static_cast<std::size_t>(partitions));
  Uuid id = random_topic_id(random);
  while (image.topic(id)) id = random_topic_id(random);
  std::vector<MetadataRecord> records;
  records.push_back(TopicRecord{request.name, id});
  for (const auto& [name, value] : request.configs) records.push_back(ConfigRecord{request.name, name, value});
  for (std::int32_t p = 0; p < partitions; ++p)
    records.push_back(new_partition(image, id, p, (*placement)[static_cast<std::size_t>(p)]));
  return {std::move(records), CreateTopicReply{ErrorCode::none, "", id}};
}

Decision<ErrorCode> Controller::delete_topic(const MetadataImage& image, std::string_view name) const {
  const auto* topic = image.topic(name);
  if (!topic) return refuse(ErrorCode::unknown_topic_or_partition);
  return {{RemoveTopicRecord{topic->id}}, ErrorCode::none};
}

Decision<AlterPartitionReply> Controller::alter_partition(const MetadataImage& image, const AlterPartitionRequest& request) const {
  const auto* sender = image.broker(request.broker_id);
  if (!sender || sender->epoch != request.broker_epoch) return refuse(alter_error(ErrorCode::stale_broker_epoch));
  if (!image.topic(request.topic_id)) return refuse(alter_error(ErrorCode::unknown_topic_id));
  const auto* p = image.partition(request.topic_id, request.partition);
  if (!p) return refuse(alter_error(ErrorCode::unknown_topic_or_partition));
  if (auto e = check_alter_target(*p, request); e != ErrorCode::none) return refuse(alter_error(e));
  std::vector<BrokerId> isr;
  for (const auto& m : request.new_isr) isr.push_back(m.broker_id);
  if (auto e = check_alter_shape(*p, request, isr); e != ErrorCode::none) return refuse(alter_error(e));
  if (auto e = check_alter_members(image, request); e != ErrorCode::none) return refuse(alter_error(e));

  auto change = PartitionChangeBuilder(image, request.topic_id, request.partition)
                    .set_election(election_for_topic(image, request.topic_id, config_.unclean_leader_election_enable))
                    .set_target_isr(std::move(isr))
                    .set_target_recovery_state(request.leader_recovery_state)
                    .build();
  if (!change) return refuse(alter_reply(*p));
  const auto after = p->merge(*change);
  // The committed ISR is the one asked for (the leader stays in it), one partition epoch later.
  KEEL_ASSERT_EQ(after.partition_epoch, p->partition_epoch + 1);
  KEEL_ASSERT(after.leader != p->leader || contains(after.isr, after.leader));
  auto reply = alter_reply(after);
  // The leader is in the new ISR and eligible, so it stays leader unless the new ISR completed a
  // reassignment that moves the partition away from it. (Completing one that drops a replica
  // bumps the epoch of the same leader, which the reply's epoch tells.)
  if (after.leader != p->leader) reply.error = ErrorCode::new_leader_elected;
  return {{std::move(*change)}, std::move(reply)};
}

std::vector<MetadataRecord> Controller::elect_preferred_leaders(const MetadataImage& image) const {
  std::vector<MetadataRecord> out;
  for (const auto& [topic_id, topic] : image.topics()) {
    for (const auto& [index, p] : topic.partitions) {
      if (p.leader == p.replicas.front()) continue;
      auto change = PartitionChangeBuilder(image, topic_id, index).set_election(Election::preferred).build();
      if (change) out.push_back(std::move(*change));
    }
  }
  return out;
}

}  // namespace keel::metadata

namespace keel::metadata {
namespace {

Decision<CreatePartitionsReply> refuse_partitions(ErrorCode error, std::string message) {
  return {{}, CreatePartitionsReply{error, std::move(message)}};
}

// The replicas of each new partition: the request's assignments, checked, or placed as for a new
// topic on the active brokers.
Result<std::vector<std::vector<BrokerId>>> new_partition_replicas(const MetadataImage& image,
                                                                  const CreatePartitionsRequest& request,
                                                                  std::int32_t additional, std::size_t rf,
                                                                  Random& random, CreatePartitionsReply& refusal) {
  std::vector<std::vector<BrokerId>> out;
  if (!request.assignments.empty()) {
    for (const auto& a : request.assignments) {
      if (auto problem = manual_assignment_problem(image, a.replicas, rf)) {
        refusal = {ErrorCode::invalid_replica_assignment, *problem};
        return make_error(Errc::invalid_argument, refusal.message);
      }
      out.push_back(a.replicas);
    }
    return out;
  }
  const auto live = image.live_brokers();
  if (live.size() < rf) {
    refusal = {ErrorCode::invalid_replication_factor,
               fmt::format("Unable to replicate the partition {} times: The target replication factor of {} cannot be "
                           "reached because only {} broker(s) are registered.", rf, rf, live.size())};
    return make_error(Errc::invalid_argument, refusal.message);
  }
  return place_replicas(rack_alternating(image, live, random), additional, static_cast<std::int32_t>(rf), random);
}

}  // namespace

Decision<CreatePartitionsReply> Controller::create_partitions(const MetadataImage& image,
                                                              const CreatePartitionsRequest& request,
                                                              Random& random) const {
  const auto* topic = image.topic(request.topic);
  if (topic == nullptr) return refuse_partitions(ErrorCode::unknown_topic_or_partition, fmt::format("No such topic as {}", request.topic));
  const auto current = static_cast<std::int32_t>(topic->partitions.size());
  if (request.count < current)
    return refuse_partitions(ErrorCode::invalid_partitions,
                             fmt::format("The topic {} currently has {} partition(s); {} would not be an increase.",
                                         request.topic, current, request.count));
  if (request.count == current)
    return refuse_partitions(ErrorCode::invalid_partitions, fmt::format("Topic already has {} partition(s).", current));
  if (request.count > config_.partitions_per_topic_max)
    return refuse_partitions(ErrorCode::invalid_partitions,
                             fmt::format("{} partitions is above the limit of {}", request.count, config_.partitions_per_topic_max));
  const std::int32_t additional = request.count - current;
  if (!request.assignments.empty() && request.assignments.size() != static_cast<std::size_t>(additional))
    return refuse_partitions(ErrorCode::invalid_replica_assignment,
                             fmt::format("Attempted to add {} additional partition(s), but only {} assignment(s) were specified.",
                                         additional, request.assignments.size()));
  const std::size_t rf = topic->partitions.empty() ? 1 : topic->partitions.begin()->second.replicas.size();
  CreatePartitionsReply refusal;
  auto placement = new_partition_replicas(image, request, additional, rf, random, refusal);
  if (!placement) return {{}, refusal};
  if (request.validate_only) return {{}, CreatePartitionsReply{}};
  std::vector<MetadataRecord> records;
  for (std::int32_t i = 0; i < additional; ++i)
    records.push_back(new_partition(image, topic->id, current + i, (*placement)[static_cast<std::size_t>(i)]));
  return {std::move(records), CreatePartitionsReply{}};
}

namespace {

// Kafka's electLeader for one partition.
ErrorCode elect_one(const MetadataImage& image, const ElectionTarget& target, ElectionType type,
                    std::vector<MetadataRecord>& records, std::string& message) {
  const auto* topic = image.topic(target.topic);
  if (topic == nullptr) {
    message = fmt::format("No such topic as {}", target.topic);
    return ErrorCode::unknown_topic_or_partition;
  }
  const auto* p = image.partition(topic->id, target.partition);
  if (p == nullptr) {
    message = fmt::format("No such partition as {}-{}", target.topic, target.partition);
    return ErrorCode::unknown_topic_or_partition;
  }
  const bool preferred = type == ElectionType::preferred;
  if (preferred ? p->leader == p->replicas.front() : p->leader != no_leader) return ErrorCode::election_not_needed;
  auto change = PartitionChangeBuilder(image, topic->id, target.partition)
                    .set_election(preferred ? Election::preferred : Election::unclean)
                    .build();
  if (!change) return preferred ? ErrorCode::preferred_leader_not_available : ErrorCode::eligible_leaders_not_available;
  records.push_back(std::move(*change));
  return ErrorCode::none;
}

}  // namespace

Decision<ElectLeadersReply> Controller::elect_leaders(const MetadataImage& image, const ElectLeadersRequest& request) const {
  Decision<ElectLeadersReply> out;
  auto elect = [&](const ElectionTarget& target, bool all) {
    std::string message;
    const ErrorCode error = elect_one(image, target, request.type, out.records, message);
    if (all && error == ErrorCode::election_not_needed) return;
    out.reply.results.push_back(ReassignmentResult{target.topic, target.partition, error, message});
  };
  if (request.partitions.has_value()) {
    for (const auto& target : *request.partitions) elect(target, false);
    return out;
  }
  std::map<std::string, const TopicImage*> by_name;
  for (const auto& [id, topic] : image.topics()) by_name[topic.name] = &topic;
  for (const auto& [name, topic] : by_name)
    for (const auto& [index, p] : topic->partitions) elect(ElectionTarget{name, index}, true);
  return out;
}

}  // namespace keel::metadata
