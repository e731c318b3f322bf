#include "broker/platform/posix/trace.h"

#include "broker/platform/posix/sys.h"

#include <ctime>
#include <ostream>

namespace keel::posix {

namespace {
// RFC 3339 UTC with microseconds: sortable, and what log tooling parses without configuration.
void append_wall_time(std::string& out, WallTime t) {
  const std::int64_t ns = t.time_since_epoch().count();
  const std::time_t secs = static_cast<std::time_t>(ns / 1'000'000'000);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  fmt::format_to(std::back_inserter(out), "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (ns % 1'000'000'000) / 1000);
}
}  // namespace

JsonLineTraceSink::JsonLineTraceSink(std::int32_t node, Severity level, std::FILE* file, std::ostream* stream)
    : node_(node), level_(level), file_(file != nullptr ? file : stderr), stream_(stream) {}

void JsonLineTraceSink::emit(Severity s, std::string_view name, std::string_view fields) {
  if (!wants(s)) return;
  std::string line = "{\"time\":\"";
  append_wall_time(line, realtime_now());
  fmt::format_to(std::back_inserter(line), "\",\"node\":{},\"severity\":\"{}\",\"name\":\"", node_, severity_name(s));
  append_json_escaped(line, name);
  line += '"';
  line += fields;
  line += "}\n";
  ++emitted_;
  if (stream_ != nullptr) {
    stream_->write(line.data(), static_cast<std::streamsize>(line.size()));
    stream_->flush();
    return;
  }
  // One fwrite per line keeps lines whole when several writers share the stream.
  std::fwrite(line.data(), 1, line.size(), file_);
  std::fflush(file_);
}

}  // namespace keel::posix
