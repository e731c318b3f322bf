// CRC-32C: known vectors, and the SSE4.2 path against the slice-by-8 table and a bitwise reference.
#include <catch2/catch.hpp>

#include <string_view>

#include "broker/platform/random.h"
#include "broker/protocol/crc32c.h"
#include "broker/protocol/wire.h"
#include "tests/support/bytes.h"

using namespace keel;
using namespace keel::protocol;

namespace {

using keel::test::bytes_of;

// One bit at a time, straight from the definition: reflected polynomial 0x82F63B78.
std::uint32_t crc32c_bitwise(std::span<const std::uint8_t> data, std::uint32_t crc = 0) {
  crc = ~crc;
  for (std::uint8_t b : data) {
    crc ^= b;
    for (int k = 0; k < 8; ++k) crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
  }
  return ~crc;
}

void check_all(const Bytes& data, std::uint32_t expected) {
  CHECK(crc32c_bitwise(data) == expected);
  CHECK(crc32c_table(data) == expected);
  CHECK(crc32c_hardware(data) == expected);
  CHECK(crc32c(data) == expected);
}

Bytes random_bytes(Random& random, std::size_t n) {
  Bytes out(n);
  for (auto& b : out) b = static_cast<std::uint8_t>(random.below(256));
  return out;
}

}  // namespace

TEST_CASE("crc32c: the check value and the RFC 3720 vectors match in every implementation", "[records][crc32c]") {
  check_all(bytes_of("123456789"), 0xE3069283u);
  check_all(Bytes(32, 0x00), 0x8A9136AAu);
  check_all(Bytes(32, 0xFF), 0x62A8AB43u);
  Bytes ascending(32);
  for (std::size_t i = 0; i < 32; ++i) ascending[i] = static_cast<std::uint8_t>(i);
  check_all(ascending, 0x46DD794Eu);
  Bytes descending(32);
  for (std::size_t i = 0; i < 32; ++i) descending[i] = static_cast<std::uint8_t>(31 - i);
  check_all(descending, 0x113FDB5Cu);
  // RFC 3720 B.4: an iSCSI SCSI Read (10) command PDU.
  const Bytes read_pdu{0x01, 0xC0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                       0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18,
                       0x28, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
  check_all(read_pdu, 0xD9963A56u);
  check_all(Bytes(), 0u);
}

TEST_CASE("crc32c: the instruction and the table agree on random data of every length 0..300 at every alignment",
          "[records][crc32c]") {
  if (!crc32c_hardware_available()) WARN("no SSE4.2 here: the hardware path falls back to the table");
  Random random(42);
  const Bytes data = random_bytes(random, 320);
  for (std::size_t offset = 0; offset < 16; ++offset) {
    for (std::size_t n = 0; n <= 300; ++n) {
      const std::span<const std::uint8_t> s(data.data() + offset, n);
      const std::uint32_t reference = crc32c_bitwise(s);
      REQUIRE(crc32c_table(s) == reference);
      REQUIRE(crc32c_hardware(s) == reference);
    }
  }
}

TEST_CASE("crc32c: extending a CRC over the rest gives the CRC of the whole, split anywhere", "[records][crc32c]") {
  Random random(7);
  const Bytes data = random_bytes(random, 300);
  const std::span<const std::uint8_t> all(data);
  const std::uint32_t whole = crc32c(all);
  for (std::size_t split = 0; split <= all.size(); ++split) {
    REQUIRE(crc32c_table(all.subspan(split), crc32c_table(all.first(split))) == whole);
    REQUIRE(crc32c_hardware(all.subspan(split), crc32c_hardware(all.first(split))) == whole);
  }
}

TEST_CASE("crc32c: one flipped bit anywhere changes the CRC", "[records][crc32c]") {
  Random random(9);
  Bytes data = random_bytes(random, 64);
  const std::uint32_t original = crc32c(data);
  for (std::size_t i = 0; i < data.size() * 8; ++i) {
    data[i / 8] ^= static_cast<std::uint8_t>(1u << (i % 8));
    REQUIRE(crc32c(data) != original);
    data[i / 8] ^= static_cast<std::uint8_t>(1u << (i % 8));
  }
}
