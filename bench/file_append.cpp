#include "bench/file_append.h"

#include <fmt/format.h>

#include <vector>

namespace keel::bench {

Result<FileAppendResult> measure_file_append(Runtime& rt, const std::string& dir, std::uint64_t total_bytes,
                                             std::size_t write_bytes) {
  const std::string path = fmt::format("{}/keel-bench-append-{}.tmp", dir, to_ns(rt.now()));
  auto file = rt.disk().open(path, OpenOptions{.create = true, .exclusive = true});
  if (!file) return file.error();
  std::vector<std::byte> buffer(write_bytes, std::byte{0x5a});
  const Instant start = rt.now();
  Status written;
  for (std::uint64_t offset = 0; offset < total_bytes && written;) {
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(write_bytes, total_bytes - offset));
    written = file->write_at(offset, std::span(buffer).first(n));
    offset += n;
  }
  const Instant end = rt.now();
  file->close();
  auto removed = rt.disk().remove(path);
  if (!written) return written.error();
  if (!removed) return removed.error();
  FileAppendResult out;
  out.bytes = total_bytes;
  out.seconds = std::chrono::duration<double>(end - start).count();
  return out;
}

}  // namespace keel::bench
