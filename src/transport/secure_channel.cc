// secure_channel.cc — SecureChannel of blaze/secure_channel.h: a blocking
// driver of the sans-IO channel core (channel_core.h): the handshake
// (channel_handshake.h), then a FrameSender and a FrameReceiver over the
// stream. The send side is guarded by send_mu_ (Send, Close and the pong
// a Receive answers a ping with); Close only tries that lock, so it never
// waits behind a sender blocked on a peer that stopped reading, and closing
// the stream wakes that sender. The receive side belongs to the thread
// calling Receive. The first receive error is kept: the channel is then
// closed and every later Receive returns it.
#include "blaze/secure_channel.h"

#include <atomic>
#include <mutex>

#include "transport/channel_core.h"
#include "transport/channel_handshake.h"
#include "transport/frame_reader.h"

namespace blaze {

using protocol::FrameHeader;
using protocol::FrameType;

// How long Close waits for room for its close frame.
constexpr std::chrono::milliseconds kCloseWriteTimeout{50};

class SecureChannel::Impl {
 public:
  Impl(const ChannelOptions& options, std::unique_ptr<ByteStream> stream, std::unique_ptr<transport::FrameReader> reader,
       transport::HandshakeOutcome outcome)
      : log_(options.log),
        stream_(std::move(stream)),
        reader_(std::move(reader)),
        sender_(std::move(outcome.send), {options.rekey_after_frames, options.rekey_after_bytes}),
        receiver_(std::move(outcome.receive), options.max_message_size),
        partial_timeout_(options.partial_message_timeout),
        peer_(std::move(outcome.peer)),
        hash_(outcome.handshake_hash) {}

  Status Send(FrameType type, uint16_t stream, std::string_view body) {
    std::lock_guard<std::mutex> lock(send_mu_);
    if (closed_) return Status::FailedPrecondition("send on a closed secure channel");
    std::string out;
    size_t frames = 0;
    Status s = sender_.SealMessage(type, stream, body, &out, &frames);
    if (!s.ok()) return FailSend(s);
    s = stream_->Write(out);
    if (!s.ok()) return FailSend(s);
    frames_sent_ += frames;
    return Status::Ok();
  }

  Result<ChannelMessage> Receive(std::chrono::milliseconds timeout) {
    if (!receive_error_.ok()) return receive_error_;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      Result<protocol::Frame> frame = reader_->Read(deadline);
      if (!frame.ok()) {
        if (frame.status().code() == StatusCode::kIOError && !closed_) {
          if (PartialTooOld()) return FailReceive(PartialTooOldStatus());
          return frame.status();  // timeout: retryable
        }
        return FailReceive(frame.status());
      }
      const bool was_partial = receiver_.in_progress();
      Result<std::optional<transport::ReceivedMessage>> m = receiver_.OnFrame(*frame);
      frames_received_ = receiver_.frames();
      opener_rekeys_ = receiver_.rekeys();
      if (!m.ok()) return FailReceive(m.status());
      if (!m->has_value()) {  // an unfinished message, or a pong
        if (!was_partial) partial_since_ = std::chrono::steady_clock::now();
        if (PartialTooOld()) return FailReceive(PartialTooOldStatus());  // trickled in too slowly
        continue;
      }
      transport::ReceivedMessage& msg = **m;
      if (msg.kind == transport::ReceivedMessage::Kind::kData) return ChannelMessage{msg.stream, std::move(msg.body)};
      Status pong = Send(FrameType::kPong, msg.stream, msg.body);
      if (!pong.ok()) return FailReceive(pong);
    }
  }

  void Close() {
    {
      std::unique_lock<std::mutex> lock(send_mu_, std::try_to_lock);
      if (lock.owns_lock() && !closed_) {
        std::string out;
        if (sender_.SealMessage(FrameType::kClose, 0, {}, &out).ok()) {
          stream_->SetWriteTimeout(kCloseWriteTimeout);
          stream_->Write(out).IgnoreError();
        }
      }
      closed_ = true;  // a sender holding the lock fails on the closed stream
    }
    stream_->Close();
  }

  ChannelStats stats() const {
    return ChannelStats{frames_sent_.load(), frames_received_.load(), rekeys_sent_(), opener_rekeys_.load()};
  }

  const PeerInfo& peer() const { return peer_; }
  const std::array<uint8_t, 32>& hash() const { return hash_; }

 private:
  uint64_t rekeys_sent_() const {
    std::lock_guard<std::mutex> lock(send_mu_);
    return sender_.rekeys();
  }

  // A message begun longer than partial_message_timeout ago is still unfinished.
  bool PartialTooOld() const {
    return partial_timeout_.count() > 0 && receiver_.in_progress() &&
           std::chrono::steady_clock::now() - partial_since_ > partial_timeout_;
  }
  Status PartialTooOldStatus() const {
    return Status::Aborted("the peer left a message unfinished for more than " +
                           std::to_string(partial_timeout_.count()) + " ms");
  }

