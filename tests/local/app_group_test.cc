#include "blaze/app_group.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "blaze/json.h"
#include "support/fakes.h"

namespace blaze {
namespace {

namespace fs = std::filesystem;

PublicKey Key(uint8_t fill) {
  PublicKey k;
  k.fill(fill);
  return k;
}

// The hex form of Key(fill): 32 times the byte.
std::string KeyHex(const char* byte_hex) {
  std::string s;
  for (int i = 0; i < 32; ++i) s += byte_hex;
  return s;
}

unsigned Mode(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return 0;
  return st.st_mode & 07777;
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A listening Unix socket bound at `path`; -1 on failure.
int BindUnix(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || ::listen(fd, 4) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

class AppGroupTest : public ::testing::Test {
 protected:
  AppGroup InitOrDie() {
    auto g = AppGroup::Init(dir_);
    EXPECT_TRUE(g.ok()) << g.status().ToString();
    return std::move(g).value();
  }
  testing::TempDir tmp_;
  std::string dir_ = tmp_.File("group");
};

TEST_F(AppGroupTest, InitCreatesAPrivateLayoutWhateverTheUmask) {
  mode_t old = ::umask(0);  // a permissive umask must not widen anything
  auto g = AppGroup::Init(dir_);
  ::umask(old);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_EQ(g->dir(), dir_);
  EXPECT_EQ(Mode(dir_), 0700u);
  EXPECT_EQ(Mode(dir_ + "/apps.json"), 0600u);
  EXPECT_EQ(Mode(dir_ + "/sockets"), 0700u);
  auto apps = g->Apps();
  ASSERT_TRUE(apps.ok()) << apps.status().ToString();
  EXPECT_TRUE(apps->empty());
  EXPECT_EQ(Slurp(dir_ + "/apps.json"), "{\"apps\":{},\"format\":\"blazedb-app-group\",\"version\":1}\n");
  EXPECT_TRUE(AppGroup::Open(dir_).ok());
  EXPECT_TRUE(AppGroup::Open(dir_ + "/").ok());
}

TEST_F(AppGroupTest, InitIsIdempotentAndKeepsTheRegistry) {
  AppGroup g = InitOrDie();
  ASSERT_TRUE(g.AddApp("dashboard", Key(1)).ok());
  auto again = AppGroup::Init(dir_);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  auto apps = again->Apps();
  ASSERT_TRUE(apps.ok());
  ASSERT_EQ(apps->size(), 1u);
  EXPECT_EQ((*apps)[0].name, "dashboard");
}

TEST_F(AppGroupTest, InitCompletesAGroupWhoseCreationWasInterrupted) {
  // A crash after mkdir and before the registry was written leaves an empty
  // private directory (maybe with sockets/): Init finishes the job.
  ASSERT_EQ(::mkdir(dir_.c_str(), 0700), 0);
  ASSERT_EQ(::mkdir((dir_ + "/sockets").c_str(), 0700), 0);
  EXPECT_EQ(AppGroup::Open(dir_).status().code(), StatusCode::kNotFound);
  ASSERT_TRUE(AppGroup::Init(dir_).ok());
  EXPECT_TRUE(AppGroup::Open(dir_).ok());
}

TEST_F(AppGroupTest, RefusesADirectoryAccessibleByGroupOrOthers) {
  ASSERT_EQ(::mkdir(dir_.c_str(), 0700), 0);
  ASSERT_EQ(::chmod(dir_.c_str(), 0755), 0);
  auto g = AppGroup::Init(dir_);
  EXPECT_EQ(g.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(g.status().message(), "app group directory '" + dir_ +
                                      "' has mode 0755; it must not be accessible by group or others (expected "
                                      "0700, e.g. chmod 700 '" +
                                      dir_ + "')");
  EXPECT_FALSE(fs::exists(dir_ + "/apps.json"));  // nothing written into it
  ASSERT_EQ(::chmod(dir_.c_str(), 0700), 0);
  ASSERT_TRUE(AppGroup::Init(dir_).ok());
  // An existing group whose directory was opened up later is refused too.
  ASSERT_EQ(::chmod(dir_.c_str(), 0710), 0);
  EXPECT_EQ(AppGroup::Open(dir_).status().code(), StatusCode::kFailedPrecondition);
}

TEST_F(AppGroupTest, RefusesAnAccessibleRegistryOrSocketFolder) {
  InitOrDie();
  ASSERT_EQ(::chmod((dir_ + "/apps.json").c_str(), 0644), 0);
  auto g = AppGroup::Open(dir_);
  EXPECT_EQ(g.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(g.status().message().find("app group registry '" + dir_ + "/apps.json' has mode 0644"), std::string::npos)
      << g.status().message();
  ASSERT_EQ(::chmod((dir_ + "/apps.json").c_str(), 0600), 0);
  ASSERT_EQ(::chmod((dir_ + "/sockets").c_str(), 0777), 0);
  EXPECT_EQ(AppGroup::Open(dir_).status().code(), StatusCode::kFailedPrecondition);
  ASSERT_EQ(::chmod((dir_ + "/sockets").c_str(), 0700), 0);
  EXPECT_TRUE(AppGroup::Open(dir_).ok());
}

TEST_F(AppGroupTest, InitRefusesANonEmptyDirectoryThatIsNoGroup) {
  ASSERT_EQ(::mkdir(dir_.c_str(), 0700), 0);
  std::ofstream(dir_ + "/notes.txt") << "mine";
  auto g = AppGroup::Init(dir_);
  EXPECT_EQ(g.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(g.status().message().find("exists and is not an app group"), std::string::npos) << g.status().message();
  EXPECT_FALSE(fs::exists(dir_ + "/apps.json"));
  // A file where the directory should be.
  std::ofstream(tmp_.File("plain")) << "x";
  EXPECT_EQ(AppGroup::Init(tmp_.File("plain")).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(AppGroup::Init(tmp_.File("no/such/parent")).status().code(), StatusCode::kNotFound);
}

TEST_F(AppGroupTest, OpenRefusesWhatIsNotAGroup) {
  auto missing = AppGroup::Open(dir_);
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(),
            "app group '" + dir_ + "' does not exist (create it with 'blazedb group init')");
  ASSERT_EQ(::mkdir(dir_.c_str(), 0700), 0);
  auto empty = AppGroup::Open(dir_);
  EXPECT_EQ(empty.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(empty.status().message(),
            "'" + dir_ + "' is not an app group: it has no apps.json (create one with 'blazedb group init')");
}

TEST_F(AppGroupTest, RegistryRoundTrips) {
  AppGroup g = InitOrDie();
  auto added = g.AddApp("dashboard", Key(0xd1));
  ASSERT_TRUE(added.ok()) << added.status().ToString();
  EXPECT_TRUE(*added);
  ASSERT_TRUE(g.AddApp("bug-tracker_2", Key(0xb2)).ok());
  EXPECT_EQ(Mode(dir_ + "/apps.json"), 0600u);

  auto reopened = AppGroup::Open(dir_);
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  auto apps = reopened->Apps();
  ASSERT_TRUE(apps.ok());
  ASSERT_EQ(apps->size(), 2u);
  EXPECT_EQ((*apps)[0].name, "bug-tracker_2");  // sorted by name
  EXPECT_EQ((*apps)[0].public_key, Key(0xb2));
  EXPECT_EQ((*apps)[1].name, "dashboard");
  EXPECT_EQ((*apps)[1].public_key, Key(0xd1));
  auto who = reopened->Lookup(Key(0xd1));
  ASSERT_TRUE(who.ok());
  EXPECT_EQ(*who, "dashboard");
  auto nobody = reopened->Lookup(Key(0x77));
  EXPECT_EQ(nobody.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(nobody.status().message(),
            "public key " + std::string(64, '7') + " is not registered in app group " + dir_);

  // The file is the documented JSON, keys as 64 lower-case hex digits.
  auto json = ParseJson(Slurp(dir_ + "/apps.json"));
  ASSERT_TRUE(json.ok());
  EXPECT_EQ(json->Find("apps")->Find("dashboard")->as_string(), KeyHex("d1"));

  ASSERT_TRUE(g.RemoveApp("dashboard").ok());
  EXPECT_EQ(g.Lookup(Key(0xd1)).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(g.RemoveApp("dashboard").code(), StatusCode::kNotFound);
  EXPECT_EQ(g.Apps()->size(), 1u);
}

TEST_F(AppGroupTest, AddAppRefusesBadNamesAndDuplicates) {
  AppGroup g = InitOrDie();
  for (const std::string& bad :
       std::vector<std::string>{"", "Dashboard", "a/b", "a.b", "*", "dash board", std::string(65, 'a')}) {
    auto r = g.AddApp(bad, Key(9));
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_TRUE(g.AddApp(std::string(64, 'a'), Key(9)).ok());

  ASSERT_TRUE(g.AddApp("dashboard", Key(1)).ok());
  auto same = g.AddApp("dashboard", Key(1));
  ASSERT_TRUE(same.ok());
  EXPECT_FALSE(*same);  // idempotent: nothing added
  auto other_key = g.AddApp("dashboard", Key(2));
  EXPECT_EQ(other_key.status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(other_key.status().message(), "app 'dashboard' is already registered in group " + dir_ +
                                              " with another public key (" + KeyHex("01") +
                                              "); remove it first to change its key");
  auto other_name = g.AddApp("reporter", Key(1));
  EXPECT_EQ(other_name.status().code(), StatusCode::kAlreadyExists);
  EXPECT_NE(other_name.status().message().find("already registered in group " + dir_ + " as app 'dashboard'"),
            std::string::npos)
      << other_name.status().message();
  EXPECT_EQ(g.Apps()->size(), 2u);
}

TEST_F(AppGroupTest, RefusesAMalformedOrNewerRegistry) {
  InitOrDie();
  const std::string reg = dir_ + "/apps.json";
  auto write = [&](const std::string& text) {
    std::ofstream(reg, std::ios::trunc) << text;
    ::chmod(reg.c_str(), 0600);
  };
  write("not json");
  EXPECT_EQ(AppGroup::Open(dir_).status().code(), StatusCode::kCorruption);
  write(R"({"apps":{"dashboard":"abc"},"format":"blazedb-app-group","version":1})");
  EXPECT_EQ(AppGroup::Open(dir_).status().code(), StatusCode::kCorruption);
  write(R"({"apps":{"Bad Name":")" + std::string(64, 'a') + R"("},"format":"blazedb-app-group","version":1})");
  EXPECT_EQ(AppGroup::Open(dir_).status().code(), StatusCode::kCorruption);
  write(R"({"apps":{"a":")" + std::string(64, 'a') + R"(","b":")" + std::string(64, 'a') +
        R"("},"format":"blazedb-app-group","version":1})");
  auto dup = AppGroup::Open(dir_);
  EXPECT_EQ(dup.status().code(), StatusCode::kCorruption);
  EXPECT_NE(dup.status().message().find("apps 'a' and 'b' have the same public key"), std::string::npos);
  write(R"({"apps":{},"format":"blazedb-app-group","version":2})");
  EXPECT_EQ(AppGroup::Open(dir_).status().code(), StatusCode::kNotSupported);
  write(R"({"apps":{},"format":"something-else","version":1})");
  EXPECT_EQ(AppGroup::Open(dir_).status().code(), StatusCode::kCorruption);
}

TEST_F(AppGroupTest, AFailedRegistryWriteLeavesTheOldRegistry) {
  AppGroup g = InitOrDie();
  ASSERT_TRUE(g.AddApp("dashboard", Key(1)).ok());
  const std::string before = Slurp(dir_ + "/apps.json");
  // Make the temporary file impossible to create: the write fails before
  // the rename, and apps.json must be exactly what it was.
  ASSERT_EQ(::mkdir((dir_ + "/apps.json.tmp").c_str(), 0700), 0);
  auto r = g.AddApp("reporter", Key(2));
  EXPECT_EQ(r.status().code(), StatusCode::kIOError) << r.status().ToString();
  EXPECT_EQ(Slurp(dir_ + "/apps.json"), before);
  EXPECT_EQ(g.Apps()->size(), 1u);
  ASSERT_EQ(::rmdir((dir_ + "/apps.json.tmp").c_str()), 0);
  // A temporary file left by a writer that crashed is garbage: the next
  // write replaces it, and no temporary remains.
  std::ofstream(dir_ + "/apps.json.tmp") << "half a regis";
  ASSERT_TRUE(AppGroup::Open(dir_).ok());
  ASSERT_TRUE(g.AddApp("reporter", Key(2)).ok());
  EXPECT_FALSE(fs::exists(dir_ + "/apps.json.tmp"));
  EXPECT_EQ(Mode(dir_ + "/apps.json"), 0600u);
  EXPECT_EQ(g.Apps()->size(), 2u);
}

TEST_F(AppGroupTest, ConcurrentRegistrationsAreAllKept) {
  InitOrDie();
  // Each thread uses its own AppGroup and so its own directory descriptor:
  // the flock serializes them as it would separate processes.
  std::vector<std::thread> threads;
  std::vector<Status> results(8);
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      auto g = AppGroup::Open(dir_);
      if (!g.ok()) {
        results[i] = g.status();
        return;
      }
      results[i] = g->AddApp("app" + std::to_string(i), Key(static_cast<uint8_t>(i + 1))).status();
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& s : results) EXPECT_TRUE(s.ok()) << s.ToString();
  auto apps = AppGroup::Open(dir_)->Apps();
  ASSERT_TRUE(apps.ok());
  EXPECT_EQ(apps->size(), 8u);
}

TEST_F(AppGroupTest, SocketPathsAreFileNamesInTheSocketFolder) {
  AppGroup g = InitOrDie();
  auto p = g.SocketPath("bugs.blazedb");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(*p, dir_ + "/sockets/bugs.blazedb.sock");
  for (const std::string& bad :
       std::vector<std::string>{"", "..", "../bugs", "a/b", ".hidden", "bugs db", std::string(129, 'a')}) {
    EXPECT_EQ(g.SocketPath(bad).status().code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(g.ClaimOwnership(bad).status().code(), StatusCode::kInvalidArgument) << bad;
  }
  // A path that does not fit sockaddr_un is refused up front, not at bind().
  std::string deep = tmp_.File(std::string(100, 'd'));
  auto long_group = AppGroup::Init(deep);
  ASSERT_TRUE(long_group.ok()) << long_group.status().ToString();
  auto too_long = long_group->SocketPath("bugs.blazedb");
  EXPECT_EQ(too_long.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(too_long.status().message().find("a Unix socket path is at most 107"), std::string::npos);
}

TEST_F(AppGroupTest, ASecondClaimInTheSameProcessIsRefused) {
  AppGroup g = InitOrDie();
  auto first = g.ClaimOwnership("bugs.blazedb");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_TRUE(first->held());
  EXPECT_FALSE(first->removed_stale_socket());
  EXPECT_EQ(first->socket_path(), dir_ + "/sockets/bugs.blazedb.sock");
  EXPECT_EQ(Slurp(dir_ + "/sockets/bugs.blazedb.lock"), std::to_string(::getpid()) + "\n");
  EXPECT_EQ(Mode(dir_ + "/sockets/bugs.blazedb.lock"), 0600u);

  auto second = AppGroup::Open(dir_)->ClaimOwnership("bugs.blazedb");
  EXPECT_EQ(second.status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(second.status().message(),
            "bugs.blazedb is already shared in group " + dir_ + " by process " + std::to_string(::getpid()));
  // Another database of the same group is independent.
  EXPECT_TRUE(g.ClaimOwnership("notes.blazedb").ok());

  // Moving the claim keeps it held; releasing it lets the next owner in.
  OwnershipClaim moved = std::move(first).value();
  EXPECT_TRUE(moved.held());
  EXPECT_EQ(g.ClaimOwnership("bugs.blazedb").status().code(), StatusCode::kAlreadyExists);
  moved.Release();
  EXPECT_FALSE(moved.held());
  EXPECT_EQ(Slurp(dir_ + "/sockets/bugs.blazedb.lock"), "");  // pid cleared
  EXPECT_TRUE(g.ClaimOwnership("bugs.blazedb").ok());
}

TEST_F(AppGroupTest, AClaimHeldByAnotherProcessIsRefusedUntilItDies) {
  AppGroup g = InitOrDie();
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // The child owns the database and serves a socket, then waits to be
    // killed like a crashing owner: no Release, the socket file stays.
    ::close(ready[0]);
    auto group = AppGroup::Open(dir_);
    if (!group.ok()) ::_exit(10);
    auto claim = group->ClaimOwnership("bugs.blazedb");
    if (!claim.ok()) ::_exit(11);
    if (BindUnix(claim->socket_path()) < 0) ::_exit(12);
    char c = 'y';
    if (::write(ready[1], &c, 1) != 1) ::_exit(13);
    for (;;) ::pause();
  }
  ::close(ready[1]);
  char c = 0;
  ASSERT_EQ(::read(ready[0], &c, 1), 1) << "the child failed to claim";
  ::close(ready[0]);

  auto refused = g.ClaimOwnership("bugs.blazedb");
  EXPECT_EQ(refused.status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(refused.status().message(),
            "bugs.blazedb is already shared in group " + dir_ + " by process " + std::to_string(child));
  EXPECT_TRUE(fs::is_socket(dir_ + "/sockets/bugs.blazedb.sock"));  // a refusal touches nothing

  ASSERT_EQ(::kill(child, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status));

  // The kernel dropped the dead owner's lock; its socket file is stale.
  auto claim = g.ClaimOwnership("bugs.blazedb");
  ASSERT_TRUE(claim.ok()) << claim.status().ToString();
  EXPECT_TRUE(claim->removed_stale_socket());
  EXPECT_FALSE(fs::exists(claim->socket_path()));
  EXPECT_EQ(Slurp(dir_ + "/sockets/bugs.blazedb.lock"), std::to_string(::getpid()) + "\n");
  int fd = BindUnix(claim->socket_path());
  EXPECT_GE(fd, 0) << "the new owner cannot bind: " << std::strerror(errno);
  if (fd >= 0) ::close(fd);
}

TEST_F(AppGroupTest, AStaleSocketIsReplacedAndReleaseRemovesTheSocket) {
  AppGroup g = InitOrDie();
  auto path = g.SocketPath("bugs.blazedb");
  ASSERT_TRUE(path.ok());
  int stale = BindUnix(*path);
  ASSERT_GE(stale, 0);
  ::close(stale);  // the file stays, as after a crash
  ASSERT_TRUE(fs::is_socket(*path));
  EXPECT_LT(BindUnix(*path), 0);  // which is why it must go

  auto claim = g.ClaimOwnership("bugs.blazedb");
  ASSERT_TRUE(claim.ok()) << claim.status().ToString();
  EXPECT_TRUE(claim->removed_stale_socket());
  int fd = BindUnix(*path);
  ASSERT_GE(fd, 0);
  claim->Release();
  EXPECT_FALSE(fs::exists(*path));
  ::close(fd);
}

TEST_F(AppGroupTest, SomethingElseAtTheSocketPathIsLeftAlone) {
  AppGroup g = InitOrDie();
  std::string path = *g.SocketPath("bugs.blazedb");
  std::ofstream(path) << "precious";
  auto claim = g.ClaimOwnership("bugs.blazedb");
  EXPECT_EQ(claim.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(claim.status().message().find("exists and is not a socket"), std::string::npos);
  EXPECT_EQ(Slurp(path), "precious");
  // The failed claim did not keep the lock.
  fs::remove(path);
  EXPECT_TRUE(g.ClaimOwnership("bugs.blazedb").ok());
}

}  // namespace
}  // namespace blaze
