#include "blaze/binary.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace blaze {
namespace {

std::string Hex(const std::string& s) {
  static const char* d = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out += d[c >> 4];
    out += d[c & 15];
  }
  return out;
}

std::string Unhex(const std::string& h) {
  std::string out;
  for (size_t i = 0; i + 1 < h.size(); i += 2) out += static_cast<char>(std::stoi(h.substr(i, 2), nullptr, 16));
  return out;
}

TEST(BlazeBinaryTest, UsesCompactFormsForSmallValues) {
  EXPECT_EQ(Hex(EncodeBinary(Value())), "f100");
  EXPECT_EQ(Hex(EncodeBinary(Value(true))), "f102");
  EXPECT_EQ(Hex(EncodeBinary(Value(0))), "f140");
  EXPECT_EQ(Hex(EncodeBinary(Value(63))), "f17f");
  EXPECT_EQ(Hex(EncodeBinary(Value(-32))), "f120");
  EXPECT_EQ(Hex(EncodeBinary(Value(64))), "f1038001");  // zigzag 128
  EXPECT_EQ(Hex(EncodeBinary(Value("ab"))), "f1826162");
  EXPECT_EQ(Hex(EncodeBinary(Value(Value::Array{Value(1)}))), "f1a141");
  EXPECT_EQ(Hex(EncodeBinary(Value(Value::Map{{"k", Value(1)}}))), "f1b1016b41");
}

TEST(BlazeBinaryTest, RoundTripsEdgeValues) {
  std::vector<Value> values = {
      Value(INT64_MIN), Value(INT64_MAX), Value(-33), Value(std::numeric_limits<double>::infinity()),
      Value(-0.0), Value(std::string(31, 'x')), Value(std::string(32, 'y')), Value::FromBytes({}),
      Value::FromBytes(Value::Bytes(1000, 7)), Value(Value::Array(16, Value(1))),
  };
  Value::Map big;
  for (int i = 0; i < 20; ++i) big["k" + std::to_string(100 + i)] = Value(i);
  values.push_back(Value(big));
  for (const Value& v : values) {
    auto back = DecodeBinary(EncodeBinary(v));
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(*back, v);
  }
}

TEST(BlazeBinaryTest, CanonicalizesNaN) {
  double weird_nan = std::bit_cast<double>(uint64_t{0x7FF0000000000001});
  auto back = DecodeBinary(EncodeBinary(Value(weird_nan)));
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(std::isnan(back->as_double()));
  // A NaN with another payload is not canonical.
  EXPECT_FALSE(DecodeBinary(Unhex("f104010000000000f07f")).ok());
}

TEST(BlazeBinaryTest, RejectsNonCanonicalAndMalformedInput) {
  const char* bad[] = {
      "",                    // no format byte
      "f0",                  // wrong format byte
      "f1",                  // no value
      "f1ff",                // reserved tag
      "f10300",              // int 0 in long form
      "f1038080",            // truncated varint
      "f103ff00",            // overlong varint
      "f10501",              // long string of length 1
      "f1846162",            // short string shorter than its length
      "f1826162ff",          // trailing byte
      "f182ff61",            // invalid UTF-8
      "f1b2016241016141",    // map keys out of order: "b" then "a"
      "f1b2016141016141",    // duplicate keys
      "f1a5",                // array count beyond input
      "f1b1",                // map with missing entry
      "f1060a",              // bytes longer than input
      "f107ffffffffffffffffff01",  // huge array count
  };
  for (const char* h : bad) {
    auto r = DecodeBinary(Unhex(h));
    EXPECT_FALSE(r.ok()) << h;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), StatusCode::kCorruption) << h;
    }
  }
}

TEST(BlazeBinaryTest, RejectsNestingBeyondTheLimit) {
  std::string deep(1, static_cast<char>(kBlazeBinaryV1));
  deep += std::string(100000, static_cast<char>(0xA1));  // arrays of one element, forever
  deep += '\0';
  EXPECT_FALSE(DecodeBinary(deep).ok());
}

}  // namespace
}  // namespace blaze
