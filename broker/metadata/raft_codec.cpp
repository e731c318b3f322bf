// The Raft envelope codec: one field list per message type, walked by an Encoder (writes) and a
// Decoder (reads, checks limits, and names the field that failed).
#include "broker/metadata/raft_codec.h"

#include <fmt/format.h>

#include <concepts>
#include <type_traits>
#include <utility>

namespace keel::metadata::raft {

namespace {

template <class T, class V>
struct VariantIndex;
template <class T, class... Ts>
struct VariantIndex<T, std::variant<Ts...>> {
  static constexpr std::size_t value = [] {
    std::size_t i = 0;
    (void)((std::is_same_v<T, Ts> ? true : (++i, false)) || ...);
    return i;
  }();
};
template <class T>
constexpr bool type_is(MessageType t) {
  return VariantIndex<T, Message>::value == static_cast<std::size_t>(t);
}
static_assert(std::variant_size_v<Message> == message_types);
static_assert(type_is<VoteRequest>(MessageType::vote_request));
static_assert(type_is<VoteResponse>(MessageType::vote_response));
static_assert(type_is<BeginQuorumEpochRequest>(MessageType::begin_quorum_epoch_request));
static_assert(type_is<BeginQuorumEpochResponse>(MessageType::begin_quorum_epoch_response));
static_assert(type_is<EndQuorumEpochRequest>(MessageType::end_quorum_epoch_request));
static_assert(type_is<EndQuorumEpochResponse>(MessageType::end_quorum_epoch_response));
static_assert(type_is<FetchRequest>(MessageType::fetch_request));
static_assert(type_is<FetchResponse>(MessageType::fetch_response));
static_assert(type_is<FetchSnapshotRequest>(MessageType::fetch_snapshot_request));
static_assert(type_is<FetchSnapshotResponse>(MessageType::fetch_snapshot_response));

// `Like<T> auto& m` binds both a T (decoding fills it) and a const T (encoding reads it).
template <class M, class T>
concept Like = std::same_as<std::remove_const_t<M>, T>;

// ---- The field lists: the single description of the layout. ----

template <class V>
void fields(V& v, Like<Entry> auto& m) {
  v.field("offset", m.offset);
  v.field("epoch", m.epoch);
  v.bytes("data", m.data, codec_entry_bytes_max);
}
template <class V>
void fields(V& v, Like<EpochEnd> auto& m) {
  v.field("epoch", m.epoch);
  v.field("end_offset", m.end_offset);
}
template <class V>
void fields(V& v, Like<SnapshotId> auto& m) {
  v.field("end_offset", m.end_offset);
  v.field("epoch", m.epoch);
}
template <class V>
void fields(V& v, Like<VoteRequest> auto& m) {
  v.field("epoch", m.epoch);
  v.field("candidate_id", m.candidate_id);
  v.field("last_epoch", m.last_epoch);
  v.field("last_offset", m.last_offset);
  v.field("pre_vote", m.pre_vote);
}
template <class V>
void fields(V& v, Like<VoteResponse> auto& m) {
  v.field("error", m.error);
  v.field("epoch", m.epoch);
  v.field("leader_id", m.leader_id);
  v.field("granted", m.granted);
  v.field("pre_vote", m.pre_vote);
}
template <class V>
void fields(V& v, Like<BeginQuorumEpochRequest> auto& m) {
  v.field("epoch", m.epoch);
  v.field("leader_id", m.leader_id);
}
template <class V>
void fields(V& v, Like<BeginQuorumEpochResponse> auto& m) {
  v.field("error", m.error);
  v.field("epoch", m.epoch);
  v.field("leader_id", m.leader_id);
}
template <class V>
void fields(V& v, Like<EndQuorumEpochRequest> auto& m) {
  v.field("epoch", m.epoch);
  v.field("leader_id", m.leader_id);
  v.list("preferred_successors", m.preferred_successors, codec_node_ids_max);
}
template <class V>
void fields(V& v, Like<EndQuorumEpochResponse> auto& m) {
  v.field("error", m.error);
  v.field("epoch", m.epoch);
  v.field("leader_id", m.leader_id);
}
template <class V>
void fields(V& v, Like<FetchRequest> auto& m) {
  v.field("epoch", m.epoch);
  v.field("replica_id", m.replica_id);
  v.field("fetch_offset", m.fetch_offset);
  v.field("last_fetched_epoch", m.last_fetched_epoch);
  v.field("max_entries", m.max_entries);
  v.field("max_wait_ms", m.max_wait_ms);
}
template <class V>
void fields(V& v, Like<FetchResponse> auto& m) {
  v.field("error", m.error);
  v.field("epoch", m.epoch);
  v.field("leader_id", m.leader_id);
  v.field("high_watermark", m.high_watermark);
  v.field("log_start_offset", m.log_start_offset);
  v.optional("diverging", m.diverging);
  v.optional("snapshot_id", m.snapshot_id);
  v.list("entries", m.entries, codec_entries_per_message_max);
}
template <class V>
void fields(V& v, Like<FetchSnapshotRequest> auto& m) {
  v.field("epoch", m.epoch);
  v.field("replica_id", m.replica_id);
  v.nested("snapshot_id", m.snapshot_id);
  v.field("position", m.position);
}
template <class V>
void fields(V& v, Like<FetchSnapshotResponse> auto& m) {
  v.field("error", m.error);
  v.field("epoch", m.epoch);
  v.field("leader_id", m.leader_id);
  v.nested("snapshot_id", m.snapshot_id);
  v.field("size", m.size);
  v.field("position", m.position);
  v.bytes("chunk", m.chunk, codec_chunk_bytes_max);
}

// ---- Encoding ----

class Encoder {
 public:
  void field(const char*, std::int16_t v) { w_.write_int16(v); }
  void field(const char*, std::int32_t v) { w_.write_int32(v); }
  void field(const char*, std::int64_t v) { w_.write_int64(v); }
  void field(const char*, bool v) { w_.write_int8(v ? 1 : 0); }
  void bytes(const char* name, const Bytes& b, std::int32_t max) {
    KEEL_ASSERT_MSG(b.size() <= static_cast<std::size_t>(max), "{}: {} bytes over the limit of {}", name, b.size(), max);
    w_.write_bytes(b);
  }
  template <class T>
  void optional(const char*, const std::optional<T>& o) {
    w_.write_int8(o ? 1 : 0);
    if (o) fields(*this, *o);
  }
  template <class T>
  void nested(const char*, const T& x) {
    fields(*this, x);
  }
  template <class T>
  void list(const char* name, const std::vector<T>& xs, std::int32_t max) {
    KEEL_ASSERT_MSG(xs.size() <= static_cast<std::size_t>(max), "{}: {} elements over the limit of {}", name, xs.size(),
                    max);
    w_.write_int32(static_cast<std::int32_t>(xs.size()));
    for (const T& x : xs) {
      if constexpr (std::is_integral_v<T>) {
        field(name, x);
      } else {
        fields(*this, x);
      }
    }
  }
  protocol::Writer& writer() { return w_; }

