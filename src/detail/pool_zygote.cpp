#include "detail/pool_zygote.hpp"

#include "detail/pool_protocol.hpp"
#include "detail/process.hpp"
#include "detail/runs_here.hpp"

#include <sked/errors.hpp>
#include <sked/executor.hpp>

#include <fmt/format.h>

#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <stop_token>
#include <thread>

namespace sked::detail {
namespace {

// ---- the worker --------------------------------------------------------------------------------

// What the SIGTERM watcher needs to reach the run in progress.
struct CurrentRun {
  std::mutex mutex;
  std::stop_source* stop = nullptr;
  bool terminating = false;
};

// Serialises the frames a worker writes to its parent.
std::mutex& frames_mutex() {
  static std::mutex instance;
  return instance;
}

[[noreturn]] void leave(int status) noexcept {
  flush_standard_streams();
  ::_exit(status);
}

// SIGTERM (a timeout, or a shutdown without waiting) becomes a stop request on the running task's
// JobContext, so a task such as `shell` can stop its own children before the SIGKILL that follows
// after the grace period. An idle worker just leaves.
void watch_sigterm(CurrentRun& current) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  for (;;) {
    int signal = 0;
    if (::sigwait(&set, &signal) != 0) continue;
    std::lock_guard lock(current.mutex);
    current.terminating = true;
    if (current.stop == nullptr) leave(0);
    current.stop->request_stop();
  }
}

[[noreturn]] void worker_main(int socket, const TaskRegistry& tasks, pid_t zygote) noexcept {
  // The worker dies with the zygote, which dies with the application.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != zygote) leave(0);
  // Its own process group: timeouts and shutdowns signal the worker and whatever its task started.
  ::setpgid(0, 0);
  for (const int sig : {SIGINT, SIGHUP, SIGQUIT, SIGCHLD, SIGPIPE}) ::signal(sig, SIG_DFL);
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  // Threads the task starts inherit this mask, so only the watcher takes SIGTERM.
  ::sigprocmask(SIG_SETMASK, &mask, nullptr);
  try {
    static CurrentRun current;  // outlives the detached watcher whatever happens below
    std::thread(watch_sigterm, std::ref(current)).detach();
    for (;;) {
      auto frame = read_frame(socket);
      if (!frame) leave(0);  // the parent retired this worker
      Outcome outcome;
      std::stop_source stop;
      {
        std::lock_guard lock(current.mutex);
        if (current.terminating) leave(0);
        current.stop = &stop;
      }
      try {
        const DecodedRun run = decode_run(*frame);
        const auto task = tasks.find(run.job.task);
        if (!task) {
          throw Error(fmt::format("task '{}' is not registered in the process pool's task registry",
                                  run.job.task));
        }
        // The parent records the group with the run, so that a command outliving this process tree
        // is found (docs/sqlite.md, "Faults"). A task's own thread may say it, hence the lock.
        const auto tell_parent = [socket](int pgid) {
          std::lock_guard frame_lock(frames_mutex());
          (void)write_frame(socket, encode_process_group(pgid));
        };
        outcome =
            detail::run_task(*task, run.job, run.execution.run_time, stop.get_token(), tell_parent);
      } catch (const std::exception& e) {
        outcome.status = ExecutionStatus::error;
        outcome.exception = e.what();
      }
      flush_standard_streams();
      bool terminating = false;
      {
        std::lock_guard lock(current.mutex);
        current.stop = nullptr;
        terminating = current.terminating;
      }
      bool written = false;
      {
        std::lock_guard frame_lock(frames_mutex());
        written = write_frame(socket, encode_outcome(outcome));
      }
      if (!written || terminating) leave(0);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sked: process pool worker %d: %s\n", static_cast<int>(::getpid()),
                 e.what());
    leave(70);  // EX_SOFTWARE: the parent records the run as "exited with status 70"
  } catch (...) {
    leave(70);
  }
}

// ---- the zygote --------------------------------------------------------------------------------

class Zygote {
 public:
  Zygote(int control, const TaskRegistry& tasks, Duration grace)
      : control_(control), tasks_(tasks), grace_(grace) {}

