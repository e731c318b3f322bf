#include "broker/protocol/record_batch.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "broker/base/assert.h"
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
static_assert(off_records_count + 4 == batch_header_bytes);

constexpr std::int16_t attribute_log_append_time = 0x08;
constexpr std::int16_t attribute_transactional = 0x10;
constexpr std::int16_t attribute_control = 0x20;

// The smallest record: a one-byte length, then attributes, timestamp delta, offset delta, key length,
// value length and header count of one byte each.
constexpr std::size_t record_body_bytes_min = 6;
constexpr std::size_t record_bytes_min = 1 + record_body_bytes_min;
// The smallest header: one-byte key length and value length.
constexpr std::size_t header_bytes_min = 2;

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

// Offsets and timestamps from hostile deltas must not be signed overflow (undefined behaviour).
std::int64_t wrapping_add(std::int64_t a, std::int64_t b) {
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) + static_cast<std::uint64_t>(b));
}

Error corrupt(std::string message) { return Error{Errc::corrupt, std::move(message)}; }
Error invalid(std::string message) { return Error{Errc::invalid_argument, std::move(message)}; }

void update_crc(std::span<std::uint8_t> batch) {
  store_be<std::uint32_t>(batch.data() + off_crc, crc32c(batch.subspan(off_attributes)));
}

// ---- reading records ----

// Reads within a span; every read checks what is left and fails rather than read past the end.
class Cursor {
 public:
  explicit Cursor(std::span<const std::uint8_t> bytes) : p_(bytes.data()), end_(bytes.data() + bytes.size()) {}

  std::size_t remaining() const { return static_cast<std::size_t>(end_ - p_); }
  const std::uint8_t* position() const { return p_; }

  // A zig-zag varint of at most `bytes_max` bytes (Kafka's varlong takes 10, varint 5).
  bool varlong(std::int64_t& out, std::size_t bytes_max = 10) {
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < bytes_max && p_ < end_; ++i) {
      const std::uint8_t b = *p_++;
      v |= std::uint64_t{b & 0x7Fu} << (7 * i);
      if ((b & 0x80) == 0) {
        out = static_cast<std::int64_t>(v >> 1) ^ -static_cast<std::int64_t>(v & 1);
        return true;
      }
    }
    return false;
  }
  bool varint(std::int32_t& out) {
    std::int64_t v = 0;
    if (!varlong(v, 5) || v < INT32_MIN || v > INT32_MAX) return false;
    out = static_cast<std::int32_t>(v);
    return true;
  }
  // A varint length and that many bytes; -1 is null, other negative lengths fail.
  bool blob(std::optional<std::span<const std::uint8_t>>& out) {
    std::int32_t length = 0;
    if (!varint(length) || length < -1) return false;
    if (length == -1) {
      out.reset();
      return true;
    }
    if (static_cast<std::size_t>(length) > remaining()) return false;
    out.emplace(p_, static_cast<std::size_t>(length));
    p_ += length;
    return true;
  }
  // The next `n` bytes as a cursor of their own (n <= remaining()).
  Cursor split(std::size_t n) {
    Cursor part(std::span(p_, n));
    p_ += n;
    return part;
  }
  void skip(std::size_t n) { p_ += n; }

 private:
  const std::uint8_t* p_;
  const std::uint8_t* end_;
};

// Which offset deltas a walk accepts: Produce takes exactly 0..n-1; batches in a log may have gaps
// (compaction removes records but keeps the batch's base offset and last offset delta).
enum class DeltaRule { rising, exact };

struct RecordWalk {
  const BatchHeader& header;
  DeltaRule rule;
  Errc errc;  // the code of errors in the records (not of decompression failures)
  std::int64_t previous_delta = -1;

  Error bad(std::int32_t index, std::string_view what) const {
    return Error{errc, fmt::format("record {} of the batch at offset {}: {}", index, header.base_offset, what)};
  }
};

Status check_offset_delta(const RecordWalk& walk, std::int32_t index, std::int32_t delta) {
  if (walk.rule == DeltaRule::exact && delta != index) {
    return walk.bad(index, fmt::format("offset delta {} where {} was expected (deltas must be 0..n-1)", delta, index));
  }
  if (delta <= walk.previous_delta) {
    return walk.bad(index, fmt::format("offset delta {} does not rise above the previous {}", delta, walk.previous_delta));
  }
  if (delta > walk.header.last_offset_delta) {
    return walk.bad(index, fmt::format("offset delta {} is beyond the batch's last offset delta {}", delta,
                                       walk.header.last_offset_delta));
  }
  return {};
}