  Status FailSend(const Status& s) {
    {
      // Noted before the stream closes: the receiver, which then reads end
      // of stream, reports this as the cause (FailReceive).
      std::lock_guard<std::mutex> lock(fail_mu_);
      if (send_error_.ok()) send_error_ = s;
    }
    closed_ = true;
    stream_->Close();
    if (log_) log_("secure channel send failed: " + s.ToString());
    return s;
  }

  Status FailReceive(const Status& s) {
    receiver_.Reset();  // a message left unfinished is not kept for the channel's lifetime
    if (receive_error_.ok()) {
      Status send_error;
      {
        std::lock_guard<std::mutex> lock(fail_mu_);
        send_error = send_error_;
      }
      // A send that failed (a peer that stopped reading: the write timed
      // out) closed the stream this read then found ended: that is the cause.
      // Unless the read found the peer's error frame: the peer's reason is
      // then the cause, and the send failed because the peer had closed.
      const bool peer_said_why = s.code() == StatusCode::kFailedPrecondition;
      receive_error_ = send_error.ok() || peer_said_why
                           ? Status(s.code(), "secure channel closed: " + s.message())
                           : Status::Aborted("secure channel closed: sending failed: " + send_error.ToString());
      if (log_) log_(receive_error_.ToString());
    }
    // Not under send_mu_: a sender blocked on a peer that stopped reading
    // holds it; closing the stream is what wakes that sender.
    closed_ = true;
    stream_->Close();
    return receive_error_;
  }

  std::function<void(std::string_view)> log_;
  std::unique_ptr<ByteStream> stream_;
  std::unique_ptr<transport::FrameReader> reader_;
  mutable std::mutex send_mu_;
  transport::FrameSender sender_;  // guarded by send_mu_
  std::atomic<bool> closed_{false};
  std::mutex fail_mu_;
  Status send_error_;  // the first send failure (guarded by fail_mu_)
  transport::FrameReceiver receiver_;          // receive thread only
  std::chrono::milliseconds partial_timeout_;  // 0: none
  std::chrono::steady_clock::time_point partial_since_;  // when the unfinished message began
  Status receive_error_;
  PeerInfo peer_;
  std::array<uint8_t, 32> hash_;
  std::atomic<uint64_t> frames_sent_{0};
  std::atomic<uint64_t> frames_received_{0};
  std::atomic<uint64_t> opener_rekeys_{0};
};

namespace {

Result<std::unique_ptr<SecureChannel::Impl>> Open(const ChannelOptions& options, std::unique_ptr<ByteStream> stream,
                                                  bool initiator) {
  if (stream == nullptr) return Status::InvalidArgument("SecureChannel needs a stream");
  stream->SetWriteTimeout(options.send_timeout);
  auto reader = std::make_unique<transport::FrameReader>(stream.get());
  BLAZE_ASSIGN_OR_RETURN(transport::HandshakeOutcome outcome,
                         transport::RunHandshake(options, initiator, stream.get(), reader.get()));
  return std::make_unique<SecureChannel::Impl>(options, std::move(stream), std::move(reader), std::move(outcome));
}

}  // namespace

SecureChannel::SecureChannel(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SecureChannel::~SecureChannel() { impl_->Close(); }

Result<std::unique_ptr<SecureChannel>> SecureChannel::Connect(const ChannelOptions& options,
                                                              std::unique_ptr<ByteStream> stream) {
  BLAZE_ASSIGN_OR_RETURN(std::unique_ptr<Impl> impl, Open(options, std::move(stream), true));
  return std::unique_ptr<SecureChannel>(new SecureChannel(std::move(impl)));
}

Result<std::unique_ptr<SecureChannel>> SecureChannel::Accept(const ChannelOptions& options,
                                                             std::unique_ptr<ByteStream> stream) {
  BLAZE_ASSIGN_OR_RETURN(std::unique_ptr<Impl> impl, Open(options, std::move(stream), false));
  return std::unique_ptr<SecureChannel>(new SecureChannel(std::move(impl)));
}

const PeerInfo& SecureChannel::peer() const { return impl_->peer(); }
const std::array<uint8_t, 32>& SecureChannel::handshake_hash() const { return impl_->hash(); }
Status SecureChannel::Send(uint16_t stream, std::string_view body) { return impl_->Send(FrameType::kData, stream, body); }
Result<ChannelMessage> SecureChannel::Receive(std::chrono::milliseconds timeout) { return impl_->Receive(timeout); }
void SecureChannel::Close() { impl_->Close(); }
ChannelStats SecureChannel::stats() const { return impl_->stats(); }

}  // namespace blaze
