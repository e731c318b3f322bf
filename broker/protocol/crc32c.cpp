#include "broker/protocol/crc32c.h"

#include <array>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace keel::protocol {
namespace {

constexpr std::uint32_t polynomial = 0x82F63B78;  // Castagnoli, reflected

using Tables = std::array<std::array<std::uint32_t, 256>, 8>;

constexpr Tables make_tables() {
  Tables t{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) != 0 ? (c >> 1) ^ polynomial : c >> 1;
    t[0][i] = c;
  }
  for (std::uint32_t i = 0; i < 256; ++i) {
    for (std::size_t s = 1; s < 8; ++s) t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xFF];
  }
  return t;
}

constexpr Tables tables = make_tables();

#if defined(__x86_64__)
// Compiled for SSE4.2 on its own, so the rest of the build needs no -msse4.2; called only when the
// CPU has the instruction.
__attribute__((target("sse4.2"))) std::uint32_t hardware(const std::uint8_t* p, std::size_t n, std::uint32_t crc) {
  std::uint64_t c = ~crc;
  while (n >= 8) {
    std::uint64_t word;
    std::memcpy(&word, p, 8);
    c = _mm_crc32_u64(c, word);
    p += 8;
    n -= 8;
  }
  auto c32 = static_cast<std::uint32_t>(c);
  while (n-- > 0) c32 = _mm_crc32_u8(c32, *p++);
  return ~c32;
}
#endif

// Runs during static initialisation, possibly before libgcc's own CPU probe: hence the explicit init.
bool detect_hardware() {
#if defined(__x86_64__)
  __builtin_cpu_init();
  return __builtin_cpu_supports("sse4.2");
#else
  return false;
#endif
}

const bool has_hardware = detect_hardware();

}  // namespace

std::uint32_t crc32c_table(std::span<const std::uint8_t> data, std::uint32_t crc) {
  std::uint32_t c = ~crc;
  const std::uint8_t* p = data.data();
  std::size_t n = data.size();
  while (n >= 8) {
    const std::uint32_t lo = c ^ (std::uint32_t{p[0]} | std::uint32_t{p[1]} << 8 | std::uint32_t{p[2]} << 16 |
                                  std::uint32_t{p[3]} << 24);
    c = tables[7][lo & 0xFF] ^ tables[6][(lo >> 8) & 0xFF] ^ tables[5][(lo >> 16) & 0xFF] ^ tables[4][lo >> 24] ^
        tables[3][p[4]] ^ tables[2][p[5]] ^ tables[1][p[6]] ^ tables[0][p[7]];
    p += 8;
    n -= 8;
  }
  while (n-- > 0) c = (c >> 8) ^ tables[0][(c ^ *p++) & 0xFF];
  return ~c;
}

bool crc32c_hardware_available() { return has_hardware; }

std::uint32_t crc32c_hardware(std::span<const std::uint8_t> data, std::uint32_t crc) {
#if defined(__x86_64__)
  if (has_hardware) return hardware(data.data(), data.size(), crc);
#endif
  return crc32c_table(data, crc);
}

std::uint32_t crc32c(std::span<const std::uint8_t> data, std::uint32_t crc) {
  return has_hardware ? crc32c_hardware(data, crc) : crc32c_table(data, crc);
}

}  // namespace keel::protocol
