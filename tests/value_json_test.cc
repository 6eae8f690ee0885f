#include "blaze/json.h"

#include <gtest/gtest.h>

namespace blaze {
namespace {

TEST(JsonTest, ParsesEveryType) {
  auto v = ParseJson(R"({"n":null,"t":true,"f":false,"i":-42,"d":2.5,"s":"héllo","a":[1,"x"],"m":{"k":1}})");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_TRUE(v->Find("n")->is_null());
  EXPECT_EQ(*v->Find("t"), Value(true));
  EXPECT_EQ(*v->Find("i"), Value(-42));
  EXPECT_EQ(*v->Find("d"), Value(2.5));
  EXPECT_EQ(*v->Find("s"), Value("héllo"));
  EXPECT_EQ(v->Find("a")->as_array().size(), 2u);
  EXPECT_EQ(*v->Find("m")->Find("k"), Value(1));
}

TEST(JsonTest, IntegersBeyondInt64BecomeDoubles) {
  auto v = ParseJson("[9223372036854775807, 9223372036854775808, -9223372036854775808]");
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->as_array()[0].is_int());
  EXPECT_TRUE(v->as_array()[1].is_double());
  EXPECT_EQ(v->as_array()[2], Value(INT64_MIN));
}

TEST(JsonTest, BytesRoundTripAsTaggedBase64) {
  Value b = Value::FromBytes({0x00, 0xFF, 0x10});
  Value doc(Value::Map{{"b", b}});
  std::string text = ToJson(doc);
  EXPECT_EQ(text, R"({"b":{"$bytes":"AP8Q"}})");
  auto back = ParseJson(text);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, doc);
}

TEST(JsonTest, RejectsInvalidBase64InBytes) {
  auto v = ParseJson(R"({"$bytes":"not base64!"})");
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(v.status().message().find("base64"), std::string::npos);
}

TEST(JsonTest, RefusesARawNulInsteadOfStoppingThere) {
  // The parser underneath reads a NUL as the end of the text: "{}\0junk"
  // parsed as {} and the rest was silently ignored.
  auto v = ParseJson(std::string_view("{\"a\":1}\0{\"b\":2}", 15));
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(v.status().message().find("NUL byte at offset 7"), std::string::npos) << v.status().message();
  EXPECT_FALSE(ParseJson(std::string_view("\0", 1)).ok());
  // Escaped, a NUL is fine inside a string.
  auto escaped = ParseJson(R"({"s":"a\u0000b"})");
  ASSERT_TRUE(escaped.ok());
  EXPECT_EQ(escaped->Find("s")->as_string(), std::string("a\0b", 3));
}

TEST(JsonTest, ReportsWhereTheSyntaxErrorIs) {
  auto v = ParseJson(R"({"a": 1,})");
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(v.status().message().find("invalid JSON at byte"), std::string::npos) << v.status().message();
}

TEST(JsonTest, RejectsTrailingGarbageAndEmptyInput) {
  EXPECT_FALSE(ParseJson("{} x").ok());
  EXPECT_FALSE(ParseJson("").ok());
  EXPECT_FALSE(ParseJson("   ").ok());
}

TEST(JsonTest, RejectsInvalidUtf8) {
  EXPECT_FALSE(ParseJson("\"\xff\"").ok());
  EXPECT_FALSE(ParseJson("\"\xc0\xaf\"").ok());  // overlong '/'
}

TEST(JsonTest, RejectsDeepNestingWithoutCrashing) {
  std::string deep(100000, '[');
  auto v = ParseJson(deep);
  ASSERT_FALSE(v.ok());
  std::string ok_depth = std::string(kMaxJsonDepth, '[') + std::string(kMaxJsonDepth, ']');
  EXPECT_TRUE(ParseJson(ok_depth).ok());
  std::string too_deep = std::string(kMaxJsonDepth + 1, '[') + std::string(kMaxJsonDepth + 1, ']');
  EXPECT_FALSE(ParseJson(too_deep).ok());
}

TEST(JsonTest, WritesDoublesSoTheyReadBackExactly) {
  for (double d : {0.1, 1.0 / 3, 2.0, -0.0, 1e300, 5e-324}) {
    auto back = ParseJson(ToJson(Value(d)));
    ASSERT_TRUE(back.ok());
    ASSERT_TRUE(back->is_double()) << ToJson(Value(d));
    EXPECT_EQ(back->as_double(), d);
  }
}

TEST(JsonTest, EscapesControlCharactersAndQuotes) {
  Value s(std::string("a\"b\\c\n\x01", 7));
  auto back = ParseJson(ToJson(s));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, s);
}

}  // namespace
}  // namespace blaze
