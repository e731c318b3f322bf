// Tests of the production runtime (broker/platform/posix): real epoll, real loopback sockets on
// 127.0.0.1, real files under a mkdtemp directory, real clocks. Catch2 assertions that throw
// (REQUIRE) must not run inside a task: tasks record what they saw, the test checks it after the
// runtime returns. No test sleeps the thread; waits are task sleeps or deadlines, all short.
#include "broker/platform/posix/runtime.h"
#include "tests/support/bytes.h"
#include "tests/support/temp_dir.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

using keel::Address;
using keel::Connection;
using keel::Duration;
using keel::Errc;
using keel::Event;
using keel::File;
using keel::Instant;
using keel::Listener;
using keel::OpenOptions;
using keel::posix::PosixRuntime;
using keel::posix::RunExit;
using keel::test::byte_span;
using keel::test::TempDir;
using keel::test::text_of;
using namespace std::chrono_literals;

// Every test's runtime gives up after this; a test that needs it has hung.
constexpr Duration test_limit = 5s;
constexpr Duration connect_timeout = 1s;


PosixRuntime::Options test_options() {
  PosixRuntime::Options o;
  o.node_id = keel::NodeId{1};
  o.seed = 1;
  o.log_level = keel::Severity::warn;
  return o;
}

PosixRuntime::Options disk_options(const TempDir& dir) {
  auto o = test_options();
  o.data_root = dir.path() + "/data";
  return o;
}

// Sets a flag when destroyed: shows that a cancelled task's stack was unwound.
struct DestructionFlag {
  bool* flag;
  ~DestructionFlag() { *flag = true; }
};

// Publishes the port of a listener that a server task opened on 127.0.0.1 (port 0: the kernel
// picks). The Listener itself stays in the task, so it closes when the task ends or is cancelled.
struct TestServer {
  std::uint16_t port = 0;
  Event ready;

  std::optional<Listener> open(PosixRuntime& rt) {
    auto l = rt.net().listen(Address{"127.0.0.1", 0});
    if (!l) return std::nullopt;
    port = l->local().port;
    ready.set();
    return std::move(*l);
  }
};

}  // namespace

// ---------------------------------------------------------------------------------------------
// Network

TEST_CASE("posix: loopback echo on 127.0.0.1 round-trips many messages in order between tasks", "[posix]") {
  constexpr int messages = 2000;
  std::string expected;
  for (int i = 0; i < messages; ++i) expected += fmt::format("message {} {}\n", i, std::string(i % 97, 'x'));
  std::string received;
  std::string server_error;
  std::string client_error;
  PosixRuntime rt(test_options());
  TestServer server;

  rt.spawn("echo-server", [&] {
    auto listener = server.open(rt);
    if (!listener) return void(server_error = "listen failed");
    auto conn = listener->accept(rt.deadline_after(2s));
    if (!conn) return void(server_error = conn.error().message);
    std::vector<std::byte> buf(4096);
    while (true) {
      auto n = conn->read(buf, rt.deadline_after(2s));
      if (!n) return void(server_error = n.error().message);
      if (*n == 0) return;  // the client closed: done
      auto st = conn->write(std::span(buf.data(), *n));
      if (!st) return void(server_error = st.error().message);
    }
  });
  rt.spawn("echo-client", [&] {
    server.ready.wait();
    auto conn = rt.net().connect(Address{"127.0.0.1", server.port}, connect_timeout);
    if (!conn) return void(client_error = conn.error().message);
    Event reader_done;
    rt.spawn("echo-client-reader", [&] {
      std::vector<std::byte> buf(1000);
      while (received.size() < expected.size()) {
        auto n = conn->read(buf, rt.deadline_after(2s));
        if (!n || *n == 0) break;
        received += text_of(std::span(buf.data(), *n));
      }
      reader_done.set();
    });
    for (int i = 0; i < messages; ++i) {
      auto st = conn->write(byte_span(fmt::format("message {} {}\n", i, std::string(i % 97, 'x'))));
      if (!st) return void(client_error = st.error().message);
    }
    reader_done.wait();
    conn->close();
  });

  REQUIRE(rt.run_until_idle(test_limit) == RunExit::finished);
  CHECK(server_error.empty());
  CHECK(client_error.empty());
  REQUIRE(received.size() == expected.size());
  REQUIRE(received == expected);
  CHECK(rt.open_handles() == 0);
}

TEST_CASE("posix: connect to a closed port on 127.0.0.1 fails with refused", "[posix]") {
  PosixRuntime rt(test_options());
  std::optional<Errc> result;
  std::string message;
  rt.spawn("client", [&] {
    // Find a port nobody listens on: bind one, note it, close it.
    std::uint16_t port = 0;
    {
      auto l = rt.net().listen(Address{"127.0.0.1", 0});
      if (!l) return;
      port = l->local().port;
    }
    auto conn = rt.net().connect(Address{"127.0.0.1", port}, connect_timeout);
    result = conn.code();
    if (!conn) message = conn.error().message;
  });
  REQUIRE(rt.run_until_idle(test_limit) == RunExit::finished);
  REQUIRE(result == Errc::refused);
  CHECK_THAT(message, Catch::Contains("127.0.0.1"));
}