 private:
  protocol::Writer w_;
};

// ---- Decoding ----

// Reads fields while keeping the path to the current one ("FetchResponse.entries[3]"), so the
// first failure names where it happened. After a failure every read is a no-op.
class Decoder {
 public:
  explicit Decoder(std::span<const std::uint8_t> data) : r_(data) {}

  void field(const char* name, std::int8_t& v) { read(name, v, [&] { return r_.read_int8(); }); }
  void field(const char* name, std::int16_t& v) { read(name, v, [&] { return r_.read_int16(); }); }
  void field(const char* name, std::int32_t& v) { read(name, v, [&] { return r_.read_int32(); }); }
  void field(const char* name, std::int64_t& v) { read(name, v, [&] { return r_.read_int64(); }); }
  void field(const char* name, bool& v) { v = flag(name) == 1; }

  void bytes(const char* name, Bytes& b, std::int32_t max) {
    std::int32_t n = 0;
    field(name, n);
    if (!length_fits(name, n, max, 1)) return;
    auto raw = r_.read_raw(static_cast<std::size_t>(n));
    b.assign(raw.begin(), raw.end());
  }
  template <class T>
  void optional(const char* name, std::optional<T>& o) {
    if (flag(name) != 1) return;
    Scope scope(*this, name);
    o.emplace();
    fields(*this, *o);
  }
  template <class T>
  void nested(const char* name, T& x) {
    Scope scope(*this, name);
    fields(*this, x);
  }
  template <class T>
  void list(const char* name, std::vector<T>& xs, std::int32_t max) {
    std::int32_t n = 0;
    field(name, n);
    // Every element takes at least one byte, so a count beyond what remains is a truncation.
    if (!length_fits(name, n, max, 1)) return;
    xs.reserve(static_cast<std::size_t>(n));
    for (std::int32_t i = 0; i < n && ok(); ++i) {
      Scope scope(*this, fmt::format("{}[{}]", name, i));
      xs.emplace_back();
      if constexpr (std::is_integral_v<T>) {
        field("", xs.back());
      } else {
        fields(*this, xs.back());
      }
    }
  }

