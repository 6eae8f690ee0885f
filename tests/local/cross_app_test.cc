// Cross-app sync in one process (owner and readers on separate databases,
// real Unix sockets and secure channels): what a policy grants arrives live,
// what it withholds never reaches the replica file, writes are checked on
// both sides, and both ends recover from the other going away. The
// multi-process version of these scenarios is tests/cross_app_process_test.sh.
#include "blaze/cross_app.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <thread>

#include "blaze/app_group.h"
#include "blaze/byte_stream.h"
#include "blaze/json.h"
#include "blaze/secure_channel.h"
#include "blaze/trust_store.h"
#include "store/replica.h"
#include "support/db_fixture.h"
#include "support/group_fixture.h"

namespace blaze {
namespace {

using testing::Eventually;
using testing::J;
using namespace std::chrono_literals;

constexpr const char* kPolicy = R"({ "apps": {
    "dashboard": { "collections": {
        "bugs":     { "access": "read", "fields": { "exclude": ["internalNotes"] }, "where": "team == \"mobile\"" },
        "comments": { "access": "read-write" } } },
    "*": { "collections": { "releases": { "access": "read" } } } } })";

class CrossAppTest : public ::testing::Test {
  friend void RestoreInPlaceAndWriteOffline(CrossAppTest& t, int lost, int offline, bool owner_compacts);

 protected:
  void SetUp() override {
    group_ = dir_.File("group");
    ASSERT_TRUE(
        testing::MakeGroup(group_, {{"bugtracker", &owner_key_}, {"dashboard", &dash_key_}, {"stats", &stats_key_}})
            .ok());
    owner_ = testing::OpenOrDie(dir_.File("bugs.blazedb"));
    ASSERT_TRUE(owner_->Put("bugs", "m1", J(R"({"title":"crash","team":"mobile","internalNotes":"ssh key"})")).ok());
    ASSERT_TRUE(owner_->Put("bugs", "w1", J(R"({"title":"css","team":"web","internalNotes":"x"})")).ok());
    ASSERT_TRUE(owner_->Put("comments", "c1", J(R"({"text":"seen"})")).ok());
    ASSERT_TRUE(owner_->Put("releases", "r1", J(R"({"v":"1.0"})")).ok());
    ASSERT_TRUE(owner_->Put("secrets", "s1", J(R"({"token":"t"})")).ok());
    policy_ = *ParseExportPolicy(kPolicy);
  }
  void Share() {
    auto s = EnableCrossAppSync(*owner_, group_, owner_key_, policy_);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    share_ = std::move(s).value();
  }
  std::unique_ptr<SharedReplica> Connect(const KeyPair& key, const std::string& file) {
    auto r = ConnectToSharedDB(group_, "bugs.blazedb", key, dir_.File(file));
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? std::move(r).value() : nullptr;
  }
  // Every stored byte of the replica, tombstones included, as text.
  static std::string FileContents(Database& db) {
    std::string all;
    auto states = DatabaseAccess::DumpStates(db);
    EXPECT_TRUE(states.ok());
    for (const auto& [coll, records] : *states) {
      all += coll + "\n";
      for (const auto& [id, state] : records) all += id + " " + state + "\n";
    }
    return all;
  }

  testing::TempDir dir_;
  std::string group_;
  KeyPair owner_key_, dash_key_, stats_key_;
  std::unique_ptr<Database> owner_;
  ExportPolicy policy_;
  std::unique_ptr<CrossAppShare> share_;
};

TEST_F(CrossAppTest, AReaderGetsExactlyWhatThePolicyGrants) {
  Share();
  auto dash = Connect(dash_key_, "dash.blazedb");
  ASSERT_TRUE(dash->WaitForCatchUp(10s).ok()) << dash->status().last_error;
  Database& r = dash->db();
  EXPECT_EQ(*r.Get("bugs", "m1"), J(R"({"title":"crash","team":"mobile"})"));
  EXPECT_TRUE(r.Get("bugs", "w1").status().IsNotFound());
  EXPECT_EQ(*r.Get("comments", "c1"), J(R"({"text":"seen"})"));
  EXPECT_EQ(*r.Get("releases", "r1"), J(R"({"v":"1.0"})"));
  // The file itself: no excluded field, no filtered row, no denied collection.
  std::string file = FileContents(r);
  EXPECT_EQ(file.find("internalNotes"), std::string::npos);
  EXPECT_EQ(file.find("ssh key"), std::string::npos);
  EXPECT_EQ(file.find("w1"), std::string::npos);
  EXPECT_EQ(file.find("secrets"), std::string::npos);
  // "*" grants releases only to an app without its own entry for it.
  auto stats = Connect(stats_key_, "stats.blazedb");
  ASSERT_TRUE(stats->WaitForCatchUp(10s).ok());
  EXPECT_EQ(*stats->db().Count("releases"), 1);
  EXPECT_EQ(*stats->db().Count("bugs"), 0);
}

