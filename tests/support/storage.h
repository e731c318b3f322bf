#pragma once
// Shared pieces of the storage tests: a one-machine simulated world whose process runs a test
// body, record batches with recognisable contents, and readers that return every record of a
// log. Task bodies return values and never throw; Catch2 checks run outside them (or on values
// computed before, never across a suspension).
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <functional>
#include <string>
#include <vector>

#include "broker/protocol/record_batch.h"
#include "broker/storage/log.h"
#include "sim/disk.h"
#include "sim/node.h"
#include "sim/world.h"

namespace storage_test {

using namespace keel;
using namespace keel::storage;
using keel::protocol::Bytes;

// No faults at all, and a power loss drops every unsynced write: tests turn on what they exercise.
inline sim::DiskOptions quiet_disk() {
  sim::DiskOptions o;
  o.crash_keep_probability = 0;
  o.crash_tear_probability = 0;
  return o;
}

// A power loss that keeps, tears or drops each unsynced write at random (the default model).
inline sim::DiskOptions tearing_disk() {
  sim::DiskOptions o;
  o.crash_keep_probability = 0.3;
  o.crash_tear_probability = 0.4;
  return o;
}

template <class R>
std::string describe(const R& r) {
  return r.ok() ? "ok" : r.error().message;
}

class Rig {
 public:
  explicit Rig(sim::DiskOptions disk = quiet_disk(), std::uint64_t seed = 1)
      : world_(world_options(seed)), node_(world_.add_node(node_options(disk))) {}

  // Starts a fresh process (killing the previous one, powering the machine on if it is off), runs
  // `body` in it and returns once the body has returned. The process stays up.
  void run(const std::function<void(Runtime&)>& body) {
    bool done = false;
    start([&](Runtime& rt) {
      body(rt);
      done = true;
    });
    world_.run_while([&] { return !done; }, world_.now() + std::chrono::hours(24));
    REQUIRE(done);
  }

  // Starts `body` in a fresh process without waiting for it.
  void start(std::function<void(Runtime&)> body) {
    node_.set_main(std::move(body));
    if (node_.state() != sim::ProcessState::down) node_.kill();
    if (node_.powered()) {
      node_.start();
    } else {
      node_.power_on_and_start();
    }
  }

  // Runs world events until `stop()` holds or there are none left.
  void step_until(const std::function<bool()>& stop, std::uint64_t steps_max = 10'000'000) {
    for (std::uint64_t i = 0; i < steps_max && !stop(); ++i) {
      if (!world_.step()) return;
    }
  }
  void steps(std::uint64_t n) {
    for (std::uint64_t i = 0; i < n; ++i) {
      if (!world_.step()) return;
    }
  }

  sim::World& world() { return world_; }
  sim::SimNode& node() { return node_; }
  sim::SimDisk& disk() { return node_.disk(); }
  bool exists(const std::string& file_path) { return disk().contents(file_path).has_value(); }

 private:
  static sim::WorldOptions world_options(std::uint64_t seed) {
    sim::WorldOptions o;
    o.seed = seed;
    return o;
  }
  static sim::NodeOptions node_options(const sim::DiskOptions& disk) {
    sim::NodeOptions o;
    o.id = 0;
    o.disk = disk;
    return o;
  }

