// Cross-app sync against peers that misbehave (issue 9 items 3, 4, 5, 7, 8):
// evictions for collections a replica never had, apps that stop reading,
// flood the socket or send oversized messages, an impostor serving the
// database while its owner is down, and apps removed from the registry while
// connected. The hostile app (support/hostile_app.h) speaks the real protocol.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <chrono>
#include <future>
#include <mutex>
#include <thread>

#include "blaze/app_group.h"
#include "blaze/byte_stream.h"
#include "blaze/cross_app.h"
#include "blaze/json.h"
#include "blaze/secure_channel.h"
#include "blaze/trust_store.h"
#include "local/cross_app_common.h"
#include "store/replica.h"
#include "support/db_fixture.h"
#include "support/group_fixture.h"
#include "support/hostile_app.h"
#include "sync/messages.h"

namespace blaze {
namespace {

using testing::Eventually;
using testing::J;
using namespace std::chrono_literals;

constexpr const char* kPolicy = R"({ "apps": {
    "dashboard": { "collections": {
        "bugs":     { "access": "read", "where": "team == \"mobile\"" },
        "comments": { "access": "read-write" } } },
    "stats": { "collections": { "comments": { "access": "read-write" } } } } })";

class CrossAppRobustnessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    group_ = dir_.File("group");
    ASSERT_TRUE(
        testing::MakeGroup(group_, {{"bugtracker", &owner_key_}, {"dashboard", &dash_key_}, {"stats", &stats_key_}})
            .ok());
    owner_ = testing::OpenOrDie(dir_.File("bugs.blazedb"));
    policy_ = *ParseExportPolicy(kPolicy);
  }
  void Share(CrossAppOptions options = {}) {
    auto s = EnableCrossAppSync(*owner_, group_, owner_key_, policy_, options);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    share_ = std::move(s).value();
  }
  std::unique_ptr<SharedReplica> Connect(const KeyPair& key, const std::string& file, CrossAppOptions options = {}) {
    auto r = ConnectToSharedDB(group_, "bugs.blazedb", key, dir_.File(file), options);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? std::move(r).value() : nullptr;
  }
  // A raw connection to the owner's socket (before any handshake).
  std::unique_ptr<ByteStream> RawStream() {
    auto path = AppGroup::Open(group_)->SocketPath("bugs.blazedb");
    EXPECT_TRUE(path.ok());
    auto s = ConnectUnixSocket(*path);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(s).value() : nullptr;
  }
  // The hostile app: a registered app speaking the real protocol by hand.
  std::unique_ptr<testing::HostileApp> Hostile(const KeyPair& key) {
    auto app = testing::HostileApp::Connect(group_, "bugs.blazedb", key);
    EXPECT_TRUE(app.ok()) << app.status().ToString();
    return app.ok() ? std::move(app).value() : nullptr;
  }
  bool LiveConnections(size_t n) {
    size_t live = 0;
    for (const auto& c : share_->Connections()) live += c.live ? 1 : 0;
    return live == n;
  }

  testing::TempDir dir_;
  std::string group_;
  KeyPair owner_key_, dash_key_, stats_key_;
  std::unique_ptr<Database> owner_;
  ExportPolicy policy_;
  std::unique_ptr<CrossAppShare> share_;
};

// --- item 3: evictions for a collection the replica has no table for -------

TEST_F(CrossAppRobustnessTest, AFreshReaderOfRowsAllOutsideItsWhereCatchesUpAndRestarts) {
  ASSERT_TRUE(owner_->Put("bugs", "w1", J(R"({"title":"css","team":"web"})")).ok());
  Share();
  for (int run = 0; run < 2; ++run) {  // the second run is the restart
    auto dash = Connect(dash_key_, "dash.blazedb");
    ASSERT_TRUE(dash->WaitForCatchUp(10s).ok()) << dash->status().last_error;
    EXPECT_EQ(*dash->db().Count("bugs"), 0);
    EXPECT_TRUE(dash->status().connected);
  }
}

