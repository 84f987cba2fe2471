#include <sked/errors.hpp>
#include <sked/executors/process_pool.hpp>

#include "detail/pool_protocol.hpp"
#include "detail/pool_zygote.hpp"
#include "detail/process.hpp"

#include <fmt/format.h>

#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <stop_token>
#include <thread>
#include <utility>

namespace sked {
namespace {

using SteadyClock = std::chrono::steady_clock;

Outcome error_outcome(std::string message, Duration duration = Duration::zero()) {
  Outcome outcome;
  outcome.status = ExecutionStatus::error;
  outcome.duration = duration;
  outcome.exception = std::move(message);
  return outcome;
}

Duration since(SteadyClock::time_point start) {
  return std::chrono::duration_cast<Duration>(SteadyClock::now() - start);
}

}  // namespace

// The parent's side. One reactor thread owns every conversation with the zygote and the workers and
// is the only one that settles runs; a watchdog thread turns the scheduler's clock into expired
// deadlines. Both share `mutex`; the watchdog's own `watch_mutex` is only ever taken after `mutex`,
// never before.
struct ProcessPoolExecutor::Impl {
  struct Item {
    RunLease run{};
  };
  struct Active {
    RunLease run{};
    std::uint64_t seq = 0;
    std::optional<TimePoint> deadline{};
    SteadyClock::time_point started{};
    bool timed_out = false;
  };
  struct Worker {
    pid_t pid = 0;
    detail::UniqueFd fd{};  // closed at end of stream, or to retire an idle worker
    detail::FrameReader reader{};
    std::unique_ptr<Active> active{};
    bool leaving = false;  // sent SIGTERM or retired: never given another run
    bool stopped_by_shutdown = false;
    std::optional<SteadyClock::time_point> kill_at{};
  };
  using Completion = std::pair<std::unique_ptr<Active>, Outcome>;
  enum class Stop { none, wait, now };

  std::size_t max_workers;
  Duration grace;
  std::vector<std::string> task_names;
  pid_t zygote = -1;
  bool zygote_reaped = false;
  detail::UniqueFd control;
  detail::UniqueFd wake;

  mutable std::mutex mutex;
  bool accepting = false;
  Stop stopping = Stop::none;
  std::string lost;  // why nothing can run any more (the zygote died); empty while all is well
  std::deque<Item> queue;
  std::map<pid_t, Worker> workers;
  std::size_t spawning = 0;
  std::vector<std::uint64_t> expired;
  std::uint64_t next_seq = 1;
  std::shared_ptr<Clock> clock;
  Subscription clock_subscription;
  std::thread reactor;
  std::thread::id reactor_id;

  std::mutex watch_mutex;
  std::condition_variable watch_cv;
  std::multimap<TimePoint, std::uint64_t> deadlines;
  std::jthread watchdog;
  // The executor's worker_freed(): after runs completed or workers were reaped.
  std::function<void()> on_freed;

  // Queued runs and the workers that cannot take one, with mutex held.
  [[nodiscard]] std::size_t busy() const {
    std::size_t busy = queue.size();
    for (const auto& [pid, worker] : workers) {
      if (worker.active || worker.leaving) ++busy;
    }
    return busy;
  }

  void notify() const noexcept {
    const std::uint64_t one = 1;
    (void)!::write(wake.get(), &one, sizeof one);
  }

  // ---- the reactor ----

