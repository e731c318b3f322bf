// Record batch v2: building, decoding, validation as a broker does it on Produce, the scan of a log's
// bytes, the in-place rewrites, control records, and what damage does.
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <string>

#include "broker/platform/random.h"
#include "broker/protocol/crc32c.h"
#include "broker/protocol/record_batch.h"
#include "broker/protocol/wire.h"
#include "tests/support/bytes.h"

using namespace keel;
using namespace keel::protocol;

namespace {

using keel::test::bytes_of;

constexpr Compression all_codecs[] = {Compression::none, Compression::gzip, Compression::snappy, Compression::lz4,
                                      Compression::zstd};

// Keys and values null, empty and not; headers with and without values; uneven sizes.
std::vector<Record> sample_records(int n, std::int64_t base_offset) {
  std::vector<Record> records;
  for (int i = 0; i < n; ++i) {
    Record r;
    r.offset = base_offset + i;
    r.timestamp = 1700000000000 + i * 3 - (i % 5 == 2 ? 1000 : 0);  // not monotonic: max != last
    if (i % 3 != 0) r.key = bytes_of(fmt::format("key-{}", i % 7));
    if (i % 11 == 5) r.key = Bytes();
    if (i % 5 != 4) r.value = bytes_of(fmt::format("value {} {}", i, std::string(static_cast<std::size_t>(i % 50), 'x')));
    if (i % 13 == 6) r.value = Bytes();
    if (i % 4 == 1) r.headers.push_back(RecordHeader{"h", bytes_of("v")});
    if (i % 8 == 2) r.headers.push_back(RecordHeader{"null-header", std::nullopt});
    if (i % 16 == 3) r.headers.push_back(RecordHeader{"", Bytes()});
    records.push_back(std::move(r));
  }
  return records;
}

std::int64_t max_timestamp_of(const std::vector<Record>& records) {
  std::int64_t m = -1;
  for (const auto& r : records) m = std::max(m, r.timestamp);
  return m;
}

// ---- hand-made batches, for damage the builder would never write ----

struct RawHeader {
  std::int64_t base_offset = 0;
  std::int16_t attributes = 0;
  std::int32_t last_offset_delta = 0;
  std::int64_t base_timestamp = 1000;
  std::int64_t max_timestamp = 1000;
  std::int64_t producer_id = -1;
  std::int16_t producer_epoch = -1;
  std::int32_t base_sequence = -1;
  std::int32_t count = 0;
};

RawHeader counts(std::int32_t last_offset_delta, std::int32_t count) {
  RawHeader h;
  h.last_offset_delta = last_offset_delta;
  h.count = count;
  return h;
}

RawHeader with_attributes(RawHeader h, std::int16_t attributes) {
  h.attributes = attributes;
  return h;
}

RawHeader with_producer(RawHeader h, std::int64_t producer_id, std::int32_t base_sequence) {
  h.producer_id = producer_id;
  h.producer_epoch = 0;
  h.base_sequence = base_sequence;
  return h;
}

void seal(Bytes& batch) {
  const std::uint32_t crc = crc32c(std::span<const std::uint8_t>(batch).subspan(21));
  for (int i = 0; i < 4; ++i) batch[17 + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(crc >> (24 - 8 * i));
}

Bytes raw_batch(const RawHeader& h, const Bytes& records) {
  Writer w;
  w.write_int64(h.base_offset);
  w.write_int32(static_cast<std::int32_t>(49 + records.size()));
  w.write_int32(-1);  // leader epoch
  w.write_int8(2);
  w.write_uint32(0);  // CRC, sealed below
  w.write_int16(h.attributes);
  w.write_int32(h.last_offset_delta);
  w.write_int64(h.base_timestamp);
  w.write_int64(h.max_timestamp);
  w.write_int64(h.producer_id);
  w.write_int16(h.producer_epoch);
  w.write_int32(h.base_sequence);
  w.write_int32(h.count);
  w.write_raw(records);
  Bytes out = w.take();
  seal(out);
  return out;
}

// One record: varint length, then attributes, deltas, key, value, header count (no headers).
Bytes raw_record(std::int32_t offset_delta, std::string_view key, std::string_view value) {
  Writer body;
  body.write_int8(0);
  body.write_varlong(0);
  body.write_varint(offset_delta);
  body.write_varint(static_cast<std::int32_t>(key.size()));
  body.write_raw(std::span(reinterpret_cast<const std::uint8_t*>(key.data()), key.size()));
  body.write_varint(static_cast<std::int32_t>(value.size()));
  body.write_raw(std::span(reinterpret_cast<const std::uint8_t*>(value.data()), value.size()));
  body.write_varint(0);
  Writer out;
  out.write_varint(static_cast<std::int32_t>(body.size()));
  out.write_raw(body.data());
  return out.take();
}

Bytes records_with_deltas(std::initializer_list<std::int32_t> deltas, std::string_view value = "v") {
  Bytes out;
  for (auto d : deltas) {
    const Bytes r = raw_record(d, "k", value);
    out.insert(out.end(), r.begin(), r.end());
  }
  return out;
}

void check_refused(const Bytes& batch, Errc code, std::string_view says) {
  auto st = validate_batch_for_append(batch);
  REQUIRE_FALSE(st);
  CHECK(st.error().code == code);
  CHECK_THAT(st.error().message, Catch::Contains(std::string(says)));
}

}  // namespace

TEST_CASE("record batch: build and decode round-trip with every codec, keeping every field", "[records]") {
  for (auto codec : all_codecs) {
    INFO(compression_name(codec));
    BatchOptions options;
    options.base_offset = 1000;
    options.compression = codec;
    options.producer_id = 77;
    options.producer_epoch = 3;
    options.base_sequence = 12;
    options.transactional = true;
    options.partition_leader_epoch = 4;
    const auto records = sample_records(500, 1000);
    const Bytes batch = build_batch(options, records);
    REQUIRE(verify_batch_crc(batch));
    REQUIRE(validate_batch_for_append(batch));
    auto header = parse_batch_header(batch);
    REQUIRE(header);
    CHECK(header->size_bytes() == batch.size());
    CHECK(header->compression() == codec);
    CHECK(header->is_transactional());
    CHECK_FALSE(header->is_control());
    CHECK_FALSE(header->log_append_time());
    CHECK(header->partition_leader_epoch == 4);
    CHECK(header->last_offset() == 1499);
    CHECK(header->records_count == 500);
    CHECK(header->producer_id == 77);
    CHECK(header->producer_epoch == 3);
    CHECK(header->base_sequence == 12);
    CHECK(header->base_timestamp == records.front().timestamp);
    CHECK(header->max_timestamp == max_timestamp_of(records));
    auto decoded = decode_records(batch);
    REQUIRE(decoded);
    CHECK(*decoded == records);
  }
}

TEST_CASE("record batch: one record with an empty value, one with nulls, and many small ones round-trip", "[records]") {
  for (auto codec : all_codecs) {
    INFO(compression_name(codec));
    BatchOptions options;
    options.compression = codec;
    Record empty_value;
    empty_value.timestamp = 5;
    empty_value.key = bytes_of("k");
    empty_value.value = Bytes();
    Record nulls;
    nulls.timestamp = -1;
    std::vector<std::vector<Record>> cases{{empty_value}, {nulls}};
    std::vector<Record> many;
    for (int i = 0; i < 20000; ++i) {
      Record r;
      r.offset = i;
      r.timestamp = 1000 + i;
      r.value = Bytes{static_cast<std::uint8_t>(i)};
      many.push_back(std::move(r));
    }
    cases.push_back(std::move(many));
    for (const auto& records : cases) {
      const Bytes batch = build_batch(options, records);
      REQUIRE(validate_batch_for_append(batch));
      auto decoded = decode_records(batch);
      REQUIRE(decoded);
      CHECK(*decoded == records);
    }
  }
}

TEST_CASE("record batch: build_batch writes the bytes of the format, field by field", "[records]") {
  Record r;
  r.offset = 7;
  r.timestamp = 1479847795005;
  r.key = Bytes{1, 2, 3, 4};
  r.value = Bytes{5, 6, 7};
  r.headers.push_back(RecordHeader{"\x08\x09\x0a", Bytes{11, 12}});
  BatchOptions options;
  options.base_offset = 7;
  const Bytes built = build_batch(options, std::span(&r, 1));
  RawHeader h;
  h.base_offset = 7;
  h.base_timestamp = 1479847795005;
  h.max_timestamp = 1479847795005;
  h.count = 1;
  const Bytes record{40, 0, 0, 0, 8, 1, 2, 3, 4, 6, 5, 6, 7, 2, 6, 8, 9, 10, 4, 11, 12};
  CHECK(built == raw_batch(h, record));
}

TEST_CASE("record batch: batches from another encoder (with their CRCs) decode", "[records]") {
  // An uncompressed batch with one record and one header, and an empty control batch, as sarama's
  // tests encode them: their CRCs were computed by a different implementation.
  Writer w;
  w.write_int64(0);
  w.write_int32(70);
  w.write_int32(0);
  w.write_int8(2);
  w.write_uint32(0x547961FDu);
  w.write_int16(0);
  w.write_int32(0);
  w.write_int64(1479847795000);
  w.write_int64(0);
  w.write_int64(0);
  w.write_int16(0);
  w.write_int32(0);
  w.write_int32(1);
  w.write_raw(Bytes{40, 0, 10, 0, 8, 1, 2, 3, 4, 6, 5, 6, 7, 2, 6, 8, 9, 10, 4, 11, 12});
  const Bytes batch = w.take();
  REQUIRE(verify_batch_crc(batch));
  auto records = decode_records(batch);
  REQUIRE(records);
  REQUIRE(records->size() == 1);
  const Record& r = records->front();
  CHECK(r.offset == 0);
  CHECK(r.timestamp == 1479847795005);
  CHECK(r.key == Bytes{1, 2, 3, 4});
  CHECK(r.value == Bytes{5, 6, 7});
  REQUIRE(r.headers.size() == 1);
  CHECK(r.headers[0].key == "\x08\x09\x0a");
  CHECK(r.headers[0].value == Bytes{11, 12});

  Writer c;
  c.write_int64(0);
  c.write_int32(49);
  c.write_int32(0);
  c.write_int8(2);
  c.write_uint32(0x512E43D9u);
  c.write_int16(0x20);  // attributes: control
  c.write_int32(0);     // last offset delta
  c.write_int64(0);     // base timestamp
  c.write_int64(0);     // max timestamp
  c.write_int64(0);     // producer id
  c.write_int16(0);     // producer epoch
  c.write_int32(0);     // base sequence
  c.write_int32(0);     // records count
  const Bytes control = c.take();
  REQUIRE(control.size() == 61);
  REQUIRE(verify_batch_crc(control));
  auto none = decode_records(control);
  REQUIRE(none);
  CHECK(none->empty());
  CHECK(parse_batch_header(control)->is_control());
}

TEST_CASE("record batch: base offset and leader epoch rewrites keep the CRC; log-append-time updates it", "[records]") {
  for (auto codec : all_codecs) {
    INFO(compression_name(codec));
    BatchOptions options;
    options.compression = codec;
    Bytes batch = build_batch(options, sample_records(5, 0));
    set_base_offset(batch, 500);
    set_partition_leader_epoch(batch, 9);
    REQUIRE(verify_batch_crc(batch));
    auto decoded = decode_records(batch);
    REQUIRE(decoded);
    CHECK(decoded->front().offset == 500);
    CHECK(decoded->back().offset == 504);
    CHECK(parse_batch_header(batch)->partition_leader_epoch == 9);
    set_log_append_time(batch, 1234);
    REQUIRE(verify_batch_crc(batch));
    CHECK(parse_batch_header(batch)->log_append_time());
    CHECK(parse_batch_header(batch)->compression() == codec);
    decoded = decode_records(batch);
    REQUIRE(decoded);
    for (const auto& r : *decoded) CHECK(r.timestamp == 1234);
  }
}

TEST_CASE("record batch: every flipped byte is caught by validation, and nothing reads out of bounds", "[records]") {
  for (auto codec : all_codecs) {
    INFO(compression_name(codec));
    BatchOptions options;
    options.compression = codec;
    const Bytes original = build_batch(options, sample_records(6, 0));
    for (std::size_t i = 0; i < original.size(); ++i) {
      INFO("byte " << i);
      Bytes damaged = original;
      damaged[i] ^= 0x5A;
      // Only the base offset and the leader epoch lie outside both the CRC and the length.
      const bool free_field = i < 8 || (i >= 12 && i < 16);
      CHECK(static_cast<bool>(validate_batch_for_append(damaged)) == free_field);
      (void)decode_records(damaged);
      (void)scan_batches(damaged, true);
      (void)scan_batches(damaged, false);
    }
  }
}

TEST_CASE("record batch: flipped record bytes under a fresh CRC are errors or other records, never a crash",
          "[records]") {
  for (auto codec : all_codecs) {
    INFO(compression_name(codec));
    BatchOptions options;
    options.compression = codec;
    const Bytes original = build_batch(options, sample_records(6, 0));
    int refused = 0;
    for (std::size_t i = batch_header_bytes; i < original.size(); ++i) {
      for (std::uint8_t flip : {std::uint8_t{0x01}, std::uint8_t{0x80}, std::uint8_t{0xFF}}) {
        Bytes damaged = original;
        damaged[i] ^= flip;
        seal(damaged);
        auto decoded = decode_records(damaged);
        const bool valid = static_cast<bool>(validate_batch_for_append(damaged));
        if (!decoded || !valid) ++refused;
        if (decoded) CHECK(decoded->size() == 6);
      }
    }
    CHECK(refused > 0);
  }
}

TEST_CASE("record batch: every truncation of a batch is refused", "[records]") {
  const Bytes batch = build_batch(BatchOptions{}, sample_records(4, 0));
  for (std::size_t n = 0; n < batch.size(); ++n) {
    const auto cut = std::span(batch).first(n);
    REQUIRE_FALSE(validate_batch_for_append(cut));
    REQUIRE_FALSE(decode_records(cut));
    REQUIRE_FALSE(verify_batch_crc(cut));
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
  REQUIRE(whole.batches.size() == 2);
  CHECK(whole.batches[1].first == first);
  CHECK(whole.batches[1].second.base_offset == 3);
  CHECK(whole.valid_bytes == two.size());
  CHECK_FALSE(whole.torn_tail);
  CHECK_FALSE(whole.corruption);
  for (std::size_t cut = first + 1; cut < two.size(); ++cut) {
    auto torn = scan_batches(std::span(two).first(cut), true);
    CHECK(torn.batches.size() == 1);
    CHECK(torn.valid_bytes == first);
    CHECK(torn.torn_tail);
    CHECK_FALSE(torn.corruption);
  }
  Bytes flipped = two;
  flipped[first + 70] ^= 1;
  auto bad = scan_batches(flipped, true);
  CHECK(bad.batches.size() == 1);
  CHECK(bad.valid_bytes == first);
  REQUIRE(bad.corruption);
  CHECK_THAT(bad.corruption->message, Catch::Contains("CRC mismatch"));
  CHECK(scan_batches(flipped, false).batches.size() == 2);  // without the CRC, the damage is not seen

  Bytes zeros = two;
  zeros.resize(first + 30, 0);
  std::fill(zeros.begin() + static_cast<std::ptrdiff_t>(first), zeros.end(), 0);
  auto zeroed = scan_batches(zeros, true);
  CHECK(zeroed.valid_bytes == first);
  CHECK(zeroed.corruption);  // a zero length cannot begin a batch, however short the tail
  Bytes wrong_magic = two;
  wrong_magic.resize(first + 20);
  wrong_magic[first + 16] = 1;
  CHECK(scan_batches(wrong_magic, true).corruption);
}

TEST_CASE("record batch: validation names each kind of damage, with Kafka's error class", "[records]") {
  const Bytes good = raw_batch(counts(2, 3), records_with_deltas({0, 1, 2}));
  REQUIRE(validate_batch_for_append(good));

  Bytes magic = good;
  magic[16] = 1;
  check_refused(magic, Errc::invalid_argument, "magic 1");

  Bytes crc = good;
  crc[70] ^= 0x10;
  check_refused(crc, Errc::corrupt, "CRC mismatch");

  Bytes longer = good;
  longer.push_back(0);
  check_refused(longer, Errc::corrupt, fmt::format("says {} bytes but has {}", good.size(), longer.size()));

  check_refused(raw_batch(counts(2, 4), records_with_deltas({0, 1, 2})),
                Errc::invalid_argument, "last offset delta 2 disagrees with its 4 records");
  check_refused(raw_batch(counts(3, 4), records_with_deltas({0, 1, 2}, "long value")),
                Errc::invalid_argument, "says 4 records but holds 3");
  check_refused(raw_batch(counts(2, 3), records_with_deltas({0, 1, 3})),
                Errc::invalid_argument, "offset delta 3 where 2 was expected");
  check_refused(raw_batch(counts(1, 2), records_with_deltas({0, 1, 2})),
                Errc::invalid_argument, "bytes after its 2 records");
  check_refused(raw_batch(counts(-1, 0), Bytes()), Errc::invalid_argument,
                "invalid record count 0");
  check_refused(raw_batch(counts(2147483646, 2147483647), records_with_deltas({0})),
                Errc::invalid_argument, "claims 2147483647 records");
  check_refused(raw_batch(with_attributes(counts(2, 3), 0x20), records_with_deltas({0, 1, 2})),
                Errc::invalid_argument, "control batches");
  check_refused(raw_batch(with_attributes(counts(2, 3), 5), records_with_deltas({0, 1, 2})),
                Errc::invalid_argument, "unknown compression codec 5");
  check_refused(raw_batch(with_producer(counts(2, 3), 42, -1), records_with_deltas({0, 1, 2})),
                Errc::invalid_argument, "invalid base sequence -1 with producer id 42");
}

TEST_CASE("record batch: record lengths that are negative, too small or run past the batch are refused", "[records]") {
  const auto with_first_length = [](std::uint8_t zigzag_length) {
    Bytes records = records_with_deltas({0, 1});
    records[0] = zigzag_length;
    return raw_batch(counts(1, 2), records);
  };
  check_refused(with_first_length(0x01), Errc::invalid_argument, "length -1 is below the minimum 6");
  check_refused(with_first_length(0x04), Errc::invalid_argument, "length 2 is below the minimum 6");
  check_refused(with_first_length(0x7E), Errc::invalid_argument, "length 63 runs past the batch");
  // A record whose length leaves bytes after its last field, and one whose key runs past its length.
  check_refused(with_first_length(0x12), Errc::invalid_argument, "leaves 1 bytes after its last field");
  check_refused(with_first_length(0x0C), Errc::invalid_argument, "bad value length");
  // A varint that never ends.
  Bytes endless = records_with_deltas({0});
  std::fill(endless.begin(), endless.begin() + 6, 0xFF);
  check_refused(raw_batch(counts(0, 1), endless), Errc::invalid_argument,
                "unreadable length");
  // A header with a null key, and more headers than bytes.
  Writer body;
  body.write_int8(0);
  body.write_varlong(0);
  body.write_varint(0);
  body.write_varint(-1);
  body.write_varint(-1);
  body.write_varint(1);
  body.write_varint(-1);
  body.write_varint(-1);
  Writer rec;
  rec.write_varint(static_cast<std::int32_t>(body.size()));
  rec.write_raw(body.data());
  check_refused(raw_batch(counts(0, 1), rec.data()), Errc::invalid_argument,
                "header 0: null key");
  Bytes many_headers = rec.data();
  many_headers[6] = 0x7E;  // 63 headers in 2 bytes
  check_refused(raw_batch(counts(0, 1), many_headers), Errc::invalid_argument,
                "63 headers cannot fit");
}

TEST_CASE("record batch: compacted batches with gaps in their offsets decode, but Produce refuses them", "[records]") {
  std::vector<Record> kept = sample_records(3, 0);
  kept[1].offset = 4;
  kept[2].offset = 9;
  const Bytes batch = build_batch(BatchOptions{}, kept);
  CHECK(parse_batch_header(batch)->last_offset() == 9);
  auto decoded = decode_records(batch);
  REQUIRE(decoded);
  CHECK(*decoded == kept);
  CHECK_FALSE(validate_batch_for_append(batch));

  const Bytes falling = raw_batch(counts(3, 2), records_with_deltas({2, 1}));
  auto refused = decode_records(falling);
  REQUIRE_FALSE(refused);
  CHECK_THAT(refused.error().message, Catch::Contains("does not rise"));
  const Bytes beyond = raw_batch(counts(1, 2), records_with_deltas({0, 5}));
  auto past = decode_records(beyond);
  REQUIRE_FALSE(past);
  CHECK_THAT(past.error().message, Catch::Contains("beyond the batch's last offset delta 1"));
}

TEST_CASE("record batch: a compressed batch inflating past the bound is refused", "[records]") {
  std::vector<Record> big;
  for (int i = 0; i < 4; ++i) {
    Record r;
    r.offset = i;
    r.timestamp = 1;
    r.value = Bytes(1 << 20, 'z');
    big.push_back(std::move(r));
  }
  BatchOptions options;
  options.compression = Compression::zstd;
  const Bytes batch = build_batch(options, big);
  CHECK(batch.size() < 10000);
  REQUIRE(validate_batch_for_append(batch));
  auto st = validate_batch_for_append(batch, 1 << 20);
  REQUIRE_FALSE(st);
  CHECK_THAT(st.error().message, Catch::Contains("more than 1048576 bytes"));
  CHECK_FALSE(decode_records(batch, 1 << 20));
}

TEST_CASE("record batch: for_each_record walks views in order and stops at the visitor's error", "[records]") {
  const auto records = sample_records(10, 50);
  BatchOptions options;
  options.base_offset = 50;
  options.compression = Compression::lz4;
  const Bytes batch = build_batch(options, records);
  std::size_t seen = 0;
  auto st = for_each_record(batch, [&](const RecordView& v) -> Status {
    const Record& r = records[seen++];
    CHECK(v.offset == r.offset);
    CHECK(v.timestamp == r.timestamp);
    CHECK(v.key.has_value() == r.key.has_value());
    if (v.value) CHECK(Bytes(v.value->begin(), v.value->end()) == *r.value);
    CHECK(v.headers_count == static_cast<std::int32_t>(r.headers.size()));
    return {};
  });
  CHECK(st);
  CHECK(seen == records.size());
  seen = 0;
  st = for_each_record(batch, [&](const RecordView&) -> Status {
    return ++seen == 3 ? Status(make_error(Errc::invalid_argument, "stop here")) : Status();
  });
  REQUIRE_FALSE(st);
  CHECK(st.error().message == "stop here");
  CHECK(seen == 3);
}

TEST_CASE("record batch: transaction markers build, decode and are refused on Produce", "[records]") {
  BatchOptions options;
  options.base_offset = 90;
  options.control = true;
  options.transactional = true;
  options.producer_id = 5;
  options.producer_epoch = 2;
  EndTxnMarker commit;
  commit.commit = true;
  commit.coordinator_epoch = 17;
  const Record marker = make_end_txn_marker(commit, 90, 4242);
  const Bytes batch = build_batch(options, std::span(&marker, 1));
  auto header = parse_batch_header(batch);
  REQUIRE(header);
  CHECK(header->is_control());
  CHECK(header->is_transactional());
  auto records = decode_records(batch);
  REQUIRE(records);
  REQUIRE(records->size() == 1);
  CHECK(control_record_type(records->front()).value() == ControlRecordType::commit);
  auto decoded = decode_end_txn_marker(records->front());
  REQUIRE(decoded);
  CHECK(decoded->commit);
  CHECK(decoded->coordinator_epoch == 17);
  CHECK(make_end_txn_marker(EndTxnMarker{}, 0, 0).key == Bytes{0, 0, 0, 0});  // abort = type 0
  check_refused(batch, Errc::invalid_argument, "control batches");

  Record odd;
  odd.key = Bytes{0, 0, 0, 9};
  CHECK(control_record_type(odd).value() == ControlRecordType::unknown);
  CHECK_FALSE(decode_end_txn_marker(odd));
  odd.key = Bytes{0, 0};
  CHECK_FALSE(control_record_type(odd));
  odd.key = Bytes{0, 0, 0, 1};
  odd.value = Bytes{0, 0, 0};
  auto short_value = decode_end_txn_marker(odd);
  REQUIRE_FALSE(short_value);
  CHECK_THAT(short_value.error().message, Catch::Contains("needs 6"));
}

TEST_CASE("record batch: random damage to headers and records under a fresh CRC never crashes a reader", "[records]") {
  Random random(2024);
  for (auto codec : all_codecs) {
    INFO(compression_name(codec));
    BatchOptions options;
    options.compression = codec;
    const Bytes original = build_batch(options, sample_records(12, 0));
    for (int round = 0; round < 400; ++round) {
      Bytes damaged = original;
      const auto changes = 1 + random.below(4);
      for (std::uint64_t c = 0; c < changes; ++c) {
        // Anywhere after the CRC: attributes, counts, deltas, timestamps, and the records themselves.
        const auto at = 21 + random.below(damaged.size() - 21);
        damaged[at] = static_cast<std::uint8_t>(random.below(256));
      }
      if (random.chance(0.2)) damaged.resize(batch_header_bytes + random.below(damaged.size() - batch_header_bytes));
      if (damaged.size() >= batch_header_bytes) {
        const auto length = static_cast<std::int32_t>(damaged.size() - log_overhead_bytes);
        for (int i = 0; i < 4; ++i) damaged[8 + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(length >> (24 - 8 * i));
        seal(damaged);
      }
      auto decoded = decode_records(damaged, 1 << 20);
      if (decoded) CHECK(decoded->size() == static_cast<std::size_t>(parse_batch_header(damaged)->records_count));
      (void)validate_batch_for_append(damaged, 1 << 20);
      (void)for_each_record(damaged, [](const RecordView&) -> Status { return {}; }, 1 << 20);
      (void)scan_batches(damaged, true);
    }
  }
}
