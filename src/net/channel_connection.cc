// channel_connection.cc — a Connection over a blocking SecureChannel.
#include "net/channel_connection.h"

namespace blaze::net {
namespace {

// The channel's own handle on a stream the connection also holds, so Abort
// can shut the socket down without going through the channel's locks.
class SharedByteStream final : public ByteStream {
 public:
  explicit SharedByteStream(std::shared_ptr<ByteStream> inner) : inner_(std::move(inner)) {}
  Status Write(std::string_view bytes) override { return inner_->Write(bytes); }
  void SetWriteTimeout(std::chrono::milliseconds timeout) override { inner_->SetWriteTimeout(timeout); }
  Result<size_t> Read(char* out, size_t max, std::chrono::milliseconds timeout) override {
    return inner_->Read(out, max, timeout);
  }
  void Close() override { inner_->Close(); }

 private:
  std::shared_ptr<ByteStream> inner_;
};

constexpr std::chrono::milliseconds kReceivePoll{200};

}  // namespace

Result<std::shared_ptr<ChannelConnection>> ChannelConnection::Connect(const ChannelOptions& options,
                                                                      std::unique_ptr<ByteStream> stream,
                                                                      ChannelConnectionOptions connection_options) {
  std::shared_ptr<ByteStream> raw(std::move(stream));
  BLAZE_ASSIGN_OR_RETURN(auto channel, SecureChannel::Connect(options, std::make_unique<SharedByteStream>(raw)));
  return std::shared_ptr<ChannelConnection>(new ChannelConnection(std::move(channel), raw, connection_options));
}

Result<std::shared_ptr<ChannelConnection>> ChannelConnection::Accept(const ChannelOptions& options,
                                                                     std::unique_ptr<ByteStream> stream,
                                                                     ChannelConnectionOptions connection_options) {
  std::shared_ptr<ByteStream> raw(std::move(stream));
  BLAZE_ASSIGN_OR_RETURN(auto channel, SecureChannel::Accept(options, std::make_unique<SharedByteStream>(raw)));
  return std::shared_ptr<ChannelConnection>(new ChannelConnection(std::move(channel), raw, connection_options));
}

ChannelConnection::ChannelConnection(std::unique_ptr<SecureChannel> channel, std::shared_ptr<ByteStream> raw,
                                     ChannelConnectionOptions options)
    : options_(options), channel_(std::move(channel)), raw_(std::move(raw)), peer_key_(channel_->peer().static_key) {}

ChannelConnection::~ChannelConnection() {
  Abort(Status::Aborted("connection destroyed"));
  Join();
}

void ChannelConnection::Join() {
  for (std::thread* t : {&reader_, &sender_}) {
    if (!t->joinable()) continue;
    if (t->get_id() == std::this_thread::get_id()) {
      t->detach();  // destroyed from its own callback: the thread ends on its own
    } else {
      t->join();
    }
  }
}

void ChannelConnection::Start(std::shared_ptr<ConnectionHandler> handler) {
  handler_ = std::move(handler);
  sender_ = std::thread([this] { RunSender(); });
  reader_ = std::thread([this] { RunReader(); });
}

Status ChannelConnection::Send(uint16_t stream, std::string body) {
  std::unique_lock<std::mutex> l(mu_);
  if (closing_ || aborted_) return Status::FailedPrecondition("connection is closed: " + reason_.ToString());
  if (!queue_.empty() && queued_bytes_ + body.size() > options_.max_queue_bytes) {
    l.unlock();
    Status full = Status::Busy("send queue full (" + std::to_string(options_.max_queue_bytes) +
                               " bytes queued at most): the peer is not reading");
    Abort(full);
    return full;
  }
  queued_bytes_ += body.size();
  queue_.emplace_back(stream, std::move(body));
  l.unlock();
  cv_.notify_all();
  return Status::Ok();
}

void ChannelConnection::Close(const Status& why) {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (closing_ || aborted_) return;
    closing_ = true;
    reason_ = why;
  }
  cv_.notify_all();
}

void ChannelConnection::Abort(const Status& why) {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (aborted_) return;
    aborted_ = true;
    if (!closing_) reason_ = why;
    closing_ = true;
    queue_.clear();
    queued_bytes_ = 0;
  }
  cv_.notify_all();
  // Both return at once: a blocked write or read fails.
  if (raw_) raw_->Close();
  channel_->Close();
}

void ChannelConnection::RunSender() {
  while (true) {
    std::pair<uint16_t, std::string> next;
    {
      std::unique_lock<std::mutex> l(mu_);
      cv_.wait(l, [this] { return aborted_ || closing_ || !queue_.empty(); });
      if (aborted_) break;
      if (queue_.empty()) {
        // Closing and everything sent: the close frame, then the stream.
        l.unlock();
        channel_->Close();
        break;
      }
      next = std::move(queue_.front());
      queue_.pop_front();
      queued_bytes_ -= next.second.size();
    }
    Status st = channel_->Send(next.first, next.second);
    if (!st.ok()) {
      Abort(st);
      break;
    }
  }
}

void ChannelConnection::RunReader() {
  Status why;
  while (true) {
    auto m = channel_->Receive(kReceivePoll);
    if (m.ok()) {
      handler_->OnMessage(m->stream, std::move(m->body));
      continue;
    }
    const Status& st = m.status();
    if (st.code() == StatusCode::kIOError && st.message().find("timed out") != std::string::npos) {
      std::lock_guard<std::mutex> l(mu_);
      if (!aborted_) continue;  // a quiet peer; a closing sender ends the channel itself
    }
    why = st;
    break;
  }
  {
    std::lock_guard<std::mutex> l(mu_);
    if (closing_ && !reason_.ok()) why = reason_;  // closed by us: our reason, not the channel's echo
  }
  Abort(why);
  auto handler = std::move(handler_);
  handler->OnClosed(why);
}

}  // namespace blaze::net
