#pragma once
// The one generic codec behind every message. Each message struct (and each struct nested in it)
// lists its fields once, in wire order, in a static member template:
//
//   template <class V> static void fields(V& v) {
//     v.field("transactional_id", &ProduceRequest::transactional_id, versions(3).nullable(3));
//     v.field("acks", &ProduceRequest::acks, versions(0));
//   }
//
// Each entry names the member, the versions it exists in, the versions in which it may be null, and
// for tagged fields its tag. The visitors below encode, decode and print any such struct: fields
// absent in a version are skipped (decoding leaves their defaults), flexible versions use compact
// encodings and end every struct with a tag buffer, known tagged fields are written only when they
// differ from their default, and unknown tags are skipped when reading.
//
// Keel's own messages (controller calls, Raft messages, metadata records: see encode_internal
// below) use the same lists with three more field options: a length limit (at_most), a value range
// (in_range), and an optional written after a presence byte (with_presence_byte); they apply to
// untagged fields, which is all Keel's own messages have. Enums travel as their underlying integer,
// and a std::map as an array of key/value pairs.
#include "broker/base/ids.h"
#include "broker/protocol/api.h"
#include "broker/protocol/wire.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace keel::protocol {

inline constexpr std::int16_t version_max = std::numeric_limits<std::int16_t>::max();

// Where a field exists and how it is encoded; built with versions(...), then .nullable(...) and
// .tagged(...). An empty range has min > max.
struct FieldSpec {
  std::int16_t min_version = 0;
  std::int16_t max_version = version_max;
  std::int16_t nullable_min = version_max;
  std::int16_t nullable_max = -1;
  std::int32_t tag = -1;
  std::int16_t tagged_min = version_max;
  std::int16_t tagged_max = -1;
  std::int32_t length_max = -1;  // -1: bounded only by the bytes that remain
  std::int64_t value_min = std::numeric_limits<std::int64_t>::min();
  std::int64_t value_max = std::numeric_limits<std::int64_t>::max();
  bool presence_byte = false;

  constexpr bool present(std::int16_t v) const { return v >= min_version && v <= max_version; }
  constexpr bool nullable_at(std::int16_t v) const { return v >= nullable_min && v <= nullable_max; }
  constexpr bool tagged_at(std::int16_t v) const { return tag >= 0 && v >= tagged_min && v <= tagged_max; }

  // Null is allowed in versions min..max (Kafka's "nullableVersions").
  constexpr FieldSpec nullable(int min, int max = version_max) const {
    FieldSpec s = *this;
    s.nullable_min = static_cast<std::int16_t>(min);
    s.nullable_max = static_cast<std::int16_t>(max);
    return s;
  }
  // A tagged field with this tag in versions min..max (Kafka's "tag" and "taggedVersions").
  constexpr FieldSpec tagged(int tag_number, int min, int max = version_max) const {
    FieldSpec s = *this;
    s.tag = tag_number;
    s.tagged_min = static_cast<std::int16_t>(min);
    s.tagged_max = static_cast<std::int16_t>(max);
    return s;
  }
  // At most `n` elements (arrays, maps) or bytes (strings, bytes): decoding refuses a longer length
  // before reading or allocating anything for it. Encoding writes what it is given; a caller that
  // takes lengths from outside checks them first.
  constexpr FieldSpec at_most(std::int32_t n) const {
    FieldSpec s = *this;
    s.length_max = n;
    return s;
  }
  // An integer or enum field whose value must lie in min..max: decoding refuses any other.
  constexpr FieldSpec in_range(std::int64_t min, std::int64_t max = std::numeric_limits<std::int64_t>::max()) const {
    FieldSpec s = *this;
    s.value_min = min;
    s.value_max = max;
    return s;
  }
  // A std::optional written as a presence byte (0 absent, 1 present) and then the value when
  // present: Keel's own form, for any type (Kafka's messages use nullable strings, bytes and arrays).
  constexpr FieldSpec with_presence_byte() const {
    FieldSpec s = *this;
    s.presence_byte = true;
    return s;
  }
};

// A field that exists in versions min..max (Kafka's "versions": "min+" or "min-max").
constexpr FieldSpec versions(int min, int max = version_max) {
  FieldSpec s;
  s.min_version = static_cast<std::int16_t>(min);
  s.max_version = static_cast<std::int16_t>(max);
  return s;
}