Status read_headers(const RecordWalk& walk, std::int32_t index, Cursor& body, RecordView& view) {
  if (!body.varint(view.headers_count) || view.headers_count < 0) return walk.bad(index, "bad header count");
  if (static_cast<std::size_t>(view.headers_count) > body.remaining() / header_bytes_min) {
    return walk.bad(index, fmt::format("{} headers cannot fit in {} bytes", view.headers_count, body.remaining()));
  }
  const std::uint8_t* start = body.position();
  std::optional<std::span<const std::uint8_t>> key;
  std::optional<std::span<const std::uint8_t>> value;
  for (std::int32_t i = 0; i < view.headers_count; ++i) {
    if (!body.blob(key)) return walk.bad(index, fmt::format("header {}: bad key length", i));
    if (!key) return walk.bad(index, fmt::format("header {}: null key", i));
    if (!body.blob(value)) return walk.bad(index, fmt::format("header {}: bad value length", i));
  }
  view.headers = std::span(start, body.position());
  return {};
}

Status read_record(RecordWalk& walk, std::int32_t index, Cursor& in, RecordView& view) {
  std::int32_t length = 0;
  if (!in.varint(length)) return walk.bad(index, "unreadable length");
  if (length < static_cast<std::int32_t>(record_body_bytes_min)) {
    return walk.bad(index, fmt::format("length {} is below the minimum {}", length, record_body_bytes_min));
  }
  if (static_cast<std::size_t>(length) > in.remaining()) {
    return walk.bad(index, fmt::format("length {} runs past the batch ({} bytes left)", length, in.remaining()));
  }
  Cursor body = in.split(static_cast<std::size_t>(length));
  body.skip(1);  // attributes: unused in magic 2
  std::int64_t timestamp_delta = 0;
  std::int32_t offset_delta = 0;
  if (!body.varlong(timestamp_delta)) return walk.bad(index, "bad timestamp delta");
  if (!body.varint(offset_delta)) return walk.bad(index, "bad offset delta");
  if (auto st = check_offset_delta(walk, index, offset_delta); !st) return st;
  walk.previous_delta = offset_delta;
  view.offset = wrapping_add(walk.header.base_offset, offset_delta);
  view.timestamp = walk.header.log_append_time() ? walk.header.max_timestamp
                                                 : wrapping_add(walk.header.base_timestamp, timestamp_delta);
  if (!body.blob(view.key)) return walk.bad(index, "bad key length");
  if (!body.blob(view.value)) return walk.bad(index, "bad value length");
  if (auto st = read_headers(walk, index, body, view); !st) return st;
  if (body.remaining() != 0) {
    return walk.bad(index, fmt::format("its length {} leaves {} bytes after its last field", length, body.remaining()));
  }
  return {};
}

// The header checks every walk makes before reading records.
Result<BatchHeader> walk_header(std::span<const std::uint8_t> batch, Errc errc) {
  auto h = parse_batch_header(batch);
  if (!h) return h.error();
  if (batch.size() < h->size_bytes()) {
    return corrupt(fmt::format("record batch at offset {} is truncated: says {} bytes, has {}", h->base_offset,
                               h->size_bytes(), batch.size()));
  }
  const auto fail = [&](std::string what) {
    return Error{errc, fmt::format("record batch at offset {}: {}", h->base_offset, what)};
  };
  if (h->records_count < 0) return fail(fmt::format("negative record count {}", h->records_count));
  if (h->last_offset_delta < 0) return fail(fmt::format("negative last offset delta {}", h->last_offset_delta));
  if (!is_known_compression(h->attributes & 0x07)) return fail(fmt::format("unknown compression codec {}", h->attributes & 0x07));
  return h;
}