  // The message-level scope: "Envelope", then the message's name.
  void set_root(std::string_view root) { path_ = root; }
  void fail(const char* name, std::string what) {
    if (!error_.empty()) return;
    error_ = fmt::format("{}: {} (at byte {} of {})", where(name), what, r_.position(), r_.position() + r_.remaining());
  }
  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  std::size_t remaining() const { return r_.remaining(); }

 private:
  struct Scope {
    Scope(Decoder& d, std::string_view name) : d_(d), saved_(d.path_.size()) {
      d_.path_ += '.';
      d_.path_ += name;
    }
    ~Scope() { d_.path_.resize(saved_); }
    Decoder& d_;
    std::size_t saved_;
  };

  template <class T, class F>
  void read(const char* name, T& v, F&& get) {
    if (!ok()) return;
    v = get();
    if (!r_.ok()) fail(name, "truncated");
  }
  // A bool or presence byte: 0 or 1, anything else is refused (one encoding per message).
  std::int8_t flag(const char* name) {
    std::int8_t b = 0;
    field(name, b);
    if (ok() && b != 0 && b != 1) fail(name, fmt::format("{} is neither 0 nor 1", b));
    return ok() ? b : 0;
  }
  bool length_fits(const char* name, std::int32_t n, std::int32_t max, std::size_t bytes_each) {
    if (!ok()) return false;
    if (n < 0) {
      fail(name, fmt::format("negative length {}", n));
    } else if (n > max) {
      fail(name, fmt::format("length {} over the limit of {}", n, max));
    } else if (static_cast<std::size_t>(n) * bytes_each > r_.remaining()) {
      fail(name, fmt::format("truncated (length {}, {} bytes remain)", n, r_.remaining()));
    }
    return ok();
  }
  std::string where(std::string_view name) const {
    return name.empty() ? path_ : fmt::format("{}.{}", path_, name);
  }

  protocol::Reader r_;
  std::string path_;
  std::string error_;
};

template <std::size_t... I>
Message make_message(std::size_t index, std::index_sequence<I...>) {
  static constexpr Message (*makers[])() = {+[]() { return Message(std::in_place_index<I>); }...};
  return makers[index]();
}

}  // namespace

protocol::Bytes encode(const Envelope& envelope) {
  Encoder e;
  e.writer().write_int8(codec_version);
  e.field("from", envelope.from);
  e.field("to", envelope.to);
  e.field("correlation_id", envelope.correlation_id);
  e.writer().write_int8(static_cast<std::int8_t>(envelope.message.index()));
  std::visit([&](const auto& m) { fields(e, m); }, envelope.message);
  return e.writer().take();
}

Result<Envelope> decode_envelope(std::span<const std::uint8_t> data) {
  Decoder d(data);
  d.set_root("Envelope");
  std::int8_t version = 0;
  d.field("version", version);
  if (d.ok() && version != codec_version) d.fail("version", fmt::format("{} is not {}", version, codec_version));
  Envelope out;
  d.field("from", out.from);
  d.field("to", out.to);
  d.field("correlation_id", out.correlation_id);
  std::int8_t type = 0;
  d.field("type", type);
  if (d.ok() && (type < 0 || static_cast<std::size_t>(type) >= message_types)) d.fail("type", fmt::format("{} is unknown", type));
  if (d.ok()) {
    out.message = make_message(static_cast<std::size_t>(type), std::make_index_sequence<message_types>());
    d.set_root(message_name(out.message));
    std::visit([&](auto& m) { fields(d, m); }, out.message);
    if (d.ok() && d.remaining() > 0) d.fail("", fmt::format("{} trailing bytes", d.remaining()));
  }
  if (!d.ok()) return make_error(Errc::corrupt, d.error());
  return out;
}

}  // namespace keel::metadata::raft