TEST_CASE("posix: connect to localhost reaches a 127.0.0.1 listener and both ends know the addresses", "[posix]") {
  PosixRuntime rt(test_options());
  TestServer server;
  Address accepted_peer, accepted_local, client_peer, client_local;
  rt.spawn("server", [&] {
    auto listener = server.open(rt);
    if (!listener) return;
    auto conn = listener->accept(rt.deadline_after(2s));
    if (!conn) return;
    accepted_peer = conn->peer();
    accepted_local = conn->local();
  });
  rt.spawn("client", [&] {
    server.ready.wait();
    auto conn = rt.net().connect(Address{"localhost", server.port}, connect_timeout);
    if (!conn) return;
    client_peer = conn->peer();
    client_local = conn->local();
  });
  REQUIRE(rt.run_until_idle(test_limit) == RunExit::finished);
  CHECK(client_peer == Address{"127.0.0.1", server.port});
  CHECK(accepted_local == Address{"127.0.0.1", server.port});
  CHECK(accepted_peer == client_local);
  CHECK(client_local.port != 0);
}

TEST_CASE("posix: listen and connect refuse host names other than numeric IPv4 and localhost", "[posix]") {
  PosixRuntime rt(test_options());
  std::optional<Errc> listen_code, connect_code;
  rt.spawn("t", [&] {
    listen_code = rt.net().listen(Address{"example.invalid", 0}).code();
    connect_code = rt.net().connect(Address{"n1", 9092}, connect_timeout).code();
  });
  REQUIRE(rt.run_until_idle(test_limit) == RunExit::finished);
  CHECK(listen_code == Errc::invalid_argument);
  CHECK(connect_code == Errc::invalid_argument);
}

TEST_CASE("posix: a second listener on a port in use fails with address_in_use", "[posix]") {
  PosixRuntime rt(test_options());
  std::optional<Errc> second;
  rt.spawn("t", [&] {
    auto first = rt.net().listen(Address{"127.0.0.1", 0});
    if (!first) return;
    second = rt.net().listen(Address{"127.0.0.1", first->local().port}).code();
  });
  REQUIRE(rt.run_until_idle(test_limit) == RunExit::finished);
  REQUIRE(second == Errc::address_in_use);
}

TEST_CASE("posix: a read past its deadline fails with timed_out no earlier than the deadline", "[posix]") {
  PosixRuntime rt(test_options());
  TestServer server;
  Event client_done;
  std::optional<Errc> result;
  Duration elapsed{};
  rt.spawn("silent-server", [&] {
    auto listener = server.open(rt);
    if (!listener) return;
    auto conn = listener->accept(rt.deadline_after(2s));
    client_done.wait(rt.deadline_after(2s));  // hold the connection open without writing
  });
  rt.spawn("client", [&] {
    server.ready.wait();
    auto conn = rt.net().connect(Address{"127.0.0.1", server.port}, connect_timeout);
    if (!conn) return;
    std::vector<std::byte> buf(16);
    const Instant start = rt.now();
    auto n = conn->read(buf, rt.now() + 30ms);
    elapsed = rt.now() - start;
    result = n.code();
    client_done.set();
  });
  REQUIRE(rt.run_until_idle(test_limit) == RunExit::finished);
  REQUIRE(result == Errc::timed_out);
  CHECK(elapsed >= 30ms);
  CHECK(elapsed < 1s);
}

TEST_CASE("posix: closing a connection wakes a task blocked in read on it with closed", "[posix]") {
  PosixRuntime rt(test_options());
  TestServer server;
  std::optional<Errc> read_result;
  Event reader_done;
  rt.spawn("server", [&] {
    auto listener = server.open(rt);
    if (!listener) return;
    auto conn = listener->accept(rt.deadline_after(2s));
    reader_done.wait(rt.deadline_after(2s));
  });
  rt.spawn("client", [&] {
    server.ready.wait();
    auto conn = rt.net().connect(Address{"127.0.0.1", server.port}, connect_timeout);
    if (!conn) return;
    Connection& c = *conn;
    rt.spawn("blocked-reader", [&] {
      std::vector<std::byte> buf(16);
      read_result = c.read(buf).code();  // no deadline: only the close can end it
      reader_done.set();
    });
    rt.sleep_for(10ms);
    c.close();  // destroys the connection's impl while the reader is suspended inside it
    reader_done.wait();
  });
  REQUIRE(rt.run_until_idle(test_limit) == RunExit::finished);
  REQUIRE(read_result == Errc::closed);
  CHECK(rt.open_handles() == 0);
}

