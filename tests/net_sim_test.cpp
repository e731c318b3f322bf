// The simulated network's model, one promise per test: ordered streams, latency, refused and
// timed-out connects, partitions that hold traffic (and reset it when held too long), one-way
// blocks, clogs, process kills, power loss, random resets, send-buffer backpressure, and
// determinism of the trace. Network calls run inside tasks of the nodes' processes and record what
// they saw; the checks run outside (Catch2's REQUIRE throws, and a task must not throw).
#include "net-sim/network.h"
#include "sim/node.h"
#include "sim/world.h"
#include "tests/support/bytes.h"
#include "tests/support/sim_world.h"

#include <catch2/catch.hpp>

#include <array>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace {

using namespace keel;
using namespace keel::sim;
using keel::net_sim::NetworkOptions;
using keel::net_sim::SimNetwork;
using keel::test::byte_span;

constexpr std::uint16_t kPort = 9000;
const Address kServer{"n1", kPort};  // node 1; node 0 is the client

// A recognisable stream: byte i of it, whatever the chunking.
std::string pattern(std::size_t offset, std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>(((offset + i) * 131 + (offset + i) / 251) & 0xff);
  return s;
}

// What one end of a connection saw; written by tasks, read by the test.
struct Seen {
  std::string received;
  bool ended = false;                // reading stopped: end of stream or an error
  bool eof = false;
  std::optional<Errc> error;
  Instant ended_at{};                // world time
  std::optional<Instant> first_byte_at;
};

// A world of `nodes` machines ("n0", "n1", ...) with clocks that do not drift, so that durations
// measured inside a task equal world durations.
class Rig {
 public:
  explicit Rig(std::uint64_t seed = 1, NetworkOptions net = {}, int nodes = 2) : world_(test::world_options(seed)) {
    NodeOptions o;
    o.clock_drift_max = 0;
    test::add_nodes(world_, nodes, o);
    world_.net().set_options(net);
  }

  void start(int node, ProcessMain main) {
    SimNode& n = world_.node(node);
    n.set_main(std::move(main));
    n.start();
  }
  // Runs the world until `done()` holds or `limit` of simulated time passes; true when done.
  bool run_until(const std::function<bool()>& done, Duration limit = 60s) {
    return world_.run_while([&] { return !done(); }, world_.now() + limit);
  }
  void run_for(Duration d) { world_.run_for(d); }
  World& world() { return world_; }
  SimNetwork& net() { return world_.net(); }
  Instant now() const { return world_.now(); }

 private:
  World world_;
};

// ---- task bodies: they record what they see and never throw ----

void read_all(World& w, Connection& c, Seen& seen, Instant deadline = instant_max) {
  std::vector<std::byte> buf(4096);
  for (;;) {
    auto n = c.read(buf, deadline);
    if (!n) {
      seen.error = n.code();
      break;
    }
    if (*n == 0) {
      seen.eof = true;
      break;
    }
    if (!seen.first_byte_at) seen.first_byte_at = w.now();
    seen.received.append(reinterpret_cast<const char*>(buf.data()), *n);
  }
  seen.ended = true;
  seen.ended_at = w.now();
}

void echo(Connection& c) {
  std::vector<std::byte> buf(4096);
  for (;;) {
    auto n = c.read(buf);
    if (!n || *n == 0) return;
    if (!c.write(std::span(buf).first(*n))) return;
  }
}

// Echoes every connection accepted on kPort, each in its own task.
void echo_server(Runtime& rt) {
  auto listener = rt.net().listen(Address{"", kPort});
  KEEL_ASSERT(listener.ok());
  for (;;) {
    auto c = listener->accept();
    if (!c) return;
    rt.spawn("echo", [conn = std::make_shared<Connection>(std::move(*c))] { echo(*conn); });
  }
}

using ConnBody = std::function<void(Runtime&, std::shared_ptr<Connection>)>;

