// raw_ws_client.h — a hand-written WebSocket client over a plain TCP socket
// for tests that must break the rules: send garbage instead of an HTTP
// upgrade, text messages, oversize messages, two frames in one message, or
// connect and send nothing. Test-only; one thread per client.
#ifndef BLAZE_TESTS_SUPPORT_RAW_WS_CLIENT_H_
#define BLAZE_TESTS_SUPPORT_RAW_WS_CLIENT_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace blaze::testing {

class RawTcpClient {
 public:
  // Connects to 127.0.0.1:port; ok() says whether it worked.
  explicit RawTcpClient(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd_ >= 0 && ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~RawTcpClient() {
    if (fd_ >= 0) ::close(fd_);
  }
  RawTcpClient(const RawTcpClient&) = delete;
  RawTcpClient& operator=(const RawTcpClient&) = delete;

  bool ok() const { return fd_ >= 0; }
  int fd() const { return fd_; }

  bool Send(std::string_view bytes) {
    while (!bytes.empty()) {
      ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // Everything the server sends until it closes or `timeout` passes.
  std::string ReadUntilClosed(std::chrono::milliseconds timeout) {
    std::string out;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return out;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char buf[4096];
      ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) {
        closed_ = true;
        return out;
      }
      out.append(buf, static_cast<size_t>(n));
    }
  }
  bool saw_close() const { return closed_; }

  // Sends a WebSocket upgrade for `path` and reads the response head.
  std::string Upgrade(const std::string& path) {
    Send("GET " + path +
         " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
    std::string head;
    char c;
    while (head.size() < 8192 && head.find("\r\n\r\n") == std::string::npos) {
      if (::recv(fd_, &c, 1, 0) != 1) break;
      head.push_back(c);
    }
    return head;
  }

  // Sends one WebSocket message as a single frame (masked with a zero key,
  // which leaves the payload as is). opcode 1 = text, 2 = binary.
  bool SendMessage(uint8_t opcode, std::string_view payload) {
    std::string f;
    f.push_back(static_cast<char>(0x80 | opcode));
    if (payload.size() < 126) {
      f.push_back(static_cast<char>(0x80 | payload.size()));
    } else if (payload.size() <= 0xFFFF) {
      f.push_back(static_cast<char>(0x80 | 126));
      f.push_back(static_cast<char>(payload.size() >> 8));
      f.push_back(static_cast<char>(payload.size() & 0xFF));
    } else {
      f.push_back(static_cast<char>(0x80 | 127));
      for (int i = 7; i >= 0; --i) f.push_back(static_cast<char>((uint64_t{payload.size()} >> (8 * i)) & 0xFF));
    }
    f.append(4, '\0');  // masking key
    f.append(payload);
    return Send(f);
  }

 private:
  int fd_ = -1;
  bool closed_ = false;
};

// A plaintext frame: header (version 1, `type`, FIN, stream 0, length) + body.
inline std::string PlainFrame(uint8_t type, std::string_view body) {
  std::string f;
  f.push_back(1);
  f.push_back(static_cast<char>(type));
  f.push_back(1);
  f.push_back(0);
  f.push_back(0);
  f.push_back(static_cast<char>(body.size() >> 8));
  f.push_back(static_cast<char>(body.size() & 0xFF));
  f.append(body);
  return f;
}

}  // namespace blaze::testing

#endif  // BLAZE_TESTS_SUPPORT_RAW_WS_CLIENT_H_
