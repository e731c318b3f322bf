#pragma once
// Assertions stay on in every build: they are documentation that runs. A failed assertion is a
// programmer error; it prints both values and stops the process.
#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>

namespace keel {
// A line a failed assertion prints after its own, naming what was running (keel-sim sets it to the
// scenario, the seed and the command that reproduces the run). Per thread, so two worlds on two
// threads keep their own; nullptr (the default) prints nothing. The caller keeps the text alive
// while it is set. Returns the previous text, so a scope can put it back.
const char* set_assert_context(const char* text);
}  // namespace keel

namespace keel::detail {
[[noreturn]] void assert_fail(const char* expr, const char* file, int line, const std::string& detail);
}  // namespace keel::detail

#define KEEL_ASSERT(cond)                                                            \
  do {                                                                               \
    if (!(cond)) [[unlikely]]                                                        \
      ::keel::detail::assert_fail(#cond, __FILE__, __LINE__, std::string());         \
  } while (0)

#define KEEL_ASSERT_MSG(cond, ...)                                                   \
  do {                                                                               \
    if (!(cond)) [[unlikely]]                                                        \
      ::keel::detail::assert_fail(#cond, __FILE__, __LINE__, fmt::format(__VA_ARGS__)); \
  } while (0)

#define KEEL_ASSERT_OP_(a, b, op)                                                           \
  do {                                                                                      \
    const auto& keel_a_ = (a);                                                              \
    const auto& keel_b_ = (b);                                                              \
    if (!(keel_a_ op keel_b_)) [[unlikely]]                                                 \
      ::keel::detail::assert_fail(#a " " #op " " #b, __FILE__, __LINE__,                    \
                                  fmt::format("left={} right={}", keel_a_, keel_b_));       \
  } while (0)

#define KEEL_ASSERT_EQ(a, b) KEEL_ASSERT_OP_(a, b, ==)
#define KEEL_ASSERT_NE(a, b) KEEL_ASSERT_OP_(a, b, !=)
#define KEEL_ASSERT_LT(a, b) KEEL_ASSERT_OP_(a, b, <)
#define KEEL_ASSERT_LE(a, b) KEEL_ASSERT_OP_(a, b, <=)
#define KEEL_ASSERT_GE(a, b) KEEL_ASSERT_OP_(a, b, >=)
#define KEEL_ASSERT_GT(a, b) KEEL_ASSERT_OP_(a, b, >)
#define KEEL_UNREACHABLE() ::keel::detail::assert_fail("unreachable", __FILE__, __LINE__, std::string())
