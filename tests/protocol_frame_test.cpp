// Frames and headers: request headers v1/v2 (client_id classic even in v2), response headers
// v0/v1 (ApiVersions always v0), whole frames with their size prefix, Kafka's answer to an
// unsupported ApiVersions version, and read_frame's limits over an in-memory connection and over
// the simulated network.
#include "broker/protocol/frame.h"

#include "broker/protocol/errors.h"
#include "broker/protocol/frame_reader.h"
#include "net-sim/network.h"
#include "sim/node.h"
#include "sim/world.h"
#include "tests/support/bytes.h"
#include "tests/support/sim_world.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>

namespace {

using keel::test::bytes_of;
using keel::test::append;

using namespace keel;
using namespace keel::protocol;

// A connection over a byte string: reads hand out at most `chunk_bytes` at a time (to exercise
// partial reads), then end of stream; writes are collected.
class MemoryConnection : public ConnectionImpl {
 public:
  MemoryConnection(Bytes incoming, std::size_t chunk_bytes) : incoming_(std::move(incoming)), chunk_(chunk_bytes) {}

  Result<std::size_t> read(std::span<std::byte> out, Instant) override {
    const std::size_t n = std::min({out.size(), chunk_, incoming_.size() - pos_});
    std::memcpy(out.data(), incoming_.data() + pos_, n);
    pos_ += n;
    ++reads_;
    return n;
  }
  Status write(std::span<const std::byte> data, Instant) override {
    const auto* p = reinterpret_cast<const std::uint8_t*>(data.data());
    written_.insert(written_.end(), p, p + data.size());
    return {};
  }
  void close() override {}
  const Address& peer() const override { return address_; }
  const Address& local() const override { return address_; }

  std::size_t consumed() const { return pos_; }
  std::size_t reads() const { return reads_; }
  const Bytes& written() const { return written_; }

 private:
  Bytes incoming_;
  std::size_t chunk_;
  std::size_t pos_ = 0;
  std::size_t reads_ = 0;
  Bytes written_;
  Address address_{"memory", 1};
};

struct MemoryPeer {
  MemoryConnection* impl;
  Connection connection;
};

MemoryPeer memory_peer(Bytes incoming, std::size_t chunk_bytes = 7) {
  auto impl = std::make_unique<MemoryConnection>(std::move(incoming), chunk_bytes);
  MemoryConnection* raw = impl.get();
  return MemoryPeer{raw, Connection(std::move(impl))};
}

Bytes frame_of_size(std::int32_t size) {
  Writer w;
  w.write_int32(size);
  for (std::int32_t i = 0; i < size; ++i) w.write_int8(static_cast<std::int8_t>(i));
  return w.take();
}

}  // namespace

TEST_CASE("frame: header versions follow the body's flexibility, ApiVersions responses stay v0", "[protocol]") {
  CHECK(request_header_version(ApiKey::produce, 8) == 1);
  CHECK(request_header_version(ApiKey::fetch, 12) == 2);
  CHECK(request_header_version(ApiKey::api_versions, 3) == 2);
  CHECK(request_header_version(ApiKey::api_versions, 2) == 1);
  CHECK(response_header_version(ApiKey::metadata, 9) == 1);
  CHECK(response_header_version(ApiKey::metadata, 8) == 0);
  CHECK(response_header_version(ApiKey::api_versions, 3) == 0);
  CHECK(response_header_version(ApiKey::create_topics, 5) == 1);
}

TEST_CASE("frame: request header v1 is key, version, correlation id and a nullable classic client id",
          "[protocol]") {
  RequestHeader h;
  h.api_key = 18;
  h.api_version = 0;
  h.correlation_id = 1;
  h.client_id = "c";
  const Bytes frame = encode_request_frame(h, ApiVersionsRequest{});
  CHECK(frame == bytes_of({0, 0, 0, 11, 0, 18, 0, 0, 0, 0, 0, 1, 0, 1, 'c'}));

  h.client_id.reset();
  Writer w;
  encode_request_header(w, h);
  CHECK(w.data() == bytes_of({0, 18, 0, 0, 0, 0, 0, 1, 0xff, 0xff}));
  Reader r(w.data());
  auto decoded = decode_request_header(r);
  REQUIRE(decoded.ok());
  CHECK(*decoded == h);
}