// Walks the records of one batch, calling visit(const RecordView&) -> Status for each.
template <class Visit>
Status walk_records(std::span<const std::uint8_t> batch, std::size_t records_bytes_max, DeltaRule rule, Errc errc,
                    Visit&& visit) {
  auto h = walk_header(batch, errc);
  if (!h) return h.error();
  std::span<const std::uint8_t> body = batch.subspan(batch_header_bytes, h->size_bytes() - batch_header_bytes);
  Bytes inflated;
  if (h->compression() != Compression::none) {
    auto out = decompress(h->compression(), body, records_bytes_max);
    if (!out) {
      return Error{out.error().code, fmt::format("record batch at offset {}: {}", h->base_offset, out.error().message)};
    }
    inflated = std::move(*out);
    body = inflated;
  }
  RecordWalk walk{*h, rule, errc};
  if (static_cast<std::size_t>(h->records_count) > body.size() / record_bytes_min) {
    return Error{errc, fmt::format("record batch at offset {} claims {} records in {} bytes", h->base_offset,
                                   h->records_count, body.size())};
  }
  Cursor in(body);
  RecordView view;
  for (std::int32_t i = 0; i < h->records_count; ++i) {
    if (in.remaining() == 0) {
      return Error{errc, fmt::format("record batch at offset {} says {} records but holds {}", h->base_offset,
                                     h->records_count, i)};
    }
    if (auto st = read_record(walk, i, in, view); !st) return st;
    if (auto st = visit(view); !st) return st;
  }
  if (in.remaining() != 0) {
    return Error{errc, fmt::format("record batch at offset {}: {} bytes after its {} records", h->base_offset,
                                   in.remaining(), h->records_count)};
  }
  return {};
}

Bytes copy_of(std::span<const std::uint8_t> s) { return Bytes(s.begin(), s.end()); }

// Headers that read_headers already checked.
void decode_headers(const RecordView& view, std::vector<RecordHeader>& out) {
  out.reserve(static_cast<std::size_t>(view.headers_count));
  Cursor c(view.headers);
  std::optional<std::span<const std::uint8_t>> key;
  std::optional<std::span<const std::uint8_t>> value;
  for (std::int32_t i = 0; i < view.headers_count; ++i) {
    const bool ok = c.blob(key) && key && c.blob(value);
    KEEL_ASSERT_MSG(ok, "record headers changed between check and decode");
    RecordHeader& h = out.emplace_back();
    h.key.assign(key->begin(), key->end());
    if (value) h.value = copy_of(*value);
  }
}

// ---- building ----

std::size_t varint_bytes(std::int64_t v) {
  auto u = static_cast<std::uint64_t>((v << 1) ^ (v >> 63));
  std::size_t n = 1;
  while (u >= 0x80) {
    u >>= 7;
    ++n;
  }
  return n;
}

std::size_t blob_bytes(std::size_t size) { return varint_bytes(static_cast<std::int64_t>(size)) + size; }
template <class B>
std::size_t blob_bytes(const std::optional<B>& b) {
  return b ? blob_bytes(b->size()) : 1;
}

std::uint8_t* put_varint(std::uint8_t* p, std::int64_t v) {
  auto u = static_cast<std::uint64_t>((v << 1) ^ (v >> 63));
  while (u >= 0x80) {
    *p++ = static_cast<std::uint8_t>(u | 0x80);
    u >>= 7;
  }
  *p++ = static_cast<std::uint8_t>(u);
  return p;
}

std::uint8_t* put_blob(std::uint8_t* p, const std::uint8_t* data, std::size_t size) {
  p = put_varint(p, static_cast<std::int64_t>(size));
  if (size != 0) std::memcpy(p, data, size);
  return p + size;
}

std::uint8_t* put_blob(std::uint8_t* p, const std::optional<Bytes>& b) {
  return b ? put_blob(p, b->data(), b->size()) : put_varint(p, -1);
}

// The deltas of one record against the batch's bases.
struct Deltas {
  std::int64_t offset = 0;
  std::int64_t timestamp = 0;
};

std::size_t record_body_bytes(const Record& r, const Deltas& d) {
  std::size_t n = 1 + varint_bytes(d.timestamp) + varint_bytes(d.offset) + blob_bytes(r.key) + blob_bytes(r.value) +
                  varint_bytes(static_cast<std::int64_t>(r.headers.size()));
  for (const auto& h : r.headers) n += blob_bytes(h.key.size()) + blob_bytes(h.value);
  return n;
}

std::uint8_t* put_record(std::uint8_t* p, const Record& r, const Deltas& d, std::size_t body_bytes) {
  p = put_varint(p, static_cast<std::int64_t>(body_bytes));
  *p++ = 0;  // attributes
  p = put_varint(p, d.timestamp);
  p = put_varint(p, d.offset);
  p = put_blob(p, r.key);
  p = put_blob(p, r.value);
  p = put_varint(p, static_cast<std::int64_t>(r.headers.size()));
  for (const auto& h : r.headers) {
    p = put_blob(p, reinterpret_cast<const std::uint8_t*>(h.key.data()), h.key.size());
    p = put_blob(p, h.value);
  }
  return p;
}

