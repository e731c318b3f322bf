#include "sim/sweep/progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cmath>

namespace keel::sim::sweep {

namespace {

constexpr std::size_t bar_width = 30;

std::string format_time_left(double seconds) {
  const auto s = static_cast<long long>(std::ceil(seconds));
  if (s < 60) return fmt::format("{}s", s);
  if (s < 3600) return fmt::format("{}m{:02}s", s / 60, s % 60);
  return fmt::format("{}h{:02}m", s / 3600, s / 60 % 60);
}

}  // namespace

std::string progress_line(std::size_t done, std::size_t total, std::size_t failed, double elapsed_seconds) {
  const std::size_t filled = total == 0 ? bar_width : done * bar_width / total;
  std::string line = fmt::format("[{}{}] {}/{} seeds, {} failed", std::string(filled, '#'),
                                 std::string(bar_width - filled, '.'), done, total, failed);
  if (done == 0 || elapsed_seconds <= 0) return line;
  const double rate = static_cast<double>(done) / elapsed_seconds;
  line += fmt::format(", {:.1f} seeds/s", rate);
  if (done < total) line += fmt::format(", {} left", format_time_left(static_cast<double>(total - done) / rate));
  return line;
}

Progress::Progress(std::FILE* out, std::size_t total, bool enabled)
    : out_(out), total_(total), drawing_(enabled && isatty(fileno(out)) != 0) {
  if (drawing_) draw();
}

void Progress::seed_done(bool passed) {
  ++done_;
  failed_ += passed ? 0 : 1;
  if (drawing_) draw();
}

void Progress::finish() {
  if (!drawn_) return;
  fmt::print(out_, "\n");
  std::fflush(out_);
  drawn_ = false;
}

void Progress::draw() {
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  // \033[K clears what a longer earlier line left to the right.
  fmt::print(out_, "\r{}\033[K", progress_line(done_, total_, failed_, elapsed));
  std::fflush(out_);
  drawn_ = true;
}

}  // namespace keel::sim::sweep