  sim::World world_;
  sim::SimNode& node_;
};

// The value of record `index` of batch `batch`: recognisable, and `value_bytes` long.
inline std::string record_value(int batch, int index, std::size_t value_bytes = 24) {
  std::string v = fmt::format("b{}-r{}-", batch, index);
  while (v.size() < value_bytes) v += static_cast<char>('a' + (batch * 7 + index + static_cast<int>(v.size())) % 26);
  return v;
}

// A batch of `records` records with timestamps first_timestamp, +1, +2 ... and base offset 0.
inline Bytes make_batch(int batch, int records, std::int64_t first_timestamp, std::size_t value_bytes = 24) {
  std::vector<protocol::Record> rs;
  for (int i = 0; i < records; ++i) {
    protocol::Record r;
    r.offset = i;
    r.timestamp = first_timestamp + i;
    const std::string v = record_value(batch, i, value_bytes);
    r.key = Bytes(v.begin(), v.begin() + 4);
    r.value = Bytes(v.begin(), v.end());
    rs.push_back(std::move(r));
  }
  protocol::BatchOptions o;
  return protocol::build_batch(o, rs);
}

struct ReadRecord {
  std::int64_t offset = 0;
  std::string value;
  std::int64_t timestamp = -1;
};

// Every record in `bytes` (whole batches); an error message instead when they do not decode.
inline Result<std::vector<ReadRecord>> decode_all(const Bytes& bytes) {
  std::vector<ReadRecord> out;
  const auto scan = protocol::scan_batches(bytes, true);
  if (scan.corruption || scan.valid_bytes != bytes.size()) {
    return make_error(Errc::corrupt, fmt::format("{} of {} bytes are whole batches", scan.valid_bytes, bytes.size()));
  }
  for (const auto& [at, h] : scan.batches) {
    auto records = protocol::decode_records(std::span(bytes.data() + at, h.size_bytes()));
    if (!records) return records.error();
    for (const auto& r : *records) {
      ReadRecord rr;
      rr.offset = r.offset;
      rr.timestamp = r.timestamp;
      if (r.value) rr.value.assign(r.value->begin(), r.value->end());
      out.push_back(std::move(rr));
    }
  }
  return out;
}

// Every record from the log start to the log end, read in fetch-sized pieces.
inline Result<std::vector<ReadRecord>> read_all(Log& log, std::int32_t max_bytes = 4096) {
  std::vector<ReadRecord> out;
  std::int64_t next = log.log_start_offset();
  while (next < log.log_end_offset()) {
    auto r = log.read(next, max_bytes, std::numeric_limits<std::int64_t>::max(), true);
    if (!r) return r.error();
    if (r->records.empty()) return make_error(Errc::corrupt, fmt::format("empty read at offset {}", next));
    auto records = decode_all(r->records);
    if (!records) return records.error();
    for (auto& rec : *records) {
      if (rec.offset >= next) out.push_back(std::move(rec));
    }
    next = out.empty() ? next + 1 : out.back().offset + 1;
  }
  return out;
}

// What the test appended, by offset: the value every recovered record must still have.
struct Expected {
  std::vector<std::string> values;  // index = offset
  void add_batch(int batch, int records, std::size_t value_bytes = 24) {
    for (int i = 0; i < records; ++i) values.push_back(record_value(batch, i, value_bytes));
  }
};

// "" when `got` is exactly offsets [from, from + n) with the values appended there; else what differs.
inline std::string check_prefix(const std::vector<ReadRecord>& got, const Expected& expected, std::int64_t from = 0) {
  for (std::size_t i = 0; i < got.size(); ++i) {
    const std::int64_t want_offset = from + static_cast<std::int64_t>(i);
    if (got[i].offset != want_offset) return fmt::format("record {} has offset {}, want {}", i, got[i].offset, want_offset);
    if (want_offset >= static_cast<std::int64_t>(expected.values.size())) {
      return fmt::format("offset {} was never appended", want_offset);
    }
    if (got[i].value != expected.values[static_cast<std::size_t>(want_offset)]) {
      return fmt::format("offset {} holds '{}', want '{}'", want_offset, got[i].value,
                         expected.values[static_cast<std::size_t>(want_offset)]);
    }
  }
  return "";
}

inline LogConfig small_segments(std::int64_t segment_bytes = 1024) {
  LogConfig c;
  c.segment_bytes = segment_bytes;
  c.index_interval_bytes = 128;
  c.file_delete_delay_ms = 60000;
  return c;
}

inline TopicPartition tp(std::string topic = "orders", std::int32_t partition = 0) {
  TopicPartition t;
  t.topic = std::move(topic);
  t.partition = partition;
  return t;
}

}  // namespace storage_test