// Node 1 listens on kPort and runs `server` on the first connection it accepts; node 0 connects
// and runs `client` on its end. Returns once both ends exist.
void connect_pair(Rig& rig, ConnBody server, ConnBody client) {
  rig.start(1, [server](Runtime& rt) {
    auto listener = rt.net().listen(Address{"n1", kPort});
    KEEL_ASSERT(listener.ok());
    auto c = listener->accept();
    KEEL_ASSERT(c.ok());
    server(rt, std::make_shared<Connection>(std::move(*c)));
  });
  rig.run_for(1ms);
  bool connected = false;
  rig.start(0, [client, &connected](Runtime& rt) {
    auto c = rt.net().connect(kServer, 1s);
    KEEL_ASSERT_MSG(c.ok(), "connect: {}", c.ok() ? "" : c.error().message);
    connected = true;
    client(rt, std::make_shared<Connection>(std::move(*c)));
  });
  REQUIRE(rig.run_until([&] { return connected; }, 1s));
}

// Writes `total` bytes of pattern() in chunks of random sizes.
Status write_pattern(Runtime& rt, Connection& c, std::size_t total, std::size_t chunk_max = 5000) {
  std::size_t sent = 0;
  while (sent < total) {
    const std::size_t n = std::min<std::size_t>(total - sent, 1 + rt.random().below(chunk_max));
    if (auto st = c.write(byte_span(pattern(sent, n))); !st) return st;
    sent += n;
  }
  return {};
}

// A client that echoes `total` bytes through node 1 and records what comes back.
void echo_client(Rig& rig, std::size_t total, Seen& seen) {
  rig.start(1, echo_server);
  rig.run_for(1ms);
  rig.start(0, [&rig, &seen, total](Runtime& rt) {
    auto c = rt.net().connect(kServer, 1s);
    if (!c) {
      seen.error = c.code();
      seen.ended = true;
      return;
    }
    auto conn = std::make_shared<Connection>(std::move(*c));
    rt.spawn("writer", [&rt, conn, total] { (void)write_pattern(rt, *conn, total); });
    std::vector<std::byte> buf(4096);
    while (seen.received.size() < total) {
      auto n = conn->read(buf);
      if (!n || *n == 0) break;
      seen.received.append(reinterpret_cast<const char*>(buf.data()), *n);
    }
    seen.ended = true;
    seen.ended_at = rig.world().now();
    conn->close();
  });
}

// ---- streams ----

TEST_CASE("net: many writes of random sizes come back through an echo server complete and in order", "[sim][net]") {
  Seen seen;
  Rig rig(3);
  constexpr std::size_t total = 400'000;
  echo_client(rig, total, seen);
  REQUIRE(rig.run_until([&] { return seen.ended; }));
  CHECK_FALSE(seen.error.has_value());
  REQUIRE(seen.received.size() == total);
  CHECK(seen.received == pattern(0, total));
  CHECK(rig.net().stats().segments > 100);  // the stream really went out in many segments
  CHECK(rig.net().stats().resets == 0);
}

TEST_CASE("net: a round trip takes at least twice the minimum one-way latency", "[sim][net]") {
  NetworkOptions o;
  o.latency_min = 1ms;
  o.latency_max = 3ms;
  Rig rig(5, o);
  std::optional<Duration> rtt;
  connect_pair(
      rig, [](Runtime&, std::shared_ptr<Connection> c) { echo(*c); },
      [&rig, &rtt](Runtime&, std::shared_ptr<Connection> c) {
        std::array<std::byte, 1> b{std::byte{42}};
        const Instant t0 = rig.world().now();
        if (c->write(b) && c->read_exact(b)) rtt = rig.world().now() - t0;
      });
  REQUIRE(rig.run_until([&] { return rtt.has_value(); }));
  CHECK(*rtt >= 2ms);
  CHECK(*rtt <= 6ms);
}

