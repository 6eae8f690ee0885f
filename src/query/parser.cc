// parser.cc — recursive-descent parser from query text to the Expr AST
// (Parse), plus ParsePath and Path::ToString.
//
// Grammar (docs/query-language.md):
//   expr    := and ( '||' and )*
//   and     := unary ( '&&' unary )*
//   unary   := '!' unary | primary
//   primary := '(' expr ')' | 'exists' path | path cmp value
//            | path 'in' list | path 'contains' value
// One token of lookahead suffices. '(' and '!' nest at most kMaxDepth deep,
// so recursion is bounded whatever the input.
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "query/lexer.h"
#include "query/query.h"

namespace blaze::query {
namespace {

constexpr int kMaxDepth = 64;
constexpr std::string_view kValueExpected = "a value (string, number, true, false, null or $variable)";
constexpr std::string_view kConditionExpected = "a condition (a path, exists, ! or '(')";

using ExprPtr = std::unique_ptr<Expr>;

std::optional<CmpOp> CmpOpOf(TokenKind kind) {
  if (kind == TokenKind::kEq) return CmpOp::kEq;
  if (kind == TokenKind::kNe) return CmpOp::kNe;
  if (kind == TokenKind::kLt) return CmpOp::kLt;
  if (kind == TokenKind::kLe) return CmpOp::kLe;
  if (kind == TokenKind::kGt) return CmpOp::kGt;
  if (kind == TokenKind::kGe) return CmpOp::kGe;
  return std::nullopt;
}

class Parser {
 public:
  Parser(std::string_view text, std::string_view subject) : lexer_(text, subject) {}

  Result<ExprPtr> ParseQuery() {
    BLAZE_RETURN_IF_ERROR(Advance());
    if (cur_.kind == TokenKind::kEnd) return std::make_unique<Expr>();  // kTrue
    BLAZE_ASSIGN_OR_RETURN(ExprPtr e, ParseOr(0));
    if (cur_.kind != TokenKind::kEnd) return Unexpected("'&&', '||' or end of query");
    return e;
  }

  Result<Path> ParseBarePath() {
    BLAZE_RETURN_IF_ERROR(Advance());
    if (cur_.kind != TokenKind::kIdent) return Unexpected("a field name");
    BLAZE_ASSIGN_OR_RETURN(Path p, ParsePathRest());
    if (cur_.kind != TokenKind::kEnd) return Unexpected("'.' or end of path");
    return p;
  }

 private:
  Status Advance() {
    BLAZE_ASSIGN_OR_RETURN(cur_, lexer_.Next());
    return Status::Ok();
  }
  Status Unexpected(std::string_view expected) const {
    return lexer_.Error(cur_.column, expected, lexer_.Describe(cur_));
  }
  Status TooDeep() const {
    return lexer_.Error(cur_.column, "at most " + std::to_string(kMaxDepth) + " levels of nesting",
                        lexer_.Describe(cur_) + " nested deeper");
  }

  Result<ExprPtr> ParseOr(int depth) {
    BLAZE_ASSIGN_OR_RETURN(ExprPtr first, ParseAnd(depth));
    if (cur_.kind != TokenKind::kOrOr) return first;
    auto e = std::make_unique<Expr>();
    e->kind = Expr::Kind::kOr;
    e->column = first->column;
    e->children.push_back(std::move(first));
    while (cur_.kind == TokenKind::kOrOr) {
      BLAZE_RETURN_IF_ERROR(Advance());
      BLAZE_ASSIGN_OR_RETURN(ExprPtr next, ParseAnd(depth));
      e->children.push_back(std::move(next));
    }
    return e;
  }

  Result<ExprPtr> ParseAnd(int depth) {
    BLAZE_ASSIGN_OR_RETURN(ExprPtr first, ParseUnary(depth));
    if (cur_.kind != TokenKind::kAndAnd) return first;
    auto e = std::make_unique<Expr>();
    e->kind = Expr::Kind::kAnd;
    e->column = first->column;
    e->children.push_back(std::move(first));
    while (cur_.kind == TokenKind::kAndAnd) {
      BLAZE_RETURN_IF_ERROR(Advance());
      BLAZE_ASSIGN_OR_RETURN(ExprPtr next, ParseUnary(depth));
      e->children.push_back(std::move(next));
    }
    return e;
  }

  Result<ExprPtr> ParseUnary(int depth) {
    if (cur_.kind != TokenKind::kBang) return ParsePrimary(depth);
    if (depth >= kMaxDepth) return TooDeep();
    auto e = std::make_unique<Expr>();
    e->kind = Expr::Kind::kNot;
    e->column = cur_.column;
    BLAZE_RETURN_IF_ERROR(Advance());
    BLAZE_ASSIGN_OR_RETURN(ExprPtr child, ParseUnary(depth + 1));
    e->children.push_back(std::move(child));
    return e;
  }

