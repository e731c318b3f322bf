#include "sim/check/derived.h"

#include "broker/base/assert.h"

namespace keel::sim::check {

using workload::Op;
using workload::OpStatus;
using workload::OpType;

std::optional<std::int64_t> KeyLog::index(std::int64_t offset) const {
  auto it = index_of_offset.find(offset);
  if (it == index_of_offset.end()) return std::nullopt;
  return it->second;
}

std::optional<std::pair<std::int64_t, std::int64_t>> KeyLog::span(std::int64_t value) const {
  auto it = offsets_of.find(value);
  if (it == offsets_of.end() || it->second.empty()) return std::nullopt;
  return std::pair{index_of_offset.at(*it->second.begin()), index_of_offset.at(*it->second.rbegin())};
}

std::int64_t KeyLog::value_at_index(std::int64_t index) const {
  return *values_at.at(offset_at_index.at(static_cast<std::size_t>(index))).begin();
}

namespace {

bool valid_key(const workload::History& h, int key) { return key >= 0 && static_cast<std::size_t>(key) < h.keys.size(); }

void note(KeyLog& log, std::int64_t offset, std::int64_t value) {
  log.values_at[offset].insert(value);
  log.offsets_of[value].insert(offset);
}

}  // namespace

Derived::Derived(const workload::History& h) : history(h), keys(h.keys.size()), must_have_committed(h.ops.size(), false) {
  // Writers and readers first: must-have-committed needs to know what ok ops read.
  std::vector<std::set<std::int64_t>> read_ok(h.keys.size());
  for (const Op& op : h.ops) {
    if (op.type == OpType::send && valid_key(h, op.key)) keys[op.key].writer.emplace(op.value, op.index);
    if (op.type != OpType::poll || op.status != OpStatus::ok) continue;
    for (const auto& r : op.reads) {
      if (!valid_key(h, r.key)) continue;
      read_ok[r.key].insert(r.value);
      keys[r.key].first_reader.emplace(r.value, op.index);
    }
  }
  for (const Op& op : h.ops) {
    const bool read = op.type == OpType::send && valid_key(h, op.key) && read_ok[op.key].contains(op.value);
    must_have_committed[op.index] = op.status == OpStatus::ok || (op.status == OpStatus::info && read);
  }
  // The log: every read with an offset (whatever its op's outcome), and the offsets of sends that
  // must have committed.
  for (const Op& op : h.ops) {
    if (op.type == OpType::poll) {
      for (const auto& r : op.reads) {
        if (valid_key(h, r.key)) note(keys[r.key], r.offset, r.value);
      }
    } else if (op.type == OpType::send && op.offset && valid_key(h, op.key) && must_have_committed[op.index]) {
      note(keys[op.key], *op.offset, op.value);
    }
  }
  for (KeyLog& log : keys) {
    for (const auto& [offset, values] : log.values_at) {
      log.index_of_offset[offset] = static_cast<std::int64_t>(log.offset_at_index.size());
      log.offset_at_index.push_back(offset);
    }
  }
}

const std::string& Derived::key_name(int key) const {
  KEEL_ASSERT(valid_key(history, key));
  return history.keys[static_cast<std::size_t>(key)];
}

}  // namespace keel::sim::check
