#include "sim/trace.h"

#include <fmt/format.h>

namespace keel::sim {

TraceRecorder::TraceRecorder(TraceOptions options) : options_(options) {}

void TraceRecorder::mix_bytes(std::string_view s) {
  std::size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    std::uint64_t w;
    __builtin_memcpy(&w, s.data() + i, 8);
    mix(w);
  }
  std::uint64_t tail = s.size();
  for (; i < s.size(); ++i) tail = (tail << 8) | static_cast<unsigned char>(s[i]);
  mix(tail);
}

void TraceRecorder::line(std::string& out, std::int64_t time_ns, int node, Severity s, std::string_view name,
                         std::string_view fields) const {
  out.clear();
  fmt::format_to(std::back_inserter(out), "{{\"t\":{},\"node\":{},\"sev\":\"{}\",\"ev\":\"{}\"{}}}", time_ns, node,
                 severity_name(s), name, fields);
}

void TraceRecorder::keep(std::string_view text) {
  offsets_.push_back(captured_text_.size());
  captured_text_ += text;
  hashes_.push_back(hash_);
}

std::string_view TraceRecorder::captured(std::size_t i) const {
  if (i >= offsets_.size()) return {};
  const std::size_t end = i + 1 < offsets_.size() ? offsets_[i + 1] : captured_text_.size();
  return std::string_view(captured_text_).substr(offsets_[i], end - offsets_[i]);
}

void TraceRecorder::event(std::int64_t time_ns, int node, Severity s, std::string_view name,
                          std::string_view fields) {
  const bool hashed = s >= Severity::info;
  const bool written = options_.out != nullptr && s >= options_.write_level;
  if (hashed) {
    ++count_;
    mix(static_cast<std::uint64_t>(time_ns));
    mix(static_cast<std::uint64_t>(node) ^ (static_cast<std::uint64_t>(s) << 32));
    mix_bytes(name);
    mix_bytes(fields);
    if (options_.observer) options_.observer(time_ns, node, name, fields);
  } else if (options_.observe_debug && options_.observer) {
    options_.observer(time_ns, node, name, fields);
  }
  if (s == Severity::error) {
    if (errors_++ == 0) {
      line(first_error_, time_ns, node, s, name, fields);
    }
  }
  if (!written && !(hashed && options_.capture)) return;
  line(scratch_, time_ns, node, s, name, fields);
  if (written) {
    std::fwrite(scratch_.data(), 1, scratch_.size(), options_.out);
    std::fputc('\n', options_.out);
  }
  if (hashed && options_.capture) keep(scratch_);
}

void TraceRecorder::task_run_text(std::int64_t time_ns, int node, std::uint64_t task_id, std::string_view task_name) {
  const bool written = options_.out != nullptr && options_.write_scheduler;
  scratch_.clear();
  fmt::format_to(std::back_inserter(scratch_), "{{\"t\":{},\"node\":{},\"sev\":\"debug\",\"ev\":\"TaskRun\",\"task\":{},\"name\":\"{}\"}}",
                 time_ns, node, task_id, task_name);
  if (written) {
    std::fwrite(scratch_.data(), 1, scratch_.size(), options_.out);
    std::fputc('\n', options_.out);
  }
  if (options_.capture) keep(scratch_);
}

}  // namespace keel::sim
