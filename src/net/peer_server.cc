// peer_server.cc — PeerServer of peer_connection.h: a WsServer whose upgraded
// connections run the Noise responder (transport::HandshakeMachine) and then
// the sealed-frame core (FrameSender / FrameReceiver) — the same code as the
// blocking SecureChannel — driven by the pipe's events on its strand.
//
// Per connection: the receive side (handshake machine, receiver, session)
// belongs to the pipe's strand; the send side (sender) is guarded by
// send_mu_ so Send and Close work from any thread, and holding it while the
// sealed frames are queued keeps them in the order they were sealed (the
// nonces). A connection drops its session right after OnClosed.
#include <atomic>
#include <list>
#include <mutex>
#include <thread>
#include <vector>

#include "net/peer_connection.h"
#include "protocol/frame_decoder.h"
#include "protocol/hello.h"

namespace blaze::net {
namespace {

using protocol::FrameType;

// How long Close waits for what is queued (the error frame last) to be written.
constexpr std::chrono::milliseconds kCloseFlushLimit{1000};

struct Counters {
  std::atomic<uint64_t> handshakes_ok{0};
  std::atomic<uint64_t> handshakes_failed{0};
  std::atomic<uint64_t> frames_in{0};
  std::atomic<uint64_t> frames_out{0};
  std::atomic<uint64_t> bytes_in{0};
  std::atomic<uint64_t> bytes_out{0};
  std::atomic<uint64_t> send_queue_overflows{0};
};

class PeerConn;

struct Config {
  PeerServerOptions options;
  PeerHandler handler;
  Counters counters;
  std::mutex mu;
  std::list<std::weak_ptr<PeerConn>> open;  // authenticated connections (some may be gone)
  uint64_t registrations = 0;               // guarded by mu
};

class PeerConn final : public PeerConnection, public PipeEvents, public std::enable_shared_from_this<PeerConn> {
 public:
  PeerConn(std::shared_ptr<Config> config, std::shared_ptr<MessagePipe> pipe)
      : config_(std::move(config)),
        pipe_(std::move(pipe)),
        machine_(std::make_unique<transport::HandshakeMachine>(config_->options.channel, /*initiator=*/false,
                                                               nullptr, config_->options.authorize)) {}

  // On the pipe's strand, right after the upgrade.
  void Begin() {
    std::string out;
    Status s = machine_->Start(&out);  // the responder sends nothing first
    if (!s.ok()) return FailHandshake(s, out);
    pipe_->Start(shared_from_this());
  }

  // ---- PeerConnection (any thread) ----

  Status Send(uint16_t stream, std::string body) override { return SendMessage(FrameType::kData, stream, body); }

  void Close(Status why) override {
    if (why.ok()) return CloseWith(FrameType::kClose, {}, why);
    CloseWith(FrameType::kError, protocol::EncodeErrorMessage({ErrorCode(why), why.message()}), why);
  }

  void CloseWithError(std::string code, std::string message) override {
    Status why = Status::Aborted("closed with error " + code + (message.empty() ? "" : ": " + message));
    CloseWith(FrameType::kError, protocol::EncodeErrorMessage({std::move(code), std::move(message)}), why);
  }

  const PeerInfo& peer() const override { return peer_; }
  const std::array<uint8_t, 32>& handshake_hash() const override { return hash_; }
  const std::string& remote_address() const override { return pipe_->remote_address(); }
  uint64_t queued_bytes() const override { return pipe_->queued_bytes(); }

  // ---- PipeEvents (the pipe's strand) ----

