#pragma once
// The Kafka front end of one node: its listeners, a task per client connection, and the handlers
// (one file per API) that answer requests through the node's services.
//
//   KafkaServer server(services);
//   server.bind();    // every listener in config.listeners (port 0 picks a free port)
//   server.serve();   // accepts until cancelled
#include <cstdint>
#include <vector>

#include "broker/base/result.h"
#include "broker/kafka/services.h"
#include "broker/platform/network.h"
#include "broker/platform/task.h"

namespace keel::kafka {

class KafkaServer {
 public:
  explicit KafkaServer(BrokerServices services);
  ~KafkaServer();
  KafkaServer(const KafkaServer&) = delete;
  KafkaServer& operator=(const KafkaServer&) = delete;

  // Binds every listener; an error names the listener (a port in use, a bad host).
  Status bind();
  // Accepts connections on every listener until cancelled. Each connection gets its own task.
  void serve();
  // Closes the listeners and ends the connections.
  void stop();

  // Where listeners were actually bound.
  const std::vector<Address>& bound() const { return bound_; }
  BrokerServices& services() { return services_; }

 private:
  void accept_loop(Listener& listener);
  void track(TaskRef task);
  void cancel_tasks();

  BrokerServices services_;
  std::vector<Listener> listeners_;
  std::vector<Address> bound_;
  std::uint64_t connections_accepted_ = 0;
  std::vector<TaskRef> tasks_;
};

}  // namespace keel::kafka
