// query.h — BlazeDB's query language: one AST, two back ends.
//
// A query is parsed once (Parse), its $variables are bound to Values (Bind),
// and the bound query is either compiled to an SQL expression over the JSON
// projection of records (ToSql, used by Database queries and indexes) or
// evaluated in memory against a record (Matches, used later by sync
// policies). Both back ends implement exactly the semantics of
// docs/query-language.md; tests/query_differential_test.cc holds them to it.
//
// Thread safety: Query and BoundQuery are immutable after construction and
// may be shared between threads.
#ifndef BLAZE_QUERY_QUERY_H_
#define BLAZE_QUERY_QUERY_H_

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "blaze/status.h"
#include "blaze/value.h"

namespace blaze::query {

// A field path `a.b.c`: identifiers [A-Za-z_][A-Za-z0-9_]* joined by dots.
// The single segment `_id` names the record id, not a document field.
struct Path {
  std::vector<std::string> segments;
  bool IsId() const { return segments.size() == 1 && segments[0] == "_id"; }
  std::string ToString() const;  // "a.b.c"
};

enum class CmpOp { kEq, kNe, kLt, kLe, kGt, kGe };

// A literal or a $variable reference.
struct Operand {
  std::variant<Value, std::string> v;  // Value: literal; string: variable name (without '$')
  int column = 0;                      // 1-based column in the query text, for errors
};

struct Expr {
  enum class Kind { kTrue, kAnd, kOr, kNot, kExists, kCompare, kIn, kContains };
  Kind kind = Kind::kTrue;
  std::vector<std::unique_ptr<Expr>> children;  // kAnd, kOr (>= 2), kNot (1)
  Path path;                                    // kExists, kCompare, kIn, kContains
  CmpOp op = CmpOp::kEq;                        // kCompare
  std::vector<Operand> operands;                // kCompare, kContains: 1; kIn: the list items
  std::string list_variable;                    // kIn with `in $var` (operands empty then)
  int column = 0;
};

class Query {
 public:
  const Expr& root() const { return *root_; }
  const std::string& text() const { return text_; }

 private:
  friend Result<Query> Parse(std::string_view text);
  std::shared_ptr<const Expr> root_;
  std::string text_;
};

using Bindings = std::map<std::string, Value, std::less<>>;

// A query whose variables have been replaced by Values. After Bind, every
// Operand holds a Value (never a variable) and every kIn has its list in
// operands.
class BoundQuery {
 public:
  const Expr& root() const { return *root_; }

 private:
  friend Result<BoundQuery> Bind(const Query& q, const Bindings& vars);
  std::shared_ptr<const Expr> root_;
};

// Parses `text`. An empty or all-blank text matches every record. Errors are
// kInvalidArgument with messages of the form
//   "query column 14: expected a value (string, number, true, false, null or $variable) after '==', found ')'"
Result<Query> Parse(std::string_view text);

// Resolves variables. kInvalidArgument if a variable is unbound, or bound to a
// type the operator cannot use (comparisons and contains take null, bool,
// int, double or string; `in $v` takes an array of those).
Result<BoundQuery> Bind(const Query& q, const Bindings& vars);

// In-memory evaluation against a record with id `id` and document `doc` (a map).
bool Matches(const BoundQuery& q, std::string_view id, const Value& doc);

// SQL back end. `sql` is a boolean SQL expression over the columns `doc`
// (TEXT, the record's JSON projection as written by ToJson) and `id` (TEXT);
// `params` are the values of its `?` placeholders, in order (each null, int,
// double or string).
struct SqlExpr {
  std::string sql;
  std::vector<Value> params;
};
SqlExpr ToSql(const BoundQuery& q);

// "json_extract(doc,'$.a.b')", or "id" for `_id`: the expression indexes are
// built on and ORDER BY uses, textually identical to what ToSql emits so that
// SQLite matches expression indexes.
std::string FieldSql(const Path& path);

// Parses a bare path such as "a.b" (for CreateIndex and order-by).
Result<Path> ParsePath(std::string_view text);

}  // namespace blaze::query

#endif  // BLAZE_QUERY_QUERY_H_
