#pragma once
// What brokers ask the active controller (Kafka's BrokerRegistration, BrokerHeartbeat,
// AlterPartition, and CreateTopics / DeleteTopics / AlterPartitionReassignments /
// ListPartitionReassignments forwarded from a broker), and the metadata log's
// entry payload (a batch of records), in Keel's compact binary form. They travel inside the
// KeelQuorum API (messages_keel_quorum.h) between Keel nodes only; Kafka clients never see them.
// Decoding never trusts its input: errors name the message and what was wrong.
#include "broker/metadata/control.h"
#include "broker/metadata/records.h"
#include "broker/base/result.h"
#include "broker/protocol/wire.h"

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace keel::metadata {

// What a KeelQuorum request carries.
enum class QuorumCall : std::int8_t {
  raft = 0,             // a Raft message (raft_codec.h)
  register_broker = 1,
  heartbeat = 2,
  alter_partition = 3,
  create_topic = 4,
  delete_topic = 5,
  alter_reassignments = 6,
  list_reassignments = 7,
};
std::string_view quorum_call_name(QuorumCall call);
bool valid_quorum_call(std::int8_t value);

// The records one metadata log entry holds (the active controller appends one entry per
// decision, so a decision's records commit together). An empty payload holds none (the leader's
// entry at the start of its epoch).
protocol::Bytes encode_records(const std::vector<MetadataRecord>& records);
Result<std::vector<MetadataRecord>> decode_records(std::span<const std::uint8_t> payload);

protocol::Bytes encode(const RegisterBrokerRequest& m);
protocol::Bytes encode(const RegisterBrokerReply& m);
protocol::Bytes encode(const HeartbeatRequest& m);
protocol::Bytes encode(const HeartbeatReply& m);
protocol::Bytes encode(const AlterPartitionRequest& m);
protocol::Bytes encode(const AlterPartitionReply& m);
protocol::Bytes encode(const CreateTopicRequest& m);
protocol::Bytes encode(const CreateTopicReply& m);
protocol::Bytes encode(const AlterReassignmentsRequest& m);
protocol::Bytes encode(const AlterReassignmentsReply& m);
protocol::Bytes encode(const ListReassignmentsRequest& m);
protocol::Bytes encode(const ListReassignmentsReply& m);

// decode<T>(bytes) for each of the types above; DeleteTopic's request is the topic name and its
// reply an error code, sent as strings/int16 directly.
template <class T>
Result<T> decode(std::span<const std::uint8_t> bytes);

}  // namespace keel::metadata