TEST_F(CrossAppTest, LiveChangesArriveAndRowsCrossingTheWhereAreEvictedOrArrive) {
  Share();
  auto dash = Connect(dash_key_, "dash.blazedb");
  ASSERT_TRUE(dash->WaitForCatchUp(10s).ok());
  std::vector<ChangeEvent> events;
  std::mutex mu;
  auto watch = dash->WatchCrossApp("bugs", "", [&](const ChangeEvent& e) {
    std::lock_guard<std::mutex> l(mu);
    events.push_back(e);
  });
  ASSERT_TRUE(watch.ok());
  Database& r = dash->db();
  ASSERT_TRUE(owner_->Patch("bugs", "m1", J(R"({"title":"crash on start"})")).ok());
  EXPECT_TRUE(Eventually([&] { return r.Get("bugs", "m1").ok() && *(*r.Get("bugs", "m1")).Find("title") == Value("crash on start"); }));
  // Out of the where: evicted (locally; the owner still has it).
  ASSERT_TRUE(owner_->Patch("bugs", "m1", J(R"({"team":"web"})")).ok());
  EXPECT_TRUE(Eventually([&] { return r.Get("bugs", "m1").status().IsNotFound(); }));
  EXPECT_TRUE(owner_->Get("bugs", "m1").ok());
  EXPECT_EQ(FileContents(r).find("m1"), std::string::npos);
  // Into the where: arrives whole (fields written before it moved in too).
  ASSERT_TRUE(owner_->Patch("bugs", "w1", J(R"({"team":"mobile"})")).ok());
  EXPECT_TRUE(Eventually([&] { return r.Get("bugs", "w1").ok(); }));
  EXPECT_EQ(*r.Get("bugs", "w1"), J(R"({"title":"css","team":"mobile"})"));
  // Deleted at the owner: gone from the replica.
  ASSERT_TRUE(owner_->Delete("bugs", "w1").ok());
  EXPECT_TRUE(Eventually([&] { return r.Get("bugs", "w1").status().IsNotFound(); }));
  EXPECT_TRUE(Eventually([&] {
    std::lock_guard<std::mutex> l(mu);
    return events.size() >= 4;
  }));
}

