#include <sked/tasks/shell.hpp>

#include <sked/executor.hpp>

#include "detail/process.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <map>
#include <optional>
#include <stop_token>
#include <string_view>
#include <vector>

extern char** environ;  // NOLINT: POSIX declares it nowhere else

namespace sked {
namespace {

using SteadyClock = std::chrono::steady_clock;

// How long a command gets between SIGTERM and SIGKILL.
constexpr auto kill_grace = std::chrono::seconds{5};
struct ShellArgs {
  std::string command{};
  std::string cwd{};
  std::map<std::string, std::string> env{};
  std::optional<Duration> timeout{};
};

ShellArgs parse_args(const JobContext& context) {
  const auto bad = [&](const std::string& what) {
    return InvalidArgument(fmt::format("shell task (job '{}'): {}", context.job_id(), what));
  };
  const auto& args = context.args();
  if (!args.is_object()) throw bad("args must be a JSON object with a 'command'");
  ShellArgs out;
  const auto command = args.find("command");
  if (command == args.end() || !command->is_string() ||
      command->get_ref<const std::string&>().empty()) {
    throw bad("'command' must be a non-empty string");
  }
  out.command = command->get<std::string>();
  if (out.command.find('\0') != std::string::npos)
    throw bad("'command' must not contain a NUL character");
  if (const auto cwd = args.find("cwd"); cwd != args.end() && !cwd->is_null()) {
    if (!cwd->is_string()) throw bad("'cwd' must be a string");
    out.cwd = cwd->get<std::string>();
  }
  if (const auto env = args.find("env"); env != args.end() && !env->is_null()) {
    if (!env->is_object()) throw bad("'env' must be an object of names to strings");
    for (const auto& [name, value] : env->items()) {
      if (name.empty() || name.find_first_of(std::string{"=\0", 2}) != std::string::npos) {
        throw bad(fmt::format("env name '{}' is not a valid variable name", name));
      }
      if (value.is_string()) {
        out.env[name] = value.get<std::string>();
      } else if (value.is_number() || value.is_boolean()) {
        out.env[name] = value.dump();
      } else {
        throw bad(fmt::format("env '{}' must be a string, number or boolean", name));
      }
      if (out.env[name].find('\0') != std::string::npos)
        throw bad(fmt::format("env '{}' contains a NUL", name));
    }
  }
  if (const auto timeout = args.find("timeout"); timeout != args.end() && !timeout->is_null()) {
    if (!timeout->is_number() || timeout->get<double>() <= 0)
      throw bad("'timeout' must be a positive number of seconds");
    out.timeout =
        std::chrono::duration_cast<Duration>(std::chrono::duration<double>(timeout->get<double>()));
  }
  return out;
}

// The parent's environment with `overrides` added or replacing, as "NAME=value" strings.
std::vector<std::string> build_environment(const std::map<std::string, std::string>& overrides) {
  std::vector<std::string> out;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string_view text{*entry};
    const auto name = text.substr(0, text.find('='));
    if (overrides.find(std::string{name}) == overrides.end()) out.emplace_back(text);
  }
  for (const auto& [name, value] : overrides) out.push_back(name + "=" + value);
  return out;
}

// The last `shell_output_tail` bytes of a stream, and how many there were in all.
struct Tail {
  std::string text{};
  std::size_t total = 0;

