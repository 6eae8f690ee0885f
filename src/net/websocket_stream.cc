// websocket_stream.cc — MakeWebSocketStream, WebSocketListener and
// ConnectWebSocket (blaze/net.h). The stream's shared state is a PipeEvents
// the pipe calls on its strand; Read and Write wait on its condition
// variable. Close marks the state closed before asking the pipe to close, so a
// blocked Read or Write wakes at once.
#include "net/websocket_stream.h"

#include <atomic>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>

#include "blaze/net.h"
#include "net/websocket_io.h"
#include "net/websocket_listener.h"

namespace blaze::net {
namespace {

// Unread bytes above which the pipe stops reading, and below which it resumes.
constexpr size_t kReadHighWater = size_t{1} << 20;
constexpr size_t kReadLowWater = size_t{256} << 10;

class StreamState final : public PipeEvents {
 public:
  explicit StreamState(std::weak_ptr<MessagePipe> pipe) : pipe_(std::move(pipe)) {}

  void OnMessage(std::string frame) override {
    std::lock_guard<std::mutex> lock(mu);
    inbound_bytes += frame.size();
    inbound.push_back(std::move(frame));
    if (!paused && inbound_bytes > kReadHighWater) {
      paused = true;
      if (auto p = pipe_.lock()) p->PauseReading(true);
    }
    cv.notify_all();
  }

  void OnFlushed(uint64_t total) override {
    std::lock_guard<std::mutex> lock(mu);
    flushed = total;
    cv.notify_all();
  }

  void OnClosed(const Status& why) override {
    std::lock_guard<std::mutex> lock(mu);
    if (!closed) close_status = why;
    closed = true;
    cv.notify_all();
  }

  // Called with mu held after taking bytes out.
  void MaybeResume() {
    if (paused && inbound_bytes < kReadLowWater) {
      paused = false;
      if (auto p = pipe_.lock()) p->PauseReading(false);
    }
  }

  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::string> inbound;
  size_t front_offset = 0;  // bytes of inbound.front() already read
  size_t inbound_bytes = 0;
  bool paused = false;
  bool closed = false;
  Status close_status;  // why it closed
  uint64_t flushed = 0;

 private:
  std::weak_ptr<MessagePipe> pipe_;
};

class WebSocketStream final : public ByteStream {
 public:
  explicit WebSocketStream(std::shared_ptr<MessagePipe> pipe)
      : pipe_(std::move(pipe)), state_(std::make_shared<StreamState>(pipe_)) {
    pipe_->DisarmDeadline();
    pipe_->Start(state_);
  }
  ~WebSocketStream() override { Close(); }

  Status Write(std::string_view bytes) override {
    if (broken_) {
      return Status::IOError("write to WebSocket refused: an earlier write timed out, the stream is unusable");
    }
    // Gather: a frame may arrive in pieces; split: several frames per Write.
    std::string_view rest = bytes;
    if (!partial_.empty()) {
      partial_.append(bytes);
      rest = partial_;
    }
    size_t sent = 0;
    while (rest.size() >= 7) {
      const size_t size =
          7 + ((static_cast<size_t>(static_cast<uint8_t>(rest[5])) << 8) | static_cast<uint8_t>(rest[6]));
      if (rest.size() < size) break;
      Status s = pipe_->Send(std::string(rest.substr(0, size)));
      if (!s.ok()) return Fail(Status::IOError("write to WebSocket failed: " + s.message()));
      sent += size;
      rest.remove_prefix(size);
    }
    std::string keep(rest);
    partial_ = std::move(keep);
    sent_total_ += sent;
    if (sent == 0) return Status::Ok();

    const std::chrono::milliseconds timeout{write_timeout_ms_.load()};
    std::unique_lock<std::mutex> lock(state_->mu);
    auto done = [&] { return state_->flushed >= sent_total_ || state_->closed; };
    if (timeout.count() <= 0) {
      state_->cv.wait(lock, done);
    } else if (!state_->cv.wait_for(lock, timeout, done)) {
      // Unusable now (frames of this write may be out); the caller closes it
      // (byte_stream.h) after noting why.
      broken_ = true;
      return Status::IOError("write to WebSocket timed out after " + std::to_string(timeout.count()) +
                             " ms (the peer is not reading)");
    }
    if (state_->flushed < sent_total_) {
      return Status::IOError("write to WebSocket failed: the connection is closed" +
                             (state_->close_status.ok() ? std::string() : " (" + state_->close_status.message() + ")"));
    }
    return Status::Ok();
  }

