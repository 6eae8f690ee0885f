// query_eval_test.cc — tests of Bind and Matches: a table of documents ×
// queries with the expected answer for every rule of docs/query-language.md
// (missing vs null, exact int/double comparison, bools vs numbers, bytes,
// nested maps, arrays, contains, in, exists, logic, _id), plus Bind errors.
#include "query/query.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

#include "blaze/json.h"

namespace blaze::query {
namespace {

// A document with one field of every kind.
constexpr char kRichDoc[] = R"({
  "s": "open", "e": "", "u": "é", "num_text": "2",
  "i": 2, "neg": -3, "d": 2.5, "dw": 2.0, "zero": 0, "negzero": -0.0,
  "big": 9007199254740993, "bigd": 9007199254740992.0,
  "max": 9223372036854775807, "min": -9223372036854775808, "two63": 9223372036854775808.0,
  "t": true, "f": false, "z": null,
  "b": {"$bytes": "AAE="},
  "arr": [1, "x", null, true, 2.5, {"$bytes": "AA=="}, [7], {"k": 1}],
  "nums": [1, 2.0, 9007199254740993],
  "empty_arr": [],
  "m": {"a": 1, "z": null, "n": {"x": "y"}, "arr": ["p", "q"]}
})";

Value ParseDoc(std::string_view json) {
  auto v = ParseJson(json);
  EXPECT_TRUE(v.ok()) << v.status().message();
  return v.ok() ? *v : Value::EmptyMap();
}

// Parses, binds and evaluates; failures to parse or bind are test failures.
bool Eval(std::string_view text, const Value& doc, std::string_view id = "rec-1", const Bindings& vars = {}) {
  auto q = Parse(text);
  EXPECT_TRUE(q.ok()) << text << ": " << q.status().message();
  if (!q.ok()) return false;
  auto b = Bind(*q, vars);
  EXPECT_TRUE(b.ok()) << text << ": " << b.status().message();
  if (!b.ok()) return false;
  return Matches(*b, id, doc);
}

struct Case {
  const char* query;
  bool rich;   // against kRichDoc
  bool empty;  // against {}
};

void RunCases(const std::vector<Case>& cases) {
  const Value rich = ParseDoc(kRichDoc);
  const Value empty = Value::EmptyMap();
  for (const Case& c : cases) {
    EXPECT_EQ(Eval(c.query, rich), c.rich) << "rich doc: " << c.query;
    EXPECT_EQ(Eval(c.query, empty), c.empty) << "empty doc: " << c.query;
  }
}

TEST(QueryEvalTest, MissingVersusNull) {
  RunCases({
      {"z == null", true, true},         {"nope == null", true, true},   {"z != null", false, false},
      {"s == null", false, true},        {"i != null", true, false},     {"exists z", true, false},
      {"exists nope", false, false},     {"exists m", true, false},      {"exists m.z", true, false},
      {"m.z == null", true, true},       {"exists m.n.x", true, false},  {"m.n.x == 'y'", true, false},
      {"s.x == null", true, true},       {"exists s.x", false, false},   {"exists arr.x", false, false},
      {"exists b.x", false, false},      {"m.n.x.y == null", true, true}, {"exists m.nope.x", false, false},
      {"z == false", false, false},      {"z == 0", false, false},       {"z == ''", false, false},
      {"nope == false", false, false},   {"z < 1", false, false},        {"z >= null", false, false},
      {"z <= null", false, false},       {"nope < ''", false, false},    {"z in [null]", true, true},
      {"nope in [null, 1]", true, true}, {"nope in [1]", false, false},  {"z in []", false, false},
  });
}

