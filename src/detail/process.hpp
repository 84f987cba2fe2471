#pragma once
// POSIX plumbing shared by the process pool and the shell task: owned descriptors, wait statuses in
// words, length-prefixed frames over a socket.

#include <sys/types.h>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace sked::detail {

/// Owns a file descriptor; closes it on destruction. Move-only.
class UniqueFd {
 public:
  UniqueFd() noexcept = default;
  explicit UniqueFd(int fd) noexcept : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) reset(std::exchange(other.fd_, -1));
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  [[nodiscard]] int get() const noexcept { return fd_; }
  [[nodiscard]] explicit operator bool() const noexcept { return fd_ >= 0; }
  [[nodiscard]] int release() noexcept { return std::exchange(fd_, -1); }
  void reset(int fd = -1) noexcept;

 private:
  int fd_ = -1;
};

/// `SIGSEGV` for 11; `signal 64` for one without a name.
[[nodiscard]] std::string signal_name(int signal);

/// A `waitpid` status in words: `exited with status 3`, `killed by signal 11 (SIGSEGV)`.
[[nodiscard]] std::string describe_wait_status(int status);

/// Throws `sked::Error` reading "`what`: <strerror(errno)>".
[[noreturn]] void throw_errno(const std::string& what);

void set_nonblocking(int fd);

/// Writes one frame (a 4-byte length, then `payload`) to a socket, waiting while it is full.
/// Returns false when the peer is gone; never raises SIGPIPE.
[[nodiscard]] bool write_frame(int socket, std::string_view payload);

/// Reads one whole frame from a blocking descriptor. Empty at end of file; throws `sked::Error` on
/// a read error or a frame cut short.
[[nodiscard]] std::optional<std::string> read_frame(int fd);

/// Reassembles frames from bytes read in pieces from a non-blocking descriptor.
class FrameReader {
 public:
  void append(const char* data, std::size_t size) { buffer_.append(data, size); }
  /// The next whole frame, if one has arrived.
  [[nodiscard]] std::optional<std::string> next();

 private:
  std::string buffer_;
};

/// The number of threads of the calling process (from /proc/self/task), or 0 when it cannot be
/// read.
[[nodiscard]] std::size_t thread_count() noexcept;

/// Flushes C stdio and the C++ standard streams, so a fork does not print the same buffered text
/// twice.
void flush_standard_streams() noexcept;

}  // namespace sked::detail
