// relay_test.cc — the relay core and its clients end to end, over Unix-socket
// SecureChannels in one process: convergence, store and forward, several
// databases on one connection, refusals, access reloads, restarts.
#include <gtest/gtest.h>

#include "blaze/binary.h"
#include "net/relay_fixture.h"

namespace blaze::testing {
namespace {

using std::chrono::milliseconds;

void WriteSome(Client* c, const std::string& prefix, int n) {
  for (int i = 0; i < n; ++i) {
    ASSERT_TRUE(c->Put(prefix + std::to_string(i), {{"by", Value(prefix)}, {"n", Value(i)}}).ok());
  }
  // Everyone also edits one shared record: per-field LWW must agree.
  ASSERT_TRUE(c->Put("shared", {{"last", Value(prefix)}}).ok());
}

class RelayTest : public RelayFixture {};

TEST_F(RelayTest, TwoClientsThroughTheRelayConverge) {
  StartRelay();
  Client* a = AddClient("alice", "a.blazedb");
  Client* b = AddClient("bob", "b.blazedb");
  WriteSome(a, "a", 40);
  WriteSome(b, "b", 40);
  ASSERT_TRUE(Eventually([&] { return Converged({a, b}); }));
  EXPECT_EQ(a->Digest().records, 81u);
  EXPECT_EQ(a->Digest().vv.size(), 2u);  // the relay wrote nothing of its own
}

TEST_F(RelayTest, FourClientsWritingConcurrentlyConverge) {
  StartRelay();
  std::vector<Client*> cs;
  const char* users[] = {"alice", "bob", "carol", "dave"};
  for (int i = 0; i < 4; ++i) cs.push_back(AddClient(users[i], std::string(users[i]) + ".blazedb"));
  std::vector<std::thread> writers;
  for (int i = 0; i < 4; ++i) writers.emplace_back([&, i] { WriteSome(cs[i], users[i], 60); });
  for (auto& w : writers) w.join();
  ASSERT_TRUE(Eventually([&] { return Converged(cs); }, std::chrono::seconds(30)));
  EXPECT_EQ(cs[0]->Digest().records, 4u * 60 + 1);
  auto figures = relay_->Figures();
  ASSERT_EQ(figures.size(), 1u);
  EXPECT_EQ(figures[0].name, "bugs");
  EXPECT_EQ(figures[0].streams, 4u);
  EXPECT_EQ(figures[0].changes_received, 4u * 61);
}

TEST_F(RelayTest, AnOfflineClientCatchesUpFromItsCheckpointOnly) {
  StartRelay();
  Client* a = AddClient("alice", "a.blazedb");
  Client* c = AddClient("carol", "c.blazedb");
  WriteSome(a, "early", 30);
  ASSERT_TRUE(Eventually([&] { return Converged({a, c}); }));
  // Carol goes offline (her file stays); alice writes; the relay stores.
  c->Stop();
  WriteSome(a, "late", 25);
  auto relay_has_it = [&] {
    for (auto& f : relay_->Figures()) {
      if (f.name == "bugs" && f.changes_received >= 30 + 1 + 25 + 1) return true;
    }
    return false;
  };
  ASSERT_TRUE(Eventually(relay_has_it));
  // Alice leaves too before carol is back: only the relay holds the changes.
  a->Stop();
  Client* back = clients_.emplace_back(std::make_unique<Client>(dir_.File("c.blazedb"))).get();
  Attach(back, "carol");
  ASSERT_TRUE(Eventually([&] {
    back->engine->Tick();
    return back->Digest().records == 30 + 25 + 1;
  }));
  // What she downloaded is what she missed, not the whole history.
  auto stats = back->engine->StatsFromOutside();
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_EQ(stats[0].changes_applied, 26u);
  EXPECT_EQ(stats[0].snapshots_applied, 0u);
  // The relay's counters include the streams that closed.
  ASSERT_TRUE(Eventually([&] {
    auto f = relay_->Figures();
    return f.size() == 1 && f[0].streams == 1 && f[0].changes_received == 30 + 1 + 25 + 1 &&
           f[0].changes_forwarded >= 31 + 26;
  }));
}

TEST_F(RelayTest, OneConnectionCarriesTwoDatabases) {
  StartRelay();
  Client* a_bugs = clients_.emplace_back(std::make_unique<Client>(dir_.File("a-bugs.blazedb"))).get();
  Client* a_notes = clients_.emplace_back(std::make_unique<Client>(dir_.File("a-notes.blazedb"))).get();
  auto mux = Connect("alice");
  ASSERT_NE(mux, nullptr);
  auto bugs = mux->Open("bugs");
  auto notes = mux->Open("notes");
  ASSERT_TRUE(bugs.ok() && notes.ok());
  a_bugs->engine->AddPeer(*bugs);
  a_notes->engine->AddPeer(*notes);
  Client* b_bugs = AddClient("bob", "b-bugs.blazedb", "bugs");
  Client* b_notes = AddClient("bob", "b-notes.blazedb", "notes");
  WriteSome(a_bugs, "bug", 10);
  WriteSome(b_notes, "note", 7);
  ASSERT_TRUE(Eventually([&] { return Converged({a_bugs, b_bugs}) && Converged({a_notes, b_notes}); }));
  EXPECT_EQ(b_bugs->Digest().records, 11u);
  EXPECT_EQ(a_notes->Digest().records, 8u);
  mux.reset();  // before the clients whose engines hold its links
}

TEST_F(RelayTest, ForbiddenAndUnknownDatabasesGetTheSameAnswerAndOtherStreamsGoOn) {
  StartRelay();
  Client* b = AddClient("bob", "b.blazedb");
  Client* a = AddClient("alice", "a.blazedb");
  auto secret = b->mux->Open("secret");    // exists, bob is not listed
  auto nothing = b->mux->Open("nothing");  // not in the access file
  ASSERT_EQ(secret.status().code(), StatusCode::kPermissionDenied);
  ASSERT_EQ(nothing.status().code(), StatusCode::kPermissionDenied);
  auto strip = [](std::string m, const std::string& name) { return m.replace(m.find(name), name.size(), "X"); };
  EXPECT_EQ(strip(secret.status().message(), "secret"), strip(nothing.status().message(), "nothing"));
  auto bad = b->mux->Open("../etc/passwd");
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(std::filesystem::exists(dir_.File("data/secret.blazedb")));
  // Bob's "bugs" stream was never disturbed.
  WriteSome(b, "b", 5);
  WriteSome(a, "a", 5);
  ASSERT_TRUE(Eventually([&] { return Converged({a, b}); }));
  EXPECT_FALSE(b->mux->closed());
}

TEST_F(RelayTest, AStreamTheClientDropsAndAConnectionThatEndsLeaveNothingBehind) {
  StartRelay();
  Client* a = clients_.emplace_back(std::make_unique<Client>(dir_.File("a.blazedb"))).get();
  a->mux = Connect("alice");
  auto link = a->mux->Open("bugs");
  ASSERT_TRUE(link.ok());
  uint64_t peer = a->engine->AddPeer(*link);
  auto streams = [&] {
    auto f = relay_->Figures();
    return f.empty() ? size_t{0} : f[0].streams;
  };
  ASSERT_TRUE(Eventually([&] { return streams() == 1; }));
  a->engine->RemovePeer(peer);  // the client's engine closes the link: `close` to the relay
  ASSERT_TRUE(Eventually([&] { return streams() == 0; }));
  EXPECT_FALSE(a->mux->closed());
  EXPECT_EQ(relay_->connection_count(), 1u);
  // The same database again on the same connection, then the connection ends.
  auto again = a->mux->Open("bugs");
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  a->engine->AddPeer(*again);
  ASSERT_TRUE(Eventually([&] { return streams() == 1; }));
  a->mux.reset();
  ASSERT_TRUE(Eventually([&] { return streams() == 0 && relay_->connection_count() == 0; }));
}

TEST_F(RelayTest, UnknownKeyIsRefusedWithAnErrorAndClosed) {
  StartRelay();
  auto mux = Connect("stranger");
  ASSERT_NE(mux, nullptr);
  ASSERT_TRUE(Eventually([&] { return mux->closed(); }));
  EXPECT_NE(mux->last_relay_error().find("unknown-key"), std::string::npos) << mux->last_relay_error();
  EXPECT_EQ(relay_->connection_count(), 0u);
}

TEST_F(RelayTest, MalformedControlMessagesGetAnErrorAndOpenNothing) {
  StartRelay();
  auto mux = Connect("alice");
  ASSERT_NE(mux, nullptr);
  ASSERT_TRUE(mux->SendRaw(net::kControlStream, "not blaze binary").ok());
  ASSERT_TRUE(Eventually([&] { return mux->last_relay_error().find("bad-request") != std::string::npos; }));
  // An open naming stream 0, and one with a wrong field type.
  Value::Map open0{{"type", Value("open")}, {"stream", Value(0)}, {"database", Value("bugs")}};
  Value::Map typed{{"type", Value("open")}, {"stream", Value(1)}, {"database", Value(7)}};
  ASSERT_TRUE(mux->SendRaw(net::kControlStream, EncodeBinary(Value(open0))).ok());
  ASSERT_TRUE(mux->SendRaw(net::kControlStream, EncodeBinary(Value(typed))).ok());
  // Sync bytes on a stream that is not open are dropped.
  ASSERT_TRUE(mux->SendRaw(9, "junk").ok());
  // The connection still serves a good open afterwards, and only it opened a file.
  auto link = mux->Open("notes");
  ASSERT_TRUE(link.ok()) << link.status().ToString();
  EXPECT_FALSE(std::filesystem::exists(dir_.File("data/bugs.blazedb")));
  EXPECT_TRUE(std::filesystem::exists(dir_.File("data/notes.blazedb")));
  EXPECT_FALSE(mux->closed());
}

TEST_F(RelayTest, ReloadRemovingAUserClosesItsConnection) {
  StartRelay();
  Client* a = AddClient("alice", "a.blazedb");
  Client* b = AddClient("bob", "b.blazedb");
  // A file that does not parse is refused; the old one stays.
  WriteAccess("{\"users\": {}, \"databases\": {}, \"roles\": {}}");
  Status bad = relay_->Reload();
  EXPECT_EQ(bad.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.message().find("roles"), std::string::npos) << bad.ToString();
  EXPECT_FALSE(b->mux->closed());
  // Bob's key removed.
  WriteAccess(R"({"users": {"alice": {"keys": [")" + KeyHex("alice") +
              R"("]}}, "databases": {"bugs": {"mode": "smart", "users": ["alice"]}}})");
  ASSERT_TRUE(relay_->Reload().ok());
  ASSERT_TRUE(Eventually([&] { return b->mux->closed(); }));
  EXPECT_NE(b->mux->last_relay_error().find("access-revoked"), std::string::npos) << b->mux->last_relay_error();
  EXPECT_FALSE(a->mux->closed());
  // Alice keeps syncing with the relay; bob's writes no longer get through.
  ASSERT_TRUE(b->Put("late", {{"v", Value(1)}}).ok());
  ASSERT_TRUE(a->Put("still", {{"v", Value(1)}}).ok());
  ASSERT_TRUE(Eventually([&] {
    for (auto& f : relay_->Figures()) {
      if (f.name == "bugs" && f.streams == 1 && f.max_lag == 0 && f.changes_received == 1) return true;
    }
    return false;
  }));
  EXPECT_TRUE(a->db->Get("bugs", "late").status().IsNotFound());
  // And a new connection with bob's key is refused.
  auto again = Connect("bob");
  ASSERT_TRUE(Eventually([&] { return again->closed(); }));
}