TEST_CASE("posix: closing a listener wakes a task blocked in accept with closed", "[posix]") {
  PosixRuntime rt(test_options());
  TestServer server;
  std::optional<Errc> accept_result;
  Listener* shared = nullptr;  // the acceptor's listener, as another task would reach it
  rt.spawn("acceptor", [&] {
    auto listener = server.open(rt);
    if (!listener) return;
    shared = &*listener;
    accept_result = listener->accept().code();
  });
  rt.spawn("closer", [&] {
    server.ready.wait();
    rt.sleep_for(10ms);
    shared->close();
  });
  REQUIRE(rt.run_until_idle(test_limit) == RunExit::finished);
  REQUIRE(accept_result == Errc::closed);
}

TEST_CASE("posix: a write blocked on a peer that does not read is woken with closed when closed", "[posix]") {
  PosixRuntime rt(test_options());
  TestServer server;
  std::optional<Errc> write_result;
  Event writer_done;
  rt.spawn("lazy-server", [&] {
    auto listener = server.open(rt);
    if (!listener) return;
    auto conn = listener->accept(rt.deadline_after(2s));
    writer_done.wait(rt.deadline_after(2s));  // never reads
  });
  rt.spawn("client", [&] {
    server.ready.wait();
    auto conn = rt.net().connect(Address{"127.0.0.1", server.port}, connect_timeout);
    if (!conn) return;
    Connection& c = *conn;
    rt.spawn("blocked-writer", [&] {
      const std::vector<std::byte> big(64u << 20);  // far more than both socket buffers hold
      write_result = c.write(big).code();
      writer_done.set();
    });
    rt.sleep_for(20ms);
    c.close();
    writer_done.wait();
  });
  REQUIRE(rt.run_until_idle(test_limit) == RunExit::finished);
  REQUIRE(write_result == Errc::closed);
}

TEST_CASE("posix: a write to a peer that does not read fails with timed_out at its deadline", "[posix]") {
  PosixRuntime rt(test_options());
  TestServer server;
  std::optional<Errc> write_result;
  Duration elapsed{};
  Event writer_done;
  rt.spawn("lazy-server", [&] {
    auto listener = server.open(rt);
    if (!listener) return;
    auto conn = listener->accept(rt.deadline_after(2s));
    writer_done.wait(rt.deadline_after(2s));
  });
  rt.spawn("writer", [&] {
    server.ready.wait();
    auto conn = rt.net().connect(Address{"127.0.0.1", server.port}, connect_timeout);
    if (!conn) return;
    const std::vector<std::byte> big(64u << 20);
    const Instant start = rt.now();
    write_result = conn->write(big, start + 50ms).code();
    elapsed = rt.now() - start;
    writer_done.set();
  });
  REQUIRE(rt.run_until_idle(test_limit) == RunExit::finished);
  REQUIRE(write_result == Errc::timed_out);
  CHECK(elapsed >= 50ms);
}

TEST_CASE("posix: writing to a connection the peer has closed fails with reset, without SIGPIPE", "[posix]") {
  PosixRuntime rt(test_options());
  TestServer server;
  Event server_closed;
  std::optional<Errc> write_result;
  int writes_ok = 0;
  rt.spawn("closing-server", [&] {
    auto listener = server.open(rt);
    if (!listener) return;
    auto conn = listener->accept(rt.deadline_after(2s));
    if (conn) conn->close();
    server_closed.set();
  });
  rt.spawn("writer", [&] {
    server.ready.wait();
    auto conn = rt.net().connect(Address{"127.0.0.1", server.port}, connect_timeout);
    if (!conn) return;
    server_closed.wait();
    const std::vector<std::byte> chunk(1024);
    // The first write reaches a closed socket, which answers with RST; a later one reports it.
    for (int i = 0; i < 200; ++i) {
      auto st = conn->write(chunk, rt.deadline_after(1s));
      if (!st) {
        write_result = st.code();
        return;
      }
      ++writes_ok;
      rt.sleep_for(1ms);
    }
  });
  REQUIRE(rt.run_until_idle(test_limit) == RunExit::finished);
  REQUIRE(write_result == Errc::reset);
  CHECK(writes_ok >= 1);
}

TEST_CASE("posix: the peer's orderly close is read as end of stream after all data it sent", "[posix]") {
  PosixRuntime rt(test_options());
  TestServer server;
  std::string received;
  bool saw_eof = false;
  rt.spawn("server", [&] {
    auto listener = server.open(rt);
    if (!listener) return;
    auto conn = listener->accept(rt.deadline_after(2s));
    if (!conn) return;
    (void)conn->write(byte_span("last words"));
    conn->close();
  });
  rt.spawn("client", [&] {
    server.ready.wait();
    auto conn = rt.net().connect(Address{"127.0.0.1", server.port}, connect_timeout);
    if (!conn) return;
    std::vector<std::byte> buf(4);
    while (true) {
      auto n = conn->read(buf, rt.deadline_after(2s));
      if (!n) return;
      if (*n == 0) {
        saw_eof = true;
        return;
      }
      received += text_of(std::span(buf.data(), *n));
    }
  });
  REQUIRE(rt.run_until_idle(test_limit) == RunExit::finished);
  CHECK(received == "last words");
  CHECK(saw_eof);
}

