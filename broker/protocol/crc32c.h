#pragma once
// CRC-32C (Castagnoli), the checksum of Kafka's record batch v2. Uses the SSE4.2 crc32 instruction
// when the CPU has it (checked once), a slice-by-8 table otherwise; both give the same values.
#include <cstdint>
#include <span>

namespace keel::protocol {

// Extends `crc` (the CRC of the bytes before `data`; 0 to start) over `data`.
std::uint32_t crc32c(std::span<const std::uint8_t> data, std::uint32_t crc = 0);

// The two implementations, for tests and the benchmark.
std::uint32_t crc32c_table(std::span<const std::uint8_t> data, std::uint32_t crc = 0);
std::uint32_t crc32c_hardware(std::span<const std::uint8_t> data, std::uint32_t crc = 0);
bool crc32c_hardware_available();

}  // namespace keel::protocol