  void react() {
    std::vector<Completion> completions;
    for (;;) {
      std::vector<pollfd> fds;
      int timeout_ms = -1;
      bool finished = false;
      bool workers_gone = false;
      {
        std::unique_lock lock(mutex);
        const std::size_t workers_before = workers.size();
        read_control(completions);
        for (auto& [pid, worker] : workers) read_worker(worker, completions);
        handle_expired();
        escalate_kills();
        if (stopping == Stop::now) terminate_all();
        dispatch(completions);
        if (stopping != Stop::none && queue.empty()) retire_idle();
        finished = stopping != Stop::none && queue.empty() && workers.empty() && spawning == 0;
        workers_gone = workers.size() < workers_before;
        fds.push_back({wake.get(), POLLIN, 0});
        if (lost.empty()) fds.push_back({control.get(), POLLIN, 0});
        for (const auto& [pid, worker] : workers) {
          if (worker.fd) fds.push_back({worker.fd.get(), POLLIN, 0});
          if (worker.kill_at) {
            const auto left =
                std::chrono::ceil<std::chrono::milliseconds>(*worker.kill_at - SteadyClock::now());
            const int ms = static_cast<int>(std::max<std::int64_t>(0, left.count()));
            timeout_ms = timeout_ms < 0 ? ms : std::min(timeout_ms, ms);
          }
        }
      }
      const bool freed = !completions.empty() || workers_gone;
      for (auto& [active, outcome] : completions) active->run.complete(std::move(outcome));
      completions.clear();
      // After the runs completed: the next claim (by the scheduler's loop, woken here: this thread
      // never claims, see freeing_thread_claims) finds them no longer running, for max_instances.
      if (freed && on_freed) on_freed();
      if (finished) return;
      if (::poll(fds.data(), fds.size(), timeout_ms) > 0 && (fds[0].revents & POLLIN) != 0) {
        std::uint64_t count = 0;
        (void)!::read(wake.get(), &count, sizeof count);
      }
    }
  }

  void read_control(std::vector<Completion>& completions) {
    while (lost.empty()) {
      detail::ControlMessage message;
      int fd = -1;
      const int got = detail::receive_control(control.get(), message, fd, true);
      detail::UniqueFd attached{fd};
      if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
      if (got <= 0) {
        lose_zygote(completions);
        return;
      }
      switch (message.op) {
        case detail::ControlOp::spawned: {
          if (spawning > 0) --spawning;
          if (!attached) break;
          detail::set_nonblocking(attached.get());
          Worker worker;
          worker.pid = message.pid;
          worker.fd = std::move(attached);
          workers.emplace(message.pid, std::move(worker));
          break;
        }
        case detail::ControlOp::spawn_failed:
          if (spawning > 0) --spawning;
          // With no worker at all nothing would ever take the queue: fail it rather than wait
          // forever.
          if (workers.empty() && spawning == 0) {
            fail_queue(fmt::format("process pool: could not start a worker process: {}",
                                   std::strerror(message.value)),
                       completions);
          }
          break;
        case detail::ControlOp::exited:
          worker_exited(message.pid, message.value, completions);
          break;
        default:
          break;
      }
    }
  }

  void read_worker(Worker& worker, std::vector<Completion>& completions) {
    while (worker.fd) {
      std::array<char, 65536> buffer;
      const ssize_t n = ::read(worker.fd.get(), buffer.data(), buffer.size());
      if (n > 0) {
        worker.reader.append(buffer.data(), static_cast<std::size_t>(n));
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        break;
      } else {
        worker.fd.reset();  // the worker is gone; the zygote reports how it ended
      }
    }
    try {
      while (auto frame = worker.reader.next()) {
        if (!worker.active || worker.active->timed_out)
          continue;  // a timed-out run settles when it is gone
        if (const auto pgid = detail::decode_process_group(*frame)) {
          worker.active->run.record_process_group(*pgid);
          continue;
        }
        Outcome outcome;
        try {
          outcome = detail::decode_outcome(*frame);
        } catch (const std::exception& e) {
          outcome = error_outcome(e.what(), since(worker.active->started));
        }
        settle(worker.active, std::move(outcome), completions);
      }
    } catch (const std::exception&) {
      // Garbage on the wire: this worker cannot be trusted with another run.
      worker.fd.reset();
      terminate(worker, SIGKILL);
    }
  }

