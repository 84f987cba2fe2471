#include "detail/pool_protocol.hpp"
#include "detail/json_limits.hpp"

#include <sked/errors.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <sys/socket.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <string_view>

namespace sked::detail {

bool send_control(int socket, const ControlMessage& message, int fd) noexcept {
  iovec iov{const_cast<ControlMessage*>(&message),
            sizeof message};  // NOLINT: sendmsg takes a non-const base
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  if (fd >= 0) {
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    cmsghdr* header = CMSG_FIRSTHDR(&msg);
    header->cmsg_level = SOL_SOCKET;
    header->cmsg_type = SCM_RIGHTS;
    header->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(header), &fd, sizeof fd);
  }
  for (;;) {
    const ssize_t n = ::sendmsg(socket, &msg, MSG_NOSIGNAL);
    if (n == static_cast<ssize_t>(sizeof message)) return true;
    if (n < 0 && errno == EINTR) continue;
    return false;
  }
}

int receive_control(int socket, ControlMessage& message, int& fd, bool dontwait) noexcept {
  fd = -1;
  iovec iov{&message, sizeof message};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n = 0;
  do {
    n = ::recvmsg(socket, &msg, MSG_CMSG_CLOEXEC | (dontwait ? MSG_DONTWAIT : 0));
  } while (n < 0 && errno == EINTR);
  if (n < 0) return -1;
  for (cmsghdr* header = CMSG_FIRSTHDR(&msg); header != nullptr;
       header = CMSG_NXTHDR(&msg, header)) {
    if (header->cmsg_level == SOL_SOCKET && header->cmsg_type == SCM_RIGHTS) {
      std::memcpy(&fd, CMSG_DATA(header), sizeof fd);
    }
  }
  if (n == 0) return 0;
  if (n != static_cast<ssize_t>(sizeof message)) {
    errno = EPROTO;
    return -1;
  }
  return 1;
}

std::string encode_run(const RunLease& run) {
  const Job& job = run.job();
  return nlohmann::json{
      {"job", {{"id", job.id}, {"name", job.name}, {"task", job.task}, {"args", *job.args}}},
      {"execution",
       {{"id", run.execution().id},
        {"run_time_us", run.execution().run_time.time_since_epoch().count()}}},
  }
      .dump();
}

DecodedRun decode_run(const std::string& text) {
  try {
    // The args were bounded when the job was stored; the text is checked again before it is parsed.
    if (auto why = json_text_too_big(text, max_job_state_depth, max_job_state_bytes)) {
      throw Error("process pool worker: cannot read the run sent by the scheduler: " + *why);
    }
    const auto j = nlohmann::json::parse(text);
    DecodedRun run;
    const auto& jj = j.at("job");
    run.job.id = jj.at("id").get<std::string>();
    run.job.name = jj.at("name").get<std::string>();
    run.job.task = jj.at("task").get<std::string>();
    run.job.args = jj.at("args");
    run.execution.id = j.at("execution").at("id").get<std::int64_t>();
    run.execution.job_id = run.job.id;
    run.execution.run_time =
        TimePoint{Duration{j.at("execution").at("run_time_us").get<Duration::rep>()}};
    return run;
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string{"process pool worker: cannot read the run sent by the scheduler: "} +
                e.what());
  }
}

namespace {
constexpr std::string_view process_group_prefix = "{\"process_group\":";
}  // namespace

std::string encode_process_group(int pgid) {
  return fmt::format("{}{}}}", process_group_prefix, pgid);
}

std::optional<int> decode_process_group(const std::string& text) {
  if (text.compare(0, process_group_prefix.size(), process_group_prefix) != 0) return std::nullopt;
  int pgid = 0;
  const char* begin = text.data() + process_group_prefix.size();
  const char* end = text.data() + text.size() - 1;
  const auto [last, ec] = std::from_chars(begin, end, pgid);
  if (ec != std::errc{} || last != end || text.back() != '}' || pgid <= 1) {
    throw Error("process pool: cannot read the process group sent by a worker: " +
                text.substr(0, 64));
  }
  return pgid;
}

std::string encode_outcome(const Outcome& outcome) {
  return nlohmann::json{
      {"status", outcome.status == ExecutionStatus::executed ? "executed" : "error"},
      {"duration_us", outcome.duration.count()},
      {"exception", outcome.exception},
      {"traceback", outcome.traceback}}
      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Outcome decode_outcome(const std::string& text) {
  try {
    if (auto why = json_text_too_big(text, 2, max_job_state_bytes)) {
      throw Error("process pool: cannot read the outcome sent by a worker: " + *why);
    }
    const auto j = nlohmann::json::parse(text);
    Outcome outcome;
    outcome.status = j.at("status").get<std::string>() == "executed" ? ExecutionStatus::executed
                                                                     : ExecutionStatus::error;
    outcome.duration = Duration{j.at("duration_us").get<Duration::rep>()};
    outcome.exception = j.at("exception").get<std::string>();
    outcome.traceback = j.at("traceback").get<std::string>();
    return outcome;
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string{"process pool: cannot read the outcome sent by a worker: "} + e.what());
  }
}

}  // namespace sked::detail
