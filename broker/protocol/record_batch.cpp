#include "broker/protocol/record_batch.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "broker/platform/assert.h"
#include "broker/protocol/crc32c.h"

namespace keel::protocol {
namespace {

// Header field offsets (kafka-clients-and-protocol.md §6).
constexpr std::size_t off_base_offset = 0;
constexpr std::size_t off_length = 8;
constexpr std::size_t off_leader_epoch = 12;
constexpr std::size_t off_magic = 16;
constexpr std::size_t off_crc = 17;
constexpr std::size_t off_attributes = 21;
constexpr std::size_t off_last_offset_delta = 23;
constexpr std::size_t off_base_timestamp = 27;
constexpr std::size_t off_max_timestamp = 35;
constexpr std::size_t off_producer_id = 43;
constexpr std::size_t off_producer_epoch = 51;
constexpr std::size_t off_base_sequence = 53;
constexpr std::size_t off_records_count = 57;

template <class T>
T load_be(const std::uint8_t* p) {
  std::make_unsigned_t<T> v = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i) v = static_cast<std::make_unsigned_t<T>>(v << 8 | p[i]);
  return static_cast<T>(v);
}

template <class T>
void store_be(std::uint8_t* p, T value) {
  auto v = static_cast<std::make_unsigned_t<T>>(value);
  for (std::size_t i = sizeof(T); i-- > 0;) {
    p[i] = static_cast<std::uint8_t>(v & 0xFF);
    v = static_cast<std::make_unsigned_t<T>>(v >> 8);
  }
}

Error corrupt(std::string message) { return Error{Errc::corrupt, std::move(message)}; }

void update_crc(std::span<std::uint8_t> batch) {
  store_be<std::uint32_t>(batch.data() + off_crc, crc32c(batch.subspan(off_attributes)));
}

// ---- one record ----

// Reads a zig-zag varint of at most `max_bytes` bytes.
bool read_varlong(std::span<const std::uint8_t> in, std::size_t& pos, std::int64_t& out, std::size_t max_bytes) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < max_bytes; ++i) {
    if (pos >= in.size()) return false;
    const std::uint8_t b = in[pos++];
    v |= std::uint64_t{b & 0x7Fu} << (7 * i);
    if ((b & 0x80) == 0) {
      out = static_cast<std::int64_t>(v >> 1) ^ -static_cast<std::int64_t>(v & 1);
      return true;
    }
  }
  return false;
}

bool read_varint(std::span<const std::uint8_t> in, std::size_t& pos, std::int32_t& out) {
  std::int64_t v = 0;
  if (!read_varlong(in, pos, v, 5) || v < INT32_MIN || v > INT32_MAX) return false;
  out = static_cast<std::int32_t>(v);
  return true;
}

// A length-prefixed field: -1 is null.
bool read_blob(std::span<const std::uint8_t> in, std::size_t& pos, std::size_t end, std::optional<Bytes>& out) {
  std::int32_t length = 0;
  if (!read_varint(in, pos, length) || length < -1) return false;
  if (length == -1) {
    out.reset();
    return true;
  }
  if (static_cast<std::size_t>(length) > end - std::min(pos, end)) return false;
  out.emplace(in.begin() + static_cast<std::ptrdiff_t>(pos), in.begin() + static_cast<std::ptrdiff_t>(pos) + length);
  pos += static_cast<std::size_t>(length);
  return true;
}

