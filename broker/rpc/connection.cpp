#include "broker/rpc/connection.h"

#include <fmt/format.h>

#include "broker/base/assert.h"
#include "broker/protocol/errors.h"
#include "broker/protocol/frame_reader.h"

namespace keel::rpc {
namespace {

// A request header starts with api key (int16), api version (int16) and correlation id (int32).
constexpr std::size_t request_header_fixed_bytes = 8;
constexpr std::size_t correlation_id_position = protocol::frame_size_bytes + 4;

}  // namespace

// What the reader task and the connection share; the reader holds it alive while it runs.
struct BrokerConnection::Shared {
  Address address;
  Connection connection;
  Mutex write_lock;  // a frame is written whole, and queued in the order it is written
  std::deque<std::shared_ptr<PendingResponse>> pending;
  std::int32_t next_correlation_id = 1;
  bool broken = false;
  TaskRef reader;

  void fail_all(const Error& error) {
    broken = true;
    connection.close();
    for (auto& p : pending) {
      KEEL_ASSERT_MSG(!p->done.is_set(), "request {} to {} answered twice", p->correlation_id, address.to_string());
      p->frame = error;
      p->done.set();
    }
    pending.clear();
  }

  // Requests wait in the order they were written, which is the order of their correlation ids.
  void push_pending(std::shared_ptr<PendingResponse> p) {
    KEEL_ASSERT_MSG(pending.empty() || pending.back()->correlation_id < p->correlation_id,
                    "request {} to {} queued behind {}", p->correlation_id, address.to_string(),
                    pending.back()->correlation_id);
    pending.push_back(std::move(p));
  }
};

BrokerConnection::BrokerConnection(Runtime& rt, Address address, std::string client_id, Duration request_timeout)
    : rt_(rt), address_(std::move(address)), client_id_(std::move(client_id)), request_timeout_(request_timeout) {}

BrokerConnection::~BrokerConnection() { close(); }

void BrokerConnection::close() {
  if (!shared_) return;
  shared_->fail_all(Error{Errc::closed, fmt::format("connection to {} closed", address_.to_string())});
  auto& executor = rt_.executor();
  if (executor.alive(shared_->reader) && Executor::current_task().id != shared_->reader.id) executor.cancel(shared_->reader);
  shared_.reset();
}

bool BrokerConnection::usable() const { return shared_ && !shared_->broken; }

void BrokerConnection::read_loop(const std::shared_ptr<Shared>& shared) {
  // Buffered: the responses to pipelined requests come in with one read for several.
  protocol::FrameReader frames(shared->connection, response_frame_bytes_max);
  while (!shared->broken) {
    auto frame = frames.next(instant_max);
    if (!frame) return shared->fail_all(frame.error());
    if (shared->pending.empty()) {
      return shared->fail_all(Error{Errc::corrupt, fmt::format("{}: a response arrived with no request waiting",
                                                                shared->address.to_string())});
    }
    auto next = shared->pending.front();
    shared->pending.pop_front();
    KEEL_ASSERT_MSG(!next->done.is_set(), "request {} to {} was answered before its response came",
                    next->correlation_id, shared->address.to_string());
    protocol::Reader reader(*frame);
    const std::int32_t correlation = reader.read_int32();
    if (!reader.ok() || correlation != next->correlation_id) {
      const Error error{Errc::corrupt, fmt::format("{}: response correlation id {} where {} was expected",
                                                   shared->address.to_string(), correlation, next->correlation_id)};
      next->frame = error;
      next->done.set();
      return shared->fail_all(error);
    }
    next->frame = std::move(*frame);
    next->done.set();
  }
}

Status BrokerConnection::open(Duration connect_timeout) {
  close();
  auto connection = rt_.net().connect(address_, connect_timeout);
  if (!connection) return connection.error();
  shared_ = std::make_shared<Shared>();
  shared_->address = address_;
  shared_->connection = std::move(*connection);
  auto shared = shared_;
  shared_->reader = rt_.spawn(fmt::format("client-reader-{}", address_.to_string()), [shared] { read_loop(shared); });
  return negotiate();
}

// An ApiVersions answer: at the version asked, or (a broker refusing that version answers with a
// v0 body, as Kafka does) at v0.
Result<protocol::ApiVersionsResponse> BrokerConnection::api_versions(std::int16_t version) {
  protocol::ApiVersionsRequest request;
  request.client_software_name = "keel-client";
  request.client_software_version = "1.0";
  auto pending = start_request<protocol::ApiVersionsResponse>(request, version);
  if (!pending) return pending.error();
  auto frame = await_frame(*pending);
  if (!frame) return frame.error();
  protocol::Reader reader(*frame);
  auto correlation = protocol::decode_response_header(reader, protocol::ApiKey::api_versions, version);
  if (!correlation) return correlation.error();
  const auto body = std::span<const std::uint8_t>(*frame).subspan(reader.position());
  auto response = protocol::decode<protocol::ApiVersionsResponse>(body, version);
  if (response && response->error_code == 0) return response;
  auto v0 = protocol::decode<protocol::ApiVersionsResponse>(body, 0);
  if (v0 && v0->error_code != 0) return v0;
  return response;
}

Status BrokerConnection::negotiate() {
  versions_.clear();
  std::int16_t version = protocol::api_info(protocol::ApiKey::api_versions).max_version;
  auto response = api_versions(version);
  if (response && response->error_code == static_cast<std::int16_t>(protocol::ErrorCode::unsupported_version)) {
    // The answer names the ApiVersions versions the broker speaks: ask again with its highest.
    std::optional<std::int16_t> theirs;
    for (const auto& key : response->api_keys) {
      if (key.api_key == static_cast<std::int16_t>(protocol::ApiKey::api_versions)) theirs = key.max_version;
    }
    version = theirs && *theirs < version ? *theirs : 0;
    response = api_versions(version);
  }
  if (!response) return response.error();
  if (response->error_code != 0) {
    return make_error(Errc::refused,
                      fmt::format("{}: ApiVersions v{} failed: {}", address_.to_string(), version,
                                  protocol::error_name(static_cast<protocol::ErrorCode>(response->error_code))));
  }
  for (const auto& key : response->api_keys) {
    // A peer's answer is input: a range that is upside down is refused, not asserted.
    if (key.min_version > key.max_version) {
      versions_.clear();
      return make_error(Errc::corrupt, fmt::format("{}: ApiVersions lists api {} from v{} to v{}", address_.to_string(),
                                                   key.api_key, key.min_version, key.max_version));
    }
    versions_[key.api_key] = {key.min_version, key.max_version};
  }
  return {};
}

std::optional<std::int16_t> BrokerConnection::version_for(protocol::ApiKey key, std::int16_t client_max) const {
  auto it = versions_.find(static_cast<std::int16_t>(key));
  if (it == versions_.end()) return std::nullopt;
  const auto [min, max] = it->second;
  const std::int16_t ours = std::min(client_max, protocol::api_info(key).max_version);
  if (ours < min || ours < protocol::api_info(key).min_version) return std::nullopt;
  return std::min(ours, max);
}

Result<std::shared_ptr<PendingResponse>> BrokerConnection::start(std::int16_t api_key, std::int16_t version,
                                                                  const protocol::Bytes& body, bool expect_response) {
  protocol::Writer frame = begin_frame(api_key, version, body.size());
  frame.write_raw(body);
  return start_frame(std::move(frame), expect_response);
}

protocol::Writer BrokerConnection::begin_frame(std::int16_t api_key, std::int16_t version, std::size_t reserve) const {
  protocol::RequestHeader header;
  header.api_key = api_key;
  header.api_version = version;
  header.correlation_id = 0;  // start_frame numbers the request under the write lock
  header.client_id = client_id_;
  protocol::Writer w;
  w.reserve(protocol::frame_size_bytes + request_header_fixed_bytes + client_id_.size() + 1 + reserve);
  w.write_int32(0);
  protocol::encode_request_header(w, header);
  return w;
}

Result<std::shared_ptr<PendingResponse>> BrokerConnection::start_frame(protocol::Writer frame, bool expect_response) {
  KEEL_ASSERT_GE(frame.size(), protocol::frame_size_bytes + request_header_fixed_bytes);
  if (!usable()) return make_error(Errc::closed, fmt::format("no connection to {}", address_.to_string()));
  auto shared = shared_;
  if (shared->pending.size() >= connection_pending_max) {
    return make_error(Errc::invalid_argument, fmt::format("{}: {} requests already wait for responses",
                                                          address_.to_string(), shared->pending.size()));
  }
  auto pending = std::make_shared<PendingResponse>();
  Mutex::Guard guard(shared->write_lock);
  if (shared->broken) return make_error(Errc::closed, fmt::format("connection to {} broke", address_.to_string()));
  pending->correlation_id = shared->next_correlation_id++;
  frame.patch_int32(correlation_id_position, pending->correlation_id);
  frame.patch_int32(0, static_cast<std::int32_t>(frame.size() - protocol::frame_size_bytes));
  pending->deadline = rt_.now() + request_timeout_;
  pending->owner = shared;
  if (expect_response) shared->push_pending(pending);
  if (auto st = protocol::write_frame(shared->connection, frame.data(), pending->deadline); !st) {
    shared->fail_all(st.error());
    return st.error();
  }
  if (!expect_response) pending->frame = protocol::Bytes();
  return pending;
}

Result<protocol::Bytes> BrokerConnection::await_frame(const std::shared_ptr<PendingResponse>& pending) {
  if (!pending->done.wait(pending->deadline) && pending->owner.lock() == shared_ && shared_) {
    // Still the connection the request went out on (a closed one has failed it already).
    auto shared = shared_;
    shared->fail_all(Error{Errc::timed_out, fmt::format("request {} to {} timed out", pending->correlation_id,
                                                        shared->address.to_string())});
  }
  return std::move(pending->frame);
}

}  // namespace keel::rpc