  void OnMessage(std::string bytes) override {
    config_->counters.frames_in++;
    config_->counters.bytes_in += bytes.size();
    Result<protocol::Frame> frame = protocol::DecodeSingleFrame(bytes);
    if (!open_) {
      std::string out;
      Status s = frame.ok() ? machine_->OnFrame(*frame, &out) : machine_->Fail(frame.status(), &out);
      if (!s.ok()) return FailHandshake(s, out);
      if (!out.empty()) QueueRaw(out).IgnoreError();  // a failed queue closes the pipe
      if (machine_->done()) Open();
      return;
    }
    if (!frame.ok()) return pipe_->Close(Status(frame.status().code(), "secure channel closed: " + frame.status().message()));
    const bool was_partial = receiver_->in_progress();
    Result<std::optional<transport::ReceivedMessage>> m = receiver_->OnFrame(*frame);
    if (!m.ok()) return pipe_->Close(Status(m.status().code(), "secure channel closed: " + m.status().message()));
    const std::chrono::milliseconds partial_limit = config_->options.channel.partial_message_timeout;
    if (partial_limit.count() > 0 && was_partial != receiver_->in_progress()) {
      // A fragmented message began (or ended): it must be whole within the limit.
      if (receiver_->in_progress()) {
        pipe_->ArmDeadline(partial_limit, "secure channel closed: the peer left a message unfinished for more than " +
                                              std::to_string(partial_limit.count()) + " ms");
      } else {
        pipe_->DisarmDeadline();
      }
    }
    if (!m->has_value()) return;
    if (closed_by_us_) return;  // Close was called: the session hears nothing more but OnClosed
    transport::ReceivedMessage& msg = **m;
    if (msg.kind == transport::ReceivedMessage::Kind::kPing) {
      SendMessage(FrameType::kPong, msg.stream, msg.body).IgnoreError();
      return;
    }
    if (session_) session_->OnMessage(msg.stream, std::move(msg.body));
  }

  void OnClosed(const Status& why) override {
    {
      std::lock_guard<std::mutex> lock(send_mu_);
      closing_ = true;
    }
    if (!open_) {
      if (!machine_->failed()) {
        config_->counters.handshakes_failed++;
        Log("handshake with " + pipe_->remote_address() + " did not finish: " + why.ToString());
      }
      return;
    }
    if (!why.ok() && why.code() != StatusCode::kAborted) Log("connection " + pipe_->remote_address() + " closed: " + why.ToString());
    std::unique_ptr<PeerSession> session = std::move(session_);
    if (session) session->OnClosed(why);
  }

 private:
  void Open() {
    transport::HandshakeOutcome outcome = machine_->TakeOutcome();
    machine_.reset();  // an idle connection keeps no handshake state
    const ChannelOptions& c = config_->options.channel;
    peer_ = std::move(outcome.peer);
    hash_ = outcome.handshake_hash;
    receiver_.emplace(std::move(outcome.receive), c.max_message_size);
    {
      std::lock_guard<std::mutex> lock(send_mu_);
      sender_.emplace(std::move(outcome.send), transport::RekeyPolicy{c.rekey_after_frames, c.rekey_after_bytes});
    }
    open_ = true;
    config_->counters.handshakes_ok++;
    {
      std::lock_guard<std::mutex> lock(config_->mu);
      if (++config_->registrations % 1024 == 0) config_->open.remove_if([](const auto& w) { return w.expired(); });
      config_->open.push_back(weak_from_this());
    }
    pipe_->DisarmDeadline();
    session_ = config_->handler(shared_from_this());
    if (!session_) Close(Status::Ok());
  }

  void FailHandshake(const Status& s, const std::string& last_words) {
    config_->counters.handshakes_failed++;
    Log("handshake with " + pipe_->remote_address() + " failed: " + s.ToString());
    if (!last_words.empty()) QueueRaw(last_words).IgnoreError();
    pipe_->CloseAfterFlush(s, kCloseFlushLimit);
  }

  Status SendMessage(FrameType type, uint16_t stream, std::string_view body) {
    std::lock_guard<std::mutex> lock(send_mu_);
    if (closing_ || !sender_) return Status::FailedPrecondition("send on a closed connection to " + pipe_->remote_address());
    std::string out;
    Status s = sender_->SealMessage(type, stream, body, &out);
    if (!s.ok()) {
      closing_ = true;
      pipe_->Close(s);
      return s;
    }
    return QueueRaw(out);
  }

  void CloseWith(FrameType type, std::string body, const Status& why) {
    std::lock_guard<std::mutex> lock(send_mu_);
    if (closing_) return;
    closing_ = true;
    closed_by_us_ = true;
    std::string out;
    if (sender_ && sender_->SealMessage(type, 0, body, &out).ok()) QueueRaw(out).IgnoreError();
    pipe_->CloseAfterFlush(why, kCloseFlushLimit);
  }