  void SetWriteTimeout(std::chrono::milliseconds timeout) override { write_timeout_ms_ = timeout.count(); }

  Result<size_t> Read(char* out, size_t max, std::chrono::milliseconds timeout) override {
    std::unique_lock<std::mutex> lock(state_->mu);
    auto ready = [&] { return !state_->inbound.empty() || state_->closed; };
    if (!state_->cv.wait_for(lock, std::max(timeout, std::chrono::milliseconds(0)), ready)) {
      return Status::IOError("read on a WebSocket timed out after " + std::to_string(timeout.count()) + " ms");
    }
    if (state_->inbound.empty()) {
      // A peer that broke the one-frame-per-message rule fails the stream;
      // any other close is the end of the stream.
      if (state_->close_status.code() == StatusCode::kCorruption) return state_->close_status;
      return size_t{0};
    }
    std::string& front = state_->inbound.front();
    const size_t n = std::min(max, front.size() - state_->front_offset);
    std::memcpy(out, front.data() + state_->front_offset, n);
    state_->front_offset += n;
    state_->inbound_bytes -= n;
    if (state_->front_offset == front.size()) {
      state_->inbound.pop_front();
      state_->front_offset = 0;
    }
    state_->MaybeResume();
    return n;
  }

  void Close() override {
    {
      std::lock_guard<std::mutex> lock(state_->mu);
      if (!state_->closed) state_->close_status = Status::Aborted("the WebSocket stream was closed locally");
      state_->closed = true;
      state_->cv.notify_all();
    }
    if (!close_requested_.exchange(true)) pipe_->Close(Status::Aborted("the WebSocket stream was closed locally"));
  }

 private:
  Status Fail(Status s) {
    Close();
    return s;
  }

  std::shared_ptr<MessagePipe> pipe_;
  std::shared_ptr<StreamState> state_;
  std::string partial_;      // writer only: an incomplete frame
  bool broken_ = false;      // writer only: a write timed out
  uint64_t sent_total_ = 0;  // writer only
  std::atomic<int64_t> write_timeout_ms_{0};
  std::atomic<bool> close_requested_{false};
};

}  // namespace

std::unique_ptr<ByteStream> MakeWebSocketStream(std::shared_ptr<MessagePipe> pipe) {
  return std::make_unique<WebSocketStream>(std::move(pipe));
}

Result<std::unique_ptr<WebSocketListener>> WebSocketListener::Listen(ServerOptions options) {
  std::unique_ptr<WebSocketListener> l(new WebSocketListener());
  l->path_ = options.sync_path;
  std::shared_ptr<Queue> queue = l->queue_;
  BLAZE_ASSIGN_OR_RETURN(l->server_, WsServer::Start(std::move(options), nullptr,
                                                     [queue](std::shared_ptr<MessagePipe> pipe) {
                                                       // The SecureChannel's own handshake timeout
                                                       // bounds what follows, from Accept on.
                                                       pipe->DisarmDeadline();
                                                       std::lock_guard<std::mutex> lock(queue->mu);
                                                       queue->pipes.push_back(std::move(pipe));
                                                       queue->cv.notify_all();
                                                     }));
  return l;
}

WebSocketListener::~WebSocketListener() {
  server_->Stop();
  std::lock_guard<std::mutex> lock(queue_->mu);
  queue_->pipes.clear();
}

Result<std::unique_ptr<ByteStream>> WebSocketListener::Accept(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(queue_->mu);
  if (!queue_->cv.wait_for(lock, timeout, [&] { return !queue_->pipes.empty(); })) {
    return Status::IOError("no WebSocket connection on " + url() + " within " + std::to_string(timeout.count()) +
                           " ms");
  }
  std::shared_ptr<MessagePipe> pipe = std::move(queue_->pipes.front());
  queue_->pipes.pop_front();
  lock.unlock();
  return MakeWebSocketStream(std::move(pipe));
}

std::string WebSocketListener::url() const { return "ws://" + server_->address() + path_; }

}  // namespace blaze::net

namespace blaze {

Result<std::unique_ptr<ByteStream>> ConnectWebSocket(const std::string& url, std::chrono::milliseconds timeout,
                                                     WebSocketRefusal* refusal) {
  BLAZE_ASSIGN_OR_RETURN(std::shared_ptr<net::MessagePipe> pipe, net::ConnectPipe(url, timeout, refusal));
  return net::MakeWebSocketStream(std::move(pipe));
}

}  // namespace blaze
