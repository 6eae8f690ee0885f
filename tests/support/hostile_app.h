// hostile_app.h — a test client that speaks the real cross-app protocol with
// attacker-chosen contents and timing: it connects to an owner's group socket
// under any registered identity, runs the same SecureChannel handshake as
// SharedReplica (local::CrossAppChannelOptions: same prologue, versions and
// limits), and then sends whatever sync messages the test builds — a hello
// with any node id and version vector, changes with any origins, seqs, HLCs
// and ops, acks, errors, raw bytes — and receives and decodes what the owner
// sends. Nothing is sent unless the test asks (no automatic hello or acks).
//
//   auto app = HostileApp::Connect(group_dir, "bugs.blazedb", dash_key);
//   ASSERT_TRUE(app.ok());
//   (*app)->SendHello(victim_node);
//   (*app)->SendChanges(1, {HostileApp::Put(victim_node, 1, hlc, "bugs", "m1", J(...))});
//   auto m = (*app)->ReceiveUntil<sync::ErrorMsg>(5s);
//
// Every decoded message received is also kept in received() in arrival
// order, so a test can assert on everything the owner ever sent.
//
// Thread safety: one thread may send while another receives (the channel's
// rule); received() belongs to the receiving thread.
#ifndef BLAZE_TESTS_SUPPORT_HOSTILE_APP_H_
#define BLAZE_TESTS_SUPPORT_HOSTILE_APP_H_

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "blaze/app_group.h"
#include "blaze/byte_stream.h"
#include "blaze/cross_app.h"
#include "blaze/secure_channel.h"
#include "blaze/trust_store.h"
#include "local/cross_app_common.h"
#include "store/change.h"
#include "sync/messages.h"

namespace blaze::testing {

class HostileApp {
 public:
  // Connects to the owner of `db_name` in the group at `group_dir` as
  // `identity` (which should be registered in the group for the handshake to
  // succeed) and completes the handshake. Sends nothing else. `versions`,
  // when given, replaces the protocol versions offered (an older app).
  static Result<std::unique_ptr<HostileApp>> Connect(const std::string& group_dir, const std::string& db_name,
                                                     const KeyPair& identity, std::vector<uint8_t> versions = {}) {
    BLAZE_ASSIGN_OR_RETURN(AppGroup group, AppGroup::Open(group_dir));
    BLAZE_ASSIGN_OR_RETURN(std::string path, group.SocketPath(db_name));
    BLAZE_ASSIGN_OR_RETURN(auto stream, ConnectUnixSocket(path));
    std::unique_ptr<HostileApp> app(new HostileApp);
    BLAZE_ASSIGN_OR_RETURN(app->trust_, local::GroupTrustStore(group));
    auto opts = local::CrossAppChannelOptions(identity, app->trust_.get(), db_name, CrossAppOptions{});
    if (!versions.empty()) opts.versions = std::move(versions);
    BLAZE_ASSIGN_OR_RETURN(app->ch_, SecureChannel::Connect(opts, std::move(stream)));
    return app;
  }

  ~HostileApp() { Close(); }

  // --- sending ----------------------------------------------------------
  [[nodiscard]] Status Send(const sync::Message& m) { return local::SendMessage(*ch_, m); }
  // Bytes the owner decodes as a sync message (or fails to).
  [[nodiscard]] Status SendRaw(std::string_view body) { return ch_->Send(0, body); }
  [[nodiscard]] Status SendHello(NodeId node, VersionVector vv = {}) {
    return Send(sync::Hello{node, std::move(vv), false});
  }
  [[nodiscard]] Status SendChanges(uint64_t batch, std::vector<store::Change> changes) {
    return Send(sync::ChangesMsg{batch, std::move(changes)});
  }
  [[nodiscard]] Status SendAck(uint64_t batch, VersionVector vv) { return Send(sync::Ack{batch, std::move(vv)}); }
  [[nodiscard]] Status SendError(std::string message) { return Send(sync::ErrorMsg{std::move(message)}); }

  // --- building changes ---------------------------------------------------
  static store::Change Change(NodeId origin, Seq seq, Hlc hlc, std::vector<store::Op> ops) {
    store::Change c;
    c.origin = origin;
    c.seq = seq;
    c.hlc = hlc;
    c.ops = std::move(ops);
    return c;
  }
  static store::Op PutOp(std::string collection, std::string id, const Value& fields) {
    store::Op op;
    op.type = store::Op::Type::kPut;
    op.collection = std::move(collection);
    op.id = std::move(id);
    op.fields = fields.as_map();
    return op;
  }
  static store::Op UnsetOp(std::string collection, std::string id, std::vector<std::string> names) {
    store::Op op;
    op.type = store::Op::Type::kUnset;
    op.collection = std::move(collection);
    op.id = std::move(id);
    op.names = std::move(names);
    return op;
  }
  static store::Op DeleteOp(std::string collection, std::string id) {
    store::Op op;
    op.type = store::Op::Type::kDelete;
    op.collection = std::move(collection);
    op.id = std::move(id);
    return op;
  }
  // A change of one put.
  static store::Change Put(NodeId origin, Seq seq, Hlc hlc, std::string collection, std::string id,
                           const Value& fields) {
    return Change(origin, seq, hlc, {PutOp(std::move(collection), std::move(id), fields)});
  }
  // An HLC reading `ms_ago` milliseconds before now (0: now).
  static Hlc HlcAgo(int64_t ms_ago) {
    auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
    return Hlc::From(static_cast<uint64_t>(now - ms_ago), 0);
  }

  // --- receiving --------------------------------------------------------
  // The next message, decoded (kIOError on timeout, kAborted once the owner
  // closed, the decoder's error for bytes that are no sync message).
  Result<sync::Message> Receive(std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) {
    BLAZE_ASSIGN_OR_RETURN(ChannelMessage m, ch_->Receive(timeout));
    BLAZE_ASSIGN_OR_RETURN(sync::Message msg, sync::DecodeMessage(m.body));
    received_.push_back(msg);
    return msg;
  }
  // Receives until a message of type T arrives (returned); fails with the
  // receive error (timeout: kIOError, close: kAborted) if none does within
  // `timeout` overall. Everything received is in received().
  template <typename T>
  Result<T> ReceiveUntil(std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return Status::IOError("no such message from the owner in time");
      BLAZE_ASSIGN_OR_RETURN(sync::Message m, Receive(left));
      if (auto* t = std::get_if<T>(&m)) return *t;
    }
  }
  // Receives until the owner closes the link or `timeout` passes; returns
  // the status that ended it (kAborted: closed).
  Status DrainUntilClosed(std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return Status::IOError("the owner kept the link open");
      auto m = Receive(left);
      if (!m.ok() && m.status().code() != StatusCode::kIOError) return m.status();
    }
  }
  // Every message received so far, in order.
  const std::vector<sync::Message>& received() const { return received_; }
  // The ErrorMsg texts among them.
  std::vector<std::string> Errors() const {
    std::vector<std::string> out;
    for (const auto& m : received_) {
      if (auto* e = std::get_if<sync::ErrorMsg>(&m)) out.push_back(e->message);
    }
    return out;
  }

  SecureChannel& channel() { return *ch_; }
  void Close() {
    if (ch_) ch_->Close();
  }

 private:
  HostileApp() = default;
  std::unique_ptr<TrustStore> trust_;
  std::unique_ptr<SecureChannel> ch_;
  std::vector<sync::Message> received_;
};

}  // namespace blaze::testing

#endif  // BLAZE_TESTS_SUPPORT_HOSTILE_APP_H_