  Result<ExprPtr> ParsePrimary(int depth) {
    if (cur_.kind == TokenKind::kIdent) return ParseCondition();
    if (cur_.kind == TokenKind::kLParen) {
      if (depth >= kMaxDepth) return TooDeep();
      const int open_column = cur_.column;
      BLAZE_RETURN_IF_ERROR(Advance());
      BLAZE_ASSIGN_OR_RETURN(ExprPtr inner, ParseOr(depth + 1));
      if (cur_.kind != TokenKind::kRParen) {
        return Unexpected("'&&', '||' or ')' to close the '(' at column " + std::to_string(open_column));
      }
      BLAZE_RETURN_IF_ERROR(Advance());
      return inner;
    }
    if (cur_.kind == TokenKind::kExists) {
      auto e = std::make_unique<Expr>();
      e->kind = Expr::Kind::kExists;
      e->column = cur_.column;
      BLAZE_RETURN_IF_ERROR(Advance());
      if (cur_.kind != TokenKind::kIdent) return Unexpected("a path after 'exists'");
      BLAZE_ASSIGN_OR_RETURN(e->path, ParsePathRest());
      return e;
    }
    return Unexpected(kConditionExpected);
  }

  // path cmp value | path 'in' list | path 'contains' value; cur_ is the
  // path's first identifier.
  Result<ExprPtr> ParseCondition() {
    auto e = std::make_unique<Expr>();
    e->column = cur_.column;
    BLAZE_ASSIGN_OR_RETURN(e->path, ParsePathRest());
    const Token op = cur_;
    if (op.kind == TokenKind::kIn) {
      e->kind = Expr::Kind::kIn;
      BLAZE_RETURN_IF_ERROR(Advance());
      BLAZE_RETURN_IF_ERROR(ParseList(e.get()));
      return e;
    }
    if (op.kind == TokenKind::kContains) {
      e->kind = Expr::Kind::kContains;
    } else if (auto cmp = CmpOpOf(op.kind)) {
      e->kind = Expr::Kind::kCompare;
      e->op = *cmp;
    } else {
      return Unexpected("an operator (==, !=, <, <=, >, >=, in or contains) after '" + e->path.ToString() + "'");
    }
    BLAZE_RETURN_IF_ERROR(Advance());
    if (!IsValueToken(cur_.kind)) return Unexpected(ValueAfter(op));
    e->operands.push_back(CurrentValue());
    BLAZE_RETURN_IF_ERROR(Advance());
    return e;
  }

  // cur_ is an identifier; consumes ident ('.' ident)*.
  Result<Path> ParsePathRest() {
    Path p;
    p.segments.emplace_back(cur_.text);
    BLAZE_RETURN_IF_ERROR(Advance());
    while (cur_.kind == TokenKind::kDot) {
      BLAZE_RETURN_IF_ERROR(Advance());
      if (cur_.kind != TokenKind::kIdent) return Unexpected("a field name after '.'");
      p.segments.emplace_back(cur_.text);
      BLAZE_RETURN_IF_ERROR(Advance());
    }
    return p;
  }

  static bool IsValueToken(TokenKind kind) {
    return kind == TokenKind::kString || kind == TokenKind::kNumber || kind == TokenKind::kTrue ||
           kind == TokenKind::kFalse || kind == TokenKind::kNull || kind == TokenKind::kVariable;
  }
  static std::string ValueAfter(const Token& after) {
    return std::string(kValueExpected) + " after '" + std::string(after.text) + "'";
  }

  // The current token, which IsValueToken, as an Operand.
  Operand CurrentValue() const {
    Operand o;
    o.column = cur_.column;
    if (cur_.kind == TokenKind::kVariable) {
      o.v.emplace<std::string>(cur_.text.substr(1));
    } else if (cur_.kind == TokenKind::kTrue || cur_.kind == TokenKind::kFalse) {
      o.v.emplace<Value>(cur_.kind == TokenKind::kTrue);
    } else {
      o.v.emplace<Value>(cur_.value);  // string, number; null is the default Value
    }
    return o;
  }

  // '[' [ value (',' value)* ] ']' | $variable, after 'in'.
  Status ParseList(Expr* e) {
    if (cur_.kind == TokenKind::kVariable) {
      e->list_variable = std::string(cur_.text.substr(1));
      return Advance();
    }
    if (cur_.kind != TokenKind::kLBracket) return Unexpected("a list ('[' or $variable) after 'in'");
    BLAZE_RETURN_IF_ERROR(Advance());
    if (cur_.kind == TokenKind::kRBracket) return Advance();
    if (!IsValueToken(cur_.kind)) return Unexpected(std::string(kValueExpected) + " or ']' after '['");
    while (true) {
      e->operands.push_back(CurrentValue());
      BLAZE_RETURN_IF_ERROR(Advance());
      if (cur_.kind == TokenKind::kRBracket) return Advance();
      if (cur_.kind != TokenKind::kComma) return Unexpected("',' or ']' in the list");
      const Token comma = cur_;
      BLAZE_RETURN_IF_ERROR(Advance());
      if (!IsValueToken(cur_.kind)) return Unexpected(ValueAfter(comma));
    }
  }

  Lexer lexer_;
  Token cur_;
};

}  // namespace

std::string Path::ToString() const {
  std::string out;
  for (const std::string& s : segments) {
    if (!out.empty()) out.push_back('.');
    out += s;
  }
  return out;
}

Result<Query> Parse(std::string_view text) {
  Parser parser(text, "query");
  BLAZE_ASSIGN_OR_RETURN(std::unique_ptr<Expr> root, parser.ParseQuery());
  Query q;
  q.root_ = std::move(root);
  q.text_ = std::string(text);
  return q;
}

Result<Path> ParsePath(std::string_view text) {
  Parser parser(text, "path");
  return parser.ParseBarePath();
}

}  // namespace blaze::query