TEST(QueryEvalTest, NumbersCompareExactlyAcrossIntAndDouble) {
  RunCases({
      {"i == 2", true, false},
      {"i == 2.0", true, false},
      {"dw == 2", true, false},
      {"d == 2.5", true, false},
      {"i != 2.5", true, true},
      {"zero == -0.0", true, false},
      {"negzero == 0", true, false},
      {"big == 9007199254740993", true, false},
      {"big == 9007199254740992.0", false, false},
      {"big != 9007199254740992.0", true, true},
      {"big > 9007199254740992.0", true, false},
      {"big >= 9007199254740994.0", false, false},
      {"bigd == 9007199254740992", true, false},
      {"bigd == 9007199254740993", false, false},
      {"bigd < 9007199254740993", true, false},
      {"max == 9223372036854775807", true, false},
      {"max == 9223372036854775808", false, false},  // the literal is the double 2^63
      {"max < 9223372036854775808", true, false},
      {"max < 9.223372036854775807e18", true, false},  // same double, 2^63
      {"two63 > 9223372036854775807", true, false},
      {"two63 == 9223372036854775808", true, false},
      {"min == -9223372036854775808", true, false},
      {"min == -9223372036854775808.0", true, false},
      {"min > -9223372036854775809", false, false},  // both are -2^63
      {"min >= -9.3e18", true, false},
      {"neg < -2.5", true, false},
      {"neg <= -3", true, false},
      {"neg > -3.5", true, false},
      {"d >= 2.5", true, false},
      {"d > 2.5", false, false},
      {"d < 2.5000000000000004", true, false},
      {"i in [1, 2.0]", true, false},
      {"i in ['2', true]", false, false},
      {"i in []", false, false},
  });
}

TEST(QueryEvalTest, TypesNeverMix) {
  RunCases({
      {"i == '2'", false, false},   {"num_text == 2", false, false}, {"num_text > 1", false, false},
      {"i < '5'", false, false},    {"i > '5'", false, false},       {"s < 5", false, false},
      {"s > 5", false, false},      {"t == 1", false, false},        {"t == true", true, false},
      {"t != true", false, true},   {"f == false", true, false},     {"f == 0", false, false},
      {"t == 'true'", false, false}, {"t > 0", false, false},        {"t >= false", false, false},
      {"f < true", false, false},   {"zero == false", false, false}, {"i == true", false, false},
      {"s == true", false, false},  {"m == null", false, true},      {"m != null", true, false},
      {"arr == 1", false, false},   {"arr != 1", true, true},        {"empty_arr == null", false, true},
      {"m > 0", false, false},      {"arr < 'z'", false, false},
  });
}

TEST(QueryEvalTest, StringsCompareByBytes) {
  RunCases({
      {"s == 'open'", true, false},   {"s == \"open\"", true, false}, {"s != 'open'", false, true},
      {"s == 'Open'", false, false},  {"s < 'opf'", true, false},     {"s > 'ope'", true, false},
      {"s < 'Open'", false, false},   {"s > 'Open'", true, false},    {"s >= 'open'", true, false},
      {"s <= 'open'", true, false},   {"s < 'open '", true, false},   {"u > 'z'", true, false},
      {"u == '\\u00e9'", true, false}, {"e == ''", true, false},      {"e < 'a'", true, false},
      {"s >= ''", true, false},       {"e > ''", false, false},       {"s in ['x', 'open']", true, false},
  });
}

TEST(QueryEvalTest, Bytes) {
  RunCases({
      {"b == null", false, true}, {"exists b", true, false},     {"b == 'AAE='", false, false},
      {"b != 1", true, true},     {"b < 'z'", false, false},     {"b > 0", false, false},
      {"b contains 0", false, false}, {"b contains 'A'", false, false}, {"b in [null, 'AAE=']", false, true},
  });
}

TEST(QueryEvalTest, Contains) {
  RunCases({
      {"arr contains 1", true, false},         {"arr contains 1.0", true, false},
      {"arr contains 'x'", true, false},       {"arr contains null", true, false},
      {"arr contains true", true, false},      {"arr contains false", false, false},
      {"arr contains 2.5", true, false},       {"arr contains '1'", false, false},
      {"arr contains 3", false, false},        {"arr contains 7", false, false},  // no recursion into [7]
      {"arr contains 'AA=='", false, false},   {"nums contains 2", true, false},
      {"nums contains 9007199254740992.0", false, false},
      {"nums contains 9007199254740993", true, false},
      {"empty_arr contains null", false, false}, {"nope contains null", false, false},
      {"z contains null", false, false},       {"m.arr contains 'q'", true, false},
      {"s contains 'pe'", true, false},        {"s contains 'open'", true, false},
      {"s contains 'opens'", false, false},    {"s contains ''", true, false},
      {"e contains ''", true, false},          {"s contains 'x'", false, false},
      {"s contains 'P'", false, false},        {"u contains '\\u00e9'", true, false},
      {"s contains null", false, false},       {"num_text contains 2", false, false},
      {"i contains 2", false, false},          {"m contains 'a'", false, false},
      {"!(arr contains 'x')", false, true},    {"t contains true", false, false},
  });
}

