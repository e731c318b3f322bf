#pragma once
// A local `keel` process for the benchmark: a temporary directory with server.properties and a
// log dir, a free port on 127.0.0.1, stderr captured to a file. stop() sends SIGTERM (SIGKILL after
// a timeout) and removes the directory. The child also dies with this process (PR_SET_PDEATHSIG),
// so an interrupted benchmark leaves no broker behind.
//
// This is a tool, not broker code: it talks to the OS directly (fork/exec, waitpid, files).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "broker/platform/network.h"
#include "broker/base/result.h"

namespace keel::bench {

struct LocalKeelOptions {
  std::string binary;                  // path of the keel executable
  std::vector<std::string> overrides;  // key=value, passed as --override
  std::uint16_t port = 0;              // the client port on 127.0.0.1; 0: a free one
  double start_timeout_s = 15.0;
  double stop_timeout_s = 30.0;
};

class LocalKeel {
 public:
  static Result<std::unique_ptr<LocalKeel>> start(const LocalKeelOptions& options);
  ~LocalKeel();
  LocalKeel(const LocalKeel&) = delete;
  LocalKeel& operator=(const LocalKeel&) = delete;

  // SIGTERM, wait for the exit (SIGKILL after stop_timeout_s), remove the directory. Idempotent.
  // Errors when keel did not exit with 0.
  Status stop();

  const Address& address() const { return address_; }
  const std::string& dir() const { return dir_; }
  int pid() const { return pid_; }
  std::string stderr_tail(std::size_t lines) const;

 private:
  LocalKeel() = default;
  Status spawn_process();
  Status wait_until_serving();

  LocalKeelOptions options_;
  std::string dir_;
  Address address_;
  int pid_ = -1;
};

// A port on 127.0.0.1 that was free a moment ago.
Result<std::uint16_t> free_port();

// The keel binary next to the running executable (both are built into the build directory).
std::string default_keel_binary();

}  // namespace keel::bench