TEST_CASE("net: the peer reads everything written before an orderly close, then end of stream", "[sim][net]") {
  Seen server_seen;
  Rig rig;
  connect_pair(
      rig, [&rig, &server_seen](Runtime&, std::shared_ptr<Connection> c) { read_all(rig.world(), *c, server_seen); },
      [](Runtime&, std::shared_ptr<Connection> c) {
        (void)c->write(byte_span("hello, "));
        (void)c->write(byte_span("world"));
        c->close();
      });
  REQUIRE(rig.run_until([&] { return server_seen.ended; }));
  CHECK(server_seen.received == "hello, world");
  CHECK(server_seen.eof);
  CHECK_FALSE(server_seen.error.has_value());
  rig.run_for(10ms);  // the server task has returned and dropped its end too
  CHECK(rig.net().connection_count() == 0);
}

TEST_CASE("net: closing a handle wakes another task of the node blocked on it with closed", "[sim][net]") {
  Seen seen;
  Rig rig;
  connect_pair(
      rig, [](Runtime& rt, std::shared_ptr<Connection>) { rt.sleep_for(1h); },
      [&rig, &seen](Runtime& rt, std::shared_ptr<Connection> c) {
        rt.spawn("reader", [&rig, &seen, c] { read_all(rig.world(), *c, seen); });
        rt.sleep_for(5ms);
        c->close();
      });
  REQUIRE(rig.run_until([&] { return seen.ended; }, 1s));
  REQUIRE(seen.error.has_value());
  CHECK(*seen.error == Errc::closed);
}

// ---- listen and connect ----

TEST_CASE("net: connect is refused when nobody listens on the port", "[sim][net]") {
  Rig rig;
  std::optional<Errc> result;
  std::optional<Errc> unknown_host;
  rig.start(1, [](Runtime& rt) { rt.sleep_for(1h); });  // up, but not listening
  rig.start(0, [&](Runtime& rt) {
    result = rt.net().connect(kServer, 1s).code();
    unknown_host = rt.net().connect(Address{"nowhere", kPort}, 1s).code();
  });
  REQUIRE(rig.run_until([&] { return unknown_host.has_value(); }, 2s));
  CHECK(*result == Errc::refused);
  CHECK(*unknown_host == Errc::not_found);
  CHECK(rig.net().stats().refused == 1);
  CHECK(rig.net().stats().established == 0);
}

TEST_CASE("net: listen takes only its own host, refuses a taken port, and picks distinct free ports", "[sim][net]") {
  Rig rig;
  std::vector<Errc> codes;
  std::vector<std::uint16_t> ports;
  bool done = false;
  rig.start(0, [&](Runtime& rt) {
    auto a = rt.net().listen(Address{"n0", kPort});
    codes.push_back(a.code());
    codes.push_back(rt.net().listen(Address{"0.0.0.0", kPort}).code());
    codes.push_back(rt.net().listen(Address{"n1", kPort + 1}).code());
    auto e1 = rt.net().listen(Address{"", 0});
    auto e2 = rt.net().listen(Address{"", 0});
    if (e1 && e2) ports = {e1->local().port, e2->local().port};
    a->close();
    codes.push_back(rt.net().listen(Address{"n0", kPort}).code());  // free again once closed
    done = true;
  });
  REQUIRE(rig.run_until([&] { return done; }, 1s));
  CHECK(codes == std::vector<Errc>{Errc::ok, Errc::address_in_use, Errc::invalid_argument, Errc::ok});
  REQUIRE(ports.size() == 2);
  CHECK(ports[0] != 0);
  CHECK(ports[1] != 0);
  CHECK(ports[0] != ports[1]);
}

// ---- partitions ----

