// Sanitizer builds only. Debian's Boost.Context library is built for the fcontext backend, whose
// stack switches AddressSanitizer cannot follow. The sanitizer build compiles Boost.Context's
// header-only ucontext backend instead (BOOST_USE_UCONTEXT, BOOST_USE_ASAN), which tells ASan
// about every switch; that backend expects this one symbol from a library built for it: the
// per-thread record of the fiber that is running, starting with the thread's own stack. The
// thread's own record lives in thread-local storage, so it goes away with its thread (a heap
// record would leak once per thread that ran coroutines, and LeakSanitizer says so).
#if defined(KEEL_SANITIZE) && defined(BOOST_USE_UCONTEXT)
#include <boost/context/fiber.hpp>

namespace boost::context::detail {

fiber_activation_record*& fiber_activation_record::current() noexcept {
  thread_local fiber_activation_record thread_record;
  thread_local fiber_activation_record* current_record = &thread_record;
  return current_record;
}

}  // namespace boost::context::detail
#endif
