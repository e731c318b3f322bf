#pragma once
// The production trace sink: every event at or above the configured severity becomes one JSON
// line, {"time":"<UTC wall time>","node":N,"severity":"info","name":"..."<fields>}, written to a
// FILE* (stderr by default) or an ostream.
#include "broker/platform/trace.h"

#include <cstdint>
#include <cstdio>
#include <iosfwd>

namespace keel::posix {

class JsonLineTraceSink final : public TraceSink {
 public:
  // `stream`, when given, wins over `file`; with neither, lines go to stderr.
  JsonLineTraceSink(std::int32_t node, Severity level, std::FILE* file, std::ostream* stream);

  bool wants(Severity s) const override { return s >= level_; }
  void emit(Severity s, std::string_view name, std::string_view fields) override;

  void set_level(Severity level) { level_ = level; }
  std::uint64_t emitted() const { return emitted_; }

 private:
  std::int32_t node_;
  Severity level_;
  std::FILE* file_;
  std::ostream* stream_;
  std::uint64_t emitted_ = 0;
};

}  // namespace keel::posix
