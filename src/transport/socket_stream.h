// socket_stream.h — the ByteStream over a connected stream socket (Unix or
// TCP) that unix_stream.cc implements: recv(2) with SO_RCVTIMEO for read
// timeouts, poll(2)-bounded writes, shutdown(2) on Close. Thread safety:
// byte_stream.h.
#ifndef BLAZE_TRANSPORT_SOCKET_STREAM_H_
#define BLAZE_TRANSPORT_SOCKET_STREAM_H_

#include <memory>

#include "blaze/byte_stream.h"

namespace blaze::transport {

// Takes ownership of the connected socket `fd`; `kind` ("Unix socket", "TCP
// socket", a literal) names it in error messages.
std::unique_ptr<ByteStream> MakeSocketStream(int fd, const char* kind);

}  // namespace blaze::transport

#endif  // BLAZE_TRANSPORT_SOCKET_STREAM_H_
