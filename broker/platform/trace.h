#pragma once
// Structured trace events: one event per meaningful state change, machine-readable, with fields.
//
//   rt.trace("SegmentRoll").detail("base_offset", base).detail("reason", "size");
//
// The event is built as a JSON fragment and handed to the runtime's sink when the builder goes
// out of scope. The simulator hashes every event of severity info and above into the run's trace
// hash (so a run's hash does not depend on the trace level asked for) and writes them to
// trace.jsonl; debug events are built only when debug tracing is on, and never hashed. An
// error-severity event fails a simulation run. In production the sink is the process log.
#include <fmt/format.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>

namespace keel {

enum class Severity : std::uint8_t { debug = 0, info = 1, warn = 2, error = 3 };
std::string_view severity_name(Severity s);

class TraceSink {
 public:
  virtual ~TraceSink() = default;
  virtual bool wants(Severity s) const = 0;
  // `fields` is a JSON fragment: empty, or `,"key":value` repeated.
  virtual void emit(Severity s, std::string_view name, std::string_view fields) = 0;
};

// Appends `s` to `out` as the body of a JSON string (no quotes), escaping what JSON requires.
void append_json_escaped(std::string& out, std::string_view s);

class TraceEvent {
 public:
  TraceEvent(TraceSink* sink, Severity severity, std::string_view name)
      : sink_(sink != nullptr && sink->wants(severity) ? sink : nullptr), severity_(severity), name_(name) {}
  TraceEvent(const TraceEvent&) = delete;
  TraceEvent& operator=(const TraceEvent&) = delete;
  ~TraceEvent() {
    if (sink_) sink_->emit(severity_, name_, fields_);
  }

  template <class T>
  TraceEvent& detail(std::string_view key, const T& value) {
    if (!sink_) return *this;
    fields_ += ",\"";
    fields_ += key;
    fields_ += "\":";
    if constexpr (std::is_same_v<T, bool>) {
      fields_ += value ? "true" : "false";
    } else if constexpr (std::is_integral_v<T> || std::is_floating_point_v<T>) {
      fmt::format_to(std::back_inserter(fields_), "{}", value);
    } else if constexpr (std::is_enum_v<T>) {
      fmt::format_to(std::back_inserter(fields_), "{}", static_cast<std::underlying_type_t<T>>(value));
    } else {
      fields_ += '"';
      append_json_escaped(fields_, fmt::format("{}", value));
      fields_ += '"';
    }
    return *this;
  }
  bool enabled() const { return sink_ != nullptr; }

 private:
  TraceSink* sink_;
  Severity severity_;
  std::string_view name_;
  std::string fields_;
};

}  // namespace keel