TEST_F(CrossAppTest, WritesAreCheckedLocallyAndByTheOwner) {
  Share();
  auto dash = Connect(dash_key_, "dash.blazedb");
  ASSERT_TRUE(dash->WaitForCatchUp(10s).ok());
  Database& r = dash->db();
  // Granted read-write: travels to the owner.
  ASSERT_TRUE(r.Put("comments", "c2", J(R"({"text":"from the dashboard"})")).ok());
  EXPECT_TRUE(Eventually([&] { return owner_->Get("comments", "c2").ok(); }));
  // Read-only collection, denied collection: refused before anything is written.
  Status s = r.Patch("bugs", "m1", J(R"({"title":"hacked"})"));
  EXPECT_EQ(s.code(), StatusCode::kPermissionDenied) << s.ToString();
  EXPECT_EQ(r.Put("secrets", "s2", J("{}")).code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(*r.Get("bugs", "m1"), J(R"({"title":"crash","team":"mobile"})"));
  // A client that skips the local check anyway: the owner refuses the change,
  // applies nothing of it, and keeps the link up for allowed changes.
  DatabaseAccess::SetWriteGuard(r, nullptr);
  ASSERT_TRUE(DatabaseAccess::SetWriteScope(r, nullptr).ok());
  ASSERT_TRUE(r.Transaction([](Txn& t) -> Status {
    BLAZE_RETURN_IF_ERROR(t.Put("comments", "c3", J(R"({"text":"sneaky"})")));
    return t.Patch("bugs", "m1", J(R"({"title":"hacked"})"));
  }).ok());
  EXPECT_TRUE(Eventually([&] { return dash->status().changes_refused == 1; }));
  EXPECT_NE(dash->status().last_error.find("refused"), std::string::npos) << dash->status().last_error;
  EXPECT_EQ(*(*owner_->Get("bugs", "m1")).Find("title"), Value("crash"));
  EXPECT_TRUE(owner_->Get("comments", "c3").status().IsNotFound());  // the whole change, not half
  ASSERT_TRUE(r.Put("comments", "c4", J(R"({"text":"still connected"})")).ok());
  EXPECT_TRUE(Eventually([&] { return owner_->Get("comments", "c4").ok(); }));
  auto conns = share_->Connections();
  ASSERT_EQ(conns.size(), 1u);
  EXPECT_EQ(conns[0].changes_refused, 1u);
  EXPECT_TRUE(conns[0].live);
}

TEST_F(CrossAppTest, UnregisteredKeysAndSecondOwnersAreRefused) {
  Share();
  KeyPair stranger = *GenerateKeyPair();
  auto r = ConnectToSharedDB(group_, "bugs.blazedb", stranger, dir_.File("x.blazedb"));
  EXPECT_EQ(r.status().code(), StatusCode::kPermissionDenied);
  // A raw client with an unknown key: the handshake fails.
  auto stream = ConnectUnixSocket(share_->socket_path());
  ASSERT_TRUE(stream.ok());
  TrustStore trust;
  trust.Add(owner_key_.public_key, {"bugtracker", {}});
  ChannelOptions o;
  o.identity = stranger;
  o.trust = &trust;
  o.database = "cross-app:bugs.blazedb";
  EXPECT_FALSE(SecureChannel::Connect(o, std::move(stream).value()).ok());
  // One owner per database in a group.
  auto other = testing::OpenOrDie(dir_.File("other") + ".blazedb");
  CrossAppOptions co;
  co.db_name = "bugs.blazedb";
  auto second = EnableCrossAppSync(*other, group_, owner_key_, policy_, co);
  EXPECT_FALSE(second.ok());
  EXPECT_NE(second.status().ToString().find("already shared"), std::string::npos) << second.status().ToString();
}

TEST_F(CrossAppTest, APolicyChangeTakesEffectWithoutReconnecting) {
  Share();
  auto dash = Connect(dash_key_, "dash.blazedb");
  ASSERT_TRUE(dash->WaitForCatchUp(10s).ok());
  Database& r = dash->db();
  ExportPolicy p = policy_;
  p.apps["dashboard"].collections.erase("comments");                  // hidden now
  p.apps["dashboard"].collections["bugs"].fields.exclude.clear();      // internalNotes visible now
  p.apps["dashboard"].collections["bugs"].where = "";                  // every team
  ASSERT_TRUE(share_->SetPolicy(p).ok());
  EXPECT_TRUE(Eventually([&] { return r.Get("comments", "c1").status().IsNotFound() && r.Get("bugs", "w1").ok(); }));
  EXPECT_EQ(*(*r.Get("bugs", "m1")).Find("internalNotes"), Value("ssh key"));
  EXPECT_EQ(r.Put("comments", "c9", J("{}")).code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(dash->status().connects, 1u);
}

TEST_F(CrossAppTest, BothSidesCatchUpAfterTheOwnerWasAway) {
  Share();
  auto dash = Connect(dash_key_, "dash.blazedb");
  ASSERT_TRUE(dash->WaitForCatchUp(10s).ok());
  share_.reset();  // the owner goes away
  Database& r = dash->db();
  EXPECT_TRUE(Eventually([&] { return !dash->status().connected; }));
  // The replica keeps serving reads, and writes where granted.
  EXPECT_EQ(*r.Count("bugs"), 1);
  ASSERT_TRUE(r.Put("comments", "offline", J(R"({"text":"written while away"})")).ok());
  ASSERT_TRUE(owner_->Put("bugs", "m2", J(R"({"title":"new","team":"mobile"})")).ok());
  Share();
  EXPECT_TRUE(Eventually([&] { return r.Get("bugs", "m2").ok() && owner_->Get("comments", "offline").ok(); }));
  EXPECT_EQ(dash->status().connects, 2u);
}

TEST_F(CrossAppTest, ARestartedReaderResumesFromItsCheckpoint) {
  for (int i = 0; i < 300; ++i) {
    ASSERT_TRUE(owner_->Put("comments", "k" + std::to_string(i), J(R"({"text":"x"})")).ok());
  }
  Share();
  auto dash = Connect(dash_key_, "dash.blazedb");
  ASSERT_TRUE(dash->WaitForCatchUp(10s).ok());
  EXPECT_GE(dash->status().records_received, 300u);
  dash.reset();
  ASSERT_TRUE(owner_->Put("comments", "after", J(R"({"text":"y"})")).ok());
  dash = Connect(dash_key_, "dash.blazedb");
  ASSERT_TRUE(dash->WaitForCatchUp(10s).ok());
  EXPECT_TRUE(dash->db().Get("comments", "after").ok());
  EXPECT_EQ(dash->status().records_received, 1u);  // only what it lacked
  EXPECT_EQ(*dash->db().Count("comments"), 302);
}

TEST_F(CrossAppTest, AReplicaPutBackFromABackupInPlaceLosesNoWrites) {
  // cp BACKUP REPLICA keeps the inode, so the file cannot tell on open; the
  // owner's hello shows it holds more of the replica's own changes than the
  // file. Writing on under that node id would reuse seqs the owner already
  // has: those writes would never be sent (and --once would say caught up).
  Share();
  const std::string path = dir_.File("dash.blazedb");
  const std::string backup = dir_.File("dash.backup");
  auto dash = Connect(dash_key_, "dash.blazedb");
  ASSERT_TRUE(dash->WaitForCatchUp(10s).ok());
  ASSERT_TRUE(dash->db().Put("comments", "before-backup", J(R"({"text":"1"})")).ok());
  ASSERT_TRUE(dash->WaitForCatchUp(10s).ok());
  dash.reset();
  std::filesystem::copy_file(path, backup);
  dash = Connect(dash_key_, "dash.blazedb");
  ASSERT_TRUE(dash->db().Put("comments", "after-backup", J(R"({"text":"2"})")).ok());
  ASSERT_TRUE(dash->WaitForCatchUp(10s).ok());
  ASSERT_TRUE(Eventually([&] { return owner_->Get("comments", "after-backup").ok(); }));
  dash.reset();
  // The file is closed (no -wal to carry); overwriting keeps its inode.
  std::filesystem::copy_file(backup, path, std::filesystem::copy_options::overwrite_existing);
  dash = Connect(dash_key_, "dash.blazedb");
  ASSERT_TRUE(dash->WaitForCatchUp(10s).ok());
  ASSERT_TRUE(dash->db().Put("comments", "after-restore", J(R"({"text":"3"})")).ok());
  ASSERT_TRUE(dash->WaitForCatchUp(10s).ok());
  EXPECT_TRUE(Eventually([&] { return owner_->Get("comments", "after-restore").ok(); }));
  // And what the owner holds that the backup lacked comes back to it.
  EXPECT_TRUE(Eventually([&] { return dash->db().Get("comments", "after-backup").ok(); }));
}

// A replica put back in place from a backup (same inode: the file cannot
// tell on open) and written BEFORE it reconnects: its offline writes reuse
// seqs the owner already holds under the node id, from the writes made after
// the backup. Neither side would send its own change under such a seq, and
// both would report caught up with records missing on each side. The owner's
// own-history stamps (cross-app protocol version 2) show the reader that the
// histories forked: it re-issues its offline writes under a fresh node id
// (the owner receives them) and receives the owner's changes under the old
// id. `lost` writes are made after the backup (and reach the owner) before it
// is restored; `offline` writes after the restore, the last one a patch of a
// record the owner holds (c1), whose newer stamp must win on both sides.
void RestoreInPlaceAndWriteOffline(CrossAppTest& t, int lost, int offline, bool owner_compacts);

TEST_F(CrossAppTest, AReplicaRestoredInPlaceAndWrittenOfflineLosesNoWrites) {
  // As many writes lost as made offline: the counts are equal, nothing rotated before.
  RestoreInPlaceAndWriteOffline(*this, 2, 2, /*owner_compacts=*/false);
}

TEST_F(CrossAppTest, AReplicaRestoredFromAnOlderBackupAndWrittenOfflineLosesNoWrites) {
  // The owner holds MORE of the node than the file: the reader rotated, but
  // its offline writes stayed under the old id and were never sent.
  RestoreInPlaceAndWriteOffline(*this, 3, 2, /*owner_compacts=*/false);
}

TEST_F(CrossAppTest, AReplicaRestoredFromAnOlderBackupLosesNoWritesAfterTheOwnerPrunedItsLog) {
  // The owner compacted: it can tell the stamp of the node's last change
  // only, not of the seqs the file holds. The reader cannot see where the
  // histories forked and re-issues every change of the file; those the
  // owner held merge to the same records.
  RestoreInPlaceAndWriteOffline(*this, 3, 2, /*owner_compacts=*/true);
}

TEST_F(CrossAppTest, AReplicaRestoredInPlaceAndWrittenMoreOfflineThanItLostLosesNoWrites) {
  // The file holds more: only the writes above the owner's count were sent.
  RestoreInPlaceAndWriteOffline(*this, 1, 3, /*owner_compacts=*/false);
}

void RestoreInPlaceAndWriteOffline(CrossAppTest& t, int lost, int offline, bool owner_compacts) {
  t.Share();
  const std::string path = t.dir_.File("dash.blazedb");
  const std::string backup = t.dir_.File("dash.backup");
  auto dash = t.Connect(t.dash_key_, "dash.blazedb");
  ASSERT_TRUE(dash->WaitForCatchUp(10s).ok());
  ASSERT_TRUE(dash->db().Put("comments", "before-backup", J(R"({"text":"1"})")).ok());
  ASSERT_TRUE(dash->WaitForCatchUp(10s).ok());
  dash.reset();
  std::filesystem::copy_file(path, backup);
  dash = t.Connect(t.dash_key_, "dash.blazedb");
  std::vector<std::string> lost_ids, offline_ids;
  for (int i = 0; i < lost; ++i) {
    lost_ids.push_back("after-backup-" + std::to_string(i));
    ASSERT_TRUE(dash->db().Put("comments", lost_ids.back(), J(R"({"text":"2"})")).ok());
  }
  ASSERT_TRUE(dash->WaitForCatchUp(10s).ok());
  ASSERT_TRUE(Eventually([&] { return t.owner_->Get("comments", lost_ids.back()).ok(); }));
  dash.reset();
  if (owner_compacts) {
    CompactOptions prune;
    prune.log_horizon_ms = 0;
    ASSERT_TRUE(t.owner_->Compact(prune).ok());
  }
  // The file is closed (no -wal to carry); overwriting keeps its inode.
  std::filesystem::copy_file(backup, path, std::filesystem::copy_options::overwrite_existing);
  {
    // Written offline (blazedb put on the replica file) before reconnecting.
    auto plain = testing::OpenOrDie(path);
    for (int i = 0; i + 1 < offline; ++i) {
      offline_ids.push_back("offline-" + std::to_string(i));
      ASSERT_TRUE(plain->Put("comments", offline_ids.back(), J(R"({"text":"3"})")).ok());
    }
    ASSERT_TRUE(plain->Patch("comments", "c1", J(R"({"text":"edited offline"})")).ok());
  }
  dash = t.Connect(t.dash_key_, "dash.blazedb");
  ASSERT_TRUE(dash->WaitForCatchUp(10s).ok());
  for (const auto& id : offline_ids) {
    EXPECT_TRUE(Eventually([&] { return t.owner_->Get("comments", id).ok(); }, 3s)) << id;
  }
  EXPECT_TRUE(Eventually([&] {
    auto c = t.owner_->Get("comments", "c1");
    return c.ok() && *c == J(R"({"text":"edited offline"})");
  }, 3s));
  for (const auto& id : lost_ids) {
    EXPECT_TRUE(Eventually([&] { return dash->db().Get("comments", id).ok(); }, 3s)) << id;
  }
  // Caught up means caught up: both hold every record, with the same stamps.
  ASSERT_TRUE(dash->WaitForCatchUp(10s).ok());
  auto states = [](Database& db) {
    std::map<std::string, std::string> out;
    auto all = DatabaseAccess::DumpStates(db);
    EXPECT_TRUE(all.ok());
    if (all.ok() && all->count("comments")) out = all->at("comments");
    return out;
  };
  EXPECT_TRUE(Eventually([&] { return states(dash->db()) == states(*t.owner_); }, 3s));
  EXPECT_EQ(states(dash->db()), states(*t.owner_));
  // Written on after that, under the fresh node id: sent as usual.
  ASSERT_TRUE(dash->db().Put("comments", "later", J(R"({"text":"4"})")).ok());
  EXPECT_TRUE(Eventually([&] { return t.owner_->Get("comments", "later").ok(); }, 3s));
}

// A copy of a replica (cp, so a fresh node id on open) written before its
// first connection: the owner's hello from the copy's fresh node claims
// holdings, so the owner sends a full image (replace) read at the hello —
// before the copy's own change arrives. The owner never sends a replica its
// own changes back, so the image must not evict the records of the copy's
// own changes it cannot hold (found by the attack round: the copy lost its
// own write for good while reporting caught up).
TEST_F(CrossAppTest, ACopiedReplicaKeepsItsOwnOfflineWriteAcrossTheFullImage) {
  Share();
  const std::string path = dir_.File("dash.blazedb");
  const std::string copy = dir_.File("dash-copy.blazedb");
  auto dash = Connect(dash_key_, "dash.blazedb");
  ASSERT_TRUE(dash->WaitForCatchUp(10s).ok());
  ASSERT_TRUE(dash->db().Put("comments", "first", J(R"({"text":"1"})")).ok());
  ASSERT_TRUE(dash->WaitForCatchUp(10s).ok());
  dash.reset();
  std::filesystem::copy_file(path, copy);
  {
    auto plain = testing::OpenOrDie(copy);  // a copy: continues under a fresh node id
    ASSERT_TRUE(plain->Put("comments", "in-copy", J(R"({"text":"2"})")).ok());
  }
  auto second = Connect(dash_key_, "dash-copy.blazedb");
  ASSERT_TRUE(second->WaitForCatchUp(10s).ok());
  ASSERT_TRUE(Eventually([&] { return owner_->Get("comments", "in-copy").ok(); }));
  ASSERT_TRUE(second->WaitForCatchUp(10s).ok());
  EXPECT_TRUE(Eventually([&] { return second->db().Get("comments", "in-copy").ok(); }, 3s));
}

// KNOWN DEFECT, not fixed (a sibling of the replica restored in place, on
// the owner's side; disabled: fails on main and on this branch). The
// OWNER's file put back in place from a backup keeps its node id, and its
// next writes reuse seqs of that node the apps already hold (by alias): the
// app's hello shows it, but the owner neither rotates its node (as the sync
// engine does at a hello showing more of its own node) nor re-issues, so
// those writes never reach the apps while they report caught up. Unlike a
// replica, the apps keep no log of the owner's changes to compare stamps
// with, so a fix must choose what to re-issue from the owner's side.
TEST_F(CrossAppTest, DISABLED_AnOwnerRestoredInPlaceAndWrittenBeforeAppsReconnectLosesNoWrites) {
  const std::string path = dir_.File("bugs.blazedb");
  const std::string backup = dir_.File("bugs.backup");
  Share();
  auto dash = Connect(dash_key_, "dash.blazedb");
  ASSERT_TRUE(dash->WaitForCatchUp(10s).ok());
  share_.reset();
  owner_.reset();
  std::filesystem::copy_file(path, backup);
  owner_ = testing::OpenOrDie(path);
  Share();
  ASSERT_TRUE(owner_->Put("comments", "after-backup", J(R"({"text":"lost by the restore"})")).ok());
  ASSERT_TRUE(Eventually([&] { return dash->db().Get("comments", "after-backup").ok(); }));
  share_.reset();
  owner_.reset();
  std::filesystem::copy_file(backup, path, std::filesystem::copy_options::overwrite_existing);
  owner_ = testing::OpenOrDie(path);
  ASSERT_TRUE(owner_->Put("comments", "after-restore", J(R"({"text":"written on the restored owner"})")).ok());
  Share();
  ASSERT_TRUE(dash->WaitForCatchUp(10s).ok());
  EXPECT_TRUE(Eventually([&] { return dash->db().Get("comments", "after-restore").ok(); }, 3s));
}

// Found by the attack round: `blazedb put dash.db ...; blazedb compact
// dash.db; blazedb connect ... --once` never delivered the write (connect
// failed "not caught up" on every later run). A replica sends its own
// changes only from its log and keeps no checkpoint for its owner, so
// compaction knew no peer and pruned them; it now never prunes a replica's
// own changes.
TEST_F(CrossAppTest, CompactingAReplicaLosesNoWriteTheOwnerHasNotReceived) {
  Share();
  auto dash = Connect(dash_key_, "dash.blazedb");
  ASSERT_TRUE(dash->WaitForCatchUp(10s).ok());
  dash.reset();
  {
    auto plain = testing::OpenOrDie(dir_.File("dash.blazedb"));
    ASSERT_TRUE(plain->Put("comments", "offline", J(R"({"text":"x"})")).ok());
    ASSERT_TRUE(plain->Compact().ok());
  }
  dash = Connect(dash_key_, "dash.blazedb");
  EXPECT_TRUE(dash->WaitForCatchUp(3s).ok());
  EXPECT_TRUE(Eventually([&] { return owner_->Get("comments", "offline").ok(); }, 3s));
}

}  // namespace
}  // namespace blaze