TEST_F(RelayTest, ReloadClosesStreamsOfDatabasesNoLongerAllowed) {
  StartRelay();
  auto mux = Connect("alice");
  Client* bugs = clients_.emplace_back(std::make_unique<Client>(dir_.File("a-bugs.blazedb"))).get();
  Client* notes = clients_.emplace_back(std::make_unique<Client>(dir_.File("a-notes.blazedb"))).get();
  auto l1 = mux->Open("bugs");
  auto l2 = mux->Open("notes");
  ASSERT_TRUE(l1.ok() && l2.ok());
  bugs->engine->AddPeer(*l1);
  notes->engine->AddPeer(*l2);
  std::string access = DefaultAccess();
  access.replace(access.find(R"("notes": {"mode": "smart", "users": ["alice", "bob"]})"),
                 std::string(R"("notes": {"mode": "smart", "users": ["alice", "bob"]})").size(),
                 R"("notes": {"mode": "smart", "users": ["bob"]})");
  WriteAccess(access);
  ASSERT_TRUE(relay_->Reload().ok());
  ASSERT_TRUE(Eventually([&] {
    auto s = notes->engine->StatsFromOutside();
    return s.size() == 1 && s[0].error.find("access-revoked") != std::string::npos;
  }));
  EXPECT_FALSE(mux->closed());
  ASSERT_TRUE(bugs->Put("x", {{"v", Value(1)}}).ok());
  ASSERT_TRUE(Eventually([&] {
    auto s = bugs->engine->StatsFromOutside();
    return s.size() == 1 && s[0].live && s[0].lag == 0 && s[0].changes_sent == 1;
  }));
  mux.reset();
}

