#pragma once
// Produce (key 0), versions 3-8 (record batch v2 only); flexible from 9, so never flexible here.
#include "broker/protocol/schema.h"

namespace keel::protocol {

struct ProduceRequest {
  static constexpr ApiKey api_key = ApiKey::produce;
  static constexpr bool is_request = true;
  static constexpr std::string_view message_name = "ProduceRequest";

  struct PartitionProduceData {
    std::int32_t index = 0;
    std::optional<Bytes> records;

    template <class V>
    static void fields(V& v) {
      using S = PartitionProduceData;
      v.field("index", &S::index, versions(0));
      v.field("records", &S::records, versions(0).nullable(0));
    }
    bool operator==(const PartitionProduceData&) const = default;
  };

  struct TopicProduceData {
    std::string name;
    std::vector<PartitionProduceData> partition_data;

    template <class V>
    static void fields(V& v) {
      using S = TopicProduceData;
      v.field("name", &S::name, versions(0, 12));
      v.field("partition_data", &S::partition_data, versions(0));
    }
    bool operator==(const TopicProduceData&) const = default;
  };

  std::optional<std::string> transactional_id;
  std::int16_t acks = 0;
  std::int32_t timeout_ms = 0;
  std::vector<TopicProduceData> topic_data;

  template <class V>
  static void fields(V& v) {
    using S = ProduceRequest;
    v.field("transactional_id", &S::transactional_id, versions(3).nullable(3));
    v.field("acks", &S::acks, versions(0));
    v.field("timeout_ms", &S::timeout_ms, versions(0));
    v.field("topic_data", &S::topic_data, versions(0));
  }
  bool operator==(const ProduceRequest&) const = default;
};

struct ProduceResponse {
  static constexpr ApiKey api_key = ApiKey::produce;
  static constexpr bool is_request = false;
  static constexpr std::string_view message_name = "ProduceResponse";

  struct BatchIndexAndErrorMessage {
    std::int32_t batch_index = 0;
    std::optional<std::string> batch_index_error_message;

    template <class V>
    static void fields(V& v) {
      using S = BatchIndexAndErrorMessage;
      v.field("batch_index", &S::batch_index, versions(8));
      v.field("batch_index_error_message", &S::batch_index_error_message, versions(8).nullable(8));
    }
    bool operator==(const BatchIndexAndErrorMessage&) const = default;
  };

  struct PartitionProduceResponse {
    std::int32_t index = 0;
    std::int16_t error_code = 0;
    std::int64_t base_offset = 0;
    std::int64_t log_append_time_ms = -1;
    std::int64_t log_start_offset = -1;
    std::vector<BatchIndexAndErrorMessage> record_errors;
    std::optional<std::string> error_message;

    template <class V>
    static void fields(V& v) {
      using S = PartitionProduceResponse;
      v.field("index", &S::index, versions(0));
      v.field("error_code", &S::error_code, versions(0));
      v.field("base_offset", &S::base_offset, versions(0));
      v.field("log_append_time_ms", &S::log_append_time_ms, versions(2));
      v.field("log_start_offset", &S::log_start_offset, versions(5));
      v.field("record_errors", &S::record_errors, versions(8));
      v.field("error_message", &S::error_message, versions(8).nullable(8));
    }
    bool operator==(const PartitionProduceResponse&) const = default;
  };

  struct TopicProduceResponse {
    std::string name;
    std::vector<PartitionProduceResponse> partition_responses;

    template <class V>
    static void fields(V& v) {
      using S = TopicProduceResponse;
      v.field("name", &S::name, versions(0, 12));
      v.field("partition_responses", &S::partition_responses, versions(0));
    }
    bool operator==(const TopicProduceResponse&) const = default;
  };

  std::vector<TopicProduceResponse> responses;
  std::int32_t throttle_time_ms = 0;

  template <class V>
  static void fields(V& v) {
    using S = ProduceResponse;
    v.field("responses", &S::responses, versions(0));
    v.field("throttle_time_ms", &S::throttle_time_ms, versions(1));
  }
  bool operator==(const ProduceResponse&) const = default;
};

}  // namespace keel::protocol
