// group_files.cc — POSIX helpers for app groups (group_files.h).
#include "local/group_files.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace blaze::local {

Fd& Fd::operator=(Fd&& o) noexcept {
  if (this != &o) {
    Close();
    fd_ = std::exchange(o.fd_, -1);
  }
  return *this;
}

void Fd::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

Status ErrnoStatus(const std::string& what, const std::string& path) {
  int e = errno;
  std::string m = what + " '" + path + "': " + std::strerror(e);
  switch (e) {
    case ENOENT: return Status::NotFound(std::move(m));
    case EEXIST: return Status::AlreadyExists(std::move(m));
    case EACCES:
    case EPERM: return Status::FailedPrecondition(std::move(m));
    default: return Status::IOError(std::move(m));
  }
}

Status CheckPrivate(const struct stat& st, const std::string& path, const char* what, mode_t expected) {
  if (st.st_uid != ::geteuid()) {
    return Status::FailedPrecondition(std::string(what) + " '" + path + "' belongs to uid " +
                                      std::to_string(st.st_uid) + ", not to this user (uid " +
                                      std::to_string(::geteuid()) + ")");
  }
  if ((st.st_mode & 077) != 0) {
    char have[8], want[8];
    std::snprintf(have, sizeof(have), "%04o", static_cast<unsigned>(st.st_mode & 07777));
    std::snprintf(want, sizeof(want), "%04o", static_cast<unsigned>(expected));
    return Status::FailedPrecondition(std::string(what) + " '" + path + "' has mode " + have +
                                      "; it must not be accessible by group or others (expected " + want +
                                      ", e.g. chmod " + (want + 1) + " '" + path + "')");
  }
  return Status::Ok();
}

Result<std::string> ReadAll(int fd, const std::string& path, size_t max_bytes) {
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus("cannot read", path);
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > max_bytes) {
      return Status::Corruption("'" + path + "' is larger than " + std::to_string(max_bytes) + " bytes");
    }
  }
  return out;
}

Status ReplaceFileAtomically(int dir_fd, const std::string& dir, const std::string& name, const std::string& text,
                             mode_t mode) {
  const std::string tmp = name + ".tmp";
  const std::string tmp_path = dir + "/" + tmp;
  // O_TRUNC, not O_EXCL: a temporary file left by a crashed writer is
  // garbage, and writers are serialized, so it is safe to reuse.
  Fd fd(::openat(dir_fd, tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode));
  if (!fd.valid()) return ErrnoStatus("cannot create", tmp_path);
  Status s;
  // The mode given to open is reduced by the umask and ignored for an
  // existing file; set it explicitly.
  if (::fchmod(fd.get(), mode) != 0) s = ErrnoStatus("cannot set the mode of", tmp_path);
  size_t off = 0;
  while (s.ok() && off < text.size()) {
    ssize_t n = ::write(fd.get(), text.data() + off, text.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      s = ErrnoStatus("cannot write", tmp_path);
    else
      off += static_cast<size_t>(n);
  }
  // The data must be on disk before the rename makes it the file: otherwise
  // a power loss could leave the new name pointing at an empty file.
  if (s.ok() && ::fsync(fd.get()) != 0) s = ErrnoStatus("cannot sync", tmp_path);
  fd.Close();
  if (s.ok() && ::renameat(dir_fd, tmp.c_str(), dir_fd, name.c_str()) != 0) {
    s = ErrnoStatus("cannot rename '" + tmp_path + "' to", dir + "/" + name);
  }
  if (!s.ok()) {
    ::unlinkat(dir_fd, tmp.c_str(), 0);
    return s;
  }
  // And the rename itself must be durable before the caller reports success.
  if (::fsync(dir_fd) != 0) return ErrnoStatus("cannot sync directory", dir);
  return Status::Ok();
}

}  // namespace blaze::local