  void worker_exited(pid_t pid, int status, std::vector<Completion>& completions) {
    const auto it = workers.find(pid);
    if (it == workers.end()) return;
    Worker& worker = it->second;
    read_worker(worker, completions);  // an outcome sent just before the end still counts
    if (worker.active) {
      Active& active = *worker.active;
      if (active.timed_out) {
        settle(
            worker.active,
            error_outcome(timed_out_message(*active.run.job().timeout), *active.run.job().timeout),
            completions);
      } else if (worker.stopped_by_shutdown) {
        settle(worker.active,
               error_outcome("the executor shut down without waiting: " +
                                 detail::describe_wait_status(status),
                             since(active.started)),
               completions);
      } else {
        settle(worker.active,
               error_outcome(detail::describe_wait_status(status), since(active.started)),
               completions);
      }
    }
    workers.erase(it);
  }

  void lose_zygote(std::vector<Completion>& completions) {
    int status = 0;
    pid_t reaped = -1;
    do {
      reaped = ::waitpid(zygote, &status, 0);
    } while (reaped < 0 && errno == EINTR);
    zygote_reaped = true;
    lost = fmt::format(
        "the process pool's zygote (pid {}) {}", zygote,
        reaped == zygote ? detail::describe_wait_status(status) : std::string{"is gone"});
    for (auto& [pid, worker] : workers) {
      if (worker.active) {
        const auto duration = since(worker.active->started);
        settle(worker.active, error_outcome("the worker process was lost: " + lost, duration),
               completions);
      }
    }
    workers.clear();  // their workers die with the zygote (PR_SET_PDEATHSIG)
    spawning = 0;
    fail_queue(lost, completions);
  }

  void fail_queue(const std::string& why, std::vector<Completion>& completions) {
    while (!queue.empty()) {
      auto active = std::make_unique<Active>();
      active->run = std::move(queue.front().run);
      queue.pop_front();
      completions.emplace_back(std::move(active), error_outcome(why));
    }
  }

  void settle(std::unique_ptr<Active>& active, Outcome outcome,
              std::vector<Completion>& completions) {
    if (active->deadline) {
      std::lock_guard lock(watch_mutex);
      auto [first, last] = deadlines.equal_range(*active->deadline);
      for (auto it = first; it != last; ++it) {
        if (it->second == active->seq) {
          deadlines.erase(it);
          break;
        }
      }
    }
    completions.emplace_back(std::move(active), std::move(outcome));
  }

  void handle_expired() {
    for (const std::uint64_t seq : expired) {
      for (auto& [pid, worker] : workers) {
        if (worker.active && worker.active->seq == seq && !worker.active->timed_out) {
          worker.active->timed_out = true;
          terminate(worker, SIGTERM);
        }
      }
    }
    expired.clear();
  }

  void terminate(Worker& worker, int signal) {
    if (signal == SIGTERM && worker.leaving) return;
    worker.leaving = true;
    if (lost.empty())
      (void)detail::send_control(control.get(), {detail::ControlOp::signal, worker.pid, signal});
    worker.kill_at = signal == SIGKILL ? std::nullopt : std::optional{SteadyClock::now() + grace};
  }

  void escalate_kills() {
    const auto now = SteadyClock::now();
    for (auto& [pid, worker] : workers) {
      if (worker.kill_at && *worker.kill_at <= now) terminate(worker, SIGKILL);
    }
  }

  void terminate_all() {
    for (auto& [pid, worker] : workers) {
      if (worker.leaving) continue;
      if (worker.active) worker.stopped_by_shutdown = true;
      terminate(worker, SIGTERM);
    }
  }

  void retire_idle() {
    for (auto& [pid, worker] : workers) {
      if (worker.active || worker.leaving) continue;
      // An idle worker leaves when its stream ends; the deadline covers one that somehow does not.
      worker.leaving = true;
      worker.fd.reset();
      worker.kill_at = SteadyClock::now() + grace;
    }
  }

