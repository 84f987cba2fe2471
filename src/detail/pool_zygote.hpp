#pragma once
// The process pool's helper processes: the zygote, forked while the program is single-threaded, and
// the workers it forks on request. Both run only in child processes and end with _exit, never
// returning into the application's code (its atexit handlers and static destructors belong to the
// parent).

#include <sked/tasks.hpp>
#include <sked/time.hpp>

#include <sys/types.h>

namespace sked::detail {

/// The zygote's life: serves `spawn` and `signal` requests on `control` until the parent closes it
/// or dies (PR_SET_PDEATHSIG delivers SIGTERM), reaping every child and reporting workers' exits.
/// On the way out it sends SIGTERM to every worker's process group, SIGKILL after `grace`, and
/// reaps them all.
[[noreturn]] void zygote_main(int control, const TaskRegistry& tasks, Duration grace,
                              pid_t parent) noexcept;

}  // namespace sked::detail
