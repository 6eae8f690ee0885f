// Cross-app sync attacked from outside after issue 9's fixes: a hostile app
// in the group (tests/support/hostile_app.h) probing what the owner
// discloses and accepts (docs/cross-app.md, "Threat model").
#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <thread>

#include "blaze/app_group.h"
#include "blaze/cross_app.h"
#include "blaze/json.h"
#include "store/record_state.h"
#include "store/replica.h"
#include "support/db_fixture.h"
#include "support/group_fixture.h"
#include "support/hostile_app.h"

namespace blaze {
namespace {

using testing::HostileApp;
using testing::J;
using namespace std::chrono_literals;

constexpr const char* kPolicy = R"({ "apps": {
    "dashboard": { "collections": { "comments": { "access": "read-write" } } },
    "stats": { "collections": { "comments": { "access": "read-write" } } },
    "viewer": { "collections": { "notes": { "access": "read-write", "fields": { "exclude": ["secret"] } } } } } })";

class CrossAppAttackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    group_ = dir_.File("group");
    ASSERT_TRUE(testing::MakeGroup(group_, {{"bugtracker", &owner_key_},
                                            {"dashboard", &dash_key_},
                                            {"stats", &stats_key_},
                                            {"viewer", &viewer_key_}})
                    .ok());
    owner_ = testing::OpenOrDie(dir_.File("bugs.blazedb"));
    ASSERT_TRUE(owner_->Put("comments", "by-owner", J(R"({"text":"o"})")).ok());
    auto s = EnableCrossAppSync(*owner_, group_, owner_key_, *ParseExportPolicy(kPolicy));
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    share_ = std::move(s).value();
  }

  testing::TempDir dir_;
  std::string group_;
  KeyPair owner_key_, dash_key_, stats_key_, viewer_key_;
  std::unique_ptr<Database> owner_;
  std::unique_ptr<CrossAppShare> share_;
};

// KNOWN DEFECT, not fixed (disabled: it fails on main as of 785a666).
// The stamps inside the record states the owner sends name origins too
// (put, delete and field stamps). The owner aliases the origins of its
// vectors per app (ShareServer's ToAppLocked) but sends states as stored
// (share_server.cc, Filter() and QueueCorrection(): only KeepFields is
// applied), so any app learns the owner's and other apps' real node ids
// from the first record it is sent — against docs/cross-app.md item
// "Learn another app's node ids". Bindings still refuse those ids at the
// hello, so they cannot be written under.
// Why no small fix: rewriting stamp origins to aliases changes the order of
// stamps with equal HLCs (origin is the tie-break), so a reader could merge
// a tie differently from the owner; the fix needs an order-preserving
// naming or a tie-break rule both sides share, which is a protocol change.
TEST_F(CrossAppAttackTest, DISABLED_RecordStatesSentToAnAppNameNoOtherNodeIds) {
  auto stats = ConnectToSharedDB(group_, "bugs.blazedb", stats_key_, dir_.File("stats.blazedb"));
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  ASSERT_TRUE((*stats)->WaitForCatchUp(10s).ok());
  ASSERT_TRUE((*stats)->db().Put("comments", "by-stats", J(R"({"text":"s"})")).ok());
  ASSERT_TRUE((*stats)->WaitForCatchUp(10s).ok());
  const std::set<NodeId> secret = {owner_->node_id(), (*stats)->db().node_id()};

  auto app = HostileApp::Connect(group_, "bugs.blazedb", dash_key_);
  ASSERT_TRUE(app.ok()) << app.status().ToString();
  ASSERT_TRUE((*app)->SendHello(NodeId{0xd8}).ok());
  std::set<std::string> seen;
  while (seen.size() < 2) {
    auto c = (*app)->ReceiveUntil<sync::SnapshotChunk>();
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    for (const auto& r : c->records) {
      seen.insert(r.id);
      auto st = store::RecordState::Decode(r.state);
      ASSERT_TRUE(st.ok());
      EXPECT_EQ(secret.count(st->put_stamp().origin), 0u) << r.id << "'s put stamp names a real node id";
      for (const auto& [name, f] : st->fields()) {
        EXPECT_EQ(secret.count(f.stamp.origin), 0u) << r.id << "." << name << " names a real node id";
      }
    }
  }
}

// KNOWN DEFECT, not fixed (disabled: fails on main as of 785a666). An app
// may write "only fields it can see: a write that touches an excluded field
// is refused" (docs/cross-app.md, "Writes"), but a delete takes the whole
// record, fields the app never saw included: CheckAppWrite checks a delete
// with no field names (write_check.cc, `fields` stays empty for kDelete),
// and AppPolicy::CheckWrite(collection, {}) only checks the collection.
// Not fixed here: refusing a delete of a record that holds a withheld field
// tells the app whether that field is present, and whether deletes of
// such records are allowed at all is a policy decision.
TEST_F(CrossAppAttackTest, ADeleteCannotDestroyAFieldTheAppMayNotWrite) {
  ASSERT_TRUE(owner_->Put("notes", "n1", J(R"({"text":"public","secret":"only the owner's"})")).ok());
  auto app = HostileApp::Connect(group_, "bugs.blazedb", viewer_key_);
  ASSERT_TRUE(app.ok()) << app.status().ToString();
  const NodeId me{0x71};
  ASSERT_TRUE((*app)->SendHello(me).ok());
  ASSERT_TRUE((*app)->SendChanges(1, {HostileApp::Change(me, 1, HostileApp::HlcAgo(0),
                                                         {HostileApp::DeleteOp("notes", "n1")})})
                  .ok());
  ASSERT_TRUE((*app)->ReceiveUntil<sync::Ack>().ok());
  auto n1 = owner_->Get("notes", "n1");
  ASSERT_TRUE(n1.ok()) << "the record, with its withheld field, was deleted by an app that may not write it";
  EXPECT_EQ(*n1->Find("secret"), Value("only the owner's"));
}

}  // namespace
}  // namespace blaze
