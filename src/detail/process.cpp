#include "detail/process.hpp"

#include <sked/errors.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <iostream>

namespace sked::detail {
namespace {

// A frame larger than this is garbage on the wire, not a real run.
constexpr std::uint32_t max_frame = 256U * 1024U * 1024U;

std::array<char, 4> encode_length(std::uint32_t n) {
  return {static_cast<char>(n & 0xffU), static_cast<char>((n >> 8) & 0xffU),
          static_cast<char>((n >> 16) & 0xffU), static_cast<char>((n >> 24) & 0xffU)};
}

std::uint32_t decode_length(const char* p) {
  const auto byte = [p](int i) {
    return static_cast<std::uint32_t>(static_cast<unsigned char>(p[i]));
  };
  return byte(0) | (byte(1) << 8) | (byte(2) << 16) | (byte(3) << 24);
}

bool send_all(int socket, const char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::send(socket, data, size, MSG_NOSIGNAL);
    if (n > 0) {
      data += n;
      size -= static_cast<std::size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd p{socket, POLLOUT, 0};
      if (::poll(&p, 1, -1) < 0 && errno != EINTR) return false;
    } else {
      return false;
    }
  }
  return true;
}

// Reads exactly `size` bytes; false at end of file before the first byte.
bool read_exact(int fd, char* out, std::size_t size) {
  std::size_t got = 0;
  while (got < size) {
    const ssize_t n = ::read(fd, out + got, size - got);
    if (n > 0) {
      got += static_cast<std::size_t>(n);
    } else if (n == 0) {
      if (got == 0) return false;
      throw Error("process pool: a frame was cut short by the end of the stream");
    } else if (errno != EINTR) {
      throw_errno("process pool: reading a frame");
    }
  }
  return true;
}

}  // namespace

void UniqueFd::reset(int fd) noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

std::string signal_name(int signal) {
  switch (signal) {
    case SIGHUP:
      return "SIGHUP";
    case SIGINT:
      return "SIGINT";
    case SIGQUIT:
      return "SIGQUIT";
    case SIGILL:
      return "SIGILL";
    case SIGTRAP:
      return "SIGTRAP";
    case SIGABRT:
      return "SIGABRT";
    case SIGBUS:
      return "SIGBUS";
    case SIGFPE:
      return "SIGFPE";
    case SIGKILL:
      return "SIGKILL";
    case SIGUSR1:
      return "SIGUSR1";
    case SIGSEGV:
      return "SIGSEGV";
    case SIGUSR2:
      return "SIGUSR2";
    case SIGPIPE:
      return "SIGPIPE";
    case SIGALRM:
      return "SIGALRM";
    case SIGTERM:
      return "SIGTERM";
    case SIGCHLD:
      return "SIGCHLD";
    case SIGCONT:
      return "SIGCONT";
    case SIGSTOP:
      return "SIGSTOP";
    case SIGTSTP:
      return "SIGTSTP";
    case SIGTTIN:
      return "SIGTTIN";
    case SIGTTOU:
      return "SIGTTOU";
    case SIGURG:
      return "SIGURG";
    case SIGXCPU:
      return "SIGXCPU";
    case SIGXFSZ:
      return "SIGXFSZ";
    case SIGVTALRM:
      return "SIGVTALRM";
    case SIGPROF:
      return "SIGPROF";
    case SIGSYS:
      return "SIGSYS";
    default:
      return "signal " + std::to_string(signal);
  }
}

std::string describe_wait_status(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    return "killed by signal " + std::to_string(sig) + " (" + signal_name(sig) + ")";
  }
  return "ended with wait status " + std::to_string(status);
}

void throw_errno(const std::string& what) {
  const int error = errno;
  throw Error(what + ": " + std::strerror(error));
}

void set_nonblocking(int fd) {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
    throw_errno("process pool: fcntl(O_NONBLOCK)");
}

bool write_frame(int socket, std::string_view payload) {
  if (payload.size() > max_frame)
    throw Error("process pool: a frame of " + std::to_string(payload.size()) +
                " bytes is over the limit of " + std::to_string(max_frame));
  const auto header = encode_length(static_cast<std::uint32_t>(payload.size()));
  return send_all(socket, header.data(), header.size()) &&
         send_all(socket, payload.data(), payload.size());
}

std::optional<std::string> read_frame(int fd) {
  std::array<char, 4> header{};
  if (!read_exact(fd, header.data(), header.size())) return std::nullopt;
  const std::uint32_t size = decode_length(header.data());
  if (size > max_frame)
    throw Error("process pool: a frame announced " + std::to_string(size) + " bytes");
  std::string payload(size, '\0');
  if (size > 0 && !read_exact(fd, payload.data(), size)) {
    throw Error("process pool: a frame was cut short by the end of the stream");
  }
  return payload;
}

std::optional<std::string> FrameReader::next() {
  if (buffer_.size() < 4) return std::nullopt;
  const std::uint32_t size = decode_length(buffer_.data());
  if (size > max_frame)
    throw Error("process pool: a worker sent a frame announcing " + std::to_string(size) +
                " bytes");
  if (buffer_.size() < 4 + static_cast<std::size_t>(size)) return std::nullopt;
  std::string payload = buffer_.substr(4, size);
  buffer_.erase(0, 4 + static_cast<std::size_t>(size));
  return payload;
}

std::size_t thread_count() noexcept {
  DIR* dir = ::opendir("/proc/self/task");
  if (dir == nullptr) return 0;
  std::size_t n = 0;
  while (const dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] != '.') ++n;
  }
  ::closedir(dir);
  return n;
}

void flush_standard_streams() noexcept {
  try {
    std::cout.flush();
    std::cerr.flush();
    std::clog.flush();
  } catch (...) {  // a stream with exceptions enabled: nothing more to do before a fork
  }
  std::fflush(nullptr);
}

}  // namespace sked::detail
