// unix_stream.cc — the Unix domain socket streams of blaze/byte_stream.h.
// Reads block in recv(2) with SO_RCVTIMEO so a timeout applies; writes use
// MSG_NOSIGNAL so a vanished peer is an error, not SIGPIPE, and, with a write
// timeout set, wait for room with poll(2) so a peer that stops reading cannot
// hold the writer past it. Close() uses shutdown(2) so it wakes a reader or
// writer blocked in another thread; the descriptor is closed by the destructor.
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>

#include "blaze/byte_stream.h"

namespace blaze {
namespace {

Status Errno(const std::string& what) { return Status::IOError(what + ": " + std::strerror(errno)); }

// poll(2) takes an int of milliseconds.
int PollMillis(std::chrono::milliseconds ms) {
  return static_cast<int>(std::clamp<int64_t>(ms.count(), 0, INT_MAX));
}

class UnixStream final : public ByteStream {
 public:
  explicit UnixStream(int fd) : fd_(fd) {}
  ~UnixStream() override { ::close(fd_); }

  Status Write(std::string_view bytes) override {
    const std::chrono::milliseconds timeout{write_timeout_ms_.load()};
    if (timeout.count() <= 0) {
      while (!bytes.empty()) {
        ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return Errno("write to Unix socket");
        bytes.remove_prefix(static_cast<size_t>(n));
      }
      return Status::Ok();
    }
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!bytes.empty()) {
      ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) {
        bytes.remove_prefix(static_cast<size_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) return Errno("write to Unix socket");
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        // Part of `bytes` may be out: the stream is unusable. The caller
        // closes it (byte_stream.h), after noting why (a secure channel then
        // reports the timeout, not the end of stream its own close causes).
        return Status::IOError("write to Unix socket timed out after " + std::to_string(timeout.count()) +
                               " ms (the peer is not reading)");
      }
      pollfd p{fd_, POLLOUT, 0};
      if (::poll(&p, 1, PollMillis(left)) < 0 && errno != EINTR) return Errno("poll on Unix socket");
    }
    return Status::Ok();
  }

  void SetWriteTimeout(std::chrono::milliseconds timeout) override { write_timeout_ms_ = timeout.count(); }

  // One recv(2) per read, blocking with the timeout set as SO_RCVTIMEO,
  // rather than poll(2) and then recv(2): a round trip over the channel makes
  // one receive per message on each side, so the poll was a third of the
  // syscalls on that path. The option is set only when the timeout differs
  // from the last one set; a channel asks for much the same one each time.
  Result<size_t> Read(char* out, size_t max, std::chrono::milliseconds timeout) override {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      int flags = 0;
      if (left.count() <= 0) {
        flags = MSG_DONTWAIT;  // a zero SO_RCVTIMEO would mean "wait for ever"
      } else if (left != receive_timeout_) {
        timeval tv{static_cast<time_t>(left.count() / 1000), static_cast<suseconds_t>(left.count() % 1000 * 1000)};
        if (::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0) return Errno("set Unix socket timeout");
        receive_timeout_ = left;
      }
      ssize_t n = ::recv(fd_, out, max, flags);
      if (n >= 0) return static_cast<size_t>(n);
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) return Errno("read from Unix socket");
      if (flags == MSG_DONTWAIT || std::chrono::steady_clock::now() >= deadline) {
        return Status::IOError("read on a Unix socket timed out after " + std::to_string(timeout.count()) + " ms");
      }
    }
  }

  void Close() override {
    if (!closed_.exchange(true)) ::shutdown(fd_, SHUT_RDWR);
  }

 private:
  int fd_;
  std::atomic<bool> closed_{false};
  std::atomic<int64_t> write_timeout_ms_{0};  // <= 0: writes wait for ever
  // The SO_RCVTIMEO in force; only the reading thread touches it.
  std::chrono::milliseconds receive_timeout_{-1};
};

Status FillAddress(const std::string& path, sockaddr_un* addr) {
  std::memset(addr, 0, sizeof(*addr));
  addr->sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(addr->sun_path)) {
    return Status::InvalidArgument("Unix socket path must be 1.." + std::to_string(sizeof(addr->sun_path) - 1) +
                                   " bytes: '" + path + "'");
  }
  std::memcpy(addr->sun_path, path.data(), path.size());
  return Status::Ok();
}

}  // namespace

Result<std::pair<std::unique_ptr<ByteStream>, std::unique_ptr<ByteStream>>> MakeUnixSocketPair() {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) return Errno("socketpair");
  return std::pair<std::unique_ptr<ByteStream>, std::unique_ptr<ByteStream>>(std::make_unique<UnixStream>(fds[0]),
                                                                             std::make_unique<UnixStream>(fds[1]));
}

Result<std::unique_ptr<ByteStream>> ConnectUnixSocket(const std::string& path) {
  sockaddr_un addr;
  BLAZE_RETURN_IF_ERROR(FillAddress(path, &addr));
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Errno("socket");
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    Status s = errno == ENOENT ? Status::NotFound("no Unix socket at '" + path + "'") : Errno("connect to '" + path + "'");
    ::close(fd);
    return s;
  }
  return std::unique_ptr<ByteStream>(std::make_unique<UnixStream>(fd));
}

Result<std::unique_ptr<UnixListener>> UnixListener::Listen(const std::string& path) {
  sockaddr_un addr;
  BLAZE_RETURN_IF_ERROR(FillAddress(path, &addr));
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Errno("socket");
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || ::listen(fd, 64) != 0) {
    Status s = Errno("listen on '" + path + "'");
    ::close(fd);
    return s;
  }
  return std::unique_ptr<UnixListener>(new UnixListener(fd, path));
}

UnixListener::~UnixListener() {
  ::close(fd_);
  ::unlink(path_.c_str());
}

Result<std::unique_ptr<ByteStream>> UnixListener::Accept(std::chrono::milliseconds timeout) {
  for (;;) {
    pollfd p{fd_, POLLIN, 0};
    int r = ::poll(&p, 1, PollMillis(timeout));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return Errno("poll on listening socket");
    if (r == 0) return Status::IOError("no connection on '" + path_ + "' within " + std::to_string(timeout.count()) + " ms");
    int fd = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0 && (errno == EINTR || errno == ECONNABORTED)) continue;
    if (fd < 0) return Errno("accept on '" + path_ + "'");
    return std::unique_ptr<ByteStream>(std::make_unique<UnixStream>(fd));
  }
}

}  // namespace blaze
