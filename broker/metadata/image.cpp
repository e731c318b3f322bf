#include "broker/metadata/image.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

namespace keel::metadata {
namespace {

bool has_duplicates(const std::vector<BrokerId>& v) {
  return std::set<BrokerId>(v.begin(), v.end()).size() != v.size();
}

// What is wrong with a partition's shape, or "" when nothing is. The ISR is never empty here
// (Keel runs without ELR, where Kafka also keeps the last member rather than empty the ISR).
std::string partition_fault(const PartitionRegistration& p) {
  if (p.replicas.empty()) return "no replicas";
  if (has_duplicates(p.replicas)) return "duplicate replicas";
  if (p.isr.empty()) return "empty ISR";
  if (has_duplicates(p.isr)) return "duplicate ISR members";
  for (auto b : p.isr)
    if (!contains(p.replicas, b)) return fmt::format("ISR member {} is not a replica", b);
  if (p.leader != no_leader && !contains(p.isr, p.leader)) return fmt::format("leader {} is not in the ISR", p.leader);
  if (p.leader < no_leader) return fmt::format("leader {} is invalid", p.leader);
  if (p.leader_epoch < 0 || p.partition_epoch < 0) return "negative epoch";
  for (const auto* moving : {&p.removing_replicas, &p.adding_replicas}) {
    if (has_duplicates(*moving)) return "duplicate removing or adding replicas";
    for (auto b : *moving)
      if (!contains(p.replicas, b)) return fmt::format("removing or adding replica {} is not a replica", b);
  }
  for (auto b : p.adding_replicas)
    if (contains(p.removing_replicas, b)) return fmt::format("replica {} is both removing and adding", b);
  return "";
}

Error fault(const MetadataRecord& record, std::string what) {
  return make_error(Errc::corrupt, fmt::format("{} cannot apply: {}", describe(record), what));
}

}  // namespace

bool contains(const std::vector<BrokerId>& ids, BrokerId id) { return std::find(ids.begin(), ids.end(), id) != ids.end(); }

std::vector<BrokerId> without(const std::vector<BrokerId>& ids, const std::vector<BrokerId>& gone) {
  std::vector<BrokerId> out;
  for (auto id : ids)
    if (!contains(gone, id)) out.push_back(id);
  return out;
}

PartitionRegistration PartitionRegistration::from(const PartitionRecord& r) {
  return PartitionRegistration{r.replicas,        r.isr,
                               r.leader,          r.leader_epoch,
                               r.partition_epoch, r.leader_recovery_state,
                               r.removing_replicas, r.adding_replicas};
}

PartitionRecord PartitionRegistration::to_record(const Uuid& topic_id, std::int32_t partition_id) const {
  return PartitionRecord{partition_id,   topic_id,          replicas,         isr,           leader,
                         leader_recovery_state, leader_epoch, partition_epoch, removing_replicas, adding_replicas};
}

PartitionRegistration PartitionRegistration::merge(const PartitionChangeRecord& change) const {
  PartitionRegistration next = *this;
  if (change.isr) next.isr = *change.isr;
  if (change.replicas) next.replicas = *change.replicas;
  if (change.removing_replicas) next.removing_replicas = *change.removing_replicas;
  if (change.adding_replicas) next.adding_replicas = *change.adding_replicas;
  if (change.leader != leader_unchanged) {
    next.leader = change.leader;
    next.leader_epoch = leader_epoch + 1;
  }
  if (change.leader_recovery_state != recovery_state_unchanged)
    next.leader_recovery_state = static_cast<LeaderRecoveryState>(change.leader_recovery_state);
  next.partition_epoch = partition_epoch + 1;
  return next;
}

bool PartitionRegistration::in_isr(BrokerId broker) const { return contains(isr, broker); }
bool PartitionRegistration::is_replica(BrokerId broker) const { return contains(replicas, broker); }

Status MetadataImage::check(const MetadataRecord& record) const {
  struct Checker {
    const MetadataImage& image;
    const MetadataRecord& record;

    Status operator()(const RegisterBrokerRecord& r) const {
      const auto* existing = image.broker(r.broker_id);
      if (r.broker_id < 0) return fault(record, "negative broker id");
      if (existing && r.broker_epoch < existing->epoch)
        return fault(record, fmt::format("epoch goes back from {}", existing->epoch));
      return {};
    }
    Status operator()(const UnregisterBrokerRecord& r) const {
      const auto* existing = image.broker(r.broker_id);
      if (!existing) return fault(record, "unknown broker");
      if (existing->epoch != r.broker_epoch) return fault(record, fmt::format("registered epoch is {}", existing->epoch));
      return {};
    }
    Status operator()(const TopicRecord& r) const {
      if (r.topic_id.is_zero()) return fault(record, "zero topic id");
      if (image.topic(r.topic_id)) return fault(record, "topic id exists");
      if (image.topic(r.name)) return fault(record, "topic name exists");
      return {};
    }
    Status operator()(const PartitionRecord& r) const {
      const auto* topic = image.topic(r.topic_id);
      if (!topic) return fault(record, "unknown topic");
      if (r.partition_id < 0) return fault(record, "negative partition id");
      const auto p = PartitionRegistration::from(r);
      if (auto f = partition_fault(p); !f.empty()) return fault(record, f);
      if (auto it = topic->partitions.find(r.partition_id); it != topic->partitions.end()) {
        if (r.leader_epoch < it->second.leader_epoch || r.partition_epoch <= it->second.partition_epoch)
          return fault(record, "epochs go back");
      }
      return {};
    }
    Status operator()(const ConfigRecord& r) const {
      if (r.resource.starts_with(broker_config_prefix)) {
        const std::string_view id = std::string_view(r.resource).substr(broker_config_prefix.size());
        const bool numeric = std::all_of(id.begin(), id.end(), [](char c) { return c >= '0' && c <= '9'; });
        return numeric && id.size() < 10 ? Status() : fault(record, "not a broker id");
      }
      if (!image.topic(r.resource)) return fault(record, "unknown topic");
      return {};
    }
    Status operator()(const PartitionChangeRecord& r) const {
      const auto* p = image.partition(r.topic_id, r.partition_id);
      if (!p) return fault(record, "unknown partition");
      if (auto f = partition_fault(p->merge(r)); !f.empty()) return fault(record, f);
      return {};
    }
    Status operator()(const RemoveTopicRecord& r) const {
      if (!image.topic(r.topic_id)) return fault(record, "unknown topic");
      return {};
    }
    Status operator()(const BrokerRegistrationChangeRecord& r) const {
      const auto* existing = image.broker(r.broker_id);
      if (!existing) return fault(record, "unknown broker");
      if (existing->epoch != r.broker_epoch) return fault(record, fmt::format("registered epoch is {}", existing->epoch));
      return {};
    }
    Status operator()(const NoOpRecord&) const { return {}; }
  };
  return std::visit(Checker{*this, record}, record);
}

void MetadataImage::apply(const MetadataRecord& record, std::int64_t offset) {
  KEEL_ASSERT_MSG(offset >= last_offset_, "{} at offset {} after offset {}", describe(record), offset, last_offset_);
  const Status ok = check(record);
  KEEL_ASSERT_MSG(ok.ok(), "{}", ok.ok() ? "" : ok.error().message);
  apply_unchecked(record);
  last_offset_ = offset;
}

// What applying `record` established, checked on the entity it touched (cheap: never a walk over
// the whole image).
void MetadataImage::check_applied(const MetadataRecord& record) const {
  KEEL_ASSERT_EQ(topic_ids_by_name_.size(), topics_.size());
  if (const auto* r = std::get_if<PartitionChangeRecord>(&record)) {
    const auto* p = partition(r->topic_id, r->partition_id);
    KEEL_ASSERT(p != nullptr);
    KEEL_ASSERT_MSG(partition_fault(*p).empty(), "{} left {}", describe(record), partition_fault(*p));
  } else if (const auto* r = std::get_if<PartitionRecord>(&record)) {
    const auto* p = partition(r->topic_id, r->partition_id);
    KEEL_ASSERT(p != nullptr && p->partition_epoch == r->partition_epoch && p->leader_epoch == r->leader_epoch);
  } else if (const auto* r = std::get_if<RegisterBrokerRecord>(&record)) {
    KEEL_ASSERT(broker(r->broker_id) != nullptr && broker(r->broker_id)->epoch == r->broker_epoch);
  } else if (const auto* r = std::get_if<RemoveTopicRecord>(&record)) {
    KEEL_ASSERT(topic(r->topic_id) == nullptr);
  } else if (const auto* r = std::get_if<TopicRecord>(&record)) {
    KEEL_ASSERT(topic(r->name) != nullptr && topic(r->name)->id == r->topic_id);
  }
}

Status MetadataImage::replay(const MetadataRecord& record, std::int64_t offset) {
  if (offset < last_offset_)
    return make_error(Errc::corrupt, fmt::format("{} at offset {} after offset {}", describe(record), offset, last_offset_));
  if (Status ok = check(record); !ok) return ok;
  apply_unchecked(record);
  last_offset_ = offset;
  return {};
}

void MetadataImage::apply_unchecked(const MetadataRecord& record) {
  struct Applier {
    MetadataImage& image;
    void operator()(const RegisterBrokerRecord& r) const {
      image.brokers_[r.broker_id] =
          BrokerRegistration{r.broker_id, r.incarnation_id, r.broker_epoch, r.endpoints, r.rack, r.fenced, r.in_controlled_shutdown};
    }
    void operator()(const UnregisterBrokerRecord& r) const { image.brokers_.erase(r.broker_id); }
    void operator()(const TopicRecord& r) const {
      image.topics_[r.topic_id] = TopicImage{r.topic_id, r.name, {}, {}};
      image.topic_ids_by_name_[r.name] = r.topic_id;
    }
    void operator()(const PartitionRecord& r) const {
      image.topics_.at(r.topic_id).partitions[r.partition_id] = PartitionRegistration::from(r);
    }
    void operator()(const ConfigRecord& r) const {
      const bool broker = r.resource.starts_with(broker_config_prefix);
      auto& configs = broker ? image.broker_configs_[r.resource.substr(broker_config_prefix.size())]
                             : image.topics_.at(image.topic_ids_by_name_.find(r.resource)->second).configs;
      if (r.value) {
        configs[r.name] = *r.value;
      } else {
        configs.erase(r.name);
      }
    }
    void operator()(const PartitionChangeRecord& r) const {
      auto& p = image.topics_.at(r.topic_id).partitions.at(r.partition_id);
      const PartitionRegistration before = p;
      p = p.merge(r);
      // Every change bumps the partition epoch by one; the leader epoch never goes back.
      KEEL_ASSERT_EQ(p.partition_epoch, before.partition_epoch + 1);
      KEEL_ASSERT_GE(p.leader_epoch, before.leader_epoch);
    }
    void operator()(const RemoveTopicRecord& r) const {
      auto it = image.topics_.find(r.topic_id);
      image.topic_ids_by_name_.erase(it->second.name);
      image.topics_.erase(it);
    }
    void operator()(const BrokerRegistrationChangeRecord& r) const {
      auto& b = image.brokers_.at(r.broker_id);
      if (r.fenced == FenceChange::fence) b.fenced = true;
      if (r.fenced == FenceChange::unfence) b.fenced = false;
      if (r.in_controlled_shutdown == 1) b.in_controlled_shutdown = true;
    }
    void operator()(const NoOpRecord&) const {}
  };
  std::visit(Applier{*this}, record);
  check_applied(record);
}

std::vector<MetadataRecord> MetadataImage::to_records() const {
  std::vector<MetadataRecord> out;
  for (const auto& [id, b] : brokers_)
    out.push_back(RegisterBrokerRecord{id, b.incarnation, b.epoch, b.endpoints, b.rack, b.fenced, b.in_controlled_shutdown});
  for (const auto& [id, t] : topics_) {
    out.push_back(TopicRecord{t.name, id});
    for (const auto& [name, value] : t.configs) out.push_back(ConfigRecord{t.name, name, value});
    for (const auto& [index, p] : t.partitions)
      out.push_back(p.to_record(id, index));
  }
  for (const auto& [broker, configs] : broker_configs_) {
    for (const auto& [name, value] : configs) {
      out.push_back(ConfigRecord{std::string(broker_config_prefix) + broker, name, value});
    }
  }
  return out;
}

const BrokerRegistration* MetadataImage::broker(BrokerId id) const {
  auto it = brokers_.find(id);
  return it == brokers_.end() ? nullptr : &it->second;
}

std::vector<BrokerId> MetadataImage::live_brokers() const {
  std::vector<BrokerId> out;
  for (const auto& [id, b] : brokers_)
    if (b.active()) out.push_back(id);
  return out;
}

bool MetadataImage::is_active(BrokerId broker_id) const {
  const auto* b = broker(broker_id);
  return b && b->active();
}

const TopicImage* MetadataImage::topic(const Uuid& id) const {
  auto it = topics_.find(id);
  return it == topics_.end() ? nullptr : &it->second;
}

const TopicImage* MetadataImage::topic(std::string_view name) const {
  auto it = topic_ids_by_name_.find(name);
  return it == topic_ids_by_name_.end() ? nullptr : topic(it->second);
}

const PartitionRegistration* MetadataImage::partition(const Uuid& topic_id, std::int32_t index) const {
  const auto* t = topic(topic_id);
  if (!t) return nullptr;
  auto it = t->partitions.find(index);
  return it == t->partitions.end() ? nullptr : &it->second;
}

const PartitionRegistration* MetadataImage::partition(std::string_view topic_name, std::int32_t index) const {
  const auto* t = topic(topic_name);
  return t ? partition(t->id, index) : nullptr;
}

BrokerId MetadataImage::leader_of(const Uuid& topic_id, std::int32_t index) const {
  const auto* p = partition(topic_id, index);
  return p ? p->leader : no_leader;
}

BrokerId MetadataImage::leader_of(std::string_view topic_name, std::int32_t index) const {
  const auto* p = partition(topic_name, index);
  return p ? p->leader : no_leader;
}

bool MetadataImage::leads_any(BrokerId broker_id) const {
  for (const auto& [id, t] : topics_)
    for (const auto& [index, p] : t.partitions)
      if (p.leader == broker_id) return true;
  return false;
}

const std::map<std::string, std::string>& MetadataImage::broker_configs(std::string_view broker) const {
  static const std::map<std::string, std::string> none;
  auto it = broker_configs_.find(broker);
  return it == broker_configs_.end() ? none : it->second;
}

std::optional<std::string> MetadataImage::topic_config(const Uuid& topic_id, std::string_view name) const {
  const auto* t = topic(topic_id);
  if (!t) return std::nullopt;
  auto it = t->configs.find(std::string(name));
  if (it == t->configs.end()) return std::nullopt;
  return it->second;
}

}  // namespace keel::metadata
