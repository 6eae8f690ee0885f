// A program outside the source tree using the installed BlazeDB package.
#include <blaze/database.h>
#include <blaze/json.h>
#include <blaze/secure_channel.h>

#include <cstdio>
#include <thread>

int main() {
  blaze::Options options;
  options.in_memory = true;
  auto db = blaze::Database::Open(options, "");
  if (!db.ok()) {
    std::fprintf(stderr, "open: %s\n", db.status().ToString().c_str());
    return 1;
  }
  auto doc = blaze::ParseJson(R"({"title":"hello from an installed BlazeDB","n":1})");
  auto id = (*db)->Insert("notes", *doc);
  if (!id.ok()) return 1;
  auto back = (*db)->Get("notes", *id);
  if (!back.ok() || !(*back == *doc)) return 1;
  std::printf("consumer: %s -> %s\n", id->c_str(), blaze::ToJson(*back).c_str());

  // The secure channel from the installed package: two trusted keys, a
  // handshake over an in-memory stream pair, one message.
  blaze::KeyPair a = *blaze::GenerateKeyPair(), b = *blaze::GenerateKeyPair();
  blaze::TrustStore ta, tb;
  ta.Add(b.public_key, {"server", {}});
  tb.Add(a.public_key, {"client", {}});
  blaze::ChannelOptions oa, ob;
  oa.identity = a;
  oa.trust = &ta;
  ob.identity = b;
  ob.trust = &tb;
  auto [sa, sb] = blaze::MakeMemoryStreamPair();
  blaze::Result<std::unique_ptr<blaze::SecureChannel>> client = blaze::Status::Internal("not run");
  std::thread t([&] { client = blaze::SecureChannel::Connect(oa, std::move(sa)); });
  auto server = blaze::SecureChannel::Accept(ob, std::move(sb));
  t.join();
  if (!client.ok() || !server.ok() || !(*client)->Send(1, "sealed hello").ok()) return 1;
  auto msg = (*server)->Receive(std::chrono::seconds(5));
  if (!msg.ok() || msg->body != "sealed hello") return 1;
  std::printf("consumer: secure channel with %s: %s\n", (*server)->peer().identity.name.c_str(), msg->body.c_str());
  return 0;
}
