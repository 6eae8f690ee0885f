// tcp_stream.cc — the TCP streams of blaze/byte_stream.h: ConnectTcp
// (non-blocking connect bounded by poll(2)) and TcpListener, over the same
// socket stream as Unix sockets (socket_stream.h). TCP_NODELAY is set: a
// channel writes whole frames and waits for answers.
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>

#include "blaze/byte_stream.h"
#include "transport/socket_stream.h"

namespace blaze {
namespace {

constexpr const char* kTcp = "TCP socket";

Status Errno(const std::string& what) { return Status::IOError(what + ": " + std::strerror(errno)); }

int PollMillis(std::chrono::milliseconds ms) { return static_cast<int>(std::clamp<int64_t>(ms.count(), 0, INT_MAX)); }

void SetNoDelay(int fd) {
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

struct AddrInfo {
  addrinfo* list = nullptr;
  ~AddrInfo() {
    if (list != nullptr) ::freeaddrinfo(list);
  }
};

Status Resolve(const std::string& host, uint16_t port, bool passive, AddrInfo* out) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  if (passive) hints.ai_flags = AI_PASSIVE;
  const std::string service = std::to_string(port);
  int rc = ::getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints, &out->list);
  if (rc != 0) return Status::IOError("cannot resolve '" + host + "': " + ::gai_strerror(rc));
  return Status::Ok();
}

// Connects `fd` to `a` within `timeout`.
Status ConnectWithin(int fd, const addrinfo* a, std::chrono::milliseconds timeout, const std::string& where) {
  int flags = ::fcntl(fd, F_GETFL, 0);
  ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  if (::connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
    if (errno != EINPROGRESS) return Errno("connect to " + where);
    pollfd p{fd, POLLOUT, 0};
    int r;
    do {
      r = ::poll(&p, 1, PollMillis(timeout));
    } while (r < 0 && errno == EINTR);
    if (r == 0) return Status::IOError("connect to " + where + " timed out after " + std::to_string(timeout.count()) + " ms");
    int err = 0;
    socklen_t len = sizeof(err);
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (r < 0 || err != 0) {
      errno = r < 0 ? errno : err;
      return Errno("connect to " + where);
    }
  }
  ::fcntl(fd, F_SETFL, flags);
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<ByteStream>> ConnectTcp(const std::string& host, uint16_t port, std::chrono::milliseconds timeout) {
  const std::string where = host + ":" + std::to_string(port);
  AddrInfo addrs;
  BLAZE_RETURN_IF_ERROR(Resolve(host, port, false, &addrs));
  Status last = Status::IOError("no address for " + where);
  for (const addrinfo* a = addrs.list; a != nullptr; a = a->ai_next) {
    int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      last = Errno("socket");
      continue;
    }
    last = ConnectWithin(fd, a, timeout, where);
    if (last.ok()) {
      SetNoDelay(fd);
      return transport::MakeSocketStream(fd, kTcp);
    }
    ::close(fd);
  }
  return last;
}

Result<std::unique_ptr<TcpListener>> TcpListener::Listen(const std::string& host, uint16_t port) {
  const std::string where = host + ":" + std::to_string(port);
  AddrInfo addrs;
  BLAZE_RETURN_IF_ERROR(Resolve(host, port, true, &addrs));
  Status last = Status::IOError("no address for " + where);
  for (const addrinfo* a = addrs.list; a != nullptr; a = a->ai_next) {
    int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      last = Errno("socket");
      continue;
    }
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (::bind(fd, a->ai_addr, a->ai_addrlen) != 0 || ::listen(fd, SOMAXCONN) != 0) {
      last = Errno("listen on " + where);
      ::close(fd);
      continue;
    }
    sockaddr_storage bound{};
    socklen_t len = sizeof(bound);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
    uint16_t actual = bound.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
                                                  : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
    return std::unique_ptr<TcpListener>(new TcpListener(fd, actual));
  }
  return last;
}

TcpListener::~TcpListener() { ::close(fd_); }

Result<std::unique_ptr<ByteStream>> TcpListener::Accept(std::chrono::milliseconds timeout) {
  for (;;) {
    pollfd p{fd_, POLLIN, 0};
    int r = ::poll(&p, 1, PollMillis(timeout));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return Errno("poll on listening TCP socket");
    if (r == 0) {
      return Status::IOError("no TCP connection on port " + std::to_string(port_) + " within " +
                             std::to_string(timeout.count()) + " ms");
    }
    int fd = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0 && (errno == EINTR || errno == ECONNABORTED)) continue;
    if (fd < 0) return Errno("accept on TCP port " + std::to_string(port_));
    SetNoDelay(fd);
    return transport::MakeSocketStream(fd, kTcp);
  }
}

}  // namespace blaze