TEST_CASE("frame: librdkafka's ApiVersions v3 request: header v2 with a classic client id, compact body",
          "[protocol]") {
  RequestHeader h;
  h.api_key = 18;
  h.api_version = 3;
  h.correlation_id = 2;
  h.client_id = "rdkafka";
  ApiVersionsRequest body;
  body.client_software_name = "librdkafka";
  body.client_software_version = "2.0.2";
  Bytes expected = bytes_of({0, 0, 0, 0, 0, 18, 0, 3, 0, 0, 0, 2, 0, 7});
  append(expected, "rdkafka");
  expected.push_back(0);  // header tag buffer
  expected.push_back(11);
  append(expected, "librdkafka");
  expected.push_back(6);
  append(expected, "2.0.2");
  expected.push_back(0);  // body tag buffer
  expected[3] = static_cast<std::uint8_t>(expected.size() - 4);
  const Bytes frame = encode_request_frame(h, body);
  CHECK(frame == expected);

  Reader r{std::span(frame).subspan(4)};
  auto header = decode_request_header(r);
  REQUIRE(header.ok());
  CHECK(*header == h);
  auto decoded = decode<ApiVersionsRequest>(r, header->api_version);
  REQUIRE(decoded.ok());
  CHECK(*decoded == body);
  CHECK(r.remaining() == 0);
}

TEST_CASE("frame: Produce v3 request frame: header v1 then the classic body", "[protocol]") {
  RequestHeader h;
  h.api_key = 0;
  h.api_version = 3;
  h.correlation_id = 7;
  h.client_id = "p";
  ProduceRequest body;
  body.acks = 1;
  body.timeout_ms = 1500;
  const Bytes frame = encode_request_frame(h, body);
  CHECK(frame == bytes_of({0, 0, 0, 23, /*key*/ 0, 0, /*version*/ 0, 3, /*correlation*/ 0, 0, 0, 7,
                           /*client*/ 0, 1, 'p', /*transactional_id*/ 0xff, 0xff, /*acks*/ 0, 1,
                           /*timeout*/ 0, 0, 0x05, 0xdc, /*topic_data*/ 0, 0, 0, 0}));
}

TEST_CASE("frame: a flexible request header's tag buffer is skipped, unknown tags included", "[protocol]") {
  const Bytes header = bytes_of({0, 1, 0, 12, 0, 0, 0, 9, 0xff, 0xff, /*tags*/ 1, 5, 2, 0xaa, 0xbb, /*body*/ 0x42});
  Reader r(header);
  auto h = decode_request_header(r);
  REQUIRE(h.ok());
  CHECK(h->api_key == 1);
  CHECK(h->api_version == 12);
  CHECK(h->correlation_id == 9);
  CHECK_FALSE(h->client_id.has_value());
  CHECK(r.read_int8() == 0x42);
}

TEST_CASE("frame: an unknown key's header stops after the client id", "[protocol]") {
  // Key 99 is not known, so whether a tag buffer follows cannot be told; the server closes.
  const Bytes header = bytes_of({0, 99, 0, 7, 0, 0, 0, 3, 0, 1, 'x', 0x42});
  Reader r(header);
  auto h = decode_request_header(r);
  REQUIRE(h.ok());
  CHECK(h->api_key == 99);
  CHECK(h->correlation_id == 3);
  CHECK(r.remaining() == 1);
  // An unsupported version of a known key still has a readable header (ApiVersions v4 is flexible).
  const Bytes v4 = bytes_of({0, 18, 0, 4, 0, 0, 0, 5, 0, 0, 0});
  Reader r4(v4);
  auto h4 = decode_request_header(r4);
  REQUIRE(h4.ok());
  CHECK(h4->correlation_id == 5);
  CHECK(r4.remaining() == 0);
}

TEST_CASE("frame: a truncated request header is an error, never a crash", "[protocol]") {
  const Bytes header = bytes_of({0, 18, 0, 3, 0, 0, 0, 2, 0, 3, 'a', 'b', 'c', 0});
  for (std::size_t n = 0; n < header.size(); ++n) {
    const Bytes prefix(header.begin(), header.begin() + static_cast<std::ptrdiff_t>(n));
    Reader r(prefix);
    auto h = decode_request_header(r);
    INFO("prefix " << n);
    REQUIRE_FALSE(h.ok());
    CHECK_THAT(h.error().message, Catch::Contains("request header"));
  }
}