TEST(QueryEvalTest, Logic) {
  RunCases({
      {"", true, true},
      {"   ", true, true},
      {"!(i == 2)", false, true},
      {"!!(i == 2)", true, false},
      {"!i == 2", false, true},
      {"i == 2 && s == 'open'", true, false},
      {"i == 3 && s == 'open'", false, false},
      {"i == 3 || s == 'open'", true, false},
      {"i == 3 || nope == null", true, true},
      {"i == 2 || s == 'x' && t == false", true, false},    // && binds tighter
      {"(i == 2 || s == 'x') && t == false", false, false},
      {"!exists nope && !exists z", false, true},
      {"!(exists nope || exists z)", false, true},
      {"exists i && exists d && exists m.n && !(m.a != 1)", true, false},
  });
}

TEST(QueryEvalTest, RecordId) {
  RunCases({
      {"_id == 'rec-1'", true, true},    {"_id != 'rec-1'", false, false},  {"_id == null", false, false},
      {"_id != null", true, true},       {"exists _id", true, true},        {"_id < 'rec-2'", true, true},
      {"_id > 'rec-'", true, true},      {"_id contains 'c-'", true, true}, {"_id contains 1", false, false},
      {"_id in ['a', 'rec-1']", true, true}, {"_id in ['a']", false, false}, {"_id == 1", false, false},
      {"_id > 1", false, false},         {"!(_id == 'x')", true, true},
  });
  // A document field named _id is not the id; n._id is an ordinary path.
  const Value doc = ParseDoc(R"({"_id": "other", "n": {"_id": 5}})");
  EXPECT_TRUE(Eval("_id == 'real'", doc, "real"));
  EXPECT_FALSE(Eval("_id == 'other'", doc, "real"));
  EXPECT_TRUE(Eval("n._id == 5", doc, "real"));
}

TEST(QueryEvalTest, NonFiniteDocumentDoublesCountAsNull) {
  Value::Map m;
  m["nan"] = Value(std::numeric_limits<double>::quiet_NaN());
  m["inf"] = Value(std::numeric_limits<double>::infinity());
  m["arr"] = Value(Value::Array{Value(-std::numeric_limits<double>::infinity())});
  const Value doc(m);
  EXPECT_TRUE(Eval("nan == null", doc));
  EXPECT_TRUE(Eval("inf == null", doc));
  EXPECT_FALSE(Eval("inf > 0", doc));
  EXPECT_TRUE(Eval("exists nan", doc));
  EXPECT_TRUE(Eval("arr contains null", doc));
  EXPECT_FALSE(Eval("nan != null", doc));
}

TEST(QueryEvalTest, DocumentThatIsNotAMap) {
  EXPECT_TRUE(Eval("a == null", Value(5)));
  EXPECT_FALSE(Eval("exists a", Value(Value::Array{Value(1)})));
  EXPECT_TRUE(Eval("_id == 'rec-1'", Value()));
}

