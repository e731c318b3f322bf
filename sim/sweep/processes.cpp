#include "sim/sweep/processes.h"

#include "broker/base/assert.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <signal.h>
#include <cstring>
#include <filesystem>

namespace keel::sim::sweep {

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t no_task = static_cast<std::size_t>(-1);

struct Worker {
  pid_t pid = -1;
  int tasks_fd = -1;   // the write end of the worker's stdin; -1 once closed (no more tasks)
  int output_fd = -1;  // the read ends of its pipes; -1 once at end of file
  int result_fd = -1;
  std::size_t task = no_task;  // the task it runs
  Clock::time_point task_start;
  bool killed = false;  // for running past the time limit
  std::string output;   // since its task started
  std::string results;  // what it wrote to result_fd, not yet a whole line
};

// In the forked child, before exec: only async-signal-safe calls. The pipes were made close-on-exec
// so no worker holds another's pipe open (its reader would never see end of file). Each end is
// first copied above the descriptors it goes to, so none is overwritten before it is placed;
// dup2 clears close-on-exec on the copies that stay.
[[noreturn]] void exec_worker(char* const* argv, int tasks_read, int output_write, int result_write) {
  constexpr int above = 10;
  const int tasks = fcntl(tasks_read, F_DUPFD_CLOEXEC, above);
  const int output = fcntl(output_write, F_DUPFD_CLOEXEC, above);
  const int result = fcntl(result_write, F_DUPFD_CLOEXEC, above);
  signal(SIGPIPE, SIG_DFL);
  if (tasks < 0 || output < 0 || result < 0 || dup2(tasks, STDIN_FILENO) < 0 || dup2(output, STDOUT_FILENO) < 0 ||
      dup2(output, STDERR_FILENO) < 0 || dup2(result, result_fd) < 0) {
    _exit(127);
  }
  execv(argv[0], argv);
  static const char message[] = "keel-sim: cannot execute the worker process\n";
  (void)!write(STDERR_FILENO, message, sizeof message - 1);
  _exit(127);
}

void close_fd(int& fd) {
  if (fd >= 0) close(fd);
  fd = -1;
}

int take(int& fd) {
  const int taken = fd;
  fd = -1;
  return taken;
}

// A worker's three pipes ([0] reads, [1] writes); what the parent does not take is closed.
struct WorkerPipes {
  int tasks[2] = {-1, -1}, output[2] = {-1, -1}, result[2] = {-1, -1};
  WorkerPipes() = default;
  WorkerPipes(const WorkerPipes&) = delete;
  WorkerPipes& operator=(const WorkerPipes&) = delete;
  ~WorkerPipes() {
    for (int* p : {tasks, output, result}) {
      close_fd(p[0]);
      close_fd(p[1]);
    }
  }
  bool open(std::string* error) {
    for (int* p : {tasks, output, result}) {
      if (pipe2(p, O_CLOEXEC) != 0) {
        *error = fmt::format("pipe: {}", std::strerror(errno));
        return false;
      }
    }
    return true;
  }
};

bool start_worker(const std::vector<std::string>& argv, Worker& w, std::string* error) {
  KEEL_ASSERT(!argv.empty());
  WorkerPipes p;
  if (!p.open(error)) return false;
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t pid = fork();
  if (pid == 0) exec_worker(args.data(), p.tasks[0], p.output[1], p.result[1]);
  if (pid < 0) {
    *error = fmt::format("fork: {}", std::strerror(errno));
    return false;
  }
  w.pid = pid;
  w.tasks_fd = take(p.tasks[1]);
  w.output_fd = take(p.output[0]);
  w.result_fd = take(p.result[0]);
  return true;
}

// Reads what is there; at end of file (or on an error) closes the descriptor.
void drain(int& fd, std::string& into, std::size_t keep_max) {
  char buffer[65536];
  const ssize_t n = read(fd, buffer, sizeof buffer);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
  if (n <= 0) return close_fd(fd);
  into.append(buffer, static_cast<std::size_t>(n));
  // Trimmed in steps of keep_max, so a long output is not copied on every read.
  if (into.size() > 2 * keep_max) into.erase(0, into.size() - keep_max);
}

// Waits until some worker has output, a result or end of file (or `timeout_ms` passed; -1: no
// limit), and reads it.
void poll_workers(std::vector<Worker>& workers, int timeout_ms) {
  std::vector<pollfd> fds;
  std::vector<std::pair<Worker*, bool>> owners;  // (worker, is the result pipe)
  const auto watch = [&](Worker& w, int fd, bool is_result) {
    if (fd < 0) return;
    fds.push_back({fd, POLLIN, 0});
    owners.emplace_back(&w, is_result);
  };
  for (auto& w : workers) {
    watch(w, w.output_fd, false);
    watch(w, w.result_fd, true);
  }
  if (fds.empty()) return;
  if (poll(fds.data(), fds.size(), timeout_ms) <= 0) return;  // EINTR or the time: the caller polls again
  for (std::size_t i = 0; i < fds.size(); ++i) {
    if (fds[i].revents == 0) continue;
    auto [w, is_result] = owners[i];
    if (is_result) drain(w->result_fd, w->results, std::string::npos / 4);
    else drain(w->output_fd, w->output, captured_output_bytes_max);
  }
}

// The scheduling state of one run_tasks call.
class Pool {
 public:
  Pool(const std::vector<std::string>& argv, const std::vector<std::string>& tasks, const TaskOptions& options,
       const std::function<void(std::size_t, TaskEnd)>& done)
      : argv_(argv), tasks_(tasks), jobs_(static_cast<std::size_t>(options.jobs)), options_(options), done_(done) {}