Result<Record> read_record(std::span<const std::uint8_t> in, std::size_t& pos, const BatchHeader& h, int index) {
  const auto bad = [&](std::string_view what) {
    return corrupt(fmt::format("record {} of the batch at offset {}: {}", index, h.base_offset, what));
  };
  std::int32_t length = 0;
  if (!read_varint(in, pos, length) || length < 0) return bad("bad length");
  if (static_cast<std::size_t>(length) > in.size() - pos) return bad("length runs past the batch");
  const std::size_t end = pos + static_cast<std::size_t>(length);
  const auto body = in.first(end);
  if (pos >= end) return bad("empty record");
  ++pos;  // attributes, unused
  Record r;
  std::int64_t timestamp_delta = 0;
  std::int32_t offset_delta = 0;
  if (!read_varlong(body, pos, timestamp_delta, 10)) return bad("bad timestamp delta");
  if (!read_varint(body, pos, offset_delta)) return bad("bad offset delta");
  if (offset_delta != index) return bad(fmt::format("offset delta {} where {} was expected", offset_delta, index));
  r.offset = h.base_offset + offset_delta;
  r.timestamp = h.log_append_time() ? h.max_timestamp : h.base_timestamp + timestamp_delta;
  if (!read_blob(body, pos, end, r.key)) return bad("bad key length");
  if (!read_blob(body, pos, end, r.value)) return bad("bad value length");
  std::int32_t headers = 0;
  if (!read_varint(body, pos, headers) || headers < 0 || static_cast<std::size_t>(headers) > end - pos) {
    return bad("bad header count");
  }
  for (std::int32_t i = 0; i < headers; ++i) {
    std::optional<Bytes> key;
    RecordHeader header;
    if (!read_blob(body, pos, end, key) || !key) return bad("bad header key");
    header.key.assign(key->begin(), key->end());
    if (!read_blob(body, pos, end, header.value)) return bad("bad header value");
    r.headers.push_back(std::move(header));
  }
  if (pos != end) return bad(fmt::format("{} bytes left over", end - pos));
  return r;
}

// ---- building ----

void put_varlong(Bytes& out, std::int64_t v) {
  auto u = static_cast<std::uint64_t>((v << 1) ^ (v >> 63));
  while (u >= 0x80) {
    out.push_back(static_cast<std::uint8_t>(u | 0x80));
    u >>= 7;
  }
  out.push_back(static_cast<std::uint8_t>(u));
}

void put_blob(Bytes& out, const std::optional<Bytes>& blob) {
  if (!blob) {
    put_varlong(out, -1);
    return;
  }
  put_varlong(out, static_cast<std::int64_t>(blob->size()));
  out.insert(out.end(), blob->begin(), blob->end());
}

void put_record(Bytes& out, const Record& r, std::int64_t base_offset, std::int64_t base_timestamp, Bytes& scratch) {
  scratch.clear();
  scratch.push_back(0);  // attributes
  put_varlong(scratch, r.timestamp - base_timestamp);
  put_varlong(scratch, r.offset - base_offset);
  put_blob(scratch, r.key);
  put_blob(scratch, r.value);
  put_varlong(scratch, static_cast<std::int64_t>(r.headers.size()));
  for (const auto& h : r.headers) {
    put_blob(scratch, Bytes(h.key.begin(), h.key.end()));
    put_blob(scratch, h.value);
  }
  put_varlong(out, static_cast<std::int64_t>(scratch.size()));
  out.insert(out.end(), scratch.begin(), scratch.end());
}

}  // namespace

Result<BatchHeader> parse_batch_header(std::span<const std::uint8_t> bytes) {
  if (bytes.size() < batch_header_bytes) {
    return corrupt(fmt::format("record batch header needs {} bytes, got {}", batch_header_bytes, bytes.size()));
  }
  const std::uint8_t* p = bytes.data();
  BatchHeader h;
  h.base_offset = load_be<std::int64_t>(p + off_base_offset);
  h.batch_length = load_be<std::int32_t>(p + off_length);
  h.partition_leader_epoch = load_be<std::int32_t>(p + off_leader_epoch);
  h.magic = static_cast<std::int8_t>(p[off_magic]);
  if (h.magic != 2) return corrupt(fmt::format("record batch at offset {} has magic {}; only 2 is supported", h.base_offset, h.magic));
  if (h.batch_length < batch_length_min) {
    return corrupt(fmt::format("record batch at offset {} has length {}, below the minimum {}", h.base_offset,
                               h.batch_length, batch_length_min));
  }
  h.crc = load_be<std::uint32_t>(p + off_crc);
  h.attributes = load_be<std::int16_t>(p + off_attributes);
  h.last_offset_delta = load_be<std::int32_t>(p + off_last_offset_delta);
  h.base_timestamp = load_be<std::int64_t>(p + off_base_timestamp);
  h.max_timestamp = load_be<std::int64_t>(p + off_max_timestamp);
  h.producer_id = load_be<std::int64_t>(p + off_producer_id);
  h.producer_epoch = load_be<std::int16_t>(p + off_producer_epoch);
  h.base_sequence = load_be<std::int32_t>(p + off_base_sequence);
  h.records_count = load_be<std::int32_t>(p + off_records_count);
  return h;
}

