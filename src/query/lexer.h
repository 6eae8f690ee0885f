// lexer.h — the tokens of the query language (docs/query-language.md) and
// the on-demand lexer that cuts query text into them.
//
// The parser pulls one token at a time, so errors are reported in the order
// they occur in the text. Characters that start no token become kInvalid
// tokens (the parser then says what it expected instead); malformed strings
// and numbers are errors of the lexer itself. Every error is
// kInvalidArgument "<subject> column N: expected ..., found ...", where N is
// the 1-based byte column. Not thread-safe per object; no shared state.
#ifndef BLAZE_QUERY_LEXER_H_
#define BLAZE_QUERY_LEXER_H_

#include <string>
#include <string_view>

#include "blaze/status.h"
#include "blaze/value.h"

namespace blaze::query {

enum class TokenKind {
  kEnd,
  kIdent,     // [A-Za-z_][A-Za-z0-9_]*, not a keyword
  kVariable,  // $ident
  kString,    // '...' or "..."
  kNumber,
  kExists,
  kIn,
  kContains,
  kTrue,
  kFalse,
  kNull,
  kLParen,
  kRParen,
  kLBracket,
  kRBracket,
  kComma,
  kDot,
  kAndAnd,
  kOrOr,
  kBang,
  kEq,
  kNe,
  kLt,
  kLe,
  kGt,
  kGe,
  kInvalid,  // a character that starts no token
};

struct Token {
  TokenKind kind = TokenKind::kEnd;
  std::string_view text;  // the token's source text (empty for kEnd)
  int column = 0;         // 1-based byte column of its first character
  Value value;            // kString, kNumber: the literal's value
};

class Lexer {
 public:
  // `subject` names the text in messages and in "end of <subject>": "query"
  // or "path".
  Lexer(std::string_view text, std::string_view subject) : text_(text), subject_(subject) {}

  // The next token; kEnd (repeatedly) once the text is used up.
  Result<Token> Next();

  // "query column N: expected <expected>, found <found>".
  Status Error(int column, std::string_view expected, std::string_view found) const;

  // How messages refer to a token: "'&&'", "'status'", "keyword 'in'",
  // "string \"abc\"", "number 1.5", "end of query", ...
  std::string Describe(const Token& token) const;

 private:
  Result<Token> LexString(size_t start);
  Result<Token> LexNumber(size_t start);
  // An Error at byte `at`, "found" being the character there.
  Status CharError(size_t at, std::string_view expected) const;
  Token Make(TokenKind kind, size_t start, size_t end) const;
  bool AtDigit(size_t i) const { return i < text_.size() && text_[i] >= '0' && text_[i] <= '9'; }

  std::string_view text_;
  std::string_view subject_;
  size_t pos_ = 0;
};

}  // namespace blaze::query

#endif  // BLAZE_QUERY_LEXER_H_
