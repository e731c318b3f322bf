// OffsetCommit, OffsetFetch and OffsetDelete (Kafka's OffsetMetadataManager).
#include <fmt/format.h>

#include <set>

#include "broker/base/assert.h"
#include "broker/group/group_shard.h"

namespace keel::group {

using coordinator::WriteResult;
using protocol::ErrorCode;

namespace {

std::int16_t code(ErrorCode c) { return static_cast<std::int16_t>(c); }

// Traces a commit once its records are committed and it is answered (OffsetCommitAcknowledged: the
// simulator's group checks hold the coordinator to it across failovers). `offsets` is "tp=offset,...".
// WaitedNs: how long ago the coordinator took it (a fence decided meanwhile does not void it).
std::function<void(coordinator::CoordinatorError)> acknowledged_trace(Runtime& rt,
                                                                     const protocol::OffsetCommitRequest& request,
                                                                     std::string offsets) {
  return [&rt, group = request.group_id, member = request.member_id, generation = request.generation_id_or_member_epoch,
          offsets = std::move(offsets), taken = rt.now()](coordinator::CoordinatorError error) {
    if (error != coordinator::CoordinatorError::none) return;
    rt.trace("OffsetCommitAcknowledged")
        .detail("Group", group)
        .detail("Member", member)
        .detail("Generation", generation)
        .detail("Offsets", offsets)
        .detail("WaitedNs", std::chrono::duration_cast<std::chrono::nanoseconds>(rt.now() - taken).count());
  };
}

}  // namespace

// Whether a commit may go in, as Kafka's validateOffsetCommit: a simple group (generation -1 into a
// missing or Empty group) always; a member only with its current generation, and never while the
// group waits for the leader's assignment. Returns the Kafka error for the whole request, 0 if none.
std::int16_t GroupShard::check_commit(const protocol::OffsetCommitRequest& request) {
  auto it = groups_.find(request.group_id);
  if (it == groups_.end()) {
    if (request.generation_id_or_member_epoch < 0) return 0;  // a simple group, created by the commit
    return code(ErrorCode::illegal_generation);
  }
  ClassicGroup& g = *it->second;
  if (g.in(GroupState::dead)) return code(ErrorCode::coordinator_not_available);
  if (request.generation_id_or_member_epoch < 0 && g.in(GroupState::empty)) return 0;
  const bool identified =
      !request.member_id.empty() || request.group_instance_id || request.generation_id_or_member_epoch >= 0;
  if (!identified) return code(ErrorCode::unknown_member_id);
  if (auto error = check_member(g, request.member_id, request.group_instance_id); error != 0) return error;
  if (request.generation_id_or_member_epoch != g.generation()) return code(ErrorCode::illegal_generation);
  if (g.in(GroupState::completing_rebalance)) return code(ErrorCode::rebalance_in_progress);
  // Commits keep a member alive (while Stable or PreparingRebalance, as a heartbeat would).
  reschedule_session(g, *g.member(request.member_id));
  return 0;
}

WriteResult GroupShard::commit(const protocol::OffsetCommitRequest& request, const Client& client,
                               const std::function<bool(const std::string&, std::int32_t)>& known,
                               protocol::OffsetCommitResponse& response) {
  const ConsumerGroup* consumer = consumer_group(request.group_id);
  const std::int16_t group_error = request.group_id.empty() ? code(ErrorCode::invalid_group_id)
                                   : consumer != nullptr ? check_consumer_commit(*consumer, request, client.version)
                                                         : check_commit(request);
  const std::int64_t now = now_ms();
  WriteResult result;
  std::string written;  // what the records carry, for the trace once they commit
  for (const auto& topic : request.topics) {
    protocol::OffsetCommitResponse::Topic out{topic.name, {}};
    for (const auto& p : topic.partitions) {
      std::int16_t error = group_error;
      const std::string metadata = p.committed_metadata.value_or("");
      if (error == 0 && !known(topic.name, p.partition_index)) error = code(ErrorCode::unknown_topic_or_partition);
      if (error == 0 && metadata.size() > static_cast<std::size_t>(config_.offset_metadata_max_bytes)) {
        error = code(ErrorCode::offset_metadata_too_large);
      }
      if (error == 0) {
        OffsetCommitValue value{p.committed_offset, p.committed_leader_epoch, metadata, now, -1};
        result.records.push_back(offset_commit_record({request.group_id, topic.name, p.partition_index}, value));
        written += fmt::format("{}{}-{}={}", written.empty() ? "" : ",", topic.name, p.partition_index, p.committed_offset);
      }
      out.partitions.push_back({p.partition_index, error});
    }
    response.topics.push_back(std::move(out));
  }
  if (!written.empty()) result.after_commit.push_back(acknowledged_trace(ctx_.runtime(), request, std::move(written)));
  return result;
}

void GroupShard::fetch(const std::string& group_id,
                       const std::optional<std::vector<protocol::OffsetFetchRequest::Topic>>& topics,
                       protocol::OffsetFetchResponse::Group& out) const {
  out.group_id = group_id;
  const auto* committed = offsets(group_id);
  auto fill = [&](const std::string& topic, std::int32_t partition) {
    protocol::OffsetFetchResponse::Partition p;
    p.partition_index = partition;
    p.metadata = "";
    if (committed) {
      if (auto it = committed->find(TopicPartition{topic, partition}); it != committed->end()) {
        p.committed_offset = it->second.offset;
        p.committed_leader_epoch = it->second.leader_epoch;
        p.metadata = it->second.metadata;
      }
    }
    return p;
  };
  if (!topics) {  // every committed partition
    if (!committed) return;
    for (const auto& [tp, offset] : *committed) {
      if (out.topics.empty() || out.topics.back().name != tp.topic) out.topics.push_back({tp.topic, {}});
      out.topics.back().partitions.push_back(fill(tp.topic, tp.partition));
    }
    return;
  }
  for (const auto& topic : *topics) {
    protocol::OffsetFetchResponse::Topic t{topic.name, {}};
    for (auto partition : topic.partition_indexes) t.partitions.push_back(fill(topic.name, partition));
    out.topics.push_back(std::move(t));
  }
}

// The topics a consumer group's members subscribe to (from their subscriptions in the chosen
// protocol); offsets of those topics cannot be deleted.
std::set<std::string> subscribed_topics(const ClassicGroup& g) {
  std::set<std::string> out;
  if (g.in(GroupState::empty) || !g.protocol_name()) return out;
  for (const auto& [id, m] : g.members()) {
    const protocol::Bytes* metadata = m.metadata_for(*g.protocol_name());
    if (metadata == nullptr) continue;
    if (auto topics = subscription_topics(*metadata)) out.insert(topics->begin(), topics->end());
  }
  return out;
}

WriteResult GroupShard::delete_offsets(const protocol::OffsetDeleteRequest& request,
                                       protocol::OffsetDeleteResponse& response) {
  auto it = groups_.find(request.group_id);
  if (it == groups_.end()) {
    response.error_code = code(ErrorCode::group_id_not_found);
    return {};
  }
  const ClassicGroup& g = *it->second;
  if (!g.in(GroupState::empty) && g.protocol_type().value_or("") != "consumer") {
    response.error_code = code(ErrorCode::non_empty_group);
    return {};
  }
  const std::set<std::string> subscribed = subscribed_topics(g);
  const auto* committed = offsets(request.group_id);
  WriteResult result;
  for (const auto& topic : request.topics) {
    protocol::OffsetDeleteResponse::Topic out{topic.name, {}};
    for (auto partition : topic.partitions) {
      std::int16_t error = 0;
      if (subscribed.contains(topic.name)) {
        error = code(ErrorCode::group_subscribed_to_topic);
      } else if (committed && committed->contains(TopicPartition{topic.name, partition})) {
        result.records.push_back(offset_tombstone({request.group_id, topic.name, partition}));
      }
      out.partitions.push_back({partition, error});
    }
    response.topics.push_back(std::move(out));
  }
  return result;
}

}  // namespace keel::group