  void dispatch(std::vector<Completion>& completions) {
    if (!lost.empty()) {
      fail_queue(lost, completions);
      return;
    }
    for (auto& [pid, worker] : workers) {
      if (queue.empty()) break;
      if (worker.active || worker.leaving || !worker.fd) continue;
      auto active = std::make_unique<Active>();
      active->run = std::move(queue.front().run);
      queue.pop_front();
      active->seq = next_seq++;
      active->started = SteadyClock::now();
      std::string frame;
      try {
        frame = detail::encode_run(active->run);
      } catch (const std::exception& e) {
        completions.emplace_back(
            std::move(active),
            error_outcome(fmt::format("process pool: cannot send the run's args: {}", e.what())));
        continue;
      }
      if (const auto& timeout = active->run.job().timeout) {
        active->deadline = clock->now() + *timeout;
        std::lock_guard lock(watch_mutex);
        deadlines.emplace(*active->deadline, active->seq);
        watch_cv.notify_all();
      }
      // A worker that died meanwhile fails the write; its exit report then settles the run.
      (void)detail::write_frame(worker.fd.get(), frame);
      worker.active = std::move(active);
    }
    while (queue.size() > spawning && workers.size() + spawning < max_workers) {
      if (!detail::send_control(control.get(), {detail::ControlOp::spawn, 0, 0})) {
        lose_zygote(completions);
        return;
      }
      ++spawning;
    }
  }

  // ---- the watchdog ----

  void watch(std::stop_token stop) {
    std::unique_lock lock(watch_mutex);
    while (!stop.stop_requested()) {
      const TimePoint now = clock->now();
      std::vector<std::uint64_t> due;
      while (!deadlines.empty() && deadlines.begin()->first <= now) {
        due.push_back(deadlines.begin()->second);
        deadlines.erase(deadlines.begin());
      }
      if (!due.empty()) {
        lock.unlock();
        {
          std::lock_guard l(mutex);
          expired.insert(expired.end(), due.begin(), due.end());
        }
        notify();
        lock.lock();
        continue;
      }
      if (deadlines.empty()) {
        watch_cv.wait(lock);
      } else {
        clock->wait_until(watch_cv, lock, deadlines.begin()->first);
      }
    }
  }

  void stop_watchdog() {
    if (!watchdog.joinable()) return;
    {
      std::lock_guard lock(watch_mutex);
      watchdog.request_stop();
      watch_cv.notify_all();
    }
    watchdog.join();
  }
};

ProcessPoolExecutor::ProcessPoolExecutor(std::size_t max_workers, const TaskRegistry& tasks,
                                         Duration kill_grace)
    : impl_(std::make_unique<Impl>()) {
  if (max_workers == 0)
    throw InvalidArgument("process pool executor: max_workers must be at least 1");
  if (kill_grace < Duration::zero()) {
    throw InvalidArgument(
        fmt::format("process pool executor: kill_grace must not be negative, got {}",
                    format_duration(kill_grace)));
  }
  if (const auto threads = detail::thread_count(); threads > 1) {
    throw Error(
        fmt::format("process pool executor: must be created while the program has one thread, but "
                    "it has {}; create the "
                    "pool first thing in main, before starting a scheduler or anything else that "
                    "starts threads",
                    threads));
  }
  impl_->max_workers = max_workers;
  impl_->on_freed = [this] { worker_freed(); };
  impl_->grace = kill_grace;
  impl_->task_names = tasks.names();

  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) {
    detail::throw_errno("process pool executor: socketpair");
  }
  detail::UniqueFd parent_end{pair[0]};
  detail::UniqueFd zygote_end{pair[1]};
  impl_->wake.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!impl_->wake) detail::throw_errno("process pool executor: eventfd");

  detail::flush_standard_streams();
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) detail::throw_errno("process pool executor: fork of the zygote");
  if (pid == 0) {
    ::close(parent_end.release());
    ::close(impl_->wake.release());
    detail::zygote_main(zygote_end.release(), tasks, kill_grace, parent);
  }
  impl_->zygote = pid;
  impl_->control = std::move(parent_end);
}

