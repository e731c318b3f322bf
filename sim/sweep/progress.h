#pragma once
// The progress line of a long sweep: seeds done of the total, failures so far, the rate and the
// time left, redrawn in place (\r) on stderr. Only a terminal gets it: output to a file or a pipe
// (CI logs, ctest) stays exactly the sweep's own lines.
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <string>

namespace keel::sim::sweep {

// "[#####.........] 12/40 seeds, 1 failed, 2.4 seeds/s, 12s left"; no rate or time left before
// the first seed is done.
std::string progress_line(std::size_t done, std::size_t total, std::size_t failed, double elapsed_seconds);

class Progress {
 public:
  // Draws only when `enabled` and `out` is a terminal.
  Progress(std::FILE* out, std::size_t total, bool enabled);
  void seed_done(bool passed);
  // Ends the line (a newline after the last drawing), so what follows starts on a line of its own.
  void finish();
  bool drawing() const { return drawing_; }

 private:
  void draw();

  std::FILE* out_;
  std::size_t total_, done_ = 0, failed_ = 0;
  bool drawing_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

}  // namespace keel::sim::sweep
