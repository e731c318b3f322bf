#pragma once
// Worker processes for a sweep. Each of `jobs` workers is a child process that reads tasks (one
// line each: a seed) from its stdin and writes one result line per task to file descriptor
// `result_fd`. A failed assertion (abort), a crash or a signal ends the worker and with it only the
// task it was running; a new worker takes the next tasks. A worker runs many seeds, so a sweep
// does not pay a process start and a cold heap per seed (about 50 ms of CPU a seed here).
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

namespace keel::sim::sweep {

// The file descriptor a worker writes its results to. Its stdout and stderr go to the captured
// output; results on their own descriptor cannot be mixed up with what the run prints.
constexpr int result_fd = 3;

// The end of a task's output that is kept: an assertion and what it printed after it are the
// last lines a crashed run writes.
constexpr std::size_t captured_output_bytes_max = 64 * 1024;

struct TaskEnd {
  std::string result;  // the worker's result line for the task (without the newline); empty if it died
  std::string output;  // what the worker wrote to stdout and stderr during the task (the end of it;
                       // it may begin with the last output of the task before, read late)
  int exit_code = -1;  // if the worker died: its exit status, when it exited
  int signal = 0;      // if the worker died: the signal that ended it (SIGABRT for a failed assertion)
  double wall_seconds = 0;
  bool timed_out = false;  // the worker was killed because the task ran past its time limit
  bool died() const { return result.empty(); }
};

struct TaskOptions {
  int jobs = 1;                      // workers at once
  double task_timeout_seconds = 0;   // a worker whose task runs longer is killed; 0: no limit
};

// Runs the tasks over at most `jobs` workers started with `worker_argv` (argv[0] a path to an
// executable), handing out tasks in order as workers become free; `done(i, end)` is called in
// the calling thread as each task ends. Returns false (with `error` set) only when a worker could
// not be started at all; the tasks not reported then did not run.
bool run_tasks(const std::vector<std::string>& worker_argv, const std::vector<std::string>& tasks,
               const TaskOptions& options, const std::function<void(std::size_t, TaskEnd)>& done, std::string* error);

// One line saying how a worker ended: "exited with status 3", "killed by signal 6 (Aborted)",
// "timed out after 600s".
std::string describe_exit(const TaskEnd& e);

// The path of the running executable (for a process to start copies of itself).
std::string self_executable();

}  // namespace keel::sim::sweep
