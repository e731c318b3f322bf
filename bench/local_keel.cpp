#include "bench/local_keel.h"

#include <fmt/format.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <cstdio>
#include <optional>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace keel::bench {
namespace {

using Clock = std::chrono::steady_clock;

}  // namespace

Result<std::uint16_t> free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return make_error(Errc::io_error, fmt::format("socket: {}", std::strerror(errno)));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
  ::close(fd);
  if (!ok) return make_error(Errc::io_error, fmt::format("bind 127.0.0.1:0: {}", std::strerror(errno)));
  return static_cast<std::uint16_t>(ntohs(addr.sin_port));
}

namespace {

bool port_accepts(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return ok;
}

// waitpid without blocking: the exit status once the child has exited.
std::optional<int> reap(int pid) {
  int status = 0;
  if (::waitpid(pid, &status, WNOHANG) != pid) return std::nullopt;
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + WTERMSIG(status);
}

}  // namespace

std::string default_keel_binary() {
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return "keel";
  return (self.parent_path() / "keel").string();
}

Result<std::unique_ptr<LocalKeel>> LocalKeel::start(const LocalKeelOptions& options) {
  std::unique_ptr<LocalKeel> keel(new LocalKeel());
  keel->options_ = options;
  std::string dir_template = (std::filesystem::temp_directory_path() / "keel-bench-XXXXXX").string();
  if (::mkdtemp(dir_template.data()) == nullptr) {
    return make_error(Errc::io_error, fmt::format("mkdtemp: {}", std::strerror(errno)));
  }
  keel->dir_ = dir_template;
  auto port = options.port != 0 ? Result<std::uint16_t>(options.port) : free_port();
  if (!port) return port.error();
  auto controller_port = free_port();
  while (controller_port && *controller_port == *port) controller_port = free_port();
  if (!controller_port) return controller_port.error();
  keel->address_ = Address{"127.0.0.1", *port};
  {
    // A single node: a one-voter combined node, its quorum on a port of its own.
    std::ofstream config(keel->dir_ + "/server.properties");
    config << "node.id=1\n"
           << "process.roles=broker,controller\n"
           << "controller.quorum.voters=1@127.0.0.1:" << *controller_port << "\n"
           << "controller.listener.names=CONTROLLER\n"
           << "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT\n"
           << "listeners=PLAINTEXT://127.0.0.1:" << *port << ",CONTROLLER://127.0.0.1:" << *controller_port << "\n"
           << "advertised.listeners=PLAINTEXT://127.0.0.1:" << *port << "\n"
           << "log.dirs=" << keel->dir_ << "/logs\n"
           << "num.partitions=1\n"
           << "auto.create.topics.enable=true\n";
    if (!config) return make_error(Errc::io_error, "cannot write " + keel->dir_ + "/server.properties");
  }
  if (auto st = keel->spawn_process(); !st) return st.error();
  if (auto st = keel->wait_until_serving(); !st) return st.error();
  return keel;
}

Status LocalKeel::spawn_process() {
  std::vector<std::string> args{options_.binary, dir_ + "/server.properties"};
  for (const auto& o : options_.overrides) {
    args.push_back("--override");
    args.push_back(o);
  }
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const std::string stderr_path = dir_ + "/stderr.txt";
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) return make_error(Errc::io_error, fmt::format("fork: {}", std::strerror(errno)));
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    const int fd = ::open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::close(fd);
    }
    ::execv(argv[0], argv.data());
    std::fprintf(stderr, "exec %s: %s\n", argv[0], std::strerror(errno));
    ::_exit(127);
  }
  pid_ = pid;
  return {};
}

Status LocalKeel::wait_until_serving() {
  const auto deadline = Clock::now() + std::chrono::duration<double>(options_.start_timeout_s);
  while (Clock::now() < deadline) {
    if (auto code = reap(pid_)) {
      pid_ = -1;
      return make_error(Errc::io_error, fmt::format("keel exited with {} while starting:\n{}", *code, stderr_tail(20)));
    }
    if (port_accepts(address_.port)) return {};
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return make_error(Errc::timed_out, fmt::format("keel did not accept on {} within {}s:\n{}", address_.to_string(),
                                                 options_.start_timeout_s, stderr_tail(20)));
}

Status LocalKeel::stop() {
  Status result;
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    std::optional<int> code;
    const auto deadline = Clock::now() + std::chrono::duration<double>(options_.stop_timeout_s);
    while (!(code = reap(pid_)) && Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (!code) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      ::waitpid(pid_, &status, 0);
      result = make_error(Errc::timed_out, fmt::format("keel ignored SIGTERM for {}s", options_.stop_timeout_s));
    } else if (*code != 0) {
      result = make_error(Errc::io_error, fmt::format("keel exited with {}:\n{}", *code, stderr_tail(20)));
    }
    pid_ = -1;
  }
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
    dir_.clear();
  }
  return result;
}

LocalKeel::~LocalKeel() { (void)stop(); }

std::string LocalKeel::stderr_tail(std::size_t lines) const {
  std::ifstream in(dir_ + "/stderr.txt");
  std::vector<std::string> all;
  for (std::string line; std::getline(in, line);) all.push_back(line);
  std::ostringstream out;
  for (std::size_t i = all.size() > lines ? all.size() - lines : 0; i < all.size(); ++i) out << all[i] << "\n";
  return out.str();
}

}  // namespace keel::bench
