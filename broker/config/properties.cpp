#include "broker/config/properties.h"

#include <fmt/format.h>

#include <cstdint>
#include <optional>

namespace keel::config {

namespace {

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\f'; }

std::string_view skip_blanks(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size() && is_blank(s[i])) ++i;
  return s.substr(i);
}

// Splits text into natural lines (ended by \n, \r or \r\n), one at a time.
class LineReader {
 public:
  explicit LineReader(std::string_view text) : text_(text) {}

  bool next(std::string_view* line) {
    if (pos_ >= text_.size()) return false;
    std::size_t end = text_.find_first_of("\r\n", pos_);
    if (end == std::string_view::npos) end = text_.size();
    *line = text_.substr(pos_, end - pos_);
    pos_ = end;
    if (pos_ < text_.size() && text_[pos_] == '\r') ++pos_;
    if (pos_ < text_.size() && text_[pos_] == '\n') ++pos_;  // "\r\n" ends one line
    ++line_number_;
    return true;
  }
  int line_number() const { return line_number_; }

 private:
  std::string_view text_;
  std::size_t pos_ = 0;
  int line_number_ = 0;
};

// A line continues when it ends in an odd number of backslashes (an even number are escaped
// backslashes).
bool continues(std::string_view line) {
  std::size_t n = 0;
  while (n < line.size() && line[line.size() - 1 - n] == '\\') ++n;
  return n % 2 == 1;
}

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

std::optional<std::uint32_t> hex4(std::string_view s, std::size_t at) {
  if (at + 4 > s.size()) return std::nullopt;
  std::uint32_t v = 0;
  for (std::size_t i = at; i < at + 4; ++i) {
    const char c = s[i];
    int d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
    else return std::nullopt;
    v = v * 16 + static_cast<std::uint32_t>(d);
  }
  return v;
}

struct Unescaped {
  std::string text;
  std::size_t escaped_end = 0;  // length of text up to and including its last escaped character
};

// Resolves the escapes of one key or value. Returns nullopt on a malformed \uXXXX.
std::optional<Unescaped> unescape(std::string_view s) {
  Unescaped out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\') {
      out.text += s[i];
      continue;
    }
    if (++i == s.size()) break;  // a lone trailing backslash (continuation at the end of input)
    const char c = s[i];
    if (c == 'u') {
      auto unit = hex4(s, i + 1);
      if (!unit) return std::nullopt;
      i += 4;
      std::uint32_t cp = *unit;
      // A surrogate pair written as two escapes is one code point.
      if (cp >= 0xD800 && cp < 0xDC00 && i + 2 < s.size() && s[i + 1] == '\\' && s[i + 2] == 'u') {
        auto low = hex4(s, i + 3);
        if (low && *low >= 0xDC00 && *low < 0xE000) {
          cp = 0x10000 + ((cp - 0xD800) << 10) + (*low - 0xDC00);
          i += 6;
        }
      }
      append_utf8(out.text, cp);
    } else if (c == 't') {
      out.text += '\t';
    } else if (c == 'n') {
      out.text += '\n';
    } else if (c == 'r') {
      out.text += '\r';
    } else if (c == 'f') {
      out.text += '\f';
    } else {
      out.text += c;
    }
    out.escaped_end = out.text.size();
  }
  return out;
}

// The key ends at the first unescaped '=', ':' or blank; then blanks, at most one '=' or ':', and
// blanks again separate it from the value.
std::pair<std::string_view, std::string_view> split_key_value(std::string_view logical) {
  std::size_t i = 0;
  while (i < logical.size()) {
    const char c = logical[i];
    if (c == '\\') {
      i += 2;
      continue;
    }
    if (c == '=' || c == ':' || is_blank(c)) break;
    ++i;
  }
  const std::string_view key = logical.substr(0, std::min(i, logical.size()));
  std::string_view rest = i < logical.size() ? logical.substr(i) : std::string_view();
  rest = skip_blanks(rest);
  if (!rest.empty() && (rest.front() == '=' || rest.front() == ':')) rest = skip_blanks(rest.substr(1));
  return {key, rest};
}

}  // namespace

Result<std::vector<Property>> parse_properties(std::string_view text, std::string_view source_name) {
  std::vector<Property> out;
  LineReader reader(text);
  std::string_view natural;
  while (reader.next(&natural)) {
    natural = skip_blanks(natural);
    if (natural.empty() || natural.front() == '#' || natural.front() == '!') continue;
    const int start_line = reader.line_number();
    std::string logical(natural);
    while (continues(logical)) {
      logical.pop_back();
      if (!reader.next(&natural)) break;
      logical += skip_blanks(natural);
    }
    auto [raw_key, raw_value] = split_key_value(logical);
    auto key = unescape(raw_key);
    auto value = unescape(raw_value);
    if (!key || !value) {
      return make_error(Errc::invalid_argument,
                        fmt::format("{}:{}: malformed \\uXXXX escape (four hex digits expected)", source_name, start_line));
    }
    std::string v = std::move(value->text);
    while (v.size() > value->escaped_end && is_blank(v.back())) v.pop_back();
    Property p;
    p.key = std::move(key->text);
    p.value = std::move(v);
    p.line = start_line;
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace keel::config
