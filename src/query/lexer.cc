// lexer.cc — cuts query text into tokens: identifiers and keywords,
// $variables, string and number literals, operators and punctuation.
#include "query/lexer.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>

#include "value/utf8.h"

namespace blaze::query {
namespace {

bool IsIdentStart(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
bool IsIdentChar(char c) { return IsIdentStart(c) || (c >= '0' && c <= '9'); }
bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

TokenKind KeywordKind(std::string_view word) {
  if (word == "exists") return TokenKind::kExists;
  if (word == "in") return TokenKind::kIn;
  if (word == "contains") return TokenKind::kContains;
  if (word == "true") return TokenKind::kTrue;
  if (word == "false") return TokenKind::kFalse;
  if (word == "null") return TokenKind::kNull;
  return TokenKind::kIdent;
}

// Length of the UTF-8 sequence announced by lead byte `c` (1 for ASCII and
// for bytes that cannot start a sequence).
size_t Utf8Length(unsigned char c) {
  if ((c & 0xE0) == 0xC0) return 2;
  if ((c & 0xF0) == 0xE0) return 3;
  if ((c & 0xF8) == 0xF0) return 4;
  return 1;
}

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::string HexByte(unsigned char c) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  return std::string("0x") + kHex[c >> 4] + kHex[c & 0xF];
}

// How messages show the character at text[at].
std::string DescribeChar(std::string_view text, size_t at, std::string_view subject) {
  if (at >= text.size()) return "end of " + std::string(subject);
  auto c = static_cast<unsigned char>(text[at]);
  if (c >= 0x20 && c < 0x7F) return std::string("'") + static_cast<char>(c) + "'";
  if (c < 0x80) return "control character " + HexByte(c);
  size_t n = Utf8Length(c);
  if (n > 1 && at + n <= text.size() && value::IsValidUtf8(text.substr(at, n))) {
    return "'" + std::string(text.substr(at, n)) + "'";
  }
  return "invalid UTF-8 byte " + HexByte(c);
}

// The four hex digits at text[at..at+4) as a code point, or -1.
int32_t Hex4(std::string_view text, size_t at) {
  if (at + 4 > text.size()) return -1;
  int32_t v = 0;
  for (size_t k = 0; k < 4; ++k) {
    int d = HexDigit(text[at + k]);
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

// Whether the well-formed number `text`, which from_chars found out of
// range, is too small rather than too large: its leading significant digit
// sits at a negative power of ten.
bool Underflows(std::string_view text) {
  int64_t position = -1;  // power of ten of the leading significant digit
  int64_t int_digits = 0;
  bool seen_dot = false;
  int64_t digits_seen = 0;
  size_t i = text[0] == '-' ? 1 : 0;
  for (; i < text.size() && text[i] != 'e' && text[i] != 'E'; ++i) {
    if (text[i] == '.') {
      seen_dot = true;
      continue;
    }
    if (!seen_dot) ++int_digits;
    if (position == -1 && text[i] != '0') position = digits_seen;
    ++digits_seen;
  }
  if (position == -1) return true;  // all zeros
  int64_t exponent = 0;
  if (i < text.size()) {
    ++i;
    bool negative = text[i] == '-';
    if (text[i] == '+' || text[i] == '-') ++i;
    for (; i < text.size(); ++i) exponent = std::min<int64_t>(exponent * 10 + (text[i] - '0'), 1'000'000'000);
    if (negative) exponent = -exponent;
  }
  return int_digits - 1 - position + exponent < 0;
}

}  // namespace

Status Lexer::Error(int column, std::string_view expected, std::string_view found) const {
  return Status::InvalidArgument(std::string(subject_) + " column " + std::to_string(column) + ": expected " +
                                 std::string(expected) + ", found " + std::string(found));
}

Status Lexer::CharError(size_t at, std::string_view expected) const {
  return Error(static_cast<int>(at) + 1, expected, DescribeChar(text_, at, subject_));
}

std::string Lexer::Describe(const Token& token) const {
  switch (token.kind) {
    case TokenKind::kEnd: return "end of " + std::string(subject_);
    case TokenKind::kIdent:
    case TokenKind::kVariable: return "'" + std::string(token.text) + "'";
    case TokenKind::kString: {
      if (token.text.size() <= 32) return "string " + std::string(token.text);
      size_t cut = 28;
      while (cut > 0 && (static_cast<unsigned char>(token.text[cut]) & 0xC0) == 0x80) --cut;
      return "string " + std::string(token.text.substr(0, cut)) + "...";
    }
    case TokenKind::kNumber: return "number " + std::string(token.text);
    case TokenKind::kExists:
    case TokenKind::kIn:
    case TokenKind::kContains:
    case TokenKind::kTrue:
    case TokenKind::kFalse:
    case TokenKind::kNull: return "keyword '" + std::string(token.text) + "'";
    case TokenKind::kLParen:
    case TokenKind::kRParen:
    case TokenKind::kLBracket:
    case TokenKind::kRBracket:
    case TokenKind::kComma:
    case TokenKind::kDot:
    case TokenKind::kAndAnd:
    case TokenKind::kOrOr:
    case TokenKind::kBang:
    case TokenKind::kEq:
    case TokenKind::kNe:
    case TokenKind::kLt:
    case TokenKind::kLe:
    case TokenKind::kGt:
    case TokenKind::kGe: return "'" + std::string(token.text) + "'";
    case TokenKind::kInvalid: return DescribeChar(text_, static_cast<size_t>(token.column - 1), subject_);
  }
  return "?";
}

Token Lexer::Make(TokenKind kind, size_t start, size_t end) const {
  Token t;
  t.kind = kind;
  t.text = text_.substr(start, end - start);
  t.column = static_cast<int>(start) + 1;
  return t;
}

Result<Token> Lexer::Next() {
  while (pos_ < text_.size() && IsSpace(text_[pos_])) ++pos_;
  const size_t start = pos_;
  if (start >= text_.size()) return Make(TokenKind::kEnd, start, start);
  const char c = text_[start];
  const char next = start + 1 < text_.size() ? text_[start + 1] : '\0';
  auto single = [&](TokenKind kind) {
    pos_ = start + 1;
    return Make(kind, start, pos_);
  };
  auto pair = [&](TokenKind kind) {
    pos_ = start + 2;
    return Make(kind, start, pos_);
  };
  if (IsIdentStart(c)) {
    size_t end = start + 1;
    while (end < text_.size() && IsIdentChar(text_[end])) ++end;
    pos_ = end;
    return Make(KeywordKind(text_.substr(start, end - start)), start, end);
  }
  if ((c >= '0' && c <= '9') || (c == '-' && AtDigit(start + 1))) return LexNumber(start);
  switch (c) {
    case '"':
    case '\'': return LexString(start);
    case '$': {
      if (!IsIdentStart(next)) return CharError(start + 1, "a variable name after '$'");
      size_t end = start + 2;
      while (end < text_.size() && IsIdentChar(text_[end])) ++end;
      pos_ = end;
      return Make(TokenKind::kVariable, start, end);
    }
    case '(': return single(TokenKind::kLParen);
    case ')': return single(TokenKind::kRParen);
    case '[': return single(TokenKind::kLBracket);
    case ']': return single(TokenKind::kRBracket);
    case ',': return single(TokenKind::kComma);
    case '.': return single(TokenKind::kDot);
    case '&':
      if (next == '&') return pair(TokenKind::kAndAnd);
      break;
    case '|':
      if (next == '|') return pair(TokenKind::kOrOr);
      break;
    case '!': return next == '=' ? pair(TokenKind::kNe) : single(TokenKind::kBang);
    case '=':
      if (next == '=') return pair(TokenKind::kEq);
      break;
    case '<': return next == '=' ? pair(TokenKind::kLe) : single(TokenKind::kLt);
    case '>': return next == '=' ? pair(TokenKind::kGe) : single(TokenKind::kGt);
    default: break;
  }
  // A character that starts no token: one whole UTF-8 character if valid.
  size_t n = Utf8Length(static_cast<unsigned char>(c));
  if (n == 1 || start + n > text_.size() || !value::IsValidUtf8(text_.substr(start, n))) n = 1;
  pos_ = start + n;
  return Make(TokenKind::kInvalid, start, pos_);
}

Result<Token> Lexer::LexString(size_t start) {
  const char quote = text_[start];
  std::string out;
  size_t i = start + 1;
  while (true) {
    if (i >= text_.size()) {
      return Error(static_cast<int>(start) + 1, std::string("a closing ") + quote + " to end the string",
                   "end of " + std::string(subject_));
    }
    const auto c = static_cast<unsigned char>(text_[i]);
    if (c == static_cast<unsigned char>(quote)) break;
    if (c >= 0x80) {
      size_t n = Utf8Length(c);
      if (n == 1 || i + n > text_.size() || !value::IsValidUtf8(text_.substr(i, n))) {
        return Error(static_cast<int>(i) + 1, "valid UTF-8 in the string", "invalid UTF-8 byte " + HexByte(c));
      }
      out.append(text_.substr(i, n));
      i += n;
      continue;
    }
    if (c != '\\') {
      out.push_back(static_cast<char>(c));
      ++i;
      continue;
    }
    // An escape sequence.
    const size_t esc = i + 1;
    char e = esc < text_.size() ? text_[esc] : '\0';
    switch (e) {
      case '"': out.push_back('"'); break;
      case '\'': out.push_back('\''); break;
      case '\\': out.push_back('\\'); break;
      case '/': out.push_back('/'); break;
      case 'b': out.push_back('\b'); break;
      case 'f': out.push_back('\f'); break;
      case 'n': out.push_back('\n'); break;
      case 'r': out.push_back('\r'); break;
      case 't': out.push_back('\t'); break;
      case 'u': {
        for (size_t k = esc + 1; k < esc + 5; ++k) {
          if (k >= text_.size() || HexDigit(text_[k]) < 0) return CharError(k, "a hex digit in the \\u escape");
        }
        uint32_t cp = static_cast<uint32_t>(Hex4(text_, esc + 1));
        i = esc + 5;
        if (cp >= 0xDC00 && cp <= 0xDFFF) {
          return Error(static_cast<int>(esc), "a high surrogate (\\uD800-\\uDBFF) before a low surrogate",
                       "'" + std::string(text_.substr(esc - 1, 6)) + "'");
        }
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          int32_t low = (i + 1 < text_.size() && text_[i] == '\\' && text_[i + 1] == 'u') ? Hex4(text_, i + 2) : -1;
          if (low < 0xDC00 || low > 0xDFFF) {
            std::string found = low >= 0 ? "'" + std::string(text_.substr(i, 6)) + "'" : DescribeChar(text_, i, subject_);
            return Error(static_cast<int>(i) + 1, "a low surrogate (\\uDC00-\\uDFFF) after '" +
                         std::string(text_.substr(esc - 1, 6)) + "'", found);
          }
          cp = 0x10000 + ((cp - 0xD800) << 10) + (static_cast<uint32_t>(low) - 0xDC00);
          i += 6;
        }
        AppendUtf8(cp, &out);
        continue;
      }
      default: {
        std::string found = esc >= text_.size() ? "end of " + std::string(subject_)
                            : (e >= 0x20 && e < 0x7F) ? std::string("'\\") + e + "'"
                                                      : DescribeChar(text_, esc, subject_);
        return Error(static_cast<int>(i) + 1,
                     "an escape sequence (\\\" \\' \\\\ \\/ \\b \\f \\n \\r \\t or \\uXXXX) after '\\'", found);
      }
    }
    i = esc + 1;
  }
  pos_ = i + 1;
  Token t = Make(TokenKind::kString, start, pos_);
  t.value = Value(std::move(out));
  return t;
}

Result<Token> Lexer::LexNumber(size_t start) {
  size_t i = start;
  if (text_[i] == '-') ++i;
  while (AtDigit(i)) ++i;
  bool integral = true;
  if (i < text_.size() && text_[i] == '.') {
    if (!AtDigit(i + 1)) return CharError(i + 1, "a digit after the decimal point");
    integral = false;
    i += 1;
    while (AtDigit(i)) ++i;
  }
  if (i < text_.size() && (text_[i] == 'e' || text_[i] == 'E')) {
    size_t j = i + 1;
    if (j < text_.size() && (text_[j] == '+' || text_[j] == '-')) ++j;
    if (!AtDigit(j)) return CharError(j, "a digit in the exponent");
    integral = false;
    i = j;
    while (AtDigit(i)) ++i;
  }
  pos_ = i;
  Token t = Make(TokenKind::kNumber, start, i);
  const char* first = text_.data() + start;
  const char* last = text_.data() + i;
  if (integral) {
    int64_t n = 0;
    auto [ptr, ec] = std::from_chars(first, last, n);
    if (ec == std::errc() && ptr == last) {
      t.value = Value(n);
      return t;
    }
  }
  double d = 0;
  auto [ptr, ec] = std::from_chars(first, last, d);
  if (ec == std::errc::result_out_of_range && Underflows(t.text)) {
    d = t.text[0] == '-' ? -0.0 : 0.0;  // e.g. 1e-400 rounds to zero, as in JSON
  } else if (ec != std::errc() || ptr != last || !std::isfinite(d)) {
    return Error(t.column, "a number within the range of a double", "number " + std::string(t.text));
  }
  t.value = Value(d);
  return t;
}

}  // namespace blaze::query