  bool run(std::string* error) {
    while (true) {
      // A worker without a task is on its way out (its stdin is closed once no task is left), so
      // workers start only while tasks are left, up to jobs.
      while (next_ < tasks_.size() && workers_.size() < jobs_) {
        Worker w;
        if (!start_worker(argv_, w, error)) {
          start_failed_ = true;
          next_ = tasks_.size();  // no more tasks start; the running ones finish
          break;
        }
        workers_.push_back(std::move(w));
        hand_out(workers_.back());
      }
      if (workers_.empty()) return !start_failed_;
      poll_workers(workers_, kill_overdue());
      for (auto& w : workers_) take_results(w);
      reap();
    }
  }

 private:
  // Kills the workers whose task ran past the limit (their pipes then end, and reap reports the
  // task), and returns how long poll may wait before the next one would: -1 without a limit.
  int kill_overdue() {
    if (options_.task_timeout_seconds <= 0) return -1;
    const auto limit = std::chrono::duration<double>(options_.task_timeout_seconds);
    auto wait = std::chrono::duration<double>::max();
    for (auto& w : workers_) {
      if (w.task == no_task || w.killed) continue;
      const auto left = limit - (Clock::now() - w.task_start);
      if (left <= left.zero()) {
        kill(w.pid, SIGKILL);
        w.killed = true;
      } else {
        wait = std::min(wait, std::chrono::duration<double>(left));
      }
    }
    if (wait == std::chrono::duration<double>::max()) return -1;
    return static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(wait).count()) + 1;
  }

  // Gives the worker the next task, or, with none left, closes its stdin so it exits.
  void hand_out(Worker& w) {
    if (next_ >= tasks_.size() || w.tasks_fd < 0) return close_fd(w.tasks_fd);
    const std::string line = tasks_[next_] + "\n";
    // A line is far smaller than a pipe's buffer, and the worker reads it before anything else.
    if (write(w.tasks_fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) return close_fd(w.tasks_fd);
    w.task = next_++;
    w.task_start = Clock::now();
    w.output.clear();
  }

  TaskEnd end_of(Worker& w) {
    TaskEnd e;
    e.wall_seconds = std::chrono::duration<double>(Clock::now() - w.task_start).count();
    e.output = std::move(w.output);
    if (e.output.size() > captured_output_bytes_max) e.output.erase(0, e.output.size() - captured_output_bytes_max);
    w.output.clear();
    return e;
  }

  void take_results(Worker& w) {
    for (auto newline = w.results.find('\n'); newline != std::string::npos; newline = w.results.find('\n')) {
      std::string line = w.results.substr(0, newline);
      w.results.erase(0, newline + 1);
      if (w.task == no_task || line.empty()) continue;  // not asked for: ignored
      TaskEnd e = end_of(w);
      e.result = std::move(line);
      const std::size_t task = w.task;
      w.task = no_task;
      hand_out(w);
      done_(task, std::move(e));
    }
  }

  // Workers whose pipes are all at end of file have exited: wait for them; a task one was running
  // ends with how it died.
  void reap() {
    for (auto it = workers_.begin(); it != workers_.end();) {
      if (it->output_fd >= 0 || it->result_fd >= 0) {
        ++it;
        continue;
      }
      close_fd(it->tasks_fd);
      int status = 0;
      while (waitpid(it->pid, &status, 0) < 0 && errno == EINTR) {
      }
      if (it->task != no_task) {
        TaskEnd e = end_of(*it);
        if (WIFSIGNALED(status)) e.signal = WTERMSIG(status);
        if (WIFEXITED(status)) e.exit_code = WEXITSTATUS(status);
        e.timed_out = it->killed;
        done_(it->task, std::move(e));
      }
      it = workers_.erase(it);
    }
  }

  const std::vector<std::string>& argv_;
  const std::vector<std::string>& tasks_;
  std::size_t jobs_;
  const TaskOptions& options_;
  const std::function<void(std::size_t, TaskEnd)>& done_;
  std::vector<Worker> workers_;
  std::size_t next_ = 0;
  bool start_failed_ = false;
};

}  // namespace

bool run_tasks(const std::vector<std::string>& worker_argv, const std::vector<std::string>& tasks,
               const TaskOptions& options, const std::function<void(std::size_t, TaskEnd)>& done, std::string* error) {
  KEEL_ASSERT(options.jobs > 0);
  // A worker that died leaves its stdin pipe without a reader: writing to it must fail with EPIPE,
  // not kill the sweep. (exec_worker puts the default back for the workers.)
  struct sigaction ignore = {}, previous = {};
  ignore.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &ignore, &previous);
  const bool ok = Pool(worker_argv, tasks, options, done).run(error);
  sigaction(SIGPIPE, &previous, nullptr);
  return ok;
}

std::string describe_exit(const TaskEnd& e) {
  if (e.timed_out) return fmt::format("timed out after {:.3g}s", e.wall_seconds);
  if (e.signal != 0) return fmt::format("killed by signal {} ({})", e.signal, strsignal(e.signal));
  return fmt::format("exited with status {}", e.exit_code);
}

std::string self_executable() {
  std::error_code ec;
  const auto path = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string() : path.string();
}

}  // namespace keel::sim::sweep
