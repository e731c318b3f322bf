#pragma once
// One client connection: read a request frame, dispatch it, write the response, in order. Requests
// may be pipelined by the client; they are served one at a time, so responses go back in request
// order (as Kafka does by muting a channel while its request is in flight). A malformed frame, an
// unknown API or an unsupported version closes this connection only; the broker serves on.
#include <cstdint>

#include "broker/platform/network.h"

namespace keel::kafka {

struct BrokerServices;

void serve_connection(BrokerServices& broker, Connection connection, std::uint64_t connection_id);

}  // namespace keel::kafka
