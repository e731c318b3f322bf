#include "broker/protocol/frame.h"

#include "broker/protocol/errors.h"

#include <fmt/format.h>

#include <algorithm>

namespace keel::protocol {

namespace {

// The first chunk read_frame allocates for a frame's body; it doubles as bytes arrive.
constexpr std::size_t frame_chunk_bytes = 64 * 1024;

}  // namespace

std::int16_t request_header_version(ApiKey key, std::int16_t api_version) {
  return is_flexible(key, api_version) ? 2 : 1;
}

std::int16_t response_header_version(ApiKey key, std::int16_t api_version) {
  // ApiVersions responses keep header v0 so that a client can read the answer whatever version it
  // asked for (Kafka: "ApiVersionsResponse always includes a v0 header").
  if (key == ApiKey::api_versions) return 0;
  return is_flexible(key, api_version) ? 1 : 0;
}

void encode_request_header(Writer& w, const RequestHeader& header) {
  w.write_int16(header.api_key);
  w.write_int16(header.api_version);
  w.write_int32(header.correlation_id);
  w.write_nullable_string(header.client_id);  // classic even in v2
  const ApiInfo* info = find_api(header.api_key);
  if (info != nullptr && request_header_version(info->key, header.api_version) == 2) w.write_empty_tagged_fields();
}

keel::Result<RequestHeader> decode_request_header(Reader& r) {
  RequestHeader h;
  h.api_key = r.read_int16();
  h.api_version = r.read_int16();
  h.correlation_id = r.read_int32();
  h.client_id = r.read_nullable_string();
  const ApiInfo* info = find_api(h.api_key);
  if (r.ok() && info != nullptr && request_header_version(info->key, h.api_version) == 2) r.skip_tagged_fields();
  if (!r.ok()) return make_error(Errc::corrupt, fmt::format("request header: {}", r.error().message));
  return h;
}

void encode_response_header(Writer& w, std::int32_t correlation_id, ApiKey key, std::int16_t api_version) {
  w.write_int32(correlation_id);
  if (response_header_version(key, api_version) == 1) w.write_empty_tagged_fields();
}

keel::Result<std::int32_t> decode_response_header(Reader& r, ApiKey key, std::int16_t api_version) {
  const std::int32_t correlation_id = r.read_int32();
  if (r.ok() && response_header_version(key, api_version) == 1) r.skip_tagged_fields();
  if (!r.ok()) {
    return make_error(Errc::corrupt,
                      fmt::format("{} v{} response header: {}", api_name(key), api_version, r.error().message));
  }
  return correlation_id;
}

Bytes encode_api_versions_unsupported_frame(std::int32_t correlation_id) {
  const ApiInfo& info = api_info(ApiKey::api_versions);
  ApiVersionsResponse body;
  body.error_code = to_int(ErrorCode::unsupported_version);
  ApiVersionsResponse::ApiVersion& own = body.api_keys.emplace_back();
  own.api_key = static_cast<std::int16_t>(ApiKey::api_versions);
  own.min_version = info.min_version;
  own.max_version = info.max_version;
  return encode_response_frame(correlation_id, ApiKey::api_versions, 0, body);
}

keel::Result<Bytes> read_frame(keel::Connection& c, std::int32_t frame_bytes_max, keel::Instant deadline) {
  std::uint8_t size_bytes[frame_size_bytes];
  if (auto st = c.read_exact(std::as_writable_bytes(std::span(size_bytes)), deadline); !st) return st.error();
  Reader size_reader(size_bytes);
  const std::int32_t size = size_reader.read_int32();
  if (size < 0 || size > frame_bytes_max) {
    return make_error(Errc::invalid_argument,
                      fmt::format("frame size {} is outside 0..{} (socket.request.max.bytes)", size, frame_bytes_max));
  }
  const auto total = static_cast<std::size_t>(size);
  Bytes frame;
  std::size_t done = 0;
  while (done < total) {
    // Grow with what has arrived so that a peer claiming a huge size cannot make us allocate it.
    const std::size_t target = std::min(total, std::max(frame_chunk_bytes, 2 * done));
    frame.resize(target);
    auto chunk = std::as_writable_bytes(std::span(frame).subspan(done, target - done));
    if (auto st = c.read_exact(chunk, deadline); !st) return st.error();
    done = target;
  }
  return frame;
}

keel::Status write_frame(keel::Connection& c, std::span<const std::uint8_t> frame, keel::Instant deadline) {
  KEEL_ASSERT_GE(frame.size(), frame_size_bytes);
  return c.write(std::as_bytes(frame), deadline);
}

}  // namespace keel::protocol