Status verify_batch_crc(std::span<const std::uint8_t> batch) {
  auto h = parse_batch_header(batch);
  if (!h) return h.error();
  if (h->size_bytes() != batch.size()) {
    return corrupt(fmt::format("record batch at offset {} says {} bytes but has {}", h->base_offset, h->size_bytes(), batch.size()));
  }
  const std::uint32_t actual = crc32c(batch.subspan(off_attributes));
  if (actual != h->crc) {
    return corrupt(fmt::format("record batch at offset {}: CRC mismatch (stored {:08x}, computed {:08x})", h->base_offset,
                               h->crc, actual));
  }
  return {};
}

BatchScan scan_batches(std::span<const std::uint8_t> bytes, bool verify_crc) {
  BatchScan scan;
  std::size_t pos = 0;
  while (pos < bytes.size()) {
    const auto rest = bytes.subspan(pos);
    if (rest.size() < batch_header_bytes) {
      // Too short for a header: a torn tail, unless the length already says it cannot be a batch.
      if (rest.size() >= log_overhead_bytes && load_be<std::int32_t>(rest.data() + off_length) < batch_length_min) {
        scan.corruption = corrupt(fmt::format("record batch at byte {} has length {}", pos,
                                              load_be<std::int32_t>(rest.data() + off_length)));
      } else {
        scan.torn_tail = true;
      }
      break;
    }
    auto header = parse_batch_header(rest);
    if (!header) {
      scan.corruption = Error{Errc::corrupt, fmt::format("at byte {}: {}", pos, header.error().message)};
      break;
    }
    if (header->size_bytes() > rest.size()) {
      scan.torn_tail = true;
      break;
    }
    if (verify_crc) {
      if (auto st = verify_batch_crc(rest.first(header->size_bytes())); !st) {
        scan.corruption = Error{Errc::corrupt, fmt::format("at byte {}: {}", pos, st.error().message)};
        break;
      }
    }
    scan.batches.emplace_back(pos, *header);
    pos += header->size_bytes();
    scan.valid_bytes = pos;
  }
  return scan;
}

void set_base_offset(std::span<std::uint8_t> batch, std::int64_t base_offset) {
  KEEL_ASSERT(batch.size() >= batch_header_bytes);
  store_be<std::int64_t>(batch.data() + off_base_offset, base_offset);
}

void set_partition_leader_epoch(std::span<std::uint8_t> batch, std::int32_t epoch) {
  KEEL_ASSERT(batch.size() >= batch_header_bytes);
  store_be<std::int32_t>(batch.data() + off_leader_epoch, epoch);
}

void set_log_append_time(std::span<std::uint8_t> batch, std::int64_t timestamp_ms) {
  KEEL_ASSERT(batch.size() >= batch_header_bytes);
  const auto attributes = load_be<std::int16_t>(batch.data() + off_attributes);
  store_be<std::int16_t>(batch.data() + off_attributes, static_cast<std::int16_t>(attributes | 0x08));
  store_be<std::int64_t>(batch.data() + off_max_timestamp, timestamp_ms);
  update_crc(batch);
}

