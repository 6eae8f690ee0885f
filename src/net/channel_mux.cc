// channel_mux.cc — the client side of a relay connection.
#include "net/channel_mux.h"

#include "net/control.h"

namespace blaze::net {

// The connection's handler: routes streams to links and answers to Open.
class ChannelMux::Core final : public ConnectionHandler, public std::enable_shared_from_this<ChannelMux::Core> {
 public:
  explicit Core(std::shared_ptr<Connection> connection) : connection_(std::move(connection)) {}

  void OnMessage(uint16_t stream, std::string body) override {
    if (stream != kControlStream) {
      std::shared_ptr<StreamLink> link;
      {
        std::lock_guard<std::mutex> l(mu_);
        auto it = links_.find(stream);
        if (it != links_.end()) link = it->second;
      }
      if (link) link->Deliver(std::move(body));
      return;
    }
    auto m = DecodeControl(body);
    if (!m.ok()) {
      std::lock_guard<std::mutex> l(mu_);
      last_error_ = "undecodable control message from the relay: " + m.status().message();
      return;
    }
    switch (m->type) {
      case ControlMessage::Type::kOpened:
      case ControlMessage::Type::kError: {
        std::lock_guard<std::mutex> l(mu_);
        if (m->type == ControlMessage::Type::kError && m->stream == kControlStream) {
          last_error_ = m->code + ": " + m->message;
          return;
        }
        auto it = pending_.find(m->stream);
        if (it == pending_.end() || it->second.has_value()) return;
        it->second = m->type == ControlMessage::Type::kOpened ? Status::Ok() : ErrorStatus(m->code, m->message);
        cv_.notify_all();
        return;
      }
      case ControlMessage::Type::kClose: {
        std::shared_ptr<StreamLink> link;
        {
          std::lock_guard<std::mutex> l(mu_);
          auto it = links_.find(m->stream);
          if (it == links_.end()) return;
          link = it->second;
          links_.erase(it);
        }
        link->PeerClosed(Status::Aborted("the relay closed stream " + std::to_string(m->stream) + ": " + m->code +
                                         (m->message.empty() ? "" : " (" + m->message + ")")));
        return;
      }
      case ControlMessage::Type::kOpen:
        return;  // a relay never opens streams; ignored
    }
  }

  void OnClosed(const Status& why) override {
    std::map<uint16_t, std::shared_ptr<StreamLink>> links;
    {
      std::lock_guard<std::mutex> l(mu_);
      closed_ = true;
      why_ = why;
      links.swap(links_);
      for (auto& [id, answer] : pending_) {
        if (!answer) answer = Status::Aborted("connection closed: " + why.ToString());
      }
    }
    cv_.notify_all();
    for (auto& [id, link] : links) link->PeerClosed(why);
  }

  Result<std::shared_ptr<sync::Link>> Open(const std::string& database, std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> l(mu_);
    if (closed_) return Status::Aborted("connection closed: " + why_.ToString());
    uint16_t stream = 0;
    for (uint32_t tries = 0; tries < 65535; ++tries) {
      uint16_t candidate = next_stream_;
      next_stream_ = next_stream_ == 65535 ? 1 : next_stream_ + 1;
      if (!links_.count(candidate) && !pending_.count(candidate)) {
        stream = candidate;
        break;
      }
    }
    if (stream == 0) return Status::Busy("every stream of the connection is in use");
    std::weak_ptr<Core> weak = weak_from_this();
    auto link = std::make_shared<StreamLink>(connection_, stream, [weak](uint16_t id, const Status& why) {
      if (auto self = weak.lock()) self->OnLinkClosed(id, why);
    });
    // Registered before asking: the relay's first sync message may follow
    // `opened` closely; it waits in the link until the engine attaches.
    links_[stream] = link;
    pending_[stream] = std::nullopt;
    ControlMessage open{ControlMessage::Type::kOpen, stream, database, "", ""};
    Status sent = connection_->Send(kControlStream, EncodeControl(open));
    if (sent.ok()) {
      cv_.wait_for(l, timeout, [&] { return pending_[stream].has_value(); });
    }
    std::optional<Status> answer = pending_[stream];
    pending_.erase(stream);
    if (sent.ok() && answer && answer->ok()) return std::shared_ptr<sync::Link>(link);
    links_.erase(stream);
    l.unlock();
    Status why = !sent.ok() ? sent
                 : answer   ? *answer
                            : Status::Busy("no answer from the relay to opening '" + database + "' within " +
                                          std::to_string(timeout.count()) + " ms");
    link->PeerClosed(why);
    if (sent.ok() && !answer) {
      // It may still open later: make sure the relay drops it.
      ControlMessage close{ControlMessage::Type::kClose, stream, "", std::string(kCodeClosed), "open timed out"};
      connection_->Send(kControlStream, EncodeControl(close)).IgnoreError();
    }
    return why;
  }

  bool closed() const {
    std::lock_guard<std::mutex> l(mu_);
    return closed_;
  }
  Status close_reason() const {
    std::lock_guard<std::mutex> l(mu_);
    return why_;
  }
  std::string last_error() const {
    std::lock_guard<std::mutex> l(mu_);
    return last_error_;
  }

 private:
  static Status ErrorStatus(const std::string& code, const std::string& message) {
    std::string text = code + ": " + message;
    if (code == kCodeForbidden) return Status::PermissionDenied(text);
    if (code == kCodeBadRequest) return Status::InvalidArgument(text);
    if (code == kCodeTooManyStreams || code == kCodeStreamInUse) return Status::Busy(text);
    return Status::FailedPrecondition(text);
  }

  // Our engine closed a link (RemovePeer, a sync failure): tell the relay.
  void OnLinkClosed(uint16_t stream, const Status& why) {
    {
      std::lock_guard<std::mutex> l(mu_);
      if (links_.erase(stream) == 0) return;
    }
    ControlMessage close{ControlMessage::Type::kClose, stream, "", std::string(kCodeClosed), why.ToString()};
    connection_->Send(kControlStream, EncodeControl(close)).IgnoreError();
  }

  const std::shared_ptr<Connection> connection_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<uint16_t, std::shared_ptr<StreamLink>> links_;
  std::map<uint16_t, std::optional<Status>> pending_;
  uint16_t next_stream_ = 1;
  bool closed_ = false;
  Status why_;
  std::string last_error_;
};

Result<std::unique_ptr<ChannelMux>> ChannelMux::Connect(ChannelOptions options, std::unique_ptr<ByteStream> stream,
                                                        ChannelConnectionOptions connection_options) {
  options.database = std::string(kRelayChannelName);
  BLAZE_ASSIGN_OR_RETURN(auto connection, ChannelConnection::Connect(options, std::move(stream), connection_options));
  auto core = std::make_shared<Core>(connection);
  connection->Start(core);
  return std::unique_ptr<ChannelMux>(new ChannelMux(std::move(connection), std::move(core)));
}

ChannelMux::~ChannelMux() {
  connection_->Abort(Status::Aborted("client connection closed"));
  connection_->Join();
}

Result<std::shared_ptr<sync::Link>> ChannelMux::Open(const std::string& database, std::chrono::milliseconds timeout) {
  return core_->Open(database, timeout);
}
Status ChannelMux::SendRaw(uint16_t stream, std::string body) { return connection_->Send(stream, std::move(body)); }
void ChannelMux::Close(const Status& why) { connection_->Close(why); }
bool ChannelMux::closed() const { return core_->closed(); }
Status ChannelMux::close_reason() const { return core_->close_reason(); }
std::string ChannelMux::last_relay_error() const { return core_->last_error(); }

}  // namespace blaze::net
