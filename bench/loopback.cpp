#include "bench/loopback.h"

#include <fmt/format.h>

#include <vector>

namespace keel::bench {

namespace {

double seconds_between(Instant a, Instant b) { return std::chrono::duration<double>(b - a).count(); }

}  // namespace

Result<LoopbackResult> measure_loopback(Runtime& rt, std::uint64_t total_bytes, std::size_t write_bytes) {
  auto listener = rt.net().listen(Address{"127.0.0.1", 0});
  if (!listener) return listener.error();
  Status reader_status;
  Instant reader_done{};
  WaitGroup done;
  done.add();
  rt.spawn("loopback-reader", [&] {
    auto conn = listener->accept();
    if (!conn) {
      reader_status = conn.error();
    } else {
      std::vector<std::byte> buffer(write_bytes);
      std::uint64_t received = 0;
      while (received < total_bytes) {
        auto n = conn->read(buffer);
        if (!n || *n == 0) {
          reader_status = n ? make_error(Errc::closed, "loopback: early end of stream") : n.error();
          break;
        }
        received += *n;
      }
      reader_done = rt.now();
      conn->close();
    }
    done.done();
  });
  auto conn = rt.net().connect(listener->local(), 5s);
  if (!conn) return conn.error();
  std::vector<std::byte> buffer(write_bytes, std::byte{0x5a});
  const Instant start = rt.now();
  for (std::uint64_t sent = 0; sent < total_bytes;) {
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(write_bytes, total_bytes - sent));
    if (auto st = conn->write(std::span(buffer).first(n)); !st) return st.error();
    sent += n;
  }
  done.wait();
  conn->close();
  listener->close();
  if (!reader_status) return reader_status.error();
  LoopbackResult out;
  out.bytes = total_bytes;
  out.seconds = seconds_between(start, reader_done);
  return out;
}

}  // namespace keel::bench
