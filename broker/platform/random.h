#pragma once
// A small, fast, seedable generator (xoshiro256**) and the derivation of independent streams from
// one seed. Broker code gets its generator from Runtime::random(); in simulation every stream is a
// pure function of (seed, node, purpose), so adding a node or a fault type reshuffles nothing else.
#include "broker/base/assert.h"

#include <cstdint>
#include <string_view>

namespace keel {

// splitmix64: the standard way to expand one 64-bit value into well-mixed state.
constexpr std::uint64_t splitmix64(std::uint64_t& x) {
  std::uint64_t z = (x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// FNV-1a over a name, for deriving stream ids from readable purposes ("net", "disk", ...).
constexpr std::uint64_t hash_name(std::string_view s) {
  std::uint64_t h = 0xCBF29CE484222325ull;
  for (char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001B3ull;
  }
  return h;
}

class Random {
 public:
  explicit Random(std::uint64_t seed = 0) { reseed(seed); }

  // A stream for (seed, node, purpose) that does not depend on any other stream's use.
  static Random derive(std::uint64_t seed, std::uint64_t node, std::string_view purpose) {
    std::uint64_t x = seed;
    std::uint64_t a = splitmix64(x);
    x = a ^ (node * 0xD1B54A32D192ED03ull);
    std::uint64_t b = splitmix64(x);
    return Random(b ^ hash_name(purpose));
  }

  void reseed(std::uint64_t seed) {
    std::uint64_t x = seed;
    for (auto& w : s_) w = splitmix64(x);
  }

  std::uint64_t next() {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  // Uniform in [0, n), n > 0, without modulo bias worth caring about (Lemire's method).
  std::uint64_t below(std::uint64_t n) {
    KEEL_ASSERT(n > 0);
    return static_cast<std::uint64_t>((static_cast<unsigned __int128>(next()) * n) >> 64);
  }
  // Uniform in [lo, hi], inclusive.
  std::int64_t between(std::int64_t lo, std::int64_t hi) {
    KEEL_ASSERT_LE(lo, hi);
    return lo + static_cast<std::int64_t>(below(static_cast<std::uint64_t>(hi - lo) + 1));
  }
  // Uniform in [0, 1).
  double unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  bool chance(double p) { return p > 0 && unit() < p; }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::uint64_t s_[4];
};

}  // namespace keel