TEST_F(RelayTest, ARestartedRelayKeepsEverythingItAcknowledged) {
  StartRelay();
  Client* a = AddClient("alice", "a.blazedb");
  WriteSome(a, "a", 50);
  // Acknowledged: the client's engine holds nothing the relay has not acked.
  ASSERT_TRUE(Eventually([&] {
    auto s = a->engine->StatsFromOutside();
    return s.size() == 1 && s[0].changes_sent == 51 && s[0].lag == 0 && s[0].batches_in_flight == 0;
  }));
  a->Stop();
  relay_.reset();
  server_connections_.clear();
  StartRelay();
  Client* fresh = AddClient("bob", "fresh.blazedb");
  ASSERT_TRUE(Eventually([&] {
    fresh->engine->Tick();
    return fresh->Digest().records == 51;
  }));
  EXPECT_EQ(*fresh->db->Get("bugs", "a7"), Value(Value::Map{{"by", Value("a")}, {"n", Value(7)}}));
}

// A peer that never reads: sends fill the bounded queue, the connection
// aborts, and closing never waits on the blocked write.
TEST_F(RelayTest, AStalledPeerNeverBlocksSendOrClose) {
  auto pair = MakeUnixSocketPair();
  ASSERT_TRUE(pair.ok());
  auto [a, b] = std::move(pair).value();
  std::shared_ptr<net::ChannelConnection> server;
  auto accept = std::async(std::launch::async, [&, s = std::move(b)]() mutable {
    ChannelOptions o;
    o.identity = relay_key_;
    o.trust = &relay_trust_;
    auto conn = net::ChannelConnection::Accept(o, std::move(s));
    ASSERT_TRUE(conn.ok());
    server = *conn;  // never started: reads nothing
  });
  ChannelOptions o;
  o.identity = keys_["alice"];
  o.trust = &client_trust_;
  net::ChannelConnectionOptions small;
  small.max_queue_bytes = 1 << 20;
  auto conn = net::ChannelConnection::Connect(o, std::move(a), small);
  accept.get();
  ASSERT_TRUE(conn.ok());
  (*conn)->Start(std::make_shared<NullHandler>());
  std::string chunk(60000, 'x');
  Status st;
  for (int i = 0; i < 10000 && st.ok(); ++i) st = (*conn)->Send(1, chunk);
  EXPECT_EQ(st.code(), StatusCode::kBusy) << st.ToString();
  EXPECT_EQ((*conn)->Send(1, "more").code(), StatusCode::kFailedPrecondition);
  (*conn)->Close(Status::Aborted("test"));
  conn->reset();  // joins: returns although the peer never read
  server.reset();
}

