// CRC32C, record batch v2 and the codecs.
#include <catch2/catch.hpp>

#include <snappy.h>

#include <string>

#include "broker/platform/random.h"
#include "broker/protocol/compression.h"
#include "broker/protocol/crc32c.h"
#include "broker/protocol/record_batch.h"

using namespace keel;
using namespace keel::protocol;

namespace {

Bytes bytes_of(std::string_view s) { return Bytes(s.begin(), s.end()); }

std::vector<Record> sample_records(int n, std::int64_t base_offset) {
  std::vector<Record> records;
  for (int i = 0; i < n; ++i) {
    Record r;
    r.offset = base_offset + i;
    r.timestamp = 1700000000000 + i * 3;
    if (i % 3 != 0) r.key = bytes_of(fmt::format("key-{}", i % 7));
    if (i % 5 != 4) r.value = bytes_of(fmt::format("value {} {}", i, std::string(static_cast<std::size_t>(i % 50), 'x')));
    if (i % 4 == 1) r.headers.push_back(RecordHeader{"h", bytes_of("v")});
    if (i % 8 == 2) r.headers.push_back(RecordHeader{"null-header", std::nullopt});
    records.push_back(std::move(r));
  }
  return records;
}

}  // namespace

TEST_CASE("crc32c: known vectors match with the table and the instruction", "[records]") {
  const auto check = [](const Bytes& data, std::uint32_t expected) {
    CHECK(crc32c_table(data) == expected);
    CHECK(crc32c_hardware(data) == expected);
    CHECK(crc32c(data) == expected);
  };
  check(bytes_of("123456789"), 0xE3069283u);
  check(Bytes(32, 0x00), 0x8A9136AAu);
  check(Bytes(32, 0xFF), 0x62A8AB43u);
  Bytes ascending(32);
  for (std::size_t i = 0; i < 32; ++i) ascending[i] = static_cast<std::uint8_t>(i);
  check(ascending, 0x46DD794Eu);
  Bytes descending(32);
  for (std::size_t i = 0; i < 32; ++i) descending[i] = static_cast<std::uint8_t>(31 - i);
  check(descending, 0x113FDB5Cu);
  check(Bytes(), 0u);
}

TEST_CASE("crc32c: instruction and table agree at every length and alignment, and extend", "[records]") {
  Random random(42);
  Bytes data(340);
  for (auto& b : data) b = static_cast<std::uint8_t>(random.below(256));
  for (std::size_t offset = 0; offset < 8; ++offset) {
    for (std::size_t n = 0; n + offset <= 300; ++n) {
      const std::span<const std::uint8_t> s(data.data() + offset, n);
      REQUIRE(crc32c_table(s) == crc32c_hardware(s));
    }
  }
  const std::span<const std::uint8_t> all(data);
  CHECK(crc32c(all.subspan(100), crc32c(all.first(100))) == crc32c(all));
}

TEST_CASE("record batch: build and decode round-trip with every codec", "[records]") {
  for (auto codec : {Compression::none, Compression::gzip, Compression::snappy, Compression::lz4, Compression::zstd}) {
    INFO(compression_name(codec));
    BatchOptions options;
    options.base_offset = 1000;
    options.compression = codec;
    options.producer_id = 77;
    options.producer_epoch = 3;
    options.base_sequence = 12;
    const auto records = sample_records(200, 1000);
    const Bytes batch = build_batch(options, records);
    REQUIRE(verify_batch_crc(batch));
    REQUIRE(validate_batch_for_append(batch));
    auto header = parse_batch_header(batch);
    REQUIRE(header);
    CHECK(header->compression() == codec);
    CHECK(header->last_offset() == 1199);
    CHECK(header->records_count == 200);
    CHECK(header->producer_id == 77);
    CHECK(header->max_timestamp == records.back().timestamp);
    auto decoded = decode_records(batch);
    REQUIRE(decoded);
    CHECK(*decoded == records);
  }
}

TEST_CASE("record batch: base offset and leader epoch rewrites keep the CRC; log-append-time updates it", "[records]") {
  Bytes batch = build_batch(BatchOptions{}, sample_records(5, 0));
  set_base_offset(batch, 500);
  set_partition_leader_epoch(batch, 9);
  REQUIRE(verify_batch_crc(batch));
  auto decoded = decode_records(batch);
  REQUIRE(decoded);
  CHECK(decoded->front().offset == 500);
  CHECK(parse_batch_header(batch)->partition_leader_epoch == 9);
  set_log_append_time(batch, 1234);
  REQUIRE(verify_batch_crc(batch));
  decoded = decode_records(batch);
  REQUIRE(decoded);
  for (const auto& r : *decoded) CHECK(r.timestamp == 1234);
}

