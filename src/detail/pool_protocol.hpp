#pragma once
// What the process pool's parent, zygote and workers say to each other.
//
// Parent <-> zygote: fixed-size `ControlMessage`s on a SOCK_SEQPACKET pair; a `spawned` reply
// carries the parent's end of the new worker's socket as SCM_RIGHTS. Parent <-> worker:
// length-prefixed JSON frames (detail/process.hpp) on a SOCK_STREAM pair, one run out and one
// outcome back at a time.

#include <sked/executor.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace sked::detail {

enum class ControlOp : std::int32_t {
  spawn = 1,  // parent -> zygote: fork a worker
  signal =
      2,  // parent -> zygote: send `value` to worker `pid`'s process group, if it is still alive
  spawned = 3,       // zygote -> parent: worker `pid` started; its socket is attached
  spawn_failed = 4,  // zygote -> parent: fork or socketpair failed with errno `value`
  exited = 5,        // zygote -> parent: worker `pid` was reaped with wait status `value`
};

struct ControlMessage {
  ControlOp op = ControlOp::spawn;
  std::int32_t pid = 0;
  std::int32_t value = 0;
};

/// Sends a message and, when `fd` >= 0, the descriptor with it. Returns false when the peer is
/// gone.
[[nodiscard]] bool send_control(int socket, const ControlMessage& message, int fd = -1) noexcept;

/// Receives one message (and an attached descriptor into `fd`, close-on-exec). Returns 1 for a
/// message, 0 at end of stream, -1 with errno set (EAGAIN with `dontwait` when none is waiting).
[[nodiscard]] int receive_control(int socket, ControlMessage& message, int& fd,
                                  bool dontwait) noexcept;

/// The run as a worker reads it: the task name, the job's id, name and args, the execution's id and
/// time.
[[nodiscard]] std::string encode_run(const RunLease& run);
/// What a worker needs of a run.
struct DecodedRun {
  Job job{};
  Execution execution{};
};
/// Rebuilds the job and execution of an encoded run. Throws `sked::Error` naming what is missing.
[[nodiscard]] DecodedRun decode_run(const std::string& text);

/// Sent by a worker while its run goes on: the run started process group `pgid` (a command), which
/// the parent records with the run (`RunLease::record_process_group`).
[[nodiscard]] std::string encode_process_group(int pgid);
/// The group of a frame `encode_process_group` wrote; nothing for any other frame (an outcome).
[[nodiscard]] std::optional<int> decode_process_group(const std::string& text);

[[nodiscard]] std::string encode_outcome(const Outcome& outcome);
[[nodiscard]] Outcome decode_outcome(const std::string& text);

}  // namespace sked::detail