  // Queues concatenated frames, one WebSocket message each.
  Status QueueRaw(std::string_view frames) {
    while (frames.size() >= protocol::kFrameHeaderSize) {
      const size_t size = protocol::kFrameHeaderSize + ((static_cast<size_t>(static_cast<uint8_t>(frames[5])) << 8) |
                                                        static_cast<uint8_t>(frames[6]));
      Status s = pipe_->Send(std::string(frames.substr(0, size)));
      if (!s.ok()) {
        if (s.code() == StatusCode::kBusy) config_->counters.send_queue_overflows++;
        closing_ = true;
        return s;
      }
      config_->counters.frames_out++;
      config_->counters.bytes_out += size;
      frames.remove_prefix(size);
    }
    return Status::Ok();
  }

  void Log(const std::string& what) {
    if (config_->options.log) config_->options.log(what);
  }

  std::shared_ptr<Config> config_;
  std::shared_ptr<MessagePipe> pipe_;
  // The pipe's strand only.
  std::unique_ptr<transport::HandshakeMachine> machine_;  // until the handshake succeeds
  bool open_ = false;
  std::optional<transport::FrameReceiver> receiver_;
  std::unique_ptr<PeerSession> session_;
  // Set on the strand before the handler sees the connection, then read-only.
  PeerInfo peer_;
  std::array<uint8_t, 32> hash_{};
  // Send side.
  std::mutex send_mu_;
  std::atomic<bool> closed_by_us_{false};  // Close or CloseWithError was called
  bool closing_ = false;  // guarded by send_mu_ (QueueRaw runs under it, or on the strand before Open)
  std::optional<transport::FrameSender> sender_;  // guarded by send_mu_
};

}  // namespace

std::string ErrorCode(const Status& why) {
  switch (why.code()) {
    case StatusCode::kOk:
      return "ok";
    case StatusCode::kBusy:
      return "busy";
    case StatusCode::kPermissionDenied:
      return "permission-denied";
    case StatusCode::kAborted:
      return "closed";
    case StatusCode::kInvalidArgument:
      return "invalid-argument";
    case StatusCode::kNotFound:
      return "not-found";
    case StatusCode::kCorruption:
      return "protocol-error";
    case StatusCode::kNotSupported:
      return "not-supported";
    case StatusCode::kFailedPrecondition:
      return "failed-precondition";
    default:
      return "internal-error";
  }
}

class PeerServer::Impl {
 public:
  std::shared_ptr<Config> config;
  std::unique_ptr<WsServer> server;
};

PeerServer::PeerServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PeerServer::~PeerServer() { Stop(); }

Result<std::unique_ptr<PeerServer>> PeerServer::Start(PeerServerOptions options, PeerHandler handler) {
  if (!handler) return Status::InvalidArgument("PeerServer needs a handler");
  if (!options.authorize) return Status::InvalidArgument("PeerServer needs an authorize callback (key → identity)");
  auto impl = std::make_unique<Impl>();
  impl->config = std::make_shared<Config>();
  impl->config->options = std::move(options);
  impl->config->handler = std::move(handler);
  std::shared_ptr<Config> config = impl->config;
  BLAZE_ASSIGN_OR_RETURN(impl->server,
                         WsServer::Start(config->options.server, config->options.http,
                                         [config](std::shared_ptr<MessagePipe> pipe) {
                                           auto conn = std::make_shared<PeerConn>(config, std::move(pipe));
                                           conn->Begin();
                                         }));
  return std::unique_ptr<PeerServer>(new PeerServer(std::move(impl)));
}

void PeerServer::Stop() { impl_->server->Stop(); }

void PeerServer::Shutdown(const Status& why, std::chrono::milliseconds grace) {
  impl_->server->StopAccepting();
  std::vector<std::shared_ptr<PeerConn>> live;
  {
    std::lock_guard<std::mutex> lock(impl_->config->mu);
    for (auto& w : impl_->config->open) {
      if (auto c = w.lock()) live.push_back(std::move(c));
    }
  }
  for (auto& c : live) c->Close(why);
  live.clear();
  const auto deadline = std::chrono::steady_clock::now() + grace;
  while (impl_->server->connections() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  Stop();
}
uint16_t PeerServer::port() const { return impl_->server->port(); }
std::string PeerServer::address() const { return impl_->server->address(); }
size_t PeerServer::connections() const { return impl_->server->connections(); }

PeerServerStats PeerServer::stats() const {
  const Counters& c = impl_->config->counters;
  return PeerServerStats{c.handshakes_ok.load(), c.handshakes_failed.load(), c.frames_in.load(),
                         c.frames_out.load(),    c.bytes_in.load(),          c.bytes_out.load(),
                         c.send_queue_overflows.load()};
}

}  // namespace blaze::net