TEST_F(CrossAppRobustnessTest, ALiveReaderSurvivesAnEvictionForACollectionItNeverHad) {
  ASSERT_TRUE(owner_->Put("comments", "c1", J(R"({"text":"seen"})")).ok());
  Share();
  auto dash = Connect(dash_key_, "dash.blazedb");
  ASSERT_TRUE(dash->WaitForCatchUp(10s).ok());
  // Another app's one allowed write could do the same; here the owner writes
  // a row outside the reader's where: the reader is sent its eviction.
  ASSERT_TRUE(owner_->Put("bugs", "w2", J(R"({"title":"x","team":"web"})")).ok());
  ASSERT_TRUE(owner_->Put("comments", "c2", J(R"({"text":"after"})")).ok());
  EXPECT_TRUE(Eventually([&] { return dash->db().Get("comments", "c2").ok(); }));
  EXPECT_TRUE(dash->status().connected);
  EXPECT_EQ(dash->status().connects, 1u);
}

TEST(ReplicaEvictionTest, AnEvictionForAnUnknownCollectionIsANoOp) {
  testing::TempDir dir;
  auto db = testing::OpenOrDie(dir.File("r.blazedb"));
  store::Snapshot snap;
  snap.evictions.emplace_back("never", "x");
  auto applied = DatabaseAccess::ApplySnapshot(*db, snap, 60000);
  ASSERT_TRUE(applied.ok()) << applied.status().ToString();
  auto states = DatabaseAccess::ReadStates(*db, {{"never", "x"}});
  ASSERT_TRUE(states.ok());
  EXPECT_TRUE(states->empty());
}

// --- item 4: an app that stops reading ----------------------------------

// The hostile app says hello, then never reads while the owner streams it a
// large batch (its sender blocks on the full socket), then sends an error so
// the owner closes its session. Other apps still connect and sync, and
// stopping the owner returns.
TEST_F(CrossAppRobustnessTest, AnAppThatStopsReadingFreezesNeitherAcceptingNorStop) {
  const std::string text(20000, 'x');
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(owner_->Put("comments", "c" + std::to_string(i), Value(Value::Map{{"text", Value(text)}})).ok());
  }
  Share();
  auto hostile = Hostile(stats_key_);
  ASSERT_NE(hostile, nullptr);
  ASSERT_TRUE(hostile->SendHello(NodeId{0x5eed0001}).ok());
  // The owner has started sending the 2 MB batch nobody reads.
  ASSERT_TRUE(Eventually([&] {
    for (const auto& c : share_->Connections()) {
      if (c.app == "stats" && c.records_sent > 0) return true;
    }
    return false;
  }));
  ASSERT_TRUE(hostile->SendError("bye").ok());
  auto dash = Connect(dash_key_, "dash.blazedb");
  ASSERT_TRUE(dash->WaitForCatchUp(20s).ok()) << dash->status().last_error;
  EXPECT_EQ(*dash->db().Count("comments"), 100);
  dash.reset();
  auto stopping = std::async(std::launch::async, [&] { share_.reset(); });
  EXPECT_EQ(stopping.wait_for(20s), std::future_status::ready) << "Stop() waits for an app that does not read";
  stopping.wait();
}

// An app that stops reading is closed for the write that timed out, and the
// owner says so (not "the peer closed the connection", which its own close
// makes the receiving side read).
TEST_F(CrossAppRobustnessTest, AReaderClosedForAWriteTimeoutIsClosedForThatReason) {
  const std::string text(20000, 'x');
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(owner_->Put("comments", "c" + std::to_string(i), Value(Value::Map{{"text", Value(text)}})).ok());
  }
  CrossAppOptions options;
  options.send_timeout = 300ms;
  std::vector<std::string> log;
  std::mutex log_mu;
  options.log = [&](const std::string& line) {
    std::lock_guard<std::mutex> l(log_mu);
    log.push_back(line);
  };
  Share(options);
  auto hostile = Hostile(stats_key_);
  ASSERT_NE(hostile, nullptr);
  ASSERT_TRUE(hostile->SendHello(NodeId{0x5eed0002}).ok());  // then never reads
  std::string why;
  ASSERT_TRUE(Eventually([&] {
    for (const auto& c : share_->Connections()) {
      if (c.app == "stats" && !c.live && !c.error.empty()) why = c.error;
    }
    return !why.empty();
  }, 20s));
  EXPECT_NE(why.find("write to Unix socket timed out"), std::string::npos) << why;
  // The log line is written as the session ends, which may be just after
  // Connections() shows the reason (seen under ASan): wait for it too.
  EXPECT_TRUE(Eventually([&] {
    std::lock_guard<std::mutex> l(log_mu);
    for (const auto& line : log) {
      if (line.find("connection of 'stats' closed") != std::string::npos &&
          line.find("write to Unix socket timed out") != std::string::npos) {
        return true;
      }
    }
    return false;
  }, 20s));
}

