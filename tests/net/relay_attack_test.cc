// relay_attack_test.cc — a hostile client and a careless operator against the
// relay core, over real SecureChannel connections (relay_fixture.h): writing
// under another user's replica node id (origin binding, docs/relay.md
// "Origins are bound to users"), raw sync messages (snapshot floods, made-up
// origins, fresh node ids in a loop), hostile database names, stream floods,
// and operator mistakes (corrupt replica, second relay on one directory,
// missing directory, access file deleted before SIGHUP).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "net/origin_binding.h"
#include "net/relay_fixture.h"
#include "sync/link.h"
#include "sync/messages.h"

namespace blaze::testing {
namespace {

class RelayAttackTest : public RelayFixture {
 protected:
  // The client's stream to the relay was closed with an error.
  static bool LinkFailed(Client* c, std::string* error) {
    auto s = c->engine->StatsFromOutside();
    if (s.size() != 1 || s[0].error.empty()) return false;
    *error = s[0].error;
    return true;
  }
  // Bob comes back, writes again; carol must get exactly bob's writes.
  void BobAndCarolStillSync() {
    clients_.push_back(std::make_unique<Client>(dir_.File("b.blazedb")));
    Client* b = clients_.back().get();
    Attach(b, "bob");
    ASSERT_TRUE(b->Put("bob2", {{"by", Value("bob")}}).ok());
    Client* c = AddClient("carol", "c.blazedb");
    ASSERT_TRUE(Eventually([&] { return Converged({b, c}); }));
    EXPECT_TRUE(c->db->Get("bugs", "bob2").ok());
    EXPECT_TRUE(c->db->Get("bugs", "forged").status().IsNotFound());
    std::string error;
    EXPECT_FALSE(LinkFailed(b, &error)) << error;
  }
};

// A hostile client of alice speaking the sync protocol itself on a stream
// of "bugs": what the relay answers.
class RawPeer final : public sync::LinkHandler {
 public:
  void OnMessage(std::string message) override {
    std::lock_guard<std::mutex> l(mu_);
    auto m = sync::DecodeMessage(message);
    if (m.ok()) {
      if (auto* e = std::get_if<sync::ErrorMsg>(&*m)) error_ = e->message;
      if (auto* a = std::get_if<sync::Ack>(&*m)) acked_.push_back(a->batch);
      if (std::holds_alternative<sync::Hello>(*m)) ++hellos_;
    }
  }
  void OnClosed(const Status&) override {
    std::lock_guard<std::mutex> l(mu_);
    closed_ = true;
  }
  bool closed() {
    std::lock_guard<std::mutex> l(mu_);
    return closed_;
  }
  std::string error() {
    std::lock_guard<std::mutex> l(mu_);
    return error_;
  }
  int hellos() {
    std::lock_guard<std::mutex> l(mu_);
    return hellos_;
  }
  bool acked(uint64_t batch) {
    std::lock_guard<std::mutex> l(mu_);
    return std::find(acked_.begin(), acked_.end(), batch) != acked_.end();
  }

