#pragma once
// The dashboard, JSON API and Prometheus metrics of a sked store, served over HTTP (`sked serve`).
// A separate library, `sked::http`: the core `sked::sked` never links an HTTP server.

#include <sked/export.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace sked {
class JobStore;
}

namespace sked::http {

/// How a `Server` listens and what it allows. Every field has a safe default.
struct SKED_API ServerOptions {
  /// The address to bind. A loopback address (127.0.0.0/8, ::1, localhost) serves anyone on this
  /// host; any other address is refused unless `token` is set.
  std::string host = "127.0.0.1";
  /// 0: an ephemeral port (see `Server::port()`).
  std::uint16_t port = 8080;
  /// When not empty, every request must carry it: `Authorization: Bearer TOKEN`, or the session
  /// cookie a browser gets by entering it on the login page.
  std::string token{};
  /// No changes at all: every POST is refused with 403 and the pages show no actions.
  bool read_only = false;
  /// Adds a `job` label to the per-task metric series: one series per job, for the first
  /// `max_job_series` jobs seen; the runs and next run times of any others share `job=""`, so that
  /// the number of series stays bounded.
  bool per_job_metrics = false;
  std::size_t max_job_series = 1000;
  /// Request bodies past this size are refused (413).
  std::size_t max_body_bytes = 16 * 1024;
  /// How long a client may take to send a request, and the server to send a response.
  std::chrono::seconds io_timeout{5};
  /// Worker threads answering requests.
  int threads = 4;
  /// The job list pages and metrics use is read again, in the background, once it is older than
  /// this or than ten times as long as its last read took, whichever is longer (at 100,000 jobs a
  /// read takes about a second, so the list is at most about ten seconds old). A change made
  /// through this server is shown at once.
  std::chrono::milliseconds snapshot_max_age{1000};
  /// A second handle on the same store (another connection to the file or database) for those
  /// reads of the whole job list. Reading 100,000 jobs holds a store's connection for about a
  /// second; on a handle of its own it holds up neither the pages' other reads nor a scheduler that
  /// uses the server's store object. Empty: the server's store. `sked serve` opens one.
  std::shared_ptr<JobStore> job_list_store{};
};

/// Serves a store's dashboard (/, /jobs/ID, /executions, /schedulers), JSON API (/api/) and
/// Prometheus metrics (/metrics); docs/http.md describes them. Changes (run now, pause, resume,
/// remove) are POSTs that carry the token or the page's CSRF token; never GETs.
///
/// Any store will do (memory, SQLite, PostgreSQL, an application's own): it is used through the
/// public `JobStore` interface only, and may be the store a scheduler in the same process uses. The
/// schedulers page lists the schedulers registered in an SQLite or PostgreSQL store. The
/// constructor binds the address (throws
/// `sked::InvalidArgument` for a non-loopback address without a token, `sked::Error` when the
/// address cannot be bound); `start()` serves on a background thread until `stop()` or
/// destruction. This class is thread-safe.
///
/// **Example**:
///   sked::http::Server server{store, {.port = 8080}};
///   server.start();  // beside the application's own scheduler
class SKED_API Server {
 public:
  Server(std::shared_ptr<JobStore> store, ServerOptions options = {});
  /// Stops serving and joins the thread. Never throws.
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// Serves on a background thread; returns at once.
  void start();
  /// Serves on the calling thread until `stop()` is called from another thread or a signal
  /// handler's helper thread.
  void run();
  /// Stops serving; requests in progress finish. Safe to call more than once.
  void stop() noexcept;
  /// The port bound (the ephemeral one when `options.port` was 0).
  [[nodiscard]] std::uint16_t port() const noexcept;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sked::http