Deltas deltas_of(const Record& r, std::int64_t base_offset, std::int64_t base_timestamp) {
  Deltas d;
  d.offset = r.offset - base_offset;
  d.timestamp = r.timestamp - base_timestamp;
  return d;
}

// The records' encoded size; asserts the offsets a caller must give (rising, within int32 deltas).
std::size_t records_bytes(const BatchOptions& options, std::span<const Record> records, std::int64_t base_timestamp) {
  std::size_t total = 0;
  std::int64_t previous = -1;
  for (const auto& r : records) {
    const Deltas d = deltas_of(r, options.base_offset, base_timestamp);
    KEEL_ASSERT_MSG(d.offset > previous && d.offset <= INT32_MAX, "build_batch: record offset {} after base {} (previous delta {})",
                    r.offset, options.base_offset, previous);
    previous = d.offset;
    const std::size_t body = record_body_bytes(r, d);
    total += varint_bytes(static_cast<std::int64_t>(body)) + body;
  }
  return total;
}

void write_records(std::uint8_t* p, const BatchOptions& options, std::span<const Record> records,
                   std::int64_t base_timestamp) {
  for (const auto& r : records) {
    const Deltas d = deltas_of(r, options.base_offset, base_timestamp);
    p = put_record(p, r, d, record_body_bytes(r, d));
  }
}

void write_header(std::uint8_t* p, const BatchOptions& options, std::span<const Record> records,
                  std::size_t batch_bytes) {
  std::int16_t attributes = static_cast<std::int16_t>(options.compression);
  if (options.transactional) attributes = static_cast<std::int16_t>(attributes | attribute_transactional);
  if (options.control) attributes = static_cast<std::int16_t>(attributes | attribute_control);
  const std::int64_t base_timestamp = records.empty() ? -1 : records.front().timestamp;
  std::int64_t max_timestamp = base_timestamp;
  for (const auto& r : records) max_timestamp = std::max(max_timestamp, r.timestamp);
  const std::int64_t last_delta = records.empty() ? 0 : records.back().offset - options.base_offset;
  store_be<std::int64_t>(p + off_base_offset, options.base_offset);
  store_be<std::int32_t>(p + off_length, static_cast<std::int32_t>(batch_bytes - log_overhead_bytes));
  store_be<std::int32_t>(p + off_leader_epoch, options.partition_leader_epoch);
  p[off_magic] = 2;
  store_be<std::int16_t>(p + off_attributes, attributes);
  store_be<std::int32_t>(p + off_last_offset_delta, static_cast<std::int32_t>(last_delta));
  store_be<std::int64_t>(p + off_base_timestamp, base_timestamp);
  store_be<std::int64_t>(p + off_max_timestamp, max_timestamp);
  store_be<std::int64_t>(p + off_producer_id, options.producer_id);
  store_be<std::int16_t>(p + off_producer_epoch, options.producer_epoch);
  store_be<std::int32_t>(p + off_base_sequence, options.base_sequence);
  store_be<std::int32_t>(p + off_records_count, static_cast<std::int32_t>(records.size()));
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
  if (h.magic != 2) {
    return corrupt(fmt::format("record batch at offset {} has magic {}; only 2 is supported", h.base_offset, h.magic));
  }
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
    return corrupt(fmt::format("record batch at offset {} says {} bytes but has {}", h->base_offset, h->size_bytes(),
                               batch.size()));
  }
  const std::uint32_t actual = crc32c(batch.subspan(off_attributes));
  if (actual != h->crc) {
    return corrupt(fmt::format("record batch at offset {} is corrupt: CRC mismatch (stored {:08x}, computed {:08x})",
                               h->base_offset, h->crc, actual));
  }
  return {};
}