// How one message version is laid out: its number and whether it is flexible.
struct WireContext {
  std::int16_t version = 0;
  bool flexible = false;
  // Keel's own messages have one encoding each: a bool or presence byte other than 0 or 1 is
  // refused (Kafka reads any non-zero byte as true).
  bool canonical = false;
};

// The field list of a struct described outside its definition, so that a header free of wire
// concerns (the Raft core's) need not know its layout: specialise FieldsOf<T> with the same static
// fields(v), before the codec is used on T.
template <class T>
struct FieldsOf {};

namespace detail {

struct FieldProbe {
  template <class C, class T>
  void field(std::string_view, T C::*, FieldSpec) {}
};

}  // namespace detail

// A struct described by a fields() list: a message or a struct nested in one.
template <class T>
concept Described = requires(detail::FieldProbe& p) { T::fields(p); } ||
                    requires(detail::FieldProbe& p) { FieldsOf<T>::fields(p); };

// A top-level request or response body.
template <class T>
concept Message = Described<T> && requires {
  { T::api_key } -> std::convertible_to<ApiKey>;
  { T::is_request } -> std::convertible_to<bool>;
  { T::message_name } -> std::convertible_to<std::string_view>;
};

namespace detail {

template <class T>
struct IsOptional : std::false_type {};
template <class T>
struct IsOptional<std::optional<T>> : std::true_type {};
template <class T>
inline constexpr bool is_optional_v = IsOptional<T>::value;

// std::vector<T> other than Bytes (bytes are a primitive, not an array of int8).
template <class T>
struct IsArray : std::false_type {};
template <class T, class A>
struct IsArray<std::vector<T, A>> : std::bool_constant<!std::is_same_v<T, std::uint8_t>> {};
template <class T>
inline constexpr bool is_array_v = IsArray<T>::value;

template <class T>
struct IsMap : std::false_type {};
template <class K, class V, class C, class A>
struct IsMap<std::map<K, V, C, A>> : std::true_type {};
template <class T>
inline constexpr bool is_map_v = IsMap<T>::value;

// Walks the field list of S with visitor v, wherever the list is.
template <class S, class V>
void visit_fields(V& v) {
  if constexpr (requires { S::fields(v); }) {
    S::fields(v);
  } else {
    FieldsOf<S>::fields(v);
  }
}

template <class S>
const S& default_instance() {
  static const S instance{};
  return instance;
}

// ---- encoding ----

template <Described S>
void encode_struct(Writer& w, const S& s, WireContext c);

// An array's or map's element count.
inline void write_count(Writer& w, std::size_t size, WireContext c) {
  KEEL_ASSERT_LE(size, static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max() - 1));
  const auto n = static_cast<std::int32_t>(size);
  if (c.flexible) {
    w.write_compact_array_length(n);
  } else {
    w.write_array_length(n);
  }
}

template <class T>
void write_value(Writer& w, const T& v, WireContext c) {
  if constexpr (std::is_same_v<T, bool>) {
    w.write_bool(v);
  } else if constexpr (std::is_same_v<T, std::int8_t>) {
    w.write_int8(v);
  } else if constexpr (std::is_same_v<T, std::int16_t>) {
    w.write_int16(v);
  } else if constexpr (std::is_same_v<T, std::int32_t>) {
    w.write_int32(v);
  } else if constexpr (std::is_same_v<T, std::int64_t>) {
    w.write_int64(v);
  } else if constexpr (std::is_same_v<T, std::uint16_t>) {
    w.write_uint16(v);
  } else if constexpr (std::is_same_v<T, std::uint32_t>) {
    w.write_uint32(v);
  } else if constexpr (std::is_same_v<T, double>) {
    w.write_float64(v);
  } else if constexpr (std::is_same_v<T, Uuid>) {
    w.write_uuid(v);
  } else if constexpr (std::is_same_v<T, std::string>) {
    if (c.flexible) {
      w.write_compact_string(v);
    } else {
      w.write_string(v);
    }
  } else if constexpr (std::is_same_v<T, Bytes>) {
    if (c.flexible) {
      w.write_compact_bytes(v);
    } else {
      w.write_bytes(v);
    }
  } else if constexpr (std::is_enum_v<T>) {
    write_value(w, static_cast<std::underlying_type_t<T>>(v), c);
  } else if constexpr (is_id_v<T>) {
    w.write_int32(v.value);
  } else if constexpr (is_array_v<T>) {
    write_count(w, v.size(), c);
    for (const auto& e : v) write_value(w, e, c);
  } else if constexpr (is_map_v<T>) {
    write_count(w, v.size(), c);
    for (const auto& [key, value] : v) {
      write_value(w, key, c);
      write_value(w, value, c);
    }
  } else {
    static_assert(Described<T>, "no wire encoding for this field type");
    encode_struct(w, v, c);
  }
}

