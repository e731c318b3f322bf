#pragma once
// Coverage of the interesting (Antithesis's "sometimes" and "always" assertions): named marks in
// broker code at the states a test wants to reach, and at invariants that must hold where they are
// checked.
//
//   KEEL_SOMETIMES("partition.truncate.second_round");      // a state some run should reach
//   KEEL_ALWAYS(hw <= leo, "partition.hw_within_log");      // an invariant, checked here
//
// Every mark compiled into a binary is in its catalogue before main (mark_sites()), whether or not
// a run reaches it, so a harness can list the marks no run reached. A harness (keel-sim) installs a
// MarkCounts on its thread for the length of a run and reads how often each mark was reached; with
// none installed (the production binary), a mark costs a thread-local load and a branch.
//
// A mark's identity is its name: the same name at two places is one mark reached from either
// (file:line are kept for reports). A name is one kind: a sometimes and an always may not share it.
// KEEL_ALWAYS fails like KEEL_ASSERT in every build (an invariant is an invariant); what it adds is
// the count: an invariant no run ever checks is reported as never reached.
#include "broker/base/assert.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace keel::coverage {

enum class MarkKind : std::uint8_t {
  sometimes,  // a state some run should reach
  always,     // an invariant, counted each time it is checked
};
std::string_view mark_kind_name(MarkKind k);  // "sometimes", "always"

struct MarkSite {
  std::string_view name;
  MarkKind kind = MarkKind::sometimes;
  std::string_view file;  // as the compiler named it; see source_path()
  int line = 0;
};

// Every mark site of the binary, in registration order (fixed for a binary, but not meaningful:
// reports sort by name).
const std::vector<MarkSite>& mark_sites();

// A file name from __FILE__ from its top folder on ("broker/partition/partition.cpp"), whatever
// directory the compiler was run from.
std::string_view source_path(std::string_view file);

// How often each mark site was reached while installed. Counted by site index; read by name.
class MarkCounts {
 public:
  void hit(std::size_t site) {
    if (site >= counts_.size()) counts_.resize(std::max(site + 1, mark_sites().size()), 0);
    ++counts_[site];
  }
  // Mark name -> times reached (summed over the sites of the name); marks not reached are left out.
  std::map<std::string, std::uint64_t> by_name() const;
  void clear() { counts_.clear(); }

 private:
  std::vector<std::uint64_t> counts_;
};

// Installs `counts` as this thread's recorder (nullptr: none); returns the one it replaces.
MarkCounts* set_mark_counts(MarkCounts* counts);

namespace detail {

inline thread_local constinit MarkCounts* mark_counts = nullptr;

inline void mark_hit(std::size_t site) {
  if (MarkCounts* counts = mark_counts; counts != nullptr) [[unlikely]] counts->hit(site);
}

std::size_t register_site(std::string_view name, MarkKind kind, std::string_view file, int line);

// A string literal as a template argument, so each mark site is a type of its own whose one
// static member registers the site before main.
template <std::size_t N>
struct Literal {
  constexpr Literal(const char (&s)[N]) { std::copy_n(s, N, text); }  // NOLINT: implicit on purpose
  char text[N];
  constexpr std::string_view view() const { return {text, N - 1}; }
};

template <Literal Name, MarkKind Kind, Literal File, int Line>
struct Site {
  static inline const std::size_t index = register_site(Name.view(), Kind, File.view(), Line);
};

}  // namespace detail
}  // namespace keel::coverage

#define KEEL_MARK_SITE_(name, kind) \
  ::keel::coverage::detail::Site<name, ::keel::coverage::MarkKind::kind, __FILE__, __LINE__>::index

// A state some run should reach. `name` is a string literal.
#define KEEL_SOMETIMES(name) ::keel::coverage::detail::mark_hit(KEEL_MARK_SITE_(name, sometimes))

// An invariant that must hold here: counted each time, and a failure stops the process as a
// failed KEEL_ASSERT does (in keel-sim: the seed fails, with its reproduce command).
#define KEEL_ALWAYS(cond, name)                                                              \
  do {                                                                                       \
    ::keel::coverage::detail::mark_hit(KEEL_MARK_SITE_(name, always));                       \
    if (!(cond)) [[unlikely]]                                                                \
      ::keel::detail::assert_fail(#cond, __FILE__, __LINE__, "KEEL_ALWAYS " name " failed"); \
  } while (0)
