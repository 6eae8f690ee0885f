// Cross-app sync against a hostile app in the group: the app speaks the real
// protocol (tests/support/hostile_app.h) with attacker-chosen hellos,
// changes, acks and timing; the owner must keep every other app's data and
// identity safe (docs/cross-app.md, "Threat model").
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "blaze/app_group.h"
#include "blaze/cross_app.h"
#include "blaze/json.h"
#include "store/replica.h"
#include "support/db_fixture.h"
#include "support/hostile_app.h"

namespace blaze {
namespace {

using testing::HostileApp;
using testing::J;
using namespace std::chrono_literals;

template <typename F>
bool Eventually(F f, std::chrono::milliseconds limit = 10s) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (f()) return true;
    std::this_thread::sleep_for(2ms);
  }
  return f();
}

constexpr const char* kPolicy = R"({ "apps": {
    "dashboard": { "collections": {
        "bugs":     { "access": "read", "where": "team == \"mobile\"" },
        "comments": { "access": "read-write" },
        "tasks":    { "access": "read-write", "where": "owner == $app" } } },
    "stats": { "collections": {
        "comments": { "access": "read-write" },
        "tasks":    { "access": "read-write", "where": "owner == $app" } } } } })";

class CrossAppSecurityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    group_ = dir_.File("group");
    ASSERT_TRUE(AppGroup::Init(group_).ok());
    auto g = AppGroup::Open(group_);
    for (auto [name, key] : {std::pair{"bugtracker", &owner_key_}, {"dashboard", &dash_key_}, {"stats", &stats_key_}}) {
      *key = *GenerateKeyPair();
      ASSERT_TRUE(g->AddApp(name, key->public_key).ok());
    }
    owner_ = testing::OpenOrDie(dir_.File("bugs.blazedb"));
    ASSERT_TRUE(owner_->Put("bugs", "m1", J(R"({"title":"crash","team":"mobile"})")).ok());
    ASSERT_TRUE(owner_->Put("comments", "c1", J(R"({"text":"seen"})")).ok());
    policy_ = *ParseExportPolicy(kPolicy);
    auto s = EnableCrossAppSync(*owner_, group_, owner_key_, policy_);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    share_ = std::move(s).value();
  }
  std::unique_ptr<HostileApp> Hostile(const KeyPair& key) {
    auto app = HostileApp::Connect(group_, "bugs.blazedb", key);
    EXPECT_TRUE(app.ok()) << app.status().ToString();
    return app.ok() ? std::move(app).value() : nullptr;
  }
  std::unique_ptr<SharedReplica> Connect(const KeyPair& key, const std::string& file) {
    auto r = ConnectToSharedDB(group_, "bugs.blazedb", key, dir_.File(file));
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? std::move(r).value() : nullptr;
  }

  testing::TempDir dir_;
  std::string group_;
  KeyPair owner_key_, dash_key_, stats_key_;
  std::unique_ptr<Database> owner_;
  ExportPolicy policy_;
  std::unique_ptr<CrossAppShare> share_;
};

TEST_F(CrossAppSecurityTest, TheHostileClientSpeaksTheRealProtocol) {
  auto app = Hostile(dash_key_);
  ASSERT_NE(app, nullptr);
  auto grant = app->ReceiveUntil<sync::GrantMsg>();
  ASSERT_TRUE(grant.ok()) << grant.status().ToString();
  EXPECT_NE(grant->policy_json.find("comments"), std::string::npos);
  ASSERT_TRUE(app->SendHello(NodeId{0x1234}).ok());
  auto states = app->ReceiveUntil<sync::SnapshotChunk>();
  ASSERT_TRUE(states.ok()) << states.status().ToString();
  // An allowed change under its own origin applies and is acknowledged.
  ASSERT_TRUE(app->SendChanges(1, {HostileApp::Put(NodeId{0x1234}, 1, HostileApp::HlcAgo(0), "comments", "c2",
                                                   J(R"({"text":"hi"})"))})
                  .ok());
  auto ack = app->ReceiveUntil<sync::Ack>();
  ASSERT_TRUE(ack.ok()) << ack.status().ToString();
  EXPECT_EQ(*(*owner_->Get("comments", "c2")).Find("text"), Value("hi"));
}

}  // namespace
}  // namespace blaze
