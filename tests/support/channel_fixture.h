// channel_fixture.h — helpers for SecureChannel tests: options with fresh
// keys that trust each other, a stream wrapper that can hold back and replay
// the bytes one side writes, one that edits the first write (a man in the
// middle of the handshake), and opening both ends at once (the initiator on
// a second thread). Test-only.
#ifndef BLAZE_TESTS_SUPPORT_CHANNEL_FIXTURE_H_
#define BLAZE_TESTS_SUPPORT_CHANNEL_FIXTURE_H_

#include <gtest/gtest.h>

#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "blaze/secure_channel.h"

namespace blaze::testing {

struct Party {
  KeyPair keys;
  TrustStore trust;
  ChannelOptions options;
};

// Two parties that trust each other, same database and versions.
inline void MakeParties(Party* client, Party* server) {
  client->keys = *GenerateKeyPair();
  server->keys = *GenerateKeyPair();
  client->trust.Add(server->keys.public_key, {"server", {"relay"}});
  server->trust.Add(client->keys.public_key, {"alice", {"reader", "writer"}});
  for (Party* p : {client, server}) {
    p->options.identity = p->keys;
    p->options.trust = &p->trust;
    p->options.database = "bugs.blazedb";
    p->options.handshake_timeout = std::chrono::milliseconds(3000);
  }
  client->options.node_name = "alice-laptop";
  server->options.node_name = "relay-1";
}

// Forwards to an inner stream; while holding, writes are captured in
// `held()` instead of being sent, so a test can alter, drop, replay or
// reorder them and send them itself with inner()->Write(...).
class TapStream final : public ByteStream {
 public:
  explicit TapStream(std::unique_ptr<ByteStream> inner) : inner_(std::move(inner)) {}
  Status Write(std::string_view bytes) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (hold_) {
      held_.emplace_back(bytes);
      return Status::Ok();
    }
    return inner_->Write(bytes);
  }
  Result<size_t> Read(char* out, size_t max, std::chrono::milliseconds timeout) override {
    return inner_->Read(out, max, timeout);
  }
  void Close() override { inner_->Close(); }

  void Hold(bool hold) {
    std::lock_guard<std::mutex> lock(mu_);
    hold_ = hold;
  }
  std::vector<std::string> TakeHeld() {
    std::lock_guard<std::mutex> lock(mu_);
    return std::move(held_);
  }
  ByteStream* inner() { return inner_.get(); }

 private:
  std::unique_ptr<ByteStream> inner_;
  std::mutex mu_;
  bool hold_ = false;
  std::vector<std::string> held_;
};

// A man in the middle: forwards to an inner stream, but hands the first
// write (the initiator's first handshake frame) to `edit` before sending it.
class EditFirstWriteStream final : public ByteStream {
 public:
  EditFirstWriteStream(std::unique_ptr<ByteStream> inner, std::function<void(std::string*)> edit)
      : inner_(std::move(inner)), edit_(std::move(edit)) {}
  Status Write(std::string_view bytes) override {
    if (!edited_) {
      edited_ = true;
      std::string copy(bytes);
      edit_(&copy);
      return inner_->Write(copy);
    }
    return inner_->Write(bytes);
  }
  Result<size_t> Read(char* out, size_t max, std::chrono::milliseconds timeout) override {
    return inner_->Read(out, max, timeout);
  }
  void Close() override { inner_->Close(); }

 private:
  std::unique_ptr<ByteStream> inner_;
  std::function<void(std::string*)> edit_;
  bool edited_ = false;  // only the writing thread touches it
};

struct OpenedPair {
  Result<std::unique_ptr<SecureChannel>> client = Status::Internal("not run");
  Result<std::unique_ptr<SecureChannel>> server = Status::Internal("not run");
};

inline OpenedPair OpenPair(const ChannelOptions& client, std::unique_ptr<ByteStream> client_stream,
                           const ChannelOptions& server, std::unique_ptr<ByteStream> server_stream) {
  OpenedPair out;
  std::thread t([&] { out.client = SecureChannel::Connect(client, std::move(client_stream)); });
  out.server = SecureChannel::Accept(server, std::move(server_stream));
  t.join();
  return out;
}

}  // namespace blaze::testing

#endif  // BLAZE_TESTS_SUPPORT_CHANNEL_FIXTURE_H_