TEST_CASE("net: a partition holds traffic, and heal_all delivers all of it in order", "[sim][net]") {
  Seen server_seen;
  Event go;
  bool written = false;
  Rig rig;
  constexpr std::size_t total = 50'000;
  connect_pair(
      rig, [&rig, &server_seen](Runtime&, std::shared_ptr<Connection> c) { read_all(rig.world(), *c, server_seen); },
      [&](Runtime& rt, std::shared_ptr<Connection> c) {
        go.wait();
        written = write_pattern(rt, *c, total).ok();
      });
  rig.net().partition({0}, {1});
  go.set();
  rig.run_for(5s);  // well below partition_reset_timeout (10s)
  CHECK(written);
  CHECK(server_seen.received.empty());
  CHECK_FALSE(server_seen.ended);

  rig.net().heal_all();
  REQUIRE(rig.run_until([&] { return server_seen.ended; }, 1s));
  CHECK(server_seen.received == pattern(0, total));
  CHECK(server_seen.eof);  // the client's task returned and closed: the FIN came last, in order
  CHECK(rig.net().stats().resets == 0);
}

TEST_CASE("net: traffic held longer than partition_reset_timeout resets both ends", "[sim][net]") {
  NetworkOptions o;
  o.partition_reset_timeout = 2s;
  Seen server_seen;
  Seen client_seen;
  Event go;
  std::optional<Errc> late_write;
  Rig rig(1, o);
  connect_pair(
      rig, [&rig, &server_seen](Runtime&, std::shared_ptr<Connection> c) { read_all(rig.world(), *c, server_seen); },
      [&](Runtime&, std::shared_ptr<Connection> c) {
        go.wait();
        (void)c->write(byte_span("held"));
        read_all(rig.world(), *c, client_seen);
        late_write = c->write(byte_span("more")).code();
      });
  rig.net().partition({0}, {1});
  const Instant t0 = rig.now();
  go.set();
  REQUIRE(rig.run_until([&] { return server_seen.ended && late_write.has_value(); }, 5s));
  CHECK(server_seen.received.empty());
  CHECK(server_seen.error == Errc::reset);
  CHECK(client_seen.error == Errc::reset);
  CHECK(*late_write == Errc::reset);
  CHECK(server_seen.ended_at - t0 >= 2s);
  CHECK(server_seen.ended_at - t0 < 2100ms);
  CHECK(rig.net().stats().partition_resets == 1);
}

TEST_CASE("net: a partition shorter than the reset timeout resets nothing, even when traffic waits", "[sim][net]") {
  NetworkOptions o;
  o.partition_reset_timeout = 2s;
  Seen server_seen;
  Event go;
  Rig rig(1, o);
  connect_pair(
      rig, [&rig, &server_seen](Runtime&, std::shared_ptr<Connection> c) { read_all(rig.world(), *c, server_seen); },
      [&](Runtime&, std::shared_ptr<Connection> c) {
        go.wait();
        (void)c->write(byte_span("late but whole"));
      });
  rig.net().partition({0}, {1});
  go.set();
  rig.run_for(1900ms);
  rig.net().heal_all();
  rig.run_for(1s);
  CHECK(server_seen.received == "late but whole");
  CHECK(server_seen.eof);
  CHECK_FALSE(server_seen.error.has_value());
  CHECK(rig.net().stats().resets == 0);
}

TEST_CASE("net: a one-way block holds A to B while B to A flows", "[sim][net]") {
  Seen server_seen;
  Seen client_seen;
  Event go;
  Rig rig;
  connect_pair(
      rig,
      [&](Runtime& rt, std::shared_ptr<Connection> c) {
        rt.spawn("reader", [&rig, &server_seen, c] { read_all(rig.world(), *c, server_seen); });
        go.wait();
        (void)c->write(byte_span("from n1"));
        rt.sleep_for(1h);
      },
      [&](Runtime& rt, std::shared_ptr<Connection> c) {
        rt.spawn("reader", [&rig, &client_seen, c] { read_all(rig.world(), *c, client_seen); });
        go.wait();
        (void)c->write(byte_span("from n0"));
        rt.sleep_for(1h);
      });
  rig.net().block(0, 1);
  CHECK(rig.net().blocked(0, 1));
  CHECK_FALSE(rig.net().blocked(1, 0));
  go.set();
  rig.run_for(1s);
  CHECK(client_seen.received == "from n1");
  CHECK(server_seen.received.empty());

  rig.net().unblock(0, 1);
  rig.run_for(10ms);
  CHECK(server_seen.received == "from n0");
  CHECK(rig.net().stats().resets == 0);
}

