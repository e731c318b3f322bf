// The schema codec's options for Keel's own messages (schema.h, encode_internal/decode_internal):
// enums, maps, length limits, value ranges, presence bytes, canonical bools, and field lists kept
// outside their struct (FieldsOf). Each option's refusal is shown on crafted bytes.
#include "broker/protocol/schema.h"

#include <catch2/catch.hpp>

#include <map>
#include <optional>
#include <string>
#include <vector>

using namespace keel;
using namespace keel::protocol;

namespace {

enum class Colour : std::int8_t { red = 0, green = 1, blue = 2 };

struct Point {
  std::int32_t x = 0;
  std::int32_t y = 0;
  bool operator==(const Point&) const = default;

  template <class V>
  static void fields(V& v) {
    v.field("x", &Point::x, versions(0));
    v.field("y", &Point::y, versions(0));
  }
};

struct Sample {
  Colour colour = Colour::red;
  std::int32_t level = 0;
  bool flag = false;
  std::map<std::string, std::string> labels;
  std::vector<std::int32_t> ids;
  std::optional<Point> where;
  std::optional<std::vector<std::int32_t>> maybe_ids;
  std::string added;  // version 1+
  bool operator==(const Sample&) const = default;

  template <class V>
  static void fields(V& v) {
    v.field("colour", &Sample::colour, versions(0).in_range(0, 2));
    v.field("level", &Sample::level, versions(0).in_range(-2));
    v.field("flag", &Sample::flag, versions(0));
    v.field("labels", &Sample::labels, versions(0).at_most(2));
    v.field("ids", &Sample::ids, versions(0).at_most(3));
    v.field("where", &Sample::where, versions(0).with_presence_byte());
    v.field("maybe_ids", &Sample::maybe_ids, versions(0).with_presence_byte().at_most(3));
    v.field("added", &Sample::added, versions(1));
  }
};

// A struct whose field list lives outside it, as the Raft messages' do.
struct Outside {
  std::int16_t a = 0;
  std::string b;
  bool operator==(const Outside&) const = default;
};

Sample full_sample() {
  return Sample{Colour::blue, -2, true, {{"k1", "v1"}, {"k2", "v2"}}, {1, 2, 3}, Point{4, 5}, std::vector<std::int32_t>{6},
                "new"};
}

std::string refused(std::span<const std::uint8_t> bytes, std::int16_t version = 1) {
  auto out = decode_internal<Sample>(bytes, "Sample", version);
  return out.ok() ? std::string("accepted") : out.error().message;
}

}  // namespace

namespace keel::protocol {
template <>
struct FieldsOf<Outside> {
  template <class V>
  static void fields(V& v) {
    v.field("a", &Outside::a, versions(0));
    v.field("b", &Outside::b, versions(0).at_most(4));
  }
};
}  // namespace keel::protocol

TEST_CASE("schema internal: enums, maps, presence bytes and versions round-trip, in a fixed layout", "[protocol][schema]") {
  const Sample in = full_sample();
  const Bytes bytes = encode_internal(in, 1);
  // colour(1) level(4) flag(1) labels(4 + 2 x (2+2 + 2+2)) ids(4 + 12) where(1 + 8) maybe_ids(1 + 4 + 4) added(2 + 3)
  CHECK(bytes.size() == 1 + 4 + 1 + 20 + 16 + 9 + 9 + 5);
  CHECK(bytes[0] == 2);
  auto out = decode_internal<Sample>(bytes, "Sample", 1);
  REQUIRE(out.ok());
  CHECK(*out == in);

  // Version 0 has no `added`; absent optionals are one zero byte each.
  Sample v0 = in;
  v0.added.clear();
  v0.where.reset();
  v0.maybe_ids.reset();
  const Bytes bytes0 = encode_internal(v0, 0);
  CHECK(bytes0.size() == 1 + 4 + 1 + 20 + 16 + 1 + 1);
  out = decode_internal<Sample>(bytes0, "Sample", 0);
  REQUIRE(out.ok());
  CHECK(*out == v0);
  CHECK(to_string(in) == "{colour=2, level=-2, flag=true, labels=[\"k1\": \"v1\", \"k2\": \"v2\"], ids=[1, 2, 3], "
                         "where={x=4, y=5}, maybe_ids=[6], added=\"new\"}");
}

