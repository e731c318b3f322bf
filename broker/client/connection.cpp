#include "broker/client/connection.h"

#include <fmt/format.h>

namespace keel::client {

struct BrokerConnection::Pending {
  std::int32_t correlation_id = 0;
  Event done;
  Result<protocol::Bytes> frame = make_error(Errc::cancelled, "no response yet");
};

// What the reader task and the connection share; the reader holds it alive while it runs.
struct BrokerConnection::Shared {
  Connection connection;
  Mutex write_lock;  // a frame is written whole, and queued in the order it is written
  std::deque<std::shared_ptr<Pending>> pending;
  std::int32_t next_correlation_id = 1;
  bool broken = false;
  TaskRef reader;

  void fail_all(const Error& error) {
    broken = true;
    connection.close();
    for (auto& p : pending) {
      p->frame = error;
      p->done.set();
    }
    pending.clear();
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

Status BrokerConnection::open() {
  close();
  auto connection = rt_.net().connect(address_, request_timeout_);
  if (!connection) return connection.error();
  shared_ = std::make_shared<Shared>();
  shared_->connection = std::move(*connection);
  auto shared = shared_;
  shared_->reader = rt_.spawn(fmt::format("client-reader-{}", address_.to_string()), [shared] {
    while (!shared->broken) {
      auto frame = protocol::read_frame(shared->connection, 1 << 30, instant_max);
      if (!frame) {
        shared->fail_all(frame.error());
        return;
      }
      if (shared->pending.empty()) {
        shared->fail_all(Error{Errc::corrupt, "a response arrived with no request waiting"});
        return;
      }
      auto next = shared->pending.front();
      shared->pending.pop_front();
      protocol::Reader reader(*frame);
      const std::int32_t correlation = reader.read_int32();
      if (!reader.ok() || correlation != next->correlation_id) {
        next->frame = make_error(Errc::corrupt, fmt::format("response correlation id {} where {} was expected",
                                                            correlation, next->correlation_id));
        next->done.set();
        shared->fail_all(Error{Errc::corrupt, "responses out of order"});
        return;
      }
      next->frame = std::move(*frame);
      next->done.set();
    }
  });
  return negotiate();
}

Status BrokerConnection::negotiate() {
  versions_.clear();
  protocol::ApiVersionsRequest request;
  request.client_software_name = "keel-client";
  request.client_software_version = "1.0";
  auto response = call<protocol::ApiVersionsResponse>(request, 3);
  if (response && response->error_code != 0) response = call<protocol::ApiVersionsResponse>(request, 0);
  if (!response) return response.error();
  if (response->error_code != 0) {
    return make_error(Errc::refused, fmt::format("{}: ApiVersions failed with error {}", address_.to_string(),
                                                 response->error_code));
  }
  for (const auto& key : response->api_keys) versions_[key.api_key] = {key.min_version, key.max_version};
  return {};
}

std::optional<std::int16_t> BrokerConnection::version_for(protocol::ApiKey key, std::int16_t client_max) const {
  auto it = versions_.find(static_cast<std::int16_t>(key));
  if (it == versions_.end()) return std::nullopt;
  const auto [min, max] = it->second;
  const std::int16_t ours = std::min(client_max, protocol::api_info(key).max_version);
  if (ours < min) return std::nullopt;
  return std::min(ours, max);
}

Result<protocol::Bytes> BrokerConnection::exchange(std::int16_t api_key, std::int16_t version,
                                                   const protocol::Bytes& body, bool expect_response) {
  if (!usable()) return make_error(Errc::closed, fmt::format("no connection to {}", address_.to_string()));
  auto shared = shared_;
  auto pending = std::make_shared<Pending>();
  {
    Mutex::Guard guard(shared->write_lock);
    if (shared->broken) return make_error(Errc::closed, fmt::format("connection to {} broke", address_.to_string()));
    protocol::RequestHeader header;
    header.api_key = api_key;
    header.api_version = version;
    header.correlation_id = shared->next_correlation_id++;
    header.client_id = client_id_;
    protocol::Writer w;
    w.write_int32(0);
    protocol::encode_request_header(w, header);
    w.write_raw(body);
    w.patch_int32(0, static_cast<std::int32_t>(w.size() - protocol::frame_size_bytes));
    pending->correlation_id = header.correlation_id;
    if (expect_response) shared->pending.push_back(pending);
    if (auto st = protocol::write_frame(shared->connection, w.data(), rt_.now() + request_timeout_); !st) {
      shared->fail_all(st.error());
      return st.error();
    }
  }
  if (!expect_response) return protocol::Bytes();
  if (!pending->done.wait(rt_.now() + request_timeout_)) {
    // The response order of this connection is lost with the timed-out request: start over.
    shared->fail_all(Error{Errc::timed_out, fmt::format("request to {} timed out", address_.to_string())});
  }
  return std::move(pending->frame);
}

}  // namespace keel::client
