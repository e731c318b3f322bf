#pragma once
// Kafka frames: an int32 size, then a request or response header, then the body. Request headers
// are v1 (api_key, api_version, correlation_id, nullable client_id) or v2 (v1 and a tag buffer;
// client_id stays a classic string). Response headers are v0 (correlation_id) or v1 (and a tag
// buffer); an ApiVersions response always has header v0, whatever its version.
#include "broker/platform/network.h"
#include "broker/base/result.h"
#include "broker/base/time.h"
#include "broker/protocol/api.h"
#include "broker/protocol/messages.h"
#include "broker/protocol/wire.h"

#include <cstdint>
#include <optional>
#include <span>
#include <string>

namespace keel::protocol {

// Bytes of the int32 size that starts every frame.
inline constexpr std::size_t frame_size_bytes = 4;

struct RequestHeader {
  std::int16_t api_key = 0;
  std::int16_t api_version = 0;
  std::int32_t correlation_id = 0;
  std::optional<std::string> client_id;

  bool operator==(const RequestHeader&) const = default;
};

// 2 when the body version is flexible, else 1.
std::int16_t request_header_version(ApiKey key, std::int16_t api_version);
// 1 when the body version is flexible, else 0; ApiVersions is always 0.
std::int16_t response_header_version(ApiKey key, std::int16_t api_version);

// Writes the header in the version its key and api_version call for (v1 for an unknown key).
void encode_request_header(Writer& w, const RequestHeader& header);
// Reads api_key, api_version, correlation_id and client_id; then the tag buffer only when the key
// is known and the version flexible (for unknown keys we cannot tell, and answer by closing).
keel::Result<RequestHeader> decode_request_header(Reader& r);

void encode_response_header(Writer& w, std::int32_t correlation_id, ApiKey key, std::int16_t api_version);
// Returns the correlation id, skipping the header's tag buffer when it has one.
keel::Result<std::int32_t> decode_response_header(Reader& r, ApiKey key, std::int16_t api_version);

// int32 size + request header + body. The header's api_key must be M's.
template <Message M>
Bytes encode_request_frame(const RequestHeader& header, const M& body) {
  static_assert(M::is_request, "encode_request_frame takes a request body");
  KEEL_ASSERT_EQ(header.api_key, static_cast<std::int16_t>(M::api_key));
  Writer w;
  w.write_int32(0);
  encode_request_header(w, header);
  encode(w, body, header.api_version);
  w.patch_int32(0, static_cast<std::int32_t>(w.size() - frame_size_bytes));
  return w.take();
}

// int32 size + response header + body.
template <Message M>
Bytes encode_response_frame(std::int32_t correlation_id, ApiKey key, std::int16_t version, const M& body) {
  static_assert(!M::is_request, "encode_response_frame takes a response body");
  KEEL_ASSERT(key == M::api_key);
  Writer w;
  w.write_int32(0);
  encode_response_header(w, correlation_id, key, version);
  encode(w, body, version);
  w.patch_int32(0, static_cast<std::int32_t>(w.size() - frame_size_bytes));
  return w.take();
}

// Kafka's answer to an ApiVersions request of a version it does not support: header v0, a v0 body
// with UNSUPPORTED_VERSION and api_keys holding only ApiVersions with Keel's range, so that the
// client retries with a version both sides know.
Bytes encode_api_versions_unsupported_frame(std::int32_t correlation_id);

// Reads one frame (without its size prefix). A negative size, or one above frame_bytes_max (the
// broker's socket.request.max.bytes), is refused with Errc::invalid_argument and nothing more is
// read; the caller closes the connection. Memory grows with the bytes that arrive, not with the
// size the peer claims.
keel::Result<Bytes> read_frame(keel::Connection& c, std::int32_t frame_bytes_max, keel::Instant deadline);

// Writes a whole frame (size prefix included, as the encode_*_frame functions build it).
keel::Status write_frame(keel::Connection& c, std::span<const std::uint8_t> frame, keel::Instant deadline);

}  // namespace keel::protocol