TEST_CASE("posix: closing with unread input still delivers what was sent, then end of stream (no reset)",
          "[posix]") {
  PosixRuntime rt(test_options());
  TestServer server;
  Event request_sent;
  std::string received;
  std::optional<Errc> end;
  rt.spawn("server", [&] {
    auto listener = server.open(rt);
    if (!listener) return;
    auto conn = listener->accept(rt.deadline_after(2s));
    if (!conn) return;
    request_sent.wait(rt.deadline_after(2s));
    rt.sleep_for(5ms);  // let the request land in our receive buffer, unread
    (void)conn->write(byte_span("reply"));
    conn->close();
  });
  rt.spawn("client", [&] {
    server.ready.wait();
    auto conn = rt.net().connect(Address{"127.0.0.1", server.port}, connect_timeout);
    if (!conn) return;
    (void)conn->write(byte_span("a request the server never reads"));
    request_sent.set();
    std::vector<std::byte> buf(64);
    while (true) {
      auto n = conn->read(buf, rt.deadline_after(2s));
      if (!n || *n == 0) {
        end = n.code();
        return;
      }
      received += text_of(std::span(buf.data(), *n));
    }
  });
  REQUIRE(rt.run_until_idle(test_limit) == RunExit::finished);
  CHECK(received == "reply");
  CHECK(end == Errc::ok);
}

// ---------------------------------------------------------------------------------------------
// Disk

TEST_CASE("posix: files under a temp data root support write, read, append, size, truncate, sync and rename",
          "[posix]") {
  TempDir dir("keel-posix-test");
  PosixRuntime rt(disk_options(dir));
  std::vector<std::string> failures;
  std::string read_back, renamed_content;
  std::uint64_t size_after_append = 0, size_after_truncate = 0, append_offset = 0;
  std::optional<bool> old_exists, new_exists;
  auto expect_ok = [&](const keel::Status& st) {
    if (!st) failures.push_back(st.error().message);
  };
  rt.spawn("files", [&] {
    expect_ok(rt.disk().make_dir("topic-0"));
    auto f = rt.disk().open("topic-0/00000.log", OpenOptions{.create = true, .exclusive = true});
    if (!f) return void(failures.push_back(f.error().message));
    expect_ok(f->write_at(0, byte_span("hello, ")));
    auto off = f->append(byte_span("world"));
    if (off) append_offset = *off;
    size_after_append = f->size().value();
    std::vector<std::byte> buf(64);
    auto n = f->read_at(0, buf);
    if (n) read_back = text_of(std::span(buf.data(), *n));
    expect_ok(f->sync());
    expect_ok(f->truncate(5));
    size_after_truncate = f->size().value();
    f->close();
    expect_ok(rt.disk().rename("topic-0/00000.log", "topic-0/00005.log"));
    expect_ok(rt.disk().sync_dir("topic-0"));
    old_exists = rt.disk().exists("topic-0/00000.log").value();
    new_exists = rt.disk().exists("topic-0/00005.log").value();
    auto g = rt.disk().open("topic-0/00005.log", OpenOptions{.read_only = true});
    if (!g) return void(failures.push_back(g.error().message));
    std::vector<std::byte> all(5);
    expect_ok(g->read_exact_at(0, all));
    renamed_content = text_of(all);
    auto past_end = g->read_at(100, all);
    if (!past_end || *past_end != 0) failures.push_back("read past the end did not return 0");
  });
  REQUIRE(rt.run_until_idle(test_limit) == RunExit::finished);
  REQUIRE(failures.empty());
  CHECK(append_offset == 7);
  CHECK(size_after_append == 12);
  CHECK(read_back == "hello, world");
  CHECK(size_after_truncate == 5);
  CHECK(old_exists == false);
  CHECK(new_exists == true);
  CHECK(renamed_content == "hello");
  CHECK(rt.syncs_completed() == 2);
  // The data really is on the real filesystem, under the data root.
  CHECK(std::filesystem::file_size(dir.path() + "/data/topic-0/00005.log") == 5);
}