// --- item 5: an impostor serving the database while the owner is down ----

TEST_F(CrossAppRobustnessTest, AnotherAppServingTheDatabaseIsRefusedByItsReaders) {
  ASSERT_TRUE(owner_->Put("comments", "c1", J(R"({"text":"real"})")).ok());
  Share();
  auto dash = Connect(dash_key_, "dash.blazedb");
  ASSERT_TRUE(dash->WaitForCatchUp(10s).ok());
  share_.reset();  // the real owner goes away
  // "stats", registered in the group, serves a database of the same name.
  auto fake = testing::OpenOrDie(dir_.File("fake.blazedb"));
  ASSERT_TRUE(fake->Put("comments", "planted", J(R"({"text":"from the impostor"})")).ok());
  CrossAppOptions as_bugs;
  as_bugs.db_name = "bugs.blazedb";
  auto wide = *ParseExportPolicy(R"({"apps": {"*": {"collections": {"comments": {"access": "read-write"},
                                                                     "bugs": {"access": "read-write"}}}}})");
  auto impostor = EnableCrossAppSync(*fake, group_, stats_key_, wide, as_bugs);
  ASSERT_TRUE(impostor.ok()) << impostor.status().ToString();
  // The reader that knew the real owner refuses it (and keeps retrying).
  ASSERT_TRUE(Eventually([&] { return dash->status().last_error.find("pinned") != std::string::npos; }))
      << dash->status().last_error;
  ASSERT_TRUE(dash->db().Put("comments", "mine", J(R"({"text":"for the real owner"})")).ok());
  // A reader told the owner by name refuses it from the first connection.
  CrossAppOptions must_be_bugtracker;
  must_be_bugtracker.owner = "bugtracker";
  auto fresh = Connect(dash_key_, "fresh.blazedb", must_be_bugtracker);
  ASSERT_TRUE(Eventually([&] { return fresh->status().last_error.find("bugtracker") != std::string::npos; }))
      << fresh->status().last_error;
  EXPECT_EQ(dash->status().connects, 1u);
  EXPECT_EQ(fresh->status().connects, 0u);
  EXPECT_TRUE(dash->db().Get("comments", "planted").status().IsNotFound());
  EXPECT_TRUE(fresh->db().Get("comments", "planted").status().IsNotFound());
  EXPECT_TRUE(fake->Get("comments", "mine").status().IsNotFound());
  EXPECT_TRUE((*impostor)->Connections().empty() || !(*impostor)->Connections()[0].live);
  impostor->reset();
  // The real owner comes back: the pinned reader resumes.
  Share();
  ASSERT_TRUE(dash->WaitForCatchUp(10s).ok()) << dash->status().last_error;
  EXPECT_TRUE(Eventually([&] { return owner_->Get("comments", "mine").ok(); }));
  // An unknown --owner is refused up front.
  CrossAppOptions nobody;
  nobody.owner = "nobody";
  EXPECT_TRUE(ConnectToSharedDB(group_, "bugs.blazedb", dash_key_, dir_.File("x.blazedb"), nobody)
                  .status()
                  .IsNotFound());
}

// --- item 7: resource limits ----------------------------------------------

TEST_F(CrossAppRobustnessTest, StalledHandshakesAndOneAppsConnectionsCannotTakeEveryonesSlots) {
  ASSERT_TRUE(owner_->Put("comments", "c1", J(R"({"text":"seen"})")).ok());
  CrossAppOptions o;
  o.max_handshakes = 2;
  o.max_connections_per_app = 2;
  o.handshake_timeout = 500ms;
  Share(o);
  // Ten sockets that never say anything: beyond two, closed at once.
  std::vector<std::unique_ptr<ByteStream>> silent;
  for (int i = 0; i < 10; ++i) silent.push_back(RawStream());
  size_t ended = 0;
  for (auto& s : silent) {
    // The handshake deadline ends the two admitted (after a plaintext
    // "handshake-failed"); the others are closed at once.
    char buf[256];
    Result<size_t> r = size_t{1};
    while (r.ok() && *r > 0) r = s->Read(buf, sizeof(buf), 5s);
    if (r.ok()) ++ended;
  }
  EXPECT_EQ(ended, 10u);
  // One app's connections are capped; others still get in.
  auto h1 = Hostile(stats_key_);
  auto h2 = Hostile(stats_key_);
  ASSERT_NE(h1, nullptr);
  ASSERT_NE(h2, nullptr);
  auto h3 = Hostile(stats_key_);
  ASSERT_NE(h3, nullptr);
  auto refused = h3->ReceiveUntil<sync::ErrorMsg>(5s);
  ASSERT_TRUE(refused.ok()) << refused.status().ToString();
  EXPECT_NE(refused->message.find("max_connections_per_app"), std::string::npos) << refused->message;
  EXPECT_NE(h3->DrainUntilClosed(5s).code(), StatusCode::kIOError);  // and the owner closed it
  auto dash = Connect(dash_key_, "dash.blazedb");
  ASSERT_TRUE(dash->WaitForCatchUp(10s).ok()) << dash->status().last_error;
}

