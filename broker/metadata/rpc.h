#pragma once
// What brokers ask the active controller (Kafka's BrokerRegistration, BrokerHeartbeat,
// AlterPartition, and CreateTopics / DeleteTopics / AlterPartitionReassignments /
// ListPartitionReassignments / CreatePartitions / ElectLeaders forwarded from a broker), as one table, and the metadata log's entry
// payload (a batch of records). They travel inside the KeelQuorum API (messages_keel_quorum.h)
// between Keel nodes only, in Keel's internal form of the schema codec (protocol/schema.h); Kafka
// clients never see them. Decoding never trusts its input: errors name the message, the field and
// what was wrong.
//
// Adding a controller call: its request and reply structs with their fields() (control.h), its
// QuorumCall value, and one row in controller_calls below with its decision. The typed call
// (Quorum::call), the dispatch on the active controller and the codec all come from that row.
#include "broker/base/result.h"
#include "broker/metadata/control.h"
#include "broker/metadata/records.h"
#include "broker/protocol/schema.h"

#include <cstdint>
#include <span>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <vector>

namespace keel::metadata {

// What a KeelQuorum request carries.
enum class QuorumCall : std::int8_t {
  raft = 0,  // a Raft message (raft_codec.h)
  register_broker = 1,
  heartbeat = 2,
  alter_partition = 3,
  create_topic = 4,
  delete_topic = 5,
  alter_reassignments = 6,
  list_reassignments = 7,
  create_partitions = 8,
  elect_leaders = 9,
  alter_topic_configs = 10,
};

// What the active controller decides a call on: the committed image, and where the decision's
// records will go.
struct DecisionInput {
  Controller& controller;
  const MetadataImage& image;
  std::int64_t next_offset;  // the offset the decision's first record will get
  std::int64_t now_ms;
  Random& random;
};

// One row of the table: a call's id on the wire, its name, its request and reply types, and the
// controller's decision, Decision<Reply>(DecisionInput&, const Request&).
template <class Req, class Rep, class Decide>
struct ControllerCall {
  using Request = Req;
  using Reply = Rep;
  QuorumCall id;
  std::string_view name;
  Decide decide;
};

template <class Request, class Reply, class Decide>
constexpr ControllerCall<Request, Reply, Decide> controller_call(QuorumCall id, std::string_view name, Decide decide) {
  static_assert(std::is_same_v<std::invoke_result_t<const Decide&, DecisionInput&, const Request&>, Decision<Reply>>,
                "a decision takes (DecisionInput&, const Request&) and returns Decision<Reply>");
  return {id, name, decide};
}

// The controller calls. Each decision is computed on the committed image; its records are appended
// as one entry and the reply is sent once they are committed and applied (quorum.cpp).
inline constexpr auto controller_calls = std::tuple{
    controller_call<RegisterBrokerRequest, RegisterBrokerReply>(
        QuorumCall::register_broker, "RegisterBroker",
        [](DecisionInput& in, const RegisterBrokerRequest& request) {
          return in.controller.register_broker(in.image, request, in.next_offset, in.now_ms);
        }),
    controller_call<HeartbeatRequest, HeartbeatReply>(
        QuorumCall::heartbeat, "BrokerHeartbeat",
        [](DecisionInput& in, const HeartbeatRequest& request) {
          return in.controller.heartbeat(in.image, request, in.now_ms, in.next_offset);
        }),
    controller_call<AlterPartitionRequest, AlterPartitionReply>(
        QuorumCall::alter_partition, "AlterPartition",
        [](DecisionInput& in, const AlterPartitionRequest& request) {
          return in.controller.alter_partition(in.image, request);
        }),
    controller_call<CreateTopicRequest, CreateTopicReply>(
        QuorumCall::create_topic, "CreateTopic",
        [](DecisionInput& in, const CreateTopicRequest& request) {
          return in.controller.create_topic(in.image, request, in.random);
        }),
    controller_call<DeleteTopicRequest, DeleteTopicReply>(
        QuorumCall::delete_topic, "DeleteTopic",
        [](DecisionInput& in, const DeleteTopicRequest& request) {
          auto decision = in.controller.delete_topic(in.image, request.name);
          return Decision<DeleteTopicReply>{std::move(decision.records), {decision.reply}};
        }),
    controller_call<AlterReassignmentsRequest, AlterReassignmentsReply>(
        QuorumCall::alter_reassignments, "AlterPartitionReassignments",
        [](DecisionInput& in, const AlterReassignmentsRequest& request) {
          return in.controller.alter_reassignments(in.image, request);
        }),
    // Answered from the committed image without records, as Kafka's controller does.
    controller_call<ListReassignmentsRequest, ListReassignmentsReply>(
        QuorumCall::list_reassignments, "ListPartitionReassignments",
        [](DecisionInput& in, const ListReassignmentsRequest& request) {
          return Decision<ListReassignmentsReply>{{}, in.controller.list_reassignments(in.image, request)};
        }),
    controller_call<CreatePartitionsRequest, CreatePartitionsReply>(
        QuorumCall::create_partitions, "CreatePartitions",
        [](DecisionInput& in, const CreatePartitionsRequest& request) {
          return in.controller.create_partitions(in.image, request, in.random);
        }),
    controller_call<ElectLeadersRequest, ElectLeadersReply>(
        QuorumCall::elect_leaders, "ElectLeaders",
        [](DecisionInput& in, const ElectLeadersRequest& request) {
          return in.controller.elect_leaders(in.image, request);
        }),
    controller_call<AlterTopicConfigsRequest, AlterTopicConfigsReply>(
        QuorumCall::alter_topic_configs, "AlterTopicConfigs",
        [](DecisionInput& in, const AlterTopicConfigsRequest& request) {
          return in.controller.alter_topic_configs(in.image, request);
        }),
};

using ControllerCalls = std::remove_cvref_t<decltype(controller_calls)>;

// Calls f(row) for every row of the table, in order.
template <class F>
constexpr void for_each_controller_call(F&& f) {
  std::apply([&](const auto&... row) { (f(row), ...); }, controller_calls);
}

namespace detail {

template <class Request, std::size_t I = 0>
constexpr std::size_t call_index() {
  if constexpr (I == std::tuple_size_v<ControllerCalls>) {
    static_assert(I < std::tuple_size_v<ControllerCalls>, "no controller call takes this request");
    return I;
  } else if constexpr (std::is_same_v<typename std::tuple_element_t<I, ControllerCalls>::Request, Request>) {
    return I;
  } else {
    return call_index<Request, I + 1>();
  }
}

template <class T>
constexpr bool in_call_table() {
  return []<std::size_t... I>(std::index_sequence<I...>) {
    return ((std::is_same_v<typename std::tuple_element_t<I, ControllerCalls>::Request, T> ||
             std::is_same_v<typename std::tuple_element_t<I, ControllerCalls>::Reply, T>) ||
            ...);
  }(std::make_index_sequence<std::tuple_size_v<ControllerCalls>>{});
}

constexpr bool call_ids_unique() {
  bool unique = true;
  std::size_t i = 0;
  for_each_controller_call([&](const auto& a) {
    std::size_t j = 0;
    for_each_controller_call([&](const auto& b) {
      if (j++ > i && a.id == b.id) unique = false;
    });
    if (a.id == QuorumCall::raft) unique = false;
    ++i;
  });
  return unique;
}
static_assert(call_ids_unique(), "every controller call has its own id, and none is the Raft one");

}  // namespace detail

// The table's row for a request type: CallTraits<Request>::id, ::name and ::Reply.
template <class Request>
struct CallTraits {
  static constexpr std::size_t index = detail::call_index<Request>();
  using Reply = typename std::tuple_element_t<index, ControllerCalls>::Reply;
  static constexpr QuorumCall id = std::get<index>(controller_calls).id;
  static constexpr std::string_view name = std::get<index>(controller_calls).name;
};

// A request or reply of some controller call.
template <class T>
concept CallMessage = detail::in_call_table<T>();

std::string_view quorum_call_name(QuorumCall call);
bool valid_quorum_call(std::int8_t value);

template <CallMessage T>
protocol::Bytes encode(const T& message) {
  return protocol::encode_internal(message);
}

// Errc::corrupt naming the message and the field on any malformed input.
template <CallMessage T>
Result<T> decode(std::span<const std::uint8_t> bytes) {
  return protocol::decode_internal<T>(bytes, T::message_name);
}

// The records one metadata log entry holds (the active controller appends one entry per
// decision, so a decision's records commit together). An empty payload holds none (the leader's
// entry at the start of its epoch).
protocol::Bytes encode_records(const std::vector<MetadataRecord>& records);
Result<std::vector<MetadataRecord>> decode_records(std::span<const std::uint8_t> payload);

}  // namespace keel::metadata