 private:
  std::mutex mu_;
  bool closed_ = false;
  std::string error_;
  std::vector<uint64_t> acked_;
  int hellos_ = 0;
};

class RelayOriginTest : public RelayAttackTest {
 protected:
  // Bob's first change, as the relay holds it.
  store::Change BobsFirstChange() {
    Client* b = AddClient("bob", "b.blazedb");
    EXPECT_TRUE(b->Put("bob1", {{"by", Value("bob")}}).ok());
    EXPECT_TRUE(Eventually([&] {
      auto s = b->engine->StatsFromOutside();
      return s.size() == 1 && s[0].changes_sent == 1 && s[0].lag == 0 && s[0].batches_in_flight == 0;
    }));
    auto changes = DatabaseAccess::ChangesAfter(*b->db, DatabaseAccess::Node(*b->db), 0, 10);
    EXPECT_TRUE(changes.ok() && changes->size() == 1);
    b->Stop();
    return changes->at(0);
  }
  // Alice's stream of "bugs", with `messages` sent on it: the relay's error
  // (empty if it did not close the stream).
  std::string AliceSends(const std::vector<sync::Message>& messages) {
    std::shared_ptr<RawPeer> peer = AliceSendsRaw(messages);
    if (!Eventually([&] { return peer->closed(); })) return "";
    return peer->error();
  }
  std::shared_ptr<RawPeer> AliceSendsRaw(const std::vector<sync::Message>& messages) {
    executor_ = std::make_unique<sync::ThreadExecutor>();
    mux_ = Connect("alice");
    auto link = mux_->Open("bugs");
    EXPECT_TRUE(link.ok());
    link_ = *link;  // the stream lives as long as its link
    auto peer = std::make_shared<RawPeer>();
    link_->Attach(peer, executor_.get());
    for (const auto& m : messages) EXPECT_TRUE(link_->Send(sync::EncodeMessage(m)).ok());
    return peer;
  }
  // A change of bob's origin bob never wrote: his next seq.
  static store::Change Forged(store::Change c) {
    c.seq += 1;
    c.hlc.value += 1000;
    c.ops[0].id = "forged";
    c.ops[0].fields = {{"by", Value("not bob")}};
    return c;
  }
  void TearDown() override {
    link_.reset();
    mux_.reset();
    executor_.reset();
    RelayAttackTest::TearDown();
  }
  std::unique_ptr<sync::ThreadExecutor> executor_;
  std::unique_ptr<net::ChannelMux> mux_;
  std::shared_ptr<sync::Link> link_;
};

// Alice's client announces bob's node id and writes as bob: refused; had the
// relay taken it, the write would pass for bob's and use bob's next seq, so
// bob's own next change would be refused as a divergent history.
TEST_F(RelayOriginTest, AUserMayNotAnnounceAnotherUsersNode) {
  StartRelay();
  store::Change bob1 = BobsFirstChange();
  std::string error = AliceSends({sync::Hello{bob1.origin, {}, true},
                                  sync::ChangesMsg{1, {bob1, Forged(bob1)}}});
  EXPECT_NE(error.find("may not write as node id"), std::string::npos) << error;
  BobAndCarolStillSync();
}

// Alice announces a node of her own but sends a change under bob's origin.
TEST_F(RelayOriginTest, AUserMayNotSendChangesUnderAnotherUsersOrigin) {
  StartRelay();
  store::Change bob1 = BobsFirstChange();
  std::string error = AliceSends({sync::Hello{NodeId{0x1234567}, {}, true},
                                  sync::ChangesMsg{1, {Forged(bob1)}}});
  EXPECT_NE(error.find("may not write as node id"), std::string::npos) << error;
  BobAndCarolStillSync();
}

// The same as a snapshot whose vector claims bob's next seqs (it would make
// the relay take bob's later changes for ones it already holds).
TEST_F(RelayOriginTest, AUserMayNotSendASnapshotClaimingAnotherUsersSeqs) {
  StartRelay();
  store::Change bob1 = BobsFirstChange();
  sync::SnapshotChunk chunk;
  chunk.batch = 1;
  chunk.vv = {{bob1.origin, 1000}};
  std::string error = AliceSends({sync::Hello{NodeId{0x1234567}, {}, true}, chunk});
  EXPECT_NE(error.find("may not write as node id"), std::string::npos) << error;
  BobAndCarolStillSync();
}

// A snapshot that never ends: chunks of a claimed 2^20-chunk snapshot are
// buffered until the last arrives; past max_snapshot_bytes the stream is
// closed instead of the relay's memory growing without bound.
TEST_F(RelayOriginTest, ASnapshotChunkFloodIsBounded) {
  WriteAccess(DefaultAccess());
  net::RelayOptions o;
  o.data_dir = dir_.File("data");
  o.access_path = dir_.File("access.json");
  o.sync.max_snapshot_bytes = 64 << 10;
  relay_ = std::move(net::RelayCore::Open(o)).value();
  std::vector<sync::Message> flood = {sync::Hello{NodeId{0x1234567}, {}, true}};
  for (uint32_t i = 0; i < 40; ++i) {
    sync::SnapshotChunk chunk;
    chunk.batch = 1;
    chunk.index = i;
    chunk.count = sync::kMaxSnapshotChunks;
    chunk.records.push_back(store::SnapshotRecord{"bugs", "r" + std::to_string(i), std::string(4096, 'x')});
    flood.push_back(chunk);
  }
  std::string error = AliceSends(flood);
  EXPECT_NE(error.find("max_snapshot_bytes"), std::string::npos) << error;
}

// A hello naming 10 000 made-up origins (each would be kept for alice's
// stream and persisted in her checkpoint in the relay's file), then the same
// in an ack: refused.
TEST_F(RelayOriginTest, MadeUpOriginsInHelloAndAckAreRefused) {
  StartRelay();
  store::Change bob1 = BobsFirstChange();
  const NodeId alice{0x1234567};
  sync::Hello hello{alice, {}, true};
  sync::Ack ack{99, {}};
  for (uint64_t i = 1; i <= 10000; ++i) {
    hello.vv[NodeId{0x100000000 + i}] = i;
    ack.vv[NodeId{0x200000000 + i}] = i;
  }
  std::string error = AliceSends({hello});
  EXPECT_NE(error.find("origins this database does not hold"), std::string::npos) << error;
  error = AliceSends({sync::Hello{alice, {}, true}, ack});
  EXPECT_NE(error.find("origins this database does not hold"), std::string::npos) << error;
  link_.reset();
  mux_.reset();
  relay_.reset();
  server_connections_.clear();
  auto db = OpenOrDie(dir_.File("data/bugs.blazedb"));
  auto checkpoint = DatabaseAccess::LoadCheckpoint(*db, alice);
  ASSERT_TRUE(checkpoint.ok()) << checkpoint.status().ToString();
  EXPECT_LE(checkpoint->size(), 2u);
}

// A client reconnecting in a loop under a fresh node id each time: each
// hello saves a checkpoint in the relay's replica file; once the user holds
// more than 16 idle nodes, the idle ones' bindings and checkpoints are
// dropped, so the file does not grow by a row set per connection and
// compaction is not held back by peers that will never come back.
TEST_F(RelayOriginTest, CheckpointsOfFreshNodeIdsInALoopAreBounded) {
  StartRelay();
  store::Change bob1 = BobsFirstChange();
  constexpr uint64_t kConnections = 40;
  for (uint64_t i = 1; i <= kConnections; ++i) {
    auto peer = AliceSendsRaw({sync::Hello{NodeId{0x5000000 + i}, {{bob1.origin, 1}}, true}});
    ASSERT_TRUE(Eventually([&] { return peer->hellos() >= 2; }));  // ours was answered: it was handled
    link_.reset();
    mux_.reset();
  }
  relay_.reset();
  server_connections_.clear();
  auto db = OpenOrDie(dir_.File("data/bugs.blazedb"));
  size_t kept = 0;
  for (uint64_t i = 1; i <= kConnections; ++i) {
    auto checkpoint = DatabaseAccess::LoadCheckpoint(*db, NodeId{0x5000000 + i});
    ASSERT_TRUE(checkpoint.ok());
    if (!checkpoint->empty()) ++kept;
  }
  EXPECT_LE(kept, net::OriginBindings::kMaxIdleBindingsPerUser + 1);
}

// NOT FIXED (found by rattack at the hard stop): changes that arrive ahead
// of a gap are held in memory (SyncEngine held_) until the gap fills, bounded
// only by SyncOptions::max_held = 100 000 changes per engine, not by bytes
// and not per peer. On the relay one engine serves every client of a
// database, so one client sending its own origin's seqs 2.. (never 1) with
// large fields holds up to 100 000 changes of up to a message each in the
// relay's memory (here ~140 MiB from 1 100 changes; the cap allows far more),
// and uses up the held budget every other client's out-of-order changes
// need. A fix: count held bytes per peer in Session and fail the link past a
// SyncOptions bound (as max_snapshot_bytes does for snapshot chunks), and
// drop a failed peer's held changes. This test expects such a bound (the
// stream closed) and fails today.
TEST_F(RelayOriginTest, DISABLED_ChangesHeldAheadOfAGapAreBoundedInBytes) {
  StartRelay();
  store::Change bob1 = BobsFirstChange();
  const NodeId alice{0x1234567};
  auto peer = AliceSendsRaw({sync::Hello{alice, {}, true}});
  for (uint64_t i = 0; i < 1100 && !peer->closed(); ++i) {
    store::Change c = bob1;
    c.origin = alice;
    c.seq = 2 + i;  // seq 1 never comes
    c.hlc.value += i;
    c.ops[0].id = "held" + std::to_string(i);
    c.ops[0].fields = {{"blob", Value(std::string(128 << 10, 'x'))}};
    if (!link_->Send(sync::EncodeMessage(sync::ChangesMsg{i + 1, {c}})).ok()) break;
    // One batch at a time: the relay acks each (holding its change).
    ASSERT_TRUE(Eventually([&] { return peer->acked(i + 1) || peer->closed(); }));
  }
  EXPECT_TRUE(peer->closed()) << "the relay held every change ahead of the gap";
}

// Bob's own node is bob's: replaying what the relay holds (duplicates) is
// harmless and allowed, for any user.
TEST_F(RelayOriginTest, DuplicatesOfAnotherUsersChangesAreHarmless) {
  StartRelay();
  store::Change bob1 = BobsFirstChange();
  std::string error = AliceSends({sync::Hello{NodeId{0x1234567}, {}, true}, sync::ChangesMsg{1, {bob1}}});
  EXPECT_EQ(error, "");
  BobAndCarolStillSync();
}

// A user's own second replica (a fresh file) is welcome, and changes of an
// origin the relay has never seen, forwarded by their first carrier, bind
// it to that user: alice's two files sync with each other through the relay.
TEST_F(RelayAttackTest, AUsersOwnNodesAndUnseenOriginsStillSync) {
  StartRelay();
  Client* a1 = AddClient("alice", "a1.blazedb");
  Client* a2 = AddClient("alice", "a2.blazedb");
  ASSERT_TRUE(a1->Put("x", {{"by", Value("a1")}}).ok());
  ASSERT_TRUE(a2->Put("y", {{"by", Value("a2")}}).ok());
  ASSERT_TRUE(Eventually([&] { return Converged({a1, a2}); }));
  EXPECT_EQ(a1->Digest().records, 2u);
}

// Hostile names: each is refused as a bad request before the access file
// is consulted (so the answer says nothing of what exists), nothing is
// created in the data directory, and the connection goes on.
TEST_F(RelayAttackTest, DatabaseNamesThatAreNotNamesAreRefusedAndCreateNothing) {
  StartRelay();
  Client* a = AddClient("alice", "a.blazedb");
  const std::vector<std::string> names = {"..", "../secret", "a/b", "/etc/passwd", "Secret", "BUGS",
                                          std::string(65, 'a'), std::string("bu\0gs", 5), "", "-x", "bugs.db"};
  for (const auto& name : names) {
    auto r = a->mux->Open(name);
    ASSERT_FALSE(r.ok()) << name;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << name << ": " << r.status().ToString();
  }
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(dir_.File("data"))) files.push_back(e.path().filename());
  for (const auto& f : files) EXPECT_TRUE(f.rfind("bugs.blazedb", 0) == 0 || f == "relay.lock") << f;
  ASSERT_TRUE(a->Put("x", {{"by", Value("a")}}).ok());
  EXPECT_FALSE(a->mux->closed());
  auto secret = a->mux->Open("secret");  // alice may: the connection still serves
  EXPECT_TRUE(secret.ok()) << secret.status().ToString();
}

// Operator: a replica file corrupted on disk before the relay opens it.
// That database is unavailable (and says so only to users allowed to open
// it); the others are served.
TEST_F(RelayAttackTest, ACorruptReplicaFileMakesOnlyItsDatabaseUnavailable) {
  std::ofstream(dir_.File("data/bugs.blazedb"), std::ios::binary) << std::string(8192, 'x');
  StartRelay();
  auto mux = Connect("alice");
  ASSERT_NE(mux, nullptr);
  auto bugs = mux->Open("bugs");
  ASSERT_FALSE(bugs.ok());
  EXPECT_NE(bugs.status().message().find("cannot be opened on the relay now"), std::string::npos)
      << bugs.status().ToString();
  auto notes = mux->Open("notes");
  EXPECT_TRUE(notes.ok()) << notes.status().ToString();
  auto carol = Connect("carol");
  auto forbidden = carol->Open("notes");
  EXPECT_EQ(forbidden.status().code(), StatusCode::kPermissionDenied);
}

// Operator: SIGHUP after the access file was deleted. The reload fails
// naming the file, the current access list stays, connections go on.
TEST_F(RelayAttackTest, AReloadOfADeletedAccessFileKeepsTheCurrentOne) {
  StartRelay();
  Client* a = AddClient("alice", "a.blazedb");
  Client* b = AddClient("bob", "b.blazedb");
  std::filesystem::remove(dir_.File("access.json"));
  Status st = relay_->Reload();
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("access.json"), std::string::npos) << st.ToString();
  ASSERT_TRUE(a->Put("x", {{"by", Value("a")}}).ok());
  ASSERT_TRUE(Eventually([&] { return Converged({a, b}); }));
  EXPECT_TRUE(b->mux->Open("notes").ok());
}