TEST_CASE("frame: response headers: v0 for classic bodies and ApiVersions, v1 with a tag buffer", "[protocol]") {
  MetadataResponse metadata;
  const Bytes v8 = encode_response_frame(5, ApiKey::metadata, 8, metadata);
  const Bytes v9 = encode_response_frame(5, ApiKey::metadata, 9, metadata);
  CHECK(Bytes(v8.begin(), v8.begin() + 8) == bytes_of({0, 0, 0, static_cast<int>(v8.size() - 4), 0, 0, 0, 5}));
  CHECK(v9[8] == 0);  // the v1 header's empty tag buffer

  Reader r8{std::span(v8).subspan(4)};
  auto c8 = decode_response_header(r8, ApiKey::metadata, 8);
  REQUIRE(c8.ok());
  CHECK(*c8 == 5);
  CHECK(decode<MetadataResponse>(r8, 8).ok());
  Reader r9{std::span(v9).subspan(4)};
  auto c9 = decode_response_header(r9, ApiKey::metadata, 9);
  REQUIRE(c9.ok());
  CHECK(*c9 == 5);
  auto body9 = decode<MetadataResponse>(std::span(v9).subspan(4 + r9.position()), 9);
  CHECK(body9.ok());

  ApiVersionsResponse versions;
  const Bytes av3 = encode_response_frame(6, ApiKey::api_versions, 3, versions);
  CHECK(Bytes(av3.begin() + 4, av3.begin() + 10) == bytes_of({0, 0, 0, 6, /*error_code*/ 0, 0}));
  Reader ra{std::span(av3).subspan(4)};
  CHECK(decode_response_header(ra, ApiKey::api_versions, 3).ok());
  CHECK(decode<ApiVersionsResponse>(ra, 3).ok());
  CHECK(ra.remaining() == 0);

  Reader empty;
  CHECK_FALSE(decode_response_header(empty, ApiKey::fetch, 12).ok());
}

TEST_CASE("frame: an unsupported ApiVersions version is answered with a v0 body listing ApiVersions", "[protocol]") {
  const Bytes frame = encode_api_versions_unsupported_frame(42);
  CHECK(frame == bytes_of({0, 0, 0, 16, /*correlation*/ 0, 0, 0, 42, /*UNSUPPORTED_VERSION*/ 0, 35,
                           /*api_keys*/ 0, 0, 0, 1, 0, 18, 0, 0, 0, 3}));
  Reader r{std::span(frame).subspan(4)};
  auto correlation = decode_response_header(r, ApiKey::api_versions, 0);
  REQUIRE(correlation.ok());
  CHECK(*correlation == 42);
  auto body = decode<ApiVersionsResponse>(r, 0);
  REQUIRE(body.ok());
  CHECK(body->error_code == to_int(ErrorCode::unsupported_version));
  REQUIRE(body->api_keys.size() == 1);
  CHECK(body->api_keys[0].api_key == 18);
  CHECK(body->api_keys[0].max_version == 3);
}

TEST_CASE("frame: error codes carry Kafka's names", "[protocol]") {
  CHECK(error_name(ErrorCode::none) == "NONE");
  CHECK(error_name(ErrorCode::unknown_server_error) == "UNKNOWN_SERVER_ERROR");
  CHECK(error_name(ErrorCode::not_leader_or_follower) == "NOT_LEADER_OR_FOLLOWER");
  CHECK(error_name(ErrorCode::unsupported_version) == "UNSUPPORTED_VERSION");
  CHECK(error_name(ErrorCode::unknown_topic_id) == "UNKNOWN_TOPIC_ID");
  CHECK(error_name(std::int16_t{76}) == "UNSUPPORTED_COMPRESSION_TYPE");
  CHECK(error_name(std::int16_t{-77}) == "UNKNOWN_ERROR_CODE");
  CHECK(to_int(ErrorCode::invalid_record) == 87);
  CHECK(is_retriable(ErrorCode::not_leader_or_follower));
  CHECK_FALSE(is_retriable(ErrorCode::topic_already_exists));
}

// ---- read_frame / write_frame ----

