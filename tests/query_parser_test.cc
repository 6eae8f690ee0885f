// query_parser_test.cc — tests of Parse and ParsePath: every construct,
// precedence, keywords, string escapes, numbers, exact error messages with
// their columns, and the nesting limit.
#include "query/query.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "blaze/json.h"

namespace blaze::query {
namespace {

std::string OpName(CmpOp op) {
  switch (op) {
    case CmpOp::kEq: return "==";
    case CmpOp::kNe: return "!=";
    case CmpOp::kLt: return "<";
    case CmpOp::kLe: return "<=";
    case CmpOp::kGt: return ">";
    case CmpOp::kGe: return ">=";
  }
  return "?";
}

// Operands print as JSON (so 2 and 2.0 differ) or $name.
std::string OperandText(const Operand& o) {
  if (const auto* name = std::get_if<std::string>(&o.v)) return "$" + *name;
  return ToJson(std::get<Value>(o.v));
}

// The AST as an s-expression, e.g. (or (== a 1) (and (! (exists b)) ...)).
std::string Dump(const Expr& e) {
  std::string out;
  switch (e.kind) {
    case Expr::Kind::kTrue: return "true";
    case Expr::Kind::kAnd:
    case Expr::Kind::kOr:
    case Expr::Kind::kNot:
      out = e.kind == Expr::Kind::kAnd ? "(and" : e.kind == Expr::Kind::kOr ? "(or" : "(!";
      for (const auto& c : e.children) out += " " + Dump(*c);
      return out + ")";
    case Expr::Kind::kExists: return "(exists " + e.path.ToString() + ")";
    case Expr::Kind::kCompare: return "(" + OpName(e.op) + " " + e.path.ToString() + " " + OperandText(e.operands[0]) + ")";
    case Expr::Kind::kContains: return "(contains " + e.path.ToString() + " " + OperandText(e.operands[0]) + ")";
    case Expr::Kind::kIn:
      if (!e.list_variable.empty()) return "(in " + e.path.ToString() + " $" + e.list_variable + ")";
      out = "(in " + e.path.ToString() + " [";
      for (size_t i = 0; i < e.operands.size(); ++i) out += (i ? "," : "") + OperandText(e.operands[i]);
      return out + "])";
  }
  return "?";
}

std::string ParseDump(std::string_view text) {
  auto q = Parse(text);
  if (!q.ok()) return "ERROR: " + q.status().message();
  EXPECT_EQ(q->text(), text);
  return Dump(q->root());
}

std::string ParseError(std::string_view text) {
  auto q = Parse(text);
  if (q.ok()) return "parsed as " + Dump(q->root());
  EXPECT_EQ(q.status().code(), StatusCode::kInvalidArgument);
  return q.status().message();
}

// The single operand of a one-comparison query.
Value Literal(std::string_view text) {
  auto q = Parse(text);
  EXPECT_TRUE(q.ok()) << text << ": " << q.status().message();
  if (!q.ok() || q->root().kind != Expr::Kind::kCompare) return Value("<not a comparison>");
  return std::get<Value>(q->root().operands[0].v);
}

TEST(QueryParserTest, EmptyAndBlankQueriesMatchEverything) {
  EXPECT_EQ(ParseDump(""), "true");
  EXPECT_EQ(ParseDump("  \t\r\n "), "true");
}

TEST(QueryParserTest, Comparisons) {
  EXPECT_EQ(ParseDump("a == 1"), "(== a 1)");
  EXPECT_EQ(ParseDump("a != 1"), "(!= a 1)");
  EXPECT_EQ(ParseDump("a < 1"), "(< a 1)");
  EXPECT_EQ(ParseDump("a <= 1"), "(<= a 1)");
  EXPECT_EQ(ParseDump("a > 1"), "(> a 1)");
  EXPECT_EQ(ParseDump("a >= 1"), "(>= a 1)");
  EXPECT_EQ(ParseDump("a==\"x\""), "(== a \"x\")");
  EXPECT_EQ(ParseDump("a == true"), "(== a true)");
  EXPECT_EQ(ParseDump("a == false"), "(== a false)");
  EXPECT_EQ(ParseDump("a == null"), "(== a null)");
  EXPECT_EQ(ParseDump("a == $x"), "(== a $x)");
  EXPECT_EQ(ParseDump("a.b.c_1 >= -2.5"), "(>= a.b.c_1 -2.5)");
  EXPECT_EQ(ParseDump("_id == 'r1'"), "(== _id \"r1\")");
  EXPECT_EQ(ParseDump("\ta\n.\nb\r==\f1 "), "(== a.b 1)");
}

TEST(QueryParserTest, ExistsInContains) {
  EXPECT_EQ(ParseDump("exists a.b"), "(exists a.b)");
  EXPECT_EQ(ParseDump("a in []"), "(in a [])");
  EXPECT_EQ(ParseDump("a in [1, 'x', null, true, $v, 2.5]"), "(in a [1,\"x\",null,true,$v,2.5])");
  EXPECT_EQ(ParseDump("a in[1]"), "(in a [1])");
  EXPECT_EQ(ParseDump("a in $list"), "(in a $list)");
  EXPECT_EQ(ParseDump("tags contains \"x\""), "(contains tags \"x\")");
  EXPECT_EQ(ParseDump("tags contains $t"), "(contains tags $t)");
  EXPECT_EQ(ParseDump("tags contains 3"), "(contains tags 3)");
}

TEST(QueryParserTest, Precedence) {
  // && binds tighter than ||; ! binds tightest; parentheses override.
  EXPECT_EQ(ParseDump("a == 1 || b == 2 && c == 3"), "(or (== a 1) (and (== b 2) (== c 3)))");
  EXPECT_EQ(ParseDump("a == 1 && b == 2 || c == 3"), "(or (and (== a 1) (== b 2)) (== c 3))");
  EXPECT_EQ(ParseDump("(a == 1 || b == 2) && c == 3"), "(and (or (== a 1) (== b 2)) (== c 3))");
  EXPECT_EQ(ParseDump("!a == 1 && b == 2"), "(and (! (== a 1)) (== b 2))");
  EXPECT_EQ(ParseDump("!(a == 1 && b == 2)"), "(! (and (== a 1) (== b 2)))");
  EXPECT_EQ(ParseDump("!!exists a"), "(! (! (exists a)))");
  EXPECT_EQ(ParseDump("a == 1 && b == 2 && c == 3"), "(and (== a 1) (== b 2) (== c 3))");
  EXPECT_EQ(ParseDump("a == 1 || b == 2 || !c == 3"), "(or (== a 1) (== b 2) (! (== c 3)))");
  EXPECT_EQ(ParseDump("((a == 1))"), "(== a 1)");
  EXPECT_EQ(ParseDump("a==1&&(b==2||c==3)&&!exists d"),
            "(and (== a 1) (or (== b 2) (== c 3)) (! (exists d)))");
}

TEST(QueryParserTest, Columns) {
  auto q = Parse("x == 1 || !(yy in [2, $v])");
  ASSERT_TRUE(q.ok());
  const Expr& root = q->root();
  EXPECT_EQ(root.column, 1);
  EXPECT_EQ(root.children[0]->column, 1);
  EXPECT_EQ(root.children[0]->operands[0].column, 6);
  const Expr& n = *root.children[1];
  EXPECT_EQ(n.column, 11);
  EXPECT_EQ(n.children[0]->column, 13);
  EXPECT_EQ(n.children[0]->operands[1].column, 23);
}

TEST(QueryParserTest, KeywordsAreReservedAndCaseSensitive) {
  EXPECT_EQ(ParseError("in == 1"),
            "query column 1: expected a condition (a path, exists, ! or '('), found keyword 'in'");
  EXPECT_EQ(ParseError("a.exists == 1"), "query column 3: expected a field name after '.', found keyword 'exists'");
  EXPECT_EQ(ParseError("null == 1"),
            "query column 1: expected a condition (a path, exists, ! or '('), found keyword 'null'");
  EXPECT_EQ(ParseError("exists contains"), "query column 8: expected a path after 'exists', found keyword 'contains'");
  EXPECT_EQ(ParseDump("True == TRUE"), "ERROR: query column 9: expected a value (string, number, true, false, null "
                                       "or $variable) after '==', found 'TRUE'");
  EXPECT_EQ(ParseDump("In == 1 && Exists == 2 && and == 3 && not == 4"),
            "(and (== In 1) (== Exists 2) (== and 3) (== not 4))");
  EXPECT_EQ(ParseDump("inx == 1 && existsy == 2 && a.truex == 3"), "(and (== inx 1) (== existsy 2) (== a.truex 3))");
}

TEST(QueryParserTest, StringEscapes) {
  EXPECT_EQ(Literal(R"(a == "q\"s\'b\\f\/x")"), Value("q\"s'b\\f/x"));
  EXPECT_EQ(Literal(R"(a == '\b\f\n\r\t')"), Value("\b\f\n\r\t"));
  EXPECT_EQ(Literal(R"(a == 'it"s')"), Value("it\"s"));
  EXPECT_EQ(Literal(R"(a == "it's")"), Value("it's"));
  EXPECT_EQ(Literal(R"(a == "\u00e9\u00C9\u0041")"), Value("éÉA"));
  EXPECT_EQ(Literal(R"(a == "\u20ac")"), Value("€"));
  EXPECT_EQ(Literal(R"(a == "\uD83D\uDE00")"), Value("😀"));
  EXPECT_EQ(Literal(R"(a == "\u0000")"), Value(std::string(1, '\0')));
  EXPECT_EQ(Literal("a == \"raw é 😀\ttab\""), Value("raw é 😀\ttab"));
  EXPECT_EQ(Literal("a == ''"), Value(""));
}

TEST(QueryParserTest, Numbers) {
  EXPECT_EQ(Literal("a == 0"), Value(0));
  EXPECT_EQ(Literal("a == -0"), Value(0));
  EXPECT_EQ(Literal("a == 42"), Value(42));
  EXPECT_EQ(Literal("a == 007"), Value(7));
  EXPECT_EQ(Literal("a == -17"), Value(-17));
  EXPECT_EQ(Literal("a == 9223372036854775807"), Value(INT64_MAX));
  EXPECT_EQ(Literal("a == -9223372036854775808"), Value(INT64_MIN));
  // Integers that overflow int64 become doubles.
  EXPECT_EQ(Literal("a == 9223372036854775808"), Value(9223372036854775808.0));
  EXPECT_EQ(Literal("a == -9223372036854775809"), Value(-9223372036854775808.0));
  EXPECT_EQ(Literal("a == 100000000000000000000"), Value(1e20));
  // A '.' or an exponent always makes a double.
  EXPECT_EQ(Literal("a == 2.0"), Value(2.0));
  EXPECT_EQ(Literal("a == 1.5"), Value(1.5));
  EXPECT_EQ(Literal("a == -0.25"), Value(-0.25));
  EXPECT_EQ(Literal("a == 1e3"), Value(1000.0));
  EXPECT_EQ(Literal("a == 2E-2"), Value(0.02));
  EXPECT_EQ(Literal("a == 1.5e+2"), Value(150.0));
  EXPECT_EQ(Literal("a == 0.1"), Value(0.1));
  EXPECT_EQ(Literal("a == 9007199254740993.0"), Value(9007199254740992.0));
  EXPECT_EQ(Literal("a == 1.7976931348623157e308"), Value(1.7976931348623157e308));
  EXPECT_EQ(Literal("a == 5e-324"), Value(5e-324));
  EXPECT_EQ(Literal("a == 1e-400"), Value(0.0));  // underflow rounds to zero
  EXPECT_EQ(ParseError("a == 1e400"), "query column 6: expected a number within the range of a double, found number 1e400");
  EXPECT_EQ(ParseError("a == -2e308"), "query column 6: expected a number within the range of a double, found number -2e308");
}

TEST(QueryParserTest, ErrorMessagesCarryColumns) {
  const std::string value = "a value (string, number, true, false, null or $variable)";
  const struct {
    std::string text;
    std::string message;
  } cases[] = {
      {"status == ", "query column 11: expected " + value + " after '==', found end of query"},
      {"a == )", "query column 6: expected " + value + " after '==', found ')'"},
      {"a == [1]", "query column 6: expected " + value + " after '==', found '['"},
      {"a contains", "query column 11: expected " + value + " after 'contains', found end of query"},
      {"(a == 1", "query column 8: expected '&&', '||' or ')' to close the '(' at column 1, found end of query"},
      {"a == 1)", "query column 7: expected '&&', '||' or end of query, found ')'"},
      {"a == 1 b == 2", "query column 8: expected '&&', '||' or end of query, found 'b'"},
      {"a == 1 & b == 2", "query column 8: expected '&&', '||' or end of query, found '&'"},
      {"a == 1 é", "query column 8: expected '&&', '||' or end of query, found 'é'"},
      {"a = 1", "query column 3: expected an operator (==, !=, <, <=, >, >=, in or contains) after 'a', found '='"},
      {"a.b # 1", "query column 5: expected an operator (==, !=, <, <=, >, >=, in or contains) after 'a.b', found '#'"},
      {"a.", "query column 3: expected a field name after '.', found end of query"},
      {"a..b == 1", "query column 3: expected a field name after '.', found '.'"},
      {"a.1 == 1", "query column 3: expected a field name after '.', found number 1"},
      {"a == 1 &&", "query column 10: expected a condition (a path, exists, ! or '('), found end of query"},
      {"!", "query column 2: expected a condition (a path, exists, ! or '('), found end of query"},
      {"== 1", "query column 1: expected a condition (a path, exists, ! or '('), found '=='"},
      {"\"a\" == 1", "query column 1: expected a condition (a path, exists, ! or '('), found string \"a\""},
      {"exists 5", "query column 8: expected a path after 'exists', found number 5"},
      {"a in 1", "query column 6: expected a list ('[' or $variable) after 'in', found number 1"},
      {"a in [", "query column 7: expected " + value + " or ']' after '[', found end of query"},
      {"a in [1, ]", "query column 10: expected " + value + " after ',', found ']'"},
      {"a in [1 2]", "query column 9: expected ',' or ']' in the list, found number 2"},
      {"a in [1,,2]", "query column 9: expected " + value + " after ',', found ','"},
      {"a == $", "query column 7: expected a variable name after '$', found end of query"},
      {"a == $1", "query column 7: expected a variable name after '$', found '1'"},
      {"a == 'abc", "query column 6: expected a closing ' to end the string, found end of query"},
      {"a == \"ab\\\"", "query column 6: expected a closing \" to end the string, found end of query"},
      {"a == \"x\\q\"", "query column 8: expected an escape sequence (\\\" \\' \\\\ \\/ \\b \\f \\n \\r \\t or \\uXXXX) "
                        "after '\\', found '\\q'"},
      {"a == \"\\u12G4\"", "query column 11: expected a hex digit in the \\u escape, found 'G'"},
      {"a == \"\\u12", "query column 11: expected a hex digit in the \\u escape, found end of query"},
      {"a == \"\\uD83D\"", "query column 13: expected a low surrogate (\\uDC00-\\uDFFF) after '\\uD83D', found '\"'"},
      {"a == \"\\uD83D\\u0041\"",
       "query column 13: expected a low surrogate (\\uDC00-\\uDFFF) after '\\uD83D', found '\\u0041'"},
      {"a == \"\\uDE00\"",
       "query column 7: expected a high surrogate (\\uD800-\\uDBFF) before a low surrogate, found '\\uDE00'"},
      {"a == \"\xff\"", "query column 7: expected valid UTF-8 in the string, found invalid UTF-8 byte 0xFF"},
      {"a == \"\xc3\"", "query column 7: expected valid UTF-8 in the string, found invalid UTF-8 byte 0xC3"},
      {"a == 1.", "query column 8: expected a digit after the decimal point, found end of query"},
      {"a == 1.x", "query column 8: expected a digit after the decimal point, found 'x'"},
      {"a == 1e+", "query column 9: expected a digit in the exponent, found end of query"},
      {"a == - 1", "query column 6: expected " + value + " after '==', found '-'"},
      {"a ==\x01 1", "query column 5: expected " + value + " after '==', found control character 0x01"},
      {"a == 1 \x80", "query column 8: expected '&&', '||' or end of query, found invalid UTF-8 byte 0x80"},
      {"a == 1 'abcdefghijklmnopqrstuvwxyz0123456789'",
       "query column 8: expected '&&', '||' or end of query, found string 'abcdefghijklmnopqrstuvwxyz0..."},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(ParseError(c.text), c.message) << "query: " << c.text;
  }
}

TEST(QueryParserTest, NestingDepthIsLimited) {
  auto nested = [](int n, std::string_view open, std::string_view close) {
    std::string s;
    for (int i = 0; i < n; ++i) s += open;
    s += "a == 1";
    for (int i = 0; i < n; ++i) s += close;
    return s;
  };
  EXPECT_TRUE(Parse(nested(64, "(", ")")).ok());
  EXPECT_EQ(ParseError(nested(65, "(", ")")),
            "query column 65: expected at most 64 levels of nesting, found '(' nested deeper");
  EXPECT_TRUE(Parse(nested(64, "!", "")).ok());
  EXPECT_EQ(ParseError(nested(65, "!", "")),
            "query column 65: expected at most 64 levels of nesting, found '!' nested deeper");
  EXPECT_TRUE(Parse(nested(32, "!(", ")")).ok());
  EXPECT_FALSE(Parse(nested(33, "!(", ")")).ok());
  // Far deeper input is an error, not a stack overflow.
  EXPECT_EQ(ParseError(std::string(200000, '(')),
            "query column 65: expected at most 64 levels of nesting, found '(' nested deeper");
  EXPECT_FALSE(Parse(std::string(200000, '!')).ok());
  // Long flat chains are not nesting.
  std::string chain = "a == 0";
  for (int i = 1; i < 5000; ++i) chain += " || a == " + std::to_string(i);
  auto q = Parse(chain);
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->root().children.size(), 5000u);
}

TEST(QueryParserTest, ParsePath) {
  auto p = ParsePath("a.b_2.C");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->segments, (std::vector<std::string>{"a", "b_2", "C"}));
  EXPECT_EQ(p->ToString(), "a.b_2.C");
  EXPECT_FALSE(p->IsId());
  auto id = ParsePath(" _id ");
  ASSERT_TRUE(id.ok());
  EXPECT_TRUE(id->IsId());
  auto nested_id = ParsePath("n._id");
  ASSERT_TRUE(nested_id.ok());
  EXPECT_FALSE(nested_id->IsId());
  EXPECT_EQ(ParsePath("").status().message(), "path column 1: expected a field name, found end of path");
  EXPECT_EQ(ParsePath("a..b").status().message(), "path column 3: expected a field name after '.', found '.'");
  EXPECT_EQ(ParsePath("a.in").status().message(), "path column 3: expected a field name after '.', found keyword 'in'");
  EXPECT_EQ(ParsePath("a b").status().message(), "path column 3: expected '.' or end of path, found 'b'");
  EXPECT_EQ(ParsePath("a-b").status().message(), "path column 2: expected '.' or end of path, found '-'");
  EXPECT_EQ(ParsePath("$a").status().code(), StatusCode::kInvalidArgument);
}

TEST(QueryParserTest, PathToString) {
  EXPECT_EQ(Path{{"a"}}.ToString(), "a");
  EXPECT_EQ((Path{{"a", "b", "c"}}.ToString()), "a.b.c");
  EXPECT_TRUE(Path{{"_id"}}.IsId());
}

}  // namespace
}  // namespace blaze::query