Result<std::vector<Record>> decode_records(std::span<const std::uint8_t> batch) {
  auto h = parse_batch_header(batch);
  if (!h) return h.error();
  if (h->size_bytes() > batch.size()) return corrupt(fmt::format("record batch at offset {} is truncated", h->base_offset));
  if (h->records_count < 0 || h->last_offset_delta < 0) {
    return corrupt(fmt::format("record batch at offset {}: negative record count or offset delta", h->base_offset));
  }
  auto body = batch.subspan(batch_header_bytes, h->size_bytes() - batch_header_bytes);
  Bytes inflated;
  if (h->compression() != Compression::none) {
    if (static_cast<int>(h->compression()) > 4) {
      return corrupt(fmt::format("record batch at offset {}: unknown compression {}", h->base_offset,
                                 static_cast<int>(h->compression())));
    }
    auto out = decompress(h->compression(), body, batch_records_bytes_max);
    if (!out) return corrupt(fmt::format("record batch at offset {}: {}", h->base_offset, out.error().message));
    inflated = std::move(*out);
    body = inflated;
  }
  // Every record takes at least 7 bytes, so a count above that bound is a lie to refuse before allocating.
  if (static_cast<std::size_t>(h->records_count) > body.size() / 7 + 1) {
    return corrupt(fmt::format("record batch at offset {} claims {} records in {} bytes", h->base_offset,
                               h->records_count, body.size()));
  }
  std::vector<Record> records;
  records.reserve(static_cast<std::size_t>(h->records_count));
  std::size_t pos = 0;
  for (int i = 0; i < h->records_count; ++i) {
    auto r = read_record(body, pos, *h, i);
    if (!r) return r.error();
    records.push_back(std::move(*r));
  }
  if (pos != body.size()) {
    return corrupt(fmt::format("record batch at offset {}: {} bytes after its {} records", h->base_offset,
                               body.size() - pos, h->records_count));
  }
  return records;
}

Status validate_batch_for_append(std::span<const std::uint8_t> batch) {
  if (auto st = verify_batch_crc(batch); !st) return st;
  auto h = parse_batch_header(batch);
  if (!h) return h.error();
  if (h->records_count <= 0) return make_error(Errc::invalid_argument, "record batch has no records");
  if (h->last_offset_delta != h->records_count - 1) {
    return make_error(Errc::invalid_argument, fmt::format("record batch has {} records but last offset delta {}",
                                                          h->records_count, h->last_offset_delta));
  }
  if (h->is_control()) return make_error(Errc::invalid_argument, "clients may not produce control batches");
  auto records = decode_records(batch);
  if (!records) return make_error(Errc::invalid_argument, records.error().message);
  return {};
}

Bytes build_batch(const BatchOptions& options, std::span<const Record> records) {
  Bytes body;
  Bytes scratch;
  const std::int64_t base_timestamp = records.empty() ? -1 : records.front().timestamp;
  std::int64_t max_timestamp = base_timestamp;
  for (const auto& r : records) {
    put_record(body, r, options.base_offset, base_timestamp, scratch);
    max_timestamp = std::max(max_timestamp, r.timestamp);
  }
  if (options.compression != Compression::none) {
    auto compressed = compress(options.compression, body);
    KEEL_ASSERT_MSG(static_cast<bool>(compressed), "compression of a record batch failed");
    body = std::move(*compressed);
  }
  Bytes out(batch_header_bytes + body.size());
  std::uint8_t* p = out.data();
  std::int16_t attributes = static_cast<std::int16_t>(options.compression);
  if (options.transactional) attributes = static_cast<std::int16_t>(attributes | 0x10);
  if (options.control) attributes = static_cast<std::int16_t>(attributes | 0x20);
  const std::int32_t last_delta =
      records.empty() ? 0 : static_cast<std::int32_t>(records.back().offset - options.base_offset);
  store_be<std::int64_t>(p + off_base_offset, options.base_offset);
  store_be<std::int32_t>(p + off_length, static_cast<std::int32_t>(out.size() - log_overhead_bytes));
  store_be<std::int32_t>(p + off_leader_epoch, options.partition_leader_epoch);
  p[off_magic] = 2;
  store_be<std::int16_t>(p + off_attributes, attributes);
  store_be<std::int32_t>(p + off_last_offset_delta, last_delta);
  store_be<std::int64_t>(p + off_base_timestamp, base_timestamp);
  store_be<std::int64_t>(p + off_max_timestamp, max_timestamp);
  store_be<std::int64_t>(p + off_producer_id, options.producer_id);
  store_be<std::int16_t>(p + off_producer_epoch, options.producer_epoch);
  store_be<std::int32_t>(p + off_base_sequence, options.base_sequence);
  store_be<std::int32_t>(p + off_records_count, static_cast<std::int32_t>(records.size()));
  std::copy(body.begin(), body.end(), out.begin() + batch_header_bytes);
  update_crc(out);
  return out;
}

}  // namespace keel::protocol