template <class T>
void write_null(Writer& w, WireContext c) {
  if constexpr (std::is_same_v<T, std::string>) {
    if (c.flexible) {
      w.write_unsigned_varint(0);
    } else {
      w.write_int16(-1);
    }
  } else if constexpr (std::is_same_v<T, Bytes> || is_array_v<T>) {
    if (c.flexible) {
      w.write_unsigned_varint(0);
    } else {
      w.write_int32(-1);
    }
  } else if constexpr (Described<T>) {
    w.write_int8(-1);  // Kafka's nullable struct: -1 null, 1 present
  } else {
    KEEL_ASSERT_MSG(false, "only strings, bytes, arrays and structs can be null");
  }
}

// A field's value. A null in a version where the field is not nullable is written as the empty
// value: the peer could not read a null there.
template <class T>
void write_field(Writer& w, const T& v, bool nullable, WireContext c) {
  if constexpr (is_optional_v<T>) {
    using U = typename T::value_type;
    if (v) {
      if constexpr (Described<U>) {
        if (nullable) w.write_int8(1);
      }
      write_value(w, *v, c);
    } else if (nullable) {
      write_null<U>(w, c);
    } else {
      write_value(w, U{}, c);
    }
  } else {
    write_value(w, v, c);
  }
}

// A presence byte, then the value when there is one.
template <class T>
void write_present(Writer& w, const T& v, WireContext c) {
  if constexpr (is_optional_v<T>) {
    w.write_int8(v ? 1 : 0);
    if (v) write_value(w, *v, c);
  } else {
    KEEL_ASSERT_MSG(false, "a presence byte belongs to a std::optional field");
  }
}

template <class S>
struct StructEncoder {
  Writer& w;
  const S& s;
  WireContext c;

  template <class T>
  void field(std::string_view, T S::*member, FieldSpec spec) {
    if (!spec.present(c.version) || spec.tagged_at(c.version)) return;
    if (spec.presence_byte) {
      write_present(w, s.*member, c);
    } else {
      write_field(w, s.*member, spec.nullable_at(c.version), c);
    }
  }
};

// Counts the tagged fields that will be written: those that differ from their defaults.
template <class S>
struct TagCounter {
  const S& s;
  WireContext c;
  std::uint32_t count = 0;

  template <class T>
  void field(std::string_view, T S::*member, FieldSpec spec) {
    if (!spec.present(c.version) || !spec.tagged_at(c.version)) return;
    if (!(s.*member == default_instance<S>().*member)) ++count;
  }
};

template <class S>
struct TagEncoder {
  Writer& w;
  const S& s;
  WireContext c;
  std::int32_t previous_tag = -1;

  template <class T>
  void field(std::string_view name, T S::*member, FieldSpec spec) {
    if (!spec.present(c.version) || !spec.tagged_at(c.version)) return;
    if (s.*member == default_instance<S>().*member) return;
    // Kafka readers reject tags that do not ascend; the definitions list tagged fields in tag order.
    KEEL_ASSERT_MSG(spec.tag > previous_tag, "tagged field {} (tag {}) listed after tag {}", name, spec.tag,
                    previous_tag);
    previous_tag = spec.tag;
    Writer value;
    write_field(value, s.*member, spec.nullable_at(c.version), c);
    w.write_unsigned_varint(static_cast<std::uint32_t>(spec.tag));
    w.write_unsigned_varint(static_cast<std::uint32_t>(value.size()));
    w.write_raw(value.data());
  }
};

