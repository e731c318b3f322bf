#include "broker/client/cluster.h"

#include <fmt/format.h>

namespace keel::client {

namespace {
// BUGGIFY client_metadata_late holds a metadata answer back by at most this.
constexpr std::int64_t metadata_late_ms_max = 200;
// v10 adds topic ids (the KIP-848 consumer names its assignment through them); v12 may answer a
// null name, for a topic id the broker does not know (this client asks by name only).
constexpr std::int16_t metadata_version_max = 12;
}  // namespace

Error kafka_error(protocol::ErrorCode code, const std::string& detail) {
  std::string message(protocol::error_name(code));
  if (!detail.empty()) message += ": " + detail;
  return Error{Errc::refused, std::move(message)};
}

std::optional<protocol::ErrorCode> kafka_error_code(const Error& error) {
  if (error.code != Errc::refused) return std::nullopt;
  const std::string_view message = error.message;
  const std::string_view name = message.substr(0, message.find(':'));
  // Kafka's codes run from -1 to a little over 100; a linear look-up is fine for an error path.
  for (int code = -1; code < 256; ++code) {
    const auto candidate = static_cast<protocol::ErrorCode>(code);
    if (code != 0 && protocol::error_name(candidate) == name) return candidate;
  }
  return std::nullopt;
}

Cluster::Cluster(Runtime& rt, std::vector<Address> bootstrap, std::string client_id, Duration request_timeout,
                 ClusterLimits limits)
    : rt_(rt),
      bootstrap_(std::move(bootstrap)),
      client_id_(std::move(client_id)),
      request_timeout_(request_timeout),
      limits_(limits) {
  KEEL_ASSERT(!bootstrap_.empty());
  KEEL_ASSERT(limits_.reconnect_backoff > Duration{0} && limits_.reconnect_backoff <= limits_.reconnect_backoff_max);
}

Cluster::~Cluster() {
  // A task still waiting for a connect holds its own reference to the Event; it belongs to this
  // cluster's owner, which cancels it, so it is not woken into a destroyed cluster.
  for (auto& [key, slot] : slots_) {
    if (slot.connection) slot.connection->close();
  }
}

void Cluster::invalidate_node(std::int32_t node) {
  std::erase_if(leaders_, [node](const auto& entry) { return entry.second == node; });
}

Result<std::shared_ptr<BrokerConnection>> Cluster::open(const Address& address, std::int32_t key) {
  Slot& slot = slots_[key];  // a map's elements stay put while it grows, and slots are never erased
  while (true) {
    if (slot.connecting) {
      auto connecting = slot.connecting;  // another task connects: share its attempt
      connecting->wait();
      if (slot.connection && slot.connection->usable() && slot.address == address) return slot.connection;
      if (slot.connecting == nullptr && slot.last_error.code != Errc::ok) return slot.last_error;
      continue;
    }
    if (slot.connection && slot.connection->usable() && slot.address == address) return slot.connection;
    if (rt_.now() >= slot.next_attempt) break;
    rt_.sleep_until(slot.next_attempt);  // then look again: another task may have connected meanwhile
  }
  // Whatever happens to this task (even its cancellation), the waiters hear the attempt is over.
  struct Attempt {
    Slot& slot;
    std::shared_ptr<Event> event = std::make_shared<Event>();
    ~Attempt() {
      slot.connecting.reset();
      event->set();
    }
  } attempt{slot};
  slot.connecting = attempt.event;
  slot.address = address;
  ++connects_attempted_;
  auto connection = std::make_shared<BrokerConnection>(rt_, address, client_id_, request_timeout_);
  const Status st = connection->open(std::min(request_timeout_, limits_.connect_timeout_max));
  if (!st) {
    slot.connection.reset();
    slot.backoff = slot.backoff == Duration{0} ? limits_.reconnect_backoff
                                               : std::min(slot.backoff * 2, limits_.reconnect_backoff_max);
    slot.next_attempt = rt_.now() + slot.backoff;
    slot.last_error = Error{st.error().code, fmt::format("{}: {}", address.to_string(), st.error().message)};
    return slot.last_error;
  }
  slot.backoff = Duration{0};
  slot.last_error = Error{};
  slot.connection = connection;
  return connection;
}

Result<std::shared_ptr<BrokerConnection>> Cluster::connection(std::int32_t node_id) {
  if (node_id < 0) return any_connection();
  auto it = brokers_.find(node_id);
  if (it == brokers_.end()) return make_error(Errc::not_found, fmt::format("broker {} is not known", node_id));
  auto c = open(it->second, node_id);
  if (!c) invalidate_node(node_id);
  return c;
}

Result<std::shared_ptr<BrokerConnection>> Cluster::any_connection() {
  for (const auto& [key, slot] : slots_) {
    if (slot.connection && slot.connection->usable()) return slot.connection;
  }
  Error last{Errc::refused, "no bootstrap server"};
  for (const auto& [id, address] : std::map<std::int32_t, Address>(brokers_)) {
    auto c = open(address, id);
    if (c) return c;
    last = c.error();
  }
  const std::size_t start = next_bootstrap_;
  next_bootstrap_ = (next_bootstrap_ + 1) % bootstrap_.size();
  for (std::size_t i = 0; i < bootstrap_.size(); ++i) {
    const std::size_t index = (start + i) % bootstrap_.size();
    auto c = open(bootstrap_[index], -1 - static_cast<std::int32_t>(index));
    if (c) return c;
    last = c.error();
  }
  return last;
}

Status Cluster::refresh(const std::vector<std::string>& topics, bool allow_create) {
  auto c = connection(-1);
  if (!c) return c.error();
  auto response = request_metadata(**c, topics, allow_create);
  if (!response) return response.error();
  return learn(*response);
}

Status Cluster::refresh_all() {
  auto c = connection(-1);
  if (!c) return c.error();
  auto response = request_metadata(**c, std::nullopt, false);
  if (!response) return response.error();
  return learn(*response);
}

std::optional<std::string> Cluster::topic_name(const protocol::Uuid& id) const {
  auto it = topic_names_.find(id);
  if (it == topic_names_.end()) return std::nullopt;
  return it->second;
}

Status Cluster::learn(const protocol::MetadataResponse& response) {
  // BUGGIFY client_metadata_late: the answer is acted on a while after the broker gave it, as when
  // the response is slow or the client busy, so what it says may be stale by then (a leader moved,
  // a topic went). Users of a stale leader hear NOT_LEADER_OR_FOLLOWER or the like and refresh.
  if (KEEL_BUGGIFY(rt_, "client_metadata_late")) {
    rt_.sleep_for(std::chrono::milliseconds(rt_.random().between(1, metadata_late_ms_max)));
  }
  for (const auto& b : response.brokers) brokers_[b.node_id] = Address{b.host, static_cast<std::uint16_t>(b.port)};
  for (const auto& t : response.topics) {
    const std::string name = t.name.value_or("");
    if (t.error_code == static_cast<std::int16_t>(protocol::ErrorCode::unknown_topic_or_partition)) {
      partition_counts_.erase(name);
      std::erase_if(leaders_, [&](const auto& entry) { return entry.first.topic == name; });
      continue;
    }
    if (t.error_code != 0) continue;  // being created, or not allowed: keep what was known
    if (!t.topic_id.is_zero() && !name.empty()) topic_names_[t.topic_id] = name;
    std::int32_t count = 0;
    for (const auto& p : t.partitions) {
      count = std::max(count, p.partition_index + 1);
      const TopicPartition tp{name, p.partition_index};
      if (p.error_code == 0 && p.leader_id >= 0) leaders_[tp] = p.leader_id;
      else leaders_.erase(tp);
    }
    partition_counts_[name] = count;
  }
  return {};
}

std::optional<std::int32_t> Cluster::leader(const TopicPartition& tp) const {
  auto it = leaders_.find(tp);
  if (it == leaders_.end()) return std::nullopt;
  return it->second;
}

std::optional<std::int32_t> Cluster::partitions(const std::string& topic) const {
  auto it = partition_counts_.find(topic);
  if (it == partition_counts_.end() || it->second == 0) return std::nullopt;
  return it->second;
}

Result<protocol::MetadataResponse> request_metadata(BrokerConnection& connection,
                                                    const std::optional<std::vector<std::string>>& topics,
                                                    bool allow_create) {
  const auto version = connection.version_for(protocol::ApiKey::metadata, metadata_version_max);
  if (!version) return make_error(Errc::refused, "the broker serves no Metadata version this client speaks");
  protocol::MetadataRequest request;
  if (topics) {
    request.topics = std::vector<protocol::MetadataRequest::MetadataRequestTopic>();
    for (const auto& name : *topics) {
      protocol::MetadataRequest::MetadataRequestTopic t;
      t.name = name;
      request.topics->push_back(std::move(t));
    }
  }
  request.allow_auto_topic_creation = allow_create;
  return connection.call<protocol::MetadataResponse>(request, *version);
}

}  // namespace keel::client
