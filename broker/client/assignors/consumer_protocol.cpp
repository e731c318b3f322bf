#include "broker/client/assignors/consumer_protocol.h"

#include <fmt/format.h>

#include <algorithm>

namespace keel::client::assignors {

namespace {

using protocol::Reader;
using protocol::Writer;

// Turns the reader's sticky error into one naming the structure, its version and the field.
Error field_error(const Reader& r, std::string_view what, std::int16_t version, std::string_view field) {
  return make_error(Errc::corrupt, fmt::format("{} v{}: {}: {} (at byte {} of the {})", what, version, field,
                                               r.error().message, r.position(), what));
}

std::int32_t count_of(std::size_t n) {
  KEEL_ASSERT_LE(n, static_cast<std::size_t>(INT32_MAX));
  return static_cast<std::int32_t>(n);
}

// Reads the leading int16 version; a negative one is not a version any client writes.
Result<std::int16_t> read_version(Reader& r, std::string_view what) {
  if (r.remaining() < 2) {
    return make_error(Errc::corrupt, fmt::format("{}: {} bytes, too short for the int16 version", what, r.remaining()));
  }
  const std::int16_t version = r.read_int16();
  if (version < 0) return make_error(Errc::corrupt, fmt::format("{}: unsupported version {}", what, version));
  return version;
}

std::vector<std::string> read_topics(Reader& r) {
  const std::int32_t n = r.read_array_length();
  if (n < 0 && r.ok()) r.fail("Topics is null");
  std::vector<std::string> topics;
  for (std::int32_t i = 0; i < n && r.ok(); ++i) topics.push_back(r.read_string());
  return topics;
}

}  // namespace

void write_topic_partitions(Writer& w, const std::vector<TopicPartitions>& list) {
  w.write_array_length(count_of(list.size()));
  for (const auto& tp : list) {
    w.write_string(tp.topic);
    w.write_array_length(count_of(tp.partitions.size()));
    for (std::int32_t p : tp.partitions) w.write_int32(p);
  }
}

std::vector<TopicPartitions> read_topic_partitions(Reader& r) {
  const std::int32_t n = r.read_array_length();
  if (n < 0 && r.ok()) r.fail("the topic list is null");
  std::vector<TopicPartitions> list;
  for (std::int32_t i = 0; i < n && r.ok(); ++i) {
    TopicPartitions tp;
    tp.topic = r.read_string();
    const std::int32_t m = r.read_array_length();
    if (m < 0 && r.ok()) r.fail(fmt::format("the partition list of topic '{}' is null", tp.topic));
    for (std::int32_t j = 0; j < m && r.ok(); ++j) tp.partitions.push_back(r.read_int32());
    list.push_back(std::move(tp));
  }
  return list;
}

Bytes encode_subscription(const Subscription& s, std::int16_t version) {
  KEEL_ASSERT_MSG(version >= 0 && version <= subscription_version_max, "subscription version {}", version);
  Writer w;
  w.write_int16(version);
  w.write_array_length(count_of(s.topics.size()));
  for (const auto& t : s.topics) w.write_string(t);
  w.write_nullable_bytes(s.user_data);
  if (version >= 1) write_topic_partitions(w, s.owned_partitions);
  if (version >= 2) w.write_int32(s.generation_id);
  if (version >= 3) w.write_nullable_string(s.rack_id);
  return w.take();
}

Result<std::int16_t> subscription_version(std::span<const std::uint8_t> bytes) {
  Reader r(bytes);
  return read_version(r, "subscription");
}

Result<Subscription> decode_subscription(std::span<const std::uint8_t> bytes) {
  Reader r(bytes);
  auto v = read_version(r, "subscription");
  if (!v) return v.error();
  const std::int16_t version = std::min(*v, subscription_version_max);
  Subscription s;
  s.topics = read_topics(r);
  if (!r.ok()) return field_error(r, "subscription", *v, "Topics");
  s.user_data = r.read_nullable_bytes();
  if (!r.ok()) return field_error(r, "subscription", *v, "UserData");
  if (version >= 1) {
    s.owned_partitions = read_topic_partitions(r);
    if (!r.ok()) return field_error(r, "subscription", *v, "OwnedPartitions");
  }
  if (version >= 2) {
    s.generation_id = r.read_int32();
    if (!r.ok()) return field_error(r, "subscription", *v, "GenerationId");
  }
  if (version >= 3) {
    s.rack_id = r.read_nullable_string();
    if (!r.ok()) return field_error(r, "subscription", *v, "RackId");
  }
  return s;
}

Bytes encode_assignment(const Assignment& a, std::int16_t version) {
  KEEL_ASSERT_MSG(version >= 0 && version <= assignment_version_max, "assignment version {}", version);
  Writer w;
  w.write_int16(version);
  write_topic_partitions(w, a.partitions);
  w.write_nullable_bytes(a.user_data);
  return w.take();
}

Result<Assignment> decode_assignment(std::span<const std::uint8_t> bytes) {
  if (bytes.empty()) return Assignment{};  // a member the leader left out: nothing assigned
  Reader r(bytes);
  auto v = read_version(r, "assignment");
  if (!v) return v.error();
  Assignment a;
  a.partitions = read_topic_partitions(r);
  if (!r.ok()) return field_error(r, "assignment", *v, "AssignedPartitions");
  a.user_data = r.read_nullable_bytes();
  if (!r.ok()) return field_error(r, "assignment", *v, "UserData");
  return a;
}

std::vector<TopicPartition> flatten(const std::vector<TopicPartitions>& grouped) {
  std::vector<TopicPartition> out;
  for (const auto& tp : grouped) {
    for (std::int32_t p : tp.partitions) out.push_back({tp.topic, p});
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<TopicPartitions> group_by_topic(std::vector<TopicPartition> partitions) {
  std::sort(partitions.begin(), partitions.end());
  std::vector<TopicPartitions> out;
  for (auto& tp : partitions) {
    if (out.empty() || out.back().topic != tp.topic) out.push_back({tp.topic, {}});
    out.back().partitions.push_back(tp.partition);
  }
  return out;
}

}  // namespace keel::client::assignors