TEST_CASE("record batch: every flipped byte is caught, never a crash", "[records]") {
  const Bytes original = build_batch(BatchOptions{}, sample_records(6, 0));
  for (std::size_t i = 0; i < original.size(); ++i) {
    Bytes damaged = original;
    damaged[i] ^= 0x5A;
    // Only the base offset and the leader epoch may change without the batch turning invalid.
    const bool free_field = i < 8 || (i >= 12 && i < 16);
    if (!free_field) CHECK_FALSE(validate_batch_for_append(damaged));
    (void)decode_records(damaged);  // must not crash or read out of bounds
    (void)scan_batches(damaged, true);
  }
}

TEST_CASE("record batch: scan tells a torn tail from corruption", "[records]") {
  Bytes two = build_batch(BatchOptions{}, sample_records(3, 0));
  const std::size_t first = two.size();
  BatchOptions second;
  second.base_offset = 3;
  const Bytes b2 = build_batch(second, sample_records(4, 3));
  two.insert(two.end(), b2.begin(), b2.end());
  auto whole = scan_batches(two, true);
  CHECK(whole.batches.size() == 2);
  CHECK(whole.valid_bytes == two.size());
  CHECK_FALSE(whole.torn_tail);
  CHECK_FALSE(whole.corruption);
  for (std::size_t cut = first + 1; cut < two.size(); cut += 7) {
    auto torn = scan_batches(std::span(two).first(cut), true);
    CHECK(torn.batches.size() == 1);
    CHECK(torn.valid_bytes == first);
    CHECK(torn.torn_tail);
  }
  Bytes flipped = two;
  flipped[first + 70] ^= 1;
  auto bad = scan_batches(flipped, true);
  CHECK(bad.batches.size() == 1);
  REQUIRE(bad.corruption);
  CHECK_THAT(bad.corruption->message, Catch::Contains("CRC"));
}

TEST_CASE("record batch: validation names what is wrong", "[records]") {
  Bytes batch = build_batch(BatchOptions{}, sample_records(4, 0));
  batch[16] = 1;  // magic
  auto st = validate_batch_for_append(batch);
  REQUIRE_FALSE(st);
  CHECK_THAT(st.error().message, Catch::Contains("magic 1"));
  // A count that disagrees with the records: rebuild with a wrong count and a fresh CRC.
  Bytes lying = build_batch(BatchOptions{}, sample_records(4, 0));
  lying[60] = 5;
  set_log_append_time(lying, 1);  // recomputes the CRC
  st = validate_batch_for_append(lying);
  REQUIRE_FALSE(st);
  CHECK(st.error().code == Errc::invalid_argument);
}

TEST_CASE("compression: xerial-framed snappy (the Java client's) decodes", "[records]") {
  const Bytes data = bytes_of(std::string(5000, 'k') + "tail");
  std::string block;
  snappy::Compress(reinterpret_cast<const char*>(data.data()), data.size(), &block);
  Bytes framed{0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0x00, 0, 0, 0, 1, 0, 0, 0, 1};
  for (int i = 0; i < 2; ++i) {
    const auto n = static_cast<std::uint32_t>(block.size());
    framed.insert(framed.end(), {static_cast<std::uint8_t>(n >> 24), static_cast<std::uint8_t>(n >> 16),
                                 static_cast<std::uint8_t>(n >> 8), static_cast<std::uint8_t>(n)});
    framed.insert(framed.end(), block.begin(), block.end());
  }
  auto out = decompress(Compression::snappy, framed, 1 << 20);
  REQUIRE(out);
  Bytes expected = data;
  expected.insert(expected.end(), data.begin(), data.end());
  CHECK(*out == expected);
}

TEST_CASE("compression: corrupt input is an error and a bomb above the limit is refused", "[records]") {
  const Bytes big(4 << 20, 0);
  for (auto codec : {Compression::gzip, Compression::snappy, Compression::lz4, Compression::zstd}) {
    INFO(compression_name(codec));
    auto packed = compress(codec, big);
    REQUIRE(packed);
    CHECK(packed->size() < big.size() / 10);
    auto bomb = decompress(codec, *packed, 1 << 20);
    REQUIRE_FALSE(bomb);
    CHECK_THAT(bomb.error().message, Catch::Contains("more than"));
    auto fine = decompress(codec, *packed, big.size());
    REQUIRE(fine);
    CHECK(fine->size() == big.size());
    Bytes broken = *packed;
    broken.resize(broken.size() / 2);
    CHECK_FALSE(decompress(codec, broken, big.size()));
    Bytes garbage = bytes_of("this is not compressed data at all, not in any codec");
    CHECK_FALSE(decompress(codec, garbage, 1 << 20));
  }
}
