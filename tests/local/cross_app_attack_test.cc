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

using testing::Eventually;
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

// The stamps inside the record states an app is sent name real origins
// (put, delete and field stamps): the merge breaks ties between equal HLCs
// by origin, so a replica must compare the same origins as the owner or it
// keeps a different winner (docs/cross-app.md, "Node ids in stamps"). What
// the app can do with a node id read there is therefore what matters: it
// cannot announce it (the origin holds changes, or is bound to another app)
// nor write under it.
TEST_F(CrossAppAttackTest, ANodeIdReadFromARecordStampCannotBeAnnouncedNorWrittenUnder) {
  auto stats = ConnectToSharedDB(group_, "bugs.blazedb", stats_key_, dir_.File("stats.blazedb"));
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  ASSERT_TRUE((*stats)->WaitForCatchUp(10s).ok());
  ASSERT_TRUE((*stats)->db().Put("comments", "by-stats", J(R"({"text":"s"})")).ok());
  ASSERT_TRUE((*stats)->WaitForCatchUp(10s).ok());
  ASSERT_TRUE(Eventually([&] { return owner_->Get("comments", "by-stats").ok(); }));

  // What a reader of the states learns: the origins of both writers.
  std::set<NodeId> learned;
  {
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
        learned.insert(st->put_stamp().origin);
      }
    }
  }
  const NodeId stats_node = (*stats)->db().node_id();
  ASSERT_EQ(learned, (std::set<NodeId>{owner_->node_id(), stats_node}));

  for (const NodeId& victim : learned) {
    auto app = HostileApp::Connect(group_, "bugs.blazedb", dash_key_);
    ASSERT_TRUE(app.ok()) << app.status().ToString();
    ASSERT_TRUE((*app)->SendHello(victim).ok());
    auto vv = DatabaseAccess::GetVersionVector(*owner_);
    ASSERT_TRUE(vv.ok());
    const Seq next = SeqOf(*vv, victim) + 1;
    (*app)->SendChanges(1, {HostileApp::Put(victim, next, HostileApp::HlcAgo(0), "comments", "forged",
                                            J(R"({"text":"forged"})"))})
        .IgnoreError();  // the owner may have closed already
    EXPECT_EQ((*app)->DrainUntilClosed().code(), StatusCode::kAborted);
    auto errors = (*app)->Errors();
    ASSERT_FALSE(errors.empty());
    EXPECT_NE(errors.front().find("may not announce node id"), std::string::npos) << errors.front();
  }
  EXPECT_TRUE(owner_->Get("comments", "forged").status().IsNotFound());
  auto vv = DatabaseAccess::GetVersionVector(*owner_);
  ASSERT_TRUE(vv.ok());
  EXPECT_EQ(SeqOf(*vv, stats_node), 1u);  // no seq burned
}

// An app may write only fields it can see (docs/cross-app.md, "Writes"),
// and a delete takes the whole record, withheld fields included: deletes
// are refused in collections whose grant withholds fields, whatever the
// record holds (so the refusal tells nothing about the hidden fields).
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