TEST_CASE("frame: read_frame returns one frame's bytes across partial reads", "[protocol]") {
  Bytes stream = frame_of_size(100'000);
  const Bytes second = frame_of_size(3);
  stream.insert(stream.end(), second.begin(), second.end());
  auto peer = memory_peer(stream, 997);
  auto first = read_frame(peer.connection, 1 << 20, instant_max);
  REQUIRE(first.ok());
  CHECK(first->size() == 100'000);
  CHECK((*first)[99'999] == static_cast<std::uint8_t>(99'999 & 0xff));
  auto next = read_frame(peer.connection, 1 << 20, instant_max);
  REQUIRE(next.ok());
  CHECK(*next == bytes_of({0, 1, 2}));
  auto end = read_frame(peer.connection, 1 << 20, instant_max);
  REQUIRE_FALSE(end.ok());
  CHECK(end.code() == Errc::closed);
}

TEST_CASE("frame: read_frame accepts a frame of exactly the limit and an empty frame", "[protocol]") {
  auto peer = memory_peer(frame_of_size(64));
  auto at_limit = read_frame(peer.connection, 64, instant_max);
  REQUIRE(at_limit.ok());
  CHECK(at_limit->size() == 64);
  auto empty = memory_peer(frame_of_size(0));
  auto zero = read_frame(empty.connection, 64, instant_max);
  REQUIRE(zero.ok());
  CHECK(zero->empty());
}

TEST_CASE("frame: read_frame refuses a frame above the limit and reads nothing more", "[protocol]") {
  auto peer = memory_peer(frame_of_size(65));
  auto refused = read_frame(peer.connection, 64, instant_max);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.code() == Errc::invalid_argument);
  CHECK_THAT(refused.error().message, Catch::Contains("65"));
  CHECK_THAT(refused.error().message, Catch::Contains("64"));
  CHECK(peer.impl->consumed() == 4);
}

TEST_CASE("frame: read_frame refuses a negative size and reads nothing more", "[protocol]") {
  Bytes stream = bytes_of({0xff, 0xff, 0xff, 0xfe, 1, 2, 3});
  auto peer = memory_peer(stream);
  auto refused = read_frame(peer.connection, 1 << 20, instant_max);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.code() == Errc::invalid_argument);
  CHECK_THAT(refused.error().message, Catch::Contains("-2"));
  CHECK(peer.impl->consumed() == 4);
}

TEST_CASE("frame: a frame cut short by the peer is an error", "[protocol]") {
  Bytes stream = frame_of_size(10);
  stream.resize(9);
  auto peer = memory_peer(stream);
  auto cut = read_frame(peer.connection, 100, instant_max);
  REQUIRE_FALSE(cut.ok());
  CHECK(cut.code() == Errc::closed);
  auto no_size = memory_peer(bytes_of({0, 0}));
  CHECK(read_frame(no_size.connection, 100, instant_max).code() == Errc::closed);
}

// ---- FrameReader ----

void append_frame(Bytes& stream, std::int32_t size) {
  const Bytes frame = frame_of_size(size);
  stream.insert(stream.end(), frame.begin(), frame.end());
}

// Whether `frame` is frame_of_size(size)'s body.
bool body_of_size(const Bytes& frame, std::size_t size) {
  if (frame.size() != size) return false;
  for (std::size_t i = 0; i < size; ++i) {
    if (frame[i] != static_cast<std::uint8_t>(i & 0xff)) return false;
  }
  return true;
}

TEST_CASE("frame reader: frames that arrived together come out of one read", "[protocol]") {
  Bytes stream;
  for (const std::int32_t size : {10, 300, 0, 5}) append_frame(stream, size);
  auto peer = memory_peer(stream, 1 << 20);
  FrameReader frames(peer.connection, 1 << 20);
  for (const std::size_t size : {10u, 300u, 0u, 5u}) {
    auto frame = frames.next(instant_max);
    REQUIRE(frame.ok());
    CHECK(body_of_size(*frame, size));
  }
  CHECK(peer.impl->reads() == 1);
  auto end = frames.next(instant_max);
  REQUIRE_FALSE(end.ok());
  CHECK(end.code() == Errc::closed);
}

TEST_CASE("frame reader: frames across partial reads, of the buffer's size and larger, come out whole", "[protocol]") {
  const std::vector<std::size_t> sizes{3, FrameReader::buffer_bytes - 1, FrameReader::buffer_bytes, 100'000, 7,
                                       FrameReader::buffer_bytes + 1, 1};
  for (const std::size_t chunk : {std::size_t{7}, std::size_t{997}, std::size_t{1} << 20}) {
    Bytes stream;
    for (const auto size : sizes) append_frame(stream, static_cast<std::int32_t>(size));
    auto peer = memory_peer(stream, chunk);
    FrameReader frames(peer.connection, 1 << 20);
    for (const auto size : sizes) {
      auto frame = frames.next(instant_max);
      REQUIRE(frame.ok());
      CHECK(body_of_size(*frame, size));
    }
    CHECK(peer.impl->consumed() == stream.size());
    CHECK(frames.next(instant_max).code() == Errc::closed);
  }
}