template <Described S>
void encode_struct(Writer& w, const S& s, WireContext c) {
  StructEncoder<S> fields_encoder{w, s, c};
  visit_fields<S>(fields_encoder);
  if (!c.flexible) return;
  TagCounter<S> counter{s, c};
  visit_fields<S>(counter);
  w.write_unsigned_varint(counter.count);
  if (counter.count == 0) return;
  TagEncoder<S> tags{w, s, c};
  visit_fields<S>(tags);
}

// ---- decoding ----

// Where decoding failed, built innermost first: "topic_data[0].partition_data[2].records".
struct DecodePath {
  std::string path;

  void push(std::string_view part) {
    if (path.empty()) {
      path = std::string(part);
    } else if (path.front() == '[') {
      path = fmt::format("{}{}", part, path);
    } else {
      path = fmt::format("{}.{}", part, path);
    }
  }
};

template <Described S>
void decode_struct(Reader& r, S& s, WireContext c, DecodePath& where);

// Bounds what a hostile count can make us reserve before the elements prove they exist.
inline constexpr std::int32_t array_reserve_max = 1024;

template <class E>
void read_elements(Reader& r, std::vector<E>& out, std::int32_t n, WireContext c, DecodePath& where);
template <class M>
void read_map(Reader& r, M& out, WireContext c, DecodePath& where);

// A bool or presence byte in its canonical form, 0 or 1; anything else is refused.
inline std::int8_t read_flag(Reader& r) {
  const std::int8_t b = r.read_int8();
  if (r.ok() && b != 0 && b != 1) r.fail(fmt::format("{} is neither 0 nor 1", b));
  return r.ok() ? b : 0;
}

template <class T>
void read_value(Reader& r, T& out, WireContext c, DecodePath& where) {
  if constexpr (std::is_same_v<T, bool>) {
    out = c.canonical ? read_flag(r) == 1 : r.read_bool();
  } else if constexpr (std::is_same_v<T, std::int8_t>) {
    out = r.read_int8();
  } else if constexpr (std::is_same_v<T, std::int16_t>) {
    out = r.read_int16();
  } else if constexpr (std::is_same_v<T, std::int32_t>) {
    out = r.read_int32();
  } else if constexpr (std::is_same_v<T, std::int64_t>) {
    out = r.read_int64();
  } else if constexpr (std::is_same_v<T, std::uint16_t>) {
    out = r.read_uint16();
  } else if constexpr (std::is_same_v<T, std::uint32_t>) {
    out = r.read_uint32();
  } else if constexpr (std::is_same_v<T, double>) {
    out = r.read_float64();
  } else if constexpr (std::is_same_v<T, Uuid>) {
    out = r.read_uuid();
  } else if constexpr (std::is_same_v<T, std::string>) {
    out = c.flexible ? r.read_compact_string() : r.read_string();
  } else if constexpr (std::is_same_v<T, Bytes>) {
    out = c.flexible ? r.read_compact_bytes() : r.read_bytes();
  } else if constexpr (is_array_v<T>) {
    const std::int32_t n = c.flexible ? r.read_compact_array_length() : r.read_array_length();
    if (n < 0) {
      r.fail("null array where the field is not nullable");
      return;
    }
    read_elements(r, out, n, c, where);
  } else if constexpr (std::is_enum_v<T>) {
    std::underlying_type_t<T> raw{};
    read_value(r, raw, c, where);
    out = static_cast<T>(raw);
  } else if constexpr (is_id_v<T>) {
    read_value(r, out.value, c, where);
  } else if constexpr (is_map_v<T>) {
    read_map(r, out, c, where);
  } else {
    static_assert(Described<T>, "no wire decoding for this field type");
    decode_struct(r, out, c, where);
  }
}

template <class E>
void read_elements(Reader& r, std::vector<E>& out, std::int32_t n, WireContext c, DecodePath& where) {
  out.clear();
  out.reserve(static_cast<std::size_t>(std::min(n, array_reserve_max)));
  for (std::int32_t i = 0; i < n; ++i) {
    const std::size_t start = r.position();
    E& e = out.emplace_back();
    read_value(r, e, c, where);
    // Every element takes at least one byte, so a count bounded by the bytes left bounds memory too.
    if (r.ok() && r.position() == start) r.fail("array element took no bytes");
    if (!r.ok()) {
      where.push(fmt::format("[{}]", i));
      return;
    }
  }
}

