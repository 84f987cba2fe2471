// Routing, authorization and the response headers every answer carries. The handlers (pages.cpp,
// api.cpp, actions.cpp) only see requests that passed the checks here.

#include <sked/http/server.hpp>

#include "http/handlers.hpp"
#include "http/html.hpp"

#include <sked/errors.hpp>
#include <sked/job_store.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <utility>

namespace sked::http {
namespace {

using detail::Context;
using detail::Reply;

std::string random_hex(std::size_t bytes) {
  std::random_device device;
  std::string out;
  out.reserve(bytes * 2);
  for (std::size_t i = 0; i < bytes; i += 4) {
    out += fmt::format("{:08x}", device());
  }
  return out.substr(0, bytes * 2);
}

// Compares in time that depends on the length only, so a token cannot be guessed byte by byte.
bool same(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

bool is_loopback(std::string_view host) {
  return host == "localhost" || host == "::1" || host == "[::1]" || host.starts_with("127.");
}

std::string cookie(const httplib::Request& req, std::string_view name) {
  const std::string header = req.get_header_value("Cookie");
  std::string_view rest = header;
  while (!rest.empty()) {
    const auto end = rest.find(';');
    std::string_view part = rest.substr(0, end);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    if (part.size() > name.size() && part.starts_with(name) && part[name.size()] == '=')
      return std::string{part.substr(name.size() + 1)};
    if (end == std::string_view::npos) break;
    rest.remove_prefix(end + 1);
  }
  return {};
}

constexpr std::string_view session_cookie = "sked_session";

}  // namespace

class Server::Impl {
 public:
  Impl(std::shared_ptr<JobStore> store, ServerOptions options)
      : options_(std::move(options)),
        view_(std::move(store), options_.job_list_store, options_.snapshot_max_age),
        metrics_(view_, options_.per_job_metrics, options_.max_job_series),
        csrf_(random_hex(32)),
        session_(random_hex(32)) {
    if (!is_loopback(options_.host) && options_.token.empty()) {
      throw InvalidArgument(fmt::format(
          "listening on '{}' needs a token (--token-file): only a loopback address may be served "
          "without one",
          options_.host));
    }
    configure();
    routes();
    if (options_.port == 0) {
      const int bound = http_.bind_to_any_port(options_.host);
      if (bound <= 0) throw Error(fmt::format("cannot listen on {}:0", options_.host));
      port_ = static_cast<std::uint16_t>(bound);
    } else {
      if (!http_.bind_to_port(options_.host, options_.port)) {
        throw Error(fmt::format("cannot listen on {}:{} (in use, or not an address of this host)",
                                options_.host, options_.port));
      }
      port_ = options_.port;
    }
  }

  ~Impl() { stop(); }

  void start() {
    std::lock_guard lock{mutex_};
    if (thread_.joinable()) return;
    listen_ended_ = false;
    thread_ = std::thread{[this] {
      http_.listen_after_bind();
      listen_ended_ = true;
    }};
    // cpp-httplib's stop() does nothing until the listening loop has begun: a server stopped right
    // after start() would otherwise block its destructor in accept() for ever.
    while (!http_.is_running() && !listen_ended_) std::this_thread::yield();
  }
  void run() { http_.listen_after_bind(); }
  void stop() noexcept {
    try {
      http_.stop();
      std::lock_guard lock{mutex_};
      if (thread_.joinable()) thread_.join();
    } catch (...) {
      // Stopping must not throw from a destructor; the socket closes with the process.
    }
  }
  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  std::atomic<bool> listen_ended_{false};