  void append(const char* data, std::size_t size) {
    total += size;
    text.append(data, size);
    if (text.size() > 2 * shell_output_tail) text.erase(0, text.size() - shell_output_tail);
  }
  [[nodiscard]] std::string render(std::string_view name) {
    if (text.size() > shell_output_tail) text.erase(0, text.size() - shell_output_tail);
    if (total == 0) return {};
    std::string out = total > text.size() ? fmt::format("--- {} (last {} of {} bytes) ---\n", name,
                                                        text.size(), total)
                                          : fmt::format("--- {} ---\n", name);
    out += text;
    if (out.back() != '\n') out += '\n';
    return out;
  }
};

// Reads what is there now; returns false at end of stream (and closes it).
bool drain(detail::UniqueFd& fd, Tail& tail) {
  std::array<char, 16384> buffer;
  while (fd) {
    const ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
    if (n > 0) {
      tail.append(buffer.data(), static_cast<std::size_t>(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return true;
    } else {
      fd.reset();
    }
  }
  return false;
}

// posix_spawn's attributes and file actions, released however the spawn ends.
class SpawnSetup {
 public:
  SpawnSetup() {
    posix_spawnattr_init(&attr_);
    posix_spawn_file_actions_init(&actions_);
  }
  ~SpawnSetup() {
    posix_spawnattr_destroy(&attr_);
    posix_spawn_file_actions_destroy(&actions_);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;
  posix_spawnattr_t* attr() noexcept { return &attr_; }
  posix_spawn_file_actions_t* actions() noexcept { return &actions_; }

 private:
  posix_spawnattr_t attr_{};
  posix_spawn_file_actions_t actions_{};
};

}  // namespace

CommandFailed::CommandFailed(std::string command, const std::string& problem)
    : Error(problem), command_(std::move(command)) {}

void shell_task(const JobContext& context) {
  ShellArgs args = parse_args(context);
  args.env["SKED_JOB_ID"] = context.job_id();
  args.env["SKED_RUN_TIME"] = format_time(context.scheduled_run_time());
  const std::vector<std::string> environment = build_environment(args.env);
  std::vector<char*> envp;
  for (const auto& entry : environment) envp.push_back(const_cast<char*>(entry.c_str()));
  envp.push_back(nullptr);

  const auto fail = [&](const std::string& what) {
    const int error = errno;
    return Error(
        fmt::format("shell task (job '{}'): {}: {}", context.job_id(), what, std::strerror(error)));
  };
  int out_pipe[2];
  int err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) throw fail("pipe");
  detail::UniqueFd out_read{out_pipe[0]};
  detail::UniqueFd out_write{out_pipe[1]};
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) throw fail("pipe");
  detail::UniqueFd err_read{err_pipe[0]};
  detail::UniqueFd err_write{err_pipe[1]};

  SpawnSetup setup;
  posix_spawn_file_actions_addopen(setup.actions(), 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(setup.actions(), out_write.get(), 1);
  posix_spawn_file_actions_adddup2(setup.actions(), err_write.get(), 2);
  if (!args.cwd.empty()) posix_spawn_file_actions_addchdir_np(setup.actions(), args.cwd.c_str());
  // The command starts clean whatever this process does with signals (a process-pool worker blocks
  // SIGTERM; a service may ignore SIGPIPE), in a process group of its own so a pipeline stops as
  // one.
  sigset_t none;
  sigemptyset(&none);
  sigset_t all;
  sigfillset(&all);
  sigdelset(&all, SIGKILL);
  sigdelset(&all, SIGSTOP);
  posix_spawnattr_setsigmask(setup.attr(), &none);
  posix_spawnattr_setsigdefault(setup.attr(), &all);
  posix_spawnattr_setpgroup(setup.attr(), 0);
  posix_spawnattr_setflags(setup.attr(),
                           POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);

  std::string sh = "sh";
  std::string dash_c = "-c";
  std::array<char*, 4> argv{sh.data(), dash_c.data(), args.command.data(), nullptr};
  pid_t pid = 0;
  if (const int error =
          ::posix_spawn(&pid, "/bin/sh", setup.actions(), setup.attr(), argv.data(), envp.data());
      error != 0) {
    throw Error(fmt::format("shell task (job '{}'): cannot start /bin/sh{}: {}", context.job_id(),
                            args.cwd.empty() ? std::string{} : fmt::format(" in '{}'", args.cwd),
                            std::strerror(error)));
  }
  out_write.reset();
  err_write.reset();
  // Recorded with the run, so that a command that outlives this process (killed by SIGKILL, say)
  // is found and stopped by the scheduler that recovers the run, not run twice.
  context.process_group_started(static_cast<int>(pid));
  detail::set_nonblocking(out_read.get());
  detail::set_nonblocking(err_read.get());

  // From here on the child must be reaped whatever happens, so nothing below throws before waitpid.
  detail::UniqueFd stop_fd{::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)};
  std::stop_callback on_stop(context.stop_token(), [&stop_fd] {
    const std::uint64_t one = 1;
    if (stop_fd) (void)!::write(stop_fd.get(), &one, sizeof one);
  });
  detail::UniqueFd exit_fd{static_cast<int>(::syscall(SYS_pidfd_open, pid, 0))};

  Tail out;
  Tail err;
  const auto started = SteadyClock::now();
  std::optional<SteadyClock::time_point> deadline;
  if (args.timeout) deadline = started + *args.timeout;
  std::optional<SteadyClock::time_point> kill_at;
  std::string stopped_why;  // set once the command has been told to stop
  int status = 0;
  for (;;) {
    siginfo_t info{};
    if (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
        info.si_pid == pid) {
      // Still a zombie, so its process group id is not yet reusable: end whatever is left of a
      // command that was told to stop, then reap.
      if (!stopped_why.empty()) ::kill(-pid, SIGKILL);
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      break;
    }
    const auto now = SteadyClock::now();
    if (stopped_why.empty()) {
      if (context.stop_requested()) {
        stopped_why = "stopped before it finished";
      } else if (deadline && now >= *deadline) {
        stopped_why = timed_out_message(*args.timeout);
      }
      if (!stopped_why.empty()) {
        ::kill(-pid, SIGTERM);
        kill_at = now + kill_grace;
      }
    } else if (kill_at && now >= *kill_at) {
      ::kill(-pid, SIGKILL);
      kill_at.reset();
    }
    std::optional<SteadyClock::time_point> wake = stopped_why.empty() ? deadline : kill_at;
    int timeout_ms = -1;
    if (wake) {
      timeout_ms = static_cast<int>(std::max<std::int64_t>(
          0, std::chrono::ceil<std::chrono::milliseconds>(*wake - now).count()));
    }
    // Without a pidfd (kernels before 5.3) the exit is noticed by looking again every 50 ms.
    if (!exit_fd) timeout_ms = timeout_ms < 0 ? 50 : std::min(timeout_ms, 50);
    std::array<pollfd, 4> fds{{{out_read.get(), POLLIN, 0},
                               {err_read.get(), POLLIN, 0},
                               {exit_fd.get(), POLLIN, 0},
                               {stopped_why.empty() ? stop_fd.get() : -1, POLLIN, 0}}};
    ::poll(fds.data(), fds.size(), timeout_ms);
    drain(out_read, out);
    drain(err_read, err);
  }
  // What the command wrote before it ended is still in the pipes. A background process that keeps
  // them open is not waited for.
  drain(out_read, out);
  drain(err_read, err);
  context.set_output(out.render("stdout") + err.render("stderr"));

  if (!stopped_why.empty()) throw CommandFailed(args.command, stopped_why);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return;
  throw CommandFailed(args.command, detail::describe_wait_status(status));
}

void register_shell_task(TaskRegistry& tasks, std::string name) {
  tasks.add(std::move(name), shell_task);
}

}  // namespace sked
