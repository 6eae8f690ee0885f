// access_test.cc — parsing the relay's access file: what it accepts and each
// way it refuses a file (with an error naming the problem).
#include "net/access.h"

#include <gtest/gtest.h>

namespace blaze::net {
namespace {

const std::string kA(64, 'a');
const std::string kB(64, 'b');

std::string File(const std::string& users, const std::string& databases) {
  return "{\"users\": {" + users + "}, \"databases\": {" + databases + "}}";
}

std::string ErrorOf(const std::string& json) {
  auto r = AccessList::Parse(json);
  EXPECT_FALSE(r.ok()) << json;
  if (r.ok()) return "";
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  return r.status().message();
}

TEST(AccessFileTest, MapsKeysToUsersAndUsersToDatabases) {
  auto r = AccessList::Parse(File(R"("alice": {"keys": [")" + kA + R"("]}, "bob": {"keys": [")" + kB + R"("]})",
                                  R"("bugs": {"mode": "smart", "users": ["alice"]}, "all": {"mode": "smart", "users": ["alice", "bob"]})"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  PublicKey a = *PublicKeyFromHex(kA), b = *PublicKeyFromHex(kB), c{};
  EXPECT_EQ((*r)->UserOf(a), "alice");
  EXPECT_EQ((*r)->UserOf(b), "bob");
  EXPECT_FALSE((*r)->UserOf(c).has_value());
  EXPECT_TRUE((*r)->MayOpen("alice", "bugs"));
  EXPECT_FALSE((*r)->MayOpen("bob", "bugs"));
  EXPECT_TRUE((*r)->MayOpen("bob", "all"));
  EXPECT_FALSE((*r)->MayOpen("alice", "nothing"));
}

TEST(AccessFileTest, RefusesEachKindOfMistakeNamingIt) {
  const std::string alice = R"("alice": {"keys": [")" + kA + R"("]})";
  EXPECT_NE(ErrorOf(File(alice, R"("bugs": {"mode": "blind", "users": ["alice"]})")).find("not supported yet"),
            std::string::npos);
  EXPECT_NE(ErrorOf(File(alice, R"("bugs": {"mode": "clever", "users": ["alice"]})")).find("unknown mode"),
            std::string::npos);
  EXPECT_NE(ErrorOf(File(alice, R"("bugs": {"users": ["alice"]})")).find("\"mode\" is required"), std::string::npos);
  EXPECT_NE(ErrorOf(File(R"("alice": {"keys": ["abc"]})", "")).find("64 lower-case hex"), std::string::npos);
  EXPECT_NE(ErrorOf(File(R"("alice": {"keys": [")" + std::string(64, 'A') + R"("]})", "")).find("64 lower-case hex"),
            std::string::npos);
  EXPECT_NE(ErrorOf(File(alice + R"(, "bob": {"keys": [")" + kA + R"("]})", "")).find("listed twice"),
            std::string::npos);
  EXPECT_NE(ErrorOf(File(R"("alice": {"keys": [")" + kA + "\", \"" + kA + R"("]})", "")).find("listed twice"),
            std::string::npos);
  EXPECT_NE(ErrorOf(File(alice, R"("bugs": {"mode": "smart", "users": ["mallory"]})")).find("\"mallory\" is not in"),
            std::string::npos);
  EXPECT_NE(ErrorOf(File(alice, R"("bugs": {"mode": "smart", "users": ["alice", "alice"]})")).find("listed twice"),
            std::string::npos);
  EXPECT_NE(ErrorOf(File(alice, R"("../x": {"mode": "smart", "users": []})")).find("database name"),
            std::string::npos);
  EXPECT_NE(ErrorOf(File(alice, R"("Bugs": {"mode": "smart", "users": []})")).find("database name"),
            std::string::npos);
  // Duplicate JSON keys: a second entry could silently widen access.
  EXPECT_NE(ErrorOf(File(alice + ", " + alice, "")).find("alice"), std::string::npos);
  EXPECT_NE(ErrorOf(File(alice, R"("bugs": {"mode": "smart", "users": [], "users": ["alice"]})")).find("users"),
            std::string::npos);
  // Unknown fields at any level are refused (fail closed), naming the field.
  EXPECT_NE(ErrorOf("{\"users\": {}, \"databases\": {}, \"roles\": {}}").find("\"roles\""), std::string::npos);
  EXPECT_NE(ErrorOf(File(R"("alice": {"keys": [], "team": "x"})", "")).find("\"team\""), std::string::npos);
  EXPECT_NE(ErrorOf(File(alice, R"("bugs": {"mode": "smart", "users": [], "policy": {}})")).find("\"policy\""),
            std::string::npos);
  EXPECT_NE(ErrorOf("{\"users\": {}}").find("\"databases\""), std::string::npos);
  EXPECT_NE(ErrorOf("[]").find("JSON object"), std::string::npos);
  EXPECT_FALSE(ErrorOf("{\"users\": ").empty());
}

TEST(AccessFileTest, ReadingAMissingFileNamesIt) {
  auto r = ReadAccessFile("/nonexistent/access.json");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("/nonexistent/access.json"), std::string::npos);
}

}  // namespace
}  // namespace blaze::net