TEST_F(CrossAppRobustnessTest, AnOversizedMessageClosesOnlyItsConnection) {
  CrossAppOptions o;
  o.max_message_size = 64 << 10;
  Share(o);
  auto hostile = Hostile(stats_key_);
  ASSERT_NE(hostile, nullptr);
  // The owner stops reading it at 64 KiB and closes, so the send may fail.
  hostile->SendRaw(std::string(256 << 10, 'x')).IgnoreError();
  ASSERT_TRUE(Eventually([&] {
    for (const auto& c : share_->Connections()) {
      if (c.app == "stats" && c.error.find("larger than the maximum") != std::string::npos) return true;
    }
    return false;
  }));
  auto dash = Connect(dash_key_, "dash.blazedb", o);
  ASSERT_TRUE(dash->WaitForCatchUp(10s).ok()) << dash->status().last_error;
}

// Every batch the owner sends fits the message limit: state batches, and the
// correction it sends after refusing a change that touched large records.
TEST_F(CrossAppRobustnessTest, EveryBatchTheOwnerSendsFitsTheMessageLimit) {
  const std::string text(40000, 'z');
  for (const char* id : {"c1", "c2", "c3"}) {
    ASSERT_TRUE(owner_->Put("comments", id, Value(Value::Map{{"text", Value(text)}})).ok());
  }
  CrossAppOptions o;
  o.max_message_size = 64 << 10;
  Share(o);
  auto hostile = Hostile(stats_key_);
  ASSERT_NE(hostile, nullptr);
  const NodeId node{0x5eed0003};
  ASSERT_TRUE(hostile->SendHello(node).ok());
  // One change touching the three large records and a collection stats may
  // not write: refused whole, answered with the states of what it touched.
  using H = testing::HostileApp;
  ASSERT_TRUE(hostile
                  ->SendChanges(1, {H::Change(node, 1, H::HlcAgo(0),
                                              {H::PutOp("comments", "c1", J(R"({"n":1})")),
                                               H::PutOp("comments", "c2", J(R"({"n":2})")),
                                               H::PutOp("comments", "c3", J(R"({"n":3})")),
                                               H::PutOp("bugs", "b1", J(R"({"n":4})"))})})
                  .ok());
  ASSERT_TRUE(hostile->ReceiveUntil<sync::ErrorMsg>(5s).ok());
  // Collect what follows the refusal (the correction) for a while.
  while (hostile->Receive(300ms).ok()) {
  }
  size_t chunks = 0, after_error = 0;
  bool seen_error = false;
  for (const auto& m : hostile->received()) {
    if (std::holds_alternative<sync::ErrorMsg>(m)) seen_error = true;
    if (!std::holds_alternative<sync::SnapshotChunk>(m)) continue;
    ++chunks;
    after_error += seen_error ? 1 : 0;
    EXPECT_LE(sync::EncodeMessage(m).size(), o.max_message_size);
  }
  EXPECT_GE(chunks, 3u);       // the first batch, split
  EXPECT_GE(after_error, 2u);  // the correction, split
}

TEST_F(CrossAppRobustnessTest, TooManyChangesInOneMessageAreRefusedAndNotStored) {
  CrossAppOptions o;
  o.max_changes_per_message = 1000;
  Share(o);
  auto hostile = Hostile(stats_key_);
  ASSERT_NE(hostile, nullptr);
  const NodeId node{0x5eed0002};
  ASSERT_TRUE(hostile->SendHello(node).ok());
  std::vector<store::Change> empty;
  for (Seq seq = 1; seq <= 5000; ++seq) empty.push_back(testing::HostileApp::Change(node, seq, Hlc{seq}, {}));
  ASSERT_TRUE(hostile->SendChanges(1, std::move(empty)).ok());
  auto refused = hostile->ReceiveUntil<sync::ErrorMsg>(5s);
  ASSERT_TRUE(refused.ok()) << refused.status().ToString();
  EXPECT_NE(refused->message.find("max_changes_per_message"), std::string::npos) << refused->message;
  EXPECT_NE(hostile->DrainUntilClosed(5s).code(), StatusCode::kIOError);
  auto vv = DatabaseAccess::GetVersionVector(*owner_);
  ASSERT_TRUE(vv.ok());
  EXPECT_EQ(SeqOf(*vv, node), 0u) << "the oversized changes message was stored";
}

