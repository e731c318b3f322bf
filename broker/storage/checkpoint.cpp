#include "broker/storage/checkpoint.h"

#include <fmt/format.h>

#include <charconv>
#include <vector>

#include "broker/base/assert.h"

namespace keel::storage {

namespace {

// Splits on spaces, tabs and newlines, as Kafka's reader splits each line on whitespace.
std::vector<std::string_view> split_words(std::string_view line) {
  std::vector<std::string_view> words;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
    const std::size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\r') ++i;
    if (i > start) words.push_back(line.substr(start, i - start));
  }
  return words;
}

template <class Int>
bool parse_int(std::string_view s, Int* out) {
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && ptr == s.data() + s.size();
}

Error malformed(std::size_t line_no, std::string_view line, std::string_view what) {
  return make_error(Errc::corrupt, fmt::format("offset checkpoint line {} ('{}'): {}", line_no, line, what));
}

}  // namespace

std::string format_offset_checkpoint(const OffsetCheckpoint& entries) {
  std::string out = fmt::format("0\n{}\n", entries.size());
  for (const auto& [tp, offset] : entries) {
    // What the reader refuses must never be written: the next start-up would lose the file.
    KEEL_ASSERT_MSG(is_legal_topic_name(tp.topic) && tp.partition >= 0, "checkpoint entry '{}'", tp);
    KEEL_ASSERT_GE(offset, 0);
    out += fmt::format("{} {} {}\n", tp.topic, tp.partition, offset);
  }
  return out;
}

keel::Result<std::vector<std::string_view>> checkpoint_lines(std::string_view text, std::string_view what) {
  std::vector<std::string_view> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    auto nl = text.find('\n', start);
    if (nl == std::string_view::npos) nl = text.size();
    lines.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  if (lines.empty()) return lines;  // Kafka reads an empty file as no entries
  const auto malformed_line = [&](std::size_t line_no, std::string_view line, std::string_view problem) {
    return make_error(Errc::corrupt, fmt::format("{} line {} ('{}'): {}", what, line_no, line, problem));
  };
  int version = -1;
  if (!parse_int(lines[0], &version) || version != 0) return malformed_line(1, lines[0], "expected version 0");
  std::int64_t count = -1;
  if (lines.size() < 2 || !parse_int(lines[1], &count) || count < 0) {
    return malformed_line(2, lines.size() < 2 ? "" : lines[1], "expected an entry count");
  }
  if (static_cast<std::int64_t>(lines.size()) - 2 != count) {
    return make_error(Errc::corrupt, fmt::format("{}: {} entries announced, {} lines found", what, count, lines.size() - 2));
  }
  return lines;
}

keel::Result<OffsetCheckpoint> parse_offset_checkpoint(std::string_view text) {
  auto checked = checkpoint_lines(text, "offset checkpoint");
  if (!checked) return checked.error();
  const auto& lines = *checked;
  OffsetCheckpoint out;
  for (std::size_t i = 2; i < lines.size(); ++i) {
    const auto words = split_words(lines[i]);
    TopicPartition tp;
    std::int64_t offset = 0;
    if (words.size() != 3 || !is_legal_topic_name(words[0]) || !parse_int(words[1], &tp.partition) ||
        tp.partition < 0 || !parse_int(words[2], &offset)) {
      return malformed(i + 1, lines[i], "expected '<topic> <partition> <offset>'");
    }
    tp.topic = std::string(words[0]);
    out[tp] = offset;
  }
  return out;
}

keel::Result<std::string> read_whole_file(Disk& disk, const std::string& file_path) {
  auto file = disk.open(file_path, OpenOptions{.read_only = true});
  if (!file) return file.error();
  auto size = file->size();
  if (!size) return size.error();
  std::string text(*size, '\0');
  auto st = file->read_exact_at(0, std::as_writable_bytes(std::span(text.data(), text.size())));
  if (!st) return st.error();
  return text;
}

keel::Result<OffsetCheckpoint> read_offset_checkpoint(Disk& disk, const std::string& file_path) {
  auto text = read_whole_file(disk, file_path);
  if (!text) {
    if (text.code() == Errc::not_found) return OffsetCheckpoint{};
    return text.error();
  }
  auto parsed = parse_offset_checkpoint(*text);
  if (!parsed) return make_error(parsed.code(), fmt::format("{}: {}", file_path, parsed.error().message));
  return parsed;
}

keel::Status write_file_atomically(Disk& disk, const std::string& file_path, std::string_view text) {
  KEEL_ASSERT(!file_path.empty() && file_path.back() != '/');
  const std::string tmp = file_path + ".tmp";
  {
    auto file = disk.open(tmp, OpenOptions{.create = true, .truncate = true});
    if (!file) return file.error();
    if (auto st = file->write_at(0, std::as_bytes(std::span(text.data(), text.size()))); !st) return st;
    if (auto st = file->sync(); !st) return st;
  }
  if (auto st = disk.rename(tmp, file_path); !st) return st;
  return disk.sync_dir(parent_dir(file_path));
}

keel::Status make_dir_durable(Disk& disk, const std::string& dir) {
  auto present = disk.exists(dir);
  if (!present) return present.error();
  // Present, it may still be a creation a killed process never synced: its own entry is synced
  // again (one directory sync), the rest of the way up only after a creation.
  if (*present) return disk.sync_dir(parent_dir(dir));
  if (auto st = disk.make_dir(dir); !st) return st;
  for (std::string d = dir; !d.empty(); d = parent_dir(d)) {
    if (auto st = disk.sync_dir(parent_dir(d)); !st) return st;
  }
  return {};
}

keel::Status write_offset_checkpoint(Disk& disk, const std::string& file_path, const OffsetCheckpoint& entries) {
  const std::string text = format_offset_checkpoint(entries);
  // Paired across the disk: the text reads back as the entries it was made from.
  auto parsed = parse_offset_checkpoint(text);
  KEEL_ASSERT_MSG(parsed.ok() && *parsed == entries, "{}: the checkpoint text does not read back", file_path);
  return write_file_atomically(disk, file_path, text);
}

}  // namespace keel::storage
