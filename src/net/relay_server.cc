// relay_server.cc — see relay_server.h: two thin adapters between the
// PeerServer's interface (PeerConnection, PeerSession) and the relay core's
// (Connection, ConnectionHandler).
#include "net/relay_server.h"

#include "net/control.h"

namespace blaze::net {
namespace {

class PeerAsConnection final : public Connection {
 public:
  explicit PeerAsConnection(std::shared_ptr<PeerConnection> peer) : peer_(std::move(peer)) {}
  Status Send(uint16_t stream, std::string body) override { return peer_->Send(stream, std::move(body)); }
  void Close(const Status& why) override { peer_->Close(why); }
  const PublicKey& peer_key() const override { return peer_->peer().static_key; }

 private:
  std::shared_ptr<PeerConnection> peer_;
};

class HandlerAsSession final : public PeerSession {
 public:
  explicit HandlerAsSession(std::shared_ptr<ConnectionHandler> handler) : handler_(std::move(handler)) {}
  void OnMessage(uint16_t stream, std::string body) override { handler_->OnMessage(stream, std::move(body)); }
  void OnClosed(const Status& why) override { handler_->OnClosed(why); }

 private:
  std::shared_ptr<ConnectionHandler> handler_;
};

}  // namespace

Result<std::unique_ptr<PeerServer>> ServeRelay(RelayCore* core, PeerServerOptions options) {
  if (core == nullptr) return Status::InvalidArgument("ServeRelay needs a relay core");
  options.channel.database = std::string(kRelayChannelName);
  options.authorize = [core](const PublicKey& key) -> std::optional<PeerIdentity> {
    if (!core->KnowsKey(key)) return std::nullopt;
    return PeerIdentity{PublicKeyToHex(key), {}};  // the core maps the key to its user itself
  };
  return PeerServer::Start(std::move(options), [core](std::shared_ptr<PeerConnection> peer)
                                                   -> std::unique_ptr<PeerSession> {
    Result<std::shared_ptr<ConnectionHandler>> handler = core->Accept(std::make_shared<PeerAsConnection>(peer));
    if (!handler.ok()) return nullptr;  // the core has told the peer and closed
    return std::make_unique<HandlerAsSession>(std::move(*handler));
  });
}

}  // namespace blaze::net