  [[noreturn]] void run() {
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGCHLD);
    sigaddset(&mask, SIGTERM);
    ::sigprocmask(SIG_SETMASK, &mask, nullptr);
    signals_.reset(::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK));
    if (!signals_) leave(71);
    for (;;) {
      pollfd fds[2] = {{control_, POLLIN, 0}, {signals_.get(), POLLIN, 0}};
      if (::poll(fds, 2, -1) < 0) continue;
      if ((fds[1].revents & POLLIN) != 0 && drain_signals()) teardown();
      if ((fds[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0 && !serve_control()) teardown();
    }
  }

 private:
  // Returns whether SIGTERM arrived (the parent died, or someone asked the zygote to go).
  bool drain_signals() {
    bool term = false;
    signalfd_siginfo info{};
    while (::read(signals_.get(), &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
      if (info.ssi_signo == SIGTERM) term = true;
    }
    reap();
    return term;
  }

  // Returns false when the parent has gone.
  bool serve_control() {
    for (;;) {
      ControlMessage message;
      int unused = -1;
      const int got = receive_control(control_, message, unused, true);
      if (unused >= 0) ::close(unused);
      if (got == 0) return false;
      if (got < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
      if (message.op == ControlOp::spawn) {
        spawn();
      } else if (message.op == ControlOp::signal && workers_.count(message.pid) != 0) {
        // Only a child not yet reaped is signalled, so a recycled pid is never hit.
        ::kill(-message.pid, message.value);
      }
    }
  }

  void spawn() {
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
      (void)send_control(control_, {ControlOp::spawn_failed, 0, errno});
      return;
    }
    UniqueFd parent_end{pair[0]};
    UniqueFd worker_end{pair[1]};
    const pid_t zygote = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) {
      (void)send_control(control_, {ControlOp::spawn_failed, 0, errno});
      return;
    }
    if (pid == 0) {
      parent_end.reset();
      ::close(control_);
      signals_.reset();
      worker_main(worker_end.release(), tasks_, zygote);
    }
    ::setpgid(pid,
              pid);  // also done by the child; whichever runs first wins, so signals never miss
    workers_.insert(pid);
    (void)send_control(control_, {ControlOp::spawned, pid, 0}, parent_end.get());
  }

  void reap() {
    for (;;) {
      siginfo_t info{};
      // Look before reaping: while the dead worker is a zombie its pid, and so its process group
      // id, cannot be reused, so killing what is left of its group cannot hit a stranger.
      if (::waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) != 0 || info.si_pid == 0) return;
      const pid_t pid = info.si_pid;
      const bool worker = workers_.erase(pid) != 0;
      if (worker) {
        ::kill(-pid, SIGKILL);
        kill_adopted();
      }
      int status = 0;
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      if (worker) (void)send_control(control_, {ControlOp::exited, pid, status});
    }
  }

  // The zygote is a child subreaper: processes a dead worker's task started in groups of their own
  // (a shell command) are re-parented here. Every child that is not a worker is such an orphan.
  void kill_adopted() {
    std::ifstream in(fmt::format("/proc/self/task/{}/children", ::getpid()));
    pid_t pid = 0;
    while (in >> pid) {
      if (workers_.count(pid) != 0) continue;
      ::kill(-pid, SIGKILL);
      ::kill(pid, SIGKILL);
    }
  }

  [[noreturn]] void teardown() {
    for (const pid_t pid : workers_) ::kill(-pid, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + grace_;
    while (!workers_.empty()) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      pollfd p{signals_.get(), POLLIN, 0};
      ::poll(&p, 1, static_cast<int>(left.count()) + 1);
      drain_signals();
    }
    for (const pid_t pid : workers_) ::kill(-pid, SIGKILL);
    kill_adopted();
    int status = 0;
    for (;;) {
      const pid_t pid = ::waitpid(-1, &status, 0);
      if (pid < 0 && errno == EINTR) continue;
      if (pid < 0) break;
      workers_.erase(pid);
      kill_adopted();
    }
    leave(0);
  }

  int control_;
  const TaskRegistry& tasks_;
  Duration grace_;
  UniqueFd signals_;
  std::set<pid_t> workers_;
};

}  // namespace

void zygote_main(int control, const TaskRegistry& tasks, Duration grace, pid_t parent) noexcept {
  // SIGTERM when the application's thread that forked us ends, which is its main thread (see the
  // header: the pool is created first thing in main).
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (::getppid() != parent) leave(0);
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  // Ctrl-C in a terminal reaches the whole foreground group: the application decides, not the
  // zygote.
  for (const int sig : {SIGINT, SIGHUP, SIGQUIT}) ::signal(sig, SIG_IGN);
  ::signal(SIGPIPE, SIG_IGN);
  try {
    Zygote zygote{control, tasks, grace};
    zygote.run();
  } catch (...) {
    leave(70);
  }
}

}  // namespace sked::detail
