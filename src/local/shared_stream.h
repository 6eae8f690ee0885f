// shared_stream.h — a ByteStream handed to a SecureChannel while its owner
// keeps a second handle to the same socket, so a session can shut the socket
// down at any stage (during the handshake, or with a sender blocked on a peer
// that stopped reading) without going through the channel and its locks.
//
// Thread safety: that of the wrapped stream; Close may be called from any
// thread, also after the channel that used it is gone.
#ifndef BLAZE_LOCAL_SHARED_STREAM_H_
#define BLAZE_LOCAL_SHARED_STREAM_H_

#include <memory>

#include "blaze/byte_stream.h"

namespace blaze::local {

class SharedStream final : public ByteStream {
 public:
  explicit SharedStream(std::shared_ptr<ByteStream> inner) : inner_(std::move(inner)) {}
  Status Write(std::string_view bytes) override { return inner_->Write(bytes); }
  void SetWriteTimeout(std::chrono::milliseconds timeout) override { inner_->SetWriteTimeout(timeout); }
  Result<size_t> Read(char* out, size_t max, std::chrono::milliseconds timeout) override {
    return inner_->Read(out, max, timeout);
  }
  void Close() override { inner_->Close(); }

 private:
  std::shared_ptr<ByteStream> inner_;
};

}  // namespace blaze::local

#endif  // BLAZE_LOCAL_SHARED_STREAM_H_