TEST_CASE("posix: make_dir creates parents, list is sorted, remove deletes files and empty directories",
          "[posix]") {
  TempDir dir("keel-posix-test");
  PosixRuntime rt(disk_options(dir));
  std::vector<std::string> failures;
  std::vector<std::string> names, root_names, after_remove;
  std::optional<Errc> remove_non_empty;
  auto expect_ok = [&](const keel::Status& st) {
    if (!st) failures.push_back(st.error().message);
  };
  rt.spawn("dirs", [&] {
    expect_ok(rt.disk().make_dir("a/b/c"));
    expect_ok(rt.disk().make_dir("a/b/c"));  // present already: fine
    for (const char* name : {"zeta", "alpha", "mid"}) {
      auto f = rt.disk().open(fmt::format("a/{}", name), OpenOptions{.create = true});
      if (!f) failures.push_back(f.error().message);
    }
    expect_ok(rt.disk().sync_dir("a"));
    expect_ok(rt.disk().sync_dir(""));  // the data root itself
    names = rt.disk().list("a").value();
    root_names = rt.disk().list("").value();
    remove_non_empty = rt.disk().remove("a/b").code();
    expect_ok(rt.disk().remove("a/b/c"));
    expect_ok(rt.disk().remove("a/b"));
    expect_ok(rt.disk().remove("a/mid"));
    after_remove = rt.disk().list("a").value();
  });
  REQUIRE(rt.run_until_idle(test_limit) == RunExit::finished);
  REQUIRE(failures.empty());
  CHECK(names == std::vector<std::string>{"alpha", "b", "mid", "zeta"});
  CHECK(root_names == std::vector<std::string>{"a"});
  CHECK(remove_non_empty == Errc::invalid_argument);
  CHECK(after_remove == std::vector<std::string>{"alpha", "zeta"});
}

TEST_CASE("posix: disk errors come back as values: not_found, already_exists, invalid_argument", "[posix]") {
  TempDir dir("keel-posix-test");
  PosixRuntime rt(disk_options(dir));
  std::optional<Errc> open_missing, exclusive_again, remove_missing, rename_missing, list_missing, absolute,
      dotdot, dotdot_rename, write_read_only, open_dir;
  std::string missing_message;
  std::optional<bool> exists_missing;
  rt.spawn("errors", [&] {
    (void)rt.disk().make_dir("d");
    auto missing = rt.disk().open("d/missing.log", OpenOptions{});
    open_missing = missing.code();
    if (!missing) missing_message = missing.error().message;
    {
      auto f = rt.disk().open("d/x.log", OpenOptions{.create = true, .exclusive = true});
    }
    exclusive_again = rt.disk().open("d/x.log", OpenOptions{.create = true, .exclusive = true}).code();
    remove_missing = rt.disk().remove("d/nope").code();
    rename_missing = rt.disk().rename("d/nope", "d/nope2").code();
    list_missing = rt.disk().list("nodir").code();
    exists_missing = rt.disk().exists("d/nope").value();
    absolute = rt.disk().open("/etc/passwd", OpenOptions{.read_only = true}).code();
    dotdot = rt.disk().open("d/../../escape", OpenOptions{.create = true}).code();
    dotdot_rename = rt.disk().rename("d/x.log", "..").code();
    auto ro = rt.disk().open("d/x.log", OpenOptions{.read_only = true});
    if (ro) write_read_only = ro->write_at(0, byte_span("no")).code();
    open_dir = rt.disk().open("d", OpenOptions{.read_only = true}).code();
  });
  REQUIRE(rt.run_until_idle(test_limit) == RunExit::finished);
  CHECK(open_missing == Errc::not_found);
  CHECK_THAT(missing_message, Catch::Contains("d/missing.log") && Catch::Contains("No such file"));
  CHECK(exclusive_again == Errc::already_exists);
  CHECK(remove_missing == Errc::not_found);
  CHECK(rename_missing == Errc::not_found);
  CHECK(list_missing == Errc::not_found);
  CHECK(exists_missing == false);
  CHECK(absolute == Errc::invalid_argument);
  CHECK(dotdot == Errc::invalid_argument);
  CHECK(dotdot_rename == Errc::invalid_argument);
  CHECK(write_read_only == Errc::invalid_argument);
  CHECK(open_dir == Errc::invalid_argument);
  CHECK_FALSE(std::filesystem::exists(dir.path() + "/escape"));
}

TEST_CASE("posix: a task in fdatasync is suspended on the helper thread while another task keeps running",
          "[posix]") {
  TempDir dir("keel-posix-test");
  PosixRuntime rt(disk_options(dir));
  int ticks = 0;
  int ticks_at_sync_start = -1;
  int ticks_at_sync_end = -1;
  bool sync_done = false;
  std::string error;
  rt.spawn("syncer", [&] {
    DestructionFlag finished{&sync_done};  // the ticker stops on every way out
    (void)rt.disk().make_dir("");          // the data root does not exist until made
    auto f = rt.disk().open("big.log", OpenOptions{.create = true});
    if (!f) return void(error = f.error().message);
    const std::vector<std::byte> chunk(1u << 20, std::byte{0x5a});
    for (int i = 0; i < 8; ++i) (void)f->append(chunk);
    ticks_at_sync_start = ticks;
    auto st = f->sync();
    ticks_at_sync_end = ticks;
    if (!st) error = st.error().message;
  });
  rt.spawn("ticker", [&] {
    while (!sync_done) {
      ++ticks;
      rt.executor().yield();
    }
  });
  REQUIRE(rt.run_until_idle(test_limit) == RunExit::finished);
  REQUIRE(error.empty());
  // The ticker ran while the syncer was suspended: the sync did not block the loop thread.
  CHECK(ticks_at_sync_end > ticks_at_sync_start);
  CHECK(rt.syncs_completed() == 1);
}