// Key/value pairs, each key once.
template <class M>
void read_map(Reader& r, M& out, WireContext c, DecodePath& where) {
  const std::int32_t n = c.flexible ? r.read_compact_array_length() : r.read_array_length();
  if (n < 0) {
    r.fail("null map where the field is not nullable");
    return;
  }
  out.clear();
  for (std::int32_t i = 0; i < n && r.ok(); ++i) {
    typename M::key_type key{};
    typename M::mapped_type value{};
    read_value(r, key, c, where);
    read_value(r, value, c, where);
    if (r.ok() && !out.emplace(std::move(key), std::move(value)).second) r.fail("a key appears twice");
    if (!r.ok()) where.push(fmt::format("[{}]", i));
  }
}

template <class T>
void read_nullable(Reader& r, std::optional<T>& out, WireContext c, DecodePath& where) {
  if constexpr (std::is_same_v<T, std::string>) {
    out = c.flexible ? r.read_compact_nullable_string() : r.read_nullable_string();
  } else if constexpr (std::is_same_v<T, Bytes>) {
    out = c.flexible ? r.read_compact_nullable_bytes() : r.read_nullable_bytes();
  } else if constexpr (is_array_v<T>) {
    const std::int32_t n = c.flexible ? r.read_compact_array_length() : r.read_array_length();
    if (n < 0 || !r.ok()) {
      out.reset();
      return;
    }
    read_elements(r, out.emplace(), n, c, where);
  } else if constexpr (Described<T>) {
    const std::int8_t marker = r.read_int8();
    out.reset();
    if (!r.ok() || marker == -1) return;
    if (marker != 1) {
      r.fail(fmt::format("a nullable struct's marker is {}, not -1 or 1", marker));
      return;
    }
    decode_struct(r, out.emplace(), c, where);
  } else {
    KEEL_ASSERT_MSG(false, "only strings, bytes, arrays and structs can be null");
  }
}

template <class T>
void read_field(Reader& r, T& out, bool nullable, WireContext c, DecodePath& where) {
  if constexpr (is_optional_v<T>) {
    if (nullable) {
      read_nullable(r, out, c, where);
    } else {
      read_value(r, out.emplace(), c, where);
    }
  } else {
    // A field that can be null in this version must be declared std::optional.
    KEEL_ASSERT(!nullable);
    read_value(r, out, c, where);
  }
}

// Refuses a length over the field's limit (at_most) before anything is read or allocated for it.
template <class T>
void refuse_over_limit(Reader& r, FieldSpec spec, WireContext c) {
  if (spec.length_max < 0) return;
  if constexpr (is_optional_v<T>) {
    refuse_over_limit<typename T::value_type>(r, spec, c);
  } else if constexpr (!std::is_same_v<T, std::string> && !std::is_same_v<T, Bytes> && !is_array_v<T> && !is_map_v<T>) {
    KEEL_ASSERT_MSG(false, "a length limit belongs to a string, bytes, array or map");
  } else {
    Reader peek = r;
    std::int64_t n = 0;
    if (c.flexible) {
      n = static_cast<std::int64_t>(peek.read_unsigned_varint()) - 1;
    } else if constexpr (std::is_same_v<T, std::string>) {
      n = peek.read_int16();
    } else {
      n = peek.read_int32();
    }
    if (peek.ok() && n > spec.length_max) r.fail(fmt::format("length {} over the limit of {}", n, spec.length_max));
  }
}

// An optional after its presence byte (with_presence_byte).
template <class T>
void read_present(Reader& r, T& out, FieldSpec spec, WireContext c, DecodePath& where) {
  if constexpr (is_optional_v<T>) {
    out.reset();
    if (read_flag(r) != 1) return;
    refuse_over_limit<typename T::value_type>(r, spec, c);
    if (r.ok()) read_value(r, out.emplace(), c, where);
  } else {
    KEEL_ASSERT_MSG(false, "a presence byte belongs to a std::optional field");
  }
}

