#pragma once
// Shared pieces of the storage tests: the machine whose processes run a test body (MachineRig),
// record batches with recognisable contents, and readers that return every record of a log. Task
// bodies return values and never throw; Catch2 checks run outside them (or on values computed
// before, never across a suspension).
#include <fmt/format.h>
#include <catch2/catch.hpp>

#include <functional>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "broker/protocol/record_batch.h"
#include "broker/storage/log.h"
#include "broker/storage/topic_partition.h"
#include "tests/support/sim_world.h"

namespace storage_test {

using namespace keel;
using namespace keel::storage;
using keel::protocol::Bytes;

using keel::test::describe;
using keel::test::quiet_disk;
using keel::test::tearing_disk;
// The storage tests' machine: one node whose processes run test bodies on its simulated disk.
using Rig = keel::test::MachineRig;

inline constexpr std::int64_t no_limit = std::numeric_limits<std::int64_t>::max();

// The directory of the partition log most storage tests use, and the path of one of its files.
inline const std::string log_dir = "data/orders-0";
inline std::string segment_path(std::int64_t base, std::string_view suffix) {
  return log_dir + "/" + segment_file_name(base, suffix);
}

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
    if (got[i].offset != want_offset)
      return fmt::format("record {} has offset {}, want {}", i, got[i].offset, want_offset);
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
