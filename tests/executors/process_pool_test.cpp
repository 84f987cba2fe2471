// The process pool runs tasks in child processes. Real processes are started, crashed and killed
// here; every test ends by proving that none is left behind (no zombie child, no orphan).

#include "support/process_group.hpp"
#include "support/processes.hpp"
#include "support/recorder.hpp"

#include <sked/errors.hpp>
#include <sked/executors/process_pool.hpp>
#include <sked/sked.hpp>
#include <sked/tasks/shell.hpp>
#include <sked/triggers/date.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "support/leases.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <condition_variable>
#include <csignal>
#include <future>
#include <latch>
#include <mutex>
#include <thread>

// Each test file's helpers are its own, also when files are built together (unity batches).
namespace SKED_TEST_FILE {

using namespace std::chrono_literals;
using sked::ExecutionStatus;

namespace {

const auto t0 = sked::parse_time("2026-01-01T00:00:00Z");

// AddressSanitizer keeps its own SIGSEGV handler (it ignores a reset to SIG_DFL), prints its report
// and exits with status 1: under ASan that is how a segfaulting worker ends.
#if defined(__SANITIZE_ADDRESS__)
#define SKED_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SKED_TEST_ASAN 1
#endif
#endif
#ifdef SKED_TEST_ASAN
const std::string segv_message = "exited with status 1";
#else
const std::string segv_message = "killed by signal 11 (SIGSEGV)";
#endif

using Collected = sked::test::LeaseCollector;

sked::Job make_job(const std::string& id, const std::string& task,
                   nlohmann::json args = nlohmann::json::object(),
                   std::optional<sked::Duration> timeout = std::nullopt) {
  sked::Job job;
  job.id = id;
  job.name = id;
  job.task = task;
  job.args = std::move(args);
  job.timeout = timeout;
  job.trigger = std::make_shared<sked::DateTrigger>(t0);
  job.next_run_time = t0;
  return job;
}

// A crash is the point of these tasks: keep them from leaving core files, and from reaching the
// test framework's own crash handlers, which the workers inherited.
[[noreturn]] void crash_with(int signal) {
  const rlimit no_core{0, 0};
  ::setrlimit(RLIMIT_CORE, &no_core);
  std::signal(signal, SIG_DFL);
  if (signal == SIGSEGV) {
    // A real invalid write. Both volatiles matter: without the first, -O2 drops the store as dead
    // (nothing reads it before abort()) and the task dies of SIGABRT instead.
    volatile int* volatile nowhere = nullptr;
    *nowhere = 42;
  }
  std::abort();
}

// Tells the test that the task is running, by a byte on the pipe whose write end is args.started_fd
// (inherited through the zygote, which is forked after the test made the pipe).
void report_started(const sked::JobContext& ctx) {
  if (ctx.args().contains("started_fd"))
    (void)!::write(ctx.args()["started_fd"].get<int>(), "s", 1);
}

// Blocks until a stop is requested (a timeout or a shutdown sends the worker SIGTERM).
void wait_for_stop(const sked::JobContext& ctx) {
  report_started(ctx);
  std::mutex m;
  std::condition_variable_any cv;
  std::unique_lock lock(m);
  cv.wait(lock, ctx.stop_token(), [] { return false; });
}

void add_test_tasks(sked::TaskRegistry& tasks) {
  tasks.add("echo", [](const sked::JobContext& ctx) {
    ctx.set_output("pid=" + std::to_string(::getpid()) + " job=" + ctx.job_id() +
                   " args=" + ctx.args().dump());
  });
  tasks.add("segfault", [](const sked::JobContext&) { crash_with(SIGSEGV); });
  tasks.add("abort", [](const sked::JobContext&) { crash_with(SIGABRT); });
  tasks.add("throws", [](const sked::JobContext&) { throw std::invalid_argument("bad input 42"); });
  tasks.add("exit3", [](const sked::JobContext&) { std::_Exit(3); });
  tasks.add("wait_for_stop", wait_for_stop);
  // Ignores every request to stop: only SIGKILL ends it.
  tasks.add("stubborn", [](const sked::JobContext& ctx) {
    report_started(ctx);
    for (;;) ::pause();
  });
  // Blocks until the test writes a byte to the pipe whose read end is args.fd.
  tasks.add("read_byte", [](const sked::JobContext& ctx) {
    char byte = 0;
    if (::read(ctx.args().at("fd").get<int>(), &byte, 1) != 1) throw std::runtime_error("no byte");
  });
  sked::register_shell_task(tasks);
}

struct Pipe {
  int read_end = -1;
  int write_end = -1;
  Pipe() {
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    read_end = fds[0];
    write_end = fds[1];
  }
  ~Pipe() {
    ::close(read_end);
    ::close(write_end);
  }
  Pipe(const Pipe&) = delete;
  Pipe& operator=(const Pipe&) = delete;
  // What is written next, waiting for it up to 10 s of real time.
  std::string read_text() {
    pollfd p{read_end, POLLIN, 0};
    REQUIRE(::poll(&p, 1, 10'000) == 1);
    char buffer[64] = {};
    const auto n = ::read(read_end, buffer, sizeof buffer - 1);
    REQUIRE(n > 0);
    return std::string(buffer, static_cast<std::size_t>(n));
  }
  // Waits (up to 10 s of real time) for `n` tasks to report that they started.
  void wait_started(int n) {
    for (int got = 0; got < n;) got += static_cast<int>(read_text().size());
  }
  void release(int n) {
    for (int i = 0; i < n; ++i) REQUIRE(::write(write_end, "x", 1) == 1);
  }
};

// Polls the pool's worker list (a condition, bounded in real time).
bool wait_for_workers(const sked::ProcessPoolExecutor& pool, std::size_t n) {
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (pool.worker_pids().size() < n) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

// Destroys the pool and proves that it left nothing behind: no child of this process at all (zombie
// or not), and none of the pool's processes alive anywhere.
void destroy_and_check(std::unique_ptr<sked::ProcessPoolExecutor>& pool,
                       std::vector<pid_t> also_gone = {}) {
  also_gone.push_back(pool->zygote_pid());
  for (const int pid : pool->worker_pids()) also_gone.push_back(pid);
  pool.reset();
  CHECK(sked::test::children_of().empty());
  CHECK(sked::test::wait_until_gone(also_gone));
}

}  // namespace

TEST_CASE("the process pool runs named tasks in worker processes with their args",
          "[executor][process_pool]") {
  sked::TaskRegistry tasks;
  add_test_tasks(tasks);
  auto pool = std::make_unique<sked::ProcessPoolExecutor>(2, tasks);
  pool->start(nullptr);
  Collected done;
  pool->submit(done.lease(make_job("a", "echo", {{"n", 1}, {"text", "héllo"}})));
  REQUIRE(done.wait_for(1));
  const auto outcome = done.of("a");
  CHECK(outcome.status == ExecutionStatus::executed);
  CHECK_THAT(outcome.traceback, Catch::Contains(R"(job=a args={"n":1,"text":"héllo"})"));
  CHECK_THAT(outcome.traceback, !Catch::Contains("pid=" + std::to_string(::getpid()) + " "));
  const auto workers = pool->worker_pids();
  REQUIRE(workers.size() == 1);
  CHECK_THAT(outcome.traceback, Catch::Contains("pid=" + std::to_string(workers[0]) + " "));
  // The worker is reused for the next run.
  pool->submit(done.lease(make_job("b", "echo")));
  REQUIRE(done.wait_for(2));
  CHECK_THAT(done.of("b").traceback, Catch::Contains("pid=" + std::to_string(workers[0]) + " "));
  destroy_and_check(pool);
}

TEST_CASE("a crashing task is an error naming the signal, and the pool replaces its worker",
          "[executor][process_pool][crash]") {
  sked::TaskRegistry tasks;
  add_test_tasks(tasks);
  auto pool = std::make_unique<sked::ProcessPoolExecutor>(1, tasks);
  pool->start(nullptr);
  Collected done;
  pool->submit(done.lease(make_job("segv", "segfault")));
  pool->submit(done.lease(make_job("abrt", "abort")));
  pool->submit(done.lease(make_job("exit", "exit3")));
  pool->submit(done.lease(make_job("after", "echo")));
  REQUIRE(done.wait_for(4));
  CHECK(done.of("segv").status == ExecutionStatus::error);
  CHECK(done.of("segv").exception == segv_message);
  CHECK(done.of("abrt").exception == "killed by signal 6 (SIGABRT)");
  CHECK(done.of("exit").exception == "exited with status 3");
  CHECK(done.of("after").status == ExecutionStatus::executed);
  destroy_and_check(pool);
}

TEST_CASE("a task that throws in a worker is an error with the exception's type and message",
          "[executor][process_pool]") {
  sked::TaskRegistry tasks;
  add_test_tasks(tasks);
  auto pool = std::make_unique<sked::ProcessPoolExecutor>(1, tasks);
  pool->start(nullptr);
  Collected done;
  pool->submit(done.lease(make_job("t", "throws")));
  pool->submit(done.lease(make_job("sh", "shell", {{"command", "echo partial; exit 3"}})));
  REQUIRE(done.wait_for(2));
  CHECK(done.of("t").status == ExecutionStatus::error);
  CHECK(done.of("t").exception == "std::invalid_argument: bad input 42");
  CHECK(done.of("sh").exception == "sked::CommandFailed: exited with status 3");
  CHECK(done.of("sh").traceback == "--- stdout ---\npartial\n");
  destroy_and_check(pool);
}

TEST_CASE("a run past its timeout is terminated and recorded as timed out",
          "[executor][process_pool][timeout]") {
  sked::TaskRegistry tasks;
  add_test_tasks(tasks);
  auto clock = std::make_shared<sked::ManualClock>(t0);
  Pipe started;
  // The grace period is real time: a task that ignores SIGTERM really runs for 200 ms before
  // SIGKILL.
  auto pool = std::make_unique<sked::ProcessPoolExecutor>(2, tasks, 200ms);
  pool->start(clock);
  Collected done;
  pool->submit(
      done.lease(make_job("polite", "wait_for_stop", {{"started_fd", started.write_end}}, 30s)));
  pool->submit(
      done.lease(make_job("stubborn", "stubborn", {{"started_fd", started.write_end}}, 30s)));
  started.wait_started(2);
  const auto workers = pool->worker_pids();
  clock->advance(29s);
  CHECK_FALSE(done.wait_for(1, 20ms));  // not yet due by the scheduler's clock
  clock->advance(1s);
  REQUIRE(done.wait_for(2));
  for (const char* id : {"polite", "stubborn"}) {
    INFO(id);
    CHECK(done.of(id).status == ExecutionStatus::error);
    CHECK(done.of(id).exception == "timed out after 30s");
    CHECK(done.of(id).duration == 30s);
  }
  CHECK(sked::test::wait_until_gone({workers.begin(), workers.end()}));
  // Both workers were retired; new ones take the next runs.
  pool->submit(done.lease(make_job("next", "echo")));
  REQUIRE(done.wait_for(3));
  CHECK(done.of("next").status == ExecutionStatus::executed);
  destroy_and_check(pool);
}

TEST_CASE("a shell command in a timed-out worker is stopped with it",
          "[executor][process_pool][timeout]") {
  sked::TaskRegistry tasks;
  add_test_tasks(tasks);
  auto clock = std::make_shared<sked::ManualClock>(t0);
  Pipe started;  // before the pool, so the zygote and its workers inherit it
  auto pool = std::make_unique<sked::ProcessPoolExecutor>(1, tasks);
  pool->start(clock);
  Collected done;
  // The command reports its pid through the pipe, then sleeps in its own process group.
  pool->submit(done.lease(make_job(
      "sh", "shell",
      {{"command", "echo $$ >&" + std::to_string(started.write_end) + "; exec sleep 60"}}, 10s)));
  const pid_t command = std::stoi(started.read_text());
  clock->advance(10s);
  REQUIRE(done.wait_for(1));
  CHECK(done.of("sh").exception == "timed out after 10s");
  destroy_and_check(pool, {command});
}

TEST_CASE("a worker's shell command has its process group recorded with the run",
          "[executor][process_pool][survivor]") {
  sked::TaskRegistry tasks;
  add_test_tasks(tasks);
  auto clock = std::make_shared<sked::ManualClock>(t0);
  Pipe started;  // before the pool, so the zygote and its workers inherit it
  auto pool = std::make_unique<sked::ProcessPoolExecutor>(1, tasks);
  pool->start(clock);
  auto store = std::make_shared<sked::test::ProcessRecordingStore>();
  store->add_job(make_job(
      "sh", "shell",
      {{"command", "echo $$ >&" + std::to_string(started.write_end) + "; exec sleep 60"}}, 10s));
  pool->submit(store->start_run("sh", t0));
  const pid_t command = std::stoi(started.read_text());
  // What a scheduler that finds this process dead reads to stop the command (docs/sqlite.md,
  // "Faults").
  CHECK_THAT(store->first_recorded(),
             Catch::StartsWith("sh pgid=" + std::to_string(command) + " start="));
  clock->advance(10s);
  destroy_and_check(pool, {command});
}

TEST_CASE("the process pool runs at most max_workers tasks at once", "[executor][process_pool]") {
  const auto workers = static_cast<std::size_t>(GENERATE(1, 2, 4));
  sked::TaskRegistry tasks;
  add_test_tasks(tasks);
  Pipe gate;
  auto pool = std::make_unique<sked::ProcessPoolExecutor>(workers, tasks);
  pool->start(nullptr);
  Collected done;
  const std::size_t runs = workers * 3;
  for (std::size_t i = 0; i < runs; ++i) {
    pool->submit(
        done.lease(make_job("r" + std::to_string(i), "read_byte", {{"fd", gate.read_end}})));
  }
  REQUIRE(wait_for_workers(*pool, workers));
  CHECK(pool->worker_pids().size() == workers);
  CHECK(done.count() == 0);
  gate.release(static_cast<int>(runs));
  REQUIRE(done.wait_for(runs));
  for (std::size_t i = 0; i < runs; ++i)
    CHECK(done.of("r" + std::to_string(i)).status == ExecutionStatus::executed);
  CHECK(pool->worker_pids().size() == workers);
  destroy_and_check(pool);
}

TEST_CASE("shutdown with wait lets running children finish", "[executor][process_pool][shutdown]") {
  sked::TaskRegistry tasks;
  add_test_tasks(tasks);
  Pipe gate;
  auto pool = std::make_unique<sked::ProcessPoolExecutor>(1, tasks);
  pool->start(nullptr);
  Collected done;
  pool->submit(done.lease(make_job("running", "read_byte", {{"fd", gate.read_end}})));
  pool->submit(done.lease(make_job("queued", "echo")));
  REQUIRE(wait_for_workers(*pool, 1));
  auto stopped = std::async(std::launch::async, [&] { pool->shutdown(true); });
  gate.release(1);
  stopped.get();
  REQUIRE(done.count() == 2);  // settled before shutdown returned
  CHECK(done.of("running").status == ExecutionStatus::executed);
  CHECK(done.of("queued").status == ExecutionStatus::executed);
  CHECK(pool->worker_pids().empty());
  pool->shutdown(true);  // idempotent
  pool->submit(done.lease(make_job("late", "echo")));
  CHECK(done.of("late").exception == "sked::Error: the executor is shut down");
  // The zygote outlives a shutdown, so a restarted scheduler can start the pool again.
  pool->start(nullptr);
  pool->submit(done.lease(make_job("again", "echo")));
  REQUIRE(done.wait_for(4));
  CHECK(done.of("again").status == ExecutionStatus::executed);
  destroy_and_check(pool);
}

TEST_CASE("shutdown without wait terminates running children and reports queued runs",
          "[executor][process_pool][shutdown]") {
  sked::TaskRegistry tasks;
  add_test_tasks(tasks);
  Pipe started;
  // A stubborn task makes shutdown wait the 200 ms grace period of real time before SIGKILL.
  auto pool = std::make_unique<sked::ProcessPoolExecutor>(2, tasks, 200ms);
  pool->start(nullptr);
  Collected done;
  pool->submit(
      done.lease(make_job("polite", "wait_for_stop", {{"started_fd", started.write_end}})));
  pool->submit(done.lease(make_job("stubborn", "stubborn", {{"started_fd", started.write_end}})));
  started.wait_started(2);
  pool->submit(done.lease(make_job("queued", "echo")));
  pool->shutdown(false);
  REQUIRE(done.count() == 3);
  CHECK(done.of("queued").exception ==
        "sked::Error: the executor shut down before the run started");
  // A task that honours the stop request returns normally, as in the thread pool.
  CHECK(done.of("polite").status == ExecutionStatus::executed);
  CHECK(done.of("stubborn").exception ==
        "the executor shut down without waiting: killed by signal 9 (SIGKILL)");
  CHECK(pool->worker_pids().empty());
  destroy_and_check(pool);
}

TEST_CASE("runs the workers cannot do are errors saying why", "[executor][process_pool][errors]") {
  sked::TaskRegistry tasks;
  add_test_tasks(tasks);
  auto pool = std::make_unique<sked::ProcessPoolExecutor>(1, tasks);
  pool->start(nullptr);
  Collected done;
  auto callable = make_job("c", "");
  callable.callable = std::make_shared<const sked::TaskFn>([](const sked::JobContext&) {});
  pool->submit(done.lease(callable));
  pool->submit(done.lease(make_job("u", "registered_later")));
  REQUIRE(done.wait_for(2));
  CHECK_THAT(done.of("c").exception, Catch::Contains("job 'c' is bound to a callable"));
  CHECK_THAT(done.of("u").exception,
             Catch::Contains("task 'registered_later' was not registered when the "
                             "process pool was created"));
  CHECK(pool->worker_pids().empty());
  destroy_and_check(pool);
}

TEST_CASE("a process pool is refused once the program has threads",
          "[executor][process_pool][errors]") {
  const sked::TaskRegistry tasks;
  CHECK_THROWS_AS(sked::ProcessPoolExecutor(0, tasks), sked::InvalidArgument);
  std::latch release{1};
  std::thread other([&] { release.wait(); });
  CHECK_THROWS_WITH(
      sked::ProcessPoolExecutor(1, tasks),
      Catch::Contains("must be created while the program has one thread, but it has 2"));
  release.count_down();
  other.join();
  CHECK(sked::test::children_of().empty());
}

TEST_CASE("the zygote and its workers end when the program dies",
          "[executor][process_pool][orphans]") {
  Pipe report;
  const pid_t program = ::fork();
  REQUIRE(program >= 0);
  if (program == 0) {
    // A stand-in for the application: single-threaded as a fork's child always is. It starts a run
    // that never ends, reports its processes and dies without any chance to clean up.
    sked::TaskRegistry tasks;
    add_test_tasks(tasks);
    sked::ProcessPoolExecutor pool{1, tasks, 200ms};
    pool.start(nullptr);
    Collected ignored;
    pool.submit(ignored.lease(make_job("forever", "wait_for_stop")));
    while (pool.worker_pids().empty()) std::this_thread::sleep_for(1ms);
    const std::string pids =
        std::to_string(pool.zygote_pid()) + " " + std::to_string(pool.worker_pids()[0]) + "\n";
    (void)!::write(report.write_end, pids.data(), pids.size());
    ::raise(SIGKILL);
  }
  ::close(report.write_end);  // so the read below ends if the program dies before it reports
  report.write_end = -1;
  const std::string text = report.read_text();
  int status = 0;
  REQUIRE(::waitpid(program, &status, 0) == program);
  std::istringstream in(text);
  pid_t zygote = 0;
  pid_t worker = 0;
  in >> zygote >> worker;
  REQUIRE(worker > 0);
  CHECK(sked::test::wait_until_gone({zygote, worker}));
  CHECK(sked::test::children_of().empty());
}

TEST_CASE("the scheduler's loop, not the pool's reactor, claims the runs left for a freed worker",
          "[executor][process_pool][scheduler]") {
  // The reactor stops tasks past their timeout: it must never wait for a store's lock in a claim.
  auto clock = std::make_shared<sked::ManualClock>(t0);
  sked::BackgroundScheduler scheduler{{.clock = clock, .timezone = sked::TimeZone::utc()}};
  add_test_tasks(scheduler.tasks());
  // Created before start(): the scheduler has no thread yet.
  auto pool = std::make_shared<sked::ProcessPoolExecutor>(1, scheduler.tasks());
  CHECK_FALSE(pool->freeing_thread_claims());
  scheduler.add_executor(pool, "processes");
  std::mutex mutex;
  std::vector<std::thread::id> submitted_on;
  scheduler.add_listener(
      [&](const sked::Event&) {
        std::lock_guard lock(mutex);
        submitted_on.push_back(std::this_thread::get_id());
      },
      static_cast<sked::EventMask>(sked::EventKind::job_submitted));
  for (int i = 0; i < 3; ++i) {
    scheduler.add_job({.id = "j" + std::to_string(i),
                       .task = "echo",
                       .trigger = sked::DateTrigger{t0},
                       .executor = "processes"});
  }
  scheduler.start();
  // One worker: each run is claimed once the one before has ended, and wait_idle() waits for all.
  REQUIRE(scheduler.wait_idle());
  CHECK(scheduler.get_executions({.status = sked::ExecutionStatus::executed}).size() == 3);
  {
    // Not held across shutdown(), which waits for a pass whose listener takes it.
    std::lock_guard lock(mutex);
    REQUIRE(submitted_on.size() == 3);
    CHECK(submitted_on[1] == submitted_on[0]);  // the loop's, as was the first
    CHECK(submitted_on[2] == submitted_on[0]);
  }
  scheduler.shutdown();
}

TEST_CASE(
    "a scheduler using the process pool records crashes, timeouts and failures and keeps "
    "scheduling",
    "[executor][process_pool][scheduler]") {
  auto clock = std::make_shared<sked::ManualClock>(t0);
  sked::test::EventRecorder events;
  sked::test::LogRecorder logs;
  auto scheduler = std::make_unique<sked::BackgroundScheduler>(sked::SchedulerOptions{
      .clock = clock, .timezone = sked::TimeZone::utc(), .logger = logs.logger()});
  add_test_tasks(scheduler->tasks());
  // Created before start(): the scheduler has no thread yet.
  auto pool = std::make_shared<sked::ProcessPoolExecutor>(2, scheduler->tasks(), 200ms);
  const pid_t zygote = pool->zygote_pid();
  scheduler->add_executor(pool, "processes");
  scheduler->add_executor(std::make_shared<sked::ThreadPoolExecutor>(2));
  events.attach(*scheduler);
  const auto every_10s = [] { return sked::IntervalTrigger{10s}; };
  // First of the jobs due at t0 + 10s, so that the first claim (as many runs as the pool has
  // workers) takes it: its timeout runs from t0 + 10s, before the clock moves on.
  scheduler->add_job({.id = "hang",
                      .task = "stubborn",
                      .trigger = sked::DateTrigger{t0 + 10s},
                      .executor = "processes",
                      .timeout = 5s});
  scheduler->add_job(
      {.id = "segv", .task = "segfault", .trigger = every_10s(), .executor = "processes"});
  scheduler->add_job(
      {.id = "abrt", .task = "abort", .trigger = every_10s(), .executor = "processes"});
  scheduler->add_job(
      {.id = "throws", .task = "throws", .trigger = every_10s(), .executor = "processes"});
  scheduler->add_job({.id = "shell",
                      .task = "shell",
                      .args = {{"command", "exit 3"}},
                      .trigger = every_10s(),
                      .executor = "processes"});
  scheduler->add_job(
      {.id = "fine", .task = "echo", .trigger = every_10s(), .executor = "processes"});
  scheduler->add_job({.id = "in_thread", .task = "echo", .trigger = every_10s()});
  scheduler->start();
  REQUIRE(scheduler->wait_idle());
  clock->advance(10s);
  REQUIRE(events.wait_for(sked::EventKind::job_error, 4));
  REQUIRE(events.wait_for(sked::EventKind::job_executed, 2));
  clock->advance(5s);  // the hang's timeout
  REQUIRE(scheduler->wait_idle());
  clock->advance(5s);  // the second round
  REQUIRE(scheduler->wait_idle());

  const auto record = [&](const std::string& id) {
    auto executions = scheduler->get_executions({.job_id = id});
    REQUIRE(!executions.empty());
    return executions;
  };
  for (const auto& [id, message] : std::vector<std::pair<std::string, std::string>>{
           {"segv", segv_message},
           {"abrt", "killed by signal 6 (SIGABRT)"},
           {"throws", "std::invalid_argument: bad input 42"},
           {"shell", "sked::CommandFailed: exited with status 3"}}) {
    INFO(id);
    const auto executions = record(id);
    CHECK(executions.size() == 2);
    for (const auto& e : executions) {
      CHECK(e.status == ExecutionStatus::error);
      CHECK(e.exception == message);
    }
  }
  for (const char* id : {"fine", "in_thread"}) {
    INFO(id);
    const auto executions = record(id);
    CHECK(executions.size() == 2);
    for (const auto& e : executions) CHECK(e.status == ExecutionStatus::executed);
  }
  const auto hang = record("hang");
  REQUIRE(hang.size() == 1);
  CHECK(hang[0].status == ExecutionStatus::error);
  CHECK(hang[0].exception == "timed out after 5s");
  CHECK(hang[0].finished == t0 + 15s);
  CHECK(logs.contains(sked::LogLevel::error, segv_message));

  scheduler->shutdown();
  scheduler.reset();
  pool.reset();
  CHECK(sked::test::children_of().empty());
  CHECK(sked::test::wait_until_gone({zygote}));
}

}  // namespace SKED_TEST_FILE
