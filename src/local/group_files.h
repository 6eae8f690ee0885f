// group_files.h — the POSIX file handling of app groups: owned descriptors,
// errno-carrying Statuses, permission checks and atomic replacement of a
// small file. Linux/POSIX only. Thread-safe (no shared state).
#ifndef BLAZE_LOCAL_GROUP_FILES_H_
#define BLAZE_LOCAL_GROUP_FILES_H_

#include <sys/stat.h>

#include <string>
#include <utility>

#include "blaze/status.h"

namespace blaze::local {

// An owned file descriptor, closed on destruction.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { Close(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  void Close();
  // Gives up ownership without closing; returns the descriptor.
  int Release() { return std::exchange(fd_, -1); }

 private:
  int fd_ = -1;
};

// "<what> '<path>': <strerror(errno)>", as kNotFound for ENOENT, kAlreadyExists
// for EEXIST, kFailedPrecondition for EACCES/EPERM, else kIOError. Reads errno:
// call it right after the failing system call.
Status ErrnoStatus(const std::string& what, const std::string& path);

// OK if `st` belongs to this user (effective uid) and grants nothing to group
// or others; otherwise kFailedPrecondition saying what to run. `what` names
// the object, e.g. "app group directory"; `expected` is the mode to suggest.
Status CheckPrivate(const struct stat& st, const std::string& path, const char* what, mode_t expected);

// Reads a whole regular file of at most `max_bytes` through `fd`.
Result<std::string> ReadAll(int fd, const std::string& path, size_t max_bytes);

// Replaces `name` in the directory `dir_fd` (shown as `dir`) with `text`,
// atomically: the text goes to "<name>.tmp" (mode `mode`), which is fsync'd
// and renamed over `name`, then the directory is fsync'd. A reader sees the
// old file or the new one, never a mix, and a crash leaves at worst a stray
// temporary file that the next write truncates. Callers serialize writers.
Status ReplaceFileAtomically(int dir_fd, const std::string& dir, const std::string& name, const std::string& text,
                             mode_t mode);

}  // namespace blaze::local

#endif  // BLAZE_LOCAL_GROUP_FILES_H_