// Refuses an integer or enum outside the field's range (in_range).
template <class T>
void refuse_out_of_range(Reader& r, const T& v, FieldSpec spec) {
  if constexpr (std::is_integral_v<T> || std::is_enum_v<T> || is_id_v<T>) {
    std::int64_t x = 0;
    if constexpr (is_id_v<T>) {
      x = v.value;
    } else {
      x = static_cast<std::int64_t>(v);
    }
    if (x >= spec.value_min && x <= spec.value_max) return;
    if (spec.value_max == std::numeric_limits<std::int64_t>::max()) {
      r.fail(fmt::format("{} is below {}", x, spec.value_min));
    } else {
      r.fail(fmt::format("{} is not in {}..{}", x, spec.value_min, spec.value_max));
    }
  } else {
    KEEL_ASSERT_MSG(spec.value_min == std::numeric_limits<std::int64_t>::min() &&
                        spec.value_max == std::numeric_limits<std::int64_t>::max(),
                    "a range belongs to an integer, enum or id field");
  }
}

template <class S>
struct StructDecoder {
  Reader& r;
  S& s;
  WireContext c;
  DecodePath& where;

  template <class T>
  void field(std::string_view name, T S::*member, FieldSpec spec) {
    if (!r.ok() || !spec.present(c.version) || spec.tagged_at(c.version)) return;
    if (spec.presence_byte) {
      read_present(r, s.*member, spec, c, where);
    } else {
      refuse_over_limit<T>(r, spec, c);
      if (r.ok()) read_field(r, s.*member, spec.nullable_at(c.version), c, where);
    }
    if (r.ok()) refuse_out_of_range(r, s.*member, spec);
    if (!r.ok()) where.push(name);
  }
};

// Reads the field with one tag (if this struct has it) from the tagged field's own bytes.
template <class S>
struct TagDecoder {
  Reader& r;  // the tagged field's bytes only
  S& s;
  WireContext c;
  DecodePath& where;
  std::uint32_t tag = 0;
  bool found = false;

  template <class T>
  void field(std::string_view name, T S::*member, FieldSpec spec) {
    if (found || !spec.present(c.version) || !spec.tagged_at(c.version)) return;
    if (static_cast<std::uint32_t>(spec.tag) != tag) return;
    found = true;
    read_field(r, s.*member, spec.nullable_at(c.version), c, where);
    if (r.ok() && r.remaining() != 0) r.fail(fmt::format("tagged field has {} bytes left over", r.remaining()));
    if (!r.ok()) where.push(name);
  }
};

template <class S>
void decode_tagged_fields(Reader& r, S& s, WireContext c, DecodePath& where) {
  const std::uint32_t count = r.read_unsigned_varint();
  std::int64_t previous_tag = -1;
  for (std::uint32_t i = 0; i < count && r.ok(); ++i) {
    const std::uint32_t tag = r.read_unsigned_varint();
    const std::uint32_t size = r.read_unsigned_varint();
    if (!r.ok()) return;
    if (static_cast<std::int64_t>(tag) <= previous_tag) {
      r.fail(fmt::format("tagged field {} out of order after tag {}", tag, previous_tag));
      return;
    }
    previous_tag = tag;
    const auto bytes = r.read_raw(size);
    if (!r.ok()) return;
    Reader field_reader(bytes);
    TagDecoder<S> decoder{field_reader, s, c, where, tag};
    visit_fields<S>(decoder);  // an unknown tag is skipped: its bytes are already consumed
    if (!field_reader.ok()) {
      r.fail(fmt::format("tagged field {}: {}", tag, field_reader.error().message));
      return;
    }
  }
}

template <Described S>
void decode_struct(Reader& r, S& s, WireContext c, DecodePath& where) {
  StructDecoder<S> decoder{r, s, c, where};
  visit_fields<S>(decoder);
  if (c.flexible && r.ok()) decode_tagged_fields(r, s, c, where);
}

// ---- printing (for tests, logs and traces) ----

template <Described S>
void print_struct(std::string& out, const S& s);