 private:
  void configure() {
    http_.set_payload_max_length(options_.max_body_bytes);
    http_.set_read_timeout(options_.io_timeout);
    http_.set_write_timeout(options_.io_timeout);
    // Small responses on kept-alive connections would otherwise wait out delayed ACKs (40 ms).
    http_.set_tcp_nodelay(true);
    http_.set_keep_alive_timeout(5);
    http_.set_keep_alive_max_count(100);
    const int threads = std::max(1, options_.threads);
    http_.new_task_queue = [threads] {
      return new httplib::ThreadPool(static_cast<size_t>(threads));
    };
    // Every request passes here first: host, authentication, method and CSRF checks.
    http_.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      return admit(req, res) ? httplib::Server::HandlerResponse::Unhandled
                             : httplib::Server::HandlerResponse::Handled;
    });
    http_.set_error_handler([this](const httplib::Request& req, httplib::Response& res) {
      if (!res.body.empty()) return;
      Context ctx = context();
      const std::string message = res.status == 404   ? "There is no such page."
                                  : res.status == 413 ? "The request is too large."
                                  : res.status == 400
                                      ? "The request is malformed (a POST needs a Content-Length)."
                                      : "The request was refused.";
      write(res,
            req.path.starts_with("/api/") ? detail::api_error(res.status, message)
                                          : detail::error_page(ctx, res.status, message),
            ctx);
    });
  }

  Context context() { return Context{view_, metrics_, options_, random_hex(16), csrf_}; }

  static void headers(httplib::Response& res, const Context& ctx) {
    res.set_header("Content-Security-Policy",
                   fmt::format("default-src 'none'; script-src 'nonce-{}'; style-src 'self'; "
                               "img-src 'self'; connect-src 'self'; form-action 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'",
                               ctx.nonce));
    res.set_header("X-Content-Type-Options", "nosniff");
    res.set_header("X-Frame-Options", "DENY");
    res.set_header("Referrer-Policy", "no-referrer");
    res.set_header("Cache-Control", "no-store");
  }

  static void write(httplib::Response& res, const Reply& reply, const Context& ctx) {
    headers(res, ctx);
    res.status = reply.status;
    for (const auto& [k, v] : reply.headers) res.set_header(k, v);
    if (!reply.location.empty()) res.set_header("Location", reply.location);
    res.set_content(reply.body, reply.content_type);
  }

  // Answers a request with `handler`, turning errors into 400/404/409/503 pages or JSON.
  template <typename Handler>
  void serve(const httplib::Request& req, httplib::Response& res, Handler&& handler) {
    Context ctx = context();
    const bool api = req.path.starts_with("/api/");
    const auto fail = [&](int status, std::string_view message) {
      write(res,
            api ? detail::api_error(status, message) : detail::error_page(ctx, status, message),
            ctx);
    };
    try {
      write(res, handler(ctx), ctx);
    } catch (const InvalidArgument& e) {
      fail(400, e.what());
    } catch (const JobNotFound& e) {
      fail(404, e.what());
    } catch (const StoreError& e) {
      fail(503, e.what());
    } catch (const Error& e) {
      fail(409, e.what());
    } catch (const std::exception& e) {
      fail(500, e.what());
    }
  }

  // The checks before routing; false when the request was answered (refused) here.
  bool admit(const httplib::Request& req, httplib::Response& res) {
    Context ctx = context();
    const bool api = req.path.starts_with("/api/") || req.path == "/metrics";
    const auto refuse = [&](int status, std::string_view message) {
      write(res,
            api ? detail::api_error(status, message) : detail::error_page(ctx, status, message),
            ctx);
      return false;
    };
    // A page on a loopback address is only for this host: a Host of another name means a DNS
    // rebinding page is asking, which must not read the CSRF token.
    if (is_loopback(options_.host)) {
      std::string host = req.get_header_value("Host");
      if (const auto colon = host.rfind(':'); colon != std::string::npos && host.back() != ']')
        host.resize(colon);
      if (!is_loopback(host)) return refuse(421, "This server answers to loopback names only.");
    }
    const std::string auth = req.get_header_value("Authorization");
    const bool bearer = !options_.token.empty() && auth.starts_with("Bearer ") &&
                        same(std::string_view{auth}.substr(7), options_.token);
    const bool signed_in =
        options_.token.empty() || bearer || same(cookie(req, session_cookie), session_);
    const bool open_path =
        req.path == "/login" || req.path == "/assets/sked.css" || req.path == "/favicon.ico";
    if (!signed_in && !open_path) {
      if (api) {
        res.set_header("WWW-Authenticate", "Bearer");
        return refuse(401, "a token is required: Authorization: Bearer TOKEN");
      }
      res.status = 303;
      res.set_header("Location", "/login");
      headers(res, ctx);
      return false;
    }
    if (req.method == "GET" || req.method == "HEAD" || req.method == "POST") return true;
    return refuse(405, "Only GET and POST are served.");
  }