// A client opening stream after stream: past max_streams_per_connection
// (64) each open is refused; the streams it has keep working.
TEST_F(RelayAttackTest, StreamsPastTheLimitAreRefusedAndTheOthersGoOn) {
  StartRelay();
  Client* a = AddClient("alice", "a.blazedb");
  Client* b = AddClient("bob", "b.blazedb");
  std::vector<std::shared_ptr<sync::Link>> links;
  int refused = 0;
  for (int i = 0; i < 100; ++i) {
    auto l = a->mux->Open(i % 2 ? "notes" : "secret");
    if (l.ok()) {
      links.push_back(*l);
    } else {
      ++refused;
    }
  }
  EXPECT_EQ(links.size(), 63u);  // 64 with "bugs"
  EXPECT_EQ(refused, 37);
  ASSERT_TRUE(a->Put("x", {{"by", Value("a")}}).ok());
  ASSERT_TRUE(Eventually([&] { return Converged({a, b}); }));
}

// Operator: a second relay started on the data directory of a running one
// would serve the same replica files under the same node id; it is refused.
// The directory is free again once the first relay is gone.
TEST_F(RelayAttackTest, ASecondRelayOnTheSameDataDirectoryIsRefused) {
  StartRelay();
  net::RelayOptions o;
  o.data_dir = dir_.File("data");
  o.access_path = dir_.File("access.json");
  auto second = net::RelayCore::Open(o);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kBusy) << second.status().ToString();
  EXPECT_NE(second.status().message().find("another relay is serving data directory"), std::string::npos);
  relay_.reset();
  server_connections_.clear();
  auto again = net::RelayCore::Open(o);
  EXPECT_TRUE(again.ok()) << again.status().ToString();
}

// Operator: a data directory that does not exist is refused at start.
TEST_F(RelayAttackTest, AMissingDataDirectoryIsRefused) {
  WriteAccess(DefaultAccess());
  net::RelayOptions o;
  o.data_dir = dir_.File("nowhere");
  o.access_path = dir_.File("access.json");
  auto r = net::RelayCore::Open(o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("does not exist"), std::string::npos);
}

}  // namespace
}  // namespace blaze::testing
