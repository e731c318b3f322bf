#include "sim/selftest/register.h"

#include "sim/selftest/register_store.h"

#include <array>
#include <map>

namespace keel::sim::selftest {

namespace {

constexpr std::size_t kFrameBytes = 40;
constexpr std::size_t kPeerQueueMax = 64;

enum class MsgType : std::uint32_t { get = 1, put = 2 };

// Request and response share one fixed frame:
// type/status u32 | key u32 | request id u64 | ts u64 | writer u32 | reserved u32 | value u64.
struct Frame {
  std::uint32_t type = 0;  // a MsgType in requests; 0 ok / 1 failed in responses
  std::uint32_t key = 0;
  std::uint64_t request_id = 0;
  Versioned v;

  std::array<std::byte, kFrameBytes> encode() const {
    std::array<std::byte, kFrameBytes> b{};
    put_u32(b.data(), type);
    put_u32(b.data() + 4, key);
    put_u64(b.data() + 8, request_id);
    put_u64(b.data() + 16, v.ts);
    put_u32(b.data() + 24, v.writer);
    put_u64(b.data() + 32, v.value);
    return b;
  }
  static Frame decode(const std::array<std::byte, kFrameBytes>& b) {
    return Frame{get_u32(b.data()), get_u32(b.data() + 4), get_u64(b.data() + 8),
                 Versioned{get_u64(b.data() + 16), get_u32(b.data() + 24), get_u64(b.data() + 32)}};
  }
};

// One quorum phase in flight: the replies gathered so far.
struct Phase {
  std::uint64_t request_id = 0;
  int replies_ok = 0;
  int replies_failed = 0;
  Versioned highest;
  WaitQueue changed;
};

struct PeerRequest {
  Frame frame;
  Instant deadline;
  std::shared_ptr<Phase> phase;
};

struct NodeState {
  NodeState(Runtime& rt, const RegisterOptions& o, OpRecorder& r) : rt(rt), options(o), recorder(r), store(rt, o.compact_after_records) {}
  Runtime& rt;
  const RegisterOptions& options;
  OpRecorder& recorder;
  RegisterStore store;
  std::vector<std::unique_ptr<Channel<PeerRequest>>> peer_queues;
  std::uint64_t next_request_id = 1;
};

Status handle_request(NodeState& s, const Frame& req, Frame* resp) {
  resp->key = req.key;
  resp->request_id = req.request_id;
  if (req.type == static_cast<std::uint32_t>(MsgType::put)) {
    if (auto st = s.store.put(req.key, req.v); !st) return st;
    s.recorder.acknowledged(s.rt.node_id().value, req.key, s.store.get(req.key));
  } else if (req.type != static_cast<std::uint32_t>(MsgType::get)) {
    return make_error(Errc::invalid_argument, fmt::format("unknown request type {}", req.type));
  }
  resp->v = s.store.get(req.key);
  return {};
}

void serve_connection(NodeState& s, Connection conn) {
  std::array<std::byte, kFrameBytes> buf{};
  while (true) {
    if (!conn.read_exact(buf)) return;  // the peer went away; it will reconnect
    const Frame req = Frame::decode(buf);
    Frame resp;
    if (auto st = handle_request(s, req, &resp); !st) {
      resp.type = 1;
      s.rt.trace("RegisterRequestFailed", Severity::warn).detail("error", st.error().message);
    }
    if (!conn.write(resp.encode())) return;
  }
}

void accept_loop(std::shared_ptr<NodeState> s) {
  auto listener = s->rt.net().listen(Address{"", s->options.port});
  KEEL_ASSERT_MSG(listener.ok(), "register listen: {}", listener.ok() ? "" : listener.error().message);
  while (true) {
    auto conn = listener->accept();
    if (!conn) {
      if (conn.code() == Errc::closed) return;
      s->rt.sleep_for(10ms);  // never spin: an error that repeats must not starve the world
      continue;
    }
    s->rt.spawn("serve", [s, c = std::make_shared<Connection>(std::move(*conn))]() mutable {
      serve_connection(*s, std::move(*c));
    });
  }
}

void report(Phase& phase, bool ok, const Versioned& v) {
  if (ok) {
    ++phase.replies_ok;
    if (v.newer_than(phase.highest)) phase.highest = v;
  } else {
    ++phase.replies_failed;
  }
  phase.changed.notify_all();
}

// One long-lived task per peer sends that peer's requests one at a time over one connection,
// reconnecting after a failure.
void peer_loop(std::shared_ptr<NodeState> s, int peer) {
  const Address address{"n" + std::to_string(peer), s->options.port};
  Connection conn;
  std::array<std::byte, kFrameBytes> buf{};
  while (auto req = s->peer_queues[static_cast<std::size_t>(peer)]->recv()) {
    if (s->rt.now() >= req->deadline) continue;  // its phase has given up already
    if (!conn.is_open()) {
      auto c = s->rt.net().connect(address, s->options.connect_timeout);
      if (!c) {
        report(*req->phase, false, {});
        continue;
      }
      conn = std::move(*c);
    }
    bool ok = conn.write(req->frame.encode(), req->deadline).ok() && conn.read_exact(buf, req->deadline).ok();
    Frame resp = Frame::decode(buf);
    ok = ok && resp.request_id == req->frame.request_id;
    if (!ok) conn.close();  // the stream may be mid-frame: start afresh
    report(*req->phase, ok && resp.type == 0, resp.v);
  }
}

// Sends `frame` to every node and waits for a majority of good replies.
bool quorum(NodeState& s, Frame frame, Versioned* highest) {
  auto phase = std::make_shared<Phase>();
  phase->request_id = frame.request_id = s.next_request_id++;
  const Instant deadline = s.rt.now() + s.options.op_timeout;
  const int n = s.options.nodes;
  const int majority = n / 2 + 1;
  for (int peer = 0; peer < n; ++peer) {
    if (!s.peer_queues[static_cast<std::size_t>(peer)]->try_send(PeerRequest{frame, deadline, phase})) {
      ++phase->replies_failed;
    }
  }
  while (phase->replies_ok < majority && phase->replies_failed <= n - majority) {
    if (!phase->changed.wait(deadline)) break;
  }
  *highest = phase->highest;
  return phase->replies_ok >= majority;
}

// ABD: a read asks a majority for the newest version, then writes it back to a majority so no
// later read can see anything older. A write asks for the newest timestamp, then writes above it.
void client_op(NodeState& s, bool is_write, std::uint32_t key) {
  const std::size_t op = s.recorder.invoke(s.rt.node_id().value, is_write, key);
  Versioned highest;
  bool ok = quorum(s, Frame{static_cast<std::uint32_t>(MsgType::get), key, 0, {}}, &highest);
  if (ok) {
    Versioned v = highest;
    if (is_write) {
      v = Versioned{highest.ts + 1, static_cast<std::uint32_t>(s.rt.node_id().value), s.recorder.next_value()};
    }
    s.recorder.set_value(op, v);
    Versioned ignored;
    ok = quorum(s, Frame{static_cast<std::uint32_t>(MsgType::put), key, 0, v}, &ignored);
  }
  s.recorder.complete(op, ok);
}

void client_loop(std::shared_ptr<NodeState> s) {
  while (true) {
    const auto think = Duration(s->rt.random().between(0, s->options.think_time_max.count()));
    s->rt.sleep_for(think);
    const bool is_write = s->rt.random().chance(0.5);
    const auto key = static_cast<std::uint32_t>(s->rt.random().below(s->options.keys));
    client_op(*s, is_write, key);
  }
}

}  // namespace

void run_register_node(Runtime& rt, const RegisterOptions& options, OpRecorder& recorder) {
  auto s = std::make_shared<NodeState>(rt, options, recorder);
  // Recovery retries: a disk fault window may fail it; the data is still there afterwards.
  while (true) {
    auto st = s->store.recover();
    if (st) break;
    rt.trace("RegisterRecoveryFailed", Severity::warn).detail("error", st.error().message);
    s = std::make_shared<NodeState>(rt, options, recorder);
    rt.sleep_for(100ms);
  }
  for (std::uint32_t key = 0; key < options.keys; ++key) {
    recorder.recovered(rt.node_id().value, key, s->store.get(key));
  }
  for (int peer = 0; peer < options.nodes; ++peer) {
    s->peer_queues.push_back(std::make_unique<Channel<PeerRequest>>(kPeerQueueMax));
  }
  rt.spawn("accept", [s] { accept_loop(s); });
  for (int peer = 0; peer < options.nodes; ++peer) {
    rt.spawn("peer-" + std::to_string(peer), [s, peer] { peer_loop(s, peer); });
  }
  for (int c = 0; c < options.clients_per_node; ++c) {
    rt.spawn("client", [s] { client_loop(s); });
  }
}

}  // namespace keel::sim::selftest