TEST_CASE("frame reader: a size above the limit or negative is refused, a cut frame is an error", "[protocol]") {
  auto above = memory_peer(frame_of_size(65));
  FrameReader above_frames(above.connection, 64);
  auto refused = above_frames.next(instant_max);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.code() == Errc::invalid_argument);
  CHECK_THAT(refused.error().message, Catch::Contains("65"));
  auto negative = memory_peer(bytes_of({0xff, 0xff, 0xff, 0xfe, 1, 2, 3}));
  FrameReader negative_frames(negative.connection, 1 << 20);
  CHECK(negative_frames.next(instant_max).code() == Errc::invalid_argument);
  Bytes cut = frame_of_size(10);
  cut.resize(9);
  auto cut_peer = memory_peer(cut);
  FrameReader cut_frames(cut_peer.connection, 100);
  CHECK(cut_frames.next(instant_max).code() == Errc::closed);
}

TEST_CASE("frame: write_frame sends the whole frame", "[protocol]") {
  auto peer = memory_peer({});
  const Bytes frame = encode_api_versions_unsupported_frame(1);
  REQUIRE(write_frame(peer.connection, frame, instant_max).ok());
  CHECK(peer.impl->written() == frame);
}

TEST_CASE("frame: a request and its response cross the simulated network; an oversized frame is refused",
          "[protocol][sim]") {
  sim::World world(test::world_options(7));
  test::add_nodes(world, 2);
  constexpr std::int32_t frame_bytes_max = 1000;
  std::optional<std::int32_t> answered_correlation;
  std::optional<Errc> oversized_error;
  bool done = false;

  // Node 1 serves: it answers one ApiVersions v4 request (unsupported) the way Kafka does, then
  // reads the next frame, which is too large.
  world.node(1).set_main([&](Runtime& rt) {
    auto listener = rt.net().listen(Address{"n1", 9092});
    KEEL_ASSERT(listener.ok());
    auto c = listener->accept();
    KEEL_ASSERT(c.ok());
    auto frame = read_frame(*c, frame_bytes_max, instant_max);
    KEEL_ASSERT(frame.ok());
    Reader r(*frame);
    auto header = decode_request_header(r);
    KEEL_ASSERT(header.ok());
    KEEL_ASSERT(!is_supported(header->api_key, header->api_version));
    KEEL_ASSERT(write_frame(*c, encode_api_versions_unsupported_frame(header->correlation_id), instant_max).ok());
    auto big = read_frame(*c, frame_bytes_max, instant_max);
    if (!big.ok()) oversized_error = big.code();
    c->close();
  });
  world.node(1).start();
  world.run_for(1ms);

  world.node(0).set_main([&](Runtime& rt) {
    auto c = rt.net().connect(Address{"n1", 9092}, 1s);
    KEEL_ASSERT(c.ok());
    Writer w;
    w.write_int32(0);
    RequestHeader h;
    h.api_key = 18;
    h.api_version = 4;
    h.correlation_id = 77;
    h.client_id = "sim";
    encode_request_header(w, h);
    w.write_compact_string("x");
    w.write_compact_string("1");
    w.write_empty_tagged_fields();
    w.patch_int32(0, static_cast<std::int32_t>(w.size() - 4));
    KEEL_ASSERT(write_frame(*c, w.data(), instant_max).ok());
    auto reply = read_frame(*c, 1 << 20, instant_max);
    KEEL_ASSERT(reply.ok());
    Reader r(*reply);
    auto correlation = decode_response_header(r, ApiKey::api_versions, 0);
    auto body = decode<ApiVersionsResponse>(r, 0);
    if (correlation.ok() && body.ok() && body->error_code == to_int(ErrorCode::unsupported_version)) {
      answered_correlation = *correlation;
    }
    KEEL_ASSERT(write_frame(*c, frame_of_size(frame_bytes_max + 1), instant_max).ok());
    done = true;
  });
  world.node(0).start();
  REQUIRE(world.run_while([&] { return !(done && oversized_error.has_value()); }, world.now() + 10s));
  CHECK(answered_correlation == std::optional<std::int32_t>(77));
  CHECK(oversized_error == std::optional<Errc>(Errc::invalid_argument));
}