  // Every change is a POST that proves it comes from this server's page (the CSRF token) or from
  // a client holding the token (a browser cannot add an Authorization header across sites). Checked
  // in the handler, once the form body has been read. Empty when the change may go ahead.
  std::optional<std::pair<int, std::string>> refusal(const httplib::Request& req) const {
    const std::string auth = req.get_header_value("Authorization");
    const bool bearer = !options_.token.empty() && auth.starts_with("Bearer ") &&
                        same(std::string_view{auth}.substr(7), options_.token);
    const std::string csrf =
        req.has_param("csrf") ? req.get_param_value("csrf") : req.get_header_value("X-CSRF-Token");
    if (!bearer && !same(csrf, csrf_))
      return std::pair{403,
                       "The form is stale or not from this server (CSRF token); reload the page."};
    if (options_.read_only && req.path != "/login")
      return std::pair{403, "This server is read-only: it makes no changes."};
    return std::nullopt;
  }

  // serve() for a POST: refused unless `refusal` finds nothing against it.
  template <typename Handler>
  void change(const httplib::Request& req, httplib::Response& res, Handler&& handler) {
    serve(req, res, [&](Context& ctx) -> Reply {
      if (const auto refused = refusal(req)) {
        return req.path.starts_with("/api/")
                   ? detail::api_error(refused->first, refused->second)
                   : detail::error_page(ctx, refused->first, refused->second);
      }
      return handler(ctx);
    });
  }

