#pragma once
// The quorum controller's decisions over a metadata image, without a quorum: a test cluster whose
// every decision is committed (applied) at once, as the active controller would once the quorum
// acknowledges it, with the log's next offset and a clock the test moves.
#include <catch2/catch.hpp>

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "broker/metadata/control.h"
#include "broker/metadata/image.h"
#include "broker/metadata/records.h"

namespace keel::test {

// A recognisable incarnation id: broker `tag`, in its `generation`-th registration.
inline protocol::Uuid uuid_of(std::uint8_t tag, std::uint8_t generation = 0) {
  protocol::Uuid id;
  id.bytes[0] = tag;
  id.bytes[1] = generation;
  id.bytes[15] = 0x5a;
  return id;
}

struct ControllerCluster {
  explicit ControllerCluster(metadata::ControllerConfig config = {}, std::uint64_t seed = 7)
      : controller(config), random(seed) {}

  void commit(const std::vector<metadata::MetadataRecord>& records) {
    for (const auto& r : records) image.apply(r, next_offset++);
    if (on_commit) on_commit(records);
  }

  metadata::RegisterBrokerReply register_broker(BrokerId id, std::uint8_t generation = 0,
                                                std::optional<std::string> rack = std::nullopt) {
    auto d = controller.register_broker(
        image, {id, uuid_of(static_cast<std::uint8_t>(id.value), generation), {{"PLAINTEXT", "host", 9092}}, rack},
        next_offset, now_ms);
    commit(d.records);
    return d.reply;
  }

  metadata::HeartbeatReply heartbeat(BrokerId id, bool want_fence = false, bool want_shutdown = false) {
    const auto* b = image.broker(id);
    REQUIRE(b != nullptr);
    auto d = controller.heartbeat(image, {id, b->epoch, next_offset - 1, want_fence, want_shutdown}, now_ms);
    commit(d.records);
    return d.reply;
  }

  // Registers and unfences brokers `ids`.
  void add_brokers(std::initializer_list<BrokerId> ids) {
    for (auto id : ids) REQUIRE(register_broker(id).error == metadata::ErrorCode::none);
    for (auto id : ids) REQUIRE_FALSE(heartbeat(id).is_fenced);
  }

  metadata::CreateTopicReply create_topic(const std::string& name, std::int32_t partitions, std::int16_t rf,
                                          std::map<std::string, std::string> configs = {}) {
    auto d = controller.create_topic(image, {name, partitions, rf, std::move(configs), {}}, random);
    commit(d.records);
    return d.reply;
  }

  metadata::AlterPartitionReply alter_isr(
      const std::string& topic, std::int32_t index, std::vector<BrokerId> isr,
      metadata::LeaderRecoveryState state = metadata::LeaderRecoveryState::recovered) {
    auto d = controller.alter_partition(image, request(topic, index, isr, state));
    commit(d.records);
    return d.reply;
  }

  // A well-formed AlterPartition from the current leader, with its current epochs.
  metadata::AlterPartitionRequest request(
      const std::string& topic, std::int32_t index, const std::vector<BrokerId>& isr,
      metadata::LeaderRecoveryState state = metadata::LeaderRecoveryState::recovered) const {
    const auto* p = image.partition(topic, index);
    REQUIRE(p != nullptr);
    metadata::AlterPartitionRequest req;
    req.broker_id = p->leader;
    req.broker_epoch = p->leader >= 0 ? image.broker(p->leader)->epoch : -1;
    req.topic_id = image.topic(topic)->id;
    req.partition = index;
    req.leader_epoch = p->leader_epoch;
    req.partition_epoch = p->partition_epoch;
    for (auto b : isr) req.new_isr.push_back({b, image.broker(b) ? image.broker(b)->epoch : -1});
    req.leader_recovery_state = state;
    return req;
  }

  const metadata::PartitionRegistration& partition(const std::string& topic, std::int32_t index = 0) const {
    const auto* p = image.partition(topic, index);
    REQUIRE(p != nullptr);
    return *p;
  }

  metadata::MetadataImage image;
  metadata::Controller controller;
  Random random;
  std::int64_t next_offset = 0;
  std::int64_t now_ms = 1'000;
  std::function<void(const std::vector<metadata::MetadataRecord>&)> on_commit;
};

}  // namespace keel::test