TEST_CASE("net: a connect across a partition times out and establishes nothing after the heal", "[sim][net]") {
  Rig rig;
  std::optional<Errc> result;
  Instant started{};
  Instant ended{};
  rig.start(1, echo_server);
  rig.run_for(1ms);
  rig.net().isolate(1);
  rig.start(0, [&](Runtime& rt) {
    started = rig.now();
    result = rt.net().connect(kServer, 3s).code();
    ended = rig.now();
  });
  REQUIRE(rig.run_until([&] { return result.has_value(); }, 10s));
  CHECK(*result == Errc::timed_out);
  CHECK(ended - started == 3s);
  rig.net().heal_all();
  rig.run_for(1s);
  CHECK(rig.net().stats().connect_timeouts == 1);
  CHECK(rig.net().stats().established == 0);
  CHECK(rig.net().connection_count() == 0);
}

// ---- clogs ----

TEST_CASE("net: clogging a node delays its traffic until the clog ends", "[sim][net]") {
  Seen server_seen;
  Event go;
  Instant sent_at{};
  Rig rig;
  connect_pair(
      rig, [&rig, &server_seen](Runtime&, std::shared_ptr<Connection> c) { read_all(rig.world(), *c, server_seen); },
      [&](Runtime&, std::shared_ptr<Connection> c) {
        go.wait();
        sent_at = rig.now();
        (void)c->write(byte_span("clogged"));
      });
  rig.net().clog(1, 700ms);
  const Instant clog_end = rig.now() + 700ms;
  go.set();
  REQUIRE(rig.run_until([&] { return server_seen.first_byte_at.has_value(); }, 2s));
  CHECK(*server_seen.first_byte_at >= clog_end);
  CHECK(*server_seen.first_byte_at - clog_end <= 1ms);  // then it travels as usual
  CHECK(server_seen.received == "clogged");
  CHECK(sent_at < clog_end);
}

// ---- process and machine faults ----

TEST_CASE("net: killing a process resets its peers' connections and wakes a blocked reader", "[sim][net]") {
  Seen client_seen;
  Rig rig;
  connect_pair(
      rig, [](Runtime& rt, std::shared_ptr<Connection>) { rt.sleep_for(1h); },
      [&rig, &client_seen](Runtime&, std::shared_ptr<Connection> c) { read_all(rig.world(), *c, client_seen); });
  rig.run_for(100ms);
  CHECK_FALSE(client_seen.ended);
  const Instant killed_at = rig.now();
  rig.world().node(1).kill();
  REQUIRE(rig.run_until([&] { return client_seen.ended; }, 1s));
  REQUIRE(client_seen.error.has_value());
  CHECK(*client_seen.error == Errc::reset);
  CHECK(client_seen.ended_at == killed_at);
  CHECK(rig.net().stats().resets == 1);
  CHECK(rig.net().connection_count() == 0);
}

TEST_CASE("net: a killed process's listener is gone, and a restarted one can listen again", "[sim][net]") {
  Rig rig;
  std::vector<Errc> codes;
  rig.start(1, echo_server);
  rig.run_for(1ms);
  rig.world().node(1).kill();
  rig.start(0, [&](Runtime& rt) {
    codes.push_back(rt.net().connect(kServer, 1s).code());
    rt.sleep_for(100ms);  // meanwhile node 1 restarts
    codes.push_back(rt.net().connect(kServer, 1s).code());
  });
  rig.run_for(50ms);
  rig.start(1, echo_server);
  REQUIRE(rig.run_until([&] { return codes.size() == 2; }, 2s));
  CHECK(codes == std::vector<Errc>{Errc::refused, Errc::ok});
}