  void routes() {
    const auto page = [this](auto fn) {
      return [this, fn](const httplib::Request& req, httplib::Response& res) {
        serve(req, res, [&](Context& ctx) { return fn(ctx, req); });
      };
    };
    http_.Get("/", page(detail::jobs_page));
    http_.Get("/jobs", page(detail::jobs_page));
    http_.Get("/executions", page(detail::executions_page));
    http_.Get("/schedulers", page(detail::schedulers_page));
    http_.Get("/assets/sked.css", [](const httplib::Request&, httplib::Response& res) {
      res.set_header("X-Content-Type-Options", "nosniff");
      res.set_header("Cache-Control", "max-age=3600");
      res.set_content(std::string{detail::stylesheet()}, "text/css; charset=utf-8");
    });
    // Browsers ask for it on every page; none is needed.
    http_.Get("/favicon.ico", [](const httplib::Request&, httplib::Response& res) {
      res.status = 204;
      res.set_header("Cache-Control", "max-age=86400");
    });
    http_.Get("/metrics", [this](const httplib::Request& req, httplib::Response& res) {
      serve(req, res, [&](Context& ctx) {
        return Reply{200, ctx.metrics.render(SystemClock{}.now()),
                     "text/plain; version=0.0.4; charset=utf-8"};
      });
    });
    // A change asked for with GET (a link, a prefetch, an image tag) is refused, never done.
    const char* const action_path = R"(/(api/)?jobs/(.+)/(run-now|pause|resume|remove))";
    http_.Get(action_path, [this](const httplib::Request& req, httplib::Response& res) {
      res.set_header("Allow", "POST");
      serve(req, res, [&](Context& ctx) {
        constexpr std::string_view message = "Changes are POSTs; a GET never changes anything.";
        return req.path.starts_with("/api/") ? detail::api_error(405, message)
                                             : detail::error_page(ctx, 405, message);
      });
    });
    http_.Get(R"(/jobs/(.+))", [this](const httplib::Request& req, httplib::Response& res) {
      serve(req, res, [&](Context& ctx) { return detail::job_page(ctx, req, req.matches[1]); });
    });
    http_.Post(R"(/jobs/(.+)/(run-now|pause|resume|remove))", [this](const httplib::Request& req,
                                                                     httplib::Response& res) {
      change(req, res, [&](Context& ctx) -> Reply {
        const std::string id = req.matches[1];
        const auto action = *detail::parse_action(req.matches[2].str());
        if (detail::param(req, "confirm") != "yes") return detail::confirm_page(ctx, action, id);
        const std::string done = detail::apply(ctx, action, id);
        Reply r{303, "", "text/plain"};
        r.location = action == detail::Action::remove
                         ? "/"
                         : "/jobs/" + detail::url_encode(id) + "?done=" + detail::url_encode(done);
        return r;
      });
    });
    http_.Get("/login", [this](const httplib::Request& req, httplib::Response& res) {
      serve(req, res, [&](Context& ctx) { return detail::login_page(ctx, false); });
    });
    http_.Post("/login", [this](const httplib::Request& req, httplib::Response& res) {
      change(req, res, [&](Context& ctx) -> Reply {
        if (options_.token.empty() || !same(detail::param(req, "token"), options_.token))
          return detail::login_page(ctx, true);
        res.set_header("Set-Cookie", fmt::format("{}={}; Path=/; HttpOnly; SameSite=Strict",
                                                 session_cookie, session_));
        Reply r{303, "", "text/plain"};
        r.location = "/";
        return r;
      });
    });
    http_.Get("/api/jobs", page(detail::api_jobs));
    http_.Get(R"(/api/jobs/(.+))", [this](const httplib::Request& req, httplib::Response& res) {
      serve(req, res, [&](Context& ctx) { return detail::api_job(ctx, req, req.matches[1]); });
    });
    http_.Get("/api/executions", page(detail::api_executions));
    http_.Get("/api/schedulers", [this](const httplib::Request& req, httplib::Response& res) {
      serve(req, res, [&](Context& ctx) { return detail::api_schedulers(ctx); });
    });
    http_.Post(R"(/api/jobs/(.+)/(run-now|pause|resume|remove))", [this](
                                                                      const httplib::Request& req,
                                                                      httplib::Response& res) {
      change(req, res, [&](Context& ctx) -> Reply {
        const std::string id = req.matches[1];
        const auto action = *detail::parse_action(req.matches[2].str());
        const std::string done = detail::apply(ctx, action, id);
        return {200, nlohmann::json{{"ok", true}, {"message", done}}.dump(), "application/json"};
      });
    });
  }

  ServerOptions options_;
  detail::StoreView view_;
  detail::Metrics metrics_;
  std::string csrf_;
  std::string session_;
  httplib::Server http_;
  std::uint16_t port_ = 0;
  std::mutex mutex_;
  std::thread thread_;
};

namespace {
std::shared_ptr<JobStore> non_null(std::shared_ptr<JobStore> store) {
  if (!store) throw InvalidArgument("sked::http::Server: the store is null");
  return store;
}
}  // namespace

Server::Server(std::shared_ptr<JobStore> store, ServerOptions options)
    : impl_(std::make_unique<Impl>(non_null(std::move(store)), std::move(options))) {}
Server::~Server() = default;
void Server::start() { impl_->start(); }
void Server::run() { impl_->run(); }
void Server::stop() noexcept { impl_->stop(); }
std::uint16_t Server::port() const noexcept { return impl_->port(); }

}  // namespace sked::http
