// ownership_claim.cc — one owner per shared database of an app group
// (AppGroup::SocketPath, AppGroup::ClaimOwnership, OwnershipClaim).
//
// Who owns a database is decided by an flock, not by the socket file: a
// socket file outlives a crashed process, a lock does not (the kernel drops
// it with the process's last descriptor). So
//
//   lock sockets/<db>.lock (LOCK_EX|LOCK_NB)
//     held by someone  -> refuse, naming the pid written in the lock file
//     acquired         -> any sockets/<db>.sock is stale: remove it, write
//                         our pid into the lock file, return the claim
//
// The lock file is never deleted: unlinking it while another process has it
// open would let two processes hold "the" lock on two different inodes.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "blaze/app_group.h"
#include "local/group_files.h"

namespace blaze {
namespace {

constexpr size_t kMaxDbName = 128;
// sun_path holds 108 bytes including the terminating NUL.
constexpr size_t kMaxSocketPath = sizeof(sockaddr_un::sun_path) - 1;

Status ValidateDbName(std::string_view name) {
  bool ok = !name.empty() && name.size() <= kMaxDbName && name.front() != '.';
  for (char c : name) {
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
                c == '-');
  }
  if (ok) return Status::Ok();
  std::string shown(name.substr(0, 80));
  return Status::InvalidArgument("database name '" + shown +
                                 "' is not valid in an app group: expected a file name of 1 to 128 characters "
                                 "A-Z, a-z, 0-9, '.', '_' or '-', not starting with '.' (no paths)");
}

// The pid recorded in a lock file, or "" if none can be read.
std::string ReadPid(int fd) {
  char buf[32];
  ssize_t n = ::pread(fd, buf, sizeof(buf) - 1, 0);
  if (n <= 0) return "";
  std::string s(buf, static_cast<size_t>(n));
  size_t digits = 0;
  while (digits < s.size() && s[digits] >= '0' && s[digits] <= '9') ++digits;
  return s.substr(0, digits);
}

}  // namespace

OwnershipClaim::OwnershipClaim(int fd, std::string db_name, std::string socket_path, bool removed_stale)
    : fd_(fd),
      db_name_(std::move(db_name)),
      socket_path_(std::move(socket_path)),
      removed_stale_socket_(removed_stale) {}

OwnershipClaim::OwnershipClaim(OwnershipClaim&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      db_name_(std::move(other.db_name_)),
      socket_path_(std::move(other.socket_path_)),
      removed_stale_socket_(other.removed_stale_socket_) {}

OwnershipClaim& OwnershipClaim::operator=(OwnershipClaim&& other) noexcept {
  if (this != &other) {
    Release();
    fd_ = std::exchange(other.fd_, -1);
    db_name_ = std::move(other.db_name_);
    socket_path_ = std::move(other.socket_path_);
    removed_stale_socket_ = other.removed_stale_socket_;
  }
  return *this;
}

OwnershipClaim::~OwnershipClaim() {
  Release();
}

void OwnershipClaim::Release() {
  if (fd_ < 0) return;
  // Remove our socket while the lock still proves it is ours: after the
  // unlock a new owner may already have bound a fresh one at the same path.
  struct stat st;
  if (::lstat(socket_path_.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) ::unlink(socket_path_.c_str());
  // Clear the pid so a later refusal never names a process that is gone;
  // failure is harmless (the next owner overwrites it).
  if (::ftruncate(fd_, 0) != 0) {
  }
  ::close(fd_);  // releases the flock
  fd_ = -1;
}

Result<std::string> AppGroup::SocketPath(std::string_view db_name) const {
  BLAZE_RETURN_IF_ERROR(ValidateDbName(db_name));
  std::string path = dir_ + "/" + std::string(kSocketDir) + "/" + std::string(db_name) + ".sock";
  if (path.size() > kMaxSocketPath) {
    return Status::InvalidArgument("the socket path '" + path + "' is " + std::to_string(path.size()) +
                                   " bytes; a Unix socket path is at most " + std::to_string(kMaxSocketPath) +
                                   " (use a group directory with a shorter path)");
  }
  return path;
}

Result<OwnershipClaim> AppGroup::ClaimOwnership(std::string_view db_name) const {
  BLAZE_ASSIGN_OR_RETURN(std::string socket_path, SocketPath(db_name));
  const std::string lock_path = dir_ + "/" + std::string(kSocketDir) + "/" + std::string(db_name) + ".lock";
  local::Fd fd(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd.valid()) return local::ErrnoStatus("cannot open the ownership lock", lock_path);
  while (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EINTR) continue;
    if (errno == EWOULDBLOCK) {
      std::string pid = ReadPid(fd.get());
      return Status::AlreadyExists(std::string(db_name) + " is already shared in group " + dir_ + " by " +
                                   (pid.empty() ? std::string("another process") : "process " + pid));
    }
    return local::ErrnoStatus("cannot lock", lock_path);
  }
  // We hold the lock, so no live process serves this database: a socket
  // file at its path was left by an owner that died. Remove it so that our
  // bind() does not fail with EADDRINUSE; leave anything that is not a
  // socket alone, since it is not ours to delete.
  bool removed_stale = false;
  struct stat st;
  if (::lstat(socket_path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return Status::FailedPrecondition("'" + socket_path +
                                        "' exists and is not a socket; BlazeDB will not remove it (move it away)");
    }
    if (::unlink(socket_path.c_str()) != 0 && errno != ENOENT) {
      return local::ErrnoStatus("cannot remove the stale socket", socket_path);
    }
    removed_stale = true;
  } else if (errno != ENOENT) {
    return local::ErrnoStatus("cannot check", socket_path);
  }
  std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd.get(), 0) != 0 ||
      ::pwrite(fd.get(), pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    return local::ErrnoStatus("cannot write the owner's pid to", lock_path);
  }
  return OwnershipClaim(fd.Release(), std::string(db_name), std::move(socket_path), removed_stale);
}

}  // namespace blaze