TEST_CASE("net: a powered-off peer leaves a read hanging until its deadline, without a reset", "[sim][net]") {
  Seen client_seen;
  Instant deadline_world{};
  Rig rig;
  connect_pair(
      rig, [](Runtime& rt, std::shared_ptr<Connection>) { rt.sleep_for(1h); },
      [&](Runtime& rt, std::shared_ptr<Connection> c) {
        deadline_world = rig.now() + 5s;
        read_all(rig.world(), *c, client_seen, rt.now() + 5s);
      });
  rig.run_for(100ms);
  rig.world().node(1).power_off();
  REQUIRE(rig.run_until([&] { return client_seen.ended; }, 10s));
  REQUIRE(client_seen.error.has_value());
  CHECK(*client_seen.error == Errc::timed_out);
  CHECK(client_seen.ended_at == deadline_world);
  CHECK(rig.net().stats().resets == 0);
}

TEST_CASE("net: writes to a powered-off peer reset after the timeout, or at once when it is back up", "[sim][net]") {
  NetworkOptions o;
  o.partition_reset_timeout = 2s;
  Rig rig(1, o);
  std::optional<Errc> held_result;
  std::optional<Errc> rebooted_result;
  Instant down_at{};
  Instant held_ended{};
  Event go;
  rig.start(1, echo_server);
  rig.run_for(1ms);
  rig.start(0, [&](Runtime& rt) {
    auto a = rt.net().connect(kServer, 1s);
    auto b = rt.net().connect(kServer, 1s);
    if (!a || !b) return;
    go.wait();
    (void)a->write(byte_span("into the void"));
    std::array<std::byte, 1> buf{};
    held_result = a->read(buf).code();
    held_ended = rig.now();
    go.reset();
    go.wait();  // node 1 is back up
    (void)b->write(byte_span("hello again"));
    rebooted_result = b->read(buf).code();
  });
  rig.run_for(100ms);
  down_at = rig.now();
  rig.world().node(1).power_off();
  go.set();
  REQUIRE(rig.run_until([&] { return held_result.has_value(); }, 10s));
  CHECK(*held_result == Errc::reset);
  CHECK(held_ended - down_at >= 2s);
  CHECK(rig.net().stats().partition_resets == 1);

  rig.world().node(1).set_main(echo_server);
  rig.world().node(1).power_on_and_start();
  go.set();
  REQUIRE(rig.run_until([&] { return rebooted_result.has_value(); }, 1s));
  CHECK(*rebooted_result == Errc::reset);
  CHECK(rig.net().stats().partition_resets == 1);  // this one was the rebooted kernel's RST
}

TEST_CASE("net: a connect whose process is killed before the answer establishes nothing", "[sim][net]") {
  NetworkOptions o;
  o.latency_min = 10ms;
  o.latency_max = 10ms;
  Rig rig(1, o);
  std::optional<Errc> accepted;
  rig.start(1, [&](Runtime& rt) {
    auto listener = rt.net().listen(Address{"", kPort});
    if (listener) accepted = listener->accept(rt.now() + 100ms).code();
  });
  rig.run_for(1ms);
  rig.start(0, [](Runtime& rt) { (void)rt.net().connect(kServer, 1s); });
  rig.run_for(5ms);
  rig.world().node(0).kill();
  REQUIRE(rig.run_until([&] { return accepted.has_value(); }, 1s));
  CHECK(*accepted == Errc::timed_out);
  CHECK(rig.net().stats().established == 0);
  CHECK(rig.net().connection_count() == 0);
}

TEST_CASE("net: a connection handle that outlives its world reports reset and closes safely", "[sim][net]") {
  std::shared_ptr<Connection> kept;
  {
    Rig rig;
    connect_pair(
        rig, [](Runtime& rt, std::shared_ptr<Connection>) { rt.sleep_for(1h); },
        [&kept](Runtime& rt, std::shared_ptr<Connection> c) {
          kept = c;
          rt.sleep_for(1h);
        });
    rig.run_for(10ms);
  }  // the world kills both processes, then the network goes
  REQUIRE(kept);
  std::array<std::byte, 4> buf{};
  CHECK(kept->read(buf).code() == Errc::reset);
  CHECK(kept->write(buf).code() == Errc::reset);
  kept->close();
  kept.reset();
}