ProcessPoolExecutor::~ProcessPoolExecutor() {
  try {
    shutdown(true);
  } catch (...) {  // a destructor never throws; the zygote is still ended below
  }
  impl_->control.reset();  // the zygote sees the end of its stream, ends its workers and exits
  if (!impl_->zygote_reaped) {
    while (::waitpid(impl_->zygote, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
}

void ProcessPoolExecutor::start(std::shared_ptr<Clock> clock) {
  {
    std::lock_guard lock(impl_->mutex);
    if (impl_->accepting) return;
  }
  // A reactor told to stop from one of its own callbacks finishes by itself; collect it first.
  if (impl_->reactor.joinable() && impl_->reactor.get_id() != std::this_thread::get_id())
    impl_->reactor.join();
  impl_->stop_watchdog();
  std::lock_guard lock(impl_->mutex);
  impl_->accepting = true;
  impl_->stopping = Impl::Stop::none;
  impl_->clock = clock ? std::move(clock) : SystemClock::instance();
  impl_->clock_subscription = impl_->clock->on_jump([impl = impl_.get()] {
    std::lock_guard l(impl->watch_mutex);
    impl->watch_cv.notify_all();
  });
  impl_->watchdog = std::jthread([impl = impl_.get()](std::stop_token stop) { impl->watch(stop); });
  impl_->reactor = std::thread([impl = impl_.get()] { impl->react(); });
  impl_->reactor_id = impl_->reactor.get_id();
}

void ProcessPoolExecutor::submit(RunLease run) {
  std::string refusal;
  {
    std::lock_guard lock(impl_->mutex);
    const Job& job = run.job();
    if (!impl_->accepting) {
      refusal = "sked::Error: the executor is shut down";
    } else if (!impl_->lost.empty()) {
      refusal = impl_->lost;
    } else if (job.callable || job.task.empty()) {
      refusal = fmt::format(
          "job '{}' is bound to a callable, which cannot run in another process; the process "
          "pool runs tasks registered by name",
          job.id);
    } else if (!std::binary_search(impl_->task_names.begin(), impl_->task_names.end(), job.task)) {
      refusal = fmt::format(
          "task '{}' was not registered when the process pool was created, so its worker "
          "processes do not have it",
          job.task);
    } else {
      impl_->queue.push_back(Impl::Item{std::move(run)});
    }
  }
  if (refusal.empty()) {
    impl_->notify();
    return;
  }
  run.complete(error_outcome(std::move(refusal)));
}

void ProcessPoolExecutor::shutdown(bool wait) {
  std::deque<Impl::Item> dropped;
  std::thread reactor;
  {
    std::lock_guard lock(impl_->mutex);
    if (!impl_->reactor.joinable()) return;
    // From a completion callback (a listener that shuts the scheduler down) the reactor is this
    // thread and cannot be waited for here: it stops once its runs are settled, and start() or the
    // destructor collects it.
    if (impl_->reactor_id != std::this_thread::get_id()) reactor = std::move(impl_->reactor);
    impl_->accepting = false;
    if (!wait) {
      impl_->stopping = Impl::Stop::now;
      dropped.swap(impl_->queue);
    } else if (impl_->stopping == Impl::Stop::none) {
      impl_->stopping = Impl::Stop::wait;
    }
  }
  for (auto& item : dropped) {
    item.run.complete(error_outcome("sked::Error: the executor shut down before the run started"));
  }
  impl_->notify();
  if (!reactor.joinable()) return;
  reactor.join();
  impl_->stop_watchdog();
  impl_->clock_subscription.reset();
}

std::size_t ProcessPoolExecutor::max_workers() const noexcept { return impl_->max_workers; }

std::size_t ProcessPoolExecutor::available() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->max_workers - std::min(impl_->max_workers, impl_->busy());
}

const std::vector<std::string>& ProcessPoolExecutor::task_names() const noexcept {
  return impl_->task_names;
}

int ProcessPoolExecutor::zygote_pid() const noexcept { return impl_->zygote; }

std::vector<int> ProcessPoolExecutor::worker_pids() const {
  std::lock_guard lock(impl_->mutex);
  std::vector<int> pids;
  for (const auto& [pid, worker] : impl_->workers) pids.push_back(pid);
  return pids;
}

}  // namespace sked