template <class T>
void print_value(std::string& out, const T& v) {
  if constexpr (is_optional_v<T>) {
    if (!v) {
      out += "null";
    } else {
      print_value(out, *v);
    }
  } else if constexpr (std::is_same_v<T, bool>) {
    out += v ? "true" : "false";
  } else if constexpr (std::is_enum_v<T>) {
    out += fmt::format("{}", static_cast<std::int64_t>(v));
  } else if constexpr (std::is_integral_v<T> || std::is_floating_point_v<T>) {
    out += fmt::format("{}", v);
  } else if constexpr (is_id_v<T>) {
    out += fmt::format("{}", v.value);
  } else if constexpr (std::is_same_v<T, Uuid>) {
    for (auto b : v.bytes) out += fmt::format("{:02x}", b);
  } else if constexpr (std::is_same_v<T, std::string>) {
    out += fmt::format("\"{}\"", v);
  } else if constexpr (std::is_same_v<T, Bytes>) {
    out += fmt::format("bytes({})", v.size());
  } else if constexpr (is_array_v<T>) {
    out += '[';
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (i > 0) out += ", ";
      print_value(out, v[i]);
    }
    out += ']';
  } else if constexpr (is_map_v<T>) {
    out += '[';
    for (auto it = v.begin(); it != v.end(); ++it) {
      if (it != v.begin()) out += ", ";
      print_value(out, it->first);
      out += ": ";
      print_value(out, it->second);
    }
    out += ']';
  } else {
    print_struct(out, v);
  }
}

template <class S>
struct StructPrinter {
  std::string& out;
  const S& s;
  bool first = true;

  template <class T>
  void field(std::string_view name, T S::*member, FieldSpec) {
    if (!first) out += ", ";
    first = false;
    out += name;
    out += '=';
    print_value(out, s.*member);
  }
};

template <Described S>
void print_struct(std::string& out, const S& s) {
  out += '{';
  StructPrinter<S> printer{out, s};
  visit_fields<S>(printer);
  out += '}';
}

}  // namespace detail

// Every field of `s`, whatever the version: "{acks=-1, timeout_ms=1000, topic_data=[...]}".
template <Described S>
std::string to_string(const S& s) {
  std::string out;
  detail::print_struct(out, s);
  return out;
}

template <Described S>
std::ostream& operator<<(std::ostream& os, const S& s) {
  return os << to_string(s);
}

// ---- Keel's own messages ----
//
// Controller calls, Raft messages and metadata records travel between Keel nodes and sit in the
// metadata log; Kafka clients never see them. They use the classic (non-flexible) encodings, no
// header of their own (each caller writes what identifies the message), and canonical values. A
// version is the message's own (a metadata record's version byte); 0 for most.

constexpr WireContext internal_context(std::int16_t version) { return WireContext{version, false, true}; }

template <Described S>
void encode_internal(Writer& w, const S& s, std::int16_t version = 0) {
  detail::encode_struct(w, s, internal_context(version));
}

template <Described S>
Bytes encode_internal(const S& s, std::int16_t version = 0) {
  Writer w;
  encode_internal(w, s, version);
  return w.take();
}

// Reads one S from `r` (which may hold more after it) into `out`. The error (Errc::corrupt) names
// the message, the field and the fault: "FetchResponse.entries[3].data: truncated: bytes of length
// 8 exceeds the 5 bytes that remain (at byte 57 of 62)".
template <Described S>
keel::Status decode_internal(Reader& r, S& out, std::string_view name, std::int16_t version = 0) {
  detail::DecodePath where;
  detail::decode_struct(r, out, internal_context(version), where);
  if (r.ok()) return {};
  return make_error(Errc::corrupt, fmt::format("{}{}{}: {}", name, where.path.empty() ? "" : ".", where.path,
                                               r.error().message));
}

// Refuses bytes left over after a message that should fill its buffer.
inline keel::Status expect_end(const Reader& r, std::string_view name) {
  if (r.remaining() == 0) return {};
  return make_error(Errc::corrupt, fmt::format("{}: {} trailing bytes", name, r.remaining()));
}

// Reads an S that fills `bytes` exactly.
template <Described S>
keel::Result<S> decode_internal(std::span<const std::uint8_t> bytes, std::string_view name, std::int16_t version = 0) {
  Reader r(bytes);
  S out{};
  if (auto st = decode_internal(r, out, name, version); !st) return st.error();
  if (auto st = expect_end(r, name); !st) return st.error();
  return out;
}

}  // namespace keel::protocol