TEST_CASE("posix: stopping the runtime while a task waits for its sync cancels the task safely", "[posix]") {
  TempDir dir("keel-posix-test");
  bool unwound = false;
  bool sync_returned = false;
  {
    PosixRuntime rt(disk_options(dir));
    rt.spawn("syncer", [&] {
      DestructionFlag flag{&unwound};
      (void)rt.disk().make_dir("");
      auto f = rt.disk().open("s.log", OpenOptions{.create = true});
      if (!f) return;
      (void)f->append(std::vector<std::byte>(1u << 20));
      (void)f->sync();
      sync_returned = true;
    });
    rt.spawn("stopper", [&] { rt.stop(); });
    rt.run();
    CHECK(rt.executor().live_tasks() == 0);
    CHECK(rt.open_handles() == 0);
  }  // the destructor waits for the helper thread's sync to finish before it goes
  CHECK(unwound);
  CHECK_FALSE(sync_returned);
}

// ---------------------------------------------------------------------------------------------
// Timers and scheduling

TEST_CASE("posix: tasks sleeping 30ms, 10ms and 20ms wake in order 10, 20, 30, each after its duration",
          "[posix]") {
  PosixRuntime rt(test_options());
  std::vector<int> order;
  std::vector<Duration> elapsed;
  const Instant start = rt.now();
  for (int ms : {30, 10, 20}) {
    rt.spawn(fmt::format("sleep-{}", ms), [&, ms] {
      const Instant t0 = rt.now();
      rt.sleep_for(std::chrono::milliseconds(ms));
      order.push_back(ms);
      elapsed.push_back(rt.now() - t0);
    });
  }
  REQUIRE(rt.run_until_idle(test_limit) == RunExit::finished);
  REQUIRE(order == std::vector<int>{10, 20, 30});
  CHECK(elapsed[0] >= 10ms);
  CHECK(elapsed[1] >= 20ms);
  CHECK(elapsed[2] >= 30ms);
  CHECK(rt.now() - start < 1s);
}

TEST_CASE("posix: timers due at the same instant fire in the order they were set", "[posix]") {
  PosixRuntime rt(test_options());
  std::vector<int> order;
  const Instant at = rt.now() + 5ms;
  for (int i = 0; i < 5; ++i) {
    rt.spawn(fmt::format("t{}", i), [&, i] {
      rt.sleep_until(at);
      order.push_back(i);
    });
  }
  REQUIRE(rt.run_until_idle(test_limit) == RunExit::finished);
  CHECK(order == std::vector<int>{0, 1, 2, 3, 4});
}

TEST_CASE("posix: ready tasks run in FIFO order and yield lets the others run first", "[posix]") {
  PosixRuntime rt(test_options());
  std::string trace;
  for (char name : {'a', 'b', 'c'}) {
    rt.spawn(std::string(1, name), [&, name] {
      trace += name;
      rt.executor().yield();
      trace += static_cast<char>(name - 'a' + 'A');
    });
  }
  REQUIRE(rt.run_until_idle(test_limit) == RunExit::finished);
  CHECK(trace == "abcABC");
}

TEST_CASE("posix: stale timers of waits that ended early do not pile up or hold run_until_idle", "[posix]") {
  PosixRuntime rt(test_options());
  keel::WaitQueue queue;
  int woken = 0;
  std::size_t timers_seen_max = 0;
  rt.spawn("waiter", [&] {
    for (int i = 0; i < 20000; ++i) {
      if (queue.wait(rt.deadline_after(1h))) ++woken;  // each leaves a timer an hour away
    }
  });
  rt.spawn("notifier", [&] {
    for (int i = 0; i < 20000; ++i) {
      queue.notify_one();
      timers_seen_max = std::max(timers_seen_max, rt.pending_timers());
      rt.executor().yield();
    }
  });
  const Instant start = rt.now();
  REQUIRE(rt.run_until_idle(test_limit) == RunExit::finished);
  CHECK(woken == 20000);
  CHECK(timers_seen_max < 10000);
  CHECK(rt.now() - start < 2s);
}

// ---------------------------------------------------------------------------------------------
// Task primitives under the posix runtime