// --- item 8 ----------------------------------------------------------------

TEST_F(CrossAppRobustnessTest, DatabaseAndReplicaFilesAreCreatedOwnerOnly) {
  ::umask(022);
  ASSERT_TRUE(owner_->Put("comments", "c1", J(R"({"text":"seen"})")).ok());
  Share();
  auto dash = Connect(dash_key_, "dash.blazedb");
  ASSERT_TRUE(dash->WaitForCatchUp(10s).ok());
  for (const char* name : {"bugs.blazedb", "bugs.blazedb-wal", "bugs.blazedb-shm", "dash.blazedb",
                           "dash.blazedb-wal", "dash.blazedb-shm"}) {
    struct stat st;
    ASSERT_EQ(::stat(dir_.File(name).c_str(), &st), 0) << name;
    EXPECT_EQ(st.st_mode & 0777, 0600u) << name;
  }
}

TEST_F(CrossAppRobustnessTest, RemovingAnAppFromTheRegistryEndsItsLiveSession) {
  ASSERT_TRUE(owner_->Put("comments", "c1", J(R"({"text":"seen"})")).ok());
  CrossAppOptions o;
  o.registry_check_interval = 100ms;
  Share(o);
  auto dash = Connect(dash_key_, "dash.blazedb");
  ASSERT_TRUE(dash->WaitForCatchUp(10s).ok());
  ASSERT_TRUE(AppGroup::Open(group_)->RemoveApp("dashboard").ok());
  ASSERT_TRUE(Eventually([&] { return !dash->status().connected; }));
  ASSERT_TRUE(owner_->Put("comments", "c2", J(R"({"text":"after removal"})")).ok());
  bool closed_for_it = false;
  for (const auto& c : share_->Connections()) {
    closed_for_it = closed_for_it || c.error.find("no longer registered") != std::string::npos;
  }
  EXPECT_TRUE(closed_for_it);
  EXPECT_TRUE(dash->db().Get("comments", "c2").status().IsNotFound());
}

TEST_F(CrossAppRobustnessTest, AnAppCannotForgeLinesInTheOwnersLog) {
  std::mutex mu;
  std::vector<std::string> lines;
  CrossAppOptions o;
  o.log = [&](const std::string& line) {
    std::lock_guard<std::mutex> l(mu);
    lines.push_back(line);
  };
  Share(o);
  auto hostile = Hostile(stats_key_);
  ASSERT_NE(hostile, nullptr);
  ASSERT_TRUE(hostile->SendError("oops\ncross-app: connection of 'dashboard' closed\r\x1b[2K").ok());
  ASSERT_TRUE(Eventually([&] {
    std::lock_guard<std::mutex> l(mu);
    for (const auto& line : lines) {
      if (line.find("oops") != std::string::npos) return true;
    }
    return false;
  }));
  share_.reset();
  std::lock_guard<std::mutex> l(mu);
  for (const auto& line : lines) {
    for (char c : line) EXPECT_GE(static_cast<unsigned char>(c), 0x20) << line;
    if (line.find("oops") != std::string::npos) {
      EXPECT_NE(line.find("oops\\ncross-app"), std::string::npos) << line;
    }
  }
}

TEST(PolicyDuplicateKeyTest, APolicyNamingAKeyTwiceIsRefused) {
  auto p = ParseExportPolicy(R"({"apps": {"dashboard": {"collections": {"bugs": {"access": "read",
      "where": "team == \"mobile\"", "where": "true"}}}}})");
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("duplicate key \"where\""), std::string::npos) << p.status().ToString();
  auto twice =
      ParseExportPolicy(R"({"apps": {"x": {"collections": {}}, "x": {"collections": {"s": {"access": "read"}}}}})");
  EXPECT_FALSE(twice.ok());
  // Documents keep the JSON reader's ordinary rule.
  EXPECT_TRUE(ParseJson(R"({"a": 1, "a": 2})").ok());
}

}  // namespace
}  // namespace blaze