TEST_F(RelayTest, ClosingWhileASendIsBlockedReturns) {
  auto pair = MakeUnixSocketPair();
  ASSERT_TRUE(pair.ok());
  auto [a, b] = std::move(pair).value();
  std::shared_ptr<net::ChannelConnection> server;
  auto accept = std::async(std::launch::async, [&, s = std::move(b)]() mutable {
    ChannelOptions o;
    o.identity = relay_key_;
    o.trust = &relay_trust_;
    auto conn = net::ChannelConnection::Accept(o, std::move(s));
    ASSERT_TRUE(conn.ok());
    server = *conn;
  });
  ChannelOptions o;
  o.identity = keys_["alice"];
  o.trust = &client_trust_;
  o.send_timeout = std::chrono::milliseconds(0);  // no deadline: only Abort can end the write
  auto conn = net::ChannelConnection::Connect(o, std::move(a));
  accept.get();
  ASSERT_TRUE(conn.ok());
  (*conn)->Start(std::make_shared<NullHandler>());
  // More than the socket buffers hold, under the queue limit: the sender blocks.
  std::string chunk(60000, 'x');
  for (int i = 0; i < 60; ++i) ASSERT_TRUE((*conn)->Send(1, chunk).ok());
  (*conn)->Close(Status::Aborted("closing with a blocked writer"));  // returns at once
  (*conn)->Abort(Status::Aborted("abort"));                           // ends the write
  conn->reset();
  server.reset();
}

}  // namespace
}  // namespace blaze::testing