TEST_CASE("posix: Event wakes every waiter when set, and a wait with a deadline times out unset", "[posix]") {
  PosixRuntime rt(test_options());
  Event ev, never;
  int woken = 0;
  std::optional<bool> timed_wait;
  Duration timed_elapsed{};
  for (int i = 0; i < 3; ++i) {
    rt.spawn("waiter", [&] {
      if (ev.wait()) ++woken;
    });
  }
  rt.spawn("setter", [&] {
    rt.sleep_for(5ms);
    ev.set();
  });
  rt.spawn("timed", [&] {
    const Instant t0 = rt.now();
    timed_wait = never.wait_for(15ms);
    timed_elapsed = rt.now() - t0;
  });
  REQUIRE(rt.run_until_idle(test_limit) == RunExit::finished);
  CHECK(woken == 3);
  CHECK(timed_wait == false);
  CHECK(timed_elapsed >= 15ms);
}

TEST_CASE("posix: Mutex serialises tasks that hold it across sleeps and hands it over in FIFO order",
          "[posix]") {
  PosixRuntime rt(test_options());
  keel::Mutex mutex;
  std::string log;
  int inside = 0, inside_max = 0;
  for (char name : {'a', 'b', 'c', 'd'}) {
    rt.spawn(std::string(1, name), [&, name] {
      keel::Mutex::Guard guard(mutex);
      inside_max = std::max(inside_max, ++inside);
      log += name;
      rt.sleep_for(2ms);
      log += name;
      --inside;
    });
  }
  REQUIRE(rt.run_until_idle(test_limit) == RunExit::finished);
  CHECK(log == "aabbccdd");
  CHECK(inside_max == 1);
  CHECK_FALSE(mutex.locked());
}

TEST_CASE("posix: Channel delivers in order with back-pressure and ends when closed and drained", "[posix]") {
  PosixRuntime rt(test_options());
  keel::Channel<int> ch(2);
  std::vector<int> got;
  std::size_t size_max = 0;
  rt.spawn("producer", [&] {
    for (int i = 0; i < 50; ++i) {
      if (!ch.send(i)) return;
      size_max = std::max(size_max, ch.size());
    }
    ch.close();
  });
  rt.spawn("consumer", [&] {
    while (auto v = ch.recv()) {
      got.push_back(*v);
      if (*v % 10 == 0) rt.sleep_for(1ms);  // a slow consumer: the producer must wait
    }
  });
  REQUIRE(rt.run_until_idle(test_limit) == RunExit::finished);
  REQUIRE(got.size() == 50);
  for (int i = 0; i < 50; ++i) CHECK(got[static_cast<std::size_t>(i)] == i);
  CHECK(size_max <= 2);
}

TEST_CASE("posix: WaitGroup returns once tasks of different durations are all done", "[posix]") {
  PosixRuntime rt(test_options());
  keel::WaitGroup wg;
  int done = 0;
  int done_when_waited = -1;
  wg.add(4);
  for (int ms : {8, 2, 6, 4}) {
    rt.spawn("worker", [&, ms] {
      rt.sleep_for(std::chrono::milliseconds(ms));
      ++done;
      wg.done();
    });
  }
  rt.spawn("waiter", [&] {
    wg.wait();
    done_when_waited = done;
  });
  REQUIRE(rt.run_until_idle(test_limit) == RunExit::finished);
  CHECK(done_when_waited == 4);
}

// ---------------------------------------------------------------------------------------------
// Running, stopping, cancellation

TEST_CASE("posix: stop() from a task cancels a task blocked in read and runs its destructors", "[posix]") {
  bool unwound = false;
  bool read_returned = false;
  bool client_unwound = false;
  PosixRuntime rt(test_options());
  TestServer server;
  rt.spawn("server", [&] {
    auto listener = server.open(rt);
    if (!listener) return;
    auto conn = listener->accept(rt.deadline_after(2s));
    if (!conn) return;
    DestructionFlag flag{&unwound};
    std::vector<std::byte> buf(16);
    (void)conn->read(buf);  // the client never writes: blocked until cancelled
    read_returned = true;
  });
  rt.spawn("client", [&] {
    server.ready.wait();
    auto conn = rt.net().connect(Address{"127.0.0.1", server.port}, connect_timeout);
    DestructionFlag flag{&client_unwound};
    Event never;
    never.wait();
  });
  rt.spawn("stopper", [&] {
    rt.sleep_for(20ms);
    rt.stop();
  });
  rt.run();
  CHECK(unwound);
  CHECK(client_unwound);
  CHECK_FALSE(read_returned);
  CHECK(rt.executor().live_tasks() == 0);
  CHECK(rt.open_handles() == 0);
}

