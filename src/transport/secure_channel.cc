// secure_channel.cc — SecureChannel of blaze/secure_channel.h: the handshake
// (channel_handshake.h), then sealed frames (frame_cipher.h) in both
// directions. The send side is guarded by send_mu_ (Send, Close and the pong
// a Receive answers a ping with); Close only tries that lock, so it never
// waits behind a sender blocked on a peer that stopped reading, and closing
// the stream wakes that sender. The receive side belongs to the thread
// calling Receive. The first receive error is kept: the channel is then
// closed and every later Receive returns it.
#include "blaze/secure_channel.h"

#include <atomic>
#include <mutex>

#include "protocol/hello.h"
#include "protocol/message_assembler.h"
#include "transport/channel_handshake.h"
#include "transport/frame_cipher.h"
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
        sealer_(std::move(outcome.send), {options.rekey_after_frames, options.rekey_after_bytes}),
        opener_(std::move(outcome.receive)),
        assembler_(options.max_message_size),
        partial_timeout_(options.partial_message_timeout),
        peer_(std::move(outcome.peer)),
        hash_(outcome.handshake_hash) {}

  Status Send(FrameType type, uint16_t stream, std::string_view body) {
    std::lock_guard<std::mutex> lock(send_mu_);
    if (closed_) return Status::FailedPrecondition("send on a closed secure channel");
    std::string out;
    std::vector<std::string_view> pieces = protocol::SplitMessage(body, transport::kMaxSealedPiece);
    for (size_t i = 0; i < pieces.size(); ++i) {
      FrameHeader h;
      h.type = type;
      h.stream = stream;
      h.flags = i + 1 == pieces.size() ? protocol::flag::kFin : 0;
      Status s = sealer_.Seal(h, pieces[i], &out);
      if (!s.ok()) return FailSend(s);
    }
    Status s = stream_->Write(out);
    if (!s.ok()) return FailSend(s);
    frames_sent_ += pieces.size();
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
      std::string plain;
      Status s = opener_.Open(*frame, &plain);
      if (!s.ok()) return FailReceive(s);
      ++frames_received_;
      opener_rekeys_ = opener_.rekeys();
      if (frame->header.flags & protocol::flag::kCompressed) {
        return FailReceive(Status::Corruption("protocol error: compressed frame, but compression was not negotiated"));
      }
      const bool was_partial = assembler_.in_progress();
      Result<std::optional<protocol::Message>> m = assembler_.Add(frame->header, plain);
      if (!m.ok()) return FailReceive(m.status());
      if (!m->has_value()) {
        if (!was_partial) partial_since_ = std::chrono::steady_clock::now();
        if (PartialTooOld()) return FailReceive(PartialTooOldStatus());  // trickled in too slowly
        continue;
      }
      protocol::Message& msg = **m;
      switch (msg.type) {
        case FrameType::kData:
          return ChannelMessage{msg.stream, std::move(msg.body)};
        case FrameType::kPing: {
          Status pong = Send(FrameType::kPong, msg.stream, msg.body);
          if (!pong.ok()) return FailReceive(pong);
          continue;
        }
        case FrameType::kPong:
          continue;
        case FrameType::kClose:
          return FailReceive(Status::Aborted("the peer closed the secure channel"));
        case FrameType::kError: {
          Result<protocol::ErrorMessage> e = protocol::DecodeErrorMessage(msg.body);
          if (!e.ok()) return FailReceive(e.status());
          return FailReceive(Status::FailedPrecondition("the peer reported an error: " + e->code +
                                                        (e->message.empty() ? "" : ": " + e->message)));
        }
        case FrameType::kHandshake:
        case FrameType::kAccept:
          return FailReceive(Status::Corruption("protocol error: " + std::string(protocol::FrameTypeName(msg.type)) +
                                                " frame after the handshake"));
      }
      return FailReceive(Status::Internal("unhandled frame type"));
    }
  }

  void Close() {
    {
      std::unique_lock<std::mutex> lock(send_mu_, std::try_to_lock);
      if (lock.owns_lock() && !closed_) {
        std::string out;
        FrameHeader h;
        h.type = FrameType::kClose;
        if (sealer_.Seal(h, {}, &out).ok()) {
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
    return sealer_.rekeys();
  }

  // A message begun longer than partial_message_timeout ago is still unfinished.
  bool PartialTooOld() const {
    return partial_timeout_.count() > 0 && assembler_.in_progress() &&
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
    assembler_.Reset();  // a message left unfinished is not kept for the channel's lifetime
    if (receive_error_.ok()) {
      Status send_error;
      {
        std::lock_guard<std::mutex> lock(fail_mu_);
        send_error = send_error_;
      }
      // A send that failed (a peer that stopped reading: the write timed
      // out) closed the stream this read then found ended: that is the cause.
      receive_error_ = send_error.ok() ? Status(s.code(), "secure channel closed: " + s.message())
                                       : Status::Aborted("secure channel closed: sending failed: " +
                                                         send_error.ToString());
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
  transport::FrameSealer sealer_;  // guarded by send_mu_
  std::atomic<bool> closed_{false};
  std::mutex fail_mu_;
  Status send_error_;  // the first send failure (guarded by fail_mu_)
  transport::FrameOpener opener_;  // receive thread only
  protocol::MessageAssembler assembler_;       // receive thread only
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
