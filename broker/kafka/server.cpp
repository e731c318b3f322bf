#include "broker/kafka/server.h"

#include <fmt/format.h>

#include <memory>

#include "broker/base/assert.h"
#include "broker/kafka/connection.h"
#include "broker/platform/sync.h"

namespace keel::kafka {

const config::Endpoint& BrokerServices::advertised() const {
  KEEL_ASSERT(!config.advertised_listeners.empty());
  return config.advertised_listeners.front();
}

KafkaServer::KafkaServer(BrokerServices services) : services_(std::move(services)) {}

KafkaServer::~KafkaServer() { stop(); }

void KafkaServer::track(TaskRef task) {
  auto& executor = services_.rt.executor();
  std::erase_if(tasks_, [&](TaskRef t) { return !executor.alive(t); });
  tasks_.push_back(task);
}

void KafkaServer::cancel_tasks() {
  auto& executor = services_.rt.executor();
  const TaskRef self = Executor::current_task();
  // Newest first, as the executor cancels a node's tasks.
  for (auto it = tasks_.rbegin(); it != tasks_.rend(); ++it) {
    if (it->id != self.id && executor.alive(*it)) executor.cancel(*it);
  }
  tasks_.clear();
}

Status KafkaServer::bind() {
  KEEL_ASSERT(listeners_.empty());
  for (const auto& endpoint : services_.config.listeners) {
    const std::string host = endpoint.host.empty() ? std::string("0.0.0.0") : endpoint.host;
    auto listener = services_.rt.net().listen(Address{host, endpoint.port});
    if (!listener) {
      return make_error(listener.error().code, fmt::format("listener {}://{}:{}: {}", endpoint.listener_name, host,
                                                           endpoint.port, listener.error().message));
    }
    bound_.push_back(listener->local());
    listeners_.push_back(std::move(*listener));
  }
  return {};
}

void KafkaServer::serve() {
  KEEL_ASSERT(!listeners_.empty());
  WaitGroup group;
  for (auto& listener : listeners_) {
    group.add(1);
    track(services_.rt.spawn("accept", [this, &listener, &group] {
      accept_loop(listener);
      group.done();
    }));
  }
  group.wait();
}

void KafkaServer::accept_loop(Listener& listener) {
  Runtime& rt = services_.rt;
  while (true) {
    auto connection = listener.accept();
    if (!connection) {
      rt.trace("AcceptFailed", Severity::warn).detail("Error", connection.error().message);
      if (!listener.is_open()) return;
      rt.sleep_for(std::chrono::milliseconds(10));
      continue;
    }
    const std::uint64_t id = ++connections_accepted_;
    // std::function needs a copyable callable; the connection moves in through a shared_ptr.
    auto shared = std::make_shared<Connection>(std::move(*connection));
    track(rt.spawn(fmt::format("connection-{}", id), [this, id, shared] {
      serve_connection(services_, std::move(*shared), id);
    }));
  }
}

void KafkaServer::stop() {
  cancel_tasks();
  for (auto& listener : listeners_) listener.close();
  listeners_.clear();
}

}  // namespace keel::kafka
