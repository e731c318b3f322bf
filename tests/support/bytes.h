#pragma once
// Bytes in tests: text and numbers as protocol::Bytes, text as the span of bytes that disk and
// network writes take, and bytes back as text.
#include <cstddef>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "broker/protocol/wire.h"

namespace keel::test {

using protocol::Bytes;

// The bytes of a text.
inline Bytes bytes_of(std::string_view s) { return Bytes(s.begin(), s.end()); }

// Bytes written as numbers: bytes_of({0x00, 0x2a, 0xff}).
inline Bytes bytes_of(std::initializer_list<int> values) {
  Bytes b;
  for (int v : values) b.push_back(static_cast<std::uint8_t>(v));
  return b;
}

// Appends the bytes of a text.
inline void append(Bytes& b, std::string_view s) { b.insert(b.end(), s.begin(), s.end()); }

// A text as the span of bytes a disk or network write takes; it points into `s`.
inline std::span<const std::byte> byte_span(std::string_view s) { return std::as_bytes(std::span(s.data(), s.size())); }

// Bytes read from a disk or the network, as text.
inline std::string text_of(std::span<const std::byte> b) {
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

// A record's key or value as text; `if_null` when it is null.
inline std::string text_of(const std::optional<Bytes>& b, std::string_view if_null = "") {
  return b ? std::string(b->begin(), b->end()) : std::string(if_null);
}

}  // namespace keel::test
