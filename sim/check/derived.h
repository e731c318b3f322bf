#pragma once
// What every checker needs, built once from a history (Jepsen's derived structures): the log of
// each key as the clients observed it (offset -> values), its dense index, the writer of each
// value and who read it, and which writes must have committed.
#include "sim/workload/history.h"

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <vector>

namespace keel::sim::check {

struct KeyLog {
  std::map<std::int64_t, std::set<std::int64_t>> values_at;  // offset -> values seen there
  std::map<std::int64_t, std::set<std::int64_t>> offsets_of; // value -> offsets it was seen at
  std::map<std::int64_t, std::int64_t> index_of_offset;      // the dense index: non-empty offsets numbered 0, 1, 2, ...
  std::vector<std::int64_t> offset_at_index;                 // the inverse
  std::map<std::int64_t, std::size_t> writer;                // value -> the send op that wrote it
  std::map<std::int64_t, std::size_t> first_reader;          // value -> the first ok op that read it

  std::optional<std::int64_t> index(std::int64_t offset) const;
  // The first and last dense index at which `value` appears.
  std::optional<std::pair<std::int64_t, std::int64_t>> span(std::int64_t value) const;
  // One value at a dense index (the smallest, when several).
  std::int64_t value_at_index(std::int64_t index) const;
};

struct Derived {
  const workload::History& history;
  std::vector<KeyLog> keys;
  std::vector<bool> must_have_committed;  // per op: ok, or info and read by an ok op

  explicit Derived(const workload::History& h);
  const std::string& key_name(int key) const;
};

}  // namespace keel::sim::check