TEST_CASE("schema internal: every truncated prefix fails naming the message, the field and the truncation",
          "[protocol][schema]") {
  const Bytes bytes = encode_internal(full_sample(), 1);
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    INFO("cut to " << n << " of " << bytes.size());
    const std::string error = refused(std::span(bytes.data(), n));
    CHECK_THAT(error, Catch::StartsWith("Sample."));
    CHECK_THAT(error, Catch::Contains("truncated"));
  }
  Bytes longer = bytes;
  longer.push_back(0);
  CHECK(refused(longer) == "Sample: 1 trailing bytes");
}

TEST_CASE("schema internal: ranges, limits, bools, presence bytes and duplicate keys are refused by name",
          "[protocol][schema]") {
  const Bytes good = encode_internal(full_sample(), 1);
  auto with = [&](std::size_t at, std::initializer_list<std::uint8_t> patch) {
    Bytes b = good;
    std::copy(patch.begin(), patch.end(), b.begin() + static_cast<std::ptrdiff_t>(at));
    return b;
  };
  CHECK_THAT(refused(with(0, {3})), Catch::StartsWith("Sample.colour: 3 is not in 0..2"));
  CHECK_THAT(refused(with(1, {0xff, 0xff, 0xff, 0xfd})), Catch::StartsWith("Sample.level: -3 is below -2"));
  CHECK_THAT(refused(with(5, {2})), Catch::StartsWith("Sample.flag: 2 is neither 0 nor 1"));
  CHECK_THAT(refused(with(6, {0, 0, 0, 3})), Catch::StartsWith("Sample.labels: length 3 over the limit of 2"));
  CHECK_THAT(refused(with(6, {0xff, 0xff, 0xff, 0xff})), Catch::StartsWith("Sample.labels: null map"));
  CHECK_THAT(refused(with(21, {'1'})), Catch::StartsWith("Sample.labels[1]: a key appears twice"));
  CHECK_THAT(refused(with(26, {0, 0, 0, 4})), Catch::StartsWith("Sample.ids: length 4 over the limit of 3"));
  CHECK_THAT(refused(with(42, {7})), Catch::StartsWith("Sample.where: 7 is neither 0 nor 1"));
  CHECK_THAT(refused(with(52, {0, 0, 0, 4})), Catch::StartsWith("Sample.maybe_ids: length 4 over the limit of 3"));
  // A refusal says where it happened.
  CHECK_THAT(refused(with(0, {3})), Catch::EndsWith("(at byte 1 of 65)"));

  // Kafka's messages read any non-zero byte as true; only Keel's internal form is strict.
  const Bytes two = with(5, {2});
  Reader kafka_form(two);
  Sample lenient;
  protocol::detail::DecodePath where;
  protocol::detail::decode_struct(kafka_form, lenient, WireContext{1, false, false}, where);
  CHECK(kafka_form.ok());
  CHECK(lenient.flag);
}

TEST_CASE("schema internal: a field list kept outside its struct (FieldsOf) drives the same codec", "[protocol][schema]") {
  const Outside in{7, "abcd"};
  const Bytes bytes = encode_internal(in);
  CHECK(bytes == Bytes{0, 7, 0, 4, 'a', 'b', 'c', 'd'});
  auto out = decode_internal<Outside>(bytes, "Outside");
  REQUIRE(out.ok());
  CHECK(*out == in);
  CHECK(to_string(in) == "{a=7, b=\"abcd\"}");
  const Bytes longer = encode_internal(Outside{7, "abcde"});
  auto refused_b = decode_internal<Outside>(longer, "Outside");
  REQUIRE_FALSE(refused_b.ok());
  CHECK_THAT(refused_b.error().message, Catch::StartsWith("Outside.b: length 5 over the limit of 4"));
}