TEST_CASE("posix: run_until_idle returns blocked when tasks wait for an event nobody will set", "[posix]") {
  bool unwound = false;
  {
    PosixRuntime rt(test_options());
    Event never;
    rt.spawn("stuck", [&] {
      DestructionFlag flag{&unwound};
      never.wait();
    });
    REQUIRE(rt.run_until_idle(test_limit) == RunExit::blocked);
    CHECK(rt.executor().live_tasks() == 1);
    CHECK_FALSE(unwound);
  }
  CHECK(unwound);  // the destructor cancelled the task
}

TEST_CASE("posix: run_until_idle keeps running while a task waits in accept, until its limit", "[posix]") {
  bool unwound = false;
  {
    PosixRuntime rt(test_options());
    rt.spawn("acceptor", [&] {
      DestructionFlag flag{&unwound};
      auto l = rt.net().listen(Address{"127.0.0.1", 0});
      if (l) (void)l->accept();  // a connection could come from outside: not idle
    });
    const Instant start = rt.now();
    REQUIRE(rt.run_until_idle(30ms) == RunExit::time_limit);
    CHECK(rt.now() - start >= 30ms);
    CHECK(rt.open_handles() == 1);
  }
  CHECK(unwound);
}

TEST_CASE("posix: request_stop from another thread ends run() and cancels the tasks", "[posix]") {
  PosixRuntime rt(test_options());
  bool unwound = false;
  std::optional<std::thread> stopper;
  rt.spawn("sleeper", [&] {
    DestructionFlag flag{&unwound};
    // The request lands while this task runs or while the loop polls; either way run() returns.
    stopper.emplace([&] { rt.request_stop(); });
    rt.sleep_for(1h);
  });
  rt.run();
  stopper->join();
  CHECK(unwound);
  CHECK(rt.executor().live_tasks() == 0);
}

TEST_CASE("posix: SIGTERM with stop_on_signals ends run() and cancels the tasks", "[posix]") {
  PosixRuntime rt(test_options());
  rt.stop_on_signals();
  bool unwound = false;
  rt.spawn("signaller", [&] {
    DestructionFlag flag{&unwound};
    std::raise(SIGTERM);  // delivered to this thread before raise returns
    rt.sleep_for(1h);
  });
  rt.run();
  CHECK(unwound);
}

TEST_CASE("posix: the runtime can run again after stop, with new tasks", "[posix]") {
  PosixRuntime rt(test_options());
  rt.spawn("stopper", [&] { rt.stop(); });
  rt.run();
  bool ran = false;
  rt.spawn("second", [&] { ran = true; });
  REQUIRE(rt.run_until_idle(test_limit) == RunExit::finished);
  CHECK(ran);
}

// ---------------------------------------------------------------------------------------------
// Clocks, random, trace

TEST_CASE("posix: trace events at or above the level are written as one JSON line each", "[posix]") {
  std::ostringstream out;
  auto options = test_options();
  options.node_id = keel::NodeId{3};
  options.log_level = keel::Severity::info;
  options.trace_stream = &out;
  PosixRuntime rt(options);
  rt.trace("NotShown", keel::Severity::debug).detail("x", 1);
  rt.trace("SegmentRoll").detail("base_offset", 42).detail("reason", "size \"max\"").detail("forced", true);
  rt.trace("DiskSlow", keel::Severity::warn).detail("ms", 250);

  std::vector<nlohmann::json> lines;
  std::istringstream in(out.str());
  for (std::string line; std::getline(in, line);) lines.push_back(nlohmann::json::parse(line));
  REQUIRE(lines.size() == 2);
  CHECK(lines[0]["name"] == "SegmentRoll");
  CHECK(lines[0]["node"] == 3);
  CHECK(lines[0]["severity"] == "info");
  CHECK(lines[0]["base_offset"] == 42);
  CHECK(lines[0]["reason"] == "size \"max\"");
  CHECK(lines[0]["forced"] == true);
  CHECK(lines[0]["time"].get<std::string>().size() == std::string("2025-01-01T00:00:00.000000Z").size());
  CHECK(lines[1]["name"] == "DiskSlow");
  CHECK(lines[1]["severity"] == "warn");
}

TEST_CASE("posix: random is reproducible from a given seed, buggify is off, clocks are real", "[posix]") {
  auto options = test_options();
  options.seed = 42;
  PosixRuntime a(options), b(options);
  CHECK(a.random().next() == b.random().next());
  CHECK(a.seed() == 42);
  PosixRuntime c(keel::posix::PosixOptions{});
  PosixRuntime d(keel::posix::PosixOptions{});
  CHECK(c.seed() != d.seed());  // from getrandom: equal with probability 2^-64
  CHECK_FALSE(a.buggify("anything"));

  const Instant t0 = a.now();
  const Instant t1 = a.now();
  CHECK(t1 >= t0);
  const auto wall = std::chrono::duration_cast<std::chrono::milliseconds>(a.wall_now().time_since_epoch());
  const auto system = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::system_clock::now().time_since_epoch());
  CHECK(std::chrono::abs(wall - system) < std::chrono::seconds(5));
}
