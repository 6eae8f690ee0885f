// byte_stream.h — the byte-stream interface a SecureChannel runs over, and
// the streams BlazeDB provides: an in-memory pair (tests, in-process links)
// and Unix domain sockets. A WebSocket transport will implement the same
// interface.
//
// Thread safety: one thread may Write while another Reads the same stream;
// Close may be called from any thread and wakes a blocked Read or Write. Two
// threads must not Read (or Write) one stream at the same time;
// SetWriteTimeout may be called from any thread.
#ifndef BLAZE_BYTE_STREAM_H_
#define BLAZE_BYTE_STREAM_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "blaze/status.h"

namespace blaze {

class ByteStream {
 public:
  virtual ~ByteStream() = default;
  // Writes all of `bytes` (blocking, at most the write timeout). kIOError once
  // the stream is closed or broken, or when the timeout ran out (the peer
  // stopped reading): the stream is then unusable, since part of `bytes`
  // may have been written, and the caller must Close it.
  [[nodiscard]] virtual Status Write(std::string_view bytes) = 0;
  // Bounds each later Write to `timeout` (zero or less: no bound, the
  // default). Streams whose writes never wait (in-memory) ignore it.
  virtual void SetWriteTimeout(std::chrono::milliseconds timeout) { (void)timeout; }
  // Reads 1..`max` bytes into `out`, waiting at most `timeout`. Returns 0 at
  // end of stream (the peer closed), kIOError ("... timed out ...") when the
  // time runs out first.
  virtual Result<size_t> Read(char* out, size_t max, std::chrono::milliseconds timeout) = 0;
  // Closes both directions; the peer then reads end of stream. Idempotent.
  virtual void Close() = 0;
};

// Two connected in-memory streams: bytes written to one are read from the other.
std::pair<std::unique_ptr<ByteStream>, std::unique_ptr<ByteStream>> MakeMemoryStreamPair();

// Two connected Unix domain stream sockets (socketpair(2)).
Result<std::pair<std::unique_ptr<ByteStream>, std::unique_ptr<ByteStream>>> MakeUnixSocketPair();

// Connects to a Unix domain socket at `path`.
Result<std::unique_ptr<ByteStream>> ConnectUnixSocket(const std::string& path);

// A listening Unix domain socket. Accept() blocks; not thread-safe.
class UnixListener {
 public:
  // Binds and listens at `path` (which must not exist); the socket file is removed on destruction.
  static Result<std::unique_ptr<UnixListener>> Listen(const std::string& path);
  ~UnixListener();
  UnixListener(const UnixListener&) = delete;
  UnixListener& operator=(const UnixListener&) = delete;

  // Waits at most `timeout` for a connection.
  Result<std::unique_ptr<ByteStream>> Accept(std::chrono::milliseconds timeout);

 private:
  UnixListener(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  int fd_;
  std::string path_;
};

}  // namespace blaze

#endif  // BLAZE_BYTE_STREAM_H_