// ---- random faults and limits ----

TEST_CASE("net: with reset_probability 1 a connection resets at its first delivery", "[sim][net]") {
  NetworkOptions o;
  o.reset_probability = 1;
  Seen server_seen;
  Seen client_seen;
  Rig rig(1, o);
  connect_pair(
      rig, [&rig, &server_seen](Runtime&, std::shared_ptr<Connection> c) { read_all(rig.world(), *c, server_seen); },
      [&rig, &client_seen](Runtime&, std::shared_ptr<Connection> c) {
        (void)c->write(byte_span("doomed"));
        read_all(rig.world(), *c, client_seen);
      });
  REQUIRE(rig.run_until([&] { return server_seen.ended && client_seen.ended; }, 1s));
  CHECK(server_seen.received.empty());
  CHECK(server_seen.error == Errc::reset);
  CHECK(client_seen.error == Errc::reset);
  CHECK(rig.net().stats().random_resets == 1);
  CHECK(rig.net().stats().segments == 0);
}

TEST_CASE("net: with connect_refuse_probability 1 every connect is refused although someone listens", "[sim][net]") {
  NetworkOptions o;
  o.connect_refuse_probability = 1;
  Rig rig(1, o);
  std::optional<Errc> result;
  rig.start(1, echo_server);
  rig.run_for(1ms);
  rig.start(0, [&](Runtime& rt) { result = rt.net().connect(kServer, 1s).code(); });
  REQUIRE(rig.run_until([&] { return result.has_value(); }, 2s));
  CHECK(*result == Errc::refused);
}

TEST_CASE("net: a writer waits while the send buffer is full and resumes as the reader drains it", "[sim][net]") {
  NetworkOptions o;
  o.send_buffer_bytes = 1000;
  Seen server_seen;
  std::optional<Errc> short_deadline;
  std::optional<Instant> big_write_done;
  Rig rig(1, o);
  connect_pair(
      rig,
      [&](Runtime& rt, std::shared_ptr<Connection> c) {
        rt.sleep_for(1s);  // nothing is read for a second
        read_all(rig.world(), *c, server_seen);
      },
      [&](Runtime& rt, std::shared_ptr<Connection> c) {
        (void)c->write(byte_span(pattern(0, 1000)));
        short_deadline = c->write(byte_span(pattern(1000, 1)), rt.now() + 100ms).code();
        (void)c->write(byte_span(pattern(1000, 4000)));
        big_write_done = rig.now();
      });
  const Instant t0 = rig.now();
  REQUIRE(rig.run_until([&] { return server_seen.received.size() >= 5000; }, 5s));
  CHECK(*short_deadline == Errc::timed_out);
  REQUIRE(big_write_done.has_value());
  CHECK(*big_write_done - t0 >= 1s);
  CHECK(server_seen.received == pattern(0, 5000));
}

// ---- determinism ----

std::uint64_t echo_trace_hash(std::uint64_t seed) {
  Seen seen;
  NetworkOptions o;
  o.latency_min = 10us;
  o.latency_max = 2ms;
  Rig rig(seed, o);
  echo_client(rig, 30'000, seen);
  const bool done = rig.run_until([&] { return seen.ended; });
  KEEL_ASSERT(done && seen.received == pattern(0, 30'000));
  return rig.world().trace().hash();
}

TEST_CASE("net: the same seed gives the same trace hash, and different seeds differ", "[sim][net]") {
  const std::uint64_t a = echo_trace_hash(11);
  CHECK(echo_trace_hash(11) == a);
  CHECK(echo_trace_hash(12) != a);
}

}  // namespace