TEST(QueryEvalTest, BoundVariables) {
  const Value rich = ParseDoc(kRichDoc);
  EXPECT_TRUE(Eval("i == $x", rich, "r", {{"x", Value(2)}}));
  EXPECT_TRUE(Eval("i == $x", rich, "r", {{"x", Value(2.0)}}));
  EXPECT_FALSE(Eval("i == $x", rich, "r", {{"x", Value("2")}}));
  EXPECT_TRUE(Eval("z == $x && nope == $x", rich, "r", {{"x", Value()}}));
  EXPECT_TRUE(Eval("t == $x", rich, "r", {{"x", Value(true)}}));
  EXPECT_TRUE(Eval("s contains $x", rich, "r", {{"x", Value("pe")}}));
  EXPECT_TRUE(Eval("i in [$a, $b]", rich, "r", {{"a", Value(1)}, {"b", Value(2)}}));
  EXPECT_TRUE(Eval("i in $l", rich, "r", {{"l", Value(Value::Array{Value("x"), Value(2.0)})}}));
  EXPECT_FALSE(Eval("i in $l", rich, "r", {{"l", Value::EmptyArray()}}));
  EXPECT_TRUE(Eval("nope in $l", rich, "r", {{"l", Value(Value::Array{Value()})}}));
  EXPECT_TRUE(Eval("_id == $id", rich, "r", {{"id", Value("r")}}));
  // Unused bindings are fine; after Bind no operand is a variable.
  auto q = Parse("a in $l && b == $x");
  ASSERT_TRUE(q.ok());
  auto b = Bind(*q, {{"l", Value(Value::Array{Value(1), Value("y")})}, {"x", Value(3)}, {"unused", Value(1)}});
  ASSERT_TRUE(b.ok()) << b.status().message();
  const Expr& in = *b->root().children[0];
  ASSERT_EQ(in.operands.size(), 2u);
  EXPECT_EQ(std::get<Value>(in.operands[1].v), Value("y"));
  EXPECT_EQ(std::get<Value>(b->root().children[1]->operands[0].v), Value(3));
}

std::string BindError(std::string_view text, const Bindings& vars) {
  auto q = Parse(text);
  EXPECT_TRUE(q.ok()) << q.status().message();
  if (!q.ok()) return "";
  auto b = Bind(*q, vars);
  if (b.ok()) return "bound";
  EXPECT_EQ(b.status().code(), StatusCode::kInvalidArgument);
  return b.status().message();
}

TEST(QueryEvalTest, BindErrors) {
  const Value bytes = Value::FromBytes({1, 2});
  const Value array(Value::Array{Value(1)});
  const Value map(Value::Map{{"k", Value(1)}});
  EXPECT_EQ(BindError("a == $x", {}), "query variable $x is not bound");
  EXPECT_EQ(BindError("a == 1 || b in [1, $y]", {}), "query variable $y is not bound");
  EXPECT_EQ(BindError("a in $list", {}), "query variable $list is not bound");
  EXPECT_EQ(BindError("a == $x", {{"x", bytes}}),
            "query variable $x is bound to a bytes value, but '==' takes null, bool, int, double or string");
  EXPECT_EQ(BindError("a < $x", {{"x", array}}),
            "query variable $x is bound to an array, but '<' takes null, bool, int, double or string");
  EXPECT_EQ(BindError("a contains $x", {{"x", map}}),
            "query variable $x is bound to a map, but 'contains' takes null, bool, int, double or string");
  EXPECT_EQ(BindError("a in [$x]", {{"x", map}}),
            "query variable $x is bound to a map, but 'in' takes null, bool, int, double or string");
  EXPECT_EQ(BindError("a != $x", {{"x", Value(std::nan(""))}}),
            "query variable $x is bound to a non-finite double, but '!=' takes null, bool, int, double or string");
  EXPECT_EQ(BindError("a == $x", {{"x", Value(std::string("\xff"))}}),
            "query variable $x is bound to a string that is not valid UTF-8, but '==' takes null, bool, int, double "
            "or string");
  EXPECT_EQ(BindError("a in $l", {{"l", Value(1)}}),
            "query variable $l must be bound to an array of null, bool, int, double or string values for 'in', "
            "found an int");
  EXPECT_EQ(BindError("a in $l", {{"l", map}}),
            "query variable $l must be bound to an array of null, bool, int, double or string values for 'in', "
            "found a map");
  EXPECT_EQ(BindError("a in $l", {{"l", Value(Value::Array{Value(1), array})}}),
            "query variable $l must be bound to an array of null, bool, int, double or string values for 'in', "
            "found an array holding an array at index 1");
  EXPECT_EQ(BindError("a in $l", {{"l", Value(Value::Array{bytes})}}),
            "query variable $l must be bound to an array of null, bool, int, double or string values for 'in', "
            "found an array holding a bytes value at index 0");
}

}  // namespace
}  // namespace blaze::query