BatchScan scan_batches(std::span<const std::uint8_t> bytes, bool verify_crc) {
  BatchScan scan;
  std::size_t pos = 0;
  while (pos < bytes.size()) {
    const auto rest = bytes.subspan(pos);
    if (rest.size() < batch_header_bytes) {
      // Too short for a header: a torn tail, unless what is there already cannot start a batch.
      const bool bad_length =
          rest.size() >= off_length + 4 && load_be<std::int32_t>(rest.data() + off_length) < batch_length_min;
      const bool bad_magic = rest.size() > off_magic && rest[off_magic] != 2;
      if (bad_length || bad_magic) {
        scan.corruption = corrupt(fmt::format("at byte {}: a partial record batch header with {}", pos,
                                              bad_length ? "a length below the minimum" : "a magic other than 2"));
      } else {
        scan.torn_tail = true;
      }
      break;
    }
    auto header = parse_batch_header(rest);
    if (!header) {
      scan.corruption = corrupt(fmt::format("at byte {}: {}", pos, header.error().message));
      break;
    }
    if (header->size_bytes() > rest.size()) {
      scan.torn_tail = true;
      break;
    }
    if (verify_crc) {
      if (auto st = verify_batch_crc(rest.first(header->size_bytes())); !st) {
        scan.corruption = corrupt(fmt::format("at byte {}: {}", pos, st.error().message));
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
  store_be<std::int16_t>(batch.data() + off_attributes, static_cast<std::int16_t>(attributes | attribute_log_append_time));
  store_be<std::int64_t>(batch.data() + off_max_timestamp, timestamp_ms);
  update_crc(batch);
}

void set_create_time_max_timestamp(std::span<std::uint8_t> batch, std::int64_t timestamp_ms) {
  KEEL_ASSERT(batch.size() >= batch_header_bytes);
  const auto attributes = load_be<std::int16_t>(batch.data() + off_attributes);
  const auto create_time = static_cast<std::int16_t>(attributes & ~attribute_log_append_time);
  if (attributes == create_time && load_be<std::int64_t>(batch.data() + off_max_timestamp) == timestamp_ms) return;
  store_be<std::int16_t>(batch.data() + off_attributes, create_time);
  store_be<std::int64_t>(batch.data() + off_max_timestamp, timestamp_ms);
  update_crc(batch);
}

namespace {

// Kafka's validator: the max ignores timestamps at or below -1 (no timestamp); the bounds check
// every timestamp other than -1.
void note_timestamp(RecordTimestamps& out, std::int64_t timestamp) {
  out.max = std::max(out.max, timestamp);
  if (timestamp != -1 && (out.min == -1 || timestamp < out.min)) out.min = timestamp;
}

}  // namespace

Result<RecordTimestamps> record_timestamps(std::span<const std::uint8_t> batch, std::size_t records_bytes_max) {
  RecordTimestamps out;
  auto st = walk_records(batch, records_bytes_max, DeltaRule::rising, Errc::corrupt, [&](const RecordView& v) -> Status {
    note_timestamp(out, v.timestamp);
    return {};
  });
  if (!st) return st.error();
  KEEL_ASSERT(out.max >= -1);
  return out;
}

Status for_each_record(std::span<const std::uint8_t> batch, const std::function<Status(const RecordView&)>& visit,
                       std::size_t records_bytes_max) {
  return walk_records(batch, records_bytes_max, DeltaRule::rising, Errc::corrupt, visit);
}

Result<std::vector<Record>> decode_records(std::span<const std::uint8_t> batch, std::size_t records_bytes_max) {
  std::vector<Record> records;
  auto st = walk_records(batch, records_bytes_max, DeltaRule::rising, Errc::corrupt, [&](const RecordView& v) -> Status {
    // The walk checked the count against the records' bytes before the first visit.
    if (records.empty()) records.reserve(static_cast<std::size_t>(load_be<std::int32_t>(batch.data() + off_records_count)));
    Record& r = records.emplace_back();
    r.offset = v.offset;
    r.timestamp = v.timestamp;
    if (v.key) r.key = copy_of(*v.key);
    if (v.value) r.value = copy_of(*v.value);
    if (v.headers_count > 0) decode_headers(v, r.headers);
    return {};
  });
  if (!st) return st.error();
  return records;
}

Result<RecordTimestamps> validate_batch_for_append(std::span<const std::uint8_t> batch, std::size_t records_bytes_max) {
  if (batch.size() > off_magic && batch[off_magic] != 2) {
    return invalid(fmt::format("record batch has magic {}; Produce v3 and later take magic 2 only",
                               static_cast<int>(static_cast<std::int8_t>(batch[off_magic]))));
  }
  if (auto st = verify_batch_crc(batch); !st) return st.error();
  auto h = parse_batch_header(batch);
  KEEL_ASSERT(h.ok());
  const auto fail = [&](std::string what) {
    return invalid(fmt::format("record batch at offset {}: {}", h->base_offset, what));
  };
  if (!is_known_compression(h->attributes & 0x07)) return fail(fmt::format("unknown compression codec {}", h->attributes & 0x07));
  if (h->is_control()) return fail("clients may not produce control batches");
  if (h->records_count <= 0) return fail(fmt::format("invalid record count {}", h->records_count));
  if (h->last_offset_delta != h->records_count - 1) {
    return fail(fmt::format("last offset delta {} disagrees with its {} records", h->last_offset_delta, h->records_count));
  }
  if (h->has_producer_id() && h->base_sequence < 0) {
    return fail(fmt::format("invalid base sequence {} with producer id {}", h->base_sequence, h->producer_id));
  }
  RecordTimestamps timestamps;
  auto st = walk_records(batch, records_bytes_max, DeltaRule::exact, Errc::invalid_argument,
                         [&](const RecordView& v) -> Status {
                           note_timestamp(timestamps, v.timestamp);
                           return {};
                         });
  if (!st) return st.error();
  return timestamps;
}

Bytes build_batch(const BatchOptions& options, std::span<const Record> records) {
  KEEL_ASSERT(records.size() <= INT32_MAX);
  const std::int64_t base_timestamp = records.empty() ? -1 : records.front().timestamp;
  const std::size_t plain_bytes = records_bytes(options, records, base_timestamp);
  Bytes out;
  if (options.compression == Compression::none) {
    out.resize(batch_header_bytes + plain_bytes);
    write_records(out.data() + batch_header_bytes, options, records, base_timestamp);
  } else {
    Bytes plain(plain_bytes);
    write_records(plain.data(), options, records, base_timestamp);
    auto compressed = compress(options.compression, plain);
    KEEL_ASSERT_MSG(compressed.ok(), "compression of a record batch failed: {}", compressed.error().message);
    out.resize(batch_header_bytes + compressed->size());
    std::copy(compressed->begin(), compressed->end(), out.begin() + batch_header_bytes);
  }
  KEEL_ASSERT_MSG(out.size() - log_overhead_bytes <= INT32_MAX, "record batch of {} bytes", out.size());
  write_header(out.data(), options, records, out.size());
  update_crc(out);
  return out;
}

// ---- control records ----

Result<ControlRecordType> control_record_type(const Record& record) {
  if (!record.key || record.key->size() < 4) {
    return corrupt(fmt::format("control record at offset {} has a key of {} bytes; it needs 4", record.offset,
                               record.key ? record.key->size() : 0));
  }
  const auto version = load_be<std::int16_t>(record.key->data());
  if (version < 0) return corrupt(fmt::format("control record at offset {} has key version {}", record.offset, version));
  const auto type = load_be<std::int16_t>(record.key->data() + 2);
  if (type < 0 || type > static_cast<std::int16_t>(ControlRecordType::kraft_voters)) return ControlRecordType::unknown;
  return static_cast<ControlRecordType>(type);
}

Result<EndTxnMarker> decode_end_txn_marker(const Record& record) {
  auto type = control_record_type(record);
  if (!type) return type.error();
  if (*type != ControlRecordType::abort && *type != ControlRecordType::commit) {
    return invalid(fmt::format("control record at offset {} is not a transaction marker (type {})", record.offset,
                               static_cast<int>(*type)));
  }
  if (!record.value || record.value->size() < 6) {
    return corrupt(fmt::format("transaction marker at offset {} has a value of {} bytes; it needs 6", record.offset,
                               record.value ? record.value->size() : 0));
  }
  const auto version = load_be<std::int16_t>(record.value->data());
  if (version < 0) return corrupt(fmt::format("transaction marker at offset {} has version {}", record.offset, version));
  EndTxnMarker marker;
  marker.commit = *type == ControlRecordType::commit;
  marker.coordinator_epoch = load_be<std::int32_t>(record.value->data() + 2);
  return marker;
}

Record make_end_txn_marker(const EndTxnMarker& marker, std::int64_t offset, std::int64_t timestamp) {
  Record r;
  r.offset = offset;
  r.timestamp = timestamp;
  r.key = Bytes(4);
  store_be<std::int16_t>(r.key->data(), 0);  // key version
  store_be<std::int16_t>(r.key->data() + 2, static_cast<std::int16_t>(marker.commit ? ControlRecordType::commit
                                                                                      : ControlRecordType::abort));
  r.value = Bytes(6);
  store_be<std::int16_t>(r.value->data(), 0);  // value version
  store_be<std::int32_t>(r.value->data() + 2, marker.coordinator_epoch);
  return r;
}

}  // namespace keel::protocol
